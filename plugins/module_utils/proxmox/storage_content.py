# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ISO images, container templates and import images on a storage: the checks a node makes of their file names
and checksums, made before any call, and the upload of a file from the host the module runs on.

Read in pve-storage:
- src/PVE/API2/Storage/Status.pm, ``download_url`` and ``upload``: content iso, vztmpl or import; the file name
  normalized (``PVE::Storage::normalize_content_filename``: up to the last ``/`` or ``\\`` dropped, any other
  character than letters, digits, ``_``, ``.`` and ``-`` made ``_``), at most 255 characters, then checked
  for the extension of its content; ``checksum`` requires ``checksum-algorithm`` (md5, sha1, sha224, sha256,
  sha384, sha512) and the task fails on a mismatch, leaving no file.
- src/PVE/Storage.pm: ``$ISO_EXT_RE_0`` (``.iso``, ``.img``, any case), ``$VZTMPL_EXT_RE_1`` (``.tar``, ``.tar.gz``,
  ``.tar.xz``, ``.tar.zst``, ``.tar.bz2``, any case), ``$SAFE_CHAR_CLASS_RE`` + ``$UPLOAD_IMPORT_EXT_RE_1`` (import:
  ``.ova``, ``.qcow2``, ``.raw``, ``.vmdk``, lower case).
- src/PVE/Storage/Plugin.pm, ``$get_subdir_files``: the volume id is ``<storage>:<content>/<file name>``.
pve-http-server src/PVE/APIServer/AnyEvent.pm, ``file_upload_multipart``: the multipart body gives ``content``,
``checksum-algorithm`` and ``checksum`` (in that order) before the file, whose part is named ``filename``.

A name a node would change is refused here rather than changed: the module finds the volume by the name it was
given, and a name never reaches into another directory or volume than its own.
"""

from __future__ import annotations

import os
import posixpath
import re
from urllib.parse import unquote, urlsplit

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path

CONTENT_TYPES = ("iso", "vztmpl", "import")
FILENAME_LONGEST = 255
EXTENSIONS = {
    "iso": (re.compile(r"[^/]+\.(?:iso|img)", re.I), "end in .iso or .img"),
    "vztmpl": (re.compile(r"[^/]+\.(?:tar|tar\.(?:gz|xz|zst|bz2))", re.I),
               "end in .tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2"),
    "import": (re.compile(r"[a-zA-Z0-9\-.+=_]+\.(?:ova|qcow2|raw|vmdk)"), "end in .ova, .qcow2, .raw or .vmdk"),
}
# Hex digits of each checksum algorithm download-url and upload take.
DIGEST_LENGTHS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
HEX = re.compile(r"[0-9a-fA-F]+")


def normalize_content_filename(filename):
    """The name a node stores a file under (pve-storage PVE::Storage normalize_content_filename)."""
    filename = re.sub(r"^.*[/\\]", "", str(filename).rstrip("\n"), flags=re.S)
    return re.sub(r"[^a-zA-Z0-9_.-]", "_", filename)


def filename_problem(content, filename):
    """The message (naming filename) for a name the node would change or refuse for this content, or None."""
    text = str(filename)
    if not text:
        return "filename must not be empty"
    if len(text) > FILENAME_LONGEST:
        return f"filename must be at most {FILENAME_LONGEST} characters, got {len(text)}"
    normalized = normalize_content_filename(text)
    if normalized != text:
        return (f"filename must be a bare file name of letters, digits, '_', '.' and '-' (a node would store "
                f"{text!r} as {normalized!r}); got {text!r}")
    pattern, expected = EXTENSIONS[content]
    if not pattern.fullmatch(text):
        return f"filename of {content} content must {expected}; got {text!r}"
    return None


def source_filename(url=None, src=None):
    """The file name a source gives when filename is not set: the last part of the URL's path, or src's."""
    if url:
        return posixpath.basename(unquote(urlsplit(url).path))
    return os.path.basename(src) if src else None


def url_problem(url):
    """The message for a url download-url does not take (its pattern is https?://.*), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"url must be an http:// or https:// URL, got {url!r}"
    return None


def checksum_problem(algorithm, checksum):
    """The message for a checksum that cannot be a digest of the algorithm (hex, its length), or None."""
    if checksum is None:
        return None
    length = DIGEST_LENGTHS[algorithm]
    if not HEX.fullmatch(checksum) or len(checksum) != length:
        return (f"checksum must be a {algorithm} digest ({length} hex digits) as checksum_algorithm says, "
                f"got {checksum!r}")
    return None


def src_problem(src):
    """The message for a src that is no readable file, or None."""
    if not os.path.isfile(src):
        return f"src must be a file on the host the module runs on, got {src!r} (not found, or not a file)"
    if not os.access(src, os.R_OK):
        return f"src {src!r} cannot be read"
    return None


def volume_id(storage, content, filename):
    """The volume id a file gets on a storage: local:iso/debian-13.iso."""
    return f"{storage}:{content}/{filename}"


def content_types(status):
    """The content types of a storage, from its GET /nodes/<node>/storage/<storage>/status."""
    return [item for item in re.split(r"[,;\s]+", str((status or {}).get("content") or "")) if item]


def storage_path(node, storage, *rest):
    return api_path("nodes", node, "storage", storage, *rest)


def upload_file(client, node, storage, content, filename, src, checksum=None, algorithm=None):
    """POST .../upload of a local file as multipart/form-data, the fields in the order the node reads them;
    returns the reply's data (the imgcopy task's UPID)."""
    fields = {"content": content}
    if checksum:
        fields["checksum-algorithm"] = algorithm
        fields["checksum"] = checksum.lower()
    with open(src, "rb") as handle:
        return client.send("POST", storage_path(node, storage, "upload"), data=fields,
                           files={"filename": (filename, handle, "application/octet-stream")})

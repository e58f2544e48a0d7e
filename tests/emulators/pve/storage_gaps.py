"""ISO images and container templates on a storage (download-url, upload, the content list) as a node handles
them, added to fakepve 0.5.0 through its Python API.

Read in pve-storage src/PVE/API2/Storage/Status.pm (``download_url``, ``upload``), src/PVE/Storage.pm
(``normalize_content_filename``, ``$ISO_EXT_RE_0``, ``$VZTMPL_EXT_RE_1``, ``$UPLOAD_IMPORT_EXT_RE_1``,
``$SAFE_CHAR_CLASS_RE``), src/PVE/Storage/Plugin.pm (``$get_subdir_files``: the listed ``format``), pve-common
src/PVE/Tools.pm (``download_file_from_url``), pve-http-server src/PVE/APIServer/AnyEvent.pm
(``file_upload_multipart``) and pve-access-control src/PVE/RPCEnvironment.pm (``exec_api2_perm_check``).
Each gap is shown on plain fakepve and fixed here in tests/emulators/test_pve_storage_gaps.py:

1. download-url's permission is ``Datastore.AllocateTemplate`` on the storage and either ``Sys.Audit`` +
   ``Sys.Modify`` on ``/`` or ``Sys.AccessNetwork`` on ``/nodes/{node}``; an ``or`` that fails answers a bare
   ``403 Permission check failed``. fakepve requires Sys.Audit and Sys.Modify on ``/``.
2. The file name is normalized (``normalize_content_filename``: up to the last ``/`` or ``\\`` dropped, every
   character but letters, digits, ``_``, ``.`` and ``-`` made ``_``), then checked for the content's extension:
   ``wrong file extension`` for iso (``.iso``/``.img``) and vztmpl (``.tar``, ``.tar.gz|xz|zst|bz2``),
   ``invalid filename or wrong extension`` for import. fakepve keeps the name as given and checks no vztmpl name.
3. A file that is already there is seen by the task (``download_file_from_url``), not the request: with a
   checksum that matches, the task ends OK without downloading ("OK, got correct file already"); with one that
   does not, the task fails ``checksum mismatch: got 'X' != expect 'Y', aborting``; without a checksum it fails
   ``refusing to override existing file '<path>'``. A download whose checksum does not match fails the task
   (``checksum mismatch: got 'X' != expect 'Y'``) and leaves nothing (the temporary file is unlinked).
   The task's id is the file name (``fork_worker('download', encode_text($filename), ...)``).
4. A template is listed with the format ``$get_subdir_files`` gives: ``tar`` for ``.tar`` and ``t`` + the
   compression otherwise (``tzst``, ``tgz``, ``txz``, ``tbz2``); fakepve lists the bare extension (``zst``).
5. upload takes ``iso``, ``vztmpl`` and ``import`` content, normalizes and checks the file name as download-url
   does, and verifies ``checksum`` with ``checksum-algorithm`` in its ``imgcopy`` task: a mismatch fails the
   task (``checksum mismatch: got 'X' != expect 'Y'``) and the file is not stored. A file already there is
   overwritten. The multipart body gives ``content``, ``checksum-algorithm`` and ``checksum`` before the file,
   whose part must be named ``filename`` (``wrong field name 'X' for file upload, expected 'filename'``).
   fakepve refuses import content, keeps the name as sent and ignores the checksum.

A test facility, not a gap: download-url fetches only from 127.0.0.1 (a test serves its files there); any other
host fails the task with ``download failed`` before a connection is made.
"""

from __future__ import annotations

import hashlib
import re
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import urlsplit

from fakepve import PveError
from fakepve.model import TaskError
from fakepve.routing import die, param_error, split_list
from fakepve.server import USER, ok, params

from .imports import header_size

ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
# pve-storage src/PVE/Storage.pm: $ISO_EXT_RE_0, $VZTMPL_EXT_RE_1, $SAFE_CHAR_CLASS_RE + $UPLOAD_IMPORT_EXT_RE_1.
ISO_NAME = re.compile(r"[^/]+\.(?:iso|img)", re.I)
VZTMPL_NAME = re.compile(r"[^/]+\.(?:(tar)(?!\.)|tar\.(gz|xz|zst|bz2))", re.I)
IMPORT_NAME = re.compile(r"[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)")
NAME_CHECKS = {"iso": (ISO_NAME, "wrong file extension"), "vztmpl": (VZTMPL_NAME, "wrong file extension"),
               "import": (IMPORT_NAME, "invalid filename or wrong extension")}
DOWNLOAD_HOST = "127.0.0.1"


def normalize_content_filename(filename):
    """pve-storage PVE::Storage normalize_content_filename."""
    filename = filename.rstrip("\n")
    filename = re.sub(r"^.*[/\\]", "", filename, flags=re.S)
    return re.sub(r"[^a-zA-Z0-9_.-]", "_", filename)


def vztmpl_format(filename):
    """Plugin.pm $get_subdir_files: 'tar', or 't' + the compression ('tzst')."""
    found = VZTMPL_NAME.fullmatch(filename)
    if not found:
        return None
    return "tar" if found.group(1) else "t" + found.group(2)


def checked_filename(content, given):
    """The normalized file name, or the 400 a node answers for a name without the content's extension."""
    filename = normalize_content_filename(given)
    if content not in NAME_CHECKS:
        raise param_error(content=f"upload content type '{content}' not allowed")
    pattern, message = NAME_CHECKS[content]
    if not pattern.fullmatch(filename):
        raise param_error(filename=message)
    return filename


def checksum_pair(values):
    """(checksum, algorithm) of a request: each 'requires' the other (pve-common JSONSchema.pm check_object: a 400
    naming the missing one)."""
    checksum, algorithm = values.get("checksum"), values.get("checksum-algorithm")
    if checksum and not algorithm:
        raise param_error(**{"checksum-algorithm": "missing property required by 'checksum'"})
    if algorithm and not checksum:
        raise param_error(checksum="missing property required by 'checksum-algorithm'")
    if algorithm and algorithm not in ALGORITHMS:
        raise param_error(**{"checksum-algorithm": f"value '{algorithm}' does not have a value in the enumeration "
                                                   f"'{', '.join(ALGORITHMS)}'"})
    return checksum, algorithm


def multipart_fields(request, body):
    """pve-http-server file_upload_multipart: the form fields before the file, and the file's name and bytes."""
    head = f"Content-Type: {request.headers.get('Content-Type', '')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise PveError(400, "bad upload request")
    fields, upload = {}, None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            if name != "filename":
                raise die(f"wrong field name '{name}' for file upload, expected 'filename'")
            upload = (part.get_filename().strip(), part.get_payload(decode=True) or b"")
            break
        if name in ("content", "checksum-algorithm", "checksum"):
            fields[name] = (part.get_payload(decode=True) or b"").decode().strip()
    if upload is None:
        raise die("missing temporary file name")
    return fields, upload


class StorageGaps:
    """Mixin of ProxgatePve: download-url and upload as a node handles them, and templates listed with their format.
    Before ImportGaps in the class list (its _fetch, which this one narrows to 127.0.0.1)."""

    # ------------------------------------------------------------------ listing

    def store_file(self, storage, name, size, content="iso"):
        super().store_file(storage, name, size, content)
        if content == "vztmpl":
            self.storages[storage]["volumes"][f"vztmpl/{name}"]["format"] = vztmpl_format(name) or "raw"

    # ------------------------------------------------------------- download-url

    def _may_download(self, user, storage, node):
        """Status.pm download_url's permissions: an 'and' of the storage's and an 'or' of two others."""
        self.require(user, "/storage/" + storage, "Datastore.AllocateTemplate")
        if self.allowed(user, "/", "Sys.Audit") and self.allowed(user, "/", "Sys.Modify"):
            return
        if not self.allowed(user, "/nodes/" + node, "Sys.AccessNetwork"):
            raise PveError(403, "Permission check failed")

    async def _download_url(self, request):
        name, store = self._file_storage(request, "download")
        node, user = request.match_info["node"], request[USER]
        self._may_download(user, name, node)
        p = self._verify(request, await params(request), drop=("size",))
        self._need_file_storage(store, "can't upload to storage type '{0}', not a file based storage!")
        content = p["content"]
        if content not in split_list(store.get("content")):
            raise die(f"storage '{name}' is not configured for content-type '{content}'")
        filename = checked_filename(content, p["filename"])
        checksum, algorithm = checksum_pair(p)
        if p.get("compression") and content != "iso":
            raise die(f"decompression not supported for {content}")
        volname = f"{content}/{filename}"
        path = self._volume_path(name, volname, content)
        url, verify = p["url"], p.get("verify-certificates", 1) not in (0, "0", False)

        async def body():
            if volname in self._volumes(name):
                if not checksum:
                    raise TaskError(f"refusing to override existing file '{path}'")
                got = self.file_digests.get((name, volname), {}).get(algorithm)
                if got is not None and got.lower() == checksum.lower():
                    return "calculating checksum of existing file...OK, got correct file already, no need to download"
                raise TaskError(f"checksum mismatch: got '{got}' != expect '{checksum}', aborting")
            data = await self._fetch(url, verify)
            self._verify_checksum(data, checksum, algorithm)
            # Listed with the image's virtual size, as qemu-img info reads it (a qcow2 file is smaller).
            self._put_file(name, volname, data, header_size(data) or len(data))
            return f"download of '{url}' to '{path}' finished"
        log = [f"downloading {url} to {path}"]
        return ok(await self.task(node, "download", filename, user, body, log=log))

    async def _fetch(self, url, verify):
        if urlsplit(url).hostname != DOWNLOAD_HOST:
            raise TaskError(f"download failed: the proxgate test server downloads only from {DOWNLOAD_HOST}")
        return await super()._fetch(url, verify)

    @staticmethod
    def _verify_checksum(data, checksum, algorithm):
        if not algorithm:
            return
        got = hashlib.new(algorithm, data).hexdigest()
        if got.lower() != checksum.lower():
            raise TaskError(f"checksum mismatch: got '{got}' != expect '{checksum}'")

    @property
    def file_digests(self):
        """(storage, volname) -> {algorithm: hex digest} of the files downloaded or uploaded (what the task of a
        later download hashes)."""
        if "_file_digests" not in self.__dict__:
            self._file_digests = {}
        return self._file_digests

    def _put_file(self, storage, volname, data, size):
        content, filename = volname.split("/", 1)
        self.storages[storage].get("volumes", {}).pop(volname, None)  # overwritten, as cp does
        self.store_file(storage, filename, size, content)
        self.file_digests[(storage, volname)] = {algorithm: hashlib.new(algorithm, data).hexdigest()
                                                 for algorithm in ALGORITHMS}

    # ------------------------------------------------------------------- upload

    async def _upload(self, request):
        name, store = self._file_storage(request, "upload")
        node, user = request.match_info["node"], request[USER]
        self.require(user, "/storage/" + name, "Datastore.AllocateTemplate")
        fields, (given, data) = multipart_fields(request, await request.read())
        content = fields.get("content")
        if content not in NAME_CHECKS:
            allowed = ", ".join(NAME_CHECKS)
            raise param_error(content=f"value '{content}' does not have a value in the enumeration '{allowed}'")
        checksum, algorithm = checksum_pair(fields)
        self._need_file_storage(store, "can't upload to storage type '{0}'")
        filename = checked_filename(content, given)
        if content not in split_list(store.get("content")):
            raise die(f"storage '{name}' does not support '{content}' content")
        volname = f"{content}/{filename}"
        self.uploaded = dict(fields, filename=filename, data=data)

        async def body():
            self._verify_checksum(data, checksum, algorithm)
            self._put_file(name, volname, data, len(data))
            return "finished file import successfully"
        return ok(await self.task(node, "imgcopy", "", user, body))

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One disk slot of a QEMU VM, for proxgate.core.proxmox_disk.

The pure parts first: import sources and how an image is imported (the API's ``import-from`` or ``qm
importdisk`` over SSH), sizes as the options and PVE write them, drive values and their options, the boot order,
and the option checks. Then DiskModule, the steps on one slot that talk to the node: read and write the VM's
configuration, make, attach or import a disk (downloading an URL first), bring it to the options, storage and
size asked for, detach or delete it; each recorded in the result and the diff, and written only outside check
mode. The module decides which steps run.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxError,
    api_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import (
    DISK_KEY,
    MAX_UNUSED_DISKS,
    UNUSED_KEY,
    canonical_scalar,
    disk_slots_text,
    format_props,
    owned_disk_problem,
    parse_drive,
    parse_props,
    property_field_problem,
    props_equal,
    size_bytes,
    storage_id_problem,
    volume_storage,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.ssh import (
    HAS_PARAMIKO,
    PARAMIKO_IMPORT_ERROR,
    NodeSsh,
    SshError,
    command_line,
    failure_message,
    normalize_fingerprint,
    parse_import_output,
    qm_import_argv,
    unchecked_host_key_warning,
)

VOLUME_ID = re.compile(r"^(?P<storage>[a-z][a-z0-9\-_.]*[a-z0-9]):(?P<name>\S.*)$", re.I)
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)\s*$", re.I)
OPTION_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
# pve-storage: SAFE_CHAR_CLASS_RE and UPLOAD_IMPORT_EXT_RE_1, the names download-url takes for import content.
IMPORT_FILENAME = re.compile(r"^[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$")
IMPORT_FROM_SINCE = (7, 2)
DOWNLOAD_SINCE = (8, 2)
# Drive options whose value here is what PVE does without them: an absent option equals it.
OPTION_DEFAULTS = {"discard": "ignore", "ssd": "0", "iothread": "0", "backup": "1"}
OWN_OPTIONS = ("discard", "ssd", "iothread", "cache", "backup")
NOT_OPTIONS = ("volume", "file", "size", "import-from", "format")
# Options that only apply with state: present.
PRESENT_ONLY = ("import_from", "volume", "size", "storage", "boot")


# ------------------------------------------------------------------ pure helpers

def classify_source(text):
    """'url', 'volume' or 'path' for an import_from value; None when it is none of them."""
    text = (text or "").strip()
    if re.match(r"^https?://", text, re.I):
        return "url" if urlsplit(text).hostname else None
    if text.startswith("/"):
        return "path"
    if VOLUME_ID.match(text) and "://" not in text:
        return "volume"
    return None


def parse_version(text):
    """(major, minor) of a PVE version string (8.2.4, 7.1-10), or None."""
    found = re.match(r"^\s*(\d+)\.(\d+)", str(text or ""))
    return (int(found.group(1)), int(found.group(2))) if found else None


def version_text(version):
    return "an unknown version" if version is None else f"{version[0]}.{version[1]}"


def choose_import_method(requested, kind, auth_mode, user, version):
    """(method, reason) for an import; ValueError with a user's message when the combination cannot work.

    version is the node's (major, minor), None when unknown (then assumed recent enough).
    """
    has_import_from = version is None or version >= IMPORT_FROM_SINCE
    root_password = auth_mode == "ticket" and user == "root@pam"
    login = "with an API token" if auth_mode == "token" else f"as {user}"
    if kind == "url":
        if requested == "ssh":
            raise ValueError("import_method: ssh imports a file that is on the node; an URL is downloaded by the "
                             "node (download-url) and imported through the API - use import_method auto or api")
        if version is not None and version < DOWNLOAD_SINCE:
            raise ValueError(f"import_from: downloading an URL into an import storage needs PVE 8.2 or later "
                             f"(the node runs {version_text(version)}); put the image on the node and give its path")
        return "api", ("the source is an URL: the node downloads it into an import storage (download-url) and "
                       "the API imports that volume with import-from")
    if requested == "api":
        if not has_import_from:
            raise ValueError(f"import_method: api needs import-from, which PVE {version_text(version)} does not have "
                             "(7.2 and later); use import_method ssh or auto")
        if kind == "path" and not root_password:
            raise ValueError(f"import_method: api cannot import a path on the node when logged in {login}: PVE "
                             "accepts paths only from root@pam logged in with a password; use import_method ssh or "
                             "auto, or put the image into an import storage and give its volume id")
        return "api", "import_method: api was asked for"
    if requested == "ssh":
        if kind == "volume":
            raise ValueError("import_method: ssh runs qm importdisk, which takes a file path on the node, not a "
                             "volume id; use import_method auto or api for a volume id")
        return "ssh", "import_method: ssh was asked for"
    if kind == "volume":
        if not has_import_from:
            raise ValueError(f"import_from: importing a volume id needs import-from, which PVE {version_text(version)} "
                             "does not have (7.2 and later); give the image's path on the node to import it over SSH")
        return "api", "the source is a volume id, which the API imports with import-from"
    if not has_import_from:
        return "ssh", (f"the node runs PVE {version_text(version)}, which has no import-from (it came with 7.2), "
                       "so qm importdisk runs over SSH")
    if not root_password:
        return "ssh", ("the source is a path on the node, which the API accepts only from root@pam logged in with "
                       f"a password; this run logs in {login}, so qm importdisk runs over SSH")
    return "api", ("the source is a path on the node and this run is root@pam logged in with a password, which "
                   "the API's import-from accepts")


def disk_size(text):
    """Bytes of a size option: 32G, 512M, 1.5T; a bare number is GiB. ValueError otherwise."""
    found = SIZE.match(str(text))
    if not found:
        raise ValueError(f"not a size: {text!r}")
    value = size_bytes(f"{found.group(1)}{found.group(2).upper()}")
    if value <= 0:
        raise ValueError(f"not a size: {text!r}")
    return value


def size_text(size):
    """A size in bytes as PVE writes it: the largest unit that divides it (32G, 512M), else bytes."""
    for unit, factor in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def gib_text(size):
    """A new disk's size in GiB, as STORAGE:SIZE takes it (32, 0.5)."""
    return f"{size / (1 << 30):.6f}".rstrip("0").rstrip(".")


def wanted_options(params):
    """The drive options the parameters ask for, as PVE spells them; None means 'remove it'."""
    options: dict[str, str | None] = {}
    if params.get("discard") is not None:
        options["discard"] = "on" if params["discard"] else "ignore"
    for name in ("ssd", "iothread", "backup"):
        if params.get(name) is not None:
            options[name] = "1" if params[name] else "0"
    if params.get("cache") is not None:
        options["cache"] = params["cache"]
    for name, value in (params.get("options") or {}).items():
        options[name] = None if value is None else canonical_scalar(value)
    return options


def _without_defaults(values):
    return {key: value for key, value in values.items()
            if not (key in OPTION_DEFAULTS and canonical_scalar(value) == OPTION_DEFAULTS[key])}


def drive_value(volume, options, extra=None):
    """A drive's config value: the volume, then the options (those at PVE's default left out)."""
    values = {"volume": volume, **(extra or {})}
    values.update(_without_defaults({key: value for key, value in options.items() if value is not None}))
    return format_props(values, default_key="volume")


def merged_drive(current, options):
    """The config value of an existing drive with the options applied (volume, size and other options kept),
    or None when nothing would change."""
    have = parse_drive(current)
    merged = dict(have)
    for key, value in options.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if props_equal(format_props(_without_defaults(have), "volume"), format_props(_without_defaults(merged), "volume"),
                   default_key="volume"):
        return None
    return format_props(_without_defaults(merged), default_key="volume")


def boot_devices(boot):
    """The devices of a boot value's order (``order=scsi0;ide2;net0``); [] for none or the legacy form."""
    order = parse_props(boot).get("order") if boot else None
    return [device for device in (order or "").split(";") if device]


def boot_value(boot, slot, first):
    """The boot value with slot first (first=True) or out of the order (first=False); None when unchanged."""
    devices = boot_devices(boot)
    if first:
        if devices[:1] == [slot]:
            return None
        return "order=" + ";".join([slot] + [device for device in devices if device != slot])
    if slot not in devices:
        return None
    rest = [device for device in devices if device != slot]
    return "order=" + ";".join(rest) if rest else ""


def node_address(cluster_status, node):
    """The node's ip from GET /cluster/status, else its name."""
    for entry in cluster_status or []:
        if entry.get("type") == "node" and entry.get("name") == node and entry.get("ip"):
            return entry["ip"]
    return node


def download_filename(url, given=None):
    """The file name a download gets: given, else the last part of the URL's path."""
    return given or posixpath.basename(unquote(urlsplit(url).path))


def unused_key_of(config, volume):
    """The unusedN entry of the config that lists volume, or None."""
    return next((key for key, value in sorted(config.items())
                 if UNUSED_KEY.match(key) and parse_drive(value).get("volume") == volume), None)


def is_cdrom(value):
    drive = parse_drive(value)
    return drive.get("media") == "cdrom" or drive.get("volume") in ("cdrom", "none")


def cdrom_problem(slot, vmid, value):
    """The message for a slot that holds a CD-ROM drive, which this module does not manage; None for a disk."""
    if not is_cdrom(value):
        return None
    return (f"disk: {slot} of VM {vmid} is a CD-ROM drive ({value}), not a disk; change its ISO with "
            "proxgate.core.proxmox_vm (cdrom for ide2, or disks)")


def content_problem(option, storage, status, content):
    """The message for a storage (its GET .../status) that does not take content, or None."""
    contents = [item for item in re.split(r"[,;\s]+", str(status.get("content") or "")) if item]
    if content in contents:
        return None
    hint = ("; enable 'import' in its content types (PVE 8.2 and later) or give another import_storage"
            if content == "import" else "")
    return f"{option}: storage {storage!r} has no {content!r} content (it has {', '.join(contents) or 'none'}){hint}"


def resize_plan(slot, asked, have):
    """What the size option asks of a disk of have bytes (None: unknown): (grow, shrink), grow being the
    (have, wanted) to grow it by, shrink the message when it is larger than asked for (PVE cannot shrink)."""
    wanted = disk_size(asked)
    if have is not None and wanted < have:
        return None, f"size: {slot} is {size_text(have)}, larger than the {asked} asked for; PVE cannot shrink a disk"
    if have is None or wanted > have:
        return (have, wanted), None
    return None, None


def nothing_attached(slot, vmid, storage):
    return (f"Nothing was attached to {slot}. If qm made a volume, it is an unusedN entry of VM {vmid}: check "
            f"qm config {vmid} and pvesm list {storage} --vmid {vmid} on the node")


def imported_problem(key, volid, config, vmid, storage):
    """What is wrong with the volume qm importdisk reported as key:volid, or None when it is a disk of VM vmid on
    storage that the VM's config lists under key: only that is attached."""
    problem = owned_disk_problem(volid, vmid, storage)
    if problem is None and parse_drive(config.get(key)).get("volume") != volid:
        listed = config.get(key)
        problem = f"VM {vmid}'s configuration lists {f'{key}: {listed}' if listed else f'no {key}'}"
    return problem


# ------------------------------------------------------------------ option checks

def option_problems(p):
    """Messages for options PVE would refuse or that do not go together, each naming the option (the timeouts
    are ProxmoxModule.timeout_problems')."""
    problems = []
    if p["vmid"] is not None and not 100 <= p["vmid"] <= 999999999:
        problems.append(f"vmid must be between 100 and 999999999, got {p['vmid']}")
    slot = p["disk"]
    if not (DISK_KEY.match(slot) or (p["state"] == "absent" and UNUSED_KEY.match(slot))):
        also = " (or unusedN with state: absent)" if p["state"] == "present" else \
            f", or unusedN (unused0-unused{MAX_UNUSED_DISKS - 1})"
        problems.append(f"disk must be a disk slot such as scsi0, virtio1, sata2 or ide0 ({disk_slots_text()})"
                        f"{also}; got {slot!r}")
    problems.extend(problem for problem in (storage_id_problem(option, p[option])
                                            for option in ("storage", "import_storage")) if problem)
    if p["size"] is not None:
        try:
            disk_size(p["size"])
        except ValueError:
            problems.append(f"size must be a size such as 32G, 512M or 1T (a bare number is GiB), got {p['size']!r}")
    volume_problem = property_field_problem("volume", p["volume"], first="volume")
    if volume_problem:
        problems.append(volume_problem)
    elif p["volume"] is not None and not (UNUSED_KEY.match(p["volume"]) or VOLUME_ID.match(p["volume"])):
        problems.append(f"volume must be a volume id such as local-lvm:vm-100-disk-1 or unusedN, got {p['volume']!r}")
    problems.extend(import_problems(p))
    problems.extend(drive_option_problems(p["options"]))
    problems.extend(ssh_problems(p))
    if p["state"] == "absent":
        given = [name for name in PRESENT_ONLY if p[name] is not None]
        if given:
            problems.append(f"{', '.join(given)} only apply with state: present")
    return problems


def import_problems(p):
    source = p["import_from"]
    url_only = [name for name in ("import_filename", "checksum") if p[name] is not None]
    if source is None:
        return [f"{', '.join(url_only)} only apply with an import_from URL"] if url_only else []
    kind = classify_source(source)
    problems = []
    if kind in ("path", "volume"):
        # It becomes import-from=SOURCE in the drive's property string (an URL does not: the volume it is
        # downloaded to does, whose name IMPORT_FILENAME allows). A path goes the same way over SSH, so that
        # a run does not fail or pass by the login it uses.
        problem = property_field_problem("import_from", source)
        if problem:
            problems.append(problem)
    if kind is None:
        problems.append(f"import_from must be a volume id (local:import/noble.qcow2), an absolute path on the node "
                        f"or an https:// URL, got {source!r}")
    if not p["storage"]:
        problems.append("import_from needs storage, the storage the disk is made on")
    if kind == "url":
        filename = download_filename(source, p["import_filename"])
        if not IMPORT_FILENAME.match(filename or ""):
            problems.append(f"import_filename: the download would be named {filename!r}, but PVE takes only "
                            ".qcow2, .raw, .vmdk and .ova names of letters, digits and -._+= for import content; "
                            "give import_filename (an image published as .img is usually a qcow2: name it .qcow2)")
    elif url_only:
        problems.append(f"{', '.join(url_only)} only apply with an import_from URL")
    if kind == "url" and p["import_method"] == "ssh":
        problems.append("import_method: ssh imports a file that is on the node; an URL is downloaded by the node "
                        "(download-url) and imported through the API - use import_method auto or api")
    if kind == "volume" and p["import_method"] == "ssh":
        problems.append("import_method: ssh runs qm importdisk, which takes a file path on the node, not a "
                        "volume id; use import_method auto or api for a volume id")
    return problems


def drive_option_problems(options):
    problems = []
    for name, value in (options or {}).items():
        if not OPTION_NAME.match(str(name)) or name in NOT_OPTIONS:
            problems.append(f"options.{name} is not a drive option this module sets")
        elif name in OWN_OPTIONS:
            problems.append(f"options.{name}: use the {name} option instead")
        else:
            problem = property_field_problem(f"options.{name}", value)
            if problem:
                problems.append(problem)
    return problems


def ssh_problems(p):
    problems = []
    if not 1 <= p["ssh_port"] <= 65535:
        problems.append(f"ssh_port must be between 1 and 65535, got {p['ssh_port']}")
    if p["ssh_host_key"] is not None and normalize_fingerprint(p["ssh_host_key"]) is None:
        problems.append(f"ssh_host_key must be a SHA256 fingerprint as ssh-keygen -lf prints it "
                        f"(SHA256: and 43 base64 characters), got {p['ssh_host_key']!r}")
    return problems


# ------------------------------------------------------------------ the steps on one slot

class DiskModule(ProxmoxModule):
    """The steps on the slot (the disk option) of a QEMU VM that the module's run found (set_vm). Each write is
    recorded with act() in the result's actions and the diff, and skipped in check mode."""

    # The VM (its /cluster/resources entry) and its API path: set_vm sets them before any step reads them.
    vm: dict[str, Any]
    path: str

    def __init__(self):
        super().__init__()
        self.result = dict(changed=False, disk=self.params["disk"], actions=[], tasks=self.tasks)
        self.diff: dict[str, dict[str, Any]] = {"before": {}, "after": {}}
        self.version = None  # the node's (major, minor) once read; () when it could not be read

    def set_vm(self, vm, path):
        self.vm, self.path = vm, path
        self.result.update(vmid=int(vm["vmid"]), name=vm.get("name"), node=vm["node"])

    def read_config(self):
        config = dict(self.client.get(self.path + "/config") or {})
        return config, config.pop("digest", None)

    def describe_slot(self, config):
        value = config.get(self.params["disk"])
        if value is None:
            return
        drive = parse_drive(value)
        self.result.update(value=value, volume=drive.get("volume"))
        if drive.get("size"):
            self.result["size"] = drive["size"]

    def act(self, action, key, before, after):
        self.result["changed"] = True
        self.result["actions"].append(action)
        self.diff["before"].setdefault(key, before)
        self.diff["after"][key] = after

    def write_config(self, payload, digest=None, delete=None):
        if not self.check_mode:
            self.wait(self.client.post(self.path + "/config", digest=digest, delete=delete, **payload))

    def check_not_cdrom(self, value):
        problem = cdrom_problem(self.params["disk"], self.vm["vmid"], value)
        if problem:
            self.fail(problem)

    def storage_status(self, storage, content):
        """Make sure the storage exists on the node and takes this content; fail (before any write) otherwise."""
        node = self.vm["node"]
        try:
            status = self.client.get(api_path("nodes", node, "storage", storage, "status")) or {}
        except ProxmoxApiError as exc:
            self.fail(f"storage {storage!r} cannot be used on node {node}: {exc}")
        problem = content_problem("import_storage" if content == "import" else "storage", storage, status, content)
        if problem:
            self.fail(problem)
        return status

    # ------------------------------------------------------- a new disk

    def boot_change(self, config):
        """The boot value to write for the boot option ('' to remove the key), or None; recorded in the diff."""
        if self.params["boot"] is None:
            return None
        value = boot_value(config.get("boot"), self.params["disk"], self.params["boot"])
        if value is not None:
            self.diff["before"].setdefault("boot", config.get("boot"))
            self.diff["after"]["boot"] = value or None
        return value

    def config_write(self, payload, digest, boot=None):
        if boot:
            payload = {**payload, "boot": boot}
        self.write_config(payload, digest, delete="boot" if boot == "" else None)

    def create(self, config, digest):
        p = self.params
        extra = {"format": p["format"]} if p["format"] else {}
        value = drive_value(f"{p['storage']}:{gib_text(disk_size(p['size']))}", wanted_options(p), extra)
        self.storage_status(p["storage"], "images")
        self.act("create", p["disk"], None, value)
        self.config_write({p["disk"]: value}, digest, self.boot_change(config))

    def resolve_volume(self, config):
        volume = self.params["volume"]
        if UNUSED_KEY.match(volume):
            if config.get(volume) is None:
                self.fail(f"volume: VM {self.vm['vmid']} has no {volume}")
            return parse_drive(config[volume]).get("volume")
        return volume

    def attach(self, config, digest):
        p = self.params
        volume = self.resolve_volume(config)
        for key, value in config.items():
            if DISK_KEY.match(key) and parse_drive(value).get("volume") == volume:
                self.fail(f"volume: {volume} is attached already, as {key}")
        value = drive_value(volume, wanted_options(p))
        self.act("attach", p["disk"], None, value)
        self.config_write({p["disk"]: value}, digest, self.boot_change(config))

    # ------------------------------------------------------------ import

    def node_version(self):
        """The node's (major, minor), read once; None when it cannot be read."""
        if self.version is None:
            try:
                reply = self.client.get(api_path("nodes", self.vm["node"], "version")) or {}
            except ProxmoxApiError:
                reply = {}
            self.version = parse_version(reply.get("version")) or parse_version(reply.get("release")) or ()
        return self.version or None

    def import_disk(self, config, digest, current):
        p = self.params
        kind = classify_source(p["import_from"])
        try:
            method, reason = choose_import_method(p["import_method"], kind, self.client.auth_mode, self.client.user,
                                                  self.node_version())
        except ValueError as exc:
            self.fail(str(exc))
        self.result.update(import_method_used=method, import_method_reason=reason)
        if method == "ssh" and not HAS_PARAMIKO:
            self.fail(missing_required_lib("paramiko"), exception=PARAMIKO_IMPORT_ERROR)
        self.storage_status(p["storage"], "images")
        if current is not None:
            self.result["replaced"] = parse_drive(current).get("volume")
        source = self.download() if kind == "url" else p["import_from"]
        if method == "api":
            self.import_api(source, config, digest, current)
        else:
            self.import_ssh(source, config, current)

    def download(self):
        p = self.params
        storage, url = p["import_storage"], p["import_from"]
        filename = download_filename(url, p["import_filename"])
        volid = f"{storage}:import/{filename}"
        self.storage_status(storage, "import")
        node = self.vm["node"]
        listing = self.client.get(api_path("nodes", node, "storage", storage, "content"), content="import") or []
        if any(item.get("volid") == volid for item in listing):
            self.result["downloaded"] = False
            return volid
        self.result["downloaded"] = True
        self.act("download", "download", None, f"{url} -> {volid}")
        if not self.check_mode:
            self.wait(self.client.post(api_path("nodes", node, "storage", storage, "download-url"), url=url,
                                       content="import", filename=filename, checksum=p["checksum"],
                                       **{"checksum-algorithm": p["checksum_algorithm"],
                                          "verify-certificates": p["download_verify_certificates"]}))
        return volid

    def import_api(self, source, config, digest, current):
        p = self.params
        extra = {"import-from": source, **({"format": p["format"]} if p["format"] else {})}
        value = drive_value(f"{p['storage']}:0", wanted_options(p), extra)
        self.act("import", p["disk"], current, value)
        self.config_write({p["disk"]: value}, digest, self.boot_change(config))

    def ssh_runner(self):
        p = self.params
        host = p["ssh_host"]
        if not host:
            try:
                host = node_address(self.client.get("/cluster/status"), self.vm["node"])
            except ProxmoxApiError:
                host = self.vm["node"]
        return NodeSsh(host, port=p["ssh_port"], user=p["ssh_user"], password=p["ssh_password"],
                       private_key=p["ssh_private_key"], private_key_passphrase=p["ssh_private_key_passphrase"],
                       private_key_file=p["ssh_private_key_file"], known_hosts=p["ssh_known_hosts"],
                       host_key=p["ssh_host_key"], host_key_checking=p["ssh_host_key_checking"],
                       become=p["ssh_become"], connect_timeout=p["ssh_timeout"], warn=self.warn)

    def import_ssh(self, source, config, current):
        p = self.params
        version = self.node_version()
        # `qm disk import` is the name since PVE 8 (importdisk stays as an alias); older nodes know importdisk.
        subcommand = "disk import" if version is not None and version >= (8, 0) else "importdisk"
        argv = qm_import_argv(self.vm["vmid"], source, p["storage"], p["format"], subcommand)
        self.result["ssh_command"] = command_line(argv, p["ssh_become"])
        options = wanted_options(p)
        self.act("import", p["disk"], current, drive_value("<volume qm importdisk makes>", options))
        if self.check_mode:
            if not p["ssh_host_key_checking"]:
                self.warn(unchecked_host_key_warning())
            self.boot_change(config)
            return
        try:
            with self.ssh_runner() as ssh:
                rc, out, err = ssh.run(argv, timeout=p["timeout"])
                host = ssh.host
        except SshError as exc:
            self.fail(str(exc))
        if rc != 0:
            self.fail(failure_message(host, self.result["ssh_command"], rc, err, out), rc=rc, stdout=out, stderr=err)
        nothing = nothing_attached(p["disk"], self.vm["vmid"], p["storage"])
        try:
            key, volid = parse_import_output(out)
        except SshError as exc:
            self.fail(f"{exc}\n{nothing}", stdout=out)
        config, digest = self.read_config()
        # Attach only what qm made for this VM, on the storage asked for, listed under the unusedN key qm named.
        vmid = int(self.vm["vmid"])
        problem = imported_problem(key, volid, config, vmid, p["storage"])
        if problem:
            self.fail(f"qm reported the imported disk as {key}:{volid}, which is not a new disk of VM {vmid} on "
                      f"storage {p['storage']}: {problem}.\n{nothing}", stdout=out)
        self.result["imported_as"] = f"{key}:{volid}"
        self.result["actions"].append("attach")
        try:
            self.config_write({p["disk"]: drive_value(volid, options)}, digest, self.boot_change(config))
        except ProxmoxError as exc:
            raise ProxmoxError(f"qm imported the image as {key} ({volid}), but attaching it as {p['disk']} failed: "
                               f"{exc}. Attach it with volume: {key}") from exc

    # --------------------------------------------------- an existing disk

    def current_size(self, drive):
        if drive.get("size"):
            return size_bytes(drive["size"])
        volume = drive.get("volume") or ""
        storage = volume_storage(volume)
        if not storage:
            return None
        info = self.client.get(api_path("nodes", self.vm["node"], "storage", storage, "content", volume)) or {}
        return int(info["size"]) if info.get("size") else None

    def converge(self, config, digest, filled=False):
        """Options, boot order, storage and size of the disk in the slot (just filled, or there before)."""
        p = self.params
        slot = p["disk"]
        current = config[slot]
        drive = parse_drive(current)
        grow = None
        if p["size"] is not None:
            grow, shrink = resize_plan(slot, p["size"], self.current_size(drive))
            if shrink and filled:
                # The image was imported as it is: failing now would not undo that.
                self.warn(shrink + "; it stays as the image made it")
            elif shrink:
                self.fail(shrink + " (make a new, smaller disk and copy the data in the guest)")
        move = p["storage"] is not None and volume_storage(drive.get("volume")) != p["storage"]
        if move:
            self.storage_status(p["storage"], "images")
        payload = {}
        value = merged_drive(current, wanted_options(p))
        if value is not None:
            self.act("options", slot, current, value)
            payload[slot] = value
        boot = self.boot_change(config)
        if boot is not None:
            self.result["changed"] = True
            self.result["actions"].append("boot")
        if payload or boot is not None:
            self.config_write(payload, digest, boot)
        if move:
            self.move(drive)
        if grow:
            self.resize(*grow)

    def move(self, drive):
        p = self.params
        self.act("move", "storage", volume_storage(drive.get("volume")), p["storage"])
        if self.check_mode:
            return
        self.wait(self.client.post(self.path + "/move_disk", disk=p["disk"], storage=p["storage"],
                                   format=p["format"], delete=p["delete_source"]))
        if not p["delete_source"]:
            self.result["unused"] = unused_key_of(self.read_config()[0], drive.get("volume"))

    def resize(self, have, wanted):
        p = self.params
        self.act("resize", "size", size_text(have) if have is not None else None, size_text(wanted))
        if not self.check_mode:
            self.wait(self.client.put(self.path + "/resize", disk=p["disk"], size=size_text(wanted)))

    # ----------------------------------------------------------- removal

    def delete(self, slot, current):
        self.act("delete", slot, current, None)
        if not self.check_mode:
            self.wait(self.client.put(self.path + "/unlink", idlist=slot, force=True))

    def detach(self, slot, current, digest):
        self.act("detach", slot, current, None)
        if self.check_mode:
            return
        self.write_config({}, digest, delete=slot)
        after = self.read_config()[0]
        self.result["unused"] = unused_key_of(after, parse_drive(current).get("volume"))
        if slot in after:
            self.warn(f"{slot} is still in the VM's configuration: the detach is pending until the VM restarts")

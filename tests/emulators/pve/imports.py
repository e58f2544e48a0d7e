"""Disk import and disk operations as a node does them, added to fakepve 0.5.0 through its Python API.

Gaps (each shown on plain fakepve and fixed here in tests/emulators/test_pve_import_gaps.py), with the
node's behaviour from qemu-server (PVE/API2/Qemu.pm: check_storage_access, create_disks, import_from_volid,
update_vm, resize_vm, move_vm_disk, unlink), pve-storage (check_volume_access, abs_filesystem_path,
API2/Storage/Status.pm download_url) and qemu-server's write_vm_config:

1. ``import-from`` of an absolute path: only ``root@pam`` logged in with a password may pass one; anyone
   else, a token (even root's) included, gets ``403 Only root can pass arbitrary filesystem paths.``
   before any task starts. fakepve accepts it from anyone.
2. ``import-from`` of a volume that does not exist fails the task with ``cannot import from 'X' - could not
   get size of X`` and changes nothing; fakepve accepts it.
3. An import makes a real volume (``vm-<vmid>-disk-<n>`` of the source's size, listed in the storage's
   content) and the config gets that volume with ``size=``; fakepve keeps ``local-lvm:0,import-from=...``.
4. A config write of ``STORAGE:SIZE`` allocates a volume (fakepve keeps the literal, which then shows up
   as a bogus volume ``local-lvm:4``); attaching a volume that does not exist fails; a replaced or deleted
   disk becomes ``unusedN`` (fakepve forgets it), an ``unusedN`` whose volume is attached again goes away,
   deleting ``unusedN`` (or a disk with ``force``) frees the volume, and a deleted disk leaves the boot order.
5. ``PUT .../resize`` grows the volume and the config's ``size=`` and refuses to shrink (``shrinking disks
   is not supported``); fakepve answers from the schema and changes nothing.
6. ``POST .../move_disk`` copies the disk to the other storage and deletes the source (``delete=1``) or
   keeps it as ``unusedN``; fakepve changes nothing.
7. ``PUT .../unlink`` detaches (``unusedN``) or, with ``force``, deletes; fakepve does nothing.
8. ``GET /nodes/{node}/version`` answers the node's version (fakepve: ``fake``).
9. ``download-url`` fetches the URL for real (``verify-certificates``, ``checksum`` with
   ``checksum-algorithm``, the image's real size), refuses a file that is already there and checks the
   file name of ``import`` content; fakepve stores a pretend 1 MiB file without fetching anything. The route
   is storage_gaps.StorageGaps' (with the rest of what a node does there); the fetch is here.

The node's file system is this machine's: an absolute ``import-from`` path or a ``qm importdisk`` source
is a file here, and its size is the image's virtual size (qcow2 header) or the file's size.

A test facility, not a gap: ``POST /api2/json/nodes/{node}/qemu/{vmid}/proxgate-qm-importdisk`` (private,
root@pam only) does what ``qm importdisk`` does on a node - the image becomes a volume and ``unusedN`` -
for the fake ``qm`` (tests/emulators/pve/qm.py) that the SSH tests put on a real sshd's PATH.
"""

from __future__ import annotations

import functools
import os
import re
import ssl
import struct
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import aiohttp
from aiohttp import web
from fakepve import PveError
from fakepve.certs import make_cert
from fakepve.lxc import format_size
from fakepve.model import TaskError
from fakepve.qemu import DRIVE_KEY, NEW_DISK, is_cdrom, join_drive, split_drive, volume_ref
from fakepve.routing import check_digest, die, param_error, split_list
from fakepve.server import USER, ok, params

ONE = "/nodes/{node}/qemu/{vmid}"
QM_IMPORTDISK = re.compile(r"^/api2/json/nodes/(?P<node>[^/]+)/qemu/(?P<vmid>\d+)/proxgate-qm-importdisk$")
UNUSED_KEY = re.compile(r"^unused\d+$")
SIZE_ARG = re.compile(r"^(?P<plus>\+)?(?P<number>\d+(?:\.\d+)?)(?P<unit>[KMGT])?$")
UNITS = {None: 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
DOWNLOAD_MAX = 256 * 1024 ** 2
TRUE = ("1", "true", "on", "yes")


def image_size(path):
    """The virtual size of a disk image file: a qcow2 header's size field, else the file's size."""
    with open(path, "rb") as image:
        header = image.read(32)
    return header_size(header) or os.path.getsize(path)


def header_size(data):
    """The virtual size in a qcow2 header at the start of data, or None."""
    if len(data) >= 32 and data[:4] == b"QFI\xfb":
        return struct.unpack(">Q", data[24:32])[0]
    return None


def flag(value):
    return str(value if value is not None else "").lower() in TRUE


class ImportGaps:
    """Mixin for ProxgatePve: disk import (API and the fake qm), allocation on config writes, resize,
    move_disk, unlink, the node version and a download-url that downloads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # CA bundle download-url trusts with verify-certificates (None: the system's).
        self.download_cafile = None
        # What the private qm endpoint did: [{vmid, source, storage, volid, key}].
        self.qm_imports = []

    def _routes_imports(self):
        return [("PUT", ONE + "/resize", self._qm_resize), ("POST", ONE + "/move_disk", self._qm_move_disk),
                ("PUT", ONE + "/unlink", self._qm_unlink), ("GET", "/nodes/{node}/version", self._node_version)]

    def _build_app(self):
        app = super()._build_app()
        # Innermost: fakepve's middleware has authenticated the caller and recorded the request.
        app.middlewares.append(self._qm_private)
        return app

    # ------------------------------------------------------------ import-from checks

    def _check_import_source(self, user, vmid, key, value):
        """check_storage_access for a drive with import-from: the syntax, the source's type, and who may
        import it (before any task starts)."""
        volume, props = split_drive(value)
        source = props.get("import-from")
        if source is None:
            return
        found = NEW_DISK.match(volume)
        if not found or float(found.group(2)) != 0:
            raise param_error(**{key: "'import-from' requires special syntax - "
                                      "use <storage ID>:0,import-from=<source>"})
        sid, name = volume_ref(source)
        if sid is None:
            # pve-storage check_volume_access: a path that is no volume id.
            if user != "root@pam":
                raise PveError(403, "Only root can pass arbitrary filesystem paths.")
            return
        store = self._store(sid)
        vtype, owner, _fmt = self._parse_volname(store, name)
        if vtype not in ("images", "import"):
            raise param_error(**{key: f"{source} has wrong type '{vtype}' - needs to be 'images' or 'import'"})
        if owner:
            self.require(user, f"/vms/{owner}", "VM.Clone")
        else:
            self._check_access(user, sid, vtype, owner, source)

    def _import_source_size(self, source):
        """The size of what import-from names, or the task's error (create_disks, import_from_volid)."""
        sid, name = volume_ref(source)
        if sid is None:
            if not os.path.isfile(source):
                raise die(f"can't find file '{source}'")
            size = image_size(source)
            if not size:
                raise die(f"could not get file size of {source}")
            return size
        vol = self._volumes(sid).get(name) if sid in self.storages else None
        if not vol or not int(vol.get("size") or 0):
            raise die(f"cannot import from '{source}' - could not get size of {source}")
        return int(vol["size"])

    def _qm_check_drive(self, user, vmid, pool, key, value, default):
        self._check_import_source(user, vmid, key, value)
        return super()._qm_check_drive(user, vmid, pool, key, value, default)

    def _qm_new_drive(self, vmid, key, value, default):
        volume, props = split_drive(value)
        source = props.get("import-from")
        if source is None:
            return super()._qm_new_drive(vmid, key, value, default)
        size = self._import_source_size(source)
        sid = NEW_DISK.match(volume).group(1) or default
        props = {k: v for k, v in props.items() if k != "import-from"}
        volid, _fmt = self._qm_alloc(sid, vmid, props.pop("format", None), size)
        props["size"] = format_size(size)
        return join_drive(volid, props), [volid]

    async def _config_post(self, request):
        await self._check_config_imports(request)
        return await super()._config_post(request)

    async def _config_put(self, request):
        await self._check_config_imports(request)
        return await super()._config_put(request)

    async def _check_config_imports(self, request):
        values = await params(request)
        vm = self._vm(request)
        for key, value in values.items():
            if DRIVE_KEY.match(key):
                self._check_import_source(request[USER], vm.vmid, key, value)

    # ------------------------------------------------------------ config writes with disks

    def _materialize(self, vm, key, value):
        """A drive value as update_vm's create_disks leaves it: new disks and imports allocated, existing
        volumes checked. Returns (value, volume ids made). CD-ROMs and cloud-init drives stay as they are."""
        volume, props = split_drive(value)
        if is_cdrom(volume, props) or not volume or volume in ("none", "cdrom") or volume.endswith(":cloudinit"):
            return value, []
        new_disk = NEW_DISK.match(volume)
        if "import-from" in props or new_disk:
            if new_disk and new_disk.group(1):
                self._store(new_disk.group(1))
            return self._qm_new_drive(vm.vmid, key, value, None)
        if volume_ref(volume)[0] in self.storages:
            return self._qm_new_drive(vm.vmid, key, value, None)
        return value, []

    async def _apply_config(self, vm, user, p):
        p = dict(p)
        force = flag(p.pop("force", None))
        before = dict(vm.config)
        deletes = [key for key in split_list(p.get("delete")) if key]
        drives = sorted(key for key in p if DRIVE_KEY.match(key))
        made = []
        try:
            for key in drives:
                p[key], volids = self._materialize(vm, key, p[key])
                made.extend(volids)
            await super()._apply_config(vm, user, p)
        except (PveError, TaskError):
            for volid in made:
                self._qm_free(volid)
            raise
        self._after_config(vm, before, drives, deletes, force)

    def _after_config(self, vm, before, drives, deletes, force):
        for key in drives:
            old, new = before.get(key), vm.config.get(key)
            if old is None or new == old:
                continue
            old_volume, old_props = split_drive(old)
            if old_volume != split_drive(new)[0] and not is_cdrom(old_volume, old_props) \
                    and volume_ref(old_volume)[0] is not None:
                self._keep_volume(old_volume, old_props)
                self._add_unused(vm, old_volume)
        for key in deletes:
            if key not in before or key in vm.config:
                continue  # nothing there, or pending until the next start
            volume, props = split_drive(before[key])
            if is_cdrom(volume, props) or volume_ref(volume)[0] is None:
                continue
            if UNUSED_KEY.match(key) or force:
                if not self._volume_in_use(vm, volume):
                    self._qm_free(volume)
            elif DRIVE_KEY.match(key):
                self._keep_volume(volume, props)
                self._add_unused(vm, volume)
            self._drop_from_boot(vm, key)
        self._drop_reattached_unused(vm)

    def _volume_in_use(self, vm, volume):
        return any(split_drive(value)[0] == volume for key, value in vm.config.items()
                   if DRIVE_KEY.match(key) or UNUSED_KEY.match(key))

    @staticmethod
    def _add_unused(vm, volume):
        """PVE::QemuConfig->add_unused_volume: the first free unusedN (the one there if it is already listed)."""
        for key, value in vm.config.items():
            if UNUSED_KEY.match(key) and value == volume:
                return key
        n = 0
        while f"unused{n}" in vm.config:
            n += 1
        vm.config[f"unused{n}"] = volume
        return f"unused{n}"

    @staticmethod
    def _drop_reattached_unused(vm):
        """write_vm_config: 'remove unusedX settings if we re-add a volume'."""
        used = {split_drive(value)[0] for key, value in vm.config.items() if DRIVE_KEY.match(key)}
        used |= {split_drive(value)[0] for value in vm.pending.values() if value}
        for key in [k for k, value in vm.config.items() if UNUSED_KEY.match(k) and value in used]:
            del vm.config[key]

    @staticmethod
    def _drop_from_boot(vm, key):
        order = str(vm.config.get("boot") or "")
        if not order.startswith("order="):
            return
        devices = [dev for dev in order[len("order="):].split(";") if dev]
        if key not in devices:
            return
        devices.remove(key)
        if devices:
            vm.config["boot"] = "order=" + ";".join(devices)
        else:
            del vm.config["boot"]

    # ------------------------------------------------------------ resize, move, unlink

    def _drive_size(self, volume, props):
        if props.get("size"):
            number = SIZE_ARG.match(props["size"])
            if number:
                return int(float(number.group("number")) * UNITS[number.group("unit")])
        sid, name = volume_ref(volume)
        vol = self._volumes(sid).get(name) if sid in self.storages else None
        return int((vol or {}).get("size") or 0)

    def _keep_volume(self, volume, props):
        """A volume known only from a drive's config (size=) keeps its size once only unusedN lists it."""
        sid, name = volume_ref(volume)
        if sid in self.storages and name not in self.storages[sid].get("volumes", {}):
            self._set_volume_size(volume, self._drive_size(volume, props))

    def _set_volume_size(self, volume, size):
        sid, name = volume_ref(volume)
        if sid not in self.storages:
            return
        volumes = self.storages[sid].setdefault("volumes", {})
        vol = dict(volumes.get(name) or self._volumes(sid).get(name) or {"content": "images", "format": "raw"})
        vol["size"] = size
        volumes[name] = vol

    async def _qm_resize(self, v, user):
        vm = self.find(v["node"], v["vmid"])
        self._check_lock(vm)
        check_digest(vm.digest(), v.get("digest"))
        disk, wanted = v["disk"], SIZE_ARG.match(str(v["size"]))
        if wanted is None:
            raise param_error(size="value does not match the regex pattern")

        async def body():
            value = vm.config.get(disk)
            if not value:
                raise TaskError(f"disk '{disk}' does not exist")
            volume, props = split_drive(value)
            if is_cdrom(volume, props):
                raise TaskError("you can't resize a cdrom")
            size = self._drive_size(volume, props)
            number = int(float(wanted.group("number")) * UNITS[wanted.group("unit")])
            new = size + number if wanted.group("plus") else number
            if new < size:
                raise TaskError("shrinking disks is not supported")
            if new == size:
                return None
            self._set_volume_size(volume, new)
            props = dict(props, size=format_size(new))
            vm.config[disk] = join_drive(volume, props)
            return f"Image resized from {format_size(size)} to {format_size(new)}."
        return await self.task(vm.node, "resize", vm.vmid, user, body, vm=vm)

    async def _qm_move_disk(self, v, user):
        vm = self.find(v["node"], v["vmid"])
        if v.get("target-vmid") not in (None, vm.vmid):
            raise PveError(501, "proxgate test server: moving a disk to another VM is not modelled")
        disk, storage, fmt = v["disk"], v.get("storage"), v.get("format")
        if not storage:
            raise param_error(storage="property is missing and it is not optional")
        self._check_lock(vm)
        check_digest(vm.digest(), v.get("digest"))
        self.require(user, f"/storage/{storage}", "Datastore.AllocateSpace")
        store = self._check_enabled(storage, vm.node)
        if "images" not in split_list(store.get("content")):
            raise die(f"storage '{storage}' does not support vm images")
        value = vm.config.get(disk)
        if not value:
            raise die(f"disk '{disk}' does not exist")
        volume, props = split_drive(value)
        if is_cdrom(volume, props):
            raise die("you can't move a cdrom")
        old_sid, old_name = volume_ref(volume)
        old_format = (self._volumes(old_sid).get(old_name) or {}).get("format") if old_sid in self.storages else None
        if old_sid == storage and (not fmt or fmt == old_format):
            raise die("you can't move to the same storage with same format")

        async def body():
            size = self._drive_size(volume, props)
            volid, _fmt = self._qm_alloc(storage, vm.vmid, fmt, size)
            vm.config[disk] = join_drive(volid, dict(props, **({"size": format_size(size)} if size else {})))
            if flag(v.get("delete")):
                self._qm_free(volume)
            else:
                self._keep_volume(volume, props)
                self._add_unused(vm, volume)
            return f"moved {disk} from {volume} to {volid}"
        return await self.task(vm.node, "qmmove", vm.vmid, user, body, vm=vm)

    async def _qm_unlink(self, v, user):
        vm = self.find(v["node"], v["vmid"])
        await self._apply_config(vm, user, {"delete": v["idlist"], "force": v.get("force")})
        return None

    async def _node_version(self, v, user):
        found = re.match(r"\d+\.\d+", str(self.version))
        return {"version": self.version, "release": found.group(0) if found else self.release_version,
                "repoid": "fakepve"}

    # ------------------------------------------------------------ download-url

    async def _fetch(self, url, verify):
        context = ssl.create_default_context(cafile=self.download_cafile) if verify else False
        try:
            async with aiohttp.ClientSession() as session, \
                    session.get(url, ssl=context, timeout=aiohttp.ClientTimeout(total=60)) as response:
                if response.status >= 400:
                    raise TaskError(f"download failed: {response.status} {response.reason}")
                data = await response.content.read(DOWNLOAD_MAX + 1)
        except aiohttp.ClientError as exc:
            raise TaskError(f"download failed: {exc}") from exc
        if len(data) > DOWNLOAD_MAX:
            raise TaskError("download failed: proxgate test server: the file is larger than 256 MiB")
        return data

    # ------------------------------------------------------------ what qm importdisk does on the node

    def qm_importdisk(self, node, vmid, source, storage, disk_format=None):
        """PVE::CLI::qm importdisk and ImportDisk::do_import: the image becomes a volume, listed as unusedN.
        Returns {key, volid, size}; PveError with qm's message otherwise."""
        vm = self.find(node, vmid)
        self._check_lock(vm)
        if not os.path.isfile(source):
            raise PveError(500, f"{source}: non-existent or non-regular file")
        store = self._check_enabled(storage, node)
        if "images" not in split_list(store.get("content")):
            raise PveError(500, f"storage {storage} does not support vm images")
        size = image_size(source)
        volid, _fmt = self._qm_alloc(storage, vm.vmid, disk_format, size)
        key = self._add_unused(vm, volid)
        self.qm_imports.append({"vmid": vm.vmid, "source": source, "storage": storage, "volid": volid, "key": key})
        return {"key": key, "volid": volid, "size": size}

    @web.middleware
    async def _qm_private(self, request, handler):
        found = QM_IMPORTDISK.match(request.path)
        if not found or request.method != "POST":
            return await handler(request)
        user = request[USER] or ""
        if user.split("!")[0] != "root@pam":
            raise PveError(403, "proxgate qm endpoint: qm runs as root on the node (root@pam only)")
        values = await params(request)
        for name in ("source", "storage"):
            if not values.get(name):
                raise param_error(**{name: "property is missing and it is not optional"})
        return ok(self.qm_importdisk(found.group("node"), int(found.group("vmid")), values["source"],
                                     values["storage"], values.get("format")))


# ------------------------------------------------------------------ a test facility: images to download

class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class ImageServer:
    """An HTTPS server on 127.0.0.1 that serves the files of a directory, for download-url tests.

    Its certificate is made here; give ``cafile`` to the test server's ``download_cafile`` so that
    ``verify-certificates`` trusts it.
    """

    def __init__(self, directory, pki_dir):
        os.makedirs(pki_dir, exist_ok=True)
        certfile, keyfile, _der = make_cert(str(pki_dir), name="images", hosts=("127.0.0.1",))
        self.cafile = certfile
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="proxgate-images", daemon=True)
        self.thread.start()

    def url(self, name):
        return f"https://127.0.0.1:{self.httpd.server_address[1]}/{quote(name)}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)

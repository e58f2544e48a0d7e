"""CD-ROM drives in a VM's config update as a node handles them, added to fakepve 0.5.0 through its Python API.

Gaps (each shown on plain fakepve and fixed here in tests/emulators/test_pve_gaps.py), read in qemu-server
PVE/API2/Qemu.pm (update_vm_api, $resolve_cdrom_alias, $check_storage_access, the drive parameter check of
$foreach_volume_with_alloc, $create_disks):

1. ``cdrom`` is an alias of ``ide2``: a node writes ``ide2`` (with ``media=cdrom`` added when the value has no
   ``media``) and never a ``cdrom`` key; ``delete=cdrom`` deletes ``ide2``. fakepve stores a ``cdrom`` key.
2. An ISO volume in a drive without ``media=cdrom`` is refused before any task (``explicit 'media=cdrom' is
   required for iso images``); fakepve attaches it as a disk.
3. An ISO that does not exist fails the update (``volume local:iso/x.iso does not exist``, from
   volume_size_info in $create_disks); fakepve attaches it.
4. A CD-ROM drive with an ISO gets the ISO's ``size=``, as any existing volume does ($create_disks); ``none``
   and ``cdrom`` (the host's drive) have no size. fakepve keeps the value as sent.
"""

from __future__ import annotations

from fakepve import PveError
from fakepve.lxc import format_size
from fakepve.qemu import DRIVE_KEY, is_cdrom, join_drive, split_drive, volume_ref
from fakepve.routing import param_error, split_list
from fakepve.server import params

MEDIA_REQUIRED = "explicit 'media=cdrom' is required for iso images"


def resolve_cdrom_alias(values):
    """$resolve_cdrom_alias and update_vm_api's delete loop: ``cdrom`` becomes ``ide2``."""
    values = dict(values)
    value = values.pop("cdrom", None)
    if value:
        values["ide2"] = value if "media=" in str(value) else f"{value},media=cdrom"
    if values.get("delete"):
        values["delete"] = ",".join("ide2" if key == "cdrom" else key for key in split_list(values["delete"]))
    return values


class CdromGaps:
    """Mixin of ProxgatePve, in front of ImportGaps: CD-ROM drives in POST/PUT .../qemu/{vmid}/config."""

    async def _config_post(self, request):
        self._check_iso_media(await params(request))
        return await super()._config_post(request)

    async def _config_put(self, request):
        self._check_iso_media(await params(request))
        return await super()._config_put(request)

    def _check_iso_media(self, values):
        """The parameter check a node makes before it forks the config worker: an ISO needs media=cdrom."""
        for key, value in resolve_cdrom_alias(values).items():
            if not DRIVE_KEY.match(key) or value in (None, ""):
                continue
            volume, props = split_drive(value)
            if self._iso_volume(volume) and props.get("media") != "cdrom":
                raise param_error(**{key: MEDIA_REQUIRED})

    def _iso_volume(self, volume):
        """True when the volume id names ISO content of a storage the node has."""
        sid, name = volume_ref(volume or "")
        if sid is None or sid not in self.storages:
            return False
        try:
            return self._parse_volname(self._store(sid), name)[0] == "iso"
        except PveError:
            return False

    async def _apply_config(self, vm, user, p):
        p = resolve_cdrom_alias(p)
        for key in sorted(key for key in p if DRIVE_KEY.match(key) and p[key] not in (None, "")):
            p[key] = self._cdrom_value(p[key])
        await super()._apply_config(vm, user, p)

    def _cdrom_value(self, value):
        """A CD-ROM drive's value as $create_disks writes it: the ISO's size, none for an empty drive."""
        volume, props = split_drive(value)
        if not is_cdrom(volume, props):
            return value
        props = {k: v for k, v in props.items() if k != "size"}
        sid, name = volume_ref(volume or "")
        if not volume or volume in ("none", "cdrom") or sid is None or name.endswith("cloudinit"):
            return join_drive(volume, props) if volume in ("none", "cdrom") else value
        store = self.storages.get(sid)
        vol = self._volumes(sid).get(name) if store is not None else None
        size = int((vol or {}).get("size") or 0)
        if not size:
            raise PveError(500, f"volume {volume} does not exist")
        props["size"] = format_size(size)
        return join_drive(volume, props)

"""NICs, clones and templates as a node handles them, added to fakepve 0.5.0 through its Python API.

Gaps (each shown on plain fakepve and fixed here in tests/emulators/test_pve_guest_gaps.py, with tokens.py's),
read in qemu-server 9.2.6 (src/PVE/API2/Qemu.pm: update_vm_api, clone_vm's $load_and_check and
$check_storage_access_clone; src/PVE/QemuServer.pm: destroy_vm; src/PVE/QemuServer/Network.pm: parse_net) and
pve-storage (volume_is_base_and_used):

1. A NIC written without a MAC gets a new random one: update_vm_api passes every ``netN`` through parse_net, which
   generates ``macaddr`` when the value has none, and print_net. fakepve writes the value as sent on POST/PUT
   config (it adds a MAC only at create and clone), so a NIC updated without its MAC kept no MAC at all.
2. A VM with a volume on storage that is not shared (its disks, or an ISO in a CD-ROM drive) cannot be cloned to
   another node, full or linked: ``can't clone VM to node 'X' (VM uses local storage)``, raised by
   $load_and_check before the task is forked (a 500 reply, no task). fakepve accepts it.
3. A template whose base volume a linked clone still uses cannot be destroyed: destroy_vm dies with ``base volume
   'V' is still in use by linked cloned`` (the node's own wording) before it removes anything, so the destroy
   task fails and the template stays as it was. fakepve frees the base volume under the clone.
"""

from __future__ import annotations

import re

from fakepve.model import TaskError
from fakepve.qemu import drives_of, is_cdrom, split_drive, volume_ref, with_mac
from fakepve.routing import die

NET_KEY = re.compile(r"^net\d+$")
USES_LOCAL_STORAGE = "can't clone VM to node '{target}' (VM uses local storage)"
BASE_IN_USE = "base volume '{volume}' is still in use by linked cloned"


class GuestGaps:
    """Mixin of ProxgatePve: NIC MACs in config updates, clones to another node, destroying a used template."""

    async def _apply_config(self, vm, user, p):
        p = {key: with_mac(value) if NET_KEY.match(key) and value not in (None, "") else value
             for key, value in p.items()}
        await super()._apply_config(vm, user, p)

    async def _qm_clone(self, v, user):
        target = v.get("target")
        if target and target not in (v["node"], "localhost") and target in self.nodes:
            source = self.find(v["node"], int(v["vmid"]))
            config = source.snapshots.get(v["snapname"], {}) if v.get("snapname") else source.config
            if not self._all_volumes_shared(config):
                raise die(USES_LOCAL_STORAGE.format(target=target))
        return await super()._qm_clone(v, user)

    def _all_volumes_shared(self, config):
        """$check_storage_access_clone's $sharedvm: every volume of a drive (CD-ROM ISOs too) on shared storage."""
        for _key, volume, _props in drives_of(config):
            storage = volume_ref(volume or "")[0]
            if not volume or volume in ("none", "cdrom") or storage is None:
                continue
            if not (self.storages.get(storage) or {}).get("shared"):
                return False
        return True

    def _qm_alloc(self, sid, vmid, fmt, size, linked_from=None):
        volid, fmt = super()._qm_alloc(sid, vmid, fmt, size, linked_from=linked_from)
        if linked_from:  # the base it was cloned from, whatever the storage's volume names show
            self._volumes(sid)[volume_ref(volid)[1]]["linked_base"] = linked_from.split("/")[-1]
        return volid, fmt

    async def _qm_destroy(self, v, user):
        vm = self.find(v["node"], v["vmid"])
        used = self._used_base_volume(vm) if vm.template else None
        if used is None:
            return await super()._qm_destroy(v, user)
        self._qm_check_protection(vm, f"can't remove VM {vm.vmid}")

        async def body():
            raise TaskError(BASE_IN_USE.format(volume=used))
        return await self.task(vm.node, "qmdestroy", vm.vmid, user, body, vm=vm)

    def _used_base_volume(self, vm):
        """The first base volume of the template that a linked clone uses (volume_is_base_and_used), or None."""
        keys = [k for k in vm.config if re.fullmatch(r"unused\d+", k)]
        volumes = [volume for _key, volume, props in drives_of(vm.config) if not is_cdrom(volume, props)]
        volumes += [split_drive(vm.config[key])[0] for key in keys]
        for volume in volumes:
            storage, name = volume_ref(volume or "")
            if storage is None or storage not in self.storages:
                continue
            base = name.split("/")[-1]
            if any(other.get("linked_base") == base or other_name.startswith(base + "/")
                   for other_name, other in self._volumes(storage).items() if other_name != name):
                return volume
        return None

"""QEMU migration as a node does it, added to fakepve 0.5.0 through its Python API.

Gap: fakepve answers GET and POST /nodes/{node}/qemu/{vmid}/migrate from the schema: the POST returns a task
that moves nothing, whatever the VM and the target are. A node (read in qemu-server PVE/API2/Qemu.pm
migrate_vm_precondition and migrate_vm, PVE/QemuMigrate.pm prepare and the local-volume scan) does this:

- GET: ``running``, ``allowed_nodes`` (the other online nodes), ``not_allowed_nodes`` and ``local_disks``
  (each volume on a storage that is not shared: volid, size, cdrom, is_unused), ``local_resources``.
- POST, before any task: ``target is local node.`` (400, on target); an unknown node (``no such cluster node
  'X'``); a running VM without ``online``: ``can't migrate running VM without --online``. ``online`` for a
  stopped VM is dropped (an offline migration, the log says so).
- The qmigrate task: a locked VM fails (``VM is locked (backup)``); a live migration with attached local disks
  and without ``with-local-disks`` logs ``can't live migrate attached local disks without with-local-disks
  option`` and fails with ``can't migrate VM - check log``. Otherwise the VM is locked ``migrate`` while it
  moves, then lives on the target, running as it was.
"""

from __future__ import annotations

from fakepve import PveError
from fakepve.model import TaskError
from fakepve.qemu import DRIVE_KEY, is_cdrom, split_drive, volume_ref
from fakepve.routing import param_error

ONE = "/nodes/{node}/qemu/{vmid}"
UNUSED_KEY_PREFIX = "unused"


def flag(value):
    return str(value).lower() in ("1", "true", "on", "yes")


class MigrationGaps:
    """Mixin of ProxgatePve: QEMU migration."""

    # PVE seconds a migration takes (the VM locked 'migrate' meanwhile).
    migrate_secs = 0

    def _routes_migration(self):
        return [("GET", ONE + "/migrate", self._qm_migrate_check), ("POST", ONE + "/migrate", self._qm_migrate)]

    def _local_disks(self, vm):
        """The VM's volumes on storages that are not shared, as migrate_vm_precondition lists them."""
        disks = []
        for key, value in sorted(vm.config.items()):
            unused = key.startswith(UNUSED_KEY_PREFIX)
            if not (DRIVE_KEY.match(key) or unused):
                continue
            volume, props = split_drive(value)
            sid, name = volume_ref(volume or "")
            if sid is None or sid not in self.storages or self.storages[sid].get("shared"):
                continue
            size = int((self._volumes(sid).get(name) or {}).get("size") or 0)
            disks.append({"volid": volume, "size": size, "cdrom": 1 if is_cdrom(volume, props) else 0,
                          "is_unused": 1 if unused else 0, "drivename": key})
        return disks

    async def _qm_migrate_check(self, v, user):
        vm = self.find(v["node"], v["vmid"])
        others = [node for node in sorted(self.nodes) if node != v["node"] and self.nodes[node].get("online", True)]
        return {"running": 1 if vm.status == "running" else 0, "allowed_nodes": others, "not_allowed_nodes": {},
                "local_disks": self._local_disks(vm), "local_resources": [], "mapped-resources": []}

    async def _qm_migrate(self, v, user):
        node, target = v["node"], v["target"]
        if target == node:
            raise param_error(target="target is local node.")
        if target not in self.nodes:
            raise PveError(500, f"no such cluster node '{target}'")
        self.need_quorum()
        vm = self.find(node, v["vmid"])
        running = vm.status == "running"
        online = flag(v.get("online"))
        if running and not online:
            raise PveError(500, "can't migrate running VM without --online")
        log = [f"starting migration of VM {vm.vmid} to node '{target}'"]
        if online and not running:
            log.insert(0, "VM isn't running. Doing offline migration instead.")
            online = False
        with_local_disks = flag(v.get("with-local-disks"))

        async def body():
            record = next(task for task in reversed(self.tasklog)
                          if task["type"] == "qmigrate" and task["id"] == str(vm.vmid) and task["status"] == "running")
            if vm.lock:
                raise TaskError(f"VM is locked ({vm.lock})")
            attached = [disk for disk in self._local_disks(vm) if not disk["is_unused"] and not disk["cdrom"]]
            if running and attached and not with_local_disks:
                for disk in attached:
                    record["log"].append(f"ERROR: Problem found while scanning volumes - can't live migrate "
                                         f"attached local disks without with-local-disks option ({disk['volid']})")
                raise TaskError("can't migrate VM - check log")
            vm.lock = "migrate"
            try:
                await self.pause(self.migrate_secs)
                vm.node = target
            finally:
                vm.lock = None
            return "migration finished successfully"

        return await self.task(node, "qmigrate", vm.vmid, user, body, lock=False, log=log)

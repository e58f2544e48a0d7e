"""Guest config locks as a node keeps them, and what a crash leaves behind, added to fakepve 0.5.0.

Gaps (each shown in tests/emulators/test_pve_gaps.py):

- skiplock: fakepve's QEMU config update drops ``skiplock`` and checks the lock anyway. A node
  (qemu-server PVE/API2/Qemu.pm update_vm_api) refuses ``skiplock`` from anyone but root@pam with
  ``Only root may use this option.`` (a parameter error; an API token of root@pam is not root@pam), and
  with it skips ``PVE::QemuConfig->check_lock``, so root can ``delete=lock`` a locked VM: the API form of
  ``qm unlock``.
- ``lock`` is root's key: a node lets only root@pam set or delete it (check_vm_modify_config_perm sends
  ``lock`` to its last branch, ``only root can set 'lock' config``); fakepve asks VM.Config.HWType.
- A deleted lock stays: fakepve drops the ``lock`` line from the config but keeps the VM's lock state,
  so the VM still says ``VM is locked (...)``.
- The task list's ``source``: fakepve lists running and finished tasks alike, a running one without a
  ``status``. A node (pve-manager PVE/API2/Tasks.pm node_tasks) lists only finished tasks by default
  (``source=archive``), the running ones with ``source=active``, both with ``all``, and gives a running task
  the status ``RUNNING``.
- ``force`` on a snapshot delete: pve-guest-common PVE/AbstractConfig.pm snapshot_delete stops at the first
  volume snapshot it cannot remove unless ``force`` is given, which only warns and removes the snapshot
  from the config; fakepve ignores ``force`` and never fails a volume. A half-made snapshot (see below)
  has volumes never snapshotted, so its delete fails here without ``force``, as the storage's command does
  on a node. Either way snapshot_delete first takes the ``snapshot-delete`` lock through set_lock, which
  refuses a guest that is locked (``VM is locked (snapshot)``), force or not.

Test facilities (not gaps): half_made_snapshot() leaves what a snapshot task killed between
__snapshot_prepare and __snapshot_commit leaves (the snapshot in the config with ``snapstate: prepare``,
the guest locked ``snapshot``; or ``snapstate: delete`` and ``snapshot-delete`` for a killed delete), and
stale_lock() what a create killed with its node leaves (the config with ``lock: create``); each adds the
killed task to the node's task list, ended with the status a node gives a worker that vanished
(``unexpected status``).
"""

from __future__ import annotations

import json
import time

from aiohttp import web
from fakepve.model import TaskError
from fakepve.qemu import drives_of
from fakepve.routing import param_error
from fakepve.server import USER, params

# The exit status a node's task list gives a worker that is gone without writing one (a crash, a reboot).
VANISHED = "unexpected status"
# The lock each half-made snapshot state goes with (AbstractConfig.pm __snapshot_prepare, snapshot_delete).
SNAPSHOT_LOCKS = {"prepare": "snapshot", "delete": "snapshot-delete"}
# The task types of a snapshot create and delete, per kind of guest.
SNAPSHOT_TASKS = {("qemu", "prepare"): "qmsnapshot", ("qemu", "delete"): "qmdelsnapshot",
                  ("lxc", "prepare"): "vzsnapshot", ("lxc", "delete"): "vzdelsnapshot"}


def flag(value):
    return str(value).lower() in ("1", "true", "on", "yes")


class LockGaps:
    """Mixin of ProxgatePve: skiplock, the lock key, force on snapshot deletes, and crash leftovers."""

    def _lock_state(self):
        # (vmid, snapname) -> volume ids a half-made snapshot has no volume snapshot of.
        if not hasattr(self, "_unsnapshotted"):
            self._unsnapshotted = {}
        return self._unsnapshotted

    # ------------------------------------------------------- facilities

    def vanished_task(self, node, ttype, vmid, age, user="root@pam"):
        """Add a task that started `age` seconds ago and whose worker vanished (node crash)."""
        start = int(time.time()) - int(age)
        pid = 0x4000 + len(self.tasklog)
        upid = f"UPID:{node}:{pid:08X}:{pid * 7:08X}:{start:08X}:{ttype}:{vmid}:{user}:"
        record = {"upid": upid, "node": node, "pid": pid, "pstart": pid * 7, "starttime": start, "type": ttype,
                  "id": str(vmid), "user": user, "status": "stopped", "exitstatus": VANISHED, "endtime": start,
                  "log": [f"{ttype} of {vmid} started"]}
        self.tasks[upid] = record
        self.tasklog.append(record)
        return upid

    def _guest_any(self, vmid):
        vm = self.vm(vmid)
        return (vm, "qemu") if vm is not None else (self.guest(vmid), "lxc")

    def half_made_snapshot(self, vmid, snapname, state="prepare", age=600, description=""):
        """A snapshot left in `state` (prepare or delete) by a killed task, the guest locked as that task left
        it, its disks without a volume snapshot."""
        guest, kind = self._guest_any(vmid)
        snap = {key: value for key, value in guest.config.items()
                if key not in ("lock", "description", "snapshots", "snapstate", "snaptime", "vmstate", "digest",
                               "parent") and not key.startswith("unused")}
        if guest.config.get("parent"):
            snap["parent"] = guest.config["parent"]
        snap.update(snapstate=state, snaptime=int(time.time()) - int(age))
        if description:
            snap["description"] = description
        guest.snapshots[snapname] = snap
        lock = SNAPSHOT_LOCKS[state]
        guest.lock = lock
        guest.config["lock"] = lock
        volumes = [volume for _key, volume, _props in drives_of(snap)] if kind == "qemu" else \
            [str(snap.get("rootfs", "")).split(",", maxsplit=1)[0]]
        self._lock_state()[(int(vmid), snapname)] = [volume for volume in volumes if volume]
        self.vanished_task(guest.node, SNAPSHOT_TASKS[(kind, state)], vmid, age)

    def stale_lock(self, vmid, lock="create", age=3600, task="qmcreate"):
        """The guest's config locked `lock` by a `task` that started `age` seconds ago and vanished."""
        guest, _kind = self._guest_any(vmid)
        guest.lock = lock
        guest.config["lock"] = lock
        return self.vanished_task(guest.node, task, vmid, age)

    # ------------------------------------------------------------- gaps

    async def _task_list(self, request):
        response = await super()._task_list(request)
        source = request.query.get("source", "archive")
        body = json.loads(response.text)
        tasks = []
        for task in body["data"]:
            running = "status" not in task
            if (source == "archive" and running) or (source == "active" and not running):
                continue
            if running:
                task["status"] = "RUNNING"
            tasks.append(task)
        body["data"] = tasks
        return web.json_response(body)

    def _config_priv(self, key):
        if key == "lock":
            return "root"
        return super()._config_priv(key)

    async def _apply_config(self, vm, user, p):
        skiplock = flag(p.get("skiplock"))
        if skiplock and user != "root@pam":
            raise param_error(skiplock="Only root may use this option.")
        held = vm.lock if skiplock else None
        if held:
            vm.lock = None  # check_lock skipped; the lock line stays in the config unless deleted
        try:
            await super()._apply_config(vm, user, p)
        finally:
            if held:
                vm.lock = vm.config.get("lock")
                if vm.lock is None:
                    vm.config.pop("lock", None)
        deletes = [key for key in str(p.get("delete") or "").split(",") if key]
        if "lock" in deletes:
            vm.lock = None
            vm.config.pop("lock", None)

    async def _config_post(self, request):
        # skiplock is checked before the worker forks (update_vm_api): a synchronous parameter error.
        values = await params(request)
        if flag(values.get("skiplock")) and request[USER] != "root@pam":
            raise param_error(skiplock="Only root may use this option.")
        return await super()._config_post(request)

    def _unsnapshotted_failure(self, vmid, snapname, force, log):
        """What deleting a half-made snapshot's volume snapshots does: without force, the first missing one
        fails the task; with force each is a warning and the delete goes on."""
        volumes = self._lock_state().get((int(vmid), snapname), [])
        for volume in volumes:
            store, _sep, name = volume.partition(":")
            message = (f"command '/sbin/lvremove -f {store}/snap_{name}_{snapname}' failed: exit code 5")
            if not force:
                raise TaskError(message)
            log.append(f"WARN: {message}")

    async def _qm_snapshot_delete(self, v, user):
        return await self._snapshot_delete(v, user, lambda: super(LockGaps, self)._qm_snapshot_delete(v, user))

    async def _lxc_snapshot_delete(self, user, v):
        return await self._snapshot_delete(v, user, lambda: super(LockGaps, self)._lxc_snapshot_delete(user, v))

    async def _snapshot_delete(self, v, user, plain):
        key = (int(v["vmid"]), v["snapname"])
        if key not in self._lock_state():
            return await plain()
        guest, kind = self._guest_any(v["vmid"])
        force = flag(v.get("force"))
        noun = "VM" if kind == "qemu" else "CT"
        ttype = "qmdelsnapshot" if kind == "qemu" else "vzdelsnapshot"
        self.need_quorum()

        async def body():
            if guest.lock:
                raise TaskError(f"{noun} is locked ({guest.lock})")
            snap = guest.snapshots.get(v["snapname"])
            if snap is None:
                raise TaskError(f"snapshot '{v['snapname']}' does not exist")
            snap["snapstate"] = "delete"
            guest.lock = "snapshot-delete"
            guest.config["lock"] = "snapshot-delete"
            task = next(t for t in reversed(self.tasklog)
                        if t["type"] == ttype and t["id"] == str(guest.vmid) and t["status"] == "running")
            # A failure here leaves the snapshot in 'delete' and the guest locked, as on a node.
            self._unsnapshotted_failure(v["vmid"], v["snapname"], force, task["log"])
            parent = snap.get("parent")
            del guest.snapshots[v["snapname"]]
            self._lock_state().pop(key, None)
            for other in list(guest.snapshots.values()) + [guest.config]:
                if other.get("parent") == v["snapname"]:
                    if parent:
                        other["parent"] = parent
                    else:
                        other.pop("parent")
            guest.lock = None
            guest.config.pop("lock", None)

        if kind == "qemu":
            return await self.task(guest.node, ttype, guest.vmid, user, body, lock=False)
        return await self._ct_task(guest, ttype, user, body, lock=False)

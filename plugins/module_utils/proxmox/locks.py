# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guest config locks a task left behind: how old they are, what clears them, and clearing them.

A node writes ``lock: <what>`` into a guest's config while a task works on it (create, snapshot,
snapshot-delete, backup, migrate, ...) and removes it when the task ends. A task that dies with its
node (a crash, a reboot, a killed worker) leaves the lock, and every later change of the guest fails with
'VM is locked (create)'. Such a lock is told from a live one by the node's task list: no task on the
guest is running. Its age is that of the newest task on the guest, the one that took it.

``qm unlock`` (qemu-server PVE/CLI/qm.pm) deletes the lock line; the API's equivalent is a config
update deleting ``lock`` with ``skiplock``, which PVE allows root@pam alone (PVE/API2/Qemu.pm
update_vm_api: not an API token, not another admin). Containers have no API for it: pve-container's
config update always checks the lock, and ``pct unlock`` is a command on the node.
"""

from __future__ import annotations

import time

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxApiError, api_path

# Locks that are a state of the guest, not a task's: a hibernated VM, a container mounted by pct mount.
STATE_LOCKS = ("suspended", "mounted")
# How far back the task list is read for the task that took a lock.
TASK_LIMIT = 50
COMMANDS = {"qemu": "qm", "lxc": "pct"}


def guest_tasks(client, node, vmid):
    """The node's tasks on one guest, newest first, running ones included."""
    tasks = client.get(api_path("nodes", node, "tasks"), vmid=int(vmid), source="all", limit=TASK_LIMIT) or []
    return sorted(tasks, key=lambda task: -int(task.get("starttime") or 0))


def is_running(task):
    """A running task in the node's list: status RUNNING (source=all or active), no end status and no endtime
    otherwise (the list puts a finished task's exit status in `status`)."""
    return str(task.get("status") or "").upper() in ("", "RUNNING") and not task.get("endtime")


def format_age(seconds):
    """An age as people read it: '3 d 4 h', '2 h 5 min', '12 min', '40 s'."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


class LockInfo:
    """A guest's config lock with what the node's task list says of it."""

    def __init__(self, kind, guest, lock, tasks, now=None):
        self.kind = kind
        self.vmid = int(guest["vmid"])
        self.node = guest["node"]
        self.lock = lock
        self.running = [task for task in tasks if is_running(task)]
        self.last = tasks[0] if tasks else None
        now = time.time() if now is None else now
        self.age = int(now - int(self.last["starttime"])) if self.last and self.last.get("starttime") else None

    @property
    def stale(self):
        """No task on the guest is running, so nothing will remove the lock."""
        return not self.running

    @property
    def command(self):
        return COMMANDS[self.kind]

    def unlock_command(self):
        return f"{self.command} unlock {self.vmid}"

    def describe(self):
        """'locked 'create' for 2 h 5 min (since task qmcreate ... ended 'unexpected status')' and the like."""
        text = f"locked {self.lock!r}"
        if self.last is None:
            return text + " (its age is unknown: the node's task list has no task on it)"
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(self.last["starttime"])))
        task = f"task {self.last.get('type')} {self.last.get('upid')} started {started}"
        if self.running:
            return text + f" by the running {task}"
        return (text + f" for {format_age(self.age)} (since {task}, which ended "
                f"{self.last.get('status') or 'without a status'!r}; no task on it is running)")

    def as_result(self):
        return {"lock": self.lock, "age": self.age, "task": self.last.get("upid") if self.last else None}


def read_lock(client, kind, guest, lock):
    """LockInfo of the guest's lock (from its config or /cluster/resources), one GET of the task list."""
    return LockInfo(kind, guest, lock, guest_tasks(client, guest["node"], guest["vmid"]))


class UnlockRefused(Exception):
    """The node would not delete the lock through the API; the text says what to do instead."""


ROOT_ONLY = ("PVE lets only root@pam, logged in with its password and not with an API token, delete a lock "
             "through the API")


def clear_lock(client, info, user=None, token_id=None, check_mode=False):
    """Delete the lock as qm unlock does: PUT config delete=lock skiplock=1 (QEMU, root@pam only).

    A login the node would refuse (an API token, another user) is refused here, before any request, in check
    mode too; check mode sends nothing."""
    where = f"on node {info.node} run: {info.unlock_command()}"
    if info.kind != "qemu":
        raise UnlockRefused(f"PVE has no API call that clears a container's lock (pct unlock is a command on the "
                            f"node); {where}")
    if token_id or (user is not None and user != "root@pam"):
        login = f"API token {token_id}" if token_id else f"user {user}"
        raise UnlockRefused(f"the lock was not cleared: this task logs in as {login}, and {ROOT_ONLY} "
                            f"(skiplock); {where}")
    if check_mode:
        return
    path = api_path("nodes", info.node, "qemu", info.vmid, "config")
    try:
        client.put(path, delete="lock", skiplock=1)
    except ProxmoxApiError as exc:
        if "skiplock" in exc.errors or "lock" in exc.message:
            raise UnlockRefused(f"the node refused to clear the lock ({exc.message}"
                                + (f": {exc.errors['skiplock'].strip()}" if "skiplock" in exc.errors else "")
                                + f"); {ROOT_ONLY}; {where}") from exc
        raise

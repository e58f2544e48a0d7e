#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_snapshot
short_description: Create, update, remove, prune and roll back snapshots of Proxmox VE VMs and containers
version_added: 0.1.0
description:
  - Makes sure a snapshot of a QEMU VM or an LXC container exists (O(state=present)) or does not
    (O(state=absent)), by name, or rolls the guest back to it (O(state=rollback)).
  - The guest is found by O(vmid) or O(name) among the VMs and containers of the cluster.
  - With O(keep) and O(prefix), the snapshots whose names start with O(prefix) are pruned to the newest
    O(keep) (by their creation time), the one named O(snapname) counted among them and never removed.
  - An existing snapshot is never re-taken; only its description is updated when O(description)
    differs.
  - Creating, removing and rolling back are PVE tasks; the module waits for them (O(timeout)) and
    fails with the task's exit status and the tail of its log when one fails.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.proxmox.task_timeout
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows whether the snapshot exists and its description, before and after.
options:
  vmid:
    description:
      - Id of the VM or container. Exactly one of O(vmid) and O(name) is required.
    type: int
  name:
    description:
      - Name of the VM or container; it must be unique in the cluster. Exactly one of O(vmid) and O(name) is
        required.
    type: str
  snapname:
    description:
      - Name of the snapshot.
      - Required, except with O(keep) (and O(state=present)), which then only prunes.
      - PVE's rule applies, checked before any call is made - a letter, then at least one more
        letter, digit, V(_) or V(-), at most 40 characters in all.
      - V(current) and V(pending) (in any case) are reserved by PVE, and V(vzdump) for a container.
    type: str
  state:
    description:
      - V(present) creates the snapshot when it is missing, or updates its description.
      - V(absent) removes the snapshot when it exists.
      - V(rollback) rolls the guest back to the snapshot. It always reports a change, like a service
        restart, and fails when the snapshot does not exist. The guest is stopped by the rollback unless
        the snapshot holds RAM (O(vmstate=true) at creation, VMs only) or O(start=true).
    type: str
    choices: [present, absent, rollback]
    default: present
  vmstate:
    description:
      - Also save the VM's RAM in the snapshot, so a rollback resumes the running VM.
      - Only used when the snapshot is created, and only meaningful for a running VM; PVE ignores it
        for a stopped one (the module warns).
      - Containers have no RAM snapshots; V(true) for a container fails before anything is written.
    type: bool
    default: false
  keep:
    description:
      - With O(state=present), keep only the newest O(keep) snapshots whose names start with O(prefix)
        and remove the older ones, oldest first. The snapshot O(snapname) (created first when missing)
        counts as one of them and is never removed.
      - Newest means the latest creation time (C(snaptime)); PVE lists snapshots in no particular order.
      - Snapshots without the prefix are never removed.
    type: int
  prefix:
    description:
      - The name prefix of the snapshots O(keep) applies to, such as C(auto-). Required with O(keep).
    type: str
  description:
    description:
      - Description of the snapshot. With O(state=present), an existing snapshot's description is
        updated when it differs. Not set means left as it is.
      - Compared and sent as PVE reads it back, without trailing whitespace.
      - Ignored by V(absent) and V(rollback).
    type: str
  start:
    description:
      - With O(state=rollback), start the guest after the rollback.
      - Only valid with O(state=rollback).
    type: bool
    default: false
  repair:
    description:
      - What to do with a half-made snapshot of the guest, one a task left with a C(snapstate) (V(prepare) for a
        snapshot task that never finished, V(delete) for a delete that never finished), most often with the guest
        still locked C(snapshot) or C(snapshot-delete) after its node crashed.
      - V(false) fails the task, naming each half-made snapshot, its state, the guest's lock with its age and
        the task that took it, and the commands that clear them on the node (C(qm unlock) and
        C(qm delsnapshot --force), or C(pct ...) for a container). Such a snapshot never counts as present.
      - V(true) clears the guest's lock when no task on it is running (as C(qm unlock); PVE allows this
        through the API to V(root@pam) logged in with its password only, and for VMs only), removes each
        half-made snapshot with C(force=1) (its volume snapshots may never have been made), and then does
        what O(state) asks, so O(state=present) takes the snapshot again.
      - A task still running on the guest is waited for first (O(timeout)), whatever O(repair) is.
      - O(state=rollback) to a half-made snapshot always fails.
    type: bool
    default: false
notes:
  - "Privileges: C(VM.Audit) to read snapshots, C(VM.Snapshot) to create, update and remove them,
    C(VM.Snapshot.Rollback) (or C(VM.Snapshot)) to roll back, and C(VM.PowerMgmt) for O(start=true)."
  - Snapshots need every disk (or mount point) of the guest on a storage that supports them (LVM-thin, ZFS,
    Ceph RBD, or qcow2 files); the create task fails with PVE's message otherwise.
  - A container's snapshots are its own API (C(/nodes/{node}/lxc/{vmid}/snapshot)); the same privileges apply.
"""

EXAMPLES = r"""
- name: Snapshot web01 before an upgrade, with its RAM
  proxgate.core.proxmox_snapshot:
    name: web01
    snapname: before-upgrade
    vmstate: true
    description: Before the nginx upgrade
  delegate_to: localhost

- name: Roll back to it and start the VM again
  proxgate.core.proxmox_snapshot:
    vmid: 101
    snapname: before-upgrade
    state: rollback
    start: true
  delegate_to: localhost

- name: Remove the snapshot
  proxgate.core.proxmox_snapshot:
    vmid: 101
    snapname: before-upgrade
    state: absent
  delegate_to: localhost

- name: Nightly snapshot of the dns01 container, keeping the newest seven
  proxgate.core.proxmox_snapshot:
    name: dns01
    snapname: "auto-{{ now(utc=true, fmt='%Y%m%d') }}"
    prefix: auto-
    keep: 7
  delegate_to: localhost

- name: Prune only, down to three
  proxgate.core.proxmox_snapshot:
    name: dns01
    prefix: auto-
    keep: 3
  delegate_to: localhost
"""

RETURN = r"""
vmid:
  description: Id of the guest.
  returned: always
  type: int
  sample: 101
type:
  description: Kind of the guest, V(qemu) or V(lxc).
  returned: always
  type: str
  sample: lxc
node:
  description: Node the guest is on.
  returned: always
  type: str
  sample: pve1
snapname:
  description: Name of the snapshot; null when only pruning.
  returned: always
  type: str
  sample: before-upgrade
snapshots:
  description:
    - Names of the guest's snapshots after the task, oldest first by creation time (without PVE's
      C(current) entry).
    - In check mode, what they would be.
  returned: always
  type: list
  elements: str
  sample: [installed, before-upgrade]
repaired:
  description:
    - Half-made snapshots O(repair=true) removed (in check mode, would remove), before the snapshot asked for
      was taken again.
  returned: always
  type: list
  elements: str
  sample: [before-upgrade]
removed:
  description:
    - Snapshots removed by O(keep), oldest first (in check mode, those that would be).
  returned: always
  type: list
  elements: str
  sample: [auto-20261201, auto-20261202]
snapshot:
  description: The snapshot after the task; null when it does not exist (any more), or when only pruning.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the snapshot.
      type: str
      sample: before-upgrade
    description:
      description: Its description.
      type: str
      sample: Before the nginx upgrade
    snaptime:
      description: When it was taken (Unix time); null in check mode for a snapshot still to take.
      type: int
      sample: 1767225600
    vmstate:
      description: Whether it holds the VM's RAM (always false for a container).
      type: bool
      sample: true
    parent:
      description: The snapshot it was taken on top of, if any.
      type: str
      sample: installed
"""

import contextlib
import time

from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import find_guest, guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.locks import (
    LockInfo,
    UnlockRefused,
    clear_lock,
    guest_tasks,
    is_running,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.snapshots import (
    CURRENT,
    GUEST_NOUNS,
    as_read,
    by_age,
    delete_commands,
    diff_state,
    half_made_commands,
    half_made_message,
    predicted,
    pruned,
    retention_problems,
    same_description,
    snapname_error,
    snapshot_fields,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.tasks import ProxmoxTaskError


class ProxmoxSnapshot(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        vmid=dict(type="int"),
        name=dict(type="str"),
        snapname=dict(type="str"),
        state=dict(type="str", choices=["present", "absent", "rollback"], default="present"),
        vmstate=dict(type="bool", default=False),
        description=dict(type="str"),
        keep=dict(type="int"),
        prefix=dict(type="str"),
        timeout=dict(type="int", default=600),
        start=dict(type="bool", default=False),
        repair=dict(type="bool", default=False),
    )
    module_kwargs = dict(
        mutually_exclusive=[("vmid", "name")],
        required_one_of=[("vmid", "name")],
    )
    object_key = "snapshot"
    gone = None
    states = {"rollback": "roll_back"}

    def validate(self):
        params = self.params
        problems = []
        if params["snapname"] is None:
            if params["keep"] is None:
                problems.append("missing required arguments: snapname (only keep with prefix prunes without one)")
        else:
            error = snapname_error(params["snapname"])
            if error:
                problems.append(error)
        problems.extend(self.timeout_problems(params))
        if params["start"] and params["state"] != "rollback":
            problems.append(f"start applies only to state=rollback, not state={params['state']}")
        problems.extend(retention_problems(params["keep"], params["prefix"], params["state"]))
        if problems:
            self.fail("; ".join(problems))
        if params["description"] is not None:
            # Sent as the node will show it, so the result and the diff say what the snapshot has.
            params["description"] = as_read(params["description"])

    # ------------------------------------------------------------- reading

    def find_guest(self):
        vmid, name = self.params["vmid"], self.params["name"]
        guest = find_guest(self.client, vmid=vmid, name=name, kind=None)
        if guest is None:
            self.fail(f"no VM or container with vmid {vmid} in the cluster" if vmid is not None
                      else f"no VM or container with name {name!r} in the cluster")
        kind = guest.get("type", "qemu")
        if kind not in GUEST_NOUNS:
            self.fail(f"guest {guest['vmid']} is of type {kind!r}, which has no snapshots here")
        if kind == "lxc" and self.params["vmstate"] and self.params["state"] == "present":
            self.fail(f"vmstate: container {guest['vmid']} ({guest.get('name')}) cannot save its RAM in a snapshot "
                      "(PVE takes container snapshots without it); leave vmstate false")
        if kind == "lxc" and self.params["snapname"] == "vzdump":
            self.fail(f"snapname 'vzdump' is reserved by PVE for the backups of container {guest['vmid']}; "
                      "choose another name")
        return guest

    def read_snapshots(self):
        """The guest's snapshots, oldest first, without the 'current' entry."""
        entries = self.client.get(f"{self.path}/snapshot") or []
        return by_age([entry for entry in entries if entry.get("name") != CURRENT])

    def named(self):
        """The snapshot the task is about, as self.snapshots has it, or None."""
        return next((entry for entry in self.snapshots if entry["name"] == self.params["snapname"]), None)

    def locate(self):
        self.guest = guest = self.find_guest()
        self.path = guest_path(guest)
        self.snapshots = self.read_snapshots()
        self.repaired = self.half_made()
        self.existing = self.named()
        if self.params["state"] == "rollback" and self.existing is None:
            names = ", ".join(entry["name"] for entry in self.snapshots) or "none"
            noun = GUEST_NOUNS[guest.get("type", "qemu")]
            self.fail(f"snapname {self.params['snapname']!r} does not exist on {noun} {guest['vmid']} "
                      f"({guest.get('name')}), so there is nothing to roll back to; its snapshots: {names}")
        return self.existing

    def extra_results(self):
        guest = self.guest
        return dict(vmid=int(guest["vmid"]), type=guest.get("type", "qemu"), node=guest["node"],
                    snapname=self.params["snapname"], removed=[], repaired=self.repaired)

    # ------------------------------------------------------------- writing

    def task(self, send, *args, **data):
        """Make a call that starts a PVE task, and wait for the task."""
        return self.wait(send(*args, **data), task_expected=True)

    def written(self, planned):
        """The snapshot after a write: read back from the node, or in check mode as planned (None: removed); and
        self.snapshots to match."""
        if self.check_mode:
            self.snapshots = predicted(self.snapshots, self.params["snapname"], planned)
        else:
            self.snapshots = self.read_snapshots()
        return self.named()

    def create(self, desired):
        entry = None
        if self.params["snapname"] is not None:  # None: keep and prefix only prune
            params, guest = self.params, self.guest
            running = guest.get("status") == "running"
            if params["vmstate"] and not running and not self.check_mode:
                self.warn(f"vmstate=true is ignored: VM {guest['vmid']} is {guest.get('status')}, so there is no "
                          "RAM to save")
            data = dict(snapname=params["snapname"], description=params["description"],
                        **({"vmstate": True} if params["vmstate"] else {}))
            self.write(self.task, self.client.post, f"{self.path}/snapshot", **data)
            entry = self.written({"name": params["snapname"], "description": params["description"] or "",
                                  "snaptime": None, "parent": None, "vmstate": params["vmstate"] and running})
        self.prune()
        return entry, diff_state(entry)

    def update(self, existing, desired):
        wanted, entry = self.params["description"], existing
        if wanted is not None and not same_description(existing.get("description"), wanted):
            self.write(self.client.put, self.path + api_path("snapshot", existing["name"], "config"),
                       description=wanted)
            entry = self.written(dict(existing, description=wanted))
        self.prune()
        return entry, {"before": diff_state(existing), "after": diff_state(entry)}

    def delete(self, existing):
        self.write(self.task, self.client.delete, self.path + api_path("snapshot", existing["name"]))
        self.written(None)
        return diff_state(existing)

    def roll_back(self, existing):
        data = {"start": True} if self.params["start"] else {}
        self.write(self.task, self.client.post, self.path + api_path("snapshot", existing["name"], "rollback"),
                   **data)
        entry = self.written(existing)
        return entry, diff_state(existing), diff_state(entry)

    def prune(self):
        """With keep, remove the oldest snapshots named prefix... beyond the newest keep."""
        if self.params["keep"] is None:
            return
        removed = self.extra["removed"] = pruned(self.snapshots, self.params["prefix"], self.params["keep"],
                                                 self.params["snapname"])
        for name in removed:
            self.write(self.task, self.client.delete, self.path + api_path("snapshot", name))
        if removed and not self.check_mode:
            self.snapshots = self.read_snapshots()
        else:
            self.snapshots = [entry for entry in self.snapshots if entry["name"] not in removed]

    def result(self, obj, before, after):
        """The result with the guest's snapshots after the task. Whatever the state did, the diff shows whether
        the snapshot exists and its description, before and after (also when it is absent on both sides; nothing
        when only pruning), with what was rolled back, pruned and repaired."""
        self.extra["snapshots"] = [entry["name"] for entry in self.snapshots]
        before, after = ({}, {}) if self.params["snapname"] is None else (diff_state(self.existing), diff_state(obj))
        if self.params["state"] == "rollback":
            before["rolled_back"], after["rolled_back"] = False, True
        for key, names in (("pruned", self.extra["removed"]), ("half_made", self.repaired)):
            if names:
                before[key], after[key] = list(names), []
        return super().result(snapshot_fields(obj), before, after)

    # ---------------------------------------------------------- half-made

    def half_made(self):
        """Snapshots a task left half-made (a snapstate), after waiting for any task still running on the guest:
        fails saying what to do, or with repair removes them (force=1, after clearing the guest's stale lock).
        Returns the names of the snapshots removed (in check mode, to remove), and self.snapshots without them."""
        guest, params = self.guest, self.params
        half = [entry for entry in self.snapshots if entry.get("snapstate")]
        if not half:
            return []
        tasks = guest_tasks(self.client, guest["node"], guest["vmid"])
        running = [task for task in tasks if is_running(task)]
        if running:
            # A snapshot being taken or removed right now is in the same state: let its task finish first.
            for task in running:
                with contextlib.suppress(ProxmoxTaskError):  # its outcome is read back below
                    self.wait(task["upid"], task_expected=True)
            self.snapshots = self.read_snapshots()
            half = [entry for entry in self.snapshots if entry.get("snapstate")]
            if not half:
                return []
            tasks = guest_tasks(self.client, guest["node"], guest["vmid"])
        lock = (self.client.get(f"{self.path}/config") or {}).get("lock")
        info = LockInfo(guest.get("type", "qemu"), guest, lock, tasks) if lock else None
        what = half_made_message(guest, half, info, time.time())
        names = [entry["name"] for entry in half]
        if params["state"] == "rollback" and params["snapname"] in names:
            self.fail(f"{what}; there is nothing to roll back to, and nothing was changed. To remove it, set "
                      "repair: true with state: present (which takes it again) or absent, or "
                      + half_made_commands(guest, half, info))
        if not params["repair"]:
            again = " and take it again" if params["state"] == "present" and params["snapname"] in names else ""
            them = "it" if len(half) == 1 else "them"
            self.fail(f"{what}; nothing was changed. Set repair: true to remove {them}{again}, or "
                      + half_made_commands(guest, half, info),
                      half_made=[{"name": entry["name"], "snapstate": entry["snapstate"]} for entry in half],
                      lock=info.as_result() if info else None)
        if info is not None:
            if not info.stale:
                self.fail(f"{what}; that task still holds the lock, so nothing was changed: run again once it has "
                          "ended")
            try:
                clear_lock(self.client, info, user=params.get("api_user"), token_id=params.get("api_token_id"),
                           check_mode=self.check_mode)
            except UnlockRefused as exc:
                self.fail(f"{what}; {exc}, then: " + delete_commands(guest, half))
        for name in names:
            self.write(self.task, self.client.delete, self.path + api_path("snapshot", name), force=1)
        self.snapshots = ([entry for entry in self.snapshots if entry["name"] not in names] if self.check_mode
                          else self.read_snapshots())
        return names


def main():
    ProxmoxSnapshot().execute()


if __name__ == "__main__":
    main()

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

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import find_guest, guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.locks import (
    COMMANDS,
    LockInfo,
    UnlockRefused,
    clear_lock,
    format_age,
    guest_tasks,
    is_running,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.names import CONFIG_ID, SNAPSHOT_NAME_LONGEST
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.tasks import ProxmoxTaskError

# PVE's pve-configid format, which snapshot names have: a letter, then one or more of [A-Za-z0-9_-].
# pve-configid, PVE's format of snapshot names (names.py says where it was read)
SNAPNAME_RE = CONFIG_ID
SNAPNAME_MAX = SNAPSHOT_NAME_LONGEST
# The entry PVE's snapshot list ends with: the VM's present state, not a snapshot.
CURRENT = "current"


def snapname_error(snapname):
    """Why PVE would refuse this snapshot name, or None when it is fine."""
    if len(snapname) > SNAPNAME_MAX:
        return f"snapname {snapname!r} is {len(snapname)} characters long; PVE allows at most {SNAPNAME_MAX}"
    if not SNAPNAME_RE.fullmatch(snapname):
        return (f"snapname {snapname!r} is not a valid snapshot name: it must start with a letter, followed by "
                "at least one letter, digit, '_' or '-' (such as before-upgrade)")
    # PVE refuses 'current' as given and 'pending' in any case; 'Current' would be allowed but only confuse.
    if snapname.lower() in (CURRENT, "pending"):
        return f"snapname {snapname!r} is reserved by PVE; choose another name"
    return None


def as_read(description):
    """A description as a node reads it back: without trailing whitespace (qemu-server parse_vm_config strips
    it from the comment lines a description is kept in; older nodes also gave back a trailing newline)."""
    return (description or "").rstrip()


def same_description(current, wanted):
    return as_read(current) == as_read(wanted)


def snapshot_fields(entry):
    """The fields the module returns about one entry of GET .../snapshot."""
    if entry is None:
        return None
    return {
        "name": entry["name"],
        "description": as_read(entry.get("description")),
        "snaptime": entry.get("snaptime"),
        "vmstate": bool(entry.get("vmstate")),
        "parent": entry.get("parent"),
    }


def diff_state(entry):
    """What --diff shows of a snapshot."""
    if entry is None:
        return {"exists": False}
    return {"exists": True, "description": as_read(entry.get("description"))}


def by_age(snapshots):
    """Snapshots oldest first: by creation time, then parents before the snapshots taken on them, then name.

    A node lists them in no order (the keys of a Perl hash), so their order is rebuilt here.
    """
    parents = {entry["name"]: entry.get("parent") for entry in snapshots}

    def depth(name):
        seen, level = set(), 0
        while parents.get(name) in parents and name not in seen:
            seen.add(name)
            name, level = parents[name], level + 1
        return level

    return sorted(snapshots, key=lambda entry: (entry.get("snaptime") or 0, depth(entry["name"]), entry["name"]))


def pruned(snapshots, prefix, keep, named):
    """Names of the snapshots to remove so that only the newest `keep` whose names start with `prefix` stay,
    oldest first. The snapshot `named` (the one the task is about) is one of those kept, whatever its age."""
    matching = [entry["name"] for entry in by_age(snapshots) if entry["name"].startswith(prefix)]
    others = [name for name in matching if name != named]
    room = keep - (1 if named in matching else 0)
    return others[:max(0, len(others) - room)]


GUEST_NOUNS = {"qemu": "VM", "lxc": "container"}
# What a snapshot's snapstate says was cut short (pve-guest-common AbstractConfig.pm: __snapshot_prepare writes
# 'prepare' and __snapshot_commit removes it; snapshot_delete writes 'delete' and removes the snapshot at its end).
HALF_MADE = {"prepare": "a snapshot task that never finished", "delete": "a delete that never finished"}


def half_made_text(entry, now):
    state = entry.get("snapstate")
    text = f"{entry['name']!r} (snapstate {state!r}: {HALF_MADE.get(state, 'a task that never finished')}"
    if entry.get("snaptime"):
        text += f", begun {format_age(now - int(entry['snaptime']))} ago"
    return text + ")"


class ProxmoxSnapshot(ProxmoxModule):
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
        problems.extend(self.retention_problems())
        if problems:
            self.fail("; ".join(problems))
        if params["description"] is not None:
            # Sent as the node will show it, so the result and the diff say what the snapshot has.
            params["description"] = as_read(params["description"])

    def retention_problems(self):
        keep, prefix, state = self.params["keep"], self.params["prefix"], self.params["state"]
        if keep is None and prefix is None:
            return []
        problems = []
        if state != "present":
            problems.append(f"keep and prefix apply only to state=present, not state={state}")
        if keep is None or prefix is None:
            problems.append("keep and prefix go together: keep the newest <keep> snapshots named <prefix>...")
        if keep is not None and keep < 1:
            problems.append(f"keep must be 1 or more, got {keep} (remove single snapshots with state=absent)")
        if prefix is not None and not prefix.strip():
            problems.append("prefix must not be empty: it chooses the snapshots keep may remove")
        return problems

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
        noun = GUEST_NOUNS[kind]
        if kind == "lxc" and self.params["vmstate"] and self.params["state"] == "present":
            self.fail(f"vmstate: container {guest['vmid']} ({guest.get('name')}) cannot save its RAM in a snapshot "
                      "(PVE takes container snapshots without it); leave vmstate false")
        if kind == "lxc" and self.params["snapname"] == "vzdump":
            self.fail(f"snapname 'vzdump' is reserved by PVE for the backups of container {guest['vmid']}; "
                      "choose another name")
        return guest, noun

    def read_snapshots(self, path):
        """The guest's snapshots, oldest first, without the 'current' entry."""
        entries = self.client.get(f"{path}/snapshot") or []
        return by_age([entry for entry in entries if entry.get("name") != CURRENT])

    # ------------------------------------------------------------- writing

    def create(self, path, guest):
        if self.params["vmstate"] and guest.get("status") != "running":
            self.warn(f"vmstate=true is ignored: VM {guest['vmid']} is {guest.get('status')}, so there is no RAM "
                      "to save")
        data = {"snapname": self.params["snapname"], "description": self.params["description"]}
        if self.params["vmstate"]:
            data["vmstate"] = True
        self.wait(self.client.post(f"{path}/snapshot", **data), task_expected=True)

    def update_description(self, path):
        self.client.put(path + api_path("snapshot", self.params["snapname"], "config"),
                        description=self.params["description"])

    def remove(self, path, snapname=None):
        self.wait(self.client.delete(path + api_path("snapshot", snapname or self.params["snapname"])),
                  task_expected=True)

    def rollback(self, path):
        data = {"start": True} if self.params["start"] else {}
        self.wait(self.client.post(path + api_path("snapshot", self.params["snapname"], "rollback"), **data),
                  task_expected=True)

    def apply(self, action, path, guest):
        if action == "create":
            self.create(path, guest)
        elif action == "update_description":
            self.update_description(path)
        elif action == "remove":
            self.remove(path)
        else:
            self.rollback(path)

    # --------------------------------------------------------------- logic

    def planned_entry(self, existing, guest):
        """The snapshot as it would be after state=present, for check mode."""
        if existing is not None:
            entry = dict(existing)
            if self.params["description"] is not None:
                entry["description"] = self.params["description"]
            return entry
        return {"name": self.params["snapname"], "description": self.params["description"] or "",
                "snaptime": None, "parent": None,
                "vmstate": self.params["vmstate"] and guest.get("status") == "running"}

    # ---------------------------------------------------------- half-made

    def half_made(self, guest, noun, path, snapshots):
        """Snapshots a task left half-made (a snapstate), after waiting for any task still running on the guest:
        fails saying what to do, or with repair removes them (force=1, after clearing the guest's stale lock).
        Returns (snapshots, names of the snapshots removed or, in check mode, to remove)."""
        half = [entry for entry in snapshots if entry.get("snapstate")]
        if not half:
            return snapshots, []
        tasks = guest_tasks(self.client, guest["node"], guest["vmid"])
        running = [task for task in tasks if is_running(task)]
        if running:
            # A snapshot being taken or removed right now is in the same state: let its task finish first.
            for task in running:
                with contextlib.suppress(ProxmoxTaskError):  # its outcome is read back below
                    self.wait(task["upid"], task_expected=True)
            snapshots = self.read_snapshots(path)
            half = [entry for entry in snapshots if entry.get("snapstate")]
            if not half:
                return snapshots, []
            tasks = guest_tasks(self.client, guest["node"], guest["vmid"])
        kind = guest.get("type", "qemu")
        lock = (self.client.get(f"{path}/config") or {}).get("lock")
        info = LockInfo(kind, guest, lock, tasks) if lock else None
        what = self.half_made_message(guest, noun, half, info)
        if self.params["state"] == "rollback" and any(entry["name"] == self.params["snapname"] for entry in half):
            self.fail(f"{what}; there is nothing to roll back to, and nothing was changed. To remove it, set "
                      "repair: true with state: present (which takes it again) or absent, or "
                      + self.half_made_commands(guest, half, info))
        if not self.params["repair"]:
            again = " and take it again" if self.params["state"] == "present" and \
                any(entry["name"] == self.params["snapname"] for entry in half) else ""
            them = "it" if len(half) == 1 else "them"
            self.fail(f"{what}; nothing was changed. Set repair: true to remove {them}{again}, or "
                      + self.half_made_commands(guest, half, info),
                      half_made=[{"name": entry["name"], "snapstate": entry["snapstate"]} for entry in half],
                      lock=info.as_result() if info else None)
        names = [entry["name"] for entry in half]
        if info is not None:
            if not info.stale:
                self.fail(f"{what}; that task still holds the lock, so nothing was changed: run again once it has "
                          "ended")
            try:
                clear_lock(self.client, info, user=self.params.get("api_user"),
                           token_id=self.params.get("api_token_id"), check_mode=self.check_mode)
            except UnlockRefused as exc:
                self.fail(f"{what}; {exc}, then: " + self.delete_commands(guest, half))
        if self.check_mode:
            return [entry for entry in snapshots if entry["name"] not in names], names
        for name in names:
            self.wait(self.client.delete(path + api_path("snapshot", name), force=1), task_expected=True)
        return self.read_snapshots(path), names

    def half_made_message(self, guest, noun, half, info):
        listed = ", ".join(half_made_text(entry, time.time()) for entry in half)
        text = (f"{noun} {guest['vmid']} ({guest.get('name')}) has a half-made snapshot: {listed}"
                if len(half) == 1 else
                f"{noun} {guest['vmid']} ({guest.get('name')}) has half-made snapshots: {listed}")
        if info is not None:
            text += f", and the {noun} is {info.describe()}"
        return text

    @staticmethod
    def delete_commands(guest, half):
        command = COMMANDS[guest.get("type", "qemu")]
        return " && ".join(f"{command} delsnapshot {guest['vmid']} {entry['name']} --force" for entry in half)

    def half_made_commands(self, guest, half, info):
        steps = ([info.unlock_command()] if info is not None else []) + [self.delete_commands(guest, half)]
        return f"on node {guest['node']} run: " + " && ".join(steps)

    def run(self):
        params = self.params
        snapname, state = params["snapname"], params["state"]
        guest, noun = self.find_guest()
        path = guest_path(guest)
        snapshots, repaired = self.half_made(guest, noun, path, self.read_snapshots(path))
        existing = next((entry for entry in snapshots if entry["name"] == snapname), None)

        if state == "rollback" and existing is None:
            names = ", ".join(entry["name"] for entry in snapshots) or "none"
            self.fail(f"snapname {snapname!r} does not exist on {noun} {guest['vmid']} ({guest.get('name')}), so "
                      f"there is nothing to roll back to; its snapshots: {names}")

        action = self.plan(existing) if snapname is not None else None
        if action and not self.check_mode:
            self.apply(action, path, guest)
            snapshots = self.read_snapshots(path)
            after = next((entry for entry in snapshots if entry["name"] == snapname), None)
        else:
            after = self.predicted_after(existing, guest, action)
            snapshots = self.predicted_list(snapshots, after)

        removed = []
        if params["keep"] is not None:
            removed = pruned(snapshots, params["prefix"], params["keep"], snapname)
            if removed and not self.check_mode:
                for name in removed:
                    self.remove(path, name)
                snapshots = self.read_snapshots(path)
            else:
                snapshots = [entry for entry in snapshots if entry["name"] not in removed]

        result = dict(changed=bool(action or removed or repaired), vmid=int(guest["vmid"]),
                      type=guest.get("type", "qemu"), node=guest["node"], snapname=snapname, removed=removed,
                      repaired=repaired,
                      snapshots=[entry["name"] for entry in snapshots], snapshot=snapshot_fields(after))
        if self.diff_mode:
            result["diff"] = self.diff(existing, after, removed)
            if repaired:
                result["diff"]["before"]["half_made"] = list(repaired)
                result["diff"]["after"]["half_made"] = []
        return result

    def plan(self, existing):
        """The write to make: create, update_description, remove, rollback, or None."""
        state = self.params["state"]
        if state == "rollback":
            return "rollback"
        if state == "absent":
            return "remove" if existing is not None else None
        if existing is None:
            return "create"
        wanted = self.params["description"]
        if wanted is not None and not same_description(existing.get("description"), wanted):
            return "update_description"
        return None

    def predicted_after(self, existing, guest, action):
        if action == "remove":
            return None
        if action in ("create", "update_description"):
            return self.planned_entry(existing, guest)
        return existing

    def predicted_list(self, snapshots, after):
        names = [entry for entry in snapshots if entry["name"] != self.params["snapname"]]
        if after is None:
            return names
        position = next((i for i, entry in enumerate(snapshots) if entry["name"] == self.params["snapname"]),
                        len(names))
        return names[:position] + [after] + names[position:]

    def diff(self, before, after, removed):
        result = {"before": diff_state(before), "after": diff_state(after)}
        if self.params["snapname"] is None:
            result = {"before": {}, "after": {}}
        if self.params["state"] == "rollback":
            result["before"]["rolled_back"] = False
            result["after"]["rolled_back"] = True
        if removed:
            result["before"]["pruned"] = list(removed)
            result["after"]["pruned"] = []
        return result


def main():
    ProxmoxSnapshot().execute()


if __name__ == "__main__":
    main()

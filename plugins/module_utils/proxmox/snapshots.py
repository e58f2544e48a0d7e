# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What proxmox_snapshot knows of a guest's snapshots without asking a node: PVE's name rules, how a node reads a
description back, the order of the snapshots and which of them retention removes, and what is said of the
half-made ones a task left.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.locks import COMMANDS, LockInfo, format_age
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.names import CONFIG_ID, SNAPSHOT_NAME_LONGEST

# pve-configid, PVE's format of snapshot names (names.py says where it was read): a letter, then one or more of
# [A-Za-z0-9_-].
SNAPNAME_RE = CONFIG_ID
SNAPNAME_MAX = SNAPSHOT_NAME_LONGEST
# The entry PVE's snapshot list ends with: the VM's present state, not a snapshot.
CURRENT = "current"
GUEST_NOUNS = {"qemu": "VM", "lxc": "container"}
# What a snapshot's snapstate says was cut short (pve-guest-common AbstractConfig.pm: __snapshot_prepare writes
# 'prepare' and __snapshot_commit removes it; snapshot_delete writes 'delete' and removes the snapshot at its end).
HALF_MADE = {"prepare": "a snapshot task that never finished", "delete": "a delete that never finished"}

Entry = dict[str, Any]


def snapname_error(snapname: str) -> str | None:
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


def retention_problems(keep: int | None, prefix: str | None, state: str) -> list[str]:
    """What is wrong with the keep and prefix options."""
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


def as_read(description: str | None) -> str:
    """A description as a node reads it back: without trailing whitespace (qemu-server parse_vm_config strips
    it from the comment lines a description is kept in; older nodes also gave back a trailing newline)."""
    return (description or "").rstrip()


def same_description(current: str | None, wanted: str | None) -> bool:
    return as_read(current) == as_read(wanted)


def snapshot_fields(entry: Entry | None) -> Entry | None:
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


def diff_state(entry: Entry | None) -> Entry:
    """What --diff shows of a snapshot."""
    if entry is None:
        return {"exists": False}
    return {"exists": True, "description": as_read(entry.get("description"))}


def by_age(snapshots: list[Entry]) -> list[Entry]:
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


def pruned(snapshots: list[Entry], prefix: str, keep: int, named: str | None) -> list[str]:
    """Names of the snapshots to remove so that only the newest `keep` whose names start with `prefix` stay,
    oldest first. The snapshot `named` (the one the task is about) is one of those kept, whatever its age."""
    matching = [entry["name"] for entry in by_age(snapshots) if entry["name"].startswith(prefix)]
    others = [name for name in matching if name != named]
    room = keep - (1 if named in matching else 0)
    return others[:max(0, len(others) - room)]


def predicted(snapshots: list[Entry], snapname: str, after: Entry | None) -> list[Entry]:
    """The snapshots once the one named snapname is as after (None: removed), for check mode: in its place, or
    last when it is new."""
    others = [entry for entry in snapshots if entry["name"] != snapname]
    if after is None:
        return others
    position = next((i for i, entry in enumerate(snapshots) if entry["name"] == snapname), len(others))
    return others[:position] + [after] + others[position:]


# ---------------------------------------------------------------- half-made

def half_made_text(entry: Entry, now: float) -> str:
    state = entry["snapstate"]  # a half-made snapshot has one
    text = f"{entry['name']!r} (snapstate {state!r}: {HALF_MADE.get(state, 'a task that never finished')}"
    if entry.get("snaptime"):
        text += f", begun {format_age(now - int(entry['snaptime']))} ago"
    return text + ")"


def half_made_message(guest: Entry, half: list[Entry], info: LockInfo | None, now: float) -> str:
    """What is wrong with the guest: its half-made snapshots and, when it is locked, its lock."""
    noun = GUEST_NOUNS[guest.get("type", "qemu")]
    listed = ", ".join(half_made_text(entry, now) for entry in half)
    text = (f"{noun} {guest['vmid']} ({guest.get('name')}) has a half-made snapshot: {listed}"
            if len(half) == 1 else
            f"{noun} {guest['vmid']} ({guest.get('name')}) has half-made snapshots: {listed}")
    if info is not None:
        text += f", and the {noun} is {info.describe()}"
    return text


def delete_commands(guest: Entry, half: list[Entry]) -> str:
    command = COMMANDS[guest.get("type", "qemu")]
    return " && ".join(f"{command} delsnapshot {guest['vmid']} {entry['name']} --force" for entry in half)


def half_made_commands(guest: Entry, half: list[Entry], info: LockInfo | None) -> str:
    """The commands on the node that clear the guest's lock and remove its half-made snapshots."""
    steps = ([info.unlock_command()] if info is not None else []) + [delete_commands(guest, half)]
    return f"on node {guest['node']} run: " + " && ".join(steps)

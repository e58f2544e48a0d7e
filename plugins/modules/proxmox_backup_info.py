#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_backup_info
short_description: List the backups on a Proxmox VE storage
version_added: 0.1.0
description:
  - Lists the backup archives (vzdump files, Proxmox Backup Server snapshots) on a storage, from
    C(GET /nodes/<node>/storage/<storage>/content?content=backup), optionally only those of some guests and
    only the newest of each guest.
  - A node-local storage (such as C(local)) holds each node's own backups; without O(node), the module reads
    it on every node where it is available and returns all of them, each with the node it is on. A shared
    storage (NFS, CIFS, a Proxmox Backup Server) is read once.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.INFO_MODULE
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
options:
  storage:
    description: The storage to list.
    type: str
    required: true
  node:
    description:
      - Read the storage on this node only.
      - Not set means every node where the storage is available (once for a shared storage).
    type: str
  guests:
    description:
      - Only the backups of these guests, each by vmid (digits only) or by name.
      - A vmid needs no guest - the backups of a guest that was destroyed are listed by its vmid.
        A name must belong to exactly one guest of the cluster.
    type: list
    elements: str
  newest:
    description:
      - Only the N newest backups of each guest.
    type: int
notes:
  - "Privileges: C(Datastore.Audit) or C(Datastore.AllocateSpace) on the storage to read it, and
    C(Datastore.AllocateSpace) plus C(VM.Backup) on a guest to see its backups (PVE leaves out the others);
    C(VM.Audit) on the guests named in O(guests)."
"""

EXAMPLES = r"""
- name: The newest backup of web01 on the Proxmox Backup Server
  proxgate.core.proxmox_backup_info:
    storage: pbs-main
    guests: [web01]
    newest: 1
  delegate_to: localhost
  register: latest

- name: Restore from it later
  ansible.builtin.debug:
    msg: "{{ latest.backups[0].volid }} from {{ latest.backups[0].ctime_iso }}"

- name: Every backup on pve2's local storage
  proxgate.core.proxmox_backup_info:
    storage: local
    node: pve2
  delegate_to: localhost
"""

RETURN = r"""
backups:
  description: The backups, sorted by vmid, then oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    volid:
      description: The archive's volume id.
      type: str
      sample: local:backup/vzdump-qemu-101-2026_11_23-18_00_00.vma.zst
    vmid:
      description: The id of the guest it is a backup of.
      type: int
      sample: 101
    name:
      description: The guest's name, when the guest still exists.
      type: str
      sample: web01
    type:
      description: V(qemu) or V(lxc), from PVE's C(subtype) or the archive's name; null when neither says.
      type: str
      sample: qemu
    node:
      description: The node whose storage listing it is in.
      type: str
      sample: pve1
    ctime:
      description: When the backup was made (Unix time).
      type: int
      sample: 1795456800
    ctime_iso:
      description: The same time in ISO 8601, UTC.
      type: str
      sample: "2026-11-23T18:00:00Z"
    size:
      description: Size in bytes.
      type: int
      sample: 1288490188
    format:
      description: The archive's format (V(vma.zst), V(tar.zst), V(pbs-vm), ...).
      type: str
      sample: vma.zst
    notes:
      description: The backup's notes (the first line, as PVE lists them); null without notes.
      type: str
      sample: web01 before the upgrade
    protected:
      description: Whether the backup is protected from pruning and removal.
      type: bool
      sample: false
    verification:
      description: The last verification of a Proxmox Backup Server snapshot (C(state), C(upid)); null otherwise.
      type: dict
      sample: {state: ok, upid: "UPID:pbs:000012AB:..."}
"""

import re
from datetime import datetime, timezone

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import resolve_guest_refs
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule

# vzdump file names (and the old OpenVZ ones) and PBS snapshot paths, for a listing without `subtype`.
FILE_TYPE = re.compile(r":backup/vzdump-(qemu|lxc|openvz)-\d+-")
PBS_TYPE = re.compile(r":backup/(vm|ct)/\d+/")
TYPES = {"qemu": "qemu", "lxc": "lxc", "openvz": "lxc", "vm": "qemu", "ct": "lxc"}


def backup_type(item):
    if item.get("subtype") in ("qemu", "lxc"):
        return item["subtype"]
    volid = str(item.get("volid") or "")
    found = FILE_TYPE.search(volid) or PBS_TYPE.search(volid)
    return TYPES[found.group(1)] if found else None


def iso_time(ctime):
    if ctime is None:
        return None
    return datetime.fromtimestamp(int(ctime), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def backup_fields(item, node, names):
    """What the module returns about one entry of the storage's content listing."""
    vmid = item.get("vmid")
    vmid = int(vmid) if vmid is not None else None
    ctime = int(item["ctime"]) if item.get("ctime") is not None else None
    return {
        "volid": item.get("volid"),
        "vmid": vmid,
        "name": names.get(vmid),
        "type": backup_type(item),
        "node": node,
        "ctime": ctime,
        "ctime_iso": iso_time(ctime),
        "size": item.get("size"),
        "format": item.get("format"),
        "notes": item.get("notes"),
        "protected": bool(item.get("protected")),
        "verification": item.get("verification"),
    }


def newest_only(backups, count):
    """The `count` newest backups of each vmid, keeping the order given."""
    keep = set()
    by_vmid = {}
    for index, backup in enumerate(backups):
        by_vmid.setdefault(backup["vmid"], []).append((backup["ctime"] or 0, index))
    for entries in by_vmid.values():
        keep.update(index for _ctime, index in sorted(entries, reverse=True)[:count])
    return [backup for index, backup in enumerate(backups) if index in keep]


def sort_key(backup):
    return (backup["vmid"] is None, backup["vmid"] or 0, backup["ctime"] or 0, backup["volid"] or "")


def reading_nodes(storage_entries, storage):
    """The nodes to read the storage on, from /cluster/resources: each where it is available, or one if shared."""
    available = sorted((entry for entry in storage_entries if entry.get("storage") == storage
                        and entry.get("status") == "available"), key=lambda entry: entry.get("node") or "")
    if any(int(entry.get("shared") or 0) for entry in available):
        return [available[0]["node"]]
    return [entry["node"] for entry in available]


class ProxmoxBackupInfo(ProxmoxModule):
    argument_spec = dict(
        storage=dict(type="str", required=True),
        node=dict(type="str"),
        guests=dict(type="list", elements="str"),
        newest=dict(type="int"),
    )
    name_formats = {"node": "pve-node", "storage": "pve-storage-id"}

    def validate(self):
        if self.params["newest"] is not None and self.params["newest"] < 1:
            self.fail(f"newest must be 1 or more, got {self.params['newest']}")
        if self.params["guests"] is not None and any(not str(item).strip() for item in self.params["guests"]):
            self.fail("guests must list vmids or names (an empty entry was given)")

    def run(self):
        params = self.params
        storage = params["storage"]
        resources = self.client.get("/cluster/resources") or []
        guests = [entry for entry in resources if entry.get("type") in ("qemu", "lxc")]
        names = {int(g["vmid"]): g.get("name") for g in guests}
        vmids = None
        if params["guests"] is not None:
            vmids, errors = resolve_guest_refs(guests, params["guests"], known_only=False)
            if errors:
                self.fail("guests: " + "; ".join(errors))
        nodes = [params["node"]] if params["node"] else reading_nodes(
            [entry for entry in resources if entry.get("type") == "storage"], storage)
        if not nodes:
            self.fail(f"storage {storage!r} is not available on any node of the cluster")
        backups = []
        for node in nodes:
            items = self.client.get(api_path("nodes", node, "storage", storage, "content"), content="backup") or []
            backups += [backup_fields(item, node, names) for item in items
                        if item.get("content", "backup") == "backup"]
        if vmids is not None:
            backups = [backup for backup in backups if backup["vmid"] in vmids]
        backups.sort(key=sort_key)
        if params["newest"] is not None:
            backups = newest_only(backups, params["newest"])
        return dict(changed=False, backups=backups)


def main():
    ProxmoxBackupInfo().execute()


if __name__ == "__main__":
    main()

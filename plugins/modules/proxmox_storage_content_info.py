#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_storage_content_info
short_description: List what a Proxmox VE storage holds - ISO images, templates, disk images, backups
version_added: 0.1.0
description:
  - Lists the volumes of a storage as a node sees it (C(GET /nodes/<node>/storage/<storage>/content)), of one
    content type or of all, or those of one guest.
  - Reads only; never changes anything.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.INFO_MODULE
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
options:
  node:
    description:
      - The node whose view of the storage is listed.
    type: str
    required: true
  storage:
    description:
      - The storage, such as V(local).
    type: str
    required: true
  content:
    description:
      - Only volumes of this content type. Not set means every type the storage holds.
      - A type the storage does not hold lists nothing.
    type: str
    choices: [iso, vztmpl, import, backup, images, rootdir, snippets]
  vmid:
    description:
      - Only the volumes of this guest (its disks and backups). ISO images, templates and import images belong to
        no guest, so PVE lists none of them when O(vmid) is set.
    type: int
notes:
  - "Privileges: C(Datastore.Audit) or C(Datastore.AllocateSpace) on C(/storage/<storage>); a guest's disk images
    are listed only with C(VM.Config.Disk) on it, its backups only with C(VM.Backup)."
seealso:
  - module: proxgate.core.proxmox_storage_content
  - module: proxgate.core.proxmox_backup_info
"""

EXAMPLES = r"""
- name: The container templates on local
  proxgate.core.proxmox_storage_content_info:
    node: pve1
    storage: local
    content: vztmpl
  delegate_to: localhost
  register: templates

- name: Is the Debian template there?
  ansible.builtin.debug:
    msg: "{{ 'local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst' in (templates.volumes | map(attribute='volid')) }}"

- name: The disks and backups of guest 101 on local-lvm
  proxgate.core.proxmox_storage_content_info:
    node: pve1
    storage: local-lvm
    vmid: 101
  delegate_to: localhost
"""

RETURN = r"""
volumes:
  description: The volumes, sorted by volume id, as PVE lists them.
  returned: always
  type: list
  elements: dict
  contains:
    volid:
      description: The volume id.
      type: str
      sample: local:iso/debian-13.0.0-amd64-netinst.iso
    content:
      description: Its content type (C(iso), C(vztmpl), C(import), C(backup), C(images), C(rootdir), C(snippets)).
      type: str
      sample: iso
    format:
      description: Its format (C(iso), C(tzst), C(raw), C(qcow2), C(subvol), C(vma.zst)...).
      type: str
      sample: iso
    size:
      description: Its size in bytes; null where the storage gives only an approximate one.
      type: int
      sample: 783286272
    approximate-size:
      description: An upper bound of its size, for storages that cannot tell the exact one.
      type: int
      returned: where the storage gives it
    used:
      description: Space used, in bytes; few storage types report it.
      type: int
      returned: where the storage gives it
    ctime:
      description: When it was made, seconds since the epoch.
      type: int
      sample: 1767168000
    vmid:
      description: The guest it belongs to.
      type: int
      returned: for disk images and backups
    parent:
      description: The volume a linked clone's disk is based on.
      type: str
      returned: for linked clones
    notes:
      description: The first line of a backup's notes.
      type: str
      returned: where set
    protected:
      description: Whether a backup is protected from removal.
      type: bool
      returned: for backups
    verification:
      description: The last verification of a backup on Proxmox Backup Server (C(state), C(upid)).
      type: dict
      returned: on Proxmox Backup Server storages
    encrypted:
      description: The key fingerprint of an encrypted backup on Proxmox Backup Server.
      type: str
      returned: on Proxmox Backup Server storages
"""

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.storage_content import storage_path


def listed_volume(item):
    """A volume as PVE lists it, with protected as a boolean."""
    volume = dict(item)
    if "protected" in volume:
        volume["protected"] = bool(volume["protected"])
    return volume


class ProxmoxStorageContentInfo(ProxmoxModule):
    argument_spec = dict(
        node=dict(type="str", required=True),
        storage=dict(type="str", required=True),
        content=dict(type="str", choices=["iso", "vztmpl", "import", "backup", "images", "rootdir", "snippets"]),
        vmid=dict(type="int"),
    )
    name_formats = {"node": "pve-node", "storage": "pve-storage-id"}

    def validate(self):
        vmid = self.params["vmid"]
        if vmid is not None and not 100 <= vmid <= 999999999:
            self.fail(f"vmid must be a guest id from 100 to 999999999, got {vmid}")

    def run(self):
        p = self.params
        query = {key: p[key] for key in ("content", "vmid") if p[key] is not None}
        listing = self.client.get(storage_path(p["node"], p["storage"], "content"), **query) or []
        volumes = sorted((listed_volume(item) for item in listing if item.get("volid")),
                         key=lambda item: item["volid"])
        return dict(changed=False, volumes=volumes)


def main():
    ProxmoxStorageContentInfo().execute()


if __name__ == "__main__":
    main()

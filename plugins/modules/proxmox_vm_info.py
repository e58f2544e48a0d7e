#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_vm_info
short_description: List QEMU virtual machines of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Lists the QEMU VMs of the whole cluster from one C(GET /cluster/resources?type=vm) call,
    filtered by node, name, vmid, tags, pool and status.
  - With O(config=true), also reads each listed VM's configuration.
author:
  - proxgate.core developers (@proxgate)
notes:
  - >-
    Needs C(VM.Audit) on the VMs to list. C(/cluster/resources) leaves out the guests the user cannot audit,
    so a user with fewer privileges sees fewer VMs rather than an error. O(config=true) needs C(VM.Audit) too.
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.INFO_MODULE
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
options:
  node:
    description: Only VMs on this node.
    type: str
  name:
    description: Only VMs with this name.
    type: str
  vmid:
    description: Only the VM with this id.
    type: int
  tags:
    description: Only VMs that have every one of these tags (case does not matter).
    type: list
    elements: str
  pool:
    description: Only VMs in this pool.
    type: str
  status:
    description: Only VMs in this state.
    type: str
    choices: [running, stopped, paused, unknown]
  templates:
    description: Whether templates are listed (V(include)), left out (V(exclude)) or the only ones listed (V(only)).
    type: str
    choices: [include, exclude, only]
    default: include
  config:
    description:
      - Also read each listed VM's configuration (one more call per VM), returned in RV(vms[].config).
      - Pending values (what the next start uses) are shown, as the API does by default.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: List the running VMs tagged web
  proxgate.core.proxmox_vm_info:
    api_url: https://pve1.example.com:8006
    api_token_id: automation@pve!ansible
    api_token_secret: "{{ vault_pve_token_secret }}"
    tags: [web]
    status: running
  register: web_vms

- name: Read one VM with its configuration (auth from PROXMOX_* environment variables)
  proxgate.core.proxmox_vm_info:
    name: web01
    config: true
  register: web01

- name: Show its memory
  ansible.builtin.debug:
    msg: "{{ web01.vms[0].config.memory }}"
"""

RETURN = r"""
vms:
  description: The VMs that match, sorted by vmid.
  returned: always
  type: list
  elements: dict
  contains:
    vmid:
      description: The VM's id.
      type: int
      sample: 101
    name:
      description: The VM's name.
      type: str
      sample: web01
    node:
      description: The node the VM is on.
      type: str
      sample: pve1
    type:
      description: Always V(qemu).
      type: str
      sample: qemu
    status:
      description: The VM's power state.
      type: str
      sample: running
    template:
      description: Whether the VM is a template.
      type: bool
      sample: false
    tags:
      description: The VM's tags, lower-cased and sorted.
      type: list
      elements: str
      sample: [linux, web]
    pool:
      description: The pool the VM is in, if any.
      type: str
      sample: production
    lock:
      description: The lock a task holds on the VM (V(backup), V(clone), ...), if any.
      type: str
      sample: null
    cpus:
      description: Number of virtual CPUs.
      type: int
      sample: 2
    maxmem:
      description: Memory in bytes.
      type: int
      sample: 2147483648
    maxdisk:
      description: Size of the boot disk in bytes.
      type: int
      sample: 34359738368
    uptime:
      description: Seconds since the VM started.
      type: int
      sample: 3600
    config:
      description: The VM's configuration, when O(config=true).
      type: dict
      returned: when O(config=true)
      sample: {cores: 2, memory: "2048", net0: "virtio=BC:24:11:00:01:01,bridge=vmbr0"}
"""

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import (
    cluster_guests,
    describe,
    guest_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import split_tags


class ProxmoxVmInfo(ProxmoxModule):
    argument_spec = dict(
        node=dict(type="str"),
        name=dict(type="str"),
        vmid=dict(type="int"),
        tags=dict(type="list", elements="str"),
        pool=dict(type="str"),
        status=dict(type="str", choices=["running", "stopped", "paused", "unknown"]),
        templates=dict(type="str", choices=["include", "exclude", "only"], default="include"),
        config=dict(type="bool", default=False),
    )
    # Filters, not paths: a value that is no node name or pool id could only match nothing, so it is refused.
    name_formats = {"node": "pve-node", "pool": "pve-poolid"}

    def matches(self, guest):
        params = self.params
        wanted_tags = set(split_tags(params["tags"]))
        is_template = bool(guest.get("template"))
        return all((
            params["node"] is None or guest.get("node") == params["node"],
            params["name"] is None or guest.get("name") == params["name"],
            params["vmid"] is None or int(guest["vmid"]) == params["vmid"],
            params["pool"] is None or guest.get("pool") == params["pool"],
            params["status"] is None or guest.get("status") == params["status"],
            wanted_tags <= set(split_tags(guest.get("tags"))),
            params["templates"] != "exclude" or not is_template,
            params["templates"] != "only" or is_template,
        ))

    def run(self):
        vms = []
        for guest in sorted(cluster_guests(self.client, "qemu"), key=lambda g: int(g["vmid"])):
            if not self.matches(guest):
                continue
            vm = describe(guest)
            if self.params["config"]:
                vm["config"] = self.client.get(guest_path(guest) + "/config")
            vms.append(vm)
        return dict(changed=False, vms=vms)


def main():
    ProxmoxVmInfo().execute()


if __name__ == "__main__":
    main()

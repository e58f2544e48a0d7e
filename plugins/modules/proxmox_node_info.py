#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_node_info
short_description: List the Proxmox VE nodes with their status and versions
version_added: 0.1.0
description:
  - Lists the nodes of the cluster from C(GET /nodes), and for each node that is online its status
    (C(GET /nodes/<node>/status)) and its versions (C(GET /nodes/<node>/version)).
  - A node that is offline, or does not answer, is listed with RV(nodes[].status) V(offline) or V(unknown) and
    without the facts only it could give; it does not fail the module.
  - Subscription-free - nothing is read from the subscription route, and the subscription level PVE lists is not
    returned.
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
      - Only this node. A node the cluster does not have is an error.
      - Not set means every node.
    type: str
notes:
  - "Privileges: C(Sys.Audit) on C(/nodes/<node>) to read a node's status; PVE lists only the nodes the user may
    audit."
"""

EXAMPLES = r"""
- name: Every node, with its status and versions
  proxgate.core.proxmox_node_info:
  delegate_to: localhost
  register: cluster_nodes

- name: Nodes still on PVE 8
  ansible.builtin.debug:
    msg: "{{ cluster_nodes.nodes | selectattr('release', 'defined') | selectattr('release', 'match', '^8')
             | map(attribute='node') | list }}"

- name: One node
  proxgate.core.proxmox_node_info:
    node: pve2
  delegate_to: localhost
"""

RETURN = r"""
nodes:
  description: The nodes, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    node:
      description: The node's name.
      type: str
      sample: pve1
    status:
      description: V(online), V(offline) or V(unknown) (listed online, but it did not answer).
      type: str
      sample: online
    uptime:
      description: Seconds since the node booted; null when it is not online.
      type: int
      sample: 86400
    cpu:
      description: CPU usage, 0 to 1.
      type: float
      sample: 0.02
    maxcpu:
      description: The number of CPUs.
      type: int
      sample: 16
    mem:
      description: Memory used, in bytes.
      type: int
    maxmem:
      description: Memory, in bytes.
      type: int
    disk:
      description: Root file system used, in bytes.
      type: int
    maxdisk:
      description: Root file system size, in bytes.
      type: int
    ssl_fingerprint:
      description: The SHA-256 fingerprint of the node's API certificate.
      type: str
    loadavg:
      description: The 1, 5 and 15 minute load averages.
      type: list
      elements: float
      sample: [0.05, 0.1, 0.08]
    kernel:
      description: The running kernel (C(kversion)).
      type: str
      sample: "Linux 6.14.8-2-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.8-2 (2025-07-22T10:04Z)"
    pveversion:
      description: The pve-manager package and version.
      type: str
      sample: pve-manager/9.0.10/deb1ca707ec72a89
    version:
      description: The pve-manager version.
      type: str
      sample: 9.0.10
    release:
      description: The Proxmox VE release.
      type: str
      sample: "9.0"
    repoid:
      description: The commit pve-manager was built from.
      type: str
    cpuinfo:
      description: The CPU's model, sockets, cores and threads (C(cpus)).
      type: dict
    memory:
      description: Memory C(total), C(used), C(free) and C(available), in bytes.
      type: dict
    swap:
      description: Swap C(total), C(used) and C(free), in bytes.
      type: dict
    rootfs:
      description: Root file system C(total), C(used), C(free) and C(avail), in bytes.
      type: dict
    boot_info:
      description: How the node booted (C(mode) V(efi) or V(legacy-bios), C(secureboot)).
      type: dict
    error:
      description: Why the node's status or versions could not be read; null when they were.
      type: str
"""

import re

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxError, api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.info import did_not_answer
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule

NUMBER = re.compile(r"\d+(?:\.\d*)?")
LISTED = ("cpu", "maxcpu", "mem", "maxmem", "disk", "maxdisk", "uptime", "ssl_fingerprint")
STATUS = {"cpuinfo": "cpuinfo", "memory": "memory", "swap": "swap", "rootfs": "rootfs", "boot-info": "boot_info",
          "kversion": "kernel", "pveversion": "pveversion", "uptime": "uptime"}
VERSION = ("version", "release", "repoid")


def load_averages(values):
    """PVE's loadavg (three strings) as numbers; what is not a number is left out."""
    return [float(value) for value in values or [] if NUMBER.fullmatch(str(value).strip())]


def node_entry(listed):
    """A node as GET /nodes lists it, without the subscription level; no status facts yet."""
    entry = {"node": listed.get("node"), "status": listed.get("status") or "unknown", "error": None}
    entry.update((key, listed.get(key)) for key in LISTED)
    entry.update(dict.fromkeys(list(STATUS.values()) + list(VERSION) + ["loadavg"]))
    entry["uptime"] = listed.get("uptime")
    return entry


def add_status(entry, status, version):
    """The facts of GET /nodes/<node>/status and /version, added to the node's entry."""
    for key, name in STATUS.items():
        if key in status:
            entry[name] = status[key]
    entry["loadavg"] = load_averages(status.get("loadavg"))
    for key in VERSION:
        entry[key] = version.get(key)
    return entry


class ProxmoxNodeInfo(ProxmoxModule):
    argument_spec = dict(node=dict(type="str"))
    name_formats = {"node": "pve-node"}

    def run(self):
        listed = sorted((item for item in self.client.get("/nodes") or [] if item.get("node")),
                        key=lambda item: item["node"])
        if self.params["node"]:
            listed = [item for item in listed if item["node"] == self.params["node"]]
            if not listed:
                self.fail(f"node {self.params['node']!r} is not a node of the cluster (or not one you may audit)")
        return dict(changed=False, nodes=[self.read(node_entry(item)) for item in listed])

    def read(self, entry):
        if entry["status"] != "online":
            entry["error"] = f"node is {entry['status']}"
            return entry
        try:
            status = self.client.get(api_path("nodes", entry["node"], "status")) or {}
            version = self.client.get(api_path("nodes", entry["node"], "version")) or {}
        except ProxmoxError as exc:
            if not did_not_answer(exc):
                raise
            entry["status"] = "unknown"
            entry["error"] = str(exc)
            return entry
        return add_status(entry, status, version)


def main():
    ProxmoxNodeInfo().execute()


if __name__ == "__main__":
    main()

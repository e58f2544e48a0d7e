#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_cluster_info
short_description: Read a Proxmox VE cluster's quorum, its nodes and its HA state
version_added: 0.1.0
description:
  - Reads the cluster's name, quorum and members from C(GET /cluster/status), and the state of High Availability
    (the CRM master, each node's LRM, each HA resource) from C(GET /cluster/ha/status/current).
  - A node that is in no cluster is no error - RV(clustered) is false, RV(cluster) null, and RV(nodes) lists that
    node alone.
  - Reads only; never changes anything.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.INFO_MODULE
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
options:
  ha:
    description: Also read the HA state (RV(ha)).
    type: bool
    default: true
notes:
  - "Privileges: C(Sys.Audit) on C(/)."
"""

EXAMPLES = r"""
- name: Cluster, quorum and HA
  proxgate.core.proxmox_cluster_info:
  delegate_to: localhost
  register: cluster

- name: Stop here without quorum
  ansible.builtin.assert:
    that: cluster.quorate
    fail_msg: "{{ cluster.nodes_offline }} offline, the cluster has no quorum"

- name: HA resources that are not started
  ansible.builtin.debug:
    msg: "{{ cluster.ha.resources | rejectattr('state', 'eq', 'started') | list }}"
"""

RETURN = r"""
clustered:
  description: Whether the node that answered is in a cluster.
  returned: always
  type: bool
  sample: true
cluster:
  description: The cluster; null on a node that is in no cluster.
  returned: always
  type: dict
  contains:
    name:
      description: The cluster's name.
      type: str
      sample: prod
    nodes:
      description: How many nodes it has, offline ones included.
      type: int
      sample: 3
    version:
      description: The version of its corosync configuration.
      type: int
      sample: 5
quorate:
  description: Whether the cluster has quorum (a majority of its nodes online); always true on a node in no cluster.
  returned: always
  type: bool
  sample: true
nodes:
  description: The members, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The node's name.
      type: str
      sample: pve1
    nodeid:
      description: Its id in the corosync configuration (0 on a node in no cluster).
      type: int
      sample: 1
    online:
      description: Whether it is online.
      type: bool
    local:
      description: Whether it is the node that answered.
      type: bool
    ip:
      description: Its address.
      type: str
      sample: 192.0.2.11
nodes_online:
  description: The names of the members that are online.
  returned: always
  type: list
  elements: str
  sample: [pve1, pve2]
nodes_offline:
  description: The names of the members that are offline.
  returned: always
  type: list
  elements: str
  sample: [pve3]
ha:
  description: The HA state; null with O(ha=false), or when the node has no HA API.
  returned: always
  type: dict
  contains:
    quorate:
      description: Whether the HA stack sees quorum.
      type: bool
    master:
      description: The node the CRM is master on; null when no CRM ever ran (no HA resource ever configured).
      type: str
      sample: pve1
    master_status:
      description: The master's status line.
      type: str
      sample: "pve1 (active, Mon Dec  7 06:40:00 2026)"
    armed_state:
      description: V(armed), V(standby), V(disarming) or V(disarmed).
      type: str
      sample: armed
    lrm:
      description: Each node's local resource manager, C(node) and C(status).
      type: list
      elements: dict
    resources:
      description: The HA resources (C(sid), C(node), C(state), C(crm_state), C(request_state), C(status)).
      type: list
      elements: dict
      sample: [{sid: "vm:101", node: pve1, state: started, crm_state: started, request_state: started,
                status: "vm:101 (pve1, started)"}]
"""

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxApiError
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule

RESOURCE_KEYS = ("sid", "node", "state", "crm_state", "request_state", "status", "group", "max_restart",
                 "max_relocate", "failback", "comment")


def flag(value):
    return bool(int(value)) if value not in (None, "") else False


def cluster_facts(entries):
    """The module's result from GET /cluster/status: a node in no cluster answers only its own entry."""
    cluster = next((entry for entry in entries if entry.get("type") == "cluster"), None)
    nodes = sorted(({"name": entry.get("name"), "nodeid": entry.get("nodeid"), "online": flag(entry.get("online")),
                     "local": flag(entry.get("local")), "ip": entry.get("ip")}
                    for entry in entries if entry.get("type") == "node"), key=lambda node: node["name"] or "")
    facts = {
        "clustered": cluster is not None,
        "cluster": None if cluster is None else {
            "name": cluster.get("name"), "nodes": cluster.get("nodes"), "version": cluster.get("version")},
        "quorate": True if cluster is None else flag(cluster.get("quorate")),
        "nodes": nodes,
        "nodes_online": [node["name"] for node in nodes if node["online"]],
        "nodes_offline": [node["name"] for node in nodes if not node["online"]],
    }
    return facts


def ha_facts(entries):
    """The module's summary of GET /cluster/ha/status/current."""
    by_type = {}
    for entry in entries:
        by_type.setdefault(entry.get("type"), []).append(entry)
    quorum = (by_type.get("quorum") or [{}])[0]
    master = (by_type.get("master") or [None])[0]
    fencing = (by_type.get("fencing") or [{}])[0]
    return {
        "quorate": flag(quorum.get("quorate")),
        "master": master.get("node") if master else None,
        "master_status": master.get("status") if master else None,
        "armed_state": fencing.get("armed-state"),
        "lrm": [{"node": entry.get("node"), "status": entry.get("status")} for entry in by_type.get("lrm", [])],
        "resources": [{key: entry[key] for key in RESOURCE_KEYS if key in entry}
                      for entry in by_type.get("service", [])],
    }


class ProxmoxClusterInfo(ProxmoxModule):
    argument_spec = dict(ha=dict(type="bool", default=True))

    def run(self):
        result = dict(changed=False, **cluster_facts(self.client.get("/cluster/status") or []))
        result["ha"] = None
        if self.params["ha"]:
            try:
                result["ha"] = ha_facts(self.client.get("/cluster/ha/status/current") or [])
            except ProxmoxApiError as exc:
                if exc.status not in (404, 501):
                    raise
        return result


def main():
    ProxmoxClusterInfo().execute()


if __name__ == "__main__":
    main()

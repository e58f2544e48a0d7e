#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_firewall_info
short_description: Read a Proxmox VE firewall - the cluster's, a node's, a guest's or a security group's
version_added: 0.1.0
description:
  - Returns the firewall of one level in the forms the other firewall modules compare - its options, its rules in
    order (with their positions), its IPSets with their entries, its aliases and, for the cluster, its security
    groups.
  - What a level does not have is left out (a node has rules and options only; a security group rules only), and
    returned empty.
  - Reads only; never changes anything.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.INFO_MODULE
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
options:
  vmid:
    description: The guest (VM or container) whose firewall to read. Its node and type are looked up.
    type: int
  node:
    description: The node whose firewall to read.
    type: str
  security_group:
    description: The cluster security group whose rules to read (its name is used in lower case, as a node keeps it).
    type: str
  gather:
    description:
      - What to read. Each costs one call, and the IPSets one more per IPSet.
    type: list
    elements: str
    choices: [options, rules, ipsets, aliases, groups]
    default: [options, rules, ipsets, aliases, groups]
notes:
  - "Privileges: C(Sys.Audit) on C(/) for the cluster and its security groups, on C(/nodes/<node>) for a node;
    C(VM.Audit) on C(/vms/<vmid>) for a guest."
  - Neither O(vmid), O(node) nor O(security_group) reads the cluster's firewall.
seealso:
  - module: proxgate.core.proxmox_firewall_rule
  - module: proxgate.core.proxmox_firewall_ipset
  - module: proxgate.core.proxmox_firewall_gateway
"""

EXAMPLES = r"""
- name: Guest 101's firewall
  proxgate.core.proxmox_firewall_info:
    vmid: 101
  register: web01_firewall

- name: The ports its gateway rules open
  ansible.builtin.debug:
    msg: "{{ web01_firewall.rules | selectattr('comment', 'defined') | selectattr('comment', 'match', '^proxgate:')
             | map(attribute='dport') | list }}"

- name: The cluster's security groups and options only
  proxgate.core.proxmox_firewall_info:
    gather: [groups, options]
"""

RETURN = r"""
level:
  description: The level read, C(cluster), C(node), C(guest) or C(group), and what names it.
  returned: always
  type: dict
  sample: {kind: guest, vmid: 101, node: pve1, type: qemu}
options:
  description: The level's options as the node answers them (a guest's C(enable) 1 or 0; unset ones left out).
  returned: always
  type: dict
  sample: {enable: 1, policy_in: DROP}
rules:
  description: The rules in order, each with its C(pos), C(enable) 1 or 0, and only the fields it has.
  returned: always
  type: list
  elements: dict
  sample: [{pos: 0, type: in, action: ACCEPT, proto: tcp, dport: "22", source: +proxgate-gateway, enable: 1,
            comment: "proxgate: ssh from the gateway"}]
ipsets:
  description: The IPSets, sorted by name, each with its comment and its entries sorted by address.
  returned: always
  type: list
  elements: dict
  sample: [{name: proxgate-gateway, comment: null, entries: [{cidr: 192.0.2.10, nomatch: false, comment: null}]}]
aliases:
  description: The aliases, sorted by name.
  returned: always
  type: list
  elements: dict
  sample: [{name: gateway, cidr: 192.0.2.10, comment: guacd}]
groups:
  description: The cluster's security groups, sorted by name (the cluster only).
  returned: always
  type: list
  elements: dict
  sample: [{group: webservers, comment: null}]
"""

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.firewall import (
    clean_comment,
    find_level,
    group_level,
    group_name_problem,
    ipset_entries,
    rule_views,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule

# What each level has (pve-firewall: Cluster.pm, Host.pm, VM.pm, Groups.pm).
HAS = {"cluster": {"options", "rules", "ipsets", "aliases", "groups"}, "node": {"options", "rules"},
       "guest": {"options", "rules", "ipsets", "aliases"}, "group": {"rules"}}
GATHER = ["options", "rules", "ipsets", "aliases", "groups"]


class ProxmoxFirewallInfo(ProxmoxModule):
    argument_spec = dict(
        vmid=dict(type="int"),
        node=dict(type="str"),
        security_group=dict(type="str"),
        gather=dict(type="list", elements="str", choices=GATHER, default=GATHER),
    )
    module_kwargs = dict(mutually_exclusive=[("node", "vmid", "security_group")])

    def validate(self):
        group = self.params["security_group"]
        if group is not None:
            problem = group_name_problem("security_group", group)
            if problem:
                self.fail(problem)
            self.params["security_group"] = group.lower()

    def run(self):
        params, client = self.params, self.client
        if params["security_group"] is not None:
            known = {entry.get("group") for entry in client.get("/cluster/firewall/groups") or []}
            if params["security_group"] not in known:
                self.fail(f"security_group: the cluster has no security group {params['security_group']!r} "
                          f"(groups: {', '.join(sorted(filter(None, known))) or 'none'})")
            level = group_level(params["security_group"])
            described = {"kind": "group", "group": params["security_group"]}
        else:
            level, problem = find_level(client, node=params["node"], vmid=params["vmid"])
            if problem:
                self.fail(problem)
            described = {"kind": level.kind}
            if level.kind == "guest":
                described.update(vmid=params["vmid"], node=level.node, type=level.guest_type)
            elif level.kind == "node":
                described["node"] = level.node
        wanted = HAS[level.kind] & set(params["gather"])
        result = dict(changed=False, level=described, options={}, rules=[], ipsets=[], aliases=[], groups=[])
        if "options" in wanted:
            result["options"] = {key: value for key, value in (client.get(level.at("options")) or {}).items()
                                 if key != "digest"}
        if "rules" in wanted:
            result["rules"] = [dict(rule, pos=pos) for pos, rule in enumerate(rule_views(client.get(level.rules_path)))]
        if "ipsets" in wanted:
            result["ipsets"] = [self.ipset(level, entry) for entry in sorted(
                client.get(level.at("ipset")) or [], key=lambda entry: entry["name"])]
        if "aliases" in wanted:
            result["aliases"] = [{"name": entry["name"], "cidr": entry.get("cidr"),
                                  "comment": clean_comment(entry.get("comment"))}
                                 for entry in sorted(client.get(level.at("aliases")) or [],
                                                     key=lambda entry: entry["name"])]
        if "groups" in wanted:
            result["groups"] = [{"group": entry["group"], "comment": clean_comment(entry.get("comment"))}
                                for entry in sorted(client.get("/cluster/firewall/groups") or [],
                                                    key=lambda entry: entry["group"])]
        return result

    def ipset(self, level, listed):
        return {"name": listed["name"], "comment": clean_comment(listed.get("comment")),
                "entries": ipset_entries(self.client, level, listed["name"])}


def main():
    ProxmoxFirewallInfo().execute()


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_firewall_options
short_description: Set the Proxmox VE firewall options of the cluster, a node or a guest
version_added: 0.1.0
description:
  - Sets the firewall options given (enable, policies, filters, log levels) on the cluster, a node or a guest
    (VM or container), in one write of only the options that differ. Options not given are left as they are.
  - The options each level takes are PVE's (pve-firewall C(Firewall.pm)); an option the level does not have is
    refused, naming the ones it has.
  - "A guest: C(enable), C(policy_in), C(policy_out), C(dhcp), C(ipfilter), C(macfilter), C(ndp), C(radv),
    C(log_level_in), C(log_level_out). The cluster: C(enable), C(policy_in), C(policy_out), C(policy_forward),
    C(ebtables), C(log_ratelimit). A node: C(enable), C(nftables), C(ndp), C(nosmurfs), C(tcpflags), the
    C(log_level_*) and C(nf_conntrack_*) options, C(protection_synflood*), C(log_nf_conntrack)."
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the options that change, before and after.
options:
  vmid:
    description:
      - The guest whose firewall options these are. Neither O(vmid) nor O(node), the cluster's.
    type: int
  node:
    description:
      - The node whose (host) firewall options these are.
    type: str
  options:
    description:
      - The options and their values; booleans as V(true)/V(false), policies as V(ACCEPT), V(DROP), V(REJECT).
    type: dict
    required: true
notes:
  - "Privileges: C(Sys.Modify) on C(/) for the cluster, on C(/nodes/<node>) for a node, C(VM.Config.Network) on
    C(/vms/<vmid>) for a guest."
  - A guest's firewall also needs C(firewall=1) on each network device it should filter (the guest's C(net0)
    option, M(proxgate.core.proxmox_vm) or M(proxgate.core.proxmox_lxc)), and the cluster's firewall enabled.
seealso:
  - module: proxgate.core.proxmox_firewall_rule
"""

EXAMPLES = r"""
- name: Guest 101's firewall on, dropping what no rule accepts (auth from PROXMOX_* environment variables)
  proxgate.core.proxmox_firewall_options:
    vmid: 101
    options:
      enable: true
      policy_in: DROP
      ipfilter: true

- name: The cluster's firewall on
  proxgate.core.proxmox_firewall_options:
    options:
      enable: true
"""

RETURN = r"""
options:
  description: The level's firewall options after the task (what they would be, in check mode).
  returned: always
  type: dict
  sample: {enable: 1, policy_in: DROP, ipfilter: 1}
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import dict_changes
from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.firewall import (
    LEVEL_MUTUALLY_EXCLUSIVE,
    find_level,
    level_argument_spec,
    option_equal,
    option_value,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule


class ProxmoxFirewallOptions(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        options=dict(type="dict", required=True),
        **level_argument_spec(),
    )
    module_kwargs = dict(mutually_exclusive=LEVEL_MUTUALLY_EXCLUSIVE)
    object_key = "options"
    wanted: dict = {}

    def validate(self):
        kind = "guest" if self.params["vmid"] is not None else "node" if self.params["node"] is not None else \
            "cluster"
        self.wanted, problems = {}, []
        for key, value in sorted(self.params["options"].items()):
            self.wanted[key], problem = option_value(kind, key, value)
            if problem:
                problems.append(problem)
        if problems:
            self.fail("; ".join(problems))

    def run(self):
        self.writes = 0
        level, problem = find_level(self.client, node=self.params["node"], vmid=self.params["vmid"])
        if problem:
            self.fail(problem)
        current = {key: value for key, value in (self.client.get(level.at("options")) or {}).items()
                   if key != "digest"}
        changes = dict_changes(current, self.wanted, equal=option_equal)
        if changes:
            self.write(self.client.put, level.at("options"), **changes.after)
        return self.result(dict(current, **changes.after), changes.before, changes.after)


def main():
    ProxmoxFirewallOptions().execute()


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_firewall_alias
short_description: Create, update or delete a Proxmox VE firewall alias
version_added: 0.1.0
description:
  - Makes sure a firewall alias (a name for an address or a network, used in rules and IPSets) exists with the
    address and comment given (O(state=present)), or does not exist (O(state=absent)), in the cluster's
    firewall or a guest's.
  - Alias names are compared without case, as the node looks them up. Addresses are compared the way the node
    keeps them (V(/32) and V(/128) dropped, host bits cleared, IPv6 compressed).
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
      - The diff shows the alias's address and comment before and after.
options:
  name:
    description:
      - The alias's name, 2 to 64 letters, digits, C(-) and C(_), starting with a letter.
    type: str
    required: true
  cidr:
    description:
      - The address (V(192.0.2.10)) or network (V(192.0.2.0/24)) the alias stands for. Required to create it.
    type: str
  comment:
    description:
      - The alias's comment; one line. An empty string removes it; not given leaves it as it is.
    type: str
  vmid:
    description:
      - The guest whose firewall holds the alias. Not given, the alias is the cluster's. A node's firewall has
        no aliases.
    type: int
  node:
    description:
      - Not supported here, as a node's firewall has rules and options only. Given, the task fails before any call.
    type: str
  state:
    description:
      - V(present) creates the alias or updates it, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: C(Sys.Modify) on C(/) for the cluster's aliases, C(VM.Config.Network) on C(/vms/<vmid>) for a
    guest's (C(Sys.Audit) and C(VM.Audit) to read)."
seealso:
  - module: proxgate.core.proxmox_firewall_ipset
  - module: proxgate.core.proxmox_firewall_rule
"""

EXAMPLES = r"""
- name: The gateway's address as an alias for the whole cluster (auth from PROXMOX_* environment variables)
  proxgate.core.proxmox_firewall_alias:
    name: gateway
    cidr: 192.0.2.10
    comment: guacd

- name: Remove it
  proxgate.core.proxmox_firewall_alias:
    name: gateway
    state: absent
"""

RETURN = r"""
alias:
  description: The alias after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: Its name, as the node keeps it.
      type: str
      sample: gateway
    cidr:
      description: Its address or network.
      type: str
      sample: 192.0.2.10
    comment:
      description: Its comment; V(null) when it has none.
      type: str
      sample: guacd
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.firewall import (
    clean_cidr,
    clean_comment,
    comment_problem,
    find_level,
    level_argument_spec,
    name_problem,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule


def shown(name, cidr, comment):
    return {"name": name, "cidr": cidr, "comment": comment}


class ProxmoxFirewallAlias(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        name=dict(type="str", required=True),
        cidr=dict(type="str"),
        comment=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **level_argument_spec(),
    )
    object_key = "alias"
    level = None
    cidr = None

    def validate(self):
        params, problems = self.params, []
        if params["node"] is not None:
            problems.append("node: a node's firewall has no aliases (only rules and options); give vmid for a "
                            "guest's alias, or neither for the cluster's")
        problems.append(name_problem("name", params["name"], "alias"))
        problems.append(comment_problem("comment", params["comment"]))
        if params["cidr"] is not None:
            self.cidr = clean_cidr(params["cidr"])
            if self.cidr is None:
                problems.append(f"cidr must be an IP address or a network such as 192.0.2.0/24; "
                                f"got {params['cidr']!r}")
        problems = [problem for problem in problems if problem]
        if problems:
            self.fail("; ".join(problems))

    def locate(self):
        self.level, problem = find_level(self.client, vmid=self.params["vmid"])
        if problem:
            self.fail(problem)
        wanted = self.params["name"].lower()
        for entry in self.client.get(self.level.at("aliases")) or []:
            if str(entry.get("name", "")).lower() == wanted:
                return shown(entry["name"], entry.get("cidr"), clean_comment(entry.get("comment")))
        if self.params["state"] == "present" and self.cidr is None:
            self.fail(f"cidr is required to create the alias {self.params['name']!r} in the firewall of "
                      f"{self.level.label}")
        return None

    def create(self, desired):
        name, comment = self.params["name"], clean_comment(self.params["comment"])
        self.write(self.client.post, self.level.at("aliases"), name=name, cidr=self.cidr,
                   **({"comment": comment} if comment else {}))
        return shown(name, self.cidr, comment), {"cidr": self.cidr, "comment": comment}

    def update(self, existing, desired):
        changes = Changes()
        if self.cidr is not None and clean_cidr(existing["cidr"]) != self.cidr:
            changes.add("cidr", existing["cidr"], self.cidr)
        if self.params["comment"] is not None and clean_comment(self.params["comment"]) != existing["comment"]:
            changes.add("comment", existing["comment"], clean_comment(self.params["comment"]))
        alias = dict(existing, **changes.after)
        if changes:
            # Aliases.pm update_alias writes the cidr given and the comment only when one is sent: both go.
            self.write(self.client.put, self.level.at("aliases", existing["name"]), cidr=alias["cidr"],
                       **({"comment": alias["comment"]} if alias["comment"] else {}))
        return alias, changes

    def delete(self, existing):
        self.write(self.client.delete, self.level.at("aliases", existing["name"]))
        return {"cidr": existing["cidr"], "comment": existing["comment"]}


def main():
    ProxmoxFirewallAlias().execute()


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_firewall_group
short_description: Create, comment, rename or delete a Proxmox VE firewall security group
version_added: 0.1.0
description:
  - Makes sure a cluster security group exists with the comment given (O(state=present)), or does not exist
    (O(state=absent)). Its rules are M(proxgate.core.proxmox_firewall_rule)'s, with
    O(proxgate.core.proxmox_firewall_rule#module:security_group).
  - With O(rename_from), an existing group is renamed to O(name); the node renames it in every rule that applies it
    (Groups.pm C(create_security_group) with C(rename)). When O(name) exists already and O(rename_from) does not,
    nothing is renamed.
  - O(state=absent) deletes the group's rules first (a node deletes only an empty group), then the group. Rules of
    type C(group) that apply it on the cluster, nodes or guests are left as they are; the node then skips them.
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
      - The diff shows the group's name, comment and number of rules before and after.
options:
  name:
    description:
      - The group's name, 2 to 18 letters, digits, C(-) and C(_), starting with a letter, used in lower case (a node
        reads security group names back in lower case).
    type: str
    required: true
  comment:
    description: The group's comment. An empty string removes it; not given leaves it as it is.
    type: str
  rename_from:
    description: The name of an existing group to rename to O(name).
    type: str
  state:
    description: V(present) creates, comments or renames the group; V(absent) deletes it with its rules.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: C(Sys.Modify) on C(/) (C(Sys.Audit) to read)."
seealso:
  - module: proxgate.core.proxmox_firewall_rule
  - module: proxgate.core.proxmox_firewall_info
"""

EXAMPLES = r"""
- name: A security group for web servers
  proxgate.core.proxmox_firewall_group:
    name: webservers
    comment: HTTP and HTTPS from anywhere

# Its rules: proxgate.core.proxmox_firewall_rule with security_group: webservers.

- name: Renamed, with the rules that apply it
  proxgate.core.proxmox_firewall_group:
    name: web
    rename_from: webservers

- name: Gone, with its rules
  proxgate.core.proxmox_firewall_group:
    name: web
    state: absent
"""

RETURN = r"""
group:
  description: The group after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: Its name, in lower case.
      type: str
      sample: webservers
    comment:
      description: Its comment; V(null) when it has none.
      type: str
      sample: HTTP and HTTPS from anywhere
    rules:
      description: How many rules it holds.
      type: int
      sample: 2
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.firewall import (
    clean_comment,
    comment_problem,
    group_level,
    group_name_problem,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule

GROUPS = "/cluster/firewall/groups"


class ProxmoxFirewallGroup(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        name=dict(type="str", required=True),
        comment=dict(type="str"),
        rename_from=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    object_key = "group"
    renaming = False

    def validate(self):
        params = self.params
        problems = [group_name_problem("name", params["name"]), comment_problem("comment", params["comment"])]
        if params["rename_from"] is not None:
            problems.append(group_name_problem("rename_from", params["rename_from"]))
            if params["state"] == "absent":
                problems.append("rename_from goes with state present")
        problems = [problem for problem in problems if problem]
        if problems:
            self.fail("; ".join(problems))
        params["name"] = params["name"].lower()
        if params["rename_from"] is not None:
            params["rename_from"] = params["rename_from"].lower()

    def described(self, listed):
        """The group of a GET /cluster/firewall/groups entry, with how many rules it holds."""
        rules = self.client.get(group_level(listed["group"]).at()) or []
        return {"name": listed["group"], "comment": clean_comment(listed.get("comment")), "rules": len(rules)}

    def locate(self):
        groups = {entry.get("group"): entry for entry in self.client.get(GROUPS) or []}
        name, source = self.params["name"], self.params["rename_from"]
        if name in groups:
            return self.described(groups[name])
        if source is None or self.params["state"] != "present":
            return None
        if source not in groups:
            self.fail(f"rename_from: there is no security group {source!r} to rename, and no {name!r}")
        self.renaming = True
        return self.described(groups[source])

    def create(self, desired):
        name, comment = self.params["name"], clean_comment(self.params["comment"])
        self.write(self.client.post, GROUPS, group=name, **({"comment": comment} if comment else {}))
        group = {"name": name, "comment": comment, "rules": 0}
        return group, group

    def update(self, existing, desired):
        name, changes = self.params["name"], Changes()
        comment = self.params["comment"]
        data = {}
        if self.renaming:
            changes.add("name", existing["name"], name)
            data["rename"] = existing["name"]
        if comment is not None and clean_comment(comment) != existing["comment"]:
            changes.add("comment", existing["comment"], clean_comment(comment))
            data.update(rename=data.get("rename", name), comment=clean_comment(comment) or "")
        if data:
            self.write(self.client.post, GROUPS, group=name, **data)
        group = dict(existing, **changes.after)
        return group, changes

    def delete(self, existing):
        level = group_level(existing["name"])
        for pos in reversed(range(existing["rules"])):
            self.write(self.client.delete, level.at() + api_path(pos))
        self.write(self.client.delete, level.at())
        return existing


def main():
    ProxmoxFirewallGroup().execute()


if __name__ == "__main__":
    main()

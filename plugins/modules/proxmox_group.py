#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_group
short_description: Create, update or delete a Proxmox VE user group
version_added: 0.1.0
description:
  - Makes sure a group of users exists with the comment given (O(state=present)), or does not exist
    (O(state=absent)). The group is written only when its comment differs.
  - The group's members are shown, not set; in PVE a user joins a group through the user's own C(groups)
    (C(pveum user modify --groups)), which is where they are managed.
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
      - The diff shows the group's comment before and after.
options:
  name:
    description:
      - The group id, such as V(operators); letters, digits, C(.), C(-) and C(_).
    type: str
    required: true
    aliases: [groupid]
  comment:
    description:
      - The group's comment. An empty string removes it; not given leaves it as it is.
    type: str
  state:
    description:
      - V(present) creates the group or sets its comment, V(absent) deletes it.
      - Deleting a group takes its members out of it and removes the ACL entries that grant it a role, as PVE
        does; the users themselves stay.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: creating, changing and deleting a group needs C(Group.Allocate) on C(/access/groups); a group
    is found only when the user may see it (C(User.Modify), C(Sys.Audit) or C(Group.Allocate) on
    C(/access/groups/<group>))."
seealso:
  - module: proxgate.core.proxmox_role
  - module: proxgate.core.proxmox_pool
"""

EXAMPLES = r"""
- name: A group for the gateway's operators (auth from PROXMOX_* environment variables)
  proxgate.core.proxmox_group:
    name: gateway-operators
    comment: May power and open the consoles of published guests

- name: Remove it
  proxgate.core.proxmox_group:
    name: gateway-operators
    state: absent
"""

RETURN = r"""
group:
  description: The group after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    groupid:
      description: The group id.
      type: str
      sample: gateway-operators
    comment:
      description: Its comment; V(null) when it has none.
      type: str
      sample: May power and open the consoles of published guests
    members:
      description: The user ids of its members, sorted.
      type: list
      elements: str
      sample: [alice@pve, bob@pve]
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import (
    access_id_problem,
    comment_change,
    find_entry,
    name_list,
    stored_comment,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule


def shown(groupid, comment, members):
    return {"groupid": groupid, "comment": stored_comment(comment), "members": members}


class ProxmoxGroup(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["groupid"]),
        comment=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    object_key = "group"

    def validate(self):
        problem = access_id_problem("name", self.params["name"], "group")
        if problem:
            self.fail(problem)

    def locate(self):
        return find_entry(self.client.get("/access/groups"), "groupid", self.params["name"])

    def create(self, desired):
        name, comment = self.params["name"], stored_comment(self.params["comment"])
        self.write(self.client.post, "/access/groups", groupid=name, **({"comment": comment} if comment else {}))
        return shown(name, comment, []), {"comment": comment}

    def update(self, existing, desired):
        changes = Changes()
        data = comment_change(changes, existing.get("comment"), self.params["comment"])
        if data:
            self.write(self.client.put, api_path("access", "groups", existing["groupid"]), **data)
        comment = changes.after["comment"] if changes else existing.get("comment")
        return shown(existing["groupid"], comment, name_list(existing.get("users"))), changes

    def delete(self, existing):
        self.write(self.client.delete, api_path("access", "groups", existing["groupid"]))
        return {"comment": stored_comment(existing.get("comment")), "members": name_list(existing.get("users"))}


def main():
    ProxmoxGroup().execute()


if __name__ == "__main__":
    main()

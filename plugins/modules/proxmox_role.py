#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_role
short_description: Create, update or delete a Proxmox VE role
version_added: 0.1.0
description:
  - Makes sure a role (a named set of privileges, granted on a path through an ACL) exists with exactly the
    privileges given (O(state=present)), or does not exist (O(state=absent)).
  - Privileges are compared as sets, so their order and repeats do not matter; the role is written only when
    the sets differ.
  - Privilege names are checked against the privileges the server knows (those of its built-in
    C(Administrator) role) before anything is written.
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
      - The diff shows the role's privileges before and after.
options:
  name:
    description:
      - The role id, such as V(GatewayOperator); letters, digits, C(.), C(-) and C(_).
      - A new role's id may not start with V(PVE) (in any case), which PVE keeps for its built-in roles.
    type: str
    required: true
    aliases: [roleid]
  privileges:
    description:
      - The role's privileges, such as V(VM.Audit) and V(VM.PowerMgmt). The role ends with exactly these;
        an empty list leaves it with none.
      - Not given means a new role has none and an existing role keeps its own.
    type: list
    elements: str
    aliases: [privs]
  state:
    description:
      - V(present) creates the role or sets its privileges, V(absent) deletes it.
      - PVE's built-in roles (such as V(Administrator) and V(PVEAuditor)) cannot be changed or deleted; asking
        for another set of privileges for one, or for its removal, fails the task.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: creating, changing and deleting a role needs C(Sys.Modify) on C(/access)."
  - Deleting a role leaves the ACL entries that grant it, as PVE does; they grant nothing from then on.
seealso:
  - module: proxgate.core.proxmox_group
  - module: proxgate.core.proxmox_pool
"""

EXAMPLES = r"""
- name: A role that may see and power guests, nothing more (auth from PROXMOX_* environment variables)
  proxgate.core.proxmox_role:
    name: GatewayOperator
    privileges:
      - VM.Audit
      - VM.PowerMgmt
      - VM.Console

- name: Remove it
  proxgate.core.proxmox_role:
    name: GatewayOperator
    state: absent
"""

RETURN = r"""
role:
  description: The role after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    roleid:
      description: The role id.
      type: str
      sample: GatewayOperator
    privileges:
      description: Its privileges, sorted.
      type: list
      elements: str
      sample: [VM.Audit, VM.Console, VM.PowerMgmt]
    special:
      description: Whether it is one of PVE's built-in roles.
      type: bool
      sample: false
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import (
    access_id_problem,
    find_entry,
    name_list,
    unknown_names,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule

# The built-in role that holds every privilege (pve-access-control src/PVE/AccessControl.pm, $special_roles).
ALL_PRIVILEGES_ROLE = "Administrator"


def shown(roleid, privileges, special=False):
    return {"roleid": roleid, "privileges": sorted(privileges), "special": special}


class ProxmoxRole(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["roleid"]),
        privileges=dict(type="list", elements="str", aliases=["privs"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    object_key = "role"
    known = None  # every privilege the server knows, or None when it does not say

    def validate(self):
        problem = access_id_problem("name", self.params["name"], "role")
        if problem:
            self.fail(problem)
        if any(not priv.strip() for priv in self.params["privileges"] or []):
            self.fail("privileges must not hold an empty name")

    def locate(self):
        roles = self.client.get("/access/roles") or []
        everything = find_entry(roles, "roleid", ALL_PRIVILEGES_ROLE)
        if everything is not None:
            self.known = name_list(everything.get("privs"))
        return find_entry(roles, "roleid", self.params["name"])

    def desired(self, existing):
        wanted = self.params["privileges"]
        if wanted is None:
            return None
        wanted = {priv.strip() for priv in wanted}
        problem = self.known is not None and unknown_names("privileges", wanted, self.known, "privilege")
        if problem:
            self.fail(problem)
        return wanted

    def refuse_special(self, existing, doing):
        if existing.get("special"):
            self.fail(f"name: {existing['roleid']!r} is one of PVE's built-in roles, which cannot be {doing}")

    def create(self, desired):
        name = self.params["name"]
        if name.upper().startswith("PVE"):
            self.fail(f"name: a new role's id may not start with 'PVE' (PVE keeps those for its own roles); "
                      f"got {name!r}")
        privileges = desired or set()
        data = {"privs": ",".join(sorted(privileges))} if privileges else {}
        self.write(self.client.post, "/access/roles", roleid=name, **data)
        return shown(name, privileges), {"privileges": sorted(privileges)}

    def update(self, existing, desired):
        before = name_list(existing.get("privs"))
        if desired is None or set(before) == desired:
            return shown(existing["roleid"], before, bool(existing.get("special"))), {"before": {}, "after": {}}
        self.refuse_special(existing, "changed")
        data = {"privs": ",".join(sorted(desired))} if desired else {}
        self.write(self.client.put, api_path("access", "roles", existing["roleid"]), **data)
        return shown(existing["roleid"], desired), {"before": {"privileges": before},
                                                    "after": {"privileges": sorted(desired)}}

    def delete(self, existing):
        self.refuse_special(existing, "deleted")
        self.write(self.client.delete, api_path("access", "roles", existing["roleid"]))
        return {"privileges": name_list(existing.get("privs"))}


def main():
    ProxmoxRole().execute()


if __name__ == "__main__":
    main()

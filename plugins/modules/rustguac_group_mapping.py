#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rustguac_group_mapping
short_description: Map an OIDC group to a rustguac role
version_added: 0.1.0
description:
  - Manages the mapping of one OIDC group to the rustguac role its members get when they log in.
  - Looks the group up among the existing mappings first and updates that mapping by its id, so it never
    runs into the server's C(409 Conflict) for a group that already has one.
  - The server lists a mapping's group as C(oidc_group) but takes it as C(group) in the body of a create or
    update (C({"group", "role"}), src/api.rs C(CreateGroupMappingRequest) in rustguac 1.9.7).
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.rustguac
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_RUSTGUAC
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  oidc_group:
    description:
      - The group name as the OIDC provider puts it in the C(groups) claim.
      - Sent to the server as C(group); the server lists it as C(oidc_group).
    type: str
    required: true
    aliases: [group]
  role:
    description:
      - The role members of the group get. Required with O(state=present).
    type: str
    choices: [admin, poweruser, operator, viewer]
  state:
    description:
      - V(present) creates or updates the mapping, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Role needed: C(admin). A key with a lower role gets HTTP 403."
seealso:
  - module: proxgate.core.rustguac_user
"""

EXAMPLES = r"""
- name: Members of the OIDC group engineering become powerusers
  proxgate.core.rustguac_group_mapping:
    oidc_group: engineering
    role: poweruser

- name: Drop the mapping of a retired group
  proxgate.core.rustguac_group_mapping:
    oidc_group: contractors
    state: absent
"""

RETURN = r"""
mapping:
  description: The mapping after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: The mapping's id; V(null) for one that check mode would create.
      type: int
      sample: 3
    oidc_group:
      description: The OIDC group.
      type: str
      sample: engineering
    role:
      description: The role.
      type: str
      sample: poweruser
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.text import control_problem
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import ROLES, RustguacApiError, path_of
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import listed
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.objects import RustguacObjectModule

MAPPINGS = "/admin/group-mappings"


def find_mapping(mappings, group):
    for mapping in mappings:
        if mapping.get("oidc_group") == group:
            return mapping
    return None


class RustguacGroupMapping(RustguacObjectModule):
    argument_spec = dict(
        oidc_group=dict(type="str", required=True, aliases=["group"]),
        role=dict(type="str", choices=list(reversed(ROLES))),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module_kwargs = dict(required_if=[("state", "present", ("role",))])
    required_role = "admin"
    object_key = "mapping"
    listed_results = ()

    def validate(self):
        if not self.params["oidc_group"].strip():
            self.fail("oidc_group must not be empty")
        problem = control_problem("oidc_group", self.params["oidc_group"])
        if problem:
            self.fail(problem)

    def locate(self):
        return find_mapping(listed(self.client.get(MAPPINGS), "mappings"), self.params["oidc_group"])

    def desired(self, existing):
        return dict(oidc_group=self.params["oidc_group"], role=self.params["role"])

    def create(self, desired):
        mapping_id = self.write(self.save, None, dict(group=desired["oidc_group"], role=desired["role"]))
        return dict(id=mapping_id, **desired), desired

    def update(self, existing, desired):
        if existing.get("role") != desired["role"]:
            self.write(self.save, existing, dict(group=desired["oidc_group"], role=desired["role"]))
        return dict(id=existing.get("id"), **desired), {"before": self.shown(existing), "after": desired}

    def delete(self, existing):
        self.write(self.client.delete, path_of("admin", "group-mappings", existing["id"]))
        return self.shown(existing)

    def shown(self, existing):
        return dict(oidc_group=self.params["oidc_group"], role=existing.get("role"))

    def save(self, existing, body):
        """Update by id, or create; a create that races another writer (409) becomes an update. Returns the id.

        body is the request body, ``{"group", "role"}``; a create answers the mapping, an update ``{"ok": true}``.
        """
        if existing is None:
            try:
                reply = self.client.post(MAPPINGS, body)
                return reply.get("id") if isinstance(reply, dict) else None
            except RustguacApiError as exc:
                if not exc.conflict:
                    raise
                existing = self.locate()
                if existing is None:
                    raise
        self.client.put(path_of("admin", "group-mappings", existing["id"]), body)
        return existing["id"]


def main():
    RustguacGroupMapping().execute()


if __name__ == "__main__":
    main()

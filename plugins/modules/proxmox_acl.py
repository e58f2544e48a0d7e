#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_acl
short_description: Grant or revoke Proxmox VE roles on a path to users, groups and API tokens
version_added: 0.1.0
description:
  - Makes sure each of O(users), O(groups) and O(tokens) holds each of O(roles) on O(path) with the
    O(propagate) flag given (O(state=present)), or holds none of them there (O(state=absent)).
  - Only the entries missing, or with the other propagate flag, are written (PUT C(/access/acl), as few requests
    as the roles and members allow); nothing is written when the ACL already is as asked. Other entries on the
    path, for other roles or other users, groups and tokens, are left alone.
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
      - The diff lists the entries of this task (the roles for the members on the path) before and after.
options:
  path:
    description:
      - The ACL path, such as V(/), V(/vms/100), V(/pool/gateway), V(/storage/local) or V(/access/groups/ops).
      - Written as a node stores it (V(/vms/) is V(/vms)). A path a node does not know is refused when adding;
        removing from any path is allowed, as on a node.
    type: str
    required: true
  roles:
    description:
      - The roles, such as V(PVEVMUser) or a role of M(proxgate.core.proxmox_role). Each must exist.
    type: list
    elements: str
    required: true
    aliases: [role]
  users:
    description:
      - User ids (V(alice@pve)). At least one of O(users), O(groups) and O(tokens) is required.
    type: list
    elements: str
    default: []
  groups:
    description:
      - Group ids (V(gateway-operators)).
    type: list
    elements: str
    default: []
  tokens:
    description:
      - Full API token ids (V(ci@pve!deploy)). A privilege-separated token holds only what both its own entries
        and its user's give it.
    type: list
    elements: str
    default: []
  propagate:
    description:
      - Whether the roles hold on the paths below O(path) too. An entry with the other flag is rewritten.
    type: bool
    default: true
  state:
    description:
      - V(present) adds the entries, V(absent) removes them (O(propagate) plays no part then).
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: C(Permissions.Modify) on O(path) (or, for guests, storage and pools, a superset of the role's
    privileges there). The roles are checked with C(GET /access/roles) and the groups with C(GET
    /access/groups) before a write; unknown users and tokens are refused by the node."
seealso:
  - module: proxgate.core.proxmox_role
  - module: proxgate.core.proxmox_group
  - module: proxgate.core.proxmox_token
"""

EXAMPLES = r"""
- name: Operators may power and open the consoles of the gateway's guests
  proxgate.core.proxmox_acl:
    path: /pool/gateway
    roles: [PVEVMUser]
    groups: [gateway-operators]

- name: The deploy token may read everything, on this path only
  proxgate.core.proxmox_acl:
    path: /
    role: PVEAuditor
    tokens: [ci@pve!deploy]
    propagate: false

- name: Take the role back
  proxgate.core.proxmox_acl:
    path: /pool/gateway
    roles: [PVEVMUser]
    groups: [gateway-operators]
    state: absent
"""

RETURN = r"""
acl:
  description:
    - The entries of this task after it (what they would be, in check mode), sorted; empty after
      O(state=absent).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The path, as a node stores it.
      type: str
      sample: /pool/gateway
    type:
      description: V(user), V(group) or V(token).
      type: str
      sample: group
    ugid:
      description: The user, group or token id.
      type: str
      sample: gateway-operators
    roleid:
      description: The role.
      type: str
      sample: PVEVMUser
    propagate:
      description: Whether the role holds below the path.
      type: bool
      sample: true
requests:
  description: The PUT C(/access/acl) requests' data the task made (would make, in check mode), in order.
  returned: always
  type: list
  elements: dict
  sample: [{"roles": "PVEVMUser", "groups": "gateway-operators", "path": "/pool/gateway", "propagate": 1}]
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import (
    ACL_KINDS,
    access_id_problem,
    acl_entries,
    acl_path_problem,
    acl_requests,
    acl_shown,
    normalize_acl_path,
    token_id_problem,
    unknown_names,
    user_id_problem,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule


def acl_problems(params):
    """The messages for options a node would refuse, each naming its option."""
    problems = []
    path_problem = acl_path_problem(params["path"], adding=params["state"] == "present")
    if path_problem:
        problems.append(path_problem)
    if not params["roles"]:
        problems.append("roles must name at least one role")
    for role in params["roles"]:
        problems.append(access_id_problem("roles", role, "role"))
    for group in params["groups"]:
        problems.append(access_id_problem("groups", group, "group"))
    for user in params["users"]:
        problems.append(user_id_problem("users", user))
    for token in params["tokens"]:
        problems.append(token_id_problem("tokens", token))
    if not (params["users"] or params["groups"] or params["tokens"]):
        problems.append("one of users, groups and tokens must name someone to grant the roles to")
    return [problem for problem in problems if problem]


class ProxmoxAcl(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        path=dict(type="str", required=True),
        roles=dict(type="list", elements="str", required=True, aliases=["role"]),
        users=dict(type="list", elements="str", default=[]),
        groups=dict(type="list", elements="str", default=[]),
        tokens=dict(type="list", elements="str", default=[], no_log=False),  # token ids, not secrets
        propagate=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    object_key = "acl"
    gone = []

    def validate(self):
        problems = acl_problems(self.params)
        if problems:
            self.fail("; ".join(problems))
        self.path = normalize_acl_path(self.params["path"])
        self.members = {kind: sorted(set(self.params[option])) for option, kind in ACL_KINDS}
        self.roles = sorted(set(self.params["roles"]))
        self.requests = []

    def wanted(self):
        return {(kind, ugid, role): self.params["propagate"]
                for kind, ids in self.members.items() for ugid in ids for role in self.roles}

    def locate(self):
        return acl_entries(self.client.get("/access/acl"), self.path, self.members, self.roles) or None

    def extra_results(self):
        return {"requests": self.requests}

    def check_names(self):
        """Fail on roles and groups the server does not have, before a write (and in check mode)."""
        problems = [unknown_names("roles", self.roles, [entry["roleid"] for entry in self.client.get("/access/roles")],
                                  "role")]
        if self.members["group"]:
            problems.append(unknown_names("groups", self.members["group"],
                                          [entry["groupid"] for entry in self.client.get("/access/groups")],
                                          "group"))
        problems = [problem for problem in problems if problem]
        if problems:
            self.fail("; ".join(problems))

    def put(self, entries, **extra):
        for data in acl_requests(entries):
            data = dict(data, path=self.path, **extra)
            self.requests.append(data)
            self.write(self.client.request, "PUT", "/access/acl", data=data)  # put() takes no 'path' field

    def create(self, desired):
        obj, diff = self.update({}, desired)
        return obj, diff["after"]

    def update(self, existing, desired):
        wanted = self.wanted()
        missing = {key for key, propagate in wanted.items() if existing.get(key) != propagate}
        if missing:
            self.check_names()
            self.put(missing, propagate=int(self.params["propagate"]))
        return acl_shown(self.path, wanted), {"before": {"acl": acl_shown(self.path, existing)},
                                              "after": {"acl": acl_shown(self.path, wanted)}}

    def delete(self, existing):
        self.put(set(existing), delete=1)
        return {"acl": acl_shown(self.path, existing)}

    def result(self, obj, before, after):
        return super().result(obj, before or {"acl": []}, after or {"acl": []})


def main():
    ProxmoxAcl().execute()


if __name__ == "__main__":
    main()

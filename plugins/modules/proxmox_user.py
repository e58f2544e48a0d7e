#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_user
short_description: Create, update or delete a Proxmox VE user
version_added: 0.1.0
description:
  - Makes sure a user of a realm exists with the groups, state, expiry, names, e-mail and comment given
    (O(state=present)), or does not exist (O(state=absent)). Only what differs is written; an option not given
    is left as it is.
  - The password is write-only. The node never answers it, so it is set when the user is created and, with
    O(update_password=always), on every run (which then always reports a change); it never appears in the
    diff or the result.
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
      - The diff shows the user's settings and groups before and after; a password set shows as C(********).
options:
  name:
    description:
      - The user id, V(user@realm), such as V(alice@pve). The realm must exist on the node.
    type: str
    required: true
    aliases: [userid]
  password:
    description:
      - The password, 8 to 64 characters; for realms that keep passwords (V(pve), and V(pam) on the node
        answering only). Set through C(PUT /access/password) when O(update_password=always); an API token
        cannot do that (PVE allows password changes only to logins).
    type: str
  update_password:
    description:
      - V(on_create) sets O(password) only when the user is created; V(always) sets it on every run.
    type: str
    choices: [on_create, always]
    default: on_create
  enable:
    description:
      - Whether the user may log in. A new user is enabled unless this is V(false).
    type: bool
  expire:
    description:
      - When the account expires, in seconds since the epoch; V(0) means never.
    type: int
  firstname:
    description:
      - First name; an empty string removes it.
    type: str
  lastname:
    description:
      - Last name; an empty string removes it.
    type: str
  email:
    description:
      - E-mail address; an empty string removes it.
    type: str
  comment:
    description:
      - Comment; an empty string removes it.
    type: str
  groups:
    description:
      - Exactly the groups the user is to be in (each must exist); V([]) takes the user out of all. Not given,
        the groups are left as they are.
    type: list
    elements: str
  state:
    description:
      - V(present) creates or updates the user, V(absent) deletes it with its API tokens, group memberships and
        ACL entries, as PVE does.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: C(Realm.AllocateUser) on C(/access/realm/<realm>) to create and delete, and C(User.Modify) on
    the groups involved (C(/access/groups/<group>))."
seealso:
  - module: proxgate.core.proxmox_group
  - module: proxgate.core.proxmox_token
  - module: proxgate.core.proxmox_acl
"""

EXAMPLES = r"""
- name: An operator of the gateway
  proxgate.core.proxmox_user:
    name: alice@pve
    password: "{{ vault_alice_password }}"
    email: alice@example.com
    groups: [gateway-operators]

- name: Disable the account, expiring at the end of 2026
  proxgate.core.proxmox_user:
    name: alice@pve
    enable: false
    expire: 1798761599

- name: Remove it
  proxgate.core.proxmox_user:
    name: alice@pve
    state: absent
"""

RETURN = r"""
user:
  description: The user after the task (what it would be, in check mode); empty after O(state=absent). No password.
  returned: always
  type: dict
  contains:
    userid:
      description: The user id.
      type: str
      sample: alice@pve
    enable:
      description: Whether the user may log in.
      type: bool
      sample: true
    expire:
      description: Account expiry, seconds since the epoch; V(0) is never.
      type: int
      sample: 0
    firstname:
      description: First name, or V(null).
      type: str
    lastname:
      description: Last name, or V(null).
      type: str
    email:
      description: E-mail address, or V(null).
      type: str
      sample: alice@example.com
    comment:
      description: Comment, or V(null).
      type: str
    groups:
      description: Its groups, sorted.
      type: list
      elements: str
      sample: [gateway-operators]
password_set:
  description: Whether the task set the password (would, in check mode).
  returned: always
  type: bool
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import SECRET_CHANGED, SECRET_MASK, Changes
from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import (
    access_id_problem,
    expire_problem,
    find_entry,
    number_changes,
    stored_comment,
    unknown_names,
    user_id_problem,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule

TEXTS = ("firstname", "lastname", "email", "comment")


def user_problems(params):
    """The messages for options a node would refuse, each naming its option."""
    problems = [user_id_problem("name", params["name"])]
    password = params["password"]
    if password is not None and not 8 <= len(password) <= 64:
        problems.append(f"password must be 8 to 64 characters long; got {len(password)}")
    problems.append(expire_problem(params["expire"]))
    for group in params["groups"] or []:
        problems.append(access_id_problem("groups", group, "group"))
    return [problem for problem in problems if problem]


def user_state(entry, groups):
    """A user as a node reads it back (user.cfg keeps no empty text), its groups sorted."""
    state = {"enable": bool(int(entry.get("enable", 1))), "expire": int(entry.get("expire") or 0)}
    state.update((key, stored_comment(entry.get(key))) for key in TEXTS)
    state["groups"] = sorted(set(groups or []))
    return state


def user_changes(current, params):
    """(Changes, the PUT /access/users/<userid> data) for the options given that differ."""
    changes, data = Changes(), {}
    number_changes(changes, data, current, params, ("enable", "expire"))
    for key in TEXTS:
        if params[key] is not None and stored_comment(params[key]) != current[key]:
            changes.add(key, current[key], stored_comment(params[key]))
            data[key] = params[key]
    if params["groups"] is not None and sorted(set(params["groups"])) != current["groups"]:
        changes.add("groups", current["groups"], sorted(set(params["groups"])))
        data["groups"] = ",".join(sorted(set(params["groups"])))
    return changes, data


class ProxmoxUser(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["userid"]),
        password=dict(type="str", no_log=True),
        update_password=dict(type="str", choices=["on_create", "always"], default="on_create", no_log=False),
        enable=dict(type="bool"),
        expire=dict(type="int"),
        firstname=dict(type="str"),
        lastname=dict(type="str"),
        email=dict(type="str"),
        comment=dict(type="str"),
        groups=dict(type="list", elements="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    object_key = "user"

    def validate(self):
        problems = user_problems(self.params)
        if problems:
            self.fail("; ".join(problems))

    def path(self):
        return api_path("access", "users", self.params["name"])

    def locate(self):
        entry = find_entry(self.client.get("/access/users"), "userid", self.params["name"])
        if entry is None:
            return None
        return user_state(entry, self.client.get(self.path()).get("groups"))

    def extra_results(self):
        return {"password_set": False}

    def check_groups(self):
        wanted = self.params["groups"]
        if wanted:
            problem = unknown_names("groups", wanted, [entry["groupid"] for entry in self.client.get("/access/groups")],
                                    "group")
            if problem:
                self.fail(problem)

    def shown(self, state):
        return dict(userid=self.params["name"], **state)

    def create(self, desired):
        self.check_groups()
        empty = user_state({}, [])
        changes, data = user_changes(empty, self.params)
        if self.params["password"] is not None:
            data["password"] = self.params["password"]
            self.extra["password_set"] = True
        self.write(self.client.post, "/access/users", userid=self.params["name"], **data)
        state = dict(empty, **changes.after)
        after = dict(state, password=SECRET_MASK) if self.extra["password_set"] else state
        return self.shown(state), after

    def update(self, existing, desired):
        changes, data = user_changes(existing, self.params)
        if "groups" in data:
            self.check_groups()
        if data:
            self.write(self.client.put, self.path(), **data)
        if self.params["update_password"] == "always" and self.params["password"] is not None:
            self.write(self.client.put, "/access/password", userid=self.params["name"],
                       password=self.params["password"])
            self.extra["password_set"] = True
            changes.add("password", SECRET_MASK, SECRET_CHANGED)
        state = dict(existing, **{key: value for key, value in changes.after.items() if key != "password"})
        return self.shown(state), changes

    def delete(self, existing):
        self.write(self.client.delete, self.path())
        return existing


def main():
    ProxmoxUser().execute()


if __name__ == "__main__":
    main()

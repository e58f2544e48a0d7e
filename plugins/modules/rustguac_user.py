#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rustguac_user
short_description: Set the role of a rustguac user, enable, disable or delete it
version_added: 0.1.0
description:
  - Manages one OIDC user of rustguac, found by O(email).
  - rustguac creates users at their first OIDC login; this module cannot create one. It sets the role,
    enables or disables the account, or deletes it, writing only what differs.
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
  email:
    description:
      - The user's email address (as the OIDC provider gives it). Compared without regard to case.
    type: str
    required: true
  role:
    description:
      - The user's role. Left out, the current role is kept.
      - A group mapping (M(proxgate.core.rustguac_group_mapping)) may set the role again at the user's next login.
    type: str
    choices: [admin, poweruser, operator, viewer]
  enabled:
    description:
      - V(false) disables the account (it can no longer log in), V(true) enables it again. Left out, it is
        kept as it is.
    type: bool
  state:
    description:
      - V(present) makes the user as the options say; the task fails when no such user exists (it has never
        logged in).
      - V(absent) deletes the user.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Role needed: C(admin). A key with a lower role gets HTTP 403."
seealso:
  - module: proxgate.core.rustguac_group_mapping
  - module: proxgate.core.rustguac_token
"""

EXAMPLES = r"""
- name: Alice becomes an admin
  proxgate.core.rustguac_user:
    email: alice@example.com
    role: admin

- name: Lock out a leaver without deleting the account
  proxgate.core.rustguac_user:
    email: bob@example.com
    enabled: false
"""

RETURN = r"""
user:
  description: The user after the task (what it would be, in check mode), as the server lists it; empty
    after O(state=absent).
  returned: always
  type: dict
  sample: {email: alice@example.com, name: Alice, role: admin, enabled: true}
changed_keys:
  description: What was (or, in check mode, would be) written, sorted.
  returned: always
  type: list
  elements: str
  sample: [enabled, role]
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.text import control_problem
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import ROLES, path_of
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import compare, listed
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.objects import RustguacObjectModule


def is_enabled(user):
    """Whether the user may log in, from an `enabled` or a `disabled` flag, whichever the server lists."""
    if "enabled" in user:
        return bool(user["enabled"])
    return not user.get("disabled", False)


def find_user(users, email):
    wanted = email.strip().lower()
    for user in users:
        if str(user.get("email") or "").lower() == wanted:
            return user
    return None


def shown(user):
    """What the diff shows of a user."""
    return dict(email=user.get("email"), role=user.get("role"), enabled=is_enabled(user))


class RustguacUser(RustguacObjectModule):
    argument_spec = dict(
        email=dict(type="str", required=True),
        role=dict(type="str", choices=list(reversed(ROLES))),
        enabled=dict(type="bool"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    required_role = "admin"
    object_key = "user"

    def validate(self):
        if "@" not in self.params["email"]:
            self.fail(f"email must be the user's email address, got {self.params['email']!r}")
        problem = control_problem("email", self.params["email"])
        if problem:
            self.fail(problem)

    def locate(self):
        return find_user(listed(self.client.get("/users"), "users"), self.params["email"])

    def create(self, desired):
        self.fail(f"no user with email {self.params['email']!r}: rustguac creates users at their first "
                  "OIDC login, so this module cannot create one")

    def update(self, existing, desired):
        current = shown(existing)
        changes = compare(current, dict(role=self.params["role"], enabled=self.params["enabled"]))
        email = existing["email"]
        if "role" in changes:
            self.write(self.client.put, path_of("users", email, "role"), dict(role=self.params["role"]))
        if "enabled" in changes:
            self.write(self.client.post, path_of("users", email, "enable" if self.params["enabled"] else "disable"))
        user = dict(existing, **{key: changes.after[key] for key in changes})
        user["enabled"] = user.get("enabled", current["enabled"])
        user.pop("disabled", None)
        return user, changes

    def delete(self, existing):
        self.write(self.client.delete, path_of("users", existing["email"]))
        return shown(existing)


def main():
    RustguacUser().execute()


if __name__ == "__main__":
    main()

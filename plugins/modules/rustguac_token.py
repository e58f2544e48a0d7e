#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rustguac_token
short_description: Create or revoke a rustguac user API token
version_added: 0.1.0
description:
  - Manages one user API token (C(rgu_...)), found by its O(name) among the tokens of a user.
  - With O(email), an admin key manages the tokens of that user (C(/api/admin/user-tokens)); without it, the
    key's own user manages its own tokens (C(/api/me/tokens), which needs a user token, not a configured
    API key).
  - The server returns a token's plaintext only once, in the reply that creates it; the module returns it in
    RV(token) then and never again. A token of that name that exists already is left as it is
    (C(changed=false), no plaintext).
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.rustguac
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_RUSTGUAC
attributes:
  check_mode:
    support: full
    details:
      - In check mode no token is created, so RV(token) is V(null).
  diff_mode:
    support: full
options:
  name:
    description:
      - The token's name, 1 to 100 characters, unique per user.
    type: str
    required: true
  email:
    description:
      - The email of the user the token belongs to, for an admin managing another user's tokens.
      - Left out, the token belongs to the user whose token is O(api_key).
    type: str
  max_role:
    description:
      - Caps the token's effective role (it cannot exceed the user's own role). Only used when creating.
    type: str
    choices: [admin, poweruser, operator, viewer]
  expires_at:
    description:
      - When the token expires, an ISO 8601 timestamp such as V(2026-12-31T23:59:59Z). Only used when creating.
    type: str
  state:
    description:
      - V(present) creates the token when the user has none of that name, V(absent) revokes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Role needed: C(admin) with O(email); C(poweruser) or higher for one's own tokens (an operator asks an
    admin to create tokens for it)."
  - A token cannot be changed. When O(max_role) or O(expires_at) differ from the existing token's, the module
    warns and leaves it; revoke it (O(state=absent)) and create it again to change them.
  - "The plaintext in RV(token) is shown by C(-v) like any other result; set C(no_log: true) on the task and
    keep it in a vault or secret store right away."
seealso:
  - module: proxgate.core.rustguac_user
"""

EXAMPLES = r"""
- name: A token for the CI runner of an operator
  proxgate.core.rustguac_token:
    email: ci-operator@example.com
    name: ci
    max_role: operator
    expires_at: "2026-12-31T23:59:59Z"
  register: ci_token
  no_log: true

- name: Store it (only a run that created it has the plaintext)
  ansible.builtin.copy:
    content: "{{ ci_token.token }}"
    dest: /etc/ci/rustguac-token
    mode: "0600"
  when: ci_token.token is not none
  no_log: true

- name: Revoke it
  proxgate.core.rustguac_token:
    email: ci-operator@example.com
    name: ci
    state: absent
"""

RETURN = r"""
token:
  description:
    - The plaintext token (C(rgu_...)) when this run created it; V(null) otherwise (it cannot be read back).
  returned: always
  type: str
  sample: rgu_a1b2c3d4e5f6...
token_info:
  description: The token's metadata (never the plaintext); empty after O(state=absent).
  returned: always
  type: dict
  sample: {id: 4, name: ci, email: ci-operator@example.com, max_role: operator, expires_at: "2026-12-31T23:59:59Z"}
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.text import control_problem
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import ROLES, path_of
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import listed
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.objects import RustguacObjectModule

MAX_NAME = 100
# Keys of a token listing that hold (a hash of) the secret: never returned.
HIDDEN = ("token", "token_hash", "hash")


def metadata(token):
    return {key: value for key, value in (token or {}).items() if key not in HIDDEN}


def find_token(tokens, name, email=None):
    for token in tokens:
        if token.get("name") != name:
            continue
        if email is None or str(token.get("email") or token.get("user_email") or "").lower() == email.lower():
            return token
    return None


class RustguacToken(RustguacObjectModule):
    argument_spec = dict(
        name=dict(type="str", required=True),
        email=dict(type="str"),
        max_role=dict(type="str", choices=list(reversed(ROLES))),
        expires_at=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    object_key = "token_info"
    listed_results = ()

    def validate(self):
        name = self.params["name"]
        if not 1 <= len(name.strip()) <= MAX_NAME:
            self.fail(f"name must be 1 to {MAX_NAME} characters, got {len(name.strip())}")
        if self.params["email"] is not None and "@" not in self.params["email"]:
            self.fail(f"email must be the user's email address, got {self.params['email']!r}")
        problem = control_problem("name", name) or control_problem("email", self.params["email"] or "")
        if problem:
            self.fail(problem)
        self.required_role = "admin" if self.params["email"] else "poweruser"

    @property
    def base(self):
        return ("admin", "user-tokens") if self.params["email"] else ("me", "tokens")

    def extra_results(self):
        return {"token": None}  # the plaintext, given once: by the create that makes the token

    def locate(self):
        tokens = listed(self.client.get(path_of(*self.base)), "tokens")
        return find_token(tokens, self.params["name"], self.params["email"])

    def create(self, desired):
        email = self.params["email"]
        body = {key: self.params[key] for key in ("name", "max_role", "expires_at") if self.params[key] is not None}
        if email:
            body["email"] = email
        reply = self.write(self.client.post, path_of(*self.base), body)
        if self.check_mode:
            return dict(body, id=None), dict(body, id=None)
        reply = reply or {}
        self.extra["token"] = reply.get("token")
        info = dict(metadata(reply), **({"email": email} if email else {}))
        return info, info

    def update(self, existing, desired):
        # A token cannot be changed: what differs is only warned about.
        self.warn_on_drift(existing)
        info = metadata(existing)
        return info, {"before": info, "after": info}

    def delete(self, existing):
        self.write(self.client.delete, path_of(*self.base, existing["id"]))
        return metadata(existing)

    def permission_hint(self, exc):
        if self.params["email"]:
            return "managing another user's tokens needs an API key with the admin role"
        return ("one's own tokens need the api_key to be a user token (rgu_...) of a poweruser or admin, not a "
                "configured API key; with an admin key, give email to manage a user's tokens")

    def warn_on_drift(self, existing):
        for key in ("max_role", "expires_at"):
            wanted = self.params[key]
            if wanted is not None and existing.get(key) != wanted:
                self.warn(f"token {self.params['name']!r} exists with {key} {existing.get(key)!r}, not {wanted!r}; "
                          "a token cannot be changed: revoke it (state: absent) and create it again")


def main():
    RustguacToken().execute()


if __name__ == "__main__":
    main()

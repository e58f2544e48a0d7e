#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_token
short_description: Create, update or delete a Proxmox VE API token
version_added: 0.1.0
description:
  - Makes sure a user's API token exists with the privilege separation, expiry and comment given
    (O(state=present)), or does not exist (O(state=absent)). Only what differs is written.
  - "The token's secret is answered once, by the node, when the token is created; the module returns it then in
    RV(secret) and never again. No later run can read it back, and the module never changes it; to get a new
    one, remove the token and create it again. Run the task with C(no_log: true) and C(register) to keep the
    secret out of the output and the logs while the play can still use it."
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
attributes:
  check_mode:
    support: full
    details:
      - In check mode no token is made, so RV(secret) is V(null).
  diff_mode:
    support: full
    details:
      - The diff shows the token's privilege separation, expiry and comment; never its secret.
options:
  user:
    description:
      - The user who owns the token, V(user@realm) such as V(ci@pve). The user must exist.
    type: str
    required: true
    aliases: [userid]
  name:
    description:
      - The token's own id, such as V(deploy) (the full id is V(ci@pve!deploy)); a letter, then letters,
        digits, C(.), C(-) and C(_).
    type: str
    required: true
    aliases: [tokenid]
  privsep:
    description:
      - Privilege separation. V(true), PVE's default for a new token, gives the token only what both its own
        ACL entries (M(proxgate.core.proxmox_acl) with O(proxgate.core.proxmox_acl#module:tokens)) and its user's
        give it; V(false) gives it all its user's privileges.
      - Not given, a new token gets PVE's default and an existing one keeps its own.
    type: bool
  expire:
    description:
      - When the token expires, in seconds since the epoch; V(0) means never.
      - Not given, a new token never expires and an existing one keeps its expiry.
    type: int
  comment:
    description:
      - The token's comment. An empty string removes it; not given leaves it as it is.
    type: str
  state:
    description:
      - V(present) creates the token or updates it, V(absent) deletes it (whoever used its secret loses
        access).
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: a user may manage their own tokens; another user's need C(User.Modify) on the user's groups
    (C(/access/groups/<group>)). An API token cannot be used to manage tokens of another user without it."
seealso:
  - module: proxgate.core.proxmox_acl
"""

EXAMPLES = r"""
- name: A token for the CI, separated from its user's privileges
  proxgate.core.proxmox_token:
    user: ci@pve
    name: deploy
    comment: Used by the deploy pipeline
    expire: 1893456000
  register: deploy_token
  no_log: true  # the result holds the secret the first time

- name: Store the secret the first time only (it is never answered again)
  ansible.builtin.copy:
    content: "{{ deploy_token.token.full_tokenid }}={{ deploy_token.secret }}"
    dest: /root/.proxmox-deploy-token
    mode: "0600"
  when: deploy_token.secret is not none
  no_log: true

# Then give it what it needs with proxgate.core.proxmox_acl (tokens: [ci@pve!deploy]).

- name: Remove it
  proxgate.core.proxmox_token:
    user: ci@pve
    name: deploy
    state: absent
"""

RETURN = r"""
token:
  description: The token after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    full_tokenid:
      description: The full token id, as API clients and ACLs name it.
      type: str
      sample: ci@pve!deploy
    tokenid:
      description: The token's own id.
      type: str
      sample: deploy
    userid:
      description: Its user.
      type: str
      sample: ci@pve
    privsep:
      description: Whether its privileges are separated from its user's.
      type: bool
      sample: true
    expire:
      description: Its expiry in seconds since the epoch; V(0) is never.
      type: int
      sample: 1893456000
    comment:
      description: Its comment; V(null) when it has none.
      type: str
      sample: Used by the deploy pipeline
secret:
  description:
    - The token's secret (a UUID), for C(PVEAPIToken=<full_tokenid>=<secret>). Only in the run that created the
      token; V(null) otherwise (in check mode too). Never in the diff.
  returned: always
  type: str
  sample: 0e3b6c1a-7d42-4f9e-a5b8-2c6d9e1f4a70
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import (
    TOKEN_NAME,
    comment_change,
    expire_problem,
    find_entry,
    number_changes,
    stored_comment,
    user_id_problem,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule


def token_problems(params):
    """The messages for options a node would refuse, each naming its option."""
    problems = [user_id_problem("user", params["user"])]
    if not TOKEN_NAME.fullmatch(params["name"]):
        problems.append(f"name must be a Proxmox VE token id (a letter, then letters, digits, '.', '-' and '_', "
                        f"at least two characters); got {params['name']!r}")
    problems.append(expire_problem(params["expire"]))
    return [problem for problem in problems if problem]


def token_state(entry):
    """A token as a node lists it: privsep and expire as user.cfg reads them back, the comment or None."""
    return {"privsep": bool(int(entry.get("privsep", 1))), "expire": int(entry.get("expire") or 0),
            "comment": stored_comment(entry.get("comment"))}


def token_changes(current, params):
    """(Changes, the PUT data) for the options given that differ from the token's current state."""
    changes, data = Changes(), {}
    number_changes(changes, data, current, params, ("privsep", "expire"))
    comment = comment_change(changes, current["comment"], params["comment"])
    if comment == {"comment": ""}:
        data["delete"] = "comment"  # update_token_info drops an empty one too; 'delete' says so outright
    else:
        data.update(comment)
    return changes, data


class ProxmoxToken(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        user=dict(type="str", required=True, aliases=["userid"]),
        name=dict(type="str", required=True, aliases=["tokenid"]),
        privsep=dict(type="bool"),
        expire=dict(type="int"),
        comment=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    object_key = "token"

    def validate(self):
        problems = token_problems(self.params)
        if problems:
            self.fail("; ".join(problems))

    def path(self):
        return api_path("access", "users", self.params["user"], "token", self.params["name"])

    def shown(self, state):
        user, name = self.params["user"], self.params["name"]
        return dict(full_tokenid=f"{user}!{name}", tokenid=name, userid=user, **state)

    def locate(self):
        entry = find_entry(self.client.get(api_path("access", "users", self.params["user"], "token")), "tokenid",
                           self.params["name"])
        return None if entry is None else token_state(entry)

    def extra_results(self):
        return {"secret": None}

    def create(self, desired):
        data = {key: int(self.params[key]) for key in ("privsep", "expire") if self.params[key] is not None}
        if stored_comment(self.params["comment"]):
            data["comment"] = self.params["comment"]
        reply = self.write(self.client.post, self.path(), **data)
        state = {"privsep": True if self.params["privsep"] is None else self.params["privsep"],
                 "expire": self.params["expire"] or 0, "comment": stored_comment(self.params["comment"])}
        if reply is not None:
            state = token_state(reply.get("info") or {})
            self.extra["secret"] = reply.get("value")
        return self.shown(state), dict(state)

    def update(self, existing, desired):
        changes, data = token_changes(existing, self.params)
        if data:
            self.write(self.client.put, self.path(), **data)
        return self.shown(dict(existing, **changes.after)), changes

    def delete(self, existing):
        self.write(self.client.delete, self.path())
        return existing


def main():
    ProxmoxToken().execute()


if __name__ == "__main__":
    main()

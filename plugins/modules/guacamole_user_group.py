#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacamole_user_group
short_description: Create, update and remove Apache Guacamole user groups, with their members
version_added: 0.1.0
description:
  - Makes sure a user group of a Guacamole data source exists (O(state=present)) with the given disabled
    state, attributes, member users and member groups, or does not (O(state=absent)).
  - Only what differs is written; options that are not set are left as they are on the server.
  - Works with Guacamole 1.5 and 1.6. In 1.5 the disabled state of a group is the C(disabled) attribute; in
    1.6 it is a separate field, and an update that leaves it out re-enables the group. The module always
    sends it in the form the server reads, so updating a disabled group keeps it disabled.
  - The permissions a group gives its members are managed with M(proxgate.core.guacamole_permissions).
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.guacamole
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_GUACAMOLE
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows what changes; for a new or removed group, the whole group.
options:
  name:
    description:
      - Name (identifier) of the user group. Guacamole compares it exactly (case matters).
    type: str
    required: true
    aliases: [identifier]
  state:
    description:
      - V(present) creates the group when it is missing and updates what differs.
      - V(absent) removes the group when it exists; its memberships and permissions go with it.
    type: str
    choices: [present, absent]
    default: present
  disabled:
    description:
      - Whether the group is disabled. The members of a disabled group do not get the group's permissions
        (nor those of the groups it belongs to).
      - Not set means the current state is kept, also on Guacamole 1.6 where an update must carry it.
    type: bool
  attributes:
    description:
      - Attributes of the group, by their Guacamole name (extensions may declare some; a stock 1.6 server
        declares none).
      - Each name must be one the server declares (C(GET schema/userGroupAttributes)), checked before anything
        is written. C(disabled) must be set through O(disabled).
      - Attributes not named here are kept. A value of V(null) or an empty string clears one.
    type: dict
  member_users:
    description:
      - Users that are members of the group, by username; see O(member_users_mode).
      - Not set means the member users are left alone.
      - Every user named must exist (unless O(member_users_mode=remove)); Guacamole would silently ignore an
        unknown one.
    type: list
    elements: str
  member_users_mode:
    description:
      - V(replace) makes O(member_users) the exact list of member users.
      - V(add) adds the users of O(member_users) and keeps the other members.
      - V(remove) removes the users of O(member_users) from the group.
    type: str
    choices: [replace, add, remove]
    default: replace
  member_groups:
    description:
      - User groups that are members of this group (and so get its permissions), by name; see
        O(member_groups_mode).
      - Not set means the member groups are left alone.
      - Every group named must exist (unless O(member_groups_mode=remove)), and a group cannot be a member of
        itself.
    type: list
    elements: str
  member_groups_mode:
    description:
      - V(replace) makes O(member_groups) the exact list of member groups.
      - V(add) adds the groups of O(member_groups) and keeps the other member groups.
      - V(remove) removes the groups of O(member_groups) from this group.
    type: str
    choices: [replace, add, remove]
    default: replace
notes:
  - "Permissions: system permission C(CREATE_USER_GROUP) (or C(ADMINISTER)) to create a group; C(UPDATE) on the
    group to update it; C(DELETE) on it to remove it; C(UPDATE) on the group and on each user or group added
    or removed to change its members. A user that creates a group is granted all of these on it."
"""

EXAMPLES = r"""
- name: The operators group, with exactly these members
  proxgate.core.guacamole_user_group:
    api_url: https://gateway.example.com/guacamole
    api_username: guacadmin
    api_password: "{{ vault_guacamole_admin_password }}"
    name: operators
    member_users: [alice, bob]
    member_groups: [on-call]
  delegate_to: localhost

- name: Add one member, keeping the others
  proxgate.core.guacamole_user_group:
    name: operators
    member_users: [carol]
    member_users_mode: add
  delegate_to: localhost

- name: Disable the contractors group for now
  proxgate.core.guacamole_user_group:
    name: contractors
    disabled: true
  delegate_to: localhost

- name: Remove a group
  proxgate.core.guacamole_user_group:
    name: old-team
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
user_group:
  description:
    - The group after the task (in check mode, as it would be); null when it does not exist (any more).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the group.
      type: str
      sample: operators
    disabled:
      description: Whether the group is disabled.
      type: bool
      sample: false
    attributes:
      description: Attributes of the group (without C(disabled)), by Guacamole name.
      type: dict
      sample: {}
    member_users:
      description: Usernames of the member users (as far as the API user can see them).
      type: list
      elements: str
      sample: [alice, bob]
    member_groups:
      description: Names of the member groups (as far as the API user can see them).
      type: list
      elements: str
      sample: [on-call]
api_version:
  description: The Guacamole API version the module talked to (C(1.5) or C(1.6)).
  returned: always
  type: str
  sample: "1.6"
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import dict_changes
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.memberships import membership_options
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.names import name_errors, names_errors
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.objects import (
    DISABLED_ATTRIBUTE,
    GuacamoleObjectModule,
    attributes_errors,
    encode_attribute,
)

# Option -> (the sub-resource of the group, the directory its names live in, what a name is called).
MEMBERS = {
    "member_users": ("memberUsers", "users", "user"),
    "member_groups": ("memberUserGroups", "userGroups", "user group"),
}


def option_errors(params):
    """Messages for the options the server would refuse or misread, each naming the option."""
    name = params.get("name") or ""
    errors = name_errors("name", name) + attributes_errors(params.get("attributes"))
    for option in MEMBERS:
        errors += names_errors(option, params.get(option))
    if name and name in (params.get("member_groups") or []) and params.get("member_groups_mode") != "remove":
        errors.append(f"member_groups must not contain the group itself ({name!r})")
    return errors


def attribute_changes(current, wanted):
    """{name: (before, after)} for the wanted attributes (already encoded) whose current value differs."""
    stored = {name: None if current.get(name) == "" else current.get(name) for name in wanted}
    return dict_changes(stored, wanted).pairs()


def group_view(name, attributes, disabled, members):
    view = {"name": name, "disabled": disabled,
            "attributes": {key: value for key, value in attributes.items() if key != DISABLED_ATTRIBUTE}}
    for option in MEMBERS:
        view[option] = members.get(option)
    return view


class GuacamoleUserGroup(GuacamoleObjectModule):
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["identifier"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        disabled=dict(type="bool"),
        attributes=dict(type="dict"),
        **membership_options("member_users"),
        **membership_options("member_groups"),
    )
    directory = "userGroups"
    object_key = "user_group"
    gone = None
    state_in_diff = True
    needs = ("a permission this needs: CREATE_USER_GROUP to create a group, UPDATE on it to change it, DELETE on "
             "it to remove it, UPDATE on the group and on each user or group added or removed to change its members")

    def validate(self):
        errors = option_errors(self.params)
        if errors:
            self.fail("; ".join(errors))

    def locate(self):
        return self.read_object(self.params["name"])

    def extra_results(self):
        return {"api_version": self.client.version}

    def desired(self, existing):
        self.check_attribute_names("schema/userGroupAttributes", "user group")
        for option, (_resource, directory, noun) in MEMBERS.items():
            self.check_names_exist(option, directory, noun)
        return {name: encode_attribute(value) for name, value in (self.params["attributes"] or {}).items()}

    def delete(self, existing):
        name = self.params["name"]
        members = {option: sorted(self.read_list(name, MEMBERS[option][0])) for option in MEMBERS}
        self.delete_object(name)
        return group_view(name, existing.get("attributes") or {}, self.client.is_disabled(existing), members)

    def create(self, desired):
        params = self.params
        disabled = bool(params["disabled"])
        body = self.client.set_disabled({"identifier": params["name"], "attributes": desired}, disabled)
        added = {option: self.plan_members(params["name"], resource, option, exists=False).add
                 for option, (resource, _directory, _noun) in MEMBERS.items()}
        self.write(self.client.post, self.directory, body)
        for option, add in added.items():
            self.patch_list(params["name"], MEMBERS[option][0], add, [])
        group = group_view(params["name"], desired, disabled, added)
        return group, group

    def update(self, existing, desired):
        params = self.params
        attributes = dict(existing.get("attributes") or {})
        changes = attribute_changes(attributes, desired)
        disabled_before, disabled_after = self.disabled_change(existing)

        before, after = {}, {}
        for name, (old, new) in changes.items():
            before[f"attributes.{name}"], after[f"attributes.{name}"] = old, new
        if disabled_after != disabled_before:
            before["disabled"], after["disabled"] = disabled_before, disabled_after

        members, patches = {}, {}
        for option, (resource, _directory, _noun) in MEMBERS.items():
            plan = self.plan_members(params["name"], resource, option)
            members[option] = plan.after
            if plan.add or plan.remove:
                patches[resource] = plan
                before[option], after[option] = plan.before, plan.after

        if changes or disabled_after != disabled_before:
            self.put_account(params["name"], {"identifier": existing.get("identifier", params["name"])}, attributes,
                             desired, disabled_after)
        for resource, plan in patches.items():
            self.patch_list(params["name"], resource, plan.add, plan.remove)

        attributes.update({name: new for name, (_old, new) in changes.items()})
        return group_view(params["name"], attributes, disabled_after, members), {"before": before, "after": after}


def main():
    GuacamoleUserGroup().execute()


if __name__ == "__main__":
    main()

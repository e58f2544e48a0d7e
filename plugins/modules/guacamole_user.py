#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacamole_user
short_description: Create, update and remove Apache Guacamole users, with their group memberships
version_added: 0.1.0
description:
  - Makes sure a user of a Guacamole data source exists (O(state=present)) with the given profile, account
    restrictions and group memberships, or does not (O(state=absent)).
  - Only what differs is written. Options that are not set are left as they are on the server; an empty
    string clears a text attribute.
  - Works with Guacamole 1.5 and 1.6. In 1.5 the disabled state of an account is the C(disabled) attribute;
    in 1.6 it is a separate field, and an update that leaves it out re-enables the account. The module
    always sends it in the form the server reads, so updating a disabled account keeps it disabled.
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
      - The diff shows the options that change, with the password masked; for a new or removed user, the
        whole user.
options:
  username:
    description:
      - Name of the user, as typed at the login prompt. Guacamole compares it exactly (case matters).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) creates the user when it is missing and updates what differs.
      - V(absent) removes the user when it exists. The user logged in to the API (O(api_username)) cannot
        remove itself.
    type: str
    choices: [present, absent]
    default: present
  password:
    description:
      - Password of the user. Only used with O(state=present); see O(update_password) for when it is sent.
      - Without it a new user has no password, and can only log in through an extension (SSO, LDAP).
      - Guacamole never returns a password, so the module cannot compare it with the current one.
    type: str
  update_password:
    description:
      - V(on_create) sets O(password) only when the user is created. Later runs leave the password alone,
        so they report no change.
      - V(always) sets O(password) on every run. As the server cannot tell whether it differs, every run
        writes it and reports C(changed=true) (and check mode predicts the same). Use it for a one-off
        password reset, not in a playbook that must report no change on its second run.
      - One exception - for the user the module logs in as (O(api_username)), the current password is known
        (it is O(api_password)). The password is then changed through the password-change call, which needs
        the old password, and only when it differs, so that case is idempotent.
    type: str
    choices: [always, on_create]
    default: on_create
  full_name:
    description: Full name of the user (the C(guac-full-name) attribute).
    type: str
  email:
    description: Email address of the user (the C(guac-email-address) attribute).
    type: str
  organization:
    description: Organization of the user (the C(guac-organization) attribute).
    type: str
  organizational_role:
    description: Role of the user in the organization (the C(guac-organizational-role) attribute).
    type: str
  disabled:
    description:
      - Whether the account is disabled; a disabled user cannot log in.
      - Not set means the current state is kept, also on Guacamole 1.6 where an update must carry it.
    type: bool
  expired:
    description:
      - Whether the password is marked expired, so that the user must change it at the next login
        (the C(expired) attribute).
    type: bool
  valid_from:
    description:
      - First day the account may be used, as C(YYYY-MM-DD) (the C(valid-from) attribute). An empty string
        clears it.
    type: str
  valid_until:
    description:
      - Last day the account may be used, as C(YYYY-MM-DD) (the C(valid-until) attribute). An empty string
        clears it.
    type: str
  access_window_start:
    description:
      - Time of day from which the user may log in, as C(HH:MM) or C(HH:MM:SS) (the C(access-window-start)
        attribute). An empty string clears it.
    type: str
  access_window_end:
    description:
      - Time of day until which the user may log in, as C(HH:MM) or C(HH:MM:SS) (the C(access-window-end)
        attribute). An empty string clears it.
    type: str
  timezone:
    description:
      - Time zone in which O(valid_from), O(valid_until) and the access window are read, as an IANA name
        such as C(Europe/Berlin) (the C(timezone) attribute). An empty string clears it (the server's time
        zone applies).
    type: str
  attributes:
    description:
      - Other user attributes, by their Guacamole name, such as those an extension adds to the user form.
      - Each name must be one the server declares (C(GET schema/userAttributes)), checked before anything is
        written. The attributes that have an option of their own (O(full_name), O(disabled)...) must be set
        through it.
      - Attributes not named here are kept. A value of V(null) or an empty string clears one.
    type: dict
  groups:
    description:
      - User groups the user is a member of, by name; see O(groups_mode).
      - Not set means memberships are left alone.
      - Every group named must exist (unless O(groups_mode=remove)); Guacamole would silently ignore an
        unknown one.
    type: list
    elements: str
  groups_mode:
    description:
      - V(replace) makes O(groups) the user's exact list of groups, removing it from any other group.
      - V(add) adds the user to the groups of O(groups) and keeps its other memberships.
      - V(remove) removes the user from the groups of O(groups).
    type: str
    choices: [replace, add, remove]
    default: replace
notes:
  - "Permissions: system permission C(CREATE_USER) (or C(ADMINISTER)) to create a user; C(UPDATE) on the user
    to update it; C(ADMINISTER) on the user to read or set the account restrictions (O(disabled),
    O(expired), O(valid_from), O(valid_until), the access window and O(timezone)); C(DELETE) on the user to
    remove it; C(UPDATE) on both the user and the group to change a membership. A user that creates another
    is granted all of these on it."
  - Guacamole does not let a user change its own account through this API, apart from its password - for
    the user the module logs in as, only O(password) and O(groups) can be managed.
  - Account restrictions that are set but hidden from the API user (no C(ADMINISTER) on the user) make the
    module fail before it writes anything, instead of reporting a change the server would ignore.
"""

EXAMPLES = r"""
- name: Create an operator account, disabled until the training is done
  proxgate.core.guacamole_user:
    api_url: https://gateway.example.com/guacamole
    api_username: guacadmin
    api_password: "{{ vault_guacamole_admin_password }}"
    username: alice
    password: "{{ vault_alice_initial_password }}"
    full_name: Alice Example
    email: alice@example.com
    organization: Example Corp
    disabled: true
    expired: true
    groups: [operators]
  delegate_to: localhost

- name: Enable the account, with an access window in her time zone
  proxgate.core.guacamole_user:
    username: alice
    disabled: false
    access_window_start: "07:00"
    access_window_end: "19:00"
    timezone: Europe/Berlin
  delegate_to: localhost

- name: Add her to the on-call group, keeping her other groups
  proxgate.core.guacamole_user:
    username: alice
    groups: [on-call]
    groups_mode: add
  delegate_to: localhost

- name: Reset her password (reports a change on every run)
  proxgate.core.guacamole_user:
    username: alice
    password: "{{ vault_alice_new_password }}"
    update_password: always
  delegate_to: localhost

- name: Remove an account
  proxgate.core.guacamole_user:
    username: bob
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
user:
  description:
    - The user after the task (in check mode, as it would be); null when it does not exist (any more).
    - Account restrictions the API user may not read are null.
  returned: always
  type: dict
  contains:
    username:
      description: Name of the user.
      type: str
      sample: alice
    disabled:
      description: Whether the account is disabled.
      type: bool
      sample: false
    full_name:
      description: Full name.
      type: str
      sample: Alice Example
    email:
      description: Email address.
      type: str
      sample: alice@example.com
    organization:
      description: Organization.
      type: str
      sample: Example Corp
    organizational_role:
      description: Role in the organization.
      type: str
      sample: Operator
    expired:
      description: Whether the password is marked expired.
      type: bool
      sample: false
    valid_from:
      description: First day the account may be used (C(YYYY-MM-DD)).
      type: str
      sample: "2026-01-01"
    valid_until:
      description: Last day the account may be used (C(YYYY-MM-DD)).
      type: str
      sample: "2026-12-31"
    access_window_start:
      description: Start of the daily access window (C(HH:MM:SS)).
      type: str
      sample: "07:00:00"
    access_window_end:
      description: End of the daily access window (C(HH:MM:SS)).
      type: str
      sample: "19:00:00"
    timezone:
      description: Time zone of the restrictions.
      type: str
      sample: Europe/Berlin
    attributes:
      description: The user's other attributes (those without an option of their own), by Guacamole name.
      type: dict
      sample: {}
    groups:
      description: Names of the user groups the user is a member of (as far as the API user can see them).
      type: list
      elements: str
      sample: [operators]
password_changed:
  description:
    - Whether the password was (or, in check mode, would be) sent to the server.
  returned: always
  type: bool
  sample: false
api_version:
  description: The Guacamole API version the module talked to (C(1.5) or C(1.6)).
  returned: always
  type: str
  sample: "1.6"
"""

import datetime
import re

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import dict_changes
from ansible_collections.proxgate.core.plugins.module_utils.common.diff import SECRET_MASK
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.memberships import membership_options
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.names import name_errors, names_errors
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.objects import (
    DISABLED_ATTRIBUTE,
    GuacamoleObjectModule,
    attributes_errors,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.objects import encode_attribute as encode_text

# Option -> Guacamole attribute name.
ATTRIBUTE_OPTIONS = {
    "full_name": "guac-full-name",
    "email": "guac-email-address",
    "organization": "guac-organization",
    "organizational_role": "guac-organizational-role",
    "expired": "expired",
    "valid_from": "valid-from",
    "valid_until": "valid-until",
    "access_window_start": "access-window-start",
    "access_window_end": "access-window-end",
    "timezone": "timezone",
}
BOOLEAN_ATTRIBUTES = {"expired"}
DATE_OPTIONS = ("valid_from", "valid_until")
TIME_OPTIONS = ("access_window_start", "access_window_end")
# Attributes only a caller with ADMINISTER on the user may read or write (the JDBC "restricted" ones).
RESTRICTED_ATTRIBUTES = {"disabled", "expired", "valid-from", "valid-until", "access-window-start",
                         "access-window-end", "timezone"}
MANAGED_ATTRIBUTES = set(ATTRIBUTE_OPTIONS.values()) | {DISABLED_ATTRIBUTE}
TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


# ----------------------------------------------------------------------------- option checks

def normalize_time(value):
    """'7:00' -> '07:00:00'; '' stays ''. Raises ValueError for anything else."""
    if value == "":
        return ""
    match = TIME_RE.fullmatch(value.strip())
    if not match:
        raise ValueError(value)
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return datetime.time(hours, minutes, seconds).strftime("%H:%M:%S")


def normalize_date(value):
    """'2026-1-5' is refused; '2026-01-05' is kept; '' stays ''. Raises ValueError for anything else."""
    if value == "":
        return ""
    value = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(value)
    return datetime.date.fromisoformat(value).isoformat()


def known_timezones():
    """The IANA zone names of this machine, or None when it has no time zone database to check against."""
    try:
        import zoneinfo
    except ImportError:
        return None
    names = zoneinfo.available_timezones()
    return names or None


def option_errors(params, timezones=None):
    """Messages for the options the server would refuse or misread, each naming the option."""
    errors = name_errors("username", params.get("username"))
    if params.get("password") == "":
        errors.append("password must not be empty; leave it out to keep the current password")
    for option in DATE_OPTIONS:
        if params.get(option) is not None:
            try:
                normalize_date(params[option])
            except ValueError:
                errors.append(f"{option} must be a date as YYYY-MM-DD (or '' to clear it), got {params[option]!r}")
    for option in TIME_OPTIONS:
        if params.get(option) is not None:
            try:
                normalize_time(params[option])
            except ValueError:
                errors.append(f"{option} must be a time of day as HH:MM or HH:MM:SS (or '' to clear it), "
                              f"got {params[option]!r}")
    timezone = params.get("timezone")
    if timezone and timezones is not None and timezone not in timezones:
        errors.append(f"timezone must be an IANA time zone name such as Europe/Berlin or UTC, got {timezone!r}")
    errors += attributes_errors(params.get("attributes"), {name: option for option, name in ATTRIBUTE_OPTIONS.items()})
    errors += names_errors("groups", params.get("groups"))
    return errors


# ----------------------------------------------------------------------------- attribute values

def encode_attribute(name, value):
    """An option's value as the server stores it: booleans 'true' or '', times HH:MM:SS, '' -> None."""
    if name in BOOLEAN_ATTRIBUTES:
        return "true" if value else ""
    text = encode_text(value)
    if text is None or isinstance(value, bool):
        return text
    if name in ("access-window-start", "access-window-end"):
        return normalize_time(text)
    if name in ("valid-from", "valid-until"):
        return normalize_date(text)
    return text


def current_attribute(name, value):
    """A value from GET users/{u} in the form encode_attribute() gives (1.5 sends null for false booleans)."""
    if name in BOOLEAN_ATTRIBUTES:
        return "true" if value == "true" else ""
    return None if value in (None, "") else value


def wanted_attributes(params):
    """Guacamole attribute name -> encoded value, for the options and attributes that are set."""
    wanted = {name: encode_attribute(name, params[option])
              for option, name in ATTRIBUTE_OPTIONS.items() if params.get(option) is not None}
    for name, value in (params.get("attributes") or {}).items():
        wanted[name] = encode_attribute(name, value)
    return wanted


def attribute_changes(current, wanted):
    """{name: (before, after)} for the wanted attributes whose current value differs."""
    return dict_changes({name: current_attribute(name, current.get(name)) for name in wanted}, wanted).pairs()


def hidden_restrictions(current, wanted, disabled_wanted, disabled_is_top_level):
    """The restrictions asked for that the caller may not set: all of them when it cannot see any.

    The server shows the restricted attributes (with null values when unset) only to a caller with ADMINISTER
    on the user, and ignores them in anybody else's updates. On 1.6 `disabled` is not one of them: it is a
    top-level field that whoever may UPDATE the user reads and sets (guacamole-client 1.6.0
    UserObjectTranslator.applyExternalChanges, ModeledUser.setDisabled); on 1.5 it is a restricted attribute.
    """
    if any(name in current for name in RESTRICTED_ATTRIBUTES):
        return []
    hidden = sorted(name for name in wanted if name in RESTRICTED_ATTRIBUTES)
    return ([DISABLED_ATTRIBUTE] if disabled_wanted and not disabled_is_top_level else []) + hidden


# ----------------------------------------------------------------------------- views

def shown_value(name, value):
    """An attribute's value as the module shows it: booleans as booleans, unset as None."""
    if name in BOOLEAN_ATTRIBUTES:
        return value == "true"
    return None if value == "" else value


def user_view(username, attributes, disabled, groups):
    """The user as the module returns it, by option name."""
    view = {"username": username, "disabled": disabled}
    for option, name in ATTRIBUTE_OPTIONS.items():
        view[option] = shown_value(name, attributes.get(name))
    view["attributes"] = {name: value for name, value in attributes.items() if name not in MANAGED_ATTRIBUTES}
    view["groups"] = sorted(groups) if groups is not None else None
    return view


def option_of(name):
    return next((option for option, attribute in ATTRIBUTE_OPTIONS.items() if attribute == name), None)


def update_diff(changes, disabled, password_written, groups):
    """(before, after) of what an update changes, by option name; the password masked on both sides.

    changes: {attribute: (before, after)}; disabled and groups: (before, after) pairs (groups None when not
    managed).
    """
    before, after = {}, {}
    for name, (old, new) in changes.items():
        label = option_of(name) or f"attributes.{name}"
        before[label], after[label] = shown_value(name, old), shown_value(name, new)
    if disabled[0] != disabled[1]:
        before["disabled"], after["disabled"] = disabled
    if password_written:
        # Guacamole never returns a password: both sides are unknown to the module, and secret anyway.
        before["password"] = after["password"] = SECRET_MASK
    if groups[0] is not None and sorted(groups[0]) != sorted(groups[1]):
        before["groups"], after["groups"] = sorted(groups[0]), sorted(groups[1])
    return before, after


class GuacamoleUser(GuacamoleObjectModule):
    argument_spec = dict(
        username=dict(type="str", required=True, aliases=["name"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        password=dict(type="str", no_log=True),
        update_password=dict(type="str", choices=["always", "on_create"], default="on_create", no_log=False),
        full_name=dict(type="str"),
        email=dict(type="str"),
        organization=dict(type="str"),
        organizational_role=dict(type="str"),
        disabled=dict(type="bool"),
        expired=dict(type="bool"),
        valid_from=dict(type="str"),
        valid_until=dict(type="str"),
        access_window_start=dict(type="str"),
        access_window_end=dict(type="str"),
        timezone=dict(type="str"),
        attributes=dict(type="dict"),
        **membership_options("groups"),
    )
    directory = "users"
    object_key = "user"
    gone = None
    state_in_diff = True
    needs = ("a permission this needs: CREATE_USER to create a user, UPDATE on it to change it, ADMINISTER on it "
             "for its account restrictions, DELETE on it to remove it, UPDATE on the user and the group to change "
             "a membership")

    def validate(self):
        errors = option_errors(self.params, known_timezones())
        if errors:
            self.fail("; ".join(errors))

    @property
    def is_self(self):
        return self.params["username"] == self.client.username

    def locate(self):
        return self.read_object(self.params["username"])

    def extra_results(self):
        return {"password_changed": False, "api_version": self.client.version}

    def desired(self, existing):
        self.check_attribute_names("schema/userAttributes", "user")
        self.check_names_exist("groups", "userGroups", "user group")
        return wanted_attributes(self.params)

    def delete(self, existing):
        username = self.params["username"]
        if self.is_self:
            self.fail(f"username {username!r} is the user the module logs in as (api_username); "
                      "Guacamole does not let a user remove itself - run this task as another administrator")
        before = user_view(existing.get("username", username), existing.get("attributes") or {},
                           self.client.is_disabled(existing), self.read_list(username, "userGroups"))
        self.delete_object(username)
        return before

    def create(self, desired):
        params = self.params
        body = {"username": params["username"], "password": params["password"], "attributes": desired}
        groups = self.plan_members(params["username"], "userGroups", "groups", exists=False)
        self.write(self.client.post, self.directory, self.client.set_disabled(body, bool(params["disabled"])))
        self.patch_list(params["username"], "userGroups", groups.add, [])
        user = user_view(params["username"], desired, bool(params["disabled"]), groups.add)
        after = dict(user)
        if params["password"] is not None:
            after["password"] = SECRET_MASK
            self.extra["password_changed"] = True
        return user, after

    def update(self, existing, desired):
        params = self.params
        attributes = dict(existing.get("attributes") or {})
        disabled_before, disabled_after = self.disabled_change(existing)
        hidden = hidden_restrictions(attributes, desired, params["disabled"] is not None, self.client.is_16)
        if hidden:
            options = ", ".join(option_of(name) or name for name in hidden)
            self.fail(f"{options}: the API user {self.client.username!r} cannot read or set the account "
                      f"restrictions of user {params['username']!r}; it needs the ADMINISTER permission on that "
                      "user (or the ADMINISTER system permission)")

        changes = attribute_changes(attributes, desired)
        password_mode = self.password_mode()
        if self.is_self and (changes or disabled_after != disabled_before):
            names = [option_of(name) or f"attributes[{name!r}]" for name in changes]
            if disabled_after != disabled_before:
                names.insert(0, "disabled")
            self.fail(f"{', '.join(names)}: user {params['username']!r} is the user the module logs in as "
                      "(api_username), and Guacamole does not let a user change its own account through the API; "
                      "run this task as another administrator")

        groups = self.plan_members(params["username"], "userGroups", "groups")

        if changes or disabled_after != disabled_before or password_mode == "put":
            body = {"username": existing.get("username", params["username"]),
                    "password": params["password"] if password_mode == "put" else None}
            self.put_account(params["username"], body, attributes, desired, disabled_after)
        if password_mode == "self":
            self.write(self.client.put, self.object_path(params["username"], "password"),
                       {"oldPassword": self.params["api_password"], "newPassword": params["password"]})
        self.patch_list(params["username"], "userGroups", groups.add, groups.remove)

        after_attributes = dict(attributes)
        after_attributes.update({name: after for name, (_before, after) in changes.items()})
        before, after = update_diff(changes, (disabled_before, disabled_after), bool(password_mode),
                                    (groups.before, groups.after))
        self.extra["password_changed"] = bool(password_mode)
        user = user_view(params["username"], after_attributes, disabled_after, groups.after)
        return user, {"before": before, "after": after}

    def password_mode(self):
        """How the password is to be written: None (not at all), 'put' (with the user) or 'self' (old+new)."""
        params = self.params
        if params["password"] is None or params["update_password"] != "always":
            return None
        if self.is_self:
            # The API user's own password is known: it is the one the module logged in with.
            return None if params["password"] == params["api_password"] else "self"
        return "put"


def main():
    GuacamoleUser().execute()


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacamole_sharing_profile
short_description: Create, update or delete an Apache Guacamole sharing profile
version_added: 0.1.0
description:
  - Manages one sharing profile of a connection. A sharing profile lets a user who is connected share
    the session with others through a link, with the profile's parameters (such as C(read-only)) applied
    to whoever joins.
  - The profile is found by its O(name) among the profiles of its primary connection, which is given by
    O(connection) (its name) in the group O(connection_parent), or by O(connection_identifier).
  - Parameter names are checked against the sharing profile parameters of the connection's protocol,
    as the server lists them (C(GET schema/protocols)).
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
options:
  name:
    description:
      - Name of the sharing profile. Names are unique among the profiles of one connection.
    type: str
    required: true
  connection:
    description:
      - Name of the primary connection (the one whose sessions this profile shares).
      - Give O(connection) or O(connection_identifier).
    type: str
  connection_parent:
    description:
      - Path of the connection group O(connection) is in, such as V(Production/Web); V(ROOT) (the default)
        is the top level. Write a C(/) inside a group name as C(\/).
    type: str
    default: ROOT
  connection_identifier:
    description:
      - Identifier of the primary connection, instead of O(connection).
    type: str
  parameters:
    description:
      - The profile's parameters, such as C(read-only) (V(true) makes joining users view-only).
      - Values may be strings, numbers or booleans; a boolean is set with V(true) and unset with V(false),
        and an empty value removes a parameter.
      - Parameters not named here are kept, unless O(purge_parameters=true).
      - A name the protocol's sharing profiles do not have fails the task, unless O(allow_unknown_parameters=true).
    type: dict
    default: {}
  purge_parameters:
    description:
      - Remove every stored parameter that O(parameters) does not name.
    type: bool
    default: false
  allow_unknown_parameters:
    description:
      - Accept parameter names the server's schema does not list for the connection's protocol.
    type: bool
    default: false
  attributes:
    description:
      - Sharing profile attributes, checked against C(GET schema/sharingProfileAttributes) (the standard
        backends define none). Only the attributes named are changed.
    type: dict
    default: {}
  state:
    description:
      - V(present) creates or updates the profile, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: creating needs the system permission C(CREATE_SHARING_PROFILE) and C(UPDATE) on the primary
    connection; updating needs C(UPDATE) on the profile (and reading its parameters C(UPDATE) or
    C(ADMINISTER)); deleting needs C(DELETE). C(ADMINISTER) (system) allows all."
seealso:
  - module: proxgate.core.guacamole_connection
"""

EXAMPLES = r"""
- name: Let users share their web01 sessions view-only (auth from GUACAMOLE_* environment variables)
  proxgate.core.guacamole_sharing_profile:
    name: Watch
    connection: web01
    connection_parent: Production/Web
    parameters:
      read-only: true

- name: A profile that lets the other user type too
  proxgate.core.guacamole_sharing_profile:
    name: Pair
    connection_identifier: "12"
    parameters:
      read-only: false

- name: Remove a profile
  proxgate.core.guacamole_sharing_profile:
    name: Watch
    connection: web01
    connection_parent: Production/Web
    state: absent
"""

RETURN = r"""
sharing_profile:
  description: The profile after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    identifier:
      description: The profile's identifier; V(null) for one that check mode would create.
      type: str
      sample: "3"
    name:
      description: The profile's name.
      type: str
      sample: Watch
    primaryConnectionIdentifier:
      description: Identifier of the primary connection.
      type: str
      sample: "12"
    parameters:
      description: Its parameters.
      type: dict
      sample: {read-only: "true"}
    attributes:
      description: Its attributes.
      type: dict
      sample: {}
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.groups import (
    GroupIndex,
    find_child,
    find_parent,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.names import name_problem
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.objects import GuacamoleObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.parameters import ParameterError


class GuacamoleSharingProfile(GuacamoleObjectModule):
    argument_spec = dict(
        name=dict(type="str", required=True),
        connection=dict(type="str"),
        connection_parent=dict(type="str", default="ROOT"),
        connection_identifier=dict(type="str"),
        parameters=dict(type="dict", default={}),
        purge_parameters=dict(type="bool", default=False),
        allow_unknown_parameters=dict(type="bool", default=False),
        attributes=dict(type="dict", default={}),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module_kwargs = dict(required_one_of=[("connection", "connection_identifier")],
                         mutually_exclusive=[("connection", "connection_identifier")])
    directory = "sharingProfiles"
    object_key = "sharing_profile"
    needs = ("a permission: creating a sharing profile needs the CREATE_SHARING_PROFILE system permission and "
             "UPDATE on the primary connection, updating needs UPDATE on the profile, deleting needs DELETE")
    primary = None  # the primary connection, as GET connections lists it

    def validate(self):
        self.hide_secret_parameters()
        if not self.params["name"].strip():
            self.fail("name must not be empty")
        for option in ("name", "connection"):
            problem = self.params[option] is not None and name_problem(option, self.params[option])
            if problem:
                self.fail(problem)
        if self.params["connection_identifier"] is not None and self.params["connection_parent"] != "ROOT":
            self.fail("connection_parent goes with connection (a name), not with connection_identifier")

    def locate(self):
        """The profile, as GET sharingProfiles lists it; self.primary is its primary connection (as GET
        connections lists it; None when absent and state is absent)."""
        connections = self.client.get("connections") or {}
        params = self.params
        if params["connection_identifier"] is not None:
            found = connections.get(str(params["connection_identifier"]))
            problem = (f"connection_identifier: there is no connection {params['connection_identifier']!r} "
                       "(or this user may not read it)")
        else:
            groups = GroupIndex.load(self.client)
            parent, problem = find_parent(groups, params["connection_parent"], path_option="connection_parent")
            found = None if parent is None else find_child(connections, parent, params["connection"])
            if parent is not None and found is None:
                problem = (f"connection: there is no connection {params['connection']!r} in group "
                           f"{groups.path_of(parent)!r} (or this user may not read it)")
        if found is None:
            if params["state"] == "present":
                self.fail(problem)
            return None
        self.primary = found
        return find_child(self.client.get("sharingProfiles"), str(found["identifier"]), params["name"],
                          parent_key="primaryConnectionIdentifier")

    def desired(self, existing):
        protocol = self.primary.get("protocol")
        try:
            return self.protocol_values(protocol, "schema/sharingProfileAttributes", "sharingProfileForms")
        except ParameterError as exc:
            self.fail(f"{exc} (sharing profiles of protocol {protocol})")

    def create(self, desired):
        profile = self.post_configured(dict(primaryConnectionIdentifier=str(self.primary["identifier"])), desired)
        shown = ("name", "primaryConnectionIdentifier", "parameters", "attributes")
        return profile, {key: profile[key] for key in shown}

    def update(self, existing, desired):
        changes = Changes()
        place = dict(primaryConnectionIdentifier=str(existing["primaryConnectionIdentifier"]))
        profile, _unused = self.put_configured(existing, place, desired, changes)
        return profile, changes

    def delete(self, existing):
        self.delete_object(existing["identifier"])
        return {"name": existing["name"], "primaryConnectionIdentifier": existing["primaryConnectionIdentifier"]}


def main():
    GuacamoleSharingProfile().execute()


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacamole_connection
short_description: Create, update or delete an Apache Guacamole connection
version_added: 0.1.0
description:
  - Manages one connection of a Guacamole data source, found by its O(name) in its parent connection group.
  - Reads the connection and its stored parameters, compares them with the options, and writes only
    when something differs. Because a Guacamole update replaces the whole parameter set, the update
    sends every stored parameter along with the changed ones, so parameters the task does not name are
    kept (unless O(purge_parameters=true)).
  - Parameter names are checked against the protocol's parameters as the server lists them
    (C(GET schema/protocols)), and values against their type (boolean, number, choice list).
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
      - The diff holds only what differs; secret parameters are shown as C(********).
options:
  name:
    description:
      - Name of the connection. Names are unique within a connection group.
    type: str
    required: true
  parent:
    description:
      - Path of the connection group the connection is in, such as V(Production/Web); V(ROOT) (the
        default) is the top level.
      - Group names are separated by C(/); write a C(/) inside a name as C(\/) and a backslash as C(\\).
        A leading C(ROOT/) is allowed.
      - Mutually exclusive with O(parent_identifier).
    type: str
    default: ROOT
  parent_identifier:
    description:
      - Identifier of the connection group the connection is in (V(ROOT) or a number such as V(4)),
        instead of O(parent).
    type: str
  protocol:
    description:
      - The protocol. Required with O(state=present).
    type: str
    choices: [vnc, rdp, ssh, telnet, kubernetes]
  parameters:
    description:
      - The connection's parameters, spelled as Guacamole spells them (C(hostname), C(port),
        C(ignore-cert), C(enable-sftp)...).
      - Values may be strings, numbers or booleans. A boolean parameter is set with V(true) and unset with
        V(false); an empty value (V("") or V(null)) removes a parameter.
      - Parameters not named here are kept as they are, unless O(purge_parameters=true).
      - A name the protocol does not have fails the task, naming close matches, unless
        O(allow_unknown_parameters=true).
      - Secret parameters (C(password), C(passphrase), C(private-key), C(sftp-password),
        C(sftp-passphrase), C(sftp-private-key), C(gateway-password), C(client-key), and any the schema
        types as a password) are never shown in results or diffs; see O(update_password).
      - Ansible cannot know which values of a dict are secret before the module runs, so it logs the raw
        arguments in the target's system log (the controller, when delegated to localhost); the module
        masks them in everything it returns. Keep them in Ansible Vault.
    type: dict
    default: {}
  purge_parameters:
    description:
      - Remove every stored parameter that O(parameters) does not name (secrets too).
    type: bool
    default: false
  allow_unknown_parameters:
    description:
      - Accept parameter names the server's schema does not list for O(protocol) (for a guacd newer than
        the web app, for example). Their values are sent as given.
    type: bool
    default: false
  update_password:
    description:
      - V(always) compares each secret parameter given in O(parameters) with the stored value and
        rewrites it when it differs (the stored values are readable by a user who may update the
        connection).
      - V(on_create) sets secrets only when the connection is created; once it exists they are neither
        compared nor rewritten, whatever O(parameters) says (a password changed in the web UI stays).
    type: str
    choices: [always, on_create]
    default: always
  attributes:
    description:
      - Connection attributes, such as C(max-connections), C(max-connections-per-user), C(weight),
        C(failover-only), C(guacd-hostname), C(guacd-port), C(guacd-encryption) (V(none) or V(ssl)).
      - Only the attributes named are changed; an empty value unsets one. Names are checked against
        C(GET schema/connectionAttributes), because the server silently drops attributes it does not
        know (the task would never be idempotent).
    type: dict
    default: {}
  state:
    description:
      - V(present) creates or updates the connection, V(absent) deletes it (with its sharing profiles
        and history links, as Guacamole does).
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: creating needs the system permission C(CREATE_CONNECTION) and, in a group other than
    the root, C(UPDATE) on that group; updating needs C(UPDATE) on the connection, which is also what reading
    its parameters needs (C(ADMINISTER) on the connection alone does not let it read them); deleting needs
    C(DELETE). C(ADMINISTER) (system) allows all.
    The creator gets C(READ), C(UPDATE), C(DELETE) and C(ADMINISTER) on what it creates."
  - A connection the user may not read is invisible to it; creating one of the same name then fails
    with the server's C(already exists) error.
seealso:
  - module: proxgate.core.guacamole_connection_group
  - module: proxgate.core.guacamole_sharing_profile
  - name: Guacamole connection parameters
    description: What each parameter of each protocol does.
    link: https://guacamole.apache.org/doc/gug/configuring-guacamole.html#configuring-connections
"""

EXAMPLES = r"""
- name: An SSH connection in Production/Web (auth from GUACAMOLE_* environment variables)
  proxgate.core.guacamole_connection:
    name: web01
    parent: Production/Web
    protocol: ssh
    parameters:
      hostname: 10.20.0.11
      port: 22
      username: deploy
      private-key: "{{ vault_deploy_key }}"
      enable-sftp: true
    attributes:
      max-connections: 4
      max-connections-per-user: 2

- name: An RDP connection whose password is set once, then left to the web UI
  proxgate.core.guacamole_connection:
    api_url: https://gateway.example.com/guacamole
    api_username: automation
    api_password: "{{ vault_guacamole_password }}"
    data_source: postgresql
    name: win-desktop
    protocol: rdp
    parameters:
      hostname: 10.20.0.40
      username: Administrator
      password: "{{ vault_rdp_initial_password }}"
      security: nla
      ignore-cert: true
    update_password: on_create

- name: Remove a connection
  proxgate.core.guacamole_connection:
    name: old-host
    parent: Staging
    state: absent
"""

RETURN = r"""
connection:
  description:
    - The connection after the task (what it would be, in check mode), secret parameters masked.
    - Empty after O(state=absent).
  returned: always
  type: dict
  contains:
    identifier:
      description: The connection's identifier; V(null) for one that check mode would create.
      type: str
      sample: "12"
    name:
      description: The connection's name.
      type: str
      sample: web01
    parentIdentifier:
      description: Identifier of its connection group.
      type: str
      sample: "4"
    parent:
      description: Path of its connection group.
      type: str
      sample: Production/Web
    protocol:
      description: The protocol.
      type: str
      sample: ssh
    parameters:
      description: Its parameters, secrets as C(********).
      type: dict
      sample: {hostname: 10.20.0.11, port: "22", username: deploy, private-key: "********"}
    attributes:
      description: Its attributes.
      type: dict
      sample: {max-connections: "4", max-connections-per-user: "2", weight: null}
changed_parameters:
  description: Names of the parameters that were (or, in check mode, would be) written, sorted.
  returned: always
  type: list
  elements: str
  sample: [hostname, port]
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.groups import (
    GroupIndex,
    find_child,
    find_parent,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.names import name_errors
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.objects import GuacamoleObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.parameters import PROTOCOLS, ParameterError


class GuacamoleConnection(GuacamoleObjectModule):
    argument_spec = dict(
        name=dict(type="str", required=True),
        parent=dict(type="str", default="ROOT"),
        parent_identifier=dict(type="str"),
        protocol=dict(type="str", choices=list(PROTOCOLS)),
        parameters=dict(type="dict", default={}),
        purge_parameters=dict(type="bool", default=False),
        allow_unknown_parameters=dict(type="bool", default=False),
        update_password=dict(type="str", choices=["always", "on_create"], default="always", no_log=False),
        attributes=dict(type="dict", default={}),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module_kwargs = dict(required_if=[("state", "present", ("protocol",))])
    directory = "connections"
    object_key = "connection"
    needs = ("a permission: creating a connection needs the CREATE_CONNECTION system permission and UPDATE on its "
             "group (unless it is ROOT), updating needs UPDATE on the connection, deleting needs DELETE")
    groups = parent = None

    def validate(self):
        self.hide_secret_parameters()
        for problem in name_errors("name", self.params["name"]):
            self.fail(problem)
        if self.params["parent_identifier"] is not None and self.params["parent"] not in (None, "ROOT"):
            self.fail("parent and parent_identifier are mutually exclusive: give the group by path or by identifier")

    def locate(self):
        self.groups = GroupIndex.load(self.client)
        self.parent, problem = find_parent(self.groups, self.params["parent"], self.params["parent_identifier"])
        if self.parent is None:
            if self.params["state"] == "absent":
                return None
            self.fail(problem)
        return find_child(self.client.get("connections"), self.parent, self.params["name"])

    def extra_results(self):
        return {"changed_parameters": []}

    def desired(self, existing):
        """(parameters, attributes) normalized and checked against the server's schema, and the protocol's fields."""
        protocol = self.params["protocol"]
        try:
            return self.protocol_values(protocol, "schema/connectionAttributes")
        except ParameterError as exc:
            self.fail(f"{exc} (protocol {protocol})" if str(exc).startswith("parameters") else str(exc))

    def place(self, parent):
        return dict(parentIdentifier=parent, protocol=self.params["protocol"])

    def shown_place(self, place):
        parent = place["parentIdentifier"]
        return dict(parentIdentifier=parent, parent=self.groups.path_of(parent), protocol=place["protocol"])

    def delete(self, existing):
        self.delete_object(existing["identifier"])
        return dict(identifier=existing["identifier"], name=existing["name"],
                    parent=self.groups.path_of(existing.get("parentIdentifier") or "ROOT"),
                    protocol=existing.get("protocol"))

    def create(self, desired):
        connection = self.post_configured(self.place(self.parent), desired)
        self.extra["changed_parameters"] = sorted(connection["parameters"])
        return connection, {key: connection[key] for key in ("name", "parent", "protocol", "parameters", "attributes")}

    def update(self, existing, desired):
        changes = Changes()
        if existing.get("protocol") != self.params["protocol"]:
            changes.add("protocol", existing.get("protocol"), self.params["protocol"])
        place = self.place(str(existing.get("parentIdentifier") or "ROOT"))
        connection, parameter_changes = self.put_configured(existing, place, desired, changes,
                                                            update_password=self.params["update_password"])
        self.extra["changed_parameters"] = sorted(parameter_changes)
        return connection, changes


def main():
    GuacamoleConnection().execute()


if __name__ == "__main__":
    main()

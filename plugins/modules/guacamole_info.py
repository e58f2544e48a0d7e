#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacamole_info
short_description: Read connections, users, groups, sessions and history from Apache Guacamole
version_added: 0.1.0
description:
  - Reads what O(gather) names from one data source of a Guacamole server, as the logged-in user may see
    it (objects the user may not read are left out by the server).
  - Connections come both as a tree (groups with their connections and sharing profiles) and as flat
    lists, each with the path of its group.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.guacamole
  - proxgate.core.attributes
  - proxgate.core.attributes.INFO_MODULE
  - proxgate.core.attributes.ACTIONGROUP_GUACAMOLE
options:
  gather:
    description:
      - What to read. V(connections) gives RV(connection_tree), RV(connections), RV(connection_groups)
        and RV(sharing_profiles); V(users) gives RV(users); V(user_groups) gives RV(user_groups);
        V(active_connections) gives RV(active_connections); V(history) gives RV(history).
    type: list
    elements: str
    choices: [connections, users, user_groups, active_connections, history]
    default: [connections, users, user_groups, active_connections]
  connection_parameters:
    description:
      - Also read each connection's parameters (one more call per connection; needs C(UPDATE) or
        C(ADMINISTER) on it). Secret parameters are shown as C(********).
    type: bool
    default: false
  history_type:
    description:
      - V(connections) reads the connection history (who used which connection, when), V(logins) the login
        history of users.
    type: str
    choices: [connections, logins]
    default: connections
  history_contains:
    description:
      - Only history records that contain every one of these strings (in the connection name, user name or
        sharing profile name; for logins, the user name or remote host).
    type: list
    elements: str
    default: []
  history_limit:
    description:
      - At most this many history records (the server returns at most 1000).
    type: int
    default: 100
  history_order:
    description:
      - V(newest) or V(oldest) records first.
    type: str
    choices: [newest, oldest]
    default: newest
notes:
  - "Privileges: none beyond logging in; each list holds what the user may read. The history of other
    users' sessions needs C(ADMINISTER) or, on 1.6, C(AUDIT)."
seealso:
  - module: proxgate.core.guacamole_api
"""

EXAMPLES = r"""
- name: Everything an administrator sees (auth from GUACAMOLE_* environment variables)
  proxgate.core.guacamole_info:
  register: guac

- name: Paths of every connection
  ansible.builtin.debug:
    msg: "{{ guac.connections | map(attribute='path') | list }}"

- name: The last 20 uses of connections with 'web' in their name
  proxgate.core.guacamole_info:
    gather: [history]
    history_contains: [web]
    history_limit: 20
  register: web_history

- name: Who is connected right now
  proxgate.core.guacamole_info:
    gather: [active_connections]
  register: sessions
"""

RETURN = r"""
connection_tree:
  description:
    - The root group with everything below it, as C(GET connectionGroups/ROOT/tree) returns it, each group
      and connection with its C(path) added. Child lists are missing where a group has none.
  returned: when V(connections) is gathered
  type: dict
  sample:
    identifier: ROOT
    name: ROOT
    path: ROOT
    type: ORGANIZATIONAL
    childConnectionGroups:
      - {identifier: "1", name: Production, path: Production, type: ORGANIZATIONAL,
         childConnections: [{identifier: "3", name: web01, protocol: ssh, path: Production/web01}]}
connections:
  description: Every connection, sorted by identifier, with C(parent) (the path of its group) and C(path).
  returned: when V(connections) is gathered
  type: list
  elements: dict
  sample:
    - {identifier: "3", name: web01, protocol: ssh, parentIdentifier: "1", parent: Production,
       path: Production/web01, activeConnections: 0, attributes: {max-connections: null}}
connection_groups:
  description: Every connection group, sorted by identifier, with its C(path).
  returned: when V(connections) is gathered
  type: list
  elements: dict
  sample:
    - {identifier: "1", name: Production, type: ORGANIZATIONAL, parentIdentifier: ROOT, path: Production,
       attributes: {}}
sharing_profiles:
  description: Every sharing profile, sorted by identifier, with the name of its primary connection.
  returned: when V(connections) is gathered
  type: list
  elements: dict
  sample:
    - {identifier: "1", name: Watch, primaryConnectionIdentifier: "3", connection: web01}
users:
  description: Every user, sorted by name, with C(disabled) as a boolean for 1.5 and 1.6 servers alike.
  returned: when V(users) is gathered
  type: list
  elements: dict
  sample:
    - {username: alice, disabled: false, attributes: {guac-full-name: Alice}}
user_groups:
  description: Every user group, sorted by name, with C(disabled) as a boolean.
  returned: when V(user_groups) is gathered
  type: list
  elements: dict
  sample:
    - {identifier: operators, disabled: false, attributes: {}}
active_connections:
  description: The sessions in progress, oldest first, with the connection's name and path when visible.
  returned: when V(active_connections) is gathered
  type: list
  elements: dict
  sample:
    - {identifier: 0b4e0f4e-6f4b-4a55-9a3c-5d4a5d0a1f33, connectionIdentifier: "3", connection: web01,
       path: Production/web01, username: alice, remoteHost: 192.0.2.50, startDate: 1767225600000}
history:
  description: History records, newest first unless O(history_order=oldest), at most O(history_limit).
  returned: when V(history) is gathered
  type: list
  elements: dict
  sample:
    - {connectionIdentifier: "3", connectionName: web01, username: alice, startDate: 1767225600000,
       endDate: 1767229200000, active: false}
version:
  description: The Guacamole release of the server (V(1.5) or V(1.6)).
  returned: when V(users) or V(user_groups) is gathered
  type: str
  sample: "1.6"
data_source:
  description: The data source that was read.
  returned: always
  type: str
  sample: postgresql
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import mask_secrets
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import path_of
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.groups import (
    ROOT,
    GroupIndex,
    join_group_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import GuacamoleModule
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.parameters import secret_names

HISTORY_MAX = 1000


def sort_key(identifier):
    text = str(identifier)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def sorted_values(directory, key="identifier"):
    return [item for _unused, item in sorted((directory or {}).items(), key=lambda pair: sort_key(pair[0]))]


def annotate_tree(node, names=()):
    """The tree with `path` on every group and connection (and sharing profiles left as they are)."""
    node = dict(node)
    node["path"] = join_group_path(names)
    node["childConnections"] = [dict(child, path=join_group_path([*names, child.get("name")]))
                                for child in node.get("childConnections") or []] or None
    node["childConnectionGroups"] = [annotate_tree(child, [*names, child.get("name")])
                                     for child in node.get("childConnectionGroups") or []] or None
    return {key: value for key, value in node.items() if value is not None}


class GuacamoleInfo(GuacamoleModule):
    argument_spec = dict(
        gather=dict(type="list", elements="str", default=["connections", "users", "user_groups", "active_connections"],
                    choices=["connections", "users", "user_groups", "active_connections", "history"]),
        connection_parameters=dict(type="bool", default=False),
        history_type=dict(type="str", choices=["connections", "logins"], default="connections"),
        history_contains=dict(type="list", elements="str", default=[]),
        history_limit=dict(type="int", default=100),
        history_order=dict(type="str", choices=["newest", "oldest"], default="newest"),
    )

    def validate(self):
        limit = self.params["history_limit"]
        if not 1 <= limit <= HISTORY_MAX:
            self.fail(f"history_limit must be between 1 and {HISTORY_MAX} (the server's own limit), got {limit}")
        if self.params["connection_parameters"] and "connections" not in self.params["gather"]:
            self.fail("connection_parameters needs connections in gather")

    def run(self):
        gather = set(self.params["gather"])
        result = dict(changed=False, data_source=self.client.data_source)
        groups = None
        connections = {}
        if gather & {"connections", "active_connections"}:
            groups = GroupIndex.load(self.client)
            connections = self.client.get("connections") or {}
        if "connections" in gather:
            result.update(self.read_connections(groups, connections))
        if "users" in gather:
            result["users"] = [self.with_disabled(user) for user in
                               sorted((self.client.get("users") or {}).values(), key=lambda u: u["username"])]
        if "user_groups" in gather:
            result["user_groups"] = [self.with_disabled(group) for group in
                                     sorted((self.client.get("userGroups") or {}).values(),
                                            key=lambda g: g["identifier"])]
        if gather & {"users", "user_groups"}:
            result["version"] = self.client.version
        if "active_connections" in gather:
            result["active_connections"] = self.read_active(groups, connections)
        if "history" in gather:
            result["history"] = self.read_history()
        return result

    def with_disabled(self, obj):
        return dict(obj, disabled=self.client.is_disabled(obj))

    @staticmethod
    def connection_path(groups, connection):
        """(path of the connection's group, path of the connection); None where a group is not visible."""
        parent = str(connection.get("parentIdentifier") or ROOT)
        return groups.visible_path_of(parent), groups.visible_path_of(parent, connection.get("name"))

    def read_connections(self, groups, connections):
        flat = []
        for connection in sorted_values(connections):
            parent_path, path = self.connection_path(groups, connection)
            item = dict(connection, parent=parent_path, path=path)
            if self.params["connection_parameters"]:
                parameters = self.client.get(path_of("connections", connection["identifier"], "parameters")) or {}
                item["parameters"] = mask_secrets(parameters, secret_names(parameters))
            flat.append(item)
        group_list = [dict(group, path=groups.visible_path_of(group["identifier"]))
                      for group in sorted_values(groups.groups)]
        names = {identifier: item.get("name") for identifier, item in connections.items()}
        profiles = [dict(profile, connection=names.get(str(profile.get("primaryConnectionIdentifier"))))
                    for profile in sorted_values(self.client.get("sharingProfiles"))]
        tree = annotate_tree(self.client.get(path_of("connectionGroups", ROOT, "tree")) or {})
        return dict(connection_tree=tree, connections=flat, connection_groups=group_list, sharing_profiles=profiles)

    def read_active(self, groups, connections):
        active = []
        for session in sorted((self.client.get("activeConnections") or {}).values(),
                              key=lambda s: (s.get("startDate") or 0, s.get("identifier"))):
            connection = connections.get(str(session.get("connectionIdentifier")))
            item = dict(session)
            if connection is not None:
                item["connection"] = connection.get("name")
                item["path"] = self.connection_path(groups, connection)[1]
            active.append(item)
        return active

    def read_history(self):
        kind = "connections" if self.params["history_type"] == "connections" else "users"
        order = "-startDate" if self.params["history_order"] == "newest" else "startDate"
        contains = [text for text in self.params["history_contains"] if text]
        records = self.client.get(path_of("history", kind), contains=contains, order=order) or []
        return records[:self.params["history_limit"]]


def main():
    GuacamoleInfo().execute()


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacamole_active_connection
short_description: End active Apache Guacamole sessions, by user, connection or session identifier
version_added: 0.1.0
description:
  - Ends (kills) the active connections - the sessions in progress - that match every filter given - a
    user (O(username)), a connection (O(connection) with O(parent), or O(connection_identifier)), or
    session identifiers (O(identifier)). At least one filter is required, so that a task never ends every
    session by accident.
  - The matching sessions are ended with one C(PATCH activeConnections) that removes each of them. No
    matching session means no write and C(changed=false), so the task can run again safely.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.guacamole
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_GUACAMOLE
attributes:
  check_mode:
    support: full
    details:
      - In check mode the sessions that would be ended are returned in RV(killed) and nothing is ended.
  diff_mode:
    support: full
    details:
      - The diff lists the identifiers of the matching sessions before, and none after.
options:
  username:
    description: End the sessions of this user.
    type: str
  connection:
    description:
      - End the sessions of the connection with this name (see O(parent) when the name is not unique).
      - Mutually exclusive with O(connection_identifier).
    type: str
  parent:
    description:
      - Path of the connection group O(connection) is in, such as C(Production/Web); V(ROOT) for the top level.
      - Not set means the connection's name must be unique in the whole tree.
    type: str
  connection_identifier:
    description: End the sessions of the connection with this identifier.
    type: str
  identifier:
    description:
      - Identifiers of the active connections (sessions) to end, as C(GET activeConnections) lists them.
      - Those that are no longer active are ignored.
    type: list
    elements: str
notes:
  - "Permissions: an administrator (system C(ADMINISTER)) can end any session; other users can end their own
    sessions and those they hold C(DELETE) on. Sessions the API user cannot see are never matched."
"""

EXAMPLES = r"""
- name: Log bob out of every connection
  proxgate.core.guacamole_active_connection:
    api_url: https://gateway.example.com/guacamole
    api_username: guacadmin
    api_password: "{{ vault_guacamole_admin_password }}"
    username: bob
  delegate_to: localhost

- name: End every session on web01 before its maintenance
  proxgate.core.guacamole_active_connection:
    connection: web01
    parent: Production/Web
  delegate_to: localhost
  register: ended

- name: Show who was connected
  ansible.builtin.debug:
    msg: "{{ ended.killed | map(attribute='username') | list }}"

- name: End one session
  proxgate.core.guacamole_active_connection:
    identifier: 6f1c2f5e-5b8e-4f0e-9c63-0a0d2cbb9e21
  delegate_to: localhost
"""

RETURN = r"""
killed:
  description:
    - The sessions ended (in check mode, that would be ended), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    identifier:
      description: Identifier of the active connection.
      type: str
      sample: 6f1c2f5e-5b8e-4f0e-9c63-0a0d2cbb9e21
    username:
      description: User of the session.
      type: str
      sample: bob
    connection_identifier:
      description: Identifier of the connection.
      type: str
      sample: "5"
    connection:
      description: Path of the connection (its group path and name), when the API user can see it.
      type: str
      sample: Production/Web/web01
    remote_host:
      description: Address the user connected from.
      type: str
      sample: 192.0.2.50
    start_date:
      description: When the session started, in milliseconds since the epoch.
      type: int
      sample: 1767225600000
"""

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.groups import (
    ROOT,
    GroupIndex,
    GroupPathError,
    join_group_path,
    split_group_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import GuacamoleModule


def option_errors(params):
    errors = []
    for option in ("username", "connection", "connection_identifier"):
        if params.get(option) is not None and not params[option].strip():
            errors.append(f"{option} must not be empty")
    if params.get("identifier") is not None:
        if not params["identifier"]:
            errors.append("identifier must name at least one active connection")
        elif any(not (item or "").strip() for item in params["identifier"]):
            errors.append("identifier must not contain an empty identifier")
    if params.get("parent") is not None:
        if params.get("connection") is None:
            errors.append("parent only goes with connection")
        try:
            split_group_path(params["parent"])
        except GroupPathError as exc:
            errors.append(f"parent: {exc}")
    return errors


def matching_sessions(active, username=None, connection_ids=None, identifiers=None):
    """The active connections (a map identifier -> session) that match every filter given, oldest first."""
    found = []
    for identifier, session in (active or {}).items():
        session_id = str(session.get("identifier", identifier))
        if username is not None and session.get("username") != username:
            continue
        if connection_ids is not None and str(session.get("connectionIdentifier")) not in connection_ids:
            continue
        if identifiers is not None and session_id not in identifiers:
            continue
        found.append(dict(session, identifier=session_id))
    return sorted(found, key=lambda s: (s.get("startDate") or 0, s["identifier"]))


def kill_patch(sessions):
    """One remove operation per session: PATCH activeConnections takes them all at once."""
    return [{"op": "remove", "path": f"/{session['identifier']}"} for session in sessions]


def session_result(session, labels):
    connection_id = session.get("connectionIdentifier")
    return {
        "identifier": session["identifier"],
        "username": session.get("username"),
        "connection_identifier": connection_id,
        "connection": labels.get(str(connection_id)),
        "remote_host": session.get("remoteHost"),
        "start_date": session.get("startDate"),
    }


class GuacamoleActiveConnection(GuacamoleModule):
    argument_spec = dict(
        username=dict(type="str"),
        connection=dict(type="str"),
        parent=dict(type="str"),
        connection_identifier=dict(type="str"),
        identifier=dict(type="list", elements="str"),
    )
    module_kwargs = dict(
        mutually_exclusive=[("connection", "connection_identifier")],
        required_one_of=[("username", "connection", "connection_identifier", "identifier")],
    )

    def validate(self):
        errors = option_errors(self.params)
        if errors:
            self.fail("; ".join(errors))

    def permission_hint(self, exc):
        return (f"user {self.params['api_username']!r} may only end its own sessions and those it holds DELETE on; "
                "ending other users' sessions needs the ADMINISTER system permission")

    def connection_labels(self, connections):
        groups = GroupIndex.load(self.client)
        labels = {}
        for identifier, connection in connections.items():
            parent = connection.get("parentIdentifier") or ROOT
            try:
                names = groups.names_of(parent)
            except GroupPathError:
                names = [f"<group {parent}>"]
            labels[str(identifier)] = join_group_path([*names, connection.get("name", "")])
        return labels, groups

    def connection_ids(self, connections, labels, groups):
        """The identifiers the connection options name (None: no connection filter)."""
        params = self.params
        if params["connection_identifier"] is not None:
            return {params["connection_identifier"]}
        if params["connection"] is None:
            return None
        candidates = {i for i, c in connections.items() if c.get("name") == params["connection"]}
        if params["parent"] is not None:
            parent = groups.resolve(params["parent"])
            if parent is None:
                self.fail(f"parent: no connection group at path {params['parent']!r}")
            candidates = {i for i in candidates if (connections[i].get("parentIdentifier") or ROOT) == parent}
        if not candidates:
            place = f" in {params['parent']!r}" if params["parent"] is not None else ""
            self.fail(f"connection: no connection named {params['connection']!r}{place}")
        if len(candidates) > 1:
            paths = ", ".join(sorted(labels[i] for i in candidates))
            self.fail(f"connection: {len(candidates)} connections are named {params['connection']!r} ({paths}); "
                      "set parent or use connection_identifier")
        return candidates

    def run(self):
        params = self.params
        active = self.client.get("activeConnections") or {}
        labels, connection_ids = {}, None
        if active or params["connection"] is not None:
            connections = self.client.get("connections") or {}
            labels, groups = self.connection_labels(connections)
            connection_ids = self.connection_ids(connections, labels, groups)
        elif params["connection_identifier"] is not None:
            connection_ids = {params["connection_identifier"]}
        identifiers = set(params["identifier"]) if params["identifier"] is not None else None
        sessions = matching_sessions(active, params["username"], connection_ids, identifiers)
        if sessions and not self.check_mode:
            self.client.patch("activeConnections", json=kill_patch(sessions))
        result = dict(changed=bool(sessions), killed=[session_result(s, labels) for s in sessions])
        if self.diff_mode:
            result["diff"] = dict(before=dict(active_connections=[s["identifier"] for s in sessions]),
                                  after=dict(active_connections=[]))
        return result


def main():
    GuacamoleActiveConnection().execute()


if __name__ == "__main__":
    main()

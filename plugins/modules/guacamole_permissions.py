#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacamole_permissions
short_description: Grant and revoke the permissions of an Apache Guacamole user or user group
version_added: 0.1.0
description:
  - Manages the permissions granted directly to one user (O(user)) or one user group (O(user_group)) -
    system permissions, and C(READ), C(UPDATE), C(DELETE) and C(ADMINISTER) on connections, connection
    groups, sharing profiles, users and user groups.
  - Objects are named the way people know them (a connection by its name and group path, a connection group
    by its path) or by identifier; every name is resolved, and every permission checked, before anything is
    written.
  - All the changes are sent in one C(PATCH) that holds exactly the grants and revocations needed, one
    permission per operation, which the server applies together. Nothing to change means no write at all.
  - Permissions a user gets through its groups are not touched; manage them on the group.
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
      - The diff shows, per kind, the permissions of each object whose permissions change, before and after.
options:
  user:
    description:
      - The user whose permissions are managed. Exactly one of O(user) and O(user_group) is required.
    type: str
  user_group:
    description:
      - The user group whose permissions are managed; its members get them too.
      - Exactly one of O(user) and O(user_group) is required.
    type: str
  mode:
    description:
      - V(add) grants the permissions listed and keeps every other one.
      - V(remove) revokes the permissions listed (those not granted are ignored, and so are objects that do
        not exist, since they cannot carry permissions).
      - V(replace) makes the permissions listed the only ones of each kind that is given - O(system),
        O(connections), O(connection_groups), O(sharing_profiles), O(users), O(user_groups). A kind that is
        not given is left alone, so O(mode=replace) with only O(connections) revokes every connection
        permission not listed and nothing else. An empty list (V([])) revokes all the permissions of its kind.
      - With V(replace) and O(users) given, the permissions a user holds on itself (Guacamole grants C(READ)
        on itself to every user it creates) are kept unless that user is listed in O(users).
    type: str
    choices: [add, remove, replace]
    default: add
  system:
    description:
      - System permissions - V(ADMINISTER), V(CREATE_CONNECTION), V(CREATE_CONNECTION_GROUP),
        V(CREATE_SHARING_PROFILE), V(CREATE_USER), V(CREATE_USER_GROUP), and on Guacamole 1.6 V(AUDIT).
      - Case does not matter. An unknown name is refused before anything is sent (the server would fail with
        an internal error).
    type: list
    elements: str
  connections:
    description:
      - Permissions on connections.
      - Each entry names one connection, by O(connections[].identifier) or by O(connections[].name) (with
        O(connections[].parent) when the name is not unique).
    type: list
    elements: dict
    suboptions:
      identifier:
        description: Identifier of the connection.
        type: str
      name:
        description: Name of the connection.
        type: str
      parent:
        description:
          - Path of the connection group the connection is in, such as C(Production/Web); V(ROOT) for the top
            level.
          - Not set means the connection's name must be unique in the whole tree.
        type: str
      permissions:
        description: V(READ), V(UPDATE), V(DELETE) and V(ADMINISTER), in any case.
        type: list
        elements: str
        required: true
  connection_groups:
    description:
      - Permissions on connection groups, each named by O(connection_groups[].path) or
        O(connection_groups[].identifier). The root group carries no permissions.
    type: list
    elements: dict
    suboptions:
      path:
        description: Path of the group, such as C(Production/Web).
        type: str
      identifier:
        description: Identifier of the group.
        type: str
      permissions:
        description: V(READ), V(UPDATE), V(DELETE) and V(ADMINISTER), in any case.
        type: list
        elements: str
        required: true
  sharing_profiles:
    description:
      - Permissions on sharing profiles, each named by O(sharing_profiles[].identifier), or by
        O(sharing_profiles[].name) and the connection it shares (O(sharing_profiles[].connection), with
        O(sharing_profiles[].parent) when that name is not unique).
    type: list
    elements: dict
    suboptions:
      identifier:
        description: Identifier of the sharing profile.
        type: str
      name:
        description: Name of the sharing profile.
        type: str
      connection:
        description: Name of the connection the profile shares. Required with O(sharing_profiles[].name).
        type: str
      parent:
        description: Path of the connection group that connection is in; see O(connections[].parent).
        type: str
      permissions:
        description: V(READ), V(UPDATE), V(DELETE) and V(ADMINISTER), in any case.
        type: list
        elements: str
        required: true
  users:
    description: Permissions on users (the right to see, change, remove or administer their accounts).
    type: list
    elements: dict
    suboptions:
      name:
        description: Username.
        type: str
        required: true
      permissions:
        description: V(READ), V(UPDATE), V(DELETE) and V(ADMINISTER), in any case.
        type: list
        elements: str
        required: true
  user_groups:
    description: Permissions on user groups.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the user group.
        type: str
        required: true
      permissions:
        description: V(READ), V(UPDATE), V(DELETE) and V(ADMINISTER), in any case.
        type: list
        elements: str
        required: true
notes:
  - "Permissions: the system permission C(ADMINISTER) to change system permissions; otherwise C(UPDATE) on the
    user or group whose permissions change and C(ADMINISTER) on each object a permission is granted or
    revoked on. The objects named must be visible to O(api_username) (C(READ))."
"""

EXAMPLES = r"""
- name: Operators may open the production web servers and see the group
  proxgate.core.guacamole_permissions:
    api_url: https://gateway.example.com/guacamole
    api_username: guacadmin
    api_password: "{{ vault_guacamole_admin_password }}"
    user_group: operators
    connection_groups:
      - path: Production/Web
        permissions: [READ]
    connections:
      - name: web01
        parent: Production/Web
        permissions: [READ]
      - identifier: "12"
        permissions: [READ]
  delegate_to: localhost

- name: The automation account may create connections and groups, and nothing else at system level
  proxgate.core.guacamole_permissions:
    user: automation
    mode: replace
    system: [CREATE_CONNECTION, CREATE_CONNECTION_GROUP]
  delegate_to: localhost

- name: Bob no longer manages alice's account
  proxgate.core.guacamole_permissions:
    user: bob
    mode: remove
    users:
      - name: alice
        permissions: [UPDATE, ADMINISTER]
  delegate_to: localhost

- name: Contractors see the read-only sharing profile of web01 only
  proxgate.core.guacamole_permissions:
    user_group: contractors
    mode: replace
    connections: []
    sharing_profiles:
      - name: read-only
        connection: web01
        parent: Production/Web
        permissions: [READ]
  delegate_to: localhost
"""

RETURN = r"""
operations:
  description:
    - The JSON Patch operations sent (in check mode, that would be sent); empty when nothing changes.
  returned: always
  type: list
  elements: dict
  sample: [{"op": "add", "path": "/connectionPermissions/5", "value": "READ"}]
permissions:
  description:
    - The permissions granted directly to the user or group after the task (in check mode, as they would
      be), in the form of C(GET users/{username}/permissions), keyed by identifier.
  returned: always
  type: dict
  sample:
    connectionPermissions: {"5": ["READ"]}
    connectionGroupPermissions: {"2": ["READ"]}
    sharingProfilePermissions: {}
    activeConnectionPermissions: {}
    userPermissions: {}
    userGroupPermissions: {}
    systemPermissions: []
api_version:
  description: The Guacamole API version the module talked to (C(1.5) or C(1.6)).
  returned: always
  type: str
  sample: "1.6"
"""

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import (
    OBJECT_PERMISSIONS,
    SYSTEM_PERMISSIONS_16,
    GuacamoleApiError,
    path_of,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.groups import (
    ROOT,
    GroupPathError,
    split_group_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import GuacamoleModule
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.names import name_problem
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.permissions import (
    SYSTEM_KIND,
    Ambiguous,
    NotFound,
    ObjectResolver,
    apply_operations,
    normalize_names,
    permission_patch,
    split_path,
)

# Option -> key of the permission document.
KIND_OF_OPTION = {
    "connections": "connectionPermissions",
    "connection_groups": "connectionGroupPermissions",
    "sharing_profiles": "sharingProfilePermissions",
    "users": "userPermissions",
    "user_groups": "userGroupPermissions",
    "system": SYSTEM_KIND,
}
OBJECT_OPTIONS = ("connections", "connection_groups", "sharing_profiles", "users", "user_groups")
MODE_STATES = {"add": "present", "remove": "absent", "replace": "exact"}


def permission_spec():
    return dict(type="list", elements="str", required=True)


# ----------------------------------------------------------------------------- option checks

def entry_label(option, index, entry):
    """How an error names one entry: connections[0] (web01)."""
    name = entry.get("name") or entry.get("path") or entry.get("identifier")
    return f"{option}[{index}]" + (f" ({name})" if name else "")


def entry_errors(option, index, entry):
    """What is wrong with how one entry names its object."""
    where = entry_label(option, index, entry)
    given = [key for key in ("identifier", "name", "path") if entry.get(key) not in (None, "")]
    if option in ("connections", "sharing_profiles"):
        if len(given) != 1:
            return [f"{where}: give exactly one of identifier and name"]
        if option == "sharing_profiles" and entry.get("name") and not entry.get("connection"):
            return [f"{where}: a sharing profile named by name needs connection, the name of the connection it "
                    "shares (or give its identifier)"]
        if entry.get("identifier") and (entry.get("parent") or entry.get("connection")):
            return [f"{where}: parent and connection only go with name, not with identifier"]
    elif option == "connection_groups":
        if len(given) != 1:
            return [f"{where}: give exactly one of path and identifier"]
        if entry.get("identifier") == ROOT or (entry.get("path") is not None and _is_root(entry["path"])):
            return [f"{where}: the root connection group carries no permissions; name a group below it"]
    elif not (entry.get("name") or "").strip():
        return [f"{where}: name must not be empty"]
    for key in ("parent", "path"):
        if entry.get(key):
            try:
                split_group_path(entry[key])
            except GroupPathError as exc:
                return [f"{where}.{key}: {exc}"]
    return []


def _is_root(path):
    try:
        return split_group_path(path) == []
    except GroupPathError:
        return False


def option_errors(params):
    """Every problem of the options that can be seen without asking the server, each naming the option."""
    errors = []
    for subject in ("user", "user_group"):
        if params.get(subject) is not None and not params[subject].strip():
            errors.append(f"{subject} must not be empty")
        elif params.get(subject) is not None and name_problem(subject, params[subject]):
            errors.append(name_problem(subject, params[subject]))
    for option in ("users", "user_groups"):
        for index, entry in enumerate(params.get(option) or []):
            problem = name_problem(f"{option}[{index}].name", entry.get("name"))
            if problem:
                errors.append(problem)
    try:
        normalize_names(params.get("system"), SYSTEM_PERMISSIONS_16, "system")
    except ValueError as exc:
        errors.append(str(exc))
    for option in OBJECT_OPTIONS:
        for index, entry in enumerate(params.get(option) or []):
            errors += entry_errors(option, index, entry)
            try:
                normalize_names(entry.get("permissions"), OBJECT_PERMISSIONS,
                                f"{entry_label(option, index, entry)}.permissions")
            except ValueError as exc:
                errors.append(str(exc))
    return errors


# ----------------------------------------------------------------------------- planning

def wanted_document(resolved, system):
    """A permission document from {option: [(identifier, names)]} and the system names (None: not given).

    Objects named twice get the union of their permissions.
    """
    document = {}
    for option, entries in resolved.items():
        objects = document.setdefault(KIND_OF_OPTION[option], {})
        for identifier, names in entries:
            objects[identifier] = sorted(set(objects.get(identifier, [])) | set(names))
    if system is not None:
        document[SYSTEM_KIND] = list(system)
    return document


def keep_own_entry(document, current, subject):
    """For mode=replace of users: keep what a user holds on itself unless it is listed."""
    users = document.get("userPermissions")
    own = (current.get("userPermissions") or {}).get(subject)
    if users is not None and own and subject not in users:
        users[subject] = list(own)
    return document


def plan(current, wanted, mode, system_permissions):
    """The patch operations that take the current document to what wanted + mode ask for."""
    kinds = set(wanted) if mode == "replace" else None
    return permission_patch(current, wanted, MODE_STATES[mode], system_permissions, kinds=kinds)


def diff_documents(before, after, operations, labels):
    """Before/after of the objects (and system permissions) the operations touch, by label."""
    touched = {}
    for operation in operations:
        kind, identifier = split_path(operation["path"])
        if kind == SYSTEM_KIND:
            touched.setdefault(SYSTEM_KIND, None)
        elif kind is not None:
            touched.setdefault(kind, set()).add(identifier)
    result = {"before": {}, "after": {}}
    for kind, identifiers in touched.items():
        if identifiers is None:
            result["before"][kind] = sorted(before.get(kind) or [])
            result["after"][kind] = sorted(after.get(kind) or [])
            continue
        for side, document in (("before", before), ("after", after)):
            objects = document.get(kind) or {}
            result[side][kind] = {labels.get((kind, identifier), identifier): sorted(objects.get(identifier) or [])
                                  for identifier in sorted(identifiers)}
    return result


class Resolver(ObjectResolver):
    """The objects the options name: an entry -> its identifier, an option -> the labels of its objects."""

    def labels(self, option):
        """(kind, identifier) -> label of every object of an option's kind that the API user can see."""
        return self.labels_of(KIND_OF_OPTION[option])

    def resolve(self, option, index, entry):
        where = entry_label(option, index, entry)
        if option == "connections":
            return self.connection(where, entry.get("identifier"), entry.get("name"), entry.get("parent"))
        if option == "connection_groups":
            return self.connection_group(where, entry.get("identifier"), entry.get("path"))
        if option == "sharing_profiles":
            return self.sharing_profile(where, entry.get("identifier"), entry.get("name"), entry.get("connection"),
                                        entry.get("parent"))
        if option == "users":
            return self.named(where, "users", "user", entry["name"])
        return self.named(where, "userGroups", "user group", entry["name"])


class GuacamolePermissions(GuacamoleModule):
    argument_spec = dict(
        user=dict(type="str"),
        user_group=dict(type="str"),
        mode=dict(type="str", choices=list(MODE_STATES), default="add"),
        system=dict(type="list", elements="str"),
        connections=dict(type="list", elements="dict", options=dict(
            identifier=dict(type="str"), name=dict(type="str"), parent=dict(type="str"),
            permissions=permission_spec())),
        connection_groups=dict(type="list", elements="dict", options=dict(
            path=dict(type="str"), identifier=dict(type="str"), permissions=permission_spec())),
        sharing_profiles=dict(type="list", elements="dict", options=dict(
            identifier=dict(type="str"), name=dict(type="str"), connection=dict(type="str"),
            parent=dict(type="str"), permissions=permission_spec())),
        users=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True), permissions=permission_spec())),
        user_groups=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True), permissions=permission_spec())),
    )
    module_kwargs = dict(
        mutually_exclusive=[("user", "user_group")],
        required_one_of=[("user", "user_group")],
    )

    def validate(self):
        errors = option_errors(self.params)
        if errors:
            self.fail("; ".join(errors))

    def permission_hint(self, exc):
        return (f"user {self.params['api_username']!r} lacks a permission this needs: system ADMINISTER to change "
                "system permissions; otherwise UPDATE on the user or group whose permissions change and ADMINISTER "
                "on every object a permission is granted or revoked on")

    @property
    def subject(self):
        if self.params["user"] is not None:
            return "user", "users", self.params["user"]
        return "user_group", "userGroups", self.params["user_group"]

    def read_current(self):
        option, directory, name = self.subject
        try:
            return self.client.get(path_of(directory, name, "permissions")) or {}
        except GuacamoleApiError as exc:
            if exc.missing:
                noun = "user" if option == "user" else "user group"
                self.fail(f"{option}: no {noun} named {name!r} in data source {self.client.data_source!r} (or the "
                          f"API user {self.client.username!r} cannot see it)")
            raise

    def system_names(self):
        if self.params["system"] is None:
            return None
        allowed = self.client.system_permissions
        unknown = sorted({name.strip().upper() for name in self.params["system"]} - set(allowed))
        if unknown:
            self.fail(f"system: {', '.join(unknown)} is not a system permission of Guacamole {self.client.version}; "
                      f"it has {', '.join(allowed)}")
        return normalize_names(self.params["system"], allowed, "system")

    def resolve_entries(self, resolver):
        """{option: [(identifier, permission names)]} for the options given; fails on the first unresolved name."""
        resolved, errors = {}, []
        for option in OBJECT_OPTIONS:
            if self.params[option] is None:
                continue
            resolved[option] = []
            for index, entry in enumerate(self.params[option]):
                try:
                    identifier = resolver.resolve(option, index, entry)
                except NotFound as exc:
                    # Nothing to revoke on an object that does not exist; in the other modes it is a mistake.
                    if self.params["mode"] != "remove":
                        errors.append(str(exc))
                    continue
                except Ambiguous as exc:
                    errors.append(str(exc))
                    continue
                names = normalize_names(entry["permissions"], OBJECT_PERMISSIONS, "permissions")
                resolved[option].append((identifier, names))
        if errors:
            self.fail("; ".join(errors))
        return resolved

    def run(self):
        params = self.params
        current = self.read_current()
        system = self.system_names()
        resolver = Resolver(self.client)
        resolved = self.resolve_entries(resolver)
        wanted = wanted_document(resolved, system)
        option, _directory, name = self.subject
        if params["mode"] == "replace" and option == "user":
            wanted = keep_own_entry(wanted, current, name)
        operations = plan(current, wanted, params["mode"], self.client.system_permissions)
        if operations and not self.check_mode:
            _unused, directory, name = self.subject
            self.client.patch(path_of(directory, name, "permissions"), json=operations)
        after = apply_operations(current, operations)
        result = dict(changed=bool(operations), operations=operations, permissions=after,
                      api_version=self.client.version)
        if self.diff_mode:
            labels = {}
            for option_name in resolved:
                labels.update(resolver.labels(option_name))
            result["diff"] = diff_documents(current, after, operations, labels)
        return result


def main():
    GuacamolePermissions().execute()


if __name__ == "__main__":
    main()

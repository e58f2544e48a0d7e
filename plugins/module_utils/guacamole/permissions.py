# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guacamole permission sets and the JSON Patch that turns one into another.

A permission document is what ``GET users/{u}/permissions`` (or ``userGroups/{g}/permissions``) returns::

    {"connectionPermissions": {"1": ["READ"]}, "connectionGroupPermissions": {}, ...,
     "systemPermissions": ["CREATE_CONNECTION"]}

``PATCH .../permissions`` takes a list of operations, ONE permission each, whose ``value`` is ONE string::

    [{"op": "add", "path": "/connectionPermissions/1", "value": "READ"},
     {"op": "remove", "path": "/systemPermissions", "value": "CREATE_USER"}]

An unknown value makes the server fail with a 500 (it fails in an enum lookup), so every operation is
checked here before it is sent. Identifiers go into the path as they are (the server takes the rest of the
path after the prefix, without JSON Pointer unescaping).

Every module that writes permissions goes through here: ``permission_path`` / ``split_path`` between a
kind + identifier and a patch path, ``build_patch`` (or ``permission_patch`` from two documents) for the
operations, ``apply_operations`` for the document a PATCH makes, and ``ObjectResolver`` for the objects a
permission is on (names -> identifiers, and labels for a diff).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import ADD, REMOVE, REPLACE, set_changes
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import (
    OBJECT_PERMISSIONS,
    SYSTEM_PERMISSIONS_16,
    GuacamoleError,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.groups import (
    ROOT,
    GroupIndex,
    GroupPathError,
    find_child,
    join_group_path,
    split_group_path,
)

# Key in the permission document -> the path prefix of its patch operations.
OBJECT_KINDS = {
    "connectionPermissions": "/connectionPermissions/",
    "connectionGroupPermissions": "/connectionGroupPermissions/",
    "sharingProfilePermissions": "/sharingProfilePermissions/",
    "activeConnectionPermissions": "/activeConnectionPermissions/",
    "userPermissions": "/userPermissions/",
    "userGroupPermissions": "/userGroupPermissions/",
}
SYSTEM_KIND = "systemPermissions"
SYSTEM_PATH = "/systemPermissions"
KINDS = tuple(OBJECT_KINDS) + (SYSTEM_KIND,)
OPS = ("add", "remove")
# A state -> the mode of common.compare.set_changes it is.
STATES = {"present": ADD, "absent": REMOVE, "exact": REPLACE}


class PermissionPatchError(GuacamoleError, ValueError):
    """A permission or patch operation the server would refuse (or fail on); the text names it."""


def _as_list(value, where):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    raise PermissionPatchError(f"{where} must be a permission name or a list of them, got {type(value).__name__}")


def _permission_name(value, allowed, where):
    if not isinstance(value, str):
        raise PermissionPatchError(f"{where}: a permission is one string, got {value!r}")
    name = value.strip().upper()
    if name not in allowed:
        raise PermissionPatchError(f"{where}: unknown permission {value!r}; expected one of {', '.join(allowed)}")
    return name


def normalize_names(values, allowed, where):
    """The names of one permission or a list of them, upper-cased, checked against allowed, de-duplicated and
    sorted; PermissionPatchError naming ``where`` for an unknown one."""
    return sorted({_permission_name(item, allowed, where) for item in _as_list(values, where)})


def normalize_document(document, system_permissions=SYSTEM_PERMISSIONS_16, where="permissions"):
    """A permission document with identifiers as strings, names upper-cased and checked, values as sorted lists.

    Keys it does not have stay absent (so that a partial document manages only the kinds it names); an
    unknown key is an error naming it.
    """
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise PermissionPatchError(f"{where} must be a dict keyed by {', '.join(KINDS)}")
    normalized = {}
    for kind, value in document.items():
        if kind == SYSTEM_KIND:
            normalized[kind] = normalize_names(value, system_permissions, f"{where}.{kind}")
        elif kind in OBJECT_KINDS:
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise PermissionPatchError(f"{where}.{kind} must be a dict of identifier -> permissions")
            objects = {}
            for identifier, names in value.items():
                if str(identifier) == "":
                    raise PermissionPatchError(f"{where}.{kind} has an empty identifier")
                objects[str(identifier)] = normalize_names(names, OBJECT_PERMISSIONS, f"{where}.{kind}.{identifier}")
            normalized[kind] = {identifier: names for identifier, names in sorted(objects.items()) if names}
        else:
            raise PermissionPatchError(f"{where}: unknown permission kind {kind!r}; expected one of {', '.join(KINDS)}")
    return normalized


def permission_path(kind, identifier=None):
    """The patch path of a permission of a kind: on the object identifier, or /systemPermissions."""
    return SYSTEM_PATH if kind == SYSTEM_KIND else OBJECT_KINDS[kind] + str(identifier)


def split_path(path):
    """(kind, identifier) of a patch path: (SYSTEM_KIND, None) for /systemPermissions, (None, None) for a path
    of no kind, identifier "" for an object kind's bare prefix."""
    if path == SYSTEM_PATH:
        return SYSTEM_KIND, None
    for kind, prefix in OBJECT_KINDS.items():
        if path.startswith(prefix):
            return kind, path[len(prefix):]
    return None, None


def flatten(document, kinds=None):
    """The (path, value) pairs of a permission document, one per permission, for the kinds asked (default all)."""
    pairs: set[tuple[str, str]] = set()
    for kind, value in (document or {}).items():
        if kinds is not None and kind not in kinds:
            continue
        if kind == SYSTEM_KIND:
            pairs.update((SYSTEM_PATH, name) for name in value or [])
        elif kind in OBJECT_KINDS:
            for identifier, names in (value or {}).items():
                pairs.update((permission_path(kind, identifier), name) for name in names or [])
    return pairs


def unflatten(pairs):
    """A permission document (every kind present) from (path, value) pairs."""
    document: dict[str, Any] = {kind: {} for kind in OBJECT_KINDS}
    document[SYSTEM_KIND] = []
    for path, value in sorted(pairs):
        kind, identifier = split_path(path)
        if kind == SYSTEM_KIND:
            document[SYSTEM_KIND].append(value)
        elif kind is not None:
            document[kind].setdefault(identifier, []).append(value)
    return document


def apply_operations(document, operations):
    """The permission document (every kind present) after the patch operations: what a PATCH makes of it."""
    pairs = flatten(document)
    for operation in operations:
        pair = (operation["path"], operation["value"])
        if operation["op"] == "add":
            pairs.add(pair)
        else:
            pairs.discard(pair)
    return unflatten(pairs)


def validate_operation(operation, system_permissions=SYSTEM_PERMISSIONS_16):
    """Raise PermissionPatchError unless operation is one add/remove of one valid permission."""
    if not isinstance(operation, dict):
        raise PermissionPatchError(f"a patch operation is a dict, got {operation!r}")
    op, path, value = operation.get("op"), operation.get("path"), operation.get("value")
    if op not in OPS:
        raise PermissionPatchError(f"patch operation {operation!r}: op must be add or remove")
    if not isinstance(path, str):
        raise PermissionPatchError(f"patch operation {operation!r}: path must be a string")
    if not isinstance(value, str):
        raise PermissionPatchError(f"patch operation {operation!r}: value must be ONE permission name (a string)")
    kind, identifier = split_path(path)
    if kind == SYSTEM_KIND:
        allowed = system_permissions
    else:
        if kind is None or identifier == "":
            raise PermissionPatchError(f"patch operation {operation!r}: path must be {SYSTEM_PATH} or one of "
                                       f"{', '.join(prefix + '<identifier>' for prefix in OBJECT_KINDS.values())}")
        allowed = OBJECT_PERMISSIONS
    if value not in allowed:
        raise PermissionPatchError(f"patch operation {operation!r}: unknown permission {value!r} for {path}; "
                                   f"expected one of {', '.join(allowed)}")


def build_patch(remove=(), add=(), system_permissions=SYSTEM_PERMISSIONS_16):
    """The patch operations for lists of (path, value) pairs: the removals, then the additions, each in the
    order given, and each operation validated."""
    operations = [{"op": "remove", "path": path, "value": value} for path, value in remove]
    operations += [{"op": "add", "path": path, "value": value} for path, value in add]
    for operation in operations:
        validate_operation(operation, system_permissions)
    return operations


def patch_operations(add=(), remove=(), system_permissions=SYSTEM_PERMISSIONS_16):
    """The operations (validated, in a stable order: removals first) for sets of (path, value) pairs."""
    return build_patch(sorted(remove), sorted(add), system_permissions)


def plan_permissions(current, wanted, state="present", system_permissions=SYSTEM_PERMISSIONS_16, kinds=None):
    """(add, remove) sets of (path, value) pairs that take current to wanted.

    present: add what wanted has and current lacks. absent: remove what both have. exact: also remove what
    current has and wanted lacks, within ``kinds`` (default: the kinds wanted names; a kind it does not name
    is left alone). Both documents are normalized first, so names are checked before anything is sent.
    """
    if state not in STATES:
        raise PermissionPatchError(f"state must be one of {', '.join(STATES)}, got {state!r}")
    wanted = normalize_document(wanted, system_permissions)
    # The server's own document is not checked against this client's list of names (a newer server may
    # know more); only what this module would send is.
    want = flatten(wanted)
    if state != "exact":
        return set_changes(flatten(current), want, STATES[state])
    add, _unused = set_changes(flatten(current), want, ADD)
    scope = set(kinds) if kinds is not None else set(wanted)
    return add, set_changes(flatten(current, scope), want, REPLACE)[1]


def permission_patch(current, wanted, state="present", system_permissions=SYSTEM_PERMISSIONS_16, kinds=None):
    """The minimal JSON Patch (list of operations) between current and wanted; [] when nothing differs."""
    add, remove = plan_permissions(current, wanted, state, system_permissions, kinds)
    return patch_operations(add, remove, system_permissions)


def describe_operations(operations):
    """Human-readable texts of patch operations: 'add READ on /connectionPermissions/1'."""
    return [f"{operation['op']} {operation['value']} on {operation['path']}" for operation in operations]


class NotFound(LookupError):
    """The object an entry names does not exist (or the API user cannot see it)."""


class Ambiguous(LookupError):
    """A name that matches more than one object."""


class ObjectResolver:
    """The objects permissions are granted on: names -> identifiers (and back, for a diff), from the directories
    the lookups need, each read once."""

    def __init__(self, client):
        self.client = client
        self._cache = {}

    def _get(self, path):
        if path not in self._cache:
            self._cache[path] = self.client.get(path) or {}
        return self._cache[path]

    @property
    def groups(self):
        if "groups" not in self._cache:
            self._cache["groups"] = GroupIndex.load(self.client)
        return self._cache["groups"]

    def group_path(self, identifier):
        try:
            return self.groups.path_of(identifier)
        except GroupPathError:
            return str(identifier)

    def connection_label(self, connection):
        parent = connection.get("parentIdentifier") or ROOT
        names = [] if parent == ROOT else split_group_path(self.group_path(parent))
        return join_group_path([*names, connection.get("name", "")])

    def labels_of(self, kind):
        """(kind, identifier) -> label of every object of a kind (a key of the permission document) that the API
        user can see; {} for a kind whose identifiers are their names."""
        if kind == "connectionPermissions":
            return {(kind, i): self.connection_label(c) for i, c in self._get("connections").items()}
        if kind == "connectionGroupPermissions":
            return {(kind, i): self.group_path(i) for i in self.groups.groups}
        if kind == "sharingProfilePermissions":
            connections = self._get("connections")
            labels = {}
            for identifier, profile in self._get("sharingProfiles").items():
                connection = connections.get(str(profile.get("primaryConnectionIdentifier")))
                shared = self.connection_label(connection) if connection else "?"
                labels[(kind, identifier)] = f"{shared}: {profile.get('name')}"
            return labels
        return {}

    # -- lookups: each returns an identifier, or raises NotFound or Ambiguous with a text that starts with where

    def connection(self, where, identifier=None, name=None, parent=None):
        connections = self._get("connections")
        if identifier is not None:
            if identifier not in connections:
                raise NotFound(f"{where}: no connection with identifier {identifier!r}")
            return identifier
        candidates = [(i, c) for i, c in connections.items() if c.get("name") == name]
        if parent is not None:
            parent_id = self.groups.resolve(parent)
            if parent_id is None:
                raise NotFound(f"{where}.parent: no connection group at path {parent!r}")
            candidates = [(i, c) for i, c in candidates if (c.get("parentIdentifier") or ROOT) == parent_id]
        if not candidates:
            place = f" in {parent!r}" if parent is not None else ""
            raise NotFound(f"{where}: no connection named {name!r}{place}")
        if len(candidates) > 1:
            paths = ", ".join(sorted(self.connection_label(c) for _i, c in candidates))
            raise Ambiguous(f"{where}: {len(candidates)} connections are named {name!r} ({paths}); set parent")
        return candidates[0][0]

    def connection_group(self, where, identifier=None, path=None):
        if identifier is not None:
            if self.groups.get(identifier) is None:
                raise NotFound(f"{where}: no connection group with identifier {identifier!r}")
            return identifier
        found = self.groups.resolve(path)
        if found is None:
            raise NotFound(f"{where}: no connection group at path {path!r}")
        return found

    def sharing_profile(self, where, identifier=None, name=None, connection=None, parent=None):
        profiles = self._get("sharingProfiles")
        if identifier is not None:
            if identifier not in profiles:
                raise NotFound(f"{where}: no sharing profile with identifier {identifier!r}")
            return identifier
        connection_id = self.connection(f"{where}.connection", name=connection, parent=parent)
        found = find_child(profiles, connection_id, name, parent_key="primaryConnectionIdentifier")
        if found is not None:
            return found["identifier"]
        raise NotFound(f"{where}: connection {connection!r} has no sharing profile named {name!r}")

    def named(self, where, directory, noun, name):
        if name not in self._get(directory):
            raise NotFound(f"{where}: no {noun} named {name!r}")
        return name

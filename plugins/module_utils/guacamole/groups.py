# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection group paths: ``Production/Web`` <-> the group's identifier.

A path is the names of the groups from the root down, joined by ``/``. ``ROOT``, ``/`` and the empty
string are the root group itself; a leading ``ROOT/`` or ``/`` is allowed (``ROOT/Production`` is
``Production``). A name that holds ``/`` writes it as ``\\/``; ``\\\\`` is one backslash; any other
backslash is an ordinary character (``DOMAIN\\ops`` reads as it is). ``join_group_path`` doubles every backslash.
A top-level group literally named ``ROOT`` cannot be reached by path: use its identifier.

Names are unique among the children of one group (the JDBC backends enforce it), so a path names at most
one group.
"""

from __future__ import annotations

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import GuacamoleError

ROOT = "ROOT"
SEPARATOR = "/"
ESCAPE = "\\"


class GroupPathError(GuacamoleError, ValueError):
    """A path that is not well formed, or that names no group."""


def split_group_path(path):
    """The group names of a path, root first: 'Production/Web' -> ['Production', 'Web']; the root -> []."""
    if path is None:
        return []
    text = str(path)
    names, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        following = text[index + 1] if index + 1 < len(text) else None
        if char == ESCAPE and following in (SEPARATOR, ESCAPE):
            current.append(following)
            index += 2
            continue
        if char == SEPARATOR:
            names.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    names.append("".join(current))
    # Leading and trailing separators are allowed (/Production/, ROOT/Production): drop the empty ends.
    if names and names[0] == "":
        names = names[1:]
    if names and names[-1] == "":
        names = names[:-1]
    if names and names[0] == ROOT:
        names = names[1:]
    if any(name == "" for name in names):
        raise GroupPathError(f"group path {text!r} has an empty group name (two '/' in a row); "
                             "write a '/' inside a name as '\\/'")
    return names


def group_levels(value):
    """The group names of a group given as a path (a string, split as split_group_path does) or as a list of
    names, each taken verbatim as one level ('a/b', 'ROOT' and '..' included): ['a/b'] -> ['a/b']."""
    if isinstance(value, (list, tuple)):
        for name in value:
            if not isinstance(name, str) or name == "":
                raise GroupPathError(f"a group given as a list holds {name!r}: each level must be a non-empty "
                                     "string (one group name, taken as it is)")
        return list(value)
    if value is not None and not isinstance(value, str):
        raise GroupPathError(f"a group must be a path (a string) or a list of group names; got {value!r}")
    return split_group_path(value)


def escape_name(name):
    """One group name as it is written in a path."""
    return str(name).replace(ESCAPE, ESCAPE + ESCAPE).replace(SEPARATOR, ESCAPE + SEPARATOR)


def join_group_path(names):
    """The path of a list of group names, root first; the root for an empty list."""
    names = list(names)
    return SEPARATOR.join(escape_name(name) for name in names) if names else ROOT


class GroupIndex:
    """The connection groups the caller can see, by identifier and by (parent, name).

    Built from ``GET connectionGroups`` (a map identifier -> group with name and parentIdentifier).
    """

    def __init__(self, groups):
        self.groups = {}
        self.children = {}
        for identifier, group in (groups or {}).items():
            self.add(str(group.get("identifier", identifier)), group)

    @classmethod
    def load(cls, client):
        return cls(client.get("connectionGroups") or {})

    def add(self, identifier, group):
        """Record a group (also one just created, so that a path under it resolves at once)."""
        group = dict(group, identifier=identifier)
        group.setdefault("parentIdentifier", ROOT)
        self.groups[identifier] = group
        self.children[(group.get("parentIdentifier") or ROOT, group.get("name"))] = identifier

    def get(self, identifier):
        """The group (as the API returns it) for an identifier; None for ROOT or an unknown one."""
        return self.groups.get(str(identifier))

    def exists(self, identifier):
        return str(identifier) == ROOT or str(identifier) in self.groups

    def child(self, parent, name):
        return self.children.get((parent, name))

    def walk(self, path, start=ROOT):
        """(identifier of the deepest existing group on the path, names of the groups below it that are missing)."""
        current = start
        names = split_group_path(path) if isinstance(path, str) or path is None else list(path)
        for index, name in enumerate(names):
            found = self.child(current, name)
            if found is None:
                return current, names[index:]
            current = found
        return current, []

    def resolve(self, path):
        """The identifier of the group at path, or None when some group on the path does not exist."""
        identifier, missing = self.walk(path)
        return None if missing else identifier

    def names_of(self, identifier):
        """The names from the root down to the group; [] for ROOT. Raises GroupPathError for an unknown group."""
        names, seen, current = [], set(), str(identifier)
        while current != ROOT:
            group = self.groups.get(current)
            if group is None or current in seen:
                raise GroupPathError(f"connection group {identifier!r} does not exist or is not visible "
                                     "to this user")
            seen.add(current)
            names.append(group.get("name"))
            current = group.get("parentIdentifier") or ROOT
        return list(reversed(names))

    def path_of(self, identifier):
        """The path of a group ('ROOT' for the root); the inverse of resolve()."""
        return join_group_path(self.names_of(identifier))

    def visible_path_of(self, identifier, *more_names):
        """The path of a group (with more names appended), or None when a group on the way is not visible."""
        try:
            return join_group_path([*self.names_of(identifier), *more_names])
        except GroupPathError:
            return None

    def descendants(self, identifier):
        """The identifiers of every group below identifier, nearest first."""
        found, queue = [], [str(identifier)]
        while queue:
            parent = queue.pop(0)
            for (group_parent, _name), child in sorted(self.children.items(), key=lambda item: str(item[1])):
                if group_parent == parent and child not in found:
                    found.append(child)
                    queue.append(child)
        return found


def find_parent(index, path=None, identifier=None, path_option="parent", identifier_option="parent_identifier"):
    """(identifier of the parent group, or None when it does not exist; a text saying what is missing).

    identifier wins when given; else path (default the root) is resolved through index.
    """
    if identifier is not None:
        identifier = str(identifier)
        if index.exists(identifier):
            return identifier, None
        return None, (f"{identifier_option}: there is no connection group {identifier!r} "
                      "(or this user may not read it)")
    found, missing = index.walk(path)
    if not missing:
        return found, None
    where = "the root" if found == ROOT else repr(index.path_of(found))
    return None, (f"{path_option}: connection group {path!r} does not exist: there is no group "
                  f"{missing[0]!r} in {where} (or this user may not read it)")


def find_child(directory, parent, name, parent_key="parentIdentifier"):
    """The object of a directory map (GET connections, connectionGroups...) named name under parent, or None."""
    for identifier, item in (directory or {}).items():
        if item.get("name") == name and str(item.get(parent_key) or ROOT) == str(parent):
            return dict(item, identifier=str(item.get("identifier", identifier)))
    return None

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacamole_connection_group
short_description: Create, update or delete an Apache Guacamole connection group
version_added: 0.1.0
description:
  - Manages one connection group, given by its O(path) (such as V(Production/Web)) or by O(name) in a
    O(parent) group.
  - An organizational group only groups connections; a balancing group is itself connectable and hands
    each user one of its child connections.
  - Reads the group, compares its type and attributes with the options, and writes only when something
    differs. With O(create_parents=true), missing groups on the way are created (organizational, no
    attributes).
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
  path:
    description:
      - Path of the group from the root, such as V(Production/Web); the last name is the group's.
      - Group names are separated by C(/); write a C(/) inside a name as C(\/) and a backslash as C(\\).
        A leading C(ROOT/) is allowed.
      - Give either O(path), or O(name) with O(parent) or O(parent_identifier).
    type: str
  name:
    description:
      - Name of the group, in the group O(parent) (or O(parent_identifier)). Names are unique within a group.
    type: str
  parent:
    description:
      - Path of the group that contains this one; V(ROOT) (the default) is the top level.
    type: str
    default: ROOT
  parent_identifier:
    description:
      - Identifier of the group that contains this one (V(ROOT) or a number), instead of O(parent).
    type: str
  type:
    description:
      - V(ORGANIZATIONAL) or V(BALANCING). A new group is V(ORGANIZATIONAL) when not given; an existing
        group keeps its type when not given.
    type: str
    choices: [ORGANIZATIONAL, BALANCING]
  attributes:
    description:
      - Group attributes, such as C(max-connections), C(max-connections-per-user) and
        C(enable-session-affinity) (V(true) or V(false), for balancing groups).
      - Only the attributes named are changed; an empty value unsets one. Names are checked against
        C(GET schema/connectionGroupAttributes), because the server silently drops attributes it does not know.
    type: dict
    default: {}
  create_parents:
    description:
      - Create the missing groups of the parent path (as organizational groups without attributes).
      - Without it, a missing parent fails the task, naming the first missing group.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), delete a group that still contains connections or groups; Guacamole deletes
        everything below it too. Without it, such a group is not deleted and the task fails, saying what it
        contains.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the group, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: creating needs the system permission C(CREATE_CONNECTION_GROUP) and, in a group other than
    the root, C(UPDATE) on that group; updating needs C(UPDATE) on the group; deleting needs C(DELETE).
    C(ADMINISTER) (system) allows all."
  - The root group (C(ROOT)) cannot be changed or deleted.
seealso:
  - module: proxgate.core.guacamole_connection
"""

EXAMPLES = r"""
- name: A group for the web servers, with its parents (auth from GUACAMOLE_* environment variables)
  proxgate.core.guacamole_connection_group:
    path: Production/Web
    create_parents: true

- name: A balancing group with sticky sessions
  proxgate.core.guacamole_connection_group:
    name: Web pool
    parent: Production
    type: BALANCING
    attributes:
      enable-session-affinity: true
      max-connections-per-user: 1

- name: Remove a group and everything in it
  proxgate.core.guacamole_connection_group:
    path: Staging/Old
    state: absent
    force: true
"""

RETURN = r"""
group:
  description: The group after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    identifier:
      description: The group's identifier; V(null) for one that check mode would create.
      type: str
      sample: "4"
    name:
      description: The group's name.
      type: str
      sample: Web
    parentIdentifier:
      description: Identifier of the group that contains it; V(null) when check mode would create that too.
      type: str
      sample: "1"
    path:
      description: The group's path.
      type: str
      sample: Production/Web
    type:
      description: V(ORGANIZATIONAL) or V(BALANCING).
      type: str
      sample: ORGANIZATIONAL
    attributes:
      description: Its attributes.
      type: dict
      sample: {max-connections: null, max-connections-per-user: null, enable-session-affinity: ""}
created_parents:
  description: Paths of the parent groups that were (or, in check mode, would be) created, top first.
  returned: always
  type: list
  elements: str
  sample: [Production]
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.groups import (
    ROOT,
    GroupIndex,
    GroupPathError,
    find_child,
    find_parent,
    join_group_path,
    split_group_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.names import name_problem
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.objects import (
    GuacamoleObjectModule,
    new_attributes,
    planned_changes,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.parameters import ParameterError, plan_attributes

GROUP_TYPES = ("ORGANIZATIONAL", "BALANCING")


class GuacamoleConnectionGroup(GuacamoleObjectModule):
    argument_spec = dict(
        path=dict(type="str"),
        name=dict(type="str"),
        parent=dict(type="str", default=ROOT),
        parent_identifier=dict(type="str"),
        type=dict(type="str", choices=list(GROUP_TYPES)),
        attributes=dict(type="dict", default={}),
        create_parents=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module_kwargs = dict(required_one_of=[("path", "name")],
                         mutually_exclusive=[("path", "name"), ("path", "parent_identifier")])
    directory = "connectionGroups"
    object_key = "group"
    needs = ("a permission: creating a group needs the CREATE_CONNECTION_GROUP system permission and UPDATE on "
             "its parent (unless it is ROOT), updating needs UPDATE on the group, deleting needs DELETE")

    def __init__(self):
        super().__init__()
        self.parent_names = []  # the parent path's names, when the parent is given by path
        self.name = None
        self.groups = self.parent = None
        self.missing = []  # the names of the parent path that do not exist, top first

    def validate(self):
        params = self.params
        if params["path"] is not None and params["parent"] != ROOT:
            self.fail("path and parent are mutually exclusive: path already names the parent groups")
        if params["name"] is not None and params["parent_identifier"] is not None and params["parent"] != ROOT:
            self.fail("parent and parent_identifier are mutually exclusive: give the group by path or by identifier")
        if params["parent_identifier"] is not None and params["create_parents"]:
            self.fail("create_parents needs the parent by path (parent or path), not parent_identifier")
        try:
            if params["path"] is not None:
                names = split_group_path(params["path"])
                if not names:
                    self.fail(f"path {params['path']!r} is the root group, which cannot be managed; "
                              "give the path of a group below it")
                self.parent_names, self.name = names[:-1], names[-1]
            else:
                self.parent_names = split_group_path(params["parent"])
                self.name = params["name"]
        except GroupPathError as exc:
            self.fail(f"{'path' if params['path'] is not None else 'parent'}: {exc}")
        if not self.name.strip():
            self.fail("name must not be empty")
        problem = name_problem("path" if params["path"] is not None else "name", self.name)
        if problem:
            self.fail(problem)

    def locate(self):
        self.groups = groups = GroupIndex.load(self.client)
        if self.params["parent_identifier"] is not None:
            self.parent, problem = find_parent(groups, identifier=self.params["parent_identifier"])
        else:
            self.parent, self.missing = groups.walk(self.parent_names)
            problem = None
            if self.missing:
                path_option = "path" if self.params["path"] is not None else "parent"
                _unused, problem = find_parent(groups, join_group_path(self.parent_names), path_option=path_option)
        if self.parent is None or self.missing:
            if self.params["state"] == "present" and (self.parent is None or not self.params["create_parents"]):
                self.fail(problem + " (set create_parents: true to create it)" if self.missing else problem)
            return None
        return find_child(groups.groups, self.parent, self.name)

    def extra_results(self):
        return {"created_parents": []}

    def desired(self, existing):
        try:
            return self.schema_values(self.params["attributes"], "schema/connectionGroupAttributes",
                                      where="attributes", what="attribute")
        except ParameterError as exc:
            self.fail(str(exc))

    def describe(self, identifier, parent, group_type, attributes, path=None):
        if path is None:
            path = self.groups.path_of(identifier)
        return dict(identifier=identifier, name=self.name, parentIdentifier=parent, path=path, type=group_type,
                    attributes=attributes)

    def post_group(self, name, parent, group_type, attributes):
        """Create one group (unless check mode) and record it in the index; its identifier (None in check mode)."""
        body = dict(name=name, parentIdentifier=parent, type=group_type, attributes=attributes)
        identifier = self.post_object(body)
        if identifier is not None:
            self.groups.add(identifier, dict(body, identifier=identifier))
        return identifier

    def create(self, desired):
        parent, created, path = self.parent, [], None
        if self.missing:
            names = list(self.groups.names_of(parent))
            for name in self.missing:
                names.append(name)
                parent = self.post_group(name, parent, "ORGANIZATIONAL", {})
                created.append(join_group_path(names))
            path = join_group_path(names + [self.name])
        elif parent:
            path = join_group_path(list(self.groups.names_of(parent)) + [self.name])
        group_type = self.params["type"] or "ORGANIZATIONAL"
        final_attributes = new_attributes(desired)
        identifier = self.post_group(self.name, parent, group_type, final_attributes)
        after = {"path": path, "type": group_type, "attributes": final_attributes}
        if created:
            after["created_parents"] = self.extra["created_parents"] = created
        return self.describe(identifier, parent, group_type, final_attributes, path=path), after

    def update(self, existing, desired):
        identifier = existing["identifier"]
        group_type = self.params["type"] or existing.get("type")
        final_attributes, attribute_changes = plan_attributes(existing.get("attributes"), desired)
        changes = Changes()
        if group_type != existing.get("type"):
            changes.add("type", existing.get("type"), group_type)
        planned_changes(changes, attributes=attribute_changes)
        parent = str(existing.get("parentIdentifier") or ROOT)
        if changes:
            self.put_object(identifier, dict(name=existing["name"], identifier=identifier, parentIdentifier=parent,
                                             type=group_type, attributes=final_attributes))
        return self.describe(identifier, parent, group_type, final_attributes), changes

    def delete(self, existing):
        identifier = existing["identifier"]
        path = self.groups.path_of(identifier)
        if not self.params["force"]:
            self.refuse_if_not_empty(identifier, path)
        self.delete_object(identifier)
        return {"path": path, "type": existing.get("type")}

    def refuse_if_not_empty(self, identifier, path):
        groups = self.groups
        child_groups = [groups.path_of(child) for child in groups.descendants(identifier)
                        if groups.get(child).get("parentIdentifier") == identifier]
        connections = sorted(item.get("name") for item in (self.client.get("connections") or {}).values()
                             if str(item.get("parentIdentifier")) == identifier)
        if child_groups or connections:
            parts = []
            if connections:
                parts.append(f"connections {', '.join(connections)}")
            if child_groups:
                parts.append(f"groups {', '.join(child_groups)}")
            self.fail(f"connection group {path!r} is not empty (it holds {' and '.join(parts)}); deleting it "
                      "would delete them too: set force: true to do so")


def main():
    GuacamoleConnectionGroup().execute()


if __name__ == "__main__":
    main()

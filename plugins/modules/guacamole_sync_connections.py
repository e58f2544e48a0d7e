#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacamole_sync_connections
short_description: Make a Guacamole connection group hold exactly a list of connections
version_added: 0.1.0
description:
  - Takes one connection group of Apache Guacamole, O(root), as its own, and makes everything below it match
    O(connections) - the connections with their protocol and parameters, the groups they sit in, and C(READ)
    for the user groups named - in one run, with one login.
  - A connection given O(connections[].guest) is found by that identity wherever it is below O(root) and whatever
    its name, and is renamed or moved to match (which keeps its identifier, history, sharing profiles and stored
    passwords). The identity is stored in the connection as the parameter C(proxgate-guest), which guacd never
    receives (it asks only for its protocol's parameters). A connection is never re-pointed at another guest.
  - A connection without O(connections[].guest) is matched by name in its group; one that exists under O(root) with
    the same name in another group (a guest that changed pool) is moved. It never takes a connection that holds
    another guest's identity.
  - With O(prune), connections and groups under O(root) that O(connections) does not name are deleted, and so is
    C(READ) of user groups on the connections and groups under O(root) that O(connections) does not ask for.
    Nothing outside O(root) is read for changes or touched.
  - Everything is read and checked first (parameter names and values against the server's schema, user groups,
    names); nothing is written when a check fails. Only what differs is written, so a second run with the same
    list writes nothing.
  - The role C(proxgate.core.guacamole_sync) uses it to publish the guests of a Proxmox VE
    inventory; it works for any list of hosts.
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
      - The diff lists, by path, the connections created, changed, moved and removed (secret parameters as
        C(********)), the groups created and removed, and the C(READ) grants of each user group whose grants change.
options:
  root:
    description:
      - Path of the connection group the module manages, such as V(Proxmox) or V(Clusters/pve-prod); created with
        its parents when missing.
      - Group names are separated by C(/); write a C(/) inside a name as C(\/).
      - It cannot be the root group (V(ROOT)) itself, so that O(prune) can never reach connections made elsewhere.
    type: str
    required: true
  connections:
    description:
      - Every connection that must exist below O(root). Names are unique within a group.
      - An empty list removes everything below O(root) (with O(prune)), which needs O(allow_empty=true).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name of the connection.
          - When the name is held in its group by a connection of another guest that stays (kept, or not pruned),
            or by another entry, the connection is published as C(<name> (<guest>)) instead, and the result's
            RV(renamed) and a warning say so; the connection that has the name already keeps it.
        type: str
        required: true
      guest:
        description:
          - The identity of the machine the connection reaches, such as V(pve-prod/101) (cluster and vmid, as the
            role C(proxgate.core.guacamole_sync) gives it). Names are only labels; the identity says which stored
            connection belongs to which guest.
          - The existing connection with this identity is updated, renamed or moved. A connection stored without an
            identity (made by hand or by an older version) is taken, and given the identity, only when it has this
            entry's name and the same C(hostname); otherwise a new connection is made.
          - No two entries may have the same identity.
        type: str
      group:
        description:
          - Its group below O(root), either as a path, such as V(production) or V(pve1/web) (names separated by
            C(/), a C(/) inside a name written C(\/)), or as a list of group names from O(root) down, each one
            level taken as it is, such as V([a/b]) (one group named C(a/b)) or V([ROOT]).
          - Give names that others choose (a pool, a node) as a list, so that none of them becomes a path.
          - Empty (the default) or an empty list is O(root) itself. Missing groups are created.
        type: raw
        default: ""
      protocol:
        description: The protocol.
        type: str
        required: true
        choices: [vnc, rdp, ssh, telnet, kubernetes]
      parameters:
        description:
          - Its parameters, spelled as Guacamole spells them (C(hostname), C(port), C(ignore-cert)...); values may be
            strings, numbers or booleans, and an empty value removes a parameter.
          - Checked against the protocol's parameters as the server lists them. Parameters not named are kept as they
            are stored (a password typed in the web UI stays), unless O(purge_parameters=true); when the protocol
            changes, stored parameters the new protocol does not have are dropped.
          - Secret parameters (C(password), C(private-key), C(passphrase)...) are never shown in results or diffs.
        type: dict
        default: {}
      attributes:
        description:
          - Connection attributes, such as C(max-connections) or C(guacd-hostname); only those named are changed.
        type: dict
        default: {}
      user_groups:
        description:
          - User groups given C(READ) on the connection and on each group from O(root) down to it (so that they
            see the folders in the web UI).
        type: list
        elements: str
        default: []
  keep:
    description:
      - Names of connections below O(root) to leave exactly as they are, wherever they are - neither changed nor
        removed, nor their C(READ) grants. For hosts that are known but cannot be described now, such as a stopped
        guest whose address is unknown.
      - A name may not be both here and in O(connections).
    type: list
    elements: str
    default: []
  keep_guests:
    description:
      - Identities (O(connections[].guest)) of connections below O(root) to leave exactly as they are, like O(keep),
        but by identity, not by name - for a stopped guest, whose name may now be another guest's.
      - An identity may not be both here and in O(connections).
    type: list
    elements: str
    default: []
  prune:
    description:
      - Delete the connections below O(root) that are neither in O(connections) nor in O(keep), and the groups below
        O(root) that no connection of O(connections) or O(keep) is in.
    type: bool
    default: true
  prune_permissions:
    description:
      - Revoke C(READ) that a user group holds on a connection of O(connections) or on one of their groups when
        O(connections) does not give it. The permissions of users, and permissions other than C(READ), are never
        touched.
      - Needs one request per user group of the data source to read their permissions.
    type: bool
    default: true
  allow_empty:
    description:
      - Accept an empty O(connections) (with an empty O(keep)) and remove everything below O(root).
      - Without it such a run fails, because an inventory that failed to load gives an empty list, and must not
        empty the gateway.
    type: bool
    default: false
  create_user_groups:
    description:
      - Create the user groups of O(connections[].user_groups) that do not exist (enabled, without members).
      - Without it, a user group that does not exist fails the task before anything is written.
    type: bool
    default: false
  purge_parameters:
    description: Remove every stored parameter that O(connections[].parameters) does not name (secrets too).
    type: bool
    default: false
  update_password:
    description:
      - V(always) compares each secret parameter given with the stored value and rewrites it when it differs.
      - V(on_create) sets secrets only when a connection is created; once it exists they are neither compared nor
        rewritten.
    type: str
    choices: [always, on_create]
    default: always
  allow_unknown_parameters:
    description: Accept parameter names the server's schema does not list for the protocol.
    type: bool
    default: false
  concurrency:
    description:
      - How many requests are in flight at once when the module reads the connections' parameters and the user
        groups' permissions, and when it creates, updates (in place) and deletes connections and changes grants.
        Groups, and connections that change name or group, are written one at a time.
      - V(1) sends one request at a time.
    type: int
    default: 16
notes:
  - "Privileges: C(CREATE_CONNECTION) and C(CREATE_CONNECTION_GROUP) (and C(CREATE_USER_GROUP) with
    O(create_user_groups)), C(UPDATE) and C(DELETE) on the groups and connections below O(root), C(UPDATE) on the
    user groups and C(ADMINISTER) on the objects whose C(READ) changes. The system permission C(ADMINISTER) allows
    all; an account that created O(root) and everything in it holds the object permissions already."
  - "Requests: about 6 reads, plus one per existing connection below O(root) (its parameters, which hold its
    guest's identity), plus one per user group with O(prune_permissions) (one per user group named otherwise);
    then one write per group or connection created, changed or deleted, and one per user group whose grants
    change. Reads and most writes go O(concurrency) at a time."
  - The module runs where the API is reachable, normally the controller (a play on C(localhost)).
seealso:
  - module: proxgate.core.guacamole_connection
  - module: proxgate.core.guacamole_info
"""

EXAMPLES = r"""
- name: Publish three hosts under Lab, grouped by site, with READ for their teams
  proxgate.core.guacamole_sync_connections:
    root: Lab
    connections:
      - name: web01
        group: paris
        protocol: ssh
        parameters: {hostname: 10.20.0.11, port: 22}
        user_groups: [operators]
      - name: win-desktop
        group: paris
        protocol: rdp
        parameters: {hostname: 10.20.0.40, port: 3389, ignore-cert: true, security: any}
        user_groups: [operators, desktop-users]
      - name: printer
        protocol: vnc
        parameters: {hostname: 10.20.9.9, port: 5900}
  delegate_to: localhost

- name: The same, from a list built earlier; a stopped host's connection is left as it is
  proxgate.core.guacamole_sync_connections:
    api_url: https://gateway.example.com/guacamole
    api_username: automation
    api_password: "{{ vault_guacamole_password }}"
    root: Proxmox
    connections: "{{ wanted_connections }}"
    keep: [db01]
  delegate_to: localhost

- name: Only add and update, never delete or revoke
  proxgate.core.guacamole_sync_connections:
    root: Proxmox
    connections: "{{ wanted_connections }}"
    prune: false
    prune_permissions: false
  delegate_to: localhost
"""

RETURN = r"""
root:
  description: The path of O(root).
  returned: always
  type: str
  sample: Proxmox
connections:
  description: The connections of O(connections) after the run (in check mode, as they would be), in the given order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The connection's name.
      type: str
    path:
      description: The connection's path.
      type: str
      sample: Proxmox/production/web01
    identifier:
      description: Its identifier; V(null) for one that check mode would create.
      type: str
    protocol:
      description: Its protocol.
      type: str
    parameters:
      description: Its parameters after the run, secrets as C(********).
      type: dict
    user_groups:
      description: The user groups given C(READ) on it.
      type: list
      elements: str
    guest:
      description: Its identity (O(connections[].guest)), or V(null).
      type: str
    status:
      description: V(created), V(updated), V(moved) (renamed or moved, and perhaps updated) or V(unchanged).
      type: str
  sample:
    - {name: web01, path: Proxmox/production/web01, identifier: "3", protocol: ssh, status: created,
       parameters: {hostname: 10.20.0.111, port: "22"}, user_groups: [operators]}
created:
  description: Paths of the connections created.
  returned: always
  type: list
  elements: str
  sample: [Proxmox/production/web01]
updated:
  description: Paths of the connections whose protocol, parameters or attributes were changed.
  returned: always
  type: list
  elements: str
moved:
  description: The connections moved to another group or renamed, each with its old and new path.
  returned: always
  type: list
  elements: dict
  sample: [{from: Proxmox/production/win-desktop, to: Proxmox/win-desktop}]
renamed:
  description:
    - The entries published under another name than O(connections[].name), because a connection of another guest
      (or another entry) has that name in that group.
  returned: always
  type: list
  elements: dict
  sample: [{name: finance-db, published_as: "finance-db (pve/150)", guest: pve/150,
            path: "Proxmox/finance-db (pve\\/150)", held_by: pve/200}]
removed:
  description: Paths of the connections deleted.
  returned: always
  type: list
  elements: str
kept:
  description: Paths of the connections left as they are because O(keep) names them.
  returned: always
  type: list
  elements: str
groups_created:
  description: Paths of the connection groups created, parents first (O(root) and its parents included).
  returned: always
  type: list
  elements: str
groups_removed:
  description: Paths of the connection groups deleted, deepest first.
  returned: always
  type: list
  elements: str
user_groups_created:
  description: Names of the user groups created (O(create_user_groups)).
  returned: always
  type: list
  elements: str
permissions:
  description:
    - For each user group whose grants change, the paths it was granted C(READ) on and the paths its C(READ) was
      revoked from. A group's path ends with C(/).
  returned: always
  type: dict
  sample: {operators: {granted: [Proxmox/, Proxmox/production/, Proxmox/production/web01], revoked: []}}
"""

from collections import defaultdict

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import ADD, REPLACE, set_changes
from ansible_collections.proxgate.core.plugins.module_utils.common.diff import mask_secrets, show_changed_secrets
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import GuacamoleApiError, path_of
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.groups import (
    ROOT,
    GroupIndex,
    GroupPathError,
    group_levels,
    join_group_path,
    split_group_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import GuacamoleModule
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.names import name_problem
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.objects import new_attributes
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.objects import secret_texts as secret_values
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.parameters import (
    PROTOCOLS,
    ParameterError,
    form_fields,
    normalize_values,
    plan_attributes,
    plan_parameters,
    protocol_fields,
    secret_names,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.permissions import build_patch, permission_path

READ = "READ"
CONNECTION = "connection"
GROUP = "group"
PERMISSION_KINDS = {CONNECTION: "connectionPermissions", GROUP: "connectionGroupPermissions"}
# Where a connection keeps the identity of its guest: a parameter, because the REST API drops the attributes its
# schema does not list (DirectoryObjectTranslator.filterAttributes) while the JDBC extension stores any parameter.
GUEST_PARAMETER = "proxgate-guest"


# ----------------------------------------------------------------------------- options

def entry_label(index, entry):
    name = (entry.get("name") or "").strip()
    return f"connections[{index}] ({name})" if name else f"connections[{index}]"


def option_errors(params):
    """Every problem of the options that can be seen without asking the server, each naming the option."""
    errors = []
    try:
        if not split_group_path(params["root"]):
            errors.append("root must be a connection group below ROOT, such as Proxmox (managing ROOT itself would "
                          "let prune delete every connection of the data source)")
    except GroupPathError as exc:
        errors.append(f"root: {exc}")
    seen, guests = {}, {}
    keep_guests = set(params.get("keep_guests") or [])
    for index, entry in enumerate(params["connections"] or []):
        where = entry_label(index, entry)
        if not (entry.get("name") or "").strip():
            errors.append(f"{where}.name must not be empty")
            continue
        try:
            group = tuple(group_levels(entry.get("group") or ""))
        except GroupPathError as exc:
            errors.append(f"{where}.group: {exc}")
            continue
        problems = [name_problem(f"connections[{index}].name", entry["name"])]
        problems += [name_problem(f"connections[{index}].group[{level}]", name) for level, name in enumerate(group)]
        guest = entry.get("guest")
        if guest is not None:
            problems.append(name_problem(f"connections[{index}].guest", guest))
        if any(problems):
            errors.extend(problem for problem in problems if problem)
            continue
        if GUEST_PARAMETER in (entry.get("parameters") or {}):
            errors.append(f"{where}.parameters: {GUEST_PARAMETER} is set from connections[].guest, not given")
        key = (*group, entry["name"])
        if key in seen and (guest is None or seen[key][1] is None):
            errors.append(f"{where} has the same group and name as connections[{seen[key][0]}] (two entries may "
                          "share a name only when both give their guest)")
        seen.setdefault(key, (index, guest))
        if guest is not None:
            if guest in guests:
                errors.append(f"{where} has the same guest {guest!r} as connections[{guests[guest]}]; when several "
                              "clusters publish below one root, give each cluster its own name")
            guests.setdefault(guest, index)
            if guest in keep_guests:
                errors.append(f"{where}: guest {guest!r} is also in keep_guests; a connection is either managed or "
                              "kept")
        if entry["name"] in (params.get("keep") or []):
            errors.append(f"{where}: {entry['name']!r} is also in keep; a connection is either managed or kept")
        for user_group in entry.get("user_groups") or []:
            if not str(user_group).strip():
                errors.append(f"{where}.user_groups holds an empty name")
    keeps_something = params.get("keep") or params.get("keep_guests")
    if params.get("concurrency") is not None and params["concurrency"] < 1:
        errors.append(f"concurrency must be 1 or more, got {params['concurrency']}")
    if not params["connections"] and not keeps_something and params["prune"] and not params["allow_empty"]:
        errors.append("connections is empty: this would delete every connection below root; if that is what you "
                      "want, set allow_empty: true (an inventory that failed to load also gives an empty list)")
    return errors


class Entry:
    """One wanted connection, with its group below root as a tuple of names."""

    def __init__(self, index, option):
        self.index = index
        self.name = self.wanted_name = option["name"]
        self.guest = option.get("guest")
        self.group = tuple(group_levels(option.get("group") or ""))
        self.protocol = option["protocol"]
        self.given_parameters = option.get("parameters") or {}
        self.given_attributes = option.get("attributes") or {}
        self.user_groups = sorted({str(name) for name in option.get("user_groups") or []})
        self.parameters = {}
        self.attributes = {}
        self.fields = {}

    @property
    def key(self):
        return (*self.group, self.name)

    @property
    def label(self):
        return entry_label(self.index, {"name": self.name})


def secret_texts(entries):
    """The texts of the secret parameter values given, for Ansible to mask wherever they appear."""
    texts = set()
    for option in entries:
        given = option.get("parameters") or {}
        texts |= secret_values(given, secret_names(given))
    return texts


# ----------------------------------------------------------------------------- the tree below root

def group_prefixes(group):
    """(), then each group on the way down to group: ('a', 'b') -> [(), ('a',), ('a', 'b')]."""
    return [tuple(group[:length]) for length in range(len(group) + 1)]


class ManagedTree:
    """What exists below root: groups by their names below root (root is ()), connections by identifier."""

    def __init__(self, index, connections, root_names):
        self.index = index
        self.root_names = list(root_names)
        root, missing = index.walk(self.root_names)
        self.root_id = None if missing else root
        self.missing_root = missing
        self.groups = {}
        self.connections = {}
        if self.root_id is None:
            return
        self.groups[()] = self.root_id
        for identifier in index.descendants(self.root_id):
            self.groups[tuple(index.names_of(identifier)[len(self.root_names):])] = identifier
        by_id = {identifier: names for names, identifier in self.groups.items()}
        for identifier, connection in (connections or {}).items():
            parent = str(connection.get("parentIdentifier") or ROOT)
            if parent in by_id:
                self.connections[str(connection.get("identifier", identifier))] = dict(
                    connection, identifier=str(connection.get("identifier", identifier)), group=by_id[parent])

    def key(self, identifier):
        """An existing connection's place: its group's names below root, then its name."""
        connection = self.connections[identifier]
        return (*connection["group"], connection.get("name"))

    def path(self, group, name=None):
        """The full path of a group below root (or of a connection in it)."""
        names = [*self.root_names, *group]
        return join_group_path(names + [name] if name is not None else names)

    def label(self, kind, key):
        """How a permission object is shown: a connection's path, a group's path with a trailing '/'."""
        if kind == CONNECTION:
            return self.path(key[:-1], key[-1])
        return self.path(key) + "/"


def match_connections(entries, tree, stored, keep, keep_guests):
    """Which existing connection each entry becomes.

    stored: {identifier: its stored parameters} of every connection below root; the parameter GUEST_PARAMETER is its
    guest's identity. Returns ({entry index: identifier}, [identifiers of kept connections], [identifiers no entry
    takes]). An entry with a guest takes the connection of that guest, wherever it is. Otherwise an entry takes a
    connection without a guest identity: the one of its name in its group, failing that the only one of its name
    elsewhere below root that no entry takes (it is moved); an entry with a guest takes it only when it also has the
    entry's hostname, so that no connection is ever re-pointed at another machine.
    """
    def guest_of(identifier):
        return (stored.get(identifier) or {}).get(GUEST_PARAMETER) or None

    claimed = {entry.guest for entry in entries if entry.guest}
    keep, keep_guests = set(keep), set(keep_guests)
    kept = sorted((i for i, c in tree.connections.items()
                   if guest_of(i) in keep_guests or (c.get("name") in keep and guest_of(i) not in claimed)),
                  key=int_key)
    free = {i: c for i, c in tree.connections.items() if i not in kept}
    matched = {}
    by_guest = defaultdict(list)
    for identifier in sorted(free, key=int_key):
        if guest_of(identifier):
            by_guest[guest_of(identifier)].append(identifier)
    for entry in entries:
        candidates = by_guest.get(entry.guest) if entry.guest else None
        if candidates:
            same_place = [i for i in candidates if tree.key(i) == entry.key]
            matched[entry.index] = (same_place or candidates)[0]
    taken = set(matched.values())

    def adoptable(entry, identifier):
        if identifier in taken or guest_of(identifier):
            return False
        return entry.guest is None or (stored.get(identifier) or {}).get("hostname") == entry.parameters.get("hostname")

    by_key = {tree.key(i): i for i in free if not guest_of(i)}
    for entry in entries:
        identifier = by_key.get(entry.key)
        if entry.index not in matched and identifier is not None and adoptable(entry, identifier):
            matched[entry.index] = identifier
            taken.add(identifier)
    unmatched = [entry for entry in entries if entry.index not in matched]
    wanted_names = defaultdict(int)
    for entry in unmatched:
        wanted_names[entry.name] += 1
    by_name = defaultdict(list)
    for identifier, connection in free.items():
        if not guest_of(identifier):
            by_name[connection.get("name")].append(identifier)
    for entry in unmatched:
        candidates = [i for i in by_name.get(entry.name, ()) if i not in taken]
        if len(candidates) == 1 and wanted_names[entry.name] == 1 and adoptable(entry, candidates[0]):
            matched[entry.index] = candidates[0]
            taken.add(candidates[0])
    leftover = sorted((i for i in free if i not in taken), key=int_key)
    return matched, kept, leftover


def publish_names(entries, tree, stored, matched, staying):
    """Give each entry the name it is published under; returns the renamed ones for the result.

    staying: identifiers of the connections that stay below root untaken (kept, or not pruned). An entry whose key is
    held by one of them, or by an entry placed before it, is published as "<name> (<guest>)". Entries whose
    connection already holds their key are placed first, so that a connection that has a name keeps it.
    """
    held = {tree.key(i): i for i in staying}
    used = {}
    renamed = []

    def already_there(entry):
        identifier = matched.get(entry.index)
        return identifier in tree.connections and tree.key(identifier) == entry.key

    for entry in sorted(entries, key=lambda entry: (not already_there(entry), entry.index)):
        key = entry.key
        if key not in held and key not in used:
            used[key] = entry
            continue
        holder = held.get(key)
        held_by = (stored.get(holder) or {}).get(GUEST_PARAMETER) if holder is not None else used[key].guest
        if entry.guest is None:
            return renamed, (f"{entry.label}: the name is held in its group by "
                             + (f"the connection of guest {held_by!r}" if held_by else "a connection kept or not "
                                "pruned") + "; give connections[].guest so that it can be published under another "
                             "name, or remove the other connection")
        entry.name = f"{entry.wanted_name} ({entry.guest})"
        if entry.key in held or entry.key in used:
            return renamed, f"{entry.label}: both {entry.wanted_name!r} and {entry.name!r} are taken in its group"
        used[entry.key] = entry
        renamed.append(dict(name=entry.wanted_name, published_as=entry.name, guest=entry.guest,
                            path=tree.path(entry.group, entry.name), held_by=held_by))
    return sorted(renamed, key=lambda item: item["path"]), None


def int_key(identifier):
    text = str(identifier)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def plan_groups(entries, tree, kept_ids, prune):
    """(groups to create, parents first; groups to remove, deepest first), as name tuples below root.

    Root itself (()) is created when missing and something is to be put in it; it is never removed.
    """
    wanted = set()
    for entry in entries:
        wanted.update(group_prefixes(entry.group))
    holding = set()
    for identifier in kept_ids:
        holding.update(group_prefixes(tree.connections[identifier]["group"]))
    if entries and () not in tree.groups:
        wanted.add(())
    create = sorted((group for group in wanted if group not in tree.groups), key=lambda group: (len(group), group))
    remove = []
    if prune:
        remove = sorted((group for group in tree.groups if group and group not in wanted and group not in holding),
                        key=lambda group: (-len(group), group))
    return create, remove


def wanted_read(entries):
    """The (user group, kind, key) READ grants the entries ask for."""
    pairs = set()
    for entry in entries:
        for user_group in entry.user_groups:
            pairs.add((user_group, CONNECTION, entry.key))
            pairs.update((user_group, GROUP, group) for group in group_prefixes(entry.group))
    return pairs


def current_read(documents, connection_keys, group_keys):
    """The (user group, kind, key) READ grants held on the objects in scope.

    documents: {user group: its permission document}; connection_keys: {identifier: key after the run} of the
    connections in scope; group_keys: {identifier: names below root} of the groups in scope.
    """
    pairs = set()
    for user_group, document in documents.items():
        for kind, scope in ((CONNECTION, connection_keys), (GROUP, group_keys)):
            for identifier, names in ((document or {}).get(PERMISSION_KINDS[kind]) or {}).items():
                if str(identifier) in scope and READ in (names or []):
                    pairs.add((user_group, kind, scope[str(identifier)]))
    return pairs


def read_operations(grants, revokes, connection_ids, group_ids):
    """{user group: patch operations}, revocations first; keys mapped to identifiers."""
    ids = {CONNECTION: connection_ids, GROUP: group_ids}

    def paths(pairs, user_group):
        return [(permission_path(PERMISSION_KINDS[kind], ids[kind][key]), READ)
                for group, kind, key in sorted(pairs) if group == user_group]

    return {user_group: build_patch(paths(revokes, user_group), paths(grants, user_group))
            for user_group in sorted({user_group for user_group, _kind, _key in grants | revokes})}


def permission_report(grants, revokes, tree):
    report = {}
    for name, pairs in (("granted", grants), ("revoked", revokes)):
        for user_group, kind, key in pairs:
            report.setdefault(user_group, {"granted": [], "revoked": []})[name].append(tree.label(kind, key))
    for lists in report.values():
        lists["granted"].sort()
        lists["revoked"].sort()
    return dict(sorted(report.items()))


def read_diff(current, wanted, changed_groups, tree):
    """before/after of the READ grants of the user groups whose grants change, as sorted paths."""
    before, after = {}, {}
    for user_group in sorted(changed_groups):
        before[user_group] = sorted(tree.label(kind, key) for group, kind, key in current if group == user_group)
        after[user_group] = sorted(tree.label(kind, key) for group, kind, key in wanted if group == user_group)
    return before, after


# ----------------------------------------------------------------------------- the module

class GuacamoleSyncConnections(GuacamoleModule):
    argument_spec = dict(
        root=dict(type="str", required=True),
        connections=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            guest=dict(type="str"),
            group=dict(type="raw", default=""),
            protocol=dict(type="str", required=True, choices=list(PROTOCOLS)),
            parameters=dict(type="dict", default={}),
            attributes=dict(type="dict", default={}),
            user_groups=dict(type="list", elements="str", default=[]),
        )),
        keep=dict(type="list", elements="str", default=[]),
        keep_guests=dict(type="list", elements="str", default=[]),
        prune=dict(type="bool", default=True),
        prune_permissions=dict(type="bool", default=True),
        allow_empty=dict(type="bool", default=False),
        create_user_groups=dict(type="bool", default=False),
        purge_parameters=dict(type="bool", default=False),
        update_password=dict(type="str", choices=["always", "on_create"], default="always", no_log=False),
        allow_unknown_parameters=dict(type="bool", default=False),
        concurrency=dict(type="int", default=16),
    )

    def validate(self):
        # First, so that even a failure below shows no secret.
        self.module.no_log_values.update(secret_texts(self.params["connections"] or []))
        errors = option_errors(self.params)
        if errors:
            self.fail("; ".join(errors))
        self.root_names = split_group_path(self.params["root"])
        self.entries = [Entry(index, option) for index, option in enumerate(self.params["connections"])]

    def permission_hint(self, exc):
        return (f"user {self.params['api_username']!r} lacks a permission: the sync needs CREATE_CONNECTION and "
                "CREATE_CONNECTION_GROUP, UPDATE and DELETE below root, UPDATE on the user groups and ADMINISTER on "
                "the objects whose READ changes (or the system permission ADMINISTER)")

    # ------------------------------------------------------------------ reading and checking

    def check_values(self):
        """Normalize every entry's parameters and attributes against the server's schema; fail listing all errors."""
        protocols = self.client.get("schema/protocols") or {}
        attribute_fields = None
        if any(entry.given_attributes for entry in self.entries):
            attribute_fields = form_fields(self.client.get("schema/connectionAttributes"))
        errors = []
        for entry in self.entries:
            try:
                entry.fields = protocol_fields(protocols, entry.protocol)
                entry.parameters = normalize_values(entry.given_parameters, entry.fields,
                                                    where=f"{entry.label}.parameters",
                                                    allow_unknown=self.params["allow_unknown_parameters"])
                if entry.guest:
                    entry.parameters[GUEST_PARAMETER] = entry.guest
                if entry.given_attributes:
                    entry.attributes = normalize_values(entry.given_attributes, attribute_fields,
                                                        where=f"{entry.label}.attributes", what="attribute")
            except ParameterError as exc:
                errors.append(f"{exc} (protocol {entry.protocol})")
        if errors:
            self.fail("; ".join(errors))

    def check_user_groups(self, existing):
        """The user groups to create; fails naming the missing ones unless create_user_groups."""
        named = sorted({name for entry in self.entries for name in entry.user_groups})
        missing = [name for name in named if name not in existing]
        if missing and not self.params["create_user_groups"]:
            self.fail(f"connections[].user_groups: no user group named {', '.join(map(repr, missing))} in data source "
                      f"{self.client.data_source!r} (or the API user cannot see it); create it first, or set "
                      "create_user_groups: true")
        return missing

    def permission_documents(self, existing_user_groups, wanted):
        """{user group: permission document} of the user groups whose READ grants are compared."""
        if self.params["prune_permissions"]:
            names = sorted(existing_user_groups)
        else:
            names = sorted({group for group, _kind, _key in wanted if group in existing_user_groups})

        def read(name):
            try:
                return self.client.get(path_of("userGroups", name, "permissions")) or {}
            except GuacamoleApiError as exc:
                # Listed a moment ago, gone now, or not readable: it holds nothing this run can see.
                if not exc.missing:
                    raise
                return None

        documents = self.each(read, names)
        return {name: documents[index] for index, name in enumerate(names) if documents[index] is not None}

    def each(self, function, items):
        """function over items, params['concurrency'] requests at a time."""
        return self.client.each(function, items, self.params["concurrency"])

    # ------------------------------------------------------------------ planning

    def read_stored_parameters(self, tree):
        """{identifier: stored parameters} of every connection below root: they hold the guests' identities."""
        identifiers = sorted(tree.connections, key=int_key)
        read = self.each(lambda identifier: self.client.get(path_of("connections", identifier, "parameters")) or {},
                         identifiers)
        return {identifier: read[index] for index, identifier in enumerate(identifiers)}

    def plan_connection(self, entry, tree, identifier):
        """What an existing connection needs: (stored parameters, final parameters, final attributes,
        {what changes: (before, after)}, secret names)."""
        existing = tree.connections[identifier]
        stored = self.stored[identifier]
        kept = stored
        if existing.get("protocol") != entry.protocol:
            # Parameters of the old protocol mean nothing (or something else) to the new one.
            kept = {name: value for name, value in stored.items() if name in entry.fields}
        secrets = secret_names(set(entry.parameters) | set(stored), entry.fields)
        parameters, parameter_changes = plan_parameters(
            kept, entry.parameters, exists=True, secrets=secrets, update_password=self.params["update_password"],
            purge=self.params["purge_parameters"])
        attributes, attribute_changes = plan_attributes(existing.get("attributes"), entry.attributes)
        changes = {}
        if existing.get("protocol") != entry.protocol:
            changes["protocol"] = (existing.get("protocol"), entry.protocol)
        if parameter_changes:
            changes["parameters"] = sorted(parameter_changes)
        if attribute_changes:
            changes["attributes"] = sorted(attribute_changes)
        if existing["group"] != entry.group or existing.get("name") != entry.name:
            changes["group"] = (existing["group"], entry.group)
        return stored, parameters, attributes, changes, secrets

    # ------------------------------------------------------------------ run

    def run(self):
        self.check_values()
        user_group_map = self.client.get("userGroups") or {}
        plan = Plan(self.params, self.entries)
        plan.user_groups_to_create = self.check_user_groups(user_group_map)
        plan.tree = tree = ManagedTree(GroupIndex.load(self.client), self.client.get("connections") or {},
                                       self.root_names)
        self.stored = self.read_stored_parameters(tree)
        plan.matched, plan.kept, leftover = match_connections(self.entries, tree, self.stored, self.params["keep"],
                                                              self.params["keep_guests"])
        plan.removed = leftover if self.params["prune"] else []
        staying = plan.kept + ([] if self.params["prune"] else leftover)
        plan.renamed, problem = publish_names(self.entries, tree, self.stored, plan.matched, staying)
        if problem:
            self.fail(problem)
        for item in plan.renamed:
            self.warn(f"{item['name']!r} (guest {item['guest']}) is published as {item['published_as']!r}: its name is "
                      + (f"held by the connection of guest {item['held_by']}" if item["held_by"] else
                         "held by another connection") + "; a connection is never re-pointed at another guest")
        plan.groups_to_create, plan.groups_to_remove = plan_groups(self.entries, tree, plan.kept, self.params["prune"])
        for entry in self.entries:
            identifier = plan.matched.get(entry.index)
            if identifier is None:
                plan.add_create(entry)
            else:
                plan.add_existing(entry, identifier, *self.plan_connection(entry, tree, identifier))
        self.plan_read(plan, user_group_map)
        if plan.changed and not self.check_mode:
            self.write(plan)
        return plan.result(self.diff_mode)

    def plan_read(self, plan, user_group_map):
        """The READ grants and revocations. In scope: the connections an entry takes over and the wanted groups that
        exist; kept connections, and what is removed (its permissions go with it), are not."""
        tree = plan.tree
        connection_scope = {identifier: self.entries[i].key for i, identifier in plan.matched.items()}
        wanted_groups = {group for entry in self.entries for group in group_prefixes(entry.group)}
        group_scope = {identifier: group for group, identifier in tree.groups.items() if group in wanted_groups}
        plan.wanted_read = wanted_read(self.entries)
        documents = self.permission_documents(user_group_map, plan.wanted_read)
        plan.current_read = current_read(documents, connection_scope, group_scope)
        plan.grants, plan.revokes = set_changes(plan.current_read, plan.wanted_read,
                                                REPLACE if self.params["prune_permissions"] else ADD)

    # ------------------------------------------------------------------ writing

    def write(self, plan):
        """Create user groups, groups, connections; update and move; grant and revoke READ; then delete."""
        client, tree = self.client, plan.tree
        for name in plan.user_groups_to_create:
            try:
                client.post("userGroups", json=client.set_disabled({"identifier": name, "attributes": {}}, False))
            except GuacamoleApiError as exc:
                if not exc.already_made:  # else a run in parallel made it a moment ago
                    raise
        group_ids = dict(tree.groups)
        for group in plan.groups_to_create:
            if group:
                group_ids[group] = self.create_group(group[-1], group_ids[group[:-1]])
                continue
            parent, _missing = tree.index.walk(self.root_names)
            for name in tree.missing_root:
                parent = self.create_group(name, parent)
            group_ids[()] = parent
        connection_ids = {self.entries[i].key: identifier for i, identifier in plan.matched.items()}
        wanted_keys = {entry.key for entry in self.entries}
        # A connection that goes away first frees its name for an entry that takes it over.
        first = [i for i in plan.removed if tree.key(i) in wanted_keys]
        self.each(lambda identifier: self.delete_if_there("connections", identifier), first)
        self.write_updates(plan, group_ids)

        def create(item):
            entry, parameters, attributes = item
            body = dict(name=entry.name, parentIdentifier=group_ids[entry.group], protocol=entry.protocol,
                        parameters=parameters, attributes=attributes)
            return self.create_connection(entry, body)

        created = self.each(create, plan.creates)
        for index, (entry, _parameters, _attributes) in enumerate(plan.creates):
            identifier = connection_ids[entry.key] = created[index]
            plan.connections[entry.index]["identifier"] = identifier
        operations = read_operations(plan.grants, plan.revokes, connection_ids, group_ids)
        self.each(lambda user_group: client.patch(path_of("userGroups", user_group, "permissions"),
                                                  json=operations[user_group]), sorted(operations))
        self.each(lambda identifier: self.delete_if_there("connections", identifier),
                  [identifier for identifier in plan.removed if identifier not in first])
        for group in plan.groups_to_remove:
            self.delete_if_there("connectionGroups", tree.groups[group])

    def delete_if_there(self, directory, identifier):
        """DELETE, where an object already gone (a run in parallel pruned it too) is as good as deleted."""
        try:
            self.client.delete(path_of(directory, identifier))
        except GuacamoleApiError as exc:
            if not exc.missing:
                raise

    def write_updates(self, plan, group_ids):
        """PUT the changed connections, each once its new name is free in its group.

        Names are unique in a group (the server refuses a second one), so a connection whose new name is still held
        by another that moves away waits for it; when two swap names, one first takes a name of its own.
        """
        # Those that keep their name and group go all at once; the others one by one, in an order that works.
        staying = [update for update in plan.updates if plan.tree.key(update[1]) == update[0].key]
        self.each(lambda update: self.put_connection(update[1], update[0].key, group_ids[update[0].group],
                                                     update[0].protocol, update[2], update[3]), staying)
        holders = {plan.tree.key(identifier): identifier for identifier in plan.tree.connections}
        pending = [update for update in plan.updates if plan.tree.key(update[1]) != update[0].key]
        while pending:
            ready = [update for update in pending if holders.get(update[0].key) in (None, update[1])]
            if not ready:
                entry, identifier, parameters, attributes, _changes = pending[0]
                spare = (*entry.group, f"{entry.wanted_name} (moving {identifier})")
                self.put_connection(identifier, spare, group_ids[entry.group], entry.protocol, parameters, attributes)
                holders = {key: i for key, i in holders.items() if i != identifier}
                holders[spare] = identifier
                continue
            for entry, identifier, parameters, attributes, _changes in ready:
                self.put_connection(identifier, entry.key, group_ids[entry.group], entry.protocol, parameters,
                                    attributes)
                holders = {key: i for key, i in holders.items() if i != identifier}
                holders[entry.key] = identifier
            pending = [update for update in pending if update not in ready]

    def put_connection(self, identifier, key, parent, protocol, parameters, attributes):
        body = dict(name=key[-1], identifier=identifier, parentIdentifier=parent, protocol=protocol,
                    parameters=parameters, attributes=attributes)
        self.client.put(path_of("connections", identifier), body)

    def create_group(self, name, parent):
        body = dict(name=name, parentIdentifier=parent, type="ORGANIZATIONAL", attributes={})
        try:
            return str(self.client.post("connectionGroups", body).get("identifier"))
        except GuacamoleApiError as exc:
            if not exc.already_made:
                raise
        # Another run made it a moment ago: take that one.
        identifier = GroupIndex.load(self.client).child(str(parent), name)
        if identifier is not None:
            return identifier
        raise GuacamoleApiError("POST", "connectionGroups", 400, message=f"connection group {name!r} already "
                                "exists, but is not one this user can see")

    def create_connection(self, entry, body):
        """POST the connection; when a run in parallel has just made it (the same guest, or without guests the
        same name), PUT this run's version over it instead."""
        try:
            return str(self.client.post("connections", body).get("identifier"))
        except GuacamoleApiError as exc:
            if not exc.already_made:
                raise
            refused = exc
        for identifier, connection in (self.client.get("connections") or {}).items():
            identifier = str(connection.get("identifier", identifier))
            if connection.get("name") != body["name"] or str(connection.get("parentIdentifier")) != str(
                    body["parentIdentifier"]):
                continue
            stored = self.client.get(path_of("connections", identifier, "parameters")) or {}
            if stored.get(GUEST_PARAMETER) != entry.guest:
                break  # another guest's: never re-pointed
            self.client.put(path_of("connections", identifier), dict(body, identifier=identifier))
            return identifier
        raise refused


class Plan:
    """Everything a run would change, worked out before the first write; its result() is the module's result."""

    def __init__(self, params, entries):
        self.params = params
        self.entries = entries
        self.tree = None
        self.user_groups_to_create = []
        self.matched, self.kept, self.removed, self.renamed = {}, [], [], []
        self.groups_to_create, self.groups_to_remove = [], []
        self.creates, self.updates = [], []
        # The result's connections, in the entries' order.
        self.connections = []
        self.before, self.after = {}, {}
        self.wanted_read, self.current_read, self.grants, self.revokes = set(), set(), set(), set()

    def add_create(self, entry):
        secrets = secret_names(entry.parameters, entry.fields)
        parameters, _unused = plan_parameters({}, entry.parameters, exists=False)
        attributes = new_attributes(entry.attributes)
        self.creates.append((entry, parameters, attributes))
        path = self.tree.path(entry.group, entry.name)
        self.after[path] = {"protocol": entry.protocol, "parameters": mask_secrets(dict(sorted(parameters.items())),
                                                                                   secrets)}
        self.add_result(entry, None, parameters, secrets, "created")

    def add_existing(self, entry, identifier, stored, parameters, attributes, changes, secrets):
        status = "unchanged"
        if changes:
            self.updates.append((entry, identifier, parameters, attributes, changes))
            status = "moved" if "group" in changes else "updated"
            old = self.tree.connections[identifier]
            stored_shown = mask_secrets(dict(sorted(stored.items())), secrets)
            wanted_shown = show_changed_secrets(stored_shown, mask_secrets(dict(sorted(parameters.items())), secrets),
                                                stored, parameters)
            self.before[self.tree.path(old["group"], old["name"])] = {"protocol": old.get("protocol"),
                                                                      "parameters": stored_shown}
            self.after[self.tree.path(entry.group, entry.name)] = {"protocol": entry.protocol,
                                                                   "parameters": wanted_shown}
        self.add_result(entry, identifier, parameters, secrets, status)

    def add_result(self, entry, identifier, parameters, secrets, status):
        self.connections.append(dict(
            name=entry.name, guest=entry.guest, path=self.tree.path(entry.group, entry.name), identifier=identifier,
            protocol=entry.protocol, parameters=mask_secrets(dict(sorted(parameters.items())), secrets),
            user_groups=entry.user_groups, status=status))

    @property
    def changed(self):
        return bool(self.user_groups_to_create or self.groups_to_create or self.creates or self.updates
                    or self.removed or self.groups_to_remove or self.grants or self.revokes)

    def connection_path(self, identifier):
        connection = self.tree.connections[identifier]
        return self.tree.path(connection["group"], connection["name"])

    def groups_created(self):
        """Paths of the groups to create, parents first, with the missing groups above root."""
        tree, paths = self.tree, []
        for group in self.groups_to_create:
            if group:
                paths.append(tree.path(group))
                continue
            present = len(tree.root_names) - len(tree.missing_root)
            paths += [join_group_path(tree.root_names[:present + count + 1]) for count in range(len(tree.missing_root))]
        return paths

    def result(self, diff_mode):
        tree = self.tree
        result = dict(
            changed=self.changed, root=tree.path(()), connections=self.connections,
            created=[tree.path(entry.group, entry.name) for entry, _parameters, _attributes in self.creates],
            updated=[tree.path(entry.group, entry.name) for entry, _id, _parameters, _attributes, changes
                     in self.updates if set(changes) - {"group"}],
            moved=[{"from": self.connection_path(identifier), "to": tree.path(entry.group, entry.name)}
                   for entry, identifier, _parameters, _attributes, changes in self.updates if "group" in changes],
            removed=[self.connection_path(identifier) for identifier in self.removed],
            renamed=self.renamed,
            kept=[self.connection_path(identifier) for identifier in self.kept],
            groups_created=self.groups_created(),
            groups_removed=[tree.path(group) for group in self.groups_to_remove],
            user_groups_created=list(self.user_groups_to_create),
            permissions=permission_report(self.grants, self.revokes, tree),
        )
        if diff_mode:
            before = dict(self.before)
            before.update({self.connection_path(i): {"protocol": tree.connections[i].get("protocol")}
                           for i in self.removed})
            changed_user_groups = {group for group, _kind, _key in self.grants | self.revokes}
            read_before, read_after = read_diff(self.current_read, self.wanted_read, changed_user_groups, tree)
            result["diff"] = {
                "before": {"connections": before, "connection_groups": result["groups_removed"], "read": read_before},
                "after": {"connections": self.after, "connection_groups": result["groups_created"], "read": read_after},
            }
        return result


def main():
    GuacamoleSyncConnections().execute()


if __name__ == "__main__":
    main()

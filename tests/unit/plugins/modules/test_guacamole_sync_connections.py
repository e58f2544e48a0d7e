"""guacamole_sync_connections without a server: option checks, what exists below root, which existing connection
each wanted one becomes, the groups to create and remove, and the READ grants and revocations."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.groups import GroupIndex
from ansible_collections.proxgate.core.plugins.modules.guacamole_sync_connections import (
    CONNECTION,
    GROUP,
    GUEST_PARAMETER,
    Entry,
    ManagedTree,
    current_read,
    group_prefixes,
    match_connections,
    option_errors,
    permission_report,
    plan_groups,
    publish_names,
    read_operations,
    secret_texts,
    wanted_read,
)

# ROOT
# ├── Proxmox (1)
# │   ├── production (2)          web01 (10), retired (11)
# │   │   └── web (4)             win-desktop (12)
# │   ├── old (3)                 db01 (13)
# │   └── (root itself)           dns01 (14)
# └── Lab (5)                     printer (15)
GROUPS = {
    "1": {"name": "Proxmox", "parentIdentifier": "ROOT"},
    "2": {"name": "production", "parentIdentifier": "1"},
    "3": {"name": "old", "parentIdentifier": "1"},
    "4": {"name": "web", "parentIdentifier": "2"},
    "5": {"name": "Lab", "parentIdentifier": "ROOT"},
}
CONNECTIONS = {
    "10": {"name": "web01", "parentIdentifier": "2", "protocol": "ssh"},
    "11": {"name": "retired", "parentIdentifier": "2", "protocol": "ssh"},
    "12": {"name": "win-desktop", "parentIdentifier": "4", "protocol": "rdp"},
    "13": {"name": "db01", "parentIdentifier": "3", "protocol": "ssh"},
    "14": {"name": "dns01", "parentIdentifier": "1", "protocol": "ssh"},
    "15": {"name": "printer", "parentIdentifier": "5", "protocol": "vnc"},
}


def tree(root=("Proxmox",)):
    return ManagedTree(GroupIndex(GROUPS), CONNECTIONS, list(root))


def entries(*specs):
    """Entries from (name, group path, user groups) tuples."""
    return [Entry(index, {"name": name, "group": group, "protocol": "ssh", "user_groups": list(user_groups)})
            for index, (name, group, user_groups) in enumerate(specs)]


def guest_entries(*specs):
    """Entries from (name, group path, guest, hostname) tuples."""
    made = []
    for index, (name, group, guest, hostname) in enumerate(specs):
        entry = Entry(index, {"name": name, "group": group, "protocol": "ssh", "guest": guest})
        entry.parameters = {"hostname": hostname, GUEST_PARAMETER: guest}
        made.append(entry)
    return made


def params(**overrides):
    base = {"root": "Proxmox", "connections": [{"name": "web01", "group": "production", "user_groups": []}],
            "keep": [], "prune": True, "allow_empty": False}
    base.update(overrides)
    return base


def test_option_errors_name_the_option():
    assert option_errors(params()) == []
    assert "root must be a connection group below ROOT" in option_errors(params(root="ROOT"))[0]
    assert "root must be a connection group below ROOT" in option_errors(params(root="/"))[0]
    assert option_errors(params(root="a//b"))[0].startswith("root: group path 'a//b' has an empty group name")
    assert option_errors(params(connections=[{"name": " "}])) == ["connections[0].name must not be empty"]
    duplicate = [{"name": "a", "group": "x"}, {"name": "a", "group": "ROOT/x/"}]
    assert option_errors(params(connections=duplicate)) == [
        "connections[1] (a) has the same group and name as connections[0] (two entries may share a name only when "
        "both give their guest)"]
    with_guests = [{"name": "a", "guest": "pve/1"}, {"name": "a", "guest": "pve/2"}]
    assert option_errors(params(connections=with_guests)) == []
    assert option_errors(params(connections=[{"name": "a"}, {"name": "a", "group": "y"}])) == []
    assert option_errors(params(keep=["web01"])) == [
        "connections[0] (web01): 'web01' is also in keep; a connection is either managed or kept"]
    assert option_errors(params(connections=[{"name": "a", "user_groups": [""]}])) == [
        "connections[0] (a).user_groups holds an empty name"]


def test_an_empty_list_needs_allow_empty_unless_something_is_kept_or_nothing_is_pruned():
    assert "set allow_empty: true" in option_errors(params(connections=[]))[0]
    assert option_errors(params(connections=[], allow_empty=True)) == []
    assert option_errors(params(connections=[], keep=["db01"])) == []
    assert option_errors(params(connections=[], prune=False)) == []


def test_the_managed_tree_is_root_and_what_is_below_it():
    managed = tree()
    assert managed.root_id == "1"
    assert managed.groups == {(): "1", ("production",): "2", ("old",): "3", ("production", "web"): "4"}
    assert sorted(managed.connections) == ["10", "11", "12", "13", "14"], "Lab/printer is outside root"
    assert managed.connections["12"]["group"] == ("production", "web")
    assert managed.path(("production",), "web01") == "Proxmox/production/web01"
    assert managed.label(GROUP, ()) == "Proxmox/"
    assert managed.label(CONNECTION, ("old", "db01")) == "Proxmox/old/db01"


def test_a_missing_root_holds_nothing():
    managed = tree(("Clusters", "lab"))
    assert managed.root_id is None and managed.missing_root == ["Clusters", "lab"]
    assert managed.groups == {} and managed.connections == {}
    nested = tree(("Proxmox", "new"))
    assert nested.missing_root == ["new"] and nested.connections == {}


def test_matching_by_group_and_name_then_moves_then_leftovers():
    wanted = entries(("web01", "production", ()), ("win-desktop", "production", ()), ("dns01", "", ()),
                     ("new", "", ()))
    matched, kept, leftover = match_connections(wanted, tree(), {}, keep=["db01"], keep_guests=[])
    # web01 and dns01 are where they should be; win-desktop moves up from production/web; new is created.
    assert matched == {0: "10", 1: "12", 2: "14"}
    assert kept == ["13"]
    assert leftover == ["11"]


def test_a_move_needs_one_candidate_and_one_taker():
    # Two wanted connections named web01: neither takes the existing one from another group.
    wanted = entries(("web01", "a", ()), ("web01", "b", ()))
    matched, _kept, leftover = match_connections(wanted, tree(), {}, keep=[], keep_guests=[])
    assert matched == {} and "10" in leftover
    # The one in place is taken in place; the other wanted one is created, not moved.
    wanted = entries(("web01", "production", ()), ("web01", "b", ()))
    matched, _kept, _leftover = match_connections(wanted, tree(), {}, keep=[], keep_guests=[])
    assert matched == {0: "10"}


def test_a_guest_takes_its_own_connection_and_never_another_guests():
    stored = {"10": {"hostname": "10.0.0.1", GUEST_PARAMETER: "pve/101"},
              "12": {"hostname": "10.0.0.2"},
              "14": {"hostname": "10.0.0.4"}}
    wanted = guest_entries(("web01", "", "pve/150", "10.6.6.6"), ("web01-101", "", "pve/101", "10.0.0.1"),
                           ("win-desktop", "production", "pve/102", "10.0.0.9"), ("dns01", "", "pve/200", "10.0.0.4"))
    matched, _kept, leftover = match_connections(wanted, tree(), stored, keep=[], keep_guests=[])
    # pve/101 finds its connection by identity, wherever it is and whatever its name; the tenant named web01 does
    # not; win-desktop has no identity and another address (not re-pointed); dns01 has the same address (adopted).
    assert matched == {1: "10", 3: "14"}
    assert "12" in leftover
    # An entry without a guest never takes a connection that holds one.
    plain = entries(("web01", "production", ()))
    assert match_connections(plain, tree(), stored, keep=[], keep_guests=[])[0] == {}


def test_a_taken_name_is_published_with_the_guest_and_the_holder_keeps_it():
    stored = {"10": {GUEST_PARAMETER: "pve/101"}}
    managed = tree()
    # pve/101 (kept, stopped) holds production/web01: the newcomer is published under a distinct name.
    wanted = guest_entries(("web01", "production", "pve/150", "10.6.6.6"))
    renamed, problem = publish_names(wanted, managed, stored, {}, staying=["10"])
    assert problem is None and wanted[0].name == "web01 (pve/150)"
    assert renamed == [{"name": "web01", "published_as": "web01 (pve/150)", "guest": "pve/150",
                        "path": "Proxmox/production/web01 (pve\\/150)", "held_by": "pve/101"}]
    # Two entries, one name: the one whose connection already has it keeps it, whatever the order.
    wanted = guest_entries(("web01", "production", "pve/150", "10.6.6.6"), ("web01", "production", "pve/101", "h"))
    renamed, problem = publish_names(wanted, managed, stored, {1: "10"}, staying=[])
    assert problem is None and [entry.name for entry in wanted] == ["web01 (pve/150)", "web01"]
    # Without a guest, a taken name cannot be worked around: the run fails naming the entry.
    _renamed, problem = publish_names(entries(("web01", "production", ())), managed, stored, {}, staying=["10"])
    assert problem.startswith("connections[0] (web01): the name is held in its group by the connection of guest "
                              "'pve/101'")


def test_groups_to_create_and_remove():
    managed = tree()
    wanted = entries(("web01", "production", ()), ("x", "staging/eu", ()))
    create, remove = plan_groups(wanted, managed, kept_ids=["13"], prune=True)
    assert create == [("staging",), ("staging", "eu")]
    # production/web holds nothing wanted; old holds the kept db01.
    assert remove == [("production", "web")]
    assert plan_groups(wanted, managed, kept_ids=[], prune=True)[1] == [("production", "web"), ("old",)]
    assert plan_groups(wanted, managed, kept_ids=[], prune=False)[1] == []


def test_root_is_created_when_missing_and_never_removed():
    missing = tree(("Clusters", "lab"))
    create, remove = plan_groups(entries(("a", "pve1", ())), missing, kept_ids=[], prune=True)
    assert create == [(), ("pve1",)] and remove == []
    assert plan_groups([], missing, kept_ids=[], prune=True) == ([], [])
    assert () not in plan_groups([], tree(), kept_ids=[], prune=True)[1]


def test_read_grants_cover_the_connection_and_every_group_down_to_it():
    assert group_prefixes(("a", "b")) == [(), ("a",), ("a", "b")]
    wanted = wanted_read(entries(("web01", "production/web", ("ops", "dev")), ("dns01", "", ())))
    assert wanted == {
        ("ops", CONNECTION, ("production", "web", "web01")), ("ops", GROUP, ()), ("ops", GROUP, ("production",)),
        ("ops", GROUP, ("production", "web")),
        ("dev", CONNECTION, ("production", "web", "web01")), ("dev", GROUP, ()), ("dev", GROUP, ("production",)),
        ("dev", GROUP, ("production", "web")),
    }


def test_current_read_only_sees_the_objects_in_scope():
    documents = {
        "ops": {"connectionPermissions": {"10": ["READ"], "15": ["READ"], "12": ["UPDATE"]},
                "connectionGroupPermissions": {"1": ["READ"], "5": ["READ"]}},
        "dev": {"connectionPermissions": {}, "connectionGroupPermissions": {}},
    }
    connection_scope = {"10": ("production", "web01"), "12": ("win-desktop",)}
    group_scope = {"1": (), "2": ("production",)}
    assert current_read(documents, connection_scope, group_scope) == {
        ("ops", CONNECTION, ("production", "web01")), ("ops", GROUP, ())}


def test_operations_per_user_group_removals_first_and_a_readable_report():
    grants = {("ops", CONNECTION, ("web01",)), ("ops", GROUP, ())}
    revokes = {("ops", CONNECTION, ("old",)), ("dev", GROUP, ())}
    operations = read_operations(grants, revokes, {("web01",): "20", ("old",): "21"}, {(): "1"})
    assert operations == {
        "dev": [{"op": "remove", "path": "/connectionGroupPermissions/1", "value": "READ"}],
        "ops": [{"op": "remove", "path": "/connectionPermissions/21", "value": "READ"},
                {"op": "add", "path": "/connectionPermissions/20", "value": "READ"},
                {"op": "add", "path": "/connectionGroupPermissions/1", "value": "READ"}],
    }
    assert permission_report(grants, revokes, tree()) == {
        "dev": {"granted": [], "revoked": ["Proxmox/"]},
        "ops": {"granted": ["Proxmox/", "Proxmox/web01"], "revoked": ["Proxmox/old"]},
    }


@pytest.mark.parametrize("parameters, expected", [
    ({"hostname": "h", "password": "pw1", "private-key": "KEY", "sftp-passphrase": ""}, {"pw1", "KEY"}),
    ({"hostname": "h", "port": 22}, set()),
])
def test_secret_values_are_collected_for_masking(parameters, expected):
    assert secret_texts([{"name": "a", "parameters": parameters}]) == expected

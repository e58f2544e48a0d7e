"""Connection group paths: parsing with escapes, resolving to identifiers and back."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.groups import (
    ROOT,
    GroupIndex,
    GroupPathError,
    escape_name,
    find_child,
    find_parent,
    group_levels,
    join_group_path,
    split_group_path,
)

# What GET connectionGroups answers for: Production/{Web, DB/Replicas}, Staging/Web, and "a/b" at the top.
GROUPS = {
    "1": {"identifier": "1", "name": "Production", "parentIdentifier": "ROOT", "type": "ORGANIZATIONAL"},
    "2": {"identifier": "2", "name": "Web", "parentIdentifier": "1", "type": "BALANCING"},
    "3": {"identifier": "3", "name": "DB", "parentIdentifier": "1", "type": "ORGANIZATIONAL"},
    "4": {"identifier": "4", "name": "Replicas", "parentIdentifier": "3", "type": "ORGANIZATIONAL"},
    "5": {"identifier": "5", "name": "Staging", "parentIdentifier": "ROOT", "type": "ORGANIZATIONAL"},
    "6": {"identifier": "6", "name": "Web", "parentIdentifier": "5", "type": "ORGANIZATIONAL"},
    "7": {"identifier": "7", "name": "a/b", "parentIdentifier": "ROOT", "type": "ORGANIZATIONAL"},
    "8": {"identifier": "8", "name": "DOMAIN\\ops", "parentIdentifier": "7", "type": "ORGANIZATIONAL"},
}


@pytest.mark.parametrize("path, names", [
    ("ROOT", []), ("", []), ("/", []), (None, []),
    ("Production", ["Production"]),
    ("Production/Web", ["Production", "Web"]),
    ("/Production/Web/", ["Production", "Web"]),
    ("ROOT/Production/Web", ["Production", "Web"]),
    ("a\\/b/DOMAIN\\ops", ["a/b", "DOMAIN\\ops"]),
    ("a\\\\/b", ["a\\", "b"]),
    ("Prod Env/Web 1", ["Prod Env", "Web 1"]),
])
def test_split(path, names):
    assert split_group_path(path) == names


@pytest.mark.parametrize("path", ["Production//Web", "//x", "a///"])
def test_empty_names_are_refused(path):
    with pytest.raises(GroupPathError, match="empty group name"):
        split_group_path(path)


@pytest.mark.parametrize("names", [["a/b", "c"], ["a\\"], ["x\\/y", "z\\\\"], ["DOMAIN\\ops"], ["plain", "two words"]])
def test_join_and_split_round_trip(names):
    assert split_group_path(join_group_path(names)) == names


def test_join_of_nothing_is_root_and_escape_doubles_backslashes():
    assert join_group_path([]) == ROOT
    assert escape_name("a/b\\c") == "a\\/b\\\\c"


def test_resolve_paths_to_identifiers():
    index = GroupIndex(GROUPS)
    assert index.resolve("ROOT") == ROOT
    assert index.resolve("Production/Web") == "2"
    assert index.resolve("Staging/Web") == "6"
    assert index.resolve("Production/DB/Replicas") == "4"
    assert index.resolve("a\\/b/DOMAIN\\ops") == "8"
    assert index.resolve("Production/Nope") is None
    assert index.resolve("a/b") is None, "an unescaped / separates names"


def test_walk_tells_the_missing_tail():
    index = GroupIndex(GROUPS)
    assert index.walk("Production/DB/New/Deeper") == ("3", ["New", "Deeper"])
    assert index.walk("Nothing") == (ROOT, ["Nothing"])
    assert index.walk("Production/Web") == ("2", [])


def test_path_of_is_the_inverse_of_resolve():
    index = GroupIndex(GROUPS)
    for identifier in GROUPS:
        assert index.resolve(index.path_of(identifier)) == identifier
    assert index.path_of("4") == "Production/DB/Replicas"
    assert index.path_of("8") == "a\\/b/DOMAIN\\\\ops"
    assert index.path_of(ROOT) == ROOT


def test_path_of_unknown_group_is_an_error():
    with pytest.raises(GroupPathError, match="'99'"):
        GroupIndex(GROUPS).path_of("99")


def test_a_group_added_later_resolves_at_once():
    index = GroupIndex(GROUPS)
    index.add("9", {"name": "New", "parentIdentifier": "3"})
    assert index.resolve("Production/DB/New") == "9"
    assert index.exists("9") and index.exists(ROOT) and not index.exists("10")


def test_descendants_nearest_first():
    assert GroupIndex(GROUPS).descendants("1") == ["2", "3", "4"]
    assert GroupIndex(GROUPS).descendants("6") == []


class FakeClient:
    def __init__(self):
        self.paths = []

    def get(self, path):
        self.paths.append(path)
        return GROUPS


def test_load_reads_the_directory_once():
    client = FakeClient()
    assert GroupIndex.load(client).resolve("Staging/Web") == "6"
    assert client.paths == ["connectionGroups"]


def test_find_parent_by_path_or_identifier():
    index = GroupIndex(GROUPS)
    assert find_parent(index, "Production/DB") == ("3", None)
    assert find_parent(index, None, "6") == ("6", None)
    assert find_parent(index, "ignored when the identifier is given", "ROOT") == (ROOT, None)
    parent, problem = find_parent(index, "Production/DB/Nope/Deeper")
    assert parent is None
    assert problem == ("parent: connection group 'Production/DB/Nope/Deeper' does not exist: there is no group "
                       "'Nope' in 'Production/DB' (or this user may not read it)")
    parent, problem = find_parent(index, "Nope", path_option="connection_parent")
    assert problem.startswith("connection_parent: ") and "in the root" in problem
    parent, problem = find_parent(index, None, "42")
    assert parent is None and problem.startswith("parent_identifier: there is no connection group '42'")


def test_find_child_by_parent_and_name():
    connections = {"10": {"name": "web01", "identifier": "10", "parentIdentifier": "2"},
                   "11": {"name": "web01", "identifier": "11", "parentIdentifier": "6"},
                   "12": {"name": "top", "identifier": "12"}}
    assert find_child(connections, "6", "web01")["identifier"] == "11"
    assert find_child(connections, ROOT, "top")["identifier"] == "12", "no parentIdentifier means the root"
    assert find_child(connections, "2", "nope") is None
    profiles = {"1": {"name": "Watch", "primaryConnectionIdentifier": "11"}}
    assert find_child(profiles, "11", "Watch", parent_key="primaryConnectionIdentifier")["identifier"] == "1"


def test_visible_path_of():
    index = GroupIndex({"5": {"name": "Child", "parentIdentifier": "4"}})
    assert index.visible_path_of("5") is None, "its parent is not visible"
    assert GroupIndex(GROUPS).visible_path_of("2", "web01") == "Production/Web/web01"


@pytest.mark.parametrize(("value", "names"), [
    (["a/b"], ["a/b"]), (["ROOT"], ["ROOT"]), ([".."], [".."]), (["a\\/b", "c"], ["a\\/b", "c"]), ([], []),
    ("a/b", ["a", "b"]), ("ROOT/x", ["x"]), ("", []), (None, []),
])
def test_group_levels_takes_each_listed_name_verbatim_and_splits_only_a_path(value, names):
    assert group_levels(value) == names


@pytest.mark.parametrize("value", [[""], [None], [1], ["a", ["b"]], 3, {"a": "b"}])
def test_group_levels_refuses_what_is_not_a_group_name(value):
    with pytest.raises(GroupPathError):
        group_levels(value)

"""guacamole_permissions: option checks, name resolution, and the patch built for each mode."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.proxgate.core.plugins.doc_fragments.guacamole import ModuleDocFragment
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import (
    SYSTEM_PERMISSIONS_15,
    SYSTEM_PERMISSIONS_16,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import guacamole_auth_argument_spec
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.permissions import PermissionPatchError
from ansible_collections.proxgate.core.plugins.modules import guacamole_permissions
from ansible_collections.proxgate.core.plugins.modules.guacamole_permissions import (
    Ambiguous,
    GuacamolePermissions,
    NotFound,
    Resolver,
    apply_operations,
    diff_documents,
    keep_own_entry,
    normalize_names,
    option_errors,
    plan,
    wanted_document,
)

AUTH = {"api_url": "https://gateway.invalid/guacamole", "api_username": "guacadmin", "api_password": "pw"}
OPTIONS = ("user", "user_group", "system", "connections", "connection_groups", "sharing_profiles", "users",
           "user_groups")
EMPTY = {"connectionPermissions": {}, "connectionGroupPermissions": {}, "sharingProfilePermissions": {},
         "activeConnectionPermissions": {}, "userPermissions": {}, "userGroupPermissions": {},
         "systemPermissions": []}


def params(**given):
    base = dict.fromkeys(OPTIONS)
    base.update(user="alice", mode="add")
    base.update(given)
    return base


def current(**kinds):
    return dict(EMPTY, **kinds)


def test_permission_names_are_checked_and_normalized():
    assert normalize_names(["read", " Update ", "READ"], ("READ", "UPDATE"), "x") == ["READ", "UPDATE"]
    assert normalize_names(None, ("READ",), "x") == []
    with pytest.raises(ValueError, match=r"connections\[0\]\.permissions: unknown permission 'FLY'; expected one of"):
        normalize_names(["READ", "FLY"], ("READ", "UPDATE"), "connections[0].permissions")


@pytest.mark.parametrize("given, expected", [
    ({"system": ["CREATE_USER", "root"]}, "system: unknown permission 'root'"),
    ({"connections": [{"name": "web01", "permissions": ["READ", "WRITE"]}]},
     "connections[0] (web01).permissions: unknown permission 'WRITE'"),
    ({"connections": [{"permissions": ["READ"]}]}, "connections[0]: give exactly one of identifier and name"),
    ({"connections": [{"name": "a", "identifier": "1", "permissions": []}]},
     "connections[0] (a): give exactly one of identifier and name"),
    ({"connections": [{"identifier": "1", "parent": "Prod", "permissions": []}]},
     "connections[0] (1): parent and connection only go with name"),
    ({"connections": [{"name": "a", "parent": "Prod//Web", "permissions": []}]},
     "connections[0] (a).parent: group path 'Prod//Web' has an empty group name"),
    ({"connection_groups": [{"path": "ROOT", "permissions": ["READ"]}]},
     "connection_groups[0] (ROOT): the root connection group carries no permissions"),
    ({"connection_groups": [{"identifier": "ROOT", "permissions": ["READ"]}]},
     "connection_groups[0] (ROOT): the root connection group carries no permissions"),
    ({"connection_groups": [{"path": "A", "identifier": "2", "permissions": []}]},
     "connection_groups[0] (A): give exactly one of path and identifier"),
    ({"sharing_profiles": [{"name": "ro", "permissions": ["READ"]}]},
     "sharing_profiles[0] (ro): a sharing profile named by name needs connection"),
    ({"users": [{"name": " ", "permissions": ["READ"]}]}, "users[0] ( ): name must not be empty"),
    ({"user_groups": [{"name": "ops", "permissions": ["read", "own"]}]},
     "user_groups[0] (ops).permissions: unknown permission 'own'"),
    ({"user": " "}, "user must not be empty"),
])
def test_option_errors_name_the_entry(given, expected):
    errors = option_errors(params(**given))
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_good_options_have_no_errors():
    assert option_errors(params(
        system=["audit", "CREATE_USER"],
        connections=[{"name": "web01", "parent": "Production/Web", "permissions": ["read"]},
                     {"identifier": "4", "permissions": []}],
        connection_groups=[{"path": "Production", "permissions": ["ADMINISTER"]}],
        sharing_profiles=[{"name": "ro", "connection": "web01", "permissions": ["READ"]},
                          {"identifier": "2", "permissions": ["READ"]}],
        users=[{"name": "bob", "permissions": ["UPDATE"]}],
        user_groups=[{"name": "ops", "permissions": ["DELETE"]}])) == []


def test_wanted_document_merges_an_object_named_twice():
    document = wanted_document({"connections": [("1", ["READ"]), ("1", ["UPDATE"]), ("2", [])],
                                "users": [("bob", ["READ"])]}, ["CREATE_USER"])
    assert document == {"connectionPermissions": {"1": ["READ", "UPDATE"], "2": []},
                        "userPermissions": {"bob": ["READ"]}, "systemPermissions": ["CREATE_USER"]}
    assert wanted_document({}, None) == {}
    assert wanted_document({"connections": []}, []) == {"connectionPermissions": {}, "systemPermissions": []}


def test_keep_own_entry_only_when_users_is_given_and_the_user_is_not_listed():
    have = current(userPermissions={"alice": ["READ"], "bob": ["READ"]})
    assert keep_own_entry({"userPermissions": {"bob": ["READ"]}}, have, "alice") == {
        "userPermissions": {"bob": ["READ"], "alice": ["READ"]}}
    assert keep_own_entry({"userPermissions": {"alice": []}}, have, "alice") == {"userPermissions": {"alice": []}}
    assert keep_own_entry({"systemPermissions": []}, have, "alice") == {"systemPermissions": []}


def ops(operations):
    return sorted((o["op"], o["path"], o["value"]) for o in operations)


def test_plan_add_grants_only_what_is_missing():
    have = current(connectionPermissions={"1": ["READ"]}, systemPermissions=["CREATE_USER"])
    wanted = {"connectionPermissions": {"1": ["READ", "UPDATE"], "2": ["READ"]},
              "systemPermissions": ["CREATE_USER"]}
    assert ops(plan(have, wanted, "add", SYSTEM_PERMISSIONS_16)) == [
        ("add", "/connectionPermissions/1", "UPDATE"), ("add", "/connectionPermissions/2", "READ")]
    assert plan(have, {"connectionPermissions": {"1": ["READ"]}}, "add", SYSTEM_PERMISSIONS_16) == []


def test_plan_remove_revokes_only_what_is_granted():
    have = current(connectionPermissions={"1": ["READ", "UPDATE"]})
    wanted = {"connectionPermissions": {"1": ["UPDATE", "DELETE"], "9": ["READ"]}, "systemPermissions": ["AUDIT"]}
    assert ops(plan(have, wanted, "remove", SYSTEM_PERMISSIONS_16)) == [
        ("remove", "/connectionPermissions/1", "UPDATE")]


def test_plan_replace_is_limited_to_the_kinds_given():
    have = current(connectionPermissions={"1": ["READ", "UPDATE"], "2": ["READ"]},
                   connectionGroupPermissions={"5": ["READ"]}, systemPermissions=["CREATE_USER"])
    assert ops(plan(have, {"connectionPermissions": {"1": ["READ"], "3": ["READ"]}}, "replace",
                    SYSTEM_PERMISSIONS_16)) == [
        ("add", "/connectionPermissions/3", "READ"), ("remove", "/connectionPermissions/1", "UPDATE"),
        ("remove", "/connectionPermissions/2", "READ")]
    # An empty list clears its kind; other kinds stay.
    assert ops(plan(have, {"systemPermissions": []}, "replace", SYSTEM_PERMISSIONS_16)) == [
        ("remove", "/systemPermissions", "CREATE_USER")]
    assert plan(have, {}, "replace", SYSTEM_PERMISSIONS_16) == []


def test_plan_refuses_a_system_permission_the_version_lacks():
    with pytest.raises(PermissionPatchError, match="AUDIT"):
        plan(current(), {"systemPermissions": ["AUDIT"]}, "add", SYSTEM_PERMISSIONS_15)


def test_every_operation_is_one_permission_with_one_string_value():
    operations = plan(current(), {"userPermissions": {"bob": ["READ", "UPDATE", "ADMINISTER"]}}, "add",
                      SYSTEM_PERMISSIONS_16)
    assert len(operations) == 3
    assert all(set(o) == {"op", "path", "value"} and isinstance(o["value"], str) for o in operations)


def test_apply_operations_predicts_the_document():
    have = current(connectionPermissions={"1": ["READ", "UPDATE"]}, systemPermissions=["CREATE_USER"])
    after = apply_operations(have, [
        {"op": "remove", "path": "/connectionPermissions/1", "value": "UPDATE"},
        {"op": "add", "path": "/connectionPermissions/2", "value": "READ"},
        {"op": "remove", "path": "/systemPermissions", "value": "CREATE_USER"}])
    assert after["connectionPermissions"] == {"1": ["READ"], "2": ["READ"]}
    assert after["systemPermissions"] == []
    assert apply_operations(have, [])["connectionPermissions"] == {"1": ["READ", "UPDATE"]}


def test_diff_shows_only_the_objects_touched_by_label():
    before = current(connectionPermissions={"1": ["READ", "UPDATE"], "7": ["READ"]})
    operations = [{"op": "remove", "path": "/connectionPermissions/1", "value": "UPDATE"},
                  {"op": "add", "path": "/systemPermissions", "value": "AUDIT"}]
    after = apply_operations(before, operations)
    diff = diff_documents(before, after, operations, {("connectionPermissions", "1"): "Prod/web01"})
    assert diff == {"before": {"connectionPermissions": {"Prod/web01": ["READ", "UPDATE"]}, "systemPermissions": []},
                    "after": {"connectionPermissions": {"Prod/web01": ["READ"]}, "systemPermissions": ["AUDIT"]}}


class FakeClient:
    """Answers GETs from a dict, and counts them."""

    def __init__(self, replies):
        self.replies = replies
        self.calls = []

    def get(self, path, **params):
        self.calls.append(path)
        return self.replies[path]


@pytest.fixture
def resolver():
    groups = {"1": {"identifier": "1", "name": "Production", "parentIdentifier": "ROOT"},
              "2": {"identifier": "2", "name": "Web", "parentIdentifier": "1"},
              "3": {"identifier": "3", "name": "Staging", "parentIdentifier": "ROOT"}}
    connections = {"1": {"identifier": "1", "name": "web01", "parentIdentifier": "2"},
                   "2": {"identifier": "2", "name": "web01", "parentIdentifier": "3"},
                   "3": {"identifier": "3", "name": "db01", "parentIdentifier": "ROOT"}}
    profiles = {"8": {"identifier": "8", "name": "read-only", "primaryConnectionIdentifier": "1"}}
    return Resolver(FakeClient({"connectionGroups": groups, "connections": connections,
                                "sharingProfiles": profiles, "users": {"alice": {}}, "userGroups": {"ops": {}}}))


def test_resolver_finds_objects_by_name_path_and_identifier(resolver):
    assert resolver.resolve("connections", 0, {"name": "web01", "parent": "Production/Web"}) == "1"
    assert resolver.resolve("connections", 0, {"name": "web01", "parent": "ROOT/Staging"}) == "2"
    assert resolver.resolve("connections", 0, {"name": "db01"}) == "3"
    assert resolver.resolve("connections", 0, {"name": "db01", "parent": "ROOT"}) == "3"
    assert resolver.resolve("connections", 0, {"identifier": "2"}) == "2"
    assert resolver.resolve("connection_groups", 0, {"path": "Production/Web"}) == "2"
    assert resolver.resolve("connection_groups", 0, {"identifier": "3"}) == "3"
    assert resolver.resolve("sharing_profiles", 0, {"name": "read-only", "connection": "web01",
                                                    "parent": "Production/Web"}) == "8"
    assert resolver.resolve("sharing_profiles", 0, {"identifier": "8"}) == "8"
    assert resolver.resolve("users", 0, {"name": "alice"}) == "alice"
    assert resolver.resolve("user_groups", 0, {"name": "ops"}) == "ops"
    # Each directory is read once, however many entries need it.
    assert sorted(resolver.client.calls) == ["connectionGroups", "connections", "sharingProfiles", "userGroups",
                                             "users"]


@pytest.mark.parametrize("option, entry, error, text", [
    ("connections", {"name": "web01"}, Ambiguous,
     "connections[0] (web01): 2 connections are named 'web01' (Production/Web/web01, Staging/web01); set parent"),
    ("connections", {"name": "web01", "parent": "Nowhere"}, NotFound,
     "connections[0] (web01).parent: no connection group at path 'Nowhere'"),
    ("connections", {"name": "web09", "parent": "Staging"}, NotFound,
     "connections[0] (web09): no connection named 'web09' in 'Staging'"),
    ("connections", {"identifier": "99"}, NotFound, "connections[0] (99): no connection with identifier '99'"),
    ("connection_groups", {"path": "Production/Db"}, NotFound,
     "connection_groups[0] (Production/Db): no connection group at path 'Production/Db'"),
    ("connection_groups", {"identifier": "42"}, NotFound,
     "connection_groups[0] (42): no connection group with identifier '42'"),
    ("sharing_profiles", {"name": "full", "connection": "web01", "parent": "Production/Web"}, NotFound,
     "sharing_profiles[0] (full): connection 'web01' has no sharing profile named 'full'"),
    ("sharing_profiles", {"name": "read-only", "connection": "web01"}, Ambiguous,
     "sharing_profiles[0] (read-only).connection: 2 connections are named 'web01'"),
    ("users", {"name": "ghost"}, NotFound, "users[0] (ghost): no user named 'ghost'"),
    ("user_groups", {"name": "ghosts"}, NotFound, "user_groups[0] (ghosts): no user group named 'ghosts'"),
])
def test_resolver_errors_name_the_entry(resolver, option, entry, error, text):
    with pytest.raises(error) as raised:
        resolver.resolve(option, 0, dict(entry, permissions=["READ"]))
    assert str(raised.value).startswith(text)


def test_resolver_labels_for_the_diff(resolver):
    assert resolver.labels("connections") == {("connectionPermissions", "1"): "Production/Web/web01",
                                              ("connectionPermissions", "2"): "Staging/web01",
                                              ("connectionPermissions", "3"): "db01"}
    assert resolver.labels("connection_groups")[("connectionGroupPermissions", "2")] == "Production/Web"
    assert resolver.labels("sharing_profiles") == {
        ("sharingProfilePermissions", "8"): "Production/Web/web01: read-only"}
    assert resolver.labels("users") == {}


def test_every_option_is_documented_as_declared():
    spec = dict(guacamole_auth_argument_spec(), **GuacamolePermissions.argument_spec)
    docs = dict(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    docs.update(yaml.safe_load(guacamole_permissions.DOCUMENTATION)["options"])
    assert set(spec) == set(docs)

    def compare(declared_options, documented_options, where):
        assert set(declared_options) == set(documented_options), where
        for option, declared in declared_options.items():
            documented = documented_options[option]
            assert documented.get("description"), (where, option)
            for key in ("type", "default", "choices", "elements"):
                assert documented.get(key) == declared.get(key), (where, option, key)
            assert bool(documented.get("required")) == bool(declared.get("required")), (where, option)
            if "options" in declared:
                compare(declared["options"], documented["suboptions"], f"{where}.{option}")

    compare(spec, docs, "guacamole_permissions")


def run_module(capsys, **args):
    with patch_module_args(dict(AUTH, **args)), pytest.raises(SystemExit) as exited:
        guacamole_permissions.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1, result
    return result


@pytest.mark.parametrize("args, expected", [
    ({"user": "a", "connections": [{"name": "web01", "permissions": ["FLY"]}]},
     "connections[0] (web01).permissions: unknown permission 'FLY'"),
    ({"user": "a", "user_group": "b"}, "parameters are mutually exclusive: user|user_group"),
    ({"system": ["READ"]}, "one of the following is required: user, user_group"),
    ({"user": "a", "mode": "set"}, "value of mode must be one of: add, remove, replace"),
    ({"user": "a", "connections": [{"name": "web01"}]}, "missing required arguments: permissions"),
])
def test_bad_options_fail_before_any_call(capsys, args, expected):
    assert expected in run_module(capsys, **args)["msg"]

"""Permission documents and the minimal JSON Patch between two of them."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import SYSTEM_PERMISSIONS_15
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.permissions import (
    PermissionPatchError,
    build_patch,
    describe_operations,
    flatten,
    normalize_document,
    patch_operations,
    permission_patch,
    permission_path,
    split_path,
    unflatten,
    validate_operation,
)

CURRENT = {
    "connectionPermissions": {"1": ["READ"], "2": ["READ", "UPDATE"]},
    "connectionGroupPermissions": {"5": ["READ"]},
    "sharingProfilePermissions": {},
    "activeConnectionPermissions": {},
    "userPermissions": {"bob": ["READ"]},
    "userGroupPermissions": {},
    "systemPermissions": ["CREATE_CONNECTION"],
}


def test_no_difference_is_an_empty_patch():
    assert permission_patch(CURRENT, CURRENT, "exact") == []
    assert permission_patch(CURRENT, {"connectionPermissions": {"2": ["update", "READ"]}}) == []


def test_present_adds_one_operation_per_permission_with_one_string_value():
    ops = permission_patch(CURRENT, {"connectionPermissions": {"1": ["READ", "UPDATE", "DELETE"], 3: "READ"},
                                     "systemPermissions": ["CREATE_CONNECTION", "CREATE_USER"]})
    assert ops == [
        {"op": "add", "path": "/connectionPermissions/1", "value": "DELETE"},
        {"op": "add", "path": "/connectionPermissions/1", "value": "UPDATE"},
        {"op": "add", "path": "/connectionPermissions/3", "value": "READ"},
        {"op": "add", "path": "/systemPermissions", "value": "CREATE_USER"},
    ]
    assert all(isinstance(op["value"], str) for op in ops)


def test_absent_removes_only_what_is_there():
    ops = permission_patch(CURRENT, {"connectionPermissions": {"2": ["UPDATE", "DELETE"]},
                                     "systemPermissions": ["CREATE_CONNECTION", "ADMINISTER"]}, "absent")
    assert ops == [{"op": "remove", "path": "/connectionPermissions/2", "value": "UPDATE"},
                   {"op": "remove", "path": "/systemPermissions", "value": "CREATE_CONNECTION"}]


def test_exact_removes_the_rest_of_the_named_kinds_only():
    ops = permission_patch(CURRENT, {"connectionPermissions": {"1": ["READ"], "9": ["READ"]}}, "exact")
    assert ops == [{"op": "remove", "path": "/connectionPermissions/2", "value": "READ"},
                   {"op": "remove", "path": "/connectionPermissions/2", "value": "UPDATE"},
                   {"op": "add", "path": "/connectionPermissions/9", "value": "READ"}]
    # userPermissions and systemPermissions were not named: left alone.


def test_exact_with_an_empty_kind_clears_it():
    assert permission_patch(CURRENT, {"systemPermissions": []}, "exact") == [
        {"op": "remove", "path": "/systemPermissions", "value": "CREATE_CONNECTION"}]


def test_exact_with_explicit_kinds():
    ops = permission_patch(CURRENT, {}, "exact", kinds=["connectionGroupPermissions"])
    assert ops == [{"op": "remove", "path": "/connectionGroupPermissions/5", "value": "READ"}]


def test_identifiers_with_slashes_go_into_the_path_as_they_are():
    ops = permission_patch({}, {"userPermissions": {"ops/admins": ["READ"]}})
    assert ops == [{"op": "add", "path": "/userPermissions/ops/admins", "value": "READ"}]


@pytest.mark.parametrize("wanted, words", [
    ({"connectionPermissions": {"1": ["READ", "WRITE"]}}, ["connectionPermissions.1", "'WRITE'", "ADMINISTER"]),
    ({"systemPermissions": ["CREATE_CONNECTIONS"]}, ["systemPermissions", "'CREATE_CONNECTIONS'"]),
    ({"connectionPermission": {}}, ["unknown permission kind", "'connectionPermission'"]),
    ({"connectionPermissions": ["READ"]}, ["connectionPermissions must be a dict"]),
    ({"connectionPermissions": {"": ["READ"]}}, ["empty identifier"]),
    ({"connectionPermissions": {"1": [["READ"]]}}, ["one string"]),
    ({"connectionPermissions": {"1": 5}}, ["permission name or a list"]),
    (["READ"], ["must be a dict"]),
])
def test_bad_wanted_permissions_are_refused_before_anything_is_sent(wanted, words):
    with pytest.raises(PermissionPatchError) as caught:
        permission_patch(CURRENT, wanted)
    for word in words:
        assert word in str(caught.value)


def test_audit_is_a_16_permission():
    assert permission_patch({}, {"systemPermissions": ["AUDIT"]}) == [
        {"op": "add", "path": "/systemPermissions", "value": "AUDIT"}]
    with pytest.raises(PermissionPatchError, match="'AUDIT'"):
        permission_patch({}, {"systemPermissions": ["AUDIT"]}, system_permissions=SYSTEM_PERMISSIONS_15)


@pytest.mark.parametrize("operation, words", [
    ({"op": "replace", "path": "/systemPermissions", "value": "ADMINISTER"}, ["op must be add or remove"]),
    ({"op": "add", "path": "/systemPermissions", "value": ["ADMINISTER"]}, ["ONE permission name"]),
    ({"op": "add", "path": "/connectionPermissions/", "value": "READ"}, ["path must be"]),
    ({"op": "add", "path": "/nonsense/1", "value": "READ"}, ["path must be"]),
    ({"op": "add", "path": "/connectionPermissions/1", "value": "CREATE_USER"}, ["unknown permission"]),
    ({"op": "add", "path": "/systemPermissions", "value": "READ"}, ["unknown permission"]),
    ({"op": "add", "path": None, "value": "READ"}, ["path must be a string"]),
    ("add READ", ["is a dict"]),
])
def test_validate_operation(operation, words):
    with pytest.raises(PermissionPatchError) as caught:
        validate_operation(operation)
    for word in words:
        assert word in str(caught.value)


def test_patch_operations_validates_every_one():
    with pytest.raises(PermissionPatchError):
        patch_operations(add={("/connectionPermissions/1", "READ"), ("/systemPermissions", "NOPE")})


def test_build_patch_keeps_the_order_given_removals_first():
    assert build_patch(remove=[("/connectionPermissions/21", "READ")],
                       add=[("/connectionPermissions/20", "READ"), ("/connectionGroupPermissions/1", "READ")]) == [
        {"op": "remove", "path": "/connectionPermissions/21", "value": "READ"},
        {"op": "add", "path": "/connectionPermissions/20", "value": "READ"},
        {"op": "add", "path": "/connectionGroupPermissions/1", "value": "READ"}]
    with pytest.raises(PermissionPatchError):
        build_patch(add=[("/connectionPermissions/", "READ")])


@pytest.mark.parametrize("kind, identifier, path", [
    ("connectionPermissions", "a/b", "/connectionPermissions/a/b"),
    ("userGroupPermissions", 7, "/userGroupPermissions/7"),
    ("systemPermissions", None, "/systemPermissions"),
])
def test_permission_path_and_split_path_are_inverse(kind, identifier, path):
    assert permission_path(kind, identifier) == path
    assert split_path(path) == (kind, None if identifier is None else str(identifier))


def test_split_path_of_no_kind():
    assert split_path("/nonsense/1") == (None, None)
    assert split_path("/connectionPermissions/") == ("connectionPermissions", "")


def test_flatten_unflatten_round_trip_and_normalize():
    pairs = flatten(CURRENT)
    assert ("/connectionPermissions/2", "UPDATE") in pairs and ("/systemPermissions", "CREATE_CONNECTION") in pairs
    assert unflatten(pairs) == CURRENT
    assert normalize_document({"connectionPermissions": {1: "read", 2: []}}) == {
        "connectionPermissions": {"1": ["READ"]}}


def test_describe_operations():
    assert describe_operations([{"op": "add", "path": "/connectionPermissions/1", "value": "READ"}]) == [
        "add READ on /connectionPermissions/1"]

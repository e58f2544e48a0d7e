"""guacamole_api: path checks, secret detection, and what state: present compares, writes and merges."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.modules.guacamole_api import (
    DEFAULT_SECRET_KEYS,
    WITH_PARAMETERS,
    check_data,
    differing,
    is_secret_key,
    mask_reply,
    merged,
    normalize_path,
    resolve_method,
    secret_values,
    value_equal,
)

# GET connections/3 (plus its /parameters, as the module reads them).
CONNECTION = {"name": "web01", "identifier": "3", "parentIdentifier": "ROOT", "protocol": "ssh",
              "attributes": {"max-connections": "2", "weight": None, "failover-only": ""},
              "activeConnections": 0,
              "parameters": {"hostname": "10.0.0.1", "password": "pw"}}


@pytest.mark.parametrize("given, expected", [
    ("connections", "connections"),
    ("connections/3/", "connections/3"),
    ("  users/alice/permissions ", "users/alice/permissions"),
    ("/session/data/mysql/users", "/session/data/mysql/users"),
    ("/api/session/data/mysql/users", "/session/data/mysql/users"),
    ("/languages", "/languages"),
    ("users/ops%2Falice", "users/ops%2Falice"),
])
def test_paths(given, expected):
    assert normalize_path(given) == expected


@pytest.mark.parametrize("given, words", [
    ("https://gw/guacamole/api/session/data/x/users", ["full URL", "api_url"]),
    ("connections?permission=READ", ["query string", "query"]),
    ("users/../connections", ["'..'"]),
    ("users/%2e%2e/x", ["'..'"]),
    ("/tokens", ["/tokens", "logs in"]),
    ("/api/tokens/ABC", ["/tokens"]),
    ("", ["names no API object"]),
    ("/api", ["names no API object"]),
    ("users\n/x", ["control character"]),
])
def test_bad_paths_name_path(given, words):
    with pytest.raises(ValueError) as caught:
        normalize_path(given)
    for word in words:
        assert word in str(caught.value)


def test_methods():
    assert resolve_method(None, None) == "GET"
    assert resolve_method("patch", None) == "PATCH"
    assert resolve_method(None, "present") == "PUT"
    assert resolve_method(None, "absent") == "DELETE"
    with pytest.raises(ValueError, match="state: present updates with PUT"):
        resolve_method("POST", "present")
    with pytest.raises(ValueError, match="state: absent deletes with DELETE"):
        resolve_method("GET", "absent")


@pytest.mark.parametrize("data, method, state, words", [
    (None, "PUT", "present", ["needs data"]),
    ([{"op": "add"}], "PUT", "present", ["needs data"]),
    ({"a": 1}, "GET", None, ["body of POST, PUT or PATCH", "query"]),
    ({"a": 1}, "DELETE", "absent", ["body"]),
    ("text", "POST", None, ["dict or a list"]),
])
def test_bad_data(data, method, state, words):
    with pytest.raises(ValueError) as caught:
        check_data(data, method, state)
    for word in words:
        assert word in str(caught.value)


def test_good_data():
    check_data([{"op": "remove", "path": "/x"}], "PATCH", None)
    check_data({"a": 1}, "PUT", "present")
    check_data(None, "GET", None)


@pytest.mark.parametrize("name, secret", [
    ("password", True), ("sftp-password", True), ("newPassword", True), ("oldPassword", True),
    ("private-key", True), ("client-key", True), ("guac-totp", True), ("authToken", True),
    ("passphrase", True), ("hostname", False), ("username", False), ("keyboard", False), ("port", False),
])
def test_secret_keys(name, secret):
    assert is_secret_key(name, DEFAULT_SECRET_KEYS) is secret


def test_secret_values_and_masking():
    data = {"parameters": {"password": "pw", "port": 22}, "list": [{"newPassword": "np"}], "authToken": "T"}
    assert secret_values(data, DEFAULT_SECRET_KEYS) == {"pw", "np", "T"}
    assert mask_reply(CONNECTION, DEFAULT_SECRET_KEYS)["parameters"] == {"hostname": "10.0.0.1",
                                                                         "password": "********"}


@pytest.mark.parametrize("desired, current, equal", [
    ("true", "true", True), (True, "true", True), (False, "", True), (False, None, True), ("", None, True),
    (5, "5", True), ("5", 5, True), ("a", "b", False), (True, "", False),
    (True, True, True), ("false", False, True), ("", False, True), ("true", False, False), (False, True, False),
    ({"max-connections": 2}, {"max-connections": "2", "weight": "1"}, True),
    ({"weight": ""}, {"weight": None}, True),
    ({"weight": "3"}, {"weight": None}, False),
    ({"x": "1"}, None, False),
    (["a", "b"], ["a", "b"], True), (["a"], ["b"], False),
])
def test_value_equal(desired, current, equal):
    assert value_equal(desired, current) is equal


def test_differing_holds_only_the_differing_subkeys():
    desired = {"name": "web01", "attributes": {"max-connections": "2", "weight": 5},
               "parameters": {"hostname": "10.0.0.2", "password": "pw"}}
    before, after = differing(CONNECTION, desired)
    assert before == {"attributes": {"weight": None}, "parameters": {"hostname": "10.0.0.1"}}
    assert after == {"attributes": {"weight": 5}, "parameters": {"hostname": "10.0.0.2"}}
    assert differing(CONNECTION, {"name": "web01", "parameters": {"password": "pw"}}) == ({}, {})


def test_merged_keeps_everything_not_named():
    body = merged(CONNECTION, {"attributes": {"weight": "5"}, "parameters": {"port": "2"}, "name": "new"})
    assert body["attributes"] == {"max-connections": "2", "weight": "5", "failover-only": ""}
    assert body["parameters"] == {"hostname": "10.0.0.1", "password": "pw", "port": "2"}
    assert body["name"] == "new" and body["protocol"] == "ssh"


@pytest.mark.parametrize("path, matches", [
    ("connections/3", True), ("sharingProfiles/1", True), ("/session/data/mysql/connections/3", True),
    ("connections", False), ("connections/3/parameters", False), ("users/bob", False),
])
def test_objects_whose_parameters_are_read(path, matches):
    assert bool(WITH_PARAMETERS.match(path)) is matches

"""guacamole_active_connection: option checks, session matching, and the kill patch."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.proxgate.core.plugins.doc_fragments.guacamole import ModuleDocFragment
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import guacamole_auth_argument_spec
from ansible_collections.proxgate.core.plugins.modules import guacamole_active_connection
from ansible_collections.proxgate.core.plugins.modules.guacamole_active_connection import (
    GuacamoleActiveConnection,
    kill_patch,
    matching_sessions,
    option_errors,
    session_result,
)

AUTH = {"api_url": "https://gateway.invalid/guacamole", "api_username": "guacadmin", "api_password": "pw"}
ACTIVE = {
    "s2": {"identifier": "s2", "connectionIdentifier": "1", "username": "alice", "startDate": 200,
           "remoteHost": "192.0.2.10", "connectable": True},
    "s1": {"identifier": "s1", "connectionIdentifier": "2", "username": "alice", "startDate": 100,
           "remoteHost": "192.0.2.10", "connectable": True},
    "s3": {"identifier": "s3", "connectionIdentifier": "1", "username": "bob", "startDate": 300,
           "remoteHost": "192.0.2.20", "connectable": True},
}


def params(**given):
    base = dict(username=None, connection=None, parent=None, connection_identifier=None, identifier=None)
    base.update(given)
    return base


@pytest.mark.parametrize("filters, expected", [
    ({"username": "alice"}, ["s1", "s2"]),                      # oldest first
    ({"connection_ids": {"1"}}, ["s2", "s3"]),
    ({"username": "alice", "connection_ids": {"1"}}, ["s2"]),   # every filter must match
    ({"identifiers": {"s3", "gone"}}, ["s3"]),
    ({"username": "carol"}, []),
    ({"connection_ids": set()}, []),
    ({}, ["s1", "s2", "s3"]),
])
def test_matching_sessions(filters, expected):
    assert [s["identifier"] for s in matching_sessions(ACTIVE, **filters)] == expected


def test_matching_takes_the_identifier_from_the_map_key_when_missing():
    found = matching_sessions({"k": {"username": "x", "connectionIdentifier": "1"}}, username="x")
    assert found[0]["identifier"] == "k"


def test_kill_patch_removes_each_session_by_path():
    sessions = matching_sessions(ACTIVE, username="alice")
    assert kill_patch(sessions) == [{"op": "remove", "path": "/s1"}, {"op": "remove", "path": "/s2"}]
    assert kill_patch([]) == []


def test_session_result():
    [session] = matching_sessions(ACTIVE, identifiers={"s3"})
    assert session_result(session, {"1": "Production/web01"}) == {
        "identifier": "s3", "username": "bob", "connection_identifier": "1", "connection": "Production/web01",
        "remote_host": "192.0.2.20", "start_date": 300}
    assert session_result(session, {})["connection"] is None


@pytest.mark.parametrize("given, expected", [
    ({"username": " "}, "username must not be empty"),
    ({"connection": ""}, "connection must not be empty"),
    ({"connection_identifier": " "}, "connection_identifier must not be empty"),
    ({"identifier": []}, "identifier must name at least one active connection"),
    ({"identifier": ["s1", ""]}, "identifier must not contain an empty identifier"),
    ({"username": "a", "parent": "Prod"}, "parent only goes with connection"),
    ({"connection": "web01", "parent": "a//b"}, "parent: group path 'a//b' has an empty group name"),
])
def test_option_errors_name_the_option(given, expected):
    errors = option_errors(params(**given))
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_good_options():
    assert option_errors(params(connection="web01", parent="Production/Web", username="bob",
                                identifier=["s1"])) == []


def test_every_option_is_documented_as_declared():
    spec = dict(guacamole_auth_argument_spec(), **GuacamoleActiveConnection.argument_spec)
    docs = dict(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    docs.update(yaml.safe_load(guacamole_active_connection.DOCUMENTATION)["options"])
    assert set(spec) == set(docs)
    for option, declared in spec.items():
        for key in ("type", "default", "choices", "elements"):
            assert docs[option].get(key) == declared.get(key), (option, key)
        assert bool(docs[option].get("required")) == bool(declared.get("required")), option


def run_module(capsys, **args):
    with patch_module_args(dict(AUTH, **args)), pytest.raises(SystemExit) as exited:
        guacamole_active_connection.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1, result
    return result


@pytest.mark.parametrize("args, expected", [
    ({}, "one of the following is required: username, connection, connection_identifier, identifier"),
    ({"parent": "Prod"}, "one of the following is required"),
    ({"connection": "a", "connection_identifier": "1"}, "parameters are mutually exclusive"),
    ({"username": "a", "parent": "Prod"}, "parent only goes with connection"),
])
def test_bad_options_fail_before_any_call(capsys, args, expected):
    assert expected in run_module(capsys, **args)["msg"]

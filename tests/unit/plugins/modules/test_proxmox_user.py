"""proxmox_user: a user as user.cfg reads it back, the changes an update writes, and the option checks."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.modules.proxmox_user import user_changes, user_problems, user_state

PARAMS = {"name": "carol@pve", "password": None, "enable": None, "expire": None, "firstname": None,
          "lastname": None, "email": None, "comment": None, "groups": None}
CURRENT = {"enable": True, "expire": 0, "firstname": "Carol", "lastname": None, "email": None, "comment": None,
           "groups": ["ops"]}


def test_user_state_as_a_node_reads_it_back():
    assert user_state({"enable": 1, "firstname": "Carol", "email": ""}, ["ops", "audit", "ops"]) == dict(
        CURRENT, groups=["audit", "ops"])
    assert user_state({}, None)["enable"] is True


@pytest.mark.parametrize("given, data", [
    ({}, {}),
    ({"enable": True, "firstname": "Carol", "lastname": "", "groups": ["ops", "ops"]}, {}),
    ({"enable": False}, {"enable": 0}),
    ({"firstname": ""}, {"firstname": ""}),
    ({"email": "c@example.com"}, {"email": "c@example.com"}),
    ({"groups": []}, {"groups": ""}),
    ({"groups": ["b", "a"]}, {"groups": "a,b"}),
    ({"password": "anything-long"}, {}),  # never compared: the node does not answer it
])
def test_user_changes_write_only_what_differs(given, data):
    changes, sent = user_changes(CURRENT, dict(PARAMS, **given))
    assert sent == data
    assert "password" not in changes.after


@pytest.mark.parametrize("given, options", [
    ({}, []),
    ({"name": "carol"}, ["name"]),
    ({"password": "x" * 7}, ["password"]),
    ({"password": "x" * 65, "expire": -1, "groups": ["ok", "not ok"]}, ["password", "expire", "groups"]),
])
def test_user_problems_name_the_option(given, options):
    problems = user_problems(dict(PARAMS, **given))
    assert [problem.split(" ")[0] for problem in problems] == options
    assert all("x" * 7 not in problem for problem in problems)

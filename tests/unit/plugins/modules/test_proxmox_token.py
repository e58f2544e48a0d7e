"""proxmox_token: a token as user.cfg reads it back, the changes an update writes, and the id checks
(module_utils/proxmox/access.py)."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.modules.proxmox_token import token_changes, token_problems, token_state

PARAMS = {"user": "ci@pve", "name": "deploy", "privsep": None, "expire": None, "comment": None}


def test_token_state_as_parse_user_config_reads_it():
    assert token_state({"tokenid": "deploy", "privsep": 1}) == {"privsep": True, "expire": 0, "comment": None}
    expected = {"privsep": False, "expire": 5, "comment": "x"}
    assert token_state({"privsep": "0", "expire": 5, "comment": "x"}) == expected


@pytest.mark.parametrize("given, data, after", [
    ({}, {}, {}),
    ({"privsep": True, "expire": 0, "comment": "CI"}, {}, {}),
    ({"privsep": False}, {"privsep": 0}, {"privsep": False}),
    ({"expire": 10}, {"expire": 10}, {"expire": 10}),
    ({"comment": ""}, {"delete": "comment"}, {"comment": None}),
    ({"comment": "New"}, {"comment": "New"}, {"comment": "New"}),
])
def test_token_changes_write_only_what_differs(given, data, after):
    current = {"privsep": True, "expire": 0, "comment": "CI"}
    changes, sent = token_changes(current, dict(PARAMS, **given))
    assert sent == data
    assert changes.after == after


@pytest.mark.parametrize("given, options", [
    ({}, []),
    ({"user": "ci"}, ["user"]),
    ({"name": "x"}, ["name"]),
    ({"name": "de ploy", "expire": -5}, ["name", "expire"]),
])
def test_token_problems_name_the_option(given, options):
    assert [problem.split(" ")[0] for problem in token_problems(dict(PARAMS, **given))] == options

"""proxmox_snapshot: snapshot-name rules, description comparison, and the option checks made before any call."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.proxgate.core.plugins.modules import proxmox_snapshot
from ansible_collections.proxgate.core.plugins.modules.proxmox_snapshot import (
    diff_state,
    same_description,
    snapname_error,
    snapshot_fields,
)

AUTH = {"api_url": "https://pve.invalid:8006", "api_token_id": "root@pam!ci", "api_token_secret": "s3cret"}


@pytest.mark.parametrize("name", ["ab", "before-upgrade", "Nightly_2026-01-01", "v1", "a" * 40, "currently",
                                  "pendings", "A-"])
def test_valid_names(name):
    assert snapname_error(name) is None


@pytest.mark.parametrize("name, expected", [
    ("a", "is not a valid snapshot name"),             # PVE's pattern needs two characters at least
    ("1st", "is not a valid snapshot name"),
    ("_x", "is not a valid snapshot name"),
    ("-x", "is not a valid snapshot name"),
    ("v1.2", "is not a valid snapshot name"),
    ("has space", "is not a valid snapshot name"),
    ("über", "is not a valid snapshot name"),
    ("", "is not a valid snapshot name"),
    ("a" * 41, "41 characters long; PVE allows at most 40"),
    ("current", "is reserved by PVE"),
    ("pending", "is reserved by PVE"),
    ("PENDING", "is reserved by PVE"),
    ("Current", "is reserved by PVE"),
])
def test_invalid_names_say_why_and_name_the_option(name, expected):
    error = snapname_error(name)
    assert error.startswith(f"snapname {name!r}")
    assert expected in error


@pytest.mark.parametrize("current, wanted, same", [
    ("fresh install\n", "fresh install", True),      # PVE hands descriptions back with a newline
    ("fresh install", "fresh install\n", True),
    ("", None, True),
    (None, "", True),
    ("two\nlines\n", "two\nlines", True),
    ("fresh install", "Fresh install", False),
    ("a", "a b", False),
    ("", "now set", False),
])
def test_same_description(current, wanted, same):
    assert same_description(current, wanted) is same


def test_snapshot_fields_and_diff_state():
    entry = {"name": "installed", "description": "base\n", "snaptime": 1767225600, "vmstate": 1,
             "parent": "older"}
    assert snapshot_fields(entry) == {"name": "installed", "description": "base", "snaptime": 1767225600,
                                      "vmstate": True, "parent": "older"}
    assert snapshot_fields({"name": "bare"}) == {"name": "bare", "description": "", "snaptime": None,
                                                 "vmstate": False, "parent": None}
    assert snapshot_fields(None) is None
    assert diff_state(entry) == {"exists": True, "description": "base"}
    assert diff_state(None) == {"exists": False}


def run_module(capsys, **args):
    """Run the module in-process with these options; the checks below fail before any API call."""
    with patch_module_args(dict(AUTH, **args)), pytest.raises(SystemExit) as exited:
        proxmox_snapshot.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1, result
    assert result["failed"] is True
    return result


@pytest.mark.parametrize("args, expected", [
    ({"vmid": 101, "snapname": "9lives"}, "snapname '9lives' is not a valid snapshot name"),
    ({"vmid": 101, "snapname": "current"}, "snapname 'current' is reserved"),
    ({"vmid": 101, "snapname": "x" * 41}, "snapname 'xxxxxxxx"),
    ({"vmid": 101, "snapname": "ok1", "timeout": 0}, "timeout must be a positive number of seconds, got 0"),
    ({"vmid": 101, "snapname": "ok1", "start": True}, "start applies only to state=rollback, not state=present"),
    ({"vmid": 101, "snapname": "ok1", "state": "absent", "start": True}, "start applies only to state=rollback"),
    ({"vmid": 101, "name": "web01", "snapname": "ok1"}, "parameters are mutually exclusive: vmid|name"),
    ({"snapname": "ok1"}, "one of the following is required: vmid, name"),
    ({"vmid": 101}, "missing required arguments: snapname"),
    ({"vmid": 101, "snapname": "ok1", "state": "restored"}, "value of state must be one of: present, absent, rollback"),
])
def test_bad_options_fail_before_any_call_and_name_the_option(capsys, args, expected):
    assert expected in run_module(capsys, **args)["msg"]

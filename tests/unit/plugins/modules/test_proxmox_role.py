"""proxmox_role: the privilege sets as a node lists them, the role id and privilege-name checks
(module_utils/proxmox/access.py)."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import (
    access_id_problem,
    find_entry,
    name_list,
    unknown_names,
)
from ansible_collections.proxgate.core.plugins.modules.proxmox_role import shown


@pytest.mark.parametrize("text, expected", [
    ("VM.PowerMgmt,VM.Audit", ["VM.Audit", "VM.PowerMgmt"]),
    ("VM.Audit,VM.Audit,", ["VM.Audit"]),
    ("", []),
    (None, []),
])
def test_privilege_list_is_a_sorted_set(text, expected):
    assert name_list(text) == expected


def test_shown_sorts_the_privileges():
    expected = {"roleid": "Ops", "privileges": ["VM.Audit", "VM.Console"], "special": False}
    assert shown("Ops", {"VM.Console", "VM.Audit"}) == expected


@pytest.mark.parametrize("value", ["Ops", "gateway.operator", "ops_2-a"])
def test_ids_pve_accepts(value):
    assert access_id_problem("name", value, "role") is None


@pytest.mark.parametrize("value", ["ops team", "ops/x", "", ".", "..", "é"])
def test_ids_pve_refuses_name_the_option(value):
    assert access_id_problem("name", value, "role").startswith("name must be a Proxmox VE role id")


def test_unknown_privileges_are_named_with_the_nearest_known_one():
    known = ["VM.Audit", "VM.PowerMgmt", "Sys.Audit"]
    assert unknown_names("privileges", {"VM.Audit"}, known, "privilege") is None
    assert unknown_names("privileges", {"VM.PowerMgnt", "Zzz"}, known, "privilege") == \
        "privileges: this server has no privilege 'VM.PowerMgnt' (did you mean 'VM.PowerMgmt'?), 'Zzz'"


def test_find_entry():
    listing = [{"roleid": "A"}, {"roleid": "B", "privs": "x"}]
    assert find_entry(listing, "roleid", "B") == {"roleid": "B", "privs": "x"}
    assert find_entry(listing, "roleid", "C") is None
    assert find_entry(None, "roleid", "C") is None

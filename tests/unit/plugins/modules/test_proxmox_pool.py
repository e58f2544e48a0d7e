"""proxmox_pool: a pool's members as a node lists them, what to add and remove, and the paths of nested pools
(module_utils/proxmox/access.py)."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import (
    member_data,
    plan_members,
    pool_call,
    pool_members,
)

LISTED = {"poolid": "gw", "comment": "", "members": [
    {"id": "qemu/102", "type": "qemu", "vmid": 102, "node": "pve2"},
    {"id": "lxc/200", "type": "lxc", "vmid": "200", "node": "pve1"},
    {"id": "storage/pve1/local", "type": "storage", "storage": "local", "node": "pve1"},
]}


def test_pool_members_reads_guests_storages_and_a_blank_comment():
    assert pool_members(LISTED) == {"comment": None, "vms": [102, 200], "storage": ["local"]}
    assert pool_members({}) == {"comment": None, "vms": [], "storage": []}


CURRENT = {"vms": [101, 102], "storage": ["local"]}


@pytest.mark.parametrize("wanted, exclusive, adds, removes", [
    ({}, True, {}, {}),                                                   # no kind given: nothing touched
    ({"vms": [102, 103]}, False, {"vms": [103]}, {}),                     # listed added, others kept
    ({"vms": [102, 103]}, True, {"vms": [103]}, {"vms": [101]}),
    ({"vms": [], "storage": []}, True, {}, {"vms": [101, 102], "storage": ["local"]}),
    ({"vms": [], "storage": ["local"]}, False, {}, {}),
    ({"storage": ["local-lvm"]}, True, {"storage": ["local-lvm"]}, {"storage": ["local"]}),  # vms untouched
])
def test_plan_members(wanted, exclusive, adds, removes):
    assert plan_members(CURRENT, wanted, exclusive) == (adds, removes)


def test_member_data_joins_the_lists():
    assert member_data({"vms": [101, 103], "storage": ["local"]}) == {"vms": "101,103", "storage": "local"}


class Recorder:
    def __init__(self):
        self.calls = []

    def get(self, path, **params):
        self.calls.append(("GET", path, params))
        return [LISTED] if path == "/pools" else LISTED

    def delete(self, path, **params):
        self.calls.append(("DELETE", path, params))


@pytest.mark.parametrize("pool, path, params", [
    ("gw", "/pools/gw", {}),
    ("gw/web", "/pools", {"poolid": "gw/web"}),  # a nested pool's id is no path segment
])
def test_pool_call_paths(pool, path, params):
    client = Recorder()
    assert pool_call(client, "get", pool) == LISTED
    pool_call(client, "delete", pool)
    assert client.calls == [("GET", path, params), ("DELETE", path, params)]

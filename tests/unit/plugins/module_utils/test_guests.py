"""Finding guests by vmid or name from one /cluster/resources call.

The node is an httpx.MockTransport: these tests are about how guests.py reads the resource list
(the request it makes, the fields it relies on), so the list is scripted exactly.
"""

from __future__ import annotations

import httpx
import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxClient, ProxmoxError
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import (
    cluster_guests,
    describe,
    find_guest,
    guest_path,
)

RESOURCES = [
    {"id": "qemu/101", "type": "qemu", "vmid": 101, "name": "web01", "node": "pve1", "status": "running",
     "template": 0, "tags": "web;linux", "pool": "production", "maxcpu": 2, "maxmem": 2147483648,
     "maxdisk": 0, "uptime": 42},
    {"id": "qemu/205", "type": "qemu", "vmid": 205, "name": "twin", "node": "pve2", "status": "stopped",
     "template": 0},
    {"id": "qemu/103", "type": "qemu", "vmid": 103, "name": "twin", "node": "pve1", "status": "running",
     "template": 0},
    {"id": "lxc/200", "type": "lxc", "vmid": 200, "name": "dns01", "node": "pve1", "status": "running",
     "template": 0},
    {"id": "lxc/201", "type": "lxc", "vmid": 201, "name": "web01", "node": "pve1", "status": "running",
     "template": 0},
    # A guest being created has no name yet.
    {"id": "qemu/300", "type": "qemu", "vmid": 300, "node": "pve2", "status": "stopped", "template": 0,
     "lock": "create"},
]


class ResourceNode:
    def __init__(self, resources):
        self.resources = resources
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        assert request.url.path == "/api2/json/cluster/resources"
        return httpx.Response(200, json={"data": self.resources})

    def client(self):
        return ProxmoxClient("https://pve1:8006", token_id="root@pam!ci", token_secret="s",
                             transport=httpx.MockTransport(self), backoff=0)


@pytest.fixture
def node():
    return ResourceNode(RESOURCES)


def test_one_call_for_the_whole_cluster_filtered_to_vms(node):
    assert [g["vmid"] for g in cluster_guests(node.client())] == [101, 205, 103, 300]
    assert [g["vmid"] for g in cluster_guests(node.client(), kind="lxc")] == [200, 201]
    assert len(cluster_guests(node.client(), kind=None)) == len(RESOURCES)
    assert all(dict(r.url.params) == {"type": "vm"} for r in node.requests)


@pytest.mark.parametrize("vmid", [103, "103"])
def test_find_by_vmid(node, vmid):
    guest = find_guest(node.client(), vmid=vmid)
    assert (guest["vmid"], guest["node"]) == (103, "pve1")
    assert len(node.requests) == 1


def test_vmid_wins_over_a_name_and_kind_is_respected(node):
    assert find_guest(node.client(), vmid=201, name="web01") is None, "201 is a container, not a VM"
    assert find_guest(node.client(), vmid=201, kind="lxc")["name"] == "web01"


def test_find_by_name(node):
    guest = find_guest(node.client(), name="web01")
    assert guest["vmid"] == 101, "the container of the same name is another kind"


def test_unknown_vmid_or_name_is_none(node):
    assert find_guest(node.client(), vmid=999) is None
    assert find_guest(node.client(), name="nobody") is None


def test_ambiguous_name_lists_the_vmids_in_order(node):
    with pytest.raises(ProxmoxError) as caught:
        find_guest(node.client(), name="twin")
    text = str(caught.value)
    assert "'twin'" in text and "vmids 103, 205" in text and "vmid" in text


def test_guest_path_and_describe(node):
    web = find_guest(node.client(), vmid=101)
    assert guest_path(web) == "/nodes/pve1/qemu/101"
    assert guest_path(find_guest(node.client(), vmid=200, kind="lxc")) == "/nodes/pve1/lxc/200"
    assert describe(web) == {
        "vmid": 101, "name": "web01", "node": "pve1", "type": "qemu", "status": "running", "template": False,
        "tags": ["linux", "web"], "pool": "production", "lock": None, "cpus": 2, "maxmem": 2147483648,
        "maxdisk": 0, "uptime": 42}
    creating = describe(find_guest(node.client(), vmid=300))
    assert (creating["name"], creating["tags"], creating["lock"]) == (None, [], "create")

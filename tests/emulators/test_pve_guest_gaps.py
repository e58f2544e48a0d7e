"""NICs, clones and templates (tests/emulators/pve/guest_gaps.py): each gap on plain fakepve 0.5.0, and the
behaviour a node has, read in qemu-server 9.2.6 (the functions are named in guest_gaps.py and in each test).
Both servers are served for real over HTTPS on 127.0.0.1 and spoken to with httpx."""

from __future__ import annotations

import re
import ssl
import time

import httpx
import pytest

from tests.emulators.pve import ServedPve

TOKEN_ID = "root@pam!guest-gaps"
TOKEN_SECRET = "5c0f3d7e-2b8a-4e61-9d4c-7a1e8f2b6c30"
MAC = re.compile(r"^virtio=(?P<mac>[0-9A-F]{2}(:[0-9A-F]{2}){5}),")


def client_for(url, cafile):
    return httpx.Client(base_url=url + "/api2/json", verify=ssl.create_default_context(cafile=cafile),
                        headers={"Authorization": f"PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}"}, timeout=10)


def prepare(pve):
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    pve.add_node("pve2")
    pve.add_ceph_storage("ceph-pool")


@pytest.fixture
def plain(fakepve, fakepve_cafile):
    """(FakePve, client): fakepve 0.5.0 as published."""
    prepare(fakepve)
    with client_for(fakepve.url, fakepve_cafile) as client:
        yield fakepve, client


@pytest.fixture
def fixed(tmp_path):
    """(ProxgatePve, client): with the project's additions."""
    server = ServedPve(tmp_path / "pki")
    prepare(server.pve)
    with client_for(server.url, server.certfile) as client:
        yield server.pve, client
    server.stop()


def data(response):
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()["data"]


def task_exit(client, response, timeout=10):
    upid = data(response)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = data(client.get(f"/nodes/{upid.split(':')[1]}/tasks/{upid}/status"))
        if status["status"] == "stopped":
            return status["exitstatus"]
        time.sleep(0.02)
    raise AssertionError(f"task {upid} still running")


def create_vm(client, vmid, disk="local-lvm:1"):
    assert task_exit(client, client.post("/nodes/pve1/qemu", data={
        "vmid": vmid, "name": f"vm{vmid}", "scsi0": disk, "net0": "virtio,bridge=vmbr0"})) == "OK"


def template_with_linked_clone(client):
    create_vm(client, 100)
    assert task_exit(client, client.post("/nodes/pve1/qemu/100/template")) == "OK"
    assert task_exit(client, client.post("/nodes/pve1/qemu/100/clone", data={"newid": 105, "full": 0})) == "OK"


# --- 1. update_vm_api: parse_net gives a NIC without a MAC a new one -----------------------------------------

def test_gap_a_nic_updated_without_a_mac_keeps_none(plain):
    _pve, client = plain
    create_vm(client, 100)
    data(client.put("/nodes/pve1/qemu/100/config", data={"net1": "virtio,bridge=vmbr0"}))
    assert data(client.get("/nodes/pve1/qemu/100/config"))["net1"] == "virtio,bridge=vmbr0"


def test_a_nic_updated_without_a_mac_gets_a_new_one_and_with_its_mac_keeps_it(fixed):
    _pve, client = fixed
    create_vm(client, 100)
    before = MAC.match(data(client.get("/nodes/pve1/qemu/100/config"))["net0"])["mac"]
    data(client.put("/nodes/pve1/qemu/100/config", data={"net0": "virtio,bridge=vmbr1"}))
    renewed = MAC.match(data(client.get("/nodes/pve1/qemu/100/config"))["net0"])
    assert renewed and renewed["mac"] != before  # the guest's MAC changed: what a module must never cause
    data(client.post("/nodes/pve1/qemu/100/config", data={"net0": f"virtio={before},bridge=vmbr0"}))
    assert data(client.get("/nodes/pve1/qemu/100/config"))["net0"] == f"virtio={before},bridge=vmbr0"


# --- 2. clone_vm's $load_and_check: no clone to another node from local storage -------------------------------

def test_gap_a_vm_on_local_storage_is_cloned_to_another_node(plain):
    pve, client = plain
    create_vm(client, 100)
    assert task_exit(client, client.post("/nodes/pve1/qemu/100/clone", data={"newid": 101, "target": "pve2"})) == "OK"
    assert pve.vm(101).node == "pve2"


@pytest.mark.parametrize("full", [1, 0], ids=["full", "linked"])
def test_a_vm_on_local_storage_is_not_cloned_to_another_node(fixed, full):
    pve, client = fixed
    create_vm(client, 100)
    if not full:
        assert task_exit(client, client.post("/nodes/pve1/qemu/100/template")) == "OK"
    reply = client.post("/nodes/pve1/qemu/100/clone", data={"newid": 101, "target": "pve2", "full": full})
    assert reply.status_code == 500, reply.text  # refused before any task
    assert reply.json()["message"].strip() == "can't clone VM to node 'pve2' (VM uses local storage)"
    assert pve.vm(101) is None


def test_a_vm_on_shared_storage_is_cloned_to_another_node(fixed):
    pve, client = fixed
    create_vm(client, 100, disk="ceph-pool:1")
    assert task_exit(client, client.post("/nodes/pve1/qemu/100/clone", data={"newid": 101, "target": "pve2"})) == "OK"
    assert pve.vm(101).node == "pve2"


# --- 3. destroy_vm: a template whose base volume a linked clone uses stays -------------------------------------

def test_gap_a_template_is_destroyed_under_its_linked_clone(plain):
    pve, client = plain
    template_with_linked_clone(client)
    assert task_exit(client, client.delete("/nodes/pve1/qemu/100")) == "OK"
    assert pve.vm(100) is None and pve.vm(105) is not None


def test_a_template_used_by_a_linked_clone_is_not_destroyed_until_the_clone_is(fixed):
    pve, client = fixed
    template_with_linked_clone(client)
    base = data(client.get("/nodes/pve1/qemu/100/config"))["scsi0"].split(",")[0]
    assert base.startswith("local-lvm:base-100-disk-")
    assert task_exit(client, client.delete("/nodes/pve1/qemu/100")) == \
        f"base volume '{base}' is still in use by linked cloned"
    assert pve.vm(100) is not None and pve.vm(100).template
    assert task_exit(client, client.delete("/nodes/pve1/qemu/105")) == "OK"
    assert task_exit(client, client.delete("/nodes/pve1/qemu/100")) == "OK"
    assert pve.vm(100) is None


# --- tokens.py: RPCEnvironment::permissions, a privilege-separated token holds the intersection ----------------

LIMITED = "automation@pve!ansible"
LIMITED_SECRET = "9a3e1f4c-6b2d-4f8a-8c5e-1d7b3a9f2e60"


def limited_client(url, cafile):
    return httpx.Client(base_url=url + "/api2/json", verify=ssl.create_default_context(cafile=cafile),
                        headers={"Authorization": f"PVEAPIToken={LIMITED}={LIMITED_SECRET}"}, timeout=10)


def reads_config(url, cafile):
    """The HTTP status of GET .../qemu/100/config (VM.Audit on /vms/100) as the limited token."""
    with limited_client(url, cafile) as client:
        return client.get("/nodes/pve1/qemu/100/config").status_code


@pytest.fixture
def plain_tokens(plain, fakepve_cafile):
    pve, client = plain
    create_vm(client, 100)
    pve.apitokens[LIMITED] = LIMITED_SECRET
    return pve, lambda: reads_config(pve.url, fakepve_cafile)


@pytest.fixture
def fixed_tokens(tmp_path):
    server = ServedPve(tmp_path / "pki")
    prepare(server.pve)
    with client_for(server.url, server.certfile) as client:
        create_vm(client, 100)
    server.pve.apitokens[LIMITED] = LIMITED_SECRET
    yield server.pve, lambda: reads_config(server.url, server.certfile)
    server.stop()


def test_gap_a_token_holds_its_users_privileges_without_acls_of_its_own(plain_tokens):
    pve, reads = plain_tokens
    pve.grant("automation@pve", "/vms", "VM.Audit")
    assert reads() == 200


def test_a_privilege_separated_token_holds_what_both_it_and_its_user_hold(fixed_tokens):
    pve, reads = fixed_tokens
    pve.grant("automation@pve", "/vms", "VM.Audit")
    assert reads() == 403  # the user's ACL alone: nothing for the token
    pve.grant(LIMITED, "/vms/100", "VM.Audit")
    assert reads() == 200  # both hold it
    pve.acl["automation@pve"] = []
    assert reads() == 403  # the token's ACL alone: nothing either


def test_a_token_without_privilege_separation_holds_its_users_privileges(fixed_tokens):
    pve, reads = fixed_tokens
    pve.token_privsep[LIMITED] = False
    pve.grant(LIMITED, "/vms/100", "VM.Audit")
    pve.grant("automation@pve", "/", "Sys.Audit")
    assert reads() == 403  # its own ACL does not count
    pve.grant("automation@pve", "/vms", "VM.Audit")
    assert reads() == 200


def test_a_privilege_separated_token_of_root_holds_only_its_own_acls(fixed_tokens):
    pve, _reads = fixed_tokens
    pve.apitokens["root@pam!limited"] = LIMITED_SECRET
    pve.grant("root@pam!limited", "/", "Sys.Audit")
    assert not pve.allowed("root@pam!limited", "/vms/100", "VM.Audit")
    assert pve.allowed("root@pam!limited", "/nodes/pve1", "Sys.Audit")
    pve.token_privsep["root@pam!limited"] = False
    assert pve.allowed("root@pam!limited", "/vms/100", "VM.Audit")

"""Every addition ProxgatePve makes to fakepve: the gap on plain fakepve, and the fixed behaviour.

Both servers are served for real over HTTPS on 127.0.0.1 (plain FakePve by fakepve's own `fakepve`
fixture, ProxgatePve by ServedPve) and spoken to with httpx, as the collection speaks to a node.
Also: the guest generator for benchmarks, and the command line that serves the test server.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import re
import selectors
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fakepve import FakePve

from tests.emulators.pve import ProxgatePve, ServedPve, generate_guests, load_guests

REPO = Path(__file__).resolve().parents[2]
TOKEN_ID = "root@pam!gaps"
TOKEN_SECRET = "0b7e6c1a-5d1f-4c3e-9a77-3f2d1e0c9b8a"
VM = "/nodes/pve1/qemu/100"


def api_client(url, cafile):
    """httpx speaking to a test server with an API token, verifying its certificate."""
    return httpx.Client(base_url=url + "/api2/json", verify=ssl.create_default_context(cafile=cafile),
                        headers={"Authorization": f"PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}"}, timeout=10)


@pytest.fixture
def plain(fakepve, fakepve_cafile):
    """(FakePve, httpx client): fakepve 0.5.0 as published."""
    fakepve.apitokens[TOKEN_ID] = TOKEN_SECRET
    with api_client(fakepve.url, fakepve_cafile) as client:
        yield fakepve, client


@pytest.fixture
def served(tmp_path):
    server = ServedPve(tmp_path / "pki")
    server.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    yield server
    server.stop()


@pytest.fixture
def fixed(served):
    """(ProxgatePve, httpx client): fakepve with the project's additions."""
    with api_client(served.url, served.certfile) as client:
        yield served.pve, client


def data(response):
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()["data"]


def error_of(response):
    """(status, message) of an error reply, the message from the body as a node sends it."""
    return response.status_code, response.json()["message"].strip()


def wait_task(client, upid, timeout=10):
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = data(client.get(f"/nodes/{node}/tasks/{upid}/status"))
        if status["status"] == "stopped":
            return status["exitstatus"]
        time.sleep(0.02)
    raise AssertionError(f"task {upid} still running")


# ------------------------------------------------------------------ (a) pending values

def running_vm_with_pending_changes(pve, client):
    """A running VM whose cores change and cpulimit removal wait for the next start (pending)."""
    pve.add_vm(100, "web", status="running", config={"cores": 1, "cpulimit": "2", "memory": 1024})
    data(client.put(f"{VM}/config", data={"cores": 4, "delete": "cpulimit"}))
    pending = {item["key"]: item for item in data(client.get(f"{VM}/pending"))}
    assert pending["cores"]["pending"] in (4, "4") and pending["cpulimit"]["delete"] == 1


def test_config_get_shows_pending_values_unless_current(plain, fixed):
    pve, client = plain
    running_vm_with_pending_changes(pve, client)
    config = data(client.get(f"{VM}/config"))
    # Gap: plain fakepve answers the current values only.
    assert str(config["cores"]) == "1" and config["cpulimit"] == "2"

    pve, client = fixed
    running_vm_with_pending_changes(pve, client)
    config = data(client.get(f"{VM}/config"))
    assert str(config["cores"]) == "4"
    assert "cpulimit" not in config, "a pending delete is gone from the config the node shows"
    assert config["memory"] == "1024" and re.fullmatch(r"[0-9a-f]{40}", config["digest"])
    current = data(client.get(f"{VM}/config", params={"current": 1}))
    assert str(current["cores"]) == "1" and current["cpulimit"] == "2"


def test_config_get_without_pending_values_is_unchanged(fixed):
    pve, client = fixed
    pve.add_vm(100, "web", status="stopped", config={"cores": 1})
    data(client.put(f"{VM}/config", data={"cores": 2}))
    assert str(data(client.get(f"{VM}/config"))["cores"]) == "2"
    assert str(data(client.get(f"{VM}/config", params={"current": 1}))["cores"]) == "2"


# ------------------------------------------------------------------ (b) stale digest

def write_with_stale_digest(pve, client):
    pve.add_vm(100, "web", status="stopped", config={"cores": 1})
    digest = data(client.get(f"{VM}/config"))["digest"]
    data(client.put(f"{VM}/config", data={"description": "changed by someone else"}))
    return client.put(f"{VM}/config", data={"cores": 2, "digest": digest})


def test_stale_digest_wording_is_qemu_servers_on_both(plain, fixed):
    """Not a gap: qemu-server's update_vm_api says 'checksum mismatch' for a stale QEMU config digest
    ('detected modified configuration' is PVE::Tools::assert_if_modified, used for LXC and node config),
    and fakepve already says so. This keeps the project's server from drifting from it."""
    for pve, client in (plain, fixed):
        assert error_of(write_with_stale_digest(pve, client)) == (500, "checksum mismatch (file change by other user?)")
        assert pve.vm(100).config["cores"] == 1, "nothing was written"


# ------------------------------------------------------------------ (c) agent on a stopped VM

AGENT_CALL = f"{VM}/agent/network-get-interfaces"


def stopped_vm_with_agent(pve):
    vm = pve.add_vm(100, "web", status="stopped", config={"agent": "1"})
    vm.agent = {"interfaces": []}


def test_agent_call_on_a_stopped_vm_says_the_vm_is_not_running(plain, fixed):
    pve, client = plain
    stopped_vm_with_agent(pve)
    assert error_of(client.get(AGENT_CALL)) == (500, "QEMU guest agent is not running")

    pve, client = fixed
    stopped_vm_with_agent(pve)
    response = client.get(AGENT_CALL)
    assert error_of(response) == (500, "VM 100 is not running")
    assert response.reason_phrase == "VM 100 is not running"


# ------------------------------------------------------------------ (d) the guest OS brings up its agent

def create_and_start(client, vmid, **options):
    upid = data(client.post("/nodes/pve1/qemu", data=dict(
        vmid=vmid, name=f"vm{vmid}", memory=1024, net0="virtio,bridge=vmbr0", scsi0="local-lvm:4", **options)))
    assert wait_task(client, upid) == "OK"
    assert wait_task(client, data(client.post(f"/nodes/pve1/qemu/{vmid}/status/start"))) == "OK"


def test_vm_created_with_agent_answers_once_started(plain, fixed):
    pve, client = plain
    create_and_start(client, 120, agent=1)
    # Gap: plain fakepve gives an agent only to VMs a test set vm.agent on.
    assert error_of(client.get("/nodes/pve1/qemu/120/agent/network-get-interfaces")) == (
        500, "QEMU guest agent is not running")

    pve, client = fixed
    create_and_start(client, 120, agent=1)
    interfaces = data(client.get("/nodes/pve1/qemu/120/agent/network-get-interfaces"))["result"]
    by_name = {nic["name"]: nic for nic in interfaces}
    assert set(by_name) == {"lo", "eth0"}
    loopback = {a["ip-address"] for a in by_name["lo"]["ip-addresses"]}
    assert "127.0.0.1" in loopback
    addresses = [(ipaddress.ip_address(a["ip-address"]), a["ip-address-type"], a["prefix"])
                 for a in by_name["eth0"]["ip-addresses"]]
    ipv4 = [addr for addr, kind, _prefix in addresses if kind == "ipv4"]
    ipv6 = [addr for addr, kind, _prefix in addresses if kind == "ipv6"]
    assert len(ipv4) == 1 and ipv4[0] in pve.agent_network
    assert all(addr.version == 6 for addr in ipv6)
    assert [addr for addr in ipv6 if addr.is_link_local], "an IPv6 link-local address"
    global_unicast = ipaddress.ip_network("2000::/3")
    assert [addr for addr in ipv6 if addr in global_unicast], "a global IPv6 address"
    assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", by_name["eth0"]["hardware-address"])
    # The guest sees the MAC the node gave its NIC, as a real guest does.
    net0_mac = pve.vm(120).config["net0"].split(",")[0].split("=")[1].lower()
    assert by_name["eth0"]["hardware-address"] == net0_mac


def test_vm_without_agent_or_not_started_has_no_agent(plain, fixed):
    pve, client = plain
    create_and_start(client, 121)
    # Gap: a node refuses an agent call on a VM with no `agent` in its config with its own words.
    assert error_of(client.get("/nodes/pve1/qemu/121/agent/network-get-interfaces")) == (
        500, "QEMU guest agent is not running")

    pve, client = fixed
    create_and_start(client, 121)
    assert error_of(client.get("/nodes/pve1/qemu/121/agent/network-get-interfaces")) == (
        500, "No QEMU guest agent configured")
    upid = data(client.post("/nodes/pve1/qemu", data=dict(vmid=122, name="vm122", agent=1)))
    assert wait_task(client, upid) == "OK"
    assert error_of(client.get("/nodes/pve1/qemu/122/agent/network-get-interfaces")) == (
        500, "VM 122 is not running")


def test_agent_answers_only_after_the_guest_has_booted(tmp_path):
    server = ServedPve(tmp_path / "pki", agent_boot_secs=30)
    server.pve.time_scale = 0.02  # 30 PVE seconds of boot = 0.6 s
    server.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    try:
        with api_client(server.url, server.certfile) as client:
            create_and_start(client, 130, agent=1)
            call = "/nodes/pve1/qemu/130/agent/network-get-interfaces"
            assert error_of(client.get(call)) == (500, "QEMU guest agent is not running")
            time.sleep(0.7)
            assert data(client.get(call))["result"]
    finally:
        server.stop()


# ------------------------------------------------------------------ (e) dropped connections

def test_drop_next_closes_the_connection_exactly_n_times(fixed, plain):
    pve, client = plain
    # Gap: plain fakepve only drops at random (flaky_network), never a chosen request.
    assert not hasattr(pve, "drop_next") and not hasattr(FakePve, "drop_next")

    pve, client = fixed
    pve.drop_next("GET", "/version", times=2)
    for _attempt in range(2):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.get("/version")
    assert data(client.get("/version"))["version"]
    assert data(client.get("/version"))["version"], "no more drops after N"
    seen = [path for method, path, _body in pve.requests if path == "/api2/json/version"]
    assert len(seen) == 4, "dropped requests still reach the request log"


def test_drop_next_hits_only_its_method_and_path(fixed):
    pve, client = fixed
    pve.add_vm(100, "web", status="stopped", config={"cores": 1})
    pve.drop_next("PUT", "/qemu/100/config", times=1)
    assert data(client.get(f"{VM}/config"))["cores"] == 1
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.put(f"{VM}/config", data={"cores": 2})
    assert pve.vm(100).config["cores"] == 1, "a dropped write is not carried out"
    data(client.put(f"{VM}/config", data={"cores": 2}))
    assert pve.vm(100).config["cores"] == "2"


# ------------------------------------------------------------------ the guest generator

def test_generate_guests_counts_and_shares():
    guests = generate_guests(1000, nodes=4, running=0.7, with_agent=0.8, lxc_share=0.1, seed=7)
    assert len(guests) == 1000
    assert len({g["vmid"] for g in guests}) == 1000 and len({g["name"] for g in guests}) == 1000
    per_node = {}
    for guest in guests:
        per_node[guest["node"]] = per_node.get(guest["node"], 0) + 1
    assert per_node == {"pve1": 250, "pve2": 250, "pve3": 250, "pve4": 250}
    containers = [g for g in guests if g.get("type") == "lxc"]
    vms = [g for g in guests if g.get("type", "qemu") == "qemu"]
    assert 0.07 <= len(containers) / 1000 <= 0.13
    assert 0.65 <= sum(g["status"] == "running" for g in guests) / 1000 <= 0.75
    running_vms = [g for g in vms if g["status"] == "running"]
    with_agent = [g for g in running_vms if g.get("agent")]
    assert 0.75 <= len(with_agent) / len(running_vms) <= 0.85
    assert not [g for g in vms if g["status"] == "stopped" and g.get("agent")], "a stopped VM has no agent answer"
    for guest in with_agent:
        eth0 = [nic for nic in guest["agent"]["interfaces"] if nic["name"] == "eth0"][0]
        assert eth0["ip-addresses"][0]["ip-address-type"] == "ipv4"


def test_generate_guests_follows_the_shares_asked_for():
    guests = generate_guests(400, nodes=1, running=0.0, lxc_share=0.0)
    assert {g["node"] for g in guests} == {"pve1"}
    assert {g["status"] for g in guests} == {"stopped"}
    assert not [g for g in guests if g.get("type") == "lxc" or g.get("agent")]
    everything = generate_guests(200, running=1.0, with_agent=1.0, lxc_share=0.0)
    assert all(g["status"] == "running" and g["agent"] for g in everything)


def test_generate_guests_is_repeatable_for_a_seed():
    assert generate_guests(300, seed=3) == generate_guests(300, seed=3)
    assert generate_guests(300, seed=3) != generate_guests(300, seed=4)


def test_generated_guests_load_into_the_server():
    pve = ProxgatePve(host="127.0.0.1", port=0)
    guests = generate_guests(50, nodes=3, seed=5)
    load_guests(pve, guests)
    vms = [g for g in guests if g.get("type", "qemu") == "qemu"]
    assert sorted(vm.vmid for vm in pve.vms) == sorted(g["vmid"] for g in vms)
    assert set(pve.nodes) == {"pve1", "pve2", "pve3"}


# ------------------------------------------------------------------ the command line

def read_line(stream, timeout):
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    try:
        if not selector.select(timeout):
            return ""
        return stream.readline()
    finally:
        selector.close()


def test_cli_serves_the_test_server_with_its_certificate(tmp_path):
    cert_dir = tmp_path / "certs"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "tests.emulators.pve", "--cert-dir", str(cert_dir),
                                "--port", "0"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        line = read_line(process.stdout, timeout=20)
        found = re.fullmatch(r"fakepve listening on (https://127\.0\.0\.1:(\d+))\n", line)
        assert found, (line, process.poll())
        url = found.group(1)
        assert int(found.group(2)) > 0
        verify = ssl.create_default_context(cafile=str(cert_dir / "fakepve.crt"))
        with httpx.Client(base_url=url + "/api2/json", verify=verify, timeout=10) as client:
            login = data(client.post("/access/ticket", data={"username": "root@pam", "password": "secret"}))
            version = data(client.get("/version", headers={"Cookie": f"PVEAuthCookie={login['ticket']}"}))
            assert version["version"]
            names = [vm["name"] for vm in data(client.get(
                "/cluster/resources", params={"type": "vm"}, headers={"Cookie": f"PVEAuthCookie={login['ticket']}"}))]
            assert "web01" in names, "the demo guests by default"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0, "SIGTERM stops it cleanly"


# ------------------------------------------------------------------ (f) the cloud-init password is hidden

def test_config_get_hides_the_cloud_init_password(plain, fixed):
    for pve in (plain[0], fixed[0]):
        pve.add_vm(100, "web", status="stopped", config={"ciuser": "admin", "cipassword": "s3cret-pass"})
    # Gap: plain fakepve hands the password back; a node only shows that one is set.
    assert data(plain[1].get(f"{VM}/config"))["cipassword"] == "s3cret-pass"
    for params in ({}, {"current": 1}):
        config = data(fixed[1].get(f"{VM}/config", params=params))
        assert config["cipassword"] == "**********" and config["ciuser"] == "admin"


def test_pending_list_hides_the_cloud_init_password(plain, fixed):
    for pve in (plain[0], fixed[0]):
        pve.add_vm(100, "web", status="running", config={"cipassword": "old-pass"}, pending={"cipassword": "new-pass"})
    # Gap: plain fakepve lists both passwords in the clear.
    plain_items = {item["key"]: item for item in data(plain[1].get(f"{VM}/pending"))}
    assert plain_items["cipassword"]["pending"] == "new-pass"
    item = {item["key"]: item for item in data(fixed[1].get(f"{VM}/pending"))}["cipassword"]
    assert item["value"] == "**********" and item["pending"] == "**********"


# ------------------------------------------------------------------ (g) what the inventory plugin reads

def test_guest_without_a_name_has_no_name_field(plain, fixed):
    for pve, _client in (plain, fixed):
        load_guests(pve, [{"vmid": 150, "node": "pve1", "status": "stopped", "config": {"memory": 512}},
                          {"vmid": 151, "name": "named", "node": "pve1", "config": {"tags": "web"}}])
    # Gap: plain fakepve sends "name": null for a guest without a name; a node leaves the field out.
    plain_resources = {g["vmid"]: g for g in data(plain[1].get("/cluster/resources", params={"type": "vm"}))}
    assert "name" in plain_resources[150] and plain_resources[150]["name"] is None
    resources = {g["vmid"]: g for g in data(fixed[1].get("/cluster/resources", params={"type": "vm"}))}
    assert "name" not in resources[150]
    assert "name" not in data(fixed[1].get("/nodes/pve1/qemu/150/config"))
    # Guests without tags have no tags field on both, as on a node; the named guest is untouched.
    assert "tags" not in resources[150] and "tags" not in plain_resources[150]
    assert resources[151]["name"] == "named" and resources[151]["tags"] == "web"


def running_container(pve):
    pve.add_ct(300, "ct300", node="pve1", status="running",
               config={"net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:03:00,ip=10.20.3.0/16,ip6=fd00::300/64"})
    pve.add_ct(301, "ct301", node="pve1", status="stopped", config={"net0": "name=eth0,bridge=vmbr0,ip=dhcp"})


def test_lxc_interfaces_are_listed_as_a_node_lists_them(plain, fixed):
    running_container(plain[0])
    running_container(fixed[0])
    # Gap: fakepve adds agent-style keys a node does not send.
    assert "ip-addresses" in data(plain[1].get("/nodes/pve1/lxc/300/interfaces"))[1]
    interfaces = data(fixed[1].get("/nodes/pve1/lxc/300/interfaces"))
    assert interfaces == [
        {"name": "lo", "hwaddr": "00:00:00:00:00:00", "inet": "127.0.0.1/8", "inet6": "::1/128"},
        {"name": "eth0", "hwaddr": "BC:24:11:00:03:00", "inet": "10.20.3.0/16", "inet6": "fd00::300/64"},
    ]
    # A stopped container has no interfaces to list: data is null, on both.
    for _pve, client in (plain, fixed):
        assert data(client.get("/nodes/pve1/lxc/301/interfaces")) is None


def test_windows_agent_reply_keeps_adapters_without_addresses(fixed):
    from tests.emulators.pve.server import windows_agent_interfaces

    pve, client = fixed
    network = ipaddress.ip_network("10.20.0.0/16")
    vm = pve.add_vm(100, "win", status="running", config={"agent": "1"})
    vm.agent = {"interfaces": windows_agent_interfaces(network, 100, with_addresses=False)}
    reply = data(client.get(AGENT_CALL))["result"]
    assert [nic["name"] for nic in reply][0] == "Ethernet"
    assert all("ip-addresses" not in nic for nic in reply), "no ip-addresses key at all, as such agents answer"
    vm.agent = {"interfaces": windows_agent_interfaces(network, 100)}
    by_name = {nic["name"]: nic for nic in data(client.get(AGENT_CALL))["result"]}
    assert [a["ip-address"] for a in by_name["Ethernet"]["ip-addresses"] if a["ip-address-type"] == "ipv4"] == [
        "10.20.0.110"]
    assert not any("ip-addresses" in nic for name, nic in by_name.items() if name.startswith("isatap"))


def test_hung_agent_holds_the_request_for_agent_hang_secs(plain, fixed):
    for pve, _client in (plain, fixed):
        vm = pve.add_vm(100, "web", status="running", config={"agent": "1"})
        vm.agent, vm.agent_hangs = {"interfaces": []}, True
    started = time.monotonic()
    # Plain fakepve at time_scale 0 answers a hung agent at once: no client timeout can be tested with it.
    assert error_of(plain[1].get(AGENT_CALL)) == (500, "VM 100 qmp command 'guest-ping' failed - got timeout")
    assert time.monotonic() - started < 0.5
    fixed[0].agent_hang_secs = 0.6
    started = time.monotonic()
    assert error_of(fixed[1].get(AGENT_CALL)) == (500, "VM 100 qmp command 'guest-ping' failed - got timeout")
    assert 0.6 <= time.monotonic() - started < 3
    with pytest.raises(httpx.ReadTimeout):
        fixed[1].get(AGENT_CALL, timeout=0.2)


def test_latency_is_added_to_every_response_and_concurrent_requests_overlap(fixed):
    from concurrent.futures import ThreadPoolExecutor

    pve, client = fixed
    pve.time_scale = 1.0
    pve.slow_network(0.3)
    started = time.monotonic()
    data(client.get("/version"))
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _n: client.get("/version").status_code, range(8)))
    elapsed = time.monotonic() - started
    assert answers == [200] * 8
    # Eight requests one after the other would take 2.4 s; overlapping, about one latency.
    assert 0.3 <= elapsed < 1.2, elapsed


def test_cli_request_log_counts_every_request(tmp_path):
    cert_dir, log = tmp_path / "certs", tmp_path / "requests.log"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "tests.emulators.pve", "--cert-dir", str(cert_dir),
                                "--guests", "generate:20", "--token", f"{TOKEN_ID}={TOKEN_SECRET}",
                                "--request-log", str(log)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(process.stdout, timeout=20)
        assert line.startswith("fakepve listening on "), (line, process.poll())
        with api_client(line.split()[-1], str(cert_dir / "fakepve.crt")) as client:
            guests = data(client.get("/cluster/resources", params={"type": "vm"}))
            assert len(guests) == 20
            client.get("/nodes/pve1/qemu/1000/config")
        assert log.read_text().splitlines() == ["GET /api2/json/cluster/resources",
                                                "GET /api2/json/nodes/pve1/qemu/1000/config"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_generated_running_vms_without_an_agent_have_none_on_the_server(served):
    guests = generate_guests(40, nodes=1, running=1.0, with_agent=0.5, lxc_share=0.0, seed=11)
    load_guests(served.pve, guests)
    with api_client(served.url, served.certfile) as client:
        for guest in guests:
            reply = client.get(f"/nodes/pve1/qemu/{guest['vmid']}/agent/network-get-interfaces")
            if guest.get("agent"):
                assert data(reply)["result"] == guest["agent"]["interfaces"]
            else:
                # agent: 1 in the config, no agent in the guest OS: the boot model must not invent one.
                assert error_of(reply) == (500, "QEMU guest agent is not running")


# ------------------------------------------------------------------ (g) the cloud-init volume's name

def test_a_new_cloud_init_drive_is_named_as_a_node_names_it(plain, fixed):
    for _served, client in (plain, fixed):
        create = dict(vmid=130, name="ci130", scsi0="local-lvm:4", ide2="local-lvm:cloudinit")
        upid = data(client.post("/nodes/pve1/qemu", data=create))
        assert wait_task(client, upid) == "OK"
    # Gap: plain fakepve gives it the next disk name, which no client can tell from a data disk.
    plain_ide2 = data(plain[1].get("/nodes/pve1/qemu/130/config"))["ide2"]
    assert re.fullmatch(r"local-lvm:vm-130-disk-\d+,media=cdrom", plain_ide2)
    ide2 = data(fixed[1].get("/nodes/pve1/qemu/130/config"))["ide2"]
    assert ide2 == "local-lvm:vm-130-cloudinit,media=cdrom"
    assert "vm-130-cloudinit" in fixed[0].storages["local-lvm"]["volumes"]


# ------------------------------------------------------------------ POST config: privileges before the task

LIMITED_TOKEN = "automation@pve!limited"
LIMITED_SECRET = "5c1d7e2a-8b3f-4e6a-9d0c-1f2e3a4b5c6d"


def limited_client(pve, url, cafile):
    """A token that, with its user, may read everything and change a VM's CPU, nothing else (the same ACL for
    both: a privilege-separated token holds what both hold)."""
    pve.apitokens[LIMITED_TOKEN] = LIMITED_SECRET
    for holder in (LIMITED_TOKEN.split("!", maxsplit=1)[0], LIMITED_TOKEN):
        pve.grant(holder, "/", "VM.Audit", "Sys.Audit", "VM.Config.CPU")
    return httpx.Client(base_url=url + "/api2/json", verify=ssl.create_default_context(cafile=cafile),
                        headers={"Authorization": f"PVEAPIToken={LIMITED_TOKEN}={LIMITED_SECRET}"}, timeout=10)


def test_post_config_refuses_a_missing_privilege_before_its_task(fakepve, fakepve_cafile, served):
    message = "Permission check failed (/vms/100, VM.Config.Memory)"
    fakepve.add_vm(100, "web", status="stopped", config={"memory": 1024, "cores": 1})
    with limited_client(fakepve, fakepve.url, fakepve_cafile) as client:
        # The gap: fakepve answers with a task, which then fails.
        upid = data(client.post(f"{VM}/config", data={"memory": 2048}))
        assert wait_task(client, upid) == message
    assert fakepve.vm(100).config["memory"] == 1024

    fixed = served.pve
    fixed.add_vm(100, "web", status="stopped", config={"memory": 1024, "cores": 1})
    with limited_client(fixed, served.url, served.certfile) as client:
        tasks_before = len(data(client.get("/nodes/pve1/tasks")))
        assert error_of(client.post(f"{VM}/config", data={"memory": 2048})) == (403, message)
        assert error_of(client.post(f"{VM}/config", data={"delete": "memory"})) == (403, message)
        assert len(data(client.get("/nodes/pve1/tasks"))) == tasks_before, "no task was started"
        # What the token may change still runs as a task.
        assert wait_task(client, data(client.post(f"{VM}/config", data={"cores": 2}))) == "OK"
    assert fixed.vm(100).config["memory"] == 1024 and str(fixed.vm(100).config["cores"]) == "2"


# ------------------------------------------------------------------ blank form values, descriptions as read

def guests_with_tags(pve):
    pve.add_vm(100, "web", status="stopped", config={"tags": "a;b", "description": "notes"})
    pve.add_ct(200, "ct200", status="stopped", config={"tags": "a", "description": "notes"})


def test_a_blank_form_value_is_an_option_given_that_leaves_the_key_unset(plain, fixed):
    # Read in pve-http-server PVE::APIServer::AnyEvent decode_urlencoded (the key stays, undefined),
    # qemu-server PVE::API2::Qemu update_vm_api and PVE::QemuServer write_vm_config / parse_vm_config,
    # pve-container PVE::API2::LXC::Config update_vm ('no options specified' only without any key).
    pve, client = plain
    guests_with_tags(pve)
    # Gap: plain fakepve drops `tags=`: the VM's update changes nothing, the container's has no options.
    data(client.put(f"{VM}/config", data={"tags": ""}))
    assert pve.vm(100).config["tags"] == "a;b"
    assert error_of(client.put("/nodes/pve1/lxc/200/config", data={"tags": ""})) == (500, "no options specified")

    pve, client = fixed
    guests_with_tags(pve)
    assert wait_task(client, data(client.post(f"{VM}/config", data={"tags": "", "description": ""}))) == "OK"
    config = data(client.get(f"{VM}/config"))
    assert "tags" not in config and "description" not in config
    data(client.put("/nodes/pve1/lxc/200/config", data={"tags": ""}))
    assert "tags" not in data(client.get("/nodes/pve1/lxc/200/config"))
    # A request with no key at all is still refused.
    assert error_of(client.put("/nodes/pve1/lxc/200/config", data={})) == (500, "no options specified")


def test_a_description_reads_back_without_trailing_whitespace(plain, fixed):
    # Read in qemu-server PVE::QemuServer parse_vm_config (the description is finished with its trailing
    # whitespace removed) and pve-container PVE::LXC::Config parse_pct_config; snapshots are sections of
    # the same file.
    text = "  first line\nsecond line \n\t "
    for pve, client in (plain, fixed):
        guests_with_tags(pve)
        data(client.put(f"{VM}/config", data={"description": text}))
        data(client.put("/nodes/pve1/lxc/200/config", data={"description": text}))
        assert wait_task(client, data(client.post(f"{VM}/snapshot", data={"snapname": "s1", "description": text})))
    # Gap: plain fakepve gives it back verbatim.
    _pve, client = plain
    assert data(client.get(f"{VM}/config"))["description"] == text
    pve, client = fixed
    for path in (f"{VM}/config", "/nodes/pve1/lxc/200/config", f"{VM}/snapshot/s1/config"):
        assert data(client.get(path))["description"] == "  first line\nsecond line", path
    snapshots = {item["name"]: item for item in data(client.get(f"{VM}/snapshot"))}
    assert snapshots["s1"]["description"] == "  first line\nsecond line"


# ------------------------------------------------------------------ the ACL

def test_the_acl_keeps_what_put_access_acl_sets(plain, fixed):
    # Read in pve-access-control PVE::API2::ACL read_acl and update_acl.
    grant = {"path": "/pool/production/", "groups": "operators", "roles": "PVEVMUser,PVEAuditor"}
    _pve, client = plain
    data(client.put("/access/acl", data=grant))
    # Gap: plain fakepve lists a sample of its own, whatever was set.
    assert not any(entry.get("ugid") == "operators" for entry in data(client.get("/access/acl")))

    _pve, client = fixed
    assert data(client.get("/access/acl")) == []
    # update_acl refuses a group or user that does not exist (tests/emulators/test_pve_access_gaps.py).
    data(client.post("/access/groups", data={"groupid": "operators"}))
    data(client.post("/access/users", data={"userid": "ops@pve"}))
    data(client.put("/access/acl", data=grant))
    data(client.put("/access/acl", data={"path": "/vms/101", "users": "ops@pve", "roles": "PVEVMAdmin",
                                         "propagate": 0}))
    assert data(client.get("/access/acl")) == [
        {"path": "/pool/production", "type": "group", "ugid": "operators", "roleid": "PVEAuditor", "propagate": 1},
        {"path": "/pool/production", "type": "group", "ugid": "operators", "roleid": "PVEVMUser", "propagate": 1},
        {"path": "/vms/101", "type": "user", "ugid": "ops@pve", "roleid": "PVEVMAdmin", "propagate": 0}]
    data(client.put("/access/acl", data={**grant, "roles": "PVEAuditor", "delete": 1}))
    assert [entry["roleid"] for entry in data(client.get("/access/acl"))] == ["PVEVMUser", "PVEVMAdmin"]
    status, message = error_of(client.put("/access/acl", data={"path": "/", "roles": "PVEAuditor"}))
    assert (status, message) == (400, "Parameter verification failed.")


# ------------------------------------------------------------------ snapshot lists (issue #16, item 8)

SNAPSHOTS_IN_ORDER = ("daily-1", "daily-2", "daily-3", "daily-4", "daily-5")


def listed_snapshots(client, path):
    return [entry["name"] for entry in data(client.get(f"{path}/snapshot"))]


def test_snapshots_are_listed_in_no_order_of_age(plain, fixed):
    # Read in qemu-server PVE::API2::Qemu snapshot_list and pve-container PVE::API2::LXC::Snapshot list: both
    # walk `keys %$snaphash` (a Perl hash, no order) and push the 'current' entry last.
    for pve, client in (plain, fixed):
        guests_with_tags(pve)
        for path in (VM, "/nodes/pve1/lxc/200"):
            for name in SNAPSHOTS_IN_ORDER:
                assert wait_task(client, data(client.post(f"{path}/snapshot", data={"snapname": name}))) == "OK"
    # Gap: plain fakepve lists them in the order they were taken, which a client could take for their age.
    _pve, client = plain
    for path in (VM, "/nodes/pve1/lxc/200"):
        assert listed_snapshots(client, path) == [*SNAPSHOTS_IN_ORDER, "current"]
    _pve, client = fixed
    for path in (VM, "/nodes/pve1/lxc/200"):
        names = listed_snapshots(client, path)
        assert names[-1] == "current" and sorted(names[:-1]) == list(SNAPSHOTS_IN_ORDER)
        assert names[:-1] != list(SNAPSHOTS_IN_ORDER)
        assert listed_snapshots(client, path) == names  # the same set lists the same way


# ------------------------------------------------------------------ CD-ROM drives (issue #16, item 5)

ISO_SIZE = 600 * 1024 ** 2


def vm_with_cdrom(pve):
    pve.add_vm(100, "web", status="stopped", config={"ide2": "none,media=cdrom"})
    pve.store_file("local", "debian.iso", ISO_SIZE)


def test_a_cdrom_update_is_written_as_a_node_writes_it(plain, fixed):
    # Read in qemu-server PVE::API2::Qemu: update_vm_api with $resolve_cdrom_alias (cdrom is ide2, media=cdrom
    # added) and its delete loop (cdrom means ide2); the drive check of $foreach_volume_with_alloc ("explicit
    # 'media=cdrom' is required for iso images", before the worker); $create_disks (an existing volume gets
    # its size from volume_size_info, or "volume ... does not exist"; none and cdrom have no size).
    pve, client = plain
    vm_with_cdrom(pve)
    # Gap: plain fakepve keeps a cdrom key, takes an ISO as a disk, a missing ISO, and adds no size.
    data(client.put(f"{VM}/config", data={"cdrom": "local:iso/debian.iso"}))
    assert pve.vm(100).config["cdrom"] == "local:iso/debian.iso"
    data(client.put(f"{VM}/config", data={"ide0": "local:iso/debian.iso"}))
    data(client.put(f"{VM}/config", data={"ide2": "local:iso/nope.iso,media=cdrom"}))
    assert pve.vm(100).config["ide2"] == "local:iso/nope.iso,media=cdrom"

    pve, client = fixed
    vm_with_cdrom(pve)
    data(client.put(f"{VM}/config", data={"cdrom": "local:iso/debian.iso"}))
    config = data(client.get(f"{VM}/config"))
    assert "cdrom" not in config and config["ide2"] == "local:iso/debian.iso,media=cdrom,size=600M"
    status, message = error_of(client.put(f"{VM}/config", data={"ide0": "local:iso/debian.iso"}))
    assert (status, message) == (400, "Parameter verification failed.")
    upid = data(client.post(f"{VM}/config", data={"ide2": "local:iso/nope.iso,media=cdrom"}))
    assert wait_task(client, upid) == "volume local:iso/nope.iso does not exist"
    data(client.put(f"{VM}/config", data={"ide2": "none,media=cdrom,size=600M"}))
    assert data(client.get(f"{VM}/config"))["ide2"] == "none,media=cdrom"
    data(client.put(f"{VM}/config", data={"delete": "cdrom"}))
    assert "ide2" not in data(client.get(f"{VM}/config"))


# ------------------------------------------------------------------ the create race (issue #16, item 4)

def clone_in_progress(pve):
    """Template 9000, and VM 105 half made by a clone still running (its new config locked 'clone')."""
    pve.add_vm(9000, "tpl", status="stopped", template=True, config={"memory": 512})
    pve.add_vm(105, "first", status="stopped", config={"memory": 512})
    pve.vm(105).lock = "clone"


def test_a_clone_that_loses_the_race_for_its_id_fails_in_its_task(plain, fixed):
    # Read in qemu-server PVE::API2::Qemu clone_vm: the request's $load_and_check only refuses an id whose
    # config file exists; the qmclone worker checks again under the locks and dies 'unable to create VM
    # <newid>: config file already exists'. pve-manager PVE::API2::Cluster nextid reserves nothing, so two
    # callers get the same id.
    pve, client = plain
    clone_in_progress(pve)
    # Gap: plain fakepve refuses it at the request.
    reply = client.post("/nodes/pve1/qemu/9000/clone", data={"newid": 105, "name": "second"})
    assert error_of(reply) == (500, "unable to create VM 105: config file already exists")

    pve, client = fixed
    clone_in_progress(pve)
    upid = data(client.post("/nodes/pve1/qemu/9000/clone", data={"newid": 105, "name": "second"}))
    assert wait_task(client, upid) == "unable to create VM 105: config file already exists"
    assert pve.vm(105).name == "first"
    # Once the first clone has finished, its config file is there: refused at the request, as on a node.
    pve.vm(105).lock = None
    reply = client.post("/nodes/pve1/qemu/9000/clone", data={"newid": 105, "name": "second"})
    assert error_of(reply)[0] == 500


def test_hold_nextid_gives_parallel_callers_the_same_id(served):
    # A test facility, not a gap: pve-manager's nextid is the first free id, reserved for no one.
    def nextid(caller):
        with api_client(served.url, served.certfile) as client:
            return caller, data(client.get("/cluster/nextid"))

    served.pve.hold_nextid(3)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        ids = [vmid for _caller, vmid in pool.map(nextid, range(3))]
    assert len(set(ids)) == 1
    assert served.pve.nextid_hold is None


# ------------------------------------------------------------------ migration (issue #16, item 7)

def vms_to_migrate(pve):
    pve.add_node("pve2")
    pve.add_vm(100, "web", status="running", config={"memory": 512, "scsi0": "local-lvm:vm-100-disk-0,size=4G",
                                                     "ide2": "none,media=cdrom"})
    pve.add_vm(101, "db", status="stopped", config={"memory": 512, "scsi0": "local-lvm:vm-101-disk-0,size=4G"})


def test_a_qemu_migration_moves_the_vm_with_a_nodes_preconditions(plain, fixed):
    # Read in qemu-server PVE::API2::Qemu migrate_vm_precondition and migrate_vm ('target is local node.',
    # check_node_exists, "can't migrate running VM without --online", online ignored for a stopped VM) and
    # PVE::QemuMigrate (prepare's lock check; the local-volume scan: "can't live migrate attached local disks
    # without with-local-disks option", then "can't migrate VM - check log").
    pve, client = plain
    vms_to_migrate(pve)
    # Gap: plain fakepve starts a task that moves nothing, even for a running VM without online.
    upid = data(client.post(f"{VM}/migrate", data={"target": "pve2"}))
    assert wait_task(client, upid) == "OK" and pve.vm(100).node == "pve1"

    pve, client = fixed
    vms_to_migrate(pve)
    check = data(client.get(f"{VM}/migrate", params={"target": "pve2"}))
    assert check["running"] == 1 and check["allowed_nodes"] == ["pve2"]
    assert [disk["volid"] for disk in check["local_disks"]] == ["local-lvm:vm-100-disk-0"]
    assert error_of(client.post(f"{VM}/migrate", data={"target": "pve1"})) == (400, "Parameter verification failed.")
    assert error_of(client.post(f"{VM}/migrate", data={"target": "pve9"}))[0] in (400, 500)
    assert error_of(client.post(f"{VM}/migrate", data={"target": "pve2"})) == (
        500, "can't migrate running VM without --online")
    upid = data(client.post(f"{VM}/migrate", data={"target": "pve2", "online": 1}))
    assert wait_task(client, upid) == "can't migrate VM - check log"
    log = [line["t"] for line in data(client.get(f"/nodes/pve1/tasks/{upid}/log"))]
    assert any("without with-local-disks option" in line for line in log)
    assert pve.vm(100).node == "pve1"
    upid = data(client.post(f"{VM}/migrate", data={"target": "pve2", "online": 1, "with-local-disks": 1}))
    assert wait_task(client, upid) == "OK"
    assert (pve.vm(100).node, pve.vm(100).status) == ("pve2", "running")
    # A stopped VM moves offline, its local disks with it; online is dropped.
    upid = data(client.post("/nodes/pve1/qemu/101/migrate", data={"target": "pve2", "online": 1}))
    assert wait_task(client, upid) == "OK" and pve.vm(101).node == "pve2"
    pve.vm(101).lock = "backup"
    upid = data(client.post("/nodes/pve2/qemu/101/migrate", data={"target": "pve1"}))
    assert wait_task(client, upid) == "VM is locked (backup)"


# ------------------------------------------------------------------ locks and crash leftovers (issue #17, 3 and 5)

@pytest.fixture
def root(served):
    """httpx logged in as root@pam with a ticket (skiplock is root@pam's alone; a token of root is not root@pam)."""
    with httpx.Client(base_url=served.url + "/api2/json", timeout=10,
                      verify=ssl.create_default_context(cafile=served.certfile)) as client:
        login = data(client.post("/access/ticket", data={"username": "root@pam", "password": "secret"}))
        client.headers.update({"Cookie": f"PVEAuthCookie={login['ticket']}",
                               "CSRFPreventionToken": login["CSRFPreventionToken"]})
        yield client


def test_root_deletes_a_lock_with_skiplock_as_qm_unlock_does(plain, fixed, root):
    # Read in qemu-server PVE/API2/Qemu.pm update_vm_api ('Only root may use this option.' for skiplock from
    # anyone but root@pam; check_lock skipped with it) and check_vm_modify_config_perm ('lock' falls to
    # "only root can set '<key>' config"); PVE/CLI/qm.pm unlock deletes the lock line the same way.
    pve, client = plain
    pve.add_vm(100, "web", status="stopped", config={"memory": 512}, lock="create")
    # Gap: plain fakepve refuses the delete (the lock is checked whatever skiplock says).
    refused = error_of(client.put(f"{VM}/config", data={"delete": "lock", "skiplock": 1}))
    assert refused == (500, "VM is locked (create)")

    pve, client = fixed
    pve.add_vm(100, "web", status="stopped", config={"memory": 512})
    pve.stale_lock(100, "create", age=7200)
    assert error_of(client.put(f"{VM}/config", data={"memory": 1024})) == (500, "VM is locked (create)")
    # A token of root@pam is not root@pam.
    assert error_of(client.put(f"{VM}/config", data={"delete": "lock", "skiplock": 1})) == (
        400, "Parameter verification failed.")
    assert error_of(client.put(f"{VM}/config", data={"delete": "lock"})) == (403, "only root can set 'lock' config")
    # Without skiplock, root too meets the lock.
    assert error_of(root.put(f"{VM}/config", data={"delete": "lock"})) == (500, "VM is locked (create)")
    assert root.put(f"{VM}/config", data={"delete": "lock", "skiplock": 1}).status_code == 200
    assert pve.vm(100).lock is None and "lock" not in data(client.get(f"{VM}/config"))
    assert client.put(f"{VM}/config", data={"memory": 1024}).status_code == 200
    # The crashed create is in the node's task list, ended 'unexpected status', with its start time.
    tasks = data(client.get("/nodes/pve1/tasks", params={"vmid": 100, "source": "all"}))
    assert tasks[0]["type"] == "qmcreate" and tasks[0]["status"] == "unexpected status"
    assert time.time() - tasks[0]["starttime"] >= 7200


def test_a_half_made_snapshot_is_removed_only_unlocked_and_with_force(plain, fixed, root):
    # Read in pve-guest-common PVE/AbstractConfig.pm: __snapshot_prepare writes the snapshot with
    # 'snapstate: prepare' and 'lock: snapshot', __snapshot_commit drops both; snapshot_delete takes the
    # 'snapshot-delete' lock through set_lock (check_lock: 'VM is locked (snapshot)', with force too), sets
    # 'snapstate: delete', and a volume snapshot it cannot remove fails it unless force (then a warning).
    pve, client = plain
    pve.add_vm(100, "web", status="stopped", config={"memory": 512, "scsi0": "local-lvm:vm-100-disk-0,size=4G"})
    vm = pve.vm(100)
    vm.snapshots["half"] = {"memory": 512, "snapstate": "prepare", "snaptime": 1767225600}
    # Gap: plain fakepve removes a snapshot whose volumes were never snapshotted, without force.
    vm.lock = None
    upid = data(client.delete(f"{VM}/snapshot/half"))
    assert wait_task(client, upid) == "OK" and "half" not in vm.snapshots

    pve, client = fixed
    pve.add_vm(100, "web", status="stopped", config={"memory": 512, "scsi0": "local-lvm:vm-100-disk-0,size=4G"})
    pve.half_made_snapshot(100, "half")
    listed = {item["name"]: item for item in data(client.get(f"{VM}/snapshot"))}
    assert listed["half"]["snapstate"] == "prepare"
    assert data(client.get(f"{VM}/config"))["lock"] == "snapshot"
    upid = data(client.delete(f"{VM}/snapshot/half", params={"force": 1}))
    assert wait_task(client, upid) == "VM is locked (snapshot)"
    assert root.put(f"{VM}/config", data={"delete": "lock", "skiplock": 1}).status_code == 200
    upid = data(client.delete(f"{VM}/snapshot/half"))
    assert wait_task(client, upid).startswith("command '/sbin/lvremove -f local-lvm/snap_vm-100-disk-0_half'")
    # The failed delete leaves the snapshot in 'delete' and the VM locked 'snapshot-delete'.
    assert pve.vm(100).snapshots["half"]["snapstate"] == "delete" and pve.vm(100).lock == "snapshot-delete"
    assert root.put(f"{VM}/config", data={"delete": "lock", "skiplock": 1}).status_code == 200
    upid = data(client.delete(f"{VM}/snapshot/half", params={"force": 1}))
    assert wait_task(client, upid) == "OK"
    assert "half" not in pve.vm(100).snapshots and pve.vm(100).lock is None
    log = [line["t"] for line in data(client.get(f"/nodes/pve1/tasks/{upid}/log"))]
    assert any(line.startswith("WARN: command '/sbin/lvremove") for line in log)


def test_the_task_list_shows_running_tasks_only_when_asked(plain, fixed):
    # Read in pve-manager PVE/API2/Tasks.pm node_tasks: source defaults to 'archive' (finished tasks), 'active'
    # lists the running ones, 'all' both, and a running task's status is 'RUNNING'.
    for pve, _client in (plain, fixed):
        pve.add_vm(100, "web", status="stopped", config={"memory": 512})
    pve, client = plain
    pve.tasklog.append({"upid": "UPID:pve1:00000001:00000007:6740F0A1:vzdump:100:root@pam:", "node": "pve1",
                        "pid": 1, "pstart": 7, "starttime": int(time.time()), "type": "vzdump", "id": "100",
                        "user": "root@pam", "status": "running", "log": []})
    # Gap: plain fakepve lists the running task by default, without a status.
    listed = data(client.get("/nodes/pve1/tasks", params={"vmid": 100}))
    assert [task["type"] for task in listed] == ["vzdump"] and "status" not in listed[0]

    pve, client = fixed
    upid = pve.stale_lock(100, "create", age=60)
    running = pve.vanished_task("pve1", "vzdump", 100, 5)
    task = pve.tasks[running]
    task["status"] = "running"
    del task["exitstatus"], task["endtime"]
    assert [t["upid"] for t in data(client.get("/nodes/pve1/tasks", params={"vmid": 100}))] == [upid]
    active = data(client.get("/nodes/pve1/tasks", params={"vmid": 100, "source": "active"}))
    assert [(t["upid"], t["status"]) for t in active] == [(running, "RUNNING")]
    both = data(client.get("/nodes/pve1/tasks", params={"vmid": 100, "source": "all"}))
    assert [t["upid"] for t in both] == [running, upid]

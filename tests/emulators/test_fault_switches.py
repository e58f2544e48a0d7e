"""The test servers' fault switches of issue #17 besides drop, lose and hang (test_random_faults.py): a request
carried out and then answered with a proxy's status (596, 502, 504), a short ticket or token lifetime, and a
state file that a server killed with SIGKILL comes back from. Served for real on 127.0.0.1, spoken to with httpx."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time

import httpx
import pytest

from tests.emulators.faults import RandomFaults
from tests.emulators.guacamole.server import GuacamoleEmulator
from tests.emulators.pve import ServedPve
from tests.emulators.test_pve_gaps import REPO, TOKEN_ID, TOKEN_SECRET, api_client, data, read_line
from tests.emulators.test_random_faults import create_vm

PASSWORD = "secret"
LOGIN = {"username": "guacadmin", "password": "guacadmin"}
CONNECTION = {"name": "web", "protocol": "ssh", "parentIdentifier": "ROOT", "parameters": {}, "attributes": {}}


def test_status_faults_hit_only_the_methods_named_and_answer_one_of_the_codes():
    faults = RandomFaults.parse("status=1,status-codes=502:596,methods=post:PUT,seed=4")
    assert (faults.methods, faults.status_codes) == (("POST", "PUT"), (502, 596))
    assert faults.pick("GET") is None and faults.pick("POST") == "status" and faults.pick("PUT") == "status"
    assert {faults.status_code((504,)) for _draw in range(50)} == {502, 596}
    assert RandomFaults(status=1).status_code((504,)) == 504  # the server's own codes when none are given
    with pytest.raises(ValueError, match="status-codes must be 5xx codes"):
        RandomFaults.parse("status=1,status-codes=404")


@pytest.fixture
def pve(tmp_path):
    server = ServedPve(tmp_path / "pki", password=PASSWORD)
    server.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    with api_client(server.url, server.certfile) as client:
        yield server, client
    server.stop()


def test_proxmox_a_status_fault_comes_after_the_node_acted(pve):
    served, client = pve
    served.pve.random_faults = RandomFaults(status=1, methods=("POST",), seed=1)
    statuses = {create_vm(client, vmid).status_code for vmid in (150, 151, 152, 153, 154, 155)}
    assert statuses <= {596, 502, 504} and len(statuses) > 1  # the server's own codes: pveproxy's and a proxy's
    assert client.get("/version").status_code == 200  # a GET is not a POST: never hit
    names = {guest["name"] for guest in data(client.get("/cluster/resources", params={"type": "vm"}))}
    assert {"vm150", "vm155"} <= names


def test_proxmox_a_ticket_is_refused_once_its_lifetime_is_over(pve):
    served, _client = pve
    served.pve.ticket_ttl = 0.5
    with httpx.Client(base_url=served.url + "/api2/json", timeout=10,
                      verify=ssl.create_default_context(cafile=served.certfile)) as client:
        ticket = data(client.post("/access/ticket", data={"username": "root@pam", "password": PASSWORD}))["ticket"]
        client.cookies.set("PVEAuthCookie", ticket)
        assert client.get("/version").status_code == 200
        time.sleep(0.6)
        refused = client.get("/version")
    assert (refused.status_code, refused.json()["message"].strip()) == (401, "permission denied - invalid PVE ticket")


def test_guacamole_a_status_fault_comes_after_the_server_acted():
    with GuacamoleEmulator() as emulator, httpx.Client(base_url=emulator.url + "/api", timeout=10) as client:
        token = client.post("/tokens", data=LOGIN).json()["authToken"]
        emulator.random_faults = RandomFaults(status=1, methods=("POST",))
        created = client.post("/session/data/postgresql/connections", headers={"Guacamole-Token": token},
                              json=CONNECTION)
        assert created.status_code in (502, 504) and "nginx" in created.text
        assert created.headers["Content-Type"] == "text/html"
        assert [c["name"] for c in emulator.state()["connections"].values()] == ["web"]


def test_guacamole_a_token_unused_for_its_lifetime_expires():
    with GuacamoleEmulator() as emulator, httpx.Client(base_url=emulator.url + "/api", timeout=10) as client:
        emulator.token_lifetime = 0.8
        headers = {"Guacamole-Token": client.post("/tokens", data=LOGIN).json()["authToken"]}
        for _use in range(2):  # each use starts the lifetime again, as Guacamole's session.access() does
            time.sleep(0.5)
            assert client.get("/session/data/postgresql/self", headers=headers).status_code == 200
        time.sleep(0.9)
        expired = client.get("/session/data/postgresql/self", headers=headers)
        assert (expired.status_code, expired.json()["type"]) == (403, "PERMISSION_DENIED")
        assert emulator.sessions() == {}


def serve_cli(module, *args):
    process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO,
                               env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    line = read_line(process.stdout, timeout=20)
    assert " listening on " in line, (line, process.poll(), process.stderr.read() if process.poll() else "")
    return process, line.split()[-1]


def kill(process, signum=signal.SIGKILL):
    process.send_signal(signum)
    process.wait(timeout=10)
    process.stdout.close()
    process.stderr.close()


def test_cli_proxmox_comes_back_from_a_sigkill_with_its_state_and_takes_the_switches(tmp_path):
    cert_dir, state = tmp_path / "certs", tmp_path / "pve.state"
    options = ["--cert-dir", str(cert_dir), "--token", f"{TOKEN_ID}={TOKEN_SECRET}", "--state-file", str(state),
               "--ticket-lifetime", "30"]
    process, url = serve_cli("tests.emulators.pve", *options, "--faults", "status=1,status-codes=596,methods=POST")
    try:
        with api_client(url, str(cert_dir / "fakepve.crt")) as client:
            assert create_vm(client, 160).status_code == 596
            assert client.get("/version").status_code == 200
    finally:
        kill(process)
    process, url = serve_cli("tests.emulators.pve", *options)
    try:
        with api_client(url, str(cert_dir / "fakepve.crt")) as client:
            names = {guest["name"] for guest in data(client.get("/cluster/resources", params={"type": "vm"}))}
            assert "vm160" in names
            assert data(client.post("/access/ticket", data={"username": "root@pam", "password": PASSWORD}))
    finally:
        kill(process, signal.SIGTERM)


def test_cli_guacamole_comes_back_from_a_sigkill_with_its_objects_but_no_token(tmp_path):
    state = tmp_path / "guacamole.state"
    process, url = serve_cli("tests.emulators.guacamole", "--state-file", str(state), "--token-lifetime", "30",
                             "--faults", "status=1,status-codes=504,methods=PUT")
    try:
        with httpx.Client(base_url=url + "/api", timeout=10) as client:
            headers = {"Guacamole-Token": client.post("/tokens", data=LOGIN).json()["authToken"]}
            created = client.post("/session/data/postgresql/connections", headers=headers, json=CONNECTION).json()
            renamed = client.put(f"/session/data/postgresql/connections/{created['identifier']}", headers=headers,
                                 json={**CONNECTION, "name": "web2"})
            assert renamed.status_code == 504
    finally:
        kill(process)
    process, url = serve_cli("tests.emulators.guacamole", "--state-file", str(state))
    try:
        with httpx.Client(base_url=url + "/api", timeout=10) as client:
            assert client.get("/session/data/postgresql/connections", headers=headers).status_code == 403
            headers = {"Guacamole-Token": client.post("/tokens", data=LOGIN).json()["authToken"]}
            connections = client.get("/session/data/postgresql/connections", headers=headers).json()
            assert [connection["name"] for connection in connections.values()] == ["web2"]
    finally:
        kill(process, signal.SIGTERM)

"""The test servers' random faults (tests/emulators/faults.py, issue #17): a share of requests dropped before they
are handled, carried out and then left unanswered, or held and dropped; seeded; on both servers' command lines.
The servers are served for real on 127.0.0.1 and spoken to with httpx, as the collection speaks to them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.emulators.faults import RandomFaults
from tests.emulators.guacamole.server import GuacamoleEmulator
from tests.emulators.pve import ServedPve
from tests.emulators.test_pve_gaps import REPO, TOKEN_ID, TOKEN_SECRET, api_client, data, read_line

NO_REPLY = (httpx.RemoteProtocolError, httpx.ReadError)


def test_the_same_seed_gives_the_same_faults():
    def picks(faults):
        return [faults.pick() for _request in range(500)]

    first = RandomFaults(drop=0.2, lose=0.1, hang=0.1, seed=7)
    sequence = picks(first)
    assert sequence == picks(RandomFaults(drop=0.2, lose=0.1, hang=0.1, seed=7))
    assert sequence != picks(RandomFaults(drop=0.2, lose=0.1, hang=0.1, seed=8))
    assert 60 < sequence.count("drop") < 140 and 20 < sequence.count("lose") < 80  # about 20 % and 10 % of 500
    assert first.counts == {kind: sequence.count(kind) for kind in ("drop", "lose", "hang")}


@pytest.mark.parametrize(("text", "message"), [
    ("drop=0.7,lose=0.5", "add up to at most 1"), ("drop=-1", "0 or more"), ("loss=0.1", "takes drop="),
    ("drop=some", "drop must be a number"), ("hang-secs=-2", "hang-secs must be 0 or more")])
def test_a_bad_faults_value_is_refused_with_what_is_expected(text, message):
    with pytest.raises(ValueError, match=message):
        RandomFaults.parse(text)


@pytest.fixture
def pve(tmp_path):
    server = ServedPve(tmp_path / "pki")
    server.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    with api_client(server.url, server.certfile) as client:
        yield server.pve, client
    server.stop()


def create_vm(client, vmid):
    return client.post("/nodes/pve1/qemu", data={"vmid": vmid, "name": f"vm{vmid}"})


def test_proxmox_a_lost_reply_comes_after_the_node_acted_and_a_drop_before(pve):
    server, client = pve
    server.random_faults = RandomFaults(lose=1)
    with pytest.raises(NO_REPLY):
        create_vm(client, 150)
    server.random_faults = RandomFaults(drop=1)
    with pytest.raises(NO_REPLY):
        create_vm(client, 151)
    server.random_faults.enabled = False
    names = {guest["name"] for guest in data(client.get("/cluster/resources", params={"type": "vm"}))}
    assert "vm150" in names and "vm151" not in names


def test_proxmox_a_hang_holds_the_request_then_drops_it(pve):
    server, client = pve
    server.random_faults = RandomFaults(hang=1, hang_secs=0.5)
    started = time.monotonic()
    with pytest.raises(NO_REPLY):
        client.get("/version")
    assert time.monotonic() - started >= 0.5
    assert server.random_faults.counts == {"hang": 1}


def test_guacamole_a_lost_reply_comes_after_the_server_acted_and_a_drop_before():
    with GuacamoleEmulator() as emulator, httpx.Client(base_url=emulator.url, timeout=10) as client:
        emulator.random_faults = RandomFaults(lose=1)
        with pytest.raises(NO_REPLY):
            client.post("/api/tokens", data={"username": "guacadmin", "password": "guacadmin"})
        emulator.random_faults = RandomFaults(drop=1)
        with pytest.raises(NO_REPLY):
            client.post("/api/tokens", data={"username": "guacadmin", "password": "guacadmin"})
        emulator.random_faults.enabled = False
        logins = [(method, path) for method, path, _body in emulator._requests if method == "POST"]
        assert len(logins) == 2  # both arrived: the first was carried out (a session made), the second not
        assert len(emulator.api.sessions) == 1


def serve_cli(module, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(process):
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()
    process.stderr.close()


def test_cli_both_servers_take_faults(tmp_path):
    cert_dir = tmp_path / "certs"
    servers = [serve_cli("tests.emulators.pve", "--cert-dir", str(cert_dir), "--token", f"{TOKEN_ID}={TOKEN_SECRET}",
                         "--faults", "drop=1,seed=3"),
               serve_cli("tests.emulators.guacamole", "--faults", "drop=1")]
    try:
        pve_line, guac_line = (read_line(server.stdout, timeout=20) for server in servers)
        assert pve_line.startswith("fakepve listening on "), (pve_line, servers[0].poll())
        with api_client(pve_line.split()[-1], str(cert_dir / "fakepve.crt")) as client, pytest.raises(NO_REPLY):
            client.get("/version")
        assert guac_line.startswith("guacamole-emulator listening on "), guac_line
        with pytest.raises(NO_REPLY):
            httpx.get(guac_line.split()[-1] + "/api/languages", timeout=10)
    finally:
        for server in servers:
            stop(server)
    refused = subprocess.run([sys.executable, "-m", "tests.emulators.guacamole", "--faults", "drop=2"], cwd=REPO,
                             env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=30,
                             check=False)
    assert refused.returncode == 2 and "--faults: fault shares must be 0 or more and add up to at most 1" in \
        refused.stderr.replace("argument --faults", "--faults")

"""Module runs against the test servers started with issue #17's fault switches, as a user would start them
(python -m tests.emulators.pve / tests.emulators.guacamole): a POST carried out and then answered 596 or 502/504
is not sent again, and a rerun after a SIGKILL and a restart from --state-file converges; a run that outlives
its ticket (--ticket-lifetime) or its token (--token-lifetime) logs in again and finishes."""

from __future__ import annotations

import signal

import pytest

from tests.emulators.test_fault_switches import kill, serve_cli
from tests.integration.conftest import TOKEN_ID, TOKEN_SECRET

pytestmark = pytest.mark.integration

PASSWORD = "secret"  # the CLI servers' default root@pam password
POOL_AND_CONNECTION = """
- name: Pool
  proxgate.core.proxmox_pool:
    name: faulted
    comment: made under faults
  ignore_errors: true
- name: Connection
  proxgate.core.guacamole_connection:
    name: faulted
    protocol: ssh
    parameters:
      hostname: 10.0.0.5
  ignore_errors: true
"""


def start_pve(tmp_path, *options):
    cert_dir = tmp_path / "pve-certs"
    process, url = serve_cli("tests.emulators.pve", "--cert-dir", str(cert_dir), "--token",
                             f"{TOKEN_ID}={TOKEN_SECRET}", "--request-log", str(tmp_path / "pve.log"), *options)
    return process, {"PROXMOX_URL": url, "PROXMOX_CA_PATH": str(cert_dir / "fakepve.crt")}


def start_guacamole(tmp_path, *options):
    process, url = serve_cli("tests.emulators.guacamole", "--request-log", str(tmp_path / "guacamole.log"),
                             *options)
    return process, {"GUACAMOLE_URL": url, "GUACAMOLE_USERNAME": "guacadmin", "GUACAMOLE_PASSWORD": "guacadmin"}


def logged(tmp_path, server, request):
    return (tmp_path / f"{server}.log").read_text().splitlines().count(request)


def token_auth():
    return {"PROXMOX_TOKEN_ID": TOKEN_ID, "PROXMOX_TOKEN_SECRET": TOKEN_SECRET}


def test_a_post_answered_596_or_502_is_not_sent_again_and_a_rerun_after_sigkill_and_restart_converges(
        tmp_path, run_playbook):
    pve_state, guacamole_state = str(tmp_path / "pve.state"), str(tmp_path / "guacamole.state")
    # Every POST on the Proxmox server (token auth: no login); on Guacamole seed 10 spares the first POST (the
    # login) and hits the second (the create): only POSTs draw.
    pve, pve_env = start_pve(tmp_path, "--state-file", pve_state, "--faults", "status=1,status-codes=596,methods=POST")
    guacamole, guacamole_env = start_guacamole(tmp_path, "--state-file", guacamole_state,
                                               "--faults", "status=0.5,status-codes=502,methods=POST,seed=10")
    try:
        faulty = run_playbook(POOL_AND_CONNECTION, env={**pve_env, **token_auth(), **guacamole_env})
    finally:
        kill(pve)
        kill(guacamole)
    assert [result["task"] for result in faulty.failed] == ["Pool", "Connection"], faulty.stdout
    pool, connection = faulty.result("Pool"), faulty.result("Connection")
    assert "HTTP 596" in pool["msg"] and "it was not sent again" in pool["msg"], pool["msg"]
    assert "HTTP 502" in connection["msg"] and "it was not sent again" in connection["msg"], connection["msg"]
    assert logged(tmp_path, "pve", "POST /api2/json/pools") == 1
    assert logged(tmp_path, "guacamole", "POST /guacamole/api/session/data/postgresql/connections") == 1

    pve, pve_env = start_pve(tmp_path, "--state-file", pve_state)
    guacamole, guacamole_env = start_guacamole(tmp_path, "--state-file", guacamole_state)
    try:
        rerun = run_playbook(POOL_AND_CONNECTION, env={**pve_env, **token_auth(), **guacamole_env})
    finally:
        kill(pve, signal.SIGTERM)
        kill(guacamole, signal.SIGTERM)
    assert rerun.failed == [] and rerun.changed == [], rerun.stdout  # both were made by the faulty run
    assert logged(tmp_path, "pve", "POST /api2/json/pools") == 1
    assert logged(tmp_path, "guacamole", "POST /guacamole/api/session/data/postgresql/connections") == 1


def test_a_run_that_outlives_its_ticket_or_token_logs_in_again_and_finishes(tmp_path, run_playbook):
    # Tickets of 0.9 s, each request 0.5 s late: the pool's second call after the login comes with a ticket of
    # 1 s or more, the call sent again after the new login with one of 0.5 s. Tokens that expire after 0.8 s
    # unused; seed 1 holds the first PUT (the update) for 0.2 s and drops it, and the client sends it again after
    # its 1 s backoff, with a token unused for longer than its lifetime.
    pve, pve_env = start_pve(tmp_path, "--ticket-lifetime", "0.9", "--latency", "0.5")
    guacamole, guacamole_env = start_guacamole(tmp_path, "--token-lifetime", "0.8",
                                               "--faults", "hang=0.5,hang-secs=0.2,methods=PUT,seed=1")
    try:
        run = run_playbook(POOL_AND_CONNECTION + """
- name: Connection updated
  proxgate.core.guacamole_connection:
    name: faulted
    protocol: ssh
    parameters:
      hostname: 10.0.0.6
""", env={**pve_env, "PROXMOX_USER": "root@pam", "PROXMOX_PASSWORD": PASSWORD, **guacamole_env})
    finally:
        kill(pve, signal.SIGTERM)
        kill(guacamole, signal.SIGTERM)
    assert run.failed == [], run.stdout
    assert run.changed == ["Pool", "Connection", "Connection updated"], run.stdout
    pve_log = (tmp_path / "pve.log").read_text().splitlines()
    # Refused with the expired ticket, the POST goes again after a new login (and only then).
    assert pve_log[-3:] == ["POST /api2/json/pools", "POST /api2/json/access/ticket", "POST /api2/json/pools"]
    assert pve_log.count("POST /api2/json/pools") == 2
    update = "PUT /guacamole/api/session/data/postgresql/connections/1"
    # Dropped, sent again with the expired token and refused, the token found dead (it cannot read its own
    # account), sent once more after a new login.
    assert (tmp_path / "guacamole.log").read_text().splitlines()[-6:] == [
        update, update, "GET /guacamole/api/session/data/postgresql/self", "POST /guacamole/api/tokens", update,
        "DELETE /guacamole/api/tokens/********"]

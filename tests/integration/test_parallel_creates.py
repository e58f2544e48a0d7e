"""Issue #17, finding 4: a run in parallel makes the object between a module's read and its create. The create is
refused ('already exists'); the module reads the object again and goes on as an update of it, so both runs
succeed and nothing is made twice. The other run's create is made by the test server just before the module's
POST (interleave()), so the race happens on every run, not by chance."""

from __future__ import annotations

import pytest

from tests.integration import guacamole_fixtures, rustguac_fixtures
from tests.integration.guacamole_fixtures import guac_env
from tests.integration.guacamole_fixtures import writes as guacamole_writes
from tests.integration.rustguac_fixtures import rg_env
from tests.integration.rustguac_fixtures import writes as rustguac_writes

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server
rustguac = rustguac_fixtures.rustguac

GUACAMOLE_TASKS = """
- name: Connection
  proxgate.core.guacamole_connection:
    name: shared
    protocol: ssh
    parameters: {hostname: 10.0.0.5, port: 22}
- name: User group
  proxgate.core.guacamole_user_group:
    name: operators
- name: User
  proxgate.core.guacamole_user:
    username: alice
    password: Alice-Passw0rd
"""


def test_guacamole_objects_made_meanwhile_are_taken_and_updated(guac, run_playbook):
    data = "/api/session/data/postgresql"
    guac.interleave("POST", f"{data}/connections", lambda: guac.add_connection(
        "shared", parameters={"hostname": "10.0.0.9", "port": "22"}))
    guac.interleave("POST", f"{data}/userGroups", lambda: guac.add_user_group("operators"))
    guac.interleave("POST", f"{data}/users", lambda: guac.add_user("alice", "Alice-Passw0rd"))
    run = run_playbook(GUACAMOLE_TASKS, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    state = guac.state()
    [connection] = state["connections"].values()
    assert connection["parameters"]["hostname"] == "10.0.0.5", "the other run's connection, updated"
    assert list(state["user_groups"]) == ["operators"] and "alice" in state["users"]
    assert run.result("Connection")["changed"] is True  # its hostname was rewritten
    assert run.result("User group")["changed"] is False  # made as asked by the other run
    methods = [(method, path.split("/")[-1] if method == "POST" else path.split("/")[-2])
               for method, path in guacamole_writes(guac)]
    assert methods[:2] == [("POST", "connections"), ("PUT", "connections")]
    assert ("POST", "userGroups") in methods and ("POST", "users") in methods

    count = len(guacamole_writes(guac))
    again = run_playbook(GUACAMOLE_TASKS.replace("    password: Alice-Passw0rd\n",
                                                 "    password: Alice-Passw0rd\n    update_password: on_create\n"),
                         env=guac_env(guac))
    assert again.rc == 0 and again.changed == [] and len(guacamole_writes(guac)) == count, again.stdout


def test_a_rustguac_token_made_meanwhile_is_reported_not_failed(rustguac, run_playbook):
    rustguac.add_user("ops@example.com", role="poweruser")
    rustguac.interleave("POST", "/admin/user-tokens",
                        lambda: rustguac.add_user_token("ops@example.com", "ci", max_role="operator"))
    run = run_playbook("""
- name: ci
  proxgate.core.rustguac_token:
    email: ops@example.com
    name: ci
    max_role: operator
""", env=rg_env(rustguac))
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("ci")
    assert result["changed"] is False and result["token"] is None  # the other run holds its secret
    assert len(rustguac.state()["tokens"]) == 1
    assert rustguac_writes(rustguac) == [("POST", "/admin/user-tokens")]


def test_a_proxmox_pool_and_ipset_made_meanwhile_are_taken(run_playbook, pve, pve_env, writes):
    server = pve.pve
    server.interleave("POST", "/pools", lambda: server.pools.setdefault("gateway", set()))
    server.interleave("POST", "/firewall/ipset", lambda: server.firewall_config("cluster")["ipset"].setdefault(
        "admins", []))
    run = run_playbook("""
- name: Pool
  proxgate.core.proxmox_pool:
    poolid: gateway
    vms: [103]
- name: IPSet
  proxgate.core.proxmox_firewall_ipset:
    name: admins
    entries: [{cidr: 10.10.0.0/16}]
""", env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert server.pools["gateway"] == {103}
    assert [entry["cidr"] for entry in server.firewall_config("cluster")["ipset"]["admins"]] == ["10.10.0.0/16"]
    assert [method for method, _path in writes()] == ["POST", "PUT", "POST", "POST"]

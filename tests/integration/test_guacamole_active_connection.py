"""guacamole_active_connection against the Guacamole emulator, through real ansible-playbook runs."""

from __future__ import annotations

import json

import pytest

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import assert_no_session_left, guac_env, writes

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server


def seed(emu):
    """web01 in Production/Web and in Staging, db01 at the top; alice and bob connected to some of them."""
    web = emu.add_connection_group("Web", parent=emu.add_connection_group("Production"))
    staging = emu.add_connection_group("Staging")
    connections = {"web01": emu.add_connection("web01", parent=web),
                   "staging-web01": emu.add_connection("web01", parent=staging),
                   "db01": emu.add_connection("db01")}
    for user in ("alice", "bob"):
        emu.add_user(user, f"pw-{user}")
    sessions = {
        "alice-web01": emu.simulate_session("alice", connections["web01"], remote_host="192.0.2.10"),
        "alice-db01": emu.simulate_session("alice", connections["db01"], remote_host="192.0.2.10"),
        "bob-web01": emu.simulate_session("bob", connections["web01"], remote_host="192.0.2.20"),
        "bob-staging": emu.simulate_session("bob", connections["staging-web01"], remote_host="192.0.2.20"),
    }
    return connections, sessions


def active(emu):
    return set(emu.state()["active_connections"])


def kills(emu):
    """The bodies of the PATCH activeConnections sent."""
    return [json.loads(body) for method, path, body in emu.write_requests()
            if method == "PATCH" and path.endswith("/activeConnections")]


def task_status(run, task_name):
    return [r for r in run.results if r["task"] == task_name][-1]["status"]


def test_kill_a_users_sessions_check_mode_then_apply_then_nothing_left(run_playbook, guac):
    connections, sessions = seed(guac)
    task = """
        - name: Log alice out
          proxgate.core.guacamole_active_connection:
            username: alice
    """
    check = run_playbook(task, env=guac_env(guac), check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Log alice out")
    assert predicted["changed"] is True
    alices = {sessions["alice-web01"], sessions["alice-db01"]}
    killed = {s["identifier"]: s for s in predicted["killed"]}
    assert set(killed) == alices
    assert killed[sessions["alice-web01"]] == {
        "identifier": sessions["alice-web01"], "username": "alice", "connection_identifier": connections["web01"],
        "connection": "Production/Web/web01", "remote_host": "192.0.2.10",
        "start_date": guac.state()["active_connections"][sessions["alice-web01"]]["startDate"]}
    assert killed[sessions["alice-db01"]]["connection"] == "db01"
    assert set(predicted["diff"]["before"]["active_connections"]) == alices
    assert predicted["diff"]["after"] == {"active_connections": []}
    assert writes(guac) == []
    assert active(guac) == set(sessions.values())

    applied = run_playbook(task, env=guac_env(guac))
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("Log alice out")["changed"] is True
    assert active(guac) == {sessions["bob-web01"], sessions["bob-staging"]}
    [patch] = kills(guac)
    assert sorted(patch, key=lambda op: op["path"]) == sorted(
        [{"op": "remove", "path": f"/{identifier}"} for identifier in alices], key=lambda op: op["path"])

    again = run_playbook(task, env=guac_env(guac))
    assert again.result("Log alice out")["changed"] is False
    assert again.result("Log alice out")["killed"] == []
    assert len(writes(guac)) == 1
    assert_no_session_left(guac)


def test_kill_by_connection_and_by_identifier(run_playbook, guac):
    connections, sessions = seed(guac)
    run = run_playbook(f"""
        - name: Bob on the production web01
          proxgate.core.guacamole_active_connection:
            username: bob
            connection: web01
            parent: Production/Web
        - name: Everyone on db01
          proxgate.core.guacamole_active_connection:
            connection_identifier: "{connections['db01']}"
        - name: One session and one that ended
          proxgate.core.guacamole_active_connection:
            identifier: ["{sessions['bob-staging']}", "00000000-0000-4000-8000-000000000000"]
        - name: Nothing left on Staging
          proxgate.core.guacamole_active_connection:
            connection: web01
            parent: Staging
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Bob on the production web01", "Everyone on db01", "One session and one that ended"]
    assert [s["identifier"] for s in run.result("Bob on the production web01")["killed"]] == [sessions["bob-web01"]]
    assert [s["identifier"] for s in run.result("Everyone on db01")["killed"]] == [sessions["alice-db01"]]
    assert active(guac) == {sessions["alice-web01"]}  # alice on web01 matched no filter set
    assert len(kills(guac)) == 3


def test_bad_input_is_refused_before_any_write(run_playbook, guac):
    """End to end: no filter at all, and the names only the server can resolve (the unit tests cover the rest)."""
    seed(guac)
    cases = {
        "parent: Production": "one of the following is required: username, connection, connection_identifier, "
                              "identifier",
        "connection: web01": "connection: 2 connections are named 'web01' (Production/Web/web01, Staging/web01); "
                             "set parent or use connection_identifier",
        "connection: nope": "connection: no connection named 'nope'",
        "connection: web01\n    parent: Nowhere": "parent: no connection group at path 'Nowhere'",
    }
    tasks = "".join(f"- name: case {index}\n  proxgate.core.guacamole_active_connection:\n    {options}\n"
                    "  ignore_errors: true\n" for index, options in enumerate(cases))
    run = run_playbook(tasks, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    for index, expected in enumerate(cases.values()):
        assert task_status(run, f"case {index}") == "failed", expected
        assert expected in run.result(f"case {index}")["msg"]
    assert writes(guac) == []
    assert len(active(guac)) == 4


def test_non_admin_ends_its_own_session_but_gets_a_clear_error_for_others(run_playbook, guac):
    _connections, sessions = seed(guac)
    # bob may see alice's session on web01, but not end it (that takes DELETE on it, or ADMINISTER).
    guac.grant("bob", "READ", "activeConnection", sessions["alice-web01"])
    run = run_playbook(f"""
        - name: My own session
          proxgate.core.guacamole_active_connection:
            identifier: ["{sessions['bob-staging']}"]
        - name: Alice's session
          proxgate.core.guacamole_active_connection:
            identifier: ["{sessions['alice-web01']}"]
          ignore_errors: true
    """, env=guac_env(guac, "bob", "pw-bob"))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("My own session")["changed"] is True
    assert task_status(run, "Alice's session") == "failed"
    msg = run.result("Alice's session")["msg"]
    assert "PATCH /session/data/postgresql/activeConnections failed: HTTP 403 PERMISSION_DENIED" in msg
    assert "ADMINISTER" in msg
    assert sessions["alice-web01"] in active(guac)
    assert sessions["bob-staging"] not in active(guac)
    assert_no_session_left(guac)

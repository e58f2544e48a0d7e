"""guacamole_info through real ansible-playbook runs, and the client behaviours every Guacamole module
shares, seen through it: HTTPS with a self-signed certificate, retries, the token deleted at the end,
1.5 and 1.6 servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import ADMIN_PASSWORD, assert_no_session_left, guac_env

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server

INFO = """
- name: info
  proxgate.core.guacamole_info:
    gather: [connections, users, user_groups, active_connections, history]
    connection_parameters: true
    history_limit: 10
"""


def seed(emu):
    production = emu.add_connection_group("Production")
    web = emu.add_connection_group("Web", parent=production)
    web01 = emu.add_connection("web01", "ssh", {"hostname": "10.0.0.1", "password": "Hidden-Pw1"}, parent=web)
    db01 = emu.add_connection("db01", "rdp", {"hostname": "10.0.0.2"}, parent=production)
    emu.add_sharing_profile("Watch", web01, {"read-only": "true"})
    emu.add_user("alice", "a-Pa55", attributes={"guac-full-name": "Alice"})
    emu.add_user("mallory", "m-Pa55", disabled=True)
    emu.add_user_group("operators", members=["alice"])
    emu.grant("alice", "READ", "connection", web01)
    session = emu.simulate_session("alice", web01)
    old = emu.simulate_session("alice", db01)
    emu.end_simulated_session(old)
    return dict(web=web, web01=web01, db01=db01, session=session)


@pytest.mark.parametrize("version", ["1.5.5", "1.6.0"])
def test_everything_an_admin_sees(guacamole_server, run_playbook, version):
    emu = guacamole_server(version=version)
    ids = seed(emu)
    run = run_playbook(INFO, env=guac_env(emu), check=True)
    assert run.rc == 0, run.stdout + run.stderr
    info = run.result("info")
    assert info["changed"] is False
    assert info["version"] == version[:3]
    assert info["data_source"] == "postgresql"

    connections = {c["name"]: c for c in info["connections"]}
    assert connections["web01"]["path"] == "Production/Web/web01"
    assert connections["web01"]["parent"] == "Production/Web"
    assert connections["web01"]["parameters"] == {"hostname": "10.0.0.1", "password": "********"}
    assert connections["db01"]["path"] == "Production/db01"
    assert [g["path"] for g in info["connection_groups"]] == ["Production", "Production/Web"]
    assert info["sharing_profiles"][0]["connection"] == "web01"

    tree = info["connection_tree"]
    assert tree["identifier"] == "ROOT"
    production = tree["childConnectionGroups"][0]
    assert production["path"] == "Production"
    assert production["childConnections"][0]["name"] == "db01"
    web = production["childConnectionGroups"][0]
    assert web["childConnections"][0]["path"] == "Production/Web/web01"

    users = {u["username"]: u for u in info["users"]}
    assert set(users) == {"guacadmin", "alice", "mallory"}
    assert users["mallory"]["disabled"] is True and users["alice"]["disabled"] is False
    assert users["alice"]["attributes"]["guac-full-name"] == "Alice"
    assert [g["identifier"] for g in info["user_groups"]] == ["operators"]

    [active] = info["active_connections"]
    assert active["identifier"] == ids["session"] and active["path"] == "Production/Web/web01"
    assert [record["connectionName"] for record in info["history"]] == ["db01", "web01"]
    assert "Hidden-Pw1" not in run.stdout + json.dumps(run.results)
    assert emu.write_requests() == []
    assert_no_session_left(emu)


def test_history_filters_and_non_admin_view(guac, run_playbook):
    ids = seed(guac)
    run = run_playbook("""
        - name: web history
          proxgate.core.guacamole_info:
            gather: [history]
            history_contains: [web]
            history_order: oldest
        - name: one login
          proxgate.core.guacamole_info:
            gather: [history]
            history_type: logins
            history_limit: 1
        - name: as alice
          proxgate.core.guacamole_info:
            api_username: alice
            api_password: a-Pa55
            gather: [connections, active_connections]
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert [r["connectionName"] for r in run.result("web history")["history"]] == ["web01"]
    assert len(run.result("one login")["history"]) == 1
    alice = run.result("as alice")
    # alice may read web01 but none of its groups: its path cannot be told.
    assert [(c["identifier"], c["path"]) for c in alice["connections"]] == [(ids["web01"], None)]
    assert alice["connection_groups"] == []
    assert [a["identifier"] for a in alice["active_connections"]] == [ids["session"]]
    assert guac.sessions() == {}


def test_bad_options_are_refused(guac, run_playbook):
    run = run_playbook("""
        - name: limit
          proxgate.core.guacamole_info:
            gather: [history]
            history_limit: 5000
          ignore_errors: true
        - name: gather
          proxgate.core.guacamole_info:
            gather: [connections, sessions]
          ignore_errors: true
        - name: parameters without connections
          proxgate.core.guacamole_info:
            gather: [users]
            connection_parameters: true
          ignore_errors: true
        - name: data source
          proxgate.core.guacamole_info:
            data_source: mysql
          ignore_errors: true
        - name: password
          proxgate.core.guacamole_info:
            api_password: not-the-password
          ignore_errors: true
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert len(run.failed) == 5
    assert "history_limit must be between 1 and 1000" in run.result("limit")["msg"]
    assert "gather" in run.result("gather")["msg"] and "sessions" in run.result("gather")["msg"]
    assert "connection_parameters needs connections" in run.result("parameters without connections")["msg"]
    msg = run.result("data source")["msg"]
    assert "data_source 'mysql'" in msg and "postgresql, postgresql-shared" in msg
    assert "invalid login" in run.result("password")["msg"]
    assert run.result("password")["error_type"] == "INVALID_CREDENTIALS"
    assert "not-the-password" not in run.stdout + run.stderr + json.dumps(run.results)
    assert guac.sessions() == {}, "the token of the refused data source was deleted"


# ---------------------------------------------------------------- client behaviours, through guacamole_info

USERS = """
- name: users
  proxgate.core.guacamole_info:
    gather: [users]
"""


def test_https_with_self_signed_certificate(guacamole_server, run_playbook):
    emu = guacamole_server(tls=True)
    assert emu.url.startswith("https://127.0.0.1:")
    trusted = run_playbook(USERS, env=guac_env(emu))
    assert trusted.rc == 0, trusted.stdout + trusted.stderr
    assert [u["username"] for u in trusted.result("users")["users"]] == ["guacadmin"]

    env = guac_env(emu)
    del env["GUACAMOLE_CA_PATH"]
    seen = len(emu.requests)
    untrusted = run_playbook(USERS, env=env)
    assert untrusted.rc != 0
    msg = untrusted.result("users")["msg"]
    assert "POST /tokens failed: cannot reach" in msg and "ca_path" in msg and "validate_certs" in msg
    assert len(emu.requests) == seen, "no request got through the refused handshake"

    insecure = run_playbook(USERS, env=dict(env, GUACAMOLE_VALIDATE_CERTS="false"))
    assert insecure.rc == 0, insecure.stdout + insecure.stderr
    assert_no_session_left(emu)


def test_retries_a_5xx_and_a_dropped_connection(guac, run_playbook):
    guac.fail_next(status=500, count=1, path_contains="/users")
    guac.drop_next(count=1, path_contains="/users")
    run = run_playbook(USERS, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    users_calls = [entry for entry in guac.requests if entry[0] == "GET" and entry[1].endswith("/users")]
    assert len(users_calls) == 3, "failed, dropped, then answered"
    assert [u["username"] for u in run.result("users")["users"]] == ["guacadmin"]
    assert_no_session_left(guac)


def test_retries_are_bounded_and_the_error_is_guacamoles(guac, run_playbook):
    guac.fail_next(status=503, count=5, path_contains="/users")
    run = run_playbook("""
        - name: users
          proxgate.core.guacamole_info:
            gather: [users]
            api_retries: 1
    """, env=guac_env(guac))
    assert run.rc != 0
    result = run.result("users")
    assert result["msg"] == ("GET /session/data/postgresql/users failed: HTTP 503 INTERNAL_ERROR: "
                             "Unexpected internal error")
    assert result["status"] == 503
    users_calls = [entry for entry in guac.requests if entry[0] == "GET" and entry[1].endswith("/users")]
    assert len(users_calls) == 2
    assert_no_session_left(guac)


def test_token_only_in_the_header_and_deleted(guac, run_playbook):
    run = run_playbook(USERS, env=guac_env(guac), verbosity=4)
    assert run.rc == 0, run.stdout + run.stderr
    assert not any("token=" in path for _method, path, _body in guac.requests)
    methods = [(method, path) for method, path, _body in guac.requests]
    assert methods[0] == ("POST", "/guacamole/api/tokens")
    assert methods[-1] == ("DELETE", "/guacamole/api/tokens/********")
    assert ADMIN_PASSWORD not in run.stdout + run.stderr
    assert_no_session_left(guac)


def test_totp_code(guac, run_playbook):
    guac.totp_required = True
    run = run_playbook("""
        - name: without code
          proxgate.core.guacamole_info:
            gather: [users]
          ignore_errors: true
        - name: with code
          proxgate.core.guacamole_info:
            gather: [users]
            api_totp: "123456"
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert "api_totp" in run.result("without code")["msg"]
    assert run.result("with code")["users"]
    assert guac.sessions() == {}


def guacamole_group_lists_modules():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    group = (runtime.get("action_groups") or {}).get("guacamole") or []
    return {"guacamole_info", "guacamole_connection"} <= set(group)


@pytest.mark.skipif(not guacamole_group_lists_modules(),
                    reason="meta/runtime.yml does not list the Guacamole modules in the guacamole action group yet")
def test_module_defaults_for_the_action_group(guac, run_playbook, tmp_path):
    playbook = tmp_path / "defaults.yml"
    playbook.write_text(f"""
- name: Defaults for every Guacamole module
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/proxgate.core.guacamole:
      api_url: {guac.url}
      api_username: guacadmin
      api_password: {ADMIN_PASSWORD}
  tasks:
    - name: connection
      proxgate.core.guacamole_connection:
        name: from-defaults
        protocol: ssh
        parameters: {{hostname: d}}
    - name: info
      proxgate.core.guacamole_info:
        gather: [connections]
""")
    run = run_playbook(None, playbook=str(playbook))
    assert run.rc == 0, run.stdout + run.stderr
    assert [c["name"] for c in run.result("info")["connections"]] == ["from-defaults"]
    assert guac.sessions() == {}

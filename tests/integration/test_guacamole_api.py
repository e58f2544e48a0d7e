"""guacamole_api through real ansible-playbook runs against the Guacamole emulator."""

from __future__ import annotations

import json

import pytest

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import assert_no_session_left, bodies, guac_env, writes

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server

SECRET = "Api-Secret-Pw9"


def test_raw_get_with_query_and_absolute_path(guac, run_playbook):
    web01 = guac.add_connection("web01", "ssh", {"hostname": "w"})
    guac.add_connection("shared", "ssh", data_source="postgresql-shared")
    run = run_playbook("""
        - name: protocols
          proxgate.core.guacamole_api:
            path: schema/protocols
        - name: readable
          proxgate.core.guacamole_api:
            path: connections
            query: {permission: [READ, UPDATE]}
        - name: other data source
          proxgate.core.guacamole_api:
            path: /api/session/data/postgresql-shared/connections
    """, env=guac_env(guac), check=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert set(run.result("protocols")["data"]) == {"vnc", "rdp", "ssh", "telnet", "kubernetes"}
    assert list(run.result("readable")["data"]) == [web01]
    assert [c["name"] for c in run.result("other data source")["data"].values()] == ["shared"]
    assert run.changed == []
    assert any(path.endswith("/connections?permission=READ&permission=UPDATE")
               for method, path, _unused in guac.requests if method == "GET")
    assert writes(guac) == []
    assert_no_session_left(guac)


@pytest.mark.parametrize("version", ["1.5.5", "1.6.0"])
def test_state_present_keeps_parameters_and_writes_only_the_difference(guacamole_server, run_playbook, version):
    emu = guacamole_server(version=version)
    web01 = emu.add_connection("web01", "ssh", {"hostname": "w", "password": SECRET},
                               attributes={"max-connections": "2"})
    tasks = f"""
        - name: attributes
          proxgate.core.guacamole_api:
            path: connections/{web01}
            state: present
            data:
              attributes:
                max-connections: 2
                guacd-hostname: guacd.internal
    """
    checked = run_playbook(tasks, env=guac_env(emu), check=True, diff=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    result = checked.result("attributes")
    assert result["changed"] is True and result["msg"] == "check mode: not sent"
    assert result["changed_keys"] == ["attributes"]
    assert result["diff"]["before"] == {"attributes": {"guacd-hostname": None}}
    assert result["diff"]["after"] == {"attributes": {"guacd-hostname": "guacd.internal"}}
    assert writes(emu) == []

    applied = run_playbook(tasks, env=guac_env(emu))
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert writes(emu) == [("PUT", f"connections/{web01}")]
    stored = emu.state()["connections"][web01]
    assert stored["attributes"]["guacd-hostname"] == "guacd.internal"
    assert stored["attributes"]["max-connections"] == "2"
    assert stored["parameters"] == {"hostname": "w", "password": SECRET}, "the PUT carried the parameters"
    assert bodies(emu, "PUT", f"connections/{web01}")[0]["parameters"]["password"] == "********"

    again = run_playbook(tasks, env=guac_env(emu))
    assert again.result("attributes")["changed"] is False
    assert again.result("attributes")["changed_keys"] == []
    assert len(writes(emu)) == 1
    assert_no_session_left(emu)


def test_state_present_on_a_user_keeps_disabled_and_password(guacamole_server, run_playbook):
    emu = guacamole_server(version="1.6.0")
    emu.add_user("bob", "b-Pa55", disabled=True)
    run = run_playbook("""
        - name: bob
          proxgate.core.guacamole_api:
            path: users/bob
            state: present
            data:
              attributes: {guac-full-name: Bob}
    """, env=guac_env(emu))
    assert run.rc == 0, run.stdout + run.stderr
    user = emu.state()["users"]["bob"]
    assert user["attributes"]["guac-full-name"] == "Bob"
    assert user["disabled"] is True, "a 1.6 PUT without disabled would have re-enabled bob"
    assert user["password"] == "b-Pa55"


def test_absent_and_raw_writes(guac, run_playbook):
    guac.add_user("old", "o-Pa55")
    web01 = guac.add_connection("web01")
    session = guac.simulate_session("guacadmin", web01)
    tasks = f"""
        - name: remove old
          proxgate.core.guacamole_api:
            path: users/old
            state: absent
        - name: kill
          proxgate.core.guacamole_api:
            path: activeConnections
            method: patch
            data:
              - op: remove
                path: /{session}
    """
    checked = run_playbook(tasks, env=guac_env(guac), check=True, diff=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    assert checked.result("remove old")["changed"] is True
    assert checked.result("remove old")["diff"]["before"]["username"] == "old"
    assert checked.result("kill")["msg"] == "check mode: not sent"
    assert writes(guac) == []

    applied = run_playbook(tasks, env=guac_env(guac))
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert writes(guac) == [("DELETE", "users/old"), ("PATCH", "activeConnections")]
    assert "old" not in guac.state()["users"] and guac.state()["active_connections"] == {}

    again = run_playbook(tasks.split("        - name: kill", maxsplit=1)[0], env=guac_env(guac))
    assert again.result("remove old")["changed"] is False
    assert len(writes(guac)) == 2


def test_secrets_masked_and_raw_post(guac, run_playbook):
    run = run_playbook(f"""
        - name: create
          proxgate.core.guacamole_api:
            path: connections
            method: POST
            data:
              name: db
              protocol: ssh
              parentIdentifier: ROOT
              parameters: {{hostname: db, password: "{SECRET}"}}
              attributes: {{}}
    """, env=guac_env(guac), verbosity=4)
    assert run.rc == 0, run.stdout + run.stderr
    data = run.result("create")["data"]
    assert data["parameters"] == {"hostname": "db", "password": "********"}
    assert SECRET not in run.stdout + run.stderr + json.dumps(run.results)
    assert next(iter(guac.state()["connections"].values()))["parameters"]["password"] == SECRET


def test_bad_input_and_server_errors(guac, run_playbook):
    guac.add_user("viewer", "v-Pa55")
    run = run_playbook("""
        - name: tokens
          proxgate.core.guacamole_api:
            path: /tokens
            method: DELETE
          ignore_errors: true
        - name: url
          proxgate.core.guacamole_api:
            path: http://127.0.0.1/guacamole/api/session/data/postgresql/users
          ignore_errors: true
        - name: query in path
          proxgate.core.guacamole_api:
            path: connections?permission=READ
          ignore_errors: true
        - name: present without data
          proxgate.core.guacamole_api:
            path: users/guacadmin
            state: present
          ignore_errors: true
        - name: present on a missing object
          proxgate.core.guacamole_api:
            path: users/nobody
            state: present
            data: {attributes: {}}
          ignore_errors: true
        - name: present on a list
          proxgate.core.guacamole_api:
            path: users/guacadmin/userGroups
            state: present
            data: {x: 1}
          ignore_errors: true
        - name: get with data
          proxgate.core.guacamole_api:
            path: users
            data: {a: 1}
          ignore_errors: true
        - name: not found
          proxgate.core.guacamole_api:
            path: connections/404
          ignore_errors: true
        - name: permission
          proxgate.core.guacamole_api:
            api_username: viewer
            api_password: v-Pa55
            path: users
            method: POST
            data: {username: eve, attributes: {}}
          ignore_errors: true
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert len(run.failed) == 9
    assert "must not be /tokens" in run.result("tokens")["msg"]
    assert "not a full URL" in run.result("url")["msg"]
    assert "query string" in run.result("query in path")["msg"]
    assert "state: present needs data" in run.result("present without data")["msg"]
    assert "GET users/nobody found none" in run.result("present on a missing object")["msg"]
    assert "returned a list" in run.result("present on a list")["msg"]
    assert "data is the body of POST, PUT or PATCH" in run.result("get with data")["msg"]
    not_found = run.result("not found")
    assert not_found["msg"] == ('GET /session/data/postgresql/connections/404 failed: HTTP 404 NOT_FOUND: '
                                'Not found: "404"')
    denied = run.result("permission")
    assert denied["error_type"] == "PERMISSION_DENIED" and "'viewer'" in denied["msg"]
    assert "eve" not in guac.state()["users"]
    assert guac.sessions() == {}

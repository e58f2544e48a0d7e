"""guacamole_sharing_profile through real ansible-playbook runs against the Guacamole emulator."""

from __future__ import annotations

import pytest

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import assert_no_session_left, guac_env, writes

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server

WATCH = """
- name: watch
  proxgate.core.guacamole_sharing_profile:
    name: Watch
    connection: web01
    connection_parent: Production
    parameters:
      read-only: "{{ read_only }}"
"""


@pytest.mark.parametrize("version", ["1.5.5", "1.6.0"])
def test_check_create_update_idempotent_and_absent(guacamole_server, run_playbook, version):
    emu = guacamole_server(version=version)
    production = emu.add_connection_group("Production")
    web01 = emu.add_connection("web01", "vnc", {"hostname": "w"}, parent=production)
    env = guac_env(emu)

    checked = run_playbook(WATCH, env=env, check=True, extra_vars={"read_only": True})
    assert checked.rc == 0, checked.stdout + checked.stderr
    assert checked.result("watch")["changed"] is True
    assert writes(emu) == []

    created = run_playbook(WATCH, env=env, extra_vars={"read_only": True})
    assert created.rc == 0, created.stdout + created.stderr
    profiles = emu.state()["sharing_profiles"]
    assert len(profiles) == 1
    profile = next(iter(profiles.values()))
    assert profile["name"] == "Watch" and profile["primaryConnectionIdentifier"] == web01
    assert profile["parameters"] == {"read-only": "true"}
    identifier = profile["identifier"]
    assert created.result("watch")["sharing_profile"]["identifier"] == identifier

    again = run_playbook(WATCH, env=env, extra_vars={"read_only": True})
    assert again.result("watch")["changed"] is False
    assert writes(emu) == [("POST", "sharingProfiles")]

    updated = run_playbook(WATCH, env=env, diff=True, extra_vars={"read_only": False})
    assert updated.result("watch")["changed"] is True
    assert updated.result("watch")["diff"] == {"before": {"parameters": {"read-only": "true"}},
                                               "after": {"parameters": {"read-only": None}}}
    assert emu.state()["sharing_profiles"][identifier]["parameters"] == {}
    assert writes(emu)[-1] == ("PUT", f"sharingProfiles/{identifier}")

    absent = WATCH.replace("    parameters:\n      read-only: \"{{ read_only }}\"\n", "    state: absent\n")
    removed = run_playbook(absent + absent.replace("name: watch", "name: again"), env=env)
    assert removed.rc == 0, removed.stdout + removed.stderr
    assert removed.result("watch")["changed"] is True and removed.result("again")["changed"] is False
    assert emu.state()["sharing_profiles"] == {}
    assert writes(emu)[-1] == ("DELETE", f"sharingProfiles/{identifier}")
    assert_no_session_left(emu)


def test_bad_input_names_the_option(guac, run_playbook):
    guac.add_connection("web01", "ssh", {"hostname": "w"})
    run = run_playbook("""
        - name: unknown parameter
          proxgate.core.guacamole_sharing_profile:
            name: Watch
            connection: web01
            parameters: {read-only: true, hostname: x}
          ignore_errors: true
        - name: missing connection
          proxgate.core.guacamole_sharing_profile:
            name: Watch
            connection: web02
          ignore_errors: true
        - name: missing group
          proxgate.core.guacamole_sharing_profile:
            name: Watch
            connection: web01
            connection_parent: Nope
          ignore_errors: true
        - name: missing identifier
          proxgate.core.guacamole_sharing_profile:
            name: Watch
            connection_identifier: "42"
          ignore_errors: true
        - name: neither
          proxgate.core.guacamole_sharing_profile:
            name: Watch
          ignore_errors: true
        - name: absent of a missing connection is fine
          proxgate.core.guacamole_sharing_profile:
            name: Watch
            connection: web02
            state: absent
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert len(run.failed) == 5
    msg = run.result("unknown parameter")["msg"]
    assert "parameters: unknown parameter 'hostname'" in msg and "Known: read-only" in msg
    assert "sharing profiles of protocol ssh" in msg
    assert "connection: there is no connection 'web02' in group 'ROOT'" in run.result("missing connection")["msg"]
    assert "connection_parent: connection group 'Nope' does not exist" in run.result("missing group")["msg"]
    assert "connection_identifier: there is no connection '42'" in run.result("missing identifier")["msg"]
    assert "connection, connection_identifier" in run.result("neither")["msg"]
    assert run.result("absent of a missing connection is fine")["changed"] is False
    assert writes(guac) == []
    assert guac.sessions() == {}


def test_by_connection_identifier_and_permission_error(guac, run_playbook):
    web01 = guac.add_connection("web01", "rdp", {"hostname": "w"})
    guac.add_user("helpdesk", "h-Pa55")
    guac.grant("helpdesk", "READ", "connection", web01)
    task = f"""
        - name: pair
          proxgate.core.guacamole_sharing_profile:
            name: Pair
            connection_identifier: "{web01}"
            parameters: {{read-only: false}}
    """
    denied = run_playbook(task, env=guac_env(guac, "helpdesk", "h-Pa55"))
    assert denied.rc != 0
    assert denied.result("pair")["error_type"] == "PERMISSION_DENIED"
    assert "CREATE_SHARING_PROFILE" in denied.result("pair")["msg"]
    assert guac.state()["sharing_profiles"] == {}

    run = run_playbook(task, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("pair")["sharing_profile"]["primaryConnectionIdentifier"] == web01
    assert next(iter(guac.state()["sharing_profiles"].values()))["parameters"] == {}
    assert guac.sessions() == {}

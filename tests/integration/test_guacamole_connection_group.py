"""guacamole_connection_group through real ansible-playbook runs against the Guacamole emulator."""

from __future__ import annotations

import pytest

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import assert_no_session_left, bodies, guac_env, writes

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server


def groups_by_path(emu):
    """{path: group} of the emulator's groups, built from its state (not from the module under test)."""
    groups = emu.state()["connection_groups"]

    def path(identifier):
        names = []
        while identifier != "ROOT":
            names.append(groups[identifier]["name"])
            identifier = groups[identifier]["parentIdentifier"]
        return "/".join(reversed(names))
    return {path(identifier): group for identifier, group in groups.items()}


@pytest.mark.parametrize("version", ["1.5.5", "1.6.0"])
def test_create_with_parents_check_then_apply_then_idempotent(guacamole_server, run_playbook, version):
    emu = guacamole_server(version=version)
    emu.add_connection_group("Production")
    tasks = """
        - name: blue
          proxgate.core.guacamole_connection_group:
            path: Production/Web/Blue
            type: BALANCING
            create_parents: true
            attributes:
              enable-session-affinity: true
              max-connections-per-user: 1
    """
    env = guac_env(emu)
    checked = run_playbook(tasks, env=env, check=True, diff=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    result = checked.result("blue")
    assert result["changed"] is True
    assert result["created_parents"] == ["Production/Web"]
    assert result["group"]["path"] == "Production/Web/Blue" and result["group"]["identifier"] is None
    assert result["diff"]["after"]["created_parents"] == ["Production/Web"]
    assert writes(emu) == []

    applied = run_playbook(tasks, env=env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert writes(emu) == [("POST", "connectionGroups"), ("POST", "connectionGroups")]
    groups = groups_by_path(emu)
    assert set(groups) == {"Production", "Production/Web", "Production/Web/Blue"}
    assert groups["Production/Web"]["type"] == "ORGANIZATIONAL"
    blue = groups["Production/Web/Blue"]
    assert blue["type"] == "BALANCING"
    assert blue["attributes"]["enable-session-affinity"] == "true"
    assert blue["attributes"]["max-connections-per-user"] == "1"
    assert applied.result("blue")["group"]["identifier"] == blue["identifier"]

    again = run_playbook(tasks, env=env)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("blue")["changed"] is False
    assert again.result("blue")["created_parents"] == []
    assert len(writes(emu)) == 2
    assert_no_session_left(emu)


def test_update_type_and_attributes_keeps_the_others(guac, run_playbook):
    group = guac.add_connection_group("Pool", attributes={"max-connections": "10"})
    tasks = """
        - name: pool
          proxgate.core.guacamole_connection_group:
            name: Pool
            type: BALANCING
            attributes:
              max-connections-per-user: 2
    """
    run = run_playbook(tasks, env=guac_env(guac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("pool")
    assert result["diff"] == {"before": {"type": "ORGANIZATIONAL", "attributes": {"max-connections-per-user": None}},
                              "after": {"type": "BALANCING", "attributes": {"max-connections-per-user": "2"}}}
    assert writes(guac) == [("PUT", f"connectionGroups/{group}")]
    stored = guac.state()["connection_groups"][group]
    assert stored["type"] == "BALANCING"
    assert stored["attributes"]["max-connections"] == "10", "the PUT carried the attributes not named"
    assert stored["attributes"]["max-connections-per-user"] == "2"
    assert bodies(guac, "PUT", f"connectionGroups/{group}")[0]["name"] == "Pool"

    again = run_playbook(tasks, env=guac_env(guac))
    assert again.result("pool")["changed"] is False
    assert len(writes(guac)) == 1


def test_names_with_slashes_are_escaped(guac, run_playbook):
    run = run_playbook(r"""
        - name: slash
          proxgate.core.guacamole_connection_group:
            path: 'Site A\/B/Rack 1'
            create_parents: true
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("slash")["group"]["path"] == "Site A\\/B/Rack 1"
    names = sorted(group["name"] for group in guac.state()["connection_groups"].values())
    assert names == ["Rack 1", "Site A/B"]


def test_missing_parent_without_create_parents_fails_and_writes_nothing(guac, run_playbook):
    guac.add_connection_group("Production")
    run = run_playbook("""
        - name: deep
          proxgate.core.guacamole_connection_group:
            name: Blue
            parent: Production/Web
          ignore_errors: true
        - name: root
          proxgate.core.guacamole_connection_group:
            path: ROOT
          ignore_errors: true
        - name: both
          proxgate.core.guacamole_connection_group:
            path: A/B
            name: B
          ignore_errors: true
        - name: bad attribute
          proxgate.core.guacamole_connection_group:
            path: Production
            attributes: {weight: 3}
          ignore_errors: true
        - name: bad type
          proxgate.core.guacamole_connection_group:
            path: Production
            type: organisational
          ignore_errors: true
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert len(run.failed) == 5
    msg = run.result("deep")["msg"]
    assert "parent: connection group 'Production/Web' does not exist" in msg
    assert "no group 'Web' in 'Production'" in msg and "create_parents: true" in msg
    assert "root group, which cannot be managed" in run.result("root")["msg"]
    assert "mutually exclusive" in run.result("both")["msg"]
    assert "attributes: unknown attribute 'weight'" in run.result("bad attribute")["msg"]
    assert "type" in run.result("bad type")["msg"] and "BALANCING" in run.result("bad type")["msg"]
    assert writes(guac) == []
    assert guac.sessions() == {}


def test_absent_refuses_a_non_empty_group_unless_forced(guac, run_playbook):
    production = guac.add_connection_group("Production")
    web = guac.add_connection_group("Web", parent=production)
    guac.add_connection("web01", parent=production)
    tasks = """
        - name: remove
          proxgate.core.guacamole_connection_group:
            path: Production
            state: absent
            force: "{{ force }}"
          ignore_errors: true
    """
    refused = run_playbook(tasks, env=guac_env(guac), extra_vars={"force": False})
    msg = refused.result("remove")["msg"]
    assert "'Production' is not empty" in msg and "connections web01" in msg and "groups Production/Web" in msg
    assert "force: true" in msg
    assert writes(guac) == []

    checked = run_playbook(tasks, env=guac_env(guac), extra_vars={"force": True}, check=True)
    assert checked.result("remove")["changed"] is True
    assert writes(guac) == []

    forced = run_playbook(tasks, env=guac_env(guac), extra_vars={"force": True})
    assert forced.result("remove")["changed"] is True
    assert writes(guac) == [("DELETE", f"connectionGroups/{production}")]
    assert guac.state()["connection_groups"] == {} and guac.state()["connections"] == {}
    assert web not in guac.state()["connection_groups"]

    again = run_playbook(tasks, env=guac_env(guac), extra_vars={"force": False})
    assert again.rc == 0 and again.result("remove")["changed"] is False
    assert len(writes(guac)) == 1


def test_non_admin_without_create_permission(guac, run_playbook):
    guac.add_user("viewer", "v-Pa55")
    run = run_playbook("""
        - name: create
          proxgate.core.guacamole_connection_group:
            path: Mine
    """, env=guac_env(guac, "viewer", "v-Pa55"))
    assert run.rc != 0
    result = run.result("create")
    assert result["error_type"] == "PERMISSION_DENIED"
    assert "CREATE_CONNECTION_GROUP" in result["msg"] and "'viewer'" in result["msg"]
    assert guac.sessions() == {}

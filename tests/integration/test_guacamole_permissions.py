"""guacamole_permissions against the Guacamole emulator, through real ansible-playbook runs."""

from __future__ import annotations

import json

import pytest

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import assert_no_session_left, guac_env, writes

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server


def seed(emu):
    """Production/Web holds web01 (1) and web02 (2), Staging another web01 (3), the root db01 (4)."""
    production = emu.add_connection_group("Production")
    web = emu.add_connection_group("Web", parent=production)
    staging = emu.add_connection_group("Staging")
    ids = {
        "web01": emu.add_connection("web01", parent=web),
        "web02": emu.add_connection("web02", parent=web),
        "staging-web01": emu.add_connection("web01", parent=staging),
        "db01": emu.add_connection("db01"),
    }
    ids["read-only"] = emu.add_sharing_profile("read-only", ids["web01"])
    ids.update(production=production, web=web, staging=staging)
    for user in ("alice", "bob"):
        emu.add_user(user, f"pw-{user}")
    for group in ("operators", "auditors"):
        emu.add_user_group(group)
    return ids


def permissions_of(emu, name, group=False):
    return emu.state()["user_groups" if group else "users"][name]["permissions"]


def patches(emu):
    """The bodies of the permission PATCHes sent."""
    return [json.loads(body) for method, path, body in emu.write_requests()
            if method == "PATCH" and path.endswith("/permissions")]


def task_status(run, task_name):
    return [r for r in run.results if r["task"] == task_name][-1]["status"]


GRANT = """
- name: Grant
  proxgate.core.guacamole_permissions:
    user_group: operators
    system: [create_connection]
    connection_groups:
      - path: Production/Web
        permissions: [READ]
    connections:
      - name: web01
        parent: Production/Web
        permissions: [read, UPDATE]
      - identifier: "4"
        permissions: [READ]
    sharing_profiles:
      - name: read-only
        connection: web01
        parent: Production/Web
        permissions: [READ]
    users:
      - name: alice
        permissions: [READ]
    user_groups:
      - name: auditors
        permissions: [READ]
"""


def test_grant_in_check_mode_then_apply_in_one_patch_then_nothing_to_do(run_playbook, guac):
    ids = seed(guac)
    expected_ops = sorted([
        ("/connectionGroupPermissions/" + ids["web"], "READ"),
        ("/connectionPermissions/" + ids["web01"], "READ"),
        ("/connectionPermissions/" + ids["web01"], "UPDATE"),
        ("/connectionPermissions/" + ids["db01"], "READ"),
        ("/sharingProfilePermissions/" + ids["read-only"], "READ"),
        ("/systemPermissions", "CREATE_CONNECTION"),
        ("/userGroupPermissions/auditors", "READ"),
        ("/userPermissions/alice", "READ"),
    ])
    check = run_playbook(GRANT, env=guac_env(guac), check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Grant")
    assert predicted["changed"] is True
    assert sorted((op["path"], op["value"]) for op in predicted["operations"]) == expected_ops
    assert predicted["diff"]["after"]["connectionPermissions"] == {"Production/Web/web01": ["READ", "UPDATE"],
                                                                   "db01": ["READ"]}
    assert predicted["diff"]["before"]["connectionPermissions"] == {"Production/Web/web01": [], "db01": []}
    assert predicted["diff"]["after"]["sharingProfilePermissions"] == {"Production/Web/web01: read-only": ["READ"]}
    assert predicted["diff"]["after"]["connectionGroupPermissions"] == {"Production/Web": ["READ"]}
    assert predicted["diff"]["after"]["systemPermissions"] == ["CREATE_CONNECTION"]
    assert writes(guac) == []

    applied = run_playbook(GRANT, env=guac_env(guac))
    assert applied.rc == 0, applied.stdout + applied.stderr
    result = applied.result("Grant")
    assert result["changed"] is True
    # One PATCH, one permission per operation, value always one string.
    assert writes(guac) == [("PATCH", "userGroups/operators/permissions")]
    [sent] = patches(guac)
    assert all(op["op"] == "add" and isinstance(op["value"], str) for op in sent)
    assert sorted((op["path"], op["value"]) for op in sent) == expected_ops
    state = permissions_of(guac, "operators", group=True)
    assert state["connectionPermissions"] == {ids["web01"]: ["READ", "UPDATE"], ids["db01"]: ["READ"]}
    assert state["connectionGroupPermissions"] == {ids["web"]: ["READ"]}
    assert state["sharingProfilePermissions"] == {ids["read-only"]: ["READ"]}
    assert state["userPermissions"] == {"alice": ["READ"]}
    assert state["userGroupPermissions"] == {"auditors": ["READ"]}
    assert state["systemPermissions"] == ["CREATE_CONNECTION"]
    assert result["permissions"]["connectionPermissions"] == state["connectionPermissions"]

    again = run_playbook(GRANT, env=guac_env(guac))
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Grant")["changed"] is False
    assert again.result("Grant")["operations"] == []
    assert len(writes(guac)) == 1
    assert_no_session_left(guac)


def test_replace_touches_only_the_kinds_given(run_playbook, guac):
    ids = seed(guac)
    guac.grant("operators", "READ", "connection", ids["web01"], group=True)
    guac.grant("operators", "UPDATE", "connection", ids["web01"], group=True)
    guac.grant("operators", "READ", "connection", ids["web02"], group=True)
    guac.grant("operators", "READ", "connectionGroup", ids["staging"], group=True)
    guac.grant("operators", "CREATE_USER", group=True)
    guac.grant("bob", "READ", "user", "alice")
    guac.grant("bob", "CREATE_USER")
    run = run_playbook("""
        - name: Only web01, read
          proxgate.core.guacamole_permissions:
            user_group: operators
            mode: replace
            connections:
              - name: web01
                parent: Production/Web
                permissions: [READ]
        - name: Bob's users and system permissions
          proxgate.core.guacamole_permissions:
            user: bob
            mode: replace
            system: []
            users:
              - name: alice
                permissions: [READ, UPDATE]
        - name: Same again
          proxgate.core.guacamole_permissions:
            user: bob
            mode: replace
            system: []
            users:
              - name: alice
                permissions: [READ, UPDATE]
    """, env=guac_env(guac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Only web01, read", "Bob's users and system permissions"]
    operators = permissions_of(guac, "operators", group=True)
    assert operators["connectionPermissions"] == {ids["web01"]: ["READ"]}
    assert operators["connectionGroupPermissions"] == {ids["staging"]: ["READ"]}  # kind not given: kept
    assert operators["systemPermissions"] == ["CREATE_USER"]
    assert run.result("Only web01, read")["diff"] == {
        "before": {"connectionPermissions": {"Production/Web/web01": ["READ", "UPDATE"],
                                             "Production/Web/web02": ["READ"]}},
        "after": {"connectionPermissions": {"Production/Web/web01": ["READ"], "Production/Web/web02": []}}}
    bob = permissions_of(guac, "bob")
    assert bob["userPermissions"] == {"alice": ["READ", "UPDATE"], "bob": ["READ"]}  # READ on himself is kept
    assert bob["systemPermissions"] == []
    first, second = patches(guac)
    assert sorted((op["op"], op["path"], op["value"]) for op in first) == sorted([
        ("remove", "/connectionPermissions/" + ids["web01"], "UPDATE"),
        ("remove", "/connectionPermissions/" + ids["web02"], "READ")])
    assert sorted((op["op"], op["path"], op["value"]) for op in second) == [
        ("add", "/userPermissions/alice", "UPDATE"), ("remove", "/systemPermissions", "CREATE_USER")]


def test_remove_revokes_what_is_listed_and_ignores_what_is_gone(run_playbook, guac):
    ids = seed(guac)
    guac.grant("alice", "READ", "connection", ids["web01"])
    guac.grant("alice", "UPDATE", "connection", ids["web01"])
    task = """
        - name: Revoke
          proxgate.core.guacamole_permissions:
            user: alice
            mode: remove
            system: [ADMINISTER]
            connections:
              - name: web01
                parent: Production/Web
                permissions: [UPDATE, DELETE]
              - name: deleted-long-ago
                permissions: [READ]
            connection_groups:
              - path: Gone/Too
                permissions: [READ]
    """
    run = run_playbook(task + task.replace("name: Revoke", "name: Again"), env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Revoke"]
    assert run.result("Revoke")["operations"] == [
        {"op": "remove", "path": "/connectionPermissions/" + ids["web01"], "value": "UPDATE"}]
    assert permissions_of(guac, "alice")["connectionPermissions"] == {ids["web01"]: ["READ"]}
    assert len(patches(guac)) == 1


def test_bad_input_is_refused_before_any_write(run_playbook, guac):
    """End to end: an unknown permission, and the names only the server can resolve (the unit tests cover the
    other option checks)."""
    seed(guac)
    cases = {
        "user: alice\n    connections: [{name: web01, parent: Production/Web, permissions: [READ, FLY]}]":
            "connections[0] (web01).permissions: unknown permission 'FLY'; expected one of READ, UPDATE, DELETE, "
            "ADMINISTER",
        "user: alice\n    connections: [{name: web01, permissions: [READ]}]":
            "connections[0] (web01): 2 connections are named 'web01' (Production/Web/web01, Staging/web01); "
            "set parent",
        "user: alice\n    connections: [{name: nope, permissions: [READ]}]":
            "connections[0] (nope): no connection named 'nope'",
        "user: alice\n    connections: [{name: web01, parent: Nowhere, permissions: [READ]}]":
            "connections[0] (web01).parent: no connection group at path 'Nowhere'",
        "user: alice\n    users: [{name: ghost, permissions: [READ]}]": "users[0] (ghost): no user named 'ghost'",
        "user: ghost\n    system: [CREATE_USER]": "user: no user named 'ghost'",
        "user_group: ghosts\n    system: [CREATE_USER]": "user_group: no user group named 'ghosts'",
    }
    tasks = "".join(f"- name: case {index}\n  proxgate.core.guacamole_permissions:\n    {options}\n"
                    "  ignore_errors: true\n" for index, options in enumerate(cases))
    run = run_playbook(tasks, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    for index, expected in enumerate(cases.values()):
        assert task_status(run, f"case {index}") == "failed", expected
        assert expected in run.result(f"case {index}")["msg"]
    assert writes(guac) == []
    assert_no_session_left(guac)


@pytest.mark.parametrize("version", ["1.5.3", "1.6.0"])
def test_audit_exists_only_on_1_6(run_playbook, guacamole_server, version):
    guac = guacamole_server(version)
    guac.add_user("auditor", "pw")
    run = run_playbook("""
        - name: Audit
          proxgate.core.guacamole_permissions:
            user: auditor
            system: [AUDIT]
          ignore_errors: true
    """, env=guac_env(guac))
    result = run.result("Audit")
    if version == "1.6.0":
        assert result["changed"] is True and result["api_version"] == "1.6"
        assert permissions_of(guac, "auditor")["systemPermissions"] == ["AUDIT"]
    else:
        assert task_status(run, "Audit") == "failed"
        assert result["msg"].startswith("system: AUDIT is not a system permission of Guacamole 1.5")
        assert writes(guac) == []  # the server would have failed with a 500


def test_non_admin_gets_a_clear_permission_error(run_playbook, guac):
    ids = seed(guac)
    guac.add_user("helpdesk", "H3lp-pw")
    guac.grant("helpdesk", "READ", "connection", ids["web01"])
    guac.grant("helpdesk", "READ", "user", "alice")
    run = run_playbook("""
        - name: Grant a connection
          proxgate.core.guacamole_permissions:
            user: alice
            connections:
              - identifier: "1"
                permissions: [READ]
          ignore_errors: true
        - name: Grant a system permission
          proxgate.core.guacamole_permissions:
            user: alice
            system: [CREATE_USER]
          ignore_errors: true
    """, env=guac_env(guac, "helpdesk", "H3lp-pw"))
    assert run.rc == 0, run.stdout + run.stderr
    for task in ("Grant a connection", "Grant a system permission"):
        assert task_status(run, task) == "failed"
        msg = run.result(task)["msg"]
        assert "PATCH /session/data/postgresql/users/alice/permissions failed: HTTP 403 PERMISSION_DENIED" in msg
        assert "ADMINISTER" in msg
    assert permissions_of(guac, "alice")["connectionPermissions"] == {}
    assert permissions_of(guac, "alice")["systemPermissions"] == []
    assert_no_session_left(guac)

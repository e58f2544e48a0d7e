"""guacamole_user_group against the Guacamole emulator (1.5 and 1.6), through real ansible-playbook runs."""

from __future__ import annotations

import json

import pytest

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import assert_no_session_left, guac_env, writes

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server

BOTH = pytest.mark.parametrize("version", ["1.5.3", "1.6.0"])


def group_state(emu, name):
    return emu.state()["user_groups"].get(name)


def sent(emu):
    """(method, path relative to the data source, JSON body) of every write so far."""
    return [(method, path, json.loads(body) if body else None)
            for (method, path), (_m, _p, body) in zip(writes(emu), emu.write_requests(), strict=True)]


def task_status(run, task_name):
    return [r for r in run.results if r["task"] == task_name][-1]["status"]


@BOTH
def test_create_in_check_mode_then_apply_then_nothing_to_do(run_playbook, guacamole_server, version):
    guac = guacamole_server(version)
    guac.add_user("alice", "pw-a")
    guac.add_user("bob", "pw-b")
    guac.add_user_group("on-call")
    task = """
        - name: Operators
          proxgate.core.guacamole_user_group:
            name: operators
            disabled: true
            member_users: [alice, bob]
            member_groups: [on-call]
    """
    check = run_playbook(task, env=guac_env(guac), check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Operators")
    assert predicted["changed"] is True
    assert predicted["diff"]["before"] == {"state": "absent"}
    assert predicted["user_group"] == {"name": "operators", "disabled": True, "attributes": {},
                                       "member_users": ["alice", "bob"], "member_groups": ["on-call"]}
    assert writes(guac) == []
    assert group_state(guac, "operators") is None

    applied = run_playbook(task, env=guac_env(guac))
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("Operators")["changed"] is True
    operators = group_state(guac, "operators")
    assert operators["disabled"] is True
    assert operators["memberUsers"] == ["alice", "bob"]
    assert operators["memberUserGroups"] == ["on-call"]
    assert writes(guac) == [("POST", "userGroups"), ("PATCH", "userGroups/operators/memberUsers"),
                            ("PATCH", "userGroups/operators/memberUserGroups")]

    again = run_playbook(task, env=guac_env(guac))
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Operators")["changed"] is False
    assert len(writes(guac)) == 3
    assert_no_session_left(guac)


@BOTH
def test_disabled_is_sent_in_the_form_the_version_reads(run_playbook, guacamole_server, version):
    guac = guacamole_server(version)
    guac.add_user_group("contractors")
    guac.add_user("carl", "pw-c")
    run = run_playbook("""
        - name: Disable
          proxgate.core.guacamole_user_group:
            name: contractors
            disabled: true
        - name: Add a member to the disabled group
          proxgate.core.guacamole_user_group:
            name: contractors
            member_users: [carl]
        - name: Not said
          proxgate.core.guacamole_user_group:
            name: contractors
    """, env=guac_env(guac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Disable", "Add a member to the disabled group"]
    assert run.result("Disable")["diff"] == {"before": {"disabled": False}, "after": {"disabled": True}}
    assert group_state(guac, "contractors")["disabled"] is True
    assert group_state(guac, "contractors")["memberUsers"] == ["carl"]
    [put, _patch] = sent(guac)
    assert put[:2] == ("PUT", "userGroups/contractors")
    if version == "1.6.0":
        assert put[2]["disabled"] is True
    else:
        assert put[2]["attributes"]["disabled"] == "true" and "disabled" not in put[2]

    enable = run_playbook("""
        - name: Enable
          proxgate.core.guacamole_user_group:
            name: contractors
            disabled: false
    """, env=guac_env(guac))
    assert enable.changed == ["Enable"]
    assert group_state(guac, "contractors")["disabled"] is False


def test_member_modes(run_playbook, guac):
    for name in ("u1", "u2", "u3"):
        guac.add_user(name, f"pw-{name}")
    for name in ("g1", "g2"):
        guac.add_user_group(name)
    guac.add_user_group("team", members=["u1"], member_groups=["g1"])
    run = run_playbook("""
        - name: Add u2
          proxgate.core.guacamole_user_group:
            name: team
            member_users: [u1, u2]
            member_users_mode: add
        - name: Remove u1 and u3, add g2
          proxgate.core.guacamole_user_group:
            name: team
            member_users: [u1, u3]
            member_users_mode: remove
            member_groups: [g2]
            member_groups_mode: add
        - name: Replace
          proxgate.core.guacamole_user_group:
            name: team
            member_users: [u3]
            member_groups: []
        - name: Replace again
          proxgate.core.guacamole_user_group:
            name: team
            member_users: [u3]
            member_groups: []
    """, env=guac_env(guac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Add u2", "Remove u1 and u3, add g2", "Replace"]
    assert run.result("Replace")["diff"] == {
        "before": {"member_users": ["u2"], "member_groups": ["g1", "g2"]},
        "after": {"member_users": ["u3"], "member_groups": []}}
    team = group_state(guac, "team")
    assert (team["memberUsers"], team["memberUserGroups"]) == (["u3"], [])
    assert [body for _method, _path, body in sent(guac)] == [
        [{"op": "add", "path": "/", "value": "u2"}],
        [{"op": "remove", "path": "/", "value": "u1"}],
        [{"op": "add", "path": "/", "value": "g2"}],
        [{"op": "remove", "path": "/", "value": "u2"}, {"op": "add", "path": "/", "value": "u3"}],
        [{"op": "remove", "path": "/", "value": "g1"}, {"op": "remove", "path": "/", "value": "g2"}],
    ]


def test_absent(run_playbook, guac):
    guac.add_user_group("old-team")
    task = """
        - name: Remove
          proxgate.core.guacamole_user_group:
            name: old-team
            state: absent
    """
    check = run_playbook(task, env=guac_env(guac), check=True)
    assert check.result("Remove")["changed"] is True
    assert writes(guac) == [] and group_state(guac, "old-team") is not None
    run = run_playbook(task + task.replace("name: Remove", "name: Again"), env=guac_env(guac))
    assert run.changed == ["Remove"]
    assert group_state(guac, "old-team") is None
    assert writes(guac) == [("DELETE", "userGroups/old-team")]


def test_bad_input_and_missing_permission(run_playbook, guac):
    guac.add_user_group("team")
    guac.add_user("helpdesk", "H3lp-pw")
    cases = {
        "name: team\n    attributes: {color: blue}": "attributes: the server declares no user group attribute 'color'",
        "name: team\n    member_users: [ghost]": "member_users: no user named 'ghost'",
        "name: team\n    member_groups: [team]": "member_groups must not contain the group itself ('team')",
        "name: team\n    member_groups: [nope]": "member_groups: no user group named 'nope'",
    }
    tasks = "".join(f"- name: case {index}\n  proxgate.core.guacamole_user_group:\n    {options}\n"
                    "  ignore_errors: true\n" for index, options in enumerate(cases))
    run = run_playbook(tasks, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    for index, expected in enumerate(cases.values()):
        assert task_status(run, f"case {index}") == "failed", expected
        assert expected in run.result(f"case {index}")["msg"]
    assert writes(guac) == []

    denied = run_playbook("""
        - name: Create as a user without CREATE_USER_GROUP
          proxgate.core.guacamole_user_group:
            name: new-team
          ignore_errors: true
    """, env=guac_env(guac, "helpdesk", "H3lp-pw"))
    result = denied.result("Create as a user without CREATE_USER_GROUP")
    assert task_status(denied, "Create as a user without CREATE_USER_GROUP") == "failed"
    assert "POST /session/data/postgresql/userGroups failed: HTTP 403 PERMISSION_DENIED" in result["msg"]
    assert "CREATE_USER_GROUP" in result["msg"]
    assert group_state(guac, "new-team") is None
    assert_no_session_left(guac)

"""guacamole_user against the Guacamole emulator (1.5 and 1.6), through real ansible-playbook runs."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import ADMIN_PASSWORD, assert_no_session_left, guac_env

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server

BOTH = pytest.mark.parametrize("version", ["1.5.3", "1.6.0"])
# The emulator's tokens: 64 upper-case hex digits. No module output may hold one.
TOKEN_RE = re.compile(r"[0-9A-F]{64}")


def writes(emu):
    """(method, path relative to the data source) of every write so far."""
    return guacamole_fixtures.writes(emu)


def sent(emu):
    """(method, path relative to the data source, JSON body with the secrets masked) of every write so far."""
    return [(method, path, json.loads(body) if body else None)
            for (method, path), (_m, _p, body) in zip(writes(emu), emu.write_requests(), strict=True)]


def task_status(run, task_name):
    return [r for r in run.results if r["task"] == task_name][-1]["status"]


def user_state(guac, name):
    return guac.state()["users"].get(name)


@BOTH
def test_create_in_check_mode_then_apply_then_nothing_to_do(run_playbook, guacamole_server, version):
    guac = guacamole_server(version)
    guac.add_user_group("operators")
    guac.add_user_group("on-call")
    task = """
        - name: Alice
          proxgate.core.guacamole_user:
            username: alice
            password: Al1ce-initial-pw
            full_name: Alice Example
            email: alice@example.com
            organization: Example Corp
            disabled: true
            expired: true
            valid_until: "2026-12-31"
            access_window_start: "7:00"
            access_window_end: "19:30"
            timezone: Europe/Berlin
            groups: [operators, on-call]
    """
    check = run_playbook(task, env=guac_env(guac), check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Alice")
    assert predicted["changed"] is True
    assert predicted["diff"]["before"] == {"state": "absent"}
    assert predicted["diff"]["after"]["password"] == "********"
    assert predicted["diff"]["after"]["disabled"] is True
    assert predicted["user"]["groups"] == ["on-call", "operators"]
    assert writes(guac) == []
    assert user_state(guac, "alice") is None
    assert_no_session_left(guac)  # the check-mode run deleted its token too

    applied = run_playbook(task, env=guac_env(guac))
    assert applied.rc == 0, applied.stdout + applied.stderr
    result = applied.result("Alice")
    assert result["changed"] is True and result["password_changed"] is True
    alice = user_state(guac, "alice")
    assert alice["password"] == "Al1ce-initial-pw"
    assert alice["disabled"] is True
    assert alice["attributes"] == {
        "guac-full-name": "Alice Example", "guac-email-address": "alice@example.com",
        "guac-organization": "Example Corp", "expired": "true", "valid-until": "2026-12-31",
        "access-window-start": "07:00:00", "access-window-end": "19:30:00", "timezone": "Europe/Berlin",
    }
    assert alice["userGroups"] == ["on-call", "operators"]
    assert writes(guac) == [("POST", "users"), ("PATCH", "users/alice/userGroups")]
    assert result["api_version"] == version[:3]
    assert_no_session_left(guac)

    again = run_playbook(task, env=guac_env(guac), diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Alice")["changed"] is False
    assert again.result("Alice")["diff"] == {"before": {}, "after": {}}
    assert len(writes(guac)) == 2
    assert_no_session_left(guac)


@BOTH
def test_updating_a_disabled_user_keeps_it_disabled(run_playbook, guacamole_server, version):
    guac = guacamole_server(version)
    guac.add_user("bob", "B0b-pw", attributes={"guac-email-address": "old@example.com",
                                               "guac-full-name": "Bob"}, disabled=True)
    run = run_playbook("""
        - name: New email
          proxgate.core.guacamole_user:
            username: bob
            email: bob@example.com
    """, env=guac_env(guac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("New email")
    assert result["changed"] is True
    assert result["diff"] == {"before": {"email": "old@example.com"}, "after": {"email": "bob@example.com"}}
    assert result["user"]["disabled"] is True
    bob = user_state(guac, "bob")
    assert bob["disabled"] is True  # a 1.6 PUT without `disabled` would have enabled the account
    assert bob["attributes"]["guac-email-address"] == "bob@example.com"
    assert bob["attributes"]["guac-full-name"] == "Bob"  # the attributes not managed are kept
    assert bob["password"] == "B0b-pw"
    [(method, path, body)] = sent(guac)
    assert (method, path) == ("PUT", "users/bob")
    if version == "1.6.0":
        assert body["disabled"] is True and "disabled" not in body["attributes"]
    else:
        assert body["attributes"]["disabled"] == "true" and "disabled" not in body
    assert body["password"] is None


@BOTH
def test_enable_and_disable(run_playbook, guacamole_server, version):
    guac = guacamole_server(version)
    guac.add_user("carol", "C4rol-pw", disabled=True)
    run = run_playbook("""
        - name: Enable
          proxgate.core.guacamole_user:
            username: carol
            disabled: false
        - name: Enable again
          proxgate.core.guacamole_user:
            username: carol
            disabled: false
        - name: Not said
          proxgate.core.guacamole_user:
            username: carol
            organization: Example Corp
        - name: Disable
          proxgate.core.guacamole_user:
            username: carol
            disabled: true
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Enable", "Not said", "Disable"]
    assert [run.result(task)["user"]["disabled"] for task in ("Enable", "Not said", "Disable")] == [False, False, True]
    assert user_state(guac, "carol")["disabled"] is True
    assert user_state(guac, "carol")["attributes"]["guac-organization"] == "Example Corp"
    assert writes(guac) == [("PUT", "users/carol")] * 3


def test_update_password_modes(run_playbook, guac):
    guac.add_user("dave", "D4ve-old-pw")
    tasks = """
        - name: On create only
          proxgate.core.guacamole_user:
            username: dave
            password: D4ve-new-pw
        - name: Always
          proxgate.core.guacamole_user:
            username: dave
            password: D4ve-new-pw
            update_password: always
    """
    run = run_playbook(tasks, env=guac_env(guac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("On create only")["changed"] is False
    always = run.result("Always")
    assert always["changed"] is True and always["password_changed"] is True
    assert always["diff"] == {"before": {"password": "********"}, "after": {"password": "********"}}
    assert user_state(guac, "dave")["password"] == "D4ve-new-pw"
    assert writes(guac) == [("PUT", "users/dave")]

    # A password cannot be read back: `always` writes it, and says so, on every run.
    again = run_playbook(tasks, env=guac_env(guac))
    assert again.changed == ["Always"]
    assert len(writes(guac)) == 2


def test_own_password_goes_through_the_password_change_call(run_playbook, guac):
    guac.add_user("ops-bot", "B0t-old-pw", system_permissions=["CREATE_USER"])
    # "Change own password" in the web UI: UPDATE on itself, which the password-change call needs
    # (rest/user/UserResource.updatePassword -> jdbc/user/UserService.beforeUpdate); without it a real server
    # answers 403.
    guac.grant("ops-bot", "UPDATE", "user", "ops-bot")
    task = """
        - name: Rotate my password
          proxgate.core.guacamole_user:
            username: ops-bot
            password: B0t-new-pw
            update_password: always
    """
    run = run_playbook(task, env=guac_env(guac, "ops-bot", "B0t-old-pw"))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Rotate my password")["changed"] is True
    assert user_state(guac, "ops-bot")["password"] == "B0t-new-pw"
    assert sent(guac) == [("PUT", "users/ops-bot/password", {"oldPassword": "********", "newPassword": "********"})]

    # Logged in with the new password, the module knows it is already set: nothing to do.
    again = run_playbook(task, env=guac_env(guac, "ops-bot", "B0t-new-pw"))
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Rotate my password")["changed"] is False
    assert len(writes(guac)) == 1


def test_group_membership_modes(run_playbook, guac):
    for group in ("a", "b", "c"):
        guac.add_user_group(group)
    guac.add_user("erin", "Er1n-pw")
    guac.add_member("a", username="erin")
    run = run_playbook("""
        - name: Add b
          proxgate.core.guacamole_user:
            username: erin
            groups: [b]
            groups_mode: add
        - name: Add b again
          proxgate.core.guacamole_user:
            username: erin
            groups: [a, b]
            groups_mode: add
        - name: Remove a and c
          proxgate.core.guacamole_user:
            username: erin
            groups: [a, c]
            groups_mode: remove
        - name: Replace with c
          proxgate.core.guacamole_user:
            username: erin
            groups: [c]
    """, env=guac_env(guac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Add b", "Remove a and c", "Replace with c"]
    assert run.result("Add b")["user"]["groups"] == ["a", "b"]
    assert run.result("Remove a and c")["user"]["groups"] == ["b"]
    replaced = run.result("Replace with c")
    assert replaced["diff"] == {"before": {"groups": ["b"]}, "after": {"groups": ["c"]}}
    assert user_state(guac, "erin")["userGroups"] == ["c"]
    patches = [body for _method, _path, body in sent(guac)]
    assert patches == [
        [{"op": "add", "path": "/", "value": "b"}],
        [{"op": "remove", "path": "/", "value": "a"}],
        [{"op": "remove", "path": "/", "value": "b"}, {"op": "add", "path": "/", "value": "c"}],
    ]


def test_absent(run_playbook, guac):
    guac.add_user("frank", "Fr4nk-pw")
    task = """
        - name: Remove frank
          proxgate.core.guacamole_user:
            username: frank
            state: absent
    """
    check = run_playbook(task, env=guac_env(guac), check=True)
    assert check.result("Remove frank")["changed"] is True
    assert writes(guac) == [] and user_state(guac, "frank") is not None
    run = run_playbook(task + task.replace("Remove frank", "Again"), env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Remove frank"]
    assert run.result("Remove frank")["user"] is None
    assert user_state(guac, "frank") is None
    assert writes(guac) == [("DELETE", "users/frank")]


def test_bad_input_is_refused_before_any_write(run_playbook, guac):
    """End to end, one check made before login and those that need the server; the unit tests cover every check."""
    guac.add_user_group("operators")
    guac.add_user("gina", "G1na-pw")
    cases = {  # the options as written in the task -> what the message must say
        "username: gina\n    valid_from: 31.12.2026": "valid_from must be a date as YYYY-MM-DD",
        "username: gina\n    attributes: {shoe-size: '42'}":
            "attributes: the server declares no user attribute 'shoe-size'",
        "username: gina\n    groups: [operators, nope]": "groups: no user group named 'nope'",
        "username: guacadmin\n    state: absent":
            "username 'guacadmin' is the user the module logs in as (api_username)",
        "username: guacadmin\n    full_name: Me": "full_name: user 'guacadmin' is the user the module logs in as",
    }
    tasks = "".join(f"- name: case {index}\n  proxgate.core.guacamole_user:\n    {options}\n  ignore_errors: true\n"
                    for index, options in enumerate(cases))
    run = run_playbook(tasks, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    for index, expected in enumerate(cases.values()):
        assert task_status(run, f"case {index}") == "failed", expected
        assert expected in run.result(f"case {index}")["msg"]
    assert writes(guac) == []
    assert_no_session_left(guac)  # every failed run deleted its token


@BOTH
def test_non_admin_gets_a_clear_permission_error(run_playbook, guacamole_server, version):
    guac = guacamole_server(version)
    guac.add_user("helpdesk", "H3lp-pw")
    guac.add_user("ivan", "Iv4n-pw", attributes={"guac-full-name": "Ivan"})
    guac.grant("helpdesk", "READ", "user", "ivan")
    guac.grant("helpdesk", "UPDATE", "user", "ivan")
    run = run_playbook("""
        - name: Create a user
          proxgate.core.guacamole_user:
            username: jane
            password: J4ne-pw
          ignore_errors: true
        - name: Disable ivan without ADMINISTER on him
          proxgate.core.guacamole_user:
            username: ivan
            disabled: true
            valid_until: "2027-01-01"
          ignore_errors: true
        - name: Rename ivan, which UPDATE allows
          proxgate.core.guacamole_user:
            username: ivan
            full_name: Ivan Example
    """, env=guac_env(guac, "helpdesk", "H3lp-pw"))
    assert run.rc == 0, run.stdout + run.stderr
    create = run.result("Create a user")
    assert task_status(run, "Create a user") == "failed"
    assert "POST /session/data/postgresql/users failed: HTTP 403 PERMISSION_DENIED" in create["msg"]
    assert "CREATE_USER" in create["msg"]
    assert create["status"] == 403
    restricted = run.result("Disable ivan without ADMINISTER on him")
    assert task_status(run, "Disable ivan without ADMINISTER on him") == "failed"
    # On 1.6 `disabled` is a top-level field that UPDATE allows; the account restrictions still need ADMINISTER.
    expected = "valid_until: " if version.startswith("1.6") else "disabled, valid_until: "
    assert restricted["msg"].startswith(expected), restricted["msg"]
    assert "ADMINISTER" in restricted["msg"]
    assert run.result("Rename ivan, which UPDATE allows")["changed"] is True
    assert user_state(guac, "ivan")["attributes"]["guac-full-name"] == "Ivan Example"
    assert user_state(guac, "jane") is None
    assert writes(guac) == [("POST", "users"), ("PUT", "users/ivan")]  # the POST was refused


@BOTH
def test_disabling_with_update_alone_works_on_16_and_is_refused_on_15(run_playbook, guacamole_server, version):
    """Issue #14, item 8: Guacamole 1.6 applies a top-level `disabled` from anybody who may UPDATE the user
    (UserObjectTranslator.applyExternalChanges, ModeledUser.setDisabled); 1.5 keeps it among the restricted
    attributes that need ADMINISTER."""
    guac = guacamole_server(version)
    guac.add_user("helpdesk", "H3lp-pw")
    guac.add_user("ivan", "Iv4n-pw", attributes={"guac-full-name": "Ivan"})
    guac.grant("helpdesk", "READ", "user", "ivan")
    guac.grant("helpdesk", "UPDATE", "user", "ivan")
    task = """
        - name: Disable ivan
          proxgate.core.guacamole_user:
            username: ivan
            disabled: true
          ignore_errors: true
    """
    run = run_playbook(task, env=guac_env(guac, "helpdesk", "H3lp-pw"))
    assert run.rc == 0, run.stdout + run.stderr
    if version.startswith("1.6"):
        assert run.result("Disable ivan")["changed"] is True
        assert user_state(guac, "ivan")["disabled"] is True
        assert user_state(guac, "ivan")["attributes"]["guac-full-name"] == "Ivan"
        count = len(writes(guac))
        again = run_playbook(task, env=guac_env(guac, "helpdesk", "H3lp-pw"))
        assert again.changed == [] and len(writes(guac)) == count
    else:
        assert task_status(run, "Disable ivan") == "failed"
        assert run.result("Disable ivan")["msg"].startswith("disabled: ")
        assert writes(guac) == []


def test_secrets_never_reach_the_output(run_playbook, guac):
    guac.add_user("kate", "K4te-old-pw")
    secrets = {"LEO_PW": "L3o-very-secret-pw", "KATE_PW": "K4te-new-secret-pw"}
    run = run_playbook("""
        - name: Create
          proxgate.core.guacamole_user:
            username: leo
            password: "{{ lookup('env', 'LEO_PW') }}"
        - name: Reset
          proxgate.core.guacamole_user:
            username: kate
            password: "{{ lookup('env', 'KATE_PW') }}"
            update_password: always
        - name: Fail after login
          proxgate.core.guacamole_user:
            username: kate
            password: "{{ lookup('env', 'KATE_PW') }}"
            groups: [missing-group]
          ignore_errors: true
    """, env=guac_env(guac, **secrets), diff=True, verbosity=4)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Create", "Reset"]
    assert task_status(run, "Fail after login") == "failed"
    output = run.stdout + run.stderr
    for secret in [*secrets.values(), ADMIN_PASSWORD]:
        assert secret not in output
    assert not TOKEN_RE.search(output)
    assert "Guacamole-Token" not in output
    assert_no_session_left(guac)

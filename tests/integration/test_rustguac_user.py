"""rustguac_user: role and enabled/disabled written only when they differ, through real playbook runs."""

from __future__ import annotations

import pytest

from tests.integration import rustguac_fixtures
from tests.integration.rustguac_fixtures import rg_env, writes

pytestmark = pytest.mark.integration

rustguac = rustguac_fixtures.rustguac

ALICE = """
- name: alice
  proxgate.core.rustguac_user:
    email: Alice@Example.com
    role: admin
    enabled: false
"""


def user(emu, email):
    return next(item for item in emu.state()["users"] if item["email"] == email)


def test_check_apply_verify_idempotent(rustguac, run_playbook):
    rustguac.add_user("alice@example.com", name="Alice", role="viewer")
    env = rg_env(rustguac)
    checked = run_playbook(ALICE, env=env, check=True, diff=True)
    result = checked.result("alice")
    assert result["changed"] is True and result["changed_keys"] == ["enabled", "role"]
    assert result["diff"] == {"before": {"role": "viewer", "enabled": True},
                              "after": {"role": "admin", "enabled": False}}
    assert writes(rustguac) == []
    applied = run_playbook(ALICE, env=env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert writes(rustguac) == [("PUT", "/users/alice%40example.com/role"),
                                ("POST", "/users/alice%40example.com/disable")]
    stored = user(rustguac, "alice@example.com")
    assert stored["role"] == "admin" and stored["disabled"] is True
    assert applied.result("alice")["user"]["enabled"] is False
    again = run_playbook(ALICE, env=env)
    assert again.result("alice")["changed"] is False
    assert len(writes(rustguac)) == 2


def test_enable_absent_unknown_and_permissions(rustguac, run_playbook):
    rustguac.add_user("bob@example.com", role="operator", enabled=False)
    rustguac.add_user("carol@example.com")
    poweruser = rustguac.add_api_key(name="ci-power", role="poweruser")
    denied = run_playbook("""
        - name: denied
          proxgate.core.rustguac_user:
            email: bob@example.com
            enabled: true
    """, env=rg_env(rustguac, key=poweruser))
    assert "GET /users failed: HTTP 403" in denied.result("denied")["msg"]
    assert "needs the admin role" in denied.result("denied")["msg"]
    run = run_playbook("""
        - name: bob
          proxgate.core.rustguac_user:
            email: bob@example.com
            enabled: true
        - name: carol
          proxgate.core.rustguac_user:
            email: carol@example.com
            state: absent
        - name: nobody
          proxgate.core.rustguac_user:
            email: nobody@example.com
            role: viewer
          ignore_errors: true
        - name: not an email
          proxgate.core.rustguac_user:
            email: bob
          ignore_errors: true
    """, env=rg_env(rustguac))
    assert run.changed == ["bob", "carol"]
    assert "no user with email 'nobody@example.com'" in run.result("nobody")["msg"]
    assert "email must be the user's email address" in run.result("not an email")["msg"]
    assert writes(rustguac) == [("POST", "/users/bob%40example.com/enable"), ("DELETE", "/users/carol%40example.com")]
    assert [item["email"] for item in rustguac.state()["users"]] == ["bob@example.com"]
    assert user(rustguac, "bob@example.com")["disabled"] is False

"""rustguac_token: the plaintext comes back once, at creation; a token of that name is left alone after that."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration import rustguac_fixtures
from tests.integration.rustguac_fixtures import everything, rg_env, writes

pytestmark = pytest.mark.integration

rustguac = rustguac_fixtures.rustguac

CI_TOKEN = """
- name: ci
  proxgate.core.rustguac_token:
    email: ops@example.com
    name: ci
    max_role: operator
    expires_at: "2099-12-31T23:59:59Z"
"""


def test_admin_creates_once_plaintext_once(rustguac, run_playbook):
    rustguac.add_user("ops@example.com", role="poweruser")
    env = rg_env(rustguac)
    checked = run_playbook(CI_TOKEN, env=env, check=True)
    assert checked.result("ci")["changed"] is True and checked.result("ci")["token"] is None
    assert writes(rustguac) == []

    created = run_playbook(CI_TOKEN, env=env)
    assert created.rc == 0, created.stdout + created.stderr
    plaintext = created.result("ci")["token"]
    assert plaintext.startswith("rgu_")
    [stored] = rustguac.state()["tokens"]
    assert stored["token_hash"] == hashlib.sha256(plaintext.encode()).hexdigest()
    assert (stored["email"], stored["name"], stored["max_role"]) == ("ops@example.com", "ci", "operator")
    assert "token_hash" not in created.result("ci")["token_info"]

    again = run_playbook(CI_TOKEN.replace("operator", "viewer"), env=env, verbosity=3)
    assert again.rc == 0, again.stdout + again.stderr
    result = again.result("ci")
    assert result["changed"] is False and result["token"] is None
    assert result["token_info"]["id"] == stored["id"]
    assert any("cannot be changed" in warning for warning in result["warnings"])
    assert plaintext not in everything(again), "the plaintext is returned only by the run that created it"
    assert writes(rustguac) == [("POST", "/admin/user-tokens")]

    revoked = run_playbook(CI_TOKEN.replace('"\n', '"\n    state: absent\n', 1), env=env)
    assert revoked.result("ci")["changed"] is True
    assert rustguac.state()["tokens"] == []
    assert writes(rustguac)[-1] == ("DELETE", f"/admin/user-tokens/{stored['id']}")


def test_own_tokens_with_a_user_token_and_clear_403s(rustguac, run_playbook):
    rustguac.add_user("power@example.com", role="poweruser")
    rustguac.add_user("op@example.com", role="operator")
    power_token = rustguac.add_user_token("power@example.com", "bootstrap")
    operator_token = rustguac.add_user_token("op@example.com", "bootstrap")
    own = """
        - name: own
          proxgate.core.rustguac_token:
            name: laptop
    """
    run = run_playbook(own, env=rg_env(rustguac, key=power_token, RUSTGUAC_API_KEY_HEADER="x-api-key"))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("own")["token"].startswith("rgu_")
    assert writes(rustguac) == [("POST", "/me/tokens")]
    again = run_playbook(own, env=rg_env(rustguac, key=power_token))
    assert again.result("own")["changed"] is False and again.result("own")["token"] is None
    assert power_token not in everything(run) + everything(again)

    as_operator = run_playbook(own, env=rg_env(rustguac, key=operator_token))
    assert "POST /me/tokens failed: HTTP 403" in as_operator.result("own")["msg"]
    assert "poweruser" in as_operator.result("own")["msg"]
    as_admin_key = run_playbook(own, env=rg_env(rustguac))
    assert "only available to OIDC-authenticated users" in as_admin_key.result("own")["msg"]
    assert "give email" in as_admin_key.result("own")["msg"]
    assert sorted(token["email"] for token in rustguac.state()["tokens"]) == [
        "op@example.com", "power@example.com", "power@example.com"]

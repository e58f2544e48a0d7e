"""rustguac_info: what an operator sees, credentials never included, health without a role."""

from __future__ import annotations

import pytest

from tests.integration import rustguac_fixtures
from tests.integration.rustguac_fixtures import everything, rg_env

pytestmark = pytest.mark.integration

rustguac = rustguac_fixtures.rustguac


def test_everything_an_operator_sees(rustguac, run_playbook):
    rustguac.add_folder(name="production", allowed_groups=["ops"], description="Prod")
    rustguac.add_folder(scope="instance", name="hidden", allowed_groups=["finance"])
    rustguac.add_entry(folder="production", name="web01", hostname="10.0.0.1", password="entry-secret-pw",
                       jump_hosts=[{"hostname": "b", "username": "j", "private_key": "jump-secret-key"}])
    rustguac.add_session(hostname="10.0.0.1", owner="ci-operator")
    rustguac.add_session(hostname="10.0.0.2", owner="someone@example.com")
    rustguac.add_recording("rec1.guac")
    operator = rustguac.add_api_key(name="ci-operator", role="operator", groups=["ops"])
    viewer = rustguac.add_api_key(name="ci-viewer", role="viewer")
    run = run_playbook("""
        - name: all
          proxgate.core.rustguac_info:
        - name: health as viewer
          proxgate.core.rustguac_info:
            gather: [health]
            api_key: "{{ viewer }}"
        - name: folders as viewer
          proxgate.core.rustguac_info:
            gather: [folders]
            api_key: "{{ viewer }}"
          ignore_errors: true
    """, env=rg_env(rustguac, key=operator), extra_vars={"viewer": viewer}, verbosity=3)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("all")
    assert result["changed"] is False and result["healthy"] is True
    assert [(f["scope"], f["name"]) for f in result["folders"]] == [("shared", "production")]
    [entry] = result["entries"]
    assert entry["path"] == "shared/production/web01" and entry["hostname"] == "10.0.0.1"
    assert entry["session_type"] == "ssh" and entry["has_credentials"] is True
    # rustguac shows an operator its own sessions only, also with all=true (src/api.rs list_sessions)
    assert [session["hostname"] for session in result["sessions"]] == ["10.0.0.1"]
    assert [item["name"] for item in result["recordings"]] == ["rec1.guac"]
    assert run.result("health as viewer")["healthy"] is True
    msg = run.result("folders as viewer")["msg"]
    assert "GET /addressbook/folders failed: HTTP 403" in msg and "needs the operator role" in msg
    text = everything(run)
    for secret in ("entry-secret-pw", "jump-secret-key", operator, viewer):
        assert secret not in text
    assert rustguac.writes() == []


def test_an_admin_key_sees_every_session(rustguac, run_playbook):
    """rustguac lists the caller's own sessions unless an admin asks ?all=true (src/api.rs list_sessions): an
    admin key, which opens no session itself, saw none of the users' sessions."""
    rustguac.add_session(hostname="10.0.0.1", owner="ann@example.com")
    rustguac.add_session(hostname="10.0.0.2", owner="bob@example.com")
    run = run_playbook("""
        - name: sessions
          proxgate.core.rustguac_info:
            gather: [sessions]
    """, env=rg_env(rustguac))
    assert run.rc == 0, run.stdout + run.stderr
    assert sorted(s["hostname"] for s in run.result("sessions")["sessions"]) == ["10.0.0.1", "10.0.0.2"]

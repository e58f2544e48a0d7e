"""rustguac_group_mapping: look up first, PUT by id, never a 409, through real playbook runs."""

from __future__ import annotations

import pytest

from tests.integration import rustguac_fixtures
from tests.integration.rustguac_fixtures import rg_env, writes

pytestmark = pytest.mark.integration

rustguac = rustguac_fixtures.rustguac


def mapping(group, role, state="present"):
    return f"""
        - name: {group}
          proxgate.core.rustguac_group_mapping:
            oidc_group: {group}
            role: {role}
            state: {state}
    """


def statuses(emu):
    return [status for _method, _path, status in emu.requests]


def test_create_check_apply_idempotent(rustguac, run_playbook):
    env = rg_env(rustguac)
    checked = run_playbook(mapping("engineering", "poweruser"), env=env, check=True, diff=True)
    assert checked.result("engineering")["changed"] is True
    assert checked.result("engineering")["mapping"] == {"id": None, "oidc_group": "engineering", "role": "poweruser"}
    assert writes(rustguac) == []
    applied = run_playbook(mapping("engineering", "poweruser"), env=env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    [stored] = rustguac.state()["group_mappings"]
    assert (stored["oidc_group"], stored["role"]) == ("engineering", "poweruser")
    assert applied.result("engineering")["mapping"]["id"] == stored["id"]
    again = run_playbook(mapping("engineering", "poweruser"), env=env)
    assert again.result("engineering")["changed"] is False
    assert writes(rustguac) == [("POST", "/admin/group-mappings")]


def test_existing_group_is_updated_by_id_without_a_409(rustguac, run_playbook):
    rustguac.add_group_mapping("ops", "viewer")
    existing = rustguac.add_group_mapping("engineering", "operator")
    run = run_playbook(mapping("engineering", "admin") + mapping("ops", "viewer"), env=rg_env(rustguac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("engineering")["diff"] == {"before": {"oidc_group": "engineering", "role": "operator"},
                                                 "after": {"oidc_group": "engineering", "role": "admin"}}
    assert run.changed == ["engineering"]
    assert writes(rustguac) == [("PUT", f"/admin/group-mappings/{existing['id']}")]
    assert 409 not in statuses(rustguac)
    roles = {item["oidc_group"]: item["role"] for item in rustguac.state()["group_mappings"]}
    assert roles == {"ops": "viewer", "engineering": "admin"}


def test_absent_and_permissions(rustguac, run_playbook):
    existing = rustguac.add_group_mapping("contractors", "operator")
    operator = rustguac.add_api_key(name="ci-operator", role="operator")
    denied = run_playbook(mapping("contractors", "viewer", "absent"), env=rg_env(rustguac, key=operator))
    assert "GET /admin/group-mappings failed: HTTP 403" in denied.result("contractors")["msg"]
    assert "needs the admin role" in denied.result("contractors")["msg"]
    tasks = """
        - name: gone
          proxgate.core.rustguac_group_mapping:
            oidc_group: contractors
            state: absent
        - name: role missing
          proxgate.core.rustguac_group_mapping:
            oidc_group: x
          ignore_errors: true
    """
    run = run_playbook(tasks, env=rg_env(rustguac))
    assert run.result("gone")["changed"] is True
    assert "state is present but all of the following are missing: role" in run.result("role missing")["msg"]
    assert rustguac.state()["group_mappings"] == []
    again = run_playbook(tasks, env=rg_env(rustguac))
    assert again.changed == []
    assert writes(rustguac) == [("DELETE", f"/admin/group-mappings/{existing['id']}")]


def test_create_and_update_send_the_group_field_the_server_takes(rustguac, run_playbook):
    """rustguac 1.9.7 takes {"group", "role"} (422 for a body without "group") and lists "oidc_group"."""
    existing = rustguac.add_group_mapping("ops", "viewer")
    tasks = mapping("engineering", "operator") + """
        - name: ops
          proxgate.core.rustguac_group_mapping:
            group: ops
            role: admin
    """
    run = run_playbook(tasks, env=rg_env(rustguac))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["engineering", "ops"]
    bodies = [(method, path, body) for method, path, body in rustguac.request_bodies if method != "GET"]
    assert bodies == [("POST", "/api/admin/group-mappings", {"group": "engineering", "role": "operator"}),
                      ("PUT", f"/api/admin/group-mappings/{existing['id']}", {"group": "ops", "role": "admin"})]
    roles = {item["oidc_group"]: item["role"] for item in rustguac.state()["group_mappings"]}
    assert roles == {"ops": "admin", "engineering": "operator"}
    assert 422 not in statuses(rustguac)

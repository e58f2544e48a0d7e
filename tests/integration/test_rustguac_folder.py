"""rustguac_folder through real ansible-playbook runs against the rustguac emulator (HTTPS, its CA)."""

from __future__ import annotations

import pytest

from tests.integration import rustguac_fixtures
from tests.integration.rustguac_fixtures import ADMIN_KEY, everything, rg_env, writes

pytestmark = pytest.mark.integration

rustguac = rustguac_fixtures.rustguac

PRODUCTION = """
- name: production
  proxgate.core.rustguac_folder:
    name: production
    allowed_groups: [ops, devops]
    description: Production servers
"""


def test_check_create_verify_and_idempotent(rustguac, run_playbook):
    env = rg_env(rustguac)
    checked = run_playbook(PRODUCTION, env=env, check=True, diff=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    assert checked.result("production")["changed"] is True
    assert checked.result("production")["diff"]["after"]["allowed_groups"] == ["devops", "ops"]
    assert writes(rustguac) == []
    assert rustguac.state()["folders"] == []

    applied = run_playbook(PRODUCTION, env=env, diff=True)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("production")["changed"] is True
    assert writes(rustguac) == [("POST", "/addressbook/folders")]
    assert rustguac.state()["folders"] == [{"scope": "shared", "name": "production",
                                            "allowed_groups": ["devops", "ops"], "description": "Production servers",
                                            "inherit_from_parent": False}]

    again = run_playbook(PRODUCTION, env=env, diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("production")["changed"] is False
    assert again.result("production")["changed_keys"] == []
    assert writes(rustguac) == [("POST", "/addressbook/folders")], "the second run writes nothing"
    assert ADMIN_KEY not in everything(applied) + everything(again)


def test_update_only_what_differs_and_keep_what_is_not_given(rustguac, run_playbook):
    rustguac.add_folder(name="production", allowed_groups=["ops"], description="keep me")
    tasks = """
        - name: groups
          proxgate.core.rustguac_folder:
            name: production
            allowed_groups: [ops, devops, ops]
    """
    run = run_playbook(tasks, env=rg_env(rustguac, RUSTGUAC_API_KEY_HEADER="x-api-key"), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("groups")
    assert result["changed_keys"] == ["allowed_groups"]
    assert result["diff"] == {"before": {"allowed_groups": ["ops"]}, "after": {"allowed_groups": ["devops", "ops"]}}
    assert writes(rustguac) == [("PUT", "/addressbook/folders/shared/production")]
    [folder] = rustguac.state()["folders"]
    assert folder["allowed_groups"] == ["devops", "ops"] and folder["description"] == "keep me"
    again = run_playbook(tasks, env=rg_env(rustguac))
    assert again.result("groups")["changed"] is False
    assert len(writes(rustguac)) == 1


def test_description_only_keeps_the_groups_and_the_inheritance(rustguac, run_playbook):
    """rustguac 1.9.7 lists folders without their groups and its PUT replaces the whole config, resetting what
    the body leaves out (src/api.rs ab_list_folders, ab_update_folder): the module reads the config route and
    sends the stored groups and inherit_from_parent along with the new description."""
    rustguac.add_folder(name="production", allowed_groups=["ops", "devops"], description="old",
                        inherit_from_parent=True)
    tasks = """
        - name: text
          proxgate.core.rustguac_folder:
            name: production
            description: new
    """
    run = run_playbook(tasks, env=rg_env(rustguac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("text")["changed_keys"] == ["description"]
    assert run.result("text")["folder"]["allowed_groups"] == ["devops", "ops"]
    assert writes(rustguac) == [("PUT", "/addressbook/folders/shared/production")]
    [folder] = rustguac.state()["folders"]
    assert (sorted(folder["allowed_groups"]), folder["description"], folder["inherit_from_parent"]) == (
        ["devops", "ops"], "new", True)


def test_the_same_groups_in_another_order_change_nothing(rustguac, run_playbook):
    """The stored groups (from the folder config) are compared as a set with allowed_groups."""
    rustguac.add_folder(name="production", allowed_groups=["ops", "devops"], description="Prod")
    run = run_playbook("""
        - name: same
          proxgate.core.rustguac_folder:
            name: production
            allowed_groups: [devops, ops, devops]
            description: Prod
    """, env=rg_env(rustguac))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("same")["changed"] is False and run.result("same")["changed_keys"] == []
    assert writes(rustguac) == []


def test_absent_check_then_delete_then_idempotent(rustguac, run_playbook):
    rustguac.add_folder(scope="instance", name="lab")
    rustguac.add_entry(scope="instance", folder="lab", name="box", hostname="10.0.0.9")
    tasks = """
        - name: gone
          proxgate.core.rustguac_folder:
            scope: instance
            name: lab
            state: absent
    """
    checked = run_playbook(tasks, env=rg_env(rustguac), check=True)
    assert checked.result("gone")["changed"] is True and writes(rustguac) == []
    run = run_playbook(tasks, env=rg_env(rustguac))
    assert run.result("gone")["changed"] is True
    # src/api.rs ab_delete_folder answers 200 with the counts of what went with the folder
    assert (run.result("gone")["entries_deleted"], run.result("gone")["subfolders_deleted"]) == (1, 0)
    assert writes(rustguac) == [("DELETE", "/addressbook/folders/instance/lab")]
    assert rustguac.state()["folders"] == [] and rustguac.state()["entries"] == []
    again = run_playbook(tasks, env=rg_env(rustguac))
    assert again.rc == 0 and again.changed == []
    assert len(writes(rustguac)) == 1


@pytest.mark.parametrize("role", ["viewer", "poweruser"])
def test_lower_role_gets_a_clear_403(rustguac, run_playbook, role):
    key = rustguac.add_api_key(name=f"ci-{role}", role=role)
    run = run_playbook(PRODUCTION, env=rg_env(rustguac, key=key))
    assert run.rc != 0
    msg = run.result("production")["msg"]
    assert "HTTP 403" in msg and "needs the admin role" in msg
    assert run.result("production")["status"] == 403
    assert all(status == 403 for _method, _path, status in rustguac.writes())
    assert rustguac.state()["folders"] == []
    assert key not in everything(run)


def test_bad_input_names_the_parameter(rustguac, run_playbook):
    run = run_playbook("""
        - name: slash
          proxgate.core.rustguac_folder:
            name: a/b
          ignore_errors: true
        - name: unknown key
          proxgate.core.rustguac_folder:
            name: a
          environment: {}
    """, env=rg_env(rustguac, key="not-a-key"))
    assert "name must be a top-level folder name, got 'a/b'" in run.result("slash")["msg"]
    assert "HTTP 401" in run.result("unknown key")["msg"]
    assert "api_key" in run.result("unknown key")["msg"]
    assert "not-a-key" not in everything(run)
    assert requests_without_auth(rustguac) == []


def requests_without_auth(emu):
    return [path for _method, path, status in emu.requests if status == 200 and "key=" in path]


def test_untrusted_certificate_is_refused_with_a_hint(rustguac, run_playbook):
    env = rg_env(rustguac)
    del env["RUSTGUAC_CA_PATH"]
    run = run_playbook(PRODUCTION, env=env)
    assert run.rc != 0
    assert "TLS certificate is not trusted" in run.result("production")["msg"]
    assert rustguac.requests == []


def test_dot_names_and_other_names_rustguac_refuses_fail_before_any_call(rustguac, run_playbook):
    """'.' and '..' would be dot segments of the URL (the HTTP client resolves them to another path), and
    rustguac refuses them and any name outside [A-Za-z0-9._-]{1,64} (src/vault.rs validate_name): the module
    fails before the first request, naming the parameter, with state present and absent."""
    cases = [(".", "present"), ("..", "absent"), (".config", "present"), ("a b", "absent")]
    tasks = "".join(f"""
        - name: bad{index}
          proxgate.core.rustguac_folder:
            name: "{name}"
            state: {state}
          ignore_errors: true
    """ for index, (name, state) in enumerate(cases))
    run = run_playbook(tasks, env=rg_env(rustguac))
    assert run.result("bad0")["msg"].startswith("name must be a valid rustguac folder name: '.' is reserved")
    assert run.result("bad1")["msg"].startswith("name must be a valid rustguac folder name: '..' is reserved")
    assert run.result("bad2")["msg"].startswith("name must be a valid rustguac folder name: '.config' is reserved")
    assert run.result("bad3")["msg"] == ("name must be a valid rustguac folder name: 'a b' holds ' ', and rustguac "
                                         "takes only ASCII letters, digits, '.', '_' and '-'")
    assert rustguac.requests == [], "refused before the API is called"

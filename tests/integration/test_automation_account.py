"""playbooks/automation_account.yml on the Proxmox test server: the roles, the user, the privilege-separated
tokens and the ACLs made with the collection's own modules; check mode and the rerun write nothing; the secrets
reach only their 0600 files, never the output. With one privilege taken out of the role, provision.yml as its token
fails at the step that needs it with the node's 403, so the role is not one that allows everything. (That the role
is enough: provision, the inventory and publish run as its tokens in test_gitops.py.)"""

from __future__ import annotations

import stat

import pytest

from tests.integration import automation_fixtures
from tests.integration.automation_fixtures import PLAYBOOK, USER, root_env
from tests.integration.conftest import REPO

pytestmark = pytest.mark.integration

make_automation_account = automation_fixtures.make_automation_account
PROVISION = REPO / "playbooks" / "provision.yml"


def test_check_mode_then_apply_then_nothing_to_do(pve, run_playbook, make_automation_account, writes):
    plan = run_playbook(None, env=root_env(pve), playbook=PLAYBOOK, check=True, diff=True,
                        extra_vars={"automation_secret_dir": "/nonexistent/secrets"})
    assert plan.rc == 0, plan.stdout + plan.stderr
    assert writes() == []
    assert {"The role of the automation token", "The read-only role (inventory, info modules, check-mode plans)",
            "The user, without a password (only its tokens log in)"} == set(plan.changed)
    assert "ansible: to be made; plan: to be made;" in plan.stdout  # the tokens of a user still to be made

    account = make_automation_account()
    assert sorted(account.tokens) == ["ansible", "plan"]
    server = pve.pve
    assert server.access_roles["ProxgateAutomation"] >= {"VM.Allocate", "VM.PowerMgmt"}
    assert "VM.Allocate" not in server.access_roles["ProxgateAudit"]
    assert server.token_privsep[f"{USER}!ansible"] is True and server.token_privsep[f"{USER}!plan"] is True
    assert {key: value for key, value in server.acl_entries.items() if USER in key[2]} == {
        ("/", "user", USER, "ProxgateAutomation"): 1, ("/", "user", USER, "ProxgateAudit"): 1,
        ("/", "token", f"{USER}!ansible", "ProxgateAutomation"): 1, ("/", "token", f"{USER}!plan", "ProxgateAudit"): 1}
    for path in account.secret_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(account.secret_dir.stat().st_mode) == 0o700
    for _token_id, secret in account.tokens.values():
        assert secret not in account.run.stdout + account.run.stderr

    count = len(writes())
    files = {path: path.stat().st_mtime_ns for path in account.secret_dir.iterdir()}
    again = run_playbook(None, env=root_env(pve), playbook=PLAYBOOK,
                         extra_vars={"automation_secret_dir": str(account.secret_dir)})
    assert again.rc == 0 and again.changed == [], again.changed
    assert len(writes()) == count
    assert {path: path.stat().st_mtime_ns for path in account.secret_dir.iterdir()} == files
    assert "exists (its secret was written when it was made)" in again.stdout

    # One privilege less in the role (as an admin would edit it): provision.yml as the token stops at the step that
    # needs it, with the node's 403 naming it.
    server.access_roles["ProxgateAutomation"].discard("VM.Config.Memory")
    refused = run_playbook(None, env=account.env(pve), playbook=PROVISION)
    assert [entry["task"] for entry in refused.failed] == ["Create the VM with cloud-init settings"], refused.stdout
    message = refused.failed[0]["result"]["msg"]
    assert "HTTP 403 Permission check failed (/vms/" in message and ", VM.Config.Memory)" in message, message
    assert [vm for vm in server.vms if vm.name == "demo-web01"] == []


def test_a_misspelled_input_is_refused_before_anything_is_made(pve, run_playbook, writes):
    typo = run_playbook(None, env=root_env(pve), playbook=PLAYBOOK, extra_vars={"automation_tokn": []})
    assert typo.rc != 0 and "automation_tokn: not an input of automation_account.yml" in typo.stdout
    assert writes() == []

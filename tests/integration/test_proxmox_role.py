"""proxmox_role against the test server, in both auth modes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

ROLES = "/api2/json/access/roles"
CREATE = """
    - name: Operator role
      proxgate.core.proxmox_role:
        name: GatewayOperator
        privileges: [VM.PowerMgmt, VM.Audit, VM.Audit]
"""


def status(run, task_name):
    return [r for r in run.results if r["task"] == task_name][-1]["status"]


def test_create_in_check_mode_then_apply_then_nothing_to_do(run_playbook, pve, pve_env, writes):
    check = run_playbook(CREATE, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Operator role")
    assert predicted["changed"] is True
    assert predicted["diff"] == {"before": {}, "after": {"privileges": ["VM.Audit", "VM.PowerMgmt"]}}
    assert writes() == []
    assert "GatewayOperator" not in pve.pve.access_roles

    applied = run_playbook(CREATE, env=pve_env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("Operator role")["role"] == {"roleid": "GatewayOperator", "special": False,
                                                       "privileges": ["VM.Audit", "VM.PowerMgmt"]}
    assert pve.pve.access_roles["GatewayOperator"] == {"VM.Audit", "VM.PowerMgmt"}
    assert writes() == [("POST", ROLES)]

    # The same set in another order: nothing to write.
    again = run_playbook(CREATE.replace("[VM.PowerMgmt, VM.Audit, VM.Audit]", "[VM.Audit, VM.PowerMgmt]"),
                         env=pve_env, diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Operator role")["changed"] is False
    assert writes() == [("POST", ROLES)]


def test_privileges_replaced_then_kept_then_role_removed(run_playbook, pve, pve_env, writes):
    pve.pve.access_roles["GatewayOperator"] = {"VM.Audit", "Sys.Audit"}
    run = run_playbook("""
        - name: New set, check mode
          proxgate.core.proxmox_role:
            name: GatewayOperator
            privileges: [VM.Audit, VM.Console]
          check_mode: true
        - name: New set
          proxgate.core.proxmox_role:
            name: GatewayOperator
            privileges: [VM.Audit, VM.Console]
        - name: Privileges not given
          proxgate.core.proxmox_role:
            roleid: GatewayOperator
        - name: Remove
          proxgate.core.proxmox_role:
            name: GatewayOperator
            state: absent
        - name: Remove again
          proxgate.core.proxmox_role:
            name: GatewayOperator
            state: absent
    """, env=pve_env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("New set, check mode")["diff"] == {"before": {"privileges": ["Sys.Audit", "VM.Audit"]},
                                                         "after": {"privileges": ["VM.Audit", "VM.Console"]}}
    assert run.result("Privileges not given")["role"]["privileges"] == ["VM.Audit", "VM.Console"]
    assert run.result("Remove")["diff"] == {"before": {"privileges": ["VM.Audit", "VM.Console"]}, "after": {}}
    assert run.changed == ["New set, check mode", "New set", "Remove"]
    assert "GatewayOperator" not in pve.pve.access_roles
    assert writes() == [("PUT", ROLES + "/GatewayOperator"), ("DELETE", ROLES + "/GatewayOperator")]


def test_bad_input_is_refused_before_any_write(run_playbook, pve, pve_env, writes):
    cases = {
        "Unknown privilege": ("name: Ops\n    privileges: [VM.Audit, VM.PowerMgnt]",
                              "privileges: this server has no privilege 'VM.PowerMgnt' (did you mean 'VM.PowerMgmt'?)"),
        "Bad id": ("name: 'ops team'", "name must be a Proxmox VE role id"),
        "PVE namespace": ("name: PVEOps", "a new role's id may not start with 'PVE'"),
        "Built-in changed": ("name: PVEAuditor\n    privileges: [VM.Audit]",
                             "'PVEAuditor' is one of PVE's built-in roles, which cannot be changed"),
        "Built-in deleted": ("name: NoAccess\n    state: absent",
                             "'NoAccess' is one of PVE's built-in roles, which cannot be deleted"),
    }
    run = run_playbook("".join(f"""
- name: {name}
  proxgate.core.proxmox_role:
    {options}
  ignore_errors: true
""" for name, (options, _msg) in cases.items()), env=pve_env)
    for name, (_options, expected) in cases.items():
        assert status(run, name) == "failed", name
        assert expected in run.result(name)["msg"], (name, run.result(name)["msg"])
    assert writes() == []

"""proxmox_group against the test server, in both auth modes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

GROUPS = "/api2/json/access/groups"
CREATE = """
    - name: Operators
      proxgate.core.proxmox_group:
        name: gateway-operators
        comment: Power and consoles
"""


def status(run, task_name):
    return [r for r in run.results if r["task"] == task_name][-1]["status"]


def test_create_in_check_mode_then_apply_then_nothing_to_do(run_playbook, pve, pve_env, writes):
    check = run_playbook(CREATE, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Operators")
    assert predicted["changed"] is True
    assert predicted["diff"] == {"before": {}, "after": {"comment": "Power and consoles"}}
    assert predicted["group"] == {"groupid": "gateway-operators", "comment": "Power and consoles", "members": []}
    assert writes() == []
    assert pve.pve.access_groups == {}

    applied = run_playbook(CREATE, env=pve_env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("Operators")["changed"] is True
    assert pve.pve.access_groups["gateway-operators"]["comment"] == "Power and consoles"
    assert writes() == [("POST", GROUPS)]

    again = run_playbook(CREATE, env=pve_env, diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Operators")["changed"] is False
    assert writes() == [("POST", GROUPS)]


def test_comment_changed_cleared_kept_then_group_removed(run_playbook, pve, pve_env, writes):
    pve.pve.access_groups["ops"] = {"comment": "Old", "users": {"bob@pve", "alice@pve"}}
    run = run_playbook("""
        - name: New comment, check mode
          proxgate.core.proxmox_group:
            name: ops
            comment: New
          check_mode: true
        - name: New comment
          proxgate.core.proxmox_group:
            name: ops
            comment: New
        - name: Comment not given
          proxgate.core.proxmox_group:
            groupid: ops
        - name: Comment cleared
          proxgate.core.proxmox_group:
            name: ops
            comment: ""
        - name: Comment cleared again
          proxgate.core.proxmox_group:
            name: ops
            comment: ""
        - name: Remove
          proxgate.core.proxmox_group:
            name: ops
            state: absent
        - name: Remove again
          proxgate.core.proxmox_group:
            name: ops
            state: absent
    """, env=pve_env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("New comment, check mode")["diff"] == {"before": {"comment": "Old"}, "after": {"comment": "New"}}
    assert run.result("Comment not given")["group"] == {"groupid": "ops", "comment": "New",
                                                        "members": ["alice@pve", "bob@pve"]}
    assert run.result("Comment cleared")["diff"] == {"before": {"comment": "New"}, "after": {"comment": None}}
    assert run.result("Remove")["diff"] == {"before": {"comment": None, "members": ["alice@pve", "bob@pve"]},
                                            "after": {}}
    assert run.changed == ["New comment, check mode", "New comment", "Comment cleared", "Remove"]
    assert "ops" not in pve.pve.access_groups
    assert writes() == [("PUT", GROUPS + "/ops"), ("PUT", GROUPS + "/ops"), ("DELETE", GROUPS + "/ops")]


def test_bad_id_is_refused_before_any_call(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
        - name: Bad id
          proxgate.core.proxmox_group:
            name: ops/team
          ignore_errors: true
    """, env=pve_env)
    assert status(run, "Bad id") == "failed"
    assert run.result("Bad id")["msg"] == ("name must be a Proxmox VE group id (letters, digits, '.', '-' and '_'); "
                                           "got 'ops/team'")
    assert writes() == []

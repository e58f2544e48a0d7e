"""proxmox_firewall_group against the test server: create, comment, rename (the rules that apply it follow),
delete with its rules; check mode and reruns write nothing. One playbook run (each run costs seconds of CI)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

GROUPS = "/api2/json/cluster/firewall/groups"


def test_create_rename_and_delete_a_security_group(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
- name: Plan
  check_mode: true
  proxgate.core.proxmox_firewall_group: {name: WebServers, comment: web}
- name: Create
  proxgate.core.proxmox_firewall_group: {name: WebServers, comment: web}
- name: Again
  proxgate.core.proxmox_firewall_group: {name: webservers, comment: web}
- name: Rules
  proxgate.core.proxmox_firewall_rule:
    security_group: webservers
    rules: [{action: ACCEPT, macro: https, comment: https}, {action: ACCEPT, macro: http, comment: http}]
- name: Apply it on guest 101
  proxgate.core.proxmox_firewall_rule:
    vmid: 101
    rules: [{type: group, action: webservers, comment: web}]
- name: Rename
  proxgate.core.proxmox_firewall_group: {name: web, rename_from: webservers, comment: renamed}
- name: Rename again
  proxgate.core.proxmox_firewall_group: {name: web, rename_from: webservers, comment: renamed}
- name: Plan delete
  check_mode: true
  proxgate.core.proxmox_firewall_group: {name: web, state: absent}
- name: Delete
  proxgate.core.proxmox_firewall_group: {name: web, state: absent}
- name: Delete again
  proxgate.core.proxmox_firewall_group: {name: web, state: absent}
- name: Bad name
  proxgate.core.proxmox_firewall_group: {name: a-name-longer-than-18}
  ignore_errors: true
- name: Nothing to rename
  proxgate.core.proxmox_firewall_group: {name: other, rename_from: nosuch}
  ignore_errors: true
""", env=pve_env, diff=True)
    assert run.changed == ["Plan", "Create", "Rules", "Apply it on guest 101", "Rename", "Plan delete", "Delete"]
    assert run.result("Create")["group"] == {"name": "webservers", "comment": "web", "rules": 0}
    assert run.result("Rename")["diff"] == {"before": {"name": "webservers", "comment": "web"},
                                            "after": {"name": "web", "comment": "renamed"}}
    assert run.result("Rename")["group"] == {"name": "web", "comment": "renamed", "rules": 2}
    assert run.result("Plan delete")["diff"]["before"]["rules"] == 2
    assert run.result("Bad name")["msg"].startswith("name must be a security group name: 2 to 18 letters")
    assert run.result("Nothing to rename")["msg"] == (
        "rename_from: there is no security group 'nosuch' to rename, and no 'other'")
    cluster = pve.pve.firewall_config("cluster")
    assert cluster["groups"] == {}
    # The node renamed the group in the rule that applies it; deleting the group left that rule.
    assert [(rule["type"], rule["action"]) for rule in pve.pve.firewall_config("vm", "pve1", 101)["rules"]] == [
        ("group", "web")]
    group_writes = [write for write in writes() if write[1].startswith(GROUPS)]
    assert group_writes == [("POST", GROUPS), ("POST", f"{GROUPS}/webservers"), ("POST", f"{GROUPS}/webservers"),
                            ("POST", GROUPS), ("DELETE", f"{GROUPS}/web/1"), ("DELETE", f"{GROUPS}/web/0"),
                            ("DELETE", f"{GROUPS}/web")]

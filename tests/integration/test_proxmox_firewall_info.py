"""proxmox_firewall_info against the test server: each level read in the forms the firewall modules compare,
what a level does not have returned empty, nothing written. One playbook run (each run costs seconds of CI)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_each_level_read_as_the_firewall_modules_compare_it(run_playbook, pve, pve_env, writes):
    server = pve.pve
    guest = server.firewall_config("vm", "pve2", 102)
    guest["options"] = {"enable": 1, "policy_in": "DROP"}
    guest["rules"] += [{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "3389", "enable": 1,
                        "source": "+gw", "comment": " rdp "}, {"type": "in", "action": "DROP", "enable": 0}]
    guest["ipset"]["gw"] = [{"cidr": "192.0.2.11"}, {"cidr": "192.0.2.10", "comment": "guacd"}]
    guest["aliases"]["gateway"] = {"name": "gateway", "cidr": "192.0.2.10"}
    cluster = server.firewall_config("cluster")
    cluster["options"] = {"enable": 1}
    run = run_playbook("""
- name: Guest
  proxgate.core.proxmox_firewall_info:
    vmid: 102
- name: Rules only
  proxgate.core.proxmox_firewall_info:
    vmid: 102
    gather: [rules]
- name: Node
  proxgate.core.proxmox_firewall_info:
    node: pve1
- name: Make a group
  proxgate.core.proxmox_firewall_rule:
    security_group: WebServers
    rules: [{action: ACCEPT, macro: https, comment: https}]
- name: Cluster
  proxgate.core.proxmox_firewall_info:
- name: Group
  proxgate.core.proxmox_firewall_info:
    security_group: WebServers
- name: No such group
  proxgate.core.proxmox_firewall_info:
    security_group: nosuch
  ignore_errors: true
""", env=pve_env)
    assert run.result("Guest")["level"] == {"kind": "guest", "vmid": 102, "node": "pve2", "type": "qemu"}
    assert run.result("Guest")["options"] == {"enable": 1, "policy_in": "DROP"}
    assert run.result("Guest")["rules"] == [
        {"pos": 0, "type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "3389", "source": "+gw", "enable": 1,
         "comment": "rdp"},
        {"pos": 1, "type": "in", "action": "DROP", "enable": 0}]
    assert run.result("Guest")["ipsets"] == [{"name": "gw", "comment": None, "entries": [
        {"cidr": "192.0.2.10", "nomatch": False, "comment": "guacd"},
        {"cidr": "192.0.2.11", "nomatch": False, "comment": None}]}]
    assert run.result("Guest")["aliases"] == [{"name": "gateway", "cidr": "192.0.2.10", "comment": None}]
    assert run.result("Guest")["groups"] == []  # a guest has none
    assert run.result("Rules only")["options"] == {} and len(run.result("Rules only")["rules"]) == 2
    assert run.result("Node")["level"] == {"kind": "node", "node": "pve1"} and run.result("Node")["ipsets"] == []
    assert run.result("Cluster")["groups"] == [{"group": "webservers", "comment": None}]
    assert int(run.result("Cluster")["options"]["enable"]) == 1
    assert [rule["macro"] for rule in run.result("Group")["rules"]] == ["HTTPS"]
    assert run.result("No such group")["msg"] == ("security_group: the cluster has no security group 'nosuch' "
                                                  "(groups: webservers)")
    assert all(not result["result"].get("changed") for result in run.results if result["task"] != "Make a group")
    assert [method for method, _path in writes()] == ["POST", "POST"]  # the group and its rule, nothing else

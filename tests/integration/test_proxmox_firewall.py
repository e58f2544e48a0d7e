"""proxmox_firewall_ipset, _rule, _alias and _options against the test server, with the API token (the default
auth mode), several checks per playbook run (each run costs seconds of CI time)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

GUEST = "/api2/json/nodes/pve1/qemu/101/firewall"
NODE = "/api2/json/nodes/pve1/firewall"
CLUSTER = "/api2/json/cluster/firewall"

GATEWAY = """
      proxgate.core.proxmox_firewall_ipset:
        vmid: 101
        name: Proxgate-GW
        comment: guacd addresses
        entries:
          - {cidr: 192.0.2.10/32, comment: guacd 1}
          - {cidr: "2001:DB8::10"}
        exclusive: true
"""
RULES = """
      proxgate.core.proxmox_firewall_rule:
        vmid: 101
        rules:
          - {action: accept, macro: ssh, source: +Proxgate-GW, comment: "proxgate: ssh"}
          - {action: ACCEPT, proto: tcp, dport: "3389, 5900:5901", source: +proxgate-gw, comment: "proxgate: rdp"}
"""
OPTIONS = """
      proxgate.core.proxmox_firewall_options:
        vmid: 101
        options: {enable: true, policy_in: drop, ipfilter: false}
"""


def task(name, body, check=False):
    return f"    - name: {name}\n" + ("      check_mode: true\n" if check else "") + body


def test_a_guest_opened_to_the_gateway_only_plan_apply_and_nothing_to_do(run_playbook, pve, pve_env, writes):
    fw = pve.pve.firewall_config("vm", "pve1", 101)
    fw["rules"].append({"type": "in", "action": "DROP", "enable": 1, "comment": "not ours"})
    tasks = "".join(task(f"{step} {what}", body, check=step == "Plan")
                    for step in ("Plan", "Apply", "Again")
                    for what, body in (("set", GATEWAY), ("rules", RULES), ("options", OPTIONS)))
    run = run_playbook(tasks, env=pve_env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Plan set", "Plan rules", "Plan options", "Apply set", "Apply rules", "Apply options"]
    plan = run.result("Plan rules")
    assert [rule["comment"] for rule in plan["diff"]["after"]["rules"]] == [
        "proxgate: ssh", "proxgate: rdp", "not ours"]
    assert run.result("Plan set")["diff"]["after"]["entries"] == [
        {"cidr": "192.0.2.10", "nomatch": False, "comment": "guacd 1"},
        {"cidr": "2001:db8::10", "nomatch": False, "comment": None}]
    assert run.result("Plan rules")["warnings"] == [
        f"rules[{index}].source: there is no IPSet 'proxgate-gw' in the firewall of guest 101 or the cluster (in "
        "check mode: an earlier task may make it)" for index in (0, 1)]
    assert "warnings" not in run.result("Apply rules")
    assert run.result("Apply set")["ipset"]["name"] == "proxgate-gw"
    assert run.result("Apply rules")["rules"][0] == {
        "pos": 0, "type": "in", "action": "ACCEPT", "macro": "SSH", "source": "+proxgate-gw", "enable": 1,
        "comment": "proxgate: ssh"}
    assert run.result("Apply options")["diff"] == {"before": {"enable": None, "ipfilter": None, "policy_in": None},
                                                   "after": {"enable": 1, "ipfilter": 0, "policy_in": "DROP"}}
    for name in ("Again set", "Again rules", "Again options"):
        assert run.result(name)["changed"] is False
    assert run.result("Again rules")["requests"] == []
    # Check mode and the rerun wrote nothing: these are the apply run's writes, exactly.
    assert writes() == [("POST", f"{GUEST}/ipset"), ("POST", f"{GUEST}/ipset/proxgate-gw"),
                        ("POST", f"{GUEST}/ipset/proxgate-gw"),
                        ("POST", f"{GUEST}/rules"), ("POST", f"{GUEST}/rules"), ("PUT", f"{GUEST}/options")]
    assert [(rule["comment"], rule.get("macro"), rule.get("dport")) for rule in fw["rules"]] == [
        ("proxgate: ssh", "SSH", None), ("proxgate: rdp", None, "3389,5900:5901"), ("not ours", None, None)]
    assert fw["options"] == {"enable": 1, "policy_in": "DROP", "ipfilter": 0}


def rule(comment, **fields):
    return dict({"type": "in", "action": "ACCEPT", "enable": 1, "comment": comment}, **fields)


def test_reorder_update_exclusive_absent_position_alias_and_bad_input(run_playbook, pve, pve_env, writes):
    node = pve.pve.firewall_config("host", "pve1")
    node["rules"] += [rule("a"), rule("b", proto="tcp", dport="22"), rule("not ours"), rule("c")]
    pve.pve.firewall_config("vm", "pve2", 102)["rules"] += [rule("twice"), rule("twice")]
    cluster = pve.pve.firewall_config("cluster")
    cluster["ipset"]["admins"] = [{"cidr": "10.0.0.0/24", "comment": "old"}, {"cidr": "198.51.100.0/24"}]
    run = run_playbook("""
        - name: Reorder
          proxgate.core.proxmox_firewall_rule:
            node: pve1
            rules:
              - {action: ACCEPT, comment: c}
              - {action: ACCEPT, comment: a}
              - {action: ACCEPT, proto: tcp, dport: "2222", comment: b}
        - name: Exclusive
          proxgate.core.proxmox_firewall_rule:
            node: pve1
            exclusive: true
            rules:
              - {action: ACCEPT, comment: c}
              - {action: ACCEPT, comment: a}
              - {action: ACCEPT, proto: tcp, dport: "2222", comment: b}
        - name: Absent
          proxgate.core.proxmox_firewall_rule:
            node: pve1
            state: absent
            rules: [{comment: a}, {comment: gone already}]
        - name: By position
          proxgate.core.proxmox_firewall_rule:
            match: position
            rules:
              - {type: forward, action: DROP, log: info}
              - {type: out, action: ACCEPT, dest: 10.0.0.0/8}
        - name: Security group
          proxgate.core.proxmox_firewall_rule:
            security_group: WebServers
            rules: [{action: ACCEPT, macro: https, comment: https}]
        - name: Alias
          proxgate.core.proxmox_firewall_alias:
            vmid: 200
            name: Gateway
            cidr: 192.0.2.10/32
            comment: guacd
        - name: Alias again
          proxgate.core.proxmox_firewall_alias:
            vmid: 200
            name: gateway
            cidr: 192.0.2.10
        - name: Set changed
          proxgate.core.proxmox_firewall_ipset:
            name: admins
            comment: admin networks
            entries: [{cidr: 10.0.0.9/24, nomatch: true}, {cidr: 203.0.113.7}]
            exclusive: true
        - name: Bad set
          proxgate.core.proxmox_firewall_ipset:
            node: pve1
            name: 9lives
            entries: [{cidr: 10.0.0.300}, {cidr: 0.0.0.0/0}, {cidr: 192.0.2.1, comment: "two\\nlines"}]
          ignore_errors: true
        - name: Bad rules
          proxgate.core.proxmox_firewall_rule:
            vmid: 102
            rules:
              - {action: ACCEPT, macro: sshh, comment: twice}
              - {action: ALLOW, proto: tcp, dport: "22,99999", iface: eth0, source: +nothere, comment: other}
          ignore_errors: true
    """, env=pve_env, diff=True)
    assert run.changed == ["Reorder", "Exclusive", "Absent", "By position", "Security group", "Alias", "Set changed"]
    assert [entry["task"] for entry in run.failed] == ["Bad set", "Bad rules"]
    assert run.result("Reorder")["requests"] == [
        {"method": "PUT", "pos": 1, "data": {"dport": "2222"}}, {"method": "PUT", "pos": 3, "data": {"moveto": 0}}]
    assert run.result("Exclusive")["requests"] == [{"method": "DELETE", "pos": 3, "data": {}}]
    assert [entry["comment"] for entry in run.result("Absent")["diff"]["after"]["rules"]] == ["c", "b"]
    assert run.result("By position")["rules"][0] == {"pos": 0, "type": "forward", "action": "DROP", "log": "info",
                                                     "enable": 1}
    assert run.result("Alias again")["alias"] == {"name": "Gateway", "cidr": "192.0.2.10", "comment": "guacd"}
    assert [(item["comment"], item.get("dport")) for item in node["rules"]] == [("c", None), ("b", "2222")]
    assert run.result("Bad set")["msg"] == (
        "node: a node's firewall has no IPSets (only rules and options); give vmid for a guest's IPSet, or neither "
        "for the cluster's; name must be a firewall IPSet name: 2 to 64 letters, digits, '-' and '_', starting with "
        "a letter; got '9lives'; entries[0].cidr must be an IP address, a network (CIDR) or an alias name; got "
        "'10.0.0.300'; entries[1].cidr: a zero prefix is not allowed in IPSet entries; got '0.0.0.0/0'; "
        "entries[2].comment must be one line: the firewall file ends the comment at a line break; got 'two\\nlines'")
    assert run.result("Bad rules")["msg"] == (
        "rules[1].action must be one of ACCEPT, DROP, REJECT; got 'ALLOW'; rules[1].dport: '99999' is no port "
        "(0-65535); rules[1].iface must be one of the guest's network devices, net0 to net31; got 'eth0'; "
        "rules[0].macro: this server has no macro 'sshh'; rules[1].source: there is no IPSet 'nothere' in the "
        "firewall of guest 102 or the cluster; 2 rules have the comment 'twice' (positions 0, 1); make the comments "
        "unique, or use match: position")
    container = "/api2/json/nodes/pve1/lxc/200/firewall"
    # The server logs paths decoded: the module sent each cidr as one segment (10.0.0.0%2F24).
    assert writes() == [("PUT", f"{NODE}/rules/1"), ("PUT", f"{NODE}/rules/3"), ("DELETE", f"{NODE}/rules/3"),
                        ("DELETE", f"{NODE}/rules/1"), ("POST", f"{CLUSTER}/rules"), ("POST", f"{CLUSTER}/rules"),
                        ("POST", f"{CLUSTER}/groups"), ("POST", f"{CLUSTER}/groups/webservers"),
                        ("POST", f"{container}/aliases"), ("POST", f"{CLUSTER}/ipset"),
                        ("DELETE", f"{CLUSTER}/ipset/admins/198.51.100.0/24"),
                        ("PUT", f"{CLUSTER}/ipset/admins/10.0.0.0/24"), ("POST", f"{CLUSTER}/ipset/admins")]
    assert cluster["groups"]["webservers"][0]["macro"] == "HTTPS"
    assert cluster["ipset_comments"]["admins"] == "admin networks"
    assert cluster["ipset"]["admins"] == [
        {"cidr": "203.0.113.7"}, {"cidr": "10.0.0.0/24", "nomatch": 1, "comment": None}]

"""The rule plan of proxmox_firewall_gateway (module_utils/proxmox/gateway.py): which rules are its own, and that
every other rule stays where it is."""

from __future__ import annotations

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.firewall import Level
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.gateway import (
    gateway_rules,
    owned_rule,
    plan_gateway_rules,
)

LEVEL = Level("guest", "/nodes/pve1/qemu/101/firewall", "guest 101", "qemu")
IPSET = "proxgate-gateway"


def ours(protocol, port):
    return {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": str(port), "source": f"+{IPSET}",
            "comment": f"proxgate: {protocol} from the gateway", "enable": 1}


def admin(comment, **fields):
    return dict({"type": "in", "action": "DROP", "enable": 1, "comment": comment}, **fields)


def test_only_a_rule_with_the_ipset_as_source_and_the_mark_is_owned():
    assert owned_rule(ours("ssh", 22), IPSET)
    assert not owned_rule(dict(ours("ssh", 22), comment="metrics from the gateway"), IPSET)
    assert not owned_rule(dict(ours("ssh", 22), source="+other"), IPSET)
    assert not owned_rule(dict(ours("ssh", 22), source="192.0.2.0/24"), IPSET)


def test_a_rule_moved_by_the_admin_is_updated_where_it_is():
    current = [admin("drop a"), ours("ssh", 22), admin("drop b")]
    writes, after = plan_gateway_rules(current, gateway_rules(LEVEL, IPSET, {"ssh": 2222}), IPSET)
    assert writes == [("update", 1, {"dport": "2222"})]
    assert [rule["comment"] for rule in after] == ["drop a", "proxgate: ssh from the gateway", "drop b"]


def test_new_rules_go_on_top_and_a_second_copy_of_an_owned_rule_is_removed():
    current = [admin("drop a"), ours("ssh", 22), ours("ssh", 22), admin("drop b", source=f"+{IPSET}")]
    writes, after = plan_gateway_rules(current, gateway_rules(LEVEL, IPSET, {"ssh": 22, "vnc": 5900}), IPSET)
    assert writes == [("delete", 2, {}), ("create", 0, ours("vnc", 5900))]
    assert [rule["comment"] for rule in after] == [
        "proxgate: vnc from the gateway", "drop a", "proxgate: ssh from the gateway", "drop b"]


def test_closing_deletes_the_owned_rules_from_the_bottom_up():
    current = [ours("ssh", 22), admin("drop a"), ours("rdp", 3389)]
    writes, after = plan_gateway_rules(current, [], IPSET)
    assert writes == [("delete", 2, {}), ("delete", 0, {})]
    assert after == [admin("drop a")]

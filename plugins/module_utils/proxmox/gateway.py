# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gateway-only access (proxmox_firewall_gateway): on each published guest an IPSet holds the gateway's guacd
addresses, and one rule per remote-access port accepts TCP to that port from that IPSet only.

What the module owns is found by name and mark, so nothing else of a guest's firewall is taken for its own:
the IPSet by its name, a rule by its source (that IPSet) together with a comment that starts with MARK. A rule an
admin writes with the same source but another comment is the admin's.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.firewall import desired_rule, plan_rules

MARK = "proxgate: "
IPSET_COMMENT = "proxgate: the gateway's guacd addresses"


def rule_comment(protocol: str) -> str:
    """The comment that marks the rule of one protocol as the module's (one rule per protocol and guest)."""
    return f"{MARK}{protocol} from the gateway"


def owned_rule(rule: dict[str, Any], ipset: str) -> bool:
    """Whether a rule (a firewall.rule_view) is one the module wrote for this IPSet."""
    return rule.get("source") == f"+{ipset}" and str(rule.get("comment") or "").startswith(MARK)


def gateway_rules(level: Any, ipset: str, ports: dict[str, int]) -> list[dict[str, Any]]:
    """The rules a guest gets for {protocol: port}, in the form a node keeps them (firewall.desired_rule)."""
    rules = []
    for protocol, port in sorted(ports.items()):
        rule, _problems = desired_rule({"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": str(port),
                                        "source": f"+{ipset}", "comment": rule_comment(protocol)}, level)
        rules.append(rule)
    return rules


def plan_gateway_rules(current: list[dict[str, Any]], wanted: list[dict[str, Any]], ipset: str):
    """(writes as firewall.plan_rules gives them, the rules after them) that make the module's rules of a guest
    exactly `wanted`: its rules found by comment are updated in place, where they are; missing ones are put at
    the top (where Rules.pm create_rule puts a new rule), so that no rule of the admin's shadows them; its rules
    no longer wanted are deleted. Every other rule stays as it is, where it is."""
    wanted_by_id: dict[Any, dict[str, Any]] = {}
    matched: dict[Any, int] = {}
    for number, rule in enumerate(wanted):
        index = next((index for index, have in enumerate(current) if index not in matched.values()
                      and owned_rule(have, ipset) and have.get("comment") == rule["comment"]), None)
        ident: Any = ("new", number) if index is None else index
        if index is not None:
            matched[ident] = index
        wanted_by_id[ident] = rule
    final = [ident for ident in wanted_by_id if ident not in matched]
    final += [index for index, rule in enumerate(current) if index in matched.values() or not owned_rule(rule, ipset)]
    writes = plan_rules(current, wanted_by_id, matched, final)
    after = [wanted_by_id.get(ident) or current[ident] for ident in final]
    return writes, after


def port_label(rule: dict[str, Any]) -> str:
    """How a gateway rule is shown in the result: ``ssh 22``."""
    protocol = str(rule.get("comment", ""))[len(MARK):].split(" ", maxsplit=1)[0]
    return f"{protocol} {rule.get('dport')}"

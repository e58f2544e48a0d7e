#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_firewall_rule
short_description: Manage Proxmox VE firewall rules, in order, at cluster, node or guest level
version_added: 0.1.0
description:
  - Makes sure the rules given exist, in the order given (O(state=present)), or do not exist (O(state=absent)),
    in the firewall of the cluster, a node or a guest (VM or container).
  - Each rule is identified by its O(rules[].comment) (O(match=comment), the default), which must be unique among
    the rules given and on the level; or by its position (O(match=position)), the first rule given being the one
    at O(position).
  - Only what differs is written. A rule that exists is updated in place with exactly the fields that differ
    (fields it has and the task does not give are removed); a missing one is created; rules out of order are
    moved (the fewest moves), as the web interface moves them. Rules not given stay where they are, unless
    O(exclusive=true), which removes them.
  - Everything is checked, and every write planned, before the first one is made, the IPSets (V(+name)) and aliases
    the rules refer to included; in check mode a missing one is a warning, since an earlier task of the same run
    may be the one that would make it.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the level's whole rule list before and after, in order.
options:
  vmid:
    description:
      - The guest whose rules these are. Its node and type (VM or container) are looked up.
      - None of O(vmid), O(node) and O(security_group) means the cluster's (datacenter) rules.
    type: int
  node:
    description:
      - The node whose (host) rules these are.
    type: str
  security_group:
    description:
      - The cluster security group whose rules these are (guests and nodes apply it with a rule of
        O(rules[].type=group)). It is created when missing (O(state=present)); it is never deleted here.
      - A node reads security group names in lower case, so the name is used in lower case.
    type: str
  rules:
    description:
      - The rules, in the order they are to have. With O(state=absent) only their O(rules[].comment) counts.
    type: list
    elements: dict
    required: true
    suboptions:
      type:
        description:
          - The direction, or V(group) to apply a security group. V(forward) is for the cluster, nodes and security
            groups.
        type: str
        choices: [in, out, forward, group]
        default: in
      action:
        description:
          - V(ACCEPT), V(DROP) or V(REJECT); for O(rules[].type=group) the security group's name.
        type: str
      macro:
        description:
          - A predefined macro such as V(SSH), V(RDP) or V(HTTPS) (compared without case).
        type: str
      iface:
        description:
          - The interface; for a guest one of its network devices, V(net0) to V(net31).
        type: str
      source:
        description:
          - Source addresses, networks, a range V(a-b), an alias, or an IPSet as V(+name).
        type: str
      dest:
        description:
          - Destination, in the forms of O(rules[].source).
        type: str
      proto:
        description:
          - The IP protocol, by name (V(tcp), V(udp), V(icmp)) or number.
        type: str
      dport:
        description:
          - Destination ports, ranges (V(8000:8080)) and service names, separated by commas; needs O(rules[].proto).
        type: str
      sport:
        description:
          - Source ports, in the form of O(rules[].dport).
        type: str
      log:
        description:
          - The log level of packets the rule matches; V(nolog) is the same as not given.
        type: str
        choices: [emerg, alert, crit, err, warning, notice, info, debug, nolog]
      icmp_type:
        description:
          - The ICMP type, with O(rules[].proto) V(icmp) or V(icmpv6).
        type: str
      enable:
        description:
          - Whether the rule is in force. A node makes a rule created without this disabled; this module sends it.
        type: bool
        default: true
      comment:
        description:
          - The rule's comment, one line; what identifies it with O(match=comment).
        type: str
  match:
    description:
      - How a rule given is found among the level's rules. V(comment) by its comment; V(position) by its place,
        the first rule given being the one at O(position) (rules given past the end are added).
    type: str
    choices: [comment, position]
    default: comment
  position:
    description:
      - With O(match=comment), where the rules given go as a block (0 is the top; a number past the end puts them
        last). Not given, a block that has rules on the level stays where its first one is, and a new one goes to
        the top, as the node puts a new rule.
      - With O(match=position), the position of the first rule given (0 when not given).
    type: int
  exclusive:
    description:
      - Remove the level's rules that are not given, so that it has exactly O(rules).
    type: bool
    default: false
  state:
    description:
      - V(present) creates, updates and orders the rules; V(absent) removes the rules with the comments given
        (O(match=comment) only).
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: the cluster's rules need C(Sys.Modify) on C(/), a node's C(Sys.Modify) on C(/nodes/<node>), a
    guest's C(VM.Config.Network) on C(/vms/<vmid>) (the C(Audit) privileges to read them); finding a guest reads
    C(/cluster/resources)."
  - Security groups need C(Sys.Modify) on C(/) to create and change.
  - Rules are only kept; the firewall applies them when it is enabled at the cluster and on the level
    (M(proxgate.core.proxmox_firewall_options)).
seealso:
  - module: proxgate.core.proxmox_firewall_options
  - module: proxgate.core.proxmox_firewall_ipset
  - module: proxgate.core.proxmox_firewall_alias
"""

EXAMPLES = r"""
- name: SSH and RDP only from the gateway's IPSet, on top of guest 101's rules (auth from PROXMOX_* variables)
  proxgate.core.proxmox_firewall_rule:
    vmid: 101
    rules:
      - action: ACCEPT
        macro: SSH
        source: +proxgate-gateway
        comment: "proxgate: ssh from the gateway"
      - action: ACCEPT
        proto: tcp
        dport: "3389"
        source: +proxgate-gateway
        comment: "proxgate: rdp from the gateway"
    position: 0

- name: Exactly these host rules on pve1, in this order
  proxgate.core.proxmox_firewall_rule:
    node: pve1
    exclusive: true
    rules:
      - {action: ACCEPT, proto: tcp, dport: "8006", source: +management, comment: web interface}
      - {action: ACCEPT, macro: SSH, source: +management, comment: ssh}
      - {action: DROP, comment: everything else, log: info}

- name: Remove one rule by its comment
  proxgate.core.proxmox_firewall_rule:
    vmid: 101
    state: absent
    rules:
      - comment: "proxgate: rdp from the gateway"
"""

RETURN = r"""
rules:
  description: The level's rules after the task (what they would be, in check mode), in order.
  returned: always
  type: list
  elements: dict
  sample:
    - {pos: 0, type: in, action: ACCEPT, macro: SSH, source: +proxgate-gateway, enable: 1,
       comment: "proxgate: ssh from the gateway"}
requests:
  description: The writes made (would be made, in check mode), in order, each the method, position and data.
  returned: always
  type: list
  elements: dict
  sample: [{method: POST, pos: null, data: {type: in, action: ACCEPT, macro: SSH, enable: 1}}]
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import unknown_names
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.firewall import (
    RULE_FIELDS,
    desired_rule,
    find_level,
    group_level,
    group_name_problem,
    level_argument_spec,
    missing_references,
    plan_rules,
    reference,
    rule_views,
    rule_write,
    rules_by_comment,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule

RULE_OPTIONS = dict(
    type=dict(type="str", choices=["in", "out", "forward", "group"], default="in"),
    action=dict(type="str"),
    enable=dict(type="bool", default=True),
    comment=dict(type="str"),
    log=dict(type="str", choices=["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog"]),
    **{key: dict(type="str") for key in RULE_FIELDS if key not in ("type", "action", "enable", "comment", "log")},
)


class ProxmoxFirewallRule(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        rules=dict(type="list", elements="dict", required=True, options=RULE_OPTIONS),
        match=dict(type="str", choices=["comment", "position"], default="comment"),
        position=dict(type="int"),
        exclusive=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        security_group=dict(type="str"),
        **level_argument_spec(),
    )
    module_kwargs = dict(mutually_exclusive=[("node", "vmid", "security_group")])
    object_key = "rules"

    def validate(self):
        params, problems = self.params, []
        if params["position"] is not None and params["position"] < 0:
            problems.append(f"position must be 0 (the top) or more; got {params['position']}")
        if params["match"] == "comment":
            comments = [(rule["comment"] or "").strip() for rule in params["rules"]]
            blank = [str(index) for index, comment in enumerate(comments) if not comment]
            if blank:
                problems.append(f"rules[{', '.join(blank)}]: a rule needs a comment to be found by (match: comment);"
                                f" give one, or use match: position")
            twice = sorted({comment for comment in comments if comment and comments.count(comment) > 1})
            if twice:
                problems.append(f"rules: the comments {', '.join(map(repr, twice))} are given more than once; a "
                                f"comment identifies one rule")
        elif params["state"] == "absent":
            problems.append("state absent removes rules by their comments: use match: comment")
        if params["state"] == "absent" and params["exclusive"]:
            problems.append("exclusive goes with state present (it keeps only the rules given)")
        if params["security_group"] is not None:
            problems.append(group_name_problem("security_group", params["security_group"]))
            params["security_group"] = params["security_group"].lower()
        problems = [problem for problem in problems if problem]
        if problems:
            self.fail("; ".join(problems))

    def run(self):
        self.writes = 0
        params = self.params
        group, requests = params["security_group"], []
        if group is None:
            level, problem = find_level(self.client, node=params["node"], vmid=params["vmid"])
            if problem:
                self.fail(problem)
            listing = self.client.get(level.at("rules"))
        else:
            level = group_level(group)
            known = {entry.get("group") for entry in self.client.get("/cluster/firewall/groups") or []}
            listing = self.client.get(level.at()) if group in known else []
        current = rule_views(listing)
        wanted, matched, final = self.plan(level, current)
        writes = plan_rules(current, wanted, matched, final)
        if group is not None and group not in known and params["state"] == "present":
            requests.append({"method": "POST", "pos": None, "data": {"group": group}})
            self.write(self.client.post, "/cluster/firewall/groups", group=group)
        for kind, pos, data in writes:  # all planned: now written, in order
            method, path = rule_write(level, kind, pos)
            requests.append({"method": method, "pos": None if kind == "create" else pos, "data": data})
            self.write(self.client.request, method, path, data=data or None)
        after = [dict(wanted.get(ident) or current[ident], pos=pos) for pos, ident in enumerate(final)]
        before = [dict(rule, pos=pos) for pos, rule in enumerate(current)]
        self.extra = {"requests": requests}
        return self.result(after, {"rules": before}, {"rules": after})

    def unless_planned(self, problems):
        """Missing IPSets and aliases fail the task before any write; in check mode they are warnings, as an earlier
        task of the same check run may be the one that would make them."""
        if self.check_mode:
            for problem in problems:
                self.warn(f"{problem} (in check mode: an earlier task may make it)")
            return []
        return problems

    def name_macros(self, rules):
        """Give each rule's macro the spelling the node keeps (verify_rule: its preferred name, found without
        case); the messages for macros the node does not have."""
        if not any("macro" in rule for rule in rules):
            return []
        known = {entry["macro"].lower(): entry["macro"] for entry in self.client.get("/cluster/firewall/macros") or []}
        problems = []
        for index, rule in enumerate(rules):
            if "macro" in rule:
                if rule["macro"].lower() in known:
                    rule["macro"] = known[rule["macro"].lower()]
                else:
                    problems.append(unknown_names(f"rules[{index}].macro", [rule["macro"]], known.values(), "macro"))
        return problems

    def plan(self, level, current):
        """(wanted {id: rule}, matched {id: index in current}, final [ids]) for the task: see plan_rules."""
        params, problems = self.params, []
        if params["state"] == "absent":
            comments = [(rule["comment"] or "").strip() for rule in params["rules"]]
            found, problems = rules_by_comment(current, comments)
            if problems:
                self.fail("; ".join(problems))
            return {}, {}, [index for index in range(len(current)) if index not in found.values()]
        rules = []
        for index, spec in enumerate(params["rules"]):
            rule, rule_problems = desired_rule(dict(spec, pos=index), level)
            rules.append(rule)
            problems += rule_problems
        problems += self.name_macros(rules)
        refs = [(f"rules[{index}].{key}", reference(rule[key])) for index, rule in enumerate(rules)
                for key in ("source", "dest") if reference(rule.get(key))]
        problems += self.unless_planned(missing_references(self.client, level, refs))
        if params["match"] == "comment":
            found, found_problems = rules_by_comment(current, [rule.get("comment") for rule in rules])
            problems += found_problems
        if problems:
            self.fail("; ".join(problems))
        wanted, matched, ids = {}, {}, []
        for index, rule in enumerate(rules):
            if params["match"] == "comment":
                there = found.get(rule["comment"])
            else:
                there = (params["position"] or 0) + index
                there = there if there < len(current) else None
            ident = there if there is not None else ("new", index)
            wanted[ident] = rule
            ids.append(ident)
            if there is not None:
                matched[ident] = there
        others = [] if params["exclusive"] else [index for index in range(len(current))
                                                 if index not in matched.values()]
        if params["match"] == "position":
            staying = [index for index in range(len(current)) if index in matched or index in others]
            return wanted, matched, staying + [ident for ident in ids if ident not in matched]
        if params["position"] is not None:
            at = min(params["position"], len(others))
        elif matched:
            at = len([index for index in others if index < min(matched.values())])
        else:
            at = 0
        return wanted, matched, others[:at] + ids + others[at:]


def main():
    ProxmoxFirewallRule().execute()


if __name__ == "__main__":
    main()

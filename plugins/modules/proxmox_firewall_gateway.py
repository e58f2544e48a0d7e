#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_firewall_gateway
short_description: Open each published guest's remote-access port to the gateway only
version_added: 0.1.0
description:
  - "Gateway-only access for the guests a gateway publishes. On each guest of O(guests), an IPSet the module owns
    (O(ipset)) holds exactly the gateway's addresses (O(sources)), and one rule per protocol accepts TCP to the
    guest's port from that IPSet only, with the comment C(proxgate: <protocol> from the gateway)."
  - With O(prune=true), every other guest of the cluster that holds the IPSet is closed again, its rules deleted
    and then the IPSet, except the guests of O(keep). A guest removed from the gateway so loses its opening on the
    next run.
  - "Nothing else of a guest's firewall is touched. The module's rules are found by their source (the IPSet) and
    a comment that starts with C(proxgate:); an admin's rules, IPSets and options stay as they are, where they
    are. A new rule goes to the top of the guest's rules (where the node puts it), so no earlier C(DROP) of the
    admin's shadows it; a rule the admin has moved stays where it was moved."
  - All guests are read first, then written, O(concurrency) guests at a time; a guest's writes are made in order
    (the IPSet before the rules that name it when opening, the rules before the IPSet when closing). A second run
    writes nothing.
  - The rules only act where the firewall is on. The result lists in RV(unenforced) the guests whose firewall
    would not enforce them (the cluster's or the guest's firewall off, C(policy_in) C(ACCEPT), or a network device
    without C(firewall=1), whose traffic pve-firewall does not filter), and the task warns once about them. It does
    not change them; see M(proxgate.core.proxmox_firewall_options) and the C(firewall) flag of C(proxmox_vm)'s
    networks.
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
      - The diff shows, for each guest written, the IPSet's addresses and the open ports before and after.
options:
  guests:
    description:
      - The published guests and their ports. A guest's name never chooses anything; guests are found by vmid in
        C(/cluster/resources), which gives their node and type.
      - A guest listed that is not in the cluster (deleted since the inventory was read) is skipped and listed in
        RV(missing).
    type: list
    elements: dict
    default: []
    suboptions:
      vmid:
        description: The guest's vmid.
        type: int
        required: true
      protocol:
        description:
          - The protocol the port serves (V(ssh), V(rdp), V(vnc), ...), which names the rule. One port per protocol
            and guest; lower-case letters, digits and C(-), up to 32.
        type: str
        required: true
      port:
        description: The TCP port the gateway connects to, 1 to 65535.
        type: int
        required: true
  sources:
    description:
      - The gateway's addresses (its guacd hosts), IP addresses or networks. The IPSet holds exactly these.
      - Required when O(guests) is not empty.
    type: list
    elements: str
    default: []
  ipset:
    description:
      - The name of the guest-level IPSet the module owns; 2 to 64 letters, digits, C(-) and C(_), starting with a
        letter, used in lower case (a node reads IPSet names back in lower case).
    type: str
    default: proxgate-gateway
  prune:
    description:
      - Close every other guest of the cluster that holds O(ipset). Guests the API token cannot see, and guests
        whose node does not answer, are not changed and are listed in RV(unchecked).
    type: bool
    default: false
  keep:
    description:
      - Guests that O(prune) leaves as they are (their data was not read in full, say).
    type: list
    elements: int
    default: []
  concurrency:
    description: How many guests are read or written at a time.
    type: int
    default: 8
notes:
  - "Privileges: C(VM.Config.Network) on each guest changed (C(VM.Audit) to read its firewall and config); finding
    the guests reads C(/cluster/resources). Reading the cluster's firewall options (for RV(unenforced)) needs
    C(Sys.Audit) on C(/); without it, that check is left out."
  - The proxgate.core.guacamole_sync role calls this module with C(guacamole_sync_firewall=true).
seealso:
  - module: proxgate.core.proxmox_firewall_rule
  - module: proxgate.core.proxmox_firewall_ipset
  - module: proxgate.core.proxmox_firewall_options
"""

EXAMPLES = r"""
- name: SSH on 101 and RDP on 102 from the gateway's guacd only; close every other guest it had opened
  proxgate.core.proxmox_firewall_gateway:
    guests:
      - {vmid: 101, protocol: ssh, port: 22}
      - {vmid: 102, protocol: rdp, port: 3389}
    sources: [192.0.2.10, 2001:db8::10]
    prune: true
"""

RETURN = r"""
changes:
  description: The guests written (to be written, in check mode), each with what was done, in order.
  returned: always
  type: list
  elements: dict
  sample: [{vmid: 101, node: pve1, actions: ["create IPSet proxgate-gateway", "add 192.0.2.10", "open ssh 22"]}]
opened:
  description: The published guests found in the cluster, by vmid.
  returned: always
  type: list
  elements: int
  sample: [101, 102]
closed:
  description: The guests closed by O(prune) on this run, by vmid.
  returned: always
  type: list
  elements: int
  sample: [105]
missing:
  description: The guests of O(guests) that are not in the cluster, by vmid.
  returned: always
  type: list
  elements: int
  sample: []
unchecked:
  description: The guests O(prune) could not read (node down, no permission), with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{vmid: 107, reason: "its node pve3 does not answer"}]
unenforced:
  description: The published guests whose firewall does not enforce the rules, with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{vmid: 102, reason: "the guest's firewall is off (options: enable 0)"}]
"""

import re

from ansible_collections.proxgate.core.plugins.module_utils.common.parallel import each_at_once
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxError,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.firewall import (
    clean_cidr,
    entry_data,
    guest_level,
    ipset_entries,
    name_problem,
    plan_entries,
    rule_views,
    rule_write,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.gateway import (
    IPSET_COMMENT,
    gateway_rules,
    owned_rule,
    plan_gateway_rules,
    port_label,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import cluster_guests, guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import NET_KEY, parse_props

PROTOCOL = re.compile(r"[a-z][a-z0-9-]{0,31}")
SHOWN_IN_WARNING = 10


class GuestPlan:
    """One guest's reads and the writes that follow from them: (method, path, data, what the result says)."""

    def __init__(self, guest, level):
        self.guest, self.level = guest, level
        self.vmid = int(guest["vmid"])
        self.writes = []
        self.before = {"ipset": None, "ports": []}
        self.after = {"ipset": None, "ports": []}
        self.unenforced = None

    def add(self, method, path, data, action):
        self.writes.append((method, path, data, action))


class ProxmoxFirewallGateway(ProxmoxModule):
    argument_spec = dict(
        guests=dict(type="list", elements="dict", default=[], options=dict(
            vmid=dict(type="int", required=True),
            protocol=dict(type="str", required=True),
            port=dict(type="int", required=True))),
        sources=dict(type="list", elements="str", default=[]),
        ipset=dict(type="str", default="proxgate-gateway"),
        prune=dict(type="bool", default=False),
        keep=dict(type="list", elements="int", default=[]),
        concurrency=dict(type="int", default=8),
    )

    def validate(self):
        params = self.params
        problems = [name_problem("ipset", params["ipset"])]
        if params["concurrency"] < 1:
            problems.append(f"concurrency must be 1 or more; got {params['concurrency']}")
        self.sources = {}
        for index, text in enumerate(params["sources"]):
            cidr = clean_cidr(text)
            if cidr is None or cidr.endswith("/0"):
                problems.append(f"sources[{index}] must be an IP address or a network (CIDR), not all addresses; "
                                f"got {text!r}")
            else:
                self.sources[cidr] = {"cidr": cidr, "nomatch": False, "comment": None}
        if params["guests"] and not self.sources:
            problems.append("sources: the gateway's addresses are needed to open the guests to them (got none)")
        self.ports = {}
        for index, entry in enumerate(params["guests"]):
            where, protocol = f"guests[{index}]", entry["protocol"]
            if not PROTOCOL.fullmatch(protocol or ""):
                problems.append(f"{where}.protocol must be lower-case letters, digits and '-' (up to 32), starting "
                                f"with a letter; got {protocol!r}")
                continue
            if not 1 <= entry["port"] <= 65535:
                problems.append(f"{where}.port must be a TCP port, 1 to 65535; got {entry['port']}")
                continue
            ports = self.ports.setdefault(entry["vmid"], {})
            if ports.get(protocol, entry["port"]) != entry["port"]:
                problems.append(f"{where}: guest {entry['vmid']} has {protocol} on port {ports[protocol]} already; "
                                f"one port per protocol and guest")
            ports[protocol] = entry["port"]
        problems = [problem for problem in problems if problem]
        if problems:
            self.fail("; ".join(problems))
        params["ipset"] = params["ipset"].lower()

    def run(self):
        params = self.params
        guests = {int(guest["vmid"]): guest for guest in cluster_guests(self.client, None)
                  if guest.get("type") in ("qemu", "lxc")}
        published = [guests[vmid] for vmid in sorted(self.ports) if vmid in guests]
        others = [guest for vmid, guest in sorted(guests.items())
                  if params["prune"] and vmid not in self.ports and vmid not in params["keep"]]
        self.unchecked = []
        workers = params["concurrency"]
        plans = each_at_once(self.open_plan, published, workers)
        plans += [plan for plan in each_at_once(self.close_plan, others, workers) if plan is not None]
        written = [plan for plan in plans if plan.writes]
        if not self.check_mode:
            each_at_once(self.apply, written, workers)
        unenforced = [{"vmid": plan.vmid, "reason": plan.unenforced} for plan in plans[:len(published)]
                      if plan.unenforced]
        self.cluster_unenforced(published, unenforced)
        result = dict(
            changed=bool(written),
            changes=[{"vmid": plan.vmid, "node": plan.guest.get("node"),
                      "actions": [write[3] for write in plan.writes]} for plan in written],
            opened=[int(guest["vmid"]) for guest in published],
            closed=[plan.vmid for plan in plans[len(published):] if plan.writes],
            missing=sorted(vmid for vmid in self.ports if vmid not in guests),
            unchecked=sorted(self.unchecked, key=lambda item: item["vmid"]),
            unenforced=unenforced,
        )
        if self.diff_mode:
            result["diff"] = {"before": {str(plan.vmid): plan.before for plan in written},
                              "after": {str(plan.vmid): plan.after for plan in written}}
        return result

    # ------------------------------------------------------------------ reads

    def owned_state(self, level):
        """(the IPSet's entries or None when it is not there, the rules in order as rule views)."""
        ipset = self.params["ipset"]
        names = {str(entry.get("name", "")).lower() for entry in self.client.get(level.at("ipset")) or []}
        entries = ipset_entries(self.client, level, ipset) if ipset in names else None
        return entries, rule_views(self.client.get(level.at("rules")))

    def open_plan(self, guest):
        ipset, level = self.params["ipset"], guest_level(guest)
        plan = GuestPlan(guest, level)
        entries, rules = self.owned_state(level)
        plan.before = self.shown(entries, rules)
        if entries is None:
            plan.add("POST", level.at("ipset"), {"name": ipset, "comment": IPSET_COMMENT}, f"create IPSet {ipset}")
            entries = []
        adds, updates, removes = plan_entries(entries, self.sources, exclusive=True)
        for entry in removes:
            plan.add("DELETE", level.at("ipset", ipset, entry["cidr"]), {}, f"remove {entry['cidr']}")
        for entry in updates:
            plan.add("PUT", level.at("ipset", ipset, entry["cidr"]), entry_data(entry), f"update {entry['cidr']}")
        for entry in adds:
            plan.add("POST", level.at("ipset", ipset), dict(entry_data(entry), cidr=entry["cidr"]),
                     f"add {entry['cidr']}")
        wanted = gateway_rules(level, ipset, self.ports[plan.vmid])
        self.plan_rules(plan, rules, wanted)
        plan.after = {"ipset": sorted(self.sources), "ports": sorted(port_label(rule) for rule in wanted)}
        plan.unenforced = self.guest_unenforced(guest, level)
        return plan

    def close_plan(self, guest):
        """The writes that close a guest that holds the IPSet and is not published; None when it holds none."""
        vmid, node = int(guest["vmid"]), guest.get("node")
        if guest.get("status") == "unknown":
            self.unchecked.append({"vmid": vmid, "reason": f"its node {node} does not answer"})
            return None
        level = guest_level(guest)
        try:
            entries, rules = self.owned_state(level)
        except ProxmoxError as exc:
            self.unchecked.append({"vmid": vmid, "reason": str(exc)})
            return None
        if entries is None:
            return None
        plan = GuestPlan(guest, level)
        plan.before = self.shown(entries, rules)
        self.plan_rules(plan, rules, [])
        plan.add("DELETE", level.at("ipset", self.params["ipset"]), {"force": 1},
                 f"delete IPSet {self.params['ipset']}")
        return plan

    def plan_rules(self, plan, rules, wanted):
        writes, _after = plan_gateway_rules(rules, wanted, self.params["ipset"])
        shown = {"delete": "close", "update": "update", "create": "open", "move": "move"}
        for kind, pos, data in writes:
            rule = data if kind == "create" else rules[pos] if kind == "delete" else dict(rules[pos], **data)
            plan.add(*rule_write(plan.level, kind, pos), data, f"{shown[kind]} {port_label(rule)}")

    def shown(self, entries, rules):
        """A guest's IPSet addresses (None: no IPSet) and the ports of the module's rules, for the diff."""
        ipset = None if entries is None else sorted(entry["cidr"] for entry in entries)
        ports = sorted(port_label(rule) for rule in rules if owned_rule(rule, self.params["ipset"]))
        return {"ipset": ipset, "ports": ports}

    def guest_unenforced(self, guest, level):
        """Why the guest's firewall would not enforce the rules, or None: its firewall off, an input policy that
        accepts everything (Firewall.pm: DROP when not set), or a network device without firewall=1, which
        pve-firewall leaves unfiltered."""
        options = self.client.get(level.at("options")) or {}
        if not int(options.get("enable") or 0):
            return "the guest's firewall is off (options: enable 0)"
        if str(options.get("policy_in") or "DROP").upper() == "ACCEPT":
            return "the guest's input policy accepts everything (options: policy_in ACCEPT)"
        config = self.client.get(guest_path(guest) + "/config") or {}
        unfiltered = sorted((key for key, value in config.items()
                             if NET_KEY.fullmatch(key) and parse_props(value).get("firewall") != "1"),
                            key=lambda key: int(key[3:]))
        if unfiltered:
            return f"{', '.join(unfiltered)} without firewall=1: traffic through it is not filtered"
        return None

    def cluster_unenforced(self, published, unenforced):
        """Add the cluster's firewall being off to the guests' reasons (when the token may read it), and warn
        once about the guests whose rules have no effect."""
        if published:
            try:
                options = self.client.get("/cluster/firewall/options") or {}
            except ProxmoxApiError as exc:
                if exc.status != 403:
                    raise
                options = None
            if options is not None and not int(options.get("enable") or 0):
                reason = "the cluster's firewall is off (datacenter options: enable 0)"
                found = {item["vmid"] for item in unenforced}
                unenforced.extend({"vmid": int(guest["vmid"]), "reason": reason} for guest in published
                                  if int(guest["vmid"]) not in found)
                unenforced.sort(key=lambda item: item["vmid"])
        if unenforced:
            shown = ", ".join(f"{item['vmid']} ({item['reason']})" for item in unenforced[:SHOWN_IN_WARNING])
            more = f" and {len(unenforced) - SHOWN_IN_WARNING} more" if len(unenforced) > SHOWN_IN_WARNING else ""
            self.warn(f"The gateway-only rules are not enforced on {len(unenforced)} guest(s): {shown}{more}. "
                      f"See the result's unenforced list.")

    # ----------------------------------------------------------------- writes

    def apply(self, plan):
        send = {"POST": self.client.post, "PUT": self.client.put, "DELETE": self.client.delete}
        for method, path, data, _action in plan.writes:
            send[method](path, **data)


def main():
    ProxmoxFirewallGateway().execute()


if __name__ == "__main__":
    main()

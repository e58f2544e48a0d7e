# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the firewall modules (proxmox_firewall_rule, proxmox_firewall_alias, proxmox_firewall_ipset,
proxmox_firewall_options) share: the level a task works on (cluster, node, guest), the checks of names,
addresses, ports and comments before any call, the forms a node reads its firewall files back in, and the plan
of rule writes (updates in place, creates, deletes and ``moveto`` moves).

The rules are pve-firewall's, read in its source (src/PVE/Firewall.pm unless said otherwise):
- IPSet and alias names are ``$ipset_name_pattern`` / ``$ip_alias_pattern`` ([A-Za-z][A-Za-z0-9-_]+, 64 at most:
  the ``ipset-name`` and ``pve-fw-alias`` standard options). generic_fw_config_parser reads an ``[IPSET name]``
  section's name in lower case, so a name with capitals is listed in lower case and no longer found by its
  own spelling: names are lower-cased here before they are used.
- A file line ends at its comment: parse_fw_rule, parse_alias and the IPSet reader take the text after '#',
  stripped of surrounding white space, and the $format_* writers drop a blank one. A comment is stripped here;
  one with a line break, which would end the line in the .fw file, is refused.
- parse_fw_rule reads a rule back with ``enable`` 1 or 0; Rules.pm create_rule stores a rule without
  ``enable`` as disabled, so it is always sent. verify_rule names a macro by its preferred spelling, so macros are
  compared without case.
- IPSet entries: IPSet.pm create_ip cleans the host bits (clean_cidr) and parse_ip_or_cidr drops /32 and /128;
  a zero prefix is refused. The entries are a set: create_ip refuses a cidr already there.
- Ports (parse_port_name_number_or_range): numbers up to 65535, ranges ``a:b`` with a <= b, service names;
  at most 15 numbers (a range counts 2).
- Levels: Cluster.pm, Host.pm and VM.pm; a security group's rules Groups.pm. A node has rules and options only;
  aliases and IPSets live at the cluster and on guests. Security group names are read back in lower case
  (generic_fw_config_parser), like IPSet names. Rule types (verify_rule's $rule_env_direction_lookup): ``in``,
  ``out`` and ``group`` on the cluster, nodes and guests, ``forward`` on the cluster and nodes, ``in``, ``out`` and
  ``forward`` in a security group, which takes no ``iface``; a guest's ``iface`` is one of its ``net\\d+``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import find_guest, guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import NET_KEY

NAME = re.compile(r"[A-Za-z][A-Za-z0-9\-_]+")
NAME_LONGEST = 64
GROUP_LONGEST = 18  # $max_group_name_length
ADDRESS_REF = re.compile(r"(?:\+(?:dc/|guest/|sdn/)?|(?:dc/|guest/)?)[A-Za-z][A-Za-z0-9\-_]+")
ALIAS_REF = re.compile(r"(?:dc/|guest/)?[A-Za-z][A-Za-z0-9\-_]+")
SERVICE = re.compile(r"[A-Za-z][A-Za-z0-9\-_.+]*")
IFACE = re.compile(r"[a-zA-Z][a-zA-Z0-9_.\-]{1,19}")
PROTO = re.compile(r"[a-z0-9][a-z0-9\-_.]*")
LOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog")
ACTIONS = ("ACCEPT", "DROP", "REJECT")
RULE_TYPES = ("in", "out", "forward", "group")
# The method of each kind of write plan_rules plans (a move is an update with moveto).
RULE_METHODS = {"delete": "DELETE", "update": "PUT", "create": "POST", "move": "PUT"}
# Option name -> API name of a rule's fields, in the order a node writes them (Firewall.pm $format_rules).
RULE_FIELDS = {"type": "type", "action": "action", "macro": "macro", "iface": "iface", "source": "source",
               "dest": "dest", "proto": "proto", "dport": "dport", "sport": "sport", "log": "log",
               "icmp_type": "icmp-type", "enable": "enable", "comment": "comment"}
PORT_PROTOCOLS = ("tcp", "udp", "udplite", "dccp", "sctp", "6", "17", "136", "33", "132")

# The firewall options each level takes (Firewall.pm $cluster_option_properties, $host_option_properties,
# $vm_option_properties), with how a value is written: bool (0/1), int, or one of a list of words.
_POLICY = ("ACCEPT", "REJECT", "DROP")
# An option's kind: bool, int or str, or the tuple of the words it takes.
OPTIONS: dict[str, dict[str, type | tuple[str, ...]]] = {
    "cluster": {"enable": bool, "ebtables": bool, "policy_in": _POLICY, "policy_out": _POLICY,
                "policy_forward": ("ACCEPT", "DROP"), "log_ratelimit": str},
    "node": {"enable": bool, "log_level_in": LOG_LEVELS, "log_level_out": LOG_LEVELS,
             "log_level_forward": LOG_LEVELS, "tcp_flags_log_level": LOG_LEVELS, "smurf_log_level": LOG_LEVELS,
             "nosmurfs": bool, "tcpflags": bool, "nf_conntrack_max": int,
             "nf_conntrack_tcp_timeout_established": int, "nf_conntrack_tcp_timeout_syn_recv": int, "ndp": bool,
             "nf_conntrack_allow_invalid": bool, "nf_conntrack_helpers": str, "protection_synflood": bool,
             "protection_synflood_rate": int, "protection_synflood_burst": int, "log_nf_conntrack": bool,
             "nftables": bool},
    "guest": {"enable": bool, "macfilter": bool, "dhcp": bool, "ndp": bool, "radv": bool, "ipfilter": bool,
              "policy_in": _POLICY, "policy_out": _POLICY, "log_level_in": LOG_LEVELS,
              "log_level_out": LOG_LEVELS},
}


def level_argument_spec():
    """The options that choose the level a firewall module works on."""
    return dict(node=dict(type="str"), vmid=dict(type="int"))


LEVEL_MUTUALLY_EXCLUSIVE = [("node", "vmid")]


class Level:
    """Where a task's firewall is: ``kind`` (cluster, node or guest), its API path, and how to name it."""

    def __init__(self, kind, path, label, guest_type=None, node=None):
        self.kind, self.path, self.label, self.guest_type, self.node = kind, path, label, guest_type, node

    def at(self, *segments):
        """The API path of something below this level's firewall, each segment quoted."""
        return self.path + api_path(*segments) if segments else self.path

    @property
    def rules_path(self):
        """Where the level's rules are: .../rules, or a security group's own path (Groups.pm)."""
        return self.at() if self.kind == "group" else self.at("rules")


def guest_level(guest):
    """The Level of a guest's firewall, from its /cluster/resources entry (node and type)."""
    return Level("guest", guest_path(guest) + "/firewall", f"guest {guest['vmid']}", guest.get("type"),
                 guest.get("node"))


def find_level(client, node=None, vmid=None):
    """The Level of the node or guest named, or the cluster's; (None, message) when the guest or node is not
    there. A guest is found by vmid in /cluster/resources, which gives its node and type: a guest's name, which
    its owner sets, never chooses a path."""
    if vmid is not None:
        guest = find_guest(client, vmid=vmid, kind=None)
        if guest is None:
            return None, f"vmid: there is no guest {vmid} in the cluster"
        kind = guest.get("type")
        if kind not in ("qemu", "lxc"):
            return None, f"vmid: guest {vmid} is of type {kind!r}, not a VM or container"
        return guest_level(guest), None
    if node is not None:
        nodes = [entry.get("node") for entry in client.get("/nodes") or []]
        if node not in nodes:
            return None, f"node: there is no node {node!r} in the cluster (nodes: {', '.join(sorted(nodes))})"
        return Level("node", api_path("nodes", node, "firewall"), f"node {node}", node=node), None
    return Level("cluster", api_path("cluster", "firewall"), "the cluster"), None


def group_level(name):
    """The Level of a cluster security group's rules (Groups.pm: /cluster/firewall/groups/{group})."""
    return Level("group", api_path("cluster", "firewall", "groups", name), f"security group {name}")


def group_name_problem(option, value):
    """The message for a security group name a node refuses (the pve-security-group-name standard option), or
    None."""
    return name_problem(option, value, "security group", GROUP_LONGEST)


# ---------------------------------------------------------------- checks

def name_problem(option, value, what="IPSet", longest=NAME_LONGEST):
    """The message for an IPSet, alias or security group name a node refuses, or None."""
    if NAME.fullmatch(value or "") and len(value) <= longest:
        return None
    kind = what if what == "security group" else f"firewall {what}"
    return (f"{option} must be a {kind} name: 2 to {longest} letters, digits, '-' and '_', starting with a letter; "
            f"got {value!r}")


def comment_problem(option, value):
    """The message for a comment that would break a line of the firewall file, or None."""
    if value is not None and ("\n" in value or "\r" in value):
        return f"{option} must be one line: the firewall file ends the comment at a line break; got {value!r}"
    return None


def clean_comment(value):
    """A comment as a node reads it back: stripped, None for none or a blank one."""
    return (value or "").strip() or None


def clean_cidr(text):
    """An IP address or network as an IPSet or an alias keeps it, or None when it is neither: host bits
    cleared, /32 and /128 dropped, IPv6 compressed (clean_cidr, parse_ip_or_cidr)."""
    text = (text or "").strip()
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            single = network.prefixlen == network.max_prefixlen
            return str(network.network_address) if single else str(network)
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def entry_cidr_problem(option, text):
    """The message for an IPSet entry that is neither an address, a network nor an alias reference; or None."""
    if ALIAS_REF.fullmatch(text or "") and len(text) <= NAME_LONGEST:
        return None
    cidr = clean_cidr(text)
    if cidr is None:
        return f"{option} must be an IP address, a network (CIDR) or an alias name; got {text!r}"
    if cidr.endswith("/0"):
        return f"{option}: a zero prefix is not allowed in IPSet entries; got {text!r}"
    return None


def entry_key(text):
    """The form an IPSet entry's cidr is compared (and sent) in: an alias as written, an address cleaned."""
    return text if ALIAS_REF.fullmatch(text) else clean_cidr(text)


def address_problem(option, text):
    """The message for a rule's source or dest a node refuses (parse_address_list), or None: an IPSet (+name), an
    alias, or a list of addresses and networks of one IP version, or one range a-b."""
    if ADDRESS_REF.fullmatch(text):
        return None if len(text) <= NAME_LONGEST + 1 else f"{option}: the name {text!r} is too long"
    elements = text.split(",")
    versions = set()
    for element in elements:
        parts = element.split("-")
        if len(parts) > 2 or (len(parts) == 2 and len(elements) > 1):
            return f"{option}: a range a-b stands alone, not in a list; got {text!r}"
        for part in parts:
            try:
                found = ipaddress.ip_network(part, strict=False) if "/" in part and len(parts) == 1 else \
                    ipaddress.ip_address(part)
            except ValueError:
                return (f"{option} must be an IPSet (+name), an alias, addresses or networks separated by commas, or "
                        f"a range a-b; {part!r} is none of them")
            versions.add(found.version)
    if len(versions) > 1:
        return f"{option}: IPv4 and IPv6 addresses are mixed in {text!r}"
    return None


def ports_problem(option, text):
    """The message for a dport or sport list a node refuses (parse_port_name_number_or_range), or None."""
    count = 0
    for item in text.split(","):
        found = re.fullmatch(r"(\d+):(\d+)", item)
        if found:
            first, last = int(found.group(1)), int(found.group(2))
            if first > 65535 or last > 65535 or first > last:
                return f"{option}: {item!r} is no port range (first:last, each 0-65535, first not above last)"
            count += 2
        elif item.isdigit():
            if int(item) > 65535:
                return f"{option}: {item!r} is no port (0-65535)"
            count += 1
        elif not SERVICE.fullmatch(item):
            return (f"{option} must be ports, ranges (80:85) and service names separated by commas; "
                    f"{item!r} is none of them")
    if count > 15:
        return f"{option}: at most 15 ports in a list (a range counts as two); got {text!r}"
    return None


def clean_ports(value):
    """A port list as given in YAML (22, '22, 80') as the text a node keeps: no spaces."""
    return None if value is None else ",".join(part.strip() for part in str(value).split(","))


# ------------------------------------------------------------ references

def reference(value):
    """(kind, scope, name) of an IPSet (+name) or alias reference in a rule's source or dest, an IPSet entry's
    cidr; None for addresses. An alias name is looked up without case (Firewall.pm resolve_alias: lc)."""
    found = re.fullmatch(r"(\+)?(dc/|guest/|sdn/)?([A-Za-z][A-Za-z0-9\-_]+)", value or "")
    if not found:
        return None
    if found.group(1):
        return "ipset", found.group(2) or "", found.group(3).lower()
    return ("alias", found.group(2) or "", found.group(3).lower()) if found.group(2) != "sdn/" else None


def missing_references(client, level, refs):
    """The messages for refs ([(option, (kind, scope, name))]) that name no IPSet or alias the node would find:
    on the level and the cluster for a rule (Firewall.pm verify_rule looks in both), on the level for guest/, the
    cluster for dc/ (resolve_alias). IPSets of the SDN (sdn/) are not checked. One GET per list needed."""
    lists = {}

    def names(kind, where):
        if (kind, where) not in lists:
            path = api_path("cluster", "firewall") if where == "cluster" else level.path
            key = "ipset" if kind == "ipset" else "aliases"
            lists[(kind, where)] = {str(entry.get("name", "")).lower() for entry in client.get(path + "/" + key) or []}
        return lists[(kind, where)]

    problems = []
    for option, (kind, scope, name) in refs:
        if scope == "sdn/":
            continue
        if scope == "dc/" or level.kind in ("cluster", "node", "group"):
            places = ["cluster"]
        else:
            places = ["level"] if scope == "guest/" else ["level", "cluster"]
        if not any(name in names(kind, where) for where in places):
            what = "IPSet" if kind == "ipset" else "alias"
            shown = " or ".join("the cluster" if where == "cluster" else level.label for where in places)
            problems.append(f"{option}: there is no {what} {name!r} in the firewall of {shown}")
    return problems


# ----------------------------------------------------------------- rules

def desired_rule(spec, level, option="rules"):
    """(the rule as a node would keep it: API field -> value, [problems]) for one rule's options."""
    problems, rule, where = [], {}, f"{option}[{spec.get('pos', 0)}]"
    kind = (spec.get("type") or "in").lower()
    if kind not in RULE_TYPES:
        problems.append(f"{where}.type must be one of {', '.join(RULE_TYPES)}; got {spec.get('type')!r}")
    elif kind == "forward" and level.kind == "guest":
        problems.append(f"{where}.type forward is for the cluster and nodes; a guest's rules are in, out or group")
    elif kind == "group" and level.kind == "group":
        problems.append(f"{where}.type group: a security group's rules are in, out or forward, not another group")
    rule["type"] = kind
    action = (spec.get("action") or "").strip()
    if kind == "group":
        if not (NAME.fullmatch(action) and len(action) <= GROUP_LONGEST):
            problems.append(f"{where}.action must name a security group (2 to {GROUP_LONGEST} letters, digits, "
                            f"'-' and '_') for a rule of type group; got {action!r}")
        action = action.lower()  # security group names are read back in lower case
    else:
        action = action.upper()
        if action not in ACTIONS or (kind == "forward" and action == "REJECT"):
            allowed = ("ACCEPT", "DROP") if kind == "forward" else ACTIONS
            problems.append(f"{where}.action must be one of {', '.join(allowed)}; got {spec.get('action')!r}")
    rule["action"] = action
    for key in ("macro", "iface", "source", "dest", "proto", "log", "icmp_type"):
        value = spec.get(key)
        if value not in (None, ""):
            rule[RULE_FIELDS[key]] = str(value).strip()
    if rule.get("log") == "nolog":
        del rule["log"]  # what no log level means
    for key in ("dport", "sport"):
        value = clean_ports(spec.get(key))
        if value:
            rule[key] = value
            problem = ports_problem(f"{where}.{key}", value)
            if problem:
                problems.append(problem)
            if not rule.get("proto"):
                problems.append(f"{where}.{key} needs proto (such as tcp or udp)")
            elif rule["proto"] not in PORT_PROTOCOLS and not (key == "dport" and rule["proto"] in (
                    "icmp", "icmpv6", "ipv6-icmp", "1", "58")):
                problems.append(f"{where}.{key}: protocol {rule['proto']!r} has no ports")
    for key in ("source", "dest"):
        if key in rule:
            problem = address_problem(f"{where}.{key}", rule[key])
            if problem:
                problems.append(problem)
            elif rule[key].startswith("+"):
                rule[key] = rule[key].lower()  # IPSet names are read back in lower case
    if kind == "group":
        extra = [key for key in ("macro", "source", "dest", "proto", "dport", "sport", "log", "icmp-type")
                 if key in rule]
        if extra:
            problems.append(f"{where}: a rule of type group takes only action (the security group), iface, enable "
                            f"and comment; the group's own rules say the rest (got {', '.join(extra)})")
    if "proto" in rule and not PROTO.fullmatch(rule["proto"]):
        problems.append(f"{where}.proto must be a protocol name or number such as tcp, udp, icmp or 6; "
                        f"got {rule['proto']!r}")
    if "iface" in rule and level.kind == "group":
        problems.append(f"{where}.iface: a security group's rules take no interface (the rule applying the group "
                        f"does)")
    elif "iface" in rule:
        pattern = NET_KEY if level.kind == "guest" else IFACE
        if not pattern.fullmatch(rule["iface"]):
            what = "one of the guest's network devices, net0 to net31" if level.kind == "guest" else \
                "an interface name"
            problems.append(f"{where}.iface must be {what}; got {rule['iface']!r}")
    problem = comment_problem(f"{where}.comment", spec.get("comment"))
    if problem:
        problems.append(problem)
    comment = clean_comment(spec.get("comment"))
    if comment:
        rule["comment"] = comment
    rule["enable"] = 1 if spec.get("enable", True) is not False else 0
    return rule, problems


def rule_view(rule):
    """A rule of GET .../rules as it is compared: its fields (no pos, digest or ipversion), enable 1 or 0, a
    blank comment and log 'nolog' as none."""
    view = {key: rule[key] for key in RULE_FIELDS.values() if rule.get(key) not in (None, "")}
    view["enable"] = 1 if int(rule.get("enable", 1) or 0) else 0
    if view.get("log") == "nolog":
        del view["log"]
    comment = clean_comment(rule.get("comment"))
    if comment:
        view["comment"] = comment
    else:
        view.pop("comment", None)
    return view


def rule_views(listing):
    """The rules of GET .../rules (or a security group's) in their order, as rule_view shows them."""
    return [rule_view(rule) for rule in sorted(listing or [], key=lambda rule: int(rule.get("pos", 0)))]


def rule_write(level, kind, pos):
    """(HTTP method, path) of one write plan_rules planned: a create is POSTed to the level's rules, a delete,
    update or move goes to the rule at pos."""
    method = RULE_METHODS[kind]
    return method, level.rules_path if kind == "create" else level.rules_path + api_path(pos)


def rule_update(current, wanted):
    """PUT .../rules/{pos}'s data that makes current (a rule_view) the wanted rule: the fields that differ, and
    ``delete`` for those current has and wanted has not; {} when they agree (a macro compared without case)."""
    data = {}
    for key, value in wanted.items():
        have = current.get(key)
        if key == "macro" and have is not None and str(have).lower() == str(value).lower():
            continue
        if have != value:
            data[key] = value
    gone = [key for key in current if key not in wanted]
    if gone:
        data["delete"] = ",".join(gone)
    return data


def rules_by_comment(current, comments):
    """{comment: index} of the current rules (rule views) that carry a wanted comment; (.., problem) when a
    comment is on more than one rule, which cannot say which of them is meant."""
    found, problems = {}, []
    for comment in comments:
        where = [index for index, rule in enumerate(current) if rule.get("comment") == comment]
        if len(where) > 1:
            problems.append(f"{len(where)} rules have the comment {comment!r} (positions "
                            f"{', '.join(map(str, where))}); make the comments unique, or use match: position")
        elif where:
            found[comment] = where[0]
    return found, problems


def move_plan(current, target):
    """The moves (pos, moveto) that turn the order current (a list of ids) into target (the same ids), as PVE's
    update_rule moves (Rules.pm: the rule goes in front of the one at ``moveto``, counted before the move;
    ``moveto`` past the end appends). The rules on a longest run already in target order stay; each other is
    moved once, to just after the rule target puts before it."""
    rank = {item: index for index, item in enumerate(target)}
    ranks = [rank[item] for item in current]
    keep = set(longest_increasing(ranks))
    order, moves = list(current), []
    for index, item in enumerate(target):
        if rank[item] in keep:
            continue
        pos = order.index(item)
        moveto = 0 if index == 0 else order.index(target[index - 1]) + 1
        if pos == moveto:
            continue  # already first, or just after the rule target puts before it
        moves.append((pos, moveto))
        order.pop(pos)
        order.insert(moveto - 1 if moveto > pos else moveto, item)
    return moves


def longest_increasing(values):
    """The values of one longest strictly increasing subsequence of values (patience sorting)."""
    tails: list[int] = []
    tail_index: list[int] = []
    parents: list[int | None] = [None] * len(values)
    for index, value in enumerate(values):
        low, high = 0, len(tails)
        while low < high:
            middle = (low + high) // 2
            if tails[middle] < value:
                low = middle + 1
            else:
                high = middle
        parents[index] = tail_index[low - 1] if low else None
        if low == len(tails):
            tails.append(value)
            tail_index.append(index)
        else:
            tails[low], tail_index[low] = value, index
    result = []
    at = tail_index[-1] if tail_index else None
    while at is not None:
        result.append(values[at])
        at = parents[at]
    return result[::-1]


def plan_rules(current, wanted, matched, final):
    """The writes that turn the current rules into final, in the order they are to be made.

    current: the rule views in order; wanted: {id: rule} for the rules of the task (an id is the index of the
    current rule it is, or ('new', n)); matched: {id: index in current} of the wanted ones that exist; final:
    the ids in their final order (current indexes for the rules that stay, wanted ids for the task's). Returns
    [(kind, pos, data)]: ('delete', pos, {}), ('update', pos, data), ('create', 0, data), ('move', pos,
    {'moveto': n})."""
    writes: list[tuple[str, int, dict[str, Any]]] = []
    staying = set(final)
    order = list(range(len(current)))
    for index in sorted(set(order) - staying, reverse=True):
        writes.append(("delete", index, {}))
        order.remove(index)
    for ident, index in sorted(matched.items(), key=lambda item: item[1]):
        data = rule_update(current[index], wanted[ident])
        if data:
            writes.append(("update", order.index(index), data))
    for ident in reversed([ident for ident in final if ident in wanted and ident not in matched]):
        writes.append(("create", 0, dict(wanted[ident])))
        order.insert(0, ident)
    for pos, moveto in move_plan(order, final):
        writes.append(("move", pos, {"moveto": moveto}))
    return writes


# ---------------------------------------------------------------- IPSets

def entry_view(entry):
    """An IPSet entry of GET .../ipset/{name} as it is compared: cidr, nomatch (bool), comment (or None)."""
    return {"cidr": entry["cidr"], "nomatch": bool(int(entry.get("nomatch") or 0)),
            "comment": clean_comment(entry.get("comment"))}


def ipset_entries(client, level, name):
    """The entries of an IPSet of the level, as entry_view shows them, sorted by address."""
    entries = [entry_view(entry) for entry in client.get(level.at("ipset", name)) or []]
    return sorted(entries, key=lambda entry: entry["cidr"])


def plan_entries(current, wanted, exclusive):
    """(to add, to update, to remove): entry dicts (entry_view form) that take the current IPSet entries toward
    wanted, compared as a set by cidr (entry_key), then by nomatch and comment. With exclusive, the current
    entries not wanted are removed; otherwise they stay."""
    have = {entry_key(entry["cidr"]): entry for entry in current}
    adds, updates = [], []
    for key, entry in wanted.items():
        there = have.get(key)
        if there is None:
            adds.append(entry)
        elif (there["nomatch"], there["comment"]) != (entry["nomatch"], entry["comment"]):
            updates.append(dict(entry, cidr=there["cidr"]))
    removes = [entry for key, entry in have.items() if key not in wanted] if exclusive else []
    return adds, updates, removes


def entry_data(entry):
    """POST or PUT data of an IPSet entry: nomatch 1/0, the comment only when there is one (update_ip sets what
    it gets, so no comment sent is none kept)."""
    data = {"nomatch": int(entry["nomatch"])}
    if entry["comment"]:
        data["comment"] = entry["comment"]
    return data


# --------------------------------------------------------------- options

def option_value(level_kind, key, value):
    """(the option's value as sent, problem): bool options as 1/0, int ones as int, words checked."""
    kind = OPTIONS[level_kind].get(key)
    if kind is None:
        known = ", ".join(sorted(OPTIONS[level_kind]))
        return None, f"options: {key!r} is no firewall option of {level_kind} level (known: {known})"
    if isinstance(kind, tuple):
        text = str(value)
        if text.upper() in kind and key.startswith("policy"):
            return text.upper(), None
        if text in kind:
            return text, None
        return None, f"options.{key} must be one of {', '.join(kind)}; got {value!r}"
    if kind is bool:
        text = str(value).lower()
        if text in ("1", "true", "yes", "on"):
            return 1, None
        if text in ("0", "false", "no", "off"):
            return 0, None
        return None, f"options.{key} must be true or false; got {value!r}"
    if kind is int:
        try:
            return int(value), None
        except (TypeError, ValueError):
            return None, f"options.{key} must be a whole number; got {value!r}"
    return str(value), None  # kind is str


def option_equal(key, wanted, have):
    """Whether an option's current value (as GET .../options answers it) is the wanted one. The cluster keeps
    ``enable`` as a time stamp once enabled (Cluster.pm set_options), so any value above 0 is on."""
    if have is None:
        return False
    if key == "enable":
        return bool(int(have)) == bool(wanted)
    return str(have) == str(wanted)

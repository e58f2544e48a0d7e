"""The firewall modules' shared pieces (module_utils/proxmox/firewall.py): the checks of names, addresses, ports and
comments, the forms a node reads values back in, the rule plan with PVE's moveto, and IPSet entries as a set."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.firewall import (
    Level,
    address_problem,
    clean_cidr,
    comment_problem,
    desired_rule,
    entry_cidr_problem,
    entry_view,
    find_level,
    group_level,
    longest_increasing,
    missing_references,
    move_plan,
    name_problem,
    option_equal,
    option_value,
    plan_entries,
    plan_rules,
    ports_problem,
    reference,
    rule_update,
    rule_view,
    rules_by_comment,
)

GUEST = Level("guest", "/nodes/pve1/qemu/101/firewall", "guest 101", "qemu")
NODE = Level("node", "/nodes/pve1/firewall", "node pve1")


def pve_move(rules, pos, moveto):
    """Rules.pm update_rule with moveto: the rule goes in front of the one at moveto, counted before the move."""
    moved = []
    for index, rule in enumerate(rules):
        if index == pos:
            continue
        if index == moveto:
            moved.append(rules[pos])
        moved.append(rule)
    if moveto >= len(rules):
        moved.append(rules[pos])
    return moved


def test_move_plan_reaches_every_order_with_the_fewest_moves():
    for count in range(6):
        for order in itertools.permutations(range(count)):
            state = list(order)
            moves = move_plan(state, list(range(count)))
            for pos, moveto in moves:
                assert pos != moveto
                state = pve_move(state, pos, moveto)
            assert state == list(range(count))
            assert len(moves) == count - len(longest_increasing(list(order)))


def test_one_rule_from_the_top_to_the_bottom_is_one_move():
    assert move_plan(["a", "b", "c", "d"], ["b", "c", "d", "a"]) == [(0, 4)]
    assert move_plan(["b", "c", "d", "a"], ["a", "b", "c", "d"]) == [(3, 0)]
    assert move_plan(["a", "b"], ["a", "b"]) == []


def rule(comment, **fields):
    return dict({"type": "in", "action": "ACCEPT", "enable": 1, "comment": comment}, **fields)


def test_plan_rules_deletes_from_the_bottom_updates_creates_on_top_then_moves():
    current = [rule("a"), rule("old"), rule("b", dport="22", proto="tcp")]
    wanted = {2: rule("b", proto="tcp"), ("new", 1): rule("c"), 0: rule("a")}
    writes = plan_rules(current, wanted, {2: 2, 0: 0}, [2, ("new", 1), 0])
    assert writes == [("delete", 1, {}), ("update", 1, {"delete": "dport"}), ("create", 0, rule("c")),
                      ("move", 2, {"moveto": 0})]
    assert plan_rules(current, {0: rule("a")}, {0: 0}, [0, 1, 2]) == []


def test_rule_update_sends_what_differs_and_deletes_what_is_not_wanted():
    have = rule_view({"type": "in", "action": "ACCEPT", "macro": "SSH", "log": "nolog", "enable": 1, "pos": 3,
                      "digest": "x", "ipversion": 4, "comment": " ssh ", "source": "+gw"})
    assert have == {"type": "in", "action": "ACCEPT", "macro": "SSH", "enable": 1, "comment": "ssh", "source": "+gw"}
    assert rule_update(have, dict(have, macro="ssh")) == {}
    assert rule_update(have, {"type": "in", "action": "DROP", "enable": 0, "comment": "ssh"}) == {
        "action": "DROP", "enable": 0, "delete": "macro,source"}


def test_rules_by_comment_refuses_a_comment_on_two_rules():
    found, problems = rules_by_comment([rule("a"), rule("b"), rule("b")], ["a", "b", "c"])
    assert found == {"a": 0}
    assert problems == ["2 rules have the comment 'b' (positions 1, 2); make the comments unique, or use match: "
                        "position"]


def test_desired_rule_normalizes_and_names_each_problem():
    wanted, problems = desired_rule({"pos": 0, "type": "IN", "action": "accept", "proto": "tcp",
                                     "dport": "3389, 5900:5901", "source": "+Gateway", "log": "nolog",
                                     "comment": " rdp "}, GUEST)
    assert problems == []
    assert wanted == {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "3389,5900:5901",
                      "source": "+gateway", "comment": "rdp", "enable": 1}
    _rule, problems = desired_rule({"pos": 2, "type": "forward", "action": "REJECT", "iface": "eth0",
                                    "dport": "70000", "source": "10.0.0.1,2001:db8::1", "comment": "a\nb"}, GUEST)
    assert problems == [
        "rules[2].type forward is for the cluster and nodes; a guest's rules are in, out or group",
        "rules[2].action must be one of ACCEPT, DROP; got 'REJECT'",
        "rules[2].dport: '70000' is no port (0-65535)", "rules[2].dport needs proto (such as tcp or udp)",
        "rules[2].source: IPv4 and IPv6 addresses are mixed in '10.0.0.1,2001:db8::1'",
        "rules[2].iface must be one of the guest's network devices, net0 to net31; got 'eth0'",
        "rules[2].comment must be one line: the firewall file ends the comment at a line break; got 'a\\nb'"]
    group = group_level("webservers")
    assert group.path == "/cluster/firewall/groups/webservers"
    _rule, problems = desired_rule({"pos": 1, "type": "group", "action": "other", "iface": "eth0"}, group)
    assert problems == ["rules[1].type group: a security group's rules are in, out or forward, not another group",
                        "rules[1].iface: a security group's rules take no interface (the rule applying the group does)"]
    assert desired_rule({"type": "group", "action": "WebServers"}, GUEST)[0]["action"] == "webservers"
    _rule, problems = desired_rule({"pos": 0, "type": "group", "action": "webservers", "source": "+gw"}, NODE)
    assert problems == ["rules[0]: a rule of type group takes only action (the security group), iface, enable and "
                        "comment; the group's own rules say the rest (got source)"]


@pytest.mark.parametrize("text, problem", [
    ("+gateway", None), ("dc/admins", None), ("10.0.0.0/8,192.0.2.1", None), ("10.0.0.1-10.0.0.9", None),
    ("10.0.0.1-10.0.0.9,10.0.1.1", "source: a range a-b stands alone, not in a list; got '10.0.0.1-10.0.0.9,10.0.1.1'"),
    ("10.0.0.300", "source must be an IPSet (+name), an alias, addresses or networks separated by commas, or a "
                   "range a-b; '10.0.0.300' is none of them"),
])
def test_address_problem(text, problem):
    assert address_problem("source", text) == problem


@pytest.mark.parametrize("text, problem", [
    ("22,80:90,ssh", None), ("90:80", "dport: '90:80' is no port range (first:last, each 0-65535, first not above "
                                      "last)"),
    (",".join(str(port) for port in range(16)), "dport: at most 15 ports in a list (a range counts as two); got "
                                                "'0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15'"),
    ("2 2", "dport must be ports, ranges (80:85) and service names separated by commas; '2 2' is none of them"),
])
def test_ports_problem(text, problem):
    assert ports_problem("dport", text) == problem


def test_cidrs_as_a_node_keeps_them_and_ipset_entries_as_a_set():
    assert clean_cidr("192.0.2.10/32") == "192.0.2.10"
    assert clean_cidr("192.0.2.10/24") == "192.0.2.0/24"
    assert clean_cidr("2001:DB8::10/128") == "2001:db8::10"
    assert clean_cidr("gateway") is None
    assert entry_cidr_problem("entries[0].cidr", "0.0.0.0/0") == (
        "entries[0].cidr: a zero prefix is not allowed in IPSet entries; got '0.0.0.0/0'")
    assert entry_cidr_problem("entries[0].cidr", "dc/gateway") is None
    current = [entry_view(entry) for entry in ({"cidr": "192.0.2.10", "comment": "old"},
                                               {"cidr": "198.51.100.0/24", "nomatch": 1})]
    wanted = {"192.0.2.10": {"cidr": "192.0.2.10", "nomatch": False, "comment": "new"},
              "203.0.113.5": {"cidr": "203.0.113.5", "nomatch": False, "comment": None}}
    adds, updates, removes = plan_entries(current, wanted, exclusive=True)
    assert adds == [wanted["203.0.113.5"]] and updates == [wanted["192.0.2.10"]]
    assert removes == [{"cidr": "198.51.100.0/24", "nomatch": True, "comment": None}]
    assert plan_entries(current, wanted, exclusive=False)[2] == []


def test_names_and_comments():
    assert name_problem("name", "gw") is None
    assert name_problem("name", "1gw") == ("name must be a firewall IPSet name: 2 to 64 letters, digits, '-' and "
                                           "'_', starting with a letter; got '1gw'")
    assert comment_problem("comment", "one line") is None


def test_options_per_level():
    assert option_value("guest", "enable", True) == (1, None)
    assert option_value("guest", "policy_in", "drop") == ("DROP", None)
    assert option_value("guest", "nftables", True)[1].startswith("options: 'nftables' is no firewall option of guest")
    assert option_value("node", "log_level_in", "loud")[1] == (
        "options.log_level_in must be one of emerg, alert, crit, err, warning, notice, info, debug, nolog; got 'loud'")
    assert option_equal("enable", 1, 1733500000) and not option_equal("enable", 0, "1")


class Lists:
    """A client whose GETs answer firewall lists by path; it counts them."""

    def __init__(self, answers):
        self.answers, self.paths = answers, []

    def get(self, path):
        self.paths.append(path)
        return self.answers.get(path, [])


def test_references_are_looked_up_where_the_node_looks_once_per_list():
    assert reference("+dc/Gateway") == ("ipset", "dc/", "gateway")
    assert reference("guest/Admins") == ("alias", "guest/", "admins")
    assert reference("+sdn/vnet1-all") == ("ipset", "sdn/", "vnet1-all")
    assert reference("10.0.0.0/8") is None
    client = Lists({"/cluster/firewall/ipset": [{"name": "gw"}], GUEST.path + "/aliases": [{"name": "Admins"}]})
    refs = [("a", ("ipset", "", "gw")), ("b", ("ipset", "guest/", "gw")), ("c", ("alias", "", "admins")),
            ("d", ("alias", "dc/", "admins")), ("e", ("ipset", "sdn/", "x"))]
    assert missing_references(client, GUEST, refs) == [
        "b: there is no IPSet 'gw' in the firewall of guest 101",
        "d: there is no alias 'admins' in the firewall of the cluster"]
    assert sorted(client.paths) == ["/cluster/firewall/aliases", "/cluster/firewall/ipset",
                                    GUEST.path + "/aliases", GUEST.path + "/ipset"]


class Cluster:
    """A client that answers /cluster/resources and /nodes."""

    def get(self, path, **params):
        if path == "/cluster/resources":
            return [{"vmid": 101, "node": "pve1", "type": "qemu"}, {"vmid": 200, "node": "pve2", "type": "lxc"}]
        return [{"node": "pve1"}, {"node": "pve2"}]


def test_find_level_by_vmid_node_or_neither():
    guest, problem = find_level(Cluster(), vmid=200)
    assert (guest.kind, guest.path, guest.label, problem) == ("guest", "/nodes/pve2/lxc/200/firewall", "guest 200",
                                                              None)
    assert find_level(Cluster(), vmid=999) == (None, "vmid: there is no guest 999 in the cluster")
    assert find_level(Cluster(), node="pve9")[1] == "node: there is no node 'pve9' in the cluster (nodes: pve1, pve2)"
    assert find_level(Cluster(), node="pve1")[0].path == "/nodes/pve1/firewall"
    assert find_level(Cluster())[0].at("ipset", "gw", "10.0.0.0/24") == "/cluster/firewall/ipset/gw/10.0.0.0%2F24"

"""Address selection: which of the addresses a guest reports becomes ansible_host.

Replies are shaped as a node sends them (the agent's network-get-interfaces result, an LXC interfaces
list), including the odd ones: Windows adapters without ip-addresses, zone ids, junk entries.
"""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.addresses import (
    address_problem,
    agent_addresses,
    candidate_addresses,
    normalize_agent_interfaces,
    normalize_lxc_interfaces,
    parse_networks,
    select_addresses,
)


def nic(name, *addresses, mac="bc:24:11:aa:bb:cc"):
    entries = []
    for text in addresses:
        address, _slash, prefix = text.partition("/")
        kind = "ipv6" if ":" in address else "ipv4"
        entries.append({"ip-address": address, "ip-address-type": kind, "prefix": int(prefix or 24)})
    return {"name": name, "hardware-address": mac, "ip-addresses": entries}


LINUX = [
    nic("lo", "127.0.0.1/8", "::1/128", mac="00:00:00:00:00:00"),
    nic("eth0", "10.20.0.5/16", "fe80::be24:11ff:feaa:bbcc/64", "2001:db8::5/64"),
    nic("docker0", "172.17.0.1/16", mac="02:42:ac:11:00:01"),
    nic("eth1", "192.168.50.7/24", "169.254.10.1/16"),
]


def normalized(reply):
    return normalize_agent_interfaces(reply)


def test_prefer_ipv4_takes_the_first_ipv4_and_keeps_ipv6_after():
    assert select_addresses(normalized(LINUX)) == ["10.20.0.5", "172.17.0.1", "192.168.50.7", "2001:db8::5"]


def test_prefer_ipv6_and_strict_families():
    interfaces = normalized(LINUX)
    assert select_addresses(interfaces, preference="prefer_ipv6")[0] == "2001:db8::5"
    assert select_addresses(interfaces, preference="ipv6") == ["2001:db8::5"]
    assert "2001:db8::5" not in select_addresses(interfaces, preference="ipv4")
    # any: the guest's own order.
    assert select_addresses(interfaces, preference="any") == [
        "10.20.0.5", "2001:db8::5", "172.17.0.1", "192.168.50.7"]


@pytest.mark.parametrize(("text", "prefix", "problem"), [
    ("0.0.0.0", 8, "unspecified"), ("0.1.2.3", 8, "unspecified"), ("::", 128, "unspecified"),
    ("224.0.0.251", 4, "multicast"), ("ff02::1", 16, "multicast"), ("255.255.255.255", 32, "reserved"),
    ("240.0.0.1", 4, "reserved"), ("10.20.255.255", 16, "broadcast address of 10.20.0.0/16"),
    ("192.168.1.0", 24, "network address of 192.168.1.0/24"), ("127.0.0.53", 8, "loopback"),
    ("::ffff:127.0.0.1", 104, "loopback"), ("::ffff:169.254.169.254", 112, "link-local"),
    ("169.254.169.254", 16, "link-local"), ("fe80::1", 64, "link-local"),
])
def test_address_problem_refuses_what_is_not_the_guests(text, prefix, problem):
    assert problem in address_problem(ipaddress.ip_address(text), prefix)


@pytest.mark.parametrize("text", ["10.20.0.5", "192.168.1.1", "172.16.0.9", "100.64.1.1", "8.8.8.8",
                                  "2001:db8::5", "2a01:4f8::1", "fd00::1", "::ffff:10.0.0.5", "10.20.2.0"])
def test_address_problem_passes_global_and_private_unicast(text):
    assert address_problem(ipaddress.ip_address(text), 16) is None


def test_link_local_only_when_asked_and_never_ipv4_mapped():
    assert address_problem(ipaddress.ip_address("fe80::1"), 64, allow_link_local=True) is None
    assert address_problem(ipaddress.ip_address("169.254.3.3"), 16, allow_link_local=True) is None
    assert address_problem(ipaddress.ip_address("::ffff:169.254.169.254"), 112, allow_link_local=True) == "link-local"


def test_loopback_and_link_local_are_never_chosen():
    chosen = select_addresses(normalized(LINUX), preference="any")
    for text in chosen:
        address = ipaddress.ip_address(text)
        assert not address.is_loopback and not address.is_link_local
    only_link_local = normalized([nic("eth0", "fe80::1/64", "169.254.3.3/16"), nic("lo", "127.0.0.1/8")])
    assert select_addresses(only_link_local, preference="any") == []


def test_interface_glob_and_networks_filter():
    interfaces = normalized(LINUX)
    assert select_addresses(interfaces, interface="eth*") == ["10.20.0.5", "192.168.50.7", "2001:db8::5"]
    assert select_addresses(interfaces, interface="eth1") == ["192.168.50.7"]
    assert select_addresses(interfaces, interface="ETH*") == [], "the glob is case-sensitive, as names are"
    networks = parse_networks(["192.168.50.0/24", "2001:db8::/32"])
    assert select_addresses(interfaces, networks=networks) == ["192.168.50.7", "2001:db8::5"]
    assert select_addresses(interfaces, networks=parse_networks(["10.99.0.0/16"])) == []


def test_windows_adapters_without_ip_addresses_are_kept_without_addresses():
    reply = [{"name": "Ethernet", "hardware-address": "bc:24:11:00:00:01"},
             {"name": "isatap.{GUID}", "hardware-address": ""},
             {"name": "Loopback Pseudo-Interface 1", "ip-addresses": [
                 {"ip-address": "::1", "ip-address-type": "ipv6", "prefix": 128},
                 {"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]}]
    interfaces = normalized(reply)
    assert [iface["name"] for iface in interfaces] == ["Ethernet", "isatap.{GUID}", "Loopback Pseudo-Interface 1"]
    assert interfaces[0]["addresses"] == []
    assert select_addresses(interfaces, preference="any") == [], "the loopback pseudo interface is skipped too"


def test_zone_ids_junk_and_missing_results_do_not_break_selection():
    reply = [{"name": "eth0", "ip-addresses": [
        {"ip-address": "fe80::1%eth0", "ip-address-type": "ipv6", "prefix": 64},
        {"ip-address": "not-an-address", "ip-address-type": "ipv4", "prefix": 24},
        "garbage",
        {"ip-address": "10.0.0.9", "ip-address-type": "ipv4", "prefix": "24"}]}, "garbage"]
    interfaces = normalized(reply)
    assert interfaces[0]["addresses"] == [{"address": "fe80::1", "prefix": 64, "family": "ipv6"},
                                          {"address": "10.0.0.9", "prefix": 24, "family": "ipv4"}]
    assert select_addresses(interfaces) == ["10.0.0.9"]
    assert normalize_agent_interfaces(None) == [] and normalize_agent_interfaces({"error": "x"}) == []


def test_lxc_interfaces_as_a_node_lists_them():
    reply = [{"name": "lo", "hwaddr": "00:00:00:00:00:00", "inet": "127.0.0.1/8", "inet6": "::1/128"},
             {"name": "eth0", "hwaddr": "BC:24:11:00:02:00", "inet": "10.20.2.0/16", "inet6": "fe80::1/64"},
             {"name": "eth1", "hwaddr": "BC:24:11:00:02:01", "inet6": "fd00::6/64"}]
    interfaces = normalize_lxc_interfaces(reply)
    assert interfaces[1] == {"name": "eth0", "hwaddr": "BC:24:11:00:02:00", "addresses": [
        {"address": "10.20.2.0", "prefix": 16, "family": "ipv4"},
        {"address": "fe80::1", "prefix": 64, "family": "ipv6"}]}
    assert select_addresses(interfaces) == ["10.20.2.0", "fd00::6"]
    assert select_addresses(interfaces, preference="prefer_ipv6") == ["fd00::6", "10.20.2.0"]


def test_lxc_interfaces_with_an_ip_addresses_list_read_every_address():
    reply = [{"name": "eth0", "hwaddr": "BC:24:11:00:02:00", "inet": "10.0.0.7/24", "ip-addresses": [
        {"ip-address-type": "inet", "ip-address": "10.0.0.6", "prefix": "24"},
        {"ip-address-type": "inet", "ip-address": "10.0.0.7", "prefix": "24"}]}]
    assert select_addresses(normalize_lxc_interfaces(reply)) == ["10.0.0.6", "10.0.0.7"]
    assert normalize_lxc_interfaces(None) == [], "a stopped container answers null"


def test_agent_addresses_matches_the_guest_agent_modules_contract():
    found = agent_addresses(LINUX, interface="eth0", family="any")
    assert found == [{"interface": "eth0", "address": "10.20.0.5", "family": "ipv4", "prefix": 16},
                     {"interface": "eth0", "address": "2001:db8::5", "family": "ipv6", "prefix": 64}]
    with_link_local = candidate_addresses(normalized(LINUX), interface="eth0", family="ipv6", skip_link_local=False)
    assert [item["address"] for item in with_link_local] == ["fe80::be24:11ff:feaa:bbcc", "2001:db8::5"]


def test_bad_networks_and_preferences_name_the_entry():
    with pytest.raises(ValueError, match="'10.0.0.300/8'"):
        parse_networks(["10.0.0.0/8", "10.0.0.300/8"])
    assert [str(net) for net in parse_networks(["10.20.0.5/16"])] == ["10.20.0.0/16"], "host bits are ignored"
    with pytest.raises(ValueError, match="prefer_ipv4"):
        select_addresses([], preference="ipv5")


def test_an_agents_reply_is_read_within_the_limits():
    reply = [{"name": f"veth{n}" + "x" * 200 * (n == 0), "hardware-address": "a" * 100,
              "ip-addresses": [{"ip-address": f"10.30.0.{k + 1}", "prefix": 16} for k in range(100 if n == 1 else 1)]}
             for n in range(1000)]
    cut = []
    interfaces = normalize_agent_interfaces(reply, cut)
    assert len(interfaces) == 256 and len(interfaces[1]["addresses"]) == 64
    assert len(interfaces[0]["name"]) == 128 and len(interfaces[0]["hwaddr"]) == 64
    assert cut == ["interfaces: 1000 reported, the first 256 kept", "an interface name over 128 characters cut",
                   "a hardware address over 64 characters cut",
                   "addresses of an interface: more than 64, the first 64 kept"]
    lxc = normalize_lxc_interfaces([{"name": "eth0", "inet": [f"10.0.0.{n}/24" for n in range(1, 200)]}] * 300,
                                   cut := [])
    assert len(lxc) == 256 and len(lxc[0]["addresses"]) == 64 and len(cut) == 2

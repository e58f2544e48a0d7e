"""proxmox_guest_agent: address filtering, option parsing, exit codes, and the option checks made before any call."""

from __future__ import annotations

import ipaddress
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.proxgate.core.plugins.modules import proxmox_guest_agent
from ansible_collections.proxgate.core.plugins.modules.proxmox_guest_agent import (
    agent_addresses,
    exit_code,
    parse_networks,
    seen_addresses,
    split_command,
    without_retries,
)

AUTH = {"api_url": "https://pve.invalid:8006", "api_token_id": "root@pam!ci", "api_token_secret": "s3cret"}


def iface(name, *addresses):
    """An interface of network-get-interfaces with addresses given as 'ip/prefix'."""
    entries = []
    for text in addresses:
        address, prefix = text.rsplit("/", 1)
        version = ipaddress.ip_address(address.split("%")[0]).version
        entries.append({"ip-address": address, "ip-address-type": f"ipv{version}", "prefix": int(prefix)})
    return {"name": name, "hardware-address": "bc:24:11:00:00:01", "ip-addresses": entries}


LINUX = [
    iface("lo", "127.0.0.1/8", "::1/128"),
    iface("eth0", "10.20.0.111/16", "fe80::be24:11ff:fe00:65/64", "2001:db8::65/64"),
    iface("docker0", "172.17.0.1/16"),
    iface("ens19", "192.168.7.10/24", "169.254.3.4/16"),
]


def addresses(interfaces=None, **filters):
    return [found["address"] for found in agent_addresses(LINUX if interfaces is None else interfaces, **filters)]


def test_default_is_ipv4_without_loopback_or_link_local_in_interface_order():
    assert addresses() == ["10.20.0.111", "172.17.0.1", "192.168.7.10"]


def test_each_match_says_interface_family_and_prefix():
    assert agent_addresses(LINUX, interface="eth0", family="any") == [
        {"interface": "eth0", "address": "10.20.0.111", "family": "ipv4", "prefix": 16},
        {"interface": "eth0", "address": "2001:db8::65", "family": "ipv6", "prefix": 64}]


@pytest.mark.parametrize("pattern, expected", [
    ("eth*", ["10.20.0.111"]),
    ("ens*", ["192.168.7.10"]),
    ("e*", ["10.20.0.111", "192.168.7.10"]),
    ("eth[0-9]", ["10.20.0.111"]),
    ("ETH*", []),  # case-sensitive, like the guest's interface names
    ("wlan*", []),
])
def test_interface_glob(pattern, expected):
    assert addresses(interface=pattern) == expected


def test_families_and_link_local():
    assert addresses(family="ipv6") == ["2001:db8::65"]
    assert addresses(family="ipv6", skip_link_local=False) == ["fe80::be24:11ff:fe00:65", "2001:db8::65"]
    assert addresses(interface="ens19", skip_link_local=False) == ["192.168.7.10", "169.254.3.4"]
    assert addresses(family="any") == ["10.20.0.111", "2001:db8::65", "172.17.0.1", "192.168.7.10"]


def test_cidr_keeps_addresses_inside_one_of_the_networks():
    assert addresses(networks=parse_networks(["10.20.0.0/16"])) == ["10.20.0.111"]
    private = parse_networks(["192.168.0.0/16", "172.16.0.0/12"])
    assert addresses(networks=private) == ["172.17.0.1", "192.168.7.10"]
    assert addresses(networks=parse_networks(["10.99.0.0/16"])) == []
    # A network of the other family never matches, and does not stop the others from matching.
    assert addresses(family="any", networks=parse_networks(["2001:db8::/32", "10.0.0.0/8"])) == [
        "10.20.0.111", "2001:db8::65"]
    # Link-local stays out even when it is inside the network.
    assert addresses(networks=parse_networks(["169.254.0.0/16"])) == []


def test_loopback_is_always_left_out():
    windows_loopback = iface("Loopback Pseudo-Interface 1", "::1/128", "127.0.0.1/8")
    only_loopback = [iface("lo", "127.0.0.1/8"), windows_loopback]
    assert addresses(only_loopback, family="any", skip_link_local=False) == []
    assert addresses(only_loopback, interface="lo", networks=parse_networks(["127.0.0.0/8"])) == []


def test_interfaces_without_addresses_and_odd_entries_are_skipped():
    interfaces = [
        {"name": "Ethernet 3", "hardware-address": "bc:24:11:00:01:09"},   # Windows, no ip-addresses key
        {"name": "tap0", "ip-addresses": None},
        {"name": "odd", "ip-addresses": [{"ip-address": "not-an-ip", "prefix": 24}, {"prefix": 8}]},
        iface("Ethernet", "fe80::1c2b:3d4e:5f60:7182%12/64", "192.168.50.7/24"),
    ]
    assert addresses(interfaces) == ["192.168.50.7"]
    # A zone suffix (%12) is dropped from the address.
    assert addresses(interfaces, family="ipv6", skip_link_local=False) == ["fe80::1c2b:3d4e:5f60:7182"]
    assert agent_addresses(None) == [] and agent_addresses([]) == []


def test_seen_addresses_lists_what_the_agent_reported():
    assert seen_addresses(LINUX[:2]) == ("lo 127.0.0.1/8, lo ::1/128, eth0 10.20.0.111/16, "
                                         "eth0 fe80::be24:11ff:fe00:65/64, eth0 2001:db8::65/64")
    many = [iface(f"eth{n}", f"10.0.{n}.1/24") for n in range(10)]
    assert seen_addresses(many).endswith("eth7 10.0.7.1/24 and 2 more")
    assert seen_addresses([{"name": "Ethernet 3"}]) == "none"


def test_parse_networks():
    assert parse_networks(["10.20.0.5/16", " 2001:db8::/32 "]) == [ipaddress.ip_network("10.20.0.0/16"),
                                                                   ipaddress.ip_network("2001:db8::/32")]
    assert parse_networks(None) == []
    for bad in ("10.0.0.0/33", "foo", "10.0.0/8/8"):
        with pytest.raises(ValueError, match=rf"^cidr entry '{bad}' is not a network"):
            parse_networks(["10.0.0.0/8", bad])


def test_split_command():
    assert split_command("cat /etc/hostname") == ["cat", "/etc/hostname"]
    assert split_command("sh -c 'echo hi there'") == ["sh", "-c", "echo hi there"]
    assert split_command(["systemctl", "is-active", "nginx"]) == ["systemctl", "is-active", "nginx"]
    assert split_command(["sleep", 5]) == ["sleep", "5"]
    for bad, message in (("", "command is empty"), ([], "command is empty"), ("   ", "command is empty"),
                         ("echo 'hi", "cannot be split"), ([["ls"]], "command must be a list of strings"),
                         (["ls", None], "command must be a list of strings"),
                         ({"cmd": "ls"}, "command must be a list of strings or a string")):
        with pytest.raises(ValueError, match=message):
            split_command(bad)


@pytest.mark.parametrize("status, rc", [
    ({"exited": 1, "exitcode": 0}, 0),
    ({"exited": 1, "exitcode": 3}, 3),
    ({"exited": 1, "signal": 9}, -9),
    ({"exited": 1}, 0),
])
def test_exit_code(status, rc):
    assert exit_code(status) == rc


def test_without_retries_restores_the_client_setting():
    class Client:
        retries = 3
    client = Client()
    with pytest.raises(RuntimeError), without_retries(client):
        assert client.retries == 0
        raise RuntimeError("boom")
    assert client.retries == 3


def run_module(capsys, **args):
    """Run the module in-process with these options; the checks below fail before any API call."""
    with patch_module_args(dict(AUTH, **args)), pytest.raises(SystemExit) as exited:
        proxmox_guest_agent.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1, result
    assert result["failed"] is True
    return result


@pytest.mark.parametrize("args, expected", [
    ({"vmid": 101, "cidr": ["10.0.0.0/33"]}, "cidr entry '10.0.0.0/33' is not a network"),
    ({"vmid": 101, "cidr": ["2001:db8::/32"]}, "cidr lists only IPv6 networks, so no address of family=ipv4"),
    ({"vmid": 101, "family": "ipv6", "cidr": ["10.0.0.0/8"]}, "cidr lists only IPv4 networks"),
    ({"vmid": 101, "timeout": -1}, "timeout must be 0 or more seconds, got -1"),
    ({"vmid": 101, "delay": 0}, "delay must be a positive number of seconds"),
    ({"vmid": 101, "command": ["ls"]}, "command is only used with action=exec, not action=address"),
    ({"vmid": 101, "input": "x"}, "input is only used with action=exec"),
    ({"vmid": 101, "action": "info", "cidr": ["10.0.0.0/8"]}, "cidr is only used with action=address"),
    ({"vmid": 101, "action": "exec", "command": ["ls"], "interface": "eth0"},
     "interface is only used with action=address, not action=exec"),
    ({"vmid": 101, "action": "exec"}, "action is exec but all of the following are missing: command"),
    ({"vmid": 101, "action": "exec", "command": ""}, "command is empty"),
    ({"vmid": 101, "action": "exec", "command": "echo 'hi"}, "command \"echo 'hi\" cannot be split"),
    ({"vmid": 101, "action": "exec", "command": [["ls"]]}, "command must be a list of strings"),
    ({"vmid": 101, "family": "ipv5"}, "value of family must be one of: ipv4, ipv6, any"),
    ({"vmid": 101, "name": "web01"}, "parameters are mutually exclusive: vmid|name"),
    ({}, "one of the following is required: vmid, name"),
])
def test_bad_options_fail_before_any_call_and_name_the_option(capsys, args, expected):
    assert expected in run_module(capsys, **args)["msg"]

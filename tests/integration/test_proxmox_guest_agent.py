"""proxmox_guest_agent against the test server, in both auth modes where auth matters."""

from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.integration

AGENT_PATH = "/api2/json/nodes/pve1/qemu/101/agent"

# What a Windows guest's agent reports: an adapter without addresses, the loopback pseudo-interface,
# and two adapters with link-local and routable addresses.
WINDOWS_INTERFACES = [
    {"name": "Ethernet 3", "hardware-address": "bc:24:11:00:01:09"},
    {"name": "Loopback Pseudo-Interface 1", "hardware-address": "", "ip-addresses": [
        {"ip-address": "::1", "ip-address-type": "ipv6", "prefix": 128},
        {"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]},
    {"name": "Ethernet", "hardware-address": "bc:24:11:00:01:01", "ip-addresses": [
        {"ip-address": "fe80::1c2b:3d4e:5f60:7182%12", "ip-address-type": "ipv6", "prefix": 64},
        {"ip-address": "169.254.10.20", "ip-address-type": "ipv4", "prefix": 16},
        {"ip-address": "192.168.50.7", "ip-address-type": "ipv4", "prefix": 24}]},
    {"name": "Ethernet 2", "hardware-address": "bc:24:11:00:01:02", "ip-addresses": [
        {"ip-address": "10.20.0.42", "ip-address-type": "ipv4", "prefix": 16},
        {"ip-address": "2001:db8::42", "ip-address-type": "ipv6", "prefix": 64}]},
]


def stop_agent(vm):
    """The guest's agent is down (the guest OS still boots, or the service is stopped)."""
    vm.agent = None
    # ProxgatePve boots the agent of a running guest with agent=1 again at once unless it has no start time.
    vm.started_at = None


def status(run, task_name):
    return [r for r in run.results if r["task"] == task_name][-1]["status"]


def waited(msg):
    """The seconds a timeout message says the module waited."""
    return float(re.search(r"timed out after ([0-9.]+)s", msg).group(1))


def test_address_with_filters(run_playbook, pve, pve_env, writes):
    pve.pve.vm(101).agent = {"interfaces": WINDOWS_INTERFACES}
    run = run_playbook("""
        - name: Default
          proxgate.core.proxmox_guest_agent:
            name: web01
        - name: In a network, by interface glob
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            interface: "Ethernet ?"
            cidr: [10.20.0.0/16, 172.16.0.0/12, "2001:db8::/32"]
            family: any
        - name: Link-local allowed, any family
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            interface: Ethernet
            family: any
            skip_link_local: false
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    default = run.result("Default")
    assert default["changed"] is False
    assert (default["vmid"], default["node"]) == (101, "pve1")
    # Interface order; link-local, loopback and the adapter without addresses left out.
    assert default["address"] == "192.168.50.7"
    assert default["addresses"] == [
        {"interface": "Ethernet", "address": "192.168.50.7", "family": "ipv4", "prefix": 24},
        {"interface": "Ethernet 2", "address": "10.20.0.42", "family": "ipv4", "prefix": 16}]
    assert default["interfaces"] == WINDOWS_INTERFACES
    assert [a["address"] for a in run.result("In a network, by interface glob")["addresses"]] == [
        "10.20.0.42", "2001:db8::42"]
    assert [a["address"] for a in run.result("Link-local allowed, any family")["addresses"]] == [
        "fe80::1c2b:3d4e:5f60:7182", "169.254.10.20", "192.168.50.7"]
    assert writes() == []


@pytest.mark.parametrize("auth_mode", ["ticket"])
def test_an_address_that_is_not_the_guests_is_never_returned(run_playbook, pve, pve_env):
    not_the_guests = ["0.0.0.0", "::", "224.0.0.251", "ff02::1", "255.255.255.255", "::ffff:127.0.0.1",
                      "::ffff:169.254.169.254", "127.0.0.53", "240.0.0.1"]
    reported = [{"ip-address": address, "ip-address-type": "ipv6" if ":" in address else "ipv4", "prefix": 8}
                for address in not_the_guests]
    interfaces = [{"name": "eth0", "hardware-address": "bc:24:11:00:01:01", "ip-addresses": reported}]
    pve.pve.vm(101).agent = {"interfaces": interfaces}
    run = run_playbook("""
        - name: Only addresses that are not the guest's
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            family: any
            skip_link_local: false
            timeout: 0
          ignore_errors: true
    """, env=pve_env)
    result = run.result("Only addresses that are not the guest's")
    assert status(run, "Only addresses that are not the guest's") == "failed"
    assert "no address passed the filters" in result["msg"], result
    assert "address" not in result
    interfaces[0]["ip-addresses"] = [*reported, {"ip-address": "10.20.0.42", "ip-address-type": "ipv4",
                                                 "prefix": 16}]
    run = run_playbook("""
        - name: And the guest's own
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            family: any
            skip_link_local: false
            timeout: 0
    """, env=pve_env)
    result = run.result("And the guest's own")
    assert result["address"] == "10.20.0.42"
    assert [found["address"] for found in result["addresses"]] == ["10.20.0.42"]


def test_an_agents_reply_is_read_within_limits(run_playbook, pve, pve_env):
    many = [{"name": f"veth{n}", "hardware-address": "bc:24:11:00:00:01",
             "ip-addresses": [{"ip-address": f"10.30.{n // 250}.{n % 250 + 1}", "ip-address-type": "ipv4",
                               "prefix": 16}]} for n in range(100_000)]
    pve.pve.vm(101).agent = {"interfaces": many}
    run = run_playbook("""
        - name: Many interfaces
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            timeout: 0
    """, env=pve_env)
    result = run.result("Many interfaces")
    assert result["address"] == "10.30.0.1"
    assert len(result["addresses"]) == 256 and len(result["interfaces"]) == 256
    assert any("interfaces: 100000 reported, the first 256 kept" in warning for warning in result["warnings"])


def test_waits_for_the_agent_to_come_up(run_playbook, pve, pve_env):
    # The guest is still booting: its agent answers from the fourth request on.
    pve.pve.fail("GET", "/qemu/101/agent/network-get-interfaces", 500, "QEMU guest agent is not running", times=3)
    run = run_playbook("""
        - name: Wait for the address
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            timeout: 30
            delay: 0.5
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Wait for the address")
    assert result["address"] == "10.20.0.111"
    assert result["elapsed"] >= 1.5  # three polls 0.5 s apart
    network_gets = [r for r in pve.pve.requests if r[1] == AGENT_PATH + "/network-get-interfaces"]
    assert len(network_gets) == 4


def test_agent_not_running_times_out_with_the_last_error(run_playbook, pve, pve_env):
    stop_agent(pve.pve.vm(101))
    started = time.monotonic()
    run = run_playbook("""
        - name: Wait for the address
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            timeout: 3
            delay: 0.5
    """, env=pve_env)
    assert run.rc != 0
    msg = run.result("Wait for the address")["msg"]
    assert "waiting for an address of VM 101 (web01)" in msg
    assert "QEMU guest agent is not running" in msg
    assert 3.0 <= waited(msg) < 10
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("auth_mode", ["token"])
def test_hanging_agent_and_no_matching_address_time_out(run_playbook, pve, pve_env):
    pve.pve.vm(102).agent_hangs = True
    run = run_playbook("""
        - name: Hanging agent
          proxgate.core.proxmox_guest_agent:
            vmid: 102
            timeout: 2
            delay: 0.5
          ignore_errors: true
        - name: No interface matches
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            interface: "ens*"
            timeout: 0
          ignore_errors: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    hanging = run.result("Hanging agent")["msg"]
    assert "got timeout" in hanging and 2.0 <= waited(hanging) < 10
    nomatch = run.result("No interface matches")["msg"]
    assert "interface=ens*" in nomatch
    assert "no address passed the filters" in nomatch
    assert "eth0 10.20.0.111/16" in nomatch  # what the agent did report


def test_stopped_vm_fails_at_once(run_playbook, pve, pve_env, writes):
    # db01 is stopped; the agent of web01 answers as a node does when the VM stops under it.
    pve.pve.fail("GET", "/qemu/101/agent/network-get-interfaces", 500, "VM 101 is not running")
    started = time.monotonic()
    run = run_playbook("""
        - name: Stopped VM
          proxgate.core.proxmox_guest_agent:
            name: db01
            timeout: 300
          ignore_errors: true
        - name: Stopped while asking
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            timeout: 300
          ignore_errors: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert time.monotonic() - started < 60  # far less than the 300 s timeouts
    for name in ("Stopped VM", "Stopped while asking"):
        assert status(run, name) == "failed", name
    assert run.result("Stopped VM")["msg"].startswith("VM 103 (db01) is stopped")
    assert run.result("Stopped while asking")["msg"].startswith("VM 101 (web01) is stopped")
    assert writes() == []


@pytest.mark.each_auth
def test_exec(run_playbook, pve, pve_env, writes):
    vm = pve.pve.vm(101)
    vm.agent["exec"] = {
        "/bin/sh -s": {"exitcode": 0, "out-data": "web01\n"},
        "systemctl is-active nginx": {"exitcode": 3, "out-data": "inactive\n", "err-data": "unit stopped\n"},
    }
    run = run_playbook("""
        - name: Would run
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            action: exec
            command: /bin/sh -s
            input: "cat /etc/hostname\\n"
          check_mode: true
        - name: Hostname
          proxgate.core.proxmox_guest_agent:
            name: web01
            action: exec
            command: /bin/sh -s
            input: "cat /etc/hostname\\n"
        - name: Failing command
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            action: exec
            command: [systemctl, is-active, nginx]
          ignore_errors: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    would = run.result("Would run")
    assert would["changed"] is True
    assert would["cmd"] == ["/bin/sh", "-s"]
    assert "rc" not in would
    hostname = run.result("Hostname")
    assert hostname["changed"] is True
    assert (hostname["rc"], hostname["stdout"], hostname["stdout_lines"]) == (0, "web01\n", ["web01"])
    assert hostname["stderr"] == "" and hostname["stderr_lines"] == []
    failing = run.result("Failing command")
    assert status(run, "Failing command") == "failed"
    assert failing["msg"] == "non-zero return code"
    assert (failing["rc"], failing["stdout_lines"], failing["stderr"]) == (3, ["inactive"], "unit stopped\n")
    # The check-mode task ran nothing: two execs, in order, the first with its stdin.
    assert [asked for command, asked in vm.agent_requests if command == "exec"] == [
        {"command": ["/bin/sh", "-s"], "input-data": "cat /etc/hostname\n"},
        {"command": ["systemctl", "is-active", "nginx"]}]
    assert writes() == [("POST", AGENT_PATH + "/exec")] * 2


def test_check_mode_runs_nothing_and_info_reads(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
        - name: Would run
          proxgate.core.proxmox_guest_agent:
            vmid: 101
            action: exec
            command: [reboot]
        - name: Info
          proxgate.core.proxmox_guest_agent:
            vmid: 102
            action: info
    """, env=pve_env, check=True)
    assert run.rc == 0, run.stdout + run.stderr
    would = run.result("Would run")
    assert would["changed"] is True
    assert "would have run" in would["msg"]
    assert pve.pve.vm(101).agent_execs == {}
    info = run.result("Info")
    assert info["changed"] is False
    # win-desktop's agent reports the Windows it runs (the demo guest list gives it one).
    assert info["os"]["id"] == "mswindows" and info["os"]["pretty-name"] == "Windows 11 Pro"
    assert info["version"] == "9.0.0"
    assert "guest-exec" in info["supported_commands"]
    assert info["supported_commands"] == sorted(info["supported_commands"])
    assert writes() == []


@pytest.mark.parametrize("auth_mode", ["token"])
def test_bad_input_names_the_parameter(run_playbook, pve, pve_env, writes):
    # The checks that need no server are unit-tested (tests/unit/plugins/modules/test_proxmox_guest_agent.py).
    pve.pve.vm(102).config["agent"] = "0"
    cases = {
        "Bad cidr": ("vmid: 101\n            cidr: [10.0.0.0/33]", "cidr entry '10.0.0.0/33' is not a network"),
        "Unknown vmid": ("vmid: 4242", "no QEMU VM with vmid 4242"),
        "Unknown name": ("name: nosuch\n            action: info", "no QEMU VM with name 'nosuch'"),
        "Agent disabled": ("vmid: 102", "VM 102 (win-desktop) has the guest agent disabled"),
    }
    tasks = "".join(f"""
        - name: {name}
          proxgate.core.proxmox_guest_agent:
            {options}
          ignore_errors: true
""" for name, (options, _msg) in cases.items())
    run = run_playbook(tasks, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    for name, (_options, expected) in cases.items():
        assert status(run, name) == "failed", name
        assert expected in run.result(name)["msg"], (name, run.result(name)["msg"])
    assert writes() == []
    assert pve.pve.vm(101).agent_requests == []
    assert pve.pve.vm(102).agent_requests == []

"""Issue #17, finding 2: a host the inventory could not read in full is marked, never silently thinner or gone.

Real `ansible-inventory --list` runs against the Proxmox test server (the demo guests: web01 101 and win-desktop 102
running with agents, db01 103 stopped on pve2, container dns01 200) with faults injected: a guest whose config read
fails, a call that fails once, a node that does not answer."""

from __future__ import annotations

import re

import pytest

from tests.emulators.pve.guests import DEMO_NETWORK
from tests.emulators.pve.server import windows_agent_interfaces
from tests.integration import test_inventory
from tests.integration.conftest import REPO
from tests.integration.test_inventory import API

pytestmark = pytest.mark.integration

inventory = test_inventory.inventory

WARNING = "[WARNING]: proxgate.core.proxmox: "
TROUBLESHOOTING = REPO / "docs" / "troubleshooting.md"
PLACEHOLDER = re.compile(r"<[^<>\s][^<>]*>")


def assert_documented(text):
    """text is one of the messages docs/troubleshooting.md quotes for incomplete hosts (each <placeholder>
    standing for what varies), so the page cannot drift from what a run prints."""
    page = TROUBLESHOOTING.read_text()
    section = page[page.index("## Inventory: hosts marked incomplete"):]
    section = section[:section.index("\n## ")]
    quotes = re.findall(r"```text\n(.*?)\n```", section, re.S)
    patterns = [re.compile(".+?".join(re.escape(part) for part in PLACEHOLDER.split(quote))) for quote in quotes]
    assert any(pattern.fullmatch(text) for pattern in patterns), f"not quoted in {TROUBLESHOOTING.name}:\n{text}"


def assert_warning_documented(warning):
    """The warning (with its first host) and each reason it gives for each host are quoted on the page."""
    assert_documented(warning.split(" | ")[0])
    for entry in warning.split("as they are): ", 1)[1].split(" | "):
        for reason in entry.split("): ", 1)[1].split("; "):
            assert_documented(reason)


def add_windows_server(pve, vmid=104):
    """A running Windows VM on pve1 that no tag marks as Windows: only its config's ostype says so."""
    vm = pve.add_vm(vmid, "win-server", node="pve1", status="running",
                    config={"agent": "1", "ostype": "win11", "cores": 2, "memory": 4096})
    vm.agent = {"interfaces": windows_agent_interfaces(DEMO_NETWORK, vmid)}
    return vm


def requests_to(pve, suffix):
    return [path for method, path, _body in pve.requests if method == "GET" and path.endswith(suffix)]


def warnings(run):
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith(WARNING)]


@pytest.mark.parametrize("auth_mode", ["token"])
def test_a_failed_read_and_a_silent_node_mark_their_hosts_and_the_others_are_whole(inventory, pve, pve_env):
    server = pve.pve
    add_windows_server(server)
    server.fail("GET", "/nodes/pve1/qemu/104/config", 596, "Broken pipe")
    # One 502 from a proxy in front of the node: asked again, and the guest is whole.
    server.fail("GET", "/nodes/pve1/qemu/101/agent/network-get-interfaces", 502, "Bad Gateway", times=1)
    server.set_node_offline("pve2")

    run = inventory({"want_config": True, "statuses": ["running"]}, env=pve_env)
    assert run.rc == 0, run.stderr

    # The node that did not answer: its guests are hosts still (the listing knows them), marked, with what the
    # cluster knows of them. db01 is stopped, but its status is unknown now: it passes statuses [running].
    assert {"web01", "win-server", "dns01", "win-desktop", "db01"} == set(run.hosts)
    assert run.group("proxmox_incomplete") == ["db01", "win-desktop", "win-server"]
    for host in ("win-desktop", "db01"):
        assert run.hostvars[host]["proxmox_incomplete"] == ["status", "config"], host
        assert run.hostvars[host]["proxmox_status"] == "unknown" and run.hostvars[host]["proxmox_node"] == "pve2"
        assert "proxmox_config" not in run.hostvars[host] and "ansible_host" not in run.hostvars[host]
    # The guest whose config could not be read: asked twice, marked, its address still read.
    assert run.hostvars["win-server"]["proxmox_incomplete"] == ["config"]
    assert "proxmox_config" not in run.hostvars["win-server"]
    assert run.address("win-server") == "10.20.0.114"
    assert len(requests_to(server, f"{API}/nodes/pve1/qemu/104/config")) == 2
    # The others are whole: web01's agent call was asked again after the 502.
    assert len(requests_to(server, "/qemu/101/agent/network-get-interfaces")) == 2
    assert run.address("web01") == "10.20.0.111" and run.address("dns01") == "10.20.2.0"
    for host in ("web01", "dns01"):
        assert "proxmox_incomplete" not in run.hostvars[host], host
    assert run.hostvars["web01"]["proxmox_config"]["ostype"] == "l26"

    # One warning, at the default verbosity, naming each host and why.
    [warning] = warnings(run)
    assert warning.startswith(WARNING + "3 hosts could not be read in full, marked with the variable "
                              "proxmox_incomplete and the group proxmox_incomplete")
    assert "win-server (vmid 104): config: HTTP 596 Broken pipe (asked twice)" in warning
    assert ("win-desktop (vmid 102): status: node pve2 sent no status (status unknown: the node is down or cut "
            "off); config: HTTP 595 No route to host (asked twice)") in warning
    assert "db01 (vmid 103): status: node pve2 sent no status" in warning
    assert_warning_documented(warning)

    # The node is back and the config answers: nothing is marked, nothing is said, the group is empty.
    server.set_node_offline("pve2", offline=False)
    server.failures.clear()
    whole = inventory({"want_config": True, "statuses": ["running"]}, env=pve_env)
    assert whole.rc == 0, whole.stderr
    assert whole.group("proxmox_incomplete") == [] and warnings(whole) == []
    assert set(whole.hosts) == {"web01", "win-server", "dns01", "win-desktop"}, "db01 is stopped: filtered out"
    assert not any("proxmox_incomplete" in variables for variables in whole.hostvars.values())


@pytest.mark.parametrize("auth_mode", ["token"])
def test_the_mark_is_a_variable_compose_and_groups_can_use_and_the_cache_does_not_keep_it(
        inventory, pve, pve_env, tmp_path):
    pve.pve.fail("GET", "/nodes/pve1/qemu/101/agent/network-get-interfaces", 500,
                 "VM 101 qmp command 'guest-network-get-interfaces' failed - got timeout")
    config = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile",
              "cache_connection": str(tmp_path / "cache"), "cache_timeout": 600,
              "compose": {"reachable": "proxmox_incomplete is not defined and ansible_host is defined"},
              "groups": {"to_check": "'addresses' in proxmox_incomplete | default([])"}}
    run = inventory(config, env=pve_env, verbosity=1)
    assert run.rc == 0, run.stderr
    assert run.hostvars["web01"]["proxmox_incomplete"] == ["addresses"]
    assert run.group("to_check") == ["web01"]
    assert run.hostvars["web01"]["reachable"] is False and run.hostvars["dns01"]["reachable"] is True
    # The node's own timeout: not asked again (a hung agent would cost twice).
    assert len(requests_to(pve.pve, "/qemu/101/agent/network-get-interfaces")) == 1
    assert ("proxgate.core.proxmox: incomplete: web01 (vmid 101): addresses: HTTP 500 VM 101 qmp command "
            "'guest-network-get-interfaces' failed - got timeout") in run.stdout.splitlines()
    assert_warning_documented(warnings(run)[0])

    # A result with a marked host is not used as a cached run: the next run asks again, and once the agent
    # answers, the whole result is cached as any other.
    count = len(pve.pve.requests)
    still = inventory(config, env=pve_env)
    assert len(pve.pve.requests) > count and still.group("proxmox_incomplete") == ["web01"]
    pve.pve.failures.clear()
    whole = inventory(config, env=pve_env)
    assert whole.rc == 0 and whole.group("proxmox_incomplete") == [] and warnings(whole) == []
    assert whole.address("web01") == "10.20.0.111"
    count = len(pve.pve.requests)
    cached = inventory(config, env=pve_env)
    assert len(pve.pve.requests) == count and cached.data == whole.data

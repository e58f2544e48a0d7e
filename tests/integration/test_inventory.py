"""The proxgate.core.proxmox inventory plugin: real `ansible-inventory --list -i <file>.proxmox.yml` runs against
the Proxmox test server (demo guests: template 9000, web01 101 and win-desktop 102 running with agents,
db01 103 stopped, container dns01 200 running), counting the requests the server saw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.emulators.pve.guests import DEMO_NETWORK
from tests.emulators.pve.server import agent_interfaces, windows_agent_interfaces
from tests.integration.conftest import (
    COLLECTIONS,
    PASSWORD,
    TOKEN_ID,
    TOKEN_SECRET,
    oldest_ansible_venv,
    run_ansible_playbook,
)

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
API = "/api2/json"
LOGIN = f"{API}/access/ticket"
RESOURCES = f"{API}/cluster/resources"


def plain(value):
    """ansible-inventory's JSON with the untrusted-string markers removed: {"__ansible_unsafe": "x"} -> "x"."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@dataclass
class InventoryRun:
    rc: int
    raw: dict | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def data(self):
        return plain(self.raw)

    @property
    def hostvars(self):
        return self.data["_meta"]["hostvars"]

    @property
    def hosts(self):
        return sorted(self.hostvars)

    def group(self, name):
        """The hosts of a group (empty when there is no such group)."""
        return sorted(self.data.get(name, {}).get("hosts", []))

    def address(self, host):
        return self.hostvars[host].get("ansible_host")


@pytest.fixture
def inventory(tmp_path):
    """inventory(config, env=None, verbosity=0, args=(), name="cluster") -> InventoryRun of ansible-inventory --list.

    config is the plugin's configuration as a dict (plugin: is added) or YAML text; it is written to
    <name>.proxmox.yml. Only this plugin is enabled and an unparsed source fails the run, so a plugin error
    is the run's error, as a user with `unparsed_is_failed` sees it.
    """
    counter = {"n": 0}

    def run(config, env=None, verbosity=0, args=(), name="cluster", suffix=".proxmox.yml", bin_dir=BIN):
        counter["n"] += 1
        workdir = tmp_path / f"inv{counter['n']}"
        workdir.mkdir()
        # The same file every time, as a user's: the cache key comes from its path.
        source = tmp_path / "sources" / f"{name}{suffix}"
        source.parent.mkdir(exist_ok=True)
        if isinstance(config, dict):
            config = yaml.safe_dump(dict({"plugin": "proxgate.core.proxmox"}, **config), sort_keys=False)
        source.write_text(config)
        output = workdir / "inventory.json"
        command = [str(bin_dir / "ansible-inventory"), "-i", str(source), "--list", "--output", str(output), *args]
        if verbosity:
            command.append("-" + "v" * verbosity)
        full_env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("PROXMOX_", "GUACAMOLE_", "ANSIBLE_"))}
        full_env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
            "ANSIBLE_INVENTORY_ENABLED": "proxgate.core.proxmox",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
            "ANSIBLE_HOME": str(workdir / "ansible-home"),
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        })
        full_env.update(env or {})
        started = time.monotonic()
        proc = subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=workdir, timeout=120,
                              check=False)
        seconds = time.monotonic() - started
        raw = json.loads(output.read_text()) if proc.returncode == 0 and output.exists() else None
        return InventoryRun(proc.returncode, raw, proc.stdout, proc.stderr, seconds)

    return run


@pytest.fixture
def api_calls(pve):
    """api_calls() -> (method, path) of every request since the last call, logins left out."""
    seen = {"n": 0}

    def calls():
        new = pve.pve.requests[seen["n"]:]
        seen["n"] = len(pve.pve.requests)
        return [(method, path) for method, path, _body in new if path != LOGIN]

    return calls


def agent_call(vmid, node="pve1"):
    return ("GET", f"{API}/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces")


def stop_agent(vm):
    """The guest's agent is down; ProxgatePve would boot it again at once if the guest had a start time."""
    vm.agent = None
    vm.started_at = None


# ------------------------------------------------------------------ hosts, addresses, groups, auth

@pytest.mark.each_auth
def test_hosts_addresses_and_groups_from_one_listing(inventory, pve, pve_env, auth_mode, api_calls):
    run = inventory({}, env=pve_env)
    assert run.rc == 0, run.stderr
    assert run.hosts == ["db01", "dns01", "web01", "win-desktop"], "the template is left out"
    assert run.address("web01") == "10.20.0.111"
    assert run.address("win-desktop") == "10.20.0.112"
    assert run.address("dns01") == "10.20.2.0", "a container's address from lxc/{vmid}/interfaces"
    assert "ansible_host" not in run.hostvars["db01"], "a stopped guest has no address"
    web = run.hostvars["web01"]
    assert web["proxmox_vmid"] == 101 and web["proxmox_node"] == "pve1" and web["proxmox_type"] == "qemu"
    assert web["proxmox_status"] == "running" and web["proxmox_pool"] == "production"
    assert web["proxmox_tags"] == ["linux", "web"]
    assert web["proxmox_ip_addresses"] == ["10.20.0.111", "2001:db8::65"]
    assert web["proxmox_maxmem"] == 2048 * 1024 ** 2 and web["proxmox_maxcpu"] == 2
    assert run.group("proxmox_tag_linux") == ["db01", "web01"]
    assert run.group("proxmox_tag_windows") == ["win-desktop"]
    assert run.group("proxmox_node_pve2") == ["db01", "win-desktop"]
    assert run.group("proxmox_pool_production") == ["web01", "win-desktop"]
    assert run.group("proxmox_type_lxc") == ["dns01"]
    assert run.group("proxmox_status_stopped") == ["db01"]
    # One listing for the whole cluster, then one call per running guest; nothing for the stopped one.
    calls = api_calls()
    assert calls[0] == ("GET", RESOURCES)
    assert sorted(calls[1:]) == sorted([agent_call(101), agent_call(102, "pve2"),
                                        ("GET", f"{API}/nodes/pve1/lxc/200/interfaces")])
    logins = [request for request in pve.pve.requests if request[1] == LOGIN]
    assert len(logins) == (1 if auth_mode == "ticket" else 0), "one login for every call, threads included"


@pytest.mark.parametrize("auth_mode", ["token"])
def test_api_values_stay_untrusted_and_are_never_templated(inventory, pve, pve_env):
    pve.pve.vm(101).config["description"] = "{{ 7 * 7 }}"
    run = inventory({"want_config": True, "compose": {"web_description": "proxmox_config.description"}},
                    env=pve_env)
    assert run.rc == 0, run.stderr
    assert run.hostvars["web01"]["proxmox_config"]["description"] == "{{ 7 * 7 }}"
    assert run.hostvars["web01"]["web_description"] == "{{ 7 * 7 }}"
    # ansible-inventory marks every string it does not trust; the API's are among them.
    assert run.raw["_meta"]["hostvars"]["web01"]["proxmox_node"] == {"__ansible_unsafe": "pve1"}


@pytest.mark.parametrize("auth_mode", ["token"])
def test_on_the_oldest_ansible_core_too(inventory, pve, pve_env):
    oldest_core = oldest_ansible_venv() / "bin"
    # Before 2.19 nothing is untrusted by default: the plugin's make_unsafe is what keeps API text untemplated.
    pve.pve.vm(101).config["description"] = "{{ 7 * 7 }}"
    run = inventory({"want_config": True, "compose": {"web_description": "proxmox_config.description"},
                     "hostname": "{{ proxmox_name }}.lab"}, env=pve_env, bin_dir=oldest_core)
    assert run.rc == 0, run.stderr
    assert run.address("web01.lab") == "10.20.0.111"
    assert run.hostvars["web01.lab"]["web_description"] == "{{ 7 * 7 }}"
    assert run.raw["_meta"]["hostvars"]["web01.lab"]["web_description"] == {"__ansible_unsafe": "{{ 7 * 7 }}"}


@pytest.mark.parametrize("auth_mode", ["token"])
def test_the_token_secret_may_be_a_template(inventory, pve, pve_env):
    env = dict(pve_env, MY_PVE_SECRET=TOKEN_SECRET)
    del env["PROXMOX_TOKEN_SECRET"]
    run = inventory({"api_token_secret": "{{ lookup('ansible.builtin.env', 'MY_PVE_SECRET') }}"}, env=env)
    assert run.rc == 0, run.stderr
    assert "web01" in run.hosts
    run = inventory({"api_token_secret": "{{ pve_secret }}"}, env=env, args=("-e", f"pve_secret={TOKEN_SECRET}"))
    assert run.rc == 0, run.stderr
    assert "web01" in run.hosts


def test_auth_options_in_the_file_instead_of_the_environment(inventory, pve):
    run = inventory({"api_url": pve.url, "api_user": "root@pam", "api_password": PASSWORD,
                     "ca_path": pve.certfile})
    assert run.rc == 0, run.stderr
    assert "web01" in run.hosts
    run = inventory({"api_url": pve.url, "api_token_id": TOKEN_ID, "api_token_secret": "wrong",
                     "ca_path": pve.certfile})
    assert run.rc != 0
    assert "cannot list the cluster's guests" in run.stderr and "401" in run.stderr


# ------------------------------------------------------------------ HTTPS

@pytest.mark.parametrize("auth_mode", ["token"])
def test_https_needs_the_ca_file_or_validate_certs_off(inventory, pve, pve_env):
    without_ca = {key: value for key, value in pve_env.items() if key != "PROXMOX_CA_PATH"}
    run = inventory({}, env=without_ca)
    assert run.rc != 0
    assert "not trusted" in run.stderr and "ca_path" in run.stderr
    run = inventory({"validate_certs": False}, env=without_ca)
    assert run.rc == 0, run.stderr
    run = inventory({}, env=dict(without_ca, PROXMOX_VALIDATE_CERTS="false"))
    assert run.rc == 0, run.stderr
    run = inventory({"ca_path": pve.certfile}, env=without_ca)
    assert run.rc == 0, run.stderr
    assert "web01" in run.hosts


# ------------------------------------------------------------------ constructed and filters

@pytest.mark.parametrize("auth_mode", ["token"])
def test_compose_groups_keyed_groups_and_filters(inventory, pve, pve_env, api_calls):
    run = inventory({
        "tags": ["linux", "windows"],
        "filters": [{"exclude": "proxmox_vmid == 103"}, {"include": "proxmox_node == 'pve2'"},
                    {"include": "'web' in proxmox_tags"}],
        "compose": {"ansible_user": "'admin' if 'windows' in proxmox_tags else 'debian'",
                    "ansible_connection": "'winrm' if 'windows' in proxmox_tags else 'ssh'"},
        "groups": {"big": "proxmox_maxmem >= 4 * 1024 ** 3"},
        "keyed_groups": [{"key": "proxmox_pool | default('none')", "prefix": "pool"}],
        "group_by": ["tag"],
    }, env=pve_env)
    assert run.rc == 0, run.stderr
    assert run.hosts == ["web01", "win-desktop"]
    assert run.hostvars["win-desktop"]["ansible_user"] == "admin"
    assert run.hostvars["win-desktop"]["ansible_connection"] == "winrm"
    assert run.hostvars["web01"]["ansible_user"] == "debian"
    assert run.group("big") == ["win-desktop"]
    assert run.group("pool_production") == ["web01", "win-desktop"]
    assert run.group("proxmox_tag_web") == ["web01"]
    assert run.group("proxmox_node_pve1") == [], "group_by leaves out the node groups"
    # Filtered-out guests (db01 by the filters, dns01 by tags) got no call of their own.
    assert sorted(api_calls()) == sorted([("GET", RESOURCES), agent_call(101), agent_call(102, "pve2")])


@pytest.mark.parametrize("auth_mode", ["token"])
def test_status_node_pool_and_type_filters_and_templates(inventory, pve_env, api_calls):
    run = inventory({"statuses": ["running"], "types": ["qemu"], "nodes": ["pve1", "pve2"],
                     "pools": ["production"]}, env=pve_env)
    assert run.rc == 0, run.stderr
    assert run.hosts == ["web01", "win-desktop"]
    api_calls()
    run = inventory({"exclude_templates": False, "want_addresses": False}, env=pve_env)
    assert run.rc == 0, run.stderr
    assert "debian-13-cloud" in run.hosts and run.hostvars["debian-13-cloud"]["proxmox_template"] is True
    assert api_calls() == [("GET", RESOURCES)], "want_addresses off: no per-guest call"
    assert all("ansible_host" not in hostvars for hostvars in run.hostvars.values())


# ------------------------------------------------------------------ naming

@pytest.mark.parametrize("auth_mode", ["token"])
def test_duplicate_names_and_guests_without_a_name(inventory, pve, pve_env):
    pve.pve.add_vm(150, "web01", node="pve2", status="stopped", config={"tags": "web"})
    unnamed = pve.pve.add_vm(151, None, node="pve1", status="stopped")
    unnamed.config.pop("name", None)
    run = inventory({}, env=pve_env)
    assert run.rc == 0, run.stderr
    assert run.hostvars["web01"]["proxmox_vmid"] == 101, "the lowest vmid keeps the name"
    assert run.hostvars["web01-150"]["proxmox_vmid"] == 150
    assert run.hostvars["qemu-151"]["proxmox_vmid"] == 151
    assert "proxmox_name" not in run.hostvars["qemu-151"] or run.hostvars["qemu-151"]["proxmox_name"] is None
    assert "share a host name" in run.stderr and "150 as web01-150" in run.stderr
    again = inventory({}, env=pve_env)
    assert again.hosts == run.hosts, "the same names on every run"


@pytest.mark.parametrize("auth_mode", ["token"])
def test_hostname_by_vmid_or_template(inventory, pve_env):
    run = inventory({"hostname": "vmid"}, env=pve_env)
    assert run.rc == 0, run.stderr
    assert run.hosts == ["101", "102", "103", "200"]
    run = inventory({"hostname": "{{ proxmox_name }}.{{ proxmox_node }}.lab"}, env=pve_env)
    assert run.rc == 0, run.stderr
    assert "web01.pve1.lab" in run.hosts and "dns01.pve1.lab" in run.hosts
    run = inventory({"hostname": "pve_name | upper", "prefix": "pve_"}, env=pve_env)
    assert run.rc == 0, run.stderr
    assert "WEB01" in run.hosts and run.hostvars["WEB01"]["pve_vmid"] == 101
    assert run.group("pve_tag_web") == ["WEB01"]
    # A template that fails for a guest names it by its name (strict off) or fails the inventory (strict on).
    run = inventory({"hostname": "proxmox_nmae | upper"}, env=pve_env, verbosity=1)
    assert run.rc == 0 and "web01" in run.hosts
    assert "hostname ('proxmox_nmae | upper') failed for guest 101" in run.stdout
    run = inventory({"hostname": "proxmox_nmae | upper", "strict": True}, env=pve_env)
    assert run.rc != 0 and "hostname ('proxmox_nmae | upper') failed for guest" in run.stderr


# ------------------------------------------------------------------ names a guest may not have (docs/security.md)

def one_line(text):
    """Ansible's output with its line wrapping undone, to look for a whole message."""
    return " ".join(text.split())


def live_counters_removed(data):
    for variables in data["_meta"]["hostvars"].values():
        for counter in ("proxmox_uptime", "proxmox_cpu", "proxmox_mem"):
            variables.pop(counter, None)
    return data


def add_running_vm(pve, vmid, name, interfaces=None, **extra):
    pve.pve.add_vm(vmid, name, node="pve1", status="running", config={"agent": "1"}, **extra)
    pve.pve.vm(vmid).agent = {"interfaces": interfaces if interfaces is not None
                              else agent_interfaces(DEMO_NETWORK, vmid)}


@pytest.mark.parametrize("auth_mode", ["token"])
def test_a_guest_named_like_the_controller_is_renamed_and_localhost_stays_the_controller(
        inventory, pve, pve_env, tmp_path):
    controller_names = {110: "localhost", 111: "127.0.0.1", 112: "::1"}
    for vmid, name in controller_names.items():
        add_running_vm(pve, vmid, name)
    run = inventory({}, env=pve_env)
    assert run.rc == 0, run.stderr
    warnings = one_line(run.stderr)
    for vmid, name in controller_names.items():
        assert name not in run.hosts
        host = f"qemu-{vmid}"
        assert run.hostvars[host]["proxmox_name"] == name and run.address(host) == f"10.20.0.{10 + vmid}"
        assert (f"guest {vmid} is named {name!r}, which a host may not be called: Ansible reads it as the "
                f"controller itself (implicit localhost)") in warnings
        assert f"It is {host} in this inventory" in warnings
    assert "web01" in run.hosts and run.address("web01") == "10.20.0.111", "the other guests keep their names"
    # What a user notices: a task delegated to localhost runs on the controller, not over SSH on guest 110.
    workdir = tmp_path / "play"
    workdir.mkdir()
    playbook = workdir / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Delegate to the controller", "hosts": "web01", "gather_facts": False,
        "tasks": [{"name": "On the controller", "delegate_to": "localhost",
                   "ansible.builtin.command": "echo on-the-controller", "changed_when": False}]}]))
    env = dict(pve_env, ANSIBLE_INVENTORY_ENABLED="proxgate.core.proxmox", ANSIBLE_TIMEOUT="3")
    source = tmp_path / "sources" / "cluster.proxmox.yml"
    played = run_ansible_playbook([str(BIN / "ansible-playbook"), "-i", str(source), str(playbook)], workdir, env)
    assert played.rc == 0, played.stdout + played.stderr
    assert played.result("On the controller")["stdout"] == "on-the-controller"


@pytest.mark.parametrize("auth_mode", ["token"])
def test_a_guest_named_like_a_group_is_renamed_and_the_rest_of_the_inventory_is_unchanged(inventory, pve, pve_env):
    config = {"keyed_groups": [{"key": "proxmox_pool | default('none')", "prefix": "pool"}],
              "groups": {"big": "proxmox_maxmem >= 4 * 1024 ** 3"}}
    before = inventory(config, env=pve_env)
    assert before.rc == 0, before.stderr
    assert before.group("pool_none") == ["db01", "dns01"]
    group_names = {120: "all", 121: "ungrouped", 122: "proxmox_pool_production", 123: "proxmox_tag_web",
                   124: "proxmox_node_pve2", 125: "pool_production", 126: "big", 127: "pool_none"}
    for vmid, name in group_names.items():
        # Stopped, on pve1, in no pool: each joins only groups the inventory has already.
        pve.pve.add_vm(vmid, name, node="pve1", status="stopped", config={"agent": "1"})
    after = inventory(config, env=pve_env)
    assert after.rc == 0, after.stderr
    warnings = one_line(after.stderr)
    renamed = {f"qemu-{vmid}" for vmid in group_names}
    for vmid, name in group_names.items():
        assert after.hostvars[f"qemu-{vmid}"]["proxmox_name"] == name
        assert f"guest {vmid} is named {name!r}, which a host may not be called" in warnings
        assert f"It is qemu-{vmid} in this inventory" in warnings
    assert "from keyed_groups" in warnings or "(made by keyed_groups)" in warnings, "pool_none is only made by one"
    assert sorted(after.hosts) == sorted(before.hosts + list(renamed))
    assert after.group("pool_none") == ["db01", "dns01", *sorted(renamed)]
    # Without the renamed guests, every other host, group, member and variable is as it was (but the live
    # counters, which change from one listing to the next).
    others = live_counters_removed(after.data)
    for host in renamed:
        del others["_meta"]["hostvars"][host]
    for group in others.values():
        if "hosts" in group:
            group["hosts"] = [host for host in group["hosts"] if host not in renamed]
            if not group["hosts"]:
                del group["hosts"]
    assert others == live_counters_removed(before.data)


# Addresses a guest's agent may report that are not the guest's: (address, prefix).
NOT_THE_GUESTS = [("0.0.0.0", 8), ("::", 128), ("224.0.0.251", 4), ("ff02::1", 16), ("255.255.255.255", 32),
                  ("10.20.255.255", 16), ("::ffff:127.0.0.1", 104), ("::ffff:169.254.169.254", 112),
                  ("127.0.0.53", 8), ("169.254.169.254", 16), ("fe80::1", 64), ("240.0.0.1", 4)]


def eth0(*addresses):
    return [{"name": "eth0", "hardware-address": "bc:24:11:00:09:99", "ip-addresses": [
        {"ip-address": address, "ip-address-type": "ipv6" if ":" in address else "ipv4", "prefix": prefix}
        for address, prefix in addresses]}]


@pytest.mark.parametrize("auth_mode", ["token"])
def test_only_a_global_or_private_unicast_address_becomes_ansible_host(inventory, pve, pve_env):
    for vmid, reported in enumerate(NOT_THE_GUESTS, start=130):
        add_running_vm(pve, vmid, f"hostile{vmid}", interfaces=eth0(reported))
    add_running_vm(pve, 150, "all-of-them", interfaces=eth0(*NOT_THE_GUESTS, ("10.20.0.150", 16)))
    add_running_vm(pve, 151, "shared-space", interfaces=eth0(*NOT_THE_GUESTS, ("100.64.7.7", 10)))
    run = inventory({"address_family": "any"}, env=pve_env, verbosity=1)
    assert run.rc == 0, run.stderr
    for vmid, (address, _prefix) in enumerate(NOT_THE_GUESTS, start=130):
        assert "ansible_host" not in run.hostvars[f"hostile{vmid}"], address
        assert run.hostvars[f"hostile{vmid}"]["proxmox_ip_addresses"] == [], address
        assert f"hostile{vmid} (vmid {vmid}) has no address: no address passed the filters" in run.stdout
    assert run.address("all-of-them") == "10.20.0.150"
    assert run.hostvars["all-of-them"]["proxmox_ip_addresses"] == ["10.20.0.150"]
    assert run.address("shared-space") == "100.64.7.7"
    assert run.address("web01") == "10.20.0.111"


@pytest.mark.parametrize("auth_mode", ["token"])
def test_agent_replies_are_bounded_and_the_other_hosts_are_unaffected(inventory, pve, pve_env):
    deep = "bottom"
    for _level in range(300):
        deep = {"down": deep}
    add_running_vm(pve, 160, "deep-os")
    pve.pve.vm(160).agent["os"] = {"id": "debian", "name": "x" * 5000, "nested": deep}
    many = [{"name": f"veth{n}", "hardware-address": "bc:24:11:00:00:01",
             "ip-addresses": [{"ip-address": f"10.30.{n // 250}.{n % 250 + 1}", "ip-address-type": "ipv4",
                               "prefix": 16}]} for n in range(100_000)]
    add_running_vm(pve, 161, "many-nics", interfaces=many)
    config = {"want_os_info": True, "want_interfaces": True}
    run = inventory(config, env=pve_env)
    assert run.rc == 0, run.stderr
    warnings = one_line(run.stderr)
    os_info = run.hostvars["deep-os"]["proxmox_os"]
    assert os_info["id"] == "debian" and os_info["name"] == "x" * 1024
    assert os_info["nested"] == {"down": {"down": {"down": {}}}}, "four levels, the rest dropped"
    assert "guest 160 (deep-os) sent more than the inventory keeps, the rest was dropped: os: " in warnings
    assert "os: nesting deeper than 4 levels dropped" in warnings
    assert "os: strings over 1024 characters cut" in warnings
    interfaces = run.hostvars["many-nics"]["proxmox_interfaces"]
    assert len(interfaces) == 256 and interfaces[-1]["name"] == "veth255"
    assert len(run.hostvars["many-nics"]["proxmox_ip_addresses"]) == 256
    assert run.address("many-nics") == "10.30.0.1"
    assert ("guest 161 (many-nics) sent more than the inventory keeps, the rest was dropped: interfaces: 100000 "
            "reported, the first 256 kept") in warnings
    assert len(json.dumps(run.hostvars["many-nics"])) < 100_000
    # The other hosts are as they are without the two.
    for vmid in (160, 161):
        pve.pve.vm(vmid).status = "stopped"
    alone = inventory(config, env=pve_env)
    for host in ("web01", "win-desktop", "dns01", "db01"):
        assert live_counters_removed(run.data)["_meta"]["hostvars"][host] == \
            live_counters_removed(alone.data)["_meta"]["hostvars"][host], host


# ------------------------------------------------------------------ agents that do not answer

@pytest.mark.parametrize("auth_mode", ["token"])
def test_agent_failures_keep_the_host_without_an_address(inventory, pve, pve_env):
    stop_agent(pve.pve.vm(101))
    pve.pve.vm(102).agent = {"interfaces": windows_agent_interfaces(DEMO_NETWORK, 102, with_addresses=False)}
    pve.pve.add_vm(104, "hung", node="pve1", status="running", config={"agent": "1"})
    pve.pve.vm(104).agent, pve.pve.vm(104).agent_hangs = {"interfaces": []}, True
    pve.pve.agent_hang_secs = 4  # longer than call_timeout; the server answers it before it stops
    pve.pve.add_vm(105, "noagent", node="pve1", status="running", config={})
    run = inventory({"call_timeout": 1}, env=pve_env, verbosity=1)
    assert run.rc == 0, run.stderr
    assert {"web01", "win-desktop", "hung", "noagent", "dns01"} <= set(run.hosts)
    for host in ("web01", "win-desktop", "hung", "noagent"):
        assert "ansible_host" not in run.hostvars[host], host
    assert run.address("dns01") == "10.20.2.0", "the others still get theirs"
    assert run.seconds < 30
    lines = run.stdout.splitlines()

    def line_for(host):
        found = [line for line in lines if line.startswith(f"proxgate.core.proxmox: {host} (vmid")]
        assert len(found) <= 1, found
        return found[0] if found else None

    assert "QEMU guest agent is not running" in line_for("web01")
    assert "reported interfaces without addresses (Ethernet, isatap" in line_for("win-desktop")
    assert "no answer within call_timeout (1s)" in line_for("hung"), "our timeout, not the node's answer after 4 s"
    assert line_for("noagent") is None, "no agent configured is normal, not worth a line"
    # An agent that is not running, or has no address yet, is how the guest is; a call that timed out is a read
    # that failed: only that host is marked incomplete, and a warning says so at every verbosity.
    assert run.group("proxmox_incomplete") == ["hung"]
    assert run.hostvars["hung"]["proxmox_incomplete"] == ["addresses"]
    assert not any("proxmox_incomplete" in run.hostvars[host] for host in ("web01", "win-desktop", "noagent", "dns01"))
    quiet = inventory({"call_timeout": 1}, env=pve_env)
    said = [line for line in (quiet.stdout + quiet.stderr).splitlines() if "proxgate.core.proxmox" in line]
    assert len(said) == 1 and said[0].startswith("[WARNING]: proxgate.core.proxmox: 1 host could not be read in full")
    assert said[0].endswith("hung (vmid 104): addresses: no answer within call_timeout (1s)"), \
        "without -v, only the incomplete host: the others' reasons are -v lines"


@pytest.mark.parametrize("auth_mode", ["token"])
def test_address_options_choose_interface_network_and_family(inventory, pve, pve_env):
    pve.pve.add_ct(201, "ct-v6", node="pve1", status="running",
                   config={"net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:01,ip=192.168.7.5/24,"
                                   "ip6=2001:db8::201/64",
                           "net1": "name=mgmt0,bridge=vmbr1,hwaddr=BC:24:11:00:02:02,ip=10.99.0.5/24"})
    run = inventory({"address_family": "prefer_ipv6"}, env=pve_env)
    assert run.rc == 0, run.stderr
    assert run.address("web01") == "2001:db8::65"
    assert run.address("ct-v6") == "2001:db8::201"
    run = inventory({"address_networks": ["10.99.0.0/16"]}, env=pve_env)
    assert run.address("ct-v6") == "10.99.0.5"
    assert "ansible_host" not in run.hostvars["web01"], "no address of web01 is in 10.99.0.0/16"
    run = inventory({"address_interface": "eth*", "address_family": "ipv4", "want_interfaces": True},
                    env=pve_env)
    assert run.address("ct-v6") == "192.168.7.5"
    assert [iface["name"] for iface in run.hostvars["ct-v6"]["proxmox_interfaces"]] == ["lo", "eth0", "mgmt0"]


# ------------------------------------------------------------------ config, snapshots, OS

@pytest.mark.parametrize("auth_mode", ["token"])
def test_want_config_snapshots_and_os_info(inventory, pve, pve_env, api_calls):
    pve.pve.vm(101).snapshots = {"before-upgrade": {"snaptime": 1700000000, "description": "", "config": {}}}
    pve.pve.add_vm(105, "agentless", node="pve1", status="running", config={"cores": 1})
    run = inventory({"want_config": True, "want_snapshots": True, "want_os_info": True, "types": ["qemu"]},
                    env=pve_env)
    assert run.rc == 0, run.stderr
    web = run.hostvars["web01"]
    assert web["proxmox_config"]["cores"] == 2 and "digest" not in web["proxmox_config"]
    assert web["proxmox_snapshots"] == ["before-upgrade"]
    assert web["proxmox_os"]["id"] == "debian"
    assert run.hostvars["db01"]["proxmox_config"]["memory"] in (4096, "4096")
    calls = api_calls()
    # The agent is only asked where the config enables it and the guest runs.
    assert agent_call(105) not in calls and agent_call(103, "pve2") not in calls
    assert agent_call(101) in calls and ("GET", f"{API}/nodes/pve1/qemu/101/agent/get-osinfo") in calls
    assert ("GET", f"{API}/nodes/pve2/qemu/103/config") in calls


# ------------------------------------------------------------------ cache

@pytest.mark.parametrize("auth_mode", ["ticket"])
def test_a_cached_run_makes_no_request(inventory, pve, pve_env, tmp_path):
    config = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile",
              "cache_connection": str(tmp_path / "cache"), "cache_timeout": 600}
    first = inventory(config, env=pve_env)
    assert first.rc == 0, first.stderr
    seen = len(pve.pve.requests)
    assert seen >= 4
    pve.pve.vm(101).name = "renamed-since"
    second = inventory(config, env=pve_env)
    assert second.rc == 0, second.stderr
    assert len(pve.pve.requests) == seen, "no request at all, not even a login"
    assert second.data == first.data, "the same inventory, from the cache"
    # Naming, addresses and groups are made from the cached data: no request for those either.
    renamed = inventory(dict(config, hostname="vmid", address_family="prefer_ipv6", compose={"x": "1"}), env=pve_env)
    assert len(pve.pve.requests) == seen
    assert renamed.address("101") == "2001:db8::65" and renamed.hostvars["101"]["x"] == 1
    # Other settings are another inventory: fetched again, not misread from the cache.
    third = inventory(dict(config, tags=["web"]), env=pve_env)
    assert len(pve.pve.requests) > seen and third.hosts == ["renamed-since"]
    seen = len(pve.pve.requests)
    flushed = inventory(config, env=pve_env, args=("--flush-cache",))
    assert len(pve.pve.requests) > seen and "renamed-since" in flushed.hosts
    seen = len(pve.pve.requests)
    assert inventory(config, env=pve_env).hosts == flushed.hosts
    assert len(pve.pve.requests) == seen, "the flushed run refreshed the cache"


# ------------------------------------------------------------------ refresh: reuse_addresses

def expire(cache_dir):
    """The inventory cache's timeout has passed (its files are 2 hours old), as on the next morning."""
    old = time.time() - 7200
    files = [path for path in Path(cache_dir).iterdir() if path.is_file()]
    assert files, "a cache was written"
    for path in files:
        os.utime(path, (old, old))


def up_for_an_hour(pve):
    for guest in (*pve.pve.vms, *pve.pve.cts):
        if guest.status == "running":
            guest.started_at = time.time() - 3600


REUSE = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_timeout": 600, "reuse_addresses": True}
RUNNING = [agent_call(101), agent_call(102, "pve2"), ("GET", f"{API}/nodes/pve1/lxc/200/interfaces")]


@pytest.fixture
def refreshed(inventory, pve, pve_env, api_calls, tmp_path):
    """refreshed(change=None, **options) -> (run, per-guest calls): a first run fills the cache with every guest's
    address, its timeout passes, `change` alters the cluster, and the next run (with `options`) refreshes it."""
    up_for_an_hour(pve)
    config = dict(REUSE, cache_connection=str(tmp_path / "cache"))
    first = inventory(config, env=pve_env)
    assert first.rc == 0, first.stderr
    assert sorted(api_calls()) == sorted([("GET", RESOURCES), *RUNNING])
    addresses = {host: first.address(host) for host in first.hosts}

    def refresh(change=None, args=(), expired=True, **options):
        if expired:
            expire(tmp_path / "cache")
        if change:
            change(pve)
        run = inventory(dict(config, **options), env=pve_env, args=args)
        assert run.rc == 0, run.stderr
        calls = api_calls()
        if expired:
            assert calls.count(("GET", RESOURCES)) == 1, "one listing"
        return run, sorted(call for call in calls if call != ("GET", RESOURCES))

    refresh.addresses = addresses
    return refresh


@pytest.mark.parametrize("auth_mode", ["token"])
def test_an_expired_cache_is_refreshed_with_one_listing_when_no_guest_restarted(refreshed, pve):
    run, calls = refreshed()
    assert calls == [], "no guest is asked again"
    assert {host: run.address(host) for host in run.hosts} == refreshed.addresses
    # The refresh's listing is used (not the old one): a renamed guest has its new name, with its kept address.
    run, calls = refreshed(lambda cluster: setattr(cluster.pve.vm(101), "name", "web01-renamed"))
    assert calls == [] and run.address("web01-renamed") == "10.20.0.111"
    # And the refresh wrote the cache again: a run within cache_timeout makes no request at all.
    seen = len(pve.pve.requests)
    cached, _calls = refreshed(expired=False)
    assert len(pve.pve.requests) == seen and cached.data == run.data


def reboot(vmid):
    def change(cluster):
        cluster.pve.vm(vmid).started_at = time.time()
        cluster.pve.vm(vmid).agent = {"interfaces": eth0(("10.20.9.9", 16))}
    return change


def move(vmid, node):
    def change(cluster):
        cluster.pve.vm(vmid).node = node
    return change


def stop_container(vmid):
    def change(cluster):
        cluster.pve.ct(vmid).status = "stopped"
        cluster.pve.ct(vmid).started_at = None
    return change


@pytest.mark.parametrize("auth_mode", ["token"])
def test_a_guest_without_an_agent_is_not_asked_again_until_it_restarts(inventory, pve, pve_env, api_calls, tmp_path):
    pve.pve.add_vm(151, "no-agent", node="pve1", status="running", config={})
    up_for_an_hour(pve)
    config = dict(REUSE, cache_connection=str(tmp_path / "cache"))
    assert inventory(config, env=pve_env).rc == 0
    assert agent_call(151) in api_calls()
    expire(tmp_path / "cache")
    run = inventory(config, env=pve_env)
    assert api_calls() == [("GET", RESOURCES)], "'No QEMU guest agent configured' holds until a restart"
    assert "ansible_host" not in run.hostvars["no-agent"]
    pve.pve.vm(151).config["agent"] = "1"
    pve.pve.vm(151).started_at = time.time()
    pve.pve.vm(151).agent = {"interfaces": eth0(("10.20.9.151", 16))}
    expire(tmp_path / "cache")
    run = inventory(config, env=pve_env)
    assert api_calls() == [("GET", RESOURCES), agent_call(151)]
    assert run.address("no-agent") == "10.20.9.151"


@pytest.mark.parametrize("auth_mode", ["token"])
def test_a_guest_that_rebooted_is_asked_again_and_gets_its_new_address(refreshed):
    run, calls = refreshed(reboot(101))
    assert calls == [agent_call(101)]
    assert run.address("web01") == "10.20.9.9", "the address it has since the reboot"
    assert run.address("win-desktop") == refreshed.addresses["win-desktop"]


@pytest.mark.parametrize("auth_mode", ["token"])
def test_a_guest_that_moved_to_another_node_is_asked_again(refreshed):
    run, calls = refreshed(move(102, "pve1"))
    assert calls == [agent_call(102, "pve1")]
    assert run.address("win-desktop") == "10.20.0.112" and run.hostvars["win-desktop"]["proxmox_node"] == "pve1"


@pytest.mark.parametrize("auth_mode", ["token"])
def test_a_new_guest_is_asked(refreshed):
    def add(cluster):
        add_running_vm(cluster, 150, "new01")
        cluster.pve.vm(150).started_at = time.time() - 3600
    run, calls = refreshed(add)
    assert calls == [agent_call(150)], "only the new guest, even though it has been up for an hour"
    assert run.address("new01") == "10.20.0.160"


@pytest.mark.parametrize("auth_mode", ["token"])
def test_a_stopped_guest_loses_its_address_and_is_asked_when_it_runs_again(refreshed, pve):
    run, calls = refreshed(stop_container(200))
    assert calls == [] and "ansible_host" not in run.hostvars["dns01"], "a stopped guest keeps no old address"

    def start(cluster):
        cluster.pve.ct(200).status = "running"
        cluster.pve.ct(200).started_at = time.time() - 3600  # even with an uptime that looks old enough
    run, calls = refreshed(start)
    assert calls == [("GET", f"{API}/nodes/pve1/lxc/200/interfaces")]
    assert run.address("dns01") == "10.20.2.0"


@pytest.mark.parametrize("auth_mode", ["token"])
def test_an_address_older_than_the_max_age_is_asked_again(refreshed):
    time.sleep(2.2)
    run, calls = refreshed(reuse_addresses_max_age=2)
    assert calls == sorted(RUNNING), "every address is over 2 seconds old"
    # Those were asked now: younger than the max age, kept on the next refresh.
    run, calls = refreshed(reuse_addresses_max_age=60)
    assert calls == []


@pytest.mark.parametrize("auth_mode", ["token"])
def test_flush_cache_or_reuse_addresses_off_asks_every_guest(refreshed):
    _run, calls = refreshed(args=("--flush-cache",))
    assert calls == sorted(RUNNING)
    _run, calls = refreshed(reuse_addresses=False)
    assert calls == sorted(RUNNING), "off by default: an expired cache is read again in full"


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("auth_mode", ["token"])
@pytest.mark.parametrize(("config", "words"), [
    ({"concurrency": "lots"}, ["concurrency"]),
    ({"concurrency": 0}, ["concurrency", "between 1 and 64"]),
    ({"address_networks": ["10.0.0.300/8"]}, ["address_networks", "10.0.0.300/8"]),
    ({"address_family": "ipv5"}, ["address_family", "ipv5"]),
    ({"filters": [{"keep": "true"}]}, ["filters[0]", "include or exclude"]),
    ({"call_timeout": -1}, ["call_timeout"]),
    ({"api_url": "pve.example.com"}, ["api_url", "http(s) URL"]),
    ({"want_confg": True}, ["unknown option", "want_confg (did you mean want_config?)"]),
])
def test_a_malformed_config_fails_with_the_option_named(inventory, pve_env, config, words):
    run = inventory(config, env=pve_env)
    assert run.rc != 0
    for word in words:
        assert word in run.stderr, (word, run.stderr)
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("auth_mode", ["token"])
def test_missing_auth_and_other_file_names(inventory, pve, pve_env):
    run = inventory({}, env={"PROXMOX_URL": pve.url})
    assert run.rc != 0
    assert "api_token_id" in run.stderr and "api_password" in run.stderr
    run = inventory({}, env={})
    assert run.rc != 0 and "api_url" in run.stderr
    # Only *.proxmox.yml / *.proxmox.yaml are this plugin's; another name is not read at all.
    assert inventory({}, env=pve_env, suffix=".proxmox.yaml").rc == 0
    other = inventory({}, env=pve_env, suffix=".yml")
    assert other.rc != 0 and "web01" not in other.stdout


# ------------------------------------------------------------------ the documentation's examples

DOCS = Path(__file__).resolve().parents[2] / "docs" / "inventory.md"
CONNECTION_KEYS = ("api_url", "api_token_id", "api_token_secret", "ca_path")


def doc_examples():
    blocks = DOCS.read_text().split("```yaml\n")[1:]
    return [yaml.safe_load(block.split("```")[0]) for block in blocks if block.startswith("plugin:")]


@pytest.mark.parametrize("auth_mode", ["token"])
def test_the_documented_examples_work(inventory, pve_env, tmp_path):
    examples = doc_examples()
    assert len(examples) == 3
    runs = []
    for example in examples:
        # The connection comes from the environment here; the rest is run as documented.
        config = {key: value for key, value in example.items() if key not in CONNECTION_KEYS}
        if "cache_connection" in config:
            config["cache_connection"] = str(tmp_path / "doc-cache")
        run = inventory(yaml.safe_dump(config), env=pve_env)
        assert run.rc == 0, (example, run.stderr)
        runs.append(run)
    simple, grouped, cached = runs
    assert simple.hosts == ["db01", "dns01", "web01", "win-desktop"]
    assert grouped.hosts == ["web01", "win-desktop"]
    assert grouped.hostvars["win-desktop"]["ansible_connection"] == "winrm"
    assert grouped.hostvars["win-desktop"]["ansible_port"] == 5986
    assert grouped.group("big_memory") == ["win-desktop"]
    assert grouped.group("runs_on_pve1") == ["web01"]
    assert cached.hosts == simple.hosts

"""The inventory plugin's logic without Ansible: choosing guests, naming hosts, the per-guest calls
(which ones, how many at once, what a failure leaves) and the host variables and groups."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxConnectionError,
)
from ansible_collections.proxgate.core.plugins.plugin_utils.proxmox_inventory import (
    GuestCalls,
    agent_enabled,
    bounded,
    duplicates_message,
    fallback_name,
    fingerprint,
    group_names,
    host_variables,
    keep_guest,
    name_problem,
    safe_names,
    unique_names,
    why_no_address,
)


def guest(vmid, name=None, kind="qemu", status="running", node="pve1", **extra):
    entry = {"id": f"{kind}/{vmid}", "vmid": vmid, "type": kind, "status": status, "node": node, "template": 0}
    if name is not None:
        entry["name"] = name
    entry.update(extra)
    return entry


# ------------------------------------------------------------------------ naming

def test_unique_names_keep_unique_ones_and_give_the_lowest_vmid_a_shared_name():
    names, duplicates = unique_names([(105, "web"), (101, "web"), (102, "db"), (130, "web")])
    assert names == {101: "web", 105: "web-105", 130: "web-130", 102: "db"}
    assert duplicates == {"web": [101, 105, 130]}


def test_unique_names_are_the_same_whatever_the_order_of_the_list():
    wanted = [(105, "web"), (101, "web"), (102, "db"), (130, "web"), (7, "db")]
    assert unique_names(wanted) == unique_names(list(reversed(wanted)))


def test_a_renamed_duplicate_never_takes_another_guests_name():
    # Guest 200 really is called web-105: the second 'web' cannot become web-105 too.
    names, _dups = unique_names([(101, "web"), (105, "web"), (200, "web-105")])
    assert names[200] == "web-105"
    assert names[105] not in ("web", "web-105")
    assert len(set(names.values())) == 3


def test_duplicates_message_says_who_got_which_name():
    names, duplicates = unique_names([(101, "web"), (105, "web")])
    message = duplicates_message(duplicates, names)
    assert "'web'" in message and "101 as web" in message and "105 as web-105" in message


def test_fallback_name_for_guests_without_a_name():
    assert fallback_name(guest(105)) == "qemu-105"
    assert fallback_name(guest(200, kind="lxc")) == "lxc-200"


def test_names_of_the_controller_and_of_groups_are_refused():
    for name in ("localhost", "127.0.0.1", "::1"):
        assert "implicit localhost" in name_problem(name)
    assert "built-in group" in name_problem("all") and "built-in group" in name_problem("ungrouped")
    assert "a group of this inventory" in name_problem("proxmox_tag_web", {"proxmox_tag_web"})
    assert name_problem("Localhost") is None and name_problem("web01", {"proxmox_tag_web"}) is None


def test_a_refused_name_becomes_the_fallback_without_displacing_a_guest_that_has_it():
    # Guest 120 really is called qemu-105: guest 105, named localhost, does not take that name from it.
    wanted = [(101, "web"), (105, "localhost"), (120, "qemu-105"), (130, "big"), (131, "web")]
    fallbacks = {vmid: f"qemu-{vmid}" for vmid, _name in wanted}
    names, duplicates, refused = safe_names(wanted, fallbacks, {"big", "web-131"})
    assert names == {101: "web", 105: "qemu-105-2", 120: "qemu-105", 130: "qemu-130", 131: "qemu-131"}
    assert set(refused) == {105, 130, 131} and refused[105][0] == "localhost"
    assert refused[131] == ("web-131", name_problem("web-131", {"web-131"})), "a duplicate's name is checked too"
    assert duplicates == {"web": [101, 131]}


# --------------------------------------------------------------------- filtering

def test_keep_guest_filters():
    web = guest(101, "web01", tags="web;Linux", pool="production", node="pve2")
    assert keep_guest(web)
    assert not keep_guest(guest(9000, "tpl", template=1))
    assert keep_guest(guest(9000, "tpl", template=1), exclude_templates=False)
    assert keep_guest(web, nodes=["pve2"]) and not keep_guest(web, nodes=["pve1"])
    assert keep_guest(web, pools=["production"]) and not keep_guest(web, pools=["lab"])
    assert not keep_guest(guest(102, "nopool"), pools=["production"])
    assert keep_guest(web, tags=["LINUX", "db"]), "any one tag, case-insensitive"
    assert not keep_guest(web, tags=["db"])
    assert not keep_guest(guest(103, "untagged"), tags=["web"])
    assert keep_guest(web, statuses=["running"]) and not keep_guest(web, statuses=["stopped"])
    assert keep_guest(web, types=["qemu"]) and not keep_guest(web, types=["lxc"])


@pytest.mark.parametrize(("value", "enabled"), [
    ("1", True), (1, True), ("enabled=1,fstrim_cloned_disks=1", True), ("0", False),
    ("enabled=0", False), (None, False), ("", False), ("type=virtio", False),
])
def test_agent_enabled_reads_the_config_value(value, enabled):
    assert agent_enabled(value) is enabled


# ---------------------------------------------------------------- per-guest calls

AGENT_REPLY = {"result": [
    {"name": "lo", "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]},
    {"name": "eth0", "hardware-address": "bc:24:11:00:00:01",
     "ip-addresses": [{"ip-address": "10.20.0.5", "ip-address-type": "ipv4", "prefix": 16}]}]}


class FakeClient:
    """Answers GETs from a table {path suffix: reply or exception}; counts calls and calls at once."""

    def __init__(self, answers, delay=0.0):
        self.answers = answers
        self.delay = delay
        self.paths = []
        self.running = 0
        self.most_at_once = 0
        self.lock = threading.Lock()

    def get(self, path, **_params):
        with self.lock:
            self.paths.append(path)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self.delay)
            for suffix, answer in self.answers.items():
                if path.endswith(suffix):
                    if isinstance(answer, Exception):
                        raise answer
                    return answer
            raise ProxmoxApiError("GET", path, 500, "Configuration file does not exist")
        finally:
            with self.lock:
                self.running -= 1


def not_running(vmid):
    return ProxmoxApiError("GET", f"/nodes/pve1/qemu/{vmid}/agent/network-get-interfaces", 500,
                           "QEMU guest agent is not running")


def test_only_running_guests_are_asked_and_only_once_each():
    guests = [guest(101, "web"), guest(102, "off", status="stopped"), guest(103, "paused", status="paused"),
              guest(200, "ct", kind="lxc"), guest(201, "ctoff", kind="lxc", status="stopped")]
    client = FakeClient({"/101/agent/network-get-interfaces": AGENT_REPLY,
                         "/lxc/200/interfaces": [{"name": "eth0", "hwaddr": "x", "inet": "10.20.2.0/16"}]})
    details = GuestCalls(client).fetch(guests)
    assert sorted(client.paths) == ["/nodes/pve1/lxc/200/interfaces",
                                    "/nodes/pve1/qemu/101/agent/network-get-interfaces"]
    assert set(details) == {"101", "200"}
    assert details["101"]["interfaces"][1]["addresses"][0]["address"] == "10.20.0.5"
    assert details["200"]["interfaces"][0]["addresses"][0]["address"] == "10.20.2.0"


def test_no_calls_at_all_when_addresses_are_not_wanted():
    client = FakeClient({})
    assert GuestCalls(client, want_addresses=False).fetch([guest(101, "web"), guest(200, "ct", kind="lxc")]) == {}
    assert client.paths == []


def test_agent_failures_leave_the_guest_without_interfaces_and_say_why():
    guests = [guest(101, "noagent"), guest(102, "down"), guest(103, "gone"), guest(104, "denied")]
    client = FakeClient({
        "/101/agent/network-get-interfaces": ProxmoxApiError("GET", "/x", 500, "No QEMU guest agent configured\n"),
        "/102/agent/network-get-interfaces": not_running(102),
        "/103/agent/network-get-interfaces": ProxmoxConnectionError("GET /x failed: cannot reach: ReadTimeout"),
        "/104/agent/network-get-interfaces": ProxmoxApiError("GET", "/x", 403,
                                                             "Permission check failed (/vms/104, VM.Monitor)"),
    })
    details = GuestCalls(client).fetch(guests)
    assert all("interfaces" not in found for found in details.values())
    assert details["101"]["agent"] == "No QEMU guest agent configured"
    assert why_no_address(guests[0], details["101"]) is None, "no agent configured is normal, not worth a line"
    assert why_no_address(guests[1], details["102"]) == "HTTP 500 QEMU guest agent is not running"
    assert "ReadTimeout" in why_no_address(guests[2], details["103"])
    assert "VM.Monitor" in why_no_address(guests[3], details["104"])


def test_with_want_config_the_agent_is_asked_only_when_the_config_enables_it():
    guests = [guest(101, "agent"), guest(102, "noagent"), guest(103, "off", status="stopped")]
    client = FakeClient({"/101/config": {"agent": "1", "cores": 2, "digest": "abc"},
                         "/102/config": {"cores": 1}, "/103/config": {"agent": "1"},
                         "/101/agent/network-get-interfaces": AGENT_REPLY})
    details = GuestCalls(client, want_config=True).fetch(guests)
    assert sorted(client.paths) == ["/nodes/pve1/qemu/101/agent/network-get-interfaces",
                                    "/nodes/pve1/qemu/101/config", "/nodes/pve1/qemu/102/config",
                                    "/nodes/pve1/qemu/103/config"]
    assert details["101"]["config"] == {"agent": "1", "cores": 2}, "the digest is not a setting"
    assert details["102"]["agent"] == "disabled in the config"
    assert "interfaces" in details["101"]


def test_snapshots_and_os_info_when_asked():
    client = FakeClient({
        "/101/snapshot": [{"name": "before-upgrade", "snaptime": 1}, {"name": "current", "running": 1}],
        "/101/agent/network-get-interfaces": AGENT_REPLY,
        "/101/agent/get-osinfo": {"result": {"id": "debian", "version-id": "13"}},
        "/102/agent/network-get-interfaces": not_running(102),
        "/102/snapshot": [{"name": "current"}],
    })
    details = GuestCalls(client, want_snapshots=True, want_os_info=True).fetch([guest(101, "a"), guest(102, "b")])
    assert details["101"]["snapshots"] == ["before-upgrade"]
    assert details["101"]["os"] == {"id": "debian", "version-id": "13"}
    assert details["102"]["snapshots"] == []
    assert "os" not in details["102"]
    assert not any(path.endswith("/102/agent/get-osinfo") for path in client.paths), \
        "an agent that did not answer is not asked again"


def test_calls_run_concurrently_but_never_more_than_asked():
    guests = [guest(vmid, f"vm{vmid}") for vmid in range(100, 140)]
    client = FakeClient({"network-get-interfaces": AGENT_REPLY}, delay=0.05)
    started = time.monotonic()
    details = GuestCalls(client, concurrency=8).fetch(guests)
    elapsed = time.monotonic() - started
    assert len(details) == 40 and len(client.paths) == 40
    assert client.most_at_once == 8
    assert elapsed < 40 * 0.05 / 2, "overlapping, not one after the other"


# ----------------------------------------------------------------- variables, groups

def test_host_variables_with_prefix_and_address():
    web = guest(101, "web01", tags="web;linux", pool="production", maxmem=2147483648, cpu=0.02, netin=5)
    details = {"interfaces": [{"name": "eth0", "hwaddr": "x", "addresses": [
        {"address": "fe80::1", "prefix": 64, "family": "ipv6"}, {"address": "2001:db8::5", "prefix": 64,
                                                                 "family": "ipv6"},
        {"address": "10.0.0.5", "prefix": 24, "family": "ipv4"}]}]}
    variables, address = host_variables(web, details, prefix="pve_")
    assert address == "10.0.0.5"
    assert variables["pve_vmid"] == 101 and variables["pve_name"] == "web01"
    assert variables["pve_tags"] == ["linux", "web"]
    assert variables["pve_pool"] == "production" and variables["pve_maxmem"] == 2147483648
    assert variables["pve_ip_addresses"] == ["10.0.0.5", "2001:db8::5"]
    assert "pve_netin" not in variables and "pve_interfaces" not in variables
    assert all(key.startswith("pve_") for key in variables)
    variables, address = host_variables(web, details, preference="ipv6", with_interfaces=True)
    assert address == "2001:db8::5" and variables["proxmox_interfaces"] == details["interfaces"]


def test_host_variables_without_details_or_address():
    variables, address = host_variables(guest(102, "off", status="stopped"), None)
    assert address is None and "proxmox_ip_addresses" not in variables
    variables, address = host_variables(guest(103, "win"), {"interfaces": [{"name": "Ethernet", "addresses": []}]})
    assert address is None and variables["proxmox_ip_addresses"] == []


def test_group_names():
    web = guest(101, "web01", tags="web;Linux", pool="production", node="pve-2")
    assert group_names(web) == ["proxmox_node_pve-2", "proxmox_pool_production", "proxmox_type_qemu",
                                "proxmox_status_running", "proxmox_tag_linux", "proxmox_tag_web"]
    assert group_names(guest(102), kinds=["pool", "tag"]) == [], "no pool, no tags: no such groups"
    assert group_names(web, kinds=["tag"], prefix="") == ["tag_linux", "tag_web"]


def test_fingerprint_changes_with_the_settings_only():
    settings = {"api_url": "https://pve:8006", "want_config": False, "tags": ["web"]}
    assert fingerprint(settings) == fingerprint(dict(reversed(list(settings.items()))))
    assert fingerprint(settings) != fingerprint(dict(settings, want_config=True))


def test_a_call_that_times_out_says_so_with_the_timeout():
    import httpx

    timeout = ProxmoxConnectionError("GET /x failed: cannot reach https://pve:8006: ReadTimeout")
    timeout.__cause__ = httpx.ReadTimeout("The read operation timed out")  # as the client raises it
    client = FakeClient({"network-get-interfaces": timeout})
    details = GuestCalls(client, call_timeout=2.5).fetch([guest(101, "hung")])
    assert why_no_address(guest(101, "hung"), details["101"]) == "no answer within call_timeout (2.5s)"


def test_why_no_address_describes_what_the_guest_reported():
    running = guest(101, "web")
    assert why_no_address(running, {"interfaces": []}) == "the guest reported no interfaces"
    windows = {"interfaces": [{"name": "Ethernet", "addresses": []}, {"name": "isatap.{x}", "addresses": []}]}
    assert why_no_address(running, windows) == "the guest reported interfaces without addresses (Ethernet, isatap.{x})"
    filtered = {"interfaces": [{"name": "eth0", "addresses": [{"address": f"10.0.0.{n}", "prefix": 24}
                                                              for n in range(1, 7)]}]}
    assert why_no_address(running, filtered) == (
        "no address passed the filters (it reported eth0 10.0.0.1/24, eth0 10.0.0.2/24, eth0 10.0.0.3/24, "
        "eth0 10.0.0.4/24 and 2 more)")
    assert why_no_address(guest(102, "off", status="stopped"), None) is None
    assert why_no_address(running, {"agent": "No QEMU guest agent configured", "errors": {}}) is None


def test_slim_keeps_what_the_inventory_uses_and_nothing_else():
    from ansible_collections.proxgate.core.plugins.plugin_utils.proxmox_inventory import slim

    entry = guest(101, "web", tags="web", pool="p", maxmem=1, netin=5, diskread=7, hastate="started")
    kept = slim(entry)
    assert "netin" not in kept and "diskread" not in kept and "id" not in kept
    assert host_variables(kept, None) == host_variables(entry, None), "the variables are the same without them"


def test_bounded_keeps_depth_entries_and_strings_within_the_limits():
    deep = "bottom"
    for _level in range(300):
        deep = [deep]
    cut = []
    value = bounded({"id": "debian", "long": "y" * 2000, "deep": deep, "wide": list(range(100)),
                     "k" * 2000: 1}, cut)
    assert value["id"] == "debian" and value["long"] == "y" * 1024
    assert value["deep"] == [[[[]]]], "containers at the 4th level are emptied"
    assert value["wide"] == list(range(64))
    assert value["k" * 1024] == 1
    assert sorted(cut) == ["os: more than 64 entries in one mapping or list dropped",
                           "os: nesting deeper than 4 levels dropped", "os: strings over 1024 characters cut"]
    cut = []
    assert bounded({"id": "debian", "version-id": "13"}, cut) == {"id": "debian", "version-id": "13"}
    assert cut == []


# ------------------------------------------------------------------ reuse_addresses

def test_why_ask_again_keeps_only_a_guest_that_ran_on_the_same_node_all_along():
    from ansible_collections.proxgate.core.plugins.plugin_utils.proxmox_inventory import UPTIME_SLACK, why_ask_again

    old = guest(101, "web", uptime=3600)
    details = {"interfaces": [], "asked": 1000}
    now, elapsed = 1500, 300

    def ask(found=None, max_age=3600, **changes):
        return why_ask_again(changes.pop("old", old), details if found is None else found, guest(101, "web", **changes),
                             elapsed, now, max_age)

    assert ask(uptime=3900) is None
    # PVE's uptime may lag by its statistics interval: that much less is still the same boot.
    assert ask(uptime=3900 - UPTIME_SLACK) is None
    assert ask(uptime=3900 - UPTIME_SLACK - 1) == "restarted since the last listing"
    assert ask(uptime=5) == "restarted since the last listing"
    assert ask(uptime=3900, node="pve2") == "moved from pve1 to pve2"
    assert ask(uptime=0, status="stopped") == "not running at the last listing or now"
    assert ask(uptime=3900, old=None) == "new since the last listing"
    assert ask(uptime=3900, old=guest(101, "web", uptime=UPTIME_SLACK - 1)) == "restarted since the last listing", \
        "a guest just booted at the last listing could hide a restart in PVE's lag"
    assert ask(uptime=3900, max_age=400) == "the address is 500s old (reuse_addresses_max_age 400s)"
    assert ask(uptime=3900, found={"errors": {"interfaces": "HTTP 500"}, "asked": 1000}) == \
        "no address was found at the last listing"
    assert ask(uptime=3900, found={"agent": "No QEMU guest agent configured"}) == \
        "no address was found at the last listing", "not asked: an old cache"
    # No agent configured: that only changes with a restart, so it is kept as an answer.
    assert ask(uptime=3900, found={"agent": "No QEMU guest agent configured", "asked": 1000}) is None


def test_reused_guests_get_no_call_and_keep_their_details():
    calls = GuestCalls(None)  # no client: a call would fail
    calls.reuse = {"101": {"interfaces": [{"name": "eth0"}], "asked": 1000}}
    assert not calls.needs_calls(guest(101, "web"))
    assert calls.needs_calls(guest(102, "db"))
    assert calls.fetch([guest(101, "web")]) == {"101": {"interfaces": [{"name": "eth0"}], "asked": 1000}}

"""Issue #17, finding 2, without Ansible: which failed per-guest calls are asked again, which leave a host
incomplete, and how the warning names them."""

from __future__ import annotations

import httpx

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxConnectionError,
)
from ansible_collections.proxgate.core.plugins.plugin_utils.proxmox_inventory import (
    GuestCalls,
    incomplete_message,
    incomplete_parts,
    keep_guest,
)
from tests.unit.plugins.inventory.test_proxmox_inventory import AGENT_REPLY, guest

AGENT = "/agent/network-get-interfaces"


class Replies:
    """Answers each GET with the next reply of its path's list (the last one again when the list runs out)."""

    def __init__(self, replies):
        self.replies = replies
        self.paths = []

    def get(self, path, **_params):
        self.paths.append(path)
        suffix = next(suffix for suffix in self.replies if path.endswith(suffix))
        answers = self.replies[suffix]
        answer = answers[min(self.paths.count(path), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def error(status, message):
    return ProxmoxApiError("GET", "/x", status, message)


def timed_out():
    exc = ProxmoxConnectionError("GET /x failed: cannot reach https://pve:8006: ReadTimeout")
    exc.__cause__ = httpx.ReadTimeout("The read operation timed out")
    return exc


def test_a_call_that_failed_at_once_is_asked_once_more():
    client = Replies({"/101" + AGENT: [error(502, "Bad Gateway"), AGENT_REPLY],
                      "/102" + AGENT: [ProxmoxConnectionError("GET /x failed: connection reset"), AGENT_REPLY],
                      "/103" + AGENT: [[], AGENT_REPLY],
                      "/104" + AGENT: [error(596, "Broken pipe")]})
    details = GuestCalls(client).fetch([guest(vmid) for vmid in (101, 102, 103, 104)])
    for vmid in ("101", "102", "103"):
        assert "errors" not in details[vmid] and details[vmid]["interfaces"], vmid
    assert details["104"]["errors"] == {"interfaces": "HTTP 596 Broken pipe (asked twice)"}
    assert sorted(client.paths) == sorted(f"/nodes/pve1/qemu/{vmid}{AGENT}" for vmid in (101, 101, 102, 102, 103,
                                                                                         103, 104, 104))


def test_a_timeout_a_refusal_and_the_guests_own_state_are_asked_once():
    client = Replies({"/101" + AGENT: [timed_out()],
                      "/102" + AGENT: [error(500, "VM 102 qmp command 'guest-ping' failed - got timeout")],
                      "/103" + AGENT: [error(403, "Permission check failed (/vms/103, VM.GuestAgent.Audit)")],
                      "/104" + AGENT: [error(500, "QEMU guest agent is not running")],
                      "/105" + AGENT: [error(500, "No QEMU guest agent configured")]})
    guests = [guest(vmid) for vmid in (101, 102, 103, 104, 105)]
    details = GuestCalls(client, call_timeout=2).fetch(guests)
    assert len(client.paths) == 5, "each asked once"
    assert {vmid: list(incomplete_parts(guests[index], details[vmid]).items())
            for index, vmid in enumerate(("101", "102", "103", "104", "105"))} == {
        "101": [("addresses", "no answer within call_timeout (2s)")],
        "102": [("addresses", "HTTP 500 VM 102 qmp command 'guest-ping' failed - got timeout")],
        "103": [("addresses", "HTTP 403 Permission check failed (/vms/103, VM.GuestAgent.Audit)")],
        "104": [], "105": []}


def test_a_reply_that_is_not_what_pve_sends_is_a_failed_read():
    client = Replies({"/101/config": [None], "/101/snapshot": [{"name": "x"}], "/101" + AGENT: [AGENT_REPLY]})
    details = GuestCalls(client, want_config=True, want_snapshots=True).fetch([guest(101)])
    assert details["101"]["errors"] == {"config": "the reply is not what PVE sends (a NoneType) (asked twice)",
                                        "snapshots": "the reply is not what PVE sends (a dict) (asked twice)"}
    assert list(incomplete_parts(guest(101), details["101"])) == ["config", "snapshots"]
    assert "config" not in details["101"] and details["101"]["interfaces"]


def test_a_guest_whose_node_sent_no_status_is_incomplete_and_passes_the_status_filter():
    lost = guest(102, "win", status="unknown", node="pve2")
    assert incomplete_parts(lost, None) == {
        "status": "node pve2 sent no status (status unknown: the node is down or cut off)"}
    assert list(incomplete_parts(lost, {"errors": {"config": "HTTP 595 No route to host (asked twice)"}})) == [
        "status", "config"]
    assert keep_guest(lost, statuses=["running"]) and keep_guest(lost, statuses=["stopped"])
    assert not keep_guest(lost, nodes=["pve1"]) and not keep_guest(guest(103, status="stopped"), statuses=["running"])
    assert incomplete_parts(guest(101), {"errors": {}}) == {} and incomplete_parts(guest(101), None) == {}


def test_the_warning_names_ten_hosts_at_most():
    found = [(f"vm{vmid}", vmid, {"config": "HTTP 500 boom"}) for vmid in range(100, 112)]
    message = incomplete_message(found, "proxmox_incomplete", "proxmox_incomplete")
    assert message.startswith("12 hosts could not be read in full, marked with the variable proxmox_incomplete and "
                              "the group proxmox_incomplete")
    assert "vm100 (vmid 100): config: HTTP 500 boom | vm101" in message and "vm109 (vmid 109)" in message
    assert "vm110" not in message and message.endswith(" | and 2 more (-v lists them)")
    assert incomplete_message(found[:1], "x_incomplete", "x_incomplete").startswith("1 host could not")

"""proxmox_task_info, proxmox_node_info and proxmox_cluster_info: their pure helpers - UPIDs, task entries, node
facts, cluster and HA summaries - no network."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxConnectionError,
    ProxmoxError,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.info import did_not_answer
from ansible_collections.proxgate.core.plugins.modules.proxmox_cluster_info import cluster_facts, ha_facts
from ansible_collections.proxgate.core.plugins.modules.proxmox_node_info import (
    add_status,
    load_averages,
    node_entry,
)
from ansible_collections.proxgate.core.plugins.modules.proxmox_task_info import (
    listed_task,
    newest,
    task_fields,
    upid_fields,
)

UPID = "UPID:pve1:000003E8:00001B58:6B1654D9:qmstart:101:root@pam:"


# ------------------------------------------------------------------ task_info

def test_upid_fields_name_the_node_and_type():
    fields = upid_fields(UPID)
    assert (fields["node"], fields["type"], fields["id"], fields["user"]) == ("pve1", "qmstart", "101", "root@pam")
    assert fields["starttime"] == 0x6B1654D9


@pytest.mark.parametrize("upid", ["", "not-a-upid", "UPID:pve1:zz:00001B58:6B1654D9:qmstart:101:root@pam:",
                                  "UPID::000003E8:00001B58:6B1654D9:qmstart:101:root@pam:",
                                  "UPID:pve1:000003E8:00001B58:6B1654D9:qmstart:101"])
def test_a_malformed_upid_says_what_a_upid_looks_like(upid):
    with pytest.raises(ProxmoxError, match=r"upid is not a Proxmox VE task id \(UPID:<node>:"):
        upid_fields(upid)


def test_task_fields_of_a_stopped_and_a_running_task():
    stopped = task_fields({"status": "stopped", "exitstatus": "WARNINGS: 1", "node": "pve1", "type": "qmstart",
                           "id": "101", "user": "root@pam", "starttime": 0}, UPID)
    assert stopped["succeeded"] is True and stopped["exitstatus"] == "WARNINGS: 1"
    assert stopped["starttime_iso"] == "1970-01-01T00:00:00Z"
    running = task_fields({"status": "running"}, UPID)
    assert running == {"upid": UPID, "node": "pve1", "type": "qmstart", "id": "101", "user": "root@pam",
                       "status": "running", "exitstatus": None, "succeeded": None, "starttime": 0x6B1654D9,
                       "starttime_iso": "2026-12-07T06:40:25Z"}
    failed = task_fields({"status": "stopped", "exitstatus": "start failed: boom"}, UPID)
    assert failed["succeeded"] is False


@pytest.mark.parametrize("status, state, succeeded", [
    ("OK", "stopped", True), ("some error", "stopped", False), ("RUNNING", "running", None), (None, "running", None)])
def test_listed_task_reads_the_exit_status_from_status(status, state, succeeded):
    item = {"upid": UPID, "type": "qmstart", "id": "101", "user": "root@pam", "starttime": 10, "endtime": 11}
    if status is not None:
        item["status"] = status
    task = listed_task(item, "pve1")
    assert (task["status"], task["succeeded"], task["node"]) == (state, succeeded, "pve1")


def test_newest_first_and_cut_to_the_limit():
    tasks = [{"upid": "b", "starttime": 5}, {"upid": "a", "starttime": 9}, {"upid": "c", "starttime": 5}]
    assert [t["upid"] for t in newest(tasks, 2)] == ["a", "b"]


@pytest.mark.parametrize("error, silent_node", [
    (ProxmoxApiError("GET", "/nodes/pve2/tasks", 595, "No route to host"), True),
    (ProxmoxConnectionError("connection refused"), True),
    (ProxmoxApiError("GET", "/nodes/pve2/tasks", 403, "Permission check failed"), False),
    (ProxmoxApiError("GET", "/nodes/pve2/tasks", 400, "Parameter verification failed."), False),
])
def test_only_a_node_that_does_not_answer_is_left_out(error, silent_node):
    assert did_not_answer(error) is silent_node


# ------------------------------------------------------------------ node_info

def test_node_entry_leaves_the_subscription_level_out():
    entry = node_entry({"node": "pve1", "status": "online", "level": "c", "maxcpu": 4, "uptime": 60})
    assert "level" not in entry and entry["maxcpu"] == 4 and entry["uptime"] == 60 and entry["version"] is None


def test_add_status_renames_and_converts():
    entry = add_status(node_entry({"node": "pve1", "status": "online"}),
                       {"kversion": "Linux 6", "boot-info": {"mode": "efi"}, "loadavg": ["0.5", "x", "1"],
                        "pveversion": "pve-manager/9.0.10/abc", "uptime": 7},
                       {"version": "9.0.10", "release": "9.0", "repoid": "abc"})
    assert (entry["kernel"], entry["boot_info"], entry["loadavg"]) == ("Linux 6", {"mode": "efi"}, [0.5, 1.0])
    assert (entry["version"], entry["release"], entry["repoid"], entry["uptime"]) == ("9.0.10", "9.0", "abc", 7)


def test_load_averages_of_nothing():
    assert load_averages(None) == []


# --------------------------------------------------------------- cluster_info

def test_cluster_facts_of_a_cluster():
    facts = cluster_facts([
        {"type": "cluster", "name": "prod", "nodes": 2, "version": 4, "quorate": 1},
        {"type": "node", "name": "pve2", "nodeid": 2, "online": 0, "local": 0, "ip": "192.0.2.12"},
        {"type": "node", "name": "pve1", "nodeid": 1, "online": 1, "local": 1, "ip": "192.0.2.11", "level": "c"}])
    assert facts["clustered"] is True and facts["quorate"] is True
    assert facts["cluster"] == {"name": "prod", "nodes": 2, "version": 4}
    assert [n["name"] for n in facts["nodes"]] == ["pve1", "pve2"] and "level" not in facts["nodes"][0]
    assert (facts["nodes_online"], facts["nodes_offline"]) == (["pve1"], ["pve2"])


def test_cluster_facts_of_a_node_in_no_cluster():
    facts = cluster_facts([{"type": "node", "name": "pve1", "nodeid": 0, "online": 1, "local": 1, "level": ""}])
    assert (facts["clustered"], facts["cluster"], facts["quorate"]) == (False, None, True)
    assert facts["nodes_online"] == ["pve1"]


def test_ha_facts():
    ha = ha_facts([
        {"id": "quorum", "type": "quorum", "node": "pve1", "quorate": 1, "status": "OK"},
        {"id": "master", "type": "master", "node": "pve1", "status": "pve1 (active, now)", "timestamp": 1},
        {"id": "fencing", "type": "fencing", "node": "pve1", "armed-state": "armed", "status": "armed"},
        {"id": "lrm:pve1", "type": "lrm", "node": "pve1", "status": "pve1 (active, watchdog active, now)"},
        {"id": "service:vm:101", "type": "service", "sid": "vm:101", "node": "pve1", "state": "started",
         "status": "vm:101 (pve1, started)", "max_restart": 1}])
    assert (ha["quorate"], ha["master"], ha["armed_state"]) == (True, "pve1", "armed")
    assert ha["lrm"] == [{"node": "pve1", "status": "pve1 (active, watchdog active, now)"}]
    assert ha["resources"] == [{"sid": "vm:101", "node": "pve1", "state": "started",
                                "status": "vm:101 (pve1, started)", "max_restart": 1}]
    idle = ha_facts([{"id": "quorum", "type": "quorum", "quorate": 0}])
    assert (idle["quorate"], idle["master"], idle["resources"]) == (False, None, [])

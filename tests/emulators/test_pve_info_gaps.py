"""Tasks, nodes, the cluster and HA status (tests/emulators/pve/info_gaps.py): each gap on plain fakepve 0.5.0, and
the answer a node gives, read in pve-manager (PVE/API2/Tasks.pm, Nodes.pm, Cluster.pm) and pve-ha-manager
(src/PVE/API2/HA/Status.pm); the functions are named in info_gaps.py and in each test. Both servers are served for
real over HTTPS on 127.0.0.1 and spoken to with httpx."""

from __future__ import annotations

import time

import pytest

from tests.emulators.pve import ServedPve
from tests.emulators.test_pve_guest_gaps import TOKEN_ID, TOKEN_SECRET, client_for, data


def prepare(pve):
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    pve.add_node("pve2")


@pytest.fixture
def plain(fakepve, fakepve_cafile):
    """(FakePve, client): fakepve 0.5.0 as published."""
    prepare(fakepve)
    with client_for(fakepve.url, fakepve_cafile) as client:
        yield fakepve, client


@pytest.fixture
def fixed(tmp_path):
    """(ProxgatePve, client): with the project's additions."""
    server = ServedPve(tmp_path / "pki")
    prepare(server.pve)
    with client_for(server.url, server.certfile) as client:
        yield server.pve, client
    server.stop()


def create_and_start(client):
    """A VM 100 on pve1, created and started: a qmcreate and a qmstart task."""
    for call in (lambda: client.post("/nodes/pve1/qemu", data={"vmid": 100, "name": "vm100"}),
                 lambda: client.post("/nodes/pve1/qemu/100/status/start")):
        upid = data(call())
        deadline = time.monotonic() + 10
        while data(client.get(f"/nodes/pve1/tasks/{upid}/status"))["status"] != "stopped":
            assert time.monotonic() < deadline
            time.sleep(0.02)


# --- 1. Tasks.pm node_tasks: typefilter keeps only the tasks of that type ------------------------------------------

def test_gap_task_list_ignores_typefilter(plain):
    _pve, client = plain
    create_and_start(client)
    types = [task["type"] for task in data(client.get("/nodes/pve1/tasks", params={"typefilter": "qmstart"}))]
    assert "qmcreate" in types


def test_fixed_task_list_filters_by_type(fixed):
    _pve, client = fixed
    create_and_start(client)
    listed = data(client.get("/nodes/pve1/tasks", params={"typefilter": "qmstart", "vmid": 100}))
    assert [task["type"] for task in listed] == ["qmstart"]
    assert data(client.get("/nodes/pve1/tasks", params={"typefilter": "vzdump"})) == []


# --- 2. Nodes.pm Nodeinfo status: pveversion, load averages and kversion as a node reports them --------------------

def test_gap_node_status_is_schema_samples(plain):
    _pve, client = plain
    status = data(client.get("/nodes/pve1/status"))
    assert status["pveversion"] == "fake"
    assert "kversion" not in status


def test_fixed_node_status_as_a_node_reports_it(fixed):
    pve, client = fixed
    status = data(client.get("/nodes/pve1/status"))
    assert status["pveversion"] == f"pve-manager/{pve.version}/fakepve"
    assert status["kversion"].startswith("Linux ")
    assert len(status["loadavg"]) == 3
    assert status["memory"]["total"] > 0 and status["cpuinfo"]["cpus"] > 0
    pve.set_node_offline("pve2")
    assert client.get("/nodes/pve2/status").status_code == 595


# --- 3. Cluster.pm status: a node in no cluster answers only its own entry ----------------------------------------

def test_gap_cluster_status_always_has_a_cluster(plain):
    pve, client = plain
    pve.standalone = True  # no such notion in fakepve: the cluster entry stays
    assert [entry["type"] for entry in data(client.get("/cluster/status"))][0] == "cluster"


def test_fixed_standalone_node_has_no_cluster_entry(fixed):
    pve, client = fixed
    assert data(client.get("/cluster/status"))[0]["type"] == "cluster"
    pve.standalone = True
    assert data(client.get("/cluster/status")) == [
        {"type": "node", "id": "node/pve1", "name": "pve1", "ip": "192.0.2.11", "local": 1, "nodeid": 0,
         "online": 1, "level": ""}]


# --- 4. HA/Status.pm current: quorum, master, fencing, lrm and service entries ------------------------------------

def test_gap_ha_status_is_schema_samples(plain):
    _pve, client = plain
    entries = data(client.get("/cluster/ha/status/current"))
    assert any(entry.get("status") == "fake" for entry in entries)


def test_fixed_ha_status_lists_quorum_and_resources(fixed):
    pve, client = fixed
    entries = data(client.get("/cluster/ha/status/current"))
    assert [entry["id"] for entry in entries] == ["quorum", "fencing"]
    assert entries[0]["status"] == "OK" and entries[0]["quorate"] == 1
    create_and_start(client)
    pve.find("pve1", 100).ha_state = "started"
    pve.set_node_offline("pve2")
    entries = data(client.get("/cluster/ha/status/current"))
    assert [entry["id"] for entry in entries] == ["quorum", "master", "fencing", "lrm:pve1", "lrm:pve2",
                                                  "service:vm:100"]
    assert entries[-1]["state"] == "started" and entries[-1]["node"] == "pve1"
    assert entries[4]["status"] == "pve2 (unable to read lrm status)"
    pve.lose_quorum()
    assert data(client.get("/cluster/ha/status/current"))[0]["status"] == "No quorum on node 'pve1'!"

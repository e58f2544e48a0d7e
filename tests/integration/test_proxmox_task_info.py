"""proxmox_task_info against the test server: a task by UPID with its log, a guest's tasks on every node, a node
that does not answer, bad input, and no writes."""

import ssl
import time

import httpx
import pytest

from tests.emulators.pve import write_requests
from tests.integration.batch_fixtures import failed_message, once_for_all_workers, served_pve
from tests.integration.batch_fixtures import run_tasks as run_task_list
from tests.integration.conftest import TOKEN_ID, TOKEN_SECRET

pytestmark = pytest.mark.integration


def run_tasks(pve, *calls):
    """Carry out (path, data) POSTs as root's token and wait for their tasks; their UPIDs."""
    upids = []
    with httpx.Client(base_url=pve.url + "/api2/json", verify=ssl.create_default_context(cafile=pve.certfile),
                      headers={"Authorization": f"PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}"}, timeout=10) as client:
        for path, data in calls:
            reply = client.post(path, data=data)
            assert reply.status_code == 200, reply.text
            upid = reply.json()["data"]
            deadline = time.monotonic() + 10
            while client.get(f"/nodes/{upid.split(':')[1]}/tasks/{upid}/status").json()["data"]["status"] != "stopped":
                assert time.monotonic() < deadline
                time.sleep(0.02)
            upids.append(upid)
            time.sleep(1.1)  # distinct start times, so "newest first" is a real order
    return upids


def test_task_by_upid_with_its_log_and_by_guest(run_playbook, pve, pve_env, writes):
    stop, start = run_tasks(pve, ("/nodes/pve1/qemu/101/status/stop", {}), ("/nodes/pve1/qemu/101/status/start", {}))
    before = writes()
    run = run_playbook(f"""
        - name: One task
          proxgate.core.proxmox_task_info:
            upid: "{start}"
        - name: The starts of 101
          proxgate.core.proxmox_task_info:
            vmid: 101
            type: qmstart
        - name: Everything of 101, the newest
          proxgate.core.proxmox_task_info:
            vmid: 101
            limit: 1
        - name: Of a guest without tasks, on pve2
          proxgate.core.proxmox_task_info:
            vmid: 102
            node: pve2
    """, env=pve_env, check=True)
    assert run.rc == 0, run.stdout + run.stderr
    task = run.result("One task")["task"]
    assert task["upid"] == start and task["node"] == "pve1" and task["type"] == "qmstart" and task["id"] == "101"
    assert task["status"] == "stopped" and task["exitstatus"] == "OK" and task["succeeded"] is True
    assert task["log"] and task["log"][-1] == "TASK OK"
    assert task["starttime_iso"].endswith("Z")
    starts = run.result("The starts of 101")
    assert [t["upid"] for t in starts["tasks"]] == [start] and starts["unreachable_nodes"] == []
    assert [t["upid"] for t in run.result("Everything of 101, the newest")["tasks"]] == [start]
    assert stop != start
    assert run.result("Of a guest without tasks, on pve2")["tasks"] == []
    assert run.changed == []
    assert writes() == before


def test_an_offline_node_is_reported_not_a_failure(run_playbook, pve, pve_env, writes):
    run_tasks(pve, ("/nodes/pve1/qemu/101/status/stop", {}))
    pve.pve.set_node_offline("pve2")
    run = run_playbook("""
        - name: Tasks of 101
          proxgate.core.proxmox_task_info:
            vmid: 101
            api_retries: 0  # the offline node's 595 reported at once, not after 1 + 2 + 4 s of retries
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Tasks of 101")
    assert [t["type"] for t in result["tasks"]] == ["qmstop"]
    assert result["unreachable_nodes"] == ["pve2"]
    assert writes() == [("POST", "/api2/json/nodes/pve1/qemu/101/status/stop")]


BAD_INPUT = [
    ("upid: not-a-upid", "upid is not a Proxmox VE task id"),
    ("upid: 'UPID:pve1:zz:00001B58:6B1654D9:qmstart:101:root@pam:'", "upid is not a Proxmox VE task id"),
    ("upid: 'UPID:pve1:000003E8:00001B58:6B1654D9:qmstart:101:root@pam:'\n            node: pve2",
     "the task ran on 'pve1'"),
    ("vmid: 101\n            limit: 0", "limit must be 1 or more"),
    ("vmid: 101\n            node: 'bad node'", "node must be a Proxmox VE node name"),
    ("vmid: 101\n            upid: 'UPID:pve1:000003E8:00001B58:6B1654D9:qmstart:101:root@pam:'",
     "mutually exclusive"),
]


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    """BAD_INPUT as the tasks of one playbook run against one server (batch_fixtures.py). (the run, the server's
    write requests after it)."""
    def make(workdir):
        served, env = served_pve(workdir / "pki")
        try:
            run = run_task_list(workdir, [f"- name: Bad {index}\n  proxgate.core.proxmox_task_info:\n"
                                          f"    {options.replace(chr(10) + 12 * ' ', chr(10) + 4 * ' ')}"
                                          for index, (options, _message) in enumerate(BAD_INPUT)], env)
            return run, write_requests(served.pve)
        finally:
            served.stop()
    return once_for_all_workers(tmp_path_factory, "proxmox-task-info-bad-inputs", make)


@pytest.mark.parametrize("options, message", BAD_INPUT)
def test_bad_input_gets_a_clear_message(bad_inputs, options, message):
    run, writes = bad_inputs
    assert message in failed_message(run, f"Bad {BAD_INPUT.index((options, message))}")
    assert writes == []


def test_a_upid_the_node_does_not_know(run_playbook, pve_env):
    run = run_playbook("""
        - name: Unknown
          proxgate.core.proxmox_task_info:
            upid: "UPID:pve1:000003E8:00001B58:6B1654D9:qmstart:101:root@pam:"
          ignore_errors: true
    """, env=pve_env)
    result = run.result("Unknown")
    assert [r["task"] for r in run.failed] == ["Unknown"] and "unable to parse worker upid" in result["msg"]

"""proxmox_snapshot against the test server, in both auth modes where auth matters."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

SNAP_PATH = "/api2/json/nodes/pve1/qemu/101/snapshot"


def seed_snapshot(pve, vmid, name, description=""):
    """A snapshot made on the server directly, as an earlier run or the web UI would leave it."""
    vm = pve.pve.vm(vmid)
    vm.snapshots[name] = dict(vm.config, snaptime=1767225600, description=description)
    vm.config["parent"] = name


def status(run, task_name):
    return [r for r in run.results if r["task"] == task_name][-1]["status"]


@pytest.mark.each_auth
def test_create_in_check_mode_then_apply_then_nothing_to_do(run_playbook, pve, pve_env, writes):
    task = """
        - name: Snapshot web01
          proxgate.core.proxmox_snapshot:
            name: web01
            snapname: before-upgrade
            description: Before the nginx upgrade
            vmstate: true
    """
    check = run_playbook(task, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Snapshot web01")
    assert predicted["changed"] is True
    assert predicted["diff"]["before"] == {"exists": False}
    assert predicted["diff"]["after"] == {"exists": True, "description": "Before the nginx upgrade"}
    assert predicted["snapshots"] == ["before-upgrade"]
    assert writes() == []
    assert pve.pve.vm(101).snapshots == {}

    applied = run_playbook(task, env=pve_env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    result = applied.result("Snapshot web01")
    assert result["changed"] is True
    assert (result["vmid"], result["node"], result["snapname"]) == (101, "pve1", "before-upgrade")
    assert result["snapshots"] == ["before-upgrade"]
    assert result["snapshot"]["description"] == "Before the nginx upgrade"
    assert result["snapshot"]["vmstate"] is True
    assert isinstance(result["snapshot"]["snaptime"], int)
    snap = pve.pve.vm(101).snapshots["before-upgrade"]
    assert snap["description"] == "Before the nginx upgrade"
    assert snap["vmstate"]  # the RAM of the running VM was saved
    assert writes() == [("POST", SNAP_PATH)]

    again = run_playbook(task, env=pve_env)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Snapshot web01")["changed"] is False
    assert writes() == [("POST", SNAP_PATH)]


def test_description_update_and_absent(run_playbook, pve, pve_env, writes):
    seed_snapshot(pve, 101, "installed", description="fresh install\n")
    seed_snapshot(pve, 101, "old")
    run = run_playbook("""
        - name: Same description
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: installed
            description: fresh install
        - name: No description given
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: installed
        - name: New description, check mode
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: installed
            description: OS installed, no apps
          check_mode: true
        - name: New description
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: installed
            description: OS installed, no apps
        - name: Remove old, check mode
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: old
            state: absent
          check_mode: true
        - name: Remove old
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: old
            state: absent
        - name: Remove old again
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: old
            state: absent
    """, env=pve_env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["New description, check mode", "New description", "Remove old, check mode", "Remove old"]
    for name in ("New description, check mode", "New description"):
        assert run.result(name)["diff"] == {"before": {"exists": True, "description": "fresh install"},
                                            "after": {"exists": True, "description": "OS installed, no apps"}}
    assert run.result("New description")["snapshot"]["description"] == "OS installed, no apps"
    assert run.result("Remove old, check mode")["diff"]["after"] == {"exists": False}
    assert run.result("Remove old")["snapshots"] == ["installed"]
    assert run.result("Remove old")["snapshot"] is None
    # One write each, none from the check-mode tasks or the runs with nothing to do.
    assert writes() == [("PUT", SNAP_PATH + "/installed/config"), ("DELETE", SNAP_PATH + "/old")]
    snapshots = pve.pve.vm(101).snapshots
    assert list(snapshots) == ["installed"]
    assert snapshots["installed"]["description"] == "OS installed, no apps"
    assert snapshots["installed"]["snaptime"] == 1767225600  # updated in place, not taken again


def test_rollback(run_playbook, pve, pve_env, writes):
    seed_snapshot(pve, 101, "known-good")
    pve.pve.vm(101).config["memory"] = 4096  # changed since the snapshot
    run = run_playbook("""
        - name: Roll back to a missing snapshot
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: nosuch
            state: rollback
          ignore_errors: true
        - name: Roll back, check mode
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: known-good
            state: rollback
          check_mode: true
        - name: Roll back
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: known-good
            state: rollback
        - name: Roll back and start
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: known-good
            state: rollback
            start: true
    """, env=pve_env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert status(run, "Roll back to a missing snapshot") == "failed"
    msg = run.result("Roll back to a missing snapshot")["msg"]
    assert "snapname 'nosuch' does not exist on VM 101" in msg
    assert "known-good" in msg  # the snapshots there are
    # A rollback always changes, like a service restart.
    assert run.changed == ["Roll back, check mode", "Roll back", "Roll back and start"]
    diff = run.result("Roll back, check mode")["diff"]
    assert diff["before"]["rolled_back"] is False and diff["after"]["rolled_back"] is True
    vm = pve.pve.vm(101)
    assert vm.config["memory"] == 2048
    assert vm.status == "running"
    assert writes() == [("POST", SNAP_PATH + "/known-good/rollback")] * 2


def test_bad_input_is_refused_before_any_write(run_playbook, pve, pve_env, writes):
    # The checks that need no server are unit-tested (tests/unit/plugins/modules/test_proxmox_snapshot.py).
    cases = {
        "Starts with a digit": ("vmid: 101\n            snapname: 1st", "snapname '1st' is not a valid snapshot name"),
        "Reserved current": ("vmid: 101\n            snapname: current", "snapname 'current' is reserved"),
        "Unknown vmid": ("vmid: 4242\n            snapname: ok1", "no VM or container with vmid 4242"),
        "Unknown name": ("name: nosuch\n            snapname: ok1", "no VM or container with name 'nosuch'"),
    }
    tasks = "".join(f"""
        - name: {name}
          proxgate.core.proxmox_snapshot:
            {options}
          ignore_errors: true
""" for name, (options, _msg) in cases.items())
    run = run_playbook(tasks + """
        - name: Snapshot the template
          proxgate.core.proxmox_snapshot:
            vmid: 9000
            snapname: nope
          ignore_errors: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    for name, (_options, expected) in cases.items():
        result = run.result(name)
        assert status(run, name) == "failed", name
        assert expected in result["msg"], (name, result["msg"])
    # Validation happens before any write: the only write is the template's snapshot task.
    assert writes() == [("POST", "/api2/json/nodes/pve1/qemu/9000/snapshot")]
    assert pve.pve.vm(101).snapshots == {}
    # A task that fails on the node is reported with its exit status and log.
    template = run.result("Snapshot the template")
    assert status(run, "Snapshot the template") == "failed"
    assert "you can't take a snapshot if it's a template" in template["msg"]
    assert template["exitstatus"] == "you can't take a snapshot if it's a template"
    assert any("TASK ERROR" in line for line in template["task_log"])

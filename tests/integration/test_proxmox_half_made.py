"""What a task that died with its node leaves, seen and repaired by real playbook runs (issue #17, 3 and 5).

A stale ``lock: create`` (proxmox_vm, proxmox_lxc) and a half-made snapshot (proxmox_snapshot): each run
without the repair option fails saying what is wrong and what clears it, and writes nothing; the option
repairs it (check mode first, which writes nothing); a second run changes nothing and writes nothing.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

VM_CONFIG = "/api2/json/nodes/pve1/qemu/104/config"
VM_SNAPSHOTS = "/api2/json/nodes/pve1/qemu/101/snapshot"


@pytest.fixture
def auth_mode():
    """Clearing a lock through the API is root@pam's with a password (skiplock); the token cases say so."""
    return "ticket"


def crashed_create(pve):
    """VM 104 as a create killed with its node left it two hours ago: its config written, 'lock: create'."""
    pve.pve.add_vm(104, "app01", node="pve1", status="stopped", config={"memory": 2048, "cores": 1})
    return pve.pve.stale_lock(104, "create", age=7200)


def vm_task(option=None):
    extra = f"\n            unlock_stale_after: {option}" if option is not None else ""
    return f"""
        - name: App VM
          proxgate.core.proxmox_vm:
            vmid: 104
            name: app01
            node: pve1
            cores: 2
            memory: 2048{extra}
    """


def test_a_stale_create_lock_is_named_with_its_age_then_cleared_on_request(run_playbook, pve, pve_env, writes):
    upid = crashed_create(pve)
    plain = run_playbook(vm_task(), env=pve_env)
    assert plain.rc != 0
    msg = plain.result("App VM")["msg"]
    assert msg.startswith("VM 104 (app01) is locked 'create' for 2 h 0 min (since task qmcreate " + upid)
    assert "which ended 'unexpected status'; no task on it is running" in msg
    assert "clear it on node pve1 with: qm unlock 104" in msg and "unlock_stale_after" in msg
    assert plain.result("App VM")["lock"] == {"lock": "create", "age": pytest.approx(7200, abs=60), "task": upid}
    assert writes() == []

    # Younger than the option: left alone, saying why.
    young = run_playbook(vm_task(3 * 3600), env=pve_env)
    assert young.rc != 0
    assert "its age (2 h 0 min) is not known to be over unlock_stale_after (10800 s)" in young.result("App VM")["msg"]
    assert writes() == []

    check = run_playbook(vm_task(3600), env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("App VM")
    assert predicted["changed"] is True and predicted["unlocked"]["lock"] == "create"
    assert predicted["diff"]["before"]["lock"] == "create" and predicted["diff"]["after"]["lock"] is None
    assert predicted["changed_keys"] == ["cores"]
    assert writes() == [] and pve.pve.vm(104).lock == "create"

    applied = run_playbook(vm_task(3600), env=pve_env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    result = applied.result("App VM")
    assert result["changed"] is True and result["unlocked"]["task"] == upid
    assert writes() == [("PUT", VM_CONFIG), ("POST", VM_CONFIG)]
    vm = pve.pve.vm(104)
    assert vm.lock is None and "lock" not in vm.config and str(vm.config["cores"]) == "2"

    again = run_playbook(vm_task(3600), env=pve_env)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("App VM")["changed"] is False and "unlocked" not in again.result("App VM")
    assert writes() == [("PUT", VM_CONFIG), ("POST", VM_CONFIG)]


@pytest.mark.parametrize("auth_mode", ["token"])
def test_with_a_token_the_stale_lock_is_left_saying_who_can_clear_it(run_playbook, pve, pve_env, writes):
    crashed_create(pve)
    for check in (True, False):
        run = run_playbook(vm_task(3600), env=pve_env, check=check)
        assert run.rc != 0
        msg = run.result("App VM")["msg"]
        assert "this task logs in as API token root@pam!ci" in msg and "only root@pam" in msg
        assert msg.endswith("on node pve1 run: qm unlock 104")
    assert writes() == [] and pve.pve.vm(104).lock == "create"


def test_a_stale_container_lock_names_pct_unlock(run_playbook, pve, pve_env, writes):
    pve.pve.stale_lock(200, "create", age=600, task="vzcreate")
    run = run_playbook("""
        - name: DNS container
          proxgate.core.proxmox_lxc:
            vmid: 200
            hostname: dns01
            cores: 2
    """, env=pve_env)
    assert run.rc != 0
    msg = run.result("DNS container")["msg"]
    assert msg.startswith("container 200 (dns01) is locked 'create' for 10 min (since task vzcreate ")
    assert "clear it on node pve1 with: pct unlock 200, and run again" in msg
    assert writes() == []


def test_a_lock_a_running_task_holds_is_not_stale(run_playbook, pve, pve_env, writes):
    # A backup holds the lock: the module does not call it stale, it meets the lock as before.
    pve.pve.vm(101).lock = "backup"
    pve.pve.vm(101).config["lock"] = "backup"
    upid = pve.pve.vanished_task("pve1", "vzdump", 101, 30)
    task = pve.pve.tasks[upid]
    task["status"] = "running"
    del task["exitstatus"], task["endtime"]
    run = run_playbook("""
        - name: Web VM
          proxgate.core.proxmox_vm:
            vmid: 101
            name: web01
            cores: 4
            unlock_stale_after: 1
            api_retries: 0
    """, env=pve_env)
    assert run.rc != 0
    assert "VM is locked (backup)" in run.result("Web VM")["msg"]
    assert pve.pve.vm(101).lock == "backup" and "unlocked" not in run.result("Web VM")

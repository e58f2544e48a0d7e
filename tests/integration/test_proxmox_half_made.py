"""What a task that died with its node leaves, seen and repaired by real playbook runs (issue #17, 3 and 5).

A stale ``lock: create`` (proxmox_vm, proxmox_lxc) and a half-made snapshot (proxmox_snapshot): each run
without the repair option fails saying what is wrong and what clears it, and writes nothing; the option
repairs it (check mode first, which writes nothing); a second run changes nothing and writes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"
PLACEHOLDER = re.compile(r"<[^<>\s][^<>]*>")
VM_CONFIG = "/api2/json/nodes/pve1/qemu/104/config"
VM_SNAPSHOTS = "/api2/json/nodes/pve1/qemu/101/snapshot"


def documented(msg):
    """msg, checked to be one of the messages docs/troubleshooting.md quotes for stale locks and half-made
    snapshots (each <placeholder> standing for what varies)."""
    text = DOC.read_text()
    section = text[text.index("### A lock left by a task that died"):text.index("## rustguac: entries")]
    quotes = re.findall(r"```text\n(.*?)\n```", section, re.S)
    patterns = [re.compile(".+?".join(re.escape(part) for part in PLACEHOLDER.split(quote))) for quote in quotes]
    assert any(pattern.fullmatch(msg) for pattern in patterns), f"not quoted in {DOC.name}:\n{msg}"
    return msg


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
    msg = documented(plain.result("App VM")["msg"])
    assert msg.startswith("VM 104 (app01) is locked 'create' for 2 h 0 min (since task qmcreate " + upid)
    assert "which ended 'unexpected status'; no task on it is running" in msg
    assert "clear it on node pve1 with: qm unlock 104" in msg and "unlock_stale_after" in msg
    assert plain.result("App VM")["lock"] == {"lock": "create", "age": pytest.approx(7200, abs=60), "task": upid}
    assert writes() == []

    # Younger than the option: left alone, saying why.
    young = run_playbook(vm_task(3 * 3600), env=pve_env)
    assert young.rc != 0
    assert "its age (2 h 0 min) is not known to be over unlock_stale_after (10800 s)" in \
        documented(young.result("App VM")["msg"])
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
        msg = documented(run.result("App VM")["msg"])
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
    msg = documented(run.result("DNS container")["msg"])
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


# ------------------------------------------------------------------ half-made snapshots (finding 3)

def snapshot_task(repair=None, state="present"):
    extra = f"\n            repair: {repair}" if repair is not None else ""
    return f"""
        - name: Snapshot web01
          proxgate.core.proxmox_snapshot:
            vmid: 101
            snapname: before-upgrade
            description: Before the upgrade
            state: {state}{extra}
    """


def test_a_half_made_snapshot_is_reported_then_repaired_and_taken_again(run_playbook, pve, pve_env, writes):
    pve.pve.vm(101).config["scsi0"] = "local-lvm:vm-101-disk-0,size=8G"
    pve.pve.half_made_snapshot(101, "before-upgrade", age=1800, description="Before the upgrade")
    plain = run_playbook(snapshot_task(), env=pve_env)
    assert plain.rc != 0  # not ok/unchanged: the snapshot is not there
    result = plain.result("Snapshot web01")
    msg = documented(result["msg"])
    assert msg.startswith("VM 101 (web01) has a half-made snapshot: 'before-upgrade' (snapstate 'prepare': a "
                          "snapshot task that never finished, begun 30 min ago), and the VM is locked 'snapshot' "
                          "for 30 min (since task qmsnapshot UPID:pve1:")
    assert msg.endswith("nothing was changed. Set repair: true to remove it and take it again, or on node pve1 "
                        "run: qm unlock 101 && qm delsnapshot 101 before-upgrade --force")
    assert result["half_made"] == [{"name": "before-upgrade", "snapstate": "prepare"}]
    assert result["lock"]["lock"] == "snapshot"
    # state=absent and rollback see it too.
    for state in ("absent", "rollback"):
        run = run_playbook(snapshot_task(state=state), env=pve_env)
        assert run.rc != 0 and "half-made snapshot: 'before-upgrade'" in run.result("Snapshot web01")["msg"]
    run = run_playbook(snapshot_task(True, state="rollback"), env=pve_env)
    assert ("there is nothing to roll back to, and nothing was changed. To remove it, set repair: true with state: "
            "present (which takes it again) or absent, or on node pve1 run: qm unlock 101"
            ) in documented(run.result("Snapshot web01")["msg"])
    assert writes() == []

    check = run_playbook(snapshot_task(True), env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Snapshot web01")
    assert predicted["changed"] is True and predicted["repaired"] == ["before-upgrade"]
    assert predicted["diff"]["before"] == {"exists": False, "half_made": ["before-upgrade"]}
    assert predicted["snapshot"]["snaptime"] is None
    assert writes() == []
    assert pve.pve.vm(101).snapshots["before-upgrade"]["snapstate"] == "prepare"

    applied = run_playbook(snapshot_task(True), env=pve_env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    result = applied.result("Snapshot web01")
    assert result["changed"] is True and result["repaired"] == ["before-upgrade"]
    assert result["snapshots"] == ["before-upgrade"]
    assert writes() == [("PUT", "/api2/json/nodes/pve1/qemu/101/config"),
                        ("DELETE", VM_SNAPSHOTS + "/before-upgrade"), ("POST", VM_SNAPSHOTS)]
    snap = pve.pve.vm(101).snapshots["before-upgrade"]
    assert "snapstate" not in snap and snap["description"] == "Before the upgrade"
    assert pve.pve.vm(101).lock is None

    again = run_playbook(snapshot_task(True), env=pve_env)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Snapshot web01")["changed"] is False and again.result("Snapshot web01")["repaired"] == []
    assert len(writes()) == 3


def test_repair_removes_a_half_made_delete_for_state_absent(run_playbook, pve, pve_env, writes):
    pve.pve.half_made_snapshot(101, "before-upgrade", state="delete", age=90)
    run = run_playbook(snapshot_task(state="absent"), env=pve_env)
    assert run.rc != 0
    msg = run.result("Snapshot web01")["msg"]
    assert "(snapstate 'delete': a delete that never finished, begun 1 min ago)" in msg
    assert "the VM is locked 'snapshot-delete'" in msg and "Set repair: true to remove it, or" in msg
    assert writes() == []
    fixed = run_playbook(snapshot_task(True, state="absent"), env=pve_env)
    assert fixed.rc == 0, fixed.stdout + fixed.stderr
    assert fixed.result("Snapshot web01")["changed"] is True and pve.pve.vm(101).snapshots == {}
    again = run_playbook(snapshot_task(True, state="absent"), env=pve_env)
    assert again.result("Snapshot web01")["changed"] is False and len(writes()) == 2


@pytest.mark.parametrize("auth_mode", ["token"])
def test_repair_with_a_token_or_on_a_locked_container_says_what_to_run(run_playbook, pve, pve_env, writes):
    pve.pve.half_made_snapshot(101, "before-upgrade")
    pve.pve.half_made_snapshot(200, "nightly")
    run = run_playbook(snapshot_task(True), env=pve_env)
    assert run.rc != 0
    vm_msg = documented(run.result("Snapshot web01")["msg"])
    assert "this task logs in as API token root@pam!ci" in vm_msg
    assert vm_msg.endswith("on node pve1 run: qm unlock 101, then: qm delsnapshot 101 before-upgrade --force")
    run = run_playbook("""
        - name: Snapshot dns01
          proxgate.core.proxmox_snapshot:
            vmid: 200
            snapname: nightly
            repair: true
    """, env=pve_env)
    assert run.rc != 0
    ct_msg = run.result("Snapshot dns01")["msg"]
    assert ct_msg.endswith("PVE has no API call that clears a container's lock (pct unlock is a command on the "
                           "node); on node pve1 run: pct unlock 200, then: pct delsnapshot 200 nightly --force")
    assert writes() == []


def test_a_container_unlocked_by_hand_is_repaired(run_playbook, pve, pve_env, writes):
    pve.pve.half_made_snapshot(200, "nightly", age=300)
    ct = pve.pve.guest(200)
    ct.lock = None  # the admin ran pct unlock 200, as the message said
    task = """
        - name: Snapshot dns01
          proxgate.core.proxmox_snapshot:
            vmid: 200
            snapname: nightly
            repair: true
    """
    run = run_playbook(task, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Snapshot dns01")["repaired"] == ["nightly"] and run.result("Snapshot dns01")["changed"]
    assert writes() == [("DELETE", "/api2/json/nodes/pve1/lxc/200/snapshot/nightly"),
                        ("POST", "/api2/json/nodes/pve1/lxc/200/snapshot")]
    assert "snapstate" not in ct.snapshots["nightly"]
    again = run_playbook(task, env=pve_env)
    assert again.result("Snapshot dns01")["changed"] is False and len(writes()) == 2

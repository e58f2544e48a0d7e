"""proxmox_backup and proxmox_backup_info against the test server (with its vzdump, tests/emulators/pve/backups.py).

The demo cluster: VM 101 web01 and container 200 dns01 on pve1, VMs 102 win-desktop and 103 db01 on pve2;
storage `local` takes backups (node-local: each node has its own), `local-lvm` does not.
"""

from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.integration

VZDUMP = "/api2/json/nodes/{node}/vzdump"
FILE_VOLID = r"local:backup/vzdump-{kind}-{vmid}-\d{{4}}_\d\d_\d\d-\d\d_\d\d_\d\d\.{ext}"


@pytest.fixture
def token_env(pve):
    """The token environment, for the tests where the auth mode does not matter."""
    from tests.integration.conftest import TOKEN_ID, TOKEN_SECRET

    return {"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile, "PROXMOX_TOKEN_ID": TOKEN_ID,
            "PROXMOX_TOKEN_SECRET": TOKEN_SECRET}


def backup_volumes(pve, storage="local"):
    """The backup volumes on the server: {volid: volume}."""
    return {f"{storage}:{name}": vol for name, vol in pve.pve.storages[storage].get("volumes", {}).items()
            if vol.get("content") == "backup"}


def seed_backup(pve, vmid, ctime, node="pve1", kind="qemu", protected=False, notes=None):
    """A backup made earlier (by a nightly job, or the web UI), put on the server directly."""
    stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.localtime(ctime))
    name = f"backup/vzdump-{kind}-{vmid}-{stamp}.{'vma' if kind == 'qemu' else 'tar'}.zst"
    volume = {"content": "backup", "format": "vma.zst" if kind == "qemu" else "tar.zst", "size": 1000 + vmid,
              "ctime": ctime, "vmid": vmid, "subtype": kind, "node": node, "protected": protected}
    if notes:
        volume["notes"] = notes
    pve.pve.storages["local"].setdefault("volumes", {})[name] = volume
    return f"local:{name}"


@pytest.mark.each_auth
def test_backup_of_a_vm_and_a_container_on_two_nodes(run_playbook, pve, pve_env, writes):
    task = """
        - name: Back up
          proxgate.core.proxmox_backup:
            guests: [db01, 200]
            storage: local
            protected: true
            notes_template: "{{ '{{guestname}}' }} on {{ '{{node}}' }} before {{ change }}"
          register: backup
        - name: List them
          proxgate.core.proxmox_backup_info:
            storage: local
            guests: "{{ backup.backups | map(attribute='vmid') | list }}"
    """
    check = run_playbook(task, env=pve_env, check=True, diff=True, extra_vars={"change": "CHG-7"})
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Back up")
    assert predicted["changed"] is True and predicted["backups"] == []
    assert [(job["node"], job["vmids"], job["upid"]) for job in predicted["jobs"]] == [
        ("pve1", [200], None), ("pve2", [103], None)]
    assert predicted["diff"]["before"] == {"backups": []}
    assert predicted["diff"]["after"] == {"backups": [
        "local:backup/vzdump-lxc-200-YYYY_MM_DD-HH_MM_SS.tar.zst",
        "local:backup/vzdump-qemu-103-YYYY_MM_DD-HH_MM_SS.vma.zst"]}
    assert writes() == []
    assert backup_volumes(pve) == {}

    applied = run_playbook(task, env=pve_env, extra_vars={"change": "CHG-7"})
    assert applied.rc == 0, applied.stdout + applied.stderr
    result = applied.result("Back up")
    assert result["changed"] is True
    assert writes() == [("POST", VZDUMP.format(node="pve1")), ("POST", VZDUMP.format(node="pve2"))]
    vm, container = result["backups"]
    assert (container["vmid"], container["name"], container["type"], container["node"]) == (200, "dns01", "lxc", "pve1")
    assert (vm["vmid"], vm["name"], vm["type"], vm["node"]) == (103, "db01", "qemu", "pve2")
    assert re.fullmatch(FILE_VOLID.format(kind="lxc", vmid=200, ext=r"tar\.zst"), container["volid"])
    assert re.fullmatch(FILE_VOLID.format(kind="qemu", vmid=103, ext=r"vma\.zst"), vm["volid"])
    assert [job["exitstatus"] for job in result["jobs"]] == ["OK", "OK"]
    # What the node stored: the notes made from the template, the protected flag, the size it lists.
    stored = backup_volumes(pve)
    assert set(stored) == {container["volid"], vm["volid"]}
    assert stored[vm["volid"]]["notes"] == "db01 on pve2 before CHG-7" == vm["notes"]
    assert stored[container["volid"]]["notes"] == "dns01 on pve1 before CHG-7" == container["notes"]
    assert all(volume["protected"] for volume in stored.values()) and vm["protected"] and container["protected"]
    assert vm["size"] == stored[vm["volid"]]["size"] and vm["ctime"] == stored[vm["volid"]]["ctime"]

    listed = applied.result("List them")["backups"]
    assert [(b["volid"], b["node"], b["type"], b["protected"]) for b in listed] == [
        (vm["volid"], "pve2", "qemu", True), (container["volid"], "pve1", "lxc", True)]
    assert listed[0]["notes"] == "db01 on pve2 before CHG-7" and listed[0]["ctime_iso"].endswith("Z")

    # An action, not a state: another run makes new archives.
    again = run_playbook(task, env=pve_env, extra_vars={"change": "CHG-8"})
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Back up")["changed"] is True
    assert len(backup_volumes(pve)) == 4 and len(again.result("List them")["backups"]) == 4


def test_bad_requests_are_refused_before_any_vzdump(run_playbook, pve, token_env, writes):
    pve.pve.add_vm(150, "web01", node="pve2")  # a second web01
    run = run_playbook("""
        - name: Storage without backup content
          proxgate.core.proxmox_backup:
            guests: [101]
            storage: local-lvm
          ignore_errors: true
        - name: Unknown storage
          proxgate.core.proxmox_backup:
            guests: [101]
            storage: nfs-backup
          ignore_errors: true
        - name: Unknown guest and ambiguous name
          proxgate.core.proxmox_backup:
            guests: [no-such-vm, 999, web01, db01]
            storage: local
          ignore_errors: true
        - name: Guest on another node
          proxgate.core.proxmox_backup:
            guests: [101, db01]
            node: pve1
            storage: local
          ignore_errors: true
        - name: Unknown notes variable
          proxgate.core.proxmox_backup:
            guests: [101]
            storage: local
            notes_template: !unsafe "{{hostname}} nightly"
          ignore_errors: true
    """, env=token_env)
    assert len(run.failed) == 5, run.stdout
    storage_msg = run.result("Storage without backup content")["msg"]
    assert storage_msg.startswith("storage 'local-lvm' does not take backups: its content types are images, rootdir")
    assert run.result("Unknown storage")["msg"] == (
        "storage 'nfs-backup' does not exist (node pve1 answered: No such storage.)")
    assert run.result("Unknown guest and ambiguous name")["msg"] == (
        "guests: no guest named 'no-such-vm' in the cluster; no guest with vmid 999 in the cluster; name 'web01' is "
        "used by several guests (vmids 101, 150); give the vmid to choose one")
    assert run.result("Guest on another node")["msg"].startswith(
        "node is pve1, but guests 103 (db01) on pve2 are not on it")
    assert run.result("Unknown notes variable")["msg"].startswith("notes_template uses {{hostname}}; PVE fills in only")
    assert writes() == []
    assert backup_volumes(pve) == {}


def test_a_failing_guest_fails_with_the_log_tail_and_returns_what_was_made(run_playbook, pve, token_env, writes):
    pve.pve.fail_backup(103, "job failed with err -5 - Input/output error")
    run = run_playbook("""
        - name: Back up
          proxgate.core.proxmox_backup:
            guests: [web01, db01, 102]
            storage: local
          ignore_errors: true
    """, env=token_env)
    result = run.result("Back up")
    assert [failed["task"] for failed in run.failed] == ["Back up"]
    msg = result["msg"]
    assert msg.startswith("vzdump on node pve2 failed: job errors\nguest 103 (db01): job failed with err -5 - "
                          "Input/output error\nlast log lines:\n")
    assert "ERROR: Backup of VM 103 failed - job failed with err -5 - Input/output error" in result["task_log"]
    assert result["task_log"][-1] == "TASK ERROR: job errors"
    # pve1's job ran before, and 102 on pve2 was backed up in the failed job: both are returned and reported.
    assert [(b["vmid"], b["node"]) for b in result["backups"]] == [(101, "pve1"), (102, "pve2")]
    assert {b["volid"] for b in result["backups"]} == set(backup_volumes(pve))
    assert "backups made: local:backup/vzdump-qemu-101-" in msg
    assert result["changed"] is True
    assert writes() == [("POST", VZDUMP.format(node="pve1")), ("POST", VZDUMP.format(node="pve2"))]


def test_a_task_that_dies_fails_and_later_nodes_are_not_started(run_playbook, pve, token_env, writes):
    # A vzdump worker killed (a node shutting down, an admin stopping the job): fakepve's catalogue error.
    pve.pve.fail("POST", "/nodes/pve1/vzdump", error="interrupted_signal")
    run = run_playbook("""
        - name: Back up
          proxgate.core.proxmox_backup:
            guests: [101, 103]
            storage: local
          ignore_errors: true
    """, env=token_env)
    result = run.result("Back up")
    assert result["msg"].startswith("vzdump on node pve1 failed: interrupted by signal")
    assert result["msg"].endswith("not started, so not backed up: pve2 (guests 103 (db01))")
    assert result["backups"] == [] and result["changed"] is False
    assert writes() == [("POST", VZDUMP.format(node="pve1"))]


def test_retention_and_task_warnings(run_playbook, pve, token_env):
    pve.pve.storages["local"]["prune-backups"] = "keep-last=1"
    old = seed_backup(pve, 101, ctime=1767225600)
    kept = seed_backup(pve, 101, ctime=1767225000, protected=True)
    pve.pve.warn_backup(101, "no efidisk configured! Using temporary efivars disk.")
    run = run_playbook("""
        - name: Back up
          proxgate.core.proxmox_backup:
            guests: [web01]
            storage: local
        - name: Without pruning, the retention is a limit
          proxgate.core.proxmox_backup:
            guests: [web01]
            storage: local
            remove: false
          ignore_errors: true
    """, env=token_env)
    result = run.result("Back up")
    [made] = result["backups"]
    assert result["jobs"][0]["exitstatus"] == "WARNINGS: 1"
    assert result["jobs"][0]["warnings"] == ["WARN: no efidisk configured! Using temporary efivars disk."]
    assert "vzdump on node pve1: WARN: no efidisk configured!" in " ".join(result["warnings"])
    volumes = backup_volumes(pve)
    assert old not in volumes, "pruned by the storage's keep-last=1"
    assert set(volumes) == {kept, made["volid"]}
    refused = run.result("Without pruning, the retention is a limit")
    assert "There is a max backup limit of 1 enforced by the target storage" in refused["msg"]


def test_info_filters_newest_and_destroyed_guests(run_playbook, pve, token_env):
    first = seed_backup(pve, 101, ctime=1767225600, notes="first")
    second = seed_backup(pve, 101, ctime=1767312000, protected=True)
    gone = seed_backup(pve, 555, ctime=1767000000)  # a guest that no longer exists
    ct = seed_backup(pve, 200, ctime=1767100000, kind="lxc")
    on_pve2 = seed_backup(pve, 103, ctime=1767200000, node="pve2")
    run = run_playbook("""
        - name: All
          proxgate.core.proxmox_backup_info:
            storage: local
        - name: On pve1, newest of each
          proxgate.core.proxmox_backup_info:
            storage: local
            node: pve1
            newest: 1
        - name: By name and a destroyed guest's vmid
          proxgate.core.proxmox_backup_info:
            storage: local
            guests: [web01, "555"]
        - name: Unknown name
          proxgate.core.proxmox_backup_info:
            storage: local
            guests: [nope]
          ignore_errors: true
    """, env=token_env, check=True)
    everything = run.result("All")["backups"]
    assert [b["volid"] for b in everything] == [first, second, on_pve2, ct, gone]
    assert [b["node"] for b in everything] == ["pve1", "pve1", "pve2", "pve1", "pve1"]
    web = everything[0]
    assert (web["vmid"], web["name"], web["type"], web["ctime"], web["ctime_iso"], web["notes"], web["protected"]) == (
        101, "web01", "qemu", 1767225600, "2026-01-01T00:00:00Z", "first", False)
    assert everything[1]["protected"] is True and everything[4]["name"] is None
    assert everything[3]["type"] == "lxc" and everything[3]["format"] == "tar.zst"
    assert [b["volid"] for b in run.result("On pve1, newest of each")["backups"]] == [second, ct, gone]
    assert [b["volid"] for b in run.result("By name and a destroyed guest's vmid")["backups"]] == [first, second, gone]
    assert run.result("Unknown name")["msg"] == "guests: no guest named 'nope' in the cluster"
    assert all(r["result"].get("changed") is False for r in run.results)

"""Backups (tests/emulators/pve/backups.py): the gap on plain fakepve, and a node's behaviour on ProxgatePve.

A node's vzdump writes one archive per guest into the storage, logs it, locks the guest meanwhile, refuses a
storage without backup content and ends a job with failed guests as `job errors`; plain fakepve 0.5.0 answers
a UPID of a task that did nothing.
"""

from __future__ import annotations

import re
import ssl
import time

import httpx
import pytest

from tests.emulators.pve import ServedPve
from tests.emulators.pve.backups import generate_notes, prune_marks

TOKEN_ID = "root@pam!gaps"
TOKEN_SECRET = "0b7e6c1a-5d1f-4c3e-9a77-3f2d1e0c9b8a"
VZDUMP = "/nodes/{node}/vzdump"
CONTENT = "/nodes/{node}/storage/{storage}/content"
ARCHIVE = re.compile(r"local:backup/vzdump-(qemu|lxc)-(\d+)-\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d"
                     r"\.(vma|tar)(\.zst|\.gz|\.lzo)?")


def api_client(url, cafile):
    return httpx.Client(base_url=url + "/api2/json", verify=ssl.create_default_context(cafile=cafile),
                        headers={"Authorization": f"PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}"}, timeout=10)


def add_guests(pve):
    pve.add_node("pve2")
    pve.add_vm(100, "web01", node="pve1", status="running",
               config={"scsi0": "local-lvm:vm-100-disk-0,size=32G", "name": "web01"})
    pve.add_vm(101, "db01", node="pve2", status="stopped")
    pve.add_ct(200, "dns01", node="pve1", status="running")


@pytest.fixture
def plain(fakepve, fakepve_cafile):
    """(FakePve, client): fakepve 0.5.0 as published."""
    fakepve.apitokens[TOKEN_ID] = TOKEN_SECRET
    add_guests(fakepve)
    with api_client(fakepve.url, fakepve_cafile) as client:
        yield fakepve, client


@pytest.fixture
def fixed(tmp_path):
    """(ProxgatePve, client): with the project's backup additions."""
    server = ServedPve(tmp_path / "pki")
    server.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    add_guests(server.pve)
    with api_client(server.url, server.certfile) as client:
        yield server.pve, client
    server.stop()


def data(response):
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()["data"]


def wait_task(client, upid, timeout=10):
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = data(client.get(f"/nodes/{node}/tasks/{upid}/status"))
        if status["status"] == "stopped":
            return status["exitstatus"]
        time.sleep(0.02)
    raise AssertionError(f"task {upid} still running")


def task_log(client, upid):
    node = upid.split(":")[1]
    return [line["t"] for line in data(client.get(f"/nodes/{node}/tasks/{upid}/log", params={"limit": 1000}))]


def vzdump(client, node="pve1", **params):
    return data(client.post(VZDUMP.format(node=node), data=params))


def backups(client, node="pve1", storage="local", **params):
    return data(client.get(CONTENT.format(node=node, storage=storage), params={"content": "backup", **params}))


# ------------------------------------------------------------------------------------------ the gap

def test_vzdump_writes_an_archive_per_guest_and_logs_it(plain, fixed):
    upid = vzdump(plain[1], vmid="100,200", storage="local", mode="snapshot", compress="zstd")
    assert wait_task(plain[1], upid) == "OK"
    # Gap: plain fakepve's vzdump task does nothing: no archive, no log of one.
    assert backups(plain[1]) == []
    assert not any("creating vzdump archive" in line for line in task_log(plain[1], upid))

    pve, client = fixed
    upid = vzdump(client, vmid="100,200", storage="local", mode="snapshot", compress="zstd",
                  **{"notes-template": "{{guestname}} on {{node}} ({{vmid}}, {{cluster}})", "protected": 1})
    assert upid.split(":")[5:7] == ["vzdump", ""], "a job of several guests has no task id"
    assert wait_task(client, upid) == "OK"
    listed = sorted(backups(client), key=lambda item: item["vmid"])
    assert [ARCHIVE.fullmatch(item["volid"]).group(1, 2, 3, 4) for item in listed] == [
        ("qemu", "100", "vma", ".zst"), ("lxc", "200", "tar", ".zst")]
    web, dns = listed
    assert (web["vmid"], web["format"], web["subtype"], web["content"]) == (100, "vma.zst", "qemu", "backup")
    assert (dns["vmid"], dns["format"], dns["subtype"]) == (200, "tar.zst", "lxc")
    assert web["notes"] == "web01 on pve1 (100, fakecluster)" and dns["notes"] == "dns01 on pve1 (200, fakecluster)"
    assert web["protected"] == 1 and dns["protected"] == 1
    assert web["size"] > 32 * 1024 ** 3 // 20, "sized after the guest's disks"
    assert abs(web["ctime"] - time.time()) < 60
    log = task_log(client, upid)
    archive = web["volid"].split("/", 1)[1]
    assert f"INFO: creating vzdump archive '/var/lib/vz/dump/{archive}'" in log
    assert "INFO: Starting Backup of VM 200 (lxc)" in log and "INFO: marking backup as protected" in log
    assert log[-2:] == ["INFO: Backup job finished successfully", "TASK OK"]
    # vmid filters the listing, as on a node.
    assert [item["vmid"] for item in backups(client, vmid=200)] == [200]


def test_a_storage_without_backup_content_fails_the_task(plain, fixed):
    assert wait_task(plain[1], vzdump(plain[1], vmid="100", storage="local-lvm")) == "OK"  # the gap
    pve, client = fixed
    upid = vzdump(client, vmid="100", storage="local-lvm")
    assert upid.split(":")[6] == "100"
    message = "could not get storage information for 'local-lvm': can't use storage 'local-lvm' for backups - " \
              "wrong content type"
    assert wait_task(client, upid) == message
    assert task_log(client, upid) == [f"TASK ERROR: {message}"], "nothing was started"
    assert not any(vol.get("content") == "backup" for store in pve.storages.values()
                   for vol in store.get("volumes", {}).values())


def test_a_failing_guest_ends_the_job_with_errors_and_the_others_are_backed_up(fixed):
    pve, client = fixed
    pve.fail_backup(100, "job failed with err -5 - Input/output error")
    upid = vzdump(client, vmid="100,200", storage="local")
    assert wait_task(client, upid) == "job errors"
    log = task_log(client, upid)
    assert "ERROR: Backup of VM 100 failed - job failed with err -5 - Input/output error" in log
    assert log[-2:] == ["INFO: Backup job finished with errors", "TASK ERROR: job errors"]
    assert [item["vmid"] for item in backups(client)] == [200]


def test_a_locked_guest_and_an_unknown_vmid_fail_as_on_a_node(fixed):
    pve, client = fixed
    pve.snapshot_lock(100)
    upid = vzdump(client, vmid="100,999", storage="local")
    assert wait_task(client, upid) == "job errors"
    log = task_log(client, upid)
    assert "ERROR: Backup of VM 100 failed - VM is locked (snapshot)" in log
    assert "ERROR: Backup of VM 999 failed - unable to find VM '999'" in log


def test_guests_of_other_nodes_are_skipped(fixed):
    _pve, client = fixed
    upid = vzdump(client, vmid="100,101", storage="local")
    assert wait_task(client, upid) == "OK"
    assert "INFO: skip external VMs: 101" in task_log(client, upid)
    # Only guests of another node: PVE returns OK, not a task.
    assert vzdump(client, vmid="101", storage="local") == "OK"
    assert [item["vmid"] for item in backups(client)] == [100]


def test_a_node_local_storage_lists_only_that_nodes_backups(fixed):
    _pve, client = fixed
    assert wait_task(client, vzdump(client, node="pve2", vmid="101", storage="local")) == "OK"
    assert wait_task(client, vzdump(client, node="pve1", vmid="100", storage="local")) == "OK"
    assert [item["vmid"] for item in backups(client, node="pve1")] == [100]
    assert [item["vmid"] for item in backups(client, node="pve2")] == [101]


def test_the_guest_is_locked_while_its_backup_runs(fixed):
    pve, client = fixed
    pve.time_scale, pve.backup_secs = 0.05, 10
    upid = vzdump(client, vmid="100", storage="local")
    deadline = time.monotonic() + 3
    while data(client.get("/nodes/pve1/qemu/100/config")).get("lock") != "backup":
        assert time.monotonic() < deadline, "the guest never showed lock: backup"
        time.sleep(0.02)
    assert wait_task(client, upid) == "OK"
    assert "lock" not in data(client.get("/nodes/pve1/qemu/100/config"))


def test_notes_that_cannot_be_made_end_with_warnings(fixed):
    _pve, client = fixed
    upid = vzdump(client, vmid="100", storage="local", **{"notes-template": "{{hostname}}"})
    assert wait_task(client, upid) == "WARNINGS: 1"
    assert "WARN: unable to add notes - unexpected variable name 'hostname'" in task_log(client, upid)
    assert task_log(client, upid)[-1] == "TASK WARNINGS: 1"
    assert "notes" not in backups(client)[0]


def test_retention_prunes_with_remove_and_limits_without(fixed):
    pve, client = fixed
    pve.storages["local"]["prune-backups"] = "keep-last=1"
    first = vzdump(client, vmid="100", storage="local", protected=1)
    assert wait_task(client, first) == "OK"
    for _unused in range(2):
        assert wait_task(client, vzdump(client, vmid="100", storage="local", remove=1)) == "OK"
    kept = backups(client)
    assert len(kept) == 2 and sorted(item.get("protected", 0) for item in kept) == [0, 1], \
        "the newest and the protected one are kept"
    upid = vzdump(client, vmid="100", storage="local", remove=0)
    assert wait_task(client, upid) == "job errors"
    assert ("ERROR: Backup of VM 100 failed - There is a max backup limit of 1 enforced by the target storage or "
            "the vzdump parameters. Either increase the limit or delete old backups.") in task_log(client, upid)


def test_pbs_archives_are_named_as_snapshots(fixed):
    pve, client = fixed
    pve.storages["pbs"] = {"type": "pbs", "content": "backup", "server": "10.0.0.9", "datastore": "main",
                           "active": 1, "files": set(), "volumes": {}}
    upid = vzdump(client, vmid="200", storage="pbs")
    assert wait_task(client, upid) == "OK"
    [item] = backups(client, storage="pbs")
    assert re.fullmatch(r"pbs:backup/ct/200/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item["volid"])
    assert item["format"] == "pbs-ct"
    snapshot = item["volid"].split(":backup/", 1)[1]
    assert f"INFO: creating Proxmox Backup Server archive '{snapshot}'" in task_log(client, upid)


def test_root_only_options_are_refused_to_a_token(fixed):
    _pve, client = fixed
    response = client.post(VZDUMP.format(node="pve1"), data={"vmid": "100", "prune-backups": "keep-last=1"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"prune-backups": "Only root may set this option."}


# ------------------------------------------------------------------------------------- pure helpers

def test_notes_template_escapes_and_variables():
    info = {"cluster": "c", "guestname": "web01", "node": "pve1", "vmid": 100}
    assert generate_notes("{{guestname}}\\n{{vmid}} \\\\ x", info) == "web01\n100 \\ x"
    with pytest.raises(ValueError, match="unexpected escape character 't'"):
        generate_notes("a\\tb", info)


def test_prune_marks_keep_last_and_daily():
    day = 86400
    backups = [{"volname": f"b{i}", "ctime": 1_700_000_000 + i * day // 2} for i in range(6)]
    marks = prune_marks(backups, {"keep-last": 2})
    assert [marks[f"b{i}"] for i in range(6)] == ["remove"] * 4 + ["keep"] * 2
    backups[0]["protected"] = True
    assert prune_marks(backups, {"keep-last": 1})["b0"] == "protected"
    assert prune_marks(backups, {"keep-all": 1}) == {"b0": "protected", **{f"b{i}": "keep" for i in range(1, 6)}}

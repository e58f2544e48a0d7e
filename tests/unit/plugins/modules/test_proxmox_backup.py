"""proxmox_backup and proxmox_backup_info: vzdump log parsing, per-node grouping, name resolution, notes
templates, finding the new archive, and the info module's filters - no network."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import resolve_guest_refs
from ansible_collections.proxgate.core.plugins.modules import proxmox_backup, proxmox_backup_info
from ansible_collections.proxgate.core.plugins.modules.proxmox_backup import (
    ProxmoxBackup,
    TaskLog,
    archive_volid,
    backup_entry,
    group_by_node,
    new_archive,
    notes_template_error,
    parse_vzdump_log,
    planned_volid,
)
from ansible_collections.proxgate.core.plugins.modules.proxmox_backup_info import (
    backup_fields,
    backup_type,
    newest_only,
    reading_nodes,
    sort_key,
)

AUTH = {"api_url": "https://pve.invalid:8006", "api_token_id": "root@pam!ci", "api_token_secret": "s3cret"}
RESOURCES = [
    {"vmid": 101, "name": "web01", "node": "pve1", "type": "qemu"},
    {"vmid": 102, "name": "win-desktop", "node": "pve2", "type": "qemu"},
    {"vmid": 103, "name": "db01", "node": "pve2", "type": "qemu"},
    {"vmid": 200, "name": "dns01", "node": "pve1", "type": "lxc"},
    {"vmid": 150, "name": "web01", "node": "pve2", "type": "qemu"},
    {"vmid": 300, "node": "pve3", "type": "qemu"},  # half-created: no name
]

# A node's vzdump log for a VM and a container to a directory storage, one of them failing, with a warning.
DIR_LOG = [
    "INFO: starting new backup job: vzdump 101 200 300 --storage local --mode snapshot --compress zstd --node pve1",
    "INFO: Starting Backup of VM 101 (qemu)",
    "INFO: Backup started at 2026-11-23 18:00:00",
    "INFO: status = running",
    "INFO: VM Name: web01",
    "INFO: include disk 'scsi0' 'local-lvm:vm-101-disk-0' 32G",
    "WARN: no efidisk configured! Using temporary efivars disk.",
    "INFO: backup mode: snapshot",
    "INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-qemu-101-2026_11_23-18_00_00.vma.zst'",
    "INFO: archive file size: 1.20GB",
    "INFO: Finished Backup of VM 101 (00:00:12)",
    "INFO: Starting Backup of VM 200 (lxc)",
    "INFO: CT Name: dns01",
    "INFO: creating vzdump archive '/mnt/pve/nfs/dump/vzdump-lxc-200-2026_11_23-18_00_12.tar.zst'",
    "INFO: Finished Backup of VM 200 (00:00:03)",
    "ERROR: Backup of VM 300 failed - VM is locked (snapshot)",
    "INFO: Failed at 2026-11-23 18:00:16",
    "INFO: Backup job finished with errors",
    "TASK ERROR: job errors",
]
PBS_LOG = [
    "INFO: Starting Backup of VM 101 (qemu)",
    "INFO: creating Proxmox Backup Server archive 'vm/101/2026-11-23T18:00:00Z'",
    "INFO: Starting Backup of VM 200 (lxc)",
    "INFO: creating Proxmox Backup Server archive 'ct/200/2026-11-23T18:00:09Z'",
    "WARN: unable to add notes - unexpected variable name 'hostname'",
    "TASK WARNINGS: 1",
]


# ------------------------------------------------------------------------------------------ the task log

def test_log_gives_archives_errors_and_warnings():
    archives, errors, warnings = parse_vzdump_log(DIR_LOG)
    assert archives == {101: "/var/lib/vz/dump/vzdump-qemu-101-2026_11_23-18_00_00.vma.zst",
                        200: "/mnt/pve/nfs/dump/vzdump-lxc-200-2026_11_23-18_00_12.tar.zst"}
    assert errors == {300: "VM is locked (snapshot)"}
    assert warnings == ["WARN: no efidisk configured! Using temporary efivars disk."]


def test_pbs_log_names_snapshots_with_their_vmid():
    archives, errors, warnings = parse_vzdump_log(PBS_LOG)
    assert archives == {101: "vm/101/2026-11-23T18:00:00Z", 200: "ct/200/2026-11-23T18:00:09Z"}
    assert errors == {} and warnings == ["WARN: unable to add notes - unexpected variable name 'hostname'"]


def test_an_archive_line_outside_a_guest_section_is_not_guessed():
    assert parse_vzdump_log(["INFO: creating vzdump archive '/x/vzdump-qemu-1-a.vma'"])[0] == {}
    assert parse_vzdump_log([]) == ({}, {}, [])


@pytest.mark.parametrize("storage, target, volid", [
    ("local", "/var/lib/vz/dump/vzdump-qemu-101-2026_11_23-18_00_00.vma.zst",
     "local:backup/vzdump-qemu-101-2026_11_23-18_00_00.vma.zst"),
    ("nfs", "/mnt/pve/nfs/dump/vzdump-lxc-200-2026_11_23-18_00_12.tar.zst",
     "nfs:backup/vzdump-lxc-200-2026_11_23-18_00_12.tar.zst"),
    ("pbs-main", "vm/101/2026-11-23T18:00:00Z", "pbs-main:backup/vm/101/2026-11-23T18:00:00Z"),
])
def test_archive_volid(storage, target, volid):
    assert archive_volid(storage, target) == volid


@pytest.mark.parametrize("storage_type, guest, compress, volid", [
    ("dir", {"vmid": 101, "type": "qemu"}, "zstd", "local:backup/vzdump-qemu-101-YYYY_MM_DD-HH_MM_SS.vma.zst"),
    ("nfs", {"vmid": 200, "type": "lxc"}, "gzip", "local:backup/vzdump-lxc-200-YYYY_MM_DD-HH_MM_SS.tar.gz"),
    ("dir", {"vmid": 101, "type": "qemu"}, "0", "local:backup/vzdump-qemu-101-YYYY_MM_DD-HH_MM_SS.vma"),
    ("pbs", {"vmid": 200, "type": "lxc"}, "zstd", "local:backup/ct/200/YYYY-MM-DDTHH:MM:SSZ"),
])
def test_planned_volid(storage_type, guest, compress, volid):
    assert planned_volid("local", storage_type, guest, compress) == volid


# ------------------------------------------------------------------------------------ guests and nodes

def test_guests_by_vmid_and_name_each_once_sorted():
    vmids, errors = resolve_guest_refs(RESOURCES, ["dns01", "103", "db01", " 102 ", "300"])
    assert errors == []
    assert vmids == [102, 103, 200, 300]


def test_unknown_and_ambiguous_guests_are_all_reported():
    vmids, errors = resolve_guest_refs(RESOURCES, ["web01", "999", "nope", "dns01"])
    assert vmids == [200]
    assert errors == ["name 'web01' is used by several guests (vmids 101, 150); give the vmid to choose one",
                      "no guest with vmid 999 in the cluster", "no guest named 'nope' in the cluster"]


def test_one_vzdump_per_node_with_its_guests():
    groups = group_by_node([RESOURCES[i] for i in (3, 2, 0, 1)])
    assert list(groups) == ["pve1", "pve2"]
    assert [g["vmid"] for g in groups["pve1"]] == [101, 200]
    assert [g["vmid"] for g in groups["pve2"]] == [102, 103]


# --------------------------------------------------------------------------------------------- notes

@pytest.mark.parametrize("template", [None, "", "{{guestname}} before the upgrade", "{{vmid}}\\n{{node}}",
                                      "{{cluster}} \\\\ nightly", "plain {text} and {{ spaced }}"])
def test_notes_templates_pve_takes(template):
    assert notes_template_error(template) is None


@pytest.mark.parametrize("template, expected", [
    ("{{hostname}} nightly", "notes_template uses {{hostname}}; PVE fills in only {{cluster}}, {{guestname}}, "
                             "{{node}}, {{vmid}}"),
    ("{{name}}{{guestname}}{{Vmid}}", "notes_template uses {{Vmid}}, {{name}};"),
    ("two\nlines", "notes_template must be one line"),
    ("a\\tb", "notes_template has the escape \\t; PVE knows only \\n"),
    ("x" * 1025, "notes_template is 1025 characters long; PVE allows at most 1024"),
])
def test_notes_templates_pve_refuses(template, expected):
    assert notes_template_error(template).startswith(expected)


# ------------------------------------------------------------------------------------ the new archive

def listing(*volids, ctime=1000):
    return {volid: {"volid": volid, "ctime": ctime + i, "size": 10 + i} for i, volid in enumerate(volids)}


def test_the_new_archive_is_the_one_the_listing_gained():
    before = listing("local:backup/a")
    after = {**before, **listing("local:backup/b", ctime=2000)}
    assert new_archive(before, after, None)["volid"] == "local:backup/b"


def test_when_another_job_added_one_too_the_log_decides():
    before = listing("local:backup/a")
    after = {**before, **listing("local:backup/ours", "local:backup/theirs", ctime=2000)}
    assert new_archive(before, after, "local:backup/ours")["volid"] == "local:backup/ours"
    # Without a log line: the newest.
    assert new_archive(before, after, None)["volid"] == "local:backup/theirs"


def test_nothing_gained_gives_none():
    before = listing("local:backup/a")
    assert new_archive(before, dict(before), None) is None
    assert new_archive(before, dict(before), "local:backup/unlisted") is None


def test_backup_entry():
    guest = {"vmid": "103", "name": "db01", "type": "qemu"}
    item = {"volid": "local:backup/x.vma.zst", "size": 5, "ctime": 7, "format": "vma.zst", "notes": "n",
            "protected": 1, "content": "backup"}
    assert backup_entry(guest, "pve2", item) == {
        "vmid": 103, "name": "db01", "type": "qemu", "node": "pve2", "volid": "local:backup/x.vma.zst", "size": 5,
        "ctime": 7, "format": "vma.zst", "notes": "n", "protected": True}
    assert backup_entry(guest, "pve2", None)["volid"] is None


class StubClient:
    """Answers the calls find_archives makes: the content listing, a volume's info and the task log."""

    def __init__(self, listings, volume=None, log=()):
        self.listings = listings
        self.volume = volume
        self.log = list(log)
        self.calls = []

    def get(self, path, **params):
        self.calls.append(path)
        if path.endswith("/log"):
            return [{"n": i + 1, "t": line} for i, line in enumerate(self.log)][params["start"]:]
        if "/content/" in path:
            return self.volume
        return list(self.listings[params["vmid"]].values())


def backup_module(**args):
    with patch_module_args(dict(AUTH, guests=["101"], storage="local", **args)):
        return ProxmoxBackup()


def test_the_log_and_the_volume_info_are_the_fallback_when_the_listing_shows_nothing_new():
    module = backup_module()
    upid = "UPID:pve1:00001234:00005678:6740F0A1:vzdump:101:root@pam:"
    volid = "local:backup/vzdump-qemu-101-2026_11_23-18_00_00.vma.zst"
    module.client = StubClient({101: {}}, volume={"size": 99, "format": "vma.zst", "notes": "n"}, log=DIR_LOG)
    [made] = module.find_archives("pve1", [RESOURCES[0]], {101: {}}, TaskLog(module.client, upid))
    assert (made["volid"], made["size"], made["notes"]) == (volid, 99, "n")
    assert module.client.calls[-1].endswith("/content/" + volid.replace(":", "%3A").replace("/", "%2F"))


def test_the_log_is_not_read_when_the_listing_gained_one():
    module = backup_module()
    module.client = StubClient({101: listing("local:backup/new")})
    upid = "UPID:pve1:00001234:00005678:6740F0A1:vzdump:101:root@pam:"
    [made] = module.find_archives("pve1", [RESOURCES[0]], {101: {}}, TaskLog(module.client, upid))
    assert made["volid"] == "local:backup/new"
    assert not any(call.endswith("/log") for call in module.client.calls)


def test_after_a_failed_job_only_the_guests_with_an_archive_are_returned():
    module = backup_module()
    module.client = StubClient({101: listing("local:backup/new"), 200: {}, 300: {}}, log=DIR_LOG[:11] + DIR_LOG[15:])
    upid = "UPID:pve1:00001234:00005678:6740F0A1:vzdump::root@pam:"
    guests = [RESOURCES[0], RESOURCES[3], {"vmid": 300, "node": "pve1", "type": "qemu"}]
    made = module.find_archives("pve1", guests, {101: {}, 200: {}, 300: {}}, TaskLog(module.client, upid),
                                failed=True)
    assert [b["vmid"] for b in made] == [101]


# ------------------------------------------------------------------------------- option checks, no calls

def run_module(capsys, module, **args):
    with patch_module_args(dict(AUTH, **args)), pytest.raises(SystemExit) as exited:
        module.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1, result
    return result


@pytest.mark.parametrize("args, expected", [
    ({"guests": [], "storage": "local"}, "guests must list at least one guest"),
    ({"guests": ["101", " "], "storage": "local"}, "guests must list at least one guest"),
    ({"guests": ["101"], "storage": "local", "timeout": 0}, "timeout must be a positive number of seconds, got 0"),
    ({"guests": ["101"], "storage": "local", "notes_template": "{{host}}"}, "notes_template uses {{host}}"),
    ({"guests": ["101"], "storage": "local", "compress": "bzip2"}, "value of compress must be one of: zstd, gzip"),
    ({"guests": ["101"], "storage": "local", "mode": "live"}, "value of mode must be one of: snapshot, suspend"),
    ({"guests": ["101"]}, "missing required arguments: storage"),
])
def test_backup_options_fail_before_any_call(capsys, args, expected):
    assert expected in run_module(capsys, proxmox_backup, **args)["msg"]


@pytest.mark.parametrize("args, expected", [
    ({"storage": "local", "newest": 0}, "newest must be 1 or more, got 0"),
    ({"storage": "local", "guests": [""]}, "guests must list vmids or names"),
])
def test_info_options_fail_before_any_call(capsys, args, expected):
    assert expected in run_module(capsys, proxmox_backup_info, **args)["msg"]


# --------------------------------------------------------------------------------------- backup_info

@pytest.mark.parametrize("item, kind", [
    ({"subtype": "lxc", "volid": "local:backup/vzdump-qemu-1-x.vma"}, "lxc"),
    ({"volid": "local:backup/vzdump-qemu-101-2026_11_23-18_00_00.vma.zst"}, "qemu"),
    ({"volid": "local:backup/vzdump-openvz-101-2014_01_01-00_00_00.tar"}, "lxc"),
    ({"volid": "pbs:backup/ct/200/2026-11-23T18:00:09Z"}, "lxc"),
    ({"volid": "pbs:backup/vm/101/2026-11-23T18:00:00Z"}, "qemu"),
    ({"volid": "local:backup/my-own.tar"}, None),
])
def test_backup_type(item, kind):
    assert backup_type(item) == kind


def test_backup_fields():
    item = {"volid": "pbs:backup/vm/101/2026-11-23T18:00:00Z", "vmid": "101", "ctime": 1795456800, "size": 3,
            "format": "pbs-vm", "protected": 0, "verification": {"state": "ok", "upid": "UPID:pbs:1"},
            "content": "backup"}
    assert backup_fields(item, "pve1", {101: "web01"}) == {
        "volid": "pbs:backup/vm/101/2026-11-23T18:00:00Z", "vmid": 101, "name": "web01", "type": "qemu",
        "node": "pve1", "ctime": 1795456800, "ctime_iso": "2026-11-23T18:00:00Z", "size": 3, "format": "pbs-vm",
        "notes": None, "protected": False, "verification": {"state": "ok", "upid": "UPID:pbs:1"}}


def test_newest_per_guest_keeps_the_order():
    backups = [{"vmid": vmid, "ctime": ctime, "volid": f"{vmid}-{ctime}"}
               for vmid, ctime in ((101, 1), (101, 3), (101, 2), (200, 5), (None, 4))]
    backups.sort(key=sort_key)
    assert [b["volid"] for b in backups] == ["101-1", "101-2", "101-3", "200-5", "None-4"]
    assert [b["volid"] for b in newest_only(backups, 2)] == ["101-2", "101-3", "200-5", "None-4"]
    assert [b["volid"] for b in newest_only(backups, 1)] == ["101-3", "200-5", "None-4"]


def test_info_guests_by_vmid_need_no_guest_but_names_must_resolve():
    assert resolve_guest_refs(RESOURCES, ["555", "db01"], known_only=False) == ([103, 555], [])
    assert resolve_guest_refs(RESOURCES, ["web01", "ghost"], known_only=False)[1] == [
        "name 'web01' is used by several guests (vmids 101, 150); give the vmid to choose one",
        "no guest named 'ghost' in the cluster"]


def test_reading_nodes_node_local_and_shared():
    entries = [{"storage": "local", "node": node, "status": "available", "shared": 0} for node in ("pve2", "pve1")]
    entries += [{"storage": "local", "node": "pve3", "status": "unknown", "shared": 0},
                {"storage": "nfs", "node": "pve2", "status": "available", "shared": 1},
                {"storage": "nfs", "node": "pve1", "status": "available", "shared": 1}]
    assert reading_nodes(entries, "local") == ["pve1", "pve2"]
    assert reading_nodes(entries, "nfs") == ["pve1"]
    assert reading_nodes(entries, "gone") == []

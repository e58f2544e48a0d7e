"""proxmox_disk's pure parts (module_utils/proxmox/disks.py): how auto picks an import method, sources, sizes,
drive options, the boot order, and what a resize, a storage's content and qm's imported volume come to."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.disks import (
    boot_value,
    choose_import_method,
    classify_source,
    content_problem,
    disk_size,
    download_filename,
    drive_value,
    gib_text,
    imported_problem,
    merged_drive,
    node_address,
    parse_version,
    resize_plan,
    size_text,
    unused_key_of,
    wanted_options,
)

GIB = 1 << 30


# ------------------------------------------------------------------ sources and versions

@pytest.mark.parametrize("text, kind", [
    ("local:import/noble.qcow2", "volume"),
    ("local-lvm:vm-100-disk-0", "volume"),
    ("/var/lib/vz/template/noble.qcow2", "path"),
    ("/tmp/a b; $(id).qcow2", "path"),
    ("https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img", "url"),
    ("HTTP://example.com/x.qcow2", "url"),
    ("https:///no-host", None),
    ("noble.qcow2", None),
    ("ftp://example.com/x.qcow2", None),
    ("", None),
])
def test_classify_source(text, kind):
    assert classify_source(text) == kind


@pytest.mark.parametrize("text, version", [
    ("8.2.4", (8, 2)), ("7.1-10", (7, 1)), ("9.0", (9, 0)), (" 7.2-3 ", (7, 2)), ("fake", None), (None, None),
])
def test_parse_version(text, version):
    assert parse_version(text) == version


# ------------------------------------------------------------------ auto

@pytest.mark.parametrize("kind, auth, user, version, method, reason", [
    ("path", "token", None, (8, 2), "ssh", "logs in with an API token, so qm importdisk runs over SSH"),
    ("path", "ticket", "admin@pve", (8, 2), "ssh", "logs in as admin@pve"),
    ("path", "ticket", "root@pam", (8, 2), "api", "root@pam logged in with a password"),
    ("path", "ticket", "root@pam", (7, 2), "api", "root@pam logged in with a password"),
    ("path", "ticket", "root@pam", (7, 1), "ssh", "PVE 7.1, which has no import-from"),
    ("path", "ticket", "root@pam", None, "api", "root@pam"),
    ("volume", "token", None, (8, 2), "api", "volume id"),
    ("volume", "ticket", "root@pam", (7, 2), "api", "volume id"),
    ("url", "token", None, (8, 2), "api", "download-url"),
    ("url", "token", None, None, "api", "download-url"),
])
def test_auto_picks(kind, auth, user, version, method, reason):
    chosen, why = choose_import_method("auto", kind, auth, user, version)
    assert chosen == method and reason in why


@pytest.mark.parametrize("requested, kind, auth, user, version, message", [
    ("auto", "volume", "ticket", "root@pam", (7, 1), "needs import-from, which PVE 7.1 does not have"),
    ("auto", "url", "token", None, (8, 1), "needs PVE 8.2 or later (the node runs 8.1)"),
    ("api", "path", "token", None, (8, 2), "cannot import a path on the node when logged in with an API token"),
    ("api", "path", "ticket", "root@pam", (7, 1), "api needs import-from"),
    ("ssh", "volume", "token", None, (8, 2), "takes a file path on the node, not a volume id"),
    ("ssh", "url", "token", None, (8, 2), "an URL is downloaded by the node"),
])
def test_combinations_that_cannot_work(requested, kind, auth, user, version, message):
    with pytest.raises(ValueError) as refused:
        choose_import_method(requested, kind, auth, user, version)
    assert message in str(refused.value)


@pytest.mark.parametrize("requested, kind", [("api", "volume"), ("api", "path"), ("ssh", "path")])
def test_an_explicit_method_is_kept_when_it_can_work(requested, kind):
    chosen, why = choose_import_method(requested, kind, "ticket", "root@pam", (8, 2))
    assert chosen == requested and why == f"import_method: {requested} was asked for"


# ------------------------------------------------------------------ sizes

@pytest.mark.parametrize("text, size", [
    ("32G", 32 * GIB), ("32", 32 * GIB), ("512M", 512 << 20), ("1.5T", int(1.5 * (1 << 40))), ("4g", 4 * GIB),
    (" 8 G ", 8 * GIB), (20, 20 * GIB),
])
def test_disk_size(text, size):
    assert disk_size(text) == size


@pytest.mark.parametrize("text", ["0", "0G", "-1G", "big", "32GB", "", "1P"])
def test_disk_size_refuses(text):
    with pytest.raises(ValueError):
        disk_size(text)


@pytest.mark.parametrize("size, text, gib", [
    (32 * GIB, "32G", "32"), (512 << 20, "512M", "0.5"), (1 << 40, "1T", "1024"), (1536, "1536", "0.000001"),
    (3 * 1024, "3K", "0.000003"),
])
def test_size_text_and_gib_text(size, text, gib):
    assert size_text(size) == text
    assert gib_text(size) == gib


# ------------------------------------------------------------------ drive options

def test_wanted_options_spell_values_as_pve_does():
    params = {"discard": True, "ssd": False, "iothread": True, "cache": "writeback", "backup": None,
              "options": {"aio": "native", "replicate": False, "serial": None}}
    assert wanted_options(params) == {"discard": "on", "ssd": "0", "iothread": "1", "cache": "writeback",
                                      "aio": "native", "replicate": "0", "serial": None}
    assert wanted_options({"discard": False}) == {"discard": "ignore"}


def test_drive_value_leaves_out_defaults_and_removals():
    options = {"discard": "ignore", "ssd": "0", "iothread": "1", "serial": None}
    assert drive_value("local-lvm:4", options) == "local-lvm:4,iothread=1"
    assert drive_value("local-lvm:0", {"discard": "on"}, {"import-from": "local:import/a.qcow2"}) == \
        "local-lvm:0,import-from=local:import/a.qcow2,discard=on"


@pytest.mark.parametrize("current, options, expected", [
    # The same options, spelled or ordered otherwise: nothing to write.
    ("local-lvm:vm-100-disk-0,discard=on,iothread=1,size=8G", {"iothread": "1", "discard": "on"}, None),
    ("local-lvm:vm-100-disk-0,size=8G", {"ssd": "0", "discard": "ignore", "backup": "1"}, None),
    ("local-lvm:vm-100-disk-0,ssd=0,size=8G", {"ssd": "0"}, None),
    ("local-lvm:vm-100-disk-0,size=8G", {}, None),
    # Options not named are kept; the volume and size always are.
    ("local-lvm:vm-100-disk-0,iothread=1,size=8G", {"discard": "on"},
     "local-lvm:vm-100-disk-0,iothread=1,size=8G,discard=on"),
    ("local-lvm:vm-100-disk-0,ssd=1,size=8G", {"ssd": "0"}, "local-lvm:vm-100-disk-0,size=8G"),
    ("local-lvm:vm-100-disk-0,serial=abc,size=8G", {"serial": None}, "local-lvm:vm-100-disk-0,size=8G"),
    ("local-lvm:vm-100-disk-0,cache=none,size=8G", {"cache": "writeback"},
     "local-lvm:vm-100-disk-0,cache=writeback,size=8G"),
])
def test_merged_drive(current, options, expected):
    assert merged_drive(current, options) == expected


# ------------------------------------------------------------------ boot order

@pytest.mark.parametrize("boot, slot, first, expected", [
    ("order=scsi0;ide2;net0", "scsi1", True, "order=scsi1;scsi0;ide2;net0"),
    ("order=ide2;scsi1;net0", "scsi1", True, "order=scsi1;ide2;net0"),
    ("order=scsi1;net0", "scsi1", True, None),
    (None, "scsi0", True, "order=scsi0"),
    ("cdn", "scsi0", True, "order=scsi0"),
    ("order=scsi0;net0", "scsi0", False, "order=net0"),
    ("order=scsi0", "scsi0", False, ""),
    ("order=net0", "scsi0", False, None),
    (None, "scsi0", False, None),
])
def test_boot_value(boot, slot, first, expected):
    assert boot_value(boot, slot, first) == expected


# ------------------------------------------------------------------ small lookups

def test_node_address_from_cluster_status():
    status = [{"type": "cluster", "name": "c"}, {"type": "node", "name": "pve1", "ip": "10.0.0.11"},
              {"type": "node", "name": "pve2"}]
    assert node_address(status, "pve1") == "10.0.0.11"
    assert node_address(status, "pve2") == "pve2"
    assert node_address(None, "pve3") == "pve3"


def test_download_filename_and_unused_lookup():
    assert download_filename("https://x.example/a/noble%20cloud.img?x=1") == "noble cloud.img"
    assert download_filename("https://x.example/a/noble.img", "noble.qcow2") == "noble.qcow2"
    config = {"unused1": "local-lvm:vm-100-disk-2", "unused0": "local-lvm:vm-100-disk-1", "scsi0": "x"}
    assert unused_key_of(config, "local-lvm:vm-100-disk-2") == "unused1"
    assert unused_key_of(config, "local-lvm:vm-100-disk-9") is None


# ------------------------------------------------------------------ plans and checks

@pytest.mark.parametrize("asked, have, grow, shrink", [
    ("32G", 16 * GIB, (16 * GIB, 32 * GIB), None),
    ("32G", None, (None, 32 * GIB), None),
    ("32G", 32 * GIB, None, None),
    ("16G", 32 * GIB, None, "size: scsi1 is 32G, larger than the 16G asked for; PVE cannot shrink a disk"),
])
def test_resize_plan(asked, have, grow, shrink):
    assert resize_plan("scsi1", asked, have) == (grow, shrink)


@pytest.mark.parametrize("status, content, expected", [
    ({"content": "images,rootdir"}, "images", None),
    ({"content": "iso vztmpl;backup"}, "images",
     "storage: storage 'local' has no 'images' content (it has iso, vztmpl, backup)"),
    ({}, "import", "storage: storage 'local' has no 'import' content (it has none); enable 'import'"),
])
def test_content_problem(status, content, expected):
    problem = content_problem("storage", "local", status, content)
    assert problem == expected if expected is None else problem.startswith(expected)


def test_only_a_new_disk_of_the_vm_listed_under_the_key_qm_named_is_attached():
    config = {"unused0": "local-lvm:vm-100-disk-1"}
    assert imported_problem("unused0", "local-lvm:vm-100-disk-1", config, 100, "local-lvm") is None
    assert "belongs to VM 101" in imported_problem("unused0", "local-lvm:vm-101-disk-1", config, 100, "local-lvm")
    assert "lists no unused1" in imported_problem("unused1", "local-lvm:vm-100-disk-1", config, 100, "local-lvm")
    assert "not on 'ceph'" in imported_problem("unused0", "local-lvm:vm-100-disk-1", config, 100, "ceph")

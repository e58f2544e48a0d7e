"""proxmox_disk: the pure parts - how auto picks an import method, sources, sizes, drive options, the boot
order - and the option checks that fail before anything is read or written."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.proxgate.core.plugins.modules import proxmox_disk
from ansible_collections.proxgate.core.plugins.modules.proxmox_disk import (
    boot_value,
    choose_import_method,
    classify_source,
    disk_size,
    download_filename,
    drive_value,
    gib_text,
    merged_drive,
    node_address,
    parse_version,
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


# ------------------------------------------------------------------ option checks (no API is reached)

# A secret that appears in no message: Ansible masks no_log values everywhere in the output.
AUTH = {"api_url": "https://127.0.0.1:1", "api_token_id": "root@pam!t", "api_token_secret": "5e3c7a1f-unit-test"}


def run_module(capsys, **args):
    with patch_module_args(dict(AUTH, **args)), pytest.raises(SystemExit) as exited:
        proxmox_disk.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1, result
    return result


@pytest.mark.parametrize("args, message", [
    ({"vmid": 100, "disk": "efidisk0"}, "disk must be a disk slot such as scsi0"),
    ({"vmid": 100, "disk": "unused0"}, "(or unusedN with state: absent)"),
    ({"vmid": 100, "disk": "scsi31"}, "disk must be a disk slot"),
    # qemu-server (Drive.pm $MAX_*_DISKS) has ide0-3, sata0-5, scsi0-30, virtio0-15 and unused0-255.
    ({"vmid": 100, "disk": "virtio16"}, "(ide0-ide3, sata0-sata5, scsi0-scsi30, virtio0-virtio15)"),
    ({"vmid": 100, "disk": "sata6"}, "disk must be a disk slot"),
    ({"vmid": 100, "disk": "ide4"}, "disk must be a disk slot"),
    ({"vmid": 100, "disk": "unused256", "state": "absent"}, "or unusedN (unused0-unused255); got 'unused256'"),
    ({"vmid": 100, "disk": "scsi0", "storage": "local-lvm; touch /tmp/x"}, "storage must be a storage id"),
    ({"vmid": 100, "disk": "scsi0", "size": "-4G"}, "size must be a size such as 32G"),
    ({"vmid": 100, "disk": "scsi0", "import_from": "noble.qcow2", "storage": "local-lvm"},
     "import_from must be a volume id"),
    ({"vmid": 100, "disk": "scsi0", "import_from": "/x.qcow2"}, "import_from needs storage"),
    ({"vmid": 100, "disk": "scsi0", "storage": "s", "import_from": "https://example.com/noble.img"},
     "the download would be named 'noble.img'"),
    ({"vmid": 100, "disk": "scsi0", "storage": "s", "import_from": "https://example.com/n.qcow2",
      "import_method": "ssh"}, "import_method: ssh imports a file that is on the node"),
    ({"vmid": 100, "disk": "scsi0", "storage": "s", "import_from": "local:import/n.qcow2", "import_method": "ssh"},
     "not a volume id"),
    ({"vmid": 100, "disk": "scsi0", "storage": "s", "import_from": "/n.qcow2", "checksum": "ab",
      "checksum_algorithm": "sha256"}, "checksum only apply with an import_from URL"),
    ({"vmid": 100, "disk": "scsi0", "options": {"discard": "on"}}, "options.discard: use the discard option"),
    ({"vmid": 100, "disk": "scsi0", "options": {"size": "4G"}}, "options.size is not a drive option"),
    ({"vmid": 100, "disk": "scsi0", "ssh_host_key": "abc"}, "ssh_host_key must be a SHA256 fingerprint"),
    ({"vmid": 100, "disk": "scsi0", "ssh_port": 0}, "ssh_port must be between 1 and 65535"),
    ({"vmid": 100, "disk": "scsi0", "state": "absent", "size": "4G"}, "size only apply with state: present"),
    ({"vmid": 100, "disk": "scsi0", "volume": "vm-100-disk-0"}, "volume must be a volume id"),
    # One field of a property string each (pve-common JSONSchema.pm parse_property_string: no quoting).
    ({"vmid": 100, "disk": "scsi0", "volume": "local-lvm:vm-100-disk-1,backup=0"}, "volume must not contain ','"),
    ({"vmid": 100, "disk": "scsi0", "volume": "cache=unsafe"}, "volume must not contain '='"),
    ({"vmid": 100, "disk": "scsi0", "storage": "local-lvm", "import_from": "/x.qcow2,cache=unsafe"},
     "import_from must not contain ','"),
    ({"vmid": 100, "disk": "scsi0", "storage": "local-lvm", "import_from": "local:import/x.qcow2,backup=0"},
     "import_from must not contain ','"),
    ({"vmid": 100, "disk": "scsi0", "storage": "local-lvm", "import_from": "/x.qcow2\nscsi1: local-lvm:vm-1-disk-0"},
     "import_from must not contain a line break"),
    ({"vmid": 100, "disk": "scsi0", "options": {"serial": "a,cache=unsafe"}}, "options.serial must not contain ','"),
    ({"vmid": 100, "disk": "scsi0", "options": {"serial": ["a", "b"]}}, "options.serial must be a single value"),
    ({"vmid": 100, "disk": "scsi0", "storage": "local-lvm,cache=unsafe"}, "storage must not contain ','"),
    ({"vmid": 100, "disk": "scsi0", "import_storage": "local=x"}, "import_storage must not contain '='"),
    ({"vmid": 100, "disk": "scsi0", "timeout": 0}, "timeout must be a positive number"),
    ({"vmid": 100, "disk": "scsi0", "import_from": "/a", "volume": "unused0"}, "mutually exclusive"),
    ({"vmid": 100, "disk": "scsi0", "checksum": "ab"}, "parameters are required together"),
    ({"disk": "scsi0"}, "one of the following is required: vmid, name"),
])
def test_bad_options_fail_before_any_call(capsys, args, message):
    assert message in run_module(capsys, **args)["msg"]


def test_several_problems_are_reported_at_once(capsys):
    msg = run_module(capsys, vmid=5, disk="hda", size="x")["msg"]
    assert "vmid must be between 100" in msg and "disk must be" in msg and "size must be" in msg


def test_secrets_are_not_logged():
    spec = proxmox_disk.ProxmoxDisk.argument_spec
    assert all(spec[name]["no_log"] for name in ("ssh_password", "ssh_private_key", "ssh_private_key_passphrase"))
    assert spec["ssh_user"]["default"] == "root" and spec["ssh_host_key_checking"]["default"] is True

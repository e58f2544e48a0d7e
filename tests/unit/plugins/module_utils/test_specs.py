"""PVE property strings: parse, format, and compare them the way a node means them."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import (
    DISK_KEY,
    DRIVE_KEY,
    UNUSED_KEY,
    config_value_equal,
    disk_key_pattern,
    drive_equal,
    drive_size_request,
    format_props,
    join_tags,
    net_equal,
    owned_disk_problem,
    parse_drive,
    parse_net,
    parse_props,
    property_field_problem,
    props_equal,
    size_bytes,
    split_tags,
    storage_id_problem,
    volume_storage,
)

NET = "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1"
DISK = "local-lvm:vm-100-disk-0,size=32G"


# ------------------------------------------------------------------ parse / format

def test_net_string_round_trip():
    parsed = parse_props(NET)
    assert parsed == {"virtio": "BC:24:11:00:00:01", "bridge": "vmbr0", "firewall": "1"}
    assert list(parsed) == ["virtio", "bridge", "firewall"], "order is kept"
    assert format_props(parsed) == NET


def test_drive_string_round_trip():
    parsed = parse_drive(DISK)
    assert parsed == {"volume": "local-lvm:vm-100-disk-0", "size": "32G"}
    assert format_props(parsed, default_key="volume") == DISK


def test_drive_given_with_file_key():
    assert parse_drive("file=local-lvm:vm-100-disk-0,discard=on") == {
        "discard": "on", "volume": "local-lvm:vm-100-disk-0"}


def test_parse_skips_empty_items_and_keeps_flags():
    assert parse_props("virtio,,bridge=vmbr0,") == {"virtio": None, "bridge": "vmbr0"}
    assert parse_props(None) == {}
    assert parse_props("order=scsi0;net0") == {"order": "scsi0;net0"}


def test_format_writes_booleans_as_pve_does():
    assert format_props({"volume": "local-lvm:32", "discard": "on", "ssd": True, "backup": False},
                        default_key="volume") == "local-lvm:32,discard=on,ssd=1,backup=0"
    assert format_props({"virtio": None, "bridge": "vmbr0"}) == "virtio,bridge=vmbr0"


def test_parse_net_spellings():
    expected = {"model": "virtio", "macaddr": "BC:24:11:00:00:01", "bridge": "vmbr0", "firewall": "1"}
    assert parse_net(NET) == expected
    assert parse_net("model=virtio,macaddr=bc:24:11:00:00:01,bridge=vmbr0,firewall=1") == expected
    assert parse_net("virtio,bridge=vmbr0") == {"model": "virtio", "bridge": "vmbr0"}


# ------------------------------------------------------------------ comparisons

@pytest.mark.parametrize("first, second", [
    ("bridge=vmbr0,firewall=1", "firewall=1,bridge=vmbr0"),
    ("discard=on,ssd=1", "ssd=true,discard=1"),
    ("firewall=0", "firewall=off"),
    ("enabled=yes,fstrim_cloned_disks=1", "fstrim_cloned_disks=on,enabled=1"),
])
def test_props_equal_ignores_order_and_boolean_spelling(first, second):
    assert props_equal(first, second)


@pytest.mark.parametrize("first, second", [
    ("bridge=vmbr0,firewall=1", "bridge=vmbr1,firewall=1"),
    ("bridge=vmbr0", "bridge=vmbr0,firewall=1"),
    ("cache=none", "cache=writeback"),
])
def test_props_equal_sees_real_differences(first, second):
    assert not props_equal(first, second)


def test_props_equal_with_a_default_key():
    assert props_equal("1,fstrim_cloned_disks=1", "enabled=1,fstrim_cloned_disks=1", default_key="enabled")
    assert props_equal("bridge=vmbr0,tag=5", "bridge=vmbr0,tag=7", ignore=("tag",))


def test_net_ignores_the_mac_the_node_picked():
    assert net_equal("virtio,bridge=vmbr0,firewall=1", NET)


def test_net_compares_a_mac_that_was_asked_for():
    assert net_equal("virtio=bc:24:11:00:00:01,bridge=vmbr0,firewall=1", NET), "MAC case does not matter"
    assert not net_equal("virtio=BC:24:11:00:00:02,bridge=vmbr0,firewall=1", NET)


@pytest.mark.parametrize("desired", [
    "e1000,bridge=vmbr0,firewall=1",
    "virtio,bridge=vmbr1,firewall=1",
    "virtio,bridge=vmbr0",
    "virtio,bridge=vmbr0,firewall=1,tag=10",
])
def test_net_sees_model_bridge_and_option_changes(desired):
    assert not net_equal(desired, NET)


def test_new_disk_matches_the_volume_the_node_allocated_on_that_storage():
    assert drive_equal("local-lvm:32,discard=on", "local-lvm:vm-100-disk-0,discard=on,size=32G")


def test_new_disk_on_other_storage_is_not_equal():
    assert not drive_equal("ceph:32,discard=on", "local-lvm:vm-100-disk-0,discard=on,size=32G")


def test_disk_option_differs_is_not_equal():
    assert not drive_equal("local-lvm:32,discard=on", "local-lvm:vm-100-disk-0,discard=ignore,size=32G")
    assert not drive_equal("local-lvm:32,discard=on,iothread=1", "local-lvm:vm-100-disk-0,discard=on,size=32G")


def test_named_volume_must_be_the_same_volume():
    current = "local-lvm:vm-100-disk-0,discard=on,size=32G"
    assert drive_equal("local-lvm:vm-100-disk-0,discard=on", current)
    assert not drive_equal("local-lvm:vm-100-disk-1,discard=on", current)


def test_import_has_done_its_work_once_a_volume_is_attached():
    assert drive_equal("local-lvm:0,import-from=local:import/noble.qcow2,discard=on",
                       "local-lvm:vm-100-disk-0,discard=on,size=3584M")


def test_drive_sizes():
    assert drive_size_request("local-lvm:32,discard=on") == 32 * 1024 ** 3
    assert drive_size_request("local-lvm:vm-100-disk-0,size=512M") == 512 * 1024 ** 2
    assert drive_size_request("local-lvm:vm-100-disk-0") is None
    assert size_bytes("1.5T") == int(1.5 * 1024 ** 4)
    with pytest.raises(ValueError, match="not a size"):
        size_bytes("lots")


@pytest.mark.parametrize("volume, storage", [
    ("local-lvm:vm-100-disk-0", "local-lvm"), ("local:iso/debian.iso", "local"),
    ("/dev/sdb", None), ("none", None), ("cdrom", None), (None, None),
])
def test_volume_storage(volume, storage):
    assert volume_storage(volume) == storage


# ------------------------------------------------------------------ config values

@pytest.mark.parametrize("key, desired, current", [
    ("tags", "web;prod", "prod;web"),
    ("tags", ["Web", "prod"], "prod,web"),
    ("tags", "web prod", "prod;web"),
    ("description", "hello", "hello\n"),
    ("agent", "1", "enabled=1"),
    ("agent", True, "1"),
    ("agent", "enabled=1,fstrim_cloned_disks=1", "1,fstrim_cloned_disks=1"),
    # Issue #16, item 2: a partial value matches when the fields it names match; the others are kept.
    ("agent", "1", "enabled=1,fstrim_cloned_disks=1"),
    ("memory", 2048, "2048"),
    ("onboot", True, 1),
    ("net0", "virtio,bridge=vmbr0,firewall=1", NET),
    ("scsi0", "local-lvm:32,discard=on", "local-lvm:vm-100-disk-0,discard=on,size=32G"),
    ("boot", "order=scsi0;net0", "order=scsi0;net0"),
])
def test_config_values_that_mean_the_same(key, desired, current):
    assert config_value_equal(key, desired, current)


@pytest.mark.parametrize("key, desired, current", [
    ("tags", "web", "prod;web"),
    ("description", "hello", "hello world"),
    ("agent", "1", "enabled=0"),
    ("agent", "enabled=1,fstrim_cloned_disks=0", "enabled=1,fstrim_cloned_disks=1"),
    ("memory", 4096, "2048"),
    ("net0", "virtio,bridge=vmbr1", NET),
    ("scsi0", "ceph:32", "local-lvm:vm-100-disk-0,size=32G"),
    ("boot", "order=net0;scsi0", "order=scsi0;net0"),
    ("cores", 2, None),
    ("cores", None, 2),
])
def test_config_values_that_differ(key, desired, current):
    assert not config_value_equal(key, desired, current)


def test_absent_on_both_sides_is_equal():
    assert config_value_equal("tags", None, None)


# ------------------------------------------------------------------ tags

@pytest.mark.parametrize("value, tags", [
    ("web;prod", ["prod", "web"]),
    ("Web,PROD", ["prod", "web"]),
    ("web prod  db", ["db", "prod", "web"]),
    ("web;;web; ", ["web"]),
    (["Linux", " web ", ""], ["linux", "web"]),
    ("", []),
    (None, []),
])
def test_split_tags(value, tags):
    assert split_tags(value) == tags


def test_join_tags_is_what_pve_stores():
    assert join_tags(["web", "Prod", "web"]) == "prod;web"


# ------------------------------------------------------------------ one field of a property string

@pytest.mark.parametrize("value, first", [
    ("/var/lib/vz/template/noble.qcow2", None), ("local:import/a=b+c.qcow2", None), ("native", None),
    (True, None), (4, None), (None, None), ("local-lvm:vm-100-disk-1", "volume"), ("local-lvm", "storage id"),
    ("/var/lib/vz/template/noble cloud.qcow2", None),
])
def test_a_value_that_stays_one_field_passes(value, first):
    """pve-common src/PVE/JSONSchema.pm parse_property_string: `split(/,/, $data)`, then a part is key=value by
    `/^([^=]+)=(.+)$/` - the key ends at the first '=', so a value may hold more."""
    assert property_field_problem("import_from", value, first) is None


@pytest.mark.parametrize("value, first, found", [
    ("/var/lib/vz/x.qcow2,cache=unsafe", None, "import_from must not contain ','"),
    ("local-lvm:vm-100-disk-0,backup=0", "volume", "import_from must not contain ','"),
    (",", None, "must not contain ','"),
    ("cache=unsafe", "volume", "import_from must not contain '=': PVE would read it as an option=value pair, "
                               "not as the volume"),
    ("/x.qcow2\nscsi5: local-lvm:vm-101-disk-0", None, "must not contain a line break"),
    ("a\x00b", "volume", "another control character"),
    (["a", "b"], None, "import_from must be a single value (a string, number or boolean), got a list"),
    ({"a": 1}, None, "got a dict"),
])
def test_a_value_that_would_add_fields_or_lines_is_refused(value, first, found):
    """parse_property_string has no quoting: a ',' starts the next option and a positional part with '=' is
    read as key=value; qemu-server src/PVE/QemuServer.pm write_vm_config writes `"$key: $conf->{$key}\\n"`
    and parse_vm_config splits at "\\n"."""
    message = property_field_problem("import_from", value, first)
    assert found in message
    if isinstance(value, str):
        assert repr(value) in message, "the message shows the value it refuses"


def test_our_parser_reads_a_checked_value_back_whole():
    values = {"volume": "local-lvm:0", "import-from": "local:import/a=b.qcow2", "serial": "x=y"}
    assert all(property_field_problem(key, value, "volume" if key == "volume" else None) is None
               for key, value in values.items())
    assert parse_drive(format_props(values, default_key="volume")) == values


@pytest.mark.parametrize("value, found", [
    ("local-lvm", None), ("ceph.vm_2", None), (None, None),
    ("local-lvm,cache=unsafe", "storage must not contain ','"),
    ("local=x", "storage must not contain '=': PVE would read it as an option=value pair, not as the storage id"),
    ("local-lvm; touch /tmp/x", "storage must be a storage id (letters, digits, '-', '_', '.')"),
    ("l", "storage must be a storage id"),
])
def test_storage_id_problem(value, found):
    """pve-common src/PVE/JSONSchema.pm parse_id: `m/^[a-z][a-z0-9\\-\\_\\.]*[a-z0-9]$/i`, at least 2 characters."""
    message = storage_id_problem("storage", value)
    assert message is None if found is None else found in message


@pytest.mark.parametrize("volid, storage, found", [
    ("local-lvm:vm-120-disk-1", "local-lvm", None),
    ("local-lvm:base-120-disk-0", "local-lvm", None),
    ("local:120/vm-120-disk-3.qcow2", "local", None),
    ("local-lvm:vm-101-disk-0", "local-lvm", "it belongs to VM 101, not to VM 120"),
    ("local:101/vm-120-disk-0.raw", "local", "it belongs to VM 101, not to VM 120"),
    ("local:120/vm-101-disk-0.raw", "local", "it belongs to VM 101, not to VM 120"),
    ("local-lvm:vm-1200-disk-1", "local-lvm", "it belongs to VM 1200, not to VM 120"),
    ("other-lvm:vm-120-disk-1", "local-lvm", "it is on storage 'other-lvm', not on 'local-lvm'"),
    ("/dev/pve/vm-120-disk-1", "local-lvm", "it is on storage '/dev/pve/vm-120-disk-1', not on 'local-lvm'"),
    ("local-lvm:vm-120-disk-1,cache=unsafe", "local-lvm", "the volume must not contain ','"),
    ("local-lvm:vm-120-cloudinit", "local-lvm", "is not named as PVE names a VM's disk (vm-120-disk-N)"),
    ("local-lvm:base-101-disk-0/vm-120-disk-1", "local-lvm", "is not named as PVE names a VM's disk"),
])
def test_owned_disk_problem(volid, storage, found):
    """pve-storage src/PVE/Storage/Plugin.pm get_next_vm_diskname names a new disk `vm-$vmid-disk-$i` (plus
    `.$fmt` on a file storage, whose parse_volname takes the owner from the `<vmid>/` directory); LVMPlugin,
    LvmThinPlugin, ZFSPoolPlugin and RBDPlugin parse_volname take it from `vm-<vmid>-` / `base-<vmid>-`."""
    message = owned_disk_problem(volid, 120, storage)
    assert message is None if found is None else found in message


# ------------------------------------------------------------------ drive keys

# qemu-server src/PVE/QemuServer/Drive.pm: $MAX_IDE_DISKS = 4, $MAX_SATA_DISKS = 6, $MAX_SCSI_DISKS = 31,
# $MAX_VIRTIO_DISKS = 16, $MAX_UNUSED_DISKS = 256; valid_drive_names adds efidisk0 and tpmstate0.
SERVER_DISKS = ([f"ide{n}" for n in range(4)] + [f"sata{n}" for n in range(6)] + [f"scsi{n}" for n in range(31)]
                + [f"virtio{n}" for n in range(16)])
SERVER_UNUSED = [f"unused{n}" for n in range(256)]
REFUSED = ["ide4", "sata6", "scsi31", "virtio16", "unused256", "efidisk1", "tpmstate1", "scsi01", "unused007",
           "hda", "scsi", "net0", "scsi0 ", " scsi0", "SCSI0", "mp0", "rootfs"]


def test_drive_keys_are_the_ones_qemu_server_has():
    assert all(DISK_KEY.match(key) and DRIVE_KEY.match(key) for key in SERVER_DISKS)
    assert all(UNUSED_KEY.match(key) and DRIVE_KEY.match(key) for key in SERVER_UNUSED)
    assert DRIVE_KEY.match("efidisk0") and DRIVE_KEY.match("tpmstate0")
    assert not any(DISK_KEY.match(key) for key in ["efidisk0", "tpmstate0", "unused0"])
    assert not any(UNUSED_KEY.match(key) for key in SERVER_DISKS)
    assert not [key for key in REFUSED if DRIVE_KEY.match(key) or DISK_KEY.match(key) or UNUSED_KEY.match(key)]


def test_disk_key_pattern_of_some_buses():
    pattern = disk_key_pattern("ide", "sata", "scsi")
    assert pattern.match("scsi30") and pattern.match("ide3") and pattern.match("sata5")
    assert not pattern.match("virtio0") and not pattern.match("scsi31") and not pattern.match("ide4")

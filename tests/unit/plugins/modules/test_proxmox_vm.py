"""proxmox_vm's comparison logic: what it asks for, what it sees, what it writes."""

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.config import (
    config_changes,
    effective_config,
    pending_keys,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.lifecycle import DNS_NAME
from ansible_collections.proxgate.core.plugins.modules.proxmox_vm import (
    SECRET_KEYS,
    desired_config,
    disk_conflicts,
    option_problems,
    value_to_write,
)

PENDING = [
    {"key": "cores", "value": 2},
    {"key": "memory", "value": "2048", "pending": "4096"},
    {"key": "net0", "value": "virtio=BC:24:11:00:01:01,bridge=vmbr0"},
    {"key": "serial0", "value": "socket", "delete": 1},
    {"key": "tags", "value": "linux;web"},
]


def test_effective_config_applies_pending_values_and_deletes():
    config = effective_config(PENDING)
    assert config["memory"] == "4096"
    assert "serial0" not in config
    assert config["cores"] == 2
    assert pending_keys(PENDING) == ["memory", "serial0"]


def test_desired_config_collects_options_and_joins_tags():
    params = {"cores": 2, "memory": None, "name": "web01", "tags": ["Web", "linux", "web"], "agent": True,
              "nets": {"net0": "virtio,bridge=vmbr0"}, "disks": None, "config": {"numa": 1, "serial0": None}}
    assert desired_config(params) == {"cores": 2, "name": "web01", "tags": "linux;web", "agent": True,
                                      "net0": "virtio,bridge=vmbr0", "numa": 1, "serial0": None}


def test_nothing_differs_when_only_spelling_and_generated_values_differ():
    current = effective_config(PENDING)
    wanted = {"cores": "2", "memory": 4096, "net0": "bridge=vmbr0,virtio", "tags": "web;LINUX"}
    assert not config_changes(wanted, current)


def test_changes_name_each_differing_key_with_both_values():
    current = effective_config(PENDING)
    changes = config_changes({"cores": 4, "net0": "virtio,bridge=vmbr1", "serial0": None, "numa": None,
                              "onboot": True}, current)
    assert sorted(changes.keys()) == ["cores", "net0", "onboot"]
    assert changes.before["cores"] == 2 and changes.after["cores"] == 4
    assert changes.before["onboot"] is None


def test_removing_a_present_key_is_a_change():
    changes = config_changes({"cores": None}, {"cores": 2})
    assert changes.keys() == ["cores"] and changes.after["cores"] is None


def test_cipassword_is_masked_in_the_diff():
    changes = config_changes({"cipassword": "hunter2"}, {}, secret_keys=SECRET_KEYS)
    assert "hunter2" not in str(changes.diff())


def test_an_updated_nic_keeps_its_mac_unless_one_is_asked_for():
    current = "virtio=BC:24:11:00:01:01,bridge=vmbr0,firewall=1"
    assert value_to_write("net0", "virtio,bridge=vmbr1", current) == "virtio=BC:24:11:00:01:01,bridge=vmbr1"
    assert value_to_write("net0", "virtio=02:00:00:00:00:01,bridge=vmbr1", current) == \
        "virtio=02:00:00:00:00:01,bridge=vmbr1"
    assert value_to_write("net1", "e1000,bridge=vmbr0", None) == "e1000,bridge=vmbr0"


def test_an_updated_disk_keeps_its_volume_and_size():
    current = "local-lvm:vm-101-disk-0,discard=on,size=32G"
    assert value_to_write("scsi0", "local-lvm:32,discard=on,iothread=1", current) == \
        "local-lvm:vm-101-disk-0,discard=on,iothread=1,size=32G"


def test_disk_moves_and_replacements_are_refused_and_sizes_only_noted():
    current = {"scsi0": "local-lvm:vm-101-disk-0,size=32G", "scsi1": "local-lvm:vm-101-disk-1,size=8G"}
    problems, notes = disk_conflicts({"scsi0": "ceph:32", "scsi1": "local-lvm:16"}, current)
    assert problems == ["disks.scsi0: the VM's disk is on 'local-lvm', not 'ceph'; moving a disk is done by "
                        "proxgate.core.proxmox_disk"]
    assert len(notes) == 1 and notes[0].startswith("disks.scsi1: the disk is 8G")
    problems, _unused = disk_conflicts({"scsi0": "local-lvm:vm-999-disk-0"}, current)
    assert "replacing a disk" in problems[0]
    assert disk_conflicts({"scsi2": "local-lvm:8"}, current) == ([], [])


@pytest.mark.parametrize("name, valid", [
    ("web01", True), ("web-01.example.com", True), ("a", True),
    ("web_01", False), ("-web", False), ("web-", False), ("bad name", False), ("", False), ("x" * 254, False),
])
def test_vm_names_follow_pve_dns_name_format(name, valid):
    assert bool(DNS_NAME.match(name)) is valid


# Every option option_problems reads, as the argument spec leaves them when not given.
OPTIONS = {"vmid": None, "name": "web01", "cores": None, "sockets": None, "memory": None, "shutdown_timeout": 180,
           "timeout": 600, "nets": None, "disks": None, "ipconfig": None, "sshkeys": None, "cloudinit_drive": "ide2",
           "cloudinit_storage": None, "config": None, "clone": None, "full": None, "storage": None, "format": None,
           "snapname": None}


@pytest.mark.parametrize("storage, expected", [
    ("local-lvm", None),
    ("local-lvm,cache=unsafe", "cloudinit_storage must not contain ','"),
    ("media=disk", "cloudinit_storage must not contain '='"),
    ("local lvm", "cloudinit_storage must be a storage id"),
])
def test_cloudinit_storage_is_one_storage_id(storage, expected):
    """It becomes the first field of `STORAGE:cloudinit` (pve-common JSONSchema.pm parse_property_string has no
    quoting; parse_id is the storage id's format)."""
    problems = option_problems({**OPTIONS, "cloudinit_storage": storage})
    assert problems == [] if expected is None else any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("options, expected", [
    # qemu-server (Drive.pm $MAX_*_DISKS) has ide0-3, sata0-5, scsi0-30 and virtio0-15: a node refuses the next.
    ({"disks": {"scsi31": "local-lvm:4"}}, "disks keys must be drive slots a VM has (ide0-ide3, sata0-sata5, "
                                           "scsi0-scsi30, virtio0-virtio15, efidisk0 or tpmstate0); got 'scsi31'"),
    ({"disks": {"ide4": "none,media=cdrom"}}, "got 'ide4'"),
    ({"disks": {"virtio16": "local-lvm:4"}}, "got 'virtio16'"),
    ({"disks": {"sata6": "local-lvm:4"}}, "got 'sata6'"),
    ({"disks": {"unused0": "local-lvm:vm-100-disk-1"}}, "got 'unused0'"),
    ({"config": {"scsi31": "local-lvm:4"}}, "config.scsi31: use the disks option instead"),
    ({"cloudinit_drive": "virtio0"}, "cloudinit_drive must be an IDE, SATA or SCSI slot (ide0-ide3, sata0-sata5, "
                                     "scsi0-scsi30), got 'virtio0'"),
    ({"cloudinit_drive": "scsi31"}, "cloudinit_drive must be an IDE, SATA or SCSI slot"),
])
def test_drive_keys_a_node_refuses_are_refused_naming_the_option(options, expected):
    problems = option_problems({**OPTIONS, **options})
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("options", [
    {"disks": {"scsi30": "local-lvm:4", "virtio15": "local-lvm:4", "sata5": "local-lvm:4", "ide3": "none,media=cdrom",
               "efidisk0": "local-lvm:1", "tpmstate0": "local-lvm:1"}},
    {"cloudinit_drive": "scsi30"},
])
def test_the_last_slot_of_each_bus_is_taken(options):
    assert option_problems({**OPTIONS, **options}) == []

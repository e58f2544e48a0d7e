"""proxmox_lxc's comparison logic: what it asks for, what it sees, what it writes, what it refuses."""

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.config import (
    config_changes,
    effective_config,
    lxc_features_value,
    lxc_mount_conflicts,
    lxc_value_equal,
    lxc_value_to_write,
    pending_keys,
    volume_conflicts,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import DRIVE_KEY
from ansible_collections.proxgate.core.plugins.modules.proxmox_lxc import (
    desired_config,
    option_problems,
    projected_clone_config,
    unprivileged_problem,
)

# GET /nodes/pve1/lxc/200/config of a running container, pending values shown (as a node shows them).
CONFIG = {
    "hostname": "dns01", "ostype": "debian", "arch": "amd64", "memory": 512, "swap": 512, "unprivileged": 1,
    "rootfs": "local-lvm:vm-200-disk-0,size=8G",
    "mp0": "local-lvm:vm-200-disk-1,backup=1,mp=/srv/data,size=4G",
    "net0": "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth",
    "features": "keyctl=1,nesting=1", "tags": "demo;dns", "onboot": 1,
    "digest": "0123456789abcdef0123456789abcdef01234567",
}


def changes_for(wanted, current=None):
    return config_changes(wanted, CONFIG if current is None else current, equal=lxc_value_equal,
                          secret_keys=("password",))


def test_desired_config_collects_options_and_formats_features_and_tags():
    params = {"memory": 1024, "hostname": "dns01", "cores": None, "rootfs": "local-lvm:8", "tags": ["DNS", "demo"],
              "features": {"nesting": True, "keyctl": "yes", "fuse": False, "mount": ["nfs", "cifs"]},
              "nets": {"net0": "name=eth0,bridge=vmbr0"}, "mounts": {"mp1": None}, "config": {"startup": "order=2"},
              "password": "secret", "unprivileged": True}
    assert desired_config(params) == {
        "memory": 1024, "hostname": "dns01", "rootfs": "local-lvm:8", "tags": "demo;dns",
        "features": "keyctl=1,mount=cifs;nfs,nesting=1", "net0": "name=eth0,bridge=vmbr0", "mp1": None,
        "startup": "order=2"}


def test_features_all_off_ask_for_no_features():
    assert lxc_features_value({"nesting": False, "mount": []}) is None
    assert lxc_features_value({}) is None


def test_nothing_differs_when_only_spelling_and_generated_values_differ():
    wanted = {"memory": "512", "hostname": "dns01", "onboot": True, "tags": "DNS;demo",
              "rootfs": "local-lvm:8",  # a new-volume spelling matches the volume the node allocated
              "mp0": "local-lvm:4,mp=/srv/data,backup=on",
              "net0": "name=eth0,bridge=vmbr0,ip=dhcp,firewall=true",  # no hwaddr asked: the node's is kept
              "features": "nesting=1,keyctl=1,fuse=0"}
    assert not changes_for(wanted)


def test_changes_name_each_differing_key_with_both_values():
    changes = changes_for({"memory": 1024, "net0": "name=eth0,bridge=vmbr1,ip=dhcp,firewall=1",
                           "features": "nesting=1", "mp0": "local-lvm:4,mp=/data", "swap": 512, "cores": 2})
    assert sorted(changes.keys()) == ["cores", "features", "memory", "mp0", "net0"]
    assert changes.before["memory"] == 512 and changes.after["memory"] == 1024
    assert changes.before["cores"] is None


def test_a_different_hwaddr_asked_for_is_a_change():
    assert changes_for({"net0": "name=eth0,bridge=vmbr0,ip=dhcp,firewall=1,hwaddr=BC:24:11:00:02:00"}).keys() == []
    assert changes_for({"net0": "name=eth0,bridge=vmbr0,ip=dhcp,firewall=1,hwaddr=02:00:00:00:00:01"}).keys() == \
        ["net0"]


def test_removing_features_or_a_mount_point_is_a_change_but_absent_keys_are_not():
    changes = changes_for({"features": None, "mp0": None, "mp1": None, "nameserver": None})
    assert sorted(changes.keys()) == ["features", "mp0"]
    assert changes.after == {"features": None, "mp0": None}
    # Flags that are all off equal no features at all.
    assert not changes_for({"features": None}, {"features": "nesting=0"})


def test_the_password_is_masked_in_the_diff():
    changes = changes_for({"password": "hunter2-root"}, {})
    assert "hunter2-root" not in str(changes.diff())


def test_an_updated_nic_keeps_its_hwaddr_unless_one_is_asked_for():
    current = CONFIG["net0"]
    assert lxc_value_to_write("net0", "name=eth0,bridge=vmbr1,ip=dhcp", current) == \
        "name=eth0,bridge=vmbr1,ip=dhcp,hwaddr=BC:24:11:00:02:00"
    assert lxc_value_to_write("net0", "name=eth0,bridge=vmbr1,hwaddr=02:00:00:00:00:01", current) == \
        "name=eth0,bridge=vmbr1,hwaddr=02:00:00:00:00:01"
    assert lxc_value_to_write("net1", "name=eth1,bridge=vmbr0", None) == "name=eth1,bridge=vmbr0"


def test_an_updated_mount_point_keeps_its_volume_and_size():
    assert lxc_value_to_write("mp0", "local-lvm:4,mp=/data,ro=1", CONFIG["mp0"]) == \
        "local-lvm:vm-200-disk-1,mp=/data,ro=1,size=4G"
    assert lxc_value_to_write("rootfs", "local-lvm:8,mountoptions=noatime", CONFIG["rootfs"]) == \
        "local-lvm:vm-200-disk-0,mountoptions=noatime,size=8G"
    assert lxc_value_to_write("mp1", "local-lvm:2,mp=/logs", None) == "local-lvm:2,mp=/logs"


def test_moving_or_replacing_a_volume_is_refused_and_a_size_only_noted():
    problems, notes = lxc_mount_conflicts({"rootfs": "ceph:8", "mp0": "local-lvm:16,mp=/srv/data"}, CONFIG)
    assert problems == ["rootfs: the container's volume is on 'local-lvm', not 'ceph'; moving a volume is done by "
                        "POST /nodes/{node}/lxc/{vmid}/move_volume (proxgate.core.proxmox_api)"]
    assert len(notes) == 1 and notes[0].startswith("mounts.mp0: the volume is 4G")
    problems, _unused = lxc_mount_conflicts({"mp0": "local-lvm:vm-999-disk-0,mp=/srv/data"}, CONFIG)
    assert problems and problems[0].startswith("mounts.mp0:") and "replacing a volume" in problems[0]
    assert lxc_mount_conflicts({"mp1": "local-lvm:8,mp=/new", "net0": "name=eth0"}, CONFIG) == ([], [])


def test_volume_conflicts_keep_proxmox_vm_wording_by_default():
    problems, notes = volume_conflicts({"scsi0": "ceph:32", "scsi1": "local-lvm:16"},
                                       {"scsi0": "local-lvm:vm-101-disk-0,size=32G",
                                        "scsi1": "local-lvm:vm-101-disk-1,size=8G"},
                                       DRIVE_KEY.match, lambda key: f"disks.{key}")
    assert problems == ["disks.scsi0: the VM's disk is on 'local-lvm', not 'ceph'; moving a disk is done by "
                        "proxgate.core.proxmox_disk"]
    assert notes == ["disks.scsi1: the disk is 8G, the size asked for is not applied here; grow it with "
                     "proxgate.core.proxmox_disk"]


def test_pending_items_give_the_effective_config_and_the_keys_that_wait():
    items = [{"key": "memory", "value": 512, "pending": "1024"}, {"key": "features", "pending": "nesting=1"},
             {"key": "nameserver", "value": "10.0.0.1", "delete": 1}, {"key": "hostname", "value": "dns01"}]
    assert effective_config(items) == {"memory": "1024", "features": "nesting=1", "hostname": "dns01"}
    assert pending_keys(items) == ["features", "memory", "nameserver"]


def test_unprivileged_can_only_be_what_the_container_already_is():
    assert unprivileged_problem(None, {"unprivileged": 0}, "container 200") is None
    assert unprivileged_problem(True, {"unprivileged": 1}, "container 200") is None
    assert unprivileged_problem(False, {}, "container 200") is None  # no key: privileged
    message = unprivileged_problem(True, {}, "container 200")
    assert message.startswith("unprivileged: container 200 is privileged") and "cannot change" in message


def test_a_full_clone_to_another_storage_projects_the_volumes_there():
    projected = projected_clone_config(CONFIG, "ceph")
    assert projected["rootfs"] == "ceph:vm-200-disk-0,size=8G" and projected["mp0"].startswith("ceph:")
    assert projected_clone_config(CONFIG, None) == CONFIG
    assert lxc_mount_conflicts({"rootfs": "ceph:8"}, projected) == ([], [])


VALID = {"hostname": "dns02", "node": "pve1", "ostemplate": "local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst"}


@pytest.mark.parametrize("options, expected", [
    ({"vmid": 5}, "vmid must be between 100 and 999999999, got 5"),
    ({"hostname": "bad name!"}, "hostname must be a DNS name"),
    ({"hostname": "-dns"}, "hostname must be a DNS name"),
    ({"cores": 0}, "cores must be a positive number"),
    ({"timeout": -1}, "timeout must be a positive number"),
    ({"memory": 8}, "memory must be at least 16 (MiB), got 8"),
    ({"swap": -1}, "swap must be 0 or more"),
    ({"rootfs": " "}, "rootfs must be a mount point string"),
    ({"ostemplate": "debian.tar.zst"}, "ostemplate must be a template volume"),
    ({"ostemplate": "local:iso/debian.iso"}, "ostemplate must be a template volume"),
    ({"password": "abcd"}, "password must be at least 5 characters long"),
    ({"nets": {"eth0": "name=eth0"}}, "nets keys must be net0, net1, ...; got 'eth0'"),
    ({"nets": {"net0": "bridge=vmbr0"}}, "nets.net0 must set name="),
    ({"nets": {"net0": {"name": "eth0"}}}, "nets.net0 must be a property string, got a dict"),
    ({"mounts": {"data": "local-lvm:4,mp=/d"}}, "mounts keys must be mp0, mp1, ...; got 'data'"),
    ({"mounts": {"mp0": "local-lvm:4"}}, "mounts.mp0 must set mp="),
    ({"features": {"docker": True}}, "features.docker is not a container feature"),
    ({"features": {"nesting": "maybe"}}, "features.nesting must be a boolean, got 'maybe'"),
    ({"features": {"mount": "nfs,cifs"}}, "features.mount must be a list of file system types"),
    ({"config": {"memory": 512}}, "config.memory: use the memory option instead"),
    ({"config": {"ssh-public-keys": "x"}}, "config.ssh-public-keys: use the ssh_public_keys option instead"),
    ({"config": {"mp0": "local-lvm:4,mp=/d"}}, "config.mp0: use the mounts option instead"),
    ({"config": {"net1": "name=eth1"}}, "config.net1: use the nets option instead"),
    ({"config": {"Bad Key": 1}}, "config key 'Bad Key' is not a PVE configuration key name"),
    ({"config": {"startup": ["order=1"]}}, "config.startup must be a single value"),
    ({"config": {"lock": "backup"}}, "config.lock is set by the node, not by a caller"),
    ({"storage": "local-lvm", "full": True}, "full, storage only apply with clone"),
    ({"clone": "dns01", "ostemplate": None, "storage": "local-lvm,backup=0"}, "storage must not contain ','"),
    ({"clone": "dns01", "ostemplate": None, "storage": "mp=/srv"}, "storage must not contain '='"),
    ({"clone": "dns01", "ostemplate": None, "storage": "local lvm"}, "storage must be a storage id"),
    ({"clone": "dns01", "ostemplate": None, "password": "long-enough"},
     "password only apply when creating from ostemplate"),
])
def test_each_bad_option_gets_a_message_naming_it(options, expected):
    problems = option_problems({**VALID, **options})
    assert any(expected in problem for problem in problems), problems


def test_valid_options_have_no_problems():
    assert option_problems({**VALID, "vmid": 201, "memory": 16, "swap": 0, "cores": 2, "password": "hunter",
                            "rootfs": "local-lvm:8", "nets": {"net0": "name=eth0,bridge=vmbr0,ip=dhcp", "net1": None},
                            "mounts": {"mp0": "local-lvm:4,mp=/srv", "mp1": None},
                            "features": {"nesting": True, "fuse": "no", "mount": ["nfs", "cifs"]},
                            "config": {"startup": "order=1", "protection": True, "unused0": None}}) == []
    assert option_problems({"hostname": "app", "clone": "200", "full": True, "storage": "local-lvm",
                            "snapname": "before"}) == []

"""proxmox_disk: the option checks that fail before anything is read or written (its pure parts:
tests/unit/plugins/module_utils/test_disks.py)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.proxgate.core.plugins.modules import proxmox_disk

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

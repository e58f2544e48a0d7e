"""proxmox_disk against the test server and a real sshd: imports through the API and over SSH (the fake qm),
how auto chooses, host keys, hostile names, idempotency, failures, new disks, grow, move, detach, delete and
download-url."""

from __future__ import annotations

import hashlib
import json
import pwd
import re
import secrets
import struct
from pathlib import Path

import pytest

from tests.emulators.pve.imports import ImageServer
from tests.integration import ssh_fixtures
from tests.integration.conftest import PASSWORD, TOKEN_ID, TOKEN_SECRET

pytestmark = pytest.mark.integration
ssh_node = ssh_fixtures.ssh_node
GIB = 1024 ** 3


def token_env(pve, **extra):
    return {"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile, "PROXMOX_TOKEN_ID": TOKEN_ID,
            "PROXMOX_TOKEN_SECRET": TOKEN_SECRET, **extra}


def root_env(pve, **extra):
    return {"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile, "PROXMOX_USER": "root@pam",
            "PROXMOX_PASSWORD": PASSWORD, **extra}


def add_vm(pve, vmid, **config):
    """A stopped VM on pve1 with a 8G system disk on scsi0, first in the boot order."""
    base = {"name": f"vm{vmid}", "scsi0": f"local-lvm:vm-{vmid}-disk-0,size=8G", "boot": "order=scsi0;net0",
            "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0", "scsihw": "virtio-scsi-single"}
    return pve.pve.add_vm(vmid, f"vm{vmid}", node="pve1", status="stopped", config={**base, **config})


def qcow2(path, virtual_size):
    """A file with a qcow2 header announcing virtual_size (what qm and the test server read of it)."""
    path.write_bytes(b"QFI\xfb" + struct.pack(">I", 3) + bytes(16) + struct.pack(">Q", virtual_size) + bytes(480))
    return path


def same_vm(value, vmid):
    """A config value with this VM's id in its volume names replaced, to compare two VMs."""
    return re.sub(rf"vm-{vmid}-", "vm-N-", value)


def volumes(pve, storage="local-lvm"):
    return {name: dict(vol) for name, vol in pve.pve._volumes(storage).items()}


def failure(run, name):
    """The result of the task with this name, which must have failed."""
    found = [entry for entry in run.results if entry["task"] == name]
    assert found and found[-1]["status"] == "failed", (name, found, run.stdout)
    return found[-1]["result"]


def ssh_options(node, **extra):
    options = {"ssh_host": node.host, "ssh_port": node.port, "ssh_private_key_file": str(node.key_file),
               "ssh_known_hosts": str(node.known_hosts), **extra}
    return "\n".join(f"    {key}: {json.dumps(value)}" for key, value in options.items())


# ------------------------------------------------------------------ API and SSH give the same VM


def test_api_and_ssh_imports_give_the_same_config_and_run_once(run_playbook, pve, ssh_node, writes, tmp_path):
    image = qcow2(tmp_path / "noble.qcow2", 2 * GIB)
    for vmid in (120, 121):
        add_vm(pve, vmid, boot="order=net0")
    task = """
- name: Import
  proxgate.core.proxmox_disk:
    vmid: {vmid}
    disk: scsi1
    storage: local-lvm
    import_from: {image}
    size: 4G
    discard: true
    iothread: true
    boot: true
{ssh}
"""
    over_ssh = task.format(vmid=121, image=image, ssh=ssh_options(ssh_node))

    check = run_playbook(over_ssh, env=token_env(pve), check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    planned = check.result("Import")
    assert planned["changed"] and planned["import_method_used"] == "ssh"
    assert "API token" in planned["import_method_reason"]
    assert planned["ssh_command"] == f"qm disk import 121 {image} local-lvm"
    assert planned["diff"]["after"]["boot"] == "order=scsi1;net0"
    assert writes() == [] and pve.pve.qm_imports == [], "check mode writes nothing and runs no qm"

    by_ssh = run_playbook(over_ssh, env=token_env(pve))
    assert by_ssh.rc == 0, by_ssh.stdout + by_ssh.stderr
    done = by_ssh.result("Import")
    assert done["actions"] == ["import", "attach", "resize"]
    assert done["imported_as"] == "unused0:local-lvm:vm-121-disk-1"
    assert done["value"] == "local-lvm:vm-121-disk-1,discard=on,iothread=1,size=4G" and done["size"] == "4G"
    assert [entry["source"] for entry in pve.pve.qm_imports] == [str(image)]

    by_api = run_playbook(task.format(vmid=120, image=image, ssh=""), env=root_env(pve))
    assert by_api.rc == 0, by_api.stdout + by_api.stderr
    assert by_api.result("Import")["import_method_used"] == "api"
    assert len(pve.pve.qm_imports) == 1, "the API path runs no qm"

    api_config, ssh_config = pve.pve.vm(120).config, pve.pve.vm(121).config
    for key in ("scsi0", "scsi1", "boot"):
        assert same_vm(api_config[key], 120) == same_vm(ssh_config[key], 121), key
    assert not [key for key in {**api_config, **ssh_config} if key.startswith("unused")]
    assert volumes(pve)["vm-121-disk-1"]["size"] == volumes(pve)["vm-120-disk-1"]["size"] == 4 * GIB

    before = len(writes())
    again = run_playbook(over_ssh + task.format(vmid=120, image=image, ssh=""), env=token_env(pve))
    assert again.rc == 0, again.stdout + again.stderr
    assert again.changed == [] and len(writes()) == before, writes()[before:]
    assert len(pve.pve.qm_imports) == 1, "a second run imports nothing"


# ------------------------------------------------------------------ how auto chooses


def test_auto_chooses_by_source_login_and_version(run_playbook, pve, writes, tmp_path):
    add_vm(pve, 120)
    pve.pve.store_file("local", "noble.qcow2", 2 * GIB, "import")
    pve.pve.storages["local"]["content"] = "iso,vztmpl,backup,import"
    tasks = """
- name: Path
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi1
    storage: local-lvm
    import_from: /var/lib/vz/template/noble.qcow2
- name: Volume
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi2
    storage: local-lvm
    import_from: local:import/noble.qcow2
  ignore_errors: true
- name: URL
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi3
    storage: local-lvm
    import_from: https://cloud-images.example.com/noble/noble-server-cloudimg-amd64.img
    import_filename: noble-server-cloudimg-amd64.qcow2
  ignore_errors: true
"""
    by_token = run_playbook(tasks, env=token_env(pve), check=True)
    assert by_token.rc == 0, by_token.stdout + by_token.stderr
    path, volume, url = (by_token.result(name) for name in ("Path", "Volume", "URL"))
    assert path["import_method_used"] == "ssh" and "logs in with an API token" in path["import_method_reason"]
    assert volume["import_method_used"] == "api" and "volume id" in volume["import_method_reason"]
    assert url["import_method_used"] == "api" and "download-url" in url["import_method_reason"]
    assert url["downloaded"] is True and url["actions"] == ["download", "import"]

    by_root = run_playbook(tasks, env=root_env(pve), check=True)
    path = by_root.result("Path")
    assert path["import_method_used"] == "api" and "root@pam logged in with a password" in path["import_method_reason"]

    pve.pve.version = "7.1-10"
    old = run_playbook(tasks, env=root_env(pve), check=True)
    path = old.result("Path")
    assert path["import_method_used"] == "ssh" and "7.1, which has no import-from" in path["import_method_reason"]
    assert "needs import-from, which PVE 7.1 does not have" in failure(old, "Volume")["msg"]
    assert "needs PVE 8.2 or later" in failure(old, "URL")["msg"]
    assert writes() == []


# ------------------------------------------------------------------ SSH: host keys and hostile names


def test_a_wrong_or_unknown_host_key_is_refused(run_playbook, pve, ssh_node, writes, tmp_path):
    vm = add_vm(pve, 120)
    before = dict(vm.config)
    image = qcow2(tmp_path / "noble.qcow2", GIB)
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    task = """
- name: {name}
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi1
    storage: local-lvm
    import_from: {image}
{ssh}
  ignore_errors: true
"""
    tasks = "".join(task.format(name=name, image=image, ssh=ssh_options(ssh_node, **options)) for name, options in (
        ("Changed key", {"ssh_known_hosts": str(ssh_node.wrong_known_hosts)}),
        ("Unknown host", {"ssh_known_hosts": str(empty)}),
        ("Other pinned key", {"ssh_host_key": ssh_node.wrong_fingerprint}),
        ("Bad pin", {"ssh_host_key": "MD5:12:34"}),
    ))
    run = run_playbook(tasks, env=token_env(pve))
    changed, unknown, pinned, bad = (failure(run, name) for name in ("Changed key", "Unknown host",
                                                                     "Other pinned key", "Bad pin"))
    assert "does not match the one in" in changed["msg"]
    assert f"ssh-keygen -R '[127.0.0.1]:{ssh_node.port}'" in changed["msg"]
    assert f"the node offered {ssh_node.fingerprint}" in unknown["msg"]
    assert f"ssh-keyscan -p {ssh_node.port} 127.0.0.1" in unknown["msg"]
    assert f"or pin it with ssh_host_key: {ssh_node.fingerprint}" in unknown["msg"]
    assert f"is {ssh_node.fingerprint} (ssh-ed25519), not the pinned" in pinned["msg"]
    assert "ssh_host_key must be a SHA256 fingerprint" in bad["msg"]
    assert pve.pve.qm_imports == [] and writes() == [] and vm.config == before


def test_hostile_names_cannot_run_anything(run_playbook, pve, ssh_node, writes, tmp_path):
    vm = add_vm(pve, 120)
    marker = f"pwned-{secrets.token_hex(6)}"
    # No '/' in a file name: the markers land in the remote shell's directory (root's home) if anything runs.
    hostile = f"img; touch {marker}; $(touch {marker}-2) `touch {marker}-3` 'q\" x.qcow2"
    image = qcow2(tmp_path / hostile, GIB)
    tasks = f"""
- name: Hostile file name
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi1
    storage: local-lvm
    import_from: {json.dumps(str(image))}
    ssh_become: true
{ssh_options(ssh_node, ssh_host_key=ssh_node.fingerprint, ssh_known_hosts="/nonexistent")}
- name: Hostile missing path
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi2
    storage: local-lvm
    import_from: {json.dumps(f"/tmp/none; touch /tmp/{marker}-4 #")}
    import_method: ssh
{ssh_options(ssh_node)}
  ignore_errors: true
- name: Hostile storage
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi3
    storage: {json.dumps(f"local-lvm; touch /tmp/{marker}-5")}
    import_from: {json.dumps(str(image))}
    import_method: ssh
{ssh_options(ssh_node)}
  ignore_errors: true
"""
    run = run_playbook(tasks, env=token_env(pve))
    done = run.result("Hostile file name")
    assert done["changed"] and done["value"].startswith("local-lvm:vm-120-disk-1,")
    assert pve.pve.qm_imports[0]["source"] == str(image), "the name reached qm as one argument, unchanged"
    sudo_line = ssh_node.sudo_log.read_text().splitlines()[0]
    assert sudo_line == f"-n -- qm disk import 120 {image} local-lvm"
    missing = failure(run, "Hostile missing path")
    assert "non-existent or non-regular file" in missing["msg"] and missing["rc"] == 255
    assert "storage must be a storage id" in failure(run, "Hostile storage")["msg"]
    for directory in (Path("/tmp"), Path(pwd.getpwnam("root").pw_dir), tmp_path):
        assert not list(directory.glob(f"{marker}*")), f"something ran on the node ({directory})"
    assert "scsi2" not in vm.config and "scsi3" not in vm.config and len(pve.pve.qm_imports) == 1


def test_a_failing_import_leaves_the_other_disks_alone(run_playbook, pve, ssh_node, writes, tmp_path):
    vm = add_vm(pve, 120, scsi1="local-lvm:vm-120-disk-1,size=4G,discard=on")
    before, listed = dict(vm.config), volumes(pve)
    tasks = f"""
- name: Missing volume through the API
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi2
    storage: local-lvm
    import_from: local:import/missing.qcow2
  ignore_errors: true
- name: Missing file over SSH
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi2
    storage: local-lvm
    import_from: /var/lib/vz/template/missing.qcow2
    ssh_host: {ssh_node.host}
    ssh_port: {ssh_node.port}
  ignore_errors: true
"""
    # The SSH user, key and known_hosts come from PROXMOX_SSH_USER, _PRIVATE_KEY_FILE and _KNOWN_HOSTS.
    run = run_playbook(tasks, env=token_env(pve, **ssh_node.env()))
    api = failure(run, "Missing volume through the API")
    assert "could not get size of local:import/missing.qcow2" in api["msg"]
    assert api["exitstatus"].startswith("cannot import from")
    over_ssh = failure(run, "Missing file over SSH")
    assert over_ssh["rc"] == 255
    assert "/var/lib/vz/template/missing.qcow2: non-existent or non-regular file" in over_ssh["msg"]
    assert vm.config == before and volumes(pve) == listed


# ------------------------------------------------------------------ SSH: what qm reports (issue #15, finding 7)


@pytest.mark.parametrize("version", ["8.2.4", "9.0.10"])
def test_a_file_name_that_imitates_qms_result_attaches_only_the_disk_qm_made(run_playbook, pve, ssh_node, tmp_path,
                                                                             version):
    """qemu-server src/PVE/CLI/qm.pm, importdisk: qm echoes the source first (`importing disk '$source' to VM
    $vmid ...`) and prints its result last - `Successfully imported disk as '$drive_id:$volid'` up to qemu-server
    8.2.6, `$drive_id: successfully imported disk '$vm_conf->{$drive_id}'` from 8.2.7 (PVE 8.3), which the fake
    qm prints by the node's version. A file named after the result line made the module attach VM 101's system
    disk to VM 120 (issue #15, finding 7); only the last line counts now. (A name with a line break does not get
    as far: import_from may not hold one.)"""
    pve.pve.version = version
    other, vm = add_vm(pve, 101), add_vm(pve, 120)
    other_before = dict(other.config)
    image = qcow2(tmp_path / "x Successfully imported disk as 'unused0:local-lvm:vm-101-disk-0' y.qcow2", GIB)
    run = run_playbook(f"""
- name: Import
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi1
    storage: local-lvm
    import_from: {json.dumps(str(image))}
{ssh_options(ssh_node)}
""", env=token_env(pve))
    assert run.rc == 0, run.stdout + run.stderr
    done = run.result("Import")
    assert done["imported_as"] == "unused0:local-lvm:vm-120-disk-1", done
    assert vm.config["scsi1"] == "local-lvm:vm-120-disk-1,size=1G"
    assert [entry["source"] for entry in pve.pve.qm_imports] == [str(image)]
    assert not [key for key, value in vm.config.items() if "vm-101-" in str(value)], vm.config
    assert other.config == other_before


LYING_QM = """#!/bin/sh
# A qm that makes nothing and answers what the test put next to the image (qm disk import VMID SOURCE STORAGE).
printf "importing disk '%s' to VM %s ...\\n" "$4" "$3"
cat "$4.reply"
"""


def test_a_reported_volume_that_is_not_a_new_disk_of_the_vm_is_not_attached(run_playbook, pve, ssh_node, writes,
                                                                            tmp_path):
    """Whatever answers in qm's place (qemu-server src/PVE/CLI/qm.pm importdisk; ImportDisk.pm do_import lists
    the volume it allocates as unusedN), only a disk of this VM on the storage asked for, named as pve-storage
    names one (src/PVE/Storage/Plugin.pm get_next_vm_diskname: vm-<vmid>-disk-<n>) and listed by the VM under
    the key qm named, is attached; anything else fails with nothing written."""
    other, vm = add_vm(pve, 101), add_vm(pve, 120)
    other_before, before = dict(other.config), dict(vm.config)
    (ssh_node.bin_dir / "qm").write_text(LYING_QM)
    replies = {
        "Other VM": ("unused0: successfully imported disk 'local-lvm:vm-101-disk-0'",
                     "it belongs to VM 101, not to VM 120"),
        "Other storage": ("unused0: successfully imported disk 'local:120/vm-120-disk-1.qcow2'",
                          "it is on storage 'local', not on 'local-lvm'"),
        "Drive options": ("Successfully imported disk as 'unused0:local-lvm:vm-120-disk-1,cache=unsafe'",
                          "the volume must not contain ','"),
        "Not in the config": ("unused0: successfully imported disk 'local-lvm:vm-120-disk-1'",
                              "VM 120's configuration lists no unused0"),
        "Not the last line": ("unused0: successfully imported disk 'local-lvm:vm-120-disk-1'\nbye",
                              "its last line is not the result line qm prints at the end of an import"),
    }
    tasks = ""
    for name, (reply, _reason) in replies.items():
        image = qcow2(tmp_path / f"{name}.qcow2", GIB)
        Path(f"{image}.reply").write_text(reply + "\n")
        tasks += f"""
- name: {name}
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi1
    storage: local-lvm
    import_from: {json.dumps(str(image))}
{ssh_options(ssh_node)}
  ignore_errors: true
"""
    run = run_playbook(tasks, env=token_env(pve))
    for name, (_reply, reason) in replies.items():
        msg = failure(run, name)["msg"]
        assert reason in msg, (name, msg)
        assert "Nothing was attached to scsi1" in msg and "qm config 120" in msg, (name, msg)
    first = failure(run, "Other VM")["msg"]
    assert first.startswith("qm reported the imported disk as unused0:local-lvm:vm-101-disk-0, which is not a new "
                            "disk of VM 120 on storage local-lvm: it belongs to VM 101, not to VM 120.")
    assert "Traceback" not in run.stdout + run.stderr
    assert writes() == [] and vm.config == before and other.config == other_before


# ------------------------------------------------------------------ SSH: ssh_host_key_checking: false


def test_ssh_host_key_checking_false_warns_on_every_run_that_uses_it(run_playbook, pve, ssh_node, writes,
                                                                     tmp_path):
    """A changed host key (known_hosts holds another key) is accepted with ssh_host_key_checking: false, and each
    import that connects so - or would, in check mode - warns with the key the node offered."""
    vm = add_vm(pve, 120)
    image = qcow2(tmp_path / "noble.qcow2", GIB)
    unchecked = ssh_options(ssh_node, ssh_known_hosts=str(ssh_node.wrong_known_hosts), ssh_host_key_checking=False)
    tasks = "".join(f"""
- name: Import {slot}
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: {slot}
    storage: local-lvm
    import_from: {image}
{options}
""" for slot, options in (("scsi1", unchecked), ("scsi2", unchecked), ("scsi3", ssh_options(ssh_node))))
    warning = (f"ssh_host_key_checking is false: the SSH host key of [127.0.0.1]:{ssh_node.port} "
               f"({ssh_node.fingerprint}) was accepted without being checked")

    check = run_playbook(tasks, env=token_env(pve), check=True)
    assert check.rc == 0, check.stdout + check.stderr
    for slot in ("scsi1", "scsi2"):
        assert any(text.startswith("ssh_host_key_checking is false: a run that is not in check mode accepts the "
                                   "node's SSH host key without checking it") for text in
                   check.result(f"Import {slot}")["warnings"])
    assert not check.result("Import scsi3").get("warnings")
    assert writes() == [] and pve.pve.qm_imports == []

    run = run_playbook(tasks, env=token_env(pve))
    assert run.rc == 0, run.stdout + run.stderr
    for slot in ("scsi1", "scsi2"):
        warnings = run.result(f"Import {slot}")["warnings"]
        assert [text for text in warnings if text.startswith(warning)], warnings
        assert f"ssh_host_key: {ssh_node.fingerprint}" in warnings[0]
    assert not run.result("Import scsi3").get("warnings")
    # Shown on the console (ansible-playbook prints one warning text once per run).
    assert f"[WARNING]: {warning}" in run.stderr, run.stderr
    assert [vm.config[slot].split(",")[0] for slot in ("scsi1", "scsi2", "scsi3")] == \
        [f"local-lvm:vm-120-disk-{n}" for n in (1, 2, 3)]


# ------------------------------------------------------------------ property strings (issue #15, finding 9)


def test_values_that_would_add_drive_options_are_refused_before_any_request(run_playbook, pve, tmp_path):
    """pve-common src/PVE/JSONSchema.pm parse_property_string splits at every ',' (no quoting) and reads a
    positional part with '=' as key=value; qemu-server src/PVE/QemuServer.pm write_vm_config writes one
    `key: value` line per key. So `,cache=unsafe` in import_from, volume or an option's value would become
    drive options of its own, and a line break a configuration line."""
    vm = add_vm(pve, 120)
    before = dict(vm.config)
    image = qcow2(tmp_path / "noble.qcow2", GIB)
    cases = {
        "Path": ({"import_from": f"{image},cache=unsafe"}, "import_from must not contain ','"),
        "Volume id": ({"import_from": "local:import/noble.qcow2,backup=0"}, "import_from must not contain ','"),
        "Line break": ({"import_from": f"{image}\nscsi5: local-lvm:vm-101-disk-0"},
                       "import_from must not contain a line break"),
        "Volume": ({"volume": "local-lvm:vm-120-disk-1,backup=0"}, "volume must not contain ','"),
        "Volume with =": ({"volume": "cache=unsafe"}, "volume must not contain '='"),
        "Option": ({"options": {"serial": "abc,cache=unsafe"}}, "options.serial must not contain ','"),
        "Option list": ({"options": {"serial": ["abc", "cache=unsafe"]}}, "options.serial must be a single value"),
        "Storage": ({"storage": "local-lvm,cache=unsafe", "size": "1G"}, "storage must not contain ','"),
    }
    tasks = "".join(f"""
- name: {name}
  proxgate.core.proxmox_disk: {json.dumps({"vmid": 120, "disk": "scsi1", "storage": "local-lvm", **options})}
  ignore_errors: true
""" for name, (options, _expected) in cases.items())
    run = run_playbook(tasks, env=root_env(pve))
    for name, (_options, expected) in cases.items():
        msg = failure(run, name)["msg"]
        assert msg.startswith(expected), (name, msg)
    assert "Traceback" not in run.stdout + run.stderr
    assert pve.pve.requests == [], "checked before the login: nothing reaches the server"
    assert vm.config == before


# ------------------------------------------------------------------ new disks, grow, move, detach, delete


def test_new_disk_grow_move_detach_and_delete(run_playbook, pve, writes):
    vm = add_vm(pve, 120)
    pve.pve.storages["local"]["content"] = "iso,vztmpl,backup,images"
    create = """
- name: Data disk
  proxgate.core.proxmox_disk:
    name: vm120
    disk: scsi1
    storage: local-lvm
    size: 4G
    discard: true
    ssd: true
"""
    check = run_playbook(create, env=token_env(pve), check=True, diff=True)
    planned = check.result("Data disk")
    assert planned["changed"] and planned["diff"]["after"]["scsi1"] == "local-lvm:4,discard=on,ssd=1"
    assert writes() == [] and "scsi1" not in vm.config

    created = run_playbook(create, env=token_env(pve)).result("Data disk")
    assert created["actions"] == ["create"] and created["value"] == "local-lvm:vm-120-disk-1,discard=on,size=4G,ssd=1"
    assert volumes(pve)["vm-120-disk-1"]["size"] == 4 * GIB
    count = len(writes())
    again = run_playbook(create, env=token_env(pve))
    assert again.changed == [] and len(writes()) == count

    change = """
- name: Shrink
  proxgate.core.proxmox_disk:
    name: vm120
    disk: scsi1
    size: 2G
    ssd: false
  ignore_errors: true
- name: Grow and move
  proxgate.core.proxmox_disk:
    name: vm120
    disk: scsi1
    size: 8G
    storage: local
    ssd: false
"""
    run = run_playbook(change, env=token_env(pve), diff=True)
    shrink = failure(run, "Shrink")
    assert "scsi1 is 4G, larger than the 2G asked for; PVE cannot shrink a disk" in shrink["msg"]
    moved = run.result("Grow and move")
    assert moved["actions"] == ["options", "move", "resize"] and moved["unused"] == "unused0"
    assert moved["value"] == "local:120/vm-120-disk-0.raw,discard=on,size=8G"
    assert moved["diff"]["before"]["storage"] == "local-lvm" and moved["diff"]["after"]["size"] == "8G"
    assert vm.config["unused0"] == "local-lvm:vm-120-disk-1"

    remove = """
- name: Detach
  proxgate.core.proxmox_disk:
    name: vm120
    disk: scsi1
    state: absent
- name: Delete the old copy
  proxgate.core.proxmox_disk:
    name: vm120
    disk: unused0
    state: absent
    delete_volume: true
- name: Unused without delete_volume
  proxgate.core.proxmox_disk:
    name: vm120
    disk: unused1
    state: absent
  ignore_errors: true
- name: Delete the system disk
  proxgate.core.proxmox_disk:
    name: vm120
    disk: scsi0
    state: absent
    delete_volume: true
"""
    run = run_playbook(remove, env=token_env(pve))
    assert run.result("Detach")["unused"] == "unused1"
    refused = failure(run, "Unused without delete_volume")
    assert "set delete_volume: true" in refused["msg"]
    assert run.result("Delete the system disk")["actions"] == ["delete"]
    assert vm.config.get("unused1") == "local:120/vm-120-disk-0.raw" and "unused0" not in vm.config
    assert "scsi0" not in vm.config and "scsi1" not in vm.config and vm.config["boot"] == "order=net0"
    assert "vm-120-disk-0" not in volumes(pve) and "vm-120-disk-1" not in volumes(pve)
    count = len(writes())
    assert run_playbook(remove.split("- name: Delete the old copy", maxsplit=1)[0], env=token_env(pve)).changed == []
    assert len(writes()) == count


# ------------------------------------------------------------------ an URL downloaded by the node


@pytest.fixture
def images(tmp_path):
    directory = tmp_path / "images"
    directory.mkdir()
    served = ImageServer(directory, tmp_path / "images-pki")
    yield directory, served
    served.stop()


def test_an_url_is_downloaded_once_then_imported(run_playbook, pve, writes, images):
    directory, served = images
    image = qcow2(directory / "noble-server-cloudimg-amd64.img", 2 * GIB)
    pve.pve.download_cafile = served.cafile
    pve.pve.storages["local"]["content"] = "iso,vztmpl,backup,import"
    vm = add_vm(pve, 120, boot="order=net0")
    task = f"""
- name: Cloud image
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi1
    storage: local-lvm
    import_from: {served.url(image.name)}
    import_filename: noble.qcow2
    checksum: {hashlib.sha256(image.read_bytes()).hexdigest()}
    checksum_algorithm: sha256
    boot: true
"""
    no_name = task.replace("Cloud image", "No file name").replace("    import_filename: noble.qcow2\n", "") + \
        "  ignore_errors: true\n"
    check = run_playbook(no_name + task, env=token_env(pve), check=True)
    assert "the download would be named 'noble-server-cloudimg-amd64.img'" in failure(check, "No file name")["msg"]
    assert check.result("Cloud image")["actions"] == ["download", "import"] and writes() == []

    first = run_playbook(task, env=token_env(pve))
    assert first.rc == 0, first.stdout + first.stderr
    done = first.result("Cloud image")
    assert done["downloaded"] is True and done["import_method_used"] == "api"
    assert done["value"] == "local-lvm:vm-120-disk-1,size=2G" and vm.config["boot"] == "order=scsi1;net0"
    assert volumes(pve, "local")["import/noble.qcow2"]["size"] == 2 * GIB, "the image's virtual size"
    downloads = [path for method, path in writes() if path.endswith("/download-url")]
    assert downloads == ["/api2/json/nodes/pve1/storage/local/download-url"]

    count = len(writes())
    assert run_playbook(task, env=token_env(pve)).changed == [] and len(writes()) == count
    forced = run_playbook(task.replace("    boot: true\n", "    force: true\n    size: 1G\n"), env=token_env(pve))
    again = forced.result("Cloud image")
    assert again["downloaded"] is False and again["replaced"] == "local-lvm:vm-120-disk-1"
    assert again["actions"] == ["import"] and again["size"] == "2G"
    assert any("scsi1 is 2G, larger than the 1G asked for" in text for text in again["warnings"]), again
    assert vm.config["scsi1"].startswith("local-lvm:vm-120-disk-2,")
    assert vm.config["unused0"] == "local-lvm:vm-120-disk-1"
    assert len([path for method, path in writes() if path.endswith("/download-url")]) == 1

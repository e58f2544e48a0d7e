"""Disk import and disk operations (tests/emulators/pve/imports.py): each gap on plain fakepve 0.5.0, and the
node's behaviour on ProxgatePve. Also the fake `qm` the SSH tests put on a real sshd's PATH.

Both servers are served over HTTPS on 127.0.0.1 and spoken to with httpx, with an API token
(root@pam!gaps) or a password ticket of root@pam.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import struct
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.emulators.pve import ServedPve
from tests.emulators.pve.imports import ImageServer, image_size

REPO = Path(__file__).resolve().parents[2]
QM = REPO / "tests" / "emulators" / "pve" / "qm.py"
TOKEN_ID = "root@pam!gaps"
TOKEN_SECRET = "0b7e6c1a-5d1f-4c3e-9a77-3f2d1e0c9b8a"
PASSWORD = "secret"
VM = "/nodes/pve1/qemu/100"
GIB = 1024 ** 3


def token_client(url, cafile):
    return httpx.Client(base_url=url + "/api2/json", verify=ssl.create_default_context(cafile=cafile),
                        headers={"Authorization": f"PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}"}, timeout=10)


def ticket_client(url, cafile):
    """root@pam logged in with its password: a ticket cookie and the CSRF header."""
    client = httpx.Client(base_url=url + "/api2/json", verify=ssl.create_default_context(cafile=cafile), timeout=10)
    login = data(client.post("/access/ticket", data={"username": "root@pam", "password": PASSWORD}))
    client.cookies.set("PVEAuthCookie", login["ticket"])
    client.headers["CSRFPreventionToken"] = login["CSRFPreventionToken"]
    return client


def add_vm(pve):
    pve.add_vm(100, "web", status="stopped",
               config={"name": "web", "scsi0": "local-lvm:vm-100-disk-0,size=8G", "boot": "order=scsi0;net0",
                       "net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0"})
    pve.storages["local"]["content"] = "iso,vztmpl,backup,import"


@pytest.fixture
def plain(fakepve, fakepve_cafile):
    """(FakePve, token client, root ticket client): fakepve 0.5.0 as published."""
    fakepve.apitokens[TOKEN_ID] = TOKEN_SECRET
    add_vm(fakepve)
    token, root = token_client(fakepve.url, fakepve_cafile), ticket_client(fakepve.url, fakepve_cafile)
    yield fakepve, token, root
    token.close()
    root.close()


@pytest.fixture
def fixed(tmp_path):
    """(ProxgatePve, token client, root ticket client): with the project's import additions."""
    server = ServedPve(tmp_path / "pki", password=PASSWORD)
    server.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    add_vm(server.pve)
    token, root = token_client(server.url, server.certfile), ticket_client(server.url, server.certfile)
    yield server.pve, token, root
    token.close()
    root.close()
    server.stop()


def data(response):
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()["data"]


def error_of(response):
    return response.status_code, response.json()["message"].strip()


def wait_task(client, upid, timeout=10):
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = data(client.get(f"/nodes/{node}/tasks/{upid}/status"))
        if status["status"] == "stopped":
            return status["exitstatus"]
        time.sleep(0.02)
    raise AssertionError(f"task {upid} still running")


def task_ok(client, response):
    exitstatus = wait_task(client, data(response))
    assert exitstatus == "OK", exitstatus


def qcow2(path, virtual_size):
    """A file with a qcow2 header announcing virtual_size (all a size reader looks at)."""
    path.write_bytes(b"QFI\xfb" + struct.pack(">I", 3) + bytes(16) + struct.pack(">Q", virtual_size) + bytes(480))
    return path


def volumes(client, storage="local-lvm"):
    return {item["volid"]: item for item in data(client.get(f"/nodes/pve1/storage/{storage}/content"))}


# ------------------------------------------------------------------ 1. absolute paths: root@pam with a password only

def test_absolute_import_path_only_for_root_with_a_password(plain, fixed, tmp_path):
    image = qcow2(tmp_path / "noble.qcow2", 2 * GIB)
    value = f"local-lvm:0,import-from={image}"

    pve, token, _root = plain
    # Gap: plain fakepve takes a path from a token and keeps it in the config.
    task_ok(token, token.post(f"{VM}/config", data={"scsi1": value}))
    assert pve.vm(100).config["scsi1"] == value

    pve, token, root = fixed
    assert error_of(token.post(f"{VM}/config", data={"scsi1": value})) == \
        (403, "Only root can pass arbitrary filesystem paths.")
    assert error_of(token.post("/nodes/pve1/qemu", data={"vmid": 150, "scsi0": value})) == \
        (403, "Only root can pass arbitrary filesystem paths.")
    assert "scsi1" not in pve.vm(100).config and pve.vm(150) is None
    task_ok(root, root.post(f"{VM}/config", data={"scsi1": value + ",discard=on"}))
    volume, _comma, options = pve.vm(100).config["scsi1"].partition(",")
    assert volume == "local-lvm:vm-100-disk-1" and options == "discard=on,size=2G"
    assert volumes(root)[volume]["size"] == 2 * GIB


def test_absolute_import_path_that_is_not_there(fixed):
    pve, _token, root = fixed
    upid = data(root.post(f"{VM}/config", data={"scsi1": "local-lvm:0,import-from=/nonexistent/x.qcow2"}))
    assert wait_task(root, upid) == "can't find file '/nonexistent/x.qcow2'"
    assert "scsi1" not in pve.vm(100).config


# ------------------------------------------------------------------ 2./3. volumes: must exist, become real volumes

def test_import_of_a_missing_volume_fails(plain, fixed):
    value = "local-lvm:0,import-from=local:import/missing.qcow2"
    pve, token, _root = plain
    task_ok(token, token.post(f"{VM}/config", data={"scsi1": value}))  # Gap: accepted
    assert pve.vm(100).config["scsi1"] == value

    pve, token, _root = fixed
    before, listed = dict(pve.vm(100).config), volumes(token)
    upid = data(token.post(f"{VM}/config", data={"scsi1": value}))
    assert wait_task(token, upid) == \
        "cannot import from 'local:import/missing.qcow2' - could not get size of local:import/missing.qcow2"
    assert pve.vm(100).config == before and volumes(token) == listed


def test_import_of_a_volume_makes_a_volume(plain, fixed):
    value = "local-lvm:0,import-from=local:import/noble.qcow2,iothread=1"
    pve, token, _root = plain
    pve.store_file("local", "noble.qcow2", 3 * GIB, "import")
    task_ok(token, token.post(f"{VM}/config", data={"scsi1": value}))
    # Gap: the literal stays; no volume is made.
    assert pve.vm(100).config["scsi1"] == value

    pve, token, _root = fixed
    pve.store_file("local", "noble.qcow2", 3 * GIB, "import")
    task_ok(token, token.post(f"{VM}/config", data={"scsi1": value}))
    assert pve.vm(100).config["scsi1"] == "local-lvm:vm-100-disk-1,iothread=1,size=3G"
    made = volumes(token)["local-lvm:vm-100-disk-1"]
    assert made["size"] == 3 * GIB and made["vmid"] == 100
    assert "local:import/noble.qcow2" in volumes(token, "local"), "the source stays"


def test_import_from_an_iso_or_without_the_special_syntax_is_refused(fixed):
    pve, token, _root = fixed
    pve.store_file("local", "debian.iso", GIB, "iso")
    response = token.post(f"{VM}/config", data={"scsi1": "local-lvm:0,import-from=local:iso/debian.iso"})
    assert response.status_code == 400
    assert response.json()["errors"]["scsi1"] == \
        "local:iso/debian.iso has wrong type 'iso' - needs to be 'images' or 'import'"
    response = token.post(f"{VM}/config", data={"scsi1": "local-lvm:4,import-from=local:import/x.qcow2"})
    assert response.json()["errors"]["scsi1"].startswith("'import-from' requires special syntax")


# ------------------------------------------------------------------ 4. disks on config writes

def test_config_writes_allocate_detach_reattach_and_delete_disks(plain, fixed):
    pve, token, _root = plain
    task_ok(token, token.post(f"{VM}/config", data={"scsi1": "local-lvm:4"}))
    assert pve.vm(100).config["scsi1"] == "local-lvm:4"  # Gap: no volume is allocated
    task_ok(token, token.post(f"{VM}/config", data={"delete": "scsi1"}))
    assert not any(key.startswith("unused") for key in pve.vm(100).config)  # Gap: the disk is forgotten

    pve, token, _root = fixed
    task_ok(token, token.post(f"{VM}/config", data={"scsi1": "local-lvm:4,discard=on"}))
    config = pve.vm(100).config
    assert config["scsi1"] == "local-lvm:vm-100-disk-1,discard=on,size=4G"
    assert volumes(token)["local-lvm:vm-100-disk-1"]["size"] == 4 * GIB
    # Detach: the volume stays as unused0 and the disk leaves the boot order.
    task_ok(token, token.post(f"{VM}/config", data={"delete": "scsi0"}))
    assert config["unused0"] == "local-lvm:vm-100-disk-0" and "scsi0" not in config
    assert config["boot"] == "order=net0"
    # Attach it again: unused0 goes away.
    task_ok(token, token.post(f"{VM}/config", data={"scsi2": "local-lvm:vm-100-disk-0,ssd=1"}))
    assert config["scsi2"] == "local-lvm:vm-100-disk-0,size=8G,ssd=1" and "unused0" not in config
    # A volume that is not there cannot be attached.
    upid = data(token.post(f"{VM}/config", data={"scsi3": "local-lvm:vm-100-disk-9"}))
    assert wait_task(token, upid) == "volume local-lvm:vm-100-disk-9 does not exist"
    # Deleting unusedN deletes the volume.
    task_ok(token, token.post(f"{VM}/config", data={"delete": "scsi1"}))
    assert config["unused0"] == "local-lvm:vm-100-disk-1"
    task_ok(token, token.post(f"{VM}/config", data={"delete": "unused0"}))
    assert "unused0" not in config and "local-lvm:vm-100-disk-1" not in volumes(token)


# ------------------------------------------------------------------ 5./6./7. resize, move_disk, unlink

def test_resize_grows_and_refuses_to_shrink(plain, fixed):
    pve, token, _root = plain
    task_ok(token, token.put(f"{VM}/resize", data={"disk": "scsi0", "size": "4G"}))  # Gap: "OK", nothing changes
    assert pve.vm(100).config["scsi0"] == "local-lvm:vm-100-disk-0,size=8G"

    pve, token, _root = fixed
    upid = data(token.put(f"{VM}/resize", data={"disk": "scsi0", "size": "4G"}))
    assert wait_task(token, upid) == "shrinking disks is not supported"
    task_ok(token, token.put(f"{VM}/resize", data={"disk": "scsi0", "size": "+4G"}))
    task_ok(token, token.put(f"{VM}/resize", data={"disk": "scsi0", "size": "16G"}))
    assert pve.vm(100).config["scsi0"] == "local-lvm:vm-100-disk-0,size=16G"
    assert volumes(token)["local-lvm:vm-100-disk-0"]["size"] == 16 * GIB
    upid = data(token.put(f"{VM}/resize", data={"disk": "scsi5", "size": "16G"}))
    assert wait_task(token, upid) == "disk 'scsi5' does not exist"


def test_move_disk_copies_and_deletes_or_keeps_the_source(plain, fixed):
    pve, token, _root = plain
    pve.storages["local"]["content"] += ",images"
    task_ok(token, token.post(f"{VM}/move_disk", data={"disk": "scsi0", "storage": "local"}))
    assert pve.vm(100).config["scsi0"].startswith("local-lvm:")  # Gap: nothing moved

    pve, token, _root = fixed
    assert error_of(token.post(f"{VM}/move_disk", data={"disk": "scsi0", "storage": "local"})) == \
        (500, "storage 'local' does not support vm images")
    pve.storages["local"]["content"] += ",images"
    assert error_of(token.post(f"{VM}/move_disk", data={"disk": "scsi0", "storage": "local-lvm"})) == \
        (500, "you can't move to the same storage with same format")
    task_ok(token, token.post(f"{VM}/move_disk", data={"disk": "scsi0", "storage": "local"}))
    config = pve.vm(100).config
    assert config["scsi0"] == "local:100/vm-100-disk-0.raw,size=8G"
    assert config["unused0"] == "local-lvm:vm-100-disk-0"
    assert volumes(token, "local")["local:100/vm-100-disk-0.raw"]["size"] == 8 * GIB
    task_ok(token, token.post(f"{VM}/move_disk", data={"disk": "scsi0", "storage": "local-lvm", "delete": 1}))
    assert config["scsi0"] == "local-lvm:vm-100-disk-1,size=8G"
    assert "local:100/vm-100-disk-0.raw" not in volumes(token, "local")


def test_unlink_detaches_or_deletes(plain, fixed):
    pve, token, _root = plain
    data(token.put(f"{VM}/unlink", data={"idlist": "scsi0", "force": 1}))
    assert "scsi0" in pve.vm(100).config  # Gap: unlink does nothing

    pve, token, _root = fixed
    task_ok(token, token.post(f"{VM}/config", data={"scsi1": "local-lvm:1"}))
    assert data(token.put(f"{VM}/unlink", data={"idlist": "scsi0"})) is None
    assert pve.vm(100).config["unused0"] == "local-lvm:vm-100-disk-0"
    data(token.put(f"{VM}/unlink", data={"idlist": "scsi1,unused0", "force": 1}))
    config = pve.vm(100).config
    assert not any(key.startswith(("scsi", "unused")) for key in config), config
    assert not [volid for volid in volumes(token) if volid.startswith("local-lvm:vm-100-")]


# ------------------------------------------------------------------ 8. version

def test_node_version_is_the_servers(plain, fixed):
    _pve, token, _root = plain
    assert data(token.get("/nodes/pve1/version"))["version"] == "fake"  # Gap
    pve, token, _root = fixed
    pve.version = "7.1-10"
    assert data(token.get("/nodes/pve1/version")) == {"version": "7.1-10", "release": "7.1", "repoid": "fakepve"}


# ------------------------------------------------------------------ 9. download-url

@pytest.fixture
def images(tmp_path):
    directory = tmp_path / "images"
    directory.mkdir()
    served = ImageServer(directory, tmp_path / "images-pki")
    yield directory, served
    served.stop()


def download(client, url, filename, **extra):
    return client.post("/nodes/pve1/storage/local/download-url",
                       data={"url": url, "content": "import", "filename": filename, **extra})


def test_download_url_fetches_checks_and_refuses_to_overwrite(plain, fixed, images):
    directory, served = images
    image = qcow2(directory / "noble.img", 2 * GIB)
    sha = hashlib.sha256(image.read_bytes()).hexdigest()

    pve, token, _root = plain
    # Gap: nothing is fetched (a pretend 1 MiB file), a wrong checksum passes, a second download overwrites.
    task_ok(token, download(token, served.url("nothing-there.img"), "noble.qcow2",
                            checksum="0" * 64, **{"checksum-algorithm": "sha256"}))
    assert volumes(token, "local")["local:import/noble.qcow2"]["size"] == 1024 ** 2
    task_ok(token, download(token, served.url("noble.img"), "noble.qcow2"))

    pve, token, _root = fixed
    pve.download_cafile = served.cafile
    upid = data(download(token, served.url("noble.img"), "noble.qcow2", checksum="0" * 64,
                         **{"checksum-algorithm": "sha256"}))
    assert wait_task(token, upid) == f"checksum mismatch: got '{sha}' != expect '{'0' * 64}'"
    assert "local:import/noble.qcow2" not in volumes(token, "local")
    task_ok(token, download(token, served.url("noble.img"), "noble.qcow2", checksum=sha,
                            **{"checksum-algorithm": "sha256"}))
    assert volumes(token, "local")["local:import/noble.qcow2"]["size"] == 2 * GIB, "the image's virtual size"
    # Tools.pm download_file_from_url refuses in the task (storage_gaps.py, gap 3).
    upid = data(download(token, served.url("noble.img"), "noble.qcow2"))
    assert wait_task(token, upid) == "refusing to override existing file '/var/lib/vz/import/noble.qcow2'"
    response = download(token, served.url("noble.img"), "noble.img")
    assert response.status_code == 400
    assert response.json()["errors"] == {"filename": "invalid filename or wrong extension"}
    upid = data(download(token, served.url("missing.qcow2"), "other.qcow2"))
    assert wait_task(token, upid).startswith("download failed: 404")
    pve.download_cafile = None  # the image server's certificate is not trusted any more
    upid = data(download(token, served.url("noble.img"), "third.qcow2"))
    assert "certificate" in wait_task(token, upid).lower()
    task_ok(token, download(token, served.url("noble.img"), "fourth.qcow2", **{"verify-certificates": 0}))


# ------------------------------------------------------------------ the fake qm (test facility)

def run_qm(server, *args, token=f"{TOKEN_ID}={TOKEN_SECRET}"):
    env = dict(os.environ, PROXGATE_PVE_URL=server.url, PROXGATE_PVE_CA=server.certfile, PROXGATE_PVE_TOKEN=token,
               PROXGATE_PVE_NODE="pve1")
    return subprocess.run([sys.executable, str(QM), *args], capture_output=True, text=True, env=env, timeout=30,
                          check=False)


@pytest.fixture
def served(tmp_path):
    server = ServedPve(tmp_path / "pki", password=PASSWORD)
    server.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    add_vm(server.pve)
    yield server
    server.stop()


def test_fake_qm_importdisk_prints_what_qm_prints_and_changes_the_node(served, tmp_path):
    """qemu-server src/PVE/CLI/qm.pm, importdisk: `importing disk '$source' to VM $vmid ...` first, the result
    last: `$drive_id: successfully imported disk '$vm_conf->{$drive_id}'` since qemu-server 8.2.7 (PVE 8.3),
    `Successfully imported disk as '$drive_id:$volid'` before."""
    image = qcow2(tmp_path / "noble.qcow2", 2 * GIB)
    assert image_size(image) == 2 * GIB
    done = run_qm(served, "importdisk", "100", str(image), "local-lvm")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"importing disk '{image}' to VM 100 ..."
    assert lines[1] == "transferred 0.0 B of 2.0 GiB (0.00%)"
    assert lines[-2] == "transferred 2.0 GiB of 2.0 GiB (100.00%)"
    assert lines[-1] == "unused0: successfully imported disk 'local-lvm:vm-100-disk-1'"
    assert served.pve.vm(100).config["unused0"] == "local-lvm:vm-100-disk-1"
    with token_client(served.url, served.certfile) as client:
        assert volumes(client)["local-lvm:vm-100-disk-1"]["size"] == 2 * GIB
    served.pve.version = "8.2.4"
    again = run_qm(served, "disk", "import", "100", str(image), "local-lvm")
    assert again.stdout.splitlines()[-1] == "Successfully imported disk as 'unused1:local-lvm:vm-100-disk-2'"


def test_fake_qm_errors_are_qms(served, tmp_path):
    image = qcow2(tmp_path / "noble.qcow2", GIB)
    cases = [
        (("importdisk", "100", "/nonexistent.qcow2", "local-lvm"),
         "/nonexistent.qcow2: non-existent or non-regular file"),
        (("importdisk", "100", str(image), "local"), "storage local does not support vm images"),
        (("importdisk", "100", str(image), "nope"), "storage 'nope' does not exist"),
        (("importdisk", "999", str(image), "local-lvm"),
         "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist"),
        (("resize", "100", "scsi0", "+1G"),
         "unknown command 'qm resize 100 scsi0 +1G' (the proxgate fake qm knows only importdisk and disk import)"),
    ]
    for args, message in cases:
        done = run_qm(served, *args)
        assert (done.returncode, done.stdout, done.stderr.strip()) == (255, "", message), args
    served.pve.vm(100).lock = "backup"
    assert run_qm(served, "importdisk", "100", str(image), "local-lvm").stderr.strip() == "VM is locked (backup)"
    assert not any(key.startswith("unused") for key in served.pve.vm(100).config)
    served.pve.apitokens["someone@pve!t"] = "s"
    refused = run_qm(served, "importdisk", "100", str(image), "local-lvm", token="someone@pve!t=s")
    assert refused.returncode == 255 and "root@pam only" in refused.stderr

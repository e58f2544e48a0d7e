"""proxmox_storage_content and proxmox_storage_content_info against the test server (token auth): a template
downloaded by the node from a server on 127.0.0.1 and used by proxmox_lxc in the same play, an ISO uploaded from
the controller, checksums, bad input, removal; check mode writes nothing and a second run writes nothing."""

from __future__ import annotations

import hashlib

import pytest

from tests.emulators.pve.imports import ImageServer
from tests.integration.conftest import TOKEN_ID, TOKEN_SECRET

pytestmark = pytest.mark.integration

TEMPLATE = "debian-13-standard_13.1-2_amd64.tar.zst"
TEMPLATE_BYTES = b"a container template, as far as the test server can tell\n"
ISO_BYTES = b"an ISO image, as far as the test server can tell\n" * 64
CONTENT = "/api2/json/nodes/pve1/storage/local"


@pytest.fixture
def env(pve):
    return {"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile, "PROXMOX_TOKEN_ID": TOKEN_ID,
            "PROXMOX_TOKEN_SECRET": TOKEN_SECRET}


@pytest.fixture
def files(tmp_path, pve):
    """An HTTPS file server on 127.0.0.1 that the test server's download-url trusts."""
    directory = tmp_path / "served"
    directory.mkdir()
    (directory / TEMPLATE).write_bytes(TEMPLATE_BYTES)
    served = ImageServer(directory, tmp_path / "served-pki")
    pve.pve.download_cafile = served.cafile
    yield served
    served.stop()


def volids(pve, content):
    return sorted(f"local:{volname}" for volname, vol in pve.pve._volumes("local").items()
                  if vol["content"] == content)


def download_play(url, checksum):
    return f"""
- name: Template
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: vztmpl
    url: {url}
    checksum: {checksum}
    checksum_algorithm: sha256
  register: template
- name: Container from it
  proxgate.core.proxmox_lxc:
    node: pve1
    hostname: dns09
    ostemplate: "{{{{ template.volume.volid }}}}"
    rootfs: local-lvm:4
    password: ct-root-Pa55word-for-tests
"""


def test_download_a_template_and_use_it_in_the_same_play(run_playbook, pve, env, files, writes):
    sha = hashlib.sha256(TEMPLATE_BYTES).hexdigest()
    play = download_play(files.url(TEMPLATE), sha)
    check = run_playbook(play, env=env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    planned = check.result("Template")
    assert planned["changed"] is True
    assert planned["diff"] == {"before": {}, "after": {"volid": f"local:vztmpl/{TEMPLATE}", "url": files.url(TEMPLATE)}}
    assert planned["volume"]["volid"] == f"local:vztmpl/{TEMPLATE}" and planned["volume"]["size"] is None
    assert writes() == [] and volids(pve, "vztmpl") == []

    applied = run_playbook(play, env=env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.changed == ["Template", "Container from it"]
    volume = applied.result("Template")["volume"]
    assert volume["format"] == "tzst" and volume["size"] == len(TEMPLATE_BYTES)
    assert applied.result("Container from it")["created"] is True
    assert volids(pve, "vztmpl") == [f"local:vztmpl/{TEMPLATE}"]
    downloads = [write for write in writes() if write[1].endswith("/download-url")]
    assert downloads == [("POST", f"{CONTENT}/download-url")]

    before = writes()
    again = run_playbook(play, env=env, diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.changed == []
    assert writes() == before


def test_upload_checksums_bad_input_and_removal(run_playbook, pve, env, files, tmp_path, writes):
    iso = tmp_path / "tiny.iso"
    iso.write_bytes(ISO_BYTES)
    sha = hashlib.sha256(ISO_BYTES).hexdigest()
    run = run_playbook(f"""
- name: A path for a name
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: iso
    filename: ../../etc/tiny.iso
    src: {iso}
  ignore_errors: true
- name: Wrong extension and a short checksum
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: vztmpl
    src: {iso}
    checksum: abc
    checksum_algorithm: sha256
  ignore_errors: true
- name: No file name in the URL
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: iso
    url: https://127.0.0.1/isos/
  ignore_errors: true
- name: No iso content on local-lvm
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local-lvm
    content: iso
    src: {iso}
  ignore_errors: true
- name: Wrong checksum
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: iso
    src: {iso}
    checksum: "{'0' * 64}"
    checksum_algorithm: sha256
  ignore_errors: true
- name: Download, wrong checksum
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: vztmpl
    url: {files.url(TEMPLATE)}
    checksum: "{'0' * 128}"
    checksum_algorithm: sha512
  ignore_errors: true
- name: Upload
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: iso
    src: {iso}
    checksum: "{sha.upper()}"
    checksum_algorithm: sha256
- name: Upload again
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: iso
    src: {iso}
- name: ISO images
  proxgate.core.proxmox_storage_content_info:
    node: pve1
    storage: local
    content: iso
- name: Remove, check mode
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: iso
    filename: tiny.iso
    state: absent
  check_mode: true
- name: Remove
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: iso
    name: tiny.iso
    state: absent
- name: Remove again
  proxgate.core.proxmox_storage_content:
    node: pve1
    storage: local
    content: iso
    filename: tiny.iso
    state: absent
""", env=env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("A path for a name")["msg"] == (
        "filename must be a bare file name of letters, digits, '_', '.' and '-' (a node would store "
        "'../../etc/tiny.iso' as 'tiny.iso'); got '../../etc/tiny.iso'")
    assert run.result("Wrong extension and a short checksum")["msg"] == (
        "checksum must be a sha256 digest (64 hex digits) as checksum_algorithm says, got 'abc'; filename of "
        "vztmpl content must end in .tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2; got 'tiny.iso'")
    assert run.result("No file name in the URL")["msg"] == (
        "filename is required when neither url nor src gives it (a URL whose path ends in a file name)")
    assert run.result("No iso content on local-lvm")["msg"].startswith(
        "storage: 'local-lvm' on node 'pve1' holds no iso content")
    mismatch = run.result("Wrong checksum")
    assert mismatch["msg"].startswith(f"task {mismatch['upid']} failed: checksum mismatch: got '{sha}' != expect "
                                      f"'{'0' * 64}'")
    assert mismatch["exitstatus"].startswith("checksum mismatch")
    sha512 = hashlib.sha512(TEMPLATE_BYTES).hexdigest()
    assert run.result("Download, wrong checksum")["exitstatus"] == \
        f"checksum mismatch: got '{sha512}' != expect '{'0' * 128}'"
    assert volids(pve, "vztmpl") == [], "nothing kept"
    uploaded = run.result("Upload")
    assert uploaded["changed"] is True and uploaded["volume"]["size"] == len(ISO_BYTES)
    assert uploaded["diff"]["after"] == {"volid": "local:iso/tiny.iso", "src": str(iso)}
    assert pve.pve.uploaded["checksum"] == sha and pve.pve.uploaded["checksum-algorithm"] == "sha256"
    assert [item["volid"] for item in run.result("ISO images")["volumes"]] == ["local:iso/tiny.iso"]
    assert run.result("Remove, check mode")["diff"] == {"before": {"volid": "local:iso/tiny.iso"}, "after": {}}
    assert run.changed == ["Upload", "Remove, check mode", "Remove"]
    assert volids(pve, "iso") == []
    volume = "/api2/json/nodes/pve1/storage/local/content/local:iso/tiny.iso"  # as the server decodes it
    assert writes() == [("POST", f"{CONTENT}/upload"), ("POST", f"{CONTENT}/download-url"),
                        ("POST", f"{CONTENT}/upload"), ("DELETE", volume)]

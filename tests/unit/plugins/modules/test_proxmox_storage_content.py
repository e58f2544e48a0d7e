"""proxmox_storage_content and proxmox_storage_content_info: the file names, URLs and checksums a node takes, checked
before any call (module_utils/proxmox/storage_content.py), and the upload's multipart body in the node's order."""

from __future__ import annotations

import httpx
import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.storage_content import (
    checksum_problem,
    content_types,
    filename_problem,
    normalize_content_filename,
    source_filename,
    src_problem,
    storage_path,
    upload_file,
    url_problem,
    volume_id,
)
from ansible_collections.proxgate.core.plugins.modules.proxmox_storage_content_info import listed_volume


@pytest.mark.parametrize("given, stored", [
    ("debian.iso", "debian.iso"),
    ("../../etc/debian.iso", "debian.iso"),
    ("C:\\isos\\debian.iso", "debian.iso"),
    ("my image+1.iso", "my_image_1.iso"),
    ("vm=1.qcow2", "vm_1.qcow2"),
    ("debian.iso\n", "debian.iso"),
])
def test_normalize_content_filename_as_storage_pm(given, stored):
    assert normalize_content_filename(given) == stored


@pytest.mark.parametrize("content, name", [
    ("iso", "debian-13.0.0-amd64-netinst.iso"),
    ("iso", "FLOPPY.IMG"),
    ("vztmpl", "debian-13-standard_13.1-2_amd64.tar.zst"),
    ("vztmpl", "alpine.tar"),
    ("vztmpl", "old.TAR.GZ"),
    ("import", "noble.qcow2"),
    ("import", "appliance.ova"),
])
def test_names_a_node_keeps(content, name):
    assert filename_problem(content, name) is None


@pytest.mark.parametrize("content, name, message", [
    ("iso", "../x.iso", "filename must be a bare file name of letters, digits, '_', '.' and '-' (a node would store "
                        "'../x.iso' as 'x.iso'); got '../x.iso'"),
    ("iso", "a b.iso", "filename must be a bare file name of letters, digits, '_', '.' and '-' (a node would store "
                       "'a b.iso' as 'a_b.iso'); got 'a b.iso'"),
    ("iso", "debian.qcow2", "filename of iso content must end in .iso or .img; got 'debian.qcow2'"),
    ("vztmpl", "debian.tar.zst.iso", "filename of vztmpl content must end in .tar, .tar.gz, .tar.xz, .tar.zst or "
                                     ".tar.bz2; got 'debian.tar.zst.iso'"),
    ("vztmpl", "debian.zip", "filename of vztmpl content must end in .tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2; "
                             "got 'debian.zip'"),
    ("import", "noble.QCOW2", "filename of import content must end in .ova, .qcow2, .raw or .vmdk; got 'noble.QCOW2'"),
    ("import", "noble.ovf", "filename of import content must end in .ova, .qcow2, .raw or .vmdk; got 'noble.ovf'"),
    ("iso", "", "filename must not be empty"),
    ("iso", "a" * 253 + ".iso", "filename must be at most 255 characters, got 257"),
    ("iso", "..", "filename of iso content must end in .iso or .img; got '..'"),
])
def test_names_refused_before_any_call(content, name, message):
    assert filename_problem(content, name) == message


def test_source_filename():
    assert source_filename(url="https://cloud.example.com/a/noble%2Dserver.img?x=1") == "noble-server.img"
    assert source_filename(url="https://example.com/") == ""
    assert source_filename(src="/srv/isos/virtio.iso") == "virtio.iso"
    assert source_filename() is None


@pytest.mark.parametrize("url, bad", [
    ("https://example.com/a.iso", False),
    ("http://127.0.0.1:8080/a.iso", False),
    ("ftp://example.com/a.iso", True),
    ("example.com/a.iso", True),
    ("https:///a.iso", True),
])
def test_url_problem(url, bad):
    assert (url_problem(url) is not None) == bad


def test_checksum_problem():
    assert checksum_problem("sha256", "A" * 64) is None
    assert checksum_problem("md5", "0" * 32) is None
    assert checksum_problem("sha512", "0" * 64) == ("checksum must be a sha512 digest (128 hex digits) as "
                                                    f"checksum_algorithm says, got '{'0' * 64}'")
    assert checksum_problem("sha1", "z" * 40) is not None
    assert checksum_problem("sha1", None) is None


def test_src_problem(tmp_path):
    (tmp_path / "a.iso").write_bytes(b"x")
    assert src_problem(str(tmp_path / "a.iso")) is None
    assert "not found, or not a file" in src_problem(str(tmp_path))
    assert "not found, or not a file" in src_problem(str(tmp_path / "b.iso"))


def test_volume_and_paths_quote_each_segment():
    assert volume_id("local", "vztmpl", "a.tar.zst") == "local:vztmpl/a.tar.zst"
    assert storage_path("pve1", "local", "content", "local:iso/a.iso") == \
        "/nodes/pve1/storage/local/content/local%3Aiso%2Fa.iso"
    assert content_types({"content": "iso,vztmpl backup"}) == ["iso", "vztmpl", "backup"]
    assert content_types(None) == []


def test_listed_volume_protected_as_boolean():
    assert listed_volume({"volid": "local:backup/x.vma.zst", "protected": 1}) == \
        {"volid": "local:backup/x.vma.zst", "protected": True}
    assert listed_volume({"volid": "local:iso/a.iso"}) == {"volid": "local:iso/a.iso"}


class Recorder:
    """Stands for the client: builds the request send() would send, without sending it."""

    def send(self, method, path, **content):
        self.request = httpx.Request(method, "https://pve.example.com/api2/json" + path, **content)
        self.body = self.request.read()
        return "UPID:pve1:0:0:0:imgcopy::root@pam:"


def test_upload_body_has_the_fields_before_the_file_in_the_nodes_order(tmp_path):
    src = tmp_path / "a.iso"
    src.write_bytes(b"ISO BYTES")
    client = Recorder()
    assert upload_file(client, "pve1", "local", "iso", "a.iso", str(src), "AB" * 32, "sha256").startswith("UPID:")
    assert client.request.url.path == "/api2/json/nodes/pve1/storage/local/upload"
    body = client.body
    order = [body.index(marker) for marker in (b'name="content"', b'name="checksum-algorithm"', b'name="checksum"',
                                               b'name="filename"; filename="a.iso"', b"ISO BYTES")]
    assert order == sorted(order)
    assert b"ab" * 32 in body, "the checksum in lower case, as the node prints what it computes"


def test_upload_without_a_checksum_sends_none(tmp_path):
    src = tmp_path / "a.tar.zst"
    src.write_bytes(b"TEMPLATE")
    client = Recorder()
    upload_file(client, "pve1", "local", "vztmpl", "a.tar.zst", str(src))
    assert b"checksum" not in client.body and b'name="content"' in client.body

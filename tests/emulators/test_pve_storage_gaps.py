"""download-url, upload and the content list (tests/emulators/pve/storage_gaps.py): each gap on plain fakepve 0.5.0,
and what a node does, read in pve-storage src/PVE/API2/Storage/Status.pm (download_url, upload), src/PVE/Storage.pm
(normalize_content_filename and the extension patterns), src/PVE/Storage/Plugin.pm ($get_subdir_files), pve-common
src/PVE/Tools.pm (download_file_from_url), pve-http-server src/PVE/APIServer/AnyEvent.pm (file_upload_multipart)
and pve-access-control src/PVE/RPCEnvironment.pm (exec_api2_perm_check). Served over HTTPS on 127.0.0.1."""

from __future__ import annotations

import hashlib

import pytest

from tests.emulators.pve import ServedPve
from tests.emulators.pve.imports import ImageServer
from tests.emulators.test_pve_guest_gaps import TOKEN_ID, TOKEN_SECRET, client_for
from tests.emulators.test_pve_import_gaps import data, task_ok, volumes, wait_task

LOCAL = "/nodes/pve1/storage/local"
ISO = b"an ISO image, as far as a test can tell\n"
TEMPLATE = b"a container template\n"
LIMITED_USER = "dl@pve"
LIMITED = f"{LIMITED_USER}!ci"
LIMITED_SECRET = "9c1f6f0e-0d53-4a55-8a57-0d7e2d7c1a10"


def prepare(pve):
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    pve.storages["local"]["content"] = "iso,vztmpl,backup,import"


@pytest.fixture
def plain(fakepve, fakepve_cafile):
    """(FakePve, root's token client, the CA file): fakepve 0.5.0 as published."""
    prepare(fakepve)
    with client_for(fakepve.url, fakepve_cafile) as client:
        yield fakepve, client, fakepve_cafile


@pytest.fixture
def fixed(tmp_path):
    """(ProxgatePve, root's token client, the CA file): with the project's additions."""
    server = ServedPve(tmp_path / "pki")
    prepare(server.pve)
    with client_for(server.url, server.certfile) as client:
        yield server.pve, client, server.certfile
    server.stop()


@pytest.fixture
def files(tmp_path):
    """(ImageServer on 127.0.0.1, the sha256 of the ISO and of the template it serves)."""
    directory = tmp_path / "files"
    directory.mkdir()
    (directory / "tiny.iso").write_bytes(ISO)
    (directory / "debian.tar.zst").write_bytes(TEMPLATE)
    served = ImageServer(directory, tmp_path / "files-pki")
    yield served, hashlib.sha256(ISO).hexdigest(), hashlib.sha256(TEMPLATE).hexdigest()
    served.stop()


def download(client, url, filename, content="iso", **extra):
    return client.post(f"{LOCAL}/download-url", data={"url": url, "content": content, "filename": filename, **extra})


def sha256(checksum):
    return {"checksum": checksum, "checksum-algorithm": "sha256"}


def upload(client, filename, body, content="iso", **fields):
    return client.post(f"{LOCAL}/upload", data={"content": content, **fields}, files={"filename": (filename, body)})


def errors(response):
    assert response.status_code == 400, (response.status_code, response.text)
    return response.json()["errors"]


def limited(pve, cafile, *grants):
    """A client of a token of dl@pve that holds Datastore.AllocateTemplate on local and the grants (path, priv)."""
    pve.apitokens[LIMITED] = LIMITED_SECRET
    if hasattr(pve, "token_privsep"):
        pve.token_privsep[LIMITED] = False  # the user's privileges
    for path, priv in (("/storage/local", "Datastore.AllocateTemplate"), *grants):
        pve.grant(LIMITED_USER, path, priv)
    client = client_for(pve.url, cafile)
    client.headers["Authorization"] = f"PVEAPIToken={LIMITED}={LIMITED_SECRET}"
    return client


# --- 1. Status.pm download_url permissions: Sys.AccessNetwork on the node instead of Sys.Audit + Sys.Modify on / --

def test_gap_download_needs_sys_modify(plain, files):
    pve, _client, cafile = plain
    with limited(pve, cafile, ("/nodes/pve1", "Sys.AccessNetwork")) as client:
        response = download(client, files[0].url("tiny.iso"), "tiny.iso")
    assert response.status_code == 403 and "Sys.Audit" in response.json()["message"]


def test_fixed_download_with_sys_access_network_on_the_node(fixed, files):
    pve, _client, cafile = fixed
    served, iso_sha, _tmpl_sha = files
    pve.download_cafile = served.cafile
    with limited(pve, cafile) as client:
        # RPCEnvironment.pm exec_api2_perm_check: an 'or' that fails is a bare raise_perm_exc().
        response = download(client, served.url("tiny.iso"), "tiny.iso")
        assert response.status_code == 403 and response.json()["message"].strip() == "Permission check failed"
        pve.grant(LIMITED_USER, "/nodes/pve1", "Sys.AccessNetwork")
        task_ok(client, download(client, served.url("tiny.iso"), "tiny.iso", **sha256(iso_sha)))


# --- 2. Storage.pm normalize_content_filename and the extension of each content type --------------------------------

def test_gap_file_names_kept_as_sent_and_templates_unchecked(plain, files):
    _pve, client, _cafile = plain
    task_ok(client, download(client, files[0].url("tiny.iso"), "nested/tiny image.iso"))
    task_ok(client, download(client, files[0].url("debian.tar.zst"), "debian.zip", content="vztmpl"))
    listed = volumes(client, "local")
    assert "local:iso/nested/tiny image.iso" in listed and "local:vztmpl/debian.zip" in listed


def test_fixed_file_names_normalized_then_checked(fixed, files):
    pve, client, _cafile = fixed
    served, iso_sha, tmpl_sha = files
    pve.download_cafile = served.cafile
    task_ok(client, download(client, served.url("tiny.iso"), "nested/tiny image.iso", **sha256(iso_sha)))
    assert "local:iso/tiny_image.iso" in volumes(client, "local")
    assert errors(download(client, served.url("debian.tar.zst"), "debian.zip", content="vztmpl")) == \
        {"filename": "wrong file extension"}
    assert errors(download(client, served.url("debian.tar.zst"), "debian.tar.zst.iso", content="vztmpl")) == \
        {"filename": "wrong file extension"}
    assert errors(download(client, served.url("tiny.iso"), "tiny.raw.tar", content="import")) == \
        {"filename": "invalid filename or wrong extension"}
    upid = data(download(client, served.url("debian.tar.zst"), "debian.tar.zst", content="vztmpl",
                         **sha256(tmpl_sha)))
    assert upid.split(":")[6] == "debian.tar.zst", "the task's id is the file name"
    assert wait_task(client, upid) == "OK"


# --- 3. Tools.pm download_file_from_url: the task sees a file already there; a bad checksum leaves nothing --------

def test_gap_download_checks_nothing(plain, files):
    _pve, client, _cafile = plain
    task_ok(client, download(client, files[0].url("tiny.iso"), "tiny.iso", **sha256("0" * 64)))
    task_ok(client, download(client, files[0].url("tiny.iso"), "tiny.iso"))


def test_fixed_download_checksum_and_a_file_already_there(fixed, files):
    pve, client, _cafile = fixed
    served, iso_sha, _tmpl_sha = files
    pve.download_cafile = served.cafile
    upid = data(download(client, served.url("tiny.iso"), "tiny.iso", **sha256("0" * 64)))
    assert wait_task(client, upid) == f"checksum mismatch: got '{iso_sha}' != expect '{'0' * 64}'"
    assert "local:iso/tiny.iso" not in volumes(client, "local")
    task_ok(client, download(client, served.url("tiny.iso"), "tiny.iso", **sha256(iso_sha)))
    assert volumes(client, "local")["local:iso/tiny.iso"]["size"] == len(ISO)
    task_ok(client, download(client, served.url("tiny.iso"), "tiny.iso", **sha256(iso_sha.upper())))
    upid = data(download(client, served.url("tiny.iso"), "tiny.iso", **sha256("0" * 64)))
    assert wait_task(client, upid) == f"checksum mismatch: got '{iso_sha}' != expect '{'0' * 64}', aborting"
    upid = data(download(client, served.url("tiny.iso"), "tiny.iso"))
    assert wait_task(client, upid) == "refusing to override existing file '/var/lib/vz/template/iso/tiny.iso'"
    assert errors(download(client, served.url("tiny.iso"), "b.iso", checksum=iso_sha)) == \
        {"checksum-algorithm": "missing property required by 'checksum'"}


def test_fixed_download_only_from_loopback(fixed):
    _pve, client, _cafile = fixed
    upid = data(download(client, "https://example.com/tiny.iso", "tiny.iso"))
    assert wait_task(client, upid).startswith("download failed: the proxgate test server downloads only from")


# --- 4. Plugin.pm $get_subdir_files: a template's format --------------------------------------------------------------

def test_gap_template_format_is_the_extension(plain):
    pve, client, _cafile = plain
    pve.store_file("local", "debian.tar.zst", 10, content="vztmpl")
    assert volumes(client, "local")["local:vztmpl/debian.tar.zst"]["format"] == "zst"


def test_fixed_template_format_as_listed(fixed):
    pve, client, _cafile = fixed
    pve.store_file("local", "debian.tar.zst", 10, content="vztmpl")
    pve.store_file("local", "alpine.tar", 10, content="vztmpl")
    listed = volumes(client, "local")
    assert listed["local:vztmpl/debian.tar.zst"]["format"] == "tzst"
    assert listed["local:vztmpl/alpine.tar"]["format"] == "tar"
    assert listed["local:vztmpl/alpine.tar"]["content"] == "vztmpl"


# --- 5. Status.pm upload and AnyEvent.pm file_upload_multipart -------------------------------------------------------

def test_gap_upload_refuses_import_and_ignores_the_checksum(plain):
    _pve, client, _cafile = plain
    assert errors(upload(client, "disk.qcow2", b"QFI", content="import")) == {"content": "value not allowed"}
    task_ok(client, upload(client, "tiny.iso", ISO, **sha256("0" * 64)))
    assert "local:iso/tiny.iso" in volumes(client, "local")


def test_fixed_upload_checks_name_and_checksum(fixed):
    _pve, client, _cafile = fixed
    iso_sha = hashlib.sha256(ISO).hexdigest()
    upid = data(upload(client, "tiny.iso", ISO, **sha256("0" * 64)))
    assert wait_task(client, upid) == f"checksum mismatch: got '{iso_sha}' != expect '{'0' * 64}'"
    assert "local:iso/tiny.iso" not in volumes(client, "local")
    assert errors(upload(client, "tiny.txt", ISO)) == {"filename": "wrong file extension"}
    task_ok(client, upload(client, "my disk.qcow2", b"QFI\xfb", content="import"))
    task_ok(client, upload(client, "tiny.iso", ISO, **sha256(iso_sha)))
    task_ok(client, upload(client, "tiny.iso", ISO + ISO))  # overwritten, as cp does
    listed = volumes(client, "local")
    assert listed["local:iso/tiny.iso"]["size"] == 2 * len(ISO)
    assert listed["local:import/my_disk.qcow2"]["format"] == "qcow2"
    response = client.post(f"{LOCAL}/upload", data={"content": "iso"}, files={"file": ("tiny.iso", ISO)})
    assert response.status_code == 500
    assert response.json()["message"].strip() == "wrong field name 'file' for file upload, expected 'filename'"

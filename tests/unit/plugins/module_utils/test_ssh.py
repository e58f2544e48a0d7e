"""The SSH runner for qm: what qm importdisk prints, shell quoting (proved by a real shell), host-key
fingerprints and policies, and how paramiko's failures become messages. No SSH server is involved: paramiko's
client and channel are stand-ins where a connection would be."""

from __future__ import annotations

import base64
import io
import subprocess

import paramiko
import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox import ssh
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.ssh import (
    NodeSsh,
    SshCommandError,
    SshError,
    SshHostKeyError,
    command_line,
    failure_message,
    fingerprint,
    host_label,
    normalize_fingerprint,
    parse_import_output,
    qm_import_argv,
    unchecked_host_key_warning,
)

# A public key and the fingerprint `ssh-keygen -l -E sha256` prints for it.
PUBLIC_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAILOaaqZmR1N1ChGWtgUTrav8VYaA+Ju9rvv6fnOwe43p"
FINGERPRINT = "SHA256:BOIr1SJYF+mcbBQlqbou31RiDrAnKtxj6I7YWouEMXg"
OTHER = "SHA256:" + "A" * 43


def public_key():
    return paramiko.Ed25519Key(data=base64.b64decode(PUBLIC_KEY))


# ------------------------------------------------------------------ qm's output

OLD_OUTPUT = """importing disk '/var/lib/vz/template/noble.qcow2' to VM 100 ...
  Logical volume "vm-100-disk-1" created.
transferred 0.0 B of 2.2 GiB (0.00%)\rtransferred 1.1 GiB of 2.2 GiB (50.00%)\rtransferred 2.2 GiB of 2.2 GiB (100.00%)
Successfully imported disk as 'unused0:local-lvm:vm-100-disk-1'
"""
NEW_OUTPUT = """importing disk '/root/noble.qcow2' to VM 100 ...
transferred 2.2 GiB of 2.2 GiB (100.00%)
unused1: successfully imported disk 'local-lvm:vm-100-disk-2'
"""


SPOOF = "x Successfully imported disk as 'unused0:local-lvm:vm-101-disk-0' y.qcow2"
NEW_SPOOF = "x\nunused0: successfully imported disk 'local-lvm:vm-101-disk-0'\ny.qcow2"


@pytest.mark.parametrize("output, key, volid", [
    (OLD_OUTPUT, "unused0", "local-lvm:vm-100-disk-1"),
    (NEW_OUTPUT, "unused1", "local-lvm:vm-100-disk-2"),
    ("Successfully imported disk as 'unused3:ceph-vm:vm-100-disk-4'", "unused3", "ceph-vm:vm-100-disk-4"),
    # The echo of a file name that imitates the result comes first; qm's own line is the last.
    (f"importing disk '/tmp/{SPOOF}' to VM 120 ...\ntransferred 1.0 GiB of 1.0 GiB (100.00%)\n"
     "Successfully imported disk as 'unused0:local-lvm:vm-120-disk-1'\n", "unused0", "local-lvm:vm-120-disk-1"),
    (f"importing disk '/tmp/{NEW_SPOOF}' to VM 120 ...\ntransferred 1.0 GiB of 1.0 GiB (100.00%)\n"
     "unused0: successfully imported disk 'local-lvm:vm-120-disk-1'\n", "unused0", "local-lvm:vm-120-disk-1"),
    # Read whole: whether the volume may be attached is owned_disk_problem's to say.
    ("unused0: successfully imported disk 'local-lvm:vm-100-disk-1,cache=unsafe'\n", "unused0",
     "local-lvm:vm-100-disk-1,cache=unsafe"),
])
def test_the_result_is_read_from_qms_last_line(output, key, volid):
    """qemu-server src/PVE/CLI/qm.pm, importdisk: `print "importing disk '$source' to VM $vmid ...\\n"` first,
    and last `print "$drive_id: successfully imported disk '$vm_conf->{$drive_id}'\\n"` (qemu-server 8.2.7 and
    later; `Successfully imported disk as '$drive_id:$volid'` from 2019 to 8.2.6)."""
    assert parse_import_output(output) == (key, volid)


@pytest.mark.parametrize("output", [
    "importing disk 'x' to VM 100 ...\nsomething else\n",
    # A result line anywhere but last is not qm's: the echo of a hostile name.
    f"importing disk '/tmp/{SPOOF}' to VM 120 ...\nqemu-img: Could not open\n",
    f"importing disk '/tmp/{NEW_SPOOF}' to VM 120 ...\n",
    "unused0: successfully imported disk 'local-lvm:vm-120-disk-1'\nand then some\n",
    # Without target-disk (never passed), do_import lists the volume as unusedN, nothing else.
    "scsi1: successfully imported disk 'local:100/vm-100-disk-0.qcow2,iothread=1,size=2G'\n",
    "x unused0: successfully imported disk 'local-lvm:vm-120-disk-1'\n",
    "",
])
def test_a_last_line_that_is_not_qms_result_is_refused(output):
    """Only the line qemu-server's qm.pm importdisk prints last counts (ImportDisk.pm do_import adds unusedN)."""
    with pytest.raises(SshError) as refused:
        parse_import_output(output)
    assert "its last line is not the result line qm prints at the end of an import" in str(refused.value)
    assert output.strip()[-20:] in str(refused.value)


def test_qm_import_argv():
    assert qm_import_argv(100, "/a b.qcow2", "local-lvm") == ["qm", "importdisk", "100", "/a b.qcow2", "local-lvm"]
    assert qm_import_argv("101", "/x.raw", "local", "qcow2", "disk import") == \
        ["qm", "disk", "import", "101", "/x.raw", "local", "--format", "qcow2"]


# ------------------------------------------------------------------ quoting, proved by a real shell

HOSTILE = ["a b", "; touch {m}", "$(touch {m})", "`touch {m}`", "'", '"', "\\", "\n touch {m}\n", "*", "~",
           "$HOME", "-rf", "x && touch {m} || touch {m}", "{{a,b}}", "", "a'b\"c$d`e"]


@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash"])
@pytest.mark.parametrize("become", [False, True])
def test_every_argument_reaches_the_program_unchanged_and_runs_nothing(tmp_path, shell, become):
    marker = tmp_path / "pwned"
    args = [value.format(m=marker) for value in HOSTILE]
    # qm (and sudo, which drops `-n --`) stand-ins that print each argument NUL-terminated.
    prelude = "qm() { printf '%s\\0' \"$@\"; }; sudo() { shift 2; \"$@\"; }; "
    done = subprocess.run([shell, "-c", prelude + command_line(["qm", "importdisk", *args], become)],
                          capture_output=True, cwd=tmp_path, timeout=10, check=True)
    assert done.stdout.decode().split("\0")[:-1] == ["importdisk", *args]
    assert not marker.exists() and list(tmp_path.iterdir()) == []


def test_command_line_reads_as_typed():
    assert command_line(["qm", "importdisk", "100", "/var/lib/vz/a.qcow2", "local-lvm"]) == \
        "qm importdisk 100 /var/lib/vz/a.qcow2 local-lvm"
    assert command_line(["qm", "x y"], become=True) == "sudo -n -- qm 'x y'"


# ------------------------------------------------------------------ fingerprints and messages

def test_fingerprint_is_openssh_sha256():
    assert fingerprint(base64.b64decode(PUBLIC_KEY)) == FINGERPRINT
    assert fingerprint(public_key().asbytes()) == FINGERPRINT


@pytest.mark.parametrize("text, expected", [
    (FINGERPRINT, FINGERPRINT), (FINGERPRINT[len("SHA256:"):], FINGERPRINT), (FINGERPRINT + "=", FINGERPRINT),
    (f"  {FINGERPRINT} ", FINGERPRINT), ("MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48", None),
    ("SHA256:short", None), ("", None), (None, None),
])
def test_normalize_fingerprint(text, expected):
    assert normalize_fingerprint(text) == expected


def test_host_label():
    assert host_label("10.0.0.1", 22) == "10.0.0.1"
    assert host_label("10.0.0.1", 2222) == "[10.0.0.1]:2222"


def test_failure_messages():
    missing = failure_message("pve1", "qm importdisk 100 /a local-lvm", 127, "sh: 1: qm: not found\n")
    assert "qm was not found on pve1 (exit 127)" in missing and "qm: not found" in missing
    sudo = failure_message("pve1", "sudo -n -- qm importdisk", 1, "sudo: a password is required\n")
    assert "NOPASSWD" in sudo and "ssh_become" in sudo
    failed = failure_message("pve1", "qm importdisk 100 /a local-lvm", 255, "", "/a: non-existent or non-regular file")
    assert failed == "qm importdisk 100 /a local-lvm failed on pve1 (exit 255): /a: non-existent or non-regular file"
    assert failure_message("pve1", "qm x", 2, "", "").endswith("(exit 2): (no output)")


# ------------------------------------------------------------------ host key policies

def test_pinned_key_accepts_only_its_key():
    ssh._PinnedKey(FINGERPRINT).missing_host_key(None, "[127.0.0.1]:2222", public_key())
    with pytest.raises(SshHostKeyError) as refused:
        ssh._PinnedKey(OTHER).missing_host_key(None, "[127.0.0.1]:2222", public_key())
    message = str(refused.value)
    assert f"is {FINGERPRINT} (ssh-ed25519), not the pinned ssh_host_key {OTHER}" in message
    assert "/etc/ssh/ssh_host_ed25519_key.pub" in message


def test_unknown_host_says_how_to_add_it():
    with pytest.raises(SshHostKeyError) as refused:
        ssh._RejectUnknown("/home/a/.ssh/known_hosts", 2222).missing_host_key(None, "[pve1]:2222", public_key())
    message = str(refused.value)
    assert "is not in /home/a/.ssh/known_hosts" in message and f"the node offered {FINGERPRINT}" in message
    assert "ssh-keyscan -p 2222 pve1 >> /home/a/.ssh/known_hosts" in message
    assert f"pin it with ssh_host_key: {FINGERPRINT}" in message


def test_accepting_any_key_warns_with_the_key_each_time():
    heard = []
    policy = ssh._AcceptAny(heard.append)
    policy.missing_host_key(None, "[127.0.0.1]:2222", public_key())
    policy.missing_host_key(None, "[127.0.0.1]:2222", public_key())
    assert heard == [unchecked_host_key_warning("[127.0.0.1]:2222", FINGERPRINT)] * 2
    assert heard[0].startswith("ssh_host_key_checking is false: the SSH host key of [127.0.0.1]:2222 "
                               f"({FINGERPRINT}) was accepted without being checked")
    assert f"ssh_host_key: {FINGERPRINT}" in heard[0] and "password" in heard[0]
    assert "accepts the node's SSH host key without checking it" in unchecked_host_key_warning()


def test_policy_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    client = paramiko.SSHClient()
    assert isinstance(NodeSsh("pve1", host_key_checking=False)._policy(client), ssh._AcceptAny)
    assert isinstance(NodeSsh("pve1", host_key=FINGERPRINT)._policy(client), ssh._PinnedKey)
    # No ~/.ssh/known_hosts: every host is unknown, and refused.
    assert isinstance(NodeSsh("pve1")._policy(client), ssh._RejectUnknown)
    with pytest.raises(SshError, match="does not exist"):
        NodeSsh("pve1", known_hosts=str(tmp_path / "missing"))._policy(client)
    with pytest.raises(SshError, match="must be a SHA256 fingerprint"):
        NodeSsh("pve1", host_key="nonsense")._policy(client)
    known = tmp_path / "known_hosts"
    known.write_text(f"[pve1]:2222 ssh-ed25519 {PUBLIC_KEY}\n")
    NodeSsh("pve1", port=2222, known_hosts=str(known))._policy(client)
    # Read-only (paramiko's "system" host keys): nothing is ever written back to the file.
    assert client._system_host_keys.lookup("[pve1]:2222")["ssh-ed25519"].asbytes() == public_key().asbytes()


# ------------------------------------------------------------------ keys

def test_private_key_text():
    key = paramiko.RSAKey.generate(1024)
    text = io.StringIO()
    key.write_private_key(text)
    assert NodeSsh("pve1", private_key=text.getvalue())._pkey().asbytes() == key.asbytes()
    encrypted = io.StringIO()
    key.write_private_key(encrypted, password="pass phrase")
    with pytest.raises(SshError, match="encrypted: give ssh_private_key_passphrase"):
        NodeSsh("pve1", private_key=encrypted.getvalue())._pkey()
    assert NodeSsh("pve1", private_key=encrypted.getvalue(), private_key_passphrase="pass phrase")._pkey().asbytes() \
        == key.asbytes()
    with pytest.raises(SshError) as refused:
        NodeSsh("pve1", private_key="-----BEGIN NONSENSE-----\nc2VjcmV0\n")._pkey()
    assert "not a private key paramiko can read" in str(refused.value) and "c2VjcmV0" not in str(refused.value)


# ------------------------------------------------------------------ connecting and running, with stand-ins

class FakeClient:
    """paramiko.SSHClient's part the runner uses; connect raises `error` if set and records its arguments."""

    error = None
    calls = []

    def __init__(self):
        self.policy = None
        self.channel = None

    def set_missing_host_key_policy(self, policy):
        self.policy = policy

    def load_system_host_keys(self, path):
        pass

    def connect(self, host, **kwargs):
        FakeClient.calls.append((host, kwargs))
        if FakeClient.error is not None:
            raise FakeClient.error

    def get_transport(self):
        return self

    def open_session(self, timeout=None):
        return self.channel

    def close(self):
        pass


@pytest.fixture
def fake_client(monkeypatch):
    FakeClient.error, FakeClient.calls = None, []
    monkeypatch.setattr(ssh.paramiko, "SSHClient", FakeClient)
    return FakeClient


def test_connect_offers_agent_and_default_keys_only_without_explicit_credentials(fake_client):
    NodeSsh("pve1", host_key_checking=False).connect()
    NodeSsh("pve1", host_key_checking=False, private_key_file="/k", user="ansible").connect()
    implicit, explicit = (kwargs for _host, kwargs in fake_client.calls)
    assert implicit["allow_agent"] and implicit["look_for_keys"] and implicit["username"] == "root"
    assert not explicit["allow_agent"] and not explicit["look_for_keys"]
    assert explicit["key_filename"] == "/k" and explicit["username"] == "ansible"


@pytest.mark.parametrize("error, message", [
    (paramiko.AuthenticationException("Authentication failed."), "SSH login as root@pve1:22 failed"),
    (TimeoutError("timed out"), "cannot connect to pve1:22 over SSH: TimeoutError: timed out"),
    (ConnectionRefusedError(111, "Connection refused"), "cannot connect to pve1:22 over SSH"),
    (paramiko.SSHException("Error reading SSH protocol banner"), "Error reading SSH protocol banner"),
])
def test_connect_failures_become_messages(fake_client, error, message):
    fake_client.error = error
    with pytest.raises(SshError) as refused:
        NodeSsh("pve1", host_key_checking=False).connect()
    assert message in str(refused.value)


def test_a_changed_host_key_says_what_to_do(fake_client, tmp_path):
    known_hosts = tmp_path / "kh"
    known_hosts.write_text("")
    other = paramiko.Ed25519Key(data=base64.b64decode(PUBLIC_KEY))
    known = paramiko.RSAKey.generate(1024)
    fake_client.error = paramiko.BadHostKeyException("[pve1]:2222", other, known)
    with pytest.raises(SshHostKeyError) as refused:
        NodeSsh("pve1", port=2222, known_hosts=str(known_hosts)).connect()
    message = str(refused.value)
    assert f"({FINGERPRINT}) does not match the one in {known_hosts} ({fingerprint(known.asbytes())})" in message
    assert f"ssh-keygen -R '[pve1]:2222' -f {known_hosts}" in message


class FakeChannel:
    """Hands out stdout/stderr chunks, then an exit status; never finishes with done=False."""

    def __init__(self, out=(), err=(), status=0, done=True):
        self.out, self.err, self.status, self.done = list(out), list(err), status, done
        self.command = None
        self.closed = False

    def exec_command(self, command):
        self.command = command

    def recv_ready(self):
        return bool(self.out)

    def recv(self, size):
        return self.out.pop(0)

    def recv_stderr_ready(self):
        return bool(self.err)

    def recv_stderr(self, size):
        return self.err.pop(0)

    def exit_status_ready(self):
        return self.done and not self.out and not self.err

    def recv_exit_status(self):
        return self.status

    def close(self):
        self.closed = True


def connected(channel, **options):
    runner = NodeSsh("pve1", host_key_checking=False, **options)
    runner.client = FakeClient()
    runner.client.channel = channel
    return runner


def test_run_collects_output_and_status():
    channel = FakeChannel(out=[b"importing ...\n", OLD_OUTPUT.encode()], err=[b"warning\n"], status=0)
    rc, out, err = connected(channel, become=True).run(["qm", "importdisk", "100", "/a b", "local-lvm"])
    assert (rc, err) == (0, "warning\n") and out.endswith("'unused0:local-lvm:vm-100-disk-1'\n")
    assert channel.command == "sudo -n -- qm importdisk 100 '/a b' local-lvm"


def test_run_gives_up_after_the_timeout():
    channel = FakeChannel(out=[b"transferred 0.0 B of 2.2 GiB (0.00%)\n"], done=False)
    with pytest.raises(SshCommandError) as refused:
        connected(channel).run(["qm", "importdisk", "100", "/a", "local-lvm"], timeout=0.2)
    assert "did not finish within 0.2s" in str(refused.value) and channel.closed
    assert "transferred 0.0 B" in refused.value.stdout

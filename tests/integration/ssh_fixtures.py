"""A real OpenSSH server on 127.0.0.1 for the SSH import tests, with the fake `qm` first on its PATH.

Each test gets its own sshd (Debian package openssh-server): a fresh ed25519 host key and user key made
with ssh-keygen, its own sshd_config in the test's directory (`sshd -D -e -f CONFIG`), root login with the
user key only, and through `SetEnv` a PATH whose first directory holds `qm` (tests/emulators/pve/qm.py,
which imports into the Proxmox test server of the same test) and a `sudo` stand-in that logs its arguments
and runs the command after `--` (the session is root already). A known_hosts file with the real host key,
and one with a different key, are ready for the host-key tests.

A test module uses them with ``ssh_node = ssh_fixtures.ssh_node`` at module level.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SSHD = Path("/usr/sbin/sshd")
QM = REPO / "tests" / "emulators" / "pve" / "qm.py"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
START_TIMEOUT = 15


@dataclass
class SshNode:
    host: str
    port: int
    user: str
    key_file: Path
    known_hosts: Path
    wrong_known_hosts: Path
    fingerprint: str
    wrong_fingerprint: str
    sudo_log: Path
    log: Path
    bin_dir: Path  # first on the session's PATH: the fake qm and sudo (a test may put another qm there)

    def env(self):
        """The PROXMOX_SSH_* environment (env fallbacks of proxmox_disk) for this sshd."""
        return {"PROXMOX_SSH_USER": self.user, "PROXMOX_SSH_PRIVATE_KEY_FILE": str(self.key_file),
                "PROXMOX_SSH_KNOWN_HOSTS": str(self.known_hosts)}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def keygen(path, comment):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    listed = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", f"{path}.pub"], check=True,
                            capture_output=True, text=True).stdout
    return listed.split()[1]


def write_programs(bindir, sudo_log):
    bindir.mkdir()
    qm = bindir / "qm"
    qm.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{QM}" "$@"\n')
    sudo = bindir / "sudo"
    sudo.write_text(
        "#!/bin/sh\n"
        "# proxgate test stand-in: logs its arguments, refuses without -n, runs what follows --\n"
        f"printf '%s\\n' \"$*\" >> '{sudo_log}'\n"
        '[ "$1" = "-n" ] || { echo "sudo: a password is required" >&2; exit 1; }\n'
        'shift\n[ "$1" = "--" ] && shift\nexec "$@"\n')
    for program in (qm, sudo):
        program.chmod(0o755)


def sshd_config(workdir, port, bindir, environment):
    settings = " ".join(f'"{name}={value}"' for name, value in environment.items())
    return "\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {workdir / 'host_ed25519'}",
        f"PidFile {workdir / 'sshd.pid'}", f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
        # The test directory sits under the world-writable /tmp, which StrictModes refuses.
        "StrictModes no", "UsePAM no", "PermitRootLogin prohibit-password", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "X11Forwarding no", "PrintMotd no",
        "LogLevel VERBOSE", f'SetEnv "PATH={bindir}:{SYSTEM_PATH}" {settings}', ""])


def wait_for_port(port, proc, log):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                if conn.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on port {port}:\n{log.read_text()}")


def start_sshd(workdir, pve_url, pve_cafile, token, node="pve1"):
    """(SshNode, Popen) of an sshd for the test server at pve_url."""
    workdir.mkdir(parents=True, exist_ok=True)
    fingerprint = keygen(workdir / "host_ed25519", "proxgate-test-host")
    wrong_fingerprint = keygen(workdir / "other_host_ed25519", "another-host")
    keygen(workdir / "id_ed25519", "proxgate-test-user")
    (workdir / "authorized_keys").write_text((workdir / "id_ed25519.pub").read_text())
    port = free_port()
    label = f"[127.0.0.1]:{port}"
    for name, key in (("known_hosts", "host_ed25519.pub"), ("wrong_known_hosts", "other_host_ed25519.pub")):
        kind, blob = (workdir / key).read_text().split()[:2]
        (workdir / name).write_text(f"{label} {kind} {blob}\n")
    sudo_log = workdir / "sudo.log"
    write_programs(workdir / "bin", sudo_log)
    environment = {"PROXGATE_PVE_URL": pve_url, "PROXGATE_PVE_CA": pve_cafile, "PROXGATE_PVE_TOKEN": token,
                   "PROXGATE_PVE_NODE": node, "PROXGATE_SUDO_LOG": sudo_log}
    config = workdir / "sshd_config"
    config.write_text(sshd_config(workdir, port, workdir / "bin", environment))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    log = workdir / "sshd.log"
    proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))
    try:
        wait_for_port(port, proc, log)
    except RuntimeError:
        proc.kill()
        raise
    node_info = SshNode("127.0.0.1", port, "root", workdir / "id_ed25519", workdir / "known_hosts",
                        workdir / "wrong_known_hosts", fingerprint, wrong_fingerprint, sudo_log, log,
                        workdir / "bin")
    return node_info, proc


@pytest.fixture
def ssh_node(pve, tmp_path):
    """An sshd on 127.0.0.1 whose `qm importdisk` imports into this test's Proxmox test server."""
    if not SSHD.exists() or os.geteuid() != 0:
        pytest.skip("needs /usr/sbin/sshd (Debian openssh-server) and root, to run a real sshd")
    token_id, secret = "root@pam!qm", secrets.token_hex(16)
    pve.pve.apitokens[token_id] = secret
    node_info, proc = start_sshd(tmp_path / "sshd", pve.url, pve.certfile, f"{token_id}={secret}")
    yield node_info
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)

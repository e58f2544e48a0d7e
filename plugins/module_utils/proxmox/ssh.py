# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running ``qm`` on a Proxmox VE node over SSH (paramiko), for what the API cannot do with a token.

The node's host key is checked strictly by default: against a known_hosts file, or against one pinned
``SHA256:...`` fingerprint. Accepting any key takes an explicit ``host_key_checking=False``, and every key
taken that way is reported to the caller's ``warn``; a key is never added to a file. Every argument of a
command is shell-quoted (``shlex.quote``), so a path or a storage name cannot run anything on the node,
whatever it holds. What qm reports is read from its last line only (``parse_import_output``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shlex
import socket
import time
import traceback

PARAMIKO_IMPORT_ERROR: str | None
try:
    import paramiko
except ImportError:
    HAS_PARAMIKO = False
    PARAMIKO_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PARAMIKO = True
    PARAMIKO_IMPORT_ERROR = None

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
# qemu-server src/PVE/CLI/qm.pm, importdisk: qm first echoes the source ("importing disk '<source>' to VM
# <vmid> ..."), then qemu-img's progress, and last of all the result. Only that last line is read: the echo
# holds the file name, which whoever named the file chose. ImportDisk::do_import without target-disk (never
# passed here) lists the new volume as unusedN.
IMPORT_RESULT = (
    # Since qemu-server 8.2.7 (PVE 8.3): "$drive_id: successfully imported disk '$vm_conf->{$drive_id}'".
    re.compile(r"(?P<key>unused\d+): successfully imported disk '(?P<volid>[^']+)'"),
    # qemu-server from 2019 (PVE 6.1) to 8.2.6: "Successfully imported disk as '$drive_id:$volid'".
    re.compile(r"Successfully imported disk as '(?P<key>unused\d+):(?P<volid>[^']+)'"),
)
FINGERPRINT = re.compile(r"^(?:SHA256:)?(?P<digest>[A-Za-z0-9+/]{43})=?$")
OUTPUT_TAIL = 1500


class SshError(Exception):
    """Anything the SSH runner could not do; the text is meant for a user."""


class SshHostKeyError(SshError):
    """The node's host key is unknown or not the expected one."""


class SshCommandError(SshError):
    """A command ran and failed (or did not finish in time)."""

    def __init__(self, message, rc=None, stdout="", stderr="", command=""):
        super().__init__(message)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.command = command


# ------------------------------------------------------------------ pure helpers

def command_line(argv, become=False):
    """The shell command line of an argument list, every argument quoted; `sudo -n --` in front with become."""
    words = [str(arg) for arg in argv]
    if become:
        words = ["sudo", "-n", "--", *words]
    return " ".join(shlex.quote(word) for word in words)


def qm_import_argv(vmid, source, storage, disk_format=None, subcommand="importdisk"):
    """``qm importdisk VMID SOURCE STORAGE [--format F]`` (``qm disk import`` with subcommand='disk import')."""
    argv = ["qm", *subcommand.split(), str(int(vmid)), source, storage]
    if disk_format:
        argv += ["--format", disk_format]
    return argv


def parse_import_output(text):
    """(unusedN key, volume id) of the disk qm importdisk reports on its last line, such as
    ('unused0', 'local-lvm:vm-100-disk-0'). SshError when the last line is not qm's result line."""
    text = (text or "").replace("\r", "\n")
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    last = lines[-1] if lines else ""
    for form in IMPORT_RESULT:
        found = form.fullmatch(last)
        if found:
            return found.group("key"), found.group("volid")
    raise SshError("qm finished, but its last line is not the result line qm prints at the end of an import "
                   "(\"unusedN: successfully imported disk '<volume>'\"); its output ended with:\n" + tail(text))


def unchecked_host_key_warning(host=None, offered=None):
    """The warning of a run with ssh_host_key_checking: false: with the host and the fingerprint of the key it
    offered once connected; without them in check mode, where no connection is made."""
    if offered:
        what = f"the SSH host key of {host} ({offered}) was accepted without being checked"
        pin = f"ssh_host_key: {offered} (after comparing it with ssh-keygen -lf on the node)"
    else:
        what = "a run that is not in check mode accepts the node's SSH host key without checking it"
        pin = "ssh_host_key"
    return (f"ssh_host_key_checking is false: {what}. Any key is taken, a changed one too, so whoever answers "
            "in the node's place (after a DNS or ARP spoof, or on a reused address) gets the SSH login - the "
            "password, if ssh_password is used - and the image path, and can answer in qm's place. Pin the "
            f"node's key with {pin} or list it in ssh_known_hosts, and drop ssh_host_key_checking: false")


def tail(text, limit=OUTPUT_TAIL):
    text = (text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def fingerprint(key_bytes):
    """OpenSSH's SHA256 fingerprint of a public key blob: ``SHA256:`` and unpadded base64."""
    digest = base64.b64encode(hashlib.sha256(key_bytes).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def normalize_fingerprint(text):
    """A fingerprint as given (with or without ``SHA256:``, with or without padding), or None if it is not one."""
    found = FINGERPRINT.match(str(text or "").strip())
    return f"SHA256:{found.group('digest')}" if found else None


def host_label(host, port):
    """The name known_hosts files use: ``host``, or ``[host]:port`` for a port other than 22."""
    return host if int(port) == 22 else f"[{host}]:{port}"


def failure_message(host, command, rc, stderr, stdout=""):
    """A user's message for a command that failed on the node."""
    detail = tail(stderr) or tail(stdout) or "(no output)"
    if rc == 127:
        return (f"qm was not found on {host} (exit 127): is it a Proxmox VE node, and is /usr/sbin on the "
                f"PATH of the SSH user? Command: {command}\n{detail}")
    if "a password is required" in (stderr or "") or "a terminal is required" in (stderr or ""):
        return (f"sudo on {host} asked for a password (ssh_become runs 'sudo -n'): allow the SSH user to run "
                f"/usr/sbin/qm without one (a sudoers rule with NOPASSWD), or connect as root. {detail}")
    return f"{command} failed on {host} (exit {rc}): {detail}"


# ------------------------------------------------------------------ host key policies

class _PinnedKey:
    """Accepts exactly the key with this fingerprint (no known_hosts is loaded in this mode)."""

    def __init__(self, expected):
        self.expected = expected

    def missing_host_key(self, client, hostname, key):
        offered = fingerprint(key.asbytes())
        if offered != self.expected:
            raise SshHostKeyError(
                f"the SSH host key of {hostname} is {offered} ({key.get_name()}), not the pinned ssh_host_key "
                f"{self.expected}: if the node's keys changed, check the new one on the node "
                f"(ssh-keygen -lf /etc/ssh/ssh_host_{_key_kind(key)}_key.pub) and update ssh_host_key; otherwise "
                "someone may be intercepting the connection")


class _RejectUnknown:
    """known_hosts mode: an unknown host is refused, with what to do about it."""

    def __init__(self, known_hosts, port):
        self.known_hosts = known_hosts
        self.port = port

    def missing_host_key(self, client, hostname, key):
        offered = fingerprint(key.asbytes())
        host = hostname.split("]")[0].lstrip("[") if hostname.startswith("[") else hostname
        raise SshHostKeyError(
            f"the SSH host key of {hostname} is not in {self.known_hosts} (the node offered {offered}, "
            f"{key.get_name()}): add it after checking it against the node "
            f"(ssh-keyscan -p {self.port} {host} >> {self.known_hosts}, then compare "
            f"ssh-keygen -lf {self.known_hosts} with ssh-keygen -lf /etc/ssh/ssh_host_{_key_kind(key)}_key.pub "
            f"on the node), or pin it with ssh_host_key: {offered}")


class _AcceptAny:
    """ssh_host_key_checking: false - any key is accepted and nothing is written anywhere; warn (a callable)
    hears of every key taken that way, with its fingerprint."""

    def __init__(self, warn=None):
        self.warn = warn

    def missing_host_key(self, client, hostname, key):
        if self.warn is not None:
            self.warn(unchecked_host_key_warning(hostname, fingerprint(key.asbytes())))


def _key_kind(key):
    name = key.get_name()
    if "ed25519" in name:
        return "ed25519"
    if "ecdsa" in name:
        return "ecdsa"
    return "rsa"


# ------------------------------------------------------------------ the runner

class NodeSsh:
    """One SSH connection to a node: ``run(argv)`` runs a command and returns (rc, stdout, stderr)."""

    def __init__(self, host, port=22, user="root", password=None, private_key=None, private_key_passphrase=None,
                 private_key_file=None, known_hosts=None, host_key=None, host_key_checking=True, become=False,
                 connect_timeout=30, warn=None):
        if not HAS_PARAMIKO:
            raise SshError("the paramiko Python library is required for SSH")
        self.host = host
        self.port = int(port)
        self.user = user
        self.password = password
        self.private_key = private_key
        self.passphrase = private_key_passphrase
        self.private_key_file = os.path.expanduser(private_key_file) if private_key_file else None
        self.known_hosts = os.path.expanduser(known_hosts or DEFAULT_KNOWN_HOSTS)
        self.known_hosts_given = bool(known_hosts)
        self.host_key = host_key
        self.host_key_checking = host_key_checking
        self.become = become
        self.connect_timeout = connect_timeout
        # Told (a message) of a host key taken unchecked, with host_key_checking=False.
        self.warn = warn
        self.client = None

    @property
    def target(self):
        return f"{self.user}@{self.host}:{self.port}"

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def _policy(self, client):
        if not self.host_key_checking:
            return _AcceptAny(self.warn)
        if self.host_key:
            expected = normalize_fingerprint(self.host_key)
            if expected is None:
                raise SshError(f"ssh_host_key must be a SHA256 fingerprint such as SHA256:{'A' * 43}, "
                               f"got {self.host_key!r}")
            return _PinnedKey(expected)
        if os.path.exists(self.known_hosts):
            try:
                client.load_system_host_keys(self.known_hosts)
            except (OSError, paramiko.SSHException) as exc:
                raise SshError(f"ssh_known_hosts {self.known_hosts} could not be read: {exc}") from exc
        elif self.known_hosts_given:
            raise SshError(f"ssh_known_hosts {self.known_hosts} does not exist")
        return _RejectUnknown(self.known_hosts, self.port)

    def _pkey(self):
        if not self.private_key:
            return None
        for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
            try:
                return kind.from_private_key(io.StringIO(self.private_key), password=self.passphrase)
            except paramiko.PasswordRequiredException as exc:
                raise SshError("ssh_private_key is encrypted: give ssh_private_key_passphrase") from exc
            except (paramiko.SSHException, ValueError):
                continue
        raise SshError("ssh_private_key is not a private key paramiko can read (an OpenSSH or PEM ed25519, "
                       "ECDSA or RSA key)")

    def connect(self):
        self.client = self._open()
        return self

    def _open(self):
        """A new paramiko client, connected and logged in; SshError (SshHostKeyError) when it cannot be."""
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(self._policy(client))
        pkey = self._pkey()
        explicit = bool(pkey or self.private_key_file or self.password)
        try:
            client.connect(self.host, port=self.port, username=self.user, password=self.password, pkey=pkey,
                           key_filename=self.private_key_file, passphrase=self.passphrase,
                           timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout, allow_agent=not explicit,
                           look_for_keys=not explicit)
        except SshError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise SshHostKeyError(
                f"the SSH host key of {host_label(self.host, self.port)} ({fingerprint(exc.key.asbytes())}) does "
                f"not match the one in {self.known_hosts} ({fingerprint(exc.expected_key.asbytes())}): if the node "
                f"was reinstalled or its keys changed, remove the old entry "
                f"(ssh-keygen -R '{host_label(self.host, self.port)}' -f {self.known_hosts}) and add the new one "
                "after checking it on the node; otherwise someone may be intercepting the connection") from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise SshError(f"SSH login as {self.target} failed: {exc} (give ssh_private_key_file, ssh_private_key "
                           "or ssh_password of an account allowed to run qm)") from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            raise SshError(f"cannot connect to {self.host}:{self.port} over SSH: {type(exc).__name__}: {exc}") \
                from exc
        return client

    def run(self, argv, timeout=600):
        """Run the command (arguments quoted); returns (rc, stdout, stderr). SshCommandError when it outlives
        timeout seconds."""
        if self.client is None:
            self.client = self._open()
        command = command_line(argv, self.become)
        try:
            channel = self.client.get_transport().open_session(timeout=self.connect_timeout)
            channel.exec_command(command)
            out, err = self._collect(channel, command, timeout)
            rc = channel.recv_exit_status()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if isinstance(exc, socket.timeout):
                raise SshCommandError(f"{command} on {self.host}: the connection timed out", command=command) \
                    from exc
            raise SshError(f"running {command} on {self.host} failed: {type(exc).__name__}: {exc}") from exc
        return rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    @staticmethod
    def _collect(channel, command, timeout):
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        while True:
            got = False
            if channel.recv_ready():
                out += channel.recv(65536)
                got = True
            if channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
                got = True
            # The exit status comes after all the output (SSH orders them), so nothing is left behind.
            if channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
                return out, err
            if time.monotonic() > deadline:
                channel.close()
                raise SshCommandError(f"{command} did not finish within {timeout}s (it may go on on the node)",
                                      stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"),
                                      command=command)
            if not got:
                time.sleep(0.05)

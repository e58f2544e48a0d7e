"""Test machines for the roles' molecule scenarios: Debian 12 booted with systemd in systemd-nspawn, no Docker.

    python tools/nspawn_machine.py base                       # debootstrap the base image once (build/nspawn/base)
    python tools/nspawn_machine.py up NAME --ssh-port 2301    # a fresh copy of it, booted, reachable by SSH
    python tools/nspawn_machine.py down NAME                  # power it off and delete it
    python tools/nspawn_machine.py inventory NAME --ssh-port 2301   # the Ansible inventory entry, as YAML

A machine is a real Debian with systemd as PID 1 (so units start, handlers restart them, `systemctl` and
`systemd-analyze verify` work) and its own root file system; it shares the host's network, so each machine's
sshd listens on its own loopback port, and its services must use ports the host leaves free. Ansible reaches it
over SSH as root with a generated key and strict host-key checking against build/nspawn/known_hosts.
Downloaded packages are shared between machines through build/nspawn/apt-archives.
Needs root, debootstrap and systemd-container (.ci/run installs them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("NSPAWN_STATE", REPO / "build" / "nspawn"))
BASE = STATE / "base"
MACHINES = STATE / "machines"
KEY = STATE / "id_ed25519"
KNOWN_HOSTS = STATE / "known_hosts"
APT_ARCHIVES = STATE / "apt-archives"
MIRROR = os.environ.get("NSPAWN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-apt", "ca-certificates",
                 "iproute2", "procps", "sudo", "gnupg", "curl", "less"]


def run(command, **kwargs):
    return subprocess.run(command, check=True, **kwargs)


def build_base():
    marker = BASE / ".proxgate-base"
    if marker.exists():
        return
    shutil.rmtree(BASE, ignore_errors=True)
    STATE.mkdir(parents=True, exist_ok=True)
    print(f"debootstrap {SUITE} into {BASE} (about a minute)", flush=True)
    run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", SUITE, str(BASE), MIRROR],
        stdout=subprocess.DEVNULL)
    # No getty on the console: the machine runs in the background without a terminal.
    for unit in ("console-getty.service", "getty@tty1.service"):
        (BASE / "etc/systemd/system" / unit).unlink(missing_ok=True)
        os.symlink("/dev/null", BASE / "etc/systemd/system" / unit)
    keep_debs = 'Binary::apt::APT::Keep-Downloaded-Packages "true";\n'
    (BASE / "etc/apt/apt.conf.d/90proxgate-keep-debs").write_text(keep_debs)
    (BASE / "etc/hostname").write_text("molecule\n")
    for stale in (BASE / "etc/ssh").glob("ssh_host_*"):
        stale.unlink()
    marker.write_text(f"{SUITE} {' '.join(BASE_PACKAGES)}\n")


def machine_dir(name):
    return MACHINES / name


def pid_file(name):
    return MACHINES / f"{name}.pid"


def ensure_key():
    if not KEY.exists():
        STATE.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "proxgate-molecule", "-f", str(KEY)])


def prepare_root(name, ssh_port):
    root = machine_dir(name)
    shutil.rmtree(root, ignore_errors=True)
    MACHINES.mkdir(parents=True, exist_ok=True)
    run(["cp", "-a", "--reflink=auto", str(BASE), str(root)])
    (root / "etc/hostname").write_text(f"{name}\n")
    ssh_dir = root / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(Path(f"{KEY}.pub").read_text())
    (root / "etc/ssh/sshd_config.d/proxgate-molecule.conf").write_text(
        f"Port {ssh_port}\nListenAddress 127.0.0.1\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "etc/ssh/ssh_host_ed25519_key")])
    host_key = (root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
    return f"[127.0.0.1]:{ssh_port} {host_key[0]} {host_key[1]}"


def remember_host_key(ssh_port, line):
    prefix = f"[127.0.0.1]:{ssh_port} "
    kept = [entry for entry in (KNOWN_HOSTS.read_text().splitlines() if KNOWN_HOSTS.exists() else [])
            if not entry.startswith(prefix)]
    KNOWN_HOSTS.write_text("\n".join([*kept, line]) + "\n")


def port_open(port):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def boot(name):
    APT_ARCHIVES.mkdir(parents=True, exist_ok=True)
    (APT_ARCHIVES / "partial").mkdir(exist_ok=True)
    log = open(MACHINES / f"{name}.log", "w")  # noqa: SIM115 - the machine keeps writing after we return
    process = subprocess.Popen(
        ["systemd-nspawn", "--quiet", "--boot", f"--directory={machine_dir(name)}", f"--machine={name}",
         "--register=no", "--keep-unit", f"--bind={APT_ARCHIVES}:/var/cache/apt/archives",
         "--capability=all", "--resolv-conf=copy-host", "--timezone=off"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    pid_file(name).write_text(f"{process.pid}\n")
    return process


def wait_for_ssh(name, ssh_port, process, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"machine {name} stopped while booting; see {MACHINES / (name + '.log')}")
        if port_open(ssh_port):
            probe = subprocess.run(ssh_command(ssh_port) + ["systemctl", "is-system-running", "--wait"],
                                   capture_output=True, text=True, check=False)
            if probe.stdout.strip() in ("running", "degraded"):
                return
        time.sleep(0.5)
    raise SystemExit(f"machine {name} did not answer SSH on port {ssh_port} within {timeout} s")


def ssh_command(ssh_port):
    return ["ssh", "-p", str(ssh_port), "-i", str(KEY), "-o", f"UserKnownHostsFile={KNOWN_HOSTS}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "root@127.0.0.1"]


def up(name, ssh_port):
    if port_open(ssh_port):
        raise SystemExit(f"port {ssh_port} is taken: another machine or an sshd listens there")
    build_base()
    ensure_key()
    down(name, quiet=True)
    remember_host_key(ssh_port, prepare_root(name, ssh_port))
    wait_for_ssh(name, ssh_port, boot(name))
    print(f"machine {name} is up: ssh -p {ssh_port} root@127.0.0.1", flush=True)


def down(name, quiet=False):
    pidfile = pid_file(name)
    if pidfile.exists():
        pid = int(pidfile.read_text())
        try:
            os.kill(pid, signal.SIGTERM)  # nspawn asks the machine's systemd to power off
            for _attempt in range(100):
                os.kill(pid, 0)
                time.sleep(0.2)
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pidfile.unlink()
    shutil.rmtree(machine_dir(name), ignore_errors=True)
    if not quiet:
        print(f"machine {name} is gone", flush=True)


def inventory(name, ssh_port):
    return "\n".join([
        f"{name}:",
        "  ansible_host: 127.0.0.1",
        f"  ansible_port: {ssh_port}",
        "  ansible_user: root",
        f"  ansible_ssh_private_key_file: {KEY}",
        f"  ansible_ssh_common_args: -o UserKnownHostsFile={KNOWN_HOSTS} -o StrictHostKeyChecking=yes"
        " -o IdentitiesOnly=yes",
        "  ansible_python_interpreter: /usr/bin/python3",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["base", "up", "down", "inventory"])
    parser.add_argument("name", nargs="?")
    parser.add_argument("--ssh-port", type=int, default=2300)
    args = parser.parse_args(argv)
    if args.action != "base" and not args.name:
        parser.error(f"{args.action} needs a machine NAME")
    if args.action == "base":
        build_base()
    elif args.action == "up":
        up(args.name, args.ssh_port)
    elif args.action == "down":
        down(args.name)
    else:
        print(inventory(args.name, args.ssh_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())

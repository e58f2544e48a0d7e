"""`make demo`: run playbooks/provision.yml against the Proxmox test server (or a real cluster).

Without PROXMOX_URL in the environment, starts the test server (fakepve with the project's
additions) on loopback with a few demo guests, runs the playbook twice (the second run must change
nothing), prints the API writes each run made, and stops the server. With PROXMOX_URL (and
PROXMOX_USER/PROXMOX_PASSWORD or PROXMOX_TOKEN_ID/PROXMOX_TOKEN_SECRET) set, runs the playbook once
against that cluster instead; pass playbook variables through DEMO_EXTRA_VARS (JSON).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RECAP_CHANGED = re.compile(r"^localhost\s+:.*\bchanged=(\d+)", re.M)


def ansible_env(collections_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    env.setdefault("ANSIBLE_STDOUT_CALLBACK", "default")
    return env


def run_playbook(env, extra_vars):
    """Run provision.yml, showing its output; returns (exit code, the recap's changed count)."""
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-e",
               f"ansible_python_interpreter={sys.executable}", str(REPO / "playbooks" / "provision.yml")]
    if extra_vars:
        command += ["-e", extra_vars]
    proc = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    changed = RECAP_CHANGED.search(proc.stdout)
    return proc.returncode, int(changed.group(1)) if changed else None


def start_test_server(workdir):
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.pve", "--cert-dir", str(workdir / "pki"), "--port", "0",
         "--agent-boot-secs", "0", "--password", "demo-password"],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline().strip()
    if not line.startswith("fakepve listening on "):
        server.kill()
        raise SystemExit(f"the test server did not start: {line!r}")
    return server, line.rsplit(" ", 1)[1], workdir / "pki" / "fakepve.crt"


def main():
    collections = Path(os.environ.get("DEMO_COLLECTIONS_PATH", REPO / "build" / "demo-collections"))
    extra_vars = os.environ.get("DEMO_EXTRA_VARS", "")
    env = ansible_env(collections)
    if os.environ.get("PROXMOX_URL"):
        print(f"== provision.yml against {os.environ['PROXMOX_URL']}", flush=True)
        return run_playbook(env, extra_vars)[0]
    with tempfile.TemporaryDirectory(prefix="proxgate-demo-") as tmp:
        server, url, cafile = start_test_server(Path(tmp))
        try:
            env.update(PROXMOX_URL=url, PROXMOX_USER="root@pam", PROXMOX_PASSWORD="demo-password",
                       PROXMOX_CA_PATH=str(cafile))
            print(f"== test server (fakepve + proxgate additions) at {url}, CA {cafile}", flush=True)
            print("== first run: creates and starts the VM, waits for its address", flush=True)
            if run_playbook(env, extra_vars)[0]:
                return 1
            print("== second run: must report changed=0", flush=True)
            code, changed = run_playbook(env, extra_vars)
            if code or changed != 0:
                print(f"== the second run was not idempotent (exit {code}, changed={changed})", flush=True)
                return 1
            print("== done: the VM was created, started and reported its address; the rerun changed nothing")
            return 0
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    sys.exit(main())

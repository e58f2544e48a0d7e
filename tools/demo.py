"""`make demo`: provision a VM, then publish every guest of the cluster through Guacamole.

Runs playbooks/site.yml with the inventory playbooks/inventory/demo.proxmox.yml: provision.yml (create a VM
with cloud-init, import a cloud image as its boot disk and grow it, start it, wait for its guest-agent
address, take a `baseline` snapshot), gateway.yml (no host in the group guacamole_gateway here: the gateway
is the emulator, or yours), and publish.yml (one Guacamole connection per guest with an address, by OS and
tag, in a group per pool). It runs twice: the second run must change nothing. Then it prints the Guacamole
connection tree it made.

By default both run against the project's test servers on loopback: the Proxmox test server
(fakepve with the project's additions) and the Guacamole emulator, each over HTTPS with its own
certificate. With PROXMOX_URL (and PROXMOX_USER/PROXMOX_PASSWORD or PROXMOX_TOKEN_ID/
PROXMOX_TOKEN_SECRET) set, the real cluster is used instead; with GUACAMOLE_URL (and
GUACAMOLE_USERNAME/GUACAMOLE_PASSWORD), the real gateway. Playbook variables go in DEMO_EXTRA_VARS (JSON).

ansible-playbook's output and its warnings are shown as they come, in the order it wrote them, each warning
below the task that caused it; Python deprecation warnings of third-party libraries (cryptography's
`CryptographyDeprecationWarning: DSA is deprecated`, printed when ansible-core imports it) are left out.
The demo ends with where to go next in docs/quickstart.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

try:
    from tools.library_warnings import LibraryDeprecationFilter
except ImportError:  # run as a script, with tools/ first on sys.path
    from library_warnings import LibraryDeprecationFilter

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
INVENTORY = REPO / "playbooks" / "inventory" / "demo.proxmox.yml"
NO = ("0", "false", "no", "off")
RECAP_CHANGED = re.compile(r"^localhost\s+:.*\bchanged=(\d+)")
NEXT = ("next: docs/quickstart.md#look-around - start the two test servers yourself and try the collection by hand,\n"
        "      beginning with: ansible-inventory -i playbooks/inventory/demo.proxmox.yml --graph")
PVE_PASSWORD = "demo-password"
GUACAMOLE_PASSWORD = "demo-guacadmin-password"


def ansible_env(collections_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    env.setdefault("ANSIBLE_STDOUT_CALLBACK", "default")
    return env


def playbook_command(name, extra_vars):
    command = [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), "-i", "localhost,", "-e",
               f"ansible_python_interpreter={sys.executable}", str(REPO / "playbooks" / name)]
    if extra_vars:
        command += ["-e", extra_vars]
    return command


def run_playbook(command, env):
    """Run an ansible-playbook command, printing its output line by line as it comes, its errors and warnings
    in place, Python deprecation warnings of third-party libraries left out. Returns (exit code, the recap's
    changed count). Its stdout and stderr are one pipe, and unbuffered, so the lines come in the order it
    wrote them whatever the ansible-core version or a plugin does about flushing."""
    changed = None
    lines = LibraryDeprecationFilter()
    with subprocess.Popen(command, env=dict(env, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, encoding="utf-8", errors="replace") as proc:
        for line in proc.stdout:
            if not lines.keep(line):
                continue
            sys.stdout.write(line)
            sys.stdout.flush()
            recap = RECAP_CHANGED.match(line)
            if recap:
                changed = int(recap.group(1))
    return proc.returncode, changed


def start_server(stack, command, ready_prefix):
    """Start a test server that prints '<ready_prefix> <url>' once it answers; stopped when the stack closes."""
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    stack.callback(lambda: (server.terminate(), server.wait(10)))
    line = server.stdout.readline().strip()
    if not line.startswith(ready_prefix):
        raise SystemExit(f"the test server did not start: {line!r}")
    return line.rsplit(" ", 1)[1]


def start_pve(stack, workdir):
    url = start_server(stack, [sys.executable, "-m", "tests.emulators.pve", "--cert-dir", str(workdir / "pve"),
                               "--port", "0", "--password", PVE_PASSWORD], "fakepve listening on ")
    cafile = workdir / "pve" / "fakepve.crt"
    print(f"== Proxmox test server (fakepve + proxgate additions) at {url}", flush=True)
    return {"PROXMOX_URL": url, "PROXMOX_USER": "root@pam", "PROXMOX_PASSWORD": PVE_PASSWORD,
            "PROXMOX_CA_PATH": str(cafile)}


def start_guacamole(stack, workdir):
    from fakepve.certs import make_cert  # a test dependency, like the emulators themselves
    (workdir / "guacamole").mkdir()
    certfile, keyfile, _der = make_cert(str(workdir / "guacamole"), name="guacamole", hosts=("127.0.0.1",))
    url = start_server(stack, [sys.executable, "-m", "tests.emulators.guacamole", "--host", "127.0.0.1",
                               "--port", "0", "--tls-cert", certfile, "--tls-key", keyfile,
                               "--admin-password", GUACAMOLE_PASSWORD], "guacamole-emulator listening on ")
    print(f"== Guacamole emulator at {url}", flush=True)
    return {"GUACAMOLE_URL": url, "GUACAMOLE_USERNAME": "guacadmin", "GUACAMOLE_PASSWORD": GUACAMOLE_PASSWORD,
            "GUACAMOLE_CA_PATH": certfile}


def run_twice(name, env, extra_vars, what):
    print(f"== {name}: {what}", flush=True)
    if run_playbook(playbook_command(name, extra_vars), env)[0]:
        return False
    print(f"== {name} again: must report changed=0", flush=True)
    code, changed = run_playbook(playbook_command(name, extra_vars), env)
    if code or changed != 0:
        print(f"== {name} was not idempotent (exit {code}, changed={changed})", flush=True)
        return False
    return True


def main():
    collections = Path(os.environ.get("DEMO_COLLECTIONS_PATH", REPO / "build" / "demo-collections"))
    extra_vars = os.environ.get("DEMO_EXTRA_VARS", "")
    env = ansible_env(collections)
    with tempfile.TemporaryDirectory(prefix="proxgate-demo-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        if os.environ.get("PROXMOX_URL"):
            print(f"== Proxmox VE at {os.environ['PROXMOX_URL']}", flush=True)
        else:
            env.update(start_pve(stack, workdir))
        if os.environ.get("GUACAMOLE_URL"):
            print(f"== Guacamole at {os.environ['GUACAMOLE_URL']}", flush=True)
        else:
            env.update(start_guacamole(stack, workdir))
        if not run_twice("site.yml", env, extra_vars, "provision a VM from a cloud image, then publish every "
                         "guest with an address as a Guacamole connection"):
            return 1
        print("== The Guacamole connection tree", flush=True)
        print("\n".join(tree_lines(guacamole_tree(env))), flush=True)
    print("== done: the VM runs and reported its address; every guest with an address is a Guacamole connection; "
          "the rerun changed nothing")
    print(pictures_line(), flush=True)
    print(NEXT, flush=True)
    return 0


def pictures_line():
    """Where the end-to-end test of `make test` left the screens guacd drew for published connections."""
    pictures = sorted((REPO / "build" / "guacd-e2e").glob("*.png"))
    if not pictures:
        return ("the screens a published connection shows through the real guacd: run make test, then look at "
                "build/guacd-e2e/*.png (docs/quickstart.md#how-the-end-to-end-test-works)")
    return ("the screens a published connection showed through the real guacd (the last make test): "
            + ", ".join(str(picture.relative_to(REPO)) for picture in pictures))


def guacamole_tree(env):
    """GET connectionGroups/ROOT/tree, with the same login as the playbooks."""
    import httpx  # installed with the collection's requirements

    url = env["GUACAMOLE_URL"].rstrip("/")
    verify = env.get("GUACAMOLE_CA_PATH") or env.get("GUACAMOLE_VALIDATE_CERTS", "true").lower() not in NO
    with httpx.Client(verify=verify, timeout=30) as http:
        credentials = {"username": env["GUACAMOLE_USERNAME"], "password": env["GUACAMOLE_PASSWORD"]}
        login = http.post(f"{url}/api/tokens", data=credentials)
        login.raise_for_status()
        token = login.json()
        try:
            source = env.get("GUACAMOLE_DATA_SOURCE") or token["dataSource"]
            tree = http.get(f"{url}/api/session/data/{source}/connectionGroups/ROOT/tree",
                            headers={"Guacamole-Token": token["authToken"]})
            tree.raise_for_status()
            return tree.json()
        finally:
            http.delete(f"{url}/api/tokens/{token['authToken']}", headers={"Guacamole-Token": token["authToken"]})


def tree_lines(group, depth=0):
    indent = "  " * depth
    lines = [f"{indent}{group.get('name', 'ROOT')}/"]
    for connection in sorted(group.get("childConnections", []), key=lambda c: c["name"]):
        lines.append(f"{indent}  {connection['name']} ({connection.get('protocol', '?')})")
    for child in sorted(group.get("childConnectionGroups", []), key=lambda g: g["name"]):
        lines.extend(tree_lines(child, depth + 1))
    return lines


if __name__ == "__main__":
    sys.exit(main())

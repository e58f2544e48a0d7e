"""Integration tests: real ansible-playbook runs of the collection against the test servers on loopback."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.emulators.pve import ServedPve, demo_guests, load_guests, write_requests

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / "build" / "collections"
BIN = Path(sys.executable).parent
TOKEN_ID = "root@pam!ci"
TOKEN_SECRET = "5f0c2b4e-8a51-4d3c-9f0e-1c2d3e4f5a6b"
PASSWORD = "correct-horse-battery-staple"


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    results: list = field(default_factory=list)

    def result(self, task_name):
        """The result of the (last) task with this name."""
        found = [r for r in self.results if r["task"] == task_name]
        assert found, f"no result for task {task_name!r}; tasks: {[r['task'] for r in self.results]}\n{self.stdout}"
        return found[-1]["result"]

    @property
    def changed(self):
        """Names of the tasks that reported changed."""
        return [r["task"] for r in self.results if r["result"].get("changed")]

    @property
    def failed(self):
        return [r for r in self.results if r["status"] == "failed"]


def run_ansible_playbook(command, workdir, env=None):
    """Run an ansible-playbook command in workdir with a clean environment (none of the caller's PROXMOX_*,
    GUACAMOLE_* or ANSIBLE_* variables; the collection from build/collections; every task's result recorded by
    callback_plugins/record_results.py), plus env. Returns a PlaybookRun."""
    results_file = workdir / "results.jsonl"
    full_env = {key: value for key, value in os.environ.items()
                if not key.startswith(("PROXMOX_", "GUACAMOLE_", "RUSTGUAC_", "ANSIBLE_"))}
    full_env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).parent / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "record_results",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        "ANSIBLE_HOME": str(workdir / "ansible-home"),
        "PROXGATE_RESULTS_FILE": str(results_file),
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    })
    full_env.update(env or {})
    proc = subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=workdir, timeout=300,
                          check=False)
    results = []
    if results_file.exists():
        results = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, results)


@pytest.fixture
def pve(tmp_path, request):
    """A fresh Proxmox test server for one test, with the demo guests, a password user and an API token.

    With PROXGATE_PRIVILEGE_LOG=<file> in the environment, every privilege check the server makes (those of a run
    as root included) is appended to that file as JSON lines, for tools/automation_privileges.py."""
    served = ServedPve(tmp_path / "pki", password=PASSWORD)
    served.pve.add_node("pve2")
    served.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    served.pve.token_privsep[TOKEN_ID] = False  # root@pam's privileges, whatever ACLs a test adds for others
    load_guests(served.pve, demo_guests())
    log_file = os.environ.get("PROXGATE_PRIVILEGE_LOG")
    if log_file:
        served.pve.privilege_log = []
    yield served
    served.stop()
    if log_file:
        with open(log_file, "a") as log:
            for user, method, path, acl_path, privilege, held in served.pve.privilege_log:
                log.write(json.dumps({"test": request.node.nodeid, "user": user, "method": method, "path": path,
                                      "acl_path": acl_path, "privilege": privilege, "held": held}) + "\n")


def pytest_generate_tests(metafunc):
    """A test marked each_auth runs once with a ticket and once with an API token; any other runs with the token.
    Auth lives in one client (module_utils/proxmox/client.py), so the tests of auth itself, of the generic
    module and the inventory run both ways, not every test of every module (`make demo`, test_quickstart.py, runs
    the site playbook end to end with a ticket)."""
    if "auth_mode" in metafunc.fixturenames and metafunc.definition.get_closest_marker("each_auth"):
        metafunc.parametrize("auth_mode", ["ticket", "token"])


@pytest.fixture
def auth_mode():
    return "token"


@pytest.fixture
def pve_env(pve, auth_mode):
    """The environment an AWX credential would give: the modules read their auth from it."""
    env = {"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile}
    if auth_mode == "token":
        env.update(PROXMOX_TOKEN_ID=TOKEN_ID, PROXMOX_TOKEN_SECRET=TOKEN_SECRET)
    else:
        env.update(PROXMOX_USER="root@pam", PROXMOX_PASSWORD=PASSWORD)
    return env


@pytest.fixture
def writes(pve):
    """writes() -> the write requests the server has seen so far."""
    return lambda: write_requests(pve.pve)


@pytest.fixture
def run_playbook(tmp_path):
    """run_playbook(tasks_yaml, env, check=False, diff=False, verbosity=0, extra_vars=None) -> PlaybookRun.

    tasks_yaml is the task list of a play on localhost; each call writes its own playbook file.
    """
    counter = {"n": 0}

    def run(tasks, env=None, check=False, diff=False, verbosity=0, extra_vars=None, playbook=None):
        counter["n"] += 1
        workdir = tmp_path / f"run{counter['n']}"
        workdir.mkdir()
        if playbook is None:
            play = "- name: Test play\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
            playbook_path = workdir / "play.yml"
            playbook_path.write_text(play + textwrap.indent(textwrap.dedent(tasks).strip() + "\n", "    "))
        else:
            playbook_path = Path(playbook)
        command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                   "-e", f"ansible_python_interpreter={sys.executable}", str(playbook_path)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if verbosity:
            command.append("-" + "v" * verbosity)
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        return run_ansible_playbook(command, workdir, env)

    return run


OLDEST_LOCK = REPO / "tests" / "requirements-oldest-lock.txt"


def oldest_ansible_venv():
    """A venv with the oldest ansible-core that requires_ansible admits, at the versions and hashes of
    tests/requirements-oldest-lock.txt (kept under build/ between runs and made anew when the lock changes;
    a file lock keeps parallel test workers from building it twice)."""
    venv = REPO / "build" / "venvs" / "ansible-core-2.17"
    venv.parent.mkdir(parents=True, exist_ok=True)
    installed = venv / ".installed"
    wanted = hashlib.sha256(OLDEST_LOCK.read_bytes()).hexdigest()
    with open(venv.parent / "ansible-core-2.17.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed.exists() or installed.read_text() != wanted:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", "--require-hashes", "--no-deps", "-r", str(OLDEST_LOCK)],
                           check=True)
            installed.write_text(wanted)
    return venv

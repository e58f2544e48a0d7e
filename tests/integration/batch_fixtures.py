"""Many refusal cases in one ansible-playbook run: each case a task of one playbook (with ignore_errors, so that
the next runs after it fails), run once for a test module against servers of its own. Every task still runs its
module in a process of its own; what is saved is an ansible-playbook start, and a server, per case. A case's
test then looks up its own task: failed_message(run, name).

For the tests whose cases are refused before any request: the servers then saw nothing from any of them.

Under pytest-xdist, each worker that runs one of the cases would make its module fixture, and run the whole batch:
once_for_all_workers has the first worker to need it run it, and the others wait for what it found instead of
running it again. (--dist loadgroup would send a batch's tests to one worker, but xdist 3.8 groups them by
rewriting nodeids, which pytest 9 no longer reads.)"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import sys
import textwrap

from tests.emulators.pve import ServedPve, demo_guests, load_guests
from tests.integration.conftest import BIN, PASSWORD, TOKEN_ID, TOKEN_SECRET, PlaybookRun, run_ansible_playbook


def once_for_all_workers(tmp_path_factory, name, make):
    """(PlaybookRun, *found) of make(workdir) -> (PlaybookRun, *JSON-able values), made once in the session: by
    this process without xdist; with it, by the first worker to get here, in the folder all the session's workers
    share, under a file lock (pytest-xdist's recipe), and read back by the others."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return make(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent  # this session's, one per run of pytest
    made = shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            run, *found = make(tmp_path_factory.mktemp(name))
            made.write_text(json.dumps([dataclasses.asdict(run), *found], default=repr))
    run, *found = json.loads(made.read_text())
    return (PlaybookRun(**run), *found)


def run_tasks(workdir, tasks, env):
    """One play on localhost of the tasks (YAML texts, each a list of one task), each with ignore_errors."""
    body = "".join(textwrap.dedent(task).strip() + "\n  ignore_errors: true\n" for task in tasks)
    playbook = workdir / "play.yml"
    playbook.write_text("- name: Test play\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        + textwrap.indent(body, "    "))
    return run_ansible_playbook([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e",
                                 f"ansible_python_interpreter={sys.executable}", str(playbook)], workdir, env)


def failed_message(run, task):
    """The message of the task, which must have run once and failed, in a run with no traceback."""
    assert "Traceback" not in run.stdout + run.stderr
    entries = [entry for entry in run.results if entry["task"] == task]
    assert [entry["status"] for entry in entries] == ["failed"], f"{task}: {entries}\n{run.stdout}"
    return entries[0]["result"]["msg"]


def served_pve(pki_dir):
    """A Proxmox test server as tests/integration/conftest.py's pve fixture makes it, and the token's env."""
    served = ServedPve(pki_dir, password=PASSWORD)
    served.pve.add_node("pve2")
    served.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    served.pve.token_privsep[TOKEN_ID] = False
    load_guests(served.pve, demo_guests())
    env = {"PROXMOX_URL": served.url, "PROXMOX_CA_PATH": served.certfile,
           "PROXMOX_TOKEN_ID": TOKEN_ID, "PROXMOX_TOKEN_SECRET": TOKEN_SECRET}
    return served, env

"""Every shell command of README.md and docs/*.md runs verbatim in a test, or says why it cannot.

The marker convention: HTML comments on the lines right above a fence (several may stack):

    <!-- runnable -->             this test runs the block, verbatim, with `bash -c 'set -e; <block>'`
    <!-- not-run: <reason> -->   the block is not run here, and the reason says why: a real cluster's address,
                                  a command for a Proxmox VE node, `make test` itself, or the test that runs it
    <!-- file: <path> -->        on a yaml (or other non-shell) block: the file the page tells the reader to
                                  write; it is written to <path> before the runnable blocks after it run

A shell block is a fence whose info string is sh, bash, shell or console. In a console block the commands are
the lines that start with `$ `, and the lines after each are what it must print (`...` stands for lines left
out). test_every_shell_block_is_marked fails on a shell block with neither runnable nor not-run, and on a fence
without a language, so a new command cannot slip in untested.

The runnable blocks of a page run in the order of the page, each in its own bash, against test servers shared
by the blocks of that page (what one block makes, the next one finds, as for a reader: the account the
quickstart makes is the one its publish step logs in with): the Proxmox test server with the demo cluster and
its cloud image, the Guacamole emulator (with the user group `operators`, which the pages say must exist) and the
rustguac emulator, over HTTPS, in the environment tools/demo.py gives (PROXMOX_URL, PROXMOX_USER,
PROXMOX_PASSWORD, PROXMOX_CA_PATH, GUACAMOLE_URL, GUACAMOLE_USERNAME=guacadmin, GUACAMOLE_PASSWORD,
GUACAMOLE_CA_PATH) plus RUSTGUAC_URL, RUSTGUAC_API_KEY and RUSTGUAC_CA_PATH, with .venv/bin first on PATH and
nothing of the caller's PROXMOX_*, GUACAMOLE_*, RUSTGUAC_* or ANSIBLE_* environment. The working directory is
the checkout's root as a reader has it: a folder that links every top-level entry of the repository (so
ansible.cfg, playbooks/ and .venv are those of the checkout), where the files the pages have the reader write
(access.yml, inventory/cluster.proxmox.yml...) land instead of in the work tree.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.emulators.pve import add_demo_image, write_requests
from tests.integration import guacamole_fixtures, rustguac_fixtures
from tests.integration.conftest import BIN, PASSWORD, REPO
from tests.integration.guacamole_fixtures import guac_env
from tests.integration.rustguac_fixtures import rg_env

pytestmark = pytest.mark.integration

guacamole_server = guacamole_fixtures.guacamole_server
rustguac = rustguac_fixtures.rustguac

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELLS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
MARKER = re.compile(r"^[ \t]*<!--\s*(?P<kind>[a-z][a-z-]*)(?:\s*:\s*(?P<value>.*?))?\s*-->[ \t]*$")
SKIP = "..."
USER_GROUP = "operators"


@dataclass
class Block:
    doc: Path
    line: int  # of the opening fence, from 1
    lang: str
    text: str  # the content, without the fence's indentation
    markers: dict = field(default_factory=dict)

    @property
    def where(self):
        name = self.doc.relative_to(REPO) if self.doc.is_relative_to(REPO) else self.doc.name
        return f"{name} line {self.line}"

    @property
    def is_shell(self):
        return self.lang in SHELLS

    def commands(self):
        """[(command, the output lines it must print)]: the whole block for sh, each `$ ` line for console."""
        if self.lang != "console":
            return [(self.text, [])]
        found = []
        for line in self.text.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
        return found


def blocks_of(doc):
    """The fenced blocks of a Markdown file, with the markers above each."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        end = index + 1
        while end < len(lines) and not re.fullmatch(rf"[ \t]*{fence}`*[ \t]*", lines[end]):
            end += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[index + 1:end]]
        markers, above = {}, index - 1
        while above >= 0 and MARKER.match(lines[above]):
            marker = MARKER.match(lines[above])
            markers[marker["kind"]] = marker["value"]
            above -= 1
        info = opening["info"].strip()
        found.append(Block(doc, index + 1, info.split()[0] if info else "", "\n".join(body), markers))
        index = end + 1
    return found


def marking_problems(block):
    """What is wrong with the markers of one block, each naming where it is."""
    problems = []
    runnable, not_run = "runnable" in block.markers, "not-run" in block.markers
    if not block.lang:
        problems.append(f"{block.where}: a fence without a language; name it (sh, yaml, text...), so that a shell "
                        "block cannot pass for something else")
    if block.is_shell:
        if runnable == not_run:
            has = "".join(f" <!-- {kind} -->" for kind in block.markers)
            problems.append(f"{block.where}: a {block.lang} block needs exactly one of <!-- runnable --> and "
                            f"<!-- not-run: why --> on the line above its fence (it has:{has or ' none'})")
        if not_run and not (block.markers["not-run"] or "").strip():
            problems.append(f"{block.where}: <!-- not-run --> needs its reason: <!-- not-run: why -->")
        for test in re.findall(r"tests/\S+\.py", block.markers.get("not-run") or ""):
            if not (REPO / test).exists():
                problems.append(f"{block.where}: <!-- not-run --> names {test}, which does not exist")
        if "file" in block.markers:
            problems.append(f"{block.where}: <!-- file --> goes on the block of a file, not on a {block.lang} block")
    else:
        if runnable or not_run:
            problems.append(f"{block.where}: runnable and not-run go on shell blocks ({', '.join(sorted(SHELLS))}), "
                            f"not on a {block.lang or 'bare'} block")
        if "file" in block.markers and not (block.markers["file"] or "").strip():
            problems.append(f"{block.where}: <!-- file --> needs its path: <!-- file: access.yml -->")
    return problems


def test_every_shell_block_is_marked():
    problems = [problem for doc in DOCS for block in blocks_of(doc)
                for problem in marking_problems(block)]
    assert not problems, "\n".join(problems)


def test_the_marker_check_finds_what_it_must(tmp_path):
    """The check above, on a page with one mistake of each kind."""
    page = tmp_path / "page.md"
    page.write_text("\n".join([
        "```sh", "make something", "```",                                     # no marker
        "<!-- not-run: -->", "```sh", "make other", "```",                   # no reason
        "<!-- runable -->", "```console", "$ ls", "```",                      # a typo
        "<!-- runnable -->", "<!-- not-run: twice -->", "```bash", "ls", "```",
        "<!-- not-run: tests/integration/test_gone.py runs it -->", "```sh", "ls", "```",
        "<!-- runnable -->", "```yaml", "a: 1", "```",
        "```", "bare", "```",
        "<!-- file: a.yml -->", "<!-- runnable -->", "```sh", "cat a.yml", "```",
        "<!-- file: b.yml -->", "```yaml", "b: 2", "```",
        "<!-- runnable -->", "  ```sh", "  indented", "  ```",
    ]) + "\n")
    blocks = blocks_of(page)
    assert [block.line for block in blocks] == [1, 5, 9, 14, 18, 22, 25, 30, 34, 38]
    problems = [marking_problems(block) for block in blocks]
    assert ["exactly one" in " ".join(found) for found in problems] == [
        True, False, True, True, False, False, False, False, False, False]
    assert "needs its reason" in problems[1][0]
    assert "(it has: <!-- runable -->)" in problems[2][0]
    assert "test_gone.py, which does not exist" in problems[4][0]
    assert "not on a yaml block" in problems[5][0]
    assert "without a language" in problems[6][0]
    assert "goes on the block of a file" in problems[7][0]
    assert problems[8] == problems[9] == []
    assert blocks[9].text == "indented" and blocks[8].markers == {"file": "b.yml"}


# ----------------------------------------------------------------------------- running the blocks

def runnable_docs():
    return [doc for doc in DOCS if any("runnable" in block.markers for block in blocks_of(doc))]


def checkout_copy(directory):
    """A folder that is the checkout's root for a reader: a link to every top-level entry of the repository."""
    directory.mkdir(parents=True)
    for entry in REPO.iterdir():
        if entry.name != ".git":
            (directory / entry.name).symlink_to(entry)
    return directory


def reader_env(tmp_path, *servers):
    """A new shell's environment (none of the caller's PROXMOX_/GUACAMOLE_/RUSTGUAC_/ANSIBLE_/DEMO_ variables),
    the venv first on PATH, and the test servers' addresses and logins."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PROXMOX_", "GUACAMOLE_", "RUSTGUAC_", "ANSIBLE_", "DEMO_", "VIRTUAL_ENV"))}
    env.update(PATH=f"{BIN}:{os.environ.get('PATH', '')}", ANSIBLE_NOCOLOR="1",
               # Ansible's own scratch space, not the user's ~/.ansible.
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"))
    for server in servers:
        env.update(server)
    return env


@pytest.fixture
def servers(tmp_path, pve, guacamole_server, rustguac):
    """The environment of the three test servers, as tools/demo.py starts them; the Guacamole emulator with the
    user group the pages say must exist."""
    add_demo_image(pve.pve)
    guacamole = guacamole_server(tls=True)
    guacamole.add_user_group(USER_GROUP)
    return {"PROXMOX_URL": pve.url, "PROXMOX_USER": "root@pam", "PROXMOX_PASSWORD": PASSWORD,
            "PROXMOX_CA_PATH": pve.certfile, **guac_env(guacamole), **rg_env(rustguac)}


def write_page_file(cwd, name, text, block):
    """Write a file the page gives, refusing a path through a link of the checkout copy (into the work tree)."""
    target = cwd
    for part in Path(name).parts:
        assert part not in ("..", "/") and not target.is_symlink(), \
            f"{block.where}: <!-- file: {name} --> would write into the repository, not the reader's folder"
        target = target / part
    assert not target.is_symlink(), f"{block.where}: <!-- file: {name} --> would replace a file of the repository"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text + "\n", encoding="utf-8")


def run_shell(script, cwd, env, timeout=300):
    """bash -c 'set -e; script' -> (exit code, stdout and stderr together)."""
    shell = subprocess.Popen(["bash", "-c", "set -e\n" + script + "\n"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _unused = shell.communicate(timeout=timeout)
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGTERM)  # the shell and what it started, nothing else
            shell.communicate(timeout=30)
    return shell.returncode, output


def assert_printed(block, command, expected, output):
    """Each run of lines of the transcript between `...` lines appears as consecutive lines of the output, the
    runs in order."""
    chunks, current = [], []
    for line in expected:
        if line.strip() == SKIP:
            chunks.append(current)
            current = []
        else:
            current.append(line.rstrip())
    chunks = [chunk for chunk in [*chunks, current] if chunk]
    printed = [line.rstrip() for line in output.splitlines()]
    position = 0
    for chunk in chunks:
        found = next((start for start in range(position, len(printed) - len(chunk) + 1)
                      if printed[start:start + len(chunk)] == chunk), None)
        assert found is not None, (f"{block.where}: `{command}` should print\n" + "\n".join(chunk)
                                   + f"\n(after line {position} of its output), but printed:\n{output}")
        position = found + len(chunk)


@pytest.mark.parametrize("doc", runnable_docs(), ids=lambda doc: str(doc.relative_to(REPO)))
def test_the_runnable_blocks_run_as_written(doc, tmp_path, servers):
    cwd = checkout_copy(tmp_path / "checkout")
    env = reader_env(tmp_path, servers)
    for block in blocks_of(doc):
        if block.markers.get("file"):
            write_page_file(cwd, block.markers["file"], block.text, block)
        if "runnable" not in block.markers:
            continue
        for command, expected in block.commands():
            code, output = run_shell(command, cwd, env)
            assert code == 0, f"{block.where} failed (exit {code}):\n{command}\n---\n{output}"
            assert_printed(block, command, expected, output)


# ----------------------------------------------------------------------------- the README's demo variables

def readme_demo_extra_vars():
    """The JSON of DEMO_EXTRA_VARS in the README's example."""
    for block in blocks_of(REPO / "README.md"):
        for line in block.text.splitlines():
            if line.startswith("DEMO_EXTRA_VARS="):
                return json.loads(shlex.split(line)[0].partition("=")[2])
    raise AssertionError("README.md has no DEMO_EXTRA_VARS example")


def provision(tmp_path, servers, extra_vars, *options):
    """ansible-playbook playbooks/provision.yml -e EXTRA_VARS, as tools/demo.py passes DEMO_EXTRA_VARS."""
    cwd = checkout_copy(tmp_path / "checkout")
    command = shlex.join(["ansible-playbook", "playbooks/provision.yml", "-e", json.dumps(extra_vars), *options])
    return run_shell(command, cwd, reader_env(tmp_path, servers))


def test_the_readme_demo_variables_do_what_it_says(tmp_path, servers, pve):
    """`make demo` passes DEMO_EXTRA_VARS to site.yml, whose provision step takes these inputs: the VM lands on
    the node, its boot disk on the storage and at the size the example names."""
    extra_vars = readme_demo_extra_vars()
    assert extra_vars.keys() >= {"provision_node", "provision_storage", "provision_disk_size"}, extra_vars
    code, output = provision(tmp_path, servers, extra_vars)
    assert code == 0, output
    vm = next(vm for vm in pve.pve.vms if vm.name == "demo-web01")
    assert vm.node == extra_vars["provision_node"]
    boot = vm.config["scsi0"]
    assert boot.startswith(f"{extra_vars['provision_storage']}:"), boot
    assert f"size={extra_vars['provision_disk_size']}" in boot.split(","), boot


def test_provision_refuses_a_variable_that_is_not_an_input(tmp_path, servers, pve):
    """The README's old example: provision_disk is the name of a step's result, not an input. The run stops
    before anything is written, and says which variable and what the inputs are."""
    code, output = provision(tmp_path, servers, {"provision_node": "pve1", "provision_disk": "local-lvm:16"})
    assert code != 0, output
    assert "provision_disk: not an input of provision.yml" in output, output
    assert "provision_storage and provision_disk_size" in output, output
    assert "Traceback" not in output, output
    assert write_requests(pve.pve) == []
    # Its own results (registered under other names) do not trip the check, in check mode either.
    code, output = provision(tmp_path / "again", servers, {"provision_node": "pve1"}, "--check")
    assert code == 0, output


# ----------------------------------------------------------------------------- docs/gitops.md

GITOPS = REPO / "docs" / "gitops.md"


def gitops_job_commands():
    """The ansible-playbook and awk lines of the pipelines' scripts (the yaml blocks of docs/gitops.md)."""
    commands = []
    for block in blocks_of(GITOPS):
        if block.lang != "yaml":
            continue
        for line in block.text.splitlines():
            command = line.strip().removeprefix("- ").removeprefix("run: ").strip()
            if command.startswith(("ansible-playbook ", "awk ")):
                commands.append(command)
    return commands


def test_the_gitops_jobs_run_what_the_page_runs_here():
    """Every command of the pipelines appears, verbatim, in a runnable block of the page (which the test above
    runs against the test servers), and every path it reads is in the page's repository layout."""
    run_here = {line.strip() for block in blocks_of(GITOPS) if "runnable" in block.markers
                for line in block.text.splitlines()}
    commands = gitops_job_commands()
    assert len(commands) >= 5, commands
    assert [command for command in commands if command not in run_here] == []
    layout = next(block.text for block in blocks_of(GITOPS) if block.text.startswith("infra/"))
    listed = [line.split()[0] for line in layout.splitlines()[1:] if line.strip()]
    for command in commands:
        if not command.startswith("ansible-playbook "):
            continue
        words = shlex.split(command.partition("|")[0])[1:]
        for path in [word.removeprefix("@") for word in words if not word.startswith("-")]:
            directory = path.rstrip("/") + "/"
            assert any(entry in (path, directory) or entry.startswith(directory) for entry in listed), \
                f"{command}: {path} is not in the layout of docs/gitops.md:\n{layout}"

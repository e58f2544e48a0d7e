"""docs/quickstart.md, followed as a new user would, as far as a test can: the blocks the page marks with
`<!-- quickstart-test: NAME -->` are taken from the Markdown and run.

- `demo`: `make demo` is the venv, the collection build and install, then tools/demo.py; here the venv is
  this one and the collection is build/collections, so tools/demo.py runs directly. Its output must show
  what the page's `demo-output` transcript shows (`[...]` skips lines, `<...>` is anything).
- `explore` and `explore-stop`: run as they are, in a directory laid out as the clone after `make demo`
  (.venv, playbooks, tests, build/demo-collections).
- `account-playbook` and `access`: the files of the "own gateway" part, run against the Guacamole emulator
  and the Proxmox test server: the account they make must be enough for publish.yml."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.integration import guacamole_fixtures
from tests.integration.conftest import BIN, COLLECTIONS, REPO, TOKEN_ID, TOKEN_SECRET
from tests.integration.guacamole_fixtures import guac_env
from tests.integration.guacamole_fixtures import writes as guacamole_writes

pytestmark = pytest.mark.integration

guacamole_server = guacamole_fixtures.guacamole_server

DOC = REPO / "docs" / "quickstart.md"
BLOCK = re.compile(r"<!-- quickstart-test: ([a-z-]+) -->\n```[a-z]*\n(.*?)\n```", re.S)
PLACEHOLDER = re.compile(r"<[^<>\s][^<>]*>")
SKIP = "[...]"


def blocks():
    return dict(BLOCK.findall(DOC.read_text()))


def clean_env(**extra):
    """os.environ without PROXMOX_/GUACAMOLE_/ANSIBLE_ variables (a new user's shell), plus extra."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PROXMOX_", "GUACAMOLE_", "ANSIBLE_", "DEMO_"))}
    env.update(extra)
    return env


def normalized(line):
    """The line with its indentation kept and every other run of blanks made one space."""
    stripped = line.lstrip(" ")
    return " " * (len(line) - len(stripped)) + " ".join(stripped.split())


def line_matches(expected, printed):
    expected, printed = normalized(expected), normalized(printed)
    indent = len(expected) - len(expected.lstrip(" "))
    if indent and len(printed) - len(printed.lstrip(" ")) != indent:
        return False
    pattern = ".+?".join(re.escape(part) for part in PLACEHOLDER.split(expected.strip()))
    return re.search(pattern, printed) is not None


def assert_transcript(transcript, output):
    """Each run of consecutive lines of the transcript appears as consecutive lines of the output, the runs in
    order."""
    chunks, current = [], []
    for line in transcript.splitlines():
        if line.strip() == SKIP:
            if current:
                chunks.append(current)
            current = []
        else:
            current.append(line)
    if current:
        chunks.append(current)
    printed = output.splitlines()
    position = 0
    for chunk in chunks:
        found = next((start for start in range(position, len(printed) - len(chunk) + 1)
                      if all(line_matches(line, printed[start + k]) for k, line in enumerate(chunk))), None)
        assert found is not None, ("docs/quickstart.md shows\n" + "\n".join(chunk)
                                   + f"\nbut the output has no such lines after line {position}:\n" + output)
        position = found + len(chunk)


def makefile_recipe(target):
    lines = (REPO / "Makefile").read_text().splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def sections():
    """{anchor: text} for the headings of the page, each anchor as GitHub makes it from the heading."""
    found, anchor, fenced = {}, "", False
    for line in DOC.read_text().splitlines():
        fenced = fenced != line.startswith("```")
        heading = None if fenced else re.match(r"#{1,6} +(.*?)[ #]*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading[1].lower()).replace(" ", "-")
            anchor = slug if slug not in found else next(f"{slug}-{n}" for n in range(1, 99)
                                                         if f"{slug}-{n}" not in found)
            found[anchor] = ""
        elif anchor:
            found[anchor] += line + "\n"
    return found


def test_make_demo_shows_what_the_quickstart_promises(tmp_path):
    assert blocks()["demo"].strip() == "make demo"
    recipe = makefile_recipe("demo")
    assert any("tools/demo.py" in line and "DEMO_COLLECTIONS_PATH" in line for line in recipe), recipe
    env = clean_env(DEMO_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
                    ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    demo = subprocess.run([sys.executable, str(REPO / "tools" / "demo.py")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert_transcript(blocks()["demo-output"], demo.stdout)
    # No third-party deprecation warning: ansible-core's import of cryptography prints one ("DSA is deprecated")
    # on some versions of cryptography, once per ansible-playbook run.
    assert "DeprecationWarning" not in demo.stdout + demo.stderr, demo.stdout + demo.stderr
    # It ends by saying where to go next: the part of the page where the user looks around by hand.
    ending = demo.stdout.splitlines()[-2:]
    pointer = re.match(r"next: docs/quickstart\.md#([\w-]+) - \S", ending[0])
    assert pointer, demo.stdout
    section = sections().get(pointer[1])
    assert section is not None, f"docs/quickstart.md has no heading for #{pointer[1]}: {list(sections())}"
    assert "<!-- quickstart-test: explore -->" in section, f"#{pointer[1]} is not where the page looks around"
    first_command = ending[1].split("beginning with: ", 1)[1]
    assert first_command in blocks()["explore"].splitlines(), first_command


def listening(url):
    """True when something accepts connections at the host and port of url."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


def recaps(output):
    return [line for line in output.splitlines() if line.startswith("localhost ") and " changed=" in line]


def test_look_around_runs_as_written(tmp_path):
    # The clone after `make demo`: its venv, its playbooks and test servers, the installed collection.
    (tmp_path / "build").mkdir()
    (tmp_path / ".venv").symlink_to(BIN.parent)
    (tmp_path / "playbooks").symlink_to(REPO / "playbooks")
    (tmp_path / "tests").symlink_to(REPO / "tests")
    (tmp_path / "build" / "demo-collections").symlink_to(COLLECTIONS)
    script = "set -e\n" + blocks()["explore"] + "\n" + blocks()["explore-stop"] + "\nwait\n"
    env = clean_env(ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
                    ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    shell = subprocess.Popen(["bash", "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _unused = shell.communicate(timeout=240)
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGTERM)  # the shell and the servers it started, nothing else
            shell.communicate(timeout=30)
    assert shell.returncode == 0, output
    # The inventory: the demo guests as hosts, grouped as the page says.
    for name in ("@proxmox_pool_production:", "@proxmox_tag_windows:", "|--web01", "|--win-desktop", "|--db01",
                 "|--dns01"):
        assert name in output, name
    check, applied = recaps(output)
    assert " failed=0 " in check and " failed=0 " in applied, output
    assert " changed=0 " not in applied, "the check run left the work to the real run"
    assert '"path": "Proxmox/production/web01"' in output and '"path": "Proxmox/demo-web01"' in output
    urls = [(tmp_path / "build" / "explore" / log).read_text().split()[-1] for log in ("pve.log", "guacamole.log")]
    assert urls[0].startswith("https://127.0.0.1:") and urls[1].startswith("http://127.0.0.1:"), urls
    assert not any(listening(url) for url in urls), "kill %1 %2 stopped both servers"


def test_the_account_of_the_quickstart_may_publish(tmp_path, pve, guacamole_server):
    emu = guacamole_server(tls=True)
    emu.add_user_group("operators")
    (tmp_path / "automation-account.yml").write_text(blocks()["account-playbook"] + "\n")
    (tmp_path / "access.yml").write_text(blocks()["access"] + "\n")
    base = clean_env(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1",
                     ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
                     ANSIBLE_PYTHON_INTERPRETER=sys.executable, PATH=f"{BIN}:{os.environ.get('PATH', '')}")

    def playbook(*args, **env):
        return subprocess.run([str(BIN / "ansible-playbook"), *args], cwd=tmp_path, env={**base, **env},
                              capture_output=True, text=True, timeout=300, check=False)

    made = playbook("automation-account.yml", "-e", "automation_password=Automation-Pa55-word",
                    **guac_env(emu))
    assert made.returncode == 0, made.stdout + made.stderr
    automation = {**guac_env(emu, username="automation", password="Automation-Pa55-word"),
                  "PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile,
                  "PROXMOX_TOKEN_ID": TOKEN_ID, "PROXMOX_TOKEN_SECRET": TOKEN_SECRET}
    publish = ("-i", str(REPO / "playbooks" / "inventory" / "demo.proxmox.yml"),
               str(REPO / "playbooks" / "publish.yml"), "-e", "@access.yml")
    before = len(guacamole_writes(emu))
    plan = playbook(*publish, "--check", "--diff", **automation)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert len(guacamole_writes(emu)) == before
    applied = playbook(*publish, **automation)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    state = emu.state()
    names = {connection["name"]: identifier for identifier, connection in state["connections"].items()}
    assert {"web01", "win-desktop", "dns01"} <= set(names)
    operators = state["user_groups"]["operators"]["permissions"]["connectionPermissions"]
    assert operators.get(names["web01"]) == ["READ"] and operators.get(names["win-desktop"]) == ["READ"]
    assert names["dns01"] not in operators, "dns01 is in no pool"


def test_the_links_of_the_page_resolve():
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", DOC.read_text()):
        assert (DOC.parent / target).exists(), target

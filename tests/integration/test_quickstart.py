"""docs/quickstart.md, followed as a new user would, as far as a test can: the blocks the page marks with
`<!-- quickstart-test: NAME -->` are taken from the Markdown and run.

- `demo`: `make demo` is the venv, the collection build and install, then tools/demo.py; here the venv is
  this one and the collection is build/collections, so tools/demo.py runs directly. Its output must show
  what the page's `demo-output` transcript shows (`[...]` skips lines, `<...>` is anything).
- `explore` and `explore-stop`: run as they are, in a directory laid out as the clone after `make demo`
  (.venv, playbooks, tests, build/demo-collections).
- `account-playbook`, `account-command`, `access` and `publish`: the files and commands of the "own gateway"
  part, the commands run as they are against the Guacamole emulator and the Proxmox test server: the account
  they make (its password has spaces, as the page's does) must be enough for publish.yml, and a missing user
  group stops the account playbook before it makes anything.

tests/integration/test_docs_commands.py runs the page's `<!-- runnable -->` blocks too; the blocks this test
runs are marked `<!-- not-run: tests/integration/test_quickstart.py ... -->` or runnable."""

from __future__ import annotations

import os
import re
import shlex
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
# The name, then (after any other markers of the block) its content.
BLOCK = re.compile(r"<!-- quickstart-test: ([a-z-]+) -->\n(?:<!--[^\n]*-->\n)*```[a-z]*\n(.*?)\n```", re.S)
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


def account_setup(tmp_path, guacamole_server, groups=("operators",)):
    """The emulator (with these user groups), and a folder laid out as the clone, with the page's files."""
    emu = guacamole_server(tls=True)
    for group in groups:
        emu.add_user_group(group)
    (tmp_path / "playbooks").symlink_to(REPO / "playbooks")
    (tmp_path / "automation-account.yml").write_text(blocks()["account-playbook"] + "\n")
    (tmp_path / "access.yml").write_text(blocks()["access"] + "\n")
    return emu


def run_block(name, tmp_path, **env):
    """A block of the page, as it is, in bash (set -e) in tmp_path, in a new user's shell plus env."""
    base = clean_env(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1",
                     ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
                     ANSIBLE_PYTHON_INTERPRETER=sys.executable, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    return subprocess.run(["bash", "-c", "set -e\n" + blocks()[name]], cwd=tmp_path, env={**base, **env},
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_account_of_the_quickstart_may_publish(tmp_path, pve, guacamole_server):
    emu = account_setup(tmp_path, guacamole_server)
    # The password the page gives the account, and logs in with in its publish step: with spaces, which the
    # `-e name=value` form would cut at the first one.
    exports = next(line for line in blocks()["publish"].splitlines() if line.startswith("export "))
    password = dict(word.partition("=")[::2] for word in shlex.split(exports)[1:])["GUACAMOLE_PASSWORD"]
    assert " " in password and password in blocks()["account-command"]

    made = run_block("account-command", tmp_path, **guac_env(emu))
    assert made.returncode == 0, made.stdout + made.stderr
    before = len(guacamole_writes(emu))
    published = run_block("publish", tmp_path, **guac_env(emu), PROXMOX_URL=pve.url, PROXMOX_CA_PATH=pve.certfile,
                          PROXMOX_TOKEN_ID=TOKEN_ID, PROXMOX_TOKEN_SECRET=TOKEN_SECRET)
    assert published.returncode == 0, published.stdout + published.stderr
    plan, applied = recaps(published.stdout)
    assert " failed=0 " in plan and " changed=0 " not in plan and " changed=0 " not in applied, published.stdout
    assert len(guacamole_writes(emu)) > before
    state = emu.state()
    names = {connection["name"]: identifier for identifier, connection in state["connections"].items()}
    assert {"web01", "win-desktop", "dns01"} <= set(names)
    operators = state["user_groups"]["operators"]["permissions"]["connectionPermissions"]
    assert operators.get(names["web01"]) == ["READ"] and operators.get(names["win-desktop"]) == ["READ"]
    assert names["dns01"] not in operators, "dns01 is in no pool"


def test_the_account_playbook_makes_nothing_when_a_group_is_missing(tmp_path, guacamole_server):
    emu = account_setup(tmp_path, guacamole_server, groups=())
    made = run_block("account-command", tmp_path, **guac_env(emu))
    assert made.returncode != 0, made.stdout
    assert "automation_user_groups: no user group named operators on the gateway" in made.stdout, made.stdout
    assert "Traceback" not in made.stdout + made.stderr
    assert guacamole_writes(emu) == []
    assert "automation" not in emu.state()["users"]
    # Once the group exists, the same command makes the account.
    emu.add_user_group("operators")
    made = run_block("account-command", tmp_path, **guac_env(emu))
    assert made.returncode == 0, made.stdout + made.stderr
    assert "automation" in emu.state()["users"]


def test_the_links_of_the_page_resolve():
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", DOC.read_text()):
        assert (DOC.parent / target).exists(), target

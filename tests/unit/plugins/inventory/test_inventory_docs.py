"""The inventory plugin's documentation as ansible-doc reads it: every C(), V(), O(), E(), I() and B() is
rendered whole. ansible-doc ends C() at the first ')' (and V(), O(), E() at the first unescaped one), so a
code sample with parentheses inside, such as a lookup, is cut in two and its tail printed as plain text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.cli.doc import DocCLI

REPO = Path(__file__).resolve().parents[4]
# ansible-doc's own patterns, so the test reads the markup as ansible-doc does.
MARKUP = {"C": DocCLI._CONST, "V": DocCLI._SEM_OPTION_VALUE, "O": DocCLI._SEM_OPTION_NAME,
          "E": DocCLI._SEM_ENV_VARIABLE, "I": DocCLI._ITALIC, "B": DocCLI._BOLD}
SEMANTIC = ("V", "O", "E")
PAIRS = ("()", "{}", "[]")


@pytest.fixture(scope="module")
def documentation():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json", "-t", "inventory",
                           "proxgate.core.proxmox"], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["proxgate.core.proxmox"]["doc"]


def texts(value, where="doc"):
    """(where, text) of every string in the documentation."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from texts(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from texts(item, f"{where}[{index}]")


def cut_markup(text):
    """The markup in text whose argument, as ansible-doc takes it, has a bracket without its partner."""
    cut = []
    for name, pattern in MARKUP.items():
        for match in pattern.finditer(text):
            argument = DocCLI._UNESCAPE.sub(r"\1", match.group(1)) if name in SEMANTIC else match.group(1)
            if any(argument.count(opening) != argument.count(closing) for opening, closing in PAIRS):
                cut.append(match.group(0))
    return cut


def test_the_check_finds_a_lookup_cut_in_two():
    assert cut_markup("such as C({{ lookup('ansible.builtin.env', 'X') }}).") == [
        "C({{ lookup('ansible.builtin.env', 'X')"]
    assert cut_markup(r"V({{ lookup('ansible.builtin.env', 'X'\) }})") == []
    assert cut_markup("C({{ pve_token_secret }}) with C(-e @vault.yml) (O(api_user))") == []


def test_every_markup_is_rendered_whole(documentation):
    cut = [f"{where}: {markup}" for where, text in texts(documentation) for markup in cut_markup(text)]
    assert cut == [], "ansible-doc cuts these at the first ')': reword them"


def test_every_option_is_either_one_that_changes_what_is_fetched_or_said_not_to(documentation):
    """The cache's fingerprint is made of FETCH_OPTIONS: an option in neither table (a new one) fails here, so it
    cannot reuse a cache fetched without it unnoticed."""
    from ansible_collections.proxgate.core.plugins.inventory.proxmox import FETCH_OPTIONS, OTHER_OPTIONS

    documented = set(documentation["options"])
    assert not set(FETCH_OPTIONS) & OTHER_OPTIONS
    assert documented - set(FETCH_OPTIONS) - OTHER_OPTIONS == set(), "options in neither table"
    assert set(FETCH_OPTIONS) | OTHER_OPTIONS <= documented, "no such option"
    assert "api_token_secret" in OTHER_OPTIONS and "api_password" in OTHER_OPTIONS, "secrets are never hashed"

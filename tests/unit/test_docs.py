"""Every module's documentation parses and renders (ansible-doc), with its examples and return values; and
tools/docs.py's pages (modules, plugins, roles) are complete and current."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools.library_warnings import without_library_deprecations
from tools.version_added import doc_problems, problem

REPO = Path(__file__).resolve().parents[2]
DOCS_TOOL = REPO / "tools" / "docs.py"


def tracked(pattern):
    listed = subprocess.run(["git", "ls-files", "--", pattern], cwd=REPO, capture_output=True, text=True, check=True)
    return sorted(REPO / name for name in listed.stdout.split())


# The auth options each API's doc fragment brings (guacd_ping talks to guacd, which has no auth).
AUTH_OPTIONS = {
    "proxmox": ("api_url", "api_token_secret", "validate_certs"),
    "guacamole": ("api_url", "api_username", "api_password", "validate_certs"),
    "rustguac": ("api_url", "api_key", "validate_certs"),
}
MODULES = [path.stem for path in tracked("plugins/modules/*.py")]
INVENTORY_PLUGINS = [path.stem for path in tracked("plugins/inventory/*.py") if path.stem != "__init__"]
ROLES = [path.parents[1].name for path in tracked("roles/*/meta/argument_specs.yml")]
VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]


@pytest.fixture(scope="module")
def docs():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json"]
                          + [f"proxgate.core.{name}" for name in MODULES],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0 and not without_library_deprecations(proc.stderr).strip(), proc.stderr
    return json.loads(proc.stdout)


def test_only_library_deprecation_warnings_are_left_out():
    library = ("/venv/lib/python3.11/site-packages/ansible/_internal/_ssh/_ssh_agent.py:18: "
               "CryptographyDeprecationWarning: DSA is deprecated\n  from cryptography import dsa\n")
    ours = ("/venv/lib/python3.11/site-packages/ansible_collections/proxgate/core/plugins/modules/x.py:3: "
            "DeprecationWarning: old\n  import imp\n")
    not_installed = "/home/me/script.py:3: DeprecationWarning: old\n  import imp\n"
    ansible_warning = "[WARNING]: proxgate.core.proxmox_vm: option foo has no description\n"
    assert without_library_deprecations(library) == ""
    assert without_library_deprecations(library + ansible_warning) == ansible_warning
    assert without_library_deprecations(ours) == ours
    assert without_library_deprecations(not_installed) == not_installed


@pytest.mark.parametrize("name", MODULES)
def test_module_documentation_is_complete(docs, name):
    doc = docs[f"proxgate.core.{name}"]
    assert doc_problems("module", name, doc, VERSION) == []
    assert doc["doc"]["short_description"]
    options = doc["doc"]["options"]
    auth = AUTH_OPTIONS.get(name.split("_", 1)[0], ())
    for option in auth:
        assert option in options, f"{name} lacks the auth doc fragment"
    for option, spec in options.items():
        assert spec.get("description"), f"{name}: option {option} has no description"
    examples = yaml.safe_load(doc["examples"])
    assert examples and all(f"proxgate.core.{name}" in task for task in examples if "name" in task
                            and any(k.startswith("proxgate.core.") for k in task))
    assert doc["return"], f"{name} documents no return values"


@pytest.mark.parametrize(("version_added", "collection", "why"), [
    ("0.1.0", "0.1.0", None),
    ("0.1.0", "0.2.0", None),
    ("0.2.0", "0.2.0", None),
    ("0.2.0", "0.10.0", None),
    ("1.0.0", "1.0.0-beta.1", None),
    ("0.2.0", "0.1.0", "version_added 0.2.0 is later than the collection's version 0.1.0 (galaxy.yml)"),
    ("0.10.0", "0.9.0", "version_added 0.10.0 is later than the collection's version 0.9.0 (galaxy.yml)"),
    ("0.2", "0.2.0", "version_added '0.2' is not a version X.Y.Z"),
    (0.2, "0.2.0", "version_added 0.2 is not a version X.Y.Z"),
    ("v0.2.0", "0.2.0", "version_added 'v0.2.0' is not a version X.Y.Z"),
    ("historical", "0.2.0", "no version_added"),
    (None, "0.2.0", "no version_added"),
])
def test_version_added_is_a_release_not_later_than_the_collection(version_added, collection, why):
    """As ansible-test and antsibull-changelog read it: any release up to galaxy.yml's version, not only the first."""
    assert problem(version_added, collection) == why


def test_role_entry_points_and_options_are_checked_too():
    role = {"entry_points": {"fetch": {"version_added": "0.1.0", "options": {"a": {"version_added": "0.3.0"}}},
                             "tls": {"options": {"b": {"suboptions": {"c": {"version_added": "0.2"}}}}}}}
    assert doc_problems("role", "common", role, "0.2.0") == [
        "role common entry point fetch option a: version_added 0.3.0 is later than the collection's version 0.2.0"
        " (galaxy.yml)",
        "role common entry point tls: no version_added",
        "role common entry point tls option b option c: version_added '0.2' is not a version X.Y.Z"]
    assert doc_problems("role", "bare", {"entry_points": {}}, "0.2.0") == [
        "role bare: no entry point with argument specs"]
    # ansible.builtin's constructed options (an inventory plugin's doc fragment) carry ansible-core's versions.
    inventory = {"doc": {"version_added": "0.1.0", "version_added_collection": "proxgate.core", "options": {
        "leading_separator": {"version_added": "2.11", "version_added_collection": "ansible.builtin"},
        "ours": {"version_added": "0.3.0", "version_added_collection": "proxgate.core"}}}}
    assert doc_problems("inventory", "proxgate.core.proxmox", inventory, "0.2.0") == [
        "inventory proxgate.core.proxmox option ours: version_added 0.3.0 is later than the collection's version"
        " 0.2.0 (galaxy.yml)"]


def collection_copy(tmp_path, version):
    """The collection's plugins in tmp_path at galaxy.yml version `version`, with one more module,
    guacd_ping_later: guacd_ping's documentation, added in 0.2.0."""
    root = tmp_path / "ansible_collections" / "proxgate" / "core"
    shutil.copytree(REPO / "plugins", root / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "meta", root / "meta")
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    (root / "galaxy.yml").write_text(yaml.safe_dump(dict(galaxy, version=version)))
    source = (REPO / "plugins" / "modules" / "guacd_ping.py").read_text()
    assert "\nmodule: guacd_ping\n" in source and "\nversion_added: 0.1.0\n" in source
    later = source.replace("\nmodule: guacd_ping\n", "\nmodule: guacd_ping_later\n", 1).replace(
        "\nversion_added: 0.1.0\n", "\nversion_added: 0.2.0\n", 1)
    (root / "plugins" / "modules" / "guacd_ping_later.py").write_text(later)
    return root


@pytest.mark.parametrize(("version", "problems"), [
    ("0.2.0", []),
    ("0.1.0", ["module proxgate.core.guacd_ping_later: version_added 0.2.0 is later than the collection's "
               "version 0.1.0 (galaxy.yml)"]),
])
def test_a_module_added_after_the_first_release(tmp_path, version, problems):
    """What tools/release_check.sh checks, on a copy of the collection with a module added in 0.2.0: accepted
    once the collection is at 0.2.0, refused while galaxy.yml still says 0.1.0."""
    root = collection_copy(tmp_path, version)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json", "-t", "module",
                           "proxgate.core.guacd_ping", "proxgate.core.guacd_ping_later"],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    entries = json.loads(proc.stdout)
    assert entries["proxgate.core.guacd_ping_later"]["doc"]["filename"].startswith(str(root))
    galaxy_version = yaml.safe_load((root / "galaxy.yml").read_text())["version"]
    assert [why for name, entry in sorted(entries.items())
            for why in doc_problems("module", name, entry, galaxy_version)] == problems


def docs_tool(*args):
    return subprocess.run([sys.executable, str(DOCS_TOOL), *args], capture_output=True, text=True, check=False)


def test_docs_pages_are_current():
    """docs/modules, docs/plugins and docs/roles are generated: a change to a module's docs or a role's
    argument specs needs `make docs`."""
    proc = docs_tool("--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """What `make docs` writes, written to a directory of its own."""
    out = tmp_path_factory.mktemp("docs")
    proc = docs_tool("--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_every_module_plugin_and_role_has_a_page(generated):
    assert sorted(path.stem for path in (generated / "modules").glob("*.md") if path.stem != "README") == MODULES
    assert sorted(path.stem for path in (generated / "plugins" / "inventory").glob("*.md")) == INVENTORY_PLUGINS
    assert sorted(path.stem for path in (generated / "roles").glob("*.md") if path.stem != "README") == ROLES
    for section, names in (("modules", MODULES), ("roles", ROLES)):
        index = (generated / section / "README.md").read_text()
        assert all(f"[proxgate.core.{name}]({name}.md)" in index for name in names), index
    assert "[proxgate.core.proxmox](inventory/proxmox.md)" in (generated / "plugins" / "README.md").read_text()
    inventory = (generated / "plugins" / "inventory" / "proxmox.md").read_text()
    assert "*inventory, added in version 0.1.0*" in inventory and "Environment: `PROXMOX_TOKEN_SECRET`" in inventory


@pytest.mark.parametrize("role", ROLES)
def test_a_role_page_lists_every_variable_of_its_argument_specs(generated, role):
    page = (generated / "roles" / f"{role}.md").read_text()
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for entry_point, spec in specs.items():
        assert text_of(spec["short_description"]) in page, entry_point
        for variable, option in (spec.get("options") or {}).items():
            row = next((line for line in page.splitlines() if line.startswith(f"| `{variable}`")), None)
            assert row, f"{role}: {variable} has no row"
            assert f"| {option.get('type', 'str')}" in row
            if option.get("default") not in (None, "", [], {}):
                assert "Default: " in row, f"{role}: the default of {variable} is not shown"


def text_of(value):
    return value if isinstance(value, str) else " ".join(value)


def test_the_check_names_stale_missing_and_left_over_pages(generated, tmp_path):
    copy = tmp_path / "docs"
    shutil.copytree(generated, copy)
    role_page = copy / "roles" / f"{ROLES[0]}.md"
    role_page.write_text(role_page.read_text().replace("| `", "| `x", 1))
    (copy / "plugins" / "inventory" / "proxmox.md").unlink()
    (copy / "modules" / "proxmox_gone.md").write_text("# a module that was removed\n")
    proc = docs_tool("--check", "--out", str(copy))
    assert proc.returncode == 1
    assert proc.stdout.strip() == ("the generated docs are out of date (run make docs): plugins/inventory/proxmox.md, "
                                   f"roles/{ROLES[0]}.md, modules/proxmox_gone.md")

    assert docs_tool("--out", str(copy)).returncode == 0
    assert not (copy / "modules" / "proxmox_gone.md").exists()
    assert docs_tool("--check", "--out", str(copy)).returncode == 0


MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@pytest.mark.parametrize("page", tracked("*.md"), ids=lambda path: str(path.relative_to(REPO)))
def test_every_relative_link_and_picture_of_a_page_is_in_the_repository(page):
    """A link or picture that points at a file missing from a fresh clone shows as broken on the page."""
    files = {path.resolve() for path in tracked("*")}
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    missing = [target for target in MARKDOWN_LINK.findall(text)
               if not re.match(r"[a-z]+:|#", target)
               and (page.parent / target.split("#")[0]).resolve() not in files
               and not (page.parent / target.split("#")[0]).is_dir()]
    assert missing == [], f"{page.relative_to(REPO)} points at what a clone does not have: {missing}"

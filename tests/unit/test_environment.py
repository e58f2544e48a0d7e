"""The environment `make demo` and `make test` set up: the lock is complete and in force, the Debian packages
are installed or named with the command to run, and ansible-* commands work from the checkout (ansible.cfg)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements-lock.txt"
# Each lock and the ranges it is made from (`make lock`).
LOCKS = {
    LOCK: (REPO / "requirements.txt", REPO / "tests" / "requirements.txt"),
    REPO / "tests" / "requirements-oldest-lock.txt": (REPO / "tests" / "requirements-oldest.txt",),
}
BIN = Path(sys.executable).parent
# `make test-latest` runs this suite on purpose with versions other than the locked ones.
UNLOCKED = os.environ.get("PROXGATE_UNLOCKED") == "1"


def requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def locked(lock: Path = LOCK) -> dict[str, tuple[str, Requirement]]:
    """name -> (version, the requirement line with its markers), from the lock's `name==version ; marker \\` lines."""
    pins = {}
    for line in lock.read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            requirement = Requirement(line.rstrip(" \\"))
            (specifier,) = requirement.specifier
            pins[canonicalize_name(requirement.name)] = (specifier.version, requirement)
    return pins


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_every_locked_package_is_pinned_with_hashes(lock):
    text = lock.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(entries) > 10
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9][\w.\-\[\],]*==\S+", entry), entry
        assert "--hash=sha256:" in entry, f"no hash for {entry.splitlines()[0]}"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_lock_satisfies_every_supported_range(lock):
    """A range changed in requirements.txt or tests/requirements*.txt without `make lock` fails here."""
    pins = locked(lock)
    for path in LOCKS[lock]:
        for requirement in requirements(path):
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{path.name}: {requirement} is not in {lock.name}: run make lock"
            version = pins[name][0]
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{path.name} asks {requirement}, the lock has {version}: run make lock")


@pytest.mark.skipif(UNLOCKED, reason="make test-latest runs the newest allowed versions on purpose")
def test_the_venv_holds_exactly_the_locked_versions():
    environment = default_environment()
    pins = locked()
    wanted = {name: version for name, (version, requirement) in pins.items()
              if requirement.marker is None or requirement.marker.evaluate(environment)}
    installed = {canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}
    differing = {name: (version, installed.get(name)) for name, version in wanted.items()
                 if installed.get(name) != version}
    assert not differing, f"installed differ from the lock (locked, installed): {differing}: run make venv"
    extra = set(installed) - set(pins) - {"pip", "setuptools", "wheel"}
    assert not extra, f"installed but not locked: {sorted(extra)}"


def ansible_free_env(**extra: str) -> dict[str, str]:
    """The caller's environment less every ANSIBLE_* variable: what a user has in a fresh shell."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def test_ansible_commands_find_the_collection_from_the_checkout():
    """ansible.cfg: no ANSIBLE_COLLECTIONS_PATH needed for ansible-doc, ansible-inventory or ansible-playbook."""
    doc = subprocess.run([str(BIN / "ansible-doc"), "-t", "inventory", "proxgate.core.proxmox"], cwd=REPO,
                         env=ansible_free_env(), capture_output=True, text=True, check=False)
    assert doc.returncode == 0, doc.stderr
    assert "build/collections/ansible_collections/proxgate/core/plugins/inventory/proxmox.py" in doc.stdout
    syntax = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "playbooks/publish.yml"], cwd=REPO,
                            env=ansible_free_env(), capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr


def test_ansible_cfg_stays_out_of_the_collection_tarball():
    import yaml

    ignored = yaml.safe_load((REPO / "galaxy.yml").read_text())["build_ignore"]
    assert "ansible.cfg" in ignored and "requirements-lock.txt" in ignored


def fresh_shell_path(tmp_path: Path, *tools: str) -> str:
    """A PATH with only the named tools, as on a machine where nothing else was installed."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        (folder / tool).symlink_to(shutil.which(tool))
    return str(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to an unprivileged user needs root")
def test_make_test_as_non_root_stops_at_once_with_the_apt_command():
    """Without root, a missing Debian package stops `make test` before anything else, naming the command."""
    # Not pytest's tmp_path: its parents are root's alone, and the unprivileged user must reach the copy.
    tmp_path = Path(tempfile.mkdtemp(prefix="proxgate-nonroot-"))
    try:
        run_make_test_as_nobody(tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def run_make_test_as_nobody(tmp_path: Path):
    checkout = tmp_path / "checkout"
    for name in ("Makefile", "tools", "requirements-lock.txt", "requirements.txt", "tests/requirements.txt"):
        target = checkout / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy2)(REPO / name, target)
    tmp_path.chmod(0o755)
    for path in [checkout, *checkout.rglob("*")]:
        path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    path = fresh_shell_path(tmp_path, "python3", "id", "make", "sh", "bash", "env", "mktemp")
    proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           "env", f"PATH={path}", "HOME=/nonexistent", "make", "test"],
                          cwd=checkout, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode != 0
    assert "run, as root:  apt-get update && apt-get install -y --no-install-recommends" in proc.stderr
    for package in ("openssh-client", "debootstrap", "systemd-container"):
        assert package in proc.stderr
    assert not (checkout / ".venv").exists(), "make test went on after naming what is missing"


@pytest.mark.parametrize("target", ["demo", "test"])
def test_demo_and_test_link_the_collection_for_ansible_cfg(target):
    """ansible.cfg finds the collection at build/collections: `make demo` and `make test` must lay that link
    (target `collection`, as a prerequisite or a sub-make), or the README's commands fail from a checkout where
    only one of them ran."""
    database = subprocess.run(["make", "-pn", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    rule = re.search(rf"^{target}:(?P<prerequisites>[^=\n]*)\n(?P<recipe>(?:#.*\n|\t.*\n)*)", database, re.M)
    assert rule, f"no rule for {target} in make's database"
    sub_makes = [line for line in rule["recipe"].splitlines() if "$(MAKE)" in line]
    assert "collection" in rule["prerequisites"].split() or any("collection" in line.split() for line in sub_makes), (
        f"make {target} does not make the collection link: {rule[0]}")

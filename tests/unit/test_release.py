"""tools/release_check.sh on copies of the tree: what it catches (a changelog behind the fragments, a
version without its release, a molecule scenario in the tarball) and that --refresh-changelog fixes the
changelog so that every check passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def copy_of_the_tree(tmp_path):
    """The tree as git sees it (tracked and new files, existing ones), as the script copies it itself."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode().split("\0")
    files = [name for name in listed if name and (REPO / name).is_file()
             and name != "changelogs/.plugin-cache.yaml"]
    dest = tmp_path / "tree"
    dest.mkdir()
    subprocess.run(f"tar -C {REPO} --null -T - -cf - | tar -C {dest} -xf -", shell=True, check=True,
                   input="\0".join(files).encode())
    return dest


def releasable_copy(tmp_path):
    """A copy whose changelog is current (the repository's own freshness is the release check's business)."""
    tree = copy_of_the_tree(tmp_path)
    refreshed = release_check(tree, "--refresh-changelog")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    return tree


def release_check(tree, *args):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PROXMOX_", "GUACAMOLE_"))}
    env["BIN"] = str(BIN)
    return subprocess.run([str(tree / "tools" / "release_check.sh"), *args], cwd=tree, env=env, capture_output=True,
                          text=True, check=False, timeout=300)


def add_fragment(tree, text):
    fragment = tree / "changelogs" / "fragments" / "late-change.yml"
    fragment.parent.mkdir(exist_ok=True)
    fragment.write_text(f"---\nminor_changes:\n  - {text}\n")
    return fragment


def add_molecule_scenario(tree):
    scenario = tree / "roles" / "guacamole_sync" / "molecule" / "late-scenario"
    scenario.mkdir(parents=True)
    (scenario / "molecule.yml").write_text("---\ndriver:\n  name: default\n")


def test_a_late_fragment_makes_the_changelog_stale_until_refreshed(tmp_path):
    # From a current changelog, so that the diff (40 lines at most) holds the late fragment, whatever the
    # repository's own pending fragments are.
    tree = releasable_copy(tmp_path)
    fragment = add_fragment(tree, "proxmox_vm - a change that came after the changelog was made.")
    add_molecule_scenario(tree)

    stale = release_check(tree)
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "CHANGELOG.rst is stale" in stale.stderr and "tools/release_check.sh --refresh-changelog" in stale.stderr
    assert "+- proxmox_vm - a change that came after" in stale.stderr, "the diff shows what is missing"

    refreshed = release_check(tree, "--refresh-changelog")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    assert not fragment.exists(), "the fragment is taken into the release"
    assert "- proxmox_vm - a change that came after the changelog was made." in (tree / "CHANGELOG.rst").read_text()

    # Everything passes now, the molecule scenario left out of the tarball (build_ignore).
    ready = release_check(tree)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert "OK: proxgate.core" in ready.stdout


def test_a_version_without_its_release_fails(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    galaxy = tree / "galaxy.yml"
    galaxy.write_text(galaxy.read_text().replace("\nversion: 0.1.0\n", "\nversion: 0.2.0\n"))

    run = release_check(tree)
    assert run.returncode == 1
    assert "galaxy.yml says version 0.2.0 but the latest release in changelogs/changelog.yaml is 0.1.0" in run.stderr
    assert "tools/release_check.sh --refresh-changelog" in run.stderr


def test_test_doubles_that_would_ship_fail_the_check(tmp_path):
    tree = releasable_copy(tmp_path)
    galaxy = tree / "galaxy.yml"
    galaxy.write_text(galaxy.read_text().replace("  - roles/*/molecule\n", ""))
    add_molecule_scenario(tree)

    run = release_check(tree)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "the tarball holds what users must not get (add it to build_ignore in galaxy.yml)" in run.stderr
    assert "roles/guacamole_sync/molecule/" in run.stderr.split()

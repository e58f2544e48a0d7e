"""The collection as users get it: built into a tarball, installed into a fresh collections path, and run
from there; and on the oldest ansible-core that meta/runtime.yml admits."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import oldest_ansible_venv

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SMOKE_TASKS = """
- name: List templates
  proxgate.core.proxmox_vm_info:
    templates: only
- name: Create smoke01
  proxgate.core.proxmox_vm:
    node: pve1
    name: smoke01
    memory: 512
    state: started
"""


def build_and_install(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(REPO)],
                   check=True, capture_output=True, text=True)
    tarballs = list(dist.glob("proxgate-core-*.tar.gz"))
    assert len(tarballs) == 1
    installed = tmp_path / "collections"
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--force", "-p", str(installed),
                    str(tarballs[0])],
                   check=True, capture_output=True, text=True)
    return tarballs[0], installed


def test_tarball_installs_and_runs(tmp_path, run_playbook, pve, pve_env):
    tarball, installed = build_and_install(tmp_path)
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    assert tarball.name == f"proxgate-core-{version}.tar.gz"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "plugins/modules/proxmox_vm.py" in names
    assert "meta/runtime.yml" in names
    assert not [name for name in names if name.startswith(("tests/emulators", "build/", ".venv", "tools/"))]

    env = dict(pve_env, ANSIBLE_COLLECTIONS_PATH=str(installed))
    run = run_playbook(SMOKE_TASKS, env=env)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Create smoke01")["status"] == "running"


def test_runtime_yml_declares_every_module_in_its_action_group():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"] == ">=2.17.0"
    for family in ("proxmox", "guacamole", "rustguac"):
        modules = sorted(path.stem for path in (REPO / "plugins" / "modules").glob(f"{family}_*.py"))
        assert sorted(runtime["action_groups"][family]) == modules


def test_modules_run_on_the_oldest_supported_ansible_core(tmp_path, pve, pve_env):
    venv = oldest_ansible_venv()
    version = subprocess.run([str(venv / "bin" / "ansible"), "--version"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[0]
    assert "2.17." in version, version
    _tarball, installed = build_and_install(tmp_path)
    playbook = tmp_path / "smoke.yml"
    playbook.write_text("- name: Smoke\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        + "".join("    " + line + "\n" for line in SMOKE_TASKS.strip().splitlines()))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "PROXMOX_"))}
    env.update(pve_env, ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "home"))
    proc = subprocess.run([str(venv / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={venv / 'bin' / 'python'}", str(playbook)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "changed=1" in proc.stdout

"""The fixture that runs playbooks/publish.yml with the real proxgate.core.proxmox inventory against the Proxmox
test server, and a gateway emulator (Guacamole or rustguac) as its target.

A test module uses it with ``publish = publish_fixtures.publish`` at module level.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.emulators.rustguac import RustguacEmulator
from tests.integration.conftest import BIN, REPO, TOKEN_ID, TOKEN_SECRET, run_ansible_playbook
from tests.integration.guacamole_fixtures import guac_env
from tests.integration.rustguac_fixtures import rg_env

PUBLISH = REPO / "playbooks" / "publish.yml"
DEMO_INVENTORY = REPO / "playbooks" / "inventory" / "demo.proxmox.yml"


@pytest.fixture
def publish(tmp_path, pve):
    """publish(broker, inventory=DEMO_INVENTORY, extra_vars=None, check=False, diff=False, verbosity=0) ->
    PlaybookRun of `ansible-playbook -i <inventory> playbooks/publish.yml`, the inventory's auth from
    PROXMOX_* (token), the gateway's from GUACAMOLE_* (a Guacamole emulator) or RUSTGUAC_* (a rustguac
    emulator)."""
    counter = {"n": 0}

    def run(broker, inventory=DEMO_INVENTORY, extra_vars=None, check=False, diff=False, verbosity=0):
        counter["n"] += 1
        workdir = tmp_path / f"publish{counter['n']}"
        workdir.mkdir()
        command = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(PUBLISH)]
        command += ["--check"] if check else []
        command += ["--diff"] if diff else []
        command += ["-" + "v" * verbosity] if verbosity else []
        command += ["-e", json.dumps(extra_vars)] if extra_vars else []
        gateway_env = rg_env(broker) if isinstance(broker, RustguacEmulator) else guac_env(broker)
        env = dict(gateway_env, PROXMOX_URL=pve.url, PROXMOX_CA_PATH=pve.certfile, PROXMOX_TOKEN_ID=TOKEN_ID,
                   PROXMOX_TOKEN_SECRET=TOKEN_SECRET, ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable)
        return run_ansible_playbook(command, workdir, env)

    return run

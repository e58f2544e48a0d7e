"""The way from community.proxmox: its address options (api_host, api_port) and environment variables
(PROXMOX_HOST, PROXMOX_PORT) through real runs, and docs/migrating.md's migrated playbook on the test server."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.integration import test_inventory
from tests.integration.conftest import REPO, TOKEN_ID, TOKEN_SECRET
from tests.integration.test_docs_commands import blocks_of

pytestmark = pytest.mark.integration

inventory = test_inventory.inventory
PAGE = REPO / "docs" / "migrating.md"


def host_env(pve):
    """The environment a community.proxmox user has: the node's host and port apart, no PROXMOX_URL."""
    address = urlsplit(pve.url)
    return {"PROXMOX_HOST": address.hostname, "PROXMOX_PORT": str(address.port), "PROXMOX_CA_PATH": pve.certfile,
            "PROXMOX_TOKEN_ID": TOKEN_ID, "PROXMOX_TOKEN_SECRET": TOKEN_SECRET}


def migrated_playbook(tmp_path):
    """The "after" playbook of docs/migrating.md, as the page has the reader write it."""
    block = next(block for block in blocks_of(PAGE) if block.markers.get("file") == "migrated.yml")
    path = tmp_path / "migrated.yml"
    path.write_text(block.text + "\n")
    return path


def test_the_migrated_playbook_runs_then_changes_nothing(run_playbook, pve, writes, tmp_path):
    playbook = migrated_playbook(tmp_path)
    first = run_playbook(None, env=host_env(pve), playbook=playbook)
    assert first.rc == 0, first.stdout + first.stderr
    app01 = next(vm for vm in pve.pve.vms if vm.name == "app01")
    assert app01.node == "pve1" and app01.status == "running"
    assert {"bridge=vmbr0", "tag=20", "firewall=1"} <= set(app01.config["net1"].split(","))
    assert "size=8G" in app01.config["scsi1"].split(",")
    assert "baseline" in app01.snapshots
    dns02 = next(ct for ct in pve.pve.cts if ct.name == "dns02")
    assert dns02.status == "running"
    written = len(writes())
    second = run_playbook(None, env=host_env(pve), playbook=playbook)
    assert second.rc == 0, second.stdout + second.stderr
    assert second.changed == []
    assert len(writes()) == written, "the second run writes nothing"


def test_a_task_with_both_addresses_is_refused_before_any_call(run_playbook, pve):
    run = run_playbook(f"""
        - name: Both addresses
          proxgate.core.proxmox_vm_info:
            api_url: {pve.url}
            api_host: 127.0.0.1
    """, env=host_env(pve))
    assert run.rc != 0
    msg = run.result("Both addresses")["msg"]
    assert msg.startswith("api_url and api_host both name the API's address; set one of them"), msg
    assert "Traceback" not in run.stdout + run.stderr
    assert pve.pve.requests == []


def test_a_host_with_a_port_says_where_the_port_goes(run_playbook, pve):
    address = urlsplit(pve.url)
    run = run_playbook(f"""
        - name: Host and port in one
          proxgate.core.proxmox_vm_info:
            api_host: "{address.netloc}"
    """, env=host_env(pve))
    assert run.rc != 0
    msg = run.result("Host and port in one")["msg"]
    assert msg.startswith(f"api_host takes no port, got '{address.netloc}': put the port in api_port"), msg
    assert pve.pve.requests == []


def test_the_task_beats_the_environment_whichever_the_name(run_playbook, pve):
    """api_host in the task with PROXMOX_URL (pointing elsewhere) in the environment: the task's is used."""
    address = urlsplit(pve.url)
    env = dict(host_env(pve), PROXMOX_URL="https://192.0.2.1:8006")
    run = run_playbook(f"""
        - name: Address from the task
          proxgate.core.proxmox_vm_info:
            api_host: {address.hostname}
            api_port: {address.port}
            name: web01
    """, env=env)
    assert run.rc == 0, run.stdout + run.stderr
    assert [vm["vmid"] for vm in run.result("Address from the task")["vms"]] == [101]


def test_the_inventory_reads_the_same_variables_and_options(inventory, pve):
    env = host_env(pve)
    run = inventory({}, env=env)
    assert run.rc == 0, run.stderr
    assert "web01" in run.hosts
    address = urlsplit(pve.url)
    # api_host and api_port in the file beat a PROXMOX_URL that points elsewhere.
    run = inventory({"api_host": address.hostname, "api_port": address.port},
                    env=dict(env, PROXMOX_URL="https://192.0.2.1:8006", PROXMOX_HOST="192.0.2.1"))
    assert run.rc == 0, run.stderr
    assert "web01" in run.hosts
    run = inventory({"api_url": pve.url, "api_host": address.hostname}, env=env)
    assert run.rc != 0
    assert "api_url and api_host both name the API's address" in run.stderr

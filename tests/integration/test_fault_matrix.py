"""Faults never do damage (issue #17): provision.yml and grant_access.yml run while the Proxmox test server and
the Guacamole emulator drop 5 % of requests unanswered, hold 2 % and then drop them, and lose the reply of 1 % after
acting, and pveproxy restarts in the middle. The faulty run may fail; a plain rerun must converge, and the one
after it write nothing. Whatever the faults hit: no guest twice, no volume nobody uses, no lock or half-made
snapshot left, no connection twice. Seeded: a failing seed repeats. `make test` runs one seed (a run costs about
50 s of a CI worker); PROXGATE_FAULT_SEEDS="1 2 3 4 5 6" runs those instead, to try more of the fault space."""

from __future__ import annotations

import collections
import os
import re
import threading

import pytest

from tests.emulators.faults import RandomFaults
from tests.emulators.pve import add_demo_image, write_requests
from tests.integration import guacamole_fixtures
from tests.integration.conftest import REPO, TOKEN_ID, TOKEN_SECRET
from tests.integration.guacamole_fixtures import guac_env
from tests.integration.guacamole_fixtures import writes as guacamole_writes

pytestmark = pytest.mark.integration

guacamole_server = guacamole_fixtures.guacamole_server

PLAYBOOKS = ("provision.yml", "grant_access.yml")
UNUSED = re.compile(r"^unused\d+$")
SEEDS = [int(seed) for seed in os.environ.get("PROXGATE_FAULT_SEEDS", "11").split()]


def run_both(run_playbook, env):
    return [run_playbook(None, env=env, playbook=REPO / "playbooks" / name) for name in PLAYBOOKS]


def referenced_volumes(vm):
    """Every volume id the VM's config, pending changes and snapshots name."""
    configs = [vm.config, vm.pending, *vm.snapshots.values()]
    return {str(value).split(",", maxsplit=1)[0] for config in configs for key, value in config.items()
            if value and (UNUSED.match(key) or re.match(r"^(ide|sata|scsi|virtio|efidisk|tpmstate)\d+$", key))}


def assert_no_damage(pve, emu):
    names = collections.Counter(vm.name for vm in pve.vms)
    assert [name for name, count in names.items() if count > 1] == [], f"a guest made twice: {names}"
    for vm in pve.vms:
        assert not vm.lock, f"VM {vm.vmid} left locked ({vm.lock})"
        half_made = {name for name, snap in vm.snapshots.items() if snap.get("snapstate")}
        assert half_made == set(), f"VM {vm.vmid}: half-made snapshots {half_made}"
    used = set().union(*(referenced_volumes(vm) for vm in pve.vms))
    for storage, store in pve.storages.items():
        for name, volume in store.get("volumes", {}).items():
            if volume.get("content") == "images":
                assert f"{storage}:{name}" in used, f"orphan volume {storage}:{name} (VM {volume.get('vmid')})"
    state = emu.state()
    places = collections.Counter((c.get("parentIdentifier"), c["name"]) for c in state["connections"].values())
    assert [place for place, count in places.items() if count > 1] == [], "a connection made twice"
    guests = collections.Counter(c["parameters"].get("proxgate-guest") for c in state["connections"].values())
    assert [guest for guest, count in guests.items() if guest and count > 1] == [], "a guest published twice"


@pytest.mark.parametrize("seed", SEEDS)
def test_faults_then_a_plain_rerun_converges_with_nothing_duplicated_or_half_made(
        seed, run_playbook, pve, guacamole_server):
    emu = guacamole_server(tls=True)
    add_demo_image(pve.pve)
    env = {"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile, "PROXMOX_TOKEN_ID": TOKEN_ID,
           "PROXMOX_TOKEN_SECRET": TOKEN_SECRET, **guac_env(emu)}
    pve.pve.random_faults = RandomFaults(drop=0.05, hang=0.02, lose=0.01, hang_secs=1.5, seed=seed)
    emu.random_faults = RandomFaults(drop=0.05, hang=0.02, lose=0.01, hang_secs=1.5, seed=seed)
    restart = threading.Timer(4.0, pve.restart, kwargs={"down_secs": 1.0})
    restart.start()
    try:
        faulty = run_both(run_playbook, env)
    finally:
        restart.join()
    hit = pve.pve.random_faults.counts + emu.random_faults.counts
    assert sum(hit.values()) > 0, "no fault was injected: the test would show nothing"
    pve.pve.random_faults.enabled = emu.random_faults.enabled = False
    assert_no_damage(pve.pve, emu)

    for run in run_both(run_playbook, env):
        assert run.rc == 0, f"the rerun after faults ({hit}, first rcs {[r.rc for r in faulty]}) failed:\n" + \
            run.stdout[-3000:] + run.stderr[-2000:]
    assert_no_damage(pve.pve, emu)
    assert sum(vm.name == "demo-web01" for vm in pve.pve.vms) == 1

    writes = (len(write_requests(pve.pve)), len(guacamole_writes(emu)))
    for run in run_both(run_playbook, env):
        assert run.rc == 0 and run.changed == [], run.changed
    assert (len(write_requests(pve.pve)), len(guacamole_writes(emu))) == writes

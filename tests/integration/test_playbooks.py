"""The collection's playbooks, end to end: provision.yml on the Proxmox test server, then
grant_access.yml publishing that VM to a team on the Guacamole emulator; reruns change nothing."""

import pytest

from tests.emulators.pve import add_demo_image
from tests.integration import guacamole_fixtures
from tests.integration.conftest import REPO
from tests.integration.guacamole_fixtures import guac_env
from tests.integration.guacamole_fixtures import writes as guacamole_writes

pytestmark = pytest.mark.integration

guacamole_server = guacamole_fixtures.guacamole_server


def playbook(name):
    return REPO / "playbooks" / name


# Token only: a ticket runs provision.yml end to end, twice, in test_quickstart's `make demo` (root@pam with a
# password), and each Proxmox module of both playbooks in tests of its own.
def test_provision_then_grant_access_end_to_end(run_playbook, pve, pve_env, writes, guacamole_server):
    emu = guacamole_server(tls=True)
    env = {**pve_env, **guac_env(emu)}
    add_demo_image(pve.pve)

    provision = run_playbook(None, env=env, playbook=playbook("provision.yml"))
    assert provision.rc == 0, provision.stdout + provision.stderr
    vm = next(vm for vm in pve.pve.vms if vm.name == "demo-web01")
    assert vm.status == "running" and "demo" in vm.config["tags"]
    # The seed's whole flow: the image imported as scsi0 and grown, cloud-init, boot order, baseline.
    assert vm.config["scsi0"].startswith("local-lvm:vm-") and "size=8G" in vm.config["scsi0"]
    assert "import-from" not in vm.config["scsi0"]
    assert vm.config["ciuser"] == "debian" and vm.config["ipconfig0"] == "ip=dhcp"
    assert "cloudinit" in vm.config["ide2"]
    assert vm.config["boot"].startswith("order=scsi0")
    assert "baseline" in vm.snapshots
    address = provision.result("Wait for the guest agent to report an address")["address"]

    grant = run_playbook(None, env=env, playbook=playbook("grant_access.yml"))
    assert grant.rc == 0, grant.stdout + grant.stderr
    state = emu.state()
    groups = {group["name"]: group for group in state["connection_groups"].values()}
    connection = next(c for c in state["connections"].values() if c["name"] == "demo-web01")
    assert connection["parentIdentifier"] == groups["Demo"]["identifier"]
    assert connection["protocol"] == "ssh" and connection["parameters"]["hostname"] == address
    team = state["user_groups"]["operators"]
    assert team["memberUsers"] == ["alice"]
    assert team["permissions"]["connectionPermissions"][connection["identifier"]] == ["READ"]
    assert team["permissions"]["connectionGroupPermissions"][groups["Demo"]["identifier"]] == ["READ"]
    assert state["users"]["alice"]["attributes"].get("guac-full-name") == "Alice Example"

    pve_count, guacamole_count = len(writes()), len(guacamole_writes(emu))
    for name in ("provision.yml", "grant_access.yml"):
        again = run_playbook(None, env=env, playbook=playbook(name))
        assert again.rc == 0 and again.changed == [], f"{name}: {again.changed}"
    assert len(writes()) == pve_count and len(guacamole_writes(emu)) == guacamole_count


def test_check_mode_of_both_playbooks_writes_nothing(run_playbook, pve, pve_env, writes, guacamole_server):
    emu = guacamole_server()
    env = {**pve_env, **guac_env(emu)}
    add_demo_image(pve.pve)
    plan = run_playbook(None, env=env, playbook=playbook("provision.yml"), check=True, diff=True)
    assert plan.rc == 0, plan.stdout + plan.stderr
    assert "Create the VM with cloud-init settings" in plan.changed
    assert writes() == []

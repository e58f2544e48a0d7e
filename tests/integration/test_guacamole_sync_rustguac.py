"""playbooks/publish.yml with one variable changed, guacamole_sync_target=rustguac: real ansible-playbook runs with
the real proxgate.core.proxmox inventory against the Proxmox test server (demo guests: web01 101 Linux running with
an agent in pool production, win-desktop 102 Windows running with an agent in pool production, db01 103 stopped,
dns01 200 a running container, template 9000) and the rustguac emulator (HTTPS, its CA)."""

from __future__ import annotations

import pytest

from tests.emulators.pve.guests import DEMO_NETWORK
from tests.emulators.pve.server import agent_interfaces
from tests.integration import publish_fixtures, rustguac_fixtures
from tests.integration.publish_fixtures import DEMO_INVENTORY
from tests.integration.rustguac_fixtures import everything
from tests.integration.rustguac_fixtures import writes as rustguac_writes

pytestmark = pytest.mark.integration

rustguac = rustguac_fixtures.rustguac
publish = publish_fixtures.publish

TARGET = {"guacamole_sync_target": "rustguac"}
PUBLISH_TASK = "Publish the guests in the rustguac folder Proxmox"
ENTRIES = "/addressbook/folders/shared/Proxmox/entries"


def entries(emu, folder="Proxmox"):
    return {entry["name"]: entry for entry in emu.state()["entries"] if entry["folder"] == folder}


def summary(entry):
    return entry["type"], entry["hostname"], entry.get("port")


def test_check_mode_then_publish_then_nothing_changes(publish, pve, writes, rustguac):
    rustguac.add_folder(name="manual")
    rustguac.add_entry(scope="shared", folder="manual", name="jumphost", type="ssh", hostname="192.0.2.1")
    extra = dict(TARGET, guacamole_sync_user_groups=["ops"])

    plan = publish(rustguac, extra_vars=extra, check=True, diff=True)
    assert plan.rc == 0, plan.stdout + plan.stderr
    assert rustguac_writes(rustguac) == [] and writes() == []
    assert sorted(plan.result(PUBLISH_TASK)["created"]) == ["dns01", "web01", "win-desktop"]

    applied = publish(rustguac, extra_vars=extra)
    assert applied.rc == 0, applied.stdout + applied.stderr
    folders = {folder["name"]: folder for folder in rustguac.state()["folders"]}
    assert folders["Proxmox"]["allowed_groups"] == ["ops"]
    published = entries(rustguac)
    assert set(published) == {"web01", "win-desktop", "dns01"}
    # web01: ostype l26 -> SSH; win-desktop: ostype win11 -> RDP with the role's ignore-cert; dns01: a container.
    assert summary(published["web01"]) == ("ssh", "10.20.0.111", 22)
    assert summary(published["win-desktop"]) == ("rdp", "10.20.0.112", 3389)
    assert published["win-desktop"]["ignore_cert"] is True
    assert summary(published["dns01"]) == ("ssh", "10.20.2.0", 22)
    # Each entry carries its guest's identity (cluster/vmid), which decides whose entry it is (issue #15).
    assert {name: entry["proxmox_node"] for name, entry in published.items()} == {
        "web01": "pve/101", "win-desktop": "pve/102", "dns01": "pve/200"}
    assert "Not published, no address: db01" in applied.result("List the guests without an address")["msg"]
    assert list(entries(rustguac, "manual")) == ["jumphost"], "nothing outside the folder is touched"
    assert writes() == [], "publishing only reads Proxmox"

    count = len(rustguac_writes(rustguac))
    again = publish(rustguac, extra_vars=extra)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.changed == [] and len(rustguac_writes(rustguac)) == count


def test_credentials_and_fields_from_host_variables_never_printed(publish, pve, rustguac, tmp_path):
    secret = "Rdp-Admin-Passw0rd-secret"
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "demo.proxmox.yml").write_text(DEMO_INVENTORY.read_text())
    (inventory / "host_vars").mkdir()
    (inventory / "host_vars" / "win-desktop.yml").write_text(
        f"guacamole_parameters: {{username: Administrator, password: '{secret}', security: any}}\n"
        "rustguac_entry: {display_name: Windows desktop}\n")
    extra = dict(TARGET, guacamole_sync_rustguac_fields={"rdp": {"security": "nla"}})
    run = publish(rustguac, inventory=inventory, extra_vars=extra, diff=True, verbosity=3)
    assert run.rc == 0, run.stdout + run.stderr
    desktop = entries(rustguac)["win-desktop"]
    assert desktop["username"] == "Administrator" and desktop["password"] == secret
    assert desktop["security"] == "nla" and desktop["display_name"] == "Windows desktop"
    assert secret not in everything(run)
    assert run.result(PUBLISH_TASK)["secrets_sent"] == {"win-desktop": ["password"]}
    again = publish(rustguac, inventory=inventory, extra_vars=extra)
    assert again.changed == [], "on_create: the stored password is not sent again"


def test_per_connection_access_and_unsupported_protocols_stop_before_any_write(publish, pve, rustguac):
    run = publish(rustguac, extra_vars=dict(TARGET, guacamole_sync_user_groups_by_pool={"production": ["ops"]}))
    assert run.rc != 0
    assert "access is granted per folder" in run.stdout
    assert "guacamole_sync_user_groups_by_pool" in run.stdout

    pve.pve.vm(101).config["tags"] = "guac-telnet"
    run = publish(rustguac, extra_vars=TARGET)
    assert run.rc != 0
    assert "these guests were given another protocol: web01 (telnet)" in run.stdout
    assert rustguac_writes(rustguac) == [] and rustguac.state()["folders"] == []


def test_a_key_without_admin_is_refused_with_the_role_it_needs(publish, pve, rustguac):
    key = rustguac.add_api_key(name="ci-viewer", role="viewer")
    run = publish(rustguac, extra_vars=dict(TARGET, guacamole_sync_rustguac_api_key=key))
    assert run.rc != 0
    assert "HTTP 403" in run.stdout and "needs the admin role" in run.stdout
    assert rustguac.state()["folders"] == [] and rustguac_writes(rustguac) == []


def test_a_tenant_guest_named_like_another_never_takes_its_entry(publish, pve, rustguac):
    """Issue #15, finding 1, rustguac side: a tenant makes a VM with a lower vmid and names it like web01, and
    the inventory gives the tenant the plain name. web01's entry (identity pve/101) keeps its address and its
    stored password; the tenant's entry is web01-100, reported as a collision. A second run writes nothing."""
    first = publish(rustguac, extra_vars=TARGET)
    assert first.rc == 0, first.stdout + first.stderr
    rustguac.add_entry(folder="Proxmox", name="web01", **{  # a password set on the server afterwards
        key: value for key, value in entries(rustguac)["web01"].items() if key not in ("scope", "folder", "name")},
        password="Web01-Stored-Passw0rd-secret")
    original = entries(rustguac)["web01"]
    assert original["proxmox_node"] == "pve/101"

    pve.pve.add_vm(100, "web01", node="pve1", status="running", config={"agent": "1", "ostype": "l26"})
    pve.pve.vm(100).agent = {"interfaces": agent_interfaces(DEMO_NETWORK, 100)}
    attack = publish(rustguac, extra_vars=TARGET)
    assert attack.rc == 0, attack.stdout + attack.stderr
    result = attack.result(PUBLISH_TASK)
    assert result["removed"] == [] and result["created"] == ["web01-100"]
    assert [(item["name"], item["guest"], item["entry"]) for item in result["collisions"]] == [
        ("web01", "pve/100", "web01-100")]
    published = entries(rustguac)
    assert published["web01"] == original, "web01's entry still reaches web01, with its password"
    tenant = published["web01-100"]
    assert (tenant["proxmox_node"], "password" in tenant) == ("pve/100", False)
    assert tenant["hostname"] != original["hostname"]
    assert "Web01-Stored-Passw0rd-secret" not in everything(attack)

    count = len(rustguac_writes(rustguac))
    again = publish(rustguac, extra_vars=TARGET)
    assert again.rc == 0 and again.changed == [] and len(rustguac_writes(rustguac)) == count, again.stdout

"""The guacamole_sync role through playbooks/publish.yml: real ansible-playbook runs with the real
proxgate.core.proxmox inventory against the Proxmox test server (demo guests: web01 101 Linux running with an
agent in pool production, win-desktop 102 Windows running with an agent in pool production, db01 103 stopped,
dns01 200 a running container, template 9000) and the Guacamole emulator."""

from __future__ import annotations

import pytest
import yaml

from tests.emulators.pve.guests import DEMO_NETWORK
from tests.emulators.pve.server import agent_interfaces
from tests.integration import guacamole_fixtures, publish_fixtures
from tests.integration.guacamole_fixtures import assert_no_session_left
from tests.integration.guacamole_fixtures import writes as guacamole_writes

pytestmark = pytest.mark.integration

guacamole_server = guacamole_fixtures.guacamole_server
publish = publish_fixtures.publish

PUBLISH_TASK = "Publish the guests below Proxmox"
# What the QEMU guest agent of a Windows guest answers to get-osinfo.
WINDOWS_OS = {"name": "Microsoft Windows", "id": "mswindows", "version": "Microsoft Windows 11",
              "version-id": "11", "pretty-name": "Windows 11 Pro", "variant": "client", "variant-id": "client",
              "kernel-release": "22631", "kernel-version": "10.0", "machine": "x86_64"}
ACCESS = {"guacamole_sync_user_groups_by_pool": {"production": ["operators"]},
          "guacamole_sync_user_groups_by_tag": {"windows": ["desktop-users"]}}


def gateway(emu):
    """(connections by path, groups by path, {user group: paths it has READ on}) of the emulator's state;
    a group's path in the READ sets ends with '/'."""
    state = emu.state()
    groups = state["connection_groups"]

    def group_path(identifier):
        names = []
        while identifier != "ROOT":
            names.append(groups[identifier]["name"])
            identifier = groups[identifier]["parentIdentifier"]
        return "/".join(reversed(names))

    connections = {}
    for connection in state["connections"].values():
        parent = group_path(connection["parentIdentifier"])
        connections[f"{parent}/{connection['name']}" if parent else connection["name"]] = connection
    group_paths = {group_path(identifier): group for identifier, group in groups.items()}
    read = {}
    for name, user_group in state["user_groups"].items():
        document = user_group["permissions"]
        read[name] = ({path for path, c in connections.items()
                       if "READ" in document["connectionPermissions"].get(c["identifier"], [])}
                      | {path + "/" for path, g in group_paths.items()
                         if "READ" in document["connectionGroupPermissions"].get(g["identifier"], [])})
    return connections, group_paths, read


def summary(connection):
    return connection["protocol"], connection["parameters"].get("hostname"), connection["parameters"].get("port")


def seeded(guacamole_server):
    """A Guacamole emulator with the two mapped user groups and a connection made by hand at the top level."""
    emu = guacamole_server()
    emu.add_user_group("operators")
    emu.add_user_group("desktop-users")
    emu.add_connection("jumphost", parameters={"hostname": "192.0.2.1", "port": "22"})
    return emu


def test_check_mode_then_publish_then_nothing_changes(publish, pve, writes, guacamole_server):
    emu = seeded(guacamole_server)

    plan = publish(emu, extra_vars=ACCESS, check=True, diff=True)
    assert plan.rc == 0, plan.stdout + plan.stderr
    assert guacamole_writes(emu) == [] and writes() == []
    assert sorted(plan.result(PUBLISH_TASK)["created"]) == [
        "Proxmox/dns01", "Proxmox/production/web01", "Proxmox/production/win-desktop"]

    applied = publish(emu, extra_vars=ACCESS)
    assert applied.rc == 0, applied.stdout + applied.stderr
    connections, groups, read = gateway(emu)
    assert set(connections) == {"jumphost", "Proxmox/production/web01", "Proxmox/production/win-desktop",
                                "Proxmox/dns01"}
    assert set(groups) == {"Proxmox", "Proxmox/production"}
    # web01: ostype l26 -> SSH; win-desktop: ostype win11 -> RDP with the role's RDP defaults; dns01: a container.
    assert summary(connections["Proxmox/production/web01"]) == ("ssh", "10.20.0.111", "22")
    assert summary(connections["Proxmox/production/win-desktop"]) == ("rdp", "10.20.0.112", "3389")
    assert connections["Proxmox/production/win-desktop"]["parameters"]["ignore-cert"] == "true"
    assert summary(connections["Proxmox/dns01"]) == ("ssh", "10.20.2.0", "22")
    assert read["operators"] == {"Proxmox/", "Proxmox/production/", "Proxmox/production/web01",
                                 "Proxmox/production/win-desktop"}
    assert read["desktop-users"] == {"Proxmox/", "Proxmox/production/", "Proxmox/production/win-desktop"}
    # db01 is stopped: no address, so no connection, and the run says so.
    assert "Not published, no address: db01" in applied.result("List the guests without an address")["msg"]
    assert connections["jumphost"]["parameters"] == {"hostname": "192.0.2.1", "port": "22"}
    assert writes() == [], "publishing only reads Proxmox"

    count = len(guacamole_writes(emu))
    again = publish(emu, extra_vars=ACCESS)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.changed == [] and len(guacamole_writes(emu)) == count
    assert_no_session_left(emu)


def test_renamed_deleted_and_retagged_guests(publish, pve, guacamole_server):
    emu = seeded(guacamole_server)
    first = publish(emu, extra_vars=ACCESS)
    assert first.rc == 0, first.stdout + first.stderr
    # db01 was published while it ran; now stopped, its connection stays as it is.
    db01 = emu.add_connection("db01", parameters={"hostname": "10.20.0.113", "port": "22"},
                              parent=gateway(emu)[1]["Proxmox"]["identifier"])
    printer = emu.add_connection("printer", protocol="vnc", parameters={"hostname": "192.0.2.9"},
                                 parent=emu.add_connection_group("Lab"))
    before, _groups, _read = gateway(emu)

    web = pve.pve.vm(101)
    web.name = web.config["name"] = "web02"
    pve.pve.cts = [ct for ct in pve.pve.cts if ct.vmid != 200]
    pve.pve.vm(102).config["tags"] = "guac-vnc;windows"

    synced = publish(emu, extra_vars=ACCESS, diff=True)
    assert synced.rc == 0, synced.stdout + synced.stderr
    result = synced.result(PUBLISH_TASK)
    # The renamed guest keeps its connection (found by its identity, pve/101), renamed with it.
    assert result["removed"] == ["Proxmox/dns01"]
    assert result["moved"] == [{"from": "Proxmox/production/web01", "to": "Proxmox/production/web02"}]
    assert result["created"] == []
    assert result["updated"] == ["Proxmox/production/win-desktop"]
    assert result["kept"] == ["Proxmox/db01"]

    connections, _groups, read = gateway(emu)
    assert set(connections) == {"jumphost", "Lab/printer", "Proxmox/db01", "Proxmox/production/web02",
                                "Proxmox/production/win-desktop"}
    assert summary(connections["Proxmox/production/web02"]) == ("ssh", "10.20.0.111", "22")
    assert connections["Proxmox/production/web02"]["identifier"] == before["Proxmox/production/web01"]["identifier"]
    win = connections["Proxmox/production/win-desktop"]
    assert summary(win) == ("vnc", "10.20.0.112", "5900") and "ignore-cert" not in win["parameters"]
    assert win["identifier"] == before["Proxmox/production/win-desktop"]["identifier"]
    assert connections["Proxmox/db01"]["identifier"] == db01
    assert connections["Lab/printer"]["identifier"] == printer and connections["jumphost"] == before["jumphost"]
    assert read["operators"] == {"Proxmox/", "Proxmox/production/", "Proxmox/production/web02",
                                 "Proxmox/production/win-desktop"}

    count = len(guacamole_writes(emu))
    again = publish(emu, extra_vars=ACCESS)
    assert again.rc == 0 and again.changed == [] and len(guacamole_writes(emu)) == count, again.stdout


def test_protocol_rules_without_want_config_group_by_node_and_host_variables(
        publish, pve, guacamole_server, tmp_path):
    emu = guacamole_server()
    web, win, db = pve.pve.vm(101), pve.pve.vm(102), pve.pve.vm(103)
    web.agent["os"] = None                      # the agent tells no OS: the linux tag decides
    win.agent["os"] = WINDOWS_OS                # the agent says Windows; no tag says anything
    win.config.pop("tags")
    db.status, db.agent = "running", {"interfaces": agent_interfaces(DEMO_NETWORK, 103)}
    pve.pve.cts[0].config["tags"] = "guac-off"  # dns01 is not published
    inventory = tmp_path / "lab.proxmox.yml"
    inventory.write_text(yaml.safe_dump({
        "plugin": "proxgate.core.proxmox",
        "want_os_info": True,
        "compose": {"proxmox_cluster": "'lab'",
                    "guacamole_protocol": "'vnc' if 'db' in proxmox_tags else None",
                    "guacamole_parameters": "{'username': 'Administrator'} if proxmox_node == 'pve2' and "
                                            "'db' not in proxmox_tags else {}",
                    "guacamole_user_groups": "['admins'] if proxmox_node == 'pve2' else []"},
    }))
    extra = {"guacamole_sync_root": "Clusters/lab", "guacamole_sync_group_by": "node",
             "guacamole_sync_default_protocol": "telnet", "guacamole_sync_create_user_groups": True,
             "guacamole_sync_parameters": {"ssh": {"enable-sftp": True}, "rdp": {"security": "nla"}}}

    run = publish(emu, inventory=inventory, extra_vars=extra)
    assert run.rc == 0, run.stdout + run.stderr
    connections, groups, read = gateway(emu)
    assert set(groups) == {"Clusters", "Clusters/lab", "Clusters/lab/pve1", "Clusters/lab/pve2"}
    assert set(connections) == {"Clusters/lab/pve1/web01", "Clusters/lab/pve2/win-desktop", "Clusters/lab/pve2/db01"}
    assert connections["Clusters/lab/pve1/web01"]["protocol"] == "ssh"
    assert connections["Clusters/lab/pve1/web01"]["parameters"] == {
        "hostname": "10.20.0.111", "port": "22", "enable-sftp": "true", "proxgate-guest": "lab/101"}
    assert connections["Clusters/lab/pve2/win-desktop"]["protocol"] == "rdp"
    assert connections["Clusters/lab/pve2/win-desktop"]["parameters"] == {
        "hostname": "10.20.0.112", "port": "3389", "security": "nla", "username": "Administrator",
        "proxgate-guest": "lab/102"}
    assert summary(connections["Clusters/lab/pve2/db01"]) == ("vnc", "10.20.0.113", "5900")
    assert read["admins"] == {"Clusters/lab/", "Clusters/lab/pve2/", "Clusters/lab/pve2/win-desktop",
                              "Clusters/lab/pve2/db01"}
    assert "tagged guac-off: dns01" in run.result("List the guests left out by tag")["msg"]


def test_an_inventory_without_guests_removes_nothing(publish, pve, guacamole_server, tmp_path):
    emu = guacamole_server()
    emu.add_connection("web01", parameters={"hostname": "10.20.0.111"},
                       parent=emu.add_connection_group("Proxmox"))
    inventory = tmp_path / "none.proxmox.yml"
    inventory.write_text("plugin: proxgate.core.proxmox\nstatuses: [paused]\n")

    run = publish(emu, inventory=inventory)
    assert run.rc != 0
    assert "Publishing nothing would remove every connection below Proxmox" in run.failed[0]["result"]["msg"]
    assert guacamole_writes(emu) == []
    assert set(gateway(emu)[0]) == {"Proxmox/web01"}


def test_a_pool_name_is_one_group_below_the_root_verbatim(publish, pve, guacamole_server):
    """Issue #15, finding 10: a pool is one group level, named as the pool is, whatever it holds."""
    emu = seeded(guacamole_server)
    for vmid, pool in ((101, "a/b"), (102, "ROOT")):
        vm = pve.pve.vm(vmid)
        pve.pve.pools["production"].discard(vmid)
        pve.pve.pools.setdefault(pool, set()).add(vmid)
        pve.pve.pool_info.setdefault(pool, {"comment": None, "storage": set()})
        vm.pool = pool
    access = {"guacamole_sync_user_groups_by_pool": {"a/b": ["operators"], "ROOT": ["desktop-users"]}}

    run = publish(emu, extra_vars=access)
    assert run.rc == 0, run.stdout + run.stderr
    state = emu.state()
    groups = state["connection_groups"]
    root = next(i for i, g in groups.items() if g["name"] == "Proxmox" and g["parentIdentifier"] == "ROOT")
    # Every group the run made is Proxmox or directly below it, named exactly as the pool.
    assert sorted((g["parentIdentifier"], g["name"]) for g in groups.values()) == sorted([
        ("ROOT", "Proxmox"), (root, "ROOT"), (root, "a/b")])
    by_name = {g["name"]: i for i, g in groups.items()}
    placed = {c["name"]: c["parentIdentifier"] for c in state["connections"].values()}
    assert placed == {"jumphost": "ROOT", "web01": by_name["a/b"], "win-desktop": by_name["ROOT"],
                      "dns01": root}
    assert sorted(run.result(PUBLISH_TASK)["created"]) == [
        "Proxmox/ROOT/win-desktop", "Proxmox/a\\/b/web01", "Proxmox/dns01"]
    read = gateway(emu)[2]
    assert read["operators"] == {"Proxmox/", "Proxmox/a/b/", "Proxmox/a/b/web01"}
    assert read["desktop-users"] == {"Proxmox/", "Proxmox/ROOT/", "Proxmox/ROOT/win-desktop"}

    count = len(guacamole_writes(emu))
    again = publish(emu, extra_vars=access)
    assert again.rc == 0 and again.changed == [] and len(guacamole_writes(emu)) == count, again.stdout


def test_a_tenant_guest_named_like_another_never_takes_its_connection(publish, pve, guacamole_server):
    """Issue #15, finding 1: a tenant makes a VM with a lower vmid and names it like web01. The inventory gives the
    tenant the plain name; the publish run must leave web01's connection, its address and its READ grants with
    web01 (found by its identity pve/101, renamed as the inventory now names it), and give the tenant a new one."""
    emu = seeded(guacamole_server)
    first = publish(emu, extra_vars=ACCESS)
    assert first.rc == 0, first.stdout + first.stderr
    original = gateway(emu)[0]["Proxmox/production/web01"]
    assert original["parameters"]["proxgate-guest"] == "pve/101"

    pve.pve.add_vm(100, "web01", node="pve1", status="running", config={"agent": "1", "ostype": "l26"})
    pve.pve.vm(100).agent = {"interfaces": agent_interfaces(DEMO_NETWORK, 100)}
    attack = publish(emu, extra_vars=ACCESS)
    assert attack.rc == 0, attack.stdout + attack.stderr
    result = attack.result(PUBLISH_TASK)
    assert result["removed"] == [] and result["created"] == ["Proxmox/web01"]
    [moved] = result["moved"]
    assert moved["from"] == "Proxmox/production/web01"

    connections, _groups, read = gateway(emu)
    real = next(c for c in connections.values() if c["identifier"] == original["identifier"])
    tenant = connections["Proxmox/web01"]
    assert real["parameters"] == original["parameters"], "web01's connection still reaches web01, and only it"
    assert tenant["identifier"] != original["identifier"]
    assert tenant["parameters"]["proxgate-guest"] == "pve/100"
    assert tenant["parameters"]["hostname"] != original["parameters"]["hostname"]
    assert "Proxmox/web01" not in read["operators"]
    assert f"Proxmox/production/{real['name']}" in read["operators"]

    count = len(guacamole_writes(emu))
    again = publish(emu, extra_vars=ACCESS)
    assert again.rc == 0 and again.changed == [] and len(guacamole_writes(emu)) == count, again.stdout


FIREWALL_TASK = "Open each published guest's port to the gateway only, and close the guests no longer published"
FIREWALL = {"guacamole_sync_firewall": True, "guacamole_sync_firewall_sources": ["192.0.2.50", "192.0.2.51"]}


def test_gateway_only_firewall_opens_each_published_port_and_closes_it_on_unpublish(
        publish, pve, writes, guacamole_server):
    """Issue #20, item 4: guacamole_sync_firewall opens each published guest's port to the gateway's guacd
    addresses only, touches nothing else of its firewall, and closes it when the guest is unpublished."""
    server, emu = pve.pve, seeded(guacamole_server)
    server.firewall_config("cluster")["options"] = {"enable": 1}
    web = server.firewall_config("vm", "pve1", 101)
    web["options"] = {"enable": 1}
    server.vm(101).config["net0"] += ",firewall=1"
    web["rules"].append({"type": "in", "action": "DROP", "enable": 1, "comment": "admin: nothing else"})

    plan = publish(emu, extra_vars=FIREWALL, check=True, diff=True)
    assert plan.rc == 0, plan.stdout + plan.stderr
    assert writes() == [] and guacamole_writes(emu) == []
    planned = plan.result(FIREWALL_TASK)
    assert [(change["vmid"], change["actions"][-1]) for change in planned["changes"]] == [
        (101, "open ssh 22"), (102, "open rdp 3389"), (200, "open ssh 22")]
    # db01 has no address: its connection is kept, and so is its firewall.
    assert planned["opened"] == [101, 102, 200] and planned["closed"] == []
    assert [item["vmid"] for item in planned["unenforced"]] == [102, 200]  # their firewalls are off

    applied = publish(emu, extra_vars=FIREWALL)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert len(writes()) == 3 * 4  # per guest: the IPSet, its two addresses, one rule
    assert [(rule["comment"], rule.get("dport"), rule.get("source")) for rule in web["rules"]] == [
        ("proxgate: ssh from the gateway", "22", "+proxgate-gateway"), ("admin: nothing else", None, None)]
    win = server.firewall_config("vm", "pve2", 102)
    assert [(rule["proto"], rule["dport"]) for rule in win["rules"]] == [("tcp", "3389")]
    assert sorted(entry["cidr"] for entry in win["ipset"]["proxgate-gateway"]) == ["192.0.2.50", "192.0.2.51"]

    count, guacamole_count = len(writes()), len(guacamole_writes(emu))
    again = publish(emu, extra_vars=FIREWALL)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.changed == [] and len(writes()) == count and len(guacamole_writes(emu)) == guacamole_count

    server.vm(102).config["tags"] = "windows;guac-off"
    unpublished = publish(emu, extra_vars=FIREWALL)
    assert unpublished.rc == 0, unpublished.stdout + unpublished.stderr
    assert unpublished.result(PUBLISH_TASK)["removed"] == ["Proxmox/production/win-desktop"]
    assert unpublished.result(FIREWALL_TASK)["closed"] == [102]
    assert win["rules"] == [] and "proxgate-gateway" not in win["ipset"]
    assert len(writes()) == count + 2  # the rule, then the IPSet; the other guests untouched
    assert web["rules"][1]["comment"] == "admin: nothing else"

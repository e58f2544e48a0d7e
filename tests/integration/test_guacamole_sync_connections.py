"""guacamole_sync_connections through real ansible-playbook runs against the Guacamole emulator: check mode from
an empty gateway, create, idempotence, moves, pruning inside root only, kept connections, READ grants and
revocations, and the checks that stop a run before its first write."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import assert_no_session_left, guac_env, writes

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server

SECRET = "Rdp-Secr3t-Passw0rd"


def sync_task(name="Sync", **options):
    """A task of the module with these options (YAML text for run_playbook)."""
    return yaml.safe_dump([{"name": name, "proxgate.core.guacamole_sync_connections": options,
                            "register": "synced"}], sort_keys=False)


def by_path(state):
    """{path: connection} of every connection of an emulator state, and {path: group}."""
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
    return connections, {group_path(identifier): group for identifier, group in groups.items()}


def read_of(state, user_group):
    """The paths a user group has READ on: connections, and groups with a trailing '/'."""
    connections, groups = by_path(state)
    document = state["user_groups"][user_group]["permissions"]
    paths = {path for path, c in connections.items()
             if "READ" in document["connectionPermissions"].get(c["identifier"], [])}
    paths |= {path + "/" for path, g in groups.items()
              if "READ" in document["connectionGroupPermissions"].get(g["identifier"], [])}
    return paths


WANTED = [
    {"name": "web01", "group": "production", "protocol": "ssh",
     "parameters": {"hostname": "10.20.0.111", "port": 22}, "user_groups": ["operators"]},
    {"name": "win-desktop", "group": "production", "protocol": "rdp",
     "parameters": {"hostname": "10.20.0.112", "port": 3389, "ignore-cert": True, "password": SECRET},
     "user_groups": ["operators", "desktop-users"]},
    {"name": "dns01", "protocol": "ssh", "parameters": {"hostname": "10.20.2.10", "port": 22}},
]


def test_check_mode_create_and_idempotence_from_an_empty_gateway(guac, run_playbook):
    guac.add_user_group("operators")
    guac.add_user_group("desktop-users")
    env = guac_env(guac)
    task = sync_task(root="Clusters/Proxmox", connections=WANTED)

    plan = run_playbook(task, env=env, check=True, diff=True)
    assert plan.rc == 0, plan.stdout + plan.stderr
    result = plan.result("Sync")
    assert result["changed"] and writes(guac) == []
    assert result["groups_created"] == ["Clusters", "Clusters/Proxmox", "Clusters/Proxmox/production"]
    assert sorted(result["created"]) == ["Clusters/Proxmox/dns01", "Clusters/Proxmox/production/web01",
                                         "Clusters/Proxmox/production/win-desktop"]
    assert [c["identifier"] for c in result["connections"]] == [None, None, None]
    assert SECRET not in plan.stdout + json.dumps(plan.results)
    assert result["diff"]["after"]["connections"]["Clusters/Proxmox/production/win-desktop"]["parameters"][
        "password"] == "********"

    applied = run_playbook(task, env=env, diff=True)
    assert applied.rc == 0, applied.stdout + applied.stderr
    state = guac.state()
    connections, groups = by_path(state)
    assert set(connections) == {"Clusters/Proxmox/production/web01", "Clusters/Proxmox/production/win-desktop",
                                "Clusters/Proxmox/dns01"}
    assert set(groups) == {"Clusters", "Clusters/Proxmox", "Clusters/Proxmox/production"}
    win = connections["Clusters/Proxmox/production/win-desktop"]
    assert win["protocol"] == "rdp"
    assert win["parameters"] == {"hostname": "10.20.0.112", "port": "3389", "ignore-cert": "true",
                                 "password": SECRET}
    assert read_of(state, "operators") == {"Clusters/Proxmox/", "Clusters/Proxmox/production/",
                                           "Clusters/Proxmox/production/web01",
                                           "Clusters/Proxmox/production/win-desktop"}
    assert read_of(state, "desktop-users") == {"Clusters/Proxmox/", "Clusters/Proxmox/production/",
                                               "Clusters/Proxmox/production/win-desktop"}
    reported = {c["path"]: c["identifier"] for c in applied.result("Sync")["connections"]}
    assert reported == {path: c["identifier"] for path, c in connections.items()}
    assert SECRET not in applied.stdout + json.dumps(applied.results)

    count = len(writes(guac))
    again = run_playbook(task, env=env)
    assert again.rc == 0 and again.changed == [], again.stdout
    assert len(writes(guac)) == count
    assert all(c["status"] == "unchanged" for c in again.result("Sync")["connections"])
    assert_no_session_left(guac)


def test_a_changed_password_alone_shows_in_the_diff_though_masked(guac, run_playbook):
    root = guac.add_connection_group("Proxmox")
    guac.add_connection("win-desktop", protocol="rdp", parent=root,
                        parameters={"hostname": "10.20.0.112", "port": "3389", "password": "old-" + SECRET})
    wanted = [{"name": "win-desktop", "protocol": "rdp",
               "parameters": {"hostname": "10.20.0.112", "port": 3389, "password": SECRET}}]
    plan = run_playbook(sync_task(root="Proxmox", connections=wanted, update_password="always"),
                        env=guac_env(guac), check=True, diff=True)
    assert plan.rc == 0, plan.stdout + plan.stderr
    diff = plan.result("Sync")["diff"]
    assert diff["before"]["connections"]["Proxmox/win-desktop"]["parameters"]["password"] == "********"
    assert diff["after"]["connections"]["Proxmox/win-desktop"]["parameters"]["password"] == "******** (changed)"
    assert SECRET not in plan.stdout + json.dumps(plan.results) and writes(guac) == []


def test_moves_prunes_inside_root_only_keeps_and_revokes(guac, run_playbook):
    root = guac.add_connection_group("Proxmox")
    old_pool = guac.add_connection_group("staging", parent=root)
    empty = guac.add_connection_group("gone-pool", parent=root)
    moving = guac.add_connection("web01", parameters={"hostname": "10.0.0.1", "port": "22"}, parent=old_pool)
    guac.add_connection("retired", parent=old_pool)
    stopped = guac.add_connection("db01", protocol="rdp", parameters={"hostname": "10.0.0.9"}, parent=empty)
    outside = guac.add_connection("jumphost", parameters={"hostname": "192.0.2.1"})
    other = guac.add_connection("printer", protocol="vnc", parent=guac.add_connection_group("Lab"))
    guac.add_user_group("operators")
    guac.add_user_group("helpdesk")
    for identifier in (moving, other):
        guac.grant("helpdesk", "READ", "connection", identifier, group=True)
    guac.grant("helpdesk", "READ", "connectionGroup", root, group=True)
    env = guac_env(guac)
    task = sync_task(root="Proxmox", keep=["db01"], connections=[
        {"name": "web01", "group": "production", "protocol": "ssh",
         "parameters": {"hostname": "10.0.0.1", "port": 22}, "user_groups": ["operators"]}])

    applied = run_playbook(task, env=env, diff=True)
    assert applied.rc == 0, applied.stdout + applied.stderr
    result = applied.result("Sync")
    assert result["moved"] == [{"from": "Proxmox/staging/web01", "to": "Proxmox/production/web01"}]
    assert result["created"] == [] and result["updated"] == []
    assert result["removed"] == ["Proxmox/staging/retired"]
    assert result["kept"] == ["Proxmox/gone-pool/db01"]
    assert result["groups_created"] == ["Proxmox/production"]
    assert result["groups_removed"] == ["Proxmox/staging"]
    assert result["permissions"]["helpdesk"] == {"granted": [], "revoked": ["Proxmox/", "Proxmox/production/web01"]}

    state = guac.state()
    connections, groups = by_path(state)
    assert set(connections) == {"Proxmox/production/web01", "Proxmox/gone-pool/db01", "jumphost", "Lab/printer"}
    assert connections["Proxmox/production/web01"]["identifier"] == moving, "a move keeps the identifier"
    assert connections["Proxmox/gone-pool/db01"]["identifier"] == stopped
    assert connections["Proxmox/gone-pool/db01"]["parameters"] == {"hostname": "10.0.0.9"}
    assert connections["jumphost"]["identifier"] == outside
    assert set(groups) == {"Proxmox", "Proxmox/production", "Proxmox/gone-pool", "Lab"}
    assert read_of(state, "helpdesk") == {"Lab/printer"}, "READ outside root is not touched"
    assert read_of(state, "operators") == {"Proxmox/", "Proxmox/production/", "Proxmox/production/web01"}

    count = len(writes(guac))
    again = run_playbook(task, env=env)
    assert again.rc == 0 and again.changed == [] and len(writes(guac)) == count


def test_protocol_change_drops_the_old_protocols_parameters(guac, run_playbook):
    root = guac.add_connection_group("Proxmox")
    guac.add_connection("win-desktop", protocol="rdp", parent=root,
                        parameters={"hostname": "10.0.0.2", "port": "3389", "ignore-cert": "true",
                                    "enable-sftp": "true"})
    task = sync_task(root="Proxmox", connections=[
        {"name": "win-desktop", "protocol": "vnc", "parameters": {"hostname": "10.0.0.2", "port": 5900}}])
    applied = run_playbook(task, env=guac_env(guac))
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("Sync")["updated"] == ["Proxmox/win-desktop"]
    connection = by_path(guac.state())[0]["Proxmox/win-desktop"]
    assert connection["protocol"] == "vnc"
    # enable-sftp exists for VNC too and was not named: it stays; ignore-cert is RDP's only.
    assert connection["parameters"] == {"hostname": "10.0.0.2", "port": "5900", "enable-sftp": "true"}


def test_without_prune_nothing_is_removed_or_revoked(guac, run_playbook):
    root = guac.add_connection_group("Proxmox")
    guac.add_connection("retired", parent=root)
    kept = guac.add_connection("web01", parameters={"hostname": "10.0.0.1"}, parent=root)
    guac.add_user_group("helpdesk")
    guac.grant("helpdesk", "READ", "connection", kept, group=True)
    task = sync_task(root="Proxmox", prune=False, prune_permissions=False, connections=[
        {"name": "web01", "protocol": "ssh", "parameters": {"hostname": "10.0.0.1"}}])
    applied = run_playbook(task, env=guac_env(guac))
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.changed == [] and writes(guac) == []
    assert set(by_path(guac.state())[0]) == {"Proxmox/retired", "Proxmox/web01"}
    assert read_of(guac.state(), "helpdesk") == {"Proxmox/web01"}


def test_checks_fail_before_any_write(guac, run_playbook):
    guac.add_connection("keep-me", parameters={"hostname": "192.0.2.1"},
                        parent=guac.add_connection_group("Proxmox"))
    env = guac_env(guac)
    cases = {
        "empty": (dict(root="Proxmox", connections=[]), "set allow_empty: true"),
        "root": (dict(root="ROOT", connections=WANTED[2:]), "root must be a connection group below ROOT"),
        "unknown parameter": (dict(root="Proxmox", connections=[
            {"name": "a", "protocol": "ssh", "parameters": {"hostname": "h", "enable-sftpp": True}}]),
            "connections[0] (a).parameters: unknown parameter 'enable-sftpp'. Did you mean enable-sftp"),
        "bad value": (dict(root="Proxmox", connections=[
            {"name": "a", "protocol": "ssh", "parameters": {"port": "twenty-two"}}]),
            "connections[0] (a).parameters.port: expected a whole number"),
        "missing user group": (dict(root="Proxmox", connections=[
            {"name": "a", "protocol": "ssh", "parameters": {"hostname": "h"}, "user_groups": ["nobody"]}]),
            "no user group named 'nobody'"),
        "duplicate": (dict(root="Proxmox", connections=[WANTED[2], WANTED[2]]),
                      "connections[1] (dns01) has the same group and name as connections[0]"),
        "keep and manage": (dict(root="Proxmox", keep=["dns01"], connections=WANTED[2:]), "is also in keep"),
    }
    tasks = "".join(sync_task(name=name, **options).replace("register: synced", "ignore_errors: true")
                    for name, (options, _message) in cases.items())
    run = run_playbook(tasks, env=env)
    failed = {entry["task"]: entry["result"]["msg"] for entry in run.failed}
    for name, (_options, message) in cases.items():
        assert message in failed.get(name, ""), (name, failed.get(name))
    assert writes(guac) == []
    assert set(by_path(guac.state())[0]) == {"Proxmox/keep-me"}


def test_create_user_groups_and_allow_empty(guac, run_playbook):
    env = guac_env(guac)
    created = run_playbook(sync_task(root="Proxmox", create_user_groups=True, connections=[
        {"name": "web01", "protocol": "ssh", "parameters": {"hostname": "10.0.0.1"}, "user_groups": ["ops"]}]),
        env=env)
    assert created.rc == 0, created.stdout + created.stderr
    assert created.result("Sync")["user_groups_created"] == ["ops"]
    state = guac.state()
    assert state["user_groups"]["ops"]["disabled"] is False
    assert read_of(state, "ops") == {"Proxmox/", "Proxmox/web01"}

    emptied = run_playbook(sync_task(root="Proxmox", allow_empty=True, connections=[]), env=env)
    assert emptied.rc == 0, emptied.stdout + emptied.stderr
    assert emptied.result("Sync")["removed"] == ["Proxmox/web01"]
    assert set(by_path(guac.state())[1]) == {"Proxmox"}, "root itself stays"

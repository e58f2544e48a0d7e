"""guacamole_sync_connections through real ansible-playbook runs against the Guacamole emulator: check mode from
an empty gateway, create, idempotence, moves, pruning inside root only, kept connections, READ grants and
revocations, and the checks that stop a run before its first write."""

from __future__ import annotations

import json
import sys

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
        "same guest twice": (dict(root="Proxmox", connections=[
            dict(WANTED[2], guest="pve/200"), dict(WANTED[0], guest="pve/200")]),
            "connections[1] (web01) has the same guest 'pve/200' as connections[0]"),
        "guest given as a parameter": (dict(root="Proxmox", connections=[
            dict(WANTED[2], parameters={"hostname": "h", "proxgate-guest": "pve/1"})]),
            "connections[0] (dns01).parameters: proxgate-guest is set from connections[].guest"),
        "guest kept and managed": (dict(root="Proxmox", keep_guests=["pve/200"], connections=[
            dict(WANTED[2], guest="pve/200")]), "guest 'pve/200' is also in keep_guests"),
        "no concurrency": (dict(root="Proxmox", concurrency=0, connections=WANTED[2:]),
                           "concurrency must be 1 or more, got 0"),
        "guest with a newline": (dict(root="Proxmox", connections=[dict(WANTED[2], guest="pve/\n200")]),
                                 "connections[0].guest must be a Guacamole name"),
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


# ----------------------------------------------------------------------------- issue #15, finding 1

REAL = "10.20.0.200"
TENANT = "10.66.6.6"


def guest_entry(name, guest, hostname, **extra):
    return dict({"name": name, "guest": guest, "protocol": "ssh", "parameters": {"hostname": hostname, "port": 22}},
                **extra)


def test_a_guest_named_like_another_never_takes_its_connection(guac, run_playbook):
    """A tenant names its VM (lower vmid) like an existing guest, and the inventory gives the tenant the plain name:
    the existing connection, with its stored password, stays with its guest (renamed as the inventory now names
    it); the tenant gets a new connection, and no READ of the other."""
    root = guac.add_connection_group("Proxmox")
    guac.add_user_group("finance")
    guac.add_user_group("tenants")
    env = guac_env(guac)
    # The connection stores a password; later runs do not give it (it stays, as one typed in the web UI would).
    first = run_playbook(sync_task(root="Proxmox", connections=[
        guest_entry("finance-db", "pve/200", REAL, user_groups=["finance"],
                    parameters={"hostname": REAL, "port": 22, "password": SECRET})]), env=env)
    assert first.rc == 0, first.stdout + first.stderr
    victim = by_path(guac.state())[0]["Proxmox/finance-db"]["identifier"]

    attack = run_playbook(sync_task(root="Proxmox", connections=[
        guest_entry("finance-db", "pve/150", TENANT, user_groups=["tenants"]),
        guest_entry("finance-db-200", "pve/200", REAL, user_groups=["finance"])]), env=env, diff=True)
    assert attack.rc == 0, attack.stdout + attack.stderr
    assert SECRET not in attack.stdout
    result = attack.result("Sync")
    assert result["moved"] == [{"from": "Proxmox/finance-db", "to": "Proxmox/finance-db-200"}]
    assert result["created"] == ["Proxmox/finance-db"] and result["removed"] == []

    state = guac.state()
    connections = by_path(state)[0]
    real, tenant = connections["Proxmox/finance-db-200"], connections["Proxmox/finance-db"]
    assert real["identifier"] == victim and tenant["identifier"] != victim
    assert real["parameters"] == {"hostname": REAL, "port": "22", "password": SECRET, "proxgate-guest": "pve/200"}
    assert tenant["parameters"] == {"hostname": TENANT, "port": "22", "proxgate-guest": "pve/150"}
    assert read_of(state, "tenants") == {"Proxmox/", "Proxmox/finance-db"}
    assert read_of(state, "finance") == {"Proxmox/", "Proxmox/finance-db-200"}
    assert root == by_path(state)[1]["Proxmox"]["identifier"]

    count = len(writes(guac))
    again = run_playbook(sync_task(root="Proxmox", connections=[
        guest_entry("finance-db", "pve/150", TENANT, user_groups=["tenants"]),
        guest_entry("finance-db-200", "pve/200", REAL, user_groups=["finance"])]), env=env)
    assert again.rc == 0 and again.changed == [] and len(writes(guac)) == count, again.stdout


def test_a_name_held_by_a_kept_guest_gives_the_newcomer_a_distinct_name(guac, run_playbook):
    """The guest that has the name is stopped (kept by its identity): the newcomer named like it is published as
    "<name> (<guest>)", reported, and the kept connection is untouched."""
    guac.add_user_group("tenants")
    env = guac_env(guac)
    run_playbook(sync_task(root="Proxmox", connections=[guest_entry("finance-db", "pve/200", REAL)]), env=env)
    kept = by_path(guac.state())[0]["Proxmox/finance-db"]
    task = sync_task(root="Proxmox", keep_guests=["pve/200"], connections=[
        guest_entry("finance-db", "pve/150", TENANT, user_groups=["tenants"])])

    run = run_playbook(task, env=env)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Sync")
    # In a path, a '/' inside a name is written '\/'.
    assert result["renamed"] == [{"name": "finance-db", "published_as": "finance-db (pve/150)", "guest": "pve/150",
                                  "path": "Proxmox/finance-db (pve\\/150)", "held_by": "pve/200"}]
    assert result["kept"] == ["Proxmox/finance-db"] and result["created"] == ["Proxmox/finance-db (pve\\/150)"]
    warnings = result.get("warnings") or []
    assert any("'finance-db' (guest pve/150) is published as 'finance-db (pve/150)'" in warning
               for warning in warnings), warnings
    connections = by_path(guac.state())[0]
    assert connections["Proxmox/finance-db"] == kept
    assert connections["Proxmox/finance-db (pve/150)"]["parameters"]["hostname"] == TENANT  # by_path joins names

    count = len(writes(guac))
    again = run_playbook(task, env=env)
    assert again.rc == 0 and again.changed == [] and len(writes(guac)) == count, again.stdout


def test_a_connection_without_identity_is_taken_only_at_its_own_address(guac, run_playbook):
    """Connections made by hand or by an older version hold no identity: an entry with a guest takes one of its
    name only when it reaches the same host (and stores the identity); one that reaches another host is not
    re-pointed, it is replaced."""
    root = guac.add_connection_group("Proxmox")
    same = guac.add_connection("web01", parameters={"hostname": "10.0.0.1", "port": "22", "password": SECRET},
                               parent=root)
    other = guac.add_connection("db01", parameters={"hostname": "10.0.0.2", "port": "22", "password": SECRET},
                                parent=root)
    env = guac_env(guac)
    task = sync_task(root="Proxmox", connections=[guest_entry("web01", "pve/101", "10.0.0.1"),
                                                  guest_entry("db01", "pve/103", TENANT)])

    run = run_playbook(task, env=env)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Sync")
    assert result["updated"] == ["Proxmox/web01"] and result["created"] == ["Proxmox/db01"]
    assert result["removed"] == ["Proxmox/db01"]
    connections = by_path(guac.state())[0]
    assert connections["Proxmox/web01"]["identifier"] == same
    assert connections["Proxmox/web01"]["parameters"]["proxgate-guest"] == "pve/101"
    assert connections["Proxmox/web01"]["parameters"]["password"] == SECRET
    assert connections["Proxmox/db01"]["identifier"] != other
    assert "password" not in connections["Proxmox/db01"]["parameters"], "the other host's password went with it"

    count = len(writes(guac))
    again = run_playbook(task, env=env)
    assert again.rc == 0 and again.changed == [] and len(writes(guac)) == count, again.stdout


def test_two_guests_that_swap_names_keep_their_connections(guac, run_playbook):
    env = guac_env(guac)
    run_playbook(sync_task(root="Proxmox", connections=[guest_entry("blue", "pve/101", "10.0.0.1"),
                                                        guest_entry("green", "pve/102", "10.0.0.2")]), env=env)
    before = by_path(guac.state())[0]
    count = len(writes(guac))

    swapped = run_playbook(sync_task(root="Proxmox", connections=[guest_entry("green", "pve/101", "10.0.0.1"),
                                                                  guest_entry("blue", "pve/102", "10.0.0.2")]),
                           env=env)
    assert swapped.rc == 0, swapped.stdout + swapped.stderr
    after = by_path(guac.state())[0]
    assert after["Proxmox/green"]["identifier"] == before["Proxmox/blue"]["identifier"]
    assert after["Proxmox/green"]["parameters"]["hostname"] == "10.0.0.1"
    assert after["Proxmox/blue"]["identifier"] == before["Proxmox/green"]["identifier"]
    # Names are unique in a group: one connection takes a spare name first, so three PUTs and nothing else.
    assert [method for method, _path in writes(guac)[count:]] == ["PUT", "PUT", "PUT"]


def test_six_parallel_runs_under_a_new_root_converge(guac, tmp_path):
    """Issue #17, finding 4: six publishes at once under a root that does not exist yet. Each run finds what
    another made a moment before ('already exists') and takes it; all succeed, nothing is made twice, and a
    rerun writes nothing."""
    from tests.integration.conftest import BIN, run_ansible_playbook

    connections = [guest_entry(f"web{n:02d}", f"pve/{100 + n}", f"10.0.0.{n}", group="production",
                               user_groups=["operators"]) for n in range(1, 7)]
    play = [{"name": "Publish", "hosts": "all", "gather_facts": False, "tasks": [
        {"name": "Sync", "proxgate.core.guacamole_sync_connections": {
            "root": "Clusters/New", "connections": connections, "create_user_groups": True}}]}]
    playbook = tmp_path / "parallel.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    command = [str(BIN / "ansible-playbook"), "-i", "run1,run2,run3,run4,run5,run6,", "-c", "local", "-f", "6",
               "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)]

    workdir = tmp_path / "parallel"
    workdir.mkdir()
    run = run_ansible_playbook(command, workdir, guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    state = guac.state()
    connections_by_path, groups = by_path(state)
    assert sorted(connections_by_path) == [f"Clusters/New/production/web{n:02d}" for n in range(1, 7)]
    assert sorted(groups) == ["Clusters", "Clusters/New", "Clusters/New/production"]
    assert list(state["user_groups"]) == ["operators"]
    assert read_of(state, "operators") >= {"Clusters/New/", "Clusters/New/production/web01"}

    count = len(writes(guac))
    again_dir = tmp_path / "again"
    again_dir.mkdir()
    again = run_ansible_playbook(command, again_dir, guac_env(guac))
    assert again.rc == 0 and again.changed == [] and len(writes(guac)) == count, again.stdout

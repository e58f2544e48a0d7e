"""guacapy (PyPI), a Guacamole REST client that nobody here wrote, against the Guacamole emulator of 1.5.5 and
1.6.0: if the emulator answered in a way only our own client expects, guacapy would trip on it.

Every call guacapy makes is checked against the server state it should have changed. Where guacapy and the
emulator disagree, the guacamole-client source settles it (see test_get_by_name_expects_a_tree: there guacapy
is wrong against a real server too). guacapy kills a session with DELETE activeConnections/<id>, which the
emulator did not answer before this suite (issue #14, item 9).
"""
from __future__ import annotations

import copy
from urllib.parse import urlsplit

import pytest
import requests
from guacapy import Guacamole
from guacapy.managers.connections import ConnectionManager

from tests.emulators.guacamole import GuacamoleEmulator

VERSIONS = ("1.5.5", "1.6.0")


@pytest.fixture(params=VERSIONS)
def emu(request):
    emulator = GuacamoleEmulator(version=request.param)
    emulator.start()
    yield emulator
    emulator.stop()


def client(emu, username="guacadmin", password="guacadmin") -> Guacamole:
    url = urlsplit(emu.url)
    return Guacamole(hostname=url.hostname, username=username, password=password, connection_protocol="http",
                     connection_port=url.port, base_url_path=url.path.rstrip("/") + "/", ssl_verify=True)


def ssh_payload(name, hostname, **extra):
    payload = copy.deepcopy(ConnectionManager.SSH_TEMPLATE)
    payload.update({"name": name, "parameters": {"hostname": hostname, "port": "22", "username": "deploy",
                                                 "password": "Secr3t-pw"}}, **extra)
    return payload


def test_connections_round_trip(emu):
    guac = client(emu)
    created = guac.connections.create(ssh_payload("web01", "10.0.0.1"))
    identifier = created["identifier"]
    assert guac.connections.create(ssh_payload("web01", "10.0.0.9")) is None, "a duplicate name is a 400"
    assert set(guac.connections.list()) == {identifier}
    details = guac.connections.details(identifier)
    assert details["name"] == "web01" and details["protocol"] == "ssh" and details["parentIdentifier"] == "ROOT"
    assert guac.connections.parameters(identifier) == {"hostname": "10.0.0.1", "port": "22", "username": "deploy",
                                                       "password": "Secr3t-pw"}

    changed = ssh_payload("web01", "10.0.0.2", identifier=identifier)
    guac.connections.update(identifier, changed)
    assert emu.state()["connections"][identifier]["parameters"]["hostname"] == "10.0.0.2"
    guac.connections.delete(identifier)
    assert emu.state()["connections"] == {}


def test_get_by_name_expects_a_tree(emu):
    """guacapy's get_by_name walks childConnections of what GET connections returns, but that is a map of the
    connections by identifier (rest/directory/DirectoryResource.getObjects returns Map<String, ExternalType>);
    the tree is GET connectionGroups/ROOT/tree (rest/connectiongroup/ConnectionGroupResource.getConnectionGroupTree).
    So get_by_name fails against a real server as it does here: the emulator is right, guacapy is not."""
    guac = client(emu)
    identifier = guac.connections.create(ssh_payload("web01", "10.0.0.1"))["identifier"]
    listed = guac.connections.list()
    assert listed[identifier]["name"] == "web01" and "childConnections" not in listed
    with pytest.raises(KeyError):
        guac.connections.get_by_name("web01")
    tree = requests.get(f"{guac.base_url}/session/data/{guac.primary_datasource}/connectionGroups/ROOT/tree",
                        headers={"Guacamole-Token": guac.token}, timeout=10).json()
    assert [c["name"] for c in tree["childConnections"]] == ["web01"]


def test_connection_groups(emu):
    guac = client(emu)
    body = {"name": "Lab", "parentIdentifier": "ROOT", "type": "ORGANIZATIONAL",
            "attributes": {"max-connections": "", "max-connections-per-user": "", "enable-session-affinity": ""}}
    identifier = guac.connection_groups.create(body)["identifier"]
    assert guac.connection_groups.details(identifier)["name"] == "Lab"
    guac.connection_groups.update(identifier, dict(body, name="Lab2"))
    assert emu.state()["connection_groups"][identifier]["name"] == "Lab2"
    guac.connection_groups.delete(identifier)
    assert emu.state()["connection_groups"] == {}


def test_users_groups_and_permissions(emu):
    guac = client(emu)
    connection = guac.connections.create(ssh_payload("web01", "10.0.0.1"))["identifier"]
    guac.users.create({"username": "alice", "password": "Al1ce-pw", "attributes": {"guac-full-name": "Alice"}})
    assert guac.users.user_details("alice")["attributes"]["guac-full-name"] == "Alice"

    guac.users.assign_connection("alice", connection)
    assert guac.users.user_permissions("alice")["connectionPermissions"] == {connection: ["READ"]}
    guac.users.revoke_connection("alice", connection)
    assert guac.users.user_permissions("alice")["connectionPermissions"] == {}

    guac.user_groups.create({"identifier": "ops", "attributes": {}})
    guac.users.assign_usergroups("alice", "ops")
    assert guac.users.user_usergroups("alice") == ["ops"]
    assert "alice" in emu.state()["user_groups"]["ops"]["memberUsers"]

    guac.permissions.assign_system_permission("alice", "CREATE_CONNECTION")
    assert "CREATE_CONNECTION" in guac.users.user_effective_permissions("alice")["systemPermissions"]

    guac.users.update("alice", {"username": "alice", "attributes": {"guac-full-name": "Alice B"}})
    assert guac.users.user_details("alice")["attributes"]["guac-full-name"] == "Alice B"
    alice = client(emu, "alice", "Al1ce-pw")
    assert alice.users.self_details()["username"] == "alice"
    # "Change own password" is UPDATE on oneself (jdbc/user/UserService.beforeUpdate); without it: 403.
    emu.grant("alice", "UPDATE", "user", "alice")
    alice.users.update_password("alice", "Al1ce-pw", "Al1ce-new-pw")
    assert client(emu, "alice", "Al1ce-new-pw").token
    guac.users.delete("alice")
    assert "alice" not in emu.state()["users"]


def test_sharing_profiles(emu):
    guac = client(emu)
    connection = guac.connections.create(ssh_payload("web01", "10.0.0.1"))["identifier"]
    profile = guac.sharing_profiles.create({"name": "watch", "primaryConnectionIdentifier": connection,
                                            "parameters": {"read-only": "true"}, "attributes": {}})
    identifier = profile["identifier"]
    assert set(guac.sharing_profiles.list()) == {identifier}
    assert guac.sharing_profiles.parameters(identifier) == {"read-only": "true"}
    guac.sharing_profiles.delete(identifier)
    assert guac.sharing_profiles.list() == {}


def test_active_connections_are_listed_and_killed(emu):
    """guacapy ends a session with DELETE activeConnections/<id>: rest/activeconnection/ActiveConnectionResource
    extends DirectoryObjectResource, whose deleteObject ends it."""
    guac = client(emu)
    emu.add_user("bob", "pw")
    connection = guac.connections.create(ssh_payload("web01", "10.0.0.1"))["identifier"]
    session = emu.simulate_session("bob", connection)
    assert set(guac.active_connections.list()) == {session}
    assert guac.active_connections.details(session)["connectionIdentifier"] == connection
    guac.active_connections.kill(session)
    assert guac.active_connections.list() == {}


def test_schema_and_logout(emu):
    guac = client(emu)
    assert set(guac.schema.protocols()) == {"kubernetes", "rdp", "ssh", "telnet", "vnc"}
    forms = {form["name"] for form in guac.schema.user_attributes()}
    assert {"profile", "restrictions"} <= forms
    guac.logout()
    reply = requests.get(f"{guac.base_url}/session/data/{guac.primary_datasource}/connections",
                         headers={"Guacamole-Token": guac.token}, timeout=10)
    assert reply.status_code == 403, "the token is gone"

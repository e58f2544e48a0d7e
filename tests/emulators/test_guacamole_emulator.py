"""Tests of the Guacamole REST API emulator, driven over real HTTP(S)."""
from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import os
import queue
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.emulators.guacamole import GuacamoleEmulator

REPO_ROOT = Path(__file__).resolve().parents[2]
DS = "postgresql"
ERROR_KEYS = {"message", "translatableMessage", "statusCode", "expected", "patches", "type"}


class Reply:
    def __init__(self, status: int, body: bytes, headers: http.client.HTTPMessage) -> None:
        self.status = status
        self.raw = body
        self.headers = headers
        self.json: Any = json.loads(body) if body and "json" in (headers.get("Content-Type") or "") else None

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.raw[:300]!r}>"


def call(base: str, method: str, path: str, *, token: str | None = None, body: Any = None,
         form: dict | None = None, headers: dict | None = None,
         context: ssl.SSLContext | None = None, timeout: float = 10, raw: bytes | None = None) -> Reply:
    parts = urlsplit(base)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    sent_headers = dict(headers or {})
    payload = raw
    if form is not None:
        payload = urlencode(form).encode()
        sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        payload = json.dumps(body).encode()
        sent_headers["Content-Type"] = "application/json"
    if token is not None:
        sent_headers["Guacamole-Token"] = token
    try:
        conn.request(method, parts.path + path, body=payload, headers=sent_headers)
        response = conn.getresponse()
        return Reply(response.status, response.read(), response.headers)
    finally:
        conn.close()


def login(base: str, username: str = "guacadmin", password: str = "guacadmin", **extra) -> str:
    reply = call(base, "POST", "/api/tokens", form={"username": username, "password": password,
                                                    **extra})
    assert reply.status == 200, reply
    return reply.json["authToken"]


def assert_error(reply: Reply, status: int, error_type: str, message: str | None = None) -> None:
    assert reply.status == status, reply
    assert set(reply.json) == ERROR_KEYS, reply.json
    assert reply.json["type"] == error_type
    assert reply.json["statusCode"] is None
    assert reply.json["translatableMessage"]["key"]
    if message is not None:
        assert reply.json["message"] == message


def assert_jackson_error(reply: Reply, *words: str) -> None:
    """A body Jackson cannot read: Jersey's JsonMappingExceptionMapper / JsonParseExceptionMapper answer 400
    with the exception's message as text/plain, no Guacamole error body."""
    assert reply.status == 400, reply
    assert reply.headers.get("Content-Type") == "text/plain" and reply.json is None, reply
    text = reply.raw.decode()
    assert all(word in text for word in words), text


class Api:
    """Shorthand for calls under /api/session/data/{ds} with a token."""

    def __init__(self, base: str, token: str, ds: str = DS) -> None:
        self.base, self.token, self.ds = base, token, ds

    def __call__(self, method: str, path: str, body: Any = None, ds: str | None = None) -> Reply:
        return call(self.base, method, f"/api/session/data/{ds or self.ds}{path}",
                    token=self.token, body=body)


def ssh_connection(name: str = "web", parent: str = "ROOT", **parameters) -> dict:
    params = {"hostname": "web.example", "port": "22", "username": "root",
              "password": "s3cret-pw", **parameters}
    return {"name": name, "parentIdentifier": parent, "protocol": "ssh",
            "parameters": params, "attributes": {"max-connections": "2"}}


@pytest.fixture
def emu():
    emulator = GuacamoleEmulator(version="1.6.0")
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emu15():
    emulator = GuacamoleEmulator(version="1.5.5")
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def admin(emu) -> Api:
    return Api(emu.url, login(emu.url))


# --- authentication -------------------------------------------------------------


def test_login_returns_token_and_data_sources(emu):
    reply = call(emu.url, "POST", "/api/tokens",
                 form={"username": "guacadmin", "password": "guacadmin"})
    assert reply.status == 200
    assert len(reply.json["authToken"]) == 64
    int(reply.json["authToken"], 16)
    assert reply.json["username"] == "guacadmin"
    assert reply.json["dataSource"] == "postgresql"
    assert reply.json["availableDataSources"] == ["postgresql", "postgresql-shared"]
    assert emu.url.startswith("http://127.0.0.1:") and emu.url.endswith("/guacamole")


def test_bad_credentials_are_403_invalid_credentials(emu):
    reply = call(emu.url, "POST", "/api/tokens",
                 form={"username": "guacadmin", "password": "wrong"})
    assert_error(reply, 403, "INVALID_CREDENTIALS", "Invalid login")
    assert [f["name"] for f in reply.json["expected"]] == ["username", "password"]
    assert_error(call(emu.url, "POST", "/api/tokens", form={"username": "nobody", "password": "x"}),
                 403, "INVALID_CREDENTIALS")


def test_http_basic_login_and_reauthentication_keep_token(emu):
    import base64
    basic = base64.b64encode(b"guacadmin:guacadmin").decode()
    reply = call(emu.url, "POST", "/api/tokens", headers={"Authorization": f"Basic {basic}"})
    assert reply.status == 200, reply
    token = reply.json["authToken"]
    again = call(emu.url, "POST", "/api/tokens", form={"token": token})
    assert again.status == 200 and again.json["authToken"] == token


def test_totp_flow(emu):
    emu.totp_required = True
    first = call(emu.url, "POST", "/api/tokens",
                 form={"username": "guacadmin", "password": "guacadmin"})
    assert_error(first, 403, "INSUFFICIENT_CREDENTIALS")
    assert [f["name"] for f in first.json["expected"]] == ["guac-totp"]
    wrong = call(emu.url, "POST", "/api/tokens",
                 form={"username": "guacadmin", "password": "guacadmin", "guac-totp": "000000"})
    assert_error(wrong, 400, "BAD_REQUEST")
    bad_password = call(emu.url, "POST", "/api/tokens",
                        form={"username": "guacadmin", "password": "nope", "guac-totp": "123456"})
    assert_error(bad_password, 403, "INVALID_CREDENTIALS")
    assert login(emu.url, **{"guac-totp": emu.totp_code})


def test_token_header_query_and_precedence(emu):
    token = login(emu.url)
    path = f"/api/session/data/{DS}/self"
    assert call(emu.url, "GET", path, token=token).status == 200
    assert call(emu.url, "GET", f"{path}?token={token}").status == 200
    # The header wins when both are present.
    assert call(emu.url, "GET", f"{path}?token=BOGUS", token=token).status == 200
    assert_error(call(emu.url, "GET", f"{path}?token={token}", token="BOGUS"),
                 403, "PERMISSION_DENIED")
    assert_error(call(emu.url, "GET", path), 403, "PERMISSION_DENIED")


def test_logout_and_session_endpoints(emu):
    token = login(emu.url)
    assert call(emu.url, "HEAD", "/api/session", token=token).status == 204
    assert call(emu.url, "DELETE", f"/api/tokens/{token}").status == 204
    assert call(emu.url, "HEAD", "/api/session", token=token).status == 403
    assert_error(call(emu.url, "DELETE", f"/api/tokens/{token}"), 404, "NOT_FOUND", "No such token.")
    other = login(emu.url)
    assert call(emu.url, "DELETE", "/api/session", token=other).status == 204
    assert_error(call(emu.url, "GET", f"/api/session/data/{DS}/self", token=other),
                 403, "PERMISSION_DENIED")


def test_head_session_only_on_16(emu15):
    token = login(emu15.url)
    assert call(emu15.url, "HEAD", "/api/session", token=token).status == 405


def test_expire_tokens(emu, admin):
    assert admin("GET", "/connections").status == 200
    emu.expire_tokens()
    assert_error(admin("GET", "/connections"), 403, "PERMISSION_DENIED")
    history = emu.state()["login_history"]
    assert history and all(record["endDate"] is not None for record in history)


# --- connections -----------------------------------------------------------------


def test_connection_crud_with_parameters_and_full_replacement(admin):
    created = admin("POST", "/connections", ssh_connection(**{"private-key": "KEY", "port": ""}))
    assert created.status == 200, created
    identifier = created.json["identifier"]
    assert identifier == "1"
    assert created.json["name"] == "web" and created.json["parameters"]["hostname"] == "web.example"

    listed = admin("GET", "/connections").json
    assert set(listed) == {identifier}
    assert "parameters" not in listed[identifier]
    one = admin("GET", f"/connections/{identifier}").json
    assert "parameters" not in one
    assert one["parentIdentifier"] == "ROOT" and one["protocol"] == "ssh"
    assert one["attributes"]["max-connections"] == "2"
    assert one["attributes"]["guacd-encryption"] is None

    parameters = admin("GET", f"/connections/{identifier}/parameters").json
    # The empty "port" was not stored, like the JDBC extension does.
    assert parameters == {"hostname": "web.example", "username": "root",
                          "password": "s3cret-pw", "private-key": "KEY"}

    replaced = {"name": "web2", "parentIdentifier": "ROOT", "protocol": "ssh",
                "parameters": {"hostname": "other.example"}, "attributes": {}}
    assert admin("PUT", f"/connections/{identifier}", replaced).status == 204
    assert admin("GET", f"/connections/{identifier}/parameters").json == {
        "hostname": "other.example"}
    after = admin("GET", f"/connections/{identifier}").json
    assert after["name"] == "web2" and after["attributes"]["max-connections"] is None

    assert admin("DELETE", f"/connections/{identifier}").status == 204
    assert_error(admin("GET", f"/connections/{identifier}"), 404, "NOT_FOUND",
                 f'Not found: "{identifier}"')


def test_connection_validation_errors(admin):
    assert_error(admin("POST", "/connections", {"protocol": "ssh", "attributes": {}}), 400, "BAD_REQUEST",
                 "Connection names must not be blank.")
    assert_error(admin("POST", "/connections", {"name": "x", "attributes": {}}), 500, "INTERNAL_ERROR")
    assert_error(admin("POST", "/connections", ssh_connection(parent="99")), 500, "INTERNAL_ERROR")
    reply = call(admin.base, "POST", f"/api/session/data/{DS}/connections", token=admin.token,
                 body=None, headers={"Content-Type": "application/json"})
    assert_error(reply, 400, "BAD_REQUEST", "Data must be submitted when creating objects.")
    malformed = call(admin.base, "POST", f"/api/session/data/{DS}/connections",
                     token=admin.token, headers={"Content-Type": "application/json"})
    assert malformed.status == 400
    conn = http.client.HTTPConnection(urlsplit(admin.base).hostname, urlsplit(admin.base).port)
    conn.request("POST", urlsplit(admin.base).path + f"/api/session/data/{DS}/connections",
                 body=b"{not json", headers={"Content-Type": "application/json",
                                             "Guacamole-Token": admin.token})
    response = conn.getresponse()
    assert response.status == 400 and response.getheader("Content-Type") == "text/plain"
    conn.close()
    assert admin("POST", "/connections/1").status in (404, 405)
    assert_error(admin("PUT", "/connections", ssh_connection()), 405, "BAD_REQUEST")


def test_connection_names_unique_within_parent(admin):
    group = admin("POST", "/connectionGroups",
                  {"name": "prod", "parentIdentifier": "ROOT", "type": "ORGANIZATIONAL", "attributes": {}}).json
    assert admin("POST", "/connections", ssh_connection("web")).status == 200
    duplicate = admin("POST", "/connections", ssh_connection("web"))
    assert_error(duplicate, 400, "BAD_REQUEST", 'The connection "web" already exists.')
    inside = admin("POST", "/connections", ssh_connection("web", parent=group["identifier"]))
    assert inside.status == 200
    moved = ssh_connection("web", parent="ROOT")
    assert_error(admin("PUT", f"/connections/{inside.json['identifier']}", moved), 400,
                 "BAD_REQUEST")
    assert_error(admin("POST", "/connectionGroups", {"name": "prod", "type": "ORGANIZATIONAL", "attributes": {}}),
                 400, "BAD_REQUEST", 'The connection group "prod" already exists.')


def test_group_tree_and_cascading_delete(emu, admin):
    prod = admin("POST", "/connectionGroups", {"name": "prod", "type": "ORGANIZATIONAL", "attributes": {}}).json
    web_group = {"name": "web", "type": "BALANCING", "parentIdentifier": prod["identifier"], "attributes": {}}
    web = admin("POST", "/connectionGroups", web_group).json
    leaf = admin("POST", "/connections", ssh_connection("leaf", parent=web["identifier"])).json
    top = admin("POST", "/connections", ssh_connection("top")).json

    tree = admin("GET", "/connectionGroups/ROOT/tree").json
    assert tree["identifier"] == "ROOT" and tree["name"] == "ROOT"
    assert [c["identifier"] for c in tree["childConnections"]] == [top["identifier"]]
    (prod_node,) = tree["childConnectionGroups"]
    assert "childConnections" not in prod_node  # child lists only appear when non-empty
    (web_node,) = prod_node["childConnectionGroups"]
    assert web_node["type"] == "BALANCING"
    assert web_node["childConnections"][0]["name"] == "leaf"
    assert "parameters" not in web_node["childConnections"][0]
    subtree = admin("GET", f"/connectionGroups/{web['identifier']}/tree").json
    assert subtree["childConnections"][0]["identifier"] == leaf["identifier"]

    cycle = {"name": "prod", "type": "ORGANIZATIONAL", "parentIdentifier": web["identifier"], "attributes": {}}
    assert admin("PUT", f"/connectionGroups/{prod['identifier']}", cycle).status == 501

    admin("PATCH", "/users/guacadmin/permissions", [])
    assert admin("DELETE", f"/connectionGroups/{prod['identifier']}").status == 204
    state = emu.state()
    assert set(state["connections"]) == {top["identifier"]}
    assert state["connection_groups"] == {}
    assert leaf["identifier"] not in state["users"]["guacadmin"]["permissions"][
        "connectionPermissions"]


def test_identifiers_and_data_source_separation(emu, admin):
    first = admin("POST", "/connections", ssh_connection("a")).json["identifier"]
    second = admin("POST", "/connections", ssh_connection("b")).json["identifier"]
    assert (first, second) == ("1", "2")
    shared = admin("POST", "/connections", ssh_connection("a"), ds="postgresql-shared").json
    assert shared["identifier"] == "1"
    assert set(admin("GET", "/connections", ds="postgresql-shared").json) == {"1"}
    assert admin("GET", "/connections/2", ds="postgresql-shared").status == 404
    assert admin("GET", "/connections/1", ds="postgresql-shared").json["name"] == "a"
    assert_error(admin("GET", "/connections", ds="nosuch"), 404, "NOT_FOUND")
    assert set(emu.state("postgresql-shared")["connections"]) == {"1"}


# --- permissions ---------------------------------------------------------------------


def test_permission_patch_semantics(emu, admin):
    emu.add_user("bob", "pw")
    connection = admin("POST", "/connections", ssh_connection()).json["identifier"]
    path = f"/connectionPermissions/{connection}"
    good = [{"op": "add", "path": path, "value": "READ"},
            {"op": "add", "path": "/systemPermissions", "value": "CREATE_CONNECTION"}]
    assert admin("PATCH", "/users/bob/permissions", good).status == 204
    perms = admin("GET", "/users/bob/permissions").json
    assert perms["connectionPermissions"] == {connection: ["READ"]}
    assert perms["systemPermissions"] == ["CREATE_CONNECTION"]
    assert perms["userPermissions"] == {"bob": ["READ"]}
    assert set(perms) == {"connectionPermissions", "connectionGroupPermissions",
                          "sharingProfilePermissions", "activeConnectionPermissions",
                          "userPermissions", "userGroupPermissions", "systemPermissions"}

    before = admin("GET", "/users/bob/permissions").json
    as_list = [{"op": "add", "path": path, "value": ["UPDATE"]}]
    assert_jackson_error(admin("PATCH", "/users/bob/permissions", as_list))
    bad_path = [{"op": "add", "path": "/connectionPermission/1", "value": "READ"}]
    assert_error(admin("PATCH", "/users/bob/permissions", bad_path), 400, "BAD_REQUEST",
                 'Unsupported patch path: "/connectionPermission/1"')
    bad_op = [{"op": "replace", "path": path, "value": "UPDATE"}]
    reply = admin("PATCH", "/users/bob/permissions", bad_op)
    assert_error(reply, 400, "BAD_REQUEST")
    assert reply.json["message"].startswith("Unsupported patch operation")
    # An unknown permission value fails in the server's enum lookup: 500.
    atomic = [{"op": "add", "path": path, "value": "UPDATE"},
              {"op": "add", "path": path, "value": "READ_ALL"}]
    assert_error(admin("PATCH", "/users/bob/permissions", atomic), 500, "INTERNAL_ERROR")
    assert admin("GET", "/users/bob/permissions").json == before  # nothing was applied

    remove = [{"op": "remove", "path": path, "value": "READ"}]
    assert admin("PATCH", "/users/bob/permissions", remove).status == 204
    assert admin("GET", "/users/bob/permissions").json["connectionPermissions"] == {}


def test_audit_is_a_16_permission(emu15):
    api = Api(emu15.url, login(emu15.url))
    patch = [{"op": "add", "path": "/systemPermissions", "value": "AUDIT"}]
    assert_error(api("PATCH", "/users/guacadmin/permissions", patch), 500, "INTERNAL_ERROR")


def test_creator_gets_all_object_permissions_and_filter(emu, admin):
    emu.add_user("carol", "pw", system_permissions=["CREATE_CONNECTION"])
    carol = Api(emu.url, login(emu.url, "carol", "pw"))
    mine = carol("POST", "/connections", ssh_connection("mine")).json["identifier"]
    theirs = admin("POST", "/connections", ssh_connection("theirs")).json["identifier"]
    perms = carol("GET", "/self/permissions").json["connectionPermissions"]
    assert perms == {mine: ["READ", "UPDATE", "DELETE", "ADMINISTER"]}
    emu.grant("carol", "READ", "connection", theirs)
    assert set(carol("GET", "/connections").json) == {mine, theirs}
    assert set(carol("GET", "/connections?permission=UPDATE").json) == {mine}
    assert set(carol("GET", "/connections?permission=READ").json) == {mine, theirs}
    assert set(admin("GET", "/connections?permission=UPDATE").json) == {mine, theirs}


def test_non_admin_permission_checks(emu, admin):
    emu.add_user("bob", "pw")
    bob = Api(emu.url, login(emu.url, "bob", "pw"))
    connection = admin("POST", "/connections", ssh_connection()).json["identifier"]

    assert bob("GET", "/connections").json == {}
    assert_error(bob("GET", f"/connections/{connection}"), 404, "NOT_FOUND")
    assert_error(bob("DELETE", f"/connections/{connection}"), 404, "NOT_FOUND")
    assert_error(bob("POST", "/connections", ssh_connection("b")), 403, "PERMISSION_DENIED",
                 "Permission denied.")
    assert_error(bob("GET", "/users/guacadmin"), 404, "NOT_FOUND")
    assert set(bob("GET", "/users").json) == {"bob"}

    emu.grant("bob", "READ", "connection", connection)
    assert bob("GET", f"/connections/{connection}").status == 200
    assert_error(bob("GET", f"/connections/{connection}/parameters"), 403, "PERMISSION_DENIED")
    assert_error(bob("PUT", f"/connections/{connection}", ssh_connection()), 403,
                 "PERMISSION_DENIED")
    assert_error(bob("DELETE", f"/connections/{connection}"), 403, "PERMISSION_DENIED")
    grant = [{"op": "add", "path": f"/connectionPermissions/{connection}", "value": "UPDATE"}]
    assert_error(bob("PATCH", "/users/bob/permissions", grant), 403, "PERMISSION_DENIED")

    emu.grant("bob", "UPDATE", "connection", connection)
    assert bob("GET", f"/connections/{connection}/parameters").json["password"] == "s3cret-pw"
    assert bob("PUT", f"/connections/{connection}", ssh_connection("renamed")).status == 204

    emu.grant("bob", "CREATE_CONNECTION")
    assert bob("POST", "/connections", ssh_connection("bobs")).status == 200
    emu.grant("bob", "ADMINISTER")
    assert bob("GET", "/users/guacadmin").status == 200


def test_memberships_and_effective_permissions(emu, admin):
    emu.add_user("bob", "pw")
    connection = admin("POST", "/connections", ssh_connection()).json["identifier"]
    for name in ("ops", "staff"):
        assert admin("POST", "/userGroups", {"identifier": name, "attributes": {}}).status == 200
    group_grant = [{"op": "add", "path": f"/connectionPermissions/{connection}",
                    "value": "READ"}]
    assert admin("PATCH", "/userGroups/staff/permissions", group_grant).status == 204

    add_bob = [{"op": "add", "path": "/", "value": "bob"}]
    assert admin("PATCH", "/userGroups/ops/memberUsers", add_bob).status == 204
    nest = [{"op": "add", "path": "/", "value": "staff"}]
    assert admin("PATCH", "/userGroups/ops/userGroups", nest).status == 204

    assert admin("GET", "/userGroups/ops/memberUsers").json == ["bob"]
    assert admin("GET", "/users/bob/userGroups").json == ["ops"]
    assert admin("GET", "/userGroups/staff/memberUserGroups").json == ["ops"]
    assert admin("GET", "/users/bob/permissions").json["connectionPermissions"] == {}
    effective = admin("GET", "/users/bob/effectivePermissions").json
    assert effective["connectionPermissions"] == {connection: ["READ"]}
    bob = Api(emu.url, login(emu.url, "bob", "pw"))
    assert set(bob("GET", "/connections").json) == {connection}

    bad_path = [{"op": "add", "path": "/bob", "value": "bob"}]
    assert_error(admin("PATCH", "/userGroups/ops/memberUsers", bad_path), 400, "BAD_REQUEST",
                 'Unsupported patch path: "/bob"')
    leave = [{"op": "remove", "path": "/", "value": "ops"}]
    assert admin("PATCH", "/users/bob/userGroups", leave).status == 204
    assert bob("GET", "/connections").json == {}


# --- users ------------------------------------------------------------------------


def test_disabled_on_16_is_a_top_level_boolean(emu, admin):
    created = admin("POST", "/users", {"username": "dave", "password": "pw", "disabled": True,
                                       "attributes": {"guac-full-name": "Dave"}})
    assert created.status == 200
    user = admin("GET", "/users/dave").json
    assert user["disabled"] is True and "disabled" not in user["attributes"]
    assert_error(call(emu.url, "POST", "/api/tokens", form={"username": "dave", "password": "pw"}),
                 403, "INVALID_CREDENTIALS")
    # A 1.6 PUT that leaves `disabled` out re-enables the account; the attribute is ignored.
    update = {"username": "dave", "password": None,
              "attributes": {"guac-full-name": "Dave", "disabled": "true"}}
    assert admin("PUT", "/users/dave", update).status == 204
    assert admin("GET", "/users/dave").json["disabled"] is False
    assert login(emu.url, "dave", "pw")  # password null kept the password
    assert admin("GET", "/users/dave").json["attributes"]["guac-full-name"] == "Dave"
    fields = [f["name"] for form in admin("GET", "/schema/userAttributes").json
              for f in form["fields"]]
    assert "disabled" not in fields


def test_disabled_on_15_is_an_attribute(emu15):
    api = Api(emu15.url, login(emu15.url))
    assert api("POST", "/users", {"username": "dave", "password": "pw",
                                  "attributes": {"disabled": "true"}}).status == 200
    user = api("GET", "/users/dave").json
    assert "disabled" not in user and user["attributes"]["disabled"] == "true"
    assert call(emu15.url, "POST", "/api/tokens",
                form={"username": "dave", "password": "pw"}).status == 403
    # A top-level `disabled` means nothing to 1.5.
    assert api("PUT", "/users/dave", {"username": "dave", "disabled": True,
                                      "attributes": {"disabled": ""}}).status == 204
    assert api("GET", "/users/dave").json["attributes"]["disabled"] == ""
    assert login(emu15.url, "dave", "pw")
    fields = [f["name"] for form in api("GET", "/schema/userAttributes").json
              for f in form["fields"]]
    assert "disabled" in fields
    assert api("GET", "/schema/userPreferenceAttributes").status == 404


def test_passwords_and_self_modification(emu, admin):
    emu.add_user("erin", "old")
    erin = Api(emu.url, login(emu.url, "erin", "old"))
    assert_error(erin("PUT", "/users/erin", {"username": "erin", "password": "hacked"}),
                 403, "PERMISSION_DENIED")
    # 1.6: oneself without a password is an update of preferences (none here) and `disabled`.
    assert admin("PUT", "/users/guacadmin", {"username": "guacadmin", "attributes": {}}).status == 204
    wrong = {"oldPassword": "nope", "newPassword": "new"}
    assert_error(erin("PUT", "/users/erin/password", wrong), 403, "PERMISSION_DENIED")
    right = {"oldPassword": "old", "newPassword": "new"}
    assert_error(erin("PUT", "/users/erin/password", right), 403, "PERMISSION_DENIED")  # no UPDATE on herself
    emu.grant("erin", "UPDATE", "user", "erin")
    assert erin("PUT", "/users/erin/password", right).status == 204
    assert login(emu.url, "erin", "new")
    assert admin("PUT", "/users/erin", {"username": "erin", "password": "reset",
                                        "attributes": {}}).status == 204
    assert emu.state()["users"]["erin"]["password"] == "reset"
    assert_error(admin("DELETE", "/users/guacadmin"), 501, "INTERNAL_ERROR")


def test_deleting_a_user_removes_its_permissions(emu, admin):
    assert admin("POST", "/users", {"username": "frank", "password": "pw",
                                    "attributes": {}}).status == 200
    grant = [{"op": "add", "path": "/systemPermissions", "value": "CREATE_USER"}]
    admin("PATCH", "/users/frank/permissions", grant)
    assert "frank" in admin("GET", "/self/permissions").json["userPermissions"]
    assert admin("DELETE", "/users/frank").status == 204
    assert "frank" not in admin("GET", "/self/permissions").json["userPermissions"]
    assert_error(admin("POST", "/users", {"username": "guacadmin", "attributes": {}}), 400, "BAD_REQUEST",
                 'User "guacadmin" already exists.')
    admin("POST", "/users", {"username": "frank", "password": "pw", "attributes": {}})
    assert admin("GET", "/users/frank/permissions").json["systemPermissions"] == []


# --- sessions and history ------------------------------------------------------------


def test_active_connections_kill_ends_history(emu, admin):
    emu.add_user("bob", "pw")
    connection = admin("POST", "/connections", ssh_connection("db")).json["identifier"]
    active_id = emu.simulate_session("bob", connection, remote_host="192.0.2.7")
    listed = admin("GET", "/activeConnections").json
    assert set(listed) == {active_id}
    entry = listed[active_id]
    assert entry["connectionIdentifier"] == connection and entry["username"] == "bob"
    assert entry["remoteHost"] == "192.0.2.7" and isinstance(entry["startDate"], int)
    assert admin("GET", f"/connections/{connection}").json["activeConnections"] == 1

    history = admin("GET", "/history/connections").json
    assert history[0]["active"] is True and history[0]["endDate"] is None
    assert history[0]["connectionName"] == "db"

    kill = [{"op": "remove", "path": f"/{active_id}"}]
    killed = admin("PATCH", "/activeConnections", kill)
    assert killed.status == 200 and killed.json == {"patches": [{"op": "remove", "identifier": active_id,
                                                                "path": f"/{active_id}"}]}
    assert admin("GET", "/activeConnections").json == {}
    record = admin("GET", f"/connections/{connection}/history").json[0]
    assert record["active"] is False and record["endDate"] >= record["startDate"]
    assert admin("PATCH", "/activeConnections",
                 [{"op": "add", "path": "/x"}]).status == 501


def test_history_filtering_and_ordering(emu, admin):
    emu.add_user("bob", "pw")
    web = admin("POST", "/connections", ssh_connection("web-01")).json["identifier"]
    db = admin("POST", "/connections", ssh_connection("db-01")).json["identifier"]
    for connection, user in ((web, "bob"), (db, "bob"), (web, "guacadmin")):
        emu.end_simulated_session(emu.simulate_session(user, connection))
        time.sleep(0.002)

    everything = admin("GET", "/history/connections").json
    assert len(everything) == 3
    starts = [r["startDate"] for r in everything]
    assert starts == sorted(starts, reverse=True)
    ascending = admin("GET", "/history/connections?order=startDate").json
    assert [r["startDate"] for r in ascending] == sorted(starts)
    webs = admin("GET", "/history/connections?contains=web&order=-startDate").json
    assert [r["connectionName"] for r in webs] == ["web-01", "web-01"]
    both = admin("GET", "/history/connections?contains=web&contains=bob").json
    assert [(r["connectionName"], r["username"]) for r in both] == [("web-01", "bob")]
    assert_error(admin("GET", "/history/connections?order=endDate"), 400, "BAD_REQUEST",
                 'Invalid sort property: "endDate"')
    logins = admin("GET", "/history/users?contains=guacadmin").json
    assert logins and all(r["username"] == "guacadmin" for r in logins)


# --- schema ------------------------------------------------------------------------------


def test_schema_protocols_and_attributes(admin):
    protocols = admin("GET", "/schema/protocols").json
    assert set(protocols) >= {"vnc", "rdp", "ssh", "telnet", "kubernetes"}

    def names(protocol: str) -> set[str]:
        return {f["name"] for form in protocols[protocol]["connectionForms"]
                for f in form["fields"]}

    assert {"hostname", "port", "username", "password", "private-key", "passphrase",
            "host-key", "font-name", "color-scheme", "enable-sftp",
            "sftp-root-directory", "recording-path"} <= names("ssh")
    assert {"security", "ignore-cert", "domain", "width", "height", "dpi",
            "sftp-private-key", "gateway-password"} <= names("rdp")
    assert {"namespace", "pod", "client-key"} <= names("kubernetes")
    private_key = [f for form in protocols["ssh"]["connectionForms"] for f in form["fields"]
                   if f["name"] == "private-key"]
    assert private_key == [{"name": "private-key", "type": "MULTILINE"}]
    connection_attrs = {f["name"] for form in admin("GET", "/schema/connectionAttributes").json
                        for f in form["fields"]}
    assert {"max-connections", "guacd-encryption", "failover-only"} <= connection_attrs
    for document in ("userGroupAttributes", "connectionGroupAttributes",
                     "sharingProfileAttributes", "userPreferenceAttributes"):
        assert admin("GET", f"/schema/{document}").status == 200


# --- 1.6 directory PATCH ----------------------------------------------------------------


def test_directory_patch_is_atomic_on_16(emu, admin):
    existing = admin("POST", "/connections", ssh_connection("keep")).json["identifier"]
    patch = [{"op": "add", "path": "/", "value": ssh_connection("new-1")},
             {"op": "replace", "path": f"/{existing}", "value": ssh_connection("keep-renamed")}]
    reply = admin("PATCH", "/connections", patch)
    assert reply.status == 200, reply
    outcomes = reply.json["patches"]
    assert [o["op"] for o in outcomes] == ["add", "replace"]
    new_id = outcomes[0]["identifier"]
    assert admin("GET", f"/connections/{new_id}").json["name"] == "new-1"

    before = emu.state()["connections"]
    failing = [{"op": "add", "path": "/", "value": ssh_connection("new-2")},
               {"op": "add", "path": "/", "value": ssh_connection("keep-renamed")},
               {"op": "remove", "path": f"/{new_id}"}]
    failed = admin("PATCH", "/connections", failing)
    assert_error(failed, 400, "BAD_REQUEST", "The provided patches failed to apply.")
    assert failed.json["patches"][1]["error"]["variables"]["MESSAGE"] == (
        'The connection "keep-renamed" already exists.')
    assert failed.json["patches"][0]["identifier"] is None
    assert emu.state()["connections"] == before

    assert_error(admin("PATCH", "/connections", patch, ds="postgresql-shared"), 501,
                 "INTERNAL_ERROR")


def test_directory_patch_on_15_only_removes(emu15):
    api = Api(emu15.url, login(emu15.url))
    identifier = api("POST", "/connections", ssh_connection()).json["identifier"]
    add = [{"op": "add", "path": "/", "value": ssh_connection("other")}]
    assert api("PATCH", "/connections", add).status == 501
    assert api("PATCH", "/connections", [{"op": "remove", "path": f"/{identifier}"}]).status == 204
    assert api("GET", "/connections").json == {}


# --- faults ----------------------------------------------------------------------------


def test_fail_next_drop_next_and_latency(emu, admin):
    emu.fail_next(status=503, count=2, path_contains="/connections")
    assert_error(admin("GET", "/connections"), 503, "INTERNAL_ERROR")
    assert admin("GET", "/users").status == 200  # does not match the filter
    assert admin("GET", "/connections").status == 503
    assert admin("GET", "/connections").status == 200

    emu.fail_next(status=500)
    assert admin("POST", "/connections", ssh_connection()).status == 500
    assert emu.state()["connections"] == {}  # the failed request changed nothing

    emu.drop_next(count=1, path_contains="/users")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        admin("GET", "/users")
    assert admin("GET", "/users").status == 200

    emu.latency = 0.2
    started = time.monotonic()
    assert admin("GET", "/self").status == 200
    assert time.monotonic() - started >= 0.2
    emu.latency = 0


# --- request log -----------------------------------------------------------------------


def test_request_log_redacts_secrets(emu, admin):
    emu.add_user("bob", "bobs-pw")
    bob_token = login(emu.url, "bob", "bobs-pw")
    created = admin("POST", "/connections", ssh_connection(
        **{"private-key": "PRIVATE-KEY-DATA", "passphrase": "phrase-123",
           "sftp-password": "sftp-secret"}))
    admin("POST", "/users", {"username": "gina", "password": "gina-pw", "attributes": {}})
    bob = Api(emu.url, bob_token)
    bob("PUT", "/users/bob/password", {"oldPassword": "bobs-pw", "newPassword": "next-pw"})
    call(emu.url, "GET", f"/api/session/data/{DS}/self?token={bob_token}")
    admin("DELETE", f"/connections/{created.json['identifier']}")
    call(emu.url, "DELETE", f"/api/tokens/{bob_token}")

    log = json.dumps(emu.requests)
    for secret in ("guacadmin\"", "bobs-pw", "s3cret-pw", "PRIVATE-KEY-DATA", "phrase-123",
                   "sftp-secret", "gina-pw", "next-pw", admin.token, bob_token):
        assert secret not in log, secret
    assert "password=guacadmin" not in log
    assert any(entry[1].endswith("?token=********") for entry in emu.requests)

    writes = emu.write_requests()
    assert [(m, p.split("/api/")[1]) for m, p, _unused in writes] == [
        ("POST", f"session/data/{DS}/connections"),
        ("POST", f"session/data/{DS}/users"),
        ("PUT", f"session/data/{DS}/users/bob/password"),
        ("DELETE", f"session/data/{DS}/connections/1"),
    ]
    assert json.loads(writes[0][2])["parameters"]["hostname"] == "web.example"


# --- transport ---------------------------------------------------------------------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "guacamole-emulator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     crl_sign=True, encipher_only=False, decipher_only=False),
                       critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_with_self_signed_certificate(tmp_path):
    cert, key = _self_signed(tmp_path)
    with GuacamoleEmulator(certfile=str(cert), keyfile=str(key)) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert))
        reply = call(emu.url, "POST", "/api/tokens", context=context,
                     form={"username": "guacadmin", "password": "guacadmin"})
        assert reply.status == 200
        token = reply.json["authToken"]
        assert call(emu.url, "GET", f"/api/session/data/{DS}/self", token=token,
                    context=context).json["username"] == "guacadmin"
        with pytest.raises(ssl.SSLError):
            call(emu.url, "GET", "/api/session", context=ssl.create_default_context())


def test_cli_starts_serves_seed_and_stops(tmp_path):
    seed = {"users": [{"username": "seeded", "password": "pw",
                       "system_permissions": ["CREATE_CONNECTION"]}],
            "connections": [{"name": "from-seed", "protocol": "rdp",
                             "parameters": {"hostname": "w1"}}],
            "grants": [{"subject": "seeded", "permission": "READ", "kind": "connection",
                        "identifier": "1"}]}
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.guacamole", "--host", "127.0.0.1",
         "--port", "0", "--version", "1.5.5", "--admin-password", "topsecret",
         "--state", str(seed_file)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=15)
        assert line.startswith("guacamole-emulator listening on http://127.0.0.1:"), line
        base = line.rsplit(" ", 1)[1].strip()
        assert base.endswith("/guacamole")
        assert call(base, "POST", "/api/tokens",
                    form={"username": "guacadmin", "password": "guacadmin"}).status == 403
        login(base, "guacadmin", "topsecret")
        seeded = Api(base, login(base, "seeded", "pw"))
        assert [c["name"] for c in seeded("GET", "/connections").json.values()] == ["from-seed"]
        assert "disabled" not in seeded("GET", "/self").json  # --version 1.5.5 took effect
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        finally:
            process.stdout.close()
            process.stderr.close()
    assert process.returncode == 0

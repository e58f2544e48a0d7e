"""Tests of the rustguac REST API emulator, driven over real HTTP(S)."""
from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from fakepve.certs import make_cert

from tests.emulators.rustguac import RustguacEmulator

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "rg-admin-0123456789"
FOLDERS = "/api/addressbook/folders"


class Reply:
    def __init__(self, status: int, body: bytes, headers: http.client.HTTPMessage) -> None:
        self.status = status
        self.raw = body
        self.headers = headers
        is_json = "json" in (headers.get("Content-Type") or "")
        self.json: Any = json.loads(body) if body and is_json else None

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.raw[:300]!r}>"


def call(base: str, method: str, path: str, *, key: str | None = None, body: Any = None,
         header: str = "bearer", raw: bytes | None = None, content_type: str = "application/json",
         context: ssl.SSLContext | None = None, timeout: float = 10,
         extra_headers: dict[str, str] | None = None) -> Reply:
    parts = urlsplit(base)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {}
    if key is not None:
        headers.update({"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-API-Key": key})
    headers.update(extra_headers or {})
    payload = raw
    if body is not None:
        payload = json.dumps(body).encode()
    if payload is not None:
        headers["Content-Type"] = content_type
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return Reply(response.status, response.read(), response.headers)
    finally:
        conn.close()


@pytest.fixture
def emu():
    with RustguacEmulator(admin_key=ADMIN_KEY) as emulator:
        yield emulator


@pytest.fixture
def api(emu):
    """api(method, path, key=ADMIN_KEY, **kw) against the running emulator."""
    def run(method: str, path: str, key: str | None = ADMIN_KEY, **kwargs: Any) -> Reply:
        return call(emu.url, method, path, key=key, **kwargs)
    return run


def entries_path(scope: str = "shared", folder: str = "production", entry: str | None = None) -> str:
    path = f"{FOLDERS}/{scope}/{folder}/entries"
    return f"{path}/{quote(entry)}" if entry else path


# --- auth -------------------------------------------------------------------------------------


def test_health_needs_no_auth(api):
    reply = api("GET", "/api/health", key=None)
    assert reply.status == 200
    assert api("GET", "/api/auth/status", key=None).json == {"oidc_enabled": True, "site_title": "rustguac"}


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_admin_key_works_by_bearer_and_x_api_key(api, header):
    reply = api("GET", FOLDERS, header=header)
    assert reply.status == 200, reply
    assert reply.json == []


def test_missing_or_unknown_key_is_401_with_json_error(api):
    for key in (None, "not-a-key", "rgu_not-a-token"):
        reply = api("GET", FOLDERS, key=key)
        assert reply.status == 401, reply
        assert set(reply.json) == {"error"}
    assert api("GET", FOLDERS, key=None, raw=b"", content_type="x").status == 401


def test_malformed_authorization_header_is_401(emu):
    parts = urlsplit(emu.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", FOLDERS, headers={"Authorization": f"Basic {ADMIN_KEY}"})
    assert conn.getresponse().status == 401
    conn.close()


ROLE_CASES = [
    # (method, path, body, lowest role allowed)
    ("GET", FOLDERS, None, "operator"),
    ("POST", FOLDERS, {"scope": "shared", "name": "new", "allowed_groups": []}, "admin"),
    ("PUT", f"{FOLDERS}/shared/production", {"description": "x", "allowed_groups": []}, "admin"),
    ("GET", entries_path(), None, "operator"),
    ("POST", entries_path(), {"name": "n", "type": "ssh", "hostname": "h"}, "admin"),
    ("GET", "/api/admin/group-mappings", None, "admin"),
    ("POST", "/api/admin/group-mappings", {"group": "g", "role": "viewer"}, "admin"),
    ("GET", "/api/users", None, "admin"),
    ("PUT", "/api/users/ann%40example.com/role", {"role": "viewer"}, "admin"),
    ("POST", "/api/users/ann%40example.com/disable", None, "admin"),
    ("GET", "/api/sessions", None, "operator"),
    ("POST", "/api/sessions", {"session_type": "ssh", "hostname": "10.0.0.9"}, "poweruser"),
    ("GET", "/api/recordings", None, "operator"),
    ("DELETE", "/api/recordings/rec1.guac", None, "admin"),
    ("GET", "/api/admin/user-tokens", None, "admin"),
    ("GET", "/api/admin/token-audit", None, "admin"),
]


@pytest.mark.parametrize(("method", "path", "body", "lowest"), ROLE_CASES,
                         ids=[f"{case[0]} {case[1]}" for case in ROLE_CASES])
def test_roles_gate_every_endpoint_group(emu, api, method, path, body, lowest):
    emu.add_folder("shared", "production", allowed_groups=["ops"])
    emu.add_user("ann@example.com", role="operator")
    emu.add_recording("rec1.guac")
    order = ["viewer", "operator", "poweruser", "admin"]
    for role in order:
        key = emu.add_api_key(name=f"k-{role}", role=role, groups=["ops"])
        reply = api(method, path, key=key, body=body)
        if order.index(role) < order.index(lowest):
            assert reply.status == 403, (role, reply)
            assert "require" in reply.json["error"]
        else:
            assert reply.status < 400, (role, reply)
        emu.reset()
        emu.add_folder("shared", "production", allowed_groups=["ops"])
        emu.add_user("ann@example.com", role="operator")
        emu.add_recording("rec1.guac")


def test_denied_call_changes_nothing(emu, api):
    key = emu.add_api_key(name="ops", role="operator")
    assert api("POST", FOLDERS, key=key, body={"scope": "shared", "name": "x", "allowed_groups": []}).status == 403
    assert emu.state()["folders"] == []


# --- folders ----------------------------------------------------------------------------------


def test_folder_crud(emu, api):
    """Round trip; each answer is pinned to its source in test_rustguac_conformance.py."""
    created = api("POST", FOLDERS, body={"scope": "shared", "name": "production",
                                         "allowed_groups": ["engineering", "devops"],
                                         "description": "Production servers"})
    assert (created.status, created.json) == (201, {"ok": True})
    assert api("POST", FOLDERS, body={"scope": "instance", "name": "production", "allowed_groups": []}).status == 201
    updated = api("PUT", f"{FOLDERS}/shared/production", body={"allowed_groups": ["ops"], "description": "Prod"})
    assert (updated.status, updated.json) == (200, {"ok": True})
    config = api("GET", f"{FOLDERS}/shared/production/config").json
    assert config == {"allowed_groups": ["ops"], "description": "Prod", "inherit_from_parent": False}
    listed = api("GET", FOLDERS).json
    assert [(f["scope"], f["name"]) for f in listed] == [("shared", "production"), ("instance", "production")]

    emu.add_entry("shared", "production", "web01", hostname="10.0.0.5")
    deleted = api("DELETE", f"{FOLDERS}/shared/production")
    assert (deleted.status, deleted.json) == (200, {"ok": True, "subfolders_deleted": 0, "entries_deleted": 1})
    state = emu.state()
    assert [f["scope"] for f in state["folders"]] == ["instance"]
    assert state["entries"] == []  # deleted with its folder


def test_folder_listing_filtered_by_group(emu, api):
    emu.add_folder("shared", "production", allowed_groups=["ops"])
    emu.add_folder("shared", "lab", allowed_groups=["dev"])
    emu.add_folder("instance", "nobody", allowed_groups=[])
    ops = emu.add_api_key(name="ops", role="operator", groups=["ops"])
    assert [f["name"] for f in api("GET", FOLDERS, key=ops).json] == ["production"]
    assert len(api("GET", FOLDERS).json) == 3  # admins see all
    emu.add_entry("shared", "lab", "box")
    denied = api("GET", entries_path(folder="lab"), key=ops)
    assert (denied.status, denied.json) == (403, {"error": "no access to this folder"})
    assert api("GET", entries_path(folder="production"), key=ops).json == []


def test_body_errors_are_axum_style(api):
    reply = api("POST", FOLDERS, raw=b"{nope")
    assert reply.status == 400 and reply.raw.startswith(b"Failed to parse the request body as JSON")
    reply = api("POST", FOLDERS, raw=b'{"scope": "shared", "name": "x"}', content_type="text/plain")
    assert reply.status == 415
    reply = api("POST", FOLDERS, body={"scope": "shared", "name": "x", "allowed_groups": "ops"})
    assert reply.status == 422 and b"allowed_groups" in reply.raw
    assert api("GET", "/api/nothing-here").status == 404
    assert api("PATCH", FOLDERS, body={}).status == 405


def test_vault_down_answers_502(emu, api):
    emu.vault_enabled = False
    reply = api("GET", FOLDERS)
    assert (reply.status, reply.json) == (502, {"error": "vault backend not available"})


# --- entries ----------------------------------------------------------------------------------

FULL_ENTRY = {
    "name": "prod-db", "type": "rdp", "hostname": "db.internal.example.com", "port": 3389,
    "username": "admin", "password": "secret-pw", "private_key": "-----KEY-----", "domain": "CORP",
    "security": "nla", "ignore_cert": True, "auth_pkg": "kerberos", "kdc_url": "https://dc/KdcProxy",
    "color_depth": 24, "enable_drive": False, "display_name": "Prod DB", "prompt_credentials": False,
    "url": "https://unused.example", "jump_hosts": [
        {"hostname": "bastion.example.com", "port": 2222, "username": "jump-user", "password": "jump-pass"},
        {"hostname": "gw.corp.local", "username": "gw-user", "private_key": "-----HOP2-----"},
    ],
}


def test_entry_create_lists_without_secrets(emu, api):
    emu.add_folder("shared", "production")
    created = api("POST", entries_path(), body=FULL_ENTRY)
    assert (created.status, created.json) == (201, {"ok": True})
    listed = api("GET", entries_path()).json
    entry = listed[0]
    for name, value in FULL_ENTRY.items():
        if name not in ("password", "private_key", "jump_hosts", "type"):
            assert entry[name] == value, name
    assert entry["session_type"] == "rdp" and "type" not in entry
    assert "password" not in entry and "private_key" not in entry
    assert entry["has_credentials"] is True
    assert entry["jump_hosts"] == [
        {"hostname": "bastion.example.com", "port": 2222, "username": "jump-user"},
        {"hostname": "gw.corp.local", "port": 22, "username": "gw-user"},
    ]
    for secret in ("secret-pw", "-----KEY-----", "jump-pass", "-----HOP2-----"):
        assert secret.encode() not in api("GET", entries_path()).raw
    stored = emu.state()["entries"][0]
    assert stored["password"] == "secret-pw" and stored["jump_hosts"][1]["private_key"] == "-----HOP2-----"


def test_entry_create_errors(emu, api):
    emu.add_folder("shared", "production")
    emu.add_entry("shared", "production", "web01", hostname="10.0.0.5")
    assert api("POST", entries_path(), body={"name": "a"}).status == 422
    assert api("POST", entries_path(), body={"name": "a", "type": "ssh", "port": "22"}).status == 422
    assert api("POST", entries_path(), body={"name": "a", "type": "ssh", "port": 70000}).status == 422
    bad_hop = {"name": "a", "type": "ssh", "jump_hosts": [{"hostname": "b"}]}
    assert api("POST", entries_path(), body=bad_hop).status == 422
    assert [e["name"] for e in emu.state()["entries"]] == ["web01"]


def test_put_entry_keeps_omitted_secrets_and_merges_hops_by_index(emu, api):
    emu.add_folder("shared", "production")
    emu.add_entry("shared", "production", "prod-db", **{k: v for k, v in FULL_ENTRY.items() if k != "name"})
    reply = api("PUT", entries_path(entry="prod-db"), body={
        "type": "rdp", "hostname": "db2.internal", "username": "root",
        "jump_hosts": [
            {"hostname": "bastion2.example.com", "username": "jump-user"},  # secrets omitted: kept
            {"hostname": "gw.corp.local", "username": "gw-user", "password": "new-hop-pw"},
            {"hostname": "third.hop", "username": "h3"},  # no old hop: nothing to keep
        ],
    })
    assert (reply.status, reply.json) == (200, {"ok": True})
    stored = emu.state()["entries"][0]
    assert stored["password"] == "secret-pw" and stored["private_key"] == "-----KEY-----"
    assert stored["hostname"] == "db2.internal" and "domain" not in stored  # omitted field cleared
    hops = stored["jump_hosts"]
    assert hops[0] == {"hostname": "bastion2.example.com", "port": 22, "username": "jump-user",
                       "password": "jump-pass"}
    assert hops[1]["password"] == "new-hop-pw" and hops[1]["private_key"] == "-----HOP2-----"
    assert hops[2] == {"hostname": "third.hop", "port": 22, "username": "h3"}

    api("PUT", entries_path(entry="prod-db"), body={"type": "rdp", "password": "rotated"})
    assert emu.state()["entries"][0]["password"] == "rotated"
    assert api("DELETE", entries_path(entry="prod-db")).status == 204
    assert api("DELETE", entries_path(entry="prod-db")).status == 404


def test_connect_entry_creates_a_session(emu, api):
    emu.add_folder("shared", "production", allowed_groups=["ops"])
    emu.add_entry("shared", "production", "web01", hostname="10.0.0.5", password="pw")
    ops = emu.add_api_key(name="ops", role="operator", groups=["ops"])
    reply = api("POST", f"{entries_path(entry='web01')}/connect", key=ops)
    assert reply.status == 200, reply
    assert reply.json["client_url"] == f"/client/{reply.json['session_id']}"
    assert api("GET", f"/api/sessions/{reply.json['session_id']}", key=ops).json["hostname"] == "10.0.0.5"


# --- group mappings --------------------------------------------------------------------------


def test_group_mappings(emu, api):
    """Round trip; each answer is pinned to its source in test_rustguac_conformance.py."""
    created = api("POST", "/api/admin/group-mappings", body={"group": "engineering", "role": "poweruser"})
    assert created.status == 201
    ident = created.json["id"]
    assert created.json["oidc_group"] == "engineering" and created.json["role"] == "poweruser"
    updated = api("PUT", f"/api/admin/group-mappings/{ident}", body={"group": "engineering", "role": "admin"})
    assert updated.status == 200
    emu.add_group_mapping("ops", "operator")
    listed = api("GET", "/api/admin/group-mappings").json
    assert [(m["oidc_group"], m["role"]) for m in listed] == [("engineering", "admin"), ("ops", "operator")]
    assert api("DELETE", f"/api/admin/group-mappings/{ident}").status == 204
    assert api("DELETE", f"/api/admin/group-mappings/{ident}").status == 404


# --- users --------------------------------------------------------------------------------------


def test_users_role_enable_disable_delete(emu, api):
    emu.add_user("ann@example.com", name="Ann", role="viewer")
    token = emu.add_user_token("ann@example.com", "ann-ci")
    assert api("GET", "/api/me", key=token).json["role"] == "viewer"
    path = "/api/users/ann%40example.com"
    assert api("PUT", f"{path}/role", body={"role": "superuser"}).status == 400
    reply = api("PUT", f"{path}/role", body={"role": "poweruser"})
    assert reply.status == 200 and reply.json == {"ok": True}
    assert api("GET", "/api/me", key=token).json["role"] == "poweruser"  # checked per request

    assert api("POST", f"{path}/disable").json == {"ok": True}
    blocked = api("GET", "/api/me", key=token)
    assert blocked.status == 401
    assert api("POST", f"{path}/enable").json == {"ok": True}
    assert api("GET", "/api/me", key=token).status == 200
    assert api("DELETE", f"{path}/sessions").json == {"ok": True, "sessions_revoked": 1}

    listed = api("GET", "/api/users").json
    assert [(u["email"], u["role"], u["disabled"]) for u in listed] == [("ann@example.com", "poweruser", False)]
    assert api("DELETE", path).status == 204
    assert api("DELETE", path).status == 404
    assert api("PUT", f"{path}/role", body={"role": "viewer"}).status == 404
    assert api("GET", "/api/me", key=token).status == 401


# --- tokens -----------------------------------------------------------------------------------


def test_poweruser_creates_own_token_plaintext_once(emu, api):
    emu.add_user("pat@example.com", role="poweruser")
    own = emu.add_user_token("pat@example.com", "bootstrap")
    reply = api("POST", "/api/me/tokens", key=own, body={"name": "my-ci-token", "max_role": "operator",
                                                         "expires_at": "2099-12-31T23:59:59Z"})
    assert reply.status == 200, reply
    assert reply.json["token"].startswith("rgu_") and reply.json["max_role"] == "operator"
    plaintext = reply.json["token"]
    listed = api("GET", "/api/me/tokens", key=own)
    assert plaintext.encode() not in listed.raw and "token" not in listed.json[0]
    assert [t["name"] for t in listed.json] == ["bootstrap", "my-ci-token"]
    # the new token is capped at operator
    assert api("GET", "/api/me", key=plaintext).json["role"] == "operator"
    assert api("POST", "/api/sessions", key=plaintext, body={"session_type": "ssh", "hostname": "h"}).status == 403
    assert api("POST", "/api/me/tokens", key=own, body={"name": "my-ci-token"}).status == 409
    assert api("POST", "/api/me/tokens", key=own, body={"name": "x", "max_role": "admin"}).status == 400
    assert api("POST", "/api/me/tokens", key=own, body={"name": ""}).status == 400
    # but not users nor mappings
    assert api("GET", "/api/users", key=own).status == 403
    assert api("PUT", "/api/users/pat%40example.com/role", key=own, body={"role": "admin"}).status == 403

    assert api("DELETE", f"/api/me/tokens/{reply.json['id']}", key=own).status == 204
    assert api("GET", "/api/me", key=plaintext).status == 401  # revoked at once


def test_token_rules_for_operators_and_api_keys(emu, api):
    emu.add_user("op@example.com", role="operator")
    op_token = emu.add_user_token("op@example.com", "given-by-admin")
    assert api("POST", "/api/me/tokens", key=op_token, body={"name": "mine"}).status == 403
    assert api("GET", "/api/me/tokens", key=op_token).status == 200
    # API-key admins have no OIDC identity: the self-service endpoints refuse them
    reply = api("POST", "/api/me/tokens", body={"name": "x"})
    assert reply.status == 403 and "OIDC" in reply.json["error"]


def test_admin_user_tokens_and_audit(emu, api):
    emu.add_user("op@example.com", role="operator")
    emu.add_user("other@example.com", role="poweruser")
    created = api("POST", "/api/admin/user-tokens",
                  body={"email": "op@example.com", "name": "operator-automation", "max_role": "operator"})
    assert created.status == 200 and created.json["token"].startswith("rgu_")
    assert api("POST", "/api/admin/user-tokens", body={"email": "nobody@x", "name": "n"}).status == 404
    assert api("POST", "/api/admin/user-tokens",
               body={"email": "op@example.com", "name": "n", "max_role": "admin"}).status == 400
    assert api("POST", "/api/admin/user-tokens",
               body={"email": "op@example.com", "name": "n", "expires_at": "tomorrow"}).status == 400
    other = api("POST", "/api/admin/user-tokens", body={"email": "other@example.com", "name": "o"}).json
    listed = api("GET", "/api/admin/user-tokens").json
    expected = [("op@example.com", "operator-automation"), ("other@example.com", "o")]
    assert [(t["email"], t["name"]) for t in listed] == expected
    assert all("token" not in t for t in listed)
    # a user can not revoke someone else's token through /api/me
    op_token = created.json["token"]
    assert api("DELETE", f"/api/me/tokens/{other['id']}", key=op_token).status == 403  # operator
    assert api("DELETE", f"/api/admin/user-tokens/{other['id']}").status == 204
    assert api("DELETE", f"/api/admin/user-tokens/{other['id']}").status == 404
    audit = api("GET", "/api/admin/token-audit?email=other%40example.com").json
    assert [event["action"] for event in audit] == ["revoke", "create"]
    assert set(audit[0]) == {"created_at", "user_email", "token_name", "action", "ip_addr", "details"}
    assert len(api("GET", "/api/admin/token-audit?limit=1").json) == 1


def test_expired_token_is_401(emu, api):
    emu.add_user("ann@example.com", role="admin")
    token = emu.add_user_token("ann@example.com", "old", expires_at="2000-01-01T00:00:00Z")
    assert api("GET", "/api/me", key=token).status == 401


# --- sessions and recordings ---------------------------------------------------------------------


def test_sessions(emu, api):
    seeded = emu.add_session(session_type="rdp", hostname="10.0.0.7", owner="someone@example.com")
    emu.add_user("pat@example.com", role="poweruser")
    pat = emu.add_user_token("pat@example.com", "t")
    created = api("POST", "/api/sessions", key=pat, body={
        "session_type": "ssh", "hostname": "10.0.0.1", "username": "root", "password": "pw-in-session",
        "jump_hosts": [{"hostname": "bastion", "username": "j", "password": "jp"}]})
    assert created.status == 200 and set(created.json) == {"session_id", "client_url", "share_url"}
    listed = api("GET", "/api/sessions", key=pat).json
    assert {s["session_id"] for s in listed} == {created.json["session_id"]}  # own sessions only
    assert b"pw-in-session" not in api("GET", "/api/sessions", key=pat).raw
    assert api("DELETE", f"/api/sessions/{seeded['session_id']}", key=pat).status == 403  # not own
    assert api("DELETE", f"/api/sessions/{created.json['session_id']}", key=pat).status == 204
    assert api("DELETE", f"/api/sessions/{seeded['session_id']}").status == 204  # admin: any
    assert api("GET", f"/api/sessions/{seeded['session_id']}").status == 404
    assert api("POST", "/api/sessions", body={"session_type": "web"}).status == 400
    keypair = api("POST", "/api/sessions", body={"session_type": "ssh", "hostname": "h", "generate_keypair": True})
    assert keypair.json["banner_text"].startswith("ssh-ed25519 ")


def test_recordings(emu, api):
    emu.add_recording("2026-01-01-web01.guac", content=b"4.size,1.0;")
    reply = api("GET", "/api/recordings")
    assert [(r["name"], r["size"]) for r in reply.json] == [("2026-01-01-web01.guac", 11)]
    played = api("GET", "/api/recordings/2026-01-01-web01.guac")
    assert played.status == 200 and played.raw == b"4.size,1.0;"
    assert api("GET", "/api/recordings/..%2Fetc%2Fpasswd").status == 400
    assert api("GET", "/api/recordings/missing.guac").status == 404
    assert api("DELETE", "/api/recordings/2026-01-01-web01.guac").status == 204
    assert api("GET", "/api/recordings").json == []


# --- faults, log, TLS, CLI ------------------------------------------------------------------------


def test_fail_and_hang(emu, api):
    emu.fail("GET", "/folders", 502, "bad gateway", times=2)
    assert [api("GET", FOLDERS).status for _attempt in range(3)] == [502, 502, 200]
    emu.fail("*", "/group-mappings", 500, "boom")
    assert api("POST", "/api/admin/group-mappings", body={"oidc_group": "g", "role": "viewer"}).json == {
        "error": "boom"}
    assert emu.state()["group_mappings"] == []  # the failed call did nothing
    emu.hang("GET", "/api/health", 0.6, times=1)
    with pytest.raises(TimeoutError):
        call(emu.url, "GET", "/api/health", timeout=0.2)
    started = time.monotonic()
    assert api("GET", "/api/health").status == 200
    assert time.monotonic() - started < 0.5


def test_request_log_redacts_secrets(emu, api):
    emu.add_folder("shared", "production")
    api("POST", entries_path(), body=FULL_ENTRY)
    api("GET", entries_path())
    emu.add_user("pat@example.com", role="admin")
    api("POST", "/api/admin/user-tokens", body={"email": "pat@example.com", "name": "t"})
    assert emu.requests == [("POST", entries_path(), 201), ("GET", entries_path(), 200),
                            ("POST", "/api/admin/user-tokens", 200)]
    assert emu.writes() == [("POST", entries_path(), 201), ("POST", "/api/admin/user-tokens", 200)]
    logged = json.dumps(emu.request_bodies)
    for secret in ("secret-pw", "-----KEY-----", "jump-pass", "-----HOP2-----", ADMIN_KEY):
        assert secret not in logged
    body = emu.request_bodies[0][2]
    assert body["password"] == "********" and body["jump_hosts"][0]["password"] == "********"
    assert body["hostname"] == "db.internal.example.com"
    api("POST", FOLDERS, raw=b'{"password": "half')
    assert "half" not in json.dumps(emu.request_bodies)
    emu.reset()
    assert emu.requests == [] and emu.state()["folders"] == []
    assert api("GET", FOLDERS).status == 200  # the admin key survives reset


def test_tls(tmp_path):
    certfile, keyfile, _der = make_cert(str(tmp_path), name="rustguac", hosts=("127.0.0.1",))
    with RustguacEmulator(certfile=certfile, keyfile=keyfile, admin_key=ADMIN_KEY) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=certfile)
        assert call(emu.url, "GET", FOLDERS, key=ADMIN_KEY, context=context).status == 200
        with pytest.raises(ssl.SSLError):
            call(emu.url, "GET", "/api/health", context=ssl.create_default_context())


def test_cli_prints_url_and_stops_on_sigterm():
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulators.rustguac", "--port", "0",
                             "--admin-key", "cli-key-1234"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline().strip()
        prefix = "rustguac-emulator listening on "
        assert line.startswith(prefix)
        url = line[len(prefix):]
        assert call(url, "GET", "/api/health").status == 200
        assert call(url, "GET", FOLDERS, key="cli-key-1234", header="x-api-key").status == 200
        proc.terminate()
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

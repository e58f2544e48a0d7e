"""Conformance of the rustguac emulator with the real server's source.

Every test here pins one behaviour the emulator mirrors to the file and function of sol1/rustguac it was read
in, at the tag the emulator names (SOURCE_VERSION). The first line of each docstring is
``<file> <function>[, <function>...]: <what>``; test_every_test_names_its_source checks that.
"""
from __future__ import annotations

import base64
import hashlib
import inspect
import re
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from tests.emulators.rustguac import SOURCE_COMMIT, SOURCE_REPO, SOURCE_VERSION, RustguacEmulator
from tests.emulators.test_rustguac_emulator import call

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "rg-admin-0123456789"
MAPPINGS = "/api/admin/group-mappings"
UNPROCESSABLE = "Failed to deserialize the JSON body into the target type: "
SOURCE_FILE_AND_NAME = re.compile(r"(?:src/[a-z_/]+\.rs|Cargo\.toml) [A-Za-z_.]+")
NAME = re.compile(r"[A-Za-z_.]+")


def cites_source(doc):
    """'src/a.rs f, g; src/b.rs h: what' -> True: the part before ': ' lists a file and name first, then
    names or further files with a name."""
    head, colon, _rest = doc.partition(": ")
    parts = re.split(r"[,;] ", head)
    return bool(colon) and bool(SOURCE_FILE_AND_NAME.fullmatch(parts[0])) and all(
        SOURCE_FILE_AND_NAME.fullmatch(part) or NAME.fullmatch(part) for part in parts[1:])


@pytest.fixture
def emu():
    with RustguacEmulator(admin_key=ADMIN_KEY) as emulator:
        yield emulator


@pytest.fixture
def api(emu):
    def run(method, path, key=ADMIN_KEY, **kwargs):
        return call(emu.url, method, path, key=key, **kwargs)
    return run


def test_the_emulator_names_the_source_it_mirrors():
    """Cargo.toml package.version: the tag and commit the emulator was checked against (version 1.9.7)."""
    assert (SOURCE_REPO, SOURCE_VERSION) == ("sol1/rustguac", "v1.9.7")
    assert re.fullmatch(r"[0-9a-f]{40}", SOURCE_COMMIT)


def test_every_test_names_its_source():
    """Every other test here cites the file and function it was read in (this one checks, cites nothing)."""
    module = sys.modules[__name__]
    tests = [obj for name, obj in vars(module).items()
             if name.startswith("test_") and callable(obj) and name != "test_every_test_names_its_source"]
    uncited = [test.__name__ for test in tests if not cites_source(inspect.getdoc(test) or "")]
    assert uncited == []


# --- group mappings ---------------------------------------------------------------------------


def test_mapping_body_takes_group_not_oidc_group(emu, api):
    """src/api.rs create_group_mapping, CreateGroupMappingRequest: the body is {group, role}; `oidc_group`
    is an unknown field serde ignores, so `group` is missing and axum's Json extractor answers 422 in
    plain text (axum-core __define_rejection: "<body>: <serde_path_to_error message>")."""
    body = b'{"oidc_group": "ops", "role": "viewer"}'
    reply = api("POST", MAPPINGS, raw=body)
    assert reply.status == 422
    assert reply.json is None
    assert reply.raw.decode() == UNPROCESSABLE + f"missing field `group` at line 1 column {len(body)}"
    assert emu.state()["group_mappings"] == []


def test_mapping_create_answers_201_with_the_row(emu, api):
    """src/api.rs create_group_mapping, src/db.rs create_group_mapping: 201 with {id, oidc_group, role,
    created_at}; created_at is SQLite's datetime('now') (the column default), unknown fields are ignored."""
    reply = api("POST", MAPPINGS, body={"group": "ops", "role": "operator", "oidc_group": "ignored"})
    assert reply.status == 201
    assert set(reply.json) == {"id", "oidc_group", "role", "created_at"}
    assert (reply.json["oidc_group"], reply.json["role"]) == ("ops", "operator")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", reply.json["created_at"])
    assert api("GET", MAPPINGS).json == [reply.json]


def test_mapping_errors(emu, api):
    """src/api.rs create_group_mapping, update_group_mapping, delete_group_mapping: a bad role is 400, a
    second mapping of a group 409 (UNIQUE), an unknown id 404; every body is {"error": ...}."""
    first = api("POST", MAPPINGS, body={"group": "ops", "role": "operator"}).json
    other = api("POST", MAPPINGS, body={"group": "dev", "role": "viewer"}).json
    bad_role = api("POST", MAPPINGS, body={"group": "x", "role": "root"})
    assert (bad_role.status, bad_role.json) == (400, {"error": "role must be admin, poweruser, operator, or viewer"})
    dup = api("POST", MAPPINGS, body={"group": "ops", "role": "admin"})
    assert (dup.status, dup.json) == (409, {"error": "mapping for this group already exists"})
    clash = api("PUT", f"{MAPPINGS}/{other['id']}", body={"group": "ops", "role": "viewer"})
    assert (clash.status, clash.json) == (409, {"error": "mapping for this group already exists"})
    missing = api("PUT", f"{MAPPINGS}/999", body={"group": "q", "role": "viewer"})
    assert (missing.status, missing.json) == (404, {"error": "mapping not found"})
    gone = api("DELETE", f"{MAPPINGS}/999")
    assert (gone.status, gone.json) == (404, {"error": "mapping not found"})
    roles = {m["oidc_group"]: m["role"] for m in emu.state()["group_mappings"]}
    assert roles == {"ops": "operator", "dev": "viewer"}
    assert first["id"] != other["id"]


def test_mapping_update_answers_ok_not_the_row(emu, api):
    """src/api.rs update_group_mapping: 200 {"ok": true}; the row changes group and role together."""
    ident = api("POST", MAPPINGS, body={"group": "ops", "role": "operator"}).json["id"]
    reply = api("PUT", f"{MAPPINGS}/{ident}", body={"group": "ops2", "role": "admin"})
    assert (reply.status, reply.json) == (200, {"ok": True})
    [row] = api("GET", MAPPINGS).json
    assert (row["id"], row["oidc_group"], row["role"]) == (ident, "ops2", "admin")


def test_mapping_body_is_checked_before_the_role(emu, api):
    """src/api.rs create_group_mapping: the Json extractor runs before the handler's has_role("admin"), so a
    non-admin gets 422 for a bad body and 403 {"error": "admin role required"} for a good one."""
    operator = emu.add_api_key(name="ops", role="operator")
    assert api("POST", MAPPINGS, key=operator, body={"oidc_group": "g", "role": "viewer"}).status == 422
    denied = api("POST", MAPPINGS, key=operator, body={"group": "g", "role": "viewer"})
    assert (denied.status, denied.json) == (403, {"error": "admin role required"})
    listed = api("GET", MAPPINGS, key=operator)
    assert (listed.status, listed.json) == (403, {"error": "admin role required"})
    assert emu.state()["group_mappings"] == []


# --- address-book names -----------------------------------------------------------------------

FOLDERS = "/api/addressbook/folders"
BAD_NAMES = [
    ("", "name must be 1-64 characters"),
    ("x" * 65, "name must be 1-64 characters"),
    (".", "reserved name"),
    ("..", "reserved name"),
    (".config", "reserved name"),
    ("a\\b", "name cannot contain path separators"),
    ("web 01", "name must be alphanumeric, hyphens, underscores, or dots"),
    ("café", "name must be alphanumeric, hyphens, underscores, or dots"),
    ("a:b", "name must be alphanumeric, hyphens, underscores, or dots"),
]
GOOD_NAMES = ["a", "x" * 64, "my-entry.v2", "Web_01", "a..b", "-x-", ".hidden"]


def quoted(text):
    return quote(text, safe="")


@pytest.mark.parametrize(("name", "message"), BAD_NAMES, ids=[repr(case[0])[:20] for case in BAD_NAMES])
def test_bad_entry_names_are_502_invalid_name(emu, api, name, message):
    """src/vault.rs validate_name, put_entry, src/api.rs ab_create_entry: an entry name outside
    [A-Za-z0-9._-]{1,64}, or '.', '..', '.config', is a VaultError::BadName that the handler answers with
    502 {"error": "invalid name: <why>"}; nothing is stored."""
    emu.add_folder("shared", "production")
    reply = api("POST", f"{FOLDERS}/shared/production/entries", body={"name": name, "type": "ssh"})
    assert (reply.status, reply.json) == (502, {"error": f"invalid name: {message}"})
    assert emu.state()["entries"] == []


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_names_are_taken(emu, api, name):
    """src/vault.rs validate_name: ASCII letters, digits, '-', '_' and '.', 1-64 bytes; '..' inside a name
    is not refused (only the whole names '.', '..' and '.config' are)."""
    assert api("POST", FOLDERS, body={"name": name, "allowed_groups": []}).status == 201
    emu.add_folder("shared", "production")
    reply = api("POST", f"{FOLDERS}/shared/production/entries", body={"name": name, "type": "ssh"})
    assert reply.status == 201, reply


@pytest.mark.parametrize(("path", "message"), [
    ("a/", "path cannot start or end with /"),
    ("/a", "path cannot start or end with /"),
    ("a//b", "path cannot contain empty segments"),
    ("a/../b", "reserved name"),
    ("a/b c", "name must be alphanumeric, hyphens, underscores, or dots"),
    ("/".join(["abcdefgh"] * 29), "path too long (max 256 chars)"),
])
def test_bad_folder_paths_are_502_invalid_name(emu, api, path, message):
    """src/vault.rs validate_path, put_folder_config, src/api.rs ab_create_folder: a folder is a path of
    names joined by '/', at most 256 characters; each segment follows validate_name."""
    reply = api("POST", FOLDERS, body={"name": path, "allowed_groups": []})
    assert (reply.status, reply.json) == (502, {"error": f"invalid name: {message}"})
    assert emu.state()["folders"] == []


def test_folder_sub_paths_are_names(emu, api):
    """src/vault.rs validate_path: 'Clients/Acme' is a valid folder; axum's Path decodes %2F, so the
    sub-path travels as one URL segment."""
    assert api("POST", FOLDERS, body={"name": "Clients/Acme", "allowed_groups": []}).status == 201
    reply = api("POST", f"{FOLDERS}/shared/{quoted('Clients/Acme')}/entries", body={"name": "web01", "type": "ssh"})
    assert reply.status == 201, reply


def test_name_checks_come_before_the_scope(emu, api):
    """src/vault.rs put_folder_config, resolve_scope_prefix: validate_path runs first, then an unknown scope
    is BadName("invalid scope: <scope>"); CreateFolderRequest.scope is a plain String (default "shared")."""
    bad_both = api("POST", FOLDERS, body={"scope": "global", "name": "a b", "allowed_groups": []})
    assert bad_both.json == {"error": "invalid name: name must be alphanumeric, hyphens, underscores, or dots"}
    bad_scope = api("POST", FOLDERS, body={"scope": "global", "name": "ab", "allowed_groups": []})
    assert (bad_scope.status, bad_scope.json) == (502, {"error": "invalid name: invalid scope: global"})


def test_entry_listing_of_a_bad_folder_name(emu, api):
    """src/api.rs ab_list_entries, check_folder_access: an admin skips the access check and the listing's
    BadName is a 502; for an operator the folder config read fails first and check_folder_access answers 500."""
    operator = emu.add_api_key(name="ops", role="operator", groups=["ops"])
    path = f"{FOLDERS}/shared/{quoted('a b')}/entries"
    admin = api("GET", path)
    assert (admin.status, admin.json) == (502, {"error": "invalid name: name must be alphanumeric, hyphens, "
                                                         "underscores, or dots"})
    assert api("GET", path, key=operator).status == 500


def test_entry_update_and_delete_check_the_entry_name(emu, api):
    """src/vault.rs put_entry, delete_entry; src/api.rs ab_update_entry, ab_delete_entry: the entry name in
    the URL is checked with validate_name (502)."""
    emu.add_folder("shared", "production")
    path = f"{FOLDERS}/shared/production/entries/{quoted('web 01')}"
    assert api("PUT", path, body={"type": "ssh"}).status == 502
    assert api("DELETE", path).status == 502


# --- entries of a folder that does not exist --------------------------------------------------


def test_entries_of_a_missing_folder_are_an_empty_list_for_an_admin(emu, api):
    """src/api.rs ab_list_entries, check_folder_access: an admin skips the access check, and a listing that
    Vault answers NotFound becomes Vec::new(), so a folder that does not exist lists as 200 []."""
    reply = api("GET", f"{FOLDERS}/shared/nowhere/entries")
    assert (reply.status, reply.json) == (200, [])
    assert emu.state()["folders"] == []


def test_entries_of_a_missing_or_closed_folder_are_403_for_others(emu, api):
    """src/vault.rs resolve_folder_access; src/api.rs check_folder_access: for a non-admin a missing folder
    config is "deny", so a missing folder and one the caller's groups do not allow both answer 403
    {"error": "no access to this folder"}."""
    emu.add_folder("shared", "lab", allowed_groups=["dev"])
    operator = emu.add_api_key(name="ops", role="operator", groups=["ops"])
    for folder in ("nowhere", "lab"):
        reply = api("GET", f"{FOLDERS}/shared/{folder}/entries", key=operator)
        assert (reply.status, reply.json) == (403, {"error": "no access to this folder"})


def test_an_entry_created_in_a_missing_folder_makes_the_folder(emu, api):
    """src/api.rs ab_create_entry; src/vault.rs put_entry: the entry is written without a look for the folder,
    so the folder then exists (a Vault prefix without .config: listed, no groups, empty description)."""
    reply = api("POST", f"{FOLDERS}/shared/nowhere/entries", body={"name": "web01", "type": "ssh"})
    assert reply.status == 201, reply
    [folder] = emu.state()["folders"]
    assert (folder["scope"], folder["name"], folder["allowed_groups"], folder["description"]) == (
        "shared", "nowhere", [], "")
    assert [entry["name"] for entry in api("GET", f"{FOLDERS}/shared/nowhere/entries").json] == ["web01"]


# --- the version the role installs --------------------------------------------------------------


def test_the_role_installs_the_version_the_emulator_mirrors():
    """Cargo.toml package.version: roles/rustguac installs by default the release the emulator was checked
    against (tag v1.9.7), and leaves the checksum to the user, as sol1 publishes none for its tarballs."""
    defaults = yaml.safe_load((REPO_ROOT / "roles" / "rustguac" / "defaults" / "main.yml").read_text())
    assert f"v{defaults['rustguac_version']}" == SOURCE_VERSION
    assert defaults["rustguac_checksum"] == ""


# --- folders --------------------------------------------------------------------------------------


def test_folder_listing_has_no_groups(emu, api):
    """src/api.rs ab_list_folders; src/vault.rs list_folders_in_scope, FolderInfo: top-level folders only,
    shared before instance, each {name, description, scope, path, has_children}; allowed_groups is not
    listed (it lives in the folder's .config)."""
    emu.add_folder("instance", "lab", allowed_groups=["dev"])
    emu.add_folder("shared", "production", allowed_groups=["ops"], description="Prod")
    emu.add_folder("shared", "clients/acme", allowed_groups=["ops"])
    listed = api("GET", FOLDERS).json
    assert listed == [
        {"name": "clients", "description": "", "scope": "shared", "path": "clients", "has_children": True},
        {"name": "production", "description": "Prod", "scope": "shared", "path": "production",
         "has_children": False},
        {"name": "lab", "description": "", "scope": "instance", "path": "lab", "has_children": False},
    ]


def test_folder_listing_for_others_follows_each_folder_config(emu, api):
    """src/api.rs ab_list_folders; src/vault.rs resolve_folder_access: a non-admin sees a top-level folder
    whose own allowed_groups meet the caller's groups (no config: not seen); a viewer gets 403
    {"error": "operator role required"}."""
    emu.add_folder("shared", "production", allowed_groups=["ops"])
    emu.add_folder("shared", "lab", allowed_groups=["dev"])
    # a folder made by its first entry has no config
    assert api("POST", f"{FOLDERS}/shared/configless/entries", body={"name": "web01", "type": "ssh"}).status == 201
    operator = emu.add_api_key(name="ops", role="operator", groups=["ops"])
    assert [f["name"] for f in api("GET", FOLDERS, key=operator).json] == ["production"]
    viewer = emu.add_api_key(name="v", role="viewer", groups=["ops"])
    denied = api("GET", FOLDERS, key=viewer)
    assert (denied.status, denied.json) == (403, {"error": "operator role required"})


def test_folder_config_route_gives_the_groups(emu, api):
    """src/api.rs ab_get_folder_config: admin only; {allowed_groups, description, inherit_from_parent}, and
    the defaults ([], "", false) for a folder without a config."""
    emu.add_folder("shared", "production", allowed_groups=["ops", "devops"], description="Prod",
                   inherit_from_parent=True)
    config = api("GET", f"{FOLDERS}/shared/production/config")
    assert (config.status, config.json) == (200, {"allowed_groups": ["ops", "devops"], "description": "Prod",
                                                  "inherit_from_parent": True})
    missing = api("GET", f"{FOLDERS}/shared/nowhere/config")
    assert missing.json == {"allowed_groups": [], "description": "", "inherit_from_parent": False}
    operator = emu.add_api_key(name="ops", role="operator", groups=["ops"])
    denied = api("GET", f"{FOLDERS}/shared/production/config", key=operator)
    assert (denied.status, denied.json) == (403, {"error": "admin role required"})


def test_folder_put_replaces_the_whole_config(emu, api):
    """src/api.rs ab_update_folder, UpdateFolderRequest: allowed_groups is required (422 without it);
    an omitted description or inherit_from_parent is reset to "" / false; 200 {"ok": true}."""
    emu.add_folder("shared", "production", allowed_groups=["ops"], description="Prod", inherit_from_parent=True)
    path = f"{FOLDERS}/shared/production"
    body = b'{"description": "new"}'
    no_groups = api("PUT", path, raw=body)
    assert (no_groups.status, no_groups.raw.decode()) == (
        422, UNPROCESSABLE + f"missing field `allowed_groups` at line 1 column {len(body)}")
    reply = api("PUT", path, body={"allowed_groups": ["ops"]})
    assert (reply.status, reply.json) == (200, {"ok": True})
    assert api("GET", f"{path}/config").json == {"allowed_groups": ["ops"], "description": "",
                                                 "inherit_from_parent": False}


def test_folder_put_and_post_create_or_overwrite(emu, api):
    """src/api.rs ab_create_folder, ab_update_folder; src/vault.rs put_folder_config: both write the config
    whether or not the folder exists (no 404, no 409); POST answers 201 {"ok": true}."""
    assert api("PUT", f"{FOLDERS}/shared/fresh", body={"allowed_groups": ["a"]}).status == 200
    again = api("POST", FOLDERS, body={"name": "fresh", "allowed_groups": ["b"], "description": "d"})
    assert (again.status, again.json) == (201, {"ok": True})
    assert api("GET", f"{FOLDERS}/shared/fresh/config").json["allowed_groups"] == ["b"]
    no_groups = api("POST", FOLDERS, body={"name": "x"})
    assert no_groups.status == 422 and b"missing field `allowed_groups`" in no_groups.raw


def test_folder_delete_takes_the_subtree(emu, api):
    """src/api.rs ab_delete_folder; src/vault.rs delete_folder: the folder, its sub-folders and their entries;
    200 {"ok": true, "subfolders_deleted", "entries_deleted"}, zeros for a folder that is not there."""
    emu.add_folder("shared", "clients", allowed_groups=["ops"])
    emu.add_folder("shared", "clients/acme", allowed_groups=["ops"])
    emu.add_entry("shared", "clients", "gw")
    emu.add_entry("shared", "clients/acme", "web01")
    emu.add_folder("shared", "other", allowed_groups=["ops"])
    reply = api("DELETE", f"{FOLDERS}/shared/clients")
    assert (reply.status, reply.json) == (200, {"ok": True, "subfolders_deleted": 1, "entries_deleted": 2})
    assert [f["name"] for f in emu.state()["folders"]] == ["other"] and emu.state()["entries"] == []
    gone = api("DELETE", f"{FOLDERS}/shared/clients")
    assert gone.json == {"ok": True, "subfolders_deleted": 0, "entries_deleted": 0}


def test_folder_writes_read_the_body_before_the_role(emu, api):
    """src/api.rs ab_create_folder, ab_update_folder: the Json extractor runs before the admin check (422
    first), then 403 {"error": "admin role required"}."""
    operator = emu.add_api_key(name="ops", role="operator", groups=["ops"])
    assert api("POST", FOLDERS, key=operator, body={"name": "x"}).status == 422
    denied = api("PUT", f"{FOLDERS}/shared/x", key=operator, body={"allowed_groups": []})
    assert (denied.status, denied.json) == (403, {"error": "admin role required"})
    assert emu.state()["folders"] == []


# --- entries: what is listed, what a write replaces -------------------------------------------------

ENTRIES = f"{FOLDERS}/shared/production/entries"
HOST_KEY_BLOB = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))
HOST_KEY = "ssh-ed25519 " + base64.b64encode(HOST_KEY_BLOB).decode()


def listed_entry(api, name):
    [entry] = [item for item in api("GET", ENTRIES).json if item["name"] == name]
    return entry


def stored_entry(emu, name):
    [entry] = [item for item in emu.state()["entries"] if item["name"] == name]
    return {key: value for key, value in entry.items() if key not in ("scope", "folder", "name")}


@pytest.fixture
def production(emu):
    emu.add_folder("shared", "production")
    return emu


def test_entry_listing_says_session_type_not_type(production, api):
    """src/vault.rs EntryInfo, from: the listing names the protocol `session_type`
    (the stored and written field is `type`, serde rename on AddressBookEntry)."""
    production.add_entry("shared", "production", "web01", type="ssh", hostname="10.0.0.5")
    entry = listed_entry(api, "web01")
    assert entry["session_type"] == "ssh" and "type" not in entry


def test_entry_listing_shows_null_for_unset_fields(production, api):
    """src/vault.rs EntryInfo: hostname, port, username, url, display_name, domain, security, ignore_cert,
    enable_drive, auth_pkg, kdc_url, prompt_credentials, color_depth have no skip_serializing_if: unset, they
    are listed as null; the other optional fields (banner, enable_recording...) are left out when unset."""
    production.add_entry("shared", "production", "web", type="web", url="https://intranet")
    entry = listed_entry(api, "web")
    for key in ("hostname", "port", "username", "display_name", "domain", "security", "ignore_cert",
                "enable_drive", "auth_pkg", "kdc_url", "prompt_credentials", "color_depth"):
        assert key in entry and entry[key] is None, key
    for key in ("banner", "enable_recording", "jump_hosts", "remote_app", "proxmox_node", "credential_variables"):
        assert key not in entry, key


def test_entry_listing_has_no_secret_only_has_credentials(production, api):
    """src/vault.rs EntryInfo: no password or private_key, only has_credentials (a non-empty password or
    private key); has_proxmox_token_secret always, has_container_password only when true; there is no
    has_password or has_private_key."""
    production.add_entry("shared", "production", "key", private_key="KEY-S3CRET", container_password="C-S3CRET")
    production.add_entry("shared", "production", "empty", password="")
    raw = api("GET", ENTRIES).raw
    assert b"KEY-S3CRET" not in raw and b"C-S3CRET" not in raw
    with_key, empty = listed_entry(api, "key"), listed_entry(api, "empty")
    assert (with_key["has_credentials"], empty["has_credentials"]) == (True, False)
    assert with_key["has_container_password"] is True and "has_container_password" not in empty
    assert with_key["has_proxmox_token_secret"] is False
    for entry in (with_key, empty):
        assert not {"password", "private_key", "container_password", "has_password", "has_private_key"} & set(entry)


def test_entry_listing_shows_every_stored_field(production, api):
    """src/vault.rs AddressBookEntry, EntryInfo: the fields beyond the connection (banner, recording,
    clipboard, sharing, RemoteApp, Proxmox...) are stored and listed back as written."""
    extra = {"banner": "Authorised use only", "enable_recording": True, "max_recordings": 5,
             "disable_copy": True, "allow_sharing": False, "remote_app": "||notepad",
             "allowed_domains": ["a.example"], "container_env": {"A": "1"}, "container_cpu_limit": 1.5,
             "proxmox_node": "pve1", "proxmox_vmid": 101, "max_monitors": 2}
    production.add_entry("shared", "production", "rich", type="rdp", hostname="10.0.0.9", **extra)
    entry = listed_entry(api, "rich")
    assert {key: entry[key] for key in extra} == extra


def test_entry_credential_variables_are_listed(production, api):
    """src/vault.rs entry_credential_variables, is_credential_variable: username, password, domain,
    private_key, container_username, container_password holding `$name` are listed by name (without the `$`)
    in credential_variables."""
    production.add_entry("shared", "production", "var", username="$corp_user", password="$corp-pw", domain="$")
    assert listed_entry(api, "var")["credential_variables"] == ["corp_user", "corp-pw"]


def test_entry_put_requires_type(production, api):
    """src/api.rs ab_update_entry: the body is Json<AddressBookEntry>, whose `type` has no serde default: a
    PUT without it is axum's 422 and nothing changes."""
    production.add_entry("shared", "production", "web01", hostname="10.0.0.5")
    reply = api("PUT", f"{ENTRIES}/web01", body={"hostname": "10.0.0.6"})
    assert reply.status == 422 and reply.raw.decode().startswith(UNPROCESSABLE + "missing field `type`")
    assert stored_entry(production, "web01")["hostname"] == "10.0.0.5"


def test_entry_put_replaces_the_entry(production, api):
    """src/api.rs ab_update_entry: the merged entry is the body (`..data`) with only secrets taken from the
    stored one, so every other field the body leaves out is cleared (banner, recording, display name...)."""
    production.add_entry("shared", "production", "web01", hostname="10.0.0.5", port=22, banner="Hi",
                         enable_recording=True, display_name="Web", domain="CORP")
    reply = api("PUT", f"{ENTRIES}/web01", body={"type": "ssh", "hostname": "10.0.0.5", "port": 2222})
    assert (reply.status, reply.json) == (200, {"ok": True})
    assert stored_entry(production, "web01") == {"type": "ssh", "hostname": "10.0.0.5", "port": 2222}


def test_entry_put_keeps_only_the_secrets_left_out(production, api):
    """src/api.rs ab_update_entry: password, private_key, container_password and proxmox_token_secret are
    `data.x.or(existing.x)`: left out (or null) they are kept; an empty string replaces the stored one."""
    production.add_entry("shared", "production", "web01", hostname="h", password="pw", private_key="key",
                         container_password="cpw", proxmox_token_secret="tok")
    api("PUT", f"{ENTRIES}/web01", body={"type": "ssh", "hostname": "h", "password": None, "private_key": ""})
    stored = stored_entry(production, "web01")
    assert (stored["password"], stored["private_key"], stored["container_password"],
            stored["proxmox_token_secret"]) == ("pw", "", "cpw", "tok")


def test_entry_put_merges_hop_secrets_by_index(production, api):
    """src/api.rs ab_update_entry: each hop of the body takes password, private_key and host_key from the
    stored hop at the same index when it has none, whatever its hostname."""
    production.add_entry("shared", "production", "web01", hostname="h", jump_hosts=[
        {"hostname": "b1", "username": "j", "password": "hop-pw", "host_key": HOST_KEY}])
    api("PUT", f"{ENTRIES}/web01", body={"type": "ssh", "hostname": "h", "jump_hosts": [
        {"hostname": "other", "username": "k"}, {"hostname": "b2", "username": "j"}]})
    hops = stored_entry(production, "web01")["jump_hosts"]
    assert hops == [{"hostname": "other", "port": 22, "username": "k", "password": "hop-pw", "host_key": HOST_KEY},
                    {"hostname": "b2", "port": 22, "username": "j"}]


def test_entry_put_without_jump_hosts_clears_them(production, api):
    """src/api.rs ab_update_entry: with no jump_hosts in the body the merged entry has none (data.jump_hosts),
    so a PUT that leaves them out removes the chain and its stored credentials."""
    production.add_entry("shared", "production", "web01", hostname="h", jump_hosts=[
        {"hostname": "b1", "username": "j", "password": "hop-pw"}])
    api("PUT", f"{ENTRIES}/web01", body={"type": "ssh", "hostname": "h"})
    assert "jump_hosts" not in stored_entry(production, "web01")
    assert "jump_hosts" not in listed_entry(api, "web01")


def test_entry_put_of_a_missing_entry_creates_it(production, api):
    """src/api.rs ab_update_entry: when the stored entry cannot be read (`Err(_) => data`) the body is written
    as it is: a PUT of a missing entry creates it and answers 200 {"ok": true}."""
    reply = api("PUT", f"{ENTRIES}/new01", body={"type": "vnc", "hostname": "10.0.0.7"})
    assert (reply.status, reply.json) == (200, {"ok": True})
    assert stored_entry(production, "new01") == {"type": "vnc", "hostname": "10.0.0.7"}


def test_entry_post_of_an_existing_entry_overwrites_it(production, api):
    """src/api.rs ab_create_entry; src/vault.rs put_entry: the create writes the body without looking for an
    entry of that name: an existing one is replaced whole, its secrets too (201 {"ok": true}, no 409)."""
    production.add_entry("shared", "production", "web01", hostname="10.0.0.5", password="pw", banner="Hi")
    reply = api("POST", ENTRIES, body={"name": "web01", "type": "ssh", "hostname": "10.0.0.9"})
    assert (reply.status, reply.json) == (201, {"ok": True})
    assert stored_entry(production, "web01") == {"type": "ssh", "hostname": "10.0.0.9"}


def test_entry_unknown_fields_are_dropped_and_type_is_any_string(production, api):
    """src/vault.rs AddressBookEntry: no deny_unknown_fields, so a field it does not have (`guest`,
    `description`) is dropped on write; `type` is a plain String, not checked on a write."""
    reply = api("POST", ENTRIES, body={"name": "odd", "type": "telnet", "guest": "pve/101", "description": "x"})
    assert reply.status == 201
    assert stored_entry(production, "odd") == {"type": "telnet"}
    assert listed_entry(api, "odd")["session_type"] == "telnet"


def test_entry_writes_read_the_body_before_the_role(production, api):
    """src/api.rs ab_create_entry, ab_update_entry, ab_delete_entry: the Json extractor runs first (422), then
    the handler's admin check: 403 {"error": "admin role required"}."""
    operator = production.add_api_key(name="ops", role="operator", groups=["ops"])
    assert api("POST", ENTRIES, key=operator, body={"name": "x"}).status == 422
    for method, path, body in (("POST", ENTRIES, {"name": "x", "type": "ssh"}),
                               ("PUT", f"{ENTRIES}/x", {"type": "ssh"}), ("DELETE", f"{ENTRIES}/x", None)):
        denied = api(method, path, key=operator, body=body)
        assert (denied.status, denied.json) == (403, {"error": "admin role required"}), method
    assert production.state()["entries"] == []


def test_entry_delete_answers_204_then_404(production, api):
    """src/api.rs ab_delete_entry: 204 with no body; Vault's NotFound is 404 {"error": "entry not found"}."""
    production.add_entry("shared", "production", "web01", hostname="h")
    assert api("DELETE", f"{ENTRIES}/web01").status == 204
    gone = api("DELETE", f"{ENTRIES}/web01")
    assert (gone.status, gone.json) == (404, {"error": "entry not found"})


def test_legacy_jump_host_fields_read_as_the_first_hop(production, api):
    """src/vault.rs normalize_jump_hosts, get_entry: a legacy flat jump_host (port
    defaulting to 22) is listed as jump_hosts[0], and a PUT that sends the hop back keeps its secret."""
    production.add_entry("shared", "production", "old", hostname="h", jump_host="bastion", jump_username="j",
                         jump_password="legacy-pw")
    assert listed_entry(api, "old")["jump_hosts"] == [{"hostname": "bastion", "port": 22, "username": "j"}]
    api("PUT", f"{ENTRIES}/old", body={"type": "ssh", "hostname": "h",
                                       "jump_hosts": [{"hostname": "bastion", "username": "j"}]})
    stored = stored_entry(production, "old")
    assert stored["jump_hosts"][0]["password"] == "legacy-pw" and "jump_host" not in stored


def test_hops_list_port_22_by_default_and_the_host_key_fingerprint(production, api):
    """src/tunnel.rs JumpHost, JumpHostInfo, fingerprint_openssh_key: the port has serde default 22; a hop is listed
    as {hostname, port, username} and, when a host key is pinned, its SHA256 fingerprint, never the key."""
    production.add_entry("shared", "production", "web01", hostname="h", jump_hosts=[
        {"hostname": "b1", "username": "j", "host_key": HOST_KEY}])
    digest = base64.b64encode(hashlib.sha256(HOST_KEY_BLOB).digest()).decode().rstrip("=")
    assert listed_entry(api, "web01")["jump_hosts"] == [
        {"hostname": "b1", "port": 22, "username": "j", "host_key_fingerprint": f"SHA256:{digest}"}]


# --- Vault down, tokens, sessions -------------------------------------------------------------------------


def test_vault_down_is_502_vault_backend_not_available(emu, api):
    """src/api.rs scoped, list_all_folders, ab_list_folders: a Vault backend (VaultBackends) that is down is
    VaultError::Unavailable ("vault backend not available"), answered 502 like every Vault error (not 503)."""
    emu.add_folder("shared", "production")
    emu.vault_enabled = False
    for method, path, body in (("GET", FOLDERS, None), ("GET", ENTRIES, None),
                               ("PUT", f"{ENTRIES}/web01", {"type": "ssh"})):
        reply = api(method, path, body=body)
        assert (reply.status, reply.json) == (502, {"error": "vault backend not available"}), path


def test_own_token_is_created_with_200(emu, api):
    """src/api.rs create_my_token: the reply is Json(...) without a status, so 200, with {id, name, token,
    max_role, expires_at}."""
    emu.add_user("pat@example.com", role="poweruser")
    own = emu.add_user_token("pat@example.com", "bootstrap")
    reply = api("POST", "/api/me/tokens", key=own, body={"name": "ci"})
    assert reply.status == 200 and set(reply.json) == {"id", "name", "token", "max_role", "expires_at"}


def test_admin_token_create_answers_200_with_the_email(emu, api):
    """src/api.rs admin_create_user_token: 200 with {id, name, email, token, max_role, expires_at}."""
    emu.add_user("op@example.com", role="operator")
    reply = api("POST", "/api/admin/user-tokens", body={"email": "op@example.com", "name": "ci"})
    assert reply.status == 200 and reply.json["email"] == "op@example.com"
    assert set(reply.json) == {"id", "name", "email", "token", "max_role", "expires_at"}


def test_sessions_are_the_callers_own_unless_an_admin_asks_all(emu, api):
    """src/api.rs list_sessions, ListSessionsQuery: only the caller's own sessions; `?all=true` shows
    everyone's to an admin and is ignored for others."""
    emu.add_user("pat@example.com", role="poweruser")
    pat = emu.add_user_token("pat@example.com", "t")
    other = emu.add_session(owner="someone@example.com")
    own = emu.add_session(owner="pat@example.com")
    assert [s["session_id"] for s in api("GET", "/api/sessions?all=true", key=pat).json] == [own["session_id"]]
    assert api("GET", "/api/sessions").json == []
    everyone = {s["session_id"] for s in api("GET", "/api/sessions?all=true").json}
    assert everyone == {own["session_id"], other["session_id"]}


# --- users -------------------------------------------------------------------------------------------------

USERS = "/api/users"
ANN = "/api/users/ann%40example.com"
USER_FIELDS = {"id", "email", "name", "oidc_subject", "role", "disabled", "created_at", "last_login_at",
               "oidc_groups"}


def test_user_list_is_the_users_table(emu, api):
    """src/api.rs list_users; src/db.rs list_users, User: every row ORDER BY id as serde writes db::User:
    {id, email, name, oidc_subject, role, disabled, created_at, last_login_at, oidc_groups}, the groups one
    comma-separated string, created_at SQLite's datetime('now'), last_login_at null until a second login."""
    emu.add_user("zed@example.com", name="Zed", role="viewer")
    emu.add_user("ann@example.com", name="Ann", role="operator", groups=["ops", "dba"], oidc_subject="sub-1")
    listed = api("GET", USERS).json
    assert [user["email"] for user in listed] == ["zed@example.com", "ann@example.com"]
    assert all(set(user) == USER_FIELDS for user in listed)
    ann = listed[1]
    assert (ann["oidc_groups"], ann["oidc_subject"], ann["disabled"], ann["last_login_at"]) == (
        "ops,dba", "sub-1", False, None)
    assert listed[0]["oidc_groups"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", ann["created_at"])


def test_user_role_change_answers_ok(emu, api):
    """src/api.rs set_user_role, SetRoleRequest; src/db.rs set_user_role: 200 {"ok": true}, not the user; the
    role is checked before the user (400 'role must be admin, poweruser, operator, or viewer'), an unknown email
    is 404 {"error": "user not found"}."""
    emu.add_user("ann@example.com", role="viewer")
    reply = api("PUT", f"{ANN}/role", body={"role": "poweruser"})
    assert (reply.status, reply.json) == (200, {"ok": True})
    assert emu.state()["users"][0]["role"] == "poweruser"
    for path in (f"{ANN}/role", "/api/users/nobody%40example.com/role"):
        reply = api("PUT", path, body={"role": "superuser"})
        assert (reply.status, reply.json) == (400, {"error": "role must be admin, poweruser, operator, or viewer"})
    reply = api("PUT", "/api/users/nobody%40example.com/role", body={"role": "viewer"})
    assert (reply.status, reply.json) == (404, {"error": "user not found"})


def test_user_role_body_is_read_before_the_admin_check(emu, api):
    """src/api.rs set_user_role: the Json<SetRoleRequest> extractor runs before the handler, so a body without
    `role` is axum's plain-text 422 for anybody; a valid body from a non-admin is 403 'admin role required'."""
    emu.add_user("ann@example.com", role="operator")
    token = emu.add_user_token("ann@example.com", "t")
    for key in (ADMIN_KEY, token):
        reply = api("PUT", f"{ANN}/role", key=key, raw=b'{"name": "x"}')
        assert reply.status == 422 and reply.raw.decode().startswith(UNPROCESSABLE + "missing field `role`")
    reply = api("PUT", f"{ANN}/role", key=token, body={"role": "admin"})
    assert (reply.status, reply.json) == (403, {"error": "admin role required"})
    assert emu.state()["users"][0]["role"] == "operator"


def test_user_enable_and_disable_answer_ok(emu, api):
    """src/api.rs disable_user, enable_user; src/db.rs disable_user, enable_user: 200 {"ok": true} (again for
    a user already in that state: the UPDATE matches the row), 404 {"error": "user not found"}; the disabled
    user's tokens stop working (src/db.rs validate_user_token: AuthError::Disabled)."""
    emu.add_user("ann@example.com", role="operator")
    token = emu.add_user_token("ann@example.com", "t")
    for _twice in range(2):
        reply = api("POST", f"{ANN}/disable")
        assert (reply.status, reply.json) == (200, {"ok": True})
    assert emu.state()["users"][0]["disabled"] is True
    assert api("GET", "/api/me", key=token).status == 401
    assert api("POST", f"{ANN}/enable").json == {"ok": True}
    assert api("GET", "/api/me", key=token).status == 200
    for action in ("disable", "enable"):
        reply = api("POST", f"/api/users/nobody%40example.com/{action}")
        assert (reply.status, reply.json) == (404, {"error": "user not found"})


def test_user_delete_takes_its_tokens(emu, api):
    """src/api.rs delete_user; src/db.rs delete_user: 204 with no body; the user's login sessions and API tokens
    are deleted with it; a second delete is 404 {"error": "user not found"}."""
    emu.add_user("ann@example.com", role="operator")
    token = emu.add_user_token("ann@example.com", "t")
    reply = api("DELETE", ANN)
    assert (reply.status, reply.raw) == (204, b"")
    assert emu.state()["users"] == [] and emu.state()["tokens"] == []
    assert api("GET", "/api/me", key=token).status == 401
    reply = api("DELETE", ANN)
    assert (reply.status, reply.json) == (404, {"error": "user not found"})


def test_user_sessions_delete_counts_them(emu, api):
    """src/api.rs delete_user_sessions; src/db.rs delete_user_sessions: 200 {"ok": true, "sessions_revoked": n}
    (n the rows deleted, 0 the second time), 404 {"error": "user not found"}."""
    emu.add_user("ann@example.com", role="operator", auth_sessions=2)
    assert api("DELETE", f"{ANN}/sessions").json == {"ok": True, "sessions_revoked": 2}
    assert api("DELETE", f"{ANN}/sessions").json == {"ok": True, "sessions_revoked": 0}
    reply = api("DELETE", "/api/users/nobody%40example.com/sessions")
    assert (reply.status, reply.json) == (404, {"error": "user not found"})


def test_user_routes_check_admin_in_the_handler(emu, api):
    """src/api.rs list_users, set_user_role, delete_user, delete_user_sessions, disable_user, enable_user: each
    answers a logged-in non-admin 403 {"error": "admin role required"} and changes nothing."""
    emu.add_user("ann@example.com", role="poweruser")
    token = emu.add_user_token("ann@example.com", "t")
    calls = [("GET", USERS, None), ("PUT", f"{ANN}/role", {"role": "admin"}), ("DELETE", ANN, None),
             ("DELETE", f"{ANN}/sessions", None), ("POST", f"{ANN}/disable", None), ("POST", f"{ANN}/enable", None)]
    before = emu.state()["users"]
    for method, path, body in calls:
        reply = api(method, path, key=token, body=body)
        assert (reply.status, reply.json) == (403, {"error": "admin role required"}), (method, path)
    assert emu.state()["users"] == before


def test_users_are_not_created_through_the_api(emu, api):
    """src/main.rs run_server: /api/users has only GET (users are made by their first OIDC login,
    src/db.rs upsert_user), so a POST is axum's 405 with no body; the email is matched exactly (src/db.rs
    set_user_role: WHERE email = ?1, case-sensitive in SQLite)."""
    reply = api("POST", USERS, body={"email": "new@example.com", "role": "viewer"})
    assert (reply.status, reply.raw) == (405, b"")
    emu.add_user("ann@example.com", role="viewer")
    reply = api("PUT", "/api/users/ANN%40example.com/role", body={"role": "admin"})
    assert (reply.status, reply.json) == (404, {"error": "user not found"})


# --- authentication -----------------------------------------------------------------------------------------

def test_no_credentials_is_401_authentication_required(emu, api):
    """src/auth.rs require_auth: without an API key (Authorization "Bearer <key>", the prefix as written, or
    X-API-Key) and without a session cookie, 401 {"error": "authentication required — use API key or sign in via
    SSO"}; an Authorization header of another scheme or case ("bearer x", "Basic x") is no key at all."""
    expected = (401, {"error": "authentication required \u2014 use API key or sign in via SSO"})
    reply = api("GET", "/api/users", key=None)
    assert (reply.status, reply.json) == expected
    for header in (f"bearer {ADMIN_KEY}", "Basic YWRtaW46YWRtaW4="):
        reply = call(emu.url, "GET", "/api/users", extra_headers={"Authorization": header})
        assert (reply.status, reply.json) == expected, header
    reply = call(emu.url, "GET", "/api/users", extra_headers={"Authorization": "Basic x", "X-API-Key": ADMIN_KEY})
    assert reply.status == 200


def test_a_key_that_is_neither_key_nor_token_is_401(emu, api):
    """src/auth.rs require_auth; src/db.rs validate_api_key, validate_user_token: a key that is no API key is tried
    as a user token; unknown, revoked, expired or of a disabled user, it is 401 {"error": "invalid API key or
    token"} alike."""
    emu.add_user("ann@example.com", role="operator")
    token = emu.add_user_token("ann@example.com", "t")
    old = emu.add_user_token("ann@example.com", "old", expires_at="2000-01-01T00:00:00Z")
    assert api("POST", "/api/users/ann%40example.com/disable").status == 200
    for key in ("not-a-key", "rgu_0000", token, old):
        reply = api("GET", "/api/me", key=key)
        assert (reply.status, reply.json) == (401, {"error": "invalid API key or token"}), key


def test_an_expired_api_key_is_403(emu, api):
    """src/auth.rs require_auth: an API key validate_api_key refuses for another reason than being unknown is 403
    with the reason (src/db.rs AuthError: "API key has expired"), not 401."""
    key = emu.add_api_key(name="old", role="admin", expires_at="2000-01-01T00:00:00Z")
    reply = api("GET", "/api/users", key=key)
    assert (reply.status, reply.json) == (403, {"error": "API key has expired"})


def test_me_names_a_key_by_its_name_and_a_user_by_its_email(emu, api):
    """src/api.rs me; src/auth.rs display_name, role, groups: {name, role, groups, vault_enabled,
    vault_configured}; an API key is named by its name with no groups, a user token's caller by the email; no
    email or auth type field."""
    reply = api("GET", "/api/me")
    assert reply.status == 200 and set(reply.json) == {"name", "role", "groups", "vault_enabled", "vault_configured"}
    assert (reply.json["role"], reply.json["groups"]) == ("admin", [])
    emu.add_user("ann@example.com", name="Ann", role="operator")
    token = emu.add_user_token("ann@example.com", "t")
    assert api("GET", "/api/me", key=token).json["name"] == "ann@example.com"

"""Conformance of the rustguac emulator with the real server's source.

Every test here pins one behaviour the emulator mirrors to the file and function of sol1/rustguac it was read
in, at the tag the emulator names (SOURCE_VERSION). The first line of each docstring is
``<file> <function>[, <function>...]: <what>``; test_every_test_names_its_source checks that.
"""
from __future__ import annotations

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

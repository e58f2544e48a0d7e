"""State and request handlers of the emulated rustguac REST API (all under /api/)."""
from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

# The real server's source these handlers are checked against, where a handler says so (the rest still follows
# the API notes; see README.md, "Read in the source"): https://github.com/sol1/rustguac at this tag and commit.
SOURCE_REPO = "sol1/rustguac"
SOURCE_VERSION = "v1.9.7"
SOURCE_COMMIT = "a897fcc63b672907f01c74515b92ff766530f318"

ROLES = {"viewer": 1, "operator": 2, "poweruser": 3, "admin": 4}
# src/auth.rs require_auth, no API key, token or session cookie.
UNAUTHENTICATED = "authentication required \u2014 use API key or sign in via SSO"
SCOPES = ("shared", "instance")
ENTRY_TYPES = ("ssh", "rdp", "vnc", "web")
SESSION_TYPES = ENTRY_TYPES
# src/vault.rs AddressBookEntry: every field an entry stores, by its serde kind. "type" is the only required one
# (a String, any value: the server does not check it on a write); the others are Option<...>.
U16, U8, U32, U64 = (0, 65535), (0, 255), (0, 2**32 - 1), (0, 2**64 - 1)
ENTRY_SCHEMA: dict[str, Any] = {
    "type": "str", "hostname": "str", "port": U16, "username": "str", "password": "str",
    "private_key": "str", "url": "str", "domain": "str", "security": "str", "ignore_cert": "bool",
    "display_name": "str", "enable_drive": "bool", "auth_pkg": "str", "kdc_url": "str",
    "prompt_credentials": "bool", "color_depth": U8, "jump_hosts": "hops",
    "jump_host": "str", "jump_port": U16, "jump_username": "str", "jump_password": "str",
    "jump_private_key": "str", "remote_app": "str", "remote_app_dir": "str", "remote_app_args": "str",
    "enable_recording": "bool", "max_recordings": U32, "record_typescript": "bool", "login_script": "str",
    "autofill": "str", "allowed_domains": "str_list", "disable_copy": "bool", "disable_paste": "bool",
    "banner": "str", "enable_gfx": "bool", "enable_desktop_composition": "bool", "enable_wallpaper": "bool",
    "enable_theming": "bool", "enable_full_window_drag": "bool", "force_lossless": "bool",
    "enable_h264": "bool", "container_image": "str", "container_cpu_limit": "f64",
    "container_memory_limit": U64, "container_env": "str_map", "container_idle_timeout_mins": U64,
    "container_username": "str", "container_password": "str", "allow_sharing": "bool",
    "auto_open_if_singleton": "bool", "fullscreen_on_connect": "bool", "autohide_side_tabs": "bool",
    "spice_tls": "bool", "spice_tls_port": U16, "spice_ca_cert": "str", "spice_cert_subject": "str",
    "spice_proxy": "str", "proxmox_url": "str", "proxmox_node": "str", "proxmox_vmid": U32,
    "proxmox_token_id": "str", "proxmox_token_secret": "str", "proxmox_verify_tls": "bool",
    "max_monitors": U32,
}
ENTRY_FIELDS = tuple(ENTRY_SCHEMA)
# Secrets PUT keeps when the body leaves them out (src/api.rs ab_update_entry); never listed.
SECRET_FIELDS = ("password", "private_key")
MERGED_SECRETS = ("password", "private_key", "container_password", "proxmox_token_secret")
LEGACY_JUMP = ("jump_host", "jump_port", "jump_username", "jump_password", "jump_private_key")
# src/vault.rs EntryInfo: these Option fields are listed as null when unset; the others are left out.
LISTED_WITH_NULL = ("hostname", "port", "username", "url", "display_name", "domain", "security", "ignore_cert",
                    "enable_drive", "auth_pkg", "kdc_url", "prompt_credentials", "color_depth")
NOT_LISTED = MERGED_SECRETS + LEGACY_JUMP + ("type", "jump_hosts")
CREDENTIAL_VARIABLE_FIELDS = ("username", "password", "domain", "private_key", "container_username",
                              "container_password")
HOP_SECRETS = ("password", "private_key", "host_key")
SAFE_RECORDING = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_CHARS = re.compile(r"[A-Za-z0-9._-]+")  # Rust's is_ascii_alphanumeric plus '-', '_', '.'
NAME_MAX = 64
PATH_MAX = 256


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sqlite_now() -> str:
    """SQLite's ``datetime('now')``, the column default of src/db.rs tables (UTC, no 'T', no zone)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def serde_position(body: bytes) -> str:
    """serde_json's `` at line L column C`` for an error found at the end of the top-level object."""
    text = body.decode("utf-8", "replace").rstrip()
    lines = text.split("\n")
    return f" at line {len(lines)} column {len(lines[-1])}"


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list -> JSON, str -> text/plain, bytes -> octet-stream, None -> empty
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error answered as ``{"error": message}`` (or plain text for axum's extractor rejections)."""

    def __init__(self, status: int, message: str, *, plain: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.plain = plain

    def response(self) -> Response:
        if self.plain:
            return Response(self.status, self.message)
        return Response(self.status, {"error": self.message})


def bad_name(message: str, status: int = 502) -> ApiError:
    """src/vault.rs VaultError::BadName, shown as ``invalid name: <message>``; the address-book handlers of
    src/api.rs answer a Vault error with 502 (BAD_GATEWAY), check_folder_access with 500."""
    return ApiError(status, f"invalid name: {message}")


def validate_name(name: str, status: int = 502) -> None:
    """src/vault.rs validate_name: a folder segment or an entry name."""
    if not name or len(name.encode("utf-8")) > NAME_MAX:
        raise bad_name("name must be 1-64 characters", status)
    if name in (".config", ".", ".."):
        raise bad_name("reserved name", status)
    if "/" in name or "\\" in name:
        raise bad_name("name cannot contain path separators", status)
    if not NAME_CHARS.fullmatch(name):
        raise bad_name("name must be alphanumeric, hyphens, underscores, or dots", status)


def validate_path(path: str, status: int = 502) -> None:
    """src/vault.rs validate_path: a folder path, segments joined by '/' (``Clients/Acme``)."""
    if not path:
        raise bad_name("path cannot be empty", status)
    if len(path.encode("utf-8")) > PATH_MAX:
        raise bad_name("path too long (max 256 chars)", status)
    if path.startswith("/") or path.endswith("/"):
        raise bad_name("path cannot start or end with /", status)
    if "//" in path:
        raise bad_name("path cannot contain empty segments", status)
    for segment in path.split("/"):
        validate_name(segment, status)


def check_scope(scope: str, status: int = 502) -> None:
    """src/vault.rs resolve_scope_prefix (called after the name checks); an instance_name is configured."""
    if scope not in SCOPES:
        raise bad_name(f"invalid scope: {scope}", status)


def unprocessable(message: str) -> ApiError:
    return ApiError(422, f"Failed to deserialize the JSON body into the target type: {message}",
                    plain=True)


@dataclass
class Identity:
    kind: str  # "api_key" or "user"
    name: str  # key name or user email
    role: str
    groups: list[str]
    email: str | None = None

    @property
    def level(self) -> int:
        return ROLES[self.role]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    remote: str


# --- body parsing (serde-like) ---------------------------------------------------------


def parse_json_body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    if not request.body:
        if optional:
            return {}
        raise ApiError(400, "Failed to parse the request body as JSON: EOF while parsing a value at "
                            "line 1 column 0", plain=True)
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(415, "Expected request with `Content-Type: application/json`", plain=True)
    try:
        value = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"Failed to parse the request body as JSON: {exc}", plain=True) from exc
    if not isinstance(value, dict):
        raise unprocessable("invalid type: expected a JSON object")
    return value


def opt_str(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise unprocessable(f"{name}: invalid type: {type(value).__name__}, expected a string")
    return value


def opt_int(body: dict, name: str, low: int = 0, high: int = 2**31 - 1) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise unprocessable(f"{name}: invalid type: {type(value).__name__}, expected an integer")
    if not low <= value <= high:
        raise unprocessable(f"{name}: invalid value: integer `{value}`, expected {low}..={high}")
    return value


def opt_bool(body: dict, name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise unprocessable(f"{name}: invalid type: {type(value).__name__}, expected a boolean")
    return value


def opt_enum(body: dict, name: str, choices: tuple[str, ...] | dict) -> str | None:
    value = opt_str(body, name)
    if value is not None and value not in choices:
        expected = ", ".join(f"`{choice}`" for choice in choices)
        raise unprocessable(f"{name}: unknown variant `{value}`, expected one of {expected}")
    return value


def opt_str_list(body: dict, name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise unprocessable(f"{name}: invalid type, expected a sequence of strings")
    return list(value)


def parse_jump_hosts(body: dict) -> list[dict[str, Any]] | None:
    """src/tunnel.rs JumpHost: hostname and username required (Strings), port u16 defaulting to 22, password,
    private_key and host_key optional."""
    hops = body.get("jump_hosts")
    if hops is None:
        return None
    if not isinstance(hops, list) or not all(isinstance(hop, dict) for hop in hops):
        raise unprocessable("jump_hosts: invalid type, expected a sequence of objects")
    parsed = []
    for index, hop in enumerate(hops):
        for required in ("hostname", "username"):
            if hop.get(required) is None:
                raise unprocessable(f"jump_hosts[{index}]: missing field `{required}`")
        port = opt_int(hop, "port", *U16)
        item: dict[str, Any] = {"hostname": opt_str(hop, "hostname"), "port": 22 if port is None else port,
                                "username": opt_str(hop, "username")}
        for secret in HOP_SECRETS:
            value = opt_str(hop, secret)
            if value is not None:
                item[secret] = value
        parsed.append(item)
    return parsed


def opt_f64(body: dict, name: str) -> float | None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise unprocessable(f"{name}: invalid type: {type(value).__name__}, expected f64")
    return value


def opt_str_map(body: dict, name: str) -> dict[str, str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise unprocessable(f"{name}: invalid type, expected a map of strings")
    return dict(value)


def parse_entry_fields(body: dict) -> dict[str, Any]:
    """src/vault.rs AddressBookEntry as serde reads it: every known field present (not null) in body,
    type-checked; unknown fields are ignored (no deny_unknown_fields); ``type`` is any string."""
    fields: dict[str, Any] = {}
    for name, kind in ENTRY_SCHEMA.items():
        if kind == "str":
            value = opt_str(body, name)
        elif kind == "bool":
            value = opt_bool(body, name)
        elif kind == "f64":
            value = opt_f64(body, name)
        elif kind == "str_list":
            value = opt_str_list(body, name)
        elif kind == "str_map":
            value = opt_str_map(body, name)
        elif kind == "hops":
            value = parse_jump_hosts(body)
        else:
            value = opt_int(body, name, *kind)
        if value is not None:
            fields[name] = value
    return fields


def parse_entry(body: dict, raw: bytes) -> dict[str, Any]:
    """An AddressBookEntry body: ``type`` is required (serde's ``missing field `type```, 422)."""
    fields = parse_entry_fields(body)
    if "type" not in fields:
        raise unprocessable(f"missing field `type`{serde_position(raw)}")
    return fields


def normalize_jump_hosts(entry: dict[str, Any]) -> dict[str, Any]:
    """src/vault.rs AddressBookEntry::normalize_jump_hosts, run on every read: a legacy flat jump host becomes
    jump_hosts[0] (when jump_hosts is unset), and the legacy fields are dropped."""
    entry = copy.deepcopy(entry)
    if entry.get("jump_hosts") is None and entry.get("jump_host"):
        hop = {"hostname": entry["jump_host"], "port": entry.get("jump_port", 22),
               "username": entry.get("jump_username", "")}
        for legacy, secret in (("jump_password", "password"), ("jump_private_key", "private_key")):
            if entry.get(legacy) is not None:
                hop[secret] = entry[legacy]
        entry["jump_hosts"] = [hop]
    for legacy in LEGACY_JUMP:
        entry.pop(legacy, None)
    return entry


def host_key_fingerprint(key: str) -> str | None:
    """src/tunnel.rs fingerprint_openssh_key: ``SHA256:<base64 of the key blob's digest, unpadded>``."""
    parts = key.split()
    if len(parts) < 2:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        return None
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def is_credential_variable(value: str | None) -> bool:
    """src/vault.rs is_credential_variable: ``$`` and one or more ASCII letters, digits, '_' or '-'."""
    return bool(value) and value.startswith("$") and len(value) > 1 and all(
        char.isascii() and (char.isalnum() or char in "_-") for char in value[1:])


def public_entry(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """src/vault.rs EntryInfo, as ab_list_entries lists an entry: ``session_type`` (not ``type``), null for the
    unset fields of LISTED_WITH_NULL, the other unset fields left out; no secret, only ``has_credentials`` (a
    non-empty password or private key), ``has_proxmox_token_secret`` and, when true, ``has_container_password``;
    jump hosts as {hostname, port, username[, host_key_fingerprint]}."""
    entry = normalize_jump_hosts(entry)
    shown: dict[str, Any] = {"name": name, "session_type": entry.get("type", "")}
    for key in LISTED_WITH_NULL:
        shown[key] = copy.deepcopy(entry.get(key))
    shown["has_credentials"] = bool(entry.get("password")) or bool(entry.get("private_key"))
    if entry.get("jump_hosts") is not None:
        hops = []
        for hop in entry["jump_hosts"]:
            listed_hop = {"hostname": hop["hostname"], "port": hop["port"], "username": hop["username"]}
            fingerprint = host_key_fingerprint(hop["host_key"]) if hop.get("host_key") else None
            if fingerprint:
                listed_hop["host_key_fingerprint"] = fingerprint
            hops.append(listed_hop)
        shown["jump_hosts"] = hops
    for key, value in entry.items():
        if key not in shown and key not in NOT_LISTED and value is not None:
            shown[key] = copy.deepcopy(value)
    variables = [entry[key][1:] for key in CREDENTIAL_VARIABLE_FIELDS if is_credential_variable(entry.get(key))]
    if variables:
        shown["credential_variables"] = variables
    if entry.get("container_password"):
        shown["has_container_password"] = True
    shown["has_proxmox_token_secret"] = bool(entry.get("proxmox_token_secret"))
    return shown


def merge_entry(existing: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """src/api.rs ab_update_entry: the body replaces the entry. Only the secrets the body leaves out (null or
    absent; an empty string replaces) come from the stored entry: password, private_key, container_password,
    proxmox_token_secret, and per jump host by index password, private_key, host_key. A body without
    jump_hosts clears them; the legacy jump_password / jump_private_key are dropped. No stored entry (or a read
    that failed): the body as it is."""
    if existing is None:
        return copy.deepcopy(incoming)
    existing = normalize_jump_hosts(existing)
    merged = copy.deepcopy(incoming)
    for secret in MERGED_SECRETS:
        if merged.get(secret) is None and existing.get(secret) is not None:
            merged[secret] = existing[secret]
    if incoming.get("jump_hosts") is not None:
        old_hops = existing.get("jump_hosts") or []
        for index, hop in enumerate(merged["jump_hosts"]):
            for secret in HOP_SECRETS:
                if hop.get(secret) is None and index < len(old_hops) and old_hops[index].get(secret) is not None:
                    hop[secret] = old_hops[index][secret]
    merged.pop("jump_password", None)
    merged.pop("jump_private_key", None)
    return merged


def parse_expiry(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, f"invalid expires_at: {value!r} is not an ISO 8601 timestamp") from exc
    return value


def is_expired(expires_at: str | None) -> bool:
    if not expires_at:
        return False
    moment = datetime.datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment <= datetime.datetime.now(datetime.timezone.utc)


# --- the API ----------------------------------------------------------------------------


Handler = Callable[["Api", Request, Identity | None, list[str]], Response]


class Api:
    def __init__(self, admin_key: str) -> None:
        self.vault_enabled = True
        self.oidc_enabled = True
        self.site_title = "rustguac"
        self.api_keys: dict[str, dict[str, Any]] = {}
        self.folders: dict[tuple[str, str], dict[str, Any]] = {}
        self.entries: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.group_mappings: dict[int, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens: dict[int, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.recordings: dict[str, dict[str, Any]] = {}
        self.token_audit: list[dict[str, Any]] = []
        self._next_mapping = 1
        self._next_token = 1
        self._next_user = 1
        self.add_api_key("admin", "admin", key=admin_key)

    # --- seeding ------------------------------------------------------------------------

    def add_api_key(self, name: str, role: str = "admin", key: str | None = None,
                    groups: list[str] | None = None, expires_at: str | None = None) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        key = key or secrets.token_hex(24)
        self.api_keys[key] = {"name": name, "role": role, "groups": list(groups or []),
                              "expires_at": expires_at, "key": key}
        return key

    def add_user(self, email: str, name: str = "", role: str = "operator", enabled: bool = True,
                 groups: list[str] | None = None, oidc_subject: str | None = None,
                 last_login_at: str | None = None, auth_sessions: int = 1) -> dict[str, Any]:
        """A user as its first OIDC login makes it (src/db.rs upsert_user): the row of the users table,
        {id, email, name, oidc_subject, role, disabled, created_at, last_login_at, oidc_groups} (db::User), with
        the groups joined by commas; `auth_sessions` counts its login sessions (never listed)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        user = {"id": self._next_user, "email": email, "name": name or email.split("@")[0],
                "oidc_subject": oidc_subject, "role": role, "disabled": not enabled,
                "created_at": sqlite_now(), "last_login_at": last_login_at,
                "oidc_groups": ",".join(groups or []), "auth_sessions": auth_sessions}
        self._next_user += 1
        self.users[email] = user
        return user

    def create_token(self, email: str, name: str, max_role: str | None,
                     expires_at: str | None, actor: str, ip_addr: str) -> dict[str, Any]:
        plaintext = "rgu_" + secrets.token_hex(24)
        token = {"id": self._next_token, "email": email, "name": name, "max_role": max_role,
                 "expires_at": expires_at, "created_at": now_iso(), "last_used_at": None,
                 "token": plaintext,
                 "token_hash": hashlib.sha256(plaintext.encode()).hexdigest()}
        self._next_token += 1
        self.tokens[token["id"]] = token
        self.audit(email, name, "create", ip_addr, f"created by {actor}")
        return token

    def audit(self, email: str, token_name: str, action: str, ip_addr: str, details: str) -> None:
        self.token_audit.append({"created_at": now_iso(), "user_email": email,
                                 "token_name": token_name, "action": action, "ip_addr": ip_addr,
                                 "details": details})

    def state(self) -> dict[str, Any]:
        return copy.deepcopy({
            "folders": [folder for _key, folder in sorted(self.folders.items())],
            "entries": [{"scope": key[0], "folder": key[1], **entry}
                        for key, entry in sorted(self.entries.items())],
            "group_mappings": [self.group_mappings[key] for key in sorted(self.group_mappings)],
            "users": [self.users[key] for key in sorted(self.users)],
            "tokens": [self.tokens[key] for key in sorted(self.tokens)],
            "api_keys": list(self.api_keys.values()),
            "sessions": list(self.sessions.values()),
            "recordings": [{key: value for key, value in item.items() if key != "content"}
                           for item in self.recordings.values()],
            "token_audit": self.token_audit,
        })

    # --- authentication --------------------------------------------------------------------

    def authenticate(self, request: Request) -> Identity | None:
        """src/auth.rs require_auth: the key is what follows "Bearer " (case as written) in Authorization, else the
        X-API-Key header; None when neither came (the route then answers 401, see UNAUTHENTICATED). A key that is
        an API key (src/db.rs validate_api_key) but expired is 403 "API key has expired"; any other key is tried
        as a user token (validate_user_token), and one that is unknown, revoked, expired or of a disabled user is
        401 "invalid API key or token"."""
        header = request.headers.get("Authorization") or ""
        key = header[len("Bearer "):] if header.startswith("Bearer ") else request.headers.get("X-API-Key")
        if key is None:
            return None
        api_key = self.api_keys.get(key)
        if api_key is not None:
            if is_expired(api_key["expires_at"]):
                raise ApiError(403, "API key has expired")
            return Identity("api_key", api_key["name"], api_key["role"], api_key["groups"])
        return self._user_token_identity(key, request.remote)

    def _user_token_identity(self, plaintext: str, ip_addr: str) -> Identity:
        digest = hashlib.sha256(plaintext.encode()).hexdigest()
        token = next((item for item in self.tokens.values() if item["token_hash"] == digest), None)
        user = self.users.get(token["email"]) if token is not None else None
        if token is None or is_expired(token["expires_at"]) or user is None or user["disabled"]:
            raise ApiError(401, "invalid API key or token")
        role = user["role"]
        if token["max_role"] and ROLES[token["max_role"]] < ROLES[role]:
            role = token["max_role"]
        token["last_used_at"] = now_iso()
        return Identity("user", user["email"], role, user_groups(user), email=user["email"])

    # --- dispatch ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            return self._dispatch(request)
        except ApiError as error:
            return error.response()

    def _dispatch(self, request: Request) -> Response:
        segments = [unquote(part) for part in request.path.strip("/").split("/")]
        if request.path.rstrip("/") == "":
            segments = []
        matched_path = False
        for method, pattern, min_role, handler in ROUTES:
            params = match(pattern, segments)
            if params is None:
                continue
            matched_path = True
            if method != request.method:
                continue
            identity = None
            if min_role is not None:
                identity = self.authenticate(request)
                if identity is None:
                    raise ApiError(401, UNAUTHENTICATED)
                if identity.level < ROLES[min_role]:
                    raise ApiError(403, f"Insufficient permissions: requires {min_role} role")
            return handler(self, request, identity, params)
        if matched_path:
            return Response(405, "")
        return Response(404, "")

    # --- helpers ------------------------------------------------------------------------

    def require_vault(self) -> None:
        """src/api.rs VaultBackends::scoped, list_all_folders: a backend that is down is
        VaultError::Unavailable, which the address-book handlers answer 502 (BAD_GATEWAY)."""
        if not self.vault_enabled:
            raise ApiError(502, "vault backend not available")

    def folder(self, scope: str, name: str, status: int = 502) -> dict[str, Any]:
        """The folder at scope/name; its path and the scope are checked as src/vault.rs does first."""
        validate_path(name, status)
        check_scope(scope, status)
        folder = self.folders.get((scope, name))
        if folder is None:
            raise ApiError(404, f"Folder '{name}' not found in scope '{scope}'")
        return folder

    @staticmethod
    def can_see(identity: Identity, folder: dict[str, Any]) -> bool:
        return identity.role == "admin" or bool(set(identity.groups) & set(folder["allowed_groups"]))

    def visible_folder(self, identity: Identity, scope: str, name: str) -> dict[str, Any]:
        # src/api.rs check_folder_access: admins skip it (a bad name is then a 502 from the listing);
        # for others get_folder_config's BadName comes back as a 500.
        folder = self.folder(scope, name, 502 if identity.role == "admin" else 500)
        if not self.can_see(identity, folder):
            raise ApiError(403, "Access denied: not a member of an allowed group for this folder")
        return folder

    def create_session(self, fields: dict[str, Any], owner: str, source: str) -> dict[str, Any]:
        session_id = str(uuid.uuid4())
        share_key = secrets.token_hex(8)
        session = {"session_id": session_id, "session_type": fields.get("session_type", "ssh"),
                   "hostname": fields.get("hostname"), "port": fields.get("port"),
                   "username": fields.get("username"), "url": fields.get("url"),
                   "owner": owner, "source": source, "created_at": now_iso(),
                   "jump_hosts": len(fields.get("jump_hosts") or []),
                   "client_url": f"/client/{session_id}",
                   "share_url": f"/client/{session_id}&key={share_key}",
                   "banner_text": fields.get("banner")}
        self.sessions[session_id] = session
        return session


def match(pattern: tuple[str, ...], segments: list[str]) -> list[str] | None:
    if len(pattern) != len(segments):
        return None
    params = []
    for expected, actual in zip(pattern, segments, strict=True):
        if expected == "*":
            if actual == "":
                return None
            params.append(actual)
        elif expected != actual:
            return None
    return params


# --- handlers ---------------------------------------------------------------------------------


def health(api: Api, request: Request, identity: Identity | None, params: list[str]) -> Response:
    return Response(200, {"status": "ok"})


def auth_status(api: Api, request: Request, identity: Identity | None, params: list[str]) -> Response:
    return Response(200, {"oidc_enabled": api.oidc_enabled, "site_title": api.site_title})


def me(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """src/api.rs me: the identity's display_name (the key's name, or the user's email), role and groups
    (src/auth.rs AuthIdentity), and the Vault flags; no email or auth type of their own."""
    return Response(200, {
        "name": identity.name,
        "role": identity.role,
        "groups": identity.groups,
        "vault_enabled": api.vault_enabled,
        "vault_configured": api.vault_enabled,
    })


# folders


def require_role(identity: Identity, role: str) -> None:
    """A handler's own ``id.has_role(role)`` check (src/api.rs): 403 ``<role> role required``."""
    if identity.level < ROLES[role]:
        raise ApiError(403, f"{role} role required")


def folder_dirs(api: Api, scope: str) -> set[str]:
    """Every folder path of the scope as Vault sees it: a key prefix, whether it holds a .config (a folder
    created by POST/PUT), only entries (one made by an entry create), or only deeper folders."""
    paths = {path for (folder_scope, path) in api.folders if folder_scope == scope}
    paths |= {folder for (entry_scope, folder, _name) in api.entries if entry_scope == scope}
    dirs = set()
    for path in paths:
        segments = path.split("/")
        dirs.update("/".join(segments[:end]) for end in range(1, len(segments) + 1))
    return dirs


def folder_config(api: Api, scope: str, path: str) -> dict[str, Any] | None:
    """The folder's .config (src/vault.rs FolderConfig), None when it has none."""
    stored = api.folders.get((scope, path))
    if stored is None:
        return None
    return {key: copy.deepcopy(stored[key]) for key in ("allowed_groups", "description", "inherit_from_parent")}


def list_folders(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """src/api.rs ab_list_folders, VaultBackends::list_all_folders; src/vault.rs list_folders_in_scope: the
    top-level folders, shared then instance, each in Vault's (sorted) order, as FolderInfo {name,
    description, scope, path, has_children}; no groups. Non-admins see those whose own config allows them."""
    require_role(identity, "operator")
    api.require_vault()
    listed = []
    for scope in ("shared", "instance"):
        dirs = folder_dirs(api, scope)
        for name in sorted(path for path in dirs if "/" not in path):
            config = folder_config(api, scope, name)
            if identity.role != "admin" and not (config and set(config["allowed_groups"]) & set(identity.groups)):
                continue
            listed.append({"name": name, "description": config["description"] if config else "",
                           "scope": scope, "path": name,
                           "has_children": any(path.startswith(name + "/") for path in dirs)})
    return Response(200, listed)


def folder_body(request: Request) -> dict[str, Any]:
    """src/api.rs CreateFolderRequest / UpdateFolderRequest: allowed_groups required, description and
    inherit_from_parent default to "" and false (so a PUT that leaves them out resets them)."""
    body = parse_json_body(request)
    if body.get("allowed_groups") is None:
        raise unprocessable(f"missing field `allowed_groups`{serde_position(request.body)}")
    return {"allowed_groups": opt_str_list(body, "allowed_groups") or [],
            "description": opt_str(body, "description") or "",
            "inherit_from_parent": bool(opt_bool(body, "inherit_from_parent"))}


def put_folder_config(api: Api, scope: str, path: str, config: dict[str, Any]) -> None:
    """src/vault.rs put_folder_config: validate_path, the scope, then write (create or overwrite)."""
    validate_path(path)
    check_scope(scope)
    api.folders[(scope, path)] = {"scope": scope, "name": path, **config}


def create_folder(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """src/api.rs ab_create_folder: the body first (Json extractor), then the admin check; an existing
    folder's config is overwritten (no conflict); 201 {"ok": true}."""
    body = parse_json_body(request)
    if body.get("name") is None:
        raise unprocessable(f"missing field `name`{serde_position(request.body)}")
    config = folder_body(request)
    scope = opt_str(body, "scope") or "shared"  # CreateFolderRequest: a String, serde default "shared"
    require_role(identity, "admin")
    api.require_vault()
    put_folder_config(api, scope, opt_str(body, "name") or "", config)
    return Response(201, {"ok": True})


def update_folder(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """src/api.rs ab_update_folder: the whole config from the body (a missing folder is created); 200 ok."""
    config = folder_body(request)
    require_role(identity, "admin")
    api.require_vault()
    scope, path = params
    put_folder_config(api, scope, path, config)
    return Response(200, {"ok": True})


def get_folder_config(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """src/api.rs ab_get_folder_config; src/vault.rs get_folder_config: admin only; a folder without a
    config answers the defaults."""
    require_role(identity, "admin")
    api.require_vault()
    scope, path = params
    validate_path(path)
    check_scope(scope)
    config = folder_config(api, scope, path)
    return Response(200, config or {"allowed_groups": [], "description": "", "inherit_from_parent": False})


def delete_folder(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """src/api.rs ab_delete_folder; src/vault.rs delete_folder: the folder and its whole subtree (configs and
    entries); 200 {"ok": true, "subfolders_deleted", "entries_deleted"}, also for a folder that is not there."""
    require_role(identity, "admin")
    api.require_vault()
    scope, path = params
    validate_path(path)
    check_scope(scope)
    subfolders = {d for d in folder_dirs(api, scope) if d.startswith(path + "/")}
    tree = subfolders | {path}
    entries = [key for key in api.entries if key[0] == scope and key[1] in tree]
    for key in entries:
        del api.entries[key]
    for folder in tree:
        api.folders.pop((scope, folder), None)
    return Response(200, {"ok": True, "subfolders_deleted": len(subfolders), "entries_deleted": len(entries)})


# entries


def list_entries(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    api.require_vault()
    scope, folder = params
    # src/api.rs ab_list_entries: admins skip check_folder_access, and the listing of a folder that does not
    # exist is Vault's NotFound, answered as an empty list; for others resolve_folder_access turns a missing
    # folder config into "no access" (403), the same answer as a folder their groups do not allow.
    if identity.role == "admin":
        validate_path(folder)
        check_scope(scope)
    else:
        validate_path(folder, 500)
        check_scope(scope, 500)
        stored = api.folders.get((scope, folder))
        if stored is None or not api.can_see(identity, stored):
            raise ApiError(403, "no access to this folder")
    # src/api.rs ab_list_entries: an entry that fails to read is left out; each is an EntryInfo.
    return Response(200, [public_entry(key[2], entry) for key, entry in sorted(api.entries.items())
                          if key[:2] == (scope, folder)])


def create_entry(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """src/api.rs ab_create_entry, CreateEntryRequest {name, #[serde(flatten)] AddressBookEntry}: the body
    first, then the admin check; src/vault.rs put_entry writes it whole (an existing entry is overwritten, its
    secrets too: no merge) and the folder is not looked for; 201 {"ok": true}."""
    scope, folder = params
    body = parse_json_body(request)
    if body.get("name") is None:
        raise unprocessable(f"missing field `name`{serde_position(request.body)}")
    name = opt_str(body, "name") or ""
    fields = parse_entry(body, request.body)
    require_role(identity, "admin")
    api.require_vault()
    # src/vault.rs put_entry: validate_path(folder), validate_name(entry), then the scope
    validate_path(folder)
    validate_name(name)
    check_scope(scope)
    # In Vault the folder is then a key prefix without a .config, listed with no groups and no description.
    api.folders.setdefault((scope, folder), {"scope": scope, "name": folder, "allowed_groups": [],
                                             "description": "", "inherit_from_parent": False})
    api.entries[(scope, folder, name)] = {"name": name, **fields}
    return Response(201, {"ok": True})


def update_entry(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """src/api.rs ab_update_entry: Json<AddressBookEntry> (``type`` required), then the admin check; the stored
    entry is read (a missing one, a bad name or a Vault error: the body is written as it is) and merged
    (merge_entry); src/vault.rs put_entry checks the names and the scope; 200 {"ok": true}."""
    scope, folder, name = params
    incoming = parse_entry(parse_json_body(request), request.body)
    require_role(identity, "admin")
    existing = None
    if api.vault_enabled:
        existing = api.entries.get((scope, folder, name))
    api.require_vault()
    validate_path(folder)
    validate_name(name)
    check_scope(scope)
    entry = merge_entry(existing, incoming)
    entry["name"] = name
    api.entries[(scope, folder, name)] = entry
    return Response(200, {"ok": True})


def delete_entry(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """src/api.rs ab_delete_entry; src/vault.rs delete_entry: the admin check, the entry name (not the folder
    path), the scope; 204, or 404 {"error": "entry not found"} for Vault's NotFound."""
    require_role(identity, "admin")
    api.require_vault()
    scope, folder, name = params
    validate_name(name)
    check_scope(scope)
    if api.entries.pop((scope, folder, name), None) is None:
        raise ApiError(404, "entry not found")
    return Response(204)


def connect_entry(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    api.require_vault()
    scope, folder, name = params
    api.visible_folder(identity, scope, folder)
    entry = api.entries.get((scope, folder, name))
    if entry is None:
        raise ApiError(404, f"Entry '{name}' not found in folder '{folder}'")
    overrides = parse_json_body(request, optional=True)
    fields = {**normalize_jump_hosts(entry), "session_type": entry["type"]}
    if (username := opt_str(overrides, "username")) is not None:
        fields["username"] = username
    if (banner := opt_str(overrides, "banner")) is not None:
        fields["banner"] = banner
    session = api.create_session(fields, identity.email or identity.name,
                                 f"addressbook:{scope}/{folder}/{name}")
    return Response(200, {key: session[key] for key in ("session_id", "client_url", "share_url")})


# group mappings


def mapping_body(request: Request) -> tuple[str, str]:
    """src/api.rs CreateGroupMappingRequest / UpdateGroupMappingRequest: ``{group: String, role: String}``.

    axum's ``Json`` extractor runs before the handler's admin check, so a body without ``group`` is a 422
    for any authenticated caller; unknown fields (such as ``oidc_group``) are ignored, as serde does.
    """
    body = parse_json_body(request)
    for required in ("group", "role"):
        if body.get(required) is None:
            raise unprocessable(f"missing field `{required}`{serde_position(request.body)}")
    return opt_str(body, "group") or "", opt_str(body, "role") or ""


def require_admin(identity: Identity) -> None:
    """The handler's own ``id.has_role("admin")`` check (src/api.rs): 403 ``admin role required``."""
    if identity.level < ROLES["admin"]:
        raise ApiError(403, "admin role required")


def check_mapping_role(role: str) -> None:
    if role not in ROLES:
        raise ApiError(400, "role must be admin, poweruser, operator, or viewer")


def list_mappings(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    require_admin(identity)
    return Response(200, [copy.deepcopy(api.group_mappings[key]) for key in sorted(api.group_mappings)])


def create_mapping(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    group, role = mapping_body(request)
    require_admin(identity)
    check_mapping_role(role)
    if any(item["oidc_group"] == group for item in api.group_mappings.values()):
        raise ApiError(409, "mapping for this group already exists")
    mapping = {"id": api._next_mapping, "oidc_group": group, "role": role, "created_at": sqlite_now()}
    api._next_mapping += 1
    api.group_mappings[mapping["id"]] = mapping
    return Response(201, copy.deepcopy(mapping))


def mapping_id(raw: str) -> int:
    if not raw.isdigit():
        raise ApiError(400, f"Invalid URL: Cannot parse `{raw}` to a `i64`", plain=True)
    return int(raw)


def update_mapping(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    ident = mapping_id(params[0])
    group, role = mapping_body(request)
    require_admin(identity)
    check_mapping_role(role)
    mapping = api.group_mappings.get(ident)
    if mapping is None:
        raise ApiError(404, "mapping not found")
    if any(item["oidc_group"] == group and key != ident for key, item in api.group_mappings.items()):
        raise ApiError(409, "mapping for this group already exists")
    mapping.update(oidc_group=group, role=role)
    return Response(200, {"ok": True})


def delete_mapping(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    ident = mapping_id(params[0])
    require_admin(identity)
    if api.group_mappings.pop(ident, None) is None:
        raise ApiError(404, "mapping not found")
    return Response(204)


# users


# Read in src/api.rs list_users, set_user_role, delete_user, delete_user_sessions, disable_user, enable_user and
# src/db.rs User, list_users, set_user_role, disable_user, enable_user, delete_user, get_user_by_email,
# delete_user_sessions. Every route needs a login (auth::require_auth); each handler checks admin itself (403
# "admin role required"). There is no create: users are made by their first OIDC login.


def user_groups(user: dict[str, Any]) -> list[str]:
    """db::User.groups_vec: the comma-separated oidc_groups, none when empty."""
    return user["oidc_groups"].split(",") if user["oidc_groups"] else []


def public_user(user: dict[str, Any]) -> dict[str, Any]:
    """db::User as serde writes it: oidc_groups stays one comma-separated string."""
    return {key: copy.deepcopy(value) for key, value in user.items() if key != "auth_sessions"}


def user_of(api: Api, email: str) -> dict[str, Any]:
    """The row `WHERE email = ?1`: SQLite's = on TEXT is case-sensitive."""
    user = api.users.get(email)
    if user is None:
        raise ApiError(404, "user not found")
    return user


def list_users(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """GET /api/users: every row ORDER BY id, as db::User."""
    require_admin(identity)
    return Response(200, [public_user(user) for user in sorted(api.users.values(), key=lambda u: u["id"])])


def set_user_role(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """PUT /api/users/{email}/role: SetRoleRequest {role: String} is read first (axum's Json: 415 / 400 / 422),
    then the admin check, the role (400), the user (404); 200 {"ok": true}."""
    body = parse_json_body(request)
    if body.get("role") is None:
        raise unprocessable(f"missing field `role`{serde_position(request.body)}")
    role = opt_str(body, "role") or ""
    require_admin(identity)
    check_mapping_role(role)
    user_of(api, params[0])["role"] = role
    return Response(200, {"ok": True})


def delete_user(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """DELETE /api/users/{email}: its login sessions and API tokens go with it; 204, or 404."""
    require_admin(identity)
    user = user_of(api, params[0])
    del api.users[user["email"]]
    for key in [key for key, token in api.tokens.items() if token["email"] == user["email"]]:
        del api.tokens[key]
    return Response(204)


def disable_user(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """POST /api/users/{email}/disable: 200 {"ok": true} (also when it already was), or 404. Its sessions are
    kept but no longer valid (db::validate_auth_session), its tokens fail (db::validate_user_token)."""
    require_admin(identity)
    user_of(api, params[0])["disabled"] = True
    return Response(200, {"ok": True})


def enable_user(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """POST /api/users/{email}/enable: 200 {"ok": true}, or 404."""
    require_admin(identity)
    user_of(api, params[0])["disabled"] = False
    return Response(200, {"ok": True})


def logout_user(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """DELETE /api/users/{email}/sessions: 200 {"ok": true, "sessions_revoked": <count>}, or 404."""
    require_admin(identity)
    user = user_of(api, params[0])
    revoked, user["auth_sessions"] = user["auth_sessions"], 0
    return Response(200, {"ok": True, "sessions_revoked": revoked})


# tokens


def token_metadata(token: dict[str, Any]) -> dict[str, Any]:
    return {key: token[key] for key in ("id", "email", "name", "max_role", "expires_at",
                                        "created_at", "last_used_at")}


def parse_token_request(api: Api, body: dict, email: str) -> tuple[str, str | None, str | None]:
    if body.get("name") is None:
        raise unprocessable("missing field `name`")
    name = opt_str(body, "name") or ""
    if not 1 <= len(name) <= 100:
        raise ApiError(400, "Token name must be 1-100 characters")
    max_role = opt_str(body, "max_role")
    user = api.users[email]
    if max_role is not None:
        if max_role not in ROLES:
            raise ApiError(400, f"Invalid role '{max_role}': must be one of admin, poweruser, "
                                "operator, viewer")
        if ROLES[max_role] > ROLES[user["role"]]:
            raise ApiError(400, f"max_role '{max_role}' exceeds the user's current role "
                                f"'{user['role']}'")
    expires_at = parse_expiry(opt_str(body, "expires_at"))
    if any(token["email"] == email and token["name"] == name for token in api.tokens.values()):
        raise ApiError(409, f"A token named '{name}' already exists for this user")
    return name, max_role, expires_at


def created_token(token: dict[str, Any], with_email: bool = False) -> Response:
    """src/api.rs create_my_token, admin_create_user_token: 200 (axum's default for Json) with {id, name, token,
    max_role, expires_at}; the admin route adds the user's email."""
    keys = ("id", "name", "email", "token", "max_role", "expires_at") if with_email else (
        "id", "name", "token", "max_role", "expires_at")
    return Response(200, {key: token[key] for key in keys})


def require_oidc(identity: Identity) -> str:
    if identity.kind != "user" or identity.email is None:
        raise ApiError(403, "Personal API tokens are only available to OIDC-authenticated users")
    return identity.email


def create_my_token(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    email = require_oidc(identity)
    name, max_role, expires_at = parse_token_request(api, parse_json_body(request), email)
    token = api.create_token(email, name, max_role, expires_at, email, request.remote)
    return created_token(token)


def list_my_tokens(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    email = require_oidc(identity)
    return Response(200, [token_metadata(token) for _key, token in sorted(api.tokens.items())
                          if token["email"] == email])


def token_id(raw: str) -> int:
    if not raw.isdigit():
        raise ApiError(400, f"Invalid URL: Cannot parse `{raw}` to a `i64`", plain=True)
    return int(raw)


def revoke(api: Api, ident: int, request: Request, actor: str) -> Response:
    token = api.tokens.pop(ident)
    api.audit(token["email"], token["name"], "revoke", request.remote, f"revoked by {actor}")
    return Response(204)


def revoke_my_token(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    email = require_oidc(identity)
    ident = token_id(params[0])
    token = api.tokens.get(ident)
    if token is None or token["email"] != email:
        raise ApiError(404, f"Token {ident} not found")
    return revoke(api, ident, request, email)


def admin_create_token(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    body = parse_json_body(request)
    if body.get("email") is None:
        raise unprocessable("missing field `email`")
    email = opt_str(body, "email") or ""
    user_of(api, email)
    name, max_role, expires_at = parse_token_request(api, body, email)
    token = api.create_token(email, name, max_role, expires_at, identity.email or identity.name,
                             request.remote)
    return created_token(token, with_email=True)


def admin_list_tokens(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    return Response(200, [token_metadata(token) for _key, token in sorted(api.tokens.items())])


def admin_revoke_token(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    ident = token_id(params[0])
    if ident not in api.tokens:
        raise ApiError(404, f"Token {ident} not found")
    return revoke(api, ident, request, identity.email or identity.name)


def token_audit(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    raw_limit = (request.query.get("limit") or ["200"])[0]
    if not raw_limit.isdigit():
        raise ApiError(400, "Failed to deserialize query string: limit: invalid digit found in "
                            "string", plain=True)
    limit = min(int(raw_limit), 1000)
    email = (request.query.get("email") or [None])[0]
    events = [event for event in reversed(api.token_audit)
              if email is None or event["user_email"] == email]
    return Response(200, copy.deepcopy(events[:limit]))


# sessions


def session_view(session: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in session.items() if key != "banner_text"}


def list_sessions(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    """src/api.rs list_sessions, ListSessionsQuery: the caller's own sessions; an admin gets all of them only
    with ``?all=true`` (a non-admin's all=true is ignored)."""
    raw_all = (request.query.get("all") or ["false"])[0]
    if raw_all not in ("true", "false"):
        raise ApiError(400, "Failed to deserialize query string: all: provided string was not `true` or "
                            "`false`", plain=True)
    show_all = raw_all == "true" and identity.role == "admin"
    owner = identity.email or identity.name
    return Response(200, [session_view(session) for session in api.sessions.values()
                          if show_all or session["owner"] == owner])


def session_of(api: Api, raw: str) -> dict[str, Any]:
    session = api.sessions.get(raw)
    if session is None:
        raise ApiError(404, f"Session '{raw}' not found")
    return session


def get_session(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    return Response(200, session_view(session_of(api, params[0])))


def delete_session(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    session = session_of(api, params[0])
    if identity.role != "admin" and session["owner"] != (identity.email or identity.name):
        raise ApiError(403, "You can only terminate your own sessions")
    del api.sessions[session["session_id"]]
    return Response(204)


def create_adhoc_session(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    body = parse_json_body(request)
    if body.get("session_type") is None:
        raise unprocessable("missing field `session_type`")
    fields = parse_entry_fields({**body, "type": None})
    fields["session_type"] = opt_enum(body, "session_type", SESSION_TYPES)
    if fields["session_type"] == "web" and not fields.get("url"):
        raise ApiError(400, "url is required for web sessions")
    if fields["session_type"] != "web" and not fields.get("hostname"):
        raise ApiError(400, "hostname is required")
    fields["banner"] = opt_str(body, "banner")
    if opt_bool(body, "generate_keypair"):
        fields["banner"] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + secrets.token_hex(16) + " rustguac"
    session = api.create_session(fields, identity.email or identity.name, "adhoc")
    reply = {key: session[key] for key in ("session_id", "client_url", "share_url")}
    if opt_bool(body, "generate_keypair"):
        reply["banner_text"] = session["banner_text"]
    return Response(200, reply)


# recordings


def recording_of(api: Api, name: str) -> dict[str, Any]:
    if not SAFE_RECORDING.match(name) or ".." in name:
        raise ApiError(400, "Invalid recording name")
    recording = api.recordings.get(name)
    if recording is None:
        raise ApiError(404, f"Recording '{name}' not found")
    return recording


def list_recordings(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    return Response(200, [{key: value for key, value in item.items() if key != "content"}
                          for _name, item in sorted(api.recordings.items())])


def get_recording(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    return Response(200, recording_of(api, params[0])["content"])


def delete_recording(api: Api, request: Request, identity: Identity, params: list[str]) -> Response:
    recording = recording_of(api, params[0])
    del api.recordings[recording["name"]]
    return Response(204)


FOLDERS = ("addressbook", "folders")
ROUTES: list[tuple[str, tuple[str, ...], str | None, Handler]] = [
    ("GET", ("api", "health"), None, health),
    ("GET", ("api", "auth", "status"), None, auth_status),
    ("GET", ("api", "me"), "viewer", me),
    # roles checked in the handlers (src/api.rs ab_*_folder), after a body extractor
    ("GET", ("api", *FOLDERS), "viewer", list_folders),
    ("POST", ("api", *FOLDERS), "viewer", create_folder),
    ("PUT", ("api", *FOLDERS, "*", "*"), "viewer", update_folder),
    ("DELETE", ("api", *FOLDERS, "*", "*"), "viewer", delete_folder),
    ("GET", ("api", *FOLDERS, "*", "*", "config"), "viewer", get_folder_config),
    ("GET", ("api", *FOLDERS, "*", "*", "entries"), "operator", list_entries),
    ("POST", ("api", *FOLDERS, "*", "*", "entries"), "viewer", create_entry),
    ("PUT", ("api", *FOLDERS, "*", "*", "entries", "*"), "viewer", update_entry),
    ("DELETE", ("api", *FOLDERS, "*", "*", "entries", "*"), "viewer", delete_entry),
    ("POST", ("api", *FOLDERS, "*", "*", "entries", "*", "connect"), "operator", connect_entry),
    # role checked in the handler, after the body extractor (src/api.rs *_group_mapping)
    ("GET", ("api", "admin", "group-mappings"), "viewer", list_mappings),
    ("POST", ("api", "admin", "group-mappings"), "viewer", create_mapping),
    ("PUT", ("api", "admin", "group-mappings", "*"), "viewer", update_mapping),
    ("DELETE", ("api", "admin", "group-mappings", "*"), "viewer", delete_mapping),
    ("GET", ("api", "users"), "viewer", list_users),
    ("PUT", ("api", "users", "*", "role"), "viewer", set_user_role),
    ("DELETE", ("api", "users", "*"), "viewer", delete_user),
    ("POST", ("api", "users", "*", "disable"), "viewer", disable_user),
    ("POST", ("api", "users", "*", "enable"), "viewer", enable_user),
    ("DELETE", ("api", "users", "*", "sessions"), "viewer", logout_user),
    ("POST", ("api", "me", "tokens"), "poweruser", create_my_token),
    ("GET", ("api", "me", "tokens"), "operator", list_my_tokens),
    ("DELETE", ("api", "me", "tokens", "*"), "poweruser", revoke_my_token),
    ("POST", ("api", "admin", "user-tokens"), "admin", admin_create_token),
    ("GET", ("api", "admin", "user-tokens"), "admin", admin_list_tokens),
    ("DELETE", ("api", "admin", "user-tokens", "*"), "admin", admin_revoke_token),
    ("GET", ("api", "admin", "token-audit"), "admin", token_audit),
    ("POST", ("api", "sessions"), "poweruser", create_adhoc_session),
    ("GET", ("api", "sessions"), "operator", list_sessions),
    ("GET", ("api", "sessions", "*"), "operator", get_session),
    ("DELETE", ("api", "sessions", "*"), "operator", delete_session),
    ("GET", ("api", "recordings"), "operator", list_recordings),
    ("GET", ("api", "recordings", "*"), "operator", get_recording),
    ("DELETE", ("api", "recordings", "*"), "admin", delete_recording),
]

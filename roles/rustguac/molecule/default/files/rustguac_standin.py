"""Stand-in for the rustguac binary (molecule scenario of proxgate.core.rustguac): no real release can be
downloaded or built here, so prepare.yml packs this program as bin/rustguac of a release-shaped tarball (with the
shebang added there; see prepare.yml). It offers the command line the role uses, shaped like the real one
(src/main.rs of sol1/rustguac):

    rustguac [--config FILE] [serve]                  the REST API, from the project's emulator
    rustguac [--config FILE] add-admin --name NAME [--allowed-ips CIDRS] [--expires ISO8601]
    rustguac [--config FILE] list-admins

Like the real binary it reads the TOML config (top-level keys before any [section]), exits 1 when [oidc] has
no client_secret in the file nor in OIDC_CLIENT_SECRET, opens its SQLite database at db_path for every command
(creating the `admins` table), keeps API keys there only as sha256 hashes, and serves HTTPS with [tls]
cert_path/key_path. The API itself is tests/emulators/rustguac, unpacked next to the binary in
lib/proxgate-standin; API keys are checked against the database on every request, so keys created while it
runs, and before a restart, are valid. [vault] turns the address book on when VAULT_SECRET_ID is set.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import re
import secrets
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import tomllib

DEFAULT_CONFIG = "/opt/rustguac/config.toml"
SCHEMA = """CREATE TABLE IF NOT EXISTS admins (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    api_key_hash  TEXT NOT NULL,
    allowed_ips   TEXT,
    expires_at    TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL DEFAULT (datetime('now')),
    last_used_at  TEXT
)"""


def load_config(path: str | None) -> dict[str, Any]:
    if path is None and not Path(DEFAULT_CONFIG).exists():
        print("[config] No config file found; using built-in defaults", file=sys.stderr)
        config: dict[str, Any] = {}
    else:
        path = path or DEFAULT_CONFIG
        try:
            with open(path, "rb") as handle:
                config = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            print(f"[config] ERROR: failed to load {path}:\n  {error}", file=sys.stderr)
            sys.exit(1)
        print(f"[config] Loaded config from {path}", file=sys.stderr)
    oidc = config.get("oidc")
    if oidc is not None:
        secret = os.environ.get("OIDC_CLIENT_SECRET") or oidc.get("client_secret")
        if not secret:
            print("[config] ERROR: [oidc] is configured but no client_secret was provided.", file=sys.stderr)
            sys.exit(1)
    return config


def open_db(config: dict[str, Any]) -> sqlite3.Connection:
    db = sqlite3.connect(config.get("db_path", "./rustguac.db"), check_same_thread=False)
    db.execute(SCHEMA)
    db.commit()
    return db


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_admin(db: sqlite3.Connection, args: argparse.Namespace) -> int:
    key = secrets.token_hex(32)
    try:
        with db:
            db.execute("INSERT INTO admins (name, api_key_hash, allowed_ips, expires_at) VALUES (?, ?, ?, ?)",
                       (args.name, hash_key(key), args.allowed_ips, args.expires))
    except sqlite3.Error as error:
        print(f"Error creating admin: {error}", file=sys.stderr)
        return 1
    print(f"Admin '{args.name}' created.")
    print(f"API Key: {key}")
    print()
    print("Store this key securely \u2014 it cannot be retrieved again.")
    return 0


def list_admins(db: sqlite3.Connection) -> int:
    rows = db.execute("SELECT id, name, disabled, expires_at, last_used_at, allowed_ips FROM admins ORDER BY id")
    admins = rows.fetchall()
    if not admins:
        print("No admins configured.")
        return 0
    print(f"{'ID':<4} {'Name':<20} {'Status':<10} {'Expires':<24} {'Last Used':<24} Allowed IPs")
    print("-" * 100)
    for ident, name, disabled, expires, last_used, ips in admins:
        status = "disabled" if disabled else "active"
        print(f"{ident:<4} {name:<20} {status:<10} {expires or 'never':<24} {last_used or 'never':<24} {ips or 'any'}")
    return 0


class DatabaseKeys(dict):
    """Stands in for the emulator's in-memory key table: a key is looked up by its hash in the admins table."""

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__()
        self.db = db
        self.lock = threading.Lock()  # one connection, many request threads

    def get(self, key: str, default: Any = None) -> Any:
        with self.lock, self.db:
            row = self.db.execute("SELECT id, name, expires_at FROM admins WHERE api_key_hash = ? AND disabled = 0",
                                  (hash_key(key),)).fetchone()
            if row is None:
                return default
            self.db.execute("UPDATE admins SET last_used_at = datetime('now') WHERE id = ?", (row[0],))
        return {"name": row[1], "role": "admin", "groups": [], "expires_at": row[2], "key": None}


def split_listen_addr(addr: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[?([^\[\]]*?)\]?:(\d+)", addr)
    if match is None:
        print(f"invalid listen_addr {addr!r}", file=sys.stderr)
        sys.exit(1)
    return match.group(1), int(match.group(2))


def serve(db: sqlite3.Connection, config: dict[str, Any]) -> int:
    # The emulator is unpacked next to this program (lib/proxgate-standin), not installed.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib" / "proxgate-standin"))
    emulator_module = importlib.import_module("tests.emulators.rustguac")
    loopback = importlib.import_module("tests.emulators.loopback")

    host, port = split_listen_addr(config.get("listen_addr", "127.0.0.1:8089"))
    tls = config.get("tls") or {}
    cert, key = tls.get("cert_path"), tls.get("key_path")
    if not (cert and key):
        cert = key = None
    # The emulator's own admin key is random and never shown: only keys from the database authenticate.
    emulator = emulator_module.RustguacEmulator(host=host, port=port, certfile=cert, keyfile=key,
                                                admin_key=secrets.token_hex(32))
    emulator.api.api_keys = DatabaseKeys(db)
    emulator.api.site_title = config.get("site_title", "rustguac")
    emulator.api.oidc_enabled = "oidc" in config
    emulator.vault_enabled = "vault" in config and bool(os.environ.get("VAULT_SECRET_ID"))
    if "vault" in config and not emulator.vault_enabled:
        print("VAULT_SECRET_ID env var required when [vault] is configured", file=sys.stderr)
    print(f"rustguac starting on {'https' if cert else 'http'}://{host}:{port}", file=sys.stderr, flush=True)
    return loopback.serve_until_signalled(emulator, "rustguac-standin")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rustguac", description="rustguac stand-in (molecule)")
    parser.add_argument("-c", "--config", help="Path to TOML config file")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="Run the server (default)")
    add = commands.add_parser("add-admin", help="Create a new admin with an API key")
    add.add_argument("--name", required=True)
    add.add_argument("--allowed-ips")
    add.add_argument("--expires")
    commands.add_parser("list-admins", help="List all admin accounts")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_config(args.config)
    db = open_db(config)
    if args.command == "add-admin":
        return add_admin(db, args)
    if args.command == "list-admins":
        return list_admins(db)
    return serve(db, config)


if __name__ == "__main__":
    sys.exit(main())

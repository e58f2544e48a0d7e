"""HTTP(S) server, fault injection, request log and the Python-facing API of the emulator."""
from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from tests.emulators.interleave import Interleavings
from tests.emulators.loopback import EmulatorRequestHandler, LoopbackEmulator

from .api import (
    ENTRY_FIELDS,
    ROLES,
    SCOPES,
    Api,
    ApiError,
    Request,
    Response,
    now_iso,
    parse_entry_fields,
    sqlite_now,
)
from .redact import redact_body

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class _Fault:
    method: str
    suffix: str
    remaining: int | None  # None: every matching call
    status: int = 500
    message: str = ""
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return ((self.remaining is None or self.remaining > 0)
                and self.method in ("*", method) and path.endswith(self.suffix))

    def take(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


class _Handler(EmulatorRequestHandler):
    server_version = "rustguac-emulator"

    def _handle(self) -> None:
        self._started = False
        try:
            self._send(self.server.emulator._serve(self, self.read_body()))
        except Exception:  # noqa: BLE001 -- the one top-level guard: no traceback may escape
            if not self._started:
                with contextlib.suppress(OSError):
                    self._send(Response(500, {"error": "Internal server error"}))
            self.close_connection = True

    def _send(self, response: Response) -> None:
        body = response.body
        if body is None:
            payload, content_type = b"", None
        elif isinstance(body, bytes):
            payload, content_type = body, "application/octet-stream"
        elif isinstance(body, str):
            payload, content_type = body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(body).encode("utf-8"), "application/json"
        self._started = True
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if content_type and payload:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)


class RustguacEmulator(LoopbackEmulator):
    """An emulated rustguac REST API on loopback (HTTP, or HTTPS with certfile/keyfile)."""

    handler_class = _Handler
    thread_name = "rustguac-emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, certfile: str | None = None,
                 keyfile: str | None = None, admin_key: str = "rg-admin-0123456789") -> None:
        self.host = host
        self.port = port
        self.certfile = certfile
        self.keyfile = keyfile
        self.admin_key = admin_key
        self._lock = threading.RLock()
        # Another client's requests, made just before one of the client under test (interleave()).
        self.interleavings = Interleavings()
        self._reset_state()

    def _reset_state(self) -> None:
        self.api = Api(self.admin_key)
        self._faults: list[_Fault] = []
        self._hangs: list[_Fault] = []
        self._lost_answers: list[_Fault] = []
        self._requests: list[tuple[str, str, int]] = []
        self._bodies: list[tuple[str, str, Any]] = []

    def reset(self) -> None:
        """Forget every object, key (but the admin key), fault and logged request."""
        with self._lock:
            self._reset_state()

    def interleave(self, method: str, suffix: str, action) -> None:
        """The next `method` request whose path ends with `suffix` first runs action() (another client's doing)."""
        self.interleavings.add(method, suffix, action)

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.base_url

    # --- request handling --------------------------------------------------------------------

    def _serve(self, handler: _Handler, body: bytes) -> Response:
        method = handler.command
        raw_path = handler.path
        path, _unused, query = raw_path.partition("?")
        self.interleavings.run_due(method, path)
        with self._lock:
            hang = next((item for item in self._hangs if item.matches(method, path)), None)
            if hang is not None:
                hang.take()
        if hang is not None:
            time.sleep(hang.seconds)
        with self._lock:
            fault = next((item for item in self._faults if item.matches(method, path)), None)
            if fault is not None:
                fault.take()
                response = Response(fault.status, {"error": fault.message})
            else:
                request = Request(method=method, path=path,
                                  query=parse_qs(query, keep_blank_values=True),
                                  headers=handler.headers, body=body,
                                  remote=handler.client_address[0])
                response = self.api.handle(request)
                lost = next((item for item in self._lost_answers if item.matches(method, path)), None)
                if lost is not None:
                    lost.take()
                    response = Response(lost.status, proxy_page(lost.status))
            self._requests.append((method, raw_path, response.status))
            self._bodies.append((method, raw_path, redact_body(body)))
        return response

    # --- faults -------------------------------------------------------------------------------

    def fail(self, method: str, path_suffix: str, status: int, message: str, times: int = 1) -> None:
        """The next ``times`` calls of method ("*" for any) to a path ending in path_suffix answer
        ``status`` with ``{"error": message}``."""
        with self._lock:
            self._faults.append(_Fault(method.upper() if method != "*" else "*", path_suffix, times,
                                       status, message))

    def fail_after(self, method: str, path_suffix: str, status: int, times: int = 1) -> None:
        """The next ``times`` calls of method ("*" for any) to a path ending in path_suffix are carried out, then
        answered ``status`` with a reverse proxy's plain page instead of rustguac's reply: the server acted and
        the client cannot know it (issue #17 finding 1).

        Conformance: rustguac itself never answers so after acting (src/api.rs answers its own errors as
        ``{"error": ...}``, fail() stages those); a proxy in front of it (nginx, the roles' TLS front) answers
        502/504 without that body when rustguac's answer does not reach it in time."""
        with self._lock:
            self._lost_answers.append(_Fault(method.upper() if method != "*" else "*", path_suffix, times, status))

    def hang(self, method: str, path_suffix: str, seconds: float, times: int | None = None) -> None:
        """Matching calls are answered only after ``seconds`` (every one, or the next ``times``)."""
        with self._lock:
            self._hangs.append(_Fault(method.upper() if method != "*" else "*", path_suffix, times,
                                      seconds=seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._hangs.clear()
            self._lost_answers.clear()

    @property
    def vault_enabled(self) -> bool:
        return self.api.vault_enabled

    @vault_enabled.setter
    def vault_enabled(self, value: bool) -> None:
        self.api.vault_enabled = value

    # --- request log ----------------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path_with_query, status) of every request, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def request_bodies(self) -> list[tuple[str, str, Any]]:
        """(method, path_with_query, parsed body with secrets replaced by ********)."""
        with self._lock:
            return copy.deepcopy(self._bodies)

    def writes(self) -> list[tuple[str, str, int]]:
        """The logged requests other than GET/HEAD/OPTIONS."""
        return [item for item in self.requests if item[0] in WRITE_METHODS]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self._bodies.clear()

    # --- seeding --------------------------------------------------------------------------------

    def add_api_key(self, name: str, role: str = "admin", groups: list[str] | None = None,
                    expires_at: str | None = None) -> str:
        """A new API key (plaintext). role: admin|poweruser|operator|viewer."""
        with self._lock:
            return self.api.add_api_key(name, role, groups=groups, expires_at=expires_at)

    def add_folder(self, scope: str = "shared", name: str = "default",
                   allowed_groups: list[str] | None = None, description: str = "",
                   inherit_from_parent: bool = False) -> dict[str, Any]:
        """A folder with its config (name may be a path, 'clients/acme')."""
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        with self._lock:
            folder = {"scope": scope, "name": name, "allowed_groups": list(allowed_groups or []),
                      "description": description, "inherit_from_parent": inherit_from_parent}
            self.api.folders[(scope, name)] = folder
            return copy.deepcopy(folder)

    def add_entry(self, scope: str = "shared", folder: str = "default", name: str = "entry",
                  **fields: Any) -> dict[str, Any]:
        """An entry with any src/vault.rs AddressBookEntry field (type, hostname, banner, jump_hosts...); secrets are
        stored (state() shows them, the listing never does)."""
        fields.setdefault("type", "ssh")
        unknown = set(fields) - set(ENTRY_FIELDS)
        if unknown:
            raise ValueError(f"unknown entry fields {sorted(unknown)}")
        try:
            parsed = parse_entry_fields(fields)
        except ApiError as error:
            raise ValueError(error.message) from error
        with self._lock:
            if (scope, folder) not in self.api.folders:
                raise ValueError(f"no folder {scope}/{folder}")
            entry = {"name": name, **parsed}
            self.api.entries[(scope, folder, name)] = entry
            return copy.deepcopy(entry)

    def add_group_mapping(self, oidc_group: str, role: str) -> dict[str, Any]:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self._lock:
            api = self.api
            mapping = {"id": api._next_mapping, "oidc_group": oidc_group, "role": role,
                       "created_at": sqlite_now()}
            api._next_mapping += 1
            api.group_mappings[mapping["id"]] = mapping
            return copy.deepcopy(mapping)

    def add_user(self, email: str, name: str = "", role: str = "viewer", enabled: bool = True,
                 groups: list[str] | None = None, oidc_subject: str | None = None,
                 last_login_at: str | None = None, auth_sessions: int = 1) -> dict[str, Any]:
        """An OIDC user as a first login would create it (src/db.rs upsert_user), as the users table holds it."""
        with self._lock:
            return copy.deepcopy(self.api.add_user(email, name, role, enabled, groups, oidc_subject,
                                                   last_login_at, auth_sessions))

    def add_user_token(self, email: str, name: str, max_role: str | None = None,
                       expires_at: str | None = None) -> str:
        """A personal token (``rgu_...`` plaintext) of an existing user: it authenticates as that
        OIDC user, with the lower of the user's role and max_role."""
        with self._lock:
            if email not in self.api.users:
                raise ValueError(f"no user {email!r}")
            return self.api.create_token(email, name, max_role, expires_at, "seed", "127.0.0.1")["token"]

    def add_session(self, session_type: str = "ssh", hostname: str | None = "10.0.0.1",
                    owner: str = "admin", **fields: Any) -> dict[str, Any]:
        with self._lock:
            session = self.api.create_session({"session_type": session_type, "hostname": hostname,
                                               **fields}, owner, "seed")
            return copy.deepcopy(session)

    def add_recording(self, name: str, content: bytes = b"4.sync,1.0;", modified: str | None = None,
                      session_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            recording = {"name": name, "size": len(content), "modified": modified or now_iso(),
                         "session_id": session_id, "content": content}
            self.api.recordings[name] = recording
            return {key: value for key, value in recording.items() if key != "content"}

    def state(self) -> dict[str, Any]:
        """A deep copy of everything the server holds, secrets included (for asserts)."""
        with self._lock:
            return self.api.state()


def proxy_page(status: int) -> str:
    """The plain page a reverse proxy answers in place of rustguac's reply."""
    return f"{status} {HTTPStatus(status).phrase}: the upstream rustguac server did not answer in time\n"

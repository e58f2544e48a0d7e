"""HTTP(S) server, fault injection, request log and the Python-facing API."""
from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from tests.emulators.interleave import Interleavings
from tests.emulators.loopback import EmulatorRequestHandler, LoopbackEmulator

from .api import Api, Request, Response
from .errors import error_for_status, internal_error, not_found
from .model import ROOT, DataSource, User, UserGroup
from .objects import Objects, SystemCaller
from .parsing import filter_attributes
from .redact import redact_body, redact_path
from .schema import OBJECT_PERMISSIONS, SYSTEM_PERMISSIONS_15, SYSTEM_PERMISSIONS_16
from .state_file import proxy_error, save_state

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class _Fault:
    kind: str  # "fail", "drop" (before handling) or "lose" (handled, then no reply)
    remaining: int
    path_contains: str | None
    status: int = 500
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.remaining > 0 and (self.path_contains is None or self.path_contains in path)
                and (self.method is None or self.method == method))


class _Handler(EmulatorRequestHandler):
    server_version = "GuacamoleEmulator"

    def _handle(self) -> None:
        self._started = False
        try:
            response = self.server.emulator._serve(self, self.read_body())
            if response is None:
                self.close_connection = True  # injected drop: no response at all
                return
            self._send(response)
        except Exception:  # noqa: BLE001 -- the one top-level guard: no traceback may escape
            if not self._started:
                with contextlib.suppress(OSError):
                    self._send(Response(500, internal_error().body()))
            self.close_connection = True

    def _send(self, response: Response) -> None:
        text = isinstance(response.body, str) and "Content-Type" in response.headers
        if response.body is None:
            payload = b""
        elif text:
            payload = response.body.encode("utf-8")
        else:
            payload = json.dumps(response.body).encode("utf-8")
        self._started = True
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.body is not None and not text:
            self.send_header("Content-Type", "application/json")
        if response.status != 204:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)


class GuacamoleEmulator(LoopbackEmulator):
    """An emulated Apache Guacamole web app (REST API of 1.5 / 1.6) on loopback."""

    handler_class = _Handler
    thread_name = "guacamole-emulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        version: str = "1.6.0",
        data_sources: Iterable[str] = ("postgresql", "postgresql-shared"),
        admin_username: str = "guacadmin",
        admin_password: str = "guacadmin",
        certfile: str | None = None,
        keyfile: str | None = None,
        context_path: str = "/guacamole",
    ) -> None:
        self.host = host
        self.port = port
        self.version = version
        self.certfile = certfile
        self.keyfile = keyfile
        self.context_path = "/" + context_path.strip("/") if context_path.strip("/") else ""
        self.admin_username = admin_username
        self.admin_password = admin_password
        self._data_source_names = tuple(data_sources)
        self._lock = threading.RLock()
        self.latency = 0.0
        # tests/emulators/faults.RandomFaults: a share of all requests dropped, lost after acting, or hung.
        self.random_faults = None
        # A text file every request is appended to as "METHOD PATH" (the benchmarks count them there).
        self.request_log = None
        # A file the data sources are written to after every write request (state_file.save_state), or None.
        self.state_file = None
        # Another client's requests, made just before one of the client under test (interleave()).
        self.interleavings = Interleavings()
        self._reset_state()

    def _reset_state(self) -> None:
        self.api = Api(self.version, self._data_source_names)
        self._faults: list[_Fault] = []
        self._requests: list[tuple[str, str, str]] = []
        system = SYSTEM_PERMISSIONS_16 if self.api.is_16 else SYSTEM_PERMISSIONS_15
        for name in self._data_source_names:
            admin = self.add_user(self.admin_username, self.admin_password,
                                  system_permissions=system, data_source=name)
            for permission in ("UPDATE", "ADMINISTER"):
                admin.permissions.grant("user", self.admin_username, permission)

    def interleave(self, method: str, suffix: str, action) -> None:
        """The next `method` request whose path ends with `suffix` first runs action() (another client's doing)."""
        self.interleavings.add(method, suffix, action)

    def reset(self) -> None:
        """Forget every object, session, fault and logged request."""
        with self._lock:
            self._reset_state()

    # --- lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{self.base_url}{self.context_path}"

    # --- request handling ----------------------------------------------------------

    def _serve(self, handler: _Handler, body: bytes) -> Response | None:
        raw_path = handler.path
        path, _unused, query = raw_path.partition("?")
        with self._lock:
            self._requests.append((handler.command, redact_path(raw_path),
                                   redact_body(body, handler.headers.get("Content-Type"))))
            if self.request_log is not None:
                self.request_log.write(f"{handler.command} {redact_path(raw_path)}\n")
                self.request_log.flush()
            fault = self._take_fault(handler.command, path)
        if fault is None and self.random_faults is not None:
            kind = self.random_faults.pick(handler.command)
            if kind == "hang":
                time.sleep(self.random_faults.hang_secs)
            fault = _Fault("drop" if kind == "hang" else kind, 0, None) if kind else None
            if kind == "status":
                fault.status = self.random_faults.status_code((502, 504))
        if fault is not None and fault.kind == "drop":
            return None
        if self.latency:
            time.sleep(self.latency)
        if fault is not None and fault.kind == "fail":
            error = error_for_status(fault.status)
            return Response(error.status, error.body())
        if not (path == self.context_path or path.startswith(self.context_path + "/")):
            return Response(404, not_found(f'No resource at "{path}"').body())
        request = Request(method=handler.command, path=path[len(self.context_path):] or "/",
                          query=parse_qs(query, keep_blank_values=True), headers=handler.headers,
                          body=body, remote_host=handler.client_address[0])
        self.interleavings.run_due(handler.command, path)
        with self._lock:
            response = self.api.handle(request)
            if self.state_file is not None and handler.command in WRITE_METHODS:
                save_state(self, self.state_file)
        if fault is not None and fault.kind == "status":  # carried out; a reverse proxy's error instead
            return proxy_error(fault.status)
        return None if fault is not None and fault.kind == "lose" else response

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                return fault
        return None

    # --- faults --------------------------------------------------------------------

    def fail_next(self, status: int = 500, count: int = 1, path_contains: str | None = None) -> None:
        """The next ``count`` matching requests get ``status`` with a Guacamole error body."""
        with self._lock:
            self._faults.append(_Fault("fail", count, path_contains, status))

    def drop_next(self, count: int = 1, path_contains: str | None = None) -> None:
        """The next ``count`` matching requests are answered by closing the connection."""
        with self._lock:
            self._faults.append(_Fault("drop", count, path_contains))

    def lose_reply_next(self, count: int = 1, path_contains: str | None = None, method: str | None = None) -> None:
        """The next ``count`` matching requests are carried out, and then the connection is closed without a
        reply: the client cannot know whether the server acted (a proxy timing out, a network cut)."""
        with self._lock:
            self._faults.append(_Fault("lose", count, path_contains, method=method))

    @property
    def token_lifetime(self) -> float | None:
        """Seconds a token may go unused before it expires (Guacamole's api-session-timeout); None: never."""
        return self.api.session_timeout

    @token_lifetime.setter
    def token_lifetime(self, seconds: float | None) -> None:
        self.api.session_timeout = seconds

    def expire_tokens(self) -> None:
        """Invalidate every issued token, as a session timeout would."""
        with self._lock:
            self.api.expire_all()

    @property
    def totp_required(self) -> bool:
        return self.api.totp_required

    @totp_required.setter
    def totp_required(self, value: bool) -> None:
        self.api.totp_required = value

    @property
    def totp_code(self) -> str:
        """The code accepted in ``guac-totp`` when ``totp_required`` is on."""
        return self.api.totp_code

    @totp_code.setter
    def totp_code(self, value: str) -> None:
        self.api.totp_code = value

    # --- request log ------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        """(method, path_with_query, body_text) of every request, secrets redacted."""
        with self._lock:
            return list(self._requests)

    def write_requests(self) -> list[tuple[str, str, str]]:
        """The logged requests that could change state (logins and logouts excluded)."""
        tokens = f"{self.context_path}/api/tokens"
        return [
            entry for entry in self.requests
            if entry[0] in WRITE_METHODS
            and not (entry[0] == "POST" and entry[1].split("?")[0] == tokens)
            and not (entry[0] == "DELETE" and entry[1].startswith(tokens + "/"))
        ]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- seeding helpers ------------------------------------------------------------

    def _ds(self, data_source: str | None) -> DataSource:
        if data_source is None:
            return next(iter(self.api.data_sources.values()))
        return self.api.data_sources[data_source]

    @property
    def _objects(self) -> Objects:
        return self.api.objects

    def add_user(self, username: str, password: str | None, attributes: dict | None = None,
                 system_permissions: Iterable[str] = (), data_source: str | None = None,
                 disabled: bool = False) -> User:
        with self._lock:
            ds = self._ds(data_source)
            stored, _unused = filter_attributes(attributes or {}, self.api.views.user_fields)
            disabled = disabled or stored.pop("disabled", "") == "true"
            user = User(username=username, password=password, attributes=stored,
                        disabled=disabled)
            user.permissions.system.update(system_permissions)
            user.permissions.grant("user", username, "READ")
            ds.users[username] = user
            return user

    def add_user_group(self, identifier: str, attributes: dict | None = None,
                       disabled: bool = False, members: Iterable[str] = (),
                       member_groups: Iterable[str] = (),
                       system_permissions: Iterable[str] = (),
                       data_source: str | None = None) -> UserGroup:
        with self._lock:
            stored, _unused = filter_attributes(attributes or {}, self.api.views.user_group_fields)
            disabled = disabled or stored.pop("disabled", "") == "true"
            group = UserGroup(identifier=identifier, attributes=stored, disabled=disabled,
                              member_users=set(members), member_groups=set(member_groups))
            group.permissions.system.update(system_permissions)
            self._ds(data_source).user_groups[identifier] = group
            return group

    def add_connection(self, name: str, protocol: str = "ssh", parameters: dict | None = None,
                       attributes: dict | None = None, parent: str = ROOT,
                       data_source: str | None = None) -> str:
        body = {"name": name, "protocol": protocol, "parentIdentifier": parent,
                "parameters": parameters or {}, "attributes": attributes or {}}
        with self._lock:
            caller = SystemCaller(self._ds(data_source))
            return self._objects.create_connection(caller, body)[0]

    def add_connection_group(self, name: str, type: str = "ORGANIZATIONAL",
                             parent: str = ROOT, attributes: dict | None = None,
                             data_source: str | None = None) -> str:
        body = {"name": name, "type": type, "parentIdentifier": parent,
                "attributes": attributes or {}}
        with self._lock:
            caller = SystemCaller(self._ds(data_source))
            return self._objects.create_connection_group(caller, body)[0]

    def add_sharing_profile(self, name: str, primary_connection: str,
                            parameters: dict | None = None, data_source: str | None = None) -> str:
        body = {"name": name, "primaryConnectionIdentifier": primary_connection,
                "parameters": parameters or {}}
        with self._lock:
            caller = SystemCaller(self._ds(data_source))
            return self._objects.create_sharing_profile(caller, body)[0]

    def grant(self, subject: str, permission: str, kind: str = "system",
              identifier: str | None = None, *, data_source: str | None = None,
              group: bool = False) -> None:
        """Grant a permission to a user (or, with ``group=True``, a user group).

        ``kind`` is "system" or one of connection, connectionGroup,
        sharingProfile, activeConnection, user, userGroup.
        """
        with self._lock:
            ds = self._ds(data_source)
            holder = (ds.user_groups if group else ds.users)[subject]
            if kind == "system":
                holder.permissions.system.add(permission)
            else:
                if permission not in OBJECT_PERMISSIONS or identifier is None:
                    raise ValueError(f"bad object permission {permission!r} on {identifier!r}")
                holder.permissions.grant(kind, identifier, permission)

    def add_member(self, group: str, username: str | None = None,
                   member_group: str | None = None, data_source: str | None = None) -> None:
        with self._lock:
            target = self._ds(data_source).user_groups[group]
            if username is not None:
                target.member_users.add(username)
            if member_group is not None:
                target.member_groups.add(member_group)

    def simulate_session(self, username: str, connection_identifier: str,
                         remote_host: str = "192.0.2.50", data_source: str | None = None,
                         sharing_profile: str | None = None) -> str:
        """Pretend ``username`` is connected; returns the active connection id."""
        with self._lock:
            ds = self._ds(data_source)
            if connection_identifier not in ds.connections:
                raise KeyError(f"no connection {connection_identifier!r} in {ds.name}")
            return ds.start_connection(username, connection_identifier, remote_host,
                                       sharing_profile).identifier

    def end_simulated_session(self, identifier: str, data_source: str | None = None) -> bool:
        with self._lock:
            return self._ds(data_source).end_connection(identifier)

    def load_state(self, seed: dict[str, Any]) -> None:
        """Seed from a JSON-like document (see README: "State seed file")."""
        per_source = seed.get("data_sources") or {None: seed}
        for name, content in per_source.items():
            for user in content.get("users", []):
                self.add_user(user["username"], user.get("password"), user.get("attributes"),
                              user.get("system_permissions", ()), name,
                              user.get("disabled", False))
            for group in content.get("user_groups", []):
                self.add_user_group(group["identifier"], group.get("attributes"),
                                    group.get("disabled", False), group.get("members", ()),
                                    group.get("member_groups", ()),
                                    group.get("system_permissions", ()), name)
            for group in content.get("connection_groups", []):
                self.add_connection_group(group["name"], group.get("type", "ORGANIZATIONAL"),
                                          group.get("parent", ROOT), group.get("attributes"), name)
            for connection in content.get("connections", []):
                self.add_connection(connection["name"], connection.get("protocol", "ssh"),
                                    connection.get("parameters"), connection.get("attributes"),
                                    connection.get("parent", ROOT), name)
            for grant in content.get("grants", []):
                self.grant(grant["subject"], grant["permission"], grant.get("kind", "system"),
                           grant.get("identifier"), data_source=name,
                           group=grant.get("group", False))

    # --- inspection -------------------------------------------------------------------

    def state(self, data_source: str | None = None) -> dict[str, Any]:
        """A deep snapshot of one data source, for assertions in tests."""
        with self._lock:
            ds = self._ds(data_source)
            return {
                "users": {name: {
                    "username": u.username, "password": u.password,
                    "attributes": dict(u.attributes), "disabled": u.disabled,
                    "lastActive": u.last_active, "permissions": u.permissions.to_json(),
                    "userGroups": sorted(ds.groups_of_user(name)),
                } for name, u in ds.users.items()},
                "user_groups": {name: {
                    "identifier": g.identifier, "attributes": dict(g.attributes),
                    "disabled": g.disabled, "permissions": g.permissions.to_json(),
                    "memberUsers": sorted(g.member_users),
                    "memberUserGroups": sorted(g.member_groups),
                } for name, g in ds.user_groups.items()},
                "connections": {i: {
                    "identifier": c.identifier, "name": c.name, "parentIdentifier": c.parent,
                    "protocol": c.protocol, "parameters": dict(c.parameters),
                    "attributes": dict(c.attributes),
                } for i, c in ds.connections.items()},
                "connection_groups": {i: {
                    "identifier": g.identifier, "name": g.name, "parentIdentifier": g.parent,
                    "type": g.type, "attributes": dict(g.attributes),
                } for i, g in ds.connection_groups.items()},
                "sharing_profiles": {i: {
                    "identifier": p.identifier, "name": p.name,
                    "primaryConnectionIdentifier": p.primary_connection,
                    "parameters": dict(p.parameters),
                } for i, p in ds.sharing_profiles.items()},
                "active_connections": {i: self.api.views.active_connection(a)
                                       for i, a in ds.active_connections.items()},
                "connection_history": [self.api.views.connection_record(r)
                                       for r in ds.connection_history],
                "login_history": [self.api.views.login_record(r) for r in ds.login_history],
            }

    def sessions(self) -> dict[str, str]:
        """token -> username of every live session."""
        with self._lock:
            return {token: s.username for token, s in self.api.sessions.items()}


__all__ = ["GuacamoleEmulator"]

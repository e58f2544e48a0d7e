"""The REST API of the Guacamole web app, independent of any socket."""
from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, unquote

from . import schema
from .errors import (
    GuacError,
    JacksonError,
    bad_request,
    insufficient_credentials,
    invalid_credentials,
    method_not_allowed,
    not_found,
    object_not_found,
    permission_denied,
    translated_bad_request,
    unsupported,
)
from .model import DataSource, PermissionSet, Session, User, new_token
from .objects import Caller, Objects, not_a_data_source
from .parsing import parse_json, patch_path, require_patches
from .views import Views

HISTORY_LIMIT = 1000
JDBC_DATA_SOURCES = ("mysql", "postgresql", "sqlserver")
TOTP_FIELD = {"name": "guac-totp", "type": "GUAC_TOTP_CODE"}
EXPIRED_PASSWORD_FIELDS = [
    {"name": "username", "type": "USERNAME"},
    {"name": "password", "type": "PASSWORD"},
    {"name": "new-password", "type": "PASSWORD"},
    {"name": "confirm-new-password", "type": "PASSWORD"},
]


@dataclass
class Request:
    method: str
    path: str  # relative to the context path, e.g. "/api/tokens"
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""
    remote_host: str = "127.0.0.1"

    def json(self) -> Any:
        return parse_json(self.body, self.headers.get("Content-Type"))


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or a str sent as it is with the Content-Type in headers; None: no body
    headers: dict[str, str] = field(default_factory=dict)


def ok(body: Any) -> Response:
    return Response(200, body)


def no_content() -> Response:
    return Response(204)


def route(request: Request, table: dict[str, Callable[[], Response]]) -> Response:
    if request.method == "HEAD" and "HEAD" not in table and "GET" in table:
        return table["GET"]()
    handler = table.get(request.method)
    if handler is None:
        raise method_not_allowed(list(table))
    return handler()


def sort_key(identifier: str) -> tuple[int, int, str]:
    return (0, int(identifier), "") if identifier.isdigit() else (1, 0, identifier)


class Api:
    """The emulated web app: data sources, sessions and request handling."""

    def __init__(self, version: str, data_sources: tuple[str, ...]) -> None:
        self.version = version
        self.is_16 = tuple(int(p) for p in version.split(".")[:2]) >= (1, 6)
        self.views = Views(self.is_16)
        self.objects = Objects(self.views, self.is_16)
        self.data_sources: dict[str, DataSource] = {
            name: DataSource(name, supports_atomic=name in JDBC_DATA_SOURCES)
            for name in data_sources
        }
        self.sessions: dict[str, Session] = {}
        # Seconds a session may go unused before it expires (api-session-timeout, 60 minutes); None: never.
        self.session_timeout: float | None = None
        self.totp_required = False
        self.totp_code = "123456"

    # --- entry point --------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            return self._dispatch(request)
        except JacksonError as error:
            return Response(error.status, error.message, {"Content-Type": "text/plain"})
        except GuacError as error:
            return Response(error.status, error.body(), dict(error.headers))

    def _dispatch(self, request: Request) -> Response:
        segments = [unquote(s) for s in request.path.split("/")[1:]]
        if segments and segments[-1] == "":
            segments.pop()
        match segments:
            case ["api", "tokens"]:
                return route(request, {"POST": lambda: self._create_token(request)})
            case ["api", "tokens", token]:
                return route(request, {"DELETE": lambda: self._delete_token(token)})
            case ["api", "session"]:
                table = {"DELETE": lambda: self._logout(request)}
                if self.is_16:
                    table["HEAD"] = lambda: self._check_session(request)
                return route(request, table)
            case ["api", "session", "data", name, resource, *rest]:
                return self._data(request, name, resource, rest)
        raise not_found(f'No resource at "{request.path}"')

    # --- authentication --------------------------------------------------------------

    def _form(self, request: Request) -> dict[str, str]:
        content_type = (request.headers.get("Content-Type") or "").lower()
        if request.body and not content_type.startswith("application/x-www-form-urlencoded"):
            raise GuacError(415, "BAD_REQUEST", "Unsupported Media Type")
        text = request.body.decode("utf-8", errors="replace")
        return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}

    @staticmethod
    def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
        header = request.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return None, None
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        username, colon, password = decoded.partition(":")
        return (username, password) if colon else (None, None)

    def _authenticate(self, username: str | None, password: str | None) -> tuple[DataSource, User]:
        # The first data source that stores the user checks the password, as the JDBC provider does; the
        # others (postgresql-shared) never authenticate anyone, so an old password there cannot log in.
        for ds in self.data_sources.values():
            user = ds.users.get(username or "")
            if user is None:
                continue
            if user.password is not None and user.password == password and not user.disabled:
                return ds, user
            break
        raise invalid_credentials()

    @staticmethod
    def _reset_expired_password(user: User, form: dict[str, str]) -> None:
        new, confirm = form.get("new-password"), form.get("confirm-new-password")
        if new is None or confirm is None:
            raise insufficient_credentials("Password has expired", "LOGIN.INFO_PASSWORD_EXPIRED",
                                           list(EXPIRED_PASSWORD_FIELDS))
        if new == user.password:
            raise translated_bad_request(
                "New passwords may not be identical to the current password if password "
                "reset is required.", "LOGIN.ERROR_PASSWORD_SAME")
        if not new:
            raise translated_bad_request("Passwords may not be blank.", "LOGIN.ERROR_PASSWORD_BLANK")
        if new != confirm:
            raise translated_bad_request("New password does not match.",
                                         "LOGIN.ERROR_PASSWORD_MISMATCH")
        user.password = new
        user.attributes["expired"] = ""

    def _verify_totp(self, form: dict[str, str]) -> None:
        code = form.get("guac-totp")
        if code is None:
            raise insufficient_credentials(
                "A TOTP authentication code is required before login can continue",
                "TOTP.INFO_CODE_REQUIRED", [dict(TOTP_FIELD)])
        if code != self.totp_code:
            raise translated_bad_request("Provided TOTP code is not valid.",
                                         "TOTP.INFO_VERIFICATION_FAILED")

    def _create_token(self, request: Request) -> Response:
        form = self._form(request)
        existing = self._live_session(form.get("token"))
        if existing is not None:
            return ok(self._auth_result(existing))  # re-authentication keeps the token
        username, password = form.get("username"), form.get("password")
        if username is None and password is None:
            username, password = self._basic_credentials(request)
        ds, user = self._authenticate(username, password)
        if user.attributes.get("expired") == "true":
            self._reset_expired_password(user, form)
        if self.totp_required:
            self._verify_totp(form)
        session = Session(token=new_token(), username=user.username, data_source=ds.name,
                          remote_host=request.remote_host)
        session.login_records[ds.name] = ds.record_login(user.username, request.remote_host).identifier
        self.sessions[session.token] = session
        return ok(self._auth_result(session))

    def _auth_result(self, session: Session) -> dict[str, Any]:
        return {"authToken": session.token, "username": session.username,
                "dataSource": session.data_source,
                "availableDataSources": list(self.data_sources)}

    def end_session(self, token: str) -> bool:
        session = self.sessions.pop(token, None)
        if session is None:
            return False
        for name, record in session.login_records.items():
            self.data_sources[name].end_login(record)
        return True

    def expire_all(self) -> None:
        for token in list(self.sessions):
            self.end_session(token)

    def _delete_token(self, token: str) -> Response:
        if not self.end_session(token):
            raise not_found("No such token.")
        return no_content()

    def _session(self, request: Request) -> Session:
        token = request.headers.get("Guacamole-Token")
        if token is None:
            token = (request.query.get("token") or [None])[0]
        session = self._live_session(token)
        if session is None:
            raise GuacError(403, "PERMISSION_DENIED", "Permission Denied.")
        session.last_access = time.monotonic()  # AuthenticationService.getGuacamoleSession: session.access()
        return session

    def _live_session(self, token: str | None) -> Session | None:
        """The session of token, unless it went unused for longer than session_timeout: HashTokenSessionMap's
        SessionEvictionTask ends such a session (it looks once a minute; here at the next request)."""
        session = self.sessions.get(token or "")
        if session is not None and self.session_timeout is not None \
                and time.monotonic() - session.last_access > self.session_timeout:
            self.end_session(session.token)
            return None
        return session

    def _logout(self, request: Request) -> Response:
        self.end_session(self._session(request).token)
        return no_content()

    def _check_session(self, request: Request) -> Response:
        self._session(request)
        return no_content()

    # --- /api/session/data/{ds}/... -------------------------------------------------

    def _data(self, request: Request, name: str, resource: str, rest: list[str]) -> Response:
        session = self._session(request)
        ds = self.data_sources.get(name)
        if ds is None:
            raise not_a_data_source(name)
        caller = Caller(session, ds)
        handlers = {
            "connections": self._connections,
            "connectionGroups": self._connection_groups,
            "sharingProfiles": self._sharing_profiles,
            "users": self._users,
            "userGroups": self._user_groups,
            "self": self._self,
            "activeConnections": self._active_connections,
            "history": self._history,
            "schema": self._schema,
        }
        handler = handlers.get(resource)
        if handler is None:
            raise not_found(f'No resource at "{request.path}"')
        return handler(request, caller, rest)

    def _permission_filter(self, request: Request) -> set[str]:
        wanted = set(request.query.get("permission", []))
        unknown = wanted - set(schema.OBJECT_PERMISSIONS)
        if unknown:
            raise bad_request(f'Invalid permission: "{sorted(unknown)[0]}"')
        return wanted

    def _listing(self, request: Request, caller: Caller, kind: str, store: dict,
                 render: Callable[[Any], dict]) -> Response:
        wanted = self._permission_filter(request)
        result = {}
        for identifier in sorted(store, key=sort_key):
            if not caller.can_read(kind, identifier):
                continue
            if wanted and not caller.is_admin and not caller.permissions.has_any(
                    kind, identifier, wanted):
                continue
            result[identifier] = render(store[identifier])
        return ok(result)

    def _directory(self, request: Request, caller: Caller, directory: str,
                   kind: str, store: dict, render: Callable[[Any], dict]) -> Response:
        _unused0, create, _unused1, _unused2 = self.objects.directory_operations(directory)
        return route(request, {
            "GET": lambda: self._listing(request, caller, kind, store, render),
            "POST": lambda: ok(create(caller, request.json())[1]),
            "PATCH": lambda: self._patch_directory(request, caller, directory),
        })

    def _patch_directory(self, request: Request, caller: Caller, directory: str) -> Response:
        if self.is_16:
            return ok(self.objects.atomic_patch(caller, directory, request.json()))
        self.objects.remove_only_patch(caller, directory, request.json())
        return no_content()

    def _object(self, request: Request, caller: Caller, directory: str, identifier: str,
                get: Callable[[], dict]) -> Response:
        _unused0, _unused1, update, delete = self.objects.directory_operations(directory)

        def put() -> Response:
            update(caller, identifier, request.json())
            return no_content()

        def remove() -> Response:
            delete(caller, identifier)
            return no_content()

        return route(request, {"GET": lambda: ok(get()), "PUT": put, "DELETE": remove})

    # --- connections, groups, sharing profiles -----------------------------------------

    def _connections(self, request: Request, caller: Caller, rest: list[str]) -> Response:
        ds, objects = caller.ds, self.objects
        match rest:
            case []:
                return self._directory(request, caller, "connections", "connection",
                                       ds.connections, lambda c: self.views.connection(ds, c))
            case [identifier]:
                return self._object(request, caller, "connections", identifier, lambda: (
                    self.views.connection(ds, objects.connection(caller, identifier))))
            case [identifier, "parameters"]:
                return route(request, {"GET": lambda: ok(
                    objects.connection_parameters(caller, identifier))})
            case [identifier, "history"]:
                return route(request, {"GET": lambda: ok(
                    self._connection_history(caller, identifier))})
            case [identifier, "sharingProfiles"]:
                return route(request, {"GET": lambda: ok(
                    self._connection_sharing_profiles(caller, identifier))})
        raise not_found(f'No resource at "{request.path}"')

    def _connection_history(self, caller: Caller, identifier: str) -> list[dict]:
        self.objects.connection(caller, identifier)
        records = [r for r in caller.ds.connection_history if r.connection_identifier == identifier]
        records.sort(key=lambda r: r.start_date, reverse=True)
        return [self.views.connection_record(r) for r in records]

    def _connection_sharing_profiles(self, caller: Caller, identifier: str) -> dict:
        self.objects.connection(caller, identifier)
        return {p.identifier: self.views.sharing_profile(p)
                for p in caller.ds.sharing_profiles.values()
                if p.primary_connection == identifier
                and caller.can_read("sharingProfile", p.identifier)}

    def _connection_groups(self, request: Request, caller: Caller, rest: list[str]) -> Response:
        ds = caller.ds
        match rest:
            case []:
                return self._directory(request, caller, "connectionGroups", "connectionGroup",
                                       ds.connection_groups,
                                       lambda g: self.views.connection_group(ds, g))
            case [identifier]:
                return self._object(request, caller, "connectionGroups", identifier,
                                    lambda: self._group_view(caller, identifier))
            case [identifier, "tree"]:
                return route(request, {"GET": lambda: ok(
                    self._tree(caller, identifier, self._permission_filter(request)))})
        raise not_found(f'No resource at "{request.path}"')

    def _group_view(self, caller: Caller, identifier: str) -> dict:
        group = self.objects.connection_group(caller, identifier)
        if group is None:
            return self.views.root_group(caller.ds)
        return self.views.connection_group(caller.ds, group)

    def _tree(self, caller: Caller, identifier: str, wanted: set[str]) -> dict:
        """The tree under a group: child lists appear only when non-empty.

        As in the real ConnectionGroupTree, the ``permission`` filter applies
        to connections and sharing profiles, never to connection groups, and
        reads the caller's effective permissions (its own and its groups',
        ``userContext.self().getEffectivePermissions()``).
        """
        ds = caller.ds
        effective = ds.effective_permissions(caller.username) if caller.user else None

        def passes(kind: str, ident: str) -> bool:
            if not caller.can_read(kind, ident):
                return False
            return not wanted or (effective is not None and effective.has_any(kind, ident, wanted))

        def build(group_id: str, node: dict) -> dict:
            connections = []
            for connection in sorted(ds.child_connections(group_id),
                                     key=lambda c: sort_key(c.identifier)):
                if passes("connection", connection.identifier):
                    rendered = self.views.connection(ds, connection)
                    profiles = [self.views.sharing_profile(p)
                                for p in ds.sharing_profiles.values()
                                if p.primary_connection == connection.identifier
                                and passes("sharingProfile", p.identifier)]
                    if profiles:
                        rendered["sharingProfiles"] = profiles
                    connections.append(rendered)
            groups = [build(g.identifier, self.views.connection_group(ds, g))
                      for g in sorted(ds.child_groups(group_id), key=lambda g: sort_key(g.identifier))
                      if caller.can_read("connectionGroup", g.identifier)]
            if connections:
                node["childConnections"] = connections
            if groups:
                node["childConnectionGroups"] = groups
            return node

        return build(identifier, self._group_view(caller, identifier))

    def _sharing_profiles(self, request: Request, caller: Caller, rest: list[str]) -> Response:
        ds = caller.ds
        match rest:
            case []:
                return self._directory(request, caller, "sharingProfiles", "sharingProfile",
                                       ds.sharing_profiles, self.views.sharing_profile)
            case [identifier]:
                return self._object(request, caller, "sharingProfiles", identifier, lambda: (
                    self.views.sharing_profile(self.objects.sharing_profile(caller, identifier))))
            case [identifier, "parameters"]:
                return route(request, {"GET": lambda: ok(
                    self.objects.sharing_profile_parameters(caller, identifier))})
        raise not_found(f'No resource at "{request.path}"')

    # --- users, user groups, self ------------------------------------------------------

    def _user_view(self, caller: Caller, user: User) -> dict:
        return self.views.user(user, restricted=caller.has("user", user.username, "ADMINISTER"))

    def _permission_resource(self, request: Request, caller: Caller, kind: str, identifier: str,
                             permissions: PermissionSet) -> Response:
        return route(request, {
            "GET": lambda: ok(permissions.to_json()),
            "PATCH": lambda: self._patched(lambda: self.objects.patch_permissions(
                caller, kind, identifier, permissions, request.json())),
        })

    @staticmethod
    def _patched(apply: Callable[[], None]) -> Response:
        apply()
        return no_content()

    def _readable_names(self, caller: Caller, kind: str, names) -> list[str]:
        return sorted(n for n in names if caller.can_read(kind, n))

    def _relation(self, request: Request, caller: Caller, owner_kind: str, owner: str,
                  related_kind: str, current: Callable[[], set[str]],
                  link: Callable[[str, bool], None]) -> Response:
        return route(request, {
            "GET": lambda: ok(self._readable_names(caller, related_kind, current())),
            "PATCH": lambda: self._patched(lambda: self.objects.patch_relation(
                caller, owner_kind, owner, related_kind, request.json(), link)),
        })

    def _users(self, request: Request, caller: Caller, rest: list[str]) -> Response:
        ds, objects = caller.ds, self.objects
        if not rest:
            return self._directory(request, caller, "users", "user", ds.users,
                                   lambda u: self._user_view(caller, u))
        username, *sub = rest
        if not sub:
            return self._object(request, caller, "users", username,
                                lambda: self._user_view(caller, objects.user(caller, username)))
        user = objects.user(caller, username)
        match sub:
            case ["password"]:
                return route(request, {"PUT": lambda: self._patched(
                    lambda: objects.change_password(caller, username, request.json()))})
            case ["permissions"]:
                return self._permission_resource(request, caller, "user", username,
                                                 user.permissions)
            case ["effectivePermissions"]:
                return route(request, {"GET": lambda: ok(
                    ds.effective_permissions(username).to_json())})
            case ["userGroups"]:
                def link(group: str, add: bool) -> None:
                    members = ds.user_groups[group].member_users
                    members.add(username) if add else members.discard(username)
                return self._relation(request, caller, "user", username, "userGroup",
                                      lambda: ds.groups_of_user(username), link)
            case ["history"]:
                return route(request, {"GET": lambda: ok(self._user_history(caller, username))})
        raise not_found(f'No resource at "{request.path}"')

    def _user_history(self, caller: Caller, username: str) -> list[dict]:
        records = [r for r in caller.ds.login_history if r.username == username]
        records.sort(key=lambda r: r.start_date, reverse=True)
        return [self.views.login_record(r) for r in records]

    def _user_groups(self, request: Request, caller: Caller, rest: list[str]) -> Response:
        ds, objects = caller.ds, self.objects
        if not rest:
            return self._directory(request, caller, "userGroups", "userGroup", ds.user_groups,
                                   self.views.user_group)
        identifier, *sub = rest
        if not sub:
            return self._object(request, caller, "userGroups", identifier,
                                lambda: self.views.user_group(objects.user_group(caller, identifier)))
        group = objects.user_group(caller, identifier)

        def relation(related_kind: str, current: Callable[[], set[str]],
                     link: Callable[[str, bool], None]) -> Response:
            return self._relation(request, caller, "userGroup", identifier, related_kind,
                                  current, link)

        def toggle(members: set[str], name: str, add: bool) -> None:
            members.add(name) if add else members.discard(name)

        match sub:
            case ["permissions"]:
                return self._permission_resource(request, caller, "userGroup", identifier,
                                                 group.permissions)
            case ["effectivePermissions"]:
                return route(request, {"GET": lambda: ok(
                    ds.group_effective_permissions(identifier).to_json())})
            case ["memberUsers"]:
                return relation("user", lambda: set(group.member_users),
                                lambda name, add: toggle(group.member_users, name, add))
            case ["memberUserGroups"]:
                return relation("userGroup", lambda: set(group.member_groups),
                                lambda name, add: toggle(group.member_groups, name, add))
            case ["userGroups"]:
                return relation("userGroup", lambda: ds.parents_of_group(identifier),
                                lambda name, add: toggle(ds.user_groups[name].member_groups,
                                                         identifier, add))
        raise not_found(f'No resource at "{request.path}"')

    def _self(self, request: Request, caller: Caller, rest: list[str]) -> Response:
        user = caller.user
        match rest:
            case []:
                return route(request, {"GET": lambda: ok(
                    self._user_view(caller, user) if user
                    else self.views.skeleton_user(caller.username))})
            case ["permissions"]:
                own = user.permissions.to_json() if user else caller.permissions.to_json()
                return route(request, {"GET": lambda: ok(own)})
            case ["effectivePermissions"]:
                return route(request, {"GET": lambda: ok(caller.permissions.to_json())})
        raise not_found(f'No resource at "{request.path}"')

    # --- active connections and history ------------------------------------------------

    def _active_connections(self, request: Request, caller: Caller, rest: list[str]) -> Response:
        ds = caller.ds
        match rest:
            case []:
                return route(request, {
                    "GET": lambda: self._listing(request, caller, "activeConnection",
                                                 ds.active_connections,
                                                 self.views.active_connection),
                    "PATCH": lambda: self._kill_patch(caller, request.json()),
                })
            case [identifier]:
                def get() -> Response:
                    active = ds.active_connections.get(identifier)
                    if active is None or not caller.can_read("activeConnection", identifier):
                        raise object_not_found(identifier)
                    return ok(self.views.active_connection(active))

                def delete() -> Response:
                    # ActiveConnectionResource is a DirectoryObjectResource: deleteObject -> directory.remove.
                    self._end_session(caller, identifier)
                    return no_content()
                return route(request, {"GET": get, "DELETE": delete})
            case [identifier, "connection"]:
                def connection() -> Response:
                    # ActiveConnectionResource.getConnection: the connection's own resource, looked up in the
                    # caller's connection directory (404 when it may not read it).
                    active = ds.active_connections.get(identifier)
                    if active is None or not caller.can_read("activeConnection", identifier):
                        raise object_not_found(identifier)
                    found = self.objects.connection(caller, active.connection_identifier)
                    return ok(self.views.connection(ds, found))
                return route(request, {"GET": connection})
        raise not_found(f'No resource at "{request.path}"')

    def _kill_patch(self, caller: Caller, data: Any) -> Response:
        """PATCH activeConnections. 1.5 answers 204 (DirectoryResource.patchObjects returns void); 1.6 runs the
        atomic directory patch (JDBCDirectory.tryAtomically) and answers 200 with one outcome per patch
        (APIPatchResponse)."""
        outcomes = []
        for patch in require_patches(data):
            if not self.is_16 and patch.get("op") != "remove":  # 1.5 checks the operation first
                raise unsupported('Only the "remove" operation is supported.')
            path = patch_path(patch)
            if patch.get("op") != "remove":
                raise unsupported('Only the "remove" operation is supported.')
            self._end_session(caller, path[1:])
            outcomes.append({"op": "remove", "identifier": path[1:], "path": path})
        return ok({"patches": outcomes}) if self.is_16 else no_content()

    def _end_session(self, caller: Caller, identifier: str) -> None:
        """ActiveConnectionService.deleteObject: nothing for a session that is gone (or not visible), 403 without
        DELETE on it."""
        active = caller.ds.active_connections.get(identifier)
        if active is None or not caller.can_read("activeConnection", identifier):
            return
        if not (active.username == caller.username
                or caller.has("activeConnection", identifier, "DELETE")):
            raise permission_denied()
        caller.ds.end_connection(identifier)

    def _history(self, request: Request, caller: Caller, rest: list[str]) -> Response:
        match rest:
            case ["connections"]:
                return route(request, {"GET": lambda: ok(self._search_connections(request, caller))})
            case ["users"]:
                return route(request, {"GET": lambda: ok(self._search_logins(request, caller))})
        raise not_found(f'No resource at "{request.path}"')

    @staticmethod
    def _history_order(request: Request) -> bool:
        """Whether to sort descending; ``startDate`` is the only sortable property.

        With no ``order`` the most recent records come first.
        """
        orders = request.query.get("order", [])
        for predicate in orders:
            name = predicate.removeprefix("-")
            if name != "startDate":
                raise bad_request(f'Invalid sort property: "{name}"')
        return orders[0].startswith("-") if orders else True

    @staticmethod
    def _matches(terms: list[str], *haystack: str | None) -> bool:
        text = "\n".join(h.lower() for h in haystack if h)
        return all(term.lower() in text for term in terms if term)

    def _can_audit(self, caller: Caller) -> bool:
        return caller.is_admin or (self.is_16 and "AUDIT" in caller.permissions.system)

    def _search_connections(self, request: Request, caller: Caller) -> list[dict]:
        terms = request.query.get("contains", [])
        descending = self._history_order(request)
        records = [
            r for r in caller.ds.connection_history
            if (self._can_audit(caller)
                or (r.connection_identifier is not None
                    and caller.can_read("connection", r.connection_identifier)))
            and self._matches(terms, r.connection_name, r.username, r.sharing_profile_name)
        ]
        records.sort(key=lambda r: (r.start_date, sort_key(r.identifier)), reverse=descending)
        return [self.views.connection_record(r) for r in records[:HISTORY_LIMIT]]

    def _search_logins(self, request: Request, caller: Caller) -> list[dict]:
        terms = request.query.get("contains", [])
        descending = self._history_order(request)
        records = [
            r for r in caller.ds.login_history
            if (self._can_audit(caller) or caller.can_read("user", r.username))
            and self._matches(terms, r.username, r.remote_host)
        ]
        records.sort(key=lambda r: (r.start_date, sort_key(r.identifier)), reverse=descending)
        return [self.views.login_record(r) for r in records[:HISTORY_LIMIT]]

    # --- schema ------------------------------------------------------------------------

    def _schema(self, request: Request, caller: Caller, rest: list[str]) -> Response:
        documents: dict[str, Callable[[], Any]] = {
            "protocols": lambda: schema.protocols(self.is_16),
            "userAttributes": lambda: schema.user_attribute_forms(self.is_16),
            "userGroupAttributes": lambda: schema.user_group_attribute_forms(self.is_16),
            "connectionAttributes": schema.connection_attribute_forms,
            "connectionGroupAttributes": schema.connection_group_attribute_forms,
            "sharingProfileAttributes": schema.sharing_profile_attribute_forms,
        }
        if self.is_16:
            documents["userPreferenceAttributes"] = schema.user_preference_attribute_forms
        if len(rest) != 1 or rest[0] not in documents:
            raise not_found(f'No resource at "{request.path}"')
        return route(request, {"GET": lambda: ok(documents[rest[0]]())})

"""In-memory state of an emulated Guacamole web app.

Each data source (e.g. ``postgresql``) has its own tree of users, groups,
connections, sharing profiles, permissions, active connections and history,
like the real JDBC extensions where every data source is a separate database.
"""
from __future__ import annotations

import copy
import secrets
import time
import uuid
from dataclasses import dataclass, field

from .schema import OBJECT_PERMISSIONS

ROOT = "ROOT"
OBJECT_KINDS = ("connection", "connectionGroup", "sharingProfile",
                "activeConnection", "user", "userGroup")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class PermissionSet:
    system: set[str] = field(default_factory=set)
    objects: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: {kind: {} for kind in OBJECT_KINDS})

    def has(self, kind: str, identifier: str, permission: str) -> bool:
        return permission in self.objects[kind].get(identifier, ())

    def has_any(self, kind: str, identifier: str, permissions: set[str]) -> bool:
        return bool(self.objects[kind].get(identifier, set()) & permissions)

    def grant(self, kind: str, identifier: str, permission: str) -> None:
        self.objects[kind].setdefault(identifier, set()).add(permission)

    def revoke(self, kind: str, identifier: str, permission: str) -> None:
        granted = self.objects[kind].get(identifier)
        if granted is not None:
            granted.discard(permission)
            if not granted:
                del self.objects[kind][identifier]

    def forget(self, kind: str, identifier: str) -> None:
        self.objects[kind].pop(identifier, None)

    def update(self, other: PermissionSet) -> None:
        self.system |= other.system
        for kind, grants in other.objects.items():
            for identifier, permissions in grants.items():
                self.objects[kind].setdefault(identifier, set()).update(permissions)

    def to_json(self) -> dict:
        order = {name: index for index, name in enumerate(OBJECT_PERMISSIONS)}
        result = {
            f"{kind}Permissions": {
                identifier: sorted(permissions, key=order.__getitem__)
                for identifier, permissions in sorted(grants.items())
            }
            for kind, grants in self.objects.items()
        }
        result["systemPermissions"] = sorted(self.system)
        return result


@dataclass
class User:
    username: str
    password: str | None
    attributes: dict[str, str | None] = field(default_factory=dict)
    disabled: bool = False
    permissions: PermissionSet = field(default_factory=PermissionSet)
    last_active: int | None = None


@dataclass
class UserGroup:
    identifier: str
    attributes: dict[str, str | None] = field(default_factory=dict)
    disabled: bool = False
    permissions: PermissionSet = field(default_factory=PermissionSet)
    member_users: set[str] = field(default_factory=set)
    member_groups: set[str] = field(default_factory=set)


@dataclass
class Connection:
    identifier: str
    name: str
    parent: str
    protocol: str
    parameters: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str | None] = field(default_factory=dict)
    last_active: int | None = None


@dataclass
class ConnectionGroup:
    identifier: str
    name: str
    parent: str
    type: str = "ORGANIZATIONAL"
    attributes: dict[str, str | None] = field(default_factory=dict)


@dataclass
class SharingProfile:
    identifier: str
    name: str
    primary_connection: str
    parameters: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str | None] = field(default_factory=dict)


@dataclass
class ActiveConnection:
    identifier: str
    connection_identifier: str
    username: str
    remote_host: str
    start_date: int
    record_identifier: str
    sharing_profile_identifier: str | None = None


@dataclass
class ConnectionRecord:
    identifier: str
    uuid: str
    connection_identifier: str | None
    connection_name: str
    username: str
    remote_host: str
    start_date: int
    end_date: int | None = None
    sharing_profile_identifier: str | None = None
    sharing_profile_name: str | None = None


@dataclass
class LoginRecord:
    identifier: str
    uuid: str
    username: str
    remote_host: str
    start_date: int
    end_date: int | None = None


class DataSource:
    """One data source: a separate tree of objects with its own id sequences."""

    def __init__(self, name: str, *, supports_atomic: bool) -> None:
        self.name = name
        self.supports_atomic = supports_atomic
        self.users: dict[str, User] = {}
        self.user_groups: dict[str, UserGroup] = {}
        self.connections: dict[str, Connection] = {}
        self.connection_groups: dict[str, ConnectionGroup] = {}
        self.sharing_profiles: dict[str, SharingProfile] = {}
        self.active_connections: dict[str, ActiveConnection] = {}
        self.connection_history: list[ConnectionRecord] = []
        self.login_history: list[LoginRecord] = []
        self._sequences: dict[str, int] = {}

    def next_id(self, table: str) -> str:
        """Database-like identifiers: one increasing integer sequence per table."""
        value = self._sequences.get(table, 0) + 1
        self._sequences[table] = value
        return str(value)

    def clone(self) -> DataSource:
        return copy.deepcopy(self)

    # --- memberships and effective permissions ------------------------------

    def groups_of_user(self, username: str) -> set[str]:
        return {g.identifier for g in self.user_groups.values() if username in g.member_users}

    def parents_of_group(self, identifier: str) -> set[str]:
        return {g.identifier for g in self.user_groups.values() if identifier in g.member_groups}

    def effective_groups(self, username: str) -> set[str]:
        """Enabled groups of the user, including groups those groups belong to."""
        pending = list(self.groups_of_user(username))
        seen: set[str] = set()
        while pending:
            identifier = pending.pop()
            group = self.user_groups.get(identifier)
            if identifier in seen or group is None or group.disabled:
                continue
            seen.add(identifier)
            pending.extend(self.parents_of_group(identifier))
        return seen

    def effective_permissions(self, username: str) -> PermissionSet:
        result = PermissionSet()
        user = self.users.get(username)
        if user is None:
            return result
        result.update(user.permissions)
        for identifier in self.effective_groups(username):
            result.update(self.user_groups[identifier].permissions)
        return result

    def effective_system_permissions(self, username: str) -> set[str]:
        """The system part of effective_permissions alone (cheap: no object permission is copied)."""
        user = self.users.get(username)
        if user is None:
            return set()
        found = set(user.permissions.system)
        for identifier in self.effective_groups(username):
            found |= self.user_groups[identifier].permissions.system
        return found

    def group_effective_permissions(self, identifier: str) -> PermissionSet:
        result = PermissionSet()
        pending, seen = [identifier], set()
        while pending:
            current = pending.pop()
            group = self.user_groups.get(current)
            if current in seen or group is None:
                continue
            seen.add(current)
            result.update(group.permissions)
            pending.extend(self.parents_of_group(current))
        return result

    def permission_holders(self):
        yield from (u.permissions for u in self.users.values())
        yield from (g.permissions for g in self.user_groups.values())

    def forget_object(self, kind: str, identifier: str) -> None:
        for permissions in self.permission_holders():
            permissions.forget(kind, identifier)

    # --- connection tree ----------------------------------------------------

    def group_ancestors(self, identifier: str) -> list[str]:
        ancestors, current = [], identifier
        while current != ROOT and current in self.connection_groups:
            current = self.connection_groups[current].parent
            ancestors.append(current)
            if len(ancestors) > len(self.connection_groups) + 1:
                break  # defensive: a cycle never exists, but never loop forever
        return ancestors

    def child_groups(self, parent: str) -> list[ConnectionGroup]:
        return [g for g in self.connection_groups.values() if g.parent == parent]

    def child_connections(self, parent: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.parent == parent]

    def active_count(self, connection_identifier: str) -> int:
        return sum(1 for a in self.active_connections.values()
                   if a.connection_identifier == connection_identifier)

    # --- deletion with the cascades the JDBC schema performs --------------------

    def delete_connection(self, identifier: str) -> None:
        self.connections.pop(identifier, None)
        self.forget_object("connection", identifier)
        for profile in [p for p in self.sharing_profiles.values()
                        if p.primary_connection == identifier]:
            self.delete_sharing_profile(profile.identifier)
        for record in self.connection_history:
            if record.connection_identifier == identifier:
                record.connection_identifier = None

    def delete_connection_group(self, identifier: str) -> None:
        for child in self.child_groups(identifier):
            self.delete_connection_group(child.identifier)
        for connection in self.child_connections(identifier):
            self.delete_connection(connection.identifier)
        self.connection_groups.pop(identifier, None)
        self.forget_object("connectionGroup", identifier)

    def delete_sharing_profile(self, identifier: str) -> None:
        self.sharing_profiles.pop(identifier, None)
        self.forget_object("sharingProfile", identifier)

    def delete_user(self, username: str) -> None:
        self.users.pop(username, None)
        self.forget_object("user", username)
        for group in self.user_groups.values():
            group.member_users.discard(username)

    def delete_user_group(self, identifier: str) -> None:
        self.user_groups.pop(identifier, None)
        self.forget_object("userGroup", identifier)
        for group in self.user_groups.values():
            group.member_groups.discard(identifier)

    # --- sessions and history -------------------------------------------------

    def start_connection(self, username: str, connection_identifier: str, remote_host: str,
                         sharing_profile_identifier: str | None = None) -> ActiveConnection:
        connection = self.connections[connection_identifier]
        profile = (self.sharing_profiles.get(sharing_profile_identifier)
                   if sharing_profile_identifier else None)
        started = now_ms()
        record = ConnectionRecord(
            identifier=self.next_id("connection_history"), uuid=str(uuid.uuid4()),
            connection_identifier=connection_identifier, connection_name=connection.name,
            username=username, remote_host=remote_host, start_date=started,
            sharing_profile_identifier=profile.identifier if profile else None,
            sharing_profile_name=profile.name if profile else None,
        )
        self.connection_history.append(record)
        active = ActiveConnection(
            identifier=record.uuid, connection_identifier=connection_identifier,
            username=username, remote_host=remote_host, start_date=started,
            record_identifier=record.identifier,
            sharing_profile_identifier=record.sharing_profile_identifier,
        )
        self.active_connections[active.identifier] = active
        connection.last_active = started
        return active

    def end_connection(self, identifier: str) -> bool:
        active = self.active_connections.pop(identifier, None)
        if active is None:
            return False
        self.forget_object("activeConnection", identifier)
        for record in self.connection_history:
            if record.identifier == active.record_identifier:
                record.end_date = now_ms()
        return True

    def record_login(self, username: str, remote_host: str) -> LoginRecord:
        record = LoginRecord(identifier=self.next_id("user_history"), uuid=str(uuid.uuid4()),
                             username=username, remote_host=remote_host, start_date=now_ms())
        self.login_history.append(record)
        user = self.users.get(username)
        if user is not None:
            user.last_active = record.start_date
        return record

    def end_login(self, record_identifier: str) -> None:
        for record in self.login_history:
            if record.identifier == record_identifier and record.end_date is None:
                record.end_date = now_ms()


@dataclass
class Session:
    token: str
    username: str
    data_source: str
    remote_host: str
    login_records: dict[str, str] = field(default_factory=dict)
    last_access: float = field(default_factory=time.monotonic)  # time.monotonic() of its last use


def new_token() -> str:
    return secrets.token_hex(32).upper()

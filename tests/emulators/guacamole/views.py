"""JSON renderings of model objects, as the real REST API serialises them.

The real API objects are serialised with Jackson ``NON_NULL``: unset optional
fields (``lastActive``, ``parentIdentifier`` of ROOT, empty tree child lists)
are omitted rather than sent as null.
"""
from __future__ import annotations

from typing import Any

from . import schema
from .model import (
    ROOT,
    ActiveConnection,
    Connection,
    ConnectionGroup,
    ConnectionRecord,
    DataSource,
    LoginRecord,
    SharingProfile,
    User,
    UserGroup,
)


def render_attributes(stored: dict[str, str | None], fields: dict[str, dict]) -> dict[str, str | None]:
    rendered: dict[str, str | None] = {}
    for name, spec in fields.items():
        value = stored.get(name)
        if spec["type"] == "BOOLEAN":
            rendered[name] = "true" if value == "true" else ""
        else:
            rendered[name] = value if value not in ("", None) else None
    return rendered


class Views:
    def __init__(self, is_16: bool) -> None:
        self.is_16 = is_16
        self.user_fields = schema.fields_of(schema.user_attribute_forms(is_16))
        self.restricted_user_fields = {
            f["name"] for f in schema.user_restriction_fields(is_16)}
        self.user_group_fields = schema.fields_of(schema.user_group_attribute_forms(is_16))
        self.connection_fields = schema.fields_of(schema.connection_attribute_forms())
        self.group_fields = schema.fields_of(schema.connection_group_attribute_forms())
        self.sharing_fields = schema.fields_of(schema.sharing_profile_attribute_forms())

    def connection(self, ds: DataSource, connection: Connection) -> dict[str, Any]:
        result: dict[str, Any] = {
            "name": connection.name,
            "identifier": connection.identifier,
            "parentIdentifier": connection.parent,
            "protocol": connection.protocol,
            "attributes": render_attributes(connection.attributes, self.connection_fields),
            "activeConnections": ds.active_count(connection.identifier),
        }
        if connection.last_active is not None:
            result["lastActive"] = connection.last_active
        return result

    def connection_group(self, ds: DataSource, group: ConnectionGroup) -> dict[str, Any]:
        """ModeledConnectionGroup.getActiveConnections counts the connections made through a BALANCING group
        (AbstractGuacamoleTunnelService.getActiveConnections(ConnectionGroup): none for any other type); a session
        of a child connection is not one, and the emulator opens sessions only to connections: always 0."""
        active = 0
        return {
            "name": group.name,
            "identifier": group.identifier,
            "parentIdentifier": group.parent,
            "type": group.type,
            "activeConnections": active,
            "attributes": render_attributes(group.attributes, self.group_fields),
        }

    def root_group(self, ds: DataSource) -> dict[str, Any]:
        """jdbc/connectiongroup/RootConnectionGroup: name and identifier ROOT, no parent, ORGANIZATIONAL,
        getActiveConnections() 0, no attributes."""
        return {"name": ROOT, "identifier": ROOT, "type": "ORGANIZATIONAL",
                "activeConnections": 0, "attributes": {}}

    def sharing_profile(self, profile: SharingProfile) -> dict[str, Any]:
        return {
            "name": profile.name,
            "identifier": profile.identifier,
            "primaryConnectionIdentifier": profile.primary_connection,
            "attributes": render_attributes(profile.attributes, self.sharing_fields),
        }

    def user(self, user: User, *, restricted: bool) -> dict[str, Any]:
        """``restricted``: whether the caller may see account restrictions."""
        stored = dict(user.attributes)
        if not self.is_16:
            stored["disabled"] = "true" if user.disabled else ""
        fields = {name: spec for name, spec in self.user_fields.items()
                  if restricted or name not in self.restricted_user_fields}
        result: dict[str, Any] = {"username": user.username}
        if self.is_16:
            result["disabled"] = user.disabled
        result["attributes"] = render_attributes(stored, fields)
        if user.last_active is not None:
            result["lastActive"] = user.last_active
        return result

    def skeleton_user(self, username: str) -> dict[str, Any]:
        result: dict[str, Any] = {"username": username, "attributes": {}}
        if self.is_16:
            result["disabled"] = False
        return result

    def user_group(self, group: UserGroup) -> dict[str, Any]:
        stored = dict(group.attributes)
        if not self.is_16:
            stored["disabled"] = "true" if group.disabled else ""
        result: dict[str, Any] = {"identifier": group.identifier}
        if self.is_16:
            result["disabled"] = group.disabled
        result["attributes"] = render_attributes(stored, self.user_group_fields)
        return result

    @staticmethod
    def active_connection(active: ActiveConnection) -> dict[str, Any]:
        return {
            "identifier": active.identifier,
            "connectionIdentifier": active.connection_identifier,
            "startDate": active.start_date,
            "remoteHost": active.remote_host,
            "username": active.username,
            "connectable": True,
        }

    @staticmethod
    def login_record(record: LoginRecord) -> dict[str, Any]:
        return {
            "startDate": record.start_date,
            "endDate": record.end_date,
            "remoteHost": record.remote_host,
            "username": record.username,
            "active": record.end_date is None,
            "identifier": record.identifier,
            "uuid": record.uuid,
            "attributes": {},
            "logs": {},
        }

    @staticmethod
    def connection_record(record: ConnectionRecord) -> dict[str, Any]:
        return {
            "connectionIdentifier": record.connection_identifier,
            "connectionName": record.connection_name,
            "sharingProfileIdentifier": record.sharing_profile_identifier,
            "sharingProfileName": record.sharing_profile_name,
            "startDate": record.start_date,
            "endDate": record.end_date,
            "remoteHost": record.remote_host,
            "username": record.username,
            "active": record.end_date is None,
            "identifier": record.identifier,
            "uuid": record.uuid,
            "attributes": {},
            "logs": {},
        }

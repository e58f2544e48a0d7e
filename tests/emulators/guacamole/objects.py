"""Object operations with the permission rules of the JDBC auth extension.

Visibility: an object the caller cannot READ does not exist for it (404).
Writes then need UPDATE / DELETE on the object, creation the matching
CREATE_* system permission, and system ADMINISTER bypasses every check.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from . import schema
from .errors import (
    GuacError,
    JacksonError,
    bad_request,
    internal_error,
    not_found,
    object_not_found,
    permission_denied,
    unsupported,
)
from .model import (
    ROOT,
    Connection,
    ConnectionGroup,
    DataSource,
    PermissionSet,
    Session,
    SharingProfile,
    User,
    UserGroup,
)
from .parsing import (
    as_bool,
    as_enum,
    as_string,
    clean_parameters,
    filter_attributes,
    patch_path,
    require_object,
    require_patches,
    string_patch_value,
)
from .schema import OBJECT_PERMISSIONS
from .views import Views

PERMISSION_PATH_PREFIXES = (
    ("/connectionPermissions/", "connection"),
    ("/connectionGroupPermissions/", "connectionGroup"),
    ("/sharingProfilePermissions/", "sharingProfile"),
    ("/activeConnectionPermissions/", "activeConnection"),
    ("/userPermissions/", "user"),
    ("/userGroupPermissions/", "userGroup"),
)
SYSTEM_PERMISSION_PATH = "/systemPermissions"
GROUP_TYPES = ("ORGANIZATIONAL", "BALANCING")
# Permission kinds whose JDBC insert names the object by its numeric id (a foreign key), not through a JOIN.
INSERTED_BY_ID = ("connection", "connectionGroup", "sharingProfile")
# The properties of rest/connection/APIConnection, connectiongroup/APIConnectionGroup, sharingprofile/
# APISharingProfile, user/APIUser and usergroup/APIUserGroup (1.6 adds `disabled` to the last two): what a create
# echoes of its body.
API_PROPERTIES = {
    "connection": {"name", "identifier", "parentIdentifier", "protocol", "parameters", "attributes", "sharingProfiles",
                   "activeConnections", "lastActive"},
    "connectionGroup": {"name", "identifier", "parentIdentifier", "type", "activeConnections",
                        "childConnectionGroups", "childConnections", "attributes"},
    "sharingProfile": {"name", "identifier", "primaryConnectionIdentifier", "parameters", "attributes"},
    "user": {"username", "password", "attributes", "lastActive"},
    "userGroup": {"identifier", "attributes"},
}
# guacamole_connection_parameter.parameter_value is VARCHAR(4096) in every JDBC schema.
PARAMETER_VALUE_LIMIT = 4096


class Caller:
    """The authenticated user as seen by one data source."""

    def __init__(self, session: Session, ds: DataSource) -> None:
        self.session = session
        self.ds = ds
        self.refresh()

    def refresh(self) -> None:
        # A user unknown to this data source gets an empty, permission-less view.
        self.user: User | None = self.ds.users.get(self.session.username)
        self._permissions: PermissionSet | None = None

    @property
    def permissions(self) -> PermissionSet:
        """The effective permissions, worked out when first needed: an administrator's checks never need them,
        and copying thousands of object permissions on every request made the emulator, not the client,
        the slow part of a benchmark."""
        if self._permissions is None:
            self._permissions = self.ds.effective_permissions(self.session.username)
        return self._permissions

    @permissions.setter
    def permissions(self, value: PermissionSet) -> None:
        self._permissions = value

    @property
    def username(self) -> str:
        return self.session.username

    @property
    def is_admin(self) -> bool:
        if self._permissions is not None:
            return "ADMINISTER" in self._permissions.system
        return "ADMINISTER" in self.ds.effective_system_permissions(self.session.username)

    def has(self, kind: str, identifier: str, permission: str) -> bool:
        return self.is_admin or self.permissions.has(kind, identifier, permission)

    def has_system(self, permission: str) -> bool:
        return self.is_admin or permission in self.permissions.system

    def can_read(self, kind: str, identifier: str) -> bool:
        if self.is_admin or (kind == "connectionGroup" and identifier == ROOT):
            return True
        if kind == "activeConnection":
            active = self.ds.active_connections.get(identifier)
            if active is not None and active.username == self.username:
                return True
        return self.permissions.has(kind, identifier, "READ")

    def grant_creator(self, kind: str, identifier: str) -> None:
        if self.user is not None:
            for permission in OBJECT_PERMISSIONS:
                self.user.permissions.grant(kind, identifier, permission)
            self.refresh()


class SystemCaller(Caller):
    """Every right and no identity: lets the seeding helpers reuse the API's validation."""

    def __init__(self, ds: DataSource) -> None:
        self.session = None
        self.ds = ds
        self.user = None
        self.permissions = PermissionSet(system={"ADMINISTER"})

    def refresh(self) -> None:
        pass

    @property
    def username(self) -> str:
        return ""


def object_exists(ds: DataSource, kind: str, identifier: str) -> bool:
    stores = {
        "connection": ds.connections, "connectionGroup": ds.connection_groups,
        "sharingProfile": ds.sharing_profiles, "activeConnection": ds.active_connections,
        "user": ds.users, "userGroup": ds.user_groups,
    }
    return identifier in stores[kind]


class Objects:
    def __init__(self, views: Views, is_16: bool) -> None:
        self.views = views
        self.is_16 = is_16
        self.system_permissions = (schema.SYSTEM_PERMISSIONS_16 if is_16
                                   else schema.SYSTEM_PERMISSIONS_15)

    # --- lookups: invisible objects do not exist --------------------------------

    def connection(self, caller: Caller, identifier: str) -> Connection:
        found = caller.ds.connections.get(identifier)
        if found is None or not caller.can_read("connection", identifier):
            raise object_not_found(identifier)
        return found

    def connection_group(self, caller: Caller, identifier: str) -> ConnectionGroup | None:
        """The group, or None for ROOT."""
        if identifier == ROOT:
            return None
        found = caller.ds.connection_groups.get(identifier)
        if found is None or not caller.can_read("connectionGroup", identifier):
            raise object_not_found(identifier)
        return found

    def sharing_profile(self, caller: Caller, identifier: str) -> SharingProfile:
        found = caller.ds.sharing_profiles.get(identifier)
        if found is None or not caller.can_read("sharingProfile", identifier):
            raise object_not_found(identifier)
        return found

    def user(self, caller: Caller, username: str) -> User:
        found = caller.ds.users.get(username)
        if found is None or not caller.can_read("user", username):
            raise object_not_found(username)
        return found

    def user_group(self, caller: Caller, identifier: str) -> UserGroup:
        found = caller.ds.user_groups.get(identifier)
        if found is None or not caller.can_read("userGroup", identifier):
            raise object_not_found(identifier)
        return found

    # --- shared checks ------------------------------------------------------------

    @staticmethod
    def _require(allowed: bool) -> None:
        if not allowed:
            raise permission_denied()

    @staticmethod
    def _check_parents(caller: Caller, kind: str, old: str | None, new: str | None) -> None:
        """Moving into / out of a parent needs UPDATE on that parent (ModeledChildDirectoryObjectService
        .canUpdateModifiedParents). ROOT is no parent for a connection or group (ModeledChildDirectoryObject
        .setParentIdentifier stores it as null); for a sharing profile the primary connection is stored as given,
        so "ROOT" is checked like any identifier. Only a null parent is skipped (getModifiedParents)."""
        if caller.is_admin or old == new:
            return
        skipped = (None, ROOT) if kind == "connectionGroup" else (None,)
        for parent in (old, new):
            if parent not in skipped and not caller.permissions.has(kind, parent, "UPDATE"):
                raise permission_denied()

    @staticmethod
    def _check_group_exists(ds: DataSource, parent: str) -> None:
        """The insert or update names parent_id (#{parentIdentifier}::integer, a foreign key to
        guacamole_connection_group): no JDBC service looks for the parent first, so a missing one (or one that
        is not a number) is a database error, a PersistenceException RESTExceptionMapper wraps as 500."""
        if parent != ROOT and parent not in ds.connection_groups:
            raise internal_error()

    def _echo(self, kind: str, body: dict[str, Any], identifier_key: str, identifier: str,
              attributes: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """rest/directory/DirectoryResource.createObject answers the object Jackson read from the body (with its
        identifier set and its attributes filtered by the schema): only the API class's properties, null ones left
        out (@JsonInclude(NON_NULL)); anything else in the body was ignored when it was read."""
        properties = API_PROPERTIES[kind] | ({"disabled"} if self.is_16 and kind in ("user", "userGroup") else set())
        echo = {key: value for key, value in body.items() if value is not None and key in properties}
        echo[identifier_key] = identifier
        echo["attributes"] = attributes
        for key, value in extra.items():
            echo.setdefault(key, value)
        return echo

    # --- connections ----------------------------------------------------------------

    def _connection_input(self, body: dict[str, Any]):
        name = as_string(body.get("name"), "name")
        parent = as_string(body.get("parentIdentifier"), "parentIdentifier") or ROOT
        protocol = as_string(body.get("protocol"), "protocol")
        parameters = clean_parameters(body.get("parameters"))
        attributes, echoed = filter_attributes(body.get("attributes"), self.views.connection_fields)
        return name, parent, protocol, parameters, attributes, echoed

    @staticmethod
    def _validate_connection(ds: DataSource, name: str | None, parent: str,
                             protocol: str | None, identifier: str | None) -> None:
        if name is None or not name.strip():
            raise bad_request("Connection names must not be blank.")
        for other in ds.child_connections(parent):
            if other.name == name and other.identifier != identifier:
                raise bad_request(f'The connection "{name}" already exists.')
        Objects._check_group_exists(ds, parent)
        if protocol is None:
            # ConnectionService checks no protocol; guacamole_connection.protocol is NOT NULL: a database error.
            raise internal_error()

    def _check_parameter_lengths(self, parameters: dict[str, str], *, stored: bool) -> None:
        """A value longer than the guacamole_connection_parameter column (VARCHAR(4096)).

        1.6 refuses it before writing (ConnectionService.validateParameters, 413 with a translatable message);
        1.5 has no such check, and the database's refusal reaches the client as a 500 when the row is written.
        Java counts UTF-16 code units."""
        for name, value in parameters.items():
            if len(value.encode("utf-16-le")) // 2 <= PARAMETER_VALUE_LIMIT:
                continue
            if self.is_16 and not stored:
                raise GuacError(413, "BAD_REQUEST",
                                f'The value provided for connection parameter "{name}" exceeds the maximum allowed '
                                "length.", key="CONNECTION_PARAMETERS.DATABASE_PARAMETER_VALUE_TOO_LONG",
                                variables={"MAX_SIZE": PARAMETER_VALUE_LIMIT, "PARAMETER_NAME": name})
            if not self.is_16 and stored:
                raise internal_error()

    def create_connection(self, caller: Caller, data: Any) -> tuple[str, dict[str, Any]]:
        body = require_object(data, creating=True)
        name, parent, protocol, parameters, attributes, echoed = self._connection_input(body)
        # 1.6 ConnectionService.beforeCreate validates the parameters before super.beforeCreate's permission check.
        self._check_parameter_lengths(parameters, stored=False)
        self._require(caller.has_system("CREATE_CONNECTION"))
        self._check_parents(caller, "connectionGroup", None, parent)
        self._validate_connection(caller.ds, name, parent, protocol, None)
        self._check_parameter_lengths(parameters, stored=True)
        identifier = caller.ds.next_id("connection")
        caller.ds.connections[identifier] = Connection(
            identifier, name, parent, protocol, parameters, attributes)
        caller.grant_creator("connection", identifier)
        return identifier, self._echo("connection", body, "identifier", identifier, echoed, activeConnections=0)

    def update_connection(self, caller: Caller, identifier: str, data: Any) -> None:
        connection = self.connection(caller, identifier)
        body = require_object(data, creating=False)
        if body.get("parameters") is None:
            # ConnectionObjectTranslator.applyExternalChanges: GuacamoleConfiguration.setParameters(null).
            raise internal_error()
        name, parent, protocol, parameters, attributes, _unused = self._connection_input(body)
        self._check_parameter_lengths(parameters, stored=False)  # before the UPDATE check, as on create
        self._require(caller.has("connection", identifier, "UPDATE"))
        self._check_parents(caller, "connectionGroup", connection.parent, parent)
        self._validate_connection(caller.ds, name, parent, protocol, identifier)
        self._check_parameter_lengths(parameters, stored=True)
        connection.name, connection.parent, connection.protocol = name, parent, protocol
        connection.parameters, connection.attributes = parameters, attributes

    def delete_connection(self, caller: Caller, identifier: str) -> None:
        connection = self.connection(caller, identifier)
        self._require(caller.has("connection", identifier, "DELETE"))
        self._check_parents(caller, "connectionGroup", connection.parent, None)
        caller.ds.delete_connection(identifier)

    def connection_parameters(self, caller: Caller, identifier: str) -> dict[str, str]:
        connection = self.connection(caller, identifier)
        # System ADMINISTER or UPDATE on the object, nothing else (ConnectionResource.getConnectionParameters,
        # SharingProfileResource.getParameters): ADMINISTER on the object alone does not do.
        if not caller.has("connection", identifier, "UPDATE"):
            raise permission_denied("Permission to read connection parameters denied.")
        return dict(connection.parameters)

    # --- connection groups ------------------------------------------------------------

    def _group_input(self, body: dict[str, Any]):
        name = as_string(body.get("name"), "name")
        parent = as_string(body.get("parentIdentifier"), "parentIdentifier") or ROOT
        group_type = as_enum(body.get("type"), "type", "org.apache.guacamole.net.auth.ConnectionGroup$Type",
                             GROUP_TYPES)
        attributes, echoed = filter_attributes(body.get("attributes"), self.views.group_fields)
        return name, parent, group_type, attributes, echoed

    @staticmethod
    def _validate_group(ds: DataSource, name: str | None, parent: str, group_type: str | None,
                        identifier: str | None, can_read: Callable[[str, str], bool] | None = None) -> None:
        """ConnectionGroupService.beforeCreate / beforeUpdate: a blank name, then a sibling of the same name
        (GuacamoleClientException, 400); on update the walk up the parents (501 on a cycle; a parent that is not
        there is retrieveObject's null dereferenced, a NullPointerException, 500). A type left out (null; a bad one
        never gets here, see parsing.as_enum) or a parent that does not exist on create fail in the database:
        type is NOT NULL, parent_id a foreign key (500)."""
        if name is None or not name.strip():
            raise bad_request("Connection group names must not be blank.")
        for other in ds.child_groups(parent):
            if other.name == name and other.identifier != identifier:
                raise bad_request(f'The connection group "{name}" already exists.')
        if identifier is not None:
            # The walk retrieves each parent as the caller sees it: one it cannot READ is null too.
            current = parent
            while current != ROOT:
                if current == identifier:
                    raise unsupported("A connection group may not contain itself.")
                if current not in ds.connection_groups or (can_read and not can_read("connectionGroup", current)):
                    raise internal_error()
                current = ds.connection_groups[current].parent
        Objects._check_group_exists(ds, parent)
        if group_type is None:
            raise internal_error()

    def create_connection_group(self, caller: Caller, data: Any) -> tuple[str, dict[str, Any]]:
        body = require_object(data, creating=True)
        name, parent, group_type, attributes, echoed = self._group_input(body)
        self._require(caller.has_system("CREATE_CONNECTION_GROUP"))
        self._check_parents(caller, "connectionGroup", None, parent)
        self._validate_group(caller.ds, name, parent, group_type, None)
        identifier = caller.ds.next_id("connection_group")
        caller.ds.connection_groups[identifier] = ConnectionGroup(
            identifier, name, parent, group_type, attributes)
        caller.grant_creator("connectionGroup", identifier)
        return identifier, self._echo("connectionGroup", body, "identifier", identifier, echoed, activeConnections=0)

    def update_connection_group(self, caller: Caller, identifier: str, data: Any) -> None:
        group = self.connection_group(caller, identifier)
        if group is None:
            raise permission_denied()
        body = require_object(data, creating=False)
        name, parent, group_type, attributes, _unused = self._group_input(body)
        self._require(caller.has("connectionGroup", identifier, "UPDATE"))
        self._check_parents(caller, "connectionGroup", group.parent, parent)
        self._validate_group(caller.ds, name, parent, group_type, identifier, caller.can_read)
        group.name, group.parent, group.type, group.attributes = name, parent, group_type, attributes

    def delete_connection_group(self, caller: Caller, identifier: str) -> None:
        group = self.connection_group(caller, identifier)
        if group is None:
            raise permission_denied()
        self._require(caller.has("connectionGroup", identifier, "DELETE"))
        self._check_parents(caller, "connectionGroup", group.parent, None)
        caller.ds.delete_connection_group(identifier)

    # --- sharing profiles -------------------------------------------------------------

    def _profile_input(self, body: dict[str, Any]):
        name = as_string(body.get("name"), "name")
        primary = as_string(body.get("primaryConnectionIdentifier"), "primaryConnectionIdentifier")
        parameters = clean_parameters(body.get("parameters"))
        attributes, echoed = filter_attributes(body.get("attributes"), self.views.sharing_fields)
        return name, primary, parameters, attributes, echoed

    @staticmethod
    def _validate_profile(ds: DataSource, name: str | None, primary: str | None,
                          identifier: str | None) -> None:
        """SharingProfileService.beforeCreate / beforeUpdate: a blank name, then a profile of the same name on the
        same primary connection (400). Nothing looks for the primary connection: guacamole_sharing_profile
        .primary_connection_id is NOT NULL and a foreign key, so a missing, unknown or non-numeric one is a
        database error (500)."""
        if name is None or not name.strip():
            raise bad_request("Sharing profile names must not be blank.")
        for other in ds.sharing_profiles.values():
            if (other.primary_connection == primary and other.name == name
                    and other.identifier != identifier):
                raise bad_request(f'The sharing profile "{name}" already exists.')
        if primary is None or primary not in ds.connections:
            raise internal_error()

    def create_sharing_profile(self, caller: Caller, data: Any) -> tuple[str, dict[str, Any]]:
        body = require_object(data, creating=True)
        name, primary, parameters, attributes, echoed = self._profile_input(body)
        self._require(caller.has_system("CREATE_SHARING_PROFILE"))
        self._check_parents(caller, "connection", None, primary)
        self._validate_profile(caller.ds, name, primary, None)
        identifier = caller.ds.next_id("sharing_profile")
        caller.ds.sharing_profiles[identifier] = SharingProfile(
            identifier, name, primary, parameters, attributes)
        caller.grant_creator("sharingProfile", identifier)
        return identifier, self._echo("sharingProfile", body, "identifier", identifier, echoed)

    def update_sharing_profile(self, caller: Caller, identifier: str, data: Any) -> None:
        profile = self.sharing_profile(caller, identifier)
        body = require_object(data, creating=False)
        name, primary, parameters, attributes, _unused = self._profile_input(body)
        self._require(caller.has("sharingProfile", identifier, "UPDATE"))
        self._check_parents(caller, "connection", profile.primary_connection, primary)
        self._validate_profile(caller.ds, name, primary, identifier)
        profile.name, profile.primary_connection = name, primary
        profile.parameters, profile.attributes = parameters, attributes

    def delete_sharing_profile(self, caller: Caller, identifier: str) -> None:
        profile = self.sharing_profile(caller, identifier)
        self._require(caller.has("sharingProfile", identifier, "DELETE"))
        self._check_parents(caller, "connection", profile.primary_connection, None)
        caller.ds.delete_sharing_profile(identifier)

    def sharing_profile_parameters(self, caller: Caller, identifier: str) -> dict[str, str]:
        profile = self.sharing_profile(caller, identifier)
        # System ADMINISTER or UPDATE on the object, nothing else (ConnectionResource.getConnectionParameters,
        # SharingProfileResource.getParameters): ADMINISTER on the object alone does not do.
        if not caller.has("sharingProfile", identifier, "UPDATE"):
            raise permission_denied("Permission to read sharing profile parameters denied.")
        return dict(profile.parameters)

    # --- users ----------------------------------------------------------------------------

    def _disabled_input(self, body: dict[str, Any], attributes: dict[str, str | None]) -> bool:
        if self.is_16:
            attributes.pop("disabled", None)
            return as_bool(body.get("disabled", False), "disabled")
        return attributes.pop("disabled", "") == "true"

    def _apply_user_input(self, user: User, body: dict[str, Any], *, restricted_ok: bool) -> None:
        """ModeledUser.setAttributes: every attribute is set only when the body names it (containsKey), so one
        left out is kept; the restricted ones only with ADMINISTER on the user (exposeRestrictedAttributes).
        On 1.6 `disabled` is top-level and applied for anybody who may UPDATE (UserObjectTranslator
        .applyExternalChanges calls setDisabled, ModeledUser.setDisabled has no check), false when left out
        (APIUser's boolean); on 1.5 it is the restricted attribute, kept when left out."""
        given, _unused = filter_attributes(body.get("attributes"), self.views.user_fields)
        restricted = self.views.restricted_user_fields
        if self.is_16:
            given.pop("disabled", None)
            user.disabled = as_bool(body.get("disabled", False), "disabled")
        elif restricted_ok and "disabled" in given:
            user.disabled = given.pop("disabled") == "true"
        given.pop("disabled", None)
        if not restricted_ok:
            given = {k: v for k, v in given.items() if k not in restricted}
        user.attributes = {**user.attributes, **given}
        password = as_string(body.get("password"), "password")
        if password is not None:
            user.password = password

    def create_user(self, caller: Caller, data: Any) -> tuple[str, dict[str, Any]]:
        body = require_object(data, creating=True)
        username = as_string(body.get("username"), "username")
        _unused, echoed = filter_attributes(body.get("attributes"), self.views.user_fields)
        self._require(caller.has_system("CREATE_USER"))
        if username is None or not username.strip():
            raise bad_request("The username must not be blank.")
        if username in caller.ds.users:
            raise bad_request(f'User "{username}" already exists.')
        user = User(username=username, password=None)
        self._apply_user_input(user, body, restricted_ok=True)
        user.permissions.grant("user", username, "READ")  # implicit READ on oneself
        caller.ds.users[username] = user
        caller.grant_creator("user", username)
        extra = {"disabled": user.disabled} if self.is_16 else {}
        return username, self._echo("user", body, "username", username, echoed, **extra)

    def update_user(self, caller: Caller, username: str, data: Any, *, resource: bool = True) -> None:
        """PUT users/{u} (resource=True): rest/user/UserResource.updateObject looks at the body's username first
        (a null body is a NullPointerException there, 500). On 1.5 a body naming the caller is 403 'Permission
        denied.'; on 1.6 only one that also carries a password is (with its own message), and a body naming the
        caller otherwise has its attributes filtered to the user preference attributes (UserObjectTranslator
        .filterExternalObject; the JDBC extension declares none) while `disabled` is applied. Which user is
        updated is the path's; the body's username renames nothing. A 1.6 directory PATCH replace calls neither
        UserResource nor filterExternalObject (resource=False)."""
        user = self.user(caller, username)
        if data is None and resource:
            raise internal_error()
        body = require_object(data, creating=False)
        body_username = as_string(body.get("username"), "username")
        preferences_only = False
        if resource and body_username == caller.username:
            if not self.is_16:
                raise permission_denied()
            if body.get("password") is not None:
                raise permission_denied("Permission denied. The password update endpoint must be used to change "
                                        "the current user's password.")
            preferences_only = True
        if resource and self.is_16 and body_username is None:
            # 1.6 UserObjectTranslator.filterExternalObject: object.getUsername().equals(...).
            raise internal_error()
        self._require(caller.has("user", username, "UPDATE"))
        if preferences_only:
            body = dict(body, attributes={})
        self._apply_user_input(user, body,
                               restricted_ok=caller.has("user", username, "ADMINISTER"))

    def delete_user(self, caller: Caller, username: str) -> None:
        self.user(caller, username)
        self._require(caller.has("user", username, "DELETE"))
        if username == caller.username:
            raise unsupported("Deleting your own user is not allowed.")
        caller.ds.delete_user(username)

    def change_password(self, caller: Caller, username: str, data: Any) -> None:
        """rest/user/UserResource.updatePassword: the user's own old password must authenticate (403 'Permission
        denied.'), whoever calls; then ModeledUser.setPassword and directory.update, whose UserService.beforeUpdate
        needs UPDATE on the user, on oneself too (403). A null body is getOldPassword() on null (500). Nothing
        refuses a blank new password (the blank check is only the expired-password reset's), and a null one is a
        random password (ModeledUser.setPassword)."""
        user = self.user(caller, username)
        if data is None:
            raise internal_error()
        body = require_object(data, creating=False)
        old_password = as_string(body.get("oldPassword"), "oldPassword")
        new_password = as_string(body.get("newPassword"), "newPassword")
        if user.password is None or old_password != user.password:
            raise permission_denied()
        self._require(caller.has("user", username, "UPDATE"))
        user.password = new_password if new_password is not None else secrets.token_hex(16)

    # --- user groups ----------------------------------------------------------------------

    def _apply_group_input(self, group: UserGroup, body: dict[str, Any], *, restricted_ok: bool = True) -> None:
        """ModeledUserGroup: on 1.6 `disabled` is top-level, applied for anybody who may UPDATE
        (UserGroupObjectTranslator.applyExternalChanges), false when left out; on 1.5 it is the restricted
        attribute, set only with ADMINISTER on the group, and false when left out (setRestrictedAttributes reads
        it without containsKey)."""
        attributes, _unused = filter_attributes(body.get("attributes"), self.views.user_group_fields)
        disabled = self._disabled_input(body, attributes)
        if self.is_16 or restricted_ok:
            group.disabled = disabled
        group.attributes = {**group.attributes, **attributes}

    def create_user_group(self, caller: Caller, data: Any) -> tuple[str, dict[str, Any]]:
        body = require_object(data, creating=True)
        identifier = as_string(body.get("identifier"), "identifier")
        _unused, echoed = filter_attributes(body.get("attributes"), self.views.user_group_fields)
        self._require(caller.has_system("CREATE_USER_GROUP"))
        if identifier is None or not identifier.strip():
            raise bad_request("The group name must not be blank.")
        if identifier in caller.ds.user_groups:
            raise bad_request(f'Group "{identifier}" already exists.')
        group = UserGroup(identifier=identifier)
        self._apply_group_input(group, body)
        caller.ds.user_groups[identifier] = group
        caller.grant_creator("userGroup", identifier)
        extra = {"disabled": group.disabled} if self.is_16 else {}
        return identifier, self._echo("userGroup", body, "identifier", identifier, echoed, **extra)

    def update_user_group(self, caller: Caller, identifier: str, data: Any) -> None:
        group = self.user_group(caller, identifier)
        body = require_object(data, creating=False)
        self._require(caller.has("userGroup", identifier, "UPDATE"))
        self._apply_group_input(group, body, restricted_ok=caller.has("userGroup", identifier, "ADMINISTER"))

    def delete_user_group(self, caller: Caller, identifier: str) -> None:
        self.user_group(caller, identifier)
        self._require(caller.has("userGroup", identifier, "DELETE"))
        caller.ds.delete_user_group(identifier)

    # --- permissions (JSON Patch) -------------------------------------------------------

    def _permission_target(self, path: str) -> tuple[str, str | None, tuple[str, ...]]:
        """(kind, object identifier, valid values) addressed by a permission patch path."""
        if path == SYSTEM_PERMISSION_PATH:
            return "system", None, self.system_permissions
        for prefix, kind in PERMISSION_PATH_PREFIXES:
            if path.startswith(prefix):
                return kind, path[len(prefix):], OBJECT_PERMISSIONS
        raise bad_request(f'Unsupported patch path: "{path}"')

    def _parse_permission_patch(self, patch: dict[str, Any]) -> tuple[str, str, str | None, str]:
        path = as_string(patch.get("path"), "path")
        if path is None:
            raise internal_error()  # the real server dereferences the null path
        value = string_patch_value(patch)
        kind, identifier, valid = self._permission_target(path)
        if value not in valid:
            # The real server looks the value up with Enum.valueOf(), which throws
            # an unchecked exception: an unknown value is a 500, not a 400.
            raise internal_error()
        op = patch.get("op")
        if op is None:
            raise internal_error()  # PermissionSetResource.updatePermissionSet switches on the null operation
        if op not in ("add", "remove"):
            raise bad_request(f'Unsupported patch operation: "{op}"')
        return op, kind, identifier, value

    def patch_permissions(self, caller: Caller, target_kind: str, target: str,
                          permissions: PermissionSet, data: Any) -> None:
        """Validate and authorise every operation first, then apply them all."""
        parsed = [self._parse_permission_patch(p) for p in require_patches(data)]
        for op, kind, identifier, _unused1 in parsed:
            if kind == "system":
                self._require(caller.is_admin)
                if op == "remove" and target == caller.username:
                    # jdbc/permission/SystemPermissionService.deletePermissions compares identifiers only: any
                    # system permission removed from an entity named like the caller (a user group too).
                    raise unsupported("Removing your own administrative permissions is not allowed.")
            elif not caller.is_admin:
                self._require(caller.permissions.has(target_kind, target, "UPDATE")
                              and caller.permissions.has(kind, identifier, "ADMINISTER"))
        for op, kind, identifier, _unused in parsed:
            if op == "add" and kind in INSERTED_BY_ID and not object_exists(caller.ds, kind, identifier):
                # The insert of Connection/ConnectionGroup/SharingProfilePermissionMapper.xml names the object by
                # its id, which a foreign key (or the ::integer cast) refuses: a database error, the whole
                # request rolled back.
                raise internal_error()
        for op, kind, identifier, value in parsed:
            if kind == "system":
                (permissions.system.add if op == "add" else permissions.system.discard)(value)
            elif object_exists(caller.ds, kind, identifier):
                # User and user group permissions are inserted through a JOIN on the names (UserPermissionMapper
                # .xml, UserGroupPermissionMapper.xml): one on a missing user or group vanishes.
                if op == "add":
                    permissions.grant(kind, identifier, value)
                else:
                    permissions.revoke(kind, identifier, value)
        caller.refresh()

    # --- memberships (JSON Patch with path "/") ------------------------------------------

    def patch_relation(self, caller: Caller, owner_kind: str, owner: str, related_kind: str,
                       data: Any, link: Callable[[str, bool], None]) -> None:
        """``link(name, add)`` adds or removes one related object."""
        changes: list[tuple[str, bool]] = []
        for patch in require_patches(data):
            path = as_string(patch.get("path"), "path")
            if path != "/":
                raise bad_request(f'Unsupported patch path: "{path}"')
            value = string_patch_value(patch)
            if patch.get("op") is None:
                raise internal_error()  # RelatedObjectSetResource.updateRelatedObjectSet: switch on null
            if patch["op"] not in ("add", "remove"):
                raise bad_request(f'Unsupported patch operation: "{patch["op"]}"')
            changes.append((value, patch["op"] == "add"))
        if not caller.is_admin:
            self._require(caller.permissions.has(owner_kind, owner, "UPDATE"))
            for name, _unused in changes:
                self._require(caller.permissions.has(related_kind, name, "UPDATE"))
        for name, add in changes:
            if name is not None and object_exists(caller.ds, related_kind, name):
                link(name, add)
        caller.refresh()

    # --- directory PATCH ---------------------------------------------------------------

    def directory_operations(self, directory: str, *, via_patch: bool = False):
        """(kind, create, update, delete) for a directory name; via_patch: for the 1.6 atomic directory PATCH,
        which updates a user without UserResource."""
        return {
            "connections": ("connection", self.create_connection, self.update_connection,
                            self.delete_connection),
            "connectionGroups": ("connectionGroup", self.create_connection_group,
                                 self.update_connection_group, self.delete_connection_group),
            "sharingProfiles": ("sharingProfile", self.create_sharing_profile,
                                self.update_sharing_profile, self.delete_sharing_profile),
            "users": ("user", self.create_user,
                      lambda caller, identifier, data: self.update_user(caller, identifier, data,
                                                                        resource=not via_patch),
                      self.delete_user),
            "userGroups": ("userGroup", self.create_user_group, self.update_user_group,
                           self.delete_user_group),
        }[directory]

    def _remove(self, caller: Caller, kind: str, delete, identifier: str) -> None:
        # Directory.remove() skips the visibility lookup: a missing object is a
        # no-op for an administrator and "Permission denied." for anyone else.
        if object_exists(caller.ds, kind, identifier):
            delete(caller, identifier)
        elif not caller.is_admin:
            raise permission_denied()

    def remove_only_patch(self, caller: Caller, directory: str, data: Any) -> None:
        """The 1.5 directory PATCH: only "remove", applied one by one."""
        kind, _unused0, _unused1, delete = self.directory_operations(directory)
        for patch in require_patches(data):
            if patch.get("op") != "remove":
                raise unsupported('Only the "remove" operation is supported.')
            path = patch_path(patch)
            self._remove(caller, kind, delete, path[1:])

    def atomic_patch(self, caller: Caller, directory: str, data: Any) -> dict[str, Any]:
        """The 1.6 directory PATCH: add / replace / remove whole objects atomically."""
        if not caller.ds.supports_atomic:
            raise unsupported("The extension providing this directory does not support "
                              "Atomic Operations. The patch cannot be executed.")
        kind, create, update, delete = self.directory_operations(directory, via_patch=True)
        patches = require_patches(data)
        snapshot = caller.ds.clone()
        committed = False
        try:
            outcomes, failed = self._apply_directory_patches(caller, kind, create, update,
                                                             delete, patches)
            if failed:
                for outcome in outcomes:
                    if "error" not in outcome and outcome["op"] in ("add", "remove"):
                        outcome["identifier"] = None  # rolled back
                raise GuacError(400, "BAD_REQUEST", "The provided patches failed to apply.",
                                patches=outcomes)
            committed = True
            return {"patches": outcomes}
        finally:
            if not committed:
                caller.ds.__dict__.update(snapshot.__dict__)
                caller.refresh()

    def _apply_directory_patches(self, caller, kind, create, update, delete, patches):
        outcomes: list[dict[str, Any]] = []
        failed = False
        for patch in patches:
            op = patch.get("op")
            path = patch_path(patch)
            if op not in ("add", "replace", "remove"):
                raise unsupported(f'Unsupported patch operation "{op or "null"}". '
                                  "Only add, replace, and remove are supported.")
            identifier = None if op == "add" else path[1:]
            try:
                if op == "add":
                    identifier, _unused = create(caller, patch.get("value"))
                elif op == "replace":
                    update(caller, identifier, patch.get("value"))
                else:
                    self._remove(caller, kind, delete, identifier)
                outcomes.append({"op": op, "identifier": identifier, "path": path})
            except JacksonError:
                raise  # the whole body is read before any patch is applied
            except GuacError as error:
                if error.unchecked:
                    raise  # DirectoryResource.createPatchFailure has no outcome for it: rethrown, 500
                failed = True
                message = error.body()["translatableMessage"]
                outcomes.append({"op": op, "identifier": identifier, "path": path,
                                 "error": message})
        return outcomes, failed


def not_a_data_source(name: str) -> GuacError:
    """GuacamoleSession.getUserContext: a data source the session has no user context of."""
    return not_found(f'Session not associated with authentication provider "{name}".')

"""Conformance of the Guacamole emulator with the web app it stands in for: apache/guacamole-client at the tags
1.6.0 and 1.5.5. Each test names the source file and function the behaviour was read in (paths shortened:
``rest/`` is guacamole/src/main/java/org/apache/guacamole/rest/, ``jdbc/`` is
extensions/guacamole-auth-jdbc/modules/guacamole-auth-jdbc-base/src/main/java/org/apache/guacamole/auth/jdbc/,
``protocols/`` is guacamole-ext/src/main/resources/org/apache/guacamole/protocols/).

Where the real server fails with an exception that nothing maps to an API error (a NullPointerException, a
database error), it answers 500 INTERNAL_ERROR, and so does the emulator.
"""
from __future__ import annotations

import time

import pytest

from tests.emulators.guacamole import GuacamoleEmulator
from tests.emulators.test_guacamole_emulator import (
    Api,
    assert_error,
    assert_jackson_error,
    call,
    login,
    ssh_connection,
)

VERSIONS = ("1.5.5", "1.6.0")


@pytest.fixture(params=VERSIONS)
def server(request):
    emulator = GuacamoleEmulator(version=request.param)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def admin(server) -> Api:
    return Api(server.url, login(server.url))


def is_16(server) -> bool:
    return server.version.startswith("1.6")


def user_api(server, username: str, password: str) -> Api:
    return Api(server.url, login(server.url, username, password))


def new_connection(admin: Api, **parameters) -> str:
    reply = admin("POST", "/connections", ssh_connection(**parameters))
    assert reply.status == 200, reply
    return reply.json["identifier"]


# --- protocol schemas ---------------------------------------------------------------------------------------

def test_each_release_serves_its_own_protocol_parameters(server, admin):
    """protocols/ssh.json, rdp.json, vnc.json of each tag, served by rest/schema/SchemaResource.getProtocols:
    1.6.0 added timeout and public-key to SSH, cert-tofu, cert-fingerprints and disable-gfx to RDP."""
    protocols = admin("GET", "/schema/protocols").json
    fields = {name: {field["name"] for form in protocol["connectionForms"] for field in form["fields"]}
              for name, protocol in protocols.items()}
    assert set(protocols) == {"kubernetes", "rdp", "ssh", "telnet", "vnc"}
    new_in_16 = {"ssh": {"timeout", "public-key"}, "rdp": {"timeout", "cert-tofu", "cert-fingerprints",
                                                           "disable-gfx"}}
    for protocol, names in new_in_16.items():
        assert (names <= fields[protocol]) is is_16(server), (protocol, names - fields[protocol])
        assert not is_16(server) or names <= fields[protocol]
    assert {"hostname", "port", "username", "password", "private-key"} <= fields["ssh"]


def test_new_keyboard_layouts_of_16(server, admin):
    """protocols/rdp.json, field server-layout: 1.6.0 lists cs-cz-qwertz, fr-ca-qwerty, pt-pt-qwerty and
    ro-ro-qwerty."""
    rdp = admin("GET", "/schema/protocols").json["rdp"]
    layouts = next(field["options"] for form in rdp["connectionForms"] for field in form["fields"]
                   if field["name"] == "server-layout")
    assert ({"cs-cz-qwertz", "fr-ca-qwerty", "pt-pt-qwerty", "ro-ro-qwerty"} <= set(layouts)) is is_16(server)


def test_sharing_profiles_have_their_own_forms(admin):
    """protocols/*.json sharingProfileForms: read-only for the graphical and terminal protocols."""
    protocols = admin("GET", "/schema/protocols").json
    for name in ("rdp", "ssh", "vnc"):
        names = {field["name"] for form in protocols[name]["sharingProfileForms"] for field in form["fields"]}
        assert "read-only" in names


# --- connection parameters ----------------------------------------------------------------------------------

def test_a_parameter_value_over_4096_characters(server, admin):
    """jdbc/connection/ConnectionService.validateParameters (1.6.0, from beforeCreate and beforeUpdate): a value
    longer than CONNECTION_PARAMETER_VALUE_LIMIT (4096) is refused with a TranslatableGuacamoleClientOverrun-
    Exception, HTTP 413. 1.5.5 has no such check: the database refuses the VARCHAR(4096) value, a 500."""
    key = "K" * 4097
    reply = admin("POST", "/connections", ssh_connection(**{"private-key": key}))
    if is_16(server):
        assert_error(reply, 413, "BAD_REQUEST",
                     'The value provided for connection parameter "private-key" exceeds the maximum allowed length.')
        assert reply.json["translatableMessage"] == {
            "key": "CONNECTION_PARAMETERS.DATABASE_PARAMETER_VALUE_TOO_LONG",
            "variables": {"MAX_SIZE": 4096, "PARAMETER_NAME": "private-key"}}
    else:
        assert_error(reply, 500, "INTERNAL_ERROR")
    assert admin("GET", "/connections").json == {}
    identifier = new_connection(admin, **{"private-key": "K" * 4096})
    assert len(admin("GET", f"/connections/{identifier}/parameters").json["private-key"]) == 4096


def test_the_limit_counts_utf16_code_units(server, admin):
    """ConnectionService.validateParameters compares String.length(), which counts UTF-16 code units: a
    character beyond U+FFFF is two."""
    identifier = new_connection(admin)
    body = ssh_connection(**{"password": "\U0001F511" * 2049})
    reply = admin("PUT", f"/connections/{identifier}", body)
    assert reply.status == (413 if is_16(server) else 500), reply
    assert admin("PUT", f"/connections/{identifier}", ssh_connection(password="\U0001F511" * 2048)).status == 204


def test_any_parameter_name_is_stored_and_empty_values_are_not(admin):
    """jdbc/connection/ConnectionService.getParameterModels: every parameter of the configuration becomes a row,
    whatever its name (no schema check), except null and empty values."""
    identifier = new_connection(admin, **{"proxgate-guest": "pve/101", "port": ""})
    stored = admin("GET", f"/connections/{identifier}/parameters").json
    assert stored["proxgate-guest"] == "pve/101" and "port" not in stored


def test_attributes_outside_the_schema_are_dropped(admin):
    """rest/connection/ConnectionObjectTranslator.filterExternalObject -> rest/directory/DirectoryObjectTranslator
    .filterAttributes: only the attributes the connection attribute forms list reach the extension."""
    body = ssh_connection()
    body["attributes"] = {"max-connections": "3", "proxgate-guest": "pve/101"}
    identifier = admin("POST", "/connections", body).json["identifier"]
    attributes = admin("GET", f"/connections/{identifier}").json["attributes"]
    assert attributes["max-connections"] == "3" and "proxgate-guest" not in attributes


def test_a_connection_attribute_left_out_of_a_put_is_cleared(admin):
    """jdbc/connection/ModeledConnection.setAttributes reads each attribute with Map.get, without containsKey:
    one that a PUT leaves out becomes null."""
    identifier = new_connection(admin)
    body = ssh_connection()
    body["attributes"] = {"guacd-hostname": "guacd.example"}
    assert admin("PUT", f"/connections/{identifier}", body).status == 204
    attributes = admin("GET", f"/connections/{identifier}").json["attributes"]
    assert attributes["guacd-hostname"] == "guacd.example" and attributes["max-connections"] is None


def test_a_put_without_parameters_or_attributes_is_500(admin):
    """rest/connection/ConnectionObjectTranslator.applyExternalChanges passes null parameters to
    GuacamoleConfiguration.setParameters, and DirectoryObjectTranslator.filterAttributes reads a null map: both
    end in a NullPointerException, 500. A POST without parameters goes through APIConnectionWrapper
    .getConfiguration, which checks for null."""
    identifier = new_connection(admin)
    without_parameters = ssh_connection()
    del without_parameters["parameters"]
    assert_error(admin("PUT", f"/connections/{identifier}", without_parameters), 500, "INTERNAL_ERROR")
    without_attributes = ssh_connection()
    del without_attributes["attributes"]
    assert_error(admin("PUT", f"/connections/{identifier}", without_attributes), 500, "INTERNAL_ERROR")
    created = ssh_connection("bare")
    del created["parameters"]
    assert admin("POST", "/connections", created).status == 200
    assert admin("GET", f"/connections/{identifier}/parameters").json["hostname"] == "web.example"


def test_connection_names_are_unique_in_their_group(admin):
    """jdbc/connection/ConnectionService.beforeCreate and beforeUpdate: selectOneByName in the parent; another
    connection of that name is 'The connection "<name>" already exists.' (a GuacamoleClientException, 400)."""
    new_connection(admin)
    other = admin("POST", "/connections", ssh_connection("other")).json["identifier"]
    assert_error(admin("PUT", f"/connections/{other}", ssh_connection("web")), 400, "BAD_REQUEST",
                 'The connection "web" already exists.')
    assert admin("PUT", f"/connections/{other}", ssh_connection("other")).status == 204


def test_blank_connection_names_are_refused(admin):
    """jdbc/connection/ConnectionService.beforeCreate: 'Connection names must not be blank.'"""
    assert_error(admin("POST", "/connections", ssh_connection("  ")), 400, "BAD_REQUEST",
                 "Connection names must not be blank.")


# --- users and user groups ----------------------------------------------------------------------------------

def make_user(admin: Api, server, username: str, disabled: bool = False, **attributes) -> None:
    body = {"username": username, "password": "Pa55-word", "attributes": dict(attributes)}
    if is_16(server):
        body["disabled"] = disabled
    elif disabled:
        body["attributes"]["disabled"] = "true"
    assert admin("POST", "/users", body).status == 200


def test_user_attributes_left_out_of_a_put_are_kept(server, admin):
    """jdbc/user/ModeledUser.setUnrestrictedAttributes and setRestrictedAttributes set an attribute only when the
    map contains its key (containsKey); one left out of a PUT keeps its value, a null clears it."""
    make_user(admin, server, "ivan", **{"guac-full-name": "Ivan", "guac-organization": "Ops",
                                        "valid-until": "2030-01-01"})
    body = {"username": "ivan", "attributes": {"guac-organization": None}}
    if is_16(server):
        body["disabled"] = False
    assert admin("PUT", "/users/ivan", body).status == 204
    attributes = admin("GET", "/users/ivan").json["attributes"]
    assert attributes["guac-full-name"] == "Ivan" and attributes["valid-until"] == "2030-01-01"
    assert attributes["guac-organization"] is None


def test_disabled_left_out_of_a_user_put(server, admin):
    """1.6.0: rest/user/UserObjectTranslator.applyExternalChanges calls setDisabled(object.isDisabled()), and
    APIUser.disabled is a boolean, so a PUT that leaves it out enables the account. 1.5.5: disabled is the
    restricted attribute, set only when present (ModeledUser.setRestrictedAttributes, containsKey)."""
    make_user(admin, server, "ivan", disabled=True)
    assert admin("PUT", "/users/ivan", {"username": "ivan", "attributes": {}}).status == 204
    user = admin("GET", "/users/ivan").json
    disabled = user["disabled"] if is_16(server) else user["attributes"]["disabled"] == "true"
    assert disabled is (not is_16(server))


def test_disabled_needs_administer_only_on_15(server, admin):
    """1.6.0: jdbc/user/ModeledUser.setDisabled sets the model whoever the caller is (UPDATE suffices, checked in
    ModeledDirectoryObjectService.updateObject). 1.5.5: disabled is a restricted attribute, applied only when
    UserService.retrieveObject exposed them (exposeRestrictedAttributes: ADMINISTER on the user)."""
    make_user(admin, server, "ivan")
    make_user(admin, server, "helpdesk")
    grant = [{"op": "add", "path": "/userPermissions/ivan", "value": value} for value in ("READ", "UPDATE")]
    assert admin("PATCH", "/users/helpdesk/permissions", grant).status == 204
    helpdesk = user_api(server, "helpdesk", "Pa55-word")
    body = {"username": "ivan", "attributes": {}}
    if is_16(server):
        body["disabled"] = True
    else:
        body["attributes"]["disabled"] = "true"
    assert helpdesk("PUT", "/users/ivan", body).status == 204
    user = admin("GET", "/users/ivan").json
    disabled = user["disabled"] if is_16(server) else user["attributes"]["disabled"] == "true"
    assert disabled is is_16(server)


def test_restricted_attributes_are_hidden_without_administer(server, admin):
    """jdbc/user/ModeledUser.getAttributes: the restricted attributes (expired, valid-from...) are put in only when
    exposed, that is with ADMINISTER on the user (UserService.retrieveObject)."""
    make_user(admin, server, "ivan", **{"valid-until": "2030-01-01"})
    make_user(admin, server, "helpdesk")
    grant = [{"op": "add", "path": "/userPermissions/ivan", "value": "READ"}]
    assert admin("PATCH", "/users/helpdesk/permissions", grant).status == 204
    seen = user_api(server, "helpdesk", "Pa55-word")("GET", "/users/ivan").json["attributes"]
    assert "valid-until" not in seen and "expired" not in seen
    assert admin("GET", "/users/ivan").json["attributes"]["valid-until"] == "2030-01-01"


def test_a_user_group_put_without_disabled_enables_it(server, admin):
    """1.6.0: rest/usergroup/UserGroupObjectTranslator.applyExternalChanges, setDisabled(object.isDisabled()).
    1.5.5: jdbc/usergroup/ModeledUserGroup.setRestrictedAttributes reads disabled without containsKey. Both
    enable a group whose PUT leaves disabled out."""
    body = {"identifier": "ops", "attributes": {}}
    if is_16(server):
        body["disabled"] = True
    else:
        body["attributes"] = {"disabled": "true"}
    assert admin("POST", "/userGroups", body).status == 200
    assert admin("PUT", "/userGroups/ops", {"identifier": "ops", "attributes": {}}).status == 204
    group = admin("GET", "/userGroups/ops").json
    assert (group["disabled"] if is_16(server) else group["attributes"].get("disabled") == "true") is False


def test_a_user_put_without_username(server, admin):
    """1.6.0: rest/user/UserObjectTranslator.filterExternalObject compares object.getUsername() with the caller:
    a body without username is a NullPointerException, 500. 1.5.5 does not look at it there."""
    make_user(admin, server, "ivan")
    reply = admin("PUT", "/users/ivan", {"attributes": {}})
    if is_16(server):
        assert_error(reply, 500, "INTERNAL_ERROR")
    else:
        assert reply.status == 204, reply


# --- active connections -------------------------------------------------------------------------------------

def test_ending_a_session_by_patch(server, admin):
    """rest/directory/DirectoryResource.patchObjects: 1.5.5 returns void (204); 1.6.0 applies the patch atomically
    (the JDBC ActiveConnectionDirectory is a JDBCDirectory) and answers an APIPatchResponse, one outcome per
    patch (200)."""
    server.add_user("bob", "pw")
    connection = new_connection(admin)
    session = server.simulate_session("bob", connection)
    reply = admin("PATCH", "/activeConnections", [{"op": "remove", "path": f"/{session}"}])
    if is_16(server):
        assert reply.status == 200
        assert reply.json == {"patches": [{"op": "remove", "identifier": session, "path": f"/{session}"}]}
    else:
        assert reply.status == 204
    assert admin("GET", "/activeConnections").json == {}


def test_ending_a_session_by_delete(server, admin):
    """rest/activeconnection/ActiveConnectionResource extends DirectoryObjectResource, whose deleteObject calls
    directory.remove: DELETE activeConnections/<id> ends the session, 204."""
    server.add_user("bob", "pw")
    session = server.simulate_session("bob", new_connection(admin))
    assert admin("DELETE", f"/activeConnections/{session}").status == 204
    assert admin("GET", "/activeConnections").json == {}


def test_ending_a_session_that_is_gone_is_no_error(server, admin):
    """jdbc/activeconnection/ActiveConnectionService.deleteObject returns when retrieveObject finds nothing."""
    reply = admin("PATCH", "/activeConnections", [{"op": "remove", "path": "/no-such-session"}])
    assert reply.status == (200 if is_16(server) else 204)


# --- permissions --------------------------------------------------------------------------------------------

def test_permission_paths_carry_identifiers_verbatim(server, admin):
    """rest/permission/PermissionSetResource.patchPermissions takes everything after the path prefix as the
    identifier (substring), with no JSON Pointer unescaping: '~1' is not '/'."""
    make_user(admin, server, "a/b~1c")
    make_user(admin, server, "alice")
    grant = [{"op": "add", "path": "/userPermissions/a/b~1c", "value": "READ"}]
    assert admin("PATCH", "/users/alice/permissions", grant).status == 204
    permissions = admin("GET", "/users/alice/permissions").json["userPermissions"]
    assert "READ" in permissions["a/b~1c"]


def test_the_tree_permission_filter_reads_effective_permissions(server, admin):
    """rest/connectiongroup/ConnectionGroupTree (constructor): the ?permission= filter on connections and sharing
    profiles uses userContext.self().getEffectivePermissions(), so a permission held through a user group
    counts."""
    make_user(admin, server, "alice")
    group = {"identifier": "ops", "attributes": {}}
    assert admin("POST", "/userGroups", group).status == 200
    assert admin("PATCH", "/userGroups/ops/memberUsers", [{"op": "add", "path": "/", "value": "alice"}]).status == 204
    through_group = new_connection(admin)
    own = admin("POST", "/connections", ssh_connection("own")).json["identifier"]
    for subject, identifier in (("userGroups/ops", through_group), ("users/alice", own)):
        grant = [{"op": "add", "path": f"/connectionPermissions/{identifier}", "value": value}
                 for value in ("READ", "UPDATE")]
        assert admin("PATCH", f"/{subject}/permissions", grant).status == 204
    alice = user_api(server, "alice", "Pa55-word")
    tree = alice("GET", "/connectionGroups/ROOT/tree?permission=UPDATE").json
    assert sorted(c["identifier"] for c in tree["childConnections"]) == sorted([through_group, own])


def test_a_grant_on_an_object_that_does_not_exist(server, admin):
    """jdbc/permission/ModeledObjectPermissionService.createPermissions: a privileged caller skips
    canAlterPermissions, and the insert of ConnectionPermissionMapper.xml fails on the missing connection (a
    database error, 500); anybody else lacks ADMINISTER on it (canAlterPermissions), 403."""
    make_user(admin, server, "alice")
    grant = [{"op": "add", "path": "/connectionPermissions/999", "value": "READ"}]
    assert_error(admin("PATCH", "/users/alice/permissions", grant), 500, "INTERNAL_ERROR")
    make_user(admin, server, "helpdesk")
    allow = [{"op": "add", "path": "/userPermissions/alice", "value": value} for value in ("READ", "UPDATE")]
    assert admin("PATCH", "/users/helpdesk/permissions", allow).status == 204
    helpdesk = user_api(server, "helpdesk", "Pa55-word")
    assert_error(helpdesk("PATCH", "/users/alice/permissions", grant), 403, "PERMISSION_DENIED")


def test_a_connection_without_protocol_fails_in_the_database(admin):
    """jdbc/connection/ConnectionService.beforeCreate checks the name, not the protocol; the protocol column is
    NOT NULL (schema/001-create-schema.sql, guacamole_connection.protocol), so a connection without one fails
    when the row is written, 500. An empty protocol is a value: it is stored."""
    body = ssh_connection("no-protocol")
    del body["protocol"]
    assert_error(admin("POST", "/connections", body), 500, "INTERNAL_ERROR")
    assert admin("POST", "/connections", dict(ssh_connection("empty"), protocol="")).status == 200


# --- what each service refuses, as it says it -----------------------------------------------------------------

def group_body(name, parent="ROOT"):
    return {"name": name, "parentIdentifier": parent, "type": "ORGANIZATIONAL", "attributes": {}}


def test_connection_group_names(admin):
    """jdbc/connectiongroup/ConnectionGroupService.beforeCreate: 'Connection group names must not be blank.' and
    'The connection group "<name>" already exists.' in the same parent (400)."""
    assert_error(admin("POST", "/connectionGroups", group_body(" ")), 400, "BAD_REQUEST",
                 "Connection group names must not be blank.")
    assert admin("POST", "/connectionGroups", group_body("Lab")).status == 200
    assert_error(admin("POST", "/connectionGroups", group_body("Lab")), 400, "BAD_REQUEST",
                 'The connection group "Lab" already exists.')


def test_a_connection_group_may_not_contain_itself(admin):
    """jdbc/connectiongroup/ConnectionGroupService.beforeUpdate: moving a group below itself or its own children is
    a GuacamoleUnsupportedException, 501."""
    outer = admin("POST", "/connectionGroups", group_body("outer")).json["identifier"]
    inner = admin("POST", "/connectionGroups", group_body("inner", outer)).json["identifier"]
    reply = admin("PUT", f"/connectionGroups/{outer}", group_body("outer", inner))
    assert_error(reply, 501, "INTERNAL_ERROR", "A connection group may not contain itself.")


def test_sharing_profile_names(admin):
    """jdbc/sharingprofile/SharingProfileService.beforeCreate: 'Sharing profile names must not be blank.' and
    'The sharing profile "<name>" already exists.' for the same primary connection."""
    connection = new_connection(admin)
    body = {"name": "", "primaryConnectionIdentifier": connection, "parameters": {}, "attributes": {}}
    assert_error(admin("POST", "/sharingProfiles", body), 400, "BAD_REQUEST",
                 "Sharing profile names must not be blank.")
    assert admin("POST", "/sharingProfiles", dict(body, name="watch")).status == 200
    assert_error(admin("POST", "/sharingProfiles", dict(body, name="watch")), 400, "BAD_REQUEST",
                 'The sharing profile "watch" already exists.')


def test_user_names(server, admin):
    """jdbc/user/UserService.beforeCreate: 'The username must not be blank.' and 'User "<name>" already exists.'"""
    assert_error(admin("POST", "/users", {"username": " ", "attributes": {}}), 400, "BAD_REQUEST",
                 "The username must not be blank.")
    make_user(admin, server, "ivan")
    assert_error(admin("POST", "/users", {"username": "ivan", "attributes": {}}), 400, "BAD_REQUEST",
                 'User "ivan" already exists.')


def test_user_group_names(admin):
    """jdbc/usergroup/UserGroupService.beforeCreate: 'The group name must not be blank.' and
    'Group "<name>" already exists.'"""
    assert_error(admin("POST", "/userGroups", {"identifier": "", "attributes": {}}), 400, "BAD_REQUEST",
                 "The group name must not be blank.")
    assert admin("POST", "/userGroups", {"identifier": "ops", "attributes": {}}).status == 200
    assert_error(admin("POST", "/userGroups", {"identifier": "ops", "attributes": {}}), 400, "BAD_REQUEST",
                 'Group "ops" already exists.')


def test_deleting_your_own_user(admin):
    """jdbc/user/UserService.deleteObject: 'Deleting your own user is not allowed.', a GuacamoleUnsupported-
    Exception (501)."""
    assert_error(admin("DELETE", "/users/guacadmin"), 501, "INTERNAL_ERROR", "Deleting your own user is not allowed.")


def test_no_data_is_a_client_error(admin):
    """rest/directory/DirectoryResource.createObject and DirectoryObjectResource.updateObject: a request without a
    body is 'Data must be submitted when creating objects.' / '... updating objects.' (400)."""
    for method, path, verb in (("POST", "/connections", "creating"), ("PUT", "/connections/1", "updating")):
        if method == "PUT":
            new_connection(admin)
        reply = call(admin.base, method, f"/api/session/data/{admin.ds}{path}", token=admin.token,
                     headers={"Content-Type": "application/json"}, body=None)
        assert_error(reply, 400, "BAD_REQUEST", f"Data must be submitted when {verb} objects.")


def test_parameters_need_update_or_administer(server, admin):
    """rest/connection/ConnectionResource.getConnectionParameters: without system ADMINISTER or UPDATE on the
    connection (ADMINISTER on the connection alone does not do), 'Permission to read connection parameters
    denied.' (403); the same for sharing profiles (rest/sharingprofile/SharingProfileResource.getParameters)."""
    connection = new_connection(admin)
    profile = admin("POST", "/sharingProfiles", {"name": "watch", "primaryConnectionIdentifier": connection,
                                                 "parameters": {}, "attributes": {}}).json["identifier"]
    make_user(admin, server, "reader")
    grant = [{"op": "add", "path": f"/connectionPermissions/{connection}", "value": value}
             for value in ("READ", "ADMINISTER")]
    grant += [{"op": "add", "path": f"/sharingProfilePermissions/{profile}", "value": value}
              for value in ("READ", "ADMINISTER")]
    assert admin("PATCH", "/users/reader/permissions", grant).status == 204
    reader = user_api(server, "reader", "Pa55-word")
    assert reader("GET", f"/connections/{connection}").status == 200
    assert_error(reader("GET", f"/connections/{connection}/parameters"), 403, "PERMISSION_DENIED",
                 "Permission to read connection parameters denied.")
    assert_error(reader("GET", f"/sharingProfiles/{profile}/parameters"), 403, "PERMISSION_DENIED",
                 "Permission to read sharing profile parameters denied.")


def test_a_token_that_is_not_the_callers(server, admin):
    """rest/auth/TokenRESTService.invalidateToken: a token that names no session is 'No such token.' (404); the
    caller's own is deleted (204) and then refused."""
    assert_error(call(server.url, "DELETE", "/api/tokens/no-such-token", token=admin.token), 404, "NOT_FOUND",
                 "No such token.")
    assert call(server.url, "DELETE", f"/api/tokens/{admin.token}", token=admin.token).status == 204
    assert admin("GET", "/connections").status == 403


# --- what tells 1.5 from 1.6 ----------------------------------------------------------------------------------

def test_disabled_is_a_top_level_field_of_users_and_groups_only_on_16(server, admin):
    """rest/user/APIUser and rest/usergroup/APIUserGroup have a `disabled` field in 1.6.0 and none in 1.5.5 (where
    it is the attribute 'disabled'): the collection tells the versions apart by it."""
    make_user(admin, server, "ivan")
    assert admin("POST", "/userGroups", {"identifier": "ops", "attributes": {}}).status == 200
    user, group = admin("GET", "/users/ivan").json, admin("GET", "/userGroups/ops").json
    assert ("disabled" in user) is is_16(server) and ("disabled" in group) is is_16(server)
    assert ("disabled" in user["attributes"]) is not is_16(server)


def test_audit_is_a_system_permission_of_16_only(server, admin):
    """guacamole-ext net/auth/permission/SystemPermission.Type: AUDIT exists from 1.6.0; granting it on 1.5.5
    fails in the enum lookup (500)."""
    make_user(admin, server, "auditor")
    reply = admin("PATCH", "/users/auditor/permissions",
                  [{"op": "add", "path": "/systemPermissions", "value": "AUDIT"}])
    if is_16(server):
        assert reply.status == 204
        assert "AUDIT" in admin("GET", "/users/auditor/permissions").json["systemPermissions"]
    else:
        assert_error(reply, 500, "INTERNAL_ERROR")


def test_head_session_exists_on_16_only(server, admin):
    """rest/session/SessionResource: 1.6.0 adds a @HEAD handler that answers whether the token is valid; 1.5.5 has
    only GET and DELETE there."""
    reply = call(server.url, "HEAD", "/api/session", token=admin.token)
    assert (reply.status == 204) is is_16(server), reply  # checkValidity returns void


def test_directory_patch_on_15_only_removes(server, admin):
    """rest/directory/DirectoryResource.patchObjects of 1.5.5: only 'remove' ('Only the "remove" operation is
    supported.', 501), which deletes; 1.6.0 also adds and replaces, atomically, and answers the outcomes."""
    identifier = new_connection(admin)
    added = admin("PATCH", "/connections", [{"op": "add", "path": "/", "value": ssh_connection("other")}])
    if is_16(server):
        assert added.status == 200 and added.json["patches"][0]["op"] == "add"
    else:
        assert_error(added, 501, "INTERNAL_ERROR", 'Only the "remove" operation is supported.')
    removed = admin("PATCH", "/connections", [{"op": "remove", "path": f"/{identifier}"}])
    assert removed.status == (200 if is_16(server) else 204)
    assert identifier not in admin("GET", "/connections").json


def test_patch_paths_must_start_with_a_slash(admin):
    """rest/directory/DirectoryResource.patchObjects: 'Patch paths must start with "/".' (400)."""
    new_connection(admin)
    assert_error(admin("PATCH", "/connections", [{"op": "remove", "path": "1"}]), 400, "BAD_REQUEST",
                 'Patch paths must start with "/".')


def test_listing_filtered_by_permission(server, admin):
    """rest/directory/DirectoryResource.getObjects with ?permission=: only the objects the caller holds one of
    those permissions on (its effective permissions), for anybody but an administrator."""
    mine = new_connection(admin)
    other = admin("POST", "/connections", ssh_connection("other")).json["identifier"]
    make_user(admin, server, "alice")
    grant = [{"op": "add", "path": f"/connectionPermissions/{mine}", "value": value} for value in ("READ", "UPDATE")]
    grant.append({"op": "add", "path": f"/connectionPermissions/{other}", "value": "READ"})
    assert admin("PATCH", "/users/alice/permissions", grant).status == 204
    alice = user_api(server, "alice", "Pa55-word")
    assert set(alice("GET", "/connections").json) == {mine, other}
    assert set(alice("GET", "/connections?permission=UPDATE").json) == {mine}


def test_deleting_the_session_ends_the_token(server, admin):
    """rest/session/SessionResource.invalidate (DELETE /api/session, both releases): the token's session is
    destroyed (204) and the token is refused afterwards."""
    assert call(server.url, "DELETE", "/api/session", token=admin.token).status == 204
    assert admin("GET", "/connections").status == 403


# --- what the JDBC services leave to the database, and what Jackson refuses first (issue #14, review item 1) -----

def sharing_body(name, primary):
    body = {"name": name, "parameters": {}, "attributes": {}}
    if primary is not None:
        body["primaryConnectionIdentifier"] = primary
    return body


def test_a_connection_group_without_a_type_fails_in_the_database(admin):
    """jdbc/connectiongroup/ConnectionGroupService.getModelInstance and ModeledConnectionGroup.setType copy a null
    type as it is; beforeCreate / beforeUpdate check only the name and the siblings; the insert and update of
    ConnectionGroupMapper.xml write it into guacamole_connection_group.type, NOT NULL (schema/001-create-schema.sql):
    a database error, which rest/RESTExceptionMapper.toResponse wraps as 500 'Unexpected internal error'. The
    name is checked first (400)."""
    no_type = {"name": "Lab", "parentIdentifier": "ROOT", "attributes": {}}
    assert_error(admin("POST", "/connectionGroups", no_type), 500, "INTERNAL_ERROR", "Unexpected internal error")
    assert_error(admin("POST", "/connectionGroups", dict(no_type, name=" ")), 400, "BAD_REQUEST",
                 "Connection group names must not be blank.")
    assert admin("GET", "/connectionGroups").json == {}
    identifier = admin("POST", "/connectionGroups", group_body("Lab")).json["identifier"]
    assert_error(admin("PUT", f"/connectionGroups/{identifier}", no_type), 500, "INTERNAL_ERROR")
    assert admin("GET", f"/connectionGroups/{identifier}").json["type"] == "ORGANIZATIONAL"


def test_a_connection_group_type_no_enum_has_is_refused_by_jackson(server, admin):
    """rest/connectiongroup/APIConnectionGroup.type is a ConnectionGroup.Type (guacamole-ext ConnectionGroup.Type:
    ORGANIZATIONAL, BALANCING): any other string fails while the body is read, before any resource or permission
    check runs. Jersey's JacksonFeature registers JsonMappingExceptionMapper, more specific than RESTExceptionMapper
    <Throwable>: 400 with Jackson's message as text/plain."""
    for bad in ("organisational", "organizational", 3):
        reply = admin("POST", "/connectionGroups", dict(group_body("Lab"), type=bad))
        assert_jackson_error(reply, "ConnectionGroup$Type", "ORGANIZATIONAL", "BALANCING")
    make_user(admin, server, "nobody")
    nobody = user_api(server, "nobody", "Pa55-word")
    assert_jackson_error(nobody("POST", "/connectionGroups", dict(group_body("Lab"), type="x")))
    assert_error(nobody("POST", "/connectionGroups", group_body("Lab")), 403, "PERMISSION_DENIED")
    assert admin("GET", "/connectionGroups").json == {}


def test_a_wrongly_typed_field_or_malformed_json_is_jacksons_400(admin):
    """Jackson fails to read an object where a String belongs (APIConnection.name) or a body that is not JSON;
    Jersey's JacksonFeature registers JsonMappingExceptionMapper, more specific than RESTExceptionMapper
    <Throwable>: 400 with Jackson's message as text/plain (JsonParseExceptionMapper for the syntax error)."""
    assert_jackson_error(admin("POST", "/connections", dict(ssh_connection(), name={"x": 1})), "java.lang.String")
    reply = call(admin.base, "POST", f"/api/session/data/{admin.ds}/connections", token=admin.token,
                 headers={"Content-Type": "application/json"}, raw=b"{not json")
    assert_jackson_error(reply)
    assert admin("GET", "/connections").json == {}


def test_a_sharing_profile_without_its_primary_connection(server, admin):
    """jdbc/sharingprofile/SharingProfileService.getModelInstance: ModeledSharingProfile.setPrimaryConnectionIdentifier
    stores the identifier as the model's parent, as given (no ROOT translation); beforeCreate checks the name and a
    profile of that name on that connection, never that the connection exists. guacamole_sharing_profile
    .primary_connection_id is NOT NULL and a foreign key to guacamole_connection (schema/001-create-schema.sql), and
    the insert casts it ::integer (SharingProfileMapper.xml): left out, unknown or not a number, a database error,
    500. For a caller who is not privileged jdbc/base/ModeledChildDirectoryObjectService.getModifiedParents skips a
    null parent, so a profile without one still reaches the database (500), while a named connection needs UPDATE
    on it (canUpdateModifiedParents, 403)."""
    connection = new_connection(admin)
    for primary in (None, "999", "ROOT", "web"):
        assert_error(admin("POST", "/sharingProfiles", sharing_body("watch", primary)), 500, "INTERNAL_ERROR")
    assert_error(admin("POST", "/sharingProfiles", sharing_body(" ", None)), 400, "BAD_REQUEST",
                 "Sharing profile names must not be blank.")
    assert admin("GET", "/sharingProfiles").json == {}
    profile = admin("POST", "/sharingProfiles", sharing_body("watch", connection)).json["identifier"]
    assert_error(admin("PUT", f"/sharingProfiles/{profile}", sharing_body("watch", "999")), 500, "INTERNAL_ERROR")
    assert admin("GET", f"/sharingProfiles/{profile}").json["primaryConnectionIdentifier"] == connection
    server.add_user("sharer", "pw", system_permissions=("CREATE_SHARING_PROFILE",))
    sharer = user_api(server, "sharer", "pw")
    assert_error(sharer("POST", "/sharingProfiles", sharing_body("mine", None)), 500, "INTERNAL_ERROR")
    for primary in (connection, "ROOT"):
        assert_error(sharer("POST", "/sharingProfiles", sharing_body("mine", primary)), 403, "PERMISSION_DENIED")


def test_a_parent_group_that_does_not_exist(server, admin):
    """No JDBC service looks the parent up: jdbc/base/ModeledChildDirectoryObjectService.canUpdateModifiedParents
    is skipped for a privileged caller, and ConnectionService / ConnectionGroupService.beforeCreate check only the
    name among the parent's children; the insert names parent_id, a foreign key to guacamole_connection_group
    (ConnectionMapper.xml, ConnectionGroupMapper.xml): 500 for an administrator, connection or group alike. Anybody
    else needs UPDATE on the new parent (canUpdateModifiedParents), which nobody holds on a group that is not
    there: 403."""
    for path, body in (("/connections", ssh_connection(parent="99")), ("/connectionGroups", group_body("Lab", "99"))):
        assert_error(admin("POST", path, body), 500, "INTERNAL_ERROR", "Unexpected internal error")
        assert admin("GET", path).json == {}
    server.add_user("builder", "pw", system_permissions=("CREATE_CONNECTION", "CREATE_CONNECTION_GROUP"))
    builder = user_api(server, "builder", "pw")
    assert_error(builder("POST", "/connections", ssh_connection(parent="99")), 403, "PERMISSION_DENIED")
    assert_error(builder("POST", "/connectionGroups", group_body("Lab", "99")), 403, "PERMISSION_DENIED")


def test_moving_into_a_parent_that_does_not_exist(admin):
    """Update: a connection moved into a missing group fails on the foreign key of ConnectionMapper.xml's update
    (500); a connection group's move first walks the new parent's ancestors in ConnectionGroupService.beforeUpdate,
    where retrieveObject answers null for the missing one and getModel() on it is a NullPointerException (500).
    Nothing is moved."""
    connection = new_connection(admin)
    group = admin("POST", "/connectionGroups", group_body("Lab")).json["identifier"]
    assert_error(admin("PUT", f"/connections/{connection}", ssh_connection(parent="99")), 500, "INTERNAL_ERROR")
    assert_error(admin("PUT", f"/connectionGroups/{group}", group_body("Lab", "99")), 500, "INTERNAL_ERROR")
    assert admin("GET", f"/connections/{connection}").json["parentIdentifier"] == "ROOT"
    assert admin("GET", f"/connectionGroups/{group}").json["parentIdentifier"] == "ROOT"


def test_a_group_update_walks_parents_as_the_caller_sees_them(server, admin):
    """jdbc/connectiongroup/ConnectionGroupService.beforeUpdate walks from the group's parent up to ROOT with
    retrieveObject(user, ...), which for a caller who is not privileged returns only readable groups
    (ModeledDirectoryObjectService.retrieveObjects, selectReadable): a parent the caller may not READ is null, and
    its getModel() a NullPointerException, 500, even when the parent does not change (getModifiedParents is
    empty, so no UPDATE on it is needed)."""
    outer = admin("POST", "/connectionGroups", group_body("outer")).json["identifier"]
    inner = admin("POST", "/connectionGroups", group_body("inner", outer)).json["identifier"]
    server.add_user("editor", "pw")
    for permission in ("READ", "UPDATE"):
        server.grant("editor", permission, "connectionGroup", inner)
    editor = user_api(server, "editor", "pw")
    assert_error(editor("PUT", f"/connectionGroups/{inner}", group_body("renamed", outer)), 500, "INTERNAL_ERROR")
    server.grant("editor", "READ", "connectionGroup", outer)
    assert editor("PUT", f"/connectionGroups/{inner}", group_body("renamed", outer)).status == 204
    assert admin("GET", f"/connectionGroups/{inner}").json["name"] == "renamed"


def test_an_unchecked_error_fails_the_whole_atomic_patch(server, admin):
    """rest/directory/DirectoryResource.patchObjects (1.6.0): a patch that fails with a GuacamoleException becomes
    an outcome with its error (400 'The provided patches failed to apply.'), but for a RuntimeException
    createPatchFailure returns null and the exception is rethrown: 500 for the whole request, the transaction rolled
    back. 1.5.5 refuses the add before anything (501)."""
    bad = {"name": "Lab", "parentIdentifier": "ROOT", "attributes": {}}  # no type: a database error
    patches = [{"op": "add", "path": "/", "value": group_body("Ok")}, {"op": "add", "path": "/", "value": bad}]
    reply = admin("PATCH", "/connectionGroups", patches)
    if is_16(server):
        assert_error(reply, 500, "INTERNAL_ERROR", "Unexpected internal error")
    else:
        assert_error(reply, 501, "INTERNAL_ERROR", 'Only the "remove" operation is supported.')
    assert admin("GET", "/connectionGroups").json == {}
    blank = [{"op": "add", "path": "/", "value": group_body("Ok")}, {"op": "add", "path": "/", "value": group_body("")}]
    reply = admin("PATCH", "/connectionGroups", blank)
    if is_16(server):
        assert_error(reply, 400, "BAD_REQUEST", "The provided patches failed to apply.")
        message = {"MESSAGE": "Connection group names must not be blank."}
        assert reply.json["patches"][1]["error"]["variables"] == message
    assert admin("GET", "/connectionGroups").json == {}


def test_16_checks_parameter_lengths_before_the_create_permission(server, admin):
    """jdbc/connection/ConnectionService.beforeCreate (1.6.0) calls validateParameters before super.beforeCreate's
    CREATE_CONNECTION check: a caller without it gets 413 for an over-long value; 1.5.5 has no such check and
    answers 403."""
    server.add_user("viewer", "pw")
    viewer = user_api(server, "viewer", "pw")
    reply = viewer("POST", "/connections", ssh_connection(**{"private-key": "K" * 4097}))
    assert reply.status == (413 if is_16(server) else 403), reply
    assert_error(viewer("POST", "/connections", ssh_connection()), 403, "PERMISSION_DENIED")


def test_a_patch_without_op_or_path(server, admin):
    """A null op or path is valid JSON for APIPatch (Jackson leaves the fields null). rest/permission/
    PermissionSetResource.updatePermissionSet and rest/identifier/RelatedObjectSetResource.updateRelatedObjectSet
    switch on the null operation, and rest/directory/DirectoryResource.patchObjects calls path.startsWith on the
    null path: NullPointerExceptions, 500. A null op on the directory is 'Unsupported patch operation "null"' (1.6.0,
    501) or 'Only the "remove" operation is supported.' (1.5.5, 501). An op no APIPatch.Operation has is
    Jackson's 400."""
    make_user(admin, server, "alice")
    assert admin("POST", "/userGroups", {"identifier": "ops", "attributes": {}}).status == 200
    connection = new_connection(admin)
    no_op = [{"path": f"/connectionPermissions/{connection}", "value": "READ"}]
    assert_error(admin("PATCH", "/users/alice/permissions", no_op), 500, "INTERNAL_ERROR")
    assert_error(admin("PATCH", "/userGroups/ops/memberUsers", [{"path": "/", "value": "alice"}]), 500,
                 "INTERNAL_ERROR")
    assert_error(admin("PATCH", "/connections", [{"op": "remove"}]), 500, "INTERNAL_ERROR")
    reply = admin("PATCH", "/connections", [{"path": f"/{connection}"}])
    if is_16(server):
        assert_error(reply, 501, "INTERNAL_ERROR",
                     'Unsupported patch operation "null". Only add, replace, and remove are supported.')
    else:
        assert_error(reply, 501, "INTERNAL_ERROR", 'Only the "remove" operation is supported.')
    assert_jackson_error(admin("PATCH", "/users/alice/permissions", [dict(no_op[0], op="grant")]),
                         "APIPatch$Operation")
    assert admin("GET", "/users/alice/permissions").json["connectionPermissions"] == {}
    assert connection in admin("GET", "/connections").json


# --- users editing themselves, passwords, tokens ------------------------------------------------------------

SELF_PASSWORD_16 = ("Permission denied. The password update endpoint must be used to change the current user's "
                    "password.")


def test_a_user_put_naming_oneself(server, admin):
    """rest/user/UserResource.updateObject: on 1.5.5 a body whose username is the caller's is 'Permission denied.'
    (403), whatever the path; on 1.6.0 only when it carries a password (its own message, 403); otherwise
    UserObjectTranslator.filterExternalObject keeps only the user preference attributes (the JDBC extension
    declares none) and applyExternalChanges still sets `disabled`: 204."""
    body = {"username": "guacadmin", "attributes": {"guac-full-name": "Admin"}}
    reply = admin("PUT", "/users/guacadmin", body)
    if is_16(server):
        assert reply.status == 204, reply
        assert admin("GET", "/users/guacadmin").json["attributes"]["guac-full-name"] is None
        assert_error(admin("PUT", "/users/guacadmin", dict(body, password="x")), 403, "PERMISSION_DENIED",
                     SELF_PASSWORD_16)
    else:
        assert_error(reply, 403, "PERMISSION_DENIED", "Permission denied.")
    assert call(server.url, "POST", "/api/tokens", form={"username": "guacadmin", "password": "guacadmin"}).status \
        == 200


def test_the_path_names_the_user_updated_not_the_body(server, admin):
    """rest/user/UserObjectTranslator.applyExternalChanges sets password, attributes (and on 1.6.0 disabled) on
    the user of the path; the body's username renames nothing (it is only compared with the caller)."""
    make_user(admin, server, "ivan")
    body = {"username": "someone-else", "attributes": {"guac-full-name": "Ivan"}}
    if is_16(server):
        body["disabled"] = False
    assert admin("PUT", "/users/ivan", body).status == 204
    assert admin("GET", "/users/ivan").json["attributes"]["guac-full-name"] == "Ivan"
    assert admin("GET", "/users/someone-else").status == 404


def test_a_user_put_without_a_body_is_500(admin, server):
    """rest/user/UserResource.updateObject reads modifiedObject.getUsername() before DirectoryObjectResource's
    'Data must be submitted' check: a PUT without a body is a NullPointerException, 500, for users only."""
    make_user(admin, server, "ivan")
    reply = call(admin.base, "PUT", f"/api/session/data/{admin.ds}/users/ivan", token=admin.token,
                 headers={"Content-Type": "application/json"})
    assert_error(reply, 500, "INTERNAL_ERROR")
    reply = call(admin.base, "PUT", f"/api/session/data/{admin.ds}/users/ivan/password", token=admin.token,
                 headers={"Content-Type": "application/json"})
    assert_error(reply, 500, "INTERNAL_ERROR")  # UserResource.updatePassword: getOldPassword() on null


def test_changing_ones_own_password_needs_update_on_oneself(server, admin):
    """rest/user/UserResource.updatePassword authenticates the old password (403 'Permission denied.' when wrong),
    then updates through the directory: jdbc/user/UserService.beforeUpdate (ModeledDirectoryObjectService
    .beforeUpdate) needs UPDATE on the user, oneself included (the admin UI's "change own password"): 403
    without it."""
    server.add_user("erin", "old")
    erin = user_api(server, "erin", "old")
    right = {"oldPassword": "old", "newPassword": "new"}
    assert_error(erin("PUT", "/users/erin/password", right), 403, "PERMISSION_DENIED", "Permission denied.")
    server.grant("erin", "UPDATE", "user", "erin")
    assert_error(erin("PUT", "/users/erin/password", dict(right, oldPassword="nope")), 403, "PERMISSION_DENIED")
    assert erin("PUT", "/users/erin/password", right).status == 204
    assert call(server.url, "POST", "/api/tokens", form={"username": "erin", "password": "new"}).status == 200


def test_a_password_change_needs_the_users_old_password_even_for_an_admin(server, admin):
    """rest/user/UserResource.updatePassword checks the old password of the user in the path (Credentials of
    user.getIdentifier()), for any caller: an administrator without it gets 403."""
    server.add_user("erin", "old")
    assert_error(admin("PUT", "/users/erin/password", {"oldPassword": "guacadmin", "newPassword": "x"}), 403,
                 "PERMISSION_DENIED")
    assert admin("PUT", "/users/erin/password", {"oldPassword": "old", "newPassword": "x"}).status == 204


def test_a_blank_new_password_is_not_refused(server, admin):
    """jdbc/user/ModeledUser.setPassword hashes whatever it is given and a null becomes a random password; the
    'Passwords may not be blank.' check exists only in UserService.resetExpiredPassword. With the default (empty)
    password policy a PUT .../password with an empty or missing newPassword is 204, and the old password stops
    working."""
    for user, new in (("erin", ""), ("fred", None)):
        server.add_user(user, "old")
        body = {"oldPassword": "old"} if new is None else {"oldPassword": "old", "newPassword": new}
        assert admin("PUT", f"/users/{user}/password", body).status == 204
        assert call(server.url, "POST", "/api/tokens", form={"username": user, "password": "old"}).status == 403


def test_deleting_a_token_that_does_not_exist(server, admin):
    """rest/auth/TokenRESTService.invalidateToken: DELETE /api/tokens/{token} of no session is
    GuacamoleResourceNotFoundException 'No such token.' (404); of a live one, 204 and the token is gone."""
    assert_error(call(server.url, "DELETE", "/api/tokens/0000"), 404, "NOT_FOUND", "No such token.")
    assert call(server.url, "DELETE", f"/api/tokens/{admin.token}").status == 204
    assert_error(call(server.url, "DELETE", f"/api/tokens/{admin.token}"), 404, "NOT_FOUND", "No such token.")


def test_a_login_names_the_user_and_every_data_source(server, admin):
    """rest/auth/TokenRESTService.createToken answers APIAuthenticationResult: authToken, username, dataSource
    (the authenticating provider) and availableDataSources (one per user context)."""
    reply = call(server.url, "POST", "/api/tokens", form={"username": "guacadmin", "password": "guacadmin"})
    assert set(reply.json) == {"authToken", "username", "dataSource", "availableDataSources"}
    assert (reply.json["username"], reply.json["dataSource"]) == ("guacadmin", "postgresql")
    assert reply.json["availableDataSources"] == ["postgresql", "postgresql-shared"]


def test_a_login_with_the_token_keeps_it(server, admin):
    """rest/auth/AuthenticationService.authenticate: a POST /api/tokens carrying a valid `token` updates that
    session and answers the same token."""
    reply = call(server.url, "POST", "/api/tokens", form={"token": admin.token})
    assert reply.status == 200 and reply.json["authToken"] == admin.token


# --- what the resources answer --------------------------------------------------------------------------------

def test_the_root_group(server, admin):
    """jdbc/connectiongroup/RootConnectionGroup: name and identifier ROOT, no parentIdentifier (null, left out by
    APIConnectionGroup's @JsonInclude(NON_NULL)), ORGANIZATIONAL, getActiveConnections() 0 even while a child
    connection is in use, no attributes."""
    connection = new_connection(admin)
    server.simulate_session("guacadmin", connection)
    assert admin("GET", "/connectionGroups/ROOT").json == {
        "name": "ROOT", "identifier": "ROOT", "type": "ORGANIZATIONAL", "activeConnections": 0, "attributes": {}}


def test_a_groups_active_connections_count_only_balancing_use(server, admin):
    """jdbc/connectiongroup/ModeledConnectionGroup.getActiveConnections asks jdbc/tunnel/AbstractGuacamoleTunnelService
    .getActiveConnections(ConnectionGroup), which is empty for any group that is not BALANCING and otherwise counts
    the connections made through the group: a session of a child connection is not counted, the connection's own
    activeConnections is (ModeledConnection.getActiveConnections)."""
    for group_type in ("ORGANIZATIONAL", "BALANCING"):
        group = admin("POST", "/connectionGroups", dict(group_body(group_type), type=group_type)).json["identifier"]
        connection = new_connection(admin, name=f"in-{group_type}", parent=group)
        server.simulate_session("guacadmin", connection)
        assert admin("GET", f"/connectionGroups/{group}").json["activeConnections"] == 0
        assert admin("GET", f"/connections/{connection}").json["activeConnections"] == 1


def test_an_active_connections_connection(server, admin):
    """rest/activeconnection/ActiveConnectionResource.getConnection: GET activeConnections/{id}/connection is the
    connection's own resource from the caller's connection directory (404 'Not found' for one it cannot read,
    DirectoryResource.getObjectResource)."""
    connection = new_connection(admin)
    server.add_user("bob", "pw")
    session = server.simulate_session("bob", connection)
    reply = admin("GET", f"/activeConnections/{session}/connection")
    assert reply.status == 200 and reply.json["identifier"] == connection and reply.json["name"] == "web"
    bob = user_api(server, "bob", "pw")
    assert bob("GET", f"/activeConnections/{session}").status == 200  # his own session
    assert_error(bob("GET", f"/activeConnections/{session}/connection"), 404, "NOT_FOUND")


def test_a_connections_sharing_profiles(server, admin):
    """rest/connection/ConnectionResource.getSharingProfileDirectoryResource: GET connections/{id}/sharingProfiles
    is a DirectoryView of the sharing profiles restricted to the connection's getSharingProfileIdentifiers(): that
    connection's profiles only, keyed by identifier."""
    first, second = new_connection(admin), new_connection(admin, name="other")
    mine = admin("POST", "/sharingProfiles", sharing_body("watch", first)).json["identifier"]
    admin("POST", "/sharingProfiles", sharing_body("watch", second))
    listed = admin("GET", f"/connections/{first}/sharingProfiles").json
    assert list(listed) == [mine] and listed[mine]["primaryConnectionIdentifier"] == first


def test_a_connections_history_is_its_own_newest_first(server, admin):
    """rest/connection/ConnectionResource.getConnectionHistory: the connection's records sorted by START_DATE
    descending (sort(..., true)), as APIConnectionRecord {connectionIdentifier, connectionName,
    sharingProfileIdentifier, sharingProfileName, startDate, endDate, remoteHost, username, active, identifier,
    uuid, attributes, logs}."""
    first, second = new_connection(admin), new_connection(admin, name="other")
    server.add_user("bob", "pw")
    for user in ("guacadmin", "bob"):
        server.end_simulated_session(server.simulate_session(user, first))
        time.sleep(0.01)  # distinct start dates
    server.simulate_session("bob", second)
    records = admin("GET", f"/connections/{first}/history").json
    assert [record["username"] for record in records] == ["bob", "guacadmin"]
    assert {record["connectionIdentifier"] for record in records} == {first}
    assert set(records[0]) == {"connectionIdentifier", "connectionName", "sharingProfileIdentifier",
                               "sharingProfileName", "startDate", "endDate", "remoteHost", "username", "active",
                               "identifier", "uuid", "attributes", "logs"}
    assert records[0]["active"] is False and records[0]["endDate"] is not None


def test_a_create_answers_the_object_it_read(server, admin):
    """rest/directory/DirectoryResource.createObject returns the object Jackson read from the body, with its
    identifier set and its attributes filtered by the schema (DirectoryObjectTranslator.filterAttributes): the
    parameters and password as sent, properties the API class does not have dropped (@JsonIgnoreProperties), null
    ones left out (@JsonInclude(NON_NULL))."""
    body = dict(ssh_connection(), bogus=1, attributes={"max-connections": "2", "nope": "x"})
    reply = admin("POST", "/connections", body).json
    assert reply["parameters"]["password"] == "s3cret-pw" and reply["attributes"] == {"max-connections": "2"}
    assert "bogus" not in reply and reply["identifier"]
    reply = admin("POST", "/users", {"username": "u", "password": "p", "attributes": {}, "bogus": 2}).json
    assert reply["password"] == "p" and "bogus" not in reply
    assert ("disabled" in reply) is is_16(server)


# --- who may change permissions and memberships ---------------------------------------------------------------

def test_removing_ones_own_system_permissions(server, admin):
    """jdbc/permission/SystemPermissionService.deletePermissions: a privileged caller may not remove system
    permissions from an entity whose identifier is its own, any of them, even one it does not hold:
    GuacamoleUnsupportedException 'Removing your own administrative permissions is not allowed.' (501). Adding is
    fine (createPermissions), and so is removing from anybody else."""
    for value in ("ADMINISTER", "CREATE_USER"):
        patch = [{"op": "remove", "path": "/systemPermissions", "value": value}]
        assert_error(admin("PATCH", "/users/guacadmin/permissions", patch), 501, "INTERNAL_ERROR",
                     "Removing your own administrative permissions is not allowed.")
    assert "ADMINISTER" in admin("GET", "/self/permissions").json["systemPermissions"]
    server.add_user("bob", "pw", system_permissions=("CREATE_USER",))
    patch = [{"op": "remove", "path": "/systemPermissions", "value": "CREATE_USER"}]
    assert admin("PATCH", "/users/bob/permissions", patch).status == 204
    assert admin("GET", "/users/bob/permissions").json["systemPermissions"] == []


def test_only_administrators_change_system_permissions(server, admin):
    """jdbc/permission/SystemPermissionService.createPermissions and deletePermissions: only a privileged caller
    (system ADMINISTER); anybody else 'Permission denied.' (403), even with UPDATE and ADMINISTER on the user."""
    server.add_user("bob", "pw")
    server.add_user("mgr", "pw", system_permissions=("CREATE_USER",))
    for permission in ("READ", "UPDATE", "ADMINISTER"):
        server.grant("mgr", permission, "user", "bob")
    mgr = user_api(server, "mgr", "pw")
    for op in ("add", "remove"):
        patch = [{"op": op, "path": "/systemPermissions", "value": "CREATE_USER"}]
        assert_error(mgr("PATCH", "/users/bob/permissions", patch), 403, "PERMISSION_DENIED", "Permission denied.")


def test_object_grants_need_update_on_the_target_and_administer_on_the_object(server, admin):
    """jdbc/permission/ModeledObjectPermissionService.canAlterPermissions: someone who is not privileged needs UPDATE
    on the user (or group) whose permissions change and ADMINISTER on every object named (403 otherwise); a user
    it cannot READ is not found first (rest/directory/DirectoryResource.getObjectResource, 404)."""
    connection = new_connection(admin)
    server.add_user("bob", "pw")
    server.add_user("mgr", "pw")
    mgr = user_api(server, "mgr", "pw")
    grant = [{"op": "add", "path": f"/connectionPermissions/{connection}", "value": "READ"}]
    assert_error(mgr("PATCH", "/users/bob/permissions", grant), 404, "NOT_FOUND", 'Not found: "bob"')
    server.grant("mgr", "READ", "user", "bob")
    server.grant("mgr", "ADMINISTER", "connection", connection)
    assert_error(mgr("PATCH", "/users/bob/permissions", grant), 403, "PERMISSION_DENIED")
    server.grant("mgr", "UPDATE", "user", "bob")
    assert mgr("PATCH", "/users/bob/permissions", grant).status == 204
    assert admin("GET", "/users/bob/permissions").json["connectionPermissions"] == {connection: ["READ"]}


def test_membership_changes_need_update_on_both_sides(server, admin):
    """jdbc/base/RelatedObjectSet.canAlterRelation: someone who is not privileged needs UPDATE on the group and on
    every user added or removed ('Permission denied.', 403; a name nobody holds UPDATE on, such as one that does not
    exist, included); an administrator's insert joins on the names, so a missing user is skipped (204)."""
    server.add_user("bob", "pw")
    server.add_user("mgr", "pw")
    assert admin("POST", "/userGroups", {"identifier": "ops", "attributes": {}}).status == 200
    for permission in ("READ", "UPDATE"):
        server.grant("mgr", permission, "userGroup", "ops")
    mgr = user_api(server, "mgr", "pw")
    for name in ("bob", "nobody"):
        patch = [{"op": "add", "path": "/", "value": name}]
        assert_error(mgr("PATCH", "/userGroups/ops/memberUsers", patch), 403, "PERMISSION_DENIED")
    server.grant("mgr", "UPDATE", "user", "bob")
    assert mgr("PATCH", "/userGroups/ops/memberUsers", [{"op": "add", "path": "/", "value": "bob"}]).status == 204
    assert admin("PATCH", "/userGroups/ops/memberUsers", [{"op": "add", "path": "/", "value": "nobody"}]).status \
        == 204
    assert admin("GET", "/userGroups/ops/memberUsers").json == ["bob"]


def test_history_sort_predicates(server, admin):
    """rest/history/APISortPredicate: `order` is startDate or -startDate (descending); anything else is an
    APIException of 'Invalid sort property: "<name>"' (400); rest/history/ActivityRecordSetResource applies them
    to the records."""
    connection = new_connection(admin)
    server.add_user("bob", "pw")
    for user in ("guacadmin", "bob"):
        server.end_simulated_session(server.simulate_session(user, connection))
        time.sleep(0.01)
    ascending = [r["username"] for r in admin("GET", "/history/connections?order=startDate").json]
    descending = [r["username"] for r in admin("GET", "/history/connections?order=-startDate").json]
    assert ascending == ["guacadmin", "bob"] and descending == ["bob", "guacadmin"]
    for bad in ("endDate", "-username", "start_date"):
        assert_error(admin("GET", f"/history/connections?order={bad}"), 400, "BAD_REQUEST",
                     f'Invalid sort property: "{bad.lstrip("-")}"')


# --- implicit permissions, effective permissions, cascades -------------------------------------------------

def test_a_creator_gets_every_permission_on_what_it_creates(server, admin):
    """jdbc/base/ModeledDirectoryObjectService.createObject inserts getImplicitPermissions: READ, UPDATE, DELETE and
    ADMINISTER (IMPLICIT_OBJECT_PERMISSIONS) on the new object for the user who created it."""
    server.add_user("bob", "pw", system_permissions=("CREATE_CONNECTION", "CREATE_USER", "CREATE_USER_GROUP"))
    bob = user_api(server, "bob", "pw")
    connection = bob("POST", "/connections", ssh_connection("mine")).json["identifier"]
    assert bob("POST", "/users", {"username": "newu", "password": "x", "attributes": {}}).status == 200
    assert bob("POST", "/userGroups", {"identifier": "newg", "attributes": {}}).status == 200
    everything = ["READ", "UPDATE", "DELETE", "ADMINISTER"]
    own = bob("GET", "/self/permissions").json
    assert own["connectionPermissions"] == {connection: everything}
    assert own["userPermissions"]["newu"] == everything and own["userGroupPermissions"] == {"newg": everything}


def test_a_new_user_may_read_itself(server, admin):
    """jdbc/user/UserService.getImplicitPermissions adds IMPLICIT_USER_PERMISSIONS (READ only) on the new user for
    the new user itself: not UPDATE, so it may not change its own password until granted."""
    make_user(admin, server, "newu")
    assert admin("GET", "/users/newu/permissions").json["userPermissions"] == {"newu": ["READ"]}


def test_deleting_needs_delete(server, admin):
    """jdbc/base/ModeledDirectoryObjectService.beforeDelete: DELETE on the object, or 'Permission denied.' (403);
    READ alone lets the caller see it (200) but not delete it."""
    connection = new_connection(admin)
    server.add_user("bob", "pw")
    server.grant("bob", "READ", "connection", connection)
    bob = user_api(server, "bob", "pw")
    assert bob("GET", f"/connections/{connection}").status == 200
    assert_error(bob("DELETE", f"/connections/{connection}"), 403, "PERMISSION_DENIED", "Permission denied.")
    server.grant("bob", "DELETE", "connection", connection)
    assert bob("DELETE", f"/connections/{connection}").status == 204


def group_disabled_body(server, identifier, disabled):
    if is_16(server):
        return {"identifier": identifier, "disabled": disabled, "attributes": {}}
    return {"identifier": identifier, "attributes": {"disabled": "true" if disabled else ""}}


def test_effective_permissions_come_through_enabled_groups_only(server, admin):
    """jdbc/base/EntityMapper.xml selectEffectiveGroupIdentifiers (PostgreSQL): the groups a user is in, and the
    groups those are in, recursively, each only while `disabled = false`; effectivePermissions add their
    permissions to the user's own (rest/user/UserResource.getEffectivePermissions), permissions does not."""
    connection = new_connection(admin)
    server.add_user("bob", "pw")
    server.grant("bob", "READ", "connection", connection)
    for group in ("outer", "inner"):
        assert admin("POST", "/userGroups", {"identifier": group, "attributes": {}}).status == 200
    admin("PATCH", "/userGroups/outer/memberUserGroups", [{"op": "add", "path": "/", "value": "inner"}])
    admin("PATCH", "/userGroups/inner/memberUsers", [{"op": "add", "path": "/", "value": "bob"}])
    admin("PATCH", "/userGroups/outer/permissions", [{"op": "add", "path": f"/connectionPermissions/{connection}",
                                                      "value": "UPDATE"}])
    assert admin("GET", "/users/bob/permissions").json["connectionPermissions"] == {connection: ["READ"]}
    effective = admin("GET", "/users/bob/effectivePermissions").json["connectionPermissions"]
    assert sorted(effective[connection]) == ["READ", "UPDATE"]
    assert admin("PUT", "/userGroups/inner", group_disabled_body(server, "inner", True)).status == 204
    effective = admin("GET", "/users/bob/effectivePermissions").json["connectionPermissions"]
    assert effective == {connection: ["READ"]}


def test_a_users_groups_are_the_groups_it_is_directly_in(server, admin):
    """rest/user/UserResource.getUserGroups: the user's parent groups (jdbc/user/UserParentUserGroupMapper.xml,
    direct memberships only, not the groups those groups are in); rest/usergroup/UserGroupResource.getUserGroups
    the same for a group."""
    server.add_user("bob", "pw")
    for group in ("outer", "inner"):
        admin("POST", "/userGroups", {"identifier": group, "attributes": {}})
    admin("PATCH", "/userGroups/outer/memberUserGroups", [{"op": "add", "path": "/", "value": "inner"}])
    admin("PATCH", "/userGroups/inner/memberUsers", [{"op": "add", "path": "/", "value": "bob"}])
    assert admin("GET", "/users/bob/userGroups").json == ["inner"]
    assert admin("GET", "/userGroups/inner/userGroups").json == ["outer"]
    assert admin("GET", "/userGroups/outer/memberUserGroups").json == ["inner"]


def test_deleting_a_connection_takes_its_sharing_profiles(server, admin):
    """schema/001-create-schema.sql (PostgreSQL): guacamole_sharing_profile.primary_connection_id references
    guacamole_connection ON DELETE CASCADE, and guacamole_connection.parent_id guacamole_connection_group ON DELETE
    CASCADE: deleting a group deletes the connections in it and their sharing profiles."""
    group = admin("POST", "/connectionGroups", group_body("Lab")).json["identifier"]
    connection = new_connection(admin, parent=group)
    profile = admin("POST", "/sharingProfiles", sharing_body("watch", connection)).json["identifier"]
    assert admin("DELETE", f"/connectionGroups/{group}").status == 204
    assert admin("GET", "/connections").json == {} and admin("GET", "/sharingProfiles").json == {}
    assert_error(admin("GET", f"/sharingProfiles/{profile}"), 404, "NOT_FOUND", f'Not found: "{profile}"')


def test_deleting_a_user_ends_its_memberships(server, admin):
    """schema/001-create-schema.sql: guacamole_user_group_member.member_entity_id references guacamole_entity ON
    DELETE CASCADE, and the delete of user/UserMapper.xml removes the user's guacamole_entity row: the user
    leaves every group, and a user made again with that name starts with none."""
    server.add_user("bob", "pw")
    admin("POST", "/userGroups", {"identifier": "ops", "attributes": {}})
    admin("PATCH", "/userGroups/ops/memberUsers", [{"op": "add", "path": "/", "value": "bob"}])
    assert admin("DELETE", "/users/bob").status == 204
    assert admin("GET", "/userGroups/ops/memberUsers").json == []
    make_user(admin, server, "bob")
    assert admin("GET", "/users/bob/userGroups").json == []


def test_a_failed_login(server, admin):
    """jdbc/JDBCAuthenticationProviderService.authenticateUser and getUserContext: an unknown user, a wrong password
    and a disabled account are all GuacamoleInvalidCredentialsException('Invalid login', USERNAME_PASSWORD): 403
    INVALID_CREDENTIALS, the fields expected listed, the message untranslated (rest/APIError: the exception is not
    Translatable)."""
    make_user(admin, server, "gone", disabled=True)
    for username, password in (("nobody", "x"), ("guacadmin", "wrong"), ("gone", "Pa55-word")):
        reply = call(server.url, "POST", "/api/tokens", form={"username": username, "password": password})
        assert_error(reply, 403, "INVALID_CREDENTIALS", "Invalid login")
        assert reply.json["translatableMessage"] == {"key": "APP.TEXT_UNTRANSLATED",
                                                     "variables": {"MESSAGE": "Invalid login"}}
        assert reply.json["expected"] == [{"name": "username", "type": "USERNAME"},
                                          {"name": "password", "type": "PASSWORD"}]


def test_a_data_source_the_session_does_not_have(server, admin):
    """rest/session/SessionResource.getUserContextResource: GuacamoleSession.getUserContext finds no user context of
    that provider: GuacamoleResourceNotFoundException 'Session not associated with authentication provider
    "<name>".' (404)."""
    assert_error(admin("GET", "/connections", ds="mysql"), 404, "NOT_FOUND",
                 'Session not associated with authentication provider "mysql".')


def test_a_listing_shows_only_what_the_caller_may_read(server, admin):
    """jdbc/base/ModeledDirectoryObjectService.getIdentifiers (selectReadableIdentifiers) for a caller who is not
    privileged: only the objects it holds READ on, directly or through a group; a user can read itself
    (UserService.getImplicitPermissions)."""
    first, second = new_connection(admin), new_connection(admin, name="other")
    make_user(admin, server, "carol")
    server.grant("carol", "READ", "connection", second)
    carol = user_api(server, "carol", "Pa55-word")
    assert list(carol("GET", "/connections").json) == [second]
    assert list(carol("GET", "/users").json) == ["carol"]
    assert_error(carol("GET", f"/connections/{first}"), 404, "NOT_FOUND", f'Not found: "{first}"')

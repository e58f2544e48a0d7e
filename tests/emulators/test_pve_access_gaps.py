"""Roles and groups (tests/emulators/pve/access_gaps.py): each gap on plain fakepve 0.5.0, and the behaviour a
node has, read in pve-access-control (src/PVE/API2/Role.pm, src/PVE/API2/Group.pm, src/PVE/AccessControl.pm; the
functions are named in each test). Both servers are served for real over HTTPS on 127.0.0.1 and spoken to with
httpx."""

from __future__ import annotations

import ssl

import httpx
import pytest

from tests.emulators.pve import ServedPve

TOKEN_ID = "root@pam!access-gaps"
TOKEN_SECRET = "0e3b6c1a-7d42-4f9e-a5b8-2c6d9e1f4a70"


def client_for(url, cafile):
    return httpx.Client(base_url=url + "/api2/json", verify=ssl.create_default_context(cafile=cafile),
                        headers={"Authorization": f"PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}"}, timeout=10)


@pytest.fixture
def plain(fakepve, fakepve_cafile):
    """(FakePve, client): fakepve 0.5.0 as published."""
    fakepve.apitokens[TOKEN_ID] = TOKEN_SECRET
    with client_for(fakepve.url, fakepve_cafile) as client:
        yield fakepve, client


@pytest.fixture
def fixed(tmp_path):
    """(ProxgatePve, client): with the project's additions."""
    server = ServedPve(tmp_path / "pki")
    server.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    with client_for(server.url, server.certfile) as client:
        yield server.pve, client
    server.stop()


def data(response):
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()["data"]


def roles(client):
    return {entry["roleid"]: entry for entry in data(client.get("/access/roles"))}


# --- 1. Role.pm create_role / read_role / update_role / delete_role: roles are stored --------------------------

def test_gap_a_created_role_is_not_listed_and_an_unknown_role_has_privileges(plain):
    _pve, client = plain
    data(client.post("/access/roles", data={"roleid": "Ops", "privs": "VM.Audit"}))
    assert "Ops" not in roles(client)
    assert data(client.get("/access/roles/NoSuchRole"))  # PVEAuditor's privileges


def test_gap_only_three_built_in_roles(plain):
    _pve, client = plain
    assert sorted(roles(client)) == ["Administrator", "NoAccess", "PVEAuditor"]


def test_the_built_in_roles_are_the_seventeen_create_roles_makes(fixed):
    """AccessControl.pm create_roles over $privgroups: a user role holds its category's user and audit
    privileges, an admin role the admin ones too; PVEAdmin lacks Mapping.Modify; Sys and User have no user role."""
    _pve, client = fixed
    listed = roles(client)
    assert len(listed) == 17 and all(entry["special"] == 1 for entry in listed.values())
    assert "PVESysUser" not in listed and "PVEUserUser" not in listed
    vm_user = set(listed["PVEVMUser"]["privs"].split(","))
    assert {"VM.Console", "VM.PowerMgmt", "VM.Audit"} <= vm_user and "VM.Allocate" not in vm_user
    assert "VM.Allocate" in listed["PVEVMAdmin"]["privs"].split(",")
    assert "Mapping.Modify" not in listed["PVEAdmin"]["privs"].split(",")
    assert set(data(client.get("/access/roles/PVETemplateUser"))) == {"VM.Clone", "VM.Audit"}


def test_a_role_is_created_replaced_appended_and_deleted(fixed):
    _pve, client = fixed
    data(client.post("/access/roles", data={"roleid": "Ops", "privs": "VM.Audit,VM.PowerMgmt"}))
    assert roles(client)["Ops"] == {"roleid": "Ops", "privs": "VM.Audit,VM.PowerMgmt", "special": 0}
    data(client.put("/access/roles/Ops", data={"privs": "Sys.Audit"}))
    assert data(client.get("/access/roles/Ops")) == {"Sys.Audit": 1}
    data(client.put("/access/roles/Ops", data={"privs": "VM.Audit", "append": 1}))
    assert data(client.get("/access/roles/Ops")) == {"Sys.Audit": 1, "VM.Audit": 1}
    taken = client.post("/access/roles", data={"roleid": "Ops"})
    assert taken.status_code == 500 and taken.json()["message"].strip() == \
        "create role failed: role 'Ops' already exists"
    data(client.delete("/access/roles/Ops"))
    assert "Ops" not in roles(client)
    missing = client.get("/access/roles/Ops")
    assert missing.status_code == 500 and missing.json()["message"].strip() == "role 'Ops' does not exist"


def test_the_pve_namespace_and_the_built_in_roles_are_refused(fixed):
    _pve, client = fixed
    reply = client.post("/access/roles", data={"roleid": "pveOps"})
    assert reply.status_code == 400
    assert "'PVE' namespace" in reply.json()["errors"]["roleid"]
    assert roles(client)["PVEAuditor"]["special"] == 1
    for method in (client.put, client.delete):
        refused = method("/access/roles/PVEAuditor")
        assert refused.status_code == 500 and "auto-generated role 'PVEAuditor' cannot be" in refused.text


# --- 2. AccessControl.pm verify_privname (the pve-priv-list format): unknown privileges are refused -------------

def test_gap_an_unknown_privilege_is_accepted(plain):
    _pve, client = plain
    data(client.post("/access/roles", data={"roleid": "Ops", "privs": "VM.Fly"}))


def test_an_unknown_privilege_is_refused_before_anything_is_stored(fixed):
    _pve, client = fixed
    reply = client.post("/access/roles", data={"roleid": "Ops", "privs": "VM.Audit,VM.Fly"})
    assert reply.status_code == 400
    assert reply.json()["errors"]["privs"].strip() == "invalid format - invalid privilege 'VM.Fly'"
    assert "Ops" not in roles(client)


# --- 3. Group.pm create_group / read_group / update_group / delete_group: groups are stored --------------------

def test_gap_a_created_group_is_not_listed(plain):
    _pve, client = plain
    data(client.post("/access/groups", data={"groupid": "ops", "comment": "Operators"}))
    assert "ops" not in [entry["groupid"] for entry in data(client.get("/access/groups"))]


def test_a_group_is_created_commented_read_and_deleted(fixed):
    pve, client = fixed
    data(client.post("/access/groups", data={"groupid": "ops"}))
    assert data(client.get("/access/groups")) == [{"groupid": "ops", "users": ""}]
    pve.access_groups["ops"]["users"].add("alice@pve")
    data(client.put("/access/groups/ops", data={"comment": "Operators"}))
    assert data(client.get("/access/groups/ops")) == {"comment": "Operators", "members": ["alice@pve"]}
    data(client.put("/access/groups/ops", content=b"comment="))  # a blank comment: user.cfg keeps none
    assert data(client.get("/access/groups/ops")) == {"members": ["alice@pve"]}
    data(client.delete("/access/groups/ops"))
    missing = client.get("/access/groups/ops")
    assert missing.status_code == 500 and missing.json()["message"].strip() == "group 'ops' does not exist"


# --- 4. ACL.pm update_acl: the path, roles, groups, users and tokens must exist -----------------------------------

def acl(client):
    return data(client.get("/access/acl"))


def test_gap_an_acl_update_takes_unknown_roles_groups_users_and_tokens(plain):
    _pve, client = plain
    data(client.put("/access/acl", data={"path": "/nowhere", "roles": "NoSuchRole", "groups": "nobody",
                                         "users": "ghost@pve", "tokens": "ghost@pve!ci"}))


def test_an_acl_update_refuses_what_a_node_does_not_have_and_writes_nothing(fixed):
    pve, client = fixed
    pve.users["alice@pve"] = "pw"
    pve.apitokens["alice@pve!ci"] = "s"
    pve.access_groups["ops"] = {"comment": None, "users": set()}
    cases = [
        ({"path": "/nowhere", "roles": "PVEAuditor", "users": "alice@pve"}, 400, "invalid ACL path '/nowhere'"),
        ({"path": "/vms/a b", "roles": "PVEAuditor", "users": "alice@pve", "delete": 1}, 400,
         "invalid ACL path '/vms/a b'"),
        ({"path": "/vms", "roles": "PVEAuditor,Nope", "users": "alice@pve"}, 500,
         "ACL update failed: role 'Nope' does not exist"),
        ({"path": "/vms", "roles": "PVEAuditor", "groups": "ops,nobody"}, 500,
         "ACL update failed: group 'nobody' does not exist"),
        ({"path": "/vms", "roles": "PVEAuditor", "users": "alice@pve,ghost@pve"}, 500,
         "ACL update failed: user 'ghost@pve' does not exist"),
        ({"path": "/vms", "roles": "PVEAuditor", "tokens": "alice@pve!ci,alice@pve!other"}, 500,
         "ACL update failed: no such token 'other' for user 'alice@pve'"),
    ]
    for params, status, message in cases:
        reply = client.put("/access/acl", data=params)
        assert reply.status_code == status, (params, reply.text)
        body = reply.json()
        assert (body["errors"]["path"] if status == 400 else body["message"]).strip() == message
    assert acl(client) == []
    data(client.put("/access/acl", data={"path": "/vms/", "roles": "PVEAuditor", "groups": "ops",
                                         "users": "alice@pve", "tokens": "alice@pve!ci", "propagate": 0}))
    assert acl(client) == [{"path": "/vms", "type": kind, "ugid": ugid, "roleid": "PVEAuditor", "propagate": 0}
                           for kind, ugid in (("group", "ops"), ("token", "alice@pve!ci"), ("user", "alice@pve"))]
    data(client.put("/access/acl", data={"path": "/vms/100/", "roles": "PVEAuditor", "users": "alice@pve",
                                         "delete": 1}))  # nothing to remove: no error


# --- 5. User.pm token_index / read_token / generate_token / update_token_info / remove_token: tokens are stored ----

TOKENS = "/access/users/alice@pve/token"


def test_gap_a_created_token_does_not_log_in_and_is_not_listed(plain, fakepve_cafile):
    pve, client = plain
    pve.users["alice@pve"] = "pw"
    made = data(client.post(TOKENS + "/ci", data={"privsep": 0}))
    assert "alice@pve!ci" not in pve.apitokens
    assert "ci" not in [entry.get("tokenid") for entry in data(client.get(TOKENS))]
    assert made["value"] != pve.apitokens.get("alice@pve!ci")


def test_a_token_is_made_once_logs_in_is_read_updated_and_removed(fixed):
    pve, client = fixed
    pve.users["alice@pve"] = "pw"
    made = data(client.post(TOKENS + "/ci", data={"comment": "CI", "expire": 4102444800}))
    assert made["info"] == {"privsep": 1, "expire": 4102444800, "comment": "CI"}
    assert made["full-tokenid"] == "alice@pve!ci" and len(made["value"]) == 36
    assert pve.apitokens["alice@pve!ci"] == made["value"] and pve.token_privsep["alice@pve!ci"] is True
    again = client.post(TOKENS + "/ci")
    assert again.status_code == 400 and again.json()["errors"] == {"tokenid": "Token already exists."}
    assert data(client.get(TOKENS)) == [{"tokenid": "ci", "privsep": 1, "expire": 4102444800, "comment": "CI"}]
    assert "value" not in data(client.get(TOKENS + "/ci"))  # the secret is never read back
    updated = data(client.put(TOKENS + "/ci", data={"privsep": 0, "expire": 0, "delete": "comment"}))
    assert updated == {"privsep": 0, "expire": 0} and pve.token_privsep["alice@pve!ci"] is False
    refused = client.put(TOKENS + "/ci", data={"delete": "expire"})
    assert refused.status_code == 400 and refused.json()["errors"] == {"delete": "unknown option 'expire'"}
    data(client.delete(TOKENS + "/ci"))
    missing = client.get(TOKENS + "/ci")
    assert missing.status_code == 500 and missing.json()["message"].strip() == \
        "no such token 'ci' for user 'alice@pve'"
    nobody = client.get("/access/users/ghost@pve/token")
    assert nobody.status_code == 500 and nobody.json()["message"].strip() == "no such user ('ghost@pve')"


def test_a_token_made_through_the_api_logs_in_with_its_privilege_separation(fixed):
    pve, client = fixed
    pve.users["alice@pve"] = "pw"
    pve.grant("alice@pve", "/", "Sys.Audit")
    pve.grant("alice@pve!other", "/", "Sys.Audit")  # acl is no longer None: permissions are checked
    secret = data(client.post(TOKENS + "/ci"))["value"]
    headers = {"Authorization": f"PVEAPIToken=alice@pve!ci={secret}"}
    separated = client.get("/nodes/pve1/status", headers=headers)
    assert separated.status_code == 403  # privsep: the token has no ACL of its own
    data(client.put(TOKENS + "/ci", data={"privsep": 0}))
    assert client.get("/nodes/pve1/status", headers=headers).status_code == 200


# --- 6. User.pm index / create_user / read_user / update_user / delete_user: users are stored ------------------

def test_gap_a_created_user_is_not_listed_and_cannot_log_in(plain):
    pve, client = plain
    data(client.post("/access/users", data={"userid": "carol@pve", "password": "carol-password"}))
    assert "carol@pve" not in [entry.get("userid") for entry in data(client.get("/access/users"))]
    assert not pve.check_password("carol@pve", "carol-password")


def test_a_user_is_created_with_groups_updated_and_deleted(fixed):
    pve, client = fixed
    pve.access_groups["ops"] = {"comment": None, "users": set()}
    pve.access_groups["audit"] = {"comment": None, "users": set()}
    refused = client.post("/access/users", data={"userid": "carol@pve", "groups": "ops,nope"})
    assert refused.status_code == 500 and refused.json()["message"].strip() == \
        "create user failed: no such group 'nope'"
    data(client.post("/access/users", data={"userid": "carol@pve", "password": "carol-password", "groups": "ops",
                                            "email": "carol@example.com", "comment": ""}))
    assert pve.check_password("carol@pve", "carol-password")
    expected = {"enable": 1, "expire": 0, "email": "carol@example.com", "groups": ["ops"]}
    assert data(client.get("/access/users/carol@pve")) == expected
    assert {"userid": "carol@pve", "enable": 1, "expire": 0, "email": "carol@example.com"} in \
        data(client.get("/access/users"))
    taken = client.post("/access/users", data={"userid": "carol@pve"})
    assert taken.json()["message"].strip() == "create user failed: user 'carol@pve' already exists"
    data(client.put("/access/users/carol@pve", data={"groups": "audit", "enable": 0, "email": ""}))
    assert data(client.get("/access/users/carol@pve")) == {"enable": 0, "expire": 0, "groups": ["audit"]}
    data(client.put("/access/users/carol@pve", data={"groups": "ops", "append": 1}))
    assert pve.access_groups["ops"]["users"] == {"carol@pve"} == pve.access_groups["audit"]["users"]
    data(client.delete("/access/users/carol@pve"))
    assert pve.access_groups["ops"]["users"] == set() and not pve.check_password("carol@pve", "carol-password")
    missing = client.get("/access/users/carol@pve")
    assert missing.status_code == 500 and missing.json()["message"].strip() == "no such user ('carol@pve')"
    data(client.delete("/access/users/carol@pve"))  # delete_user checks no existence


# --- 7. AccessControl.pm roles / RPCEnvironment.pm compile_acl_path: the ACL gives privileges (acl_roles.py) ----

def test_gap_an_acl_entry_gives_no_privilege(plain):
    pve, client = plain
    pve.grant("alice@pve", "/", "Sys.Audit")  # permissions are checked from now on
    data(client.put("/access/acl", data={"path": "/", "roles": "PVEAuditor", "users": "alice@pve"}))
    assert not pve.allowed("alice@pve", "/storage/local", "Datastore.Audit")  # PVEAuditor has it on a node


def test_the_acl_entries_give_their_roles_privileges_as_a_node_computes_them(fixed):
    pve, client = fixed
    pve.users.update({"alice@pve": "pw", "bob@pve": "pw"})
    pve.apitokens["alice@pve!ci"] = "alice-secret"
    pve.access_groups["ops"] = {"comment": None, "users": {"alice@pve", "bob@pve"}}
    pve.acl = {}  # permissions are checked, as on a node

    def put(**params):
        data(client.put("/access/acl", data=params))

    put(path="/", roles="PVEAuditor", groups="ops")
    put(path="/vms", roles="PVEVMUser", users="alice@pve")
    put(path="/vms/100", roles="NoAccess", users="bob@pve")
    put(path="/storage/local", roles="PVEDatastoreUser", users="alice@pve", propagate=0)
    assert pve.allowed("bob@pve", "/nodes/pve1", "Sys.Audit") and pve.allowed("bob@pve", "/vms/101", "VM.Audit")
    assert not pve.allowed("bob@pve", "/vms/100", "VM.Audit")  # NoAccess on the path leaves nothing
    # The user's own entry on /vms replaces its group's from / below /vms: PVEVMUser, not PVEAuditor.
    assert pve.allowed("alice@pve", "/vms/100", "VM.PowerMgmt") and pve.allowed("alice@pve", "/vms/100", "VM.Audit")
    assert not pve.allowed("alice@pve", "/vms/100", "VM.Allocate")
    assert pve.allowed("alice@pve", "/storage/local", "Datastore.AllocateSpace")
    assert not pve.allowed("alice@pve", "/storage/local/x", "Datastore.AllocateSpace")  # not propagated
    # A pool's entries apply to its guests, not propagated further.
    pve.pools["lab"] = {101}
    put(path="/pool/lab", roles="PVEVMAdmin", users="bob@pve")
    assert pve.allowed("bob@pve", "/vms/101", "VM.Allocate") and not pve.allowed("bob@pve", "/vms/102", "VM.Allocate")
    # A privilege-separated token: what both it and its user hold.
    assert not pve.allowed("alice@pve!ci", "/vms/100", "VM.PowerMgmt")
    put(path="/", roles="PVEVMAdmin", tokens="alice@pve!ci")
    assert pve.allowed("alice@pve!ci", "/vms/100", "VM.PowerMgmt")
    assert not pve.allowed("alice@pve!ci", "/vms/100", "VM.Allocate")  # its user does not hold it

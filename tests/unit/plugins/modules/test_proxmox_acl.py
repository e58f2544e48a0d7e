"""proxmox_acl: ACL paths and ids as pve-access-control checks them, the entries of a task, and the fewest PUT
/access/acl requests for them (module_utils/proxmox/access.py)."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import (
    acl_entries,
    acl_path_problem,
    acl_requests,
    acl_shown,
    normalize_acl_path,
    token_id_problem,
    user_id_problem,
)
from ansible_collections.proxgate.core.plugins.modules.proxmox_acl import acl_problems


@pytest.mark.parametrize("path, normal", [
    ("/", "/"), ("", None), ("//vms//100/", "/vms/100"), ("vms", "/vms"), ("/pool/a b", None), ("/vms/", "/vms"),
])
def test_normalize_acl_path_as_a_node_does(path, normal):
    assert normalize_acl_path(path) == normal


@pytest.mark.parametrize("path", ["/", "/vms", "/vms/100", "/pool/gw", "/pool/a/b/c", "/storage/local",
                                  "/nodes/pve1", "/access/groups/ops", "/access/realm/pve", "/sdn/zones/z/v/10",
                                  "/mapping/pci/gpu"])
def test_acl_paths_a_node_knows(path):
    assert acl_path_problem(path) is None


@pytest.mark.parametrize("path", ["/vms/99", "/vms/guests", "/pool/a/b/c/d", "/nowhere", "/vms/1 0"])
def test_acl_paths_a_node_refuses_when_adding(path):
    assert acl_path_problem(path).startswith("path must be a Proxmox VE ACL path")


def test_any_normal_path_may_be_removed_from():
    assert acl_path_problem("/nowhere", adding=False) is None
    assert acl_path_problem("/a b", adding=False) is not None


@pytest.mark.parametrize("value, ok", [("alice@pve", True), ("root@pam", True), ("a.b@ldap-1", True),
                                       ("alice", False), ("al ice@pve", False), ("alice@1pve", False)])
def test_user_ids(value, ok):
    assert (user_id_problem("users", value) is None) == ok


@pytest.mark.parametrize("value, ok", [("ci@pve!deploy", True), ("ci@pve", False), ("ci@pve!1x", False),
                                       ("ci!deploy", False)])
def test_token_ids(value, ok):
    assert (token_id_problem("tokens", value) is None) == ok


LISTING = [
    {"path": "/vms", "type": "user", "ugid": "alice@pve", "roleid": "PVEVMUser", "propagate": 1},
    {"path": "/vms", "type": "group", "ugid": "ops", "roleid": "PVEVMUser", "propagate": 0},
    {"path": "/vms", "type": "user", "ugid": "bob@pve", "roleid": "PVEVMUser", "propagate": 1},
    {"path": "/vms", "type": "user", "ugid": "alice@pve", "roleid": "Administrator", "propagate": 1},
    {"path": "/", "type": "user", "ugid": "alice@pve", "roleid": "PVEVMUser", "propagate": 1},
]


def test_acl_entries_are_only_the_tasks():
    members = {"user": ["alice@pve"], "group": ["ops"], "token": []}
    assert acl_entries(LISTING, "/vms", members, ["PVEVMUser"]) == {
        ("user", "alice@pve", "PVEVMUser"): True, ("group", "ops", "PVEVMUser"): False}


def test_acl_requests_group_roles_with_the_same_members():
    entries = {("user", "a@pve", "R1"), ("user", "a@pve", "R2"), ("group", "g", "R1"), ("group", "g", "R2"),
               ("token", "a@pve!t", "R3")}
    assert acl_requests(entries) == [{"roles": "R1,R2", "users": "a@pve", "groups": "g"},
                                     {"roles": "R3", "tokens": "a@pve!t"}]
    assert acl_requests(set()) == []


def test_acl_shown_is_sorted():
    assert acl_shown("/", {("user", "b@pve", "R"): True, ("group", "g", "R"): False}) == [
        {"path": "/", "type": "group", "ugid": "g", "roleid": "R", "propagate": False},
        {"path": "/", "type": "user", "ugid": "b@pve", "roleid": "R", "propagate": True}]


def test_acl_problems_name_each_option():
    params = {"path": "/vms", "roles": ["ops team"], "users": [], "groups": ["a/b"], "tokens": [], "state": "present"}
    problems = acl_problems(params)
    assert [problem.split(" ")[0] for problem in problems] == ["roles", "groups"]
    assert acl_problems(dict(params, roles=["R"], groups=[])) == [
        "one of users, groups and tokens must name someone to grant the roles to"]

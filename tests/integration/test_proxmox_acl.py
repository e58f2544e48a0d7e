"""proxmox_acl against the test server, in both auth modes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

ACL = "/api2/json/access/acl"
GRANT = """
    - name: Grant
      proxgate.core.proxmox_acl:
        path: /pool/gateway/
        roles: [GatewayOps, PVEAuditor]
        users: [alice@pve]
        groups: [ops]
        tokens: ["alice@pve!ci"]
"""


@pytest.fixture
def people(pve):
    pve.pve.users["alice@pve"] = "alice-password"
    pve.pve.apitokens["alice@pve!ci"] = "a-token-secret"
    pve.pve.access_groups["ops"] = {"comment": None, "users": set()}
    pve.pve.access_roles["GatewayOps"] = {"VM.Audit", "VM.PowerMgmt", "VM.Console"}
    return pve.pve


def entries(pve, path="/pool/gateway"):
    return {(kind, ugid, role): propagate for (p, kind, ugid, role), propagate in pve.acl_entries.items() if p == path}


def test_grant_in_check_mode_then_apply_then_nothing_to_do(run_playbook, people, pve_env, writes):
    check = run_playbook(GRANT, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Grant")
    assert predicted["changed"] is True
    assert predicted["diff"]["before"] == {"acl": []}
    assert len(predicted["diff"]["after"]["acl"]) == 6
    assert predicted["requests"] == [{"roles": "GatewayOps,PVEAuditor", "users": "alice@pve", "groups": "ops",
                                      "tokens": "alice@pve!ci", "path": "/pool/gateway", "propagate": 1}]
    assert writes() == []
    assert people.acl_entries == {}

    applied = run_playbook(GRANT, env=pve_env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("Grant")["changed"] is True
    assert applied.result("Grant")["acl"][0] == {"path": "/pool/gateway", "type": "group", "ugid": "ops",
                                                 "roleid": "GatewayOps", "propagate": True}
    assert set(entries(people).values()) == {1} and len(entries(people)) == 6
    assert writes() == [("PUT", ACL)]

    again = run_playbook(GRANT, env=pve_env, diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Grant")["changed"] is False
    assert again.result("Grant")["requests"] == []
    assert writes() == [("PUT", ACL)]


def test_only_the_missing_and_the_other_propagate_are_written_then_removed(run_playbook, people, pve_env, writes):
    people.acl_entries[("/vms", "user", "alice@pve", "GatewayOps")] = 1
    people.acl_entries[("/vms", "group", "ops", "GatewayOps")] = 0
    people.acl_entries[("/vms", "user", "root@pam", "Administrator")] = 1  # not this task's
    run = run_playbook("""
        - name: Not propagated
          proxgate.core.proxmox_acl:
            path: /vms
            role: GatewayOps
            users: [alice@pve]
            groups: [ops]
            propagate: false
        - name: Not propagated again
          proxgate.core.proxmox_acl:
            path: /vms
            role: GatewayOps
            users: [alice@pve]
            groups: [ops]
            propagate: false
        - name: Remove, check mode
          proxgate.core.proxmox_acl:
            path: /vms
            roles: [GatewayOps, PVEAuditor]
            users: [alice@pve]
            groups: [ops]
            state: absent
          check_mode: true
        - name: Remove
          proxgate.core.proxmox_acl:
            path: /vms
            roles: [GatewayOps, PVEAuditor]
            users: [alice@pve]
            groups: [ops]
            state: absent
        - name: Remove again
          proxgate.core.proxmox_acl:
            path: /vms
            roles: [GatewayOps, PVEAuditor]
            users: [alice@pve]
            groups: [ops]
            state: absent
    """, env=pve_env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    first = run.result("Not propagated")
    assert first["requests"] == [{"roles": "GatewayOps", "users": "alice@pve", "path": "/vms", "propagate": 0}]
    assert first["diff"]["before"]["acl"] == [
        {"path": "/vms", "type": "group", "ugid": "ops", "roleid": "GatewayOps", "propagate": False},
        {"path": "/vms", "type": "user", "ugid": "alice@pve", "roleid": "GatewayOps", "propagate": True}]
    assert run.result("Remove, check mode")["diff"]["after"] == {"acl": []}
    assert run.result("Remove")["requests"] == [{"roles": "GatewayOps", "users": "alice@pve", "groups": "ops",
                                                 "path": "/vms", "delete": 1}]
    assert run.result("Remove again")["diff"] == {"before": {"acl": []}, "after": {"acl": []}}
    assert run.changed == ["Not propagated", "Remove, check mode", "Remove"]
    assert entries(people, "/vms") == {("user", "root@pam", "Administrator"): 1}
    assert writes() == [("PUT", ACL), ("PUT", ACL)]


def test_bad_input_is_refused_with_the_option_named(run_playbook, people, pve_env, writes):
    run = run_playbook("""
        - name: Bad path
          proxgate.core.proxmox_acl:
            path: /vms/guests
            roles: [GatewayOps]
            users: [alice@pve]
          ignore_errors: true
        - name: Nobody
          proxgate.core.proxmox_acl:
            path: /vms
            roles: [GatewayOps]
          ignore_errors: true
        - name: Bad ids
          proxgate.core.proxmox_acl:
            path: /vms
            roles: [GatewayOps]
            users: [alice]
            tokens: [alice@pve]
          ignore_errors: true
        - name: Unknown role and group, check mode
          proxgate.core.proxmox_acl:
            path: /vms
            roles: [GatewayOp]
            groups: [opps]
          check_mode: true
          ignore_errors: true
        - name: Unknown user
          proxgate.core.proxmox_acl:
            path: /vms
            roles: [GatewayOps]
            users: [ghost@pve]
          ignore_errors: true
    """, env=pve_env)
    assert run.result("Bad path")["msg"].startswith("path must be a Proxmox VE ACL path such as /, /vms/100")
    assert run.result("Bad path")["msg"].endswith("got '/vms/guests'")
    assert run.result("Nobody")["msg"] == "one of users, groups and tokens must name someone to grant the roles to"
    assert run.result("Bad ids")["msg"] == (
        "users must be a Proxmox VE user id, user@realm such as alice@pve; got 'alice'; tokens must be a Proxmox VE "
        "API token id, user@realm!tokenid such as ci@pve!deploy; got 'alice@pve'")
    assert run.result("Unknown role and group, check mode")["msg"] == (
        "roles: this server has no role 'GatewayOp' (did you mean 'GatewayOps'?); "
        "groups: this server has no group 'opps' (did you mean 'ops'?)")
    assert "user 'ghost@pve' does not exist" in run.result("Unknown user")["msg"]
    assert writes() == [("PUT", ACL)]  # the unknown user's, refused by the server
    assert people.acl_entries == {}

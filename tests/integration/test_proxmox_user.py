"""proxmox_user against the test server, in both auth modes: the password write-only, never in the output."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

USERS = "/api2/json/access/users"
PASSWORD = "carol-first-password"
CREATE = f"""
    - name: User
      proxgate.core.proxmox_user:
        name: carol@pve
        password: {PASSWORD}
        email: carol@example.com
        groups: [ops]
"""


@pytest.fixture
def groups(pve):
    pve.pve.access_groups["ops"] = {"comment": None, "users": set()}
    pve.pve.access_groups["audit"] = {"comment": None, "users": set()}
    return pve.pve


@pytest.mark.each_auth
def test_create_in_check_mode_then_apply_then_nothing_to_do(run_playbook, groups, pve_env, writes):
    check = run_playbook(CREATE, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("User")
    assert predicted["changed"] is True and predicted["password_set"] is True
    assert predicted["diff"]["after"] == {"enable": True, "expire": 0, "firstname": None, "lastname": None,
                                          "email": "carol@example.com", "comment": None, "groups": ["ops"],
                                          "password": "********"}
    assert writes() == [] and "carol@pve" not in groups.access_users

    applied = run_playbook(CREATE, env=pve_env, diff=True, verbosity=3)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("User")["user"] == {"userid": "carol@pve", "enable": True, "expire": 0, "firstname": None,
                                              "lastname": None, "email": "carol@example.com", "comment": None,
                                              "groups": ["ops"]}
    assert groups.check_password("carol@pve", PASSWORD) and groups.access_groups["ops"]["users"] == {"carol@pve"}
    assert writes() == [("POST", USERS)]
    assert PASSWORD not in applied.stdout + applied.stderr

    again = run_playbook(CREATE, env=pve_env, diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("User")["changed"] is False and again.result("User")["password_set"] is False
    assert writes() == [("POST", USERS)]


def test_settings_and_groups_updated_then_removed(run_playbook, groups, pve_env, writes):
    groups.access_users["carol@pve"] = {"enable": 1, "expire": 0, "firstname": "Carol", "lastname": None,
                                        "email": None, "comment": "Old"}
    groups.access_groups["ops"]["users"].add("carol@pve")
    run = run_playbook("""
        - name: Disable, check mode
          proxgate.core.proxmox_user:
            name: carol@pve
            enable: false
          check_mode: true
        - name: Disable, expire, audit only, no comment
          proxgate.core.proxmox_user:
            userid: carol@pve
            enable: false
            expire: 4102444800
            groups: [audit]
            comment: ""
            password: not-set-on-update
        - name: Same again
          proxgate.core.proxmox_user:
            name: carol@pve
            enable: false
            expire: 4102444800
            groups: [audit]
            comment: ""
        - name: No groups
          proxgate.core.proxmox_user:
            name: carol@pve
            groups: []
        - name: Remove
          proxgate.core.proxmox_user:
            name: carol@pve
            state: absent
        - name: Remove again
          proxgate.core.proxmox_user:
            name: carol@pve
            state: absent
    """, env=pve_env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Disable, check mode")["diff"] == {"before": {"enable": True}, "after": {"enable": False}}
    assert run.result("Disable, expire, audit only, no comment")["diff"] == {
        "before": {"enable": True, "expire": 0, "comment": "Old", "groups": ["ops"]},
        "after": {"enable": False, "expire": 4102444800, "comment": None, "groups": ["audit"]}}
    assert run.result("No groups")["user"]["groups"] == []
    assert run.changed == ["Disable, check mode", "Disable, expire, audit only, no comment", "No groups", "Remove"]
    assert "carol@pve" not in groups.access_users
    assert writes() == [("PUT", USERS + "/carol@pve")] * 2 + [("DELETE", USERS + "/carol@pve")]
    assert "not-set-on-update" not in run.stdout + run.stderr


@pytest.mark.each_auth
def test_update_password_always_writes_the_password_every_run(run_playbook, groups, pve_env, auth_mode, writes):
    groups.access_users["carol@pve"] = {"enable": 1, "expire": 0}
    groups.users["carol@pve"] = "old-password"
    run = run_playbook("""
        - name: Password
          proxgate.core.proxmox_user:
            name: carol@pve
            password: new-password-1
            update_password: always
          ignore_errors: true
    """, env=pve_env, diff=True)
    result = run.result("Password")
    assert "new-password-1" not in run.stdout + run.stderr
    if auth_mode == "token":  # PVE lets no API token change a password (change_password: allowtoken 0)
        assert "API token not allowed" in result["msg"]
        assert groups.check_password("carol@pve", "old-password")
        return
    assert result["changed"] is True and result["password_set"] is True
    assert result["diff"] == {"before": {"password": "********"}, "after": {"password": "******** (changed)"}}
    assert groups.check_password("carol@pve", "new-password-1")
    assert writes() == [("PUT", "/api2/json/access/password")]


def test_bad_input_is_refused_with_the_option_named(run_playbook, groups, pve_env, writes):
    run = run_playbook("""
        - name: Bad
          proxgate.core.proxmox_user:
            name: carol
            password: short
            expire: -1
            groups: [a/b]
          ignore_errors: true
        - name: Unknown group
          proxgate.core.proxmox_user:
            name: carol@pve
            groups: [opps]
          ignore_errors: true
    """, env=pve_env)
    assert run.result("Bad")["msg"] == (
        "name must be a Proxmox VE user id, user@realm such as alice@pve; got 'carol'; password must be 8 to 64 "
        "characters long; got 5; expire must be seconds since the epoch, or 0 for never; got -1; groups must be a "
        "Proxmox VE group id (letters, digits, '.', '-' and '_'); got 'a/b'")
    assert run.result("Unknown group")["msg"] == "groups: this server has no group 'opps' (did you mean 'ops'?)"
    assert writes() == []

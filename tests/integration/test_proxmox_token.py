"""proxmox_token against the test server, in both auth modes: the secret answered once and shown nowhere else."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.integration

TOKEN = "/api2/json/access/users/ci@pve/token/deploy"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CREATE = """
    - name: Token
      proxgate.core.proxmox_token:
        user: ci@pve
        name: deploy
        comment: Deploy pipeline
        expire: 4102444800
      register: made
    - name: Shown
      ansible.builtin.debug:
        msg: "{{ made.token }}"
"""


@pytest.fixture
def ci_user(pve):
    pve.pve.users["ci@pve"] = "ci-password"
    return pve.pve


@pytest.mark.each_auth
def test_create_in_check_mode_then_once_with_the_secret_then_nothing(run_playbook, ci_user, pve_env, writes):
    check = run_playbook(CREATE, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Token")
    assert predicted["changed"] is True and predicted["secret"] is None
    assert predicted["diff"] == {"before": {}, "after": {"privsep": True, "expire": 4102444800,
                                                         "comment": "Deploy pipeline"}}
    assert writes() == []
    assert "ci@pve!deploy" not in ci_user.apitokens

    applied = run_playbook(CREATE, env=pve_env, diff=True)
    assert applied.rc == 0, applied.stdout + applied.stderr
    result = applied.result("Token")
    secret = ci_user.apitokens["ci@pve!deploy"]
    assert result["changed"] is True and result["secret"] == secret and UUID.fullmatch(secret)
    assert secret not in json.dumps(result["diff"])
    assert result["token"] == {"full_tokenid": "ci@pve!deploy", "tokenid": "deploy", "userid": "ci@pve",
                               "privsep": True, "expire": 4102444800, "comment": "Deploy pipeline"}
    assert ci_user.token_privsep["ci@pve!deploy"] is True
    assert writes() == [("POST", TOKEN)]

    again = run_playbook(CREATE, env=pve_env, diff=True, verbosity=3)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Token")["changed"] is False and again.result("Token")["secret"] is None
    assert secret not in again.stdout + again.stderr + json.dumps(again.results)
    assert writes() == [("POST", TOKEN)]
    assert ci_user.apitokens["ci@pve!deploy"] == secret


def test_no_log_keeps_the_secret_out_of_the_output_but_in_the_registered_result(run_playbook, ci_user, pve_env):
    run = run_playbook("""
        - name: Token
          proxgate.core.proxmox_token:
            user: ci@pve
            name: deploy
          register: made
          no_log: true
        - name: Its length
          ansible.builtin.debug:
            msg: "{{ made.secret | length }}"
    """, env=pve_env, verbosity=3)
    assert run.rc == 0, run.stdout + run.stderr
    secret = ci_user.apitokens["ci@pve!deploy"]
    assert secret not in run.stdout + run.stderr
    assert run.result("Its length")["msg"] == 36


def test_privsep_expire_comment_updated_then_removed(run_playbook, ci_user, pve_env, writes):
    ci_user.apitokens["ci@pve!deploy"] = "old-secret-0000"
    ci_user.token_info["ci@pve!deploy"] = {"expire": 0, "comment": "Old"}
    run = run_playbook("""
        - name: Not separated, check mode
          proxgate.core.proxmox_token:
            user: ci@pve
            name: deploy
            privsep: false
          check_mode: true
        - name: Not separated, expiring, no comment
          proxgate.core.proxmox_token:
            userid: ci@pve
            tokenid: deploy
            privsep: false
            expire: 4102444800
            comment: ""
        - name: Same again
          proxgate.core.proxmox_token:
            user: ci@pve
            name: deploy
            privsep: false
            expire: 4102444800
            comment: ""
        - name: Nothing given
          proxgate.core.proxmox_token:
            user: ci@pve
            name: deploy
        - name: Remove
          proxgate.core.proxmox_token:
            user: ci@pve
            name: deploy
            state: absent
        - name: Remove again
          proxgate.core.proxmox_token:
            user: ci@pve
            name: deploy
            state: absent
    """, env=pve_env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Not separated, check mode")["diff"] == {"before": {"privsep": True}, "after": {"privsep": False}}
    assert run.result("Not separated, expiring, no comment")["diff"] == {
        "before": {"privsep": True, "expire": 0, "comment": "Old"},
        "after": {"privsep": False, "expire": 4102444800, "comment": None}}
    assert run.result("Nothing given")["token"]["privsep"] is False
    assert run.result("Remove")["diff"] == {"before": {"privsep": False, "expire": 4102444800, "comment": None},
                                            "after": {}}
    assert run.changed == ["Not separated, check mode", "Not separated, expiring, no comment", "Remove"]
    assert "ci@pve!deploy" not in ci_user.apitokens
    assert writes() == [("PUT", TOKEN), ("DELETE", TOKEN)]
    assert "old-secret-0000" not in run.stdout + run.stderr


def test_bad_input_is_refused_with_the_option_named(run_playbook, ci_user, pve_env, writes):
    run = run_playbook("""
        - name: Bad ids
          proxgate.core.proxmox_token:
            user: ci
            name: 1deploy
            expire: -1
          ignore_errors: true
        - name: No such user
          proxgate.core.proxmox_token:
            user: ghost@pve
            name: deploy
          ignore_errors: true
    """, env=pve_env)
    assert run.result("Bad ids")["msg"] == (
        "user must be a Proxmox VE user id, user@realm such as alice@pve; got 'ci'; name must be a Proxmox VE token "
        "id (a letter, then letters, digits, '.', '-' and '_', at least two characters); got '1deploy'; expire must "
        "be seconds since the epoch, or 0 for never; got -1")
    assert "no such user ('ghost@pve')" in run.result("No such user")["msg"]
    assert writes() == []

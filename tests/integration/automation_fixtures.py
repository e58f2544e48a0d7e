"""The automation account of playbooks/automation_account.yml, made on the Proxmox test server by running the
playbook as root@pam's token: the tests that use it then run the collection as that account's tokens, whose
privileges the server computes from the roles and ACLs the playbook made (privilege separation included)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, TOKEN_ID, TOKEN_SECRET

PLAYBOOK = REPO / "playbooks" / "automation_account.yml"
USER = "automation@pve"


@dataclass
class AutomationAccount:
    tokens: dict  # token name -> (full token id, secret)
    run: object  # the playbook's PlaybookRun
    secret_dir: Path

    def env(self, pve, token="ansible"):
        """The PROXMOX_* environment of one of its tokens."""
        token_id, secret = self.tokens[token]
        return {"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile,
                "PROXMOX_TOKEN_ID": token_id, "PROXMOX_TOKEN_SECRET": secret}


def read_secret_file(path):
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if line)
    return values["PROXMOX_TOKEN_ID"].strip("'"), values["PROXMOX_TOKEN_SECRET"].strip("'")


def root_env(pve):
    return {"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile,
            "PROXMOX_TOKEN_ID": TOKEN_ID, "PROXMOX_TOKEN_SECRET": TOKEN_SECRET}


@pytest.fixture
def make_automation_account(pve, run_playbook, tmp_path):
    """make_automation_account(extra_vars=None) -> AutomationAccount: playbooks/automation_account.yml run as root
    (with the secrets written below tmp_path); permissions are checked from then on, as on a node."""

    def make(extra_vars=None, check=False):
        secret_dir = tmp_path / "secrets"
        # --diff: the secrets stay out of the output even so (test_automation_account.py looks).
        run = run_playbook(None, env=root_env(pve), playbook=PLAYBOOK, check=check, diff=True,
                           extra_vars={"automation_secret_dir": str(secret_dir), **(extra_vars or {})})
        assert run.rc == 0, run.stdout + run.stderr
        if pve.pve.acl is None:
            pve.pve.acl = {}  # fakepve checks permissions only once an ACL exists; root@pam holds all anyway
        tokens = {}
        for path in sorted(secret_dir.glob("*.env")) if secret_dir.exists() else []:
            token_id, secret = read_secret_file(path)
            tokens[token_id.split("!", 1)[1]] = (token_id, secret)
        return AutomationAccount(tokens, run, secret_dir)

    return make

"""rustguac_user, rustguac_token and rustguac_group_mapping refuse a name with a control character (a newline, a
tab, ESC) before any request, the login included, naming the option: such a name is no one's, and garbles the
logs and terminals it is shown in (issue #15, names). Real playbook runs against the rustguac emulator."""

from __future__ import annotations

import pytest

from tests.integration import rustguac_fixtures
from tests.integration.rustguac_fixtures import rg_env

pytestmark = pytest.mark.integration

rustguac = rustguac_fixtures.rustguac

TASKS = """
- name: user
  proxgate.core.rustguac_user:
    email: "alice@example.com\\nadmin"
    role: admin
  ignore_errors: true
- name: token
  proxgate.core.rustguac_token:
    name: "ci\\u001b[2Jdeploy"
    email: alice@example.com
    max_role: operator
  ignore_errors: true
- name: mapping
  proxgate.core.rustguac_group_mapping:
    oidc_group: "ops\\tadmins"
    role: operator
  ignore_errors: true
"""


def test_a_control_character_in_a_name_is_refused_before_any_request(rustguac, run_playbook):
    run = run_playbook(TASKS, env=rg_env(rustguac))
    messages = {name: run.result(name)["msg"] for name in ("user", "token", "mapping")}
    assert messages == {
        "user": "email must hold no control character; got 'alice@example.com\\nadmin', which holds '\\n'",
        "token": "name must hold no control character; got 'ci\\x1b[2Jdeploy', which holds '\\x1b'",
        "mapping": "oidc_group must hold no control character; got 'ops\\tadmins', which holds '\\t'",
    }
    assert rustguac.requests == [], "a request reached rustguac"

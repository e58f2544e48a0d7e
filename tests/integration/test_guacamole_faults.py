"""Issue #17, finding 1, for Guacamole: a reply lost after the server acted (the emulator carries the request
out, then closes the connection without answering: lose_reply_next). Through real ansible-playbook runs:
a DELETE sent again that finds nothing is success, not an error; a POST is never sent again (it would create
twice), the failure says the server may have acted, and a plain rerun finishes with nothing duplicated."""

from __future__ import annotations

import pytest

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import guac_env, writes

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server

WEB01 = """
- name: web01
  proxgate.core.guacamole_connection:
    name: web01
    protocol: ssh
    parameters: {hostname: 10.20.0.11, port: 22}
    state: %s
    api_retries: 2
  ignore_errors: true
"""


def test_a_delete_whose_reply_was_lost_is_done(guac, run_playbook):
    identifier = guac.add_connection("web01", parameters={"hostname": "10.20.0.11", "port": "22"})
    guac.lose_reply_next(method="DELETE", path_contains=f"/connections/{identifier}")

    run = run_playbook(WEB01 % "absent", env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("web01")
    assert result.get("failed") is not True and result["changed"] is True, result
    assert guac.state()["connections"] == {}
    assert writes(guac) == [("DELETE", f"connections/{identifier}")] * 2, "sent once more, found gone: success"


def test_a_create_whose_reply_was_lost_is_not_sent_again_and_a_rerun_finishes(guac, run_playbook):
    guac.lose_reply_next(method="POST", path_contains="/connections")

    first = run_playbook(WEB01 % "present", env=guac_env(guac))
    msg = first.result("web01")["msg"]
    assert "POST /session/data/postgresql/connections failed" in msg, msg
    assert "the server may have carried it out; it was not sent again" in msg
    assert writes(guac) == [("POST", "connections")], "a create is never sent twice"
    assert len(guac.state()["connections"]) == 1, "the server did create it"

    again = run_playbook(WEB01 % "present", env=guac_env(guac))
    assert again.rc == 0 and again.result("web01")["changed"] is False, again.stdout
    assert len(guac.state()["connections"]) == 1 and writes(guac) == [("POST", "connections")]

"""Names of Guacamole objects (issue #15 finding 6 and "names with control characters"): a connection,
connection group, sharing profile, user or user group name that is '.', '..', empty, holds a control
character or is longer than Guacamole stores is refused before any call, the login included, with a message
naming the option and showing the value as repr.

The bound is guacamole-client's JDBC schema (guacamole-auth-jdbc-postgresql schema/001-create-schema.sql):
connection_name, connection_group_name, sharing_profile_name and guacamole_entity.name are VARCHAR(128).
"""

from __future__ import annotations

import json

import pytest

from tests.emulators.guacamole import GuacamoleEmulator
from tests.integration import guacamole_fixtures
from tests.integration.batch_fixtures import failed_message, once_for_all_workers, run_tasks
from tests.integration.guacamole_fixtures import ADMIN_PASSWORD, guac_env

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server

EXPECTED = "must be a Guacamole name (1 to 128 characters, no control character, not '.' or '..'); got "
LONG = "x" * 129

# (module, the option as the message names it, the value, the other options, why it is refused)
CASES = [
    ("guacamole_connection", "name", "..", "protocol: ssh", "which is a dot segment in a URL"),
    ("guacamole_connection", "name", "web\n01", "protocol: ssh", "which holds the control character '\\n'"),
    ("guacamole_connection", "name", LONG, "protocol: ssh",
     "which has 129 characters, and Guacamole stores at most 128"),
    ("guacamole_connection_group", "name", ".", "type: ORGANIZATIONAL", "which is a dot segment in a URL"),
    ("guacamole_connection_group", "name", "ops\x1b[31m", "type: ORGANIZATIONAL",
     "which holds the control character '\\x1b'"),
    ("guacamole_sharing_profile", "name", "watch\tonly", "connection: web01",
     "which holds the control character '\\t'"),
    ("guacamole_sharing_profile", "name", LONG, "connection: web01",
     "which has 129 characters, and Guacamole stores at most 128"),
    ("guacamole_user", "username", "..", "password: s3cret-pw", "which is a dot segment in a URL"),
    ("guacamole_user", "username", "alice\x00", "password: s3cret-pw",
     "which holds the control character '\\x00'"),
    ("guacamole_user", "username", LONG, "password: s3cret-pw",
     "which has 129 characters, and Guacamole stores at most 128"),
    ("guacamole_user_group", "name", ".", "", "which is a dot segment in a URL"),
    ("guacamole_user_group", "name", "ops\r", "", "which holds the control character '\\r'"),
    ("guacamole_permissions", "user", "..", "system: [CREATE_USER]", "which is a dot segment in a URL"),
    ("guacamole_permissions", "user_group", ".", "system: [CREATE_USER]", "which is a dot segment in a URL"),
    ("guacamole_permissions", "user", "bob\n", "system: [CREATE_USER]", "which holds the control character '\\n'"),
]


# (where the message says the name is, the connection, why it is refused)
SYNC_CASES = [
    ("connections[0].name", {"name": "..", "protocol": "ssh"}, "which is a dot segment in a URL"),
    ("connections[0].name", {"name": "web\n01", "protocol": "ssh"}, "which holds the control character '\\n'"),
    ("connections[0].group[1]", {"name": "web01", "protocol": "ssh", "group": ["pve1", ".."]},
     "which is a dot segment in a URL"),
    ("connections[0].group[0]", {"name": "web01", "protocol": "ssh", "group": [LONG]},
     "which has 129 characters, and Guacamole stores at most 128"),
]
GRANT_TASK = """
- name: Bad grant
  proxgate.core.guacamole_permissions:
    user: alice
    users: [{name: "..", permissions: [READ]}]
    user_groups: [{name: "ops\\t", permissions: [READ]}]
"""


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """Every refusal below as a task of one playbook run against one emulator (batch_fixtures.py). (the run, the
    requests the emulator saw)."""
    tasks = [f"- name: Bad name {index}\n  proxgate.core.{module}:\n    {option}: {json.dumps(value)}\n    {extra}\n"
             for index, (module, option, value, extra, _why) in enumerate(CASES)]
    tasks += [f"- name: Bad sync {index}\n  proxgate.core.guacamole_sync_connections:\n    root: Proxmox\n"
              f"    connections: [{json.dumps(connection)}]\n"
              for index, (_where, connection, _why) in enumerate(SYNC_CASES)]
    tasks.append(GRANT_TASK)

    def make(workdir):
        emu = GuacamoleEmulator(host="127.0.0.1", port=0, version="1.6.0", admin_password=ADMIN_PASSWORD).start()
        try:
            return run_tasks(workdir, tasks, guac_env(emu)), list(emu.requests)
        finally:
            emu.stop()
    return once_for_all_workers(tmp_path_factory, "guacamole-name-refusals", make)


def refused(refusals, task):
    return failed_message(refusals[0], task)


@pytest.mark.parametrize("index, module, option, value, extra, why",
                         [(index, *case) for index, case in enumerate(CASES)],
                         ids=[f"{case[0]}-{case[1]}-{case[4].split()[-1]}" for case in CASES])
def test_a_bad_name_is_refused_before_any_call(refusals, index, module, option, value, extra, why):
    assert refused(refusals, f"Bad name {index}") == f"{option} {EXPECTED}{value!r}, {why}"
    assert refusals[1] == [], "refused before the login: nothing reaches the server"


@pytest.mark.parametrize("index, where, connection, why", [(index, *case) for index, case in enumerate(SYNC_CASES)])
def test_sync_connections_refuses_a_bad_name_or_group_level(refusals, index, where, connection, why):
    value = connection["name"] if where.endswith(".name") else connection["group"][int(where[-2])]
    assert f"{where} {EXPECTED}{value!r}, {why}" in refused(refusals, f"Bad sync {index}")
    assert refusals[1] == []


def test_permissions_refuses_a_bad_user_or_group_named_in_a_grant(refusals):
    msg = refused(refusals, "Bad grant")
    assert f"users[0].name {EXPECTED}'..', which is a dot segment in a URL" in msg
    assert f"user_groups[0].name {EXPECTED}'ops\\t', which holds the control character '\\t'" in msg
    assert refusals[1] == []


@pytest.mark.parametrize("module, option, extra", [
    ("guacamole_connection", "name", "protocol: ssh\n            parameters: {hostname: 10.0.0.5}"),
    ("guacamole_user_group", "name", ""),
])
def test_a_name_of_128_characters_with_dots_is_written(run_playbook, guac, module, option, extra):
    """The bound is Guacamole's own: 128 characters, and dots inside a name, are good names."""
    name = "web..01." + "x" * 120
    run = run_playbook(f"""
        - name: Good name
          proxgate.core.{module}:
            {option}: {json.dumps(name)}
            {extra}
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Good name")["changed"] is True
    state = guac.state()
    names = ([c["name"] for c in state["connections"].values()] if module == "guacamole_connection"
             else list(state["user_groups"]))
    assert name in names

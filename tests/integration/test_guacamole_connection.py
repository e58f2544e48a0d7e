"""guacamole_connection through real ansible-playbook runs against the Guacamole emulator."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration import guacamole_fixtures
from tests.integration.guacamole_fixtures import (
    assert_no_session_left,
    bodies,
    guac_env,
    writes,
)

pytestmark = pytest.mark.integration

guac = guacamole_fixtures.guac
guacamole_server = guacamole_fixtures.guacamole_server

SECRET = "S3cret-Ssh-Passw0rd"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-very-secret\n-----END OPENSSH PRIVATE KEY-----"

WEB01 = f"""
- name: web01
  proxgate.core.guacamole_connection:
    name: web01
    parent: Production/Web
    protocol: ssh
    parameters:
      hostname: 10.20.0.11
      port: 22
      username: deploy
      password: "{SECRET}"
      enable-sftp: true
    attributes:
      max-connections: 4
"""


def production_web(emu, data_source=None):
    production = emu.add_connection_group("Production", data_source=data_source)
    return emu.add_connection_group("Web", parent=production, data_source=data_source)


def only_connection(emu, data_source=None):
    connections = emu.state(data_source)["connections"]
    assert len(connections) == 1, connections
    return next(iter(connections.values()))


@pytest.mark.parametrize("version", ["1.5.5", "1.6.0"])
def test_check_create_verify_and_idempotent(guacamole_server, run_playbook, version):
    emu = guacamole_server(version=version)
    web = production_web(emu)
    env = guac_env(emu)

    checked = run_playbook(WEB01, env=env, check=True, diff=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    result = checked.result("web01")
    assert result["changed"] is True
    assert result["connection"]["identifier"] is None
    assert result["diff"]["after"]["parameters"]["password"] == "********"
    assert result["diff"]["after"]["parent"] == "Production/Web"
    assert writes(emu) == []
    assert emu.state()["connections"] == {}

    applied = run_playbook(WEB01, env=env, diff=True)
    assert applied.rc == 0, applied.stdout + applied.stderr
    result = applied.result("web01")
    assert result["changed"] is True
    assert writes(emu) == [("POST", "connections")]
    stored = only_connection(emu)
    assert stored["parentIdentifier"] == web and stored["protocol"] == "ssh"
    assert stored["parameters"] == {"hostname": "10.20.0.11", "port": "22", "username": "deploy",
                                    "password": SECRET, "enable-sftp": "true"}
    assert stored["attributes"]["max-connections"] == "4"
    assert result["connection"]["identifier"] == stored["identifier"]
    assert result["connection"]["parameters"]["password"] == "********"

    again = run_playbook(WEB01, env=env, diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("web01")["changed"] is False
    assert again.result("web01")["changed_parameters"] == []
    assert writes(emu) == [("POST", "connections")], "the second run writes nothing"
    assert_no_session_left(emu)


def test_update_sends_the_full_parameter_set_and_only_when_different(guac, run_playbook):
    connection = guac.add_connection("db01", "ssh", {"hostname": "10.0.0.5", "username": "root",
                                                     "password": SECRET, "color-scheme": "green-black"},
                                     attributes={"max-connections": "2"})
    env = guac_env(guac)
    tasks = """
        - name: db01
          proxgate.core.guacamole_connection:
            name: db01
            protocol: ssh
            parameters:
              hostname: 10.0.0.6
              port: 2222
            attributes:
              weight: 5
    """
    checked = run_playbook(tasks, env=env, check=True, diff=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    result = checked.result("db01")
    assert result["changed"] is True
    assert result["changed_parameters"] == ["hostname", "port"]
    assert result["diff"]["before"] == {"parameters": {"hostname": "10.0.0.5", "port": None},
                                        "attributes": {"weight": None}}
    assert result["diff"]["after"] == {"parameters": {"hostname": "10.0.0.6", "port": "2222"},
                                       "attributes": {"weight": "5"}}
    assert writes(guac) == []

    applied = run_playbook(tasks, env=env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert writes(guac) == [("PUT", f"connections/{connection}")]
    stored = guac.state()["connections"][connection]
    # Parameters the task does not name are kept: the PUT carried them.
    assert stored["parameters"] == {"hostname": "10.0.0.6", "port": "2222", "username": "root",
                                    "password": SECRET, "color-scheme": "green-black"}
    assert stored["attributes"]["max-connections"] == "2" and stored["attributes"]["weight"] == "5"
    put = bodies(guac, "PUT", f"connections/{connection}")[0]
    assert put["parameters"]["password"] == "********", "the emulator log redacts it; it was sent"

    again = run_playbook(tasks, env=env)
    assert again.result("db01")["changed"] is False
    assert writes(guac) == [("PUT", f"connections/{connection}")]


def test_purge_and_unset_parameters(guac, run_playbook):
    connection = guac.add_connection("vnc1", "vnc", {"hostname": "h", "port": "5901", "read-only": "true",
                                                     "password": SECRET})
    run = run_playbook("""
        - name: vnc1
          proxgate.core.guacamole_connection:
            name: vnc1
            protocol: vnc
            purge_parameters: true
            parameters:
              hostname: h
              port: 5900
              read-only: false
    """, env=guac_env(guac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("vnc1")
    assert result["changed_parameters"] == ["password", "port", "read-only"]
    assert result["diff"]["before"]["parameters"] == {"password": "********", "port": "5901", "read-only": "true"}
    assert result["diff"]["after"]["parameters"] == {"password": None, "port": "5900", "read-only": None}
    assert guac.state()["connections"][connection]["parameters"] == {"hostname": "h", "port": "5900"}


def test_update_password_always_and_on_create(guac, run_playbook):
    connection = guac.add_connection("rdp1", "rdp", {"hostname": "w", "password": "changed-in-the-ui"})
    env = guac_env(guac)
    on_create = f"""
        - name: rdp1
          proxgate.core.guacamole_connection:
            name: rdp1
            protocol: rdp
            update_password: on_create
            parameters:
              hostname: w
              password: "{SECRET}"
    """
    run = run_playbook(on_create, env=env)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("rdp1")["changed"] is False, "on_create never compares a secret of an existing connection"
    assert guac.state()["connections"][connection]["parameters"]["password"] == "changed-in-the-ui"
    assert writes(guac) == []

    always = on_create.replace("update_password: on_create", "update_password: always")
    run = run_playbook(always, env=env, diff=True)
    assert run.result("rdp1")["changed"] is True
    assert run.result("rdp1")["changed_parameters"] == ["password"]
    assert run.result("rdp1")["diff"]["after"] == {"parameters": {"password": "********"}}
    assert guac.state()["connections"][connection]["parameters"]["password"] == SECRET

    run = run_playbook(always, env=env)
    assert run.result("rdp1")["changed"] is False, "always: equal to the stored value, nothing written"
    assert writes(guac) == [("PUT", f"connections/{connection}")]

    # A secret changed in the UI while other parameters change: on_create keeps the stored one in the PUT.
    run = run_playbook(on_create.replace("hostname: w", "hostname: w2").replace(SECRET, "ignored-value"), env=env)
    assert run.result("rdp1")["changed_parameters"] == ["hostname"]
    assert guac.state()["connections"][connection]["parameters"] == {"hostname": "w2", "password": SECRET}


def test_new_connection_with_on_create_sets_the_secret(guac, run_playbook):
    run = run_playbook(f"""
        - name: k8s
          proxgate.core.guacamole_connection:
            name: pod-shell
            protocol: kubernetes
            update_password: on_create
            parameters:
              hostname: k8s.example.com
              client-key: {json.dumps(KEY)}
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert only_connection(guac)["parameters"]["client-key"] == KEY


def test_secrets_never_in_verbose_output(guac, run_playbook):
    production_web(guac)
    run = run_playbook(WEB01 + f"""
- name: key
  proxgate.core.guacamole_connection:
    name: web02
    parent: Production/Web
    protocol: ssh
    parameters:
      hostname: 10.20.0.12
      private-key: {json.dumps(KEY)}
      passphrase: "{SECRET}-pass"
""", env=guac_env(guac), diff=True, verbosity=4)
    assert run.rc == 0, run.stdout + run.stderr
    everything = run.stdout + run.stderr + json.dumps(run.results, default=str)
    for secret in (SECRET, "very-secret", f"{SECRET}-pass", guac_env(guac)["GUACAMOLE_PASSWORD"]):
        assert secret not in everything
    assert "Guacamole-Token" not in everything
    for token in guac.sessions():
        assert token not in everything
    assert_no_session_left(guac)


def test_absent_deletes_then_is_idempotent(guac, run_playbook):
    web = production_web(guac)
    connection = guac.add_connection("old", "telnet", {"hostname": "t"}, parent=web)
    tasks = """
        - name: gone
          proxgate.core.guacamole_connection:
            name: old
            parent: /Production/Web/
            state: absent
    """
    checked = run_playbook(tasks, env=guac_env(guac), check=True, diff=True)
    assert checked.result("gone")["changed"] is True
    assert checked.result("gone")["diff"]["before"]["parent"] == "Production/Web"
    assert writes(guac) == []
    run = run_playbook(tasks, env=guac_env(guac))
    assert run.result("gone")["changed"] is True
    assert writes(guac) == [("DELETE", f"connections/{connection}")]
    assert guac.state()["connections"] == {}
    again = run_playbook(tasks + tasks.replace("/Production/Web/", "Nope/Missing"), env=guac_env(guac))
    assert again.rc == 0, again.stdout
    assert again.changed == []
    assert writes(guac) == [("DELETE", f"connections/{connection}")]


def test_parent_identifier_and_data_source(guac, run_playbook):
    group = guac.add_connection_group("Shared", data_source="postgresql-shared")
    run = run_playbook(f"""
        - name: in shared
          proxgate.core.guacamole_connection:
            name: s1
            parent_identifier: "{group}"
            protocol: ssh
            parameters: {{hostname: s1}}
    """, env=guac_env(guac, GUACAMOLE_DATA_SOURCE="postgresql-shared"))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("in shared")["connection"]["parent"] == "Shared"
    assert only_connection(guac, "postgresql-shared")["parentIdentifier"] == group
    assert guac.state()["connections"] == {}


BAD_INPUTS = [
    ("parameters: {hostnme: x}", ["parameters: unknown parameter 'hostnme'", "Did you mean hostname",
                                  "protocol ssh"]),
    ("parameters: {port: twenty-two}", ["parameters.port", "whole number", "'twenty-two'"]),
    ("parameters: {enable-sftp: maybe}", ["parameters.enable-sftp", "boolean"]),
    ("parameters: {terminal-type: vt999}", ["parameters.terminal-type", "xterm", "'vt999'"]),
    ("parameters: {hostname: [a, b]}", ["parameters.hostname", "expected a string"]),
    ("attributes: {max-conections: 2}", ["attributes: unknown attribute 'max-conections'",
                                         "Did you mean max-connections"]),
    ("attributes: {guacd-encryption: tls}", ["attributes.guacd-encryption", "none, ssl"]),
    ("parent: Production/Nope", ["parent: connection group 'Production/Nope' does not exist",
                                 "no group 'Nope' in 'Production'"]),
    ("parent: Production//Web", ["empty group name"]),
    ("parent_identifier: '99'", ["parent_identifier", "'99'"]),
    ("protocol: spice", ["protocol", "spice"]),
    ("name: '  '", ["name must not be empty"]),
    ("update_password: sometimes", ["update_password", "always, on_create"]),
    ("state: gone", ["state", "present, absent"]),
]


def test_bad_input_is_refused_naming_the_option(guac, run_playbook):
    production_web(guac)
    tasks = []
    for number, (line, _words) in enumerate(BAD_INPUTS):
        options = {"name": "name: bad", "protocol": "protocol: ssh", "parent": "parent: Production/Web"}
        key = line.split(":")[0]
        options["parent" if key == "parent_identifier" else key] = line
        body = "\n    ".join(options.values())
        tasks.append(f"- name: bad{number}\n  ignore_errors: true\n  proxgate.core.guacamole_connection:\n"
                     f"    {body}\n")
    run = run_playbook("".join(tasks), env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    failed = {record["task"] for record in run.failed}
    for number, (line, words) in enumerate(BAD_INPUTS):
        result = run.result(f"bad{number}")
        assert f"bad{number}" in failed, (line, result)
        for word in words:
            assert word in result["msg"], (line, result["msg"])
    assert "Traceback" not in run.stdout + run.stderr
    assert writes(guac) == []
    assert guac.sessions() == {}


def test_unknown_parameters_allowed_on_request(guac, run_playbook):
    run = run_playbook("""
        - name: new guacd
          proxgate.core.guacamole_connection:
            name: n
            protocol: ssh
            allow_unknown_parameters: true
            parameters: {hostname: n, future-option: "on"}
    """, env=guac_env(guac))
    assert run.rc == 0, run.stdout + run.stderr
    assert only_connection(guac)["parameters"] == {"hostname": "n", "future-option": "on"}


def test_non_admin_gets_a_clear_permission_error(guac, run_playbook):
    guac.add_user("operator", "op-Pa55")
    run = run_playbook("""
        - name: create
          proxgate.core.guacamole_connection:
            name: x
            protocol: ssh
            parameters: {hostname: x}
    """, env=guac_env(guac, "operator", "op-Pa55"))
    assert run.rc != 0
    result = run.result("create")
    assert result["error_type"] == "PERMISSION_DENIED" and result["status"] == 403
    assert "POST /session/data/postgresql/connections failed: HTTP 403 PERMISSION_DENIED" in result["msg"]
    assert "CREATE_CONNECTION" in result["msg"] and "'operator'" in result["msg"]
    assert guac.state()["connections"] == {}
    assert_no_session_left(guac)


def test_user_with_create_connection_can_create_and_then_update(guac, run_playbook):
    guac.add_user("operator", "op-Pa55", system_permissions=["CREATE_CONNECTION"])
    tasks = """
        - name: create
          proxgate.core.guacamole_connection:
            name: mine
            protocol: ssh
            parameters: {hostname: "{{ host }}"}
    """
    env = guac_env(guac, "operator", "op-Pa55")
    assert run_playbook(tasks, env=env, extra_vars={"host": "a"}).rc == 0
    run = run_playbook(tasks, env=env, extra_vars={"host": "b"})
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("create")["changed"] is True
    assert only_connection(guac)["parameters"] == {"hostname": "b"}


@pytest.mark.parametrize("version", ["1.5.5", "1.6.0"])
def test_a_key_longer_than_guacamole_stores_is_refused_before_any_write(guacamole_server, run_playbook, version):
    """Issue #14, item 6: an RSA-8192 private key in PEM is about 6,400 characters; Guacamole stores at most 4096
    (1.6 answers 413, 1.5 a database error, 500). The module says so, naming the parameter, and never shows the
    key."""
    emu = guacamole_server(version=version)
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "A" * 6400 + "\n-----END OPENSSH PRIVATE KEY-----\n"
    run = run_playbook(f"""
        - name: web01
          proxgate.core.guacamole_connection:
            name: web01
            protocol: ssh
            parameters:
              hostname: 10.20.0.11
              private-key: {json.dumps(key)}
          ignore_errors: true
    """, env=guac_env(emu))
    assert run.rc == 0, run.stdout + run.stderr
    msg = run.result("web01")["msg"]
    assert re.match(r"parameters\.private-key: the value has 64\d\d characters, and Guacamole stores at most 4096 ",
                    msg), msg
    assert "RSA 8192" in msg and "A" * 50 not in run.stdout + run.stderr
    assert writes(emu) == []


@pytest.mark.parametrize("version", ["1.5.5", "1.6.0"])
def test_parameters_new_in_16_are_accepted_by_16_only(guacamole_server, run_playbook, version):
    """Issue #14, item 7: the parameters are checked against the server's own schema, so 1.6's timeout,
    cert-tofu, cert-fingerprints and disable-gfx are good on 1.6 and unknown on 1.5."""
    emu = guacamole_server(version=version)
    run = run_playbook("""
        - name: desktop
          proxgate.core.guacamole_connection:
            name: desktop
            protocol: rdp
            parameters: {hostname: 10.20.0.12, timeout: 30, cert-tofu: true, disable-gfx: true,
                         cert-fingerprints: "sha256:ab12", server-layout: ro-ro-qwerty}
          ignore_errors: true
    """, env=guac_env(emu))
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("desktop")
    if version == "1.6.0":
        assert result["changed"] is True, result
        assert only_connection(emu)["parameters"]["cert-tofu"] == "true"
    else:
        assert result["msg"].startswith("parameters: unknown parameter 'timeout'"), result["msg"]
        assert writes(emu) == []

"""GuacamoleModule: auth options from the environment, login, the token deleted at the end of every run
(also a failed one), and errors turned into fail_json naming the call, the status and Guacamole's message.

The server is the Guacamole emulator in this process, on loopback.
"""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import GuacamoleError
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import (
    GuacamoleModule,
    client_from_params,
    guacamole_auth_argument_spec,
)
from tests.emulators.guacamole import GuacamoleEmulator


@pytest.fixture
def emu():
    server = GuacamoleEmulator(version="1.6.0").start()
    yield server
    server.stop()


class ListConnections(GuacamoleModule):
    argument_spec = dict(fail_with=dict(type="str"), missing=dict(type="bool", default=False))

    def run(self):
        if self.params["fail_with"]:
            self.fail(self.params["fail_with"])
        if self.params["missing"]:
            self.client.get("connections/404")
        return dict(changed=False, connections=self.client.get("connections"), data_source=self.client.data_source)


def run_module(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit):
        ListConnections().execute()
    return json.loads(capsys.readouterr().out)


def env_auth(monkeypatch, emu, **extra):
    monkeypatch.setenv("GUACAMOLE_URL", emu.url)
    monkeypatch.setenv("GUACAMOLE_USERNAME", "guacadmin")
    monkeypatch.setenv("GUACAMOLE_PASSWORD", "guacadmin")
    for key, value in extra.items():
        monkeypatch.setenv(key, value)


def test_auth_from_environment_and_token_deleted(emu, monkeypatch, capsys):
    emu.add_connection("web01")
    env_auth(monkeypatch, emu, GUACAMOLE_DATA_SOURCE="postgresql-shared")
    result = run_module({}, capsys)
    assert result["data_source"] == "postgresql-shared"
    assert result["connections"] == {}, "the connection is in the other data source"
    assert emu.sessions() == {}
    assert [entry[0:2] for entry in emu.requests][-1] == ("DELETE", "/guacamole/api/tokens/********")


def test_token_deleted_when_the_module_fails(emu, monkeypatch, capsys):
    env_auth(monkeypatch, emu)
    result = run_module({"fail_with": "bad input"}, capsys)
    assert result["failed"] and result["msg"] == "bad input"
    assert emu.sessions() == {}


def test_api_error_is_reported_with_status_and_type_and_token_deleted(emu, monkeypatch, capsys):
    env_auth(monkeypatch, emu)
    result = run_module({"missing": True}, capsys)
    assert result["msg"] == 'GET /session/data/postgresql/connections/404 failed: HTTP 404 NOT_FOUND: Not found: "404"'
    assert result["status"] == 404 and result["error_type"] == "NOT_FOUND"
    assert emu.sessions() == {}


def test_bad_password_is_clear_and_secret_free(emu, monkeypatch, capsys):
    env_auth(monkeypatch, emu, GUACAMOLE_PASSWORD="wrong-horse")
    result = run_module({}, capsys)
    assert result["failed"]
    assert "invalid login" in result["msg"] and "'guacadmin'" in result["msg"]
    assert result["error_type"] == "INVALID_CREDENTIALS"
    assert "wrong-horse" not in json.dumps(result)


def test_missing_auth_names_the_option(emu, monkeypatch, capsys):
    monkeypatch.setenv("GUACAMOLE_URL", emu.url)
    monkeypatch.delenv("GUACAMOLE_USERNAME", raising=False)
    monkeypatch.delenv("GUACAMOLE_PASSWORD", raising=False)
    result = run_module({}, capsys)
    assert "api_username" in result["msg"] and "api_password" in result["msg"]


def test_permission_denied_names_the_user(emu, monkeypatch, capsys):
    emu.add_user("bob", "pw")
    env_auth(monkeypatch, emu, GUACAMOLE_USERNAME="bob", GUACAMOLE_PASSWORD="pw")

    class Create(GuacamoleModule):
        def run(self):
            self.client.post("connections", {"name": "x", "protocol": "ssh", "parentIdentifier": "ROOT",
                                             "parameters": {}, "attributes": {}})
            return {}
    with patch_module_args({}), pytest.raises(SystemExit):
        Create().execute()
    result = json.loads(capsys.readouterr().out)
    assert result["error_type"] == "PERMISSION_DENIED" and result["status"] == 403
    assert "user 'bob' lacks a permission" in result["msg"]
    assert emu.sessions() == {}


@pytest.mark.parametrize("params, word", [
    ({"api_timeout": 0}, "api_timeout"),
    ({"api_retries": -1}, "api_retries"),
    ({"data_source": " "}, "data_source"),
])
def test_client_options_are_checked(params, word):
    base = {"api_url": "https://gw/guacamole", "api_username": "u", "api_password": "p"}
    with pytest.raises(GuacamoleError, match=word):
        client_from_params(dict(base, **params))


def test_every_auth_option_has_its_environment_variable():
    spec = guacamole_auth_argument_spec()
    env = {name: option["fallback"][1][0] for name, option in spec.items() if "fallback" in option}
    assert env == {"api_url": "GUACAMOLE_URL", "api_username": "GUACAMOLE_USERNAME",
                   "api_password": "GUACAMOLE_PASSWORD", "data_source": "GUACAMOLE_DATA_SOURCE",
                   "validate_certs": "GUACAMOLE_VALIDATE_CERTS", "ca_path": "GUACAMOLE_CA_PATH"}
    assert spec["api_password"]["no_log"] and spec["api_totp"]["no_log"]

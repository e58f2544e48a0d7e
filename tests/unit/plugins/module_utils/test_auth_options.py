"""The Proxmox auth options as community.proxmox's playbooks and credentials give them: api_host and api_port
instead of api_url, and the PROXMOX_HOST, PROXMOX_PORT, PROXMOX_OTP and PROXMOX_API_TIMEOUT variables."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxError
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import (
    api_url_from,
    client_from_params,
    proxmox_auth_argument_spec,
)


@pytest.mark.parametrize("params, environ, expected", [
    # community.proxmox's way: a host name, port 8006 unless told.
    ({"api_host": "pve1.example.com"}, {}, "https://pve1.example.com:8006"),
    ({"api_host": "pve1.example.com", "api_port": 443}, {}, "https://pve1.example.com:443"),
    ({}, {"PROXMOX_HOST": "pve1", "PROXMOX_PORT": "8443"}, "https://pve1:8443"),
    ({}, {"PROXMOX_HOST": "pve1"}, "https://pve1:8006"),
    ({"api_port": 9006}, {"PROXMOX_HOST": "pve1", "PROXMOX_PORT": "8443"}, "https://pve1:9006"),
    ({"api_host": "10.0.0.5"}, {}, "https://10.0.0.5:8006"),
    ({"api_host": "2001:db8::5"}, {}, "https://[2001:db8::5]:8006"),
    ({"api_host": "[2001:db8::5]"}, {}, "https://[2001:db8::5]:8006"),
    # Ours: api_url as it always was.
    ({"api_url": "https://pve1:8006"}, {}, "https://pve1:8006"),
    ({}, {"PROXMOX_URL": "https://pve1:8006"}, "https://pve1:8006"),
    # An option given in the task beats any variable, whichever the name.
    ({"api_url": "https://a:8006"}, {"PROXMOX_HOST": "b", "PROXMOX_PORT": "1"}, "https://a:8006"),
    ({"api_host": "a"}, {"PROXMOX_URL": "https://b:8006", "PROXMOX_PORT": "8443"}, "https://a:8443"),
    # Of the variables, ours wins; PROXMOX_PORT only goes with a host.
    ({}, {"PROXMOX_URL": "https://a:8006", "PROXMOX_HOST": "b", "PROXMOX_PORT": "1"}, "https://a:8006"),
])
def test_the_address_of_the_options(params, environ, expected):
    assert api_url_from(params, environ) == expected


@pytest.mark.parametrize("params, environ, message", [
    ({"api_url": "https://a:8006", "api_host": "b"}, {},
     "api_url and api_host both name the API's address; set one of them"),
    ({"api_url": "https://a:8006", "api_port": 8443}, {},
     "api_port goes with api_host; with api_url put the port in the URL (such as https://pve1.example.com:8443)"),
    ({"api_port": 8443}, {"PROXMOX_URL": "https://a:8006"},
     "api_port goes with api_host, but the address comes from the PROXMOX_URL environment variable"),
    ({"api_host": "https://pve1:8006"}, {},
     "api_host is a host name without a scheme, got 'https://pve1:8006': set api_url to the whole address "
     "(https://pve1:8006) instead, or api_host to the bare name with api_port for the port"),
    ({"api_host": "pve1:8006"}, {},
     "api_host takes no port, got 'pve1:8006': put the port in api_port (or PROXMOX_PORT)"),
    ({"api_host": "[2001:db8::5]:8006"}, {}, "api_host takes no port"),
    ({}, {"PROXMOX_HOST": "pve1:8006"}, "PROXMOX_HOST takes no port"),
    ({}, {"PROXMOX_HOST": "http://pve1"}, "PROXMOX_HOST is a host name without a scheme"),
    ({"api_host": "pve1/api2/json"}, {}, "api_host must be a host name or address such as pve1.example.com"),
    ({"api_host": "pve1", "api_port": 0}, {}, "api_port must be a port number (1-65535, PVE's is 8006), got 0"),
    ({"api_host": "pve1"}, {"PROXMOX_PORT": "http"}, "PROXMOX_PORT must be a port number (1-65535, PVE's is 8006), "
                                                     "got 'http'"),
    ({}, {}, "the API's address is missing: set api_url (or the PROXMOX_URL environment variable), or api_host "
             "(or PROXMOX_HOST) with api_port (or PROXMOX_PORT, 8006 by default)"),
])
def test_an_address_that_cannot_be_meant_is_refused_naming_the_options(params, environ, message):
    with pytest.raises(ProxmoxError) as raised:
        api_url_from(params, environ)
    assert message in str(raised.value)


def test_the_modules_read_the_process_environment(monkeypatch):
    monkeypatch.setenv("PROXMOX_HOST", "pve9.example.com")
    monkeypatch.setenv("PROXMOX_PORT", "8443")
    monkeypatch.delenv("PROXMOX_URL", raising=False)
    assert api_url_from({}) == "https://pve9.example.com:8443"


def test_the_client_is_built_on_the_address_of_api_host():
    client = client_from_params({"api_host": "pve1.example.com", "api_token_id": "root@pam!ci",
                                 "api_token_secret": "s3cret", "api_timeout": 5, "api_retries": 0}, {})
    try:
        assert client.base_url == "https://pve1.example.com:8006/api2/json"
    finally:
        client.close()


def validated(environ, monkeypatch, **params):
    for name in ("PROXMOX_OTP", "PROXMOX_API_TIMEOUT", "PROXMOX_HOST", "PROXMOX_PORT", "PROXMOX_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    result = ArgumentSpecValidator(proxmox_auth_argument_spec()).validate(params)
    assert result.error_messages == []
    return result


def test_community_proxmox_variables_fill_the_options(monkeypatch):
    result = validated({"PROXMOX_OTP": "123456", "PROXMOX_API_TIMEOUT": "12"}, monkeypatch)
    assert result.validated_parameters["api_otp"] == "123456"
    assert result.validated_parameters["api_timeout"] == 12
    assert "123456" in result._no_log_values  # the OTP is masked like the password


def test_an_option_given_beats_the_variable_and_the_default_stays_without_it(monkeypatch):
    result = validated({"PROXMOX_API_TIMEOUT": "12"}, monkeypatch, api_timeout=40)
    assert result.validated_parameters["api_timeout"] == 40
    assert validated({}, monkeypatch).validated_parameters["api_timeout"] == 30


def test_no_address_option_is_required_by_the_spec(monkeypatch):
    """api_host may stand for api_url, so the spec requires neither; api_url_from says what is missing."""
    params = validated({}, monkeypatch).validated_parameters
    assert params["api_url"] is None and params["api_host"] is None and params["api_port"] is None

"""Connection parameters and attributes: schema checks, value normalization, and the full set a PUT sends."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.parameters import (
    ParameterError,
    form_fields,
    is_secret_parameter,
    normalize_values,
    plan_attributes,
    plan_parameters,
    protocol_fields,
    secret_names,
)

SSH_FORMS = [
    {"name": "network", "fields": [{"name": "hostname", "type": "TEXT"}, {"name": "port", "type": "NUMERIC"},
                                   {"name": "host-key", "type": "TEXT"}]},
    {"name": "authentication", "fields": [{"name": "username", "type": "USERNAME"},
                                          {"name": "password", "type": "PASSWORD"},
                                          {"name": "private-key", "type": "MULTILINE"}]},
    {"name": "display", "fields": [{"name": "read-only", "type": "BOOLEAN", "options": ["true"]},
                                   {"name": "font-size", "type": "ENUM", "options": ["", "8", "12"]},
                                   {"name": "color-scheme", "type": "TERMINAL_COLOR_SCHEME",
                                    "options": ["", "green-black"]}]},
    {"name": "custom", "fields": [{"name": "magic-token", "type": "PASSWORD"}]},
]
PROTOCOLS = {"ssh": {"name": "ssh", "connectionForms": SSH_FORMS,
                     "sharingProfileForms": [{"name": "display", "fields": [{"name": "read-only",
                                                                             "type": "BOOLEAN"}]}]}}
FIELDS = form_fields(SSH_FORMS)


def test_protocol_fields_and_unknown_protocol():
    assert set(protocol_fields(PROTOCOLS, "ssh")) == set(FIELDS)
    assert set(protocol_fields(PROTOCOLS, "ssh", "sharingProfileForms")) == {"read-only"}
    with pytest.raises(ParameterError, match="protocol 'rdp' is not one the server knows; it knows ssh"):
        protocol_fields(PROTOCOLS, "rdp")


@pytest.mark.parametrize("given, expected", [
    ({"hostname": "h", "port": 22}, {"hostname": "h", "port": "22"}),
    ({"read-only": True}, {"read-only": "true"}),
    ({"read-only": False}, {"read-only": ""}),
    ({"read-only": "yes"}, {"read-only": "true"}),
    ({"read-only": "False"}, {"read-only": ""}),
    ({"port": None}, {"port": ""}),
    ({"port": " 2222 "}, {"port": "2222"}),
    ({"font-size": 12}, {"font-size": "12"}),
    ({"font-size": ""}, {"font-size": ""}),
    ({"color-scheme": "foreground: rgb:00/ff/00"}, {"color-scheme": "foreground: rgb:00/ff/00"}),
])
def test_values_are_normalized_to_what_the_server_stores(given, expected):
    assert normalize_values(given, FIELDS) == expected


@pytest.mark.parametrize("given, words", [
    ({"hostnme": "h"}, ["parameters: unknown parameter 'hostnme'", "Did you mean hostname", "Known:"]),
    ({"port": "ssh"}, ["parameters.port", "whole number", "'ssh'"]),
    ({"port": 2.5}, ["parameters.port", "whole number"]),
    ({"read-only": "maybe"}, ["parameters.read-only", "boolean"]),
    ({"font-size": "13"}, ["parameters.font-size", "8, 12", "'13'"]),
    ({"hostname": {"a": 1}}, ["parameters.hostname", "got dict"]),
    ({"hostname": ["a"]}, ["parameters.hostname", "got list"]),
])
def test_bad_values_name_the_parameter(given, words):
    with pytest.raises(ParameterError) as caught:
        normalize_values(given, FIELDS)
    for word in words:
        assert word in str(caught.value)


def test_unknown_names_allowed_on_request_and_attribute_wording():
    assert normalize_values({"new-thing": 1}, FIELDS, allow_unknown=True) == {"new-thing": "1"}
    with pytest.raises(ParameterError, match="attributes: unknown attribute 'x'"):
        normalize_values({"x": 1}, {}, where="attributes", what="attribute")
    with pytest.raises(ParameterError, match="must be a dict"):
        normalize_values(["hostname"], FIELDS)


def test_secret_parameters():
    for name in ("password", "passphrase", "private-key", "sftp-password", "sftp-passphrase", "sftp-private-key",
                 "gateway-password", "client-key"):
        assert is_secret_parameter(name), name
    for name in ("hostname", "host-key", "username", "sftp-host-key", "ca-cert", "password-regex"):
        assert not is_secret_parameter(name), name
    assert is_secret_parameter("magic-token", FIELDS["magic-token"])
    assert secret_names({"hostname", "password", "magic-token"}, FIELDS) == {"password", "magic-token"}


STORED = {"hostname": "h", "port": "22", "password": "old", "username": "root"}


def test_plan_keeps_unnamed_parameters_and_lists_only_changes():
    final, changes = plan_parameters(STORED, {"port": "2222", "hostname": "h"}, exists=True, secrets={"password"})
    assert final == {"hostname": "h", "port": "2222", "password": "old", "username": "root"}
    assert changes == {"port": ("22", "2222")}


def test_plan_nothing_to_do():
    final, changes = plan_parameters(STORED, dict(STORED), exists=True, secrets={"password"})
    assert final == STORED and changes == {}


def test_plan_unset_and_purge():
    final, changes = plan_parameters(STORED, {"port": "", "hostname": "h"}, exists=True)
    assert final == {"hostname": "h", "password": "old", "username": "root"}
    assert changes == {"port": ("22", None)}
    final, changes = plan_parameters(STORED, {"hostname": "h"}, exists=True, purge=True)
    assert final == {"hostname": "h"}
    assert changes == {"password": ("old", None), "port": ("22", None), "username": ("root", None)}


def test_plan_update_password_always_compares_the_stored_secret():
    final, changes = plan_parameters(STORED, {"password": "new"}, exists=True, secrets={"password"})
    assert final["password"] == "new" and changes == {"password": ("old", "new")}
    _unused, changes = plan_parameters(STORED, {"password": "old"}, exists=True, secrets={"password"})
    assert changes == {}


def test_plan_on_create_never_touches_an_existing_secret():
    final, changes = plan_parameters(STORED, {"password": "new", "port": "2"}, exists=True, secrets={"password"},
                                     update_password="on_create")
    assert final["password"] == "old" and changes == {"port": ("22", "2")}
    # ...not even with purge, when the secret is named.
    final, _unused = plan_parameters(STORED, {"password": "new", "hostname": "h"}, exists=True,
                                     secrets={"password"}, update_password="on_create", purge=True)
    assert final == {"hostname": "h", "password": "old"}
    # A new object gets its secrets.
    final, _unused = plan_parameters({}, {"password": "new"}, exists=False, secrets={"password"},
                                     update_password="on_create")
    assert final == {"password": "new"}


def test_plan_ignores_empty_stored_values():
    final, changes = plan_parameters({"hostname": "h", "port": ""}, {"hostname": "h"}, exists=True)
    assert final == {"hostname": "h"} and changes == {}


def test_plan_attributes_sends_all_and_compares_unset_as_equal():
    current = {"max-connections": "2", "weight": None, "failover-only": ""}
    final, changes = plan_attributes(current, {"weight": "", "failover-only": "", "max-connections": "2"})
    assert changes == {}
    assert final == {"max-connections": "2", "weight": None, "failover-only": None}
    final, changes = plan_attributes(current, {"weight": "5", "max-connections": ""})
    assert changes == {"weight": (None, "5"), "max-connections": ("2", None)}
    assert final == {"max-connections": None, "weight": "5", "failover-only": ""}

"""guacamole_user: option checks, attribute encoding and comparison, memberships, restriction visibility."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.proxgate.core.plugins.doc_fragments.guacamole import ModuleDocFragment
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.memberships import (
    membership_changes,
    membership_patch,
)
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import guacamole_auth_argument_spec
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.objects import unknown_attributes
from ansible_collections.proxgate.core.plugins.modules import guacamole_user
from ansible_collections.proxgate.core.plugins.modules.guacamole_user import (
    ATTRIBUTE_OPTIONS,
    GuacamoleUser,
    attribute_changes,
    current_attribute,
    encode_attribute,
    hidden_restrictions,
    normalize_date,
    normalize_time,
    option_errors,
    update_diff,
    user_view,
    wanted_attributes,
)

AUTH = {"api_url": "https://gateway.invalid/guacamole", "api_username": "guacadmin", "api_password": "pw"}
OPTIONS = ("full_name", "email", "organization", "organizational_role", "disabled", "expired", "valid_from",
           "valid_until", "access_window_start", "access_window_end", "timezone", "attributes", "groups", "password")
# What GET users/{u} gives an administrator on a 1.6 server: every declared attribute, unset ones null/"".
CURRENT_16 = {
    "guac-full-name": "Alice", "guac-email-address": None, "guac-organization": None,
    "guac-organizational-role": None, "expired": "", "access-window-start": None, "access-window-end": None,
    "valid-from": None, "valid-until": None, "timezone": None,
}


def params(**given):
    base = dict.fromkeys(OPTIONS)
    base.update(username="alice", update_password="on_create", groups_mode="replace", state="present")
    base.update(given)
    return base


@pytest.mark.parametrize("value, expected", [
    ("7:00", "07:00:00"), ("07:00", "07:00:00"), ("23:59:59", "23:59:59"), (" 9:05 ", "09:05:00"), ("", ""),
])
def test_times_are_normalized_to_the_servers_form(value, expected):
    assert normalize_time(value) == expected


@pytest.mark.parametrize("value", ["24:00", "7", "7:5", "07:60", "noon", "07:00:00:00", "-1:00"])
def test_bad_times(value):
    with pytest.raises(ValueError):
        normalize_time(value)


@pytest.mark.parametrize("value", ["2026-02-30", "2026-1-5", "31.12.2026", "2026/01/01", "tomorrow"])
def test_bad_dates(value):
    with pytest.raises(ValueError):
        normalize_date(value)


def test_good_dates():
    assert normalize_date("2026-12-31") == "2026-12-31"
    assert normalize_date("") == ""


@pytest.mark.parametrize("given, expected", [
    ({"valid_from": "31.12.2026"}, "valid_from must be a date as YYYY-MM-DD (or '' to clear it), got '31.12.2026'"),
    ({"valid_until": "2026-02-30"}, "valid_until must be a date as YYYY-MM-DD"),
    ({"access_window_start": "25:00"}, "access_window_start must be a time of day as HH:MM or HH:MM:SS"),
    ({"access_window_end": "noon"}, "access_window_end must be a time of day as HH:MM or HH:MM:SS"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone must be an IANA time zone name such as Europe/Berlin"),
    ({"password": ""}, "password must not be empty"),
    ({"username": " "}, "username must not be empty"),
    ({"attributes": {"disabled": "true"}}, "attributes must not set 'disabled': use the disabled option"),
    ({"attributes": {"guac-email-address": "a@b"}}, "attributes must not set 'guac-email-address': use the email"),
    ({"attributes": {"timezone": "UTC"}}, "attributes must not set 'timezone': use the timezone option"),
    ({"attributes": {"x-size": {"a": 1}}}, "attributes['x-size'] must be a string, got dict"),
    ({"groups": ["ops", ""]}, "groups must not contain an empty name"),
])
def test_option_errors_name_the_option(given, expected):
    errors = option_errors(params(**given), timezones={"Europe/Berlin", "UTC"})
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_good_options_have_no_errors():
    assert option_errors(params(valid_from="2026-01-01", valid_until="", access_window_start="7:00",
                                timezone="Europe/Berlin", attributes={"x-size": "42", "x-flag": None},
                                groups=["ops"], password="pw"), timezones={"Europe/Berlin"}) == []
    # Without a time zone database on the controller, a zone name is left to the server.
    assert option_errors(params(timezone="Mars/Olympus_Mons"), timezones=None) == []


def test_several_errors_are_reported_together():
    errors = option_errors(params(valid_from="x", access_window_end="y"), timezones=None)
    assert [e.split(" ", maxsplit=1)[0] for e in errors] == ["valid_from", "access_window_end"]


def test_encoding_as_the_server_stores_values():
    assert encode_attribute("expired", True) == "true"
    assert encode_attribute("expired", False) == ""
    assert encode_attribute("guac-full-name", "") is None
    assert encode_attribute("guac-full-name", None) is None
    assert encode_attribute("access-window-start", "7:00") == "07:00:00"
    assert encode_attribute("x-count", 3) == "3"
    assert encode_attribute("x-flag", True) == "true"


def test_current_values_in_both_versions_forms():
    # 1.5 sends null for a false boolean attribute, the emulator and 1.6 an empty string.
    assert current_attribute("expired", None) == ""
    assert current_attribute("expired", "") == ""
    assert current_attribute("expired", "true") == "true"
    assert current_attribute("guac-full-name", "") is None


def test_wanted_attributes_map_options_to_attribute_names():
    wanted = wanted_attributes(params(full_name="Alice Example", email="", expired=False,
                                      access_window_end="19:30", attributes={"x-size": 42}))
    assert wanted == {"guac-full-name": "Alice Example", "guac-email-address": None, "expired": "",
                      "access-window-end": "19:30:00", "x-size": "42"}
    assert wanted_attributes(params()) == {}


def test_attribute_changes_only_for_what_differs():
    wanted = {"guac-full-name": "Alice", "guac-email-address": "a@example.com", "expired": "",
              "timezone": None}
    assert attribute_changes(CURRENT_16, wanted) == {"guac-email-address": (None, "a@example.com")}
    assert attribute_changes(CURRENT_16, {"guac-full-name": None}) == {"guac-full-name": ("Alice", None)}
    assert attribute_changes(dict(CURRENT_16, expired=None), {"expired": ""}) == {}
    assert attribute_changes(CURRENT_16, {"expired": "true"}) == {"expired": ("", "true")}
    assert attribute_changes(CURRENT_16, {}) == {}


def test_restrictions_hidden_from_a_caller_without_administer():
    visible = dict(CURRENT_16)
    hidden = {k: v for k, v in CURRENT_16.items() if k.startswith("guac-")}
    assert hidden_restrictions(visible, {"expired": "true"}, True, False) == []
    assert hidden_restrictions(hidden, {"guac-full-name": "x"}, False, False) == []
    assert hidden_restrictions(hidden, {"expired": "true", "timezone": "UTC"}, True, False) == [
        "disabled", "expired", "timezone"]
    assert hidden_restrictions(hidden, {}, True, False) == ["disabled"]
    # On 1.6 disabled is a top-level field that UPDATE allows (issue #14, item 8).
    assert hidden_restrictions(hidden, {}, True, True) == []
    assert hidden_restrictions(hidden, {"expired": "true"}, True, True) == ["expired"]


@pytest.mark.parametrize("mode, names, expected", [
    ("replace", ["b", "c"], (["c"], ["a"])),
    ("replace", [], ([], ["a", "b"])),
    ("replace", ["a", "b"], ([], [])),
    ("add", ["b", "c"], (["c"], [])),
    ("add", ["a"], ([], [])),
    ("remove", ["b", "c"], ([], ["b"])),
    ("remove", ["z"], ([], [])),
])
def test_membership_changes(mode, names, expected):
    assert membership_changes(["a", "b"], names, mode) == expected


def test_membership_patch_is_one_operation_per_name():
    assert membership_patch(["c"], ["a", "b"]) == [
        {"op": "remove", "path": "/", "value": "a"}, {"op": "remove", "path": "/", "value": "b"},
        {"op": "add", "path": "/", "value": "c"}]
    assert membership_patch([], []) == []


def test_unknown_attributes_against_the_schema():
    schema = [{"name": "profile", "fields": [{"name": "guac-full-name"}, {"name": "x-size"}]},
              {"name": "restrictions", "fields": [{"name": "expired"}]}]
    assert unknown_attributes({"x-size": "1", "shoe": "2"}, schema) == ["shoe"]
    assert unknown_attributes({"x-size": "1"}, schema) == []
    assert unknown_attributes({"a": "1"}, []) == ["a"]


def test_user_view_uses_option_names():
    view = user_view("alice", dict(CURRENT_16, expired="true", **{"x-size": "42", "disabled": "true"}),
                     True, {"ops"})
    assert view["username"] == "alice" and view["disabled"] is True
    assert view["full_name"] == "Alice" and view["email"] is None and view["expired"] is True
    assert view["attributes"] == {"x-size": "42"}  # `disabled` (1.5) and the managed ones are not repeated
    assert view["groups"] == ["ops"]
    assert user_view("bob", {}, False, None)["groups"] is None


def test_update_diff_by_option_name_with_the_password_masked():
    before, after = update_diff({"guac-email-address": (None, "a@example.com"), "expired": ("", "true"),
                                 "x-size": ("41", "42")}, (True, True), True, (["b"], ["a", "b"]))
    assert before == {"email": None, "expired": False, "attributes.x-size": "41", "password": "********",
                      "groups": ["b"]}
    assert after == {"email": "a@example.com", "expired": True, "attributes.x-size": "42",
                     "password": "********", "groups": ["a", "b"]}
    assert update_diff({}, (False, True), False, (None, None)) == ({"disabled": False}, {"disabled": True})
    assert update_diff({}, (True, True), False, (["a"], ["a"])) == ({}, {})


def test_every_option_is_documented_as_declared():
    spec = dict(guacamole_auth_argument_spec(), **GuacamoleUser.argument_spec)
    docs = dict(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    docs.update(yaml.safe_load(guacamole_user.DOCUMENTATION)["options"])
    assert set(spec) == set(docs)
    for option, declared in spec.items():
        for key in ("type", "default", "choices", "elements", "aliases"):
            assert docs[option].get(key) == declared.get(key), (option, key)
        assert bool(docs[option].get("required")) == bool(declared.get("required")), option
    # Each attribute option names its Guacamole attribute in its description.
    for option, attribute in ATTRIBUTE_OPTIONS.items():
        description = docs[option]["description"]
        assert f"C({attribute})" in (" ".join(description) if isinstance(description, list) else description), option


def run_module(capsys, **args):
    """Run the module in-process; these checks fail before any API call (there is no server)."""
    with patch_module_args(dict(AUTH, **args)), pytest.raises(SystemExit) as exited:
        guacamole_user.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1, result
    return result


@pytest.mark.parametrize("args, expected", [
    ({"username": "a", "valid_from": "1/1/2026"}, "valid_from must be a date as YYYY-MM-DD"),
    ({"username": "a", "groups_mode": "merge", "groups": ["x"]}, "value of groups_mode must be one of: replace, add"),
    ({"username": "a", "update_password": "sometimes"}, "value of update_password must be one of: always, on_create"),
    ({"username": "a", "disabled": "maybe"}, "disabled"),
    ({}, "missing required arguments: username"),
])
def test_bad_options_fail_before_any_call(capsys, args, expected):
    assert expected in run_module(capsys, **args)["msg"]

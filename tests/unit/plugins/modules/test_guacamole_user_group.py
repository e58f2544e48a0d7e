"""guacamole_user_group: option checks, attribute comparison, memberships, and the documented options."""

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
from ansible_collections.proxgate.core.plugins.modules import guacamole_user_group
from ansible_collections.proxgate.core.plugins.modules.guacamole_user_group import (
    GuacamoleUserGroup,
    attribute_changes,
    encode_attribute,
    group_view,
    option_errors,
)

AUTH = {"api_url": "https://gateway.invalid/guacamole", "api_username": "guacadmin", "api_password": "pw"}


def params(**given):
    base = dict(name="team", state="present", disabled=None, attributes=None, member_users=None,
                member_users_mode="replace", member_groups=None, member_groups_mode="replace")
    base.update(given)
    return base


@pytest.mark.parametrize("given, expected", [
    ({"name": ""}, "name must not be empty"),
    ({"name": "  "}, "name must not be empty"),
    ({"attributes": {"disabled": "true"}}, "attributes must not set 'disabled': use the disabled option"),
    ({"attributes": {"color": ["blue"]}}, "attributes['color'] must be a string, got list"),
    ({"member_users": ["alice", ""]}, "member_users must not contain an empty name"),
    ({"member_groups": [""]}, "member_groups must not contain an empty name"),
    ({"member_groups": ["ops", "team"]}, "member_groups must not contain the group itself ('team')"),
])
def test_option_errors_name_the_option(given, expected):
    [error] = option_errors(params(**given))
    assert error.startswith(expected)


def test_removing_the_group_from_itself_is_harmless():
    assert option_errors(params(member_groups=["team"], member_groups_mode="remove")) == []
    assert option_errors(params(attributes={"color": "blue", "size": 3, "gone": None},
                                member_users=["alice"], member_groups=["ops"])) == []


def test_attribute_values_and_changes():
    assert encode_attribute("") is None
    assert encode_attribute(None) is None
    assert encode_attribute(True) == "true"
    assert encode_attribute(7) == "7"
    current = {"color": "blue", "size": None, "note": ""}
    assert attribute_changes(current, {"color": "blue", "size": None, "note": None}) == {}
    assert attribute_changes(current, {"color": "red", "note": "x"}) == {"color": ("blue", "red"),
                                                                         "note": (None, "x")}
    assert attribute_changes(current, {"new": "1"}) == {"new": (None, "1")}


def test_unknown_attributes_against_the_schema():
    schema_15 = [{"name": "restrictions", "fields": [{"name": "disabled", "type": "BOOLEAN"}]}]
    assert unknown_attributes({"color": "blue"}, schema_15) == ["color"]
    assert unknown_attributes({"color": "blue"}, []) == ["color"]  # a stock 1.6 declares no group attributes
    schema = [{"name": "x", "fields": [{"name": "color"}]}]
    assert unknown_attributes({"color": "blue"}, schema) == []


@pytest.mark.parametrize("mode, names, expected", [
    ("replace", ["b", "c"], (["c"], ["a"])),
    ("replace", [], ([], ["a", "b"])),
    ("add", ["a", "c"], (["c"], [])),
    ("remove", ["b", "z"], ([], ["b"])),
])
def test_membership_changes(mode, names, expected):
    assert membership_changes({"a", "b"}, names, mode) == expected


def test_membership_patch():
    assert membership_patch(["x"], ["y"]) == [{"op": "remove", "path": "/", "value": "y"},
                                              {"op": "add", "path": "/", "value": "x"}]


def test_group_view_leaves_the_15_disabled_attribute_out():
    view = group_view("team", {"disabled": "true", "color": "blue"}, True,
                      {"member_users": ["a"], "member_groups": None})
    assert view == {"name": "team", "disabled": True, "attributes": {"color": "blue"},
                    "member_users": ["a"], "member_groups": None}


def documented_options(module):
    options = dict(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    options.update(yaml.safe_load(module.DOCUMENTATION)["options"])
    return options


def test_every_option_is_documented_as_declared():
    spec = dict(guacamole_auth_argument_spec(), **GuacamoleUserGroup.argument_spec)
    docs = documented_options(guacamole_user_group)
    assert set(spec) == set(docs)
    for option, declared in spec.items():
        for key in ("type", "default", "choices", "elements", "aliases"):
            assert docs[option].get(key) == declared.get(key), (option, key)
        assert bool(docs[option].get("required")) == bool(declared.get("required")), option


def run_module(capsys, **args):
    with patch_module_args(dict(AUTH, **args)), pytest.raises(SystemExit) as exited:
        guacamole_user_group.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1, result
    return result


@pytest.mark.parametrize("args, expected", [
    ({"name": "team", "member_groups": ["team"]}, "member_groups must not contain the group itself"),
    ({"name": "team", "member_users_mode": "merge"}, "value of member_users_mode must be one of: replace, add"),
    ({"name": "team", "state": "gone"}, "value of state must be one of: present, absent"),
    ({}, "missing required arguments: name"),
])
def test_bad_options_fail_before_any_call(capsys, args, expected):
    assert expected in run_module(capsys, **args)["msg"]

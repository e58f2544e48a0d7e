"""set_changes (what to add and what to take away so that a set becomes what is wanted) and dict_changes."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import dict_changes, set_changes


@pytest.mark.parametrize("mode, expected", [
    ("add", ({"c"}, set())),
    ("remove", (set(), {"b"})),
    ("replace", ({"c"}, {"a"})),
])
def test_set_changes_by_mode(mode, expected):
    assert set_changes(["a", "b"], ["b", "c"], mode) == expected


def test_set_changes_of_nothing_and_the_same():
    assert set_changes(None, None) == (set(), set())
    assert set_changes({("g", "x")}, [("g", "x")], "replace") == (set(), set())


def test_set_changes_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="mode must be one of add, remove, replace, got 'exact'"):
        set_changes([], [], "exact")


def test_dict_changes_holds_the_differing_keys_of_desired():
    changes = dict_changes({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5, "d": 4})
    assert changes.keys() == ["b", "d"]
    assert changes.diff() == {"before": {"b": 2, "d": None}, "after": {"b": 5, "d": 4}}
    assert not dict_changes(None, {})


def test_dict_changes_with_equal_skip_and_secrets():
    def same_text(_key, desired, current):
        return str(desired) == str(current)

    def unset(_key, desired, _current):
        return desired is None

    changes = dict_changes({"port": "22", "password": "old"}, {"port": 22, "password": "new", "user": None},
                           equal=same_text, skip=unset, secret_keys={"password"})
    assert changes.keys() == ["password"]
    assert changes.diff() == {"before": {"password": "********"}, "after": {"password": "******** (changed)"}}

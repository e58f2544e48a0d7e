"""set_changes: what to add and what to take away so that a set becomes what is wanted."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import set_changes


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

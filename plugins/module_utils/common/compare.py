# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The comparisons of desired and current state that the modules share: of sets (members, permissions, grants:
what to add and what to take away) and of dicts (the keys whose value differs, as a common.diff Changes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes

ADD = "add"
REMOVE = "remove"
REPLACE = "replace"
MODES = (ADD, REMOVE, REPLACE)


def set_changes(current: Iterable[Any] | None, wanted: Iterable[Any] | None, mode: str = REPLACE
                ) -> tuple[set[Any], set[Any]]:
    """(to add, to remove), two sets, that take current toward wanted.

    ``add``: what wanted has and current lacks, nothing taken away. ``remove``: nothing added, what both have
    taken away. ``replace``: current becomes exactly wanted (what current has and wanted lacks goes too).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    have, want = set(current or ()), set(wanted or ())
    if mode == REMOVE:
        return set(), want & have
    return want - have, (have - want if mode == REPLACE else set())


def dict_changes(current: Mapping[str, Any] | None, desired: Mapping[str, Any],
                 equal: Callable[[str, Any, Any], bool] | None = None,
                 skip: Callable[[str, Any, Any], bool] | None = None,
                 secret_keys: Iterable[str] = ()) -> Changes:
    """A Changes (common.diff) with every key of desired whose value differs from current's, before and after.

    equal(key, desired value, current value) says whether the two agree (default: ==); a key for which
    skip(key, desired value, current value) is true is not compared. secret_keys are masked in the diff.
    """
    changes = Changes(secret_keys=secret_keys)
    current = current or {}
    for key, value in desired.items():
        have = current.get(key)
        if skip is not None and skip(key, value, have):
            continue
        if not (equal(key, value, have) if equal is not None else value == have):
            changes.add(key, have, value)
    return changes

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-compare-write bookkeeping shared by the Proxmox and Guacamole modules."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

SECRET_MASK = "********"
SECRET_CHANGED = "******** (changed)"


def mask_secrets(values: Any, secret_keys: Collection[str]) -> Any:
    """A copy of values (dicts and lists, nested) with every secret key's value replaced by a mask."""
    if isinstance(values, dict):
        return {key: (SECRET_MASK if key in secret_keys and value not in (None, "") else
                      mask_secrets(value, secret_keys)) for key, value in values.items()}
    if isinstance(values, list):
        return [mask_secrets(value, secret_keys) for value in values]
    return values


def show_changed_secrets(before: dict[str, Any], after: dict[str, Any], raw_before: dict[str, Any],
                         raw_after: dict[str, Any]) -> dict[str, Any]:
    """Mark the secrets that change in a masked diff: both sides would read as the mask and the diff would show
    nothing, though the run writes them. before/after are the masked dicts, raw_* the unmasked ones."""
    for key, value in after.items():
        if value == SECRET_MASK and before.get(key) == SECRET_MASK and raw_before.get(key) != raw_after.get(key):
            after[key] = SECRET_CHANGED
    return after


class Changes:
    """The keys that differ between what is and what is wanted, with both values.

    ``changes.add(key, before, after)`` for each difference; ``bool(changes)`` says whether
    anything is to be written; ``changes.diff()`` is the ``--diff`` before/after with secrets masked.
    """

    def __init__(self, secret_keys: Iterable[str] = ()) -> None:
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}
        self.secret_keys = set(secret_keys)

    def add(self, key: str, before: Any, after: Any) -> None:
        self.before[key] = before
        self.after[key] = after

    def __bool__(self) -> bool:
        return bool(self.after)

    def __contains__(self, key: object) -> bool:
        return key in self.after

    def __iter__(self) -> Iterator[str]:
        return iter(self.after)

    def keys(self) -> list[str]:
        return list(self.after)

    def pairs(self) -> dict[str, tuple[Any, Any]]:
        """{key: (before, after)} of each key that differs."""
        return {key: (self.before[key], self.after[key]) for key in self.after}

    def diff(self, before_header: str | None = None, after_header: str | None = None) -> dict[str, Any]:
        before = mask_secrets(self.before, self.secret_keys)
        after = show_changed_secrets(before, mask_secrets(self.after, self.secret_keys), self.before, self.after)
        result = {"before": before, "after": after}
        if before_header:
            result["before_header"] = before_header
        if after_header:
            result["after_header"] = after_header
        return result

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-compare-write bookkeeping shared by the Proxmox and Guacamole modules."""

from __future__ import annotations

SECRET_MASK = "********"


def mask_secrets(values, secret_keys):
    """A copy of values (dicts and lists, nested) with every secret key's value replaced by a mask."""
    if isinstance(values, dict):
        return {key: (SECRET_MASK if key in secret_keys and value not in (None, "") else
                      mask_secrets(value, secret_keys)) for key, value in values.items()}
    if isinstance(values, list):
        return [mask_secrets(value, secret_keys) for value in values]
    return values


class Changes:
    """The keys that differ between what is and what is wanted, with both values.

    ``changes.add(key, before, after)`` for each difference; ``bool(changes)`` says whether
    anything is to be written; ``changes.diff()`` is the ``--diff`` before/after with secrets masked.
    """

    def __init__(self, secret_keys=()):
        self.before = {}
        self.after = {}
        self.secret_keys = set(secret_keys)

    def add(self, key, before, after):
        self.before[key] = before
        self.after[key] = after

    def __bool__(self):
        return bool(self.after)

    def __contains__(self, key):
        return key in self.after

    def __iter__(self):
        return iter(self.after)

    def keys(self):
        return list(self.after)

    def diff(self, before_header=None, after_header=None):
        result = {"before": mask_secrets(self.before, self.secret_keys),
                  "after": mask_secrets(self.after, self.secret_keys)}
        if before_header:
            result["before_header"] = before_header
        if after_header:
            result["after_header"] = after_header
        return result

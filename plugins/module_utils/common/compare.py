# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to add and what to take away so that a set of things (members, permissions, grants) becomes what is
wanted: the one comparison of desired and current sets that the modules share."""

from __future__ import annotations

ADD = "add"
REMOVE = "remove"
REPLACE = "replace"
MODES = (ADD, REMOVE, REPLACE)


def set_changes(current, wanted, mode=REPLACE):
    """(to add, to remove), two sets, that take current toward wanted.

    ``add``: what wanted has and current lacks, nothing taken away. ``remove``: nothing added, what both have
    taken away. ``replace``: current becomes exactly wanted (what current has and wanted lacks goes too).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    current, wanted = set(current or ()), set(wanted or ())
    if mode == REMOVE:
        return set(), wanted & current
    return wanted - current, (current - wanted if mode == REPLACE else set())

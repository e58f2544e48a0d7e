# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Membership lists (a user's groups, a group's member users and groups) and their JSON Patch."""

from __future__ import annotations

from typing import NamedTuple

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import set_changes

MODES = ("replace", "add", "remove")


class MembershipPlan(NamedTuple):
    """How a membership list changes: before and after (sorted; None when the list is not managed), and the
    names to add and to remove (sorted; empty when there is nothing to do)."""

    before: list[str] | None
    add: list[str]
    remove: list[str]
    after: list[str] | None


def membership_options(option):
    """The argument spec of a membership list option (a user's groups, a group's members) and its <option>_mode."""
    return {option: dict(type="list", elements="str"),
            f"{option}_mode": dict(type="str", choices=list(MODES), default="replace")}


def membership_changes(current, names, mode):
    """(to add, to remove), sorted, that take the current memberships to what ``names`` + ``mode`` want:
    ``replace`` makes them exactly ``names``, ``add`` and ``remove`` only add or only take away."""
    add, remove = set_changes(current, names, mode)
    return sorted(add), sorted(remove)


def members_after(current, add, remove):
    """The memberships, sorted, once add and remove (membership_changes') are applied to current."""
    return sorted((set(current) - set(remove)) | set(add))


def membership_patch(add, remove):
    """The JSON Patch of a membership list: one operation per name, path '/', the name as value."""
    return ([{"op": "remove", "path": "/", "value": name} for name in remove]
            + [{"op": "add", "path": "/", "value": name} for name in add])

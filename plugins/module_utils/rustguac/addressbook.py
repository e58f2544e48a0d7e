# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the address book: folders by scope and name, and a folder's entries."""

from __future__ import annotations

from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import RustguacApiError, path_of
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import listed

FOLDERS = "/addressbook/folders"


def name_problem(option, value, noun="name"):
    """The message for a folder or entry name that is empty or holds '/' (a path segment), None for a good one."""
    if str(value).strip() and "/" not in str(value):
        return None
    return f"{option} must be a non-empty {noun} without '/', got {value!r}"


def folder_settings(allowed_groups, description):
    """(the folder settings the options ask for, None for those left out; a message for a bad group, or None)."""
    problem = None
    if allowed_groups is not None and any(not str(group).strip() for group in allowed_groups):
        problem = "allowed_groups must not hold an empty group name"
    groups = None if allowed_groups is None else sorted(set(allowed_groups))
    return dict(allowed_groups=groups, description=description), problem


def folder_path(scope, name):
    return path_of("addressbook", "folders", scope, name)


def entries_path(scope, folder, *entry):
    return path_of("addressbook", "folders", scope, folder, "entries", *entry)


def describe_folder(folder):
    return dict(scope=folder.get("scope"), name=folder.get("name"),
                allowed_groups=sorted(folder.get("allowed_groups") or []),
                description=folder.get("description") or "")


def read_folder(client, scope, name):
    """The folder as listed (the caller's key must see it), None when there is none."""
    for folder in listed(client.get(FOLDERS), "folders"):
        if folder.get("scope") == scope and folder.get("name") == name:
            return folder
    return None


def read_entries(client, scope, folder):
    """The folder's entries; None when the folder does not exist."""
    try:
        return listed(client.get(entries_path(scope, folder)), "entries")
    except RustguacApiError as exc:
        if exc.missing:
            return None
        raise


def find_entry(entries, name):
    for entry in entries or []:
        if entry.get("name") == name:
            return entry
    return None

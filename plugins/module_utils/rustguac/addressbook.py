# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the address book: folders by scope and name, and a folder's entries."""

from __future__ import annotations

import re

from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import path_of
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import listed

FOLDERS = "/addressbook/folders"


NAME_MAX = 64
NAME_CHARS = re.compile(r"[A-Za-z0-9._-]")
RESERVED_NAMES = (".", "..", ".config")


def name_reason(name):
    """Why rustguac refuses a folder or entry name, None when it takes it.

    The server's rule (src/vault.rs validate_name in rustguac 1.9.7): 1 to 64 ASCII letters, digits, '.', '_'
    or '-', and not '.', '..' or '.config'; it answers any other name with HTTP 502 "invalid name". '.' and '..'
    would also become dot segments in the request's URL, which the HTTP client resolves to another path.
    """
    if name in RESERVED_NAMES:
        return (f"{name!r} is reserved ('.' and '..' are dot segments in a URL, '.config' holds a folder's "
                "settings)")
    if not 1 <= len(name) <= NAME_MAX:
        return f"{name!r} has {len(name)} characters, and rustguac takes 1 to {NAME_MAX}"
    bad = "".join(sorted({char for char in name if not NAME_CHARS.fullmatch(char)}))
    if bad:
        return f"{name!r} holds {bad!r}, and rustguac takes only ASCII letters, digits, '.', '_' and '-'"
    return None


def name_problem(option, value, noun="name"):
    """The message for a name rustguac refuses (see name_reason), naming the option; None for a good one."""
    reason = name_reason(str(value))
    return None if reason is None else f"{option} must be a valid rustguac {noun}: {reason}"


def folder_problem(option, value):
    """name_problem for a folder. rustguac also takes a path of names ('clients/acme', a sub-folder), but the
    modules read folders from the top-level listing only, so they refuse a '/' with a message that says so."""
    if "/" in str(value):
        return (f"{option} must be a top-level folder name, got {str(value)!r}: sub-folders (a '/' in the "
                "name) are not managed by these modules yet")
    return name_problem(option, value, "folder name")


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


def describe_folder(scope, name, config):
    """The folder as the modules report it, from its config (read_folder_config)."""
    return dict(scope=scope, name=name, allowed_groups=sorted(set(config.get("allowed_groups") or [])),
                description=config.get("description") or "")


def read_folder(client, scope, name):
    """The folder as listed (the caller's key must see it), None when there is none.

    rustguac 1.9.7 lists top-level folders as {name, description, scope, path, has_children}, without their
    groups (src/api.rs ab_list_folders); read_folder_config gives those."""
    for folder in listed(client.get(FOLDERS), "folders"):
        if folder.get("scope") == scope and folder.get("name") == name:
            return folder
    return None


def read_folder_config(client, scope, name):
    """The folder's settings, {allowed_groups, description, inherit_from_parent} (GET .../config, admin only;
    src/api.rs ab_get_folder_config). A folder without settings reads as [], "" and false."""
    config = client.get(folder_path(scope, name) + "/config")
    return config if isinstance(config, dict) else {}


def folder_put_body(config, settings):
    """The body of PUT .../folders/{scope}/{name}: the server replaces the whole config and resets what the
    body leaves out (src/api.rs UpdateFolderRequest), so the stored values go along with the new ones."""
    return dict(allowed_groups=settings["allowed_groups"], description=settings["description"],
                inherit_from_parent=bool(config.get("inherit_from_parent")))


def read_entries(client, scope, folder):
    """The folder's entries. rustguac lists a folder that does not exist as empty (src/api.rs ab_list_entries,
    for an admin), so whether the folder exists is read_folder's question, not this one's."""
    return listed(client.get(entries_path(scope, folder)), "entries")


def find_entry(entries, name):
    for entry in entries or []:
        if entry.get("name") == name:
            return entry
    return None

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the access modules (proxmox_role, proxmox_group, proxmox_pool) share: PVE's id formats, how a node
keeps a comment, and finding one entry of a listing.

The rules are PVE's, read from pve-access-control: role and group ids (src/PVE/AccessControl.pm
verify_rolename, and verify_groupname with PVE::Auth::Plugin's $groupname_regex) are letters, digits, '.', '-' and
'_'; user.cfg keeps no empty comment (parse_user_config sets a comment only when it is not empty), so a blank one
reads back as none.
"""

from __future__ import annotations

import difflib
import re

ACCESS_ID = re.compile(r"[A-Za-z0-9.\-_]+")


def access_id_problem(option, value, what):
    """The message for a role or group id that PVE would refuse, or None."""
    if ACCESS_ID.fullmatch(value) and value not in (".", ".."):
        return None
    return f"{option} must be a Proxmox VE {what} id (letters, digits, '.', '-' and '_'); got {value!r}"


def stored_comment(value):
    """A comment as a node reads it back: None for none or a blank one."""
    return value or None


def comment_change(changes, existing, wanted):
    """Add the comment to changes when the option asks for another one; the data to send for it ({} or
    {"comment": ...}). None (the option not given) leaves the comment as it is."""
    if wanted is None or stored_comment(existing) == stored_comment(wanted):
        return {}
    changes.add("comment", stored_comment(existing), stored_comment(wanted))
    return {"comment": wanted}


def find_entry(listing, key, value):
    """The entry of a listing whose key is value, or None."""
    return next((entry for entry in listing or [] if entry.get(key) == value), None)


def unknown_names(option, wanted, known, what):
    """The message for the names in wanted that known does not hold, each with the nearest known one; or None."""
    unknown = sorted(set(wanted) - set(known))
    if not unknown:
        return None
    shown = []
    for name in unknown:
        near = difflib.get_close_matches(name, sorted(known), n=1)
        shown.append(f"{name!r} (did you mean {near[0]!r}?)" if near else repr(name))
    return f"{option}: this server has no {what} {', '.join(shown)}"

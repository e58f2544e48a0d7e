# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the access modules (proxmox_role, proxmox_group, proxmox_pool) share: PVE's id formats, how a node
keeps a comment, finding one entry of a listing, and a pool's members.

The rules are PVE's, read from pve-access-control: role and group ids (src/PVE/AccessControl.pm
verify_rolename, and verify_groupname with PVE::Auth::Plugin's $groupname_regex) are letters, digits, '.', '-' and
'_'; user.cfg keeps no empty comment (parse_user_config sets a comment only when it is not empty), so a blank one
reads back as none.
"""

from __future__ import annotations

import difflib
import re

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path

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


# ---------------------------------------------------------------- pools

MEMBER_KINDS = ("vms", "storage")


def pool_members(pool):
    """A pool as GET /pools?poolid= (or /pools/<pool>) reads it: its comment, its guests' vmids and its storage ids,
    each sorted. A node lists only the members that exist (pve-manager PVE/API2/Pool.pm, index)."""
    members = pool.get("members") or []
    return {"comment": stored_comment(pool.get("comment")),
            "vms": sorted({int(member["vmid"]) for member in members if member.get("vmid") is not None}),
            "storage": sorted({member["storage"] for member in members
                               if member.get("type") == "storage" and member.get("storage")})}


def plan_members(current, wanted, exclusive):
    """The members to add and to remove ({kind: sorted list}, kinds in MEMBER_KINDS): those wanted that are not
    there, and with exclusive those there that are not wanted. A kind not wanted (None) is left alone."""
    adds, removes = {}, {}
    for kind in MEMBER_KINDS:
        if wanted.get(kind) is None:
            continue
        there, asked = set(current[kind]), set(wanted[kind])
        if asked - there:
            adds[kind] = sorted(asked - there)
        if exclusive and there - asked:
            removes[kind] = sorted(there - asked)
    return adds, removes


def member_data(members):
    """The vms and storage parameters of PUT /pools for {kind: list}: comma-separated lists."""
    return {kind: ",".join(str(item) for item in items) for kind, items in members.items()}


def pool_call(client, method, pool, **data):
    """GET or DELETE one pool: /pools/<pool>, the one path PVE 7 and 8.0 have; a nested pool (parent/child, PVE
    8.1 and later), whose id cannot be one path segment, through /pools with poolid (GET answers a list)."""
    if "/" in pool:
        reply = getattr(client, method)("/pools", poolid=pool, **data)
        return (reply or [{}])[0] if method == "get" else reply
    return getattr(client, method)(api_path("pools", pool), **data)

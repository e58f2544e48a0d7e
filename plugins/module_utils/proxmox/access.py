# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the access modules (proxmox_role, proxmox_group, proxmox_pool, proxmox_acl, proxmox_token) share: PVE's id
formats, how a node keeps a comment, finding one entry of a listing, a pool's members, and ACL entries.

The rules are PVE's, read from pve-access-control: role and group ids (src/PVE/AccessControl.pm
verify_rolename, and verify_groupname with PVE::Auth::Plugin's $groupname_regex) are letters, digits, '.', '-' and
'_'; user.cfg keeps no empty comment (parse_user_config sets a comment only when it is not empty), so a blank one
reads back as none.
"""

from __future__ import annotations

import difflib
import re

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import ADD, REPLACE, set_changes
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import api_path

ACCESS_ID = re.compile(r"[A-Za-z0-9.\-_]+")
# PVE::Auth::Plugin's $user_regex and $realm_regex; a token's own id is a realm_regex (AccessControl.pm
# $token_subid_regex), and a token id is user@realm!tokenid ($token_full_regex).
USER_ID = re.compile(r"[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+")
TOKEN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9.\-_]+")
TOKEN_ID = re.compile(r"([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)")
# AccessControl.pm check_path: the paths an ACL entry can be added on ([[:alnum:]] plus '.', '-' and '_').
_SEG = r"[A-Za-z0-9.\-_]+"
ACL_PATHS = re.compile("|".join([
    "/", "/access", "/access/groups", f"/access/groups/{_SEG}", "/access/realm", f"/access/realm/{_SEG}",
    "/nodes", f"/nodes/{_SEG}", "/pool", f"/pool/{_SEG}(?:/{_SEG}){{0,2}}", "/sdn",
    "/sdn/(?:controllers|dns|fabrics|ipams|prefix-lists|route-maps)(?:/[A-Za-z0-9_\\-]+)?",
    f"/sdn/zones(?:/{_SEG}(?:/{_SEG}(?:/[1-9][0-9]{{0,3}})?)?)?", "/storage", f"/storage/{_SEG}", "/vms",
    "/vms/[1-9][0-9]{2,}", "/mapping", f"/mapping/{_SEG}(?:/{_SEG})?"]))
ACL_KINDS = (("users", "user"), ("groups", "group"), ("tokens", "token"))


def access_id_problem(option, value, what):
    """The message for a role or group id that PVE would refuse, or None."""
    if ACCESS_ID.fullmatch(value) and value not in (".", ".."):
        return None
    return f"{option} must be a Proxmox VE {what} id (letters, digits, '.', '-' and '_'); got {value!r}"


def user_id_problem(option, value):
    """The message for a user id PVE would refuse (user@realm), or None."""
    if USER_ID.fullmatch(value):
        return None
    return f"{option} must be a Proxmox VE user id, user@realm such as alice@pve; got {value!r}"


def token_id_problem(option, value):
    """The message for a full token id PVE would refuse (user@realm!tokenid), or None."""
    if TOKEN_ID.fullmatch(value):
        return None
    return f"{option} must be a Proxmox VE API token id, user@realm!tokenid such as ci@pve!deploy; got {value!r}"


def normalize_acl_path(path):
    """An ACL path as a node stores it (AccessControl.pm normalize_path: slashes collapsed, a leading one, none
    at the end), or None when it has characters a node refuses."""
    if not path:
        return None
    path = re.sub("/+", "/", path).rstrip("/") or "/"
    path = path if path.startswith("/") else "/" + path
    return path if re.fullmatch(r"[A-Za-z0-9.\-_/]+", path) else None


def acl_path_problem(path, adding=True):
    """The message for an ACL path a node refuses (AccessControl.pm normalize_path, and check_path when an entry
    is added), or None."""
    normal = normalize_acl_path(path)
    if normal is not None and (not adding or ACL_PATHS.fullmatch(normal)):
        return None
    return (f"path must be a Proxmox VE ACL path such as /, /vms/100, /pool/<pool>, /storage/<storage>, "
            f"/nodes/<node> or /access/groups/<group>; got {path!r}")


def expire_problem(value):
    """The message for an expire option (seconds since the epoch, 0 for never) a node would refuse, or None."""
    if value is None or value >= 0:
        return None
    return f"expire must be seconds since the epoch, or 0 for never; got {value}"


def number_changes(changes, data, current, params, keys):
    """Add to changes, and to data as integers (booleans 1/0), the options of keys given that differ."""
    for key in keys:
        if params[key] is not None and params[key] != current[key]:
            changes.add(key, current[key], params[key])
            data[key] = int(params[key])


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


def name_list(text):
    """The names of a listing's comma-separated field (a group's users, a role's privs), sorted, each once."""
    return sorted({name for name in (text or "").split(",") if name})


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
        add, remove = set_changes(current[kind], wanted[kind], REPLACE if exclusive else ADD)
        if add:
            adds[kind] = sorted(add)
        if remove:
            removes[kind] = sorted(remove)
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


# ------------------------------------------------------------------ ACL

def acl_entries(listing, path, members, roles):
    """{(type, ugid, roleid): propagate (bool)} of GET /access/acl's entries on path for the members
    ({type: [ids]}) and roles given; the others are not this task's."""
    return {(entry["type"], entry["ugid"], entry["roleid"]): bool(int(entry.get("propagate", 1)))
            for entry in listing or []
            if entry.get("path") == path and entry.get("roleid") in roles
            and entry.get("ugid") in members.get(entry.get("type"), ())}


def acl_requests(entries):
    """PUT /access/acl's data for entries ({(type, ugid, roleid)...}): one request per set of members that the
    same roles are to get (a node applies each request's roles to each of its members), fewest requests first
    by role."""
    by_role: dict[str, set[tuple[str, str]]] = {}
    for kind, ugid, role in sorted(entries):
        by_role.setdefault(role, set()).add((kind, ugid))
    grouped: dict[frozenset[tuple[str, str]], list[str]] = {}
    for role, role_members in sorted(by_role.items()):
        grouped.setdefault(frozenset(role_members), []).append(role)
    requests = []
    for members, roles in grouped.items():
        data = {"roles": ",".join(roles)}
        for option, kind in ACL_KINDS:
            ids = sorted(ugid for member_kind, ugid in members if member_kind == kind)
            if ids:
                data[option] = ",".join(ids)
        requests.append(data)
    return requests


def acl_shown(path, entries):
    """Entries ({(type, ugid, roleid): propagate}) as the module returns and diffs them, sorted."""
    return [{"path": path, "type": kind, "ugid": ugid, "roleid": role, "propagate": propagate}
            for (kind, ugid, role), propagate in sorted(entries.items())]

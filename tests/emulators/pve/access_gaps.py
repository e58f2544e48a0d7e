"""Roles and groups as a node keeps them, added to fakepve 0.5.0 through its Python API.

Gaps (each shown on plain fakepve and fixed here in tests/emulators/test_pve_access_gaps.py), read in
pve-access-control:
- fakepve stores no role: /access/roles answers a fixed list whatever was created, updated or deleted, and
  GET /access/roles/{roleid} answers PVEAuditor's privileges for a role that does not exist. A node keeps them
  in user.cfg (src/PVE/API2/Role.pm: index, create_role, update_role, read_role, delete_role): a new role id
  may not start with 'PVE' (any case), an update replaces the privileges unless ``append``, the built-in roles
  (AccessControl.pm role_is_special) cannot be changed or deleted, and an unknown role is "does not exist".
- fakepve accepts any privilege name; a node refuses one it does not know before the call runs (the
  ``pve-priv-list`` format, AccessControl.pm verify_privname: "invalid privilege").
- fakepve stores no group: /access/groups answers one example group. A node keeps them (src/PVE/API2/Group.pm:
  index, create_group, update_group, read_group, delete_group), with the comment only when one was given and
  the members as users joined them.
- The ACL update (PUT /access/acl, server.py stores it) takes any path, role, group, user or token. A node refuses
  (src/PVE/API2/ACL.pm update_acl) a path that AccessControl.pm normalize_path cannot make or, when adding,
  check_path does not know (400, "invalid ACL path"), and inside the user.cfg lock, each role in turn, a role,
  group, user or token that does not exist (500, "ACL update failed: ... does not exist"; check_token_exist:
  "no such token"); user.cfg is written only at the end, so a refused update changes nothing.
"""

from __future__ import annotations

import re

from fakepve.model import PveError
from fakepve.routing import die, split_list
from fakepve.shapes import PRIVILEGES, ROLES

# AccessControl.pm check_path: the ACL paths a node knows.
ACL_PATH = re.compile(r"""(/|/access|/access/groups|/access/groups/[\w.\-]+|/access/realm|/access/realm/[\w.\-]+
    |/nodes|/nodes/[\w.\-]+|/pool|/pool/[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}
    |/sdn|/sdn/(?:controllers|dns|fabrics|ipams|prefix-lists|route-maps|zones)(?:/[\w.\-]+){0,3}
    |/storage|/storage/[\w.\-]+|/vms|/vms/[1-9][0-9]{2,}|/mapping(?:/[\w.\-]+){0,2})""", re.X | re.A)


def normalize_acl_path(path):
    """AccessControl.pm normalize_path: slashes collapsed, none at the end, one at the start; None if invalid."""
    if not path:
        return None
    path = re.sub("/+", "/", str(path)).rstrip("/") or "/"
    path = path if path.startswith("/") else "/" + path
    return path if re.fullmatch(r"[A-Za-z0-9.\-_/]+", path) else None


class AccessGaps:
    """Mixin of ProxgatePve: ``access_roles`` (role id -> set of privileges, the built-in ones first) and
    ``access_groups`` (group id -> {"comment": str or None, "users": set of user ids})."""

    @property
    def access_roles(self):
        return self.__dict__.setdefault("_access_roles", {name: set(privs) for name, privs in ROLES.items()})

    @property
    def access_groups(self):
        return self.__dict__.setdefault("_access_groups", {})

    def _routes_access_acl(self):
        # Registered before server.py's _routes_acl (the tables go in name order), so this route answers.
        return [("PUT", "/access/acl", self._acl_checked_update)]

    def _routes_access_roles(self):
        return [("GET", "/access/roles", self._role_index), ("POST", "/access/roles", self._role_create),
                ("GET", "/access/roles/{roleid}", self._role_read),
                ("PUT", "/access/roles/{roleid}", self._role_update),
                ("DELETE", "/access/roles/{roleid}", self._role_delete)]

    def _routes_access_groups(self):
        return [("GET", "/access/groups", self._group_index), ("POST", "/access/groups", self._group_create),
                ("GET", "/access/groups/{groupid}", self._group_read),
                ("PUT", "/access/groups/{groupid}", self._group_update),
                ("DELETE", "/access/groups/{groupid}", self._group_delete)]

    # ------------------------------------------------------------------- roles

    @staticmethod
    def _privileges(text):
        """The privileges of a pve-priv-list value; the 400 a node answers for one it does not know."""
        privs = set(split_list(text or ""))
        for priv in sorted(privs):
            if priv not in PRIVILEGES:
                raise PveError(400, "Parameter verification failed.",
                               {"privs": f"invalid format - invalid privilege '{priv}'\n"})
        return privs

    def _existing_role(self, role, fail=""):
        if role not in self.access_roles:
            raise die(f"{fail}role '{role}' does not exist")
        return self.access_roles[role]

    async def _role_index(self, v, user):
        return [{"roleid": name, "privs": ",".join(sorted(privs)), "special": 1 if name in ROLES else 0}
                for name, privs in self.access_roles.items()]

    async def _role_read(self, v, user):
        return dict.fromkeys(sorted(self._existing_role(v["roleid"])), 1)

    async def _role_create(self, v, user):
        role = v["roleid"]
        if role.upper().startswith("PVE"):
            raise PveError(400, "Parameter verification failed.",
                           {"roleid": "cannot use role ID starting with the (case-insensitive) 'PVE' namespace"})
        privs = self._privileges(v.get("privs"))
        if role in self.access_roles:
            raise die(f"create role failed: role '{role}' already exists")
        self.access_roles[role] = privs

    async def _role_update(self, v, user):
        role, privs = v["roleid"], self._privileges(v.get("privs"))
        if role in ROLES:
            raise die(f"auto-generated role '{role}' cannot be modified")
        current = self._existing_role(role, "update role failed: ")
        self.access_roles[role] = (current | privs) if v.get("append") else privs

    async def _role_delete(self, v, user):
        role = v["roleid"]
        if role in ROLES:
            raise die(f"auto-generated role '{role}' cannot be deleted")
        self._existing_role(role, "delete role failed: ")
        del self.access_roles[role]

    # ------------------------------------------------------------------ groups

    def _existing_group(self, group, fail=""):
        if group not in self.access_groups:
            raise die(f"{fail}group '{group}' does not exist")
        return self.access_groups[group]

    async def _group_index(self, v, user):
        listed = []
        for name, data in self.access_groups.items():
            if not any(self.allowed(user, "/access/groups/" + name, priv)
                       for priv in ("User.Modify", "Sys.Audit", "Group.Allocate")):
                continue
            entry = {"groupid": name, "users": ",".join(sorted(data["users"]))}
            if data["comment"]:
                entry["comment"] = data["comment"]
            listed.append(entry)
        return listed

    async def _group_read(self, v, user):
        data = self._existing_group(v["groupid"])
        result = {"members": sorted(data["users"])}
        if data["comment"]:
            result["comment"] = data["comment"]
        return result

    async def _group_create(self, v, user):
        group = v["groupid"]
        if group in self.access_groups:
            raise die(f"create group failed: group '{group}' already exists")
        self.access_groups[group] = {"comment": v.get("comment") or None, "users": set()}

    async def _group_update(self, v, user):
        data = self._existing_group(v["groupid"], "update group failed: ")
        if v.get("comment") is not None:
            # user.cfg keeps no empty comment: a blank one reads back as none.
            data["comment"] = v["comment"] or None

    async def _group_delete(self, v, user):
        self._existing_group(v["groupid"], "delete group failed: ")
        del self.access_groups[v["groupid"]]

    # --------------------------------------------------------------------- ACL

    def user_exists(self, userid):
        """A user user.cfg would hold: the login, the password users, and the owners of the API tokens."""
        return userid == self.user or userid in self.users or \
            any(token.split("!")[0] == userid for token in self.apitokens)

    async def _acl_checked_update(self, v, user):
        if not (v.get("users") or v.get("groups") or v.get("tokens")):
            return await self._acl_update(v, user)  # its 400 for no users, groups and tokens
        path = normalize_acl_path(v.get("path"))
        if path is None or (not is_true(v.get("delete")) and not ACL_PATH.fullmatch(path)):
            raise PveError(400, "Parameter verification failed.", {"path": f"invalid ACL path '{v.get('path')}'"})
        for role in split_list(v.get("roles")):
            problem = None if role in self.access_roles else f"role '{role}' does not exist"
            for group in split_list(v.get("groups")):
                problem = problem or (None if group in self.access_groups else f"group '{group}' does not exist")
            for userid in split_list(v.get("users")):
                problem = problem or (None if self.user_exists(userid) else f"user '{userid}' does not exist")
            for token in split_list(v.get("tokens")):
                owner, _, name = token.partition("!")
                if problem is None and not self.user_exists(owner):
                    problem = f"user '{owner}' does not exist"
                if problem is None and token not in self.apitokens:
                    problem = f"no such token '{name}' for user '{owner}'"
            if problem:
                raise die(f"ACL update failed: {problem}\n")
        return await self._acl_update(v, user)


def is_true(value):
    return str(value).lower() in ("1", "true", "yes", "on")

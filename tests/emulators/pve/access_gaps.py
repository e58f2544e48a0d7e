"""Roles and groups as a node keeps them, added to fakepve 0.5.0 through its Python API.

Gaps (each shown on plain fakepve and fixed here in tests/emulators/test_pve_access_gaps.py), read in
pve-access-control:
- fakepve knows three built-in roles (Administrator, NoAccess, PVEAuditor); a node has seventeen, made by
  AccessControl.pm create_roles from its privilege groups: PVE<category>Admin and PVEAdmin get a category's
  admin, user and audit privileges (PVEAdmin without Mapping.Modify), PVE<category>User its user and audit ones
  (only where the category has user privileges), PVEAuditor every audit one, PVETemplateUser VM.Clone and
  VM.Audit (BUILTIN_ROLES below).
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
- fakepve keeps no API token made through the API: POST /access/users/{userid}/token/{tokenid} answers a made-up
  secret that does not authenticate, and the token is neither listed nor read back. A node (src/PVE/API2/User.pm
  token_index, read_token, generate_token, update_token_info, remove_token) stores it in user.cfg with privsep
  (1 unless given), expire (0: none, as parse_user_config reads an absent one) and a comment only when not
  empty, answers the secret once ({info, value, full-tokenid}; PVE::TokenConfig generate_token, a UUID) and
  never again, refuses a second one ("Token already exists."), and answers "no such user ('<userid>')"
  (AccessControl.pm check_user_exist) or "no such token '<id>' for user '<userid>'" (check_token_exist). A token
  made here is entered in fakepve's apitokens and in ``token_privsep`` (tokens.py), so it logs in and its
  privilege separation applies.
- fakepve stores no user: /access/users answers a made-up list. A node (src/PVE/API2/User.pm index, create_user,
  read_user, update_user, delete_user) keeps enable (1 unless given), expire (0: none) and firstname, lastname,
  email and comment only when not empty; create_user sets the password given (domain_set_password), refuses a
  user that exists ("user '<userid>' already exists") or a group that does not ("no such group '<group>'");
  update_user with ``groups`` replaces the user's groups unless ``append``; delete_user takes the user out of
  its groups and removes its tokens, and answers no error for a user that does not exist.
"""

from __future__ import annotations

import re
import uuid

from fakepve.model import PveError
from fakepve.routing import die, split_list
from fakepve.shapes import PRIVILEGES

# AccessControl.pm $privgroups (pve-access-control 9.1.1): category -> (admin, user, audit) privileges; the
# 'root' ones belong to Administrator only.
_PRIVILEGE_GROUPS = {
    "VM": (("VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
            "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate",
            "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback"),
           ("VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.GuestAgent.FileRead",
            "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt"),
           ("VM.Audit", "VM.GuestAgent.Audit")),
    "Sys": (("Sys.Console", "Sys.Syslog"), (), ("Sys.Audit",)),
    "Datastore": (("Datastore.Allocate", "Datastore.AllocateTemplate"), ("Datastore.AllocateSpace",),
                  ("Datastore.Audit",)),
    "SDN": (("SDN.Allocate", "SDN.Audit"), ("SDN.Use",), ("SDN.Audit",)),
    "User": (("User.Modify", "Group.Allocate", "Realm.AllocateUser"), (), ()),
    "Pool": (("Pool.Allocate",), ("Pool.Audit",), ("Pool.Audit",)),
    "Mapping": (("Mapping.Modify",), ("Mapping.Use",), ("Mapping.Audit",)),
}


def _builtin_roles():
    """AccessControl.pm create_roles: the built-in (special) roles and their privileges."""
    roles = {"Administrator": set(PRIVILEGES), "NoAccess": set(), "PVEAdmin": set(), "PVEAuditor": set(),
             "PVETemplateUser": {"VM.Clone", "VM.Audit"}}
    for category, (admin, user, audit) in _PRIVILEGE_GROUPS.items():
        roles[f"PVE{category}Admin"] = set(admin + user + audit)
        roles["PVEAdmin"] |= set(admin + user + audit)
        if user:
            roles[f"PVE{category}User"] = set(user + audit)
        roles["PVEAuditor"] |= set(audit)
    roles["PVEAdmin"].discard("Mapping.Modify")
    return roles


BUILTIN_ROLES = _builtin_roles()

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


def is_true(value):
    return str(value).lower() in ("1", "true", "yes", "on")


class AccessGaps:
    """Mixin of ProxgatePve: ``access_roles`` (role id -> set of privileges, the built-in ones first) and
    ``access_groups`` (group id -> {"comment": str or None, "users": set of user ids})."""

    @property
    def access_roles(self):
        return self.__dict__.setdefault(
            "_access_roles", {name: set(privs) for name, privs in sorted(BUILTIN_ROLES.items())})

    @property
    def access_groups(self):
        return self.__dict__.setdefault("_access_groups", {})

    def _routes_access_acl(self):
        # Registered before server.py's _routes_acl (the tables go in name order), so this route answers.
        return [("PUT", "/access/acl", self._acl_checked_update)]

    def _routes_access_tokens(self):
        return [("GET", "/access/users/{userid}/token", self._token_index),
                ("GET", "/access/users/{userid}/token/{tokenid}", self._token_read),
                ("POST", "/access/users/{userid}/token/{tokenid}", self._token_create),
                ("PUT", "/access/users/{userid}/token/{tokenid}", self._token_update),
                ("DELETE", "/access/users/{userid}/token/{tokenid}", self._token_delete)]

    @property
    def token_info(self):
        """Full token id -> {"expire": int, "comment": str or None} of the tokens in apitokens (none: 0, None)."""
        return self.__dict__.setdefault("_token_info", {})

    @property
    def access_users(self):
        """User id -> {"enable": 0|1, "expire": int, "firstname", "lastname", "email", "comment": str or None}."""
        return self.__dict__.setdefault("_access_users", {})

    def _routes_access_users(self):
        return [("GET", "/access/users", self._user_index), ("POST", "/access/users", self._user_create),
                ("GET", "/access/users/{userid}", self._user_read),
                ("PUT", "/access/users/{userid}", self._user_update),
                ("DELETE", "/access/users/{userid}", self._user_delete)]

    def _routes_access_roles(self):
        return [("GET", "/access/roles", self._role_index), ("POST", "/access/roles", self._role_create),
                ("GET", "/access/roles/{roleid}", self._role_read),
                ("PUT", "/access/roles/{roleid}", self._role_update),
                ("DELETE", "/access/roles/{roleid}", self._role_delete)]

    def _routes_access_groups(self):
        return [("GET", "/access/groups", self._access_group_index),
                ("POST", "/access/groups", self._access_group_create),
                ("GET", "/access/groups/{groupid}", self._access_group_read),
                ("PUT", "/access/groups/{groupid}", self._access_group_update),
                ("DELETE", "/access/groups/{groupid}", self._access_group_delete)]

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
        return [{"roleid": name, "privs": ",".join(sorted(privs)), "special": 1 if name in BUILTIN_ROLES else 0}
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
        if role in BUILTIN_ROLES:
            raise die(f"auto-generated role '{role}' cannot be modified")
        current = self._existing_role(role, "update role failed: ")
        self.access_roles[role] = (current | privs) if v.get("append") else privs

    async def _role_delete(self, v, user):
        role = v["roleid"]
        if role in BUILTIN_ROLES:
            raise die(f"auto-generated role '{role}' cannot be deleted")
        self._existing_role(role, "delete role failed: ")
        del self.access_roles[role]

    # ------------------------------------------------------------------ groups

    def _existing_group(self, group, fail=""):
        if group not in self.access_groups:
            raise die(f"{fail}group '{group}' does not exist")
        return self.access_groups[group]

    async def _access_group_index(self, v, user):
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

    async def _access_group_read(self, v, user):
        data = self._existing_group(v["groupid"])
        result = {"members": sorted(data["users"])}
        if data["comment"]:
            result["comment"] = data["comment"]
        return result

    async def _access_group_create(self, v, user):
        group = v["groupid"]
        if group in self.access_groups:
            raise die(f"create group failed: group '{group}' already exists")
        self.access_groups[group] = {"comment": v.get("comment") or None, "users": set()}

    async def _access_group_update(self, v, user):
        data = self._existing_group(v["groupid"], "update group failed: ")
        if v.get("comment") is not None:
            # user.cfg keeps no empty comment: a blank one reads back as none.
            data["comment"] = v["comment"] or None

    async def _access_group_delete(self, v, user):
        self._existing_group(v["groupid"], "delete group failed: ")
        del self.access_groups[v["groupid"]]

    # --------------------------------------------------------------------- ACL

    def user_exists(self, userid):
        """A user user.cfg would hold: the login, the password users, and the owners of the API tokens."""
        return userid == self.user or userid in self.users or userid in self.access_users or \
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
                owner, name = token.partition("!")[::2]
                if problem is None and not self.user_exists(owner):
                    problem = f"no such user ('{owner}')"  # check_token_exist -> check_user_exist
                if problem is None and token not in self.apitokens:
                    problem = f"no such token '{name}' for user '{owner}'"
            if problem:
                raise die(f"ACL update failed: {problem}\n")
        return await self._acl_update(v, user)

    # ------------------------------------------------------------------ tokens

    def _token_owner(self, userid):
        if not self.user_exists(userid):
            raise die(f"no such user ('{userid}')\n")
        return userid

    def _token_shown(self, full):
        info = self.token_info.get(full, {})
        shown = {"privsep": 1 if self.token_privsep.get(full, True) else 0, "expire": info.get("expire") or 0}
        if info.get("comment"):
            shown["comment"] = info["comment"]
        return shown

    def _existing_token(self, v, fail=""):
        userid = self._token_owner(v["userid"])
        full = f"{userid}!{v['tokenid']}"
        if full not in self.apitokens:
            raise die(f"{fail}no such token '{v['tokenid']}' for user '{userid}'\n")
        return full

    async def _token_index(self, v, user):
        userid = self._token_owner(v["userid"])
        return [dict(self._token_shown(full), tokenid=full.split("!", 1)[1])
                for full in sorted(self.apitokens) if full.split("!", 1)[0] == userid]

    async def _token_read(self, v, user):
        return self._token_shown(self._existing_token(v))

    async def _token_create(self, v, user):
        userid = self._token_owner(v["userid"])
        full = f"{userid}!{v['tokenid']}"
        if full in self.apitokens:
            raise PveError(400, "Parameter verification failed.", {"tokenid": "Token already exists."})
        self.apitokens[full] = str(uuid.uuid4())
        self.token_privsep[full] = v.get("privsep") is None or is_true(v["privsep"])
        self.token_info[full] = {"expire": int(v.get("expire") or 0), "comment": v.get("comment") or None}
        return {"info": self._token_shown(full), "value": self.apitokens[full], "full-tokenid": full}

    async def _token_update(self, v, user):
        full = self._existing_token(v, "updating token info failed: ")
        deletes = split_list(v.get("delete"))
        for key in deletes:
            if key != "comment":
                raise PveError(400, "Parameter verification failed.", {"delete": f"unknown option '{key}'"})
        info = self.token_info.setdefault(full, {"expire": 0, "comment": None})
        if v.get("privsep") is not None:
            self.token_privsep[full] = is_true(v["privsep"])
        if v.get("expire") is not None:
            info["expire"] = int(v["expire"])
        if v.get("comment") is not None:
            info["comment"] = v["comment"] or None
        if deletes:
            info["comment"] = None
        shown = self._token_shown(full)
        if is_true(v.get("regenerate")):
            self.apitokens[full] = str(uuid.uuid4())
            shown.update({"value": self.apitokens[full], "full-tokenid": full})
        return shown

    async def _token_delete(self, v, user):
        full = self._existing_token(v, "deleting token failed: ")
        for store in (self.apitokens, self.token_privsep, self.token_info):
            store.pop(full, None)

    # ------------------------------------------------------------------- users

    USER_TEXTS = ("firstname", "lastname", "email", "comment")

    def _user_data(self, userid):
        data = self.access_users.get(userid) or {"enable": 1, "expire": 0}
        shown = {"enable": data["enable"], "expire": data["expire"]}
        shown.update((key, data[key]) for key in self.USER_TEXTS if data.get(key))
        return shown

    def _user_groups(self, userid):
        return sorted(name for name, group in self.access_groups.items() if userid in group["users"])

    def _set_user_groups(self, userid, text, append=False):
        names = split_list(text)
        for name in names:
            if name not in self.access_groups:
                raise die(f"no such group '{name}'\n")
        for name, group in self.access_groups.items():
            if name in names:
                group["users"].add(userid)
            elif not append:
                group["users"].discard(userid)

    def _known_users(self):
        return sorted({self.user, *self.users, *self.access_users,
                       *(token.split("!")[0] for token in self.apitokens)})

    async def _user_index(self, v, user):
        return [dict(self._user_data(userid), userid=userid) for userid in self._known_users()]

    async def _user_read(self, v, user):
        userid = self._token_owner(v["userid"])
        return dict(self._user_data(userid), groups=self._user_groups(userid))

    async def _user_create(self, v, user):
        userid = v["userid"]
        if self.user_exists(userid):
            raise die(f"create user failed: user '{userid}' already exists\n")
        for name in split_list(v.get("groups")):
            if name not in self.access_groups:
                raise die(f"create user failed: no such group '{name}'\n")
        data = {"enable": 1 if v.get("enable") is None else int(is_true(v["enable"])),
                "expire": int(v.get("expire") or 0)}
        data.update((key, v.get(key) or None) for key in self.USER_TEXTS)
        self.access_users[userid] = data
        if v.get("groups"):
            self._set_user_groups(userid, v["groups"], append=True)
        if v.get("password") is not None:
            self.users[userid] = v["password"]

    async def _user_update(self, v, user):
        userid = v["userid"]
        if not self.user_exists(userid):
            raise die(f"update user failed: no such user ('{userid}')\n")
        data = self.access_users.setdefault(userid, {"enable": 1, "expire": 0})
        if v.get("groups") is not None:
            for name in split_list(v["groups"]):
                if name not in self.access_groups:
                    raise die(f"update user failed: no such group '{name}'\n")
            self._set_user_groups(userid, v["groups"], append=is_true(v.get("append")))
        if v.get("enable") is not None:
            data["enable"] = int(is_true(v["enable"]))
        if v.get("expire") is not None:
            data["expire"] = int(v["expire"])
        for key in self.USER_TEXTS:
            if v.get(key) is not None:
                data[key] = v[key] or None

    async def _user_delete(self, v, user):
        userid = v["userid"]  # delete_user checks no existence: an unknown user is deleted without an error
        self.access_users.pop(userid, None)
        self.users.pop(userid, None)
        self._set_user_groups(userid, "")
        for token in [token for token in self.apitokens if token.split("!")[0] == userid]:
            for store in (self.apitokens, self.token_privsep, self.token_info):
                store.pop(token, None)

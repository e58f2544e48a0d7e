"""Privileges from the ACL entries made through the API, as a node computes them, added to fakepve 0.5.0.

Gap (shown on the test server before this addition and fixed here in tests/emulators/test_pve_access_gaps.py), read
in pve-access-control: PUT /access/acl is stored (server.py, access_gaps.py) but gives no privilege; fakepve's
permission checks read only its own ``grant()`` table. A node computes a user's or a token's privileges on a path
from the roles of its ACL entries (src/PVE/AccessControl.pm roles, src/PVE/RPCEnvironment.pm compile_acl_path):

- walking the path from ``/`` down, at each level the entries for the user (or token) itself replace what was
  found above; only where it has none there, its groups' entries at that level do; an entry counts below its own
  path only with ``propagate``; a ``NoAccess`` role among them leaves nothing;
- the roles of a pool's entries apply to the pool's guests (``/vms/<vmid>``) and storages (``/storage/<id>``), not
  propagated, unless the path's own roles hold ``NoAccess``;
- the privileges are the union of the roles' privileges (``access_roles``, the built-in ones and those made).

A privilege-separated token then holds what both it and its user hold (tokens.py). fakepve's ``grant()`` table still
counts besides, so the tests that grant privileges directly keep working; the ACL entries count only once
permissions are checked at all (``pve.acl`` not None, as fakepve has it).

For the derivation of the privileges the collection needs (docs/automation-account.md), ``privilege_log``, when a
list, gets one ``(user, method, request path, ACL path, privilege, held)`` for every privilege check a request makes.
"""

from __future__ import annotations

import contextvars

from aiohttp import web

# The request a privilege check is made for: (method, path).
CURRENT_REQUEST = contextvars.ContextVar("proxgate_pve_request", default=("", ""))


def _path_levels(path):
    """'/vms/100' -> ['/', '/vms', '/vms/100']."""
    parts = [part for part in path.split("/") if part]
    return ["/"] + ["/" + "/".join(parts[:n]) for n in range(1, len(parts) + 1)]


class AclRoles:
    """Mixin of ProxgatePve: ``acl_privileges(ugid, path)`` and the request-aware ``privilege_log``."""

    privilege_log = None

    def _build_app(self):
        app = super()._build_app()
        app.middlewares.insert(0, self._privilege_request)
        return app

    @web.middleware
    async def _privilege_request(self, request, handler):
        CURRENT_REQUEST.set((request.method, request.path))
        return await handler(request)

    def check_permissions(self, user, perms, values, declared=None):
        """fakepve skips the schema's rule for root@pam; while privileges are logged, it is evaluated for root
        too (root holds everything, so nothing is refused), so that a run as root shows what a user would need."""
        if self.privilege_log is not None and user is not None and user.split("!")[0] == "root@pam" \
                and perms is not None and "check" in perms:
            self._check(user, perms["check"], values, declared)
        return super().check_permissions(user, perms, values, declared)

    def log_privilege_check(self, user, path, priv, held):
        if self.privilege_log is not None:
            method, request_path = CURRENT_REQUEST.get()
            self.privilege_log.append((user, method, request_path, path, priv, held))

    def _entry_roles(self, ugid, path):
        """AccessControl.pm roles: role -> propagate for ugid (a user or a token) on path."""
        kind = "token" if "!" in ugid else "user"
        groups = {group for group, info in self.access_groups.items() if ugid in info.get("users", ())}
        by_level = {}
        for (entry_path, entry_kind, entry_id, role), propagate in self.acl_entries.items():
            if entry_kind == kind and entry_id == ugid:
                by_level.setdefault((entry_path, "own"), {})[role] = propagate
            elif entry_kind == "group" and kind == "user" and entry_id in groups:
                by_level.setdefault((entry_path, "group"), {})[role] = propagate
        roles = {}
        levels = _path_levels(path)
        for level in levels:
            final = level == levels[-1]
            for source in ("own", "group"):
                found = {role: propagate for role, propagate in by_level.get((level, source), {}).items()
                         if final or propagate}
                if found:
                    roles = found  # what is set here replaces what was set above; the user's own before its groups'
                    break
        return {"NoAccess": roles["NoAccess"]} if "NoAccess" in roles else roles

    def acl_privileges(self, ugid, path):
        """RPCEnvironment.pm compile_acl_path: the privileges ugid's ACL entries give on path."""
        roles = self._entry_roles(ugid, path)
        pool_paths = []
        if path.startswith("/vms/"):
            vmid = path.split("/")[2]
            pool_paths = ["/pool/" + name for name, ids in self.pools.items() if vmid in {str(i) for i in ids}]
        elif path.startswith("/storage/"):
            storage = path.split("/")[2]
            pool_paths = ["/pool/" + name for name, meta in self.pool_info.items() if storage in meta["storage"]]
        pool_roles = {}
        for pool_path in pool_paths:
            pool_roles.update(self._entry_roles(ugid, pool_path))
        if pool_roles and "NoAccess" not in roles:
            roles = {"NoAccess": 0} if "NoAccess" in pool_roles else {**dict.fromkeys(pool_roles, 0), **roles}
        privileges = set()
        for role in roles:
            privileges |= self.access_roles.get(role, set())
        return privileges

"""API tokens' privileges as a node computes them, added to fakepve 0.5.0 through its Python API.

Gap (shown on plain fakepve and fixed here in tests/emulators/test_pve_guest_gaps.py), read in pve-access-control
(src/PVE/RPCEnvironment.pm: permissions, and the intersection in compile_acl_path): a token made with privilege
separation (``privsep``, the default of ``pveum user token add`` and of POST /access/users/{userid}/token/{tokenid})
holds a privilege on a path only where both its own ACLs and its user's give it, root@pam's tokens included; a
token without privilege separation holds exactly its user's privileges. fakepve gives every token the union of its
and its user's ACLs (and every root@pam token everything), so a token with no ACL of its own worked where a node
answers 403.
"""

from __future__ import annotations


class TokenGaps:
    """Mixin of ProxgatePve: `token_privsep[tokenid] = False` marks a token made with ``--privsep 0``; a token
    not listed is privilege-separated, as a node makes it by default."""

    @property
    def token_privsep(self):
        return self.__dict__.setdefault("_token_privsep", {})

    def allowed(self, user, path, priv):
        held = self._holds(user, path, priv)
        self.log_privilege_check(user, path, priv, held)
        return held

    def _holds(self, user, path, priv):
        """fakepve's grant() table, and the ACL entries made through the API (acl_roles.py) once permissions
        are checked (acl not None)."""
        if self.acl is None:
            return super().allowed(user, path, priv)
        if "!" not in user:
            return super().allowed(user, path, priv) or priv in self.acl_privileges(user, path)
        owner = user.split("!")[0]
        owner_holds = super().allowed(owner, path, priv) or priv in self.acl_privileges(owner, path)
        if not self.token_privsep.get(user, True):
            return owner_holds
        return owner_holds and (self._acl_grants(user, path, priv) or priv in self.acl_privileges(user, path))

    def _acl_grants(self, token, path, priv):
        """The token's own ACL entries give priv on path (or on a path above it, or on a pool holding it)."""
        paths = [path]
        if path.startswith("/vms/"):
            vmid = int(path.split("/")[2])
            paths += ["/vms"] + ["/pool/" + name for name, ids in self.pools.items() if vmid in ids]
        elif path.startswith("/storage/"):
            storage = path.split("/")[2]
            paths += ["/pool/" + name for name, meta in self.pool_info.items() if storage in meta["storage"]]
        return any(priv in privs and (granted == "/" or any(p == granted or p.startswith(granted + "/")
                                                            for p in paths))
                   for granted, privs in self.acl.get(token, []))

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the modules that manage one rustguac object (an address-book folder or entry, a user, an API
token, an OIDC group mapping): common.object_module's state machine on a rustguac client, with the reads, writes
and results these modules share.

A module sets ``object_key`` and ``listed_results`` (the result keys that hold a list, empty unless something is
written; without ``changed_keys`` the result has none) and implements the hooks of ``ObjectModule``; one that
writes through ``post_object`` and the like also ``collection_path()`` (where a new object is POSTed) and
``object_path()`` (the object's own path). The result's ``changed_keys`` are the keys the diff shows after a
create or an update: what is (or, in check mode, would be) written.
"""

from __future__ import annotations

from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.addressbook import read_folder
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import RustguacModule


class RustguacObjectModule(ObjectModule, RustguacModule):
    """A rustguac module that manages one address-book object; see the module docstring."""

    gone: dict | None = {}
    listed_results: tuple = ("changed_keys",)

    def collection_path(self):
        raise NotImplementedError

    def object_path(self):
        raise NotImplementedError

    def extra_results(self):
        return {key: [] for key in self.listed_results}

    def result(self, obj, before, after):
        if self.params["state"] == "present" and "changed_keys" in self.listed_results:
            self.extra["changed_keys"] = sorted(after)
        return super().result(obj, before, after)

    # ------------------------------------------------------------------ reads

    def folder_exists(self, name):
        """Whether the folder of that name is in the listing of the scope option's folders. The listing, not
        its entries or its config: rustguac lists the entries of a missing folder as [] (src/api.rs
        ab_list_entries)."""
        return read_folder(self.client, self.params["scope"], name) is not None

    # ------------------------------------------------------------------ writes (through self.write)

    def post_object(self, body):
        self.write(self.client.post, self.collection_path(), body)

    def put_object(self, body):
        self.write(self.client.put, self.object_path(), body)

    def delete_object(self):
        """DELETE the object; the server's reply as a dict ({} when it is none), None in check mode."""
        reply = self.write(self.client.delete, self.object_path())
        if self.check_mode:
            return None
        return reply if isinstance(reply, dict) else {}

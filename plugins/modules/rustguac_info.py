#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rustguac_info
short_description: Read folders, entries, sessions, recordings and health from rustguac
version_added: 0.1.0
description:
  - Reads what O(gather) names from a rustguac server, as the key's user may see it (the server lists only
    the folders of the user's OIDC groups; admins see all).
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.rustguac
  - proxgate.core.attributes
  - proxgate.core.attributes.INFO_MODULE
  - proxgate.core.attributes.ACTIONGROUP_RUSTGUAC
options:
  gather:
    description:
      - What to read. V(health) gives RV(healthy) (no role needed); V(folders) gives RV(folders); V(entries)
        gives RV(entries) (one call per folder); V(sessions) gives RV(sessions); V(recordings) gives
        RV(recordings).
    type: list
    elements: str
    choices: [health, folders, entries, sessions, recordings]
    default: [health, folders, entries, sessions, recordings]
notes:
  - "Role needed: C(operator) or higher to list folders, entries, sessions and recordings; none for
    V(health)."
  - Credentials of entries are never returned by the server; should one appear, it is shown as C(********).
seealso:
  - module: proxgate.core.rustguac_folder
  - module: proxgate.core.rustguac_entry
"""

EXAMPLES = r"""
- name: Wait for a new rustguac server to answer (no key role needed for health)
  proxgate.core.rustguac_info:
    gather: [health]
  register: rg
  until: rg.healthy
  retries: 30
  delay: 2

- name: The whole address book
  proxgate.core.rustguac_info:
    gather: [folders, entries]
  register: book

- name: Names of every entry
  ansible.builtin.debug:
    msg: "{{ book.entries | map(attribute='path') | list }}"
"""

RETURN = r"""
healthy:
  description: Whether C(GET /api/health) answered 200.
  returned: when V(health) is gathered
  type: bool
  sample: true
folders:
  description:
    - The visible top-level folders, sorted by scope and name, as the server lists them (rustguac 1.9.7
      lists C(name), C(description), C(scope), C(path), C(has_children); not a folder's groups, which
      M(proxgate.core.rustguac_folder) reads with an admin key).
  returned: when V(folders) or V(entries) is gathered
  type: list
  elements: dict
  sample:
    - {scope: shared, name: production, path: production, description: Production servers, has_children: false}
entries:
  description:
    - Every entry of every visible folder, sorted, each with C(scope), C(folder) and C(path)
      (C(scope/folder/name)) added, as rustguac 1.9.7 lists it. The protocol is C(session_type), unset fields
      are V(null), and no credential is returned (C(has_credentials) says whether one is stored).
  returned: when V(entries) is gathered
  type: list
  elements: dict
  sample:
    - {scope: shared, folder: production, name: web01, path: shared/production/web01, session_type: ssh,
       hostname: 10.20.0.11, port: 22, username: null, has_credentials: true}
sessions:
  description:
    - The active sessions as C(GET /api/sessions?all=true) lists them. With an admin key, every session;
      with a lower role, only the sessions of the key's own identity (rustguac ignores C(all) for them).
  returned: when V(sessions) is gathered
  type: list
  elements: dict
  sample:
    - {session_id: 550e8400-e29b-41d4-a716-446655440000, session_type: ssh, hostname: 10.0.0.1}
recordings:
  description: The recording files as C(GET /api/recordings) lists them.
  returned: when V(recordings) is gathered
  type: list
  sample: [{name: 550e8400-e29b-41d4-a716-446655440000.guac, size: 10240}]
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import mask_secrets
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import RustguacApiError, path_of
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.entries import SECRETS
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import RustguacModule, listed

GATHER = ("health", "folders", "entries", "sessions", "recordings")


class RustguacInfo(RustguacModule):
    argument_spec = dict(
        gather=dict(type="list", elements="str", choices=list(GATHER), default=list(GATHER)),
    )
    required_role = "operator"

    def run(self):
        gather = set(self.params["gather"])
        result = dict(changed=False)
        if "health" in gather:
            result["healthy"] = self.healthy()
        if gather & {"folders", "entries"}:
            folders = sorted(listed(self.client.get("/addressbook/folders"), "folders"),
                             key=lambda folder: (str(folder.get("scope")), str(folder.get("name"))))
            result["folders"] = folders
            if "entries" in gather:
                result["entries"] = [entry for folder in folders for entry in self.entries(folder)]
        if "sessions" in gather:
            # rustguac lists only the caller's own sessions unless an admin asks all=true (src/api.rs
            # list_sessions); for other roles all=true is ignored.
            result["sessions"] = listed(self.client.get("/sessions", all="true"), "sessions")
        if "recordings" in gather:
            reply = self.client.get("/recordings")
            result["recordings"] = reply.get("recordings", []) if isinstance(reply, dict) else reply or []
        return result

    def healthy(self):
        try:
            return self.client.health()
        except RustguacApiError:
            return False

    def entries(self, folder):
        scope, name = folder.get("scope"), folder.get("name")
        entries = listed(self.client.get(path_of("addressbook", "folders", scope, name, "entries")), "entries")
        found = [dict(mask_secrets(entry, set(SECRETS)), scope=scope, folder=name,
                      path=f"{scope}/{name}/{entry.get('name')}") for entry in entries]
        return sorted(found, key=lambda entry: str(entry.get("name")))


def main():
    RustguacInfo().execute()


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rustguac_folder
short_description: Create, update or delete a rustguac address-book folder
version_added: 0.1.0
description:
  - Manages one folder of the rustguac address book (kept in Vault by the server), found by O(scope) and
    O(name).
  - Finds the folder in the folder list, reads its groups and description from its settings
    (C(GET .../folders/{scope}/{name}/config); the list does not carry the groups), compares them with
    O(allowed_groups) and O(description), and writes only when something differs.
  - The server replaces all the settings on an update and resets those left out, so the module sends the
    stored values (and the folder's C(inherit_from_parent)) along with the changed ones.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.rustguac
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_RUSTGUAC
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  scope:
    description:
      - V(shared) folders are common to every rustguac instance that uses the same Vault path,
        V(instance) folders belong to this instance only.
    type: str
    choices: [shared, instance]
    default: shared
  name:
    description:
      - Name of the folder, unique within its scope; 1 to 64 ASCII letters, digits, C(.), C(_) or
        C(-), and not C(.), C(..) or C(.config) (the rustguac server's rule); other names fail before any call.
      - rustguac's sub-folders (C(clients/acme)) are not managed by this module yet; a C(/) is refused.
    type: str
    required: true
  allowed_groups:
    description:
      - The OIDC groups whose members see the folder and may connect to its entries (admins see every
        folder).
      - The order does not matter. Left out, the stored list is kept (an empty list when creating).
    type: list
    elements: str
  description:
    description:
      - Free text shown with the folder. Left out, the stored text is kept.
    type: str
  state:
    description:
      - V(present) creates or updates the folder, V(absent) deletes it B(with all its entries and sub-folders).
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Role needed: C(admin) (folders are managed by admins only). A key with a lower role gets HTTP 403."
seealso:
  - module: proxgate.core.rustguac_entry
  - module: proxgate.core.rustguac_info
"""

EXAMPLES = r"""
- name: A shared folder for the ops team (auth from RUSTGUAC_* environment variables)
  proxgate.core.rustguac_folder:
    name: production
    allowed_groups: [ops, devops]
    description: Production servers

- name: Remove a folder and its entries
  proxgate.core.rustguac_folder:
    api_url: https://gateway.example.com:8089
    api_key: "{{ vault_rustguac_admin_key }}"
    scope: instance
    name: old-lab
    state: absent
"""

RETURN = r"""
folder:
  description:
    - The folder after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    scope:
      description: V(shared) or V(instance).
      type: str
      sample: shared
    name:
      description: The folder's name.
      type: str
      sample: production
    allowed_groups:
      description: The OIDC groups that see it, sorted.
      type: list
      elements: str
      sample: [devops, ops]
    description:
      description: Its description.
      type: str
      sample: Production servers
changed_keys:
  description: The settings that were (or, in check mode, would be) written, sorted.
  returned: always
  type: list
  elements: str
  sample: [allowed_groups]
entries_deleted:
  description: How many entries rustguac deleted with the folder (its sub-folders' included), as it answers.
  returned: when O(state=absent) deleted the folder, not in check mode
  type: int
  sample: 4
subfolders_deleted:
  description: How many sub-folders rustguac deleted with the folder, as it answers.
  returned: when O(state=absent) deleted the folder, not in check mode
  type: int
  sample: 0
"""

from ansible_collections.proxgate.core.plugins.module_utils.rustguac.addressbook import (
    FOLDERS,
    describe_folder,
    folder_path,
    folder_problem,
    folder_put_body,
    folder_settings,
    read_folder_config,
)
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import compare
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.objects import RustguacObjectModule


class RustguacFolder(RustguacObjectModule):
    argument_spec = dict(
        scope=dict(type="str", choices=["shared", "instance"], default="shared"),
        name=dict(type="str", required=True),
        allowed_groups=dict(type="list", elements="str"),
        description=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    required_role = "admin"
    object_key = "folder"

    def validate(self):
        problem = (folder_problem("name", self.params["name"])
                   or folder_settings(self.params["allowed_groups"], self.params["description"])[1])
        if problem:
            self.fail(problem)

    def collection_path(self):
        return FOLDERS

    def object_path(self):
        return folder_path(self.params["scope"], self.params["name"])

    def locate(self):
        # The listing says whether the folder exists; its groups come only from its config (admin only).
        if not self.folder_exists(self.params["name"]):
            return None
        return read_folder_config(self.client, self.params["scope"], self.params["name"])

    def desired(self, existing):
        return folder_settings(self.params["allowed_groups"], self.params["description"])[0]

    def create(self, desired):
        folder = dict(scope=self.params["scope"], name=self.params["name"],
                      allowed_groups=desired["allowed_groups"] or [], description=desired["description"] or "")
        self.post_object(folder)
        return folder, folder

    def update(self, existing, desired):
        current = describe_folder(self.params["scope"], self.params["name"], existing)
        changes = compare(current, desired)
        folder = {**current, **{key: changes.after[key] for key in changes}}
        if changes:
            self.put_object(folder_put_body(existing, folder))
        return folder, changes

    def delete(self, existing):
        # rustguac deletes the sub-folders and entries too and answers their counts (src/api.rs
        # ab_delete_folder: 200 {ok, subfolders_deleted, entries_deleted}).
        reply = self.delete_object()
        if reply is not None:
            self.extra.update(subfolders_deleted=reply.get("subfolders_deleted"),
                              entries_deleted=reply.get("entries_deleted"))
        return describe_folder(self.params["scope"], self.params["name"], existing)


def main():
    RustguacFolder().execute()


if __name__ == "__main__":
    main()

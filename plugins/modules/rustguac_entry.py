#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rustguac_entry
short_description: Create, update or delete a rustguac address-book entry
version_added: 0.1.0
description:
  - Manages one connection entry of a rustguac address-book folder, found by O(scope), O(folder) and O(name).
  - Reads the folder's entries, compares the options given with what is stored, and writes only when
    something differs. Options left out keep their stored values.
  - "rustguac's update replaces the whole entry (fields left out of it are cleared), so the module sends the
    entry as the server lists it with the options given on top: fields it has no option for (jump host
    host keys, RemoteApp, recording limits, Proxmox console settings, and any field a newer server adds)
    are sent back unchanged."
  - "Credentials are write-only: the server never returns O(password), O(private_key) or the jump hosts'
    credentials, and its update keeps the stored ones when they are left out. So the module cannot compare
    them; O(update_password) decides when they are sent."
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
    details:
      - The diff holds only what differs; credentials are shown as C(********) (C(******** (changed)) when
        they are sent again).
options:
  scope:
    description:
      - Scope of the folder, V(shared) or V(instance).
    type: str
    choices: [shared, instance]
    default: shared
  folder:
    description:
      - Name of the folder the entry is in. It must exist (see M(proxgate.core.rustguac_folder)).
      - The same rule as for O(name); a sub-folder (C(/)) is refused for now.
    type: str
    required: true
  name:
    description:
      - Name of the entry, unique within its folder; 1 to 64 ASCII letters, digits, C(.), C(_) or
        C(-), and not C(.), C(..) or C(.config) (the rustguac server's rule); other names fail before any call.
    type: str
    required: true
  type:
    description:
      - The protocol. Required with O(state=present).
    type: str
    choices: [ssh, rdp, vnc, web]
  hostname:
    description:
      - Target hostname or IP address (types V(ssh), V(rdp), V(vnc); required for them).
    type: str
  port:
    description:
      - Target port (types V(ssh), V(rdp), V(vnc)); the server uses the protocol's default when it is not set.
    type: int
  username:
    description:
      - User name on the target (types V(ssh), V(rdp)).
    type: str
  password:
    description:
      - Password on the target (types V(ssh), V(rdp), V(vnc); for VNC the VNC password). Write-only, see
        O(update_password).
    type: str
  private_key:
    description:
      - OpenSSH PEM private key (type V(ssh)). Write-only, see O(update_password).
    type: str
  url:
    description:
      - Target URL (type V(web); required for it).
    type: str
  domain:
    description:
      - Windows domain (type V(rdp)).
    type: str
  security:
    description:
      - RDP security mode (type V(rdp)).
    type: str
    choices: [tls, nla, rdp]
  ignore_cert:
    description:
      - Ignore certificate errors of the RDP server (type V(rdp)).
    type: bool
  auth_pkg:
    description:
      - NLA authentication package (type V(rdp)); V("") is negotiate.
    type: str
    choices: [kerberos, ntlm, ""]
  kdc_url:
    description:
      - Kerberos KDC or KDC proxy URL (type V(rdp)).
    type: str
  color_depth:
    description:
      - Color depth in bits (type V(rdp)).
    type: int
    choices: [8, 16, 24, 32]
  enable_drive:
    description:
      - Enable file transfer or drive redirection (types V(rdp), V(ssh)).
    type: bool
  display_name:
    description:
      - Name the web UI shows for the entry (the entry name when unset).
    type: str
  prompt_credentials:
    description:
      - Ask the user for credentials at connect time (they are used for that session only).
    type: bool
  banner:
    description:
      - Text shown before the session starts; the user clicks Continue to go on.
    type: str
  enable_recording:
    description:
      - Record the sessions of this entry, or not, whatever the server's default is.
    type: bool
  disable_copy:
    description:
      - Forbid copying from the remote session to the user's clipboard.
    type: bool
  disable_paste:
    description:
      - Forbid pasting from the user's clipboard into the remote session.
    type: bool
  allow_sharing:
    description:
      - Let users create a share link for sessions of this entry (rustguac's default is no).
    type: bool
  jump_hosts:
    description:
      - The chain of SSH bastions to tunnel through, in order; each hop connects through the previous one.
      - Given, it replaces the stored chain (V([]) removes every hop); left out, the stored chain is kept.
      - Hops are compared by O(jump_hosts[].hostname), O(jump_hosts[].port) and O(jump_hosts[].username). The
        server merges hop credentials by position, so a hop whose hostname, port or username changes is
        treated as new and its credentials are sent whatever O(update_password) says.
    type: list
    elements: dict
    suboptions:
      hostname:
        description: SSH bastion hostname.
        type: str
        required: true
      port:
        description: SSH port.
        type: int
        default: 22
      username:
        description: SSH user name.
        type: str
        required: true
      password:
        description: SSH password. Write-only.
        type: str
      private_key:
        description: OpenSSH PEM private key. Write-only.
        type: str
  update_password:
    description:
      - When the write-only credentials (O(password), O(private_key) and the jump hosts' ones) are sent.
      - V(on_create) sends them when the entry (or a jump host) is created, and when the server lists the
        entry with C(has_credentials=false) (neither a password nor a private key stored); otherwise they
        are neither sent nor compared, so a second run reports no change. A
        credential changed in your variables is B(not) applied to an existing entry; run once with
        V(always) to rotate it.
      - V(always) sends every credential given on every run. The server cannot tell whether it differs, so
        such a run B(always reports changed) and rewrites the credential (in Vault) each time; use it for a
        rotation, not in a play that must converge to changed=false.
    type: str
    choices: [always, on_create]
    default: on_create
  state:
    description:
      - V(present) creates or updates the entry, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Role needed: C(admin) (entries are managed by admins only). A key with a lower role gets HTTP 403."
  - The address book needs Vault on the server; without it the server answers the calls with an error.
seealso:
  - module: proxgate.core.rustguac_folder
  - module: proxgate.core.rustguac_info
"""

EXAMPLES = r"""
- name: An SSH entry reached through a bastion (auth from RUSTGUAC_* environment variables)
  proxgate.core.rustguac_entry:
    folder: production
    name: web01
    type: ssh
    hostname: 10.20.0.11
    username: deploy
    private_key: "{{ vault_deploy_key }}"
    enable_drive: true
    jump_hosts:
      - hostname: bastion.example.com
        username: jump
        private_key: "{{ vault_jump_key }}"

- name: An RDP entry with Kerberos NLA whose users type their own password
  proxgate.core.rustguac_entry:
    folder: windows
    name: fileserver
    type: rdp
    hostname: fileserver.corp.example.com
    domain: CORP.EXAMPLE.COM
    security: nla
    auth_pkg: kerberos
    kdc_url: https://dc.corp.example.com/KdcProxy
    prompt_credentials: true

- name: Rotate a stored password (reports changed on every run)
  proxgate.core.rustguac_entry:
    folder: production
    name: db01
    type: ssh
    hostname: db01.internal
    password: "{{ vault_db01_new_password }}"
    update_password: always

- name: Remove an entry
  proxgate.core.rustguac_entry:
    folder: production
    name: old-host
    state: absent
"""

RETURN = r"""
entry:
  description:
    - The entry after the task (what it would be, in check mode), without credentials (the server does not
      return them). Empty after O(state=absent).
  returned: always
  type: dict
  sample:
    name: web01
    scope: shared
    folder: production
    type: ssh
    hostname: 10.20.0.11
    username: deploy
    enable_drive: true
    jump_hosts: [{hostname: bastion.example.com, port: 22, username: jump}]
changed_keys:
  description: The fields that were (or, in check mode, would be) written, sorted; credentials included.
  returned: always
  type: list
  elements: str
  sample: [hostname, jump_hosts]
secrets_sent:
  description:
    - Names of the credentials the write carried (never their values), such as C(password) or
      C(jump_hosts[0].private_key).
  returned: always
  type: list
  elements: str
  sample: [password]
"""

from ansible_collections.proxgate.core.plugins.module_utils.rustguac.addressbook import (
    entries_path,
    find_entry,
    folder_problem,
    name_problem,
    read_entries,
)
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.entries import (
    entry_argument_spec,
    input_problems,
    plan_entry,
    public_entry,
)
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.objects import RustguacObjectModule


class RustguacEntry(RustguacObjectModule):
    argument_spec = dict(
        scope=dict(type="str", choices=["shared", "instance"], default="shared"),
        folder=dict(type="str", required=True),
        name=dict(type="str", required=True),
        **entry_argument_spec(),
        update_password=dict(type="str", choices=["always", "on_create"], default="on_create", no_log=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module_kwargs = dict(required_if=[("state", "present", ("type",))])
    required_role = "admin"
    object_key = "entry"
    listed_results = ("changed_keys", "secrets_sent")

    def validate(self):
        params = self.params
        problem = folder_problem("folder", params["folder"]) or name_problem("name", params["name"])
        if problem:
            self.fail(problem)
        if params["state"] == "present":
            problems = input_problems(params)
            if problems:
                self.fail("; ".join(problems))

    def collection_path(self):
        return entries_path(self.params["scope"], self.params["folder"])

    def object_path(self):
        return entries_path(self.params["scope"], self.params["folder"], self.params["name"])

    def describe(self, entry):
        described = dict(name=self.params["name"], scope=self.params["scope"], folder=self.params["folder"])
        # public_entry drops the credentials, also those of the jump hosts.
        described.update(public_entry(entry))
        return described

    def locate(self):
        scope, folder = self.params["scope"], self.params["folder"]
        # The folder list, not the entries: rustguac lists the entries of a missing folder as [] and would
        # create the folder with a first entry (src/api.rs ab_list_entries, ab_create_entry).
        if not self.folder_exists(folder):
            if self.params["state"] == "present":
                self.fail(f"folder {folder!r} (scope {scope}) does not exist: "
                          "create it first with proxgate.core.rustguac_folder")
            return None
        return find_entry(read_entries(self.client, scope, folder), self.params["name"])

    def desired(self, existing):
        # The whole entry to write (None: nothing), the changes, the names of the secrets it carries.
        body, changes, self.extra["secrets_sent"] = plan_entry(existing, self.params, self.params["update_password"])
        return body, changes

    def create(self, desired):
        body, changes = desired
        self.post_object(dict(name=self.params["name"], **body))
        return self.describe(body), changes.diff()["after"]

    def update(self, existing, desired):
        body, changes = desired
        if body is not None:
            self.put_object(body)
        return self.describe(body if body is not None else existing), changes

    def delete(self, existing):
        self.delete_object()
        return self.describe(existing)


def main():
    RustguacEntry().execute()


if __name__ == "__main__":
    main()

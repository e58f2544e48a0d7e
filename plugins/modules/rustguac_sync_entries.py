#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rustguac_sync_entries
short_description: Make a rustguac address-book folder hold exactly a list of entries
version_added: 0.1.0
description:
  - Takes one address-book folder of rustguac, O(folder), as its own, and makes it match O(entries) in one run,
    with one API key. The folder is created when missing; its O(allowed_groups) (who sees it) and
    O(description) are set when given.
  - Entries are matched by O(entries[].guest) when it is given, by name otherwise (see O(entries[].guest) for
    the rules that keep one guest from taking another's entry). Only the fields that differ are written;
    fields an entry leaves out keep their stored values. With O(prune), entries of the folder that neither
    O(entries) nor O(keep) names are deleted. Nothing outside O(folder) is touched.
  - "rustguac's update replaces the whole entry, so an update sends the entry as the server lists it with the
    options given on top: fields this module has no option for (jump host host keys, RemoteApp, Proxmox
    console settings, any field a newer server adds) are sent back unchanged."
  - Everything is checked first (every entry's fields against its type, duplicate names); nothing is written when
    a check fails.
  - "Credentials are write-only, as in M(proxgate.core.rustguac_entry): the server never returns them, so
    O(update_password) decides when they are sent."
  - The role C(proxgate.core.guacamole_sync) uses it, with C(guacamole_sync_target=rustguac), to publish the
    guests of a Proxmox VE inventory; it works for any list of hosts.
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
      - The diff holds the folder's settings that change and, by name, the fields of each entry created,
        changed or removed; credentials are shown as C(********).
options:
  scope:
    description:
      - Scope of the folder, V(shared) or V(instance).
    type: str
    choices: [shared, instance]
    default: shared
  folder:
    description:
      - Name of the folder the module manages; created when missing.
      - 1 to 64 ASCII letters, digits, C(.), C(_) or C(-), and not C(.), C(..) or C(.config) (the rustguac
        server's rule); other names fail before any call.
      - rustguac's sub-folders (C(clients/acme)) are not managed by this module yet; a C(/) is refused.
    type: str
    required: true
  allowed_groups:
    description:
      - The OIDC groups that see the folder and its entries (admins see every folder).
      - Left out, a new folder gets none and an existing one keeps its groups.
    type: list
    elements: str
  description:
    description:
      - The folder's description. Left out, a new folder gets none and an existing one keeps its own.
    type: str
  entries:
    description:
      - Every entry the folder must hold. Names are unique.
      - An empty list removes every entry of the folder (with O(prune)), which needs O(allow_empty=true).
      - Each item takes the fields of M(proxgate.core.rustguac_entry), spelled the same way.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the entry, with the rule of O(folder) (1 to 64 ASCII letters, digits, C(.), C(_) or
          C(-); not C(.), C(..) or C(.config)).
        type: str
        required: true
      guest:
        description:
          - Identity of the machine the entry reaches, such as C(pve-prod/101) (cluster and VM id); names are
            labels. The role C(proxgate.core.guacamole_sync) gives it for every Proxmox guest.
          - It is stored in the entry's C(proxmox_node) field, which rustguac stores and lists for every entry
            but reads only for its C(proxmox) console type (rustguac keeps no free-text field; it drops
            unknown ones).
          - An entry stored with this identity is this guest's entry, whatever its name. An entry of the wanted
            name that belongs to another guest, or was stored without a guest for another hostname, is never
            re-pointed at this one (its hostname and stored credentials stay with it); the entry is created as
            C(<name>-<vmid>) instead (then C(<name>-<cluster>-<vmid>); characters outside C([A-Za-z0-9._-])
            become C(-), and the name is cut to stay within 64 characters), with a warning and an item in
            RV(collisions).
          - An entry stored without a guest (by an older run, or by hand) for the same hostname is adopted, and
            the identity is written into it once.
          - Left out (hosts given by hand), the entry is matched by name; if that entry belongs to a guest and
            has another hostname, the run fails before any write.
        type: str
      type:
        description: The protocol.
        type: str
        required: true
        choices: [ssh, rdp, vnc, web]
      hostname:
        description: Target hostname or IP address (required for V(ssh), V(rdp), V(vnc)).
        type: str
      port:
        description: Target port; the server uses the protocol's default when it is not set.
        type: int
      username:
        description: User name on the target (V(ssh), V(rdp)).
        type: str
      password:
        description: Password on the target. Write-only, see O(update_password).
        type: str
      private_key:
        description: OpenSSH PEM private key (V(ssh)). Write-only, see O(update_password).
        type: str
      url:
        description: Target URL (required for V(web)).
        type: str
      domain:
        description: Windows domain (V(rdp)).
        type: str
      security:
        description: RDP security mode.
        type: str
        choices: [tls, nla, rdp]
      ignore_cert:
        description: Ignore certificate errors of the RDP server.
        type: bool
      auth_pkg:
        description: NLA authentication package (V(rdp)); V("") is negotiate.
        type: str
        choices: [kerberos, ntlm, ""]
      kdc_url:
        description: Kerberos KDC or KDC proxy URL (V(rdp)).
        type: str
      color_depth:
        description: Color depth in bits (V(rdp)).
        type: int
        choices: [8, 16, 24, 32]
      enable_drive:
        description: Enable file transfer or drive redirection (V(rdp), V(ssh)).
        type: bool
      display_name:
        description: Name the web UI shows for the entry (the entry name when unset).
        type: str
      prompt_credentials:
        description: Ask the user for credentials at connect time.
        type: bool
      banner:
        description: Text shown before the session starts; the user clicks Continue to go on.
        type: str
      enable_recording:
        description: Record the sessions of this entry, or not, whatever the server's default is.
        type: bool
      disable_copy:
        description: Forbid copying from the remote session to the user's clipboard.
        type: bool
      disable_paste:
        description: Forbid pasting from the user's clipboard into the remote session.
        type: bool
      allow_sharing:
        description: Let users create a share link for sessions of this entry (rustguac's default is no).
        type: bool
      jump_hosts:
        description:
          - The chain of SSH bastions, in order; given, it replaces the stored chain. See
            M(proxgate.core.rustguac_entry) for how hops are compared.
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
  keep:
    description:
      - Names of entries of the folder to leave exactly as they are, neither changed nor removed. For hosts that are
        known but cannot be described now, such as a stopped guest whose address is unknown.
      - A name may not be both here and in O(entries).
    type: list
    elements: str
    default: []
  keep_guests:
    description:
      - Guest identities (see O(entries[].guest)) whose entries of the folder are left exactly as they are, under
        whatever name they are stored. The role C(proxgate.core.guacamole_sync) gives the guests it keeps.
      - A guest may not be both here and in O(entries).
    type: list
    elements: str
    default: []
  prune:
    description: Delete the entries of the folder that are neither in O(entries) nor in O(keep).
    type: bool
    default: true
  allow_empty:
    description:
      - Accept an empty O(entries) (with an empty O(keep)) and remove every entry of the folder.
      - Without it such a run fails, because an inventory that failed to load gives an empty list, and must not
        empty the address book.
    type: bool
    default: false
  update_password:
    description:
      - V(on_create) sends an entry's credentials when it (or a jump host) is created, or when the server lists
        it with C(has_credentials=false); a second run reports no change.
      - V(always) sends every credential given on every run, so every entry with one B(reports changed) each
        time; use it for a rotation.
    type: str
    choices: [always, on_create]
    default: on_create
notes:
  - "Role needed: C(admin) (folders and entries are managed by admins only). A key with a lower role gets
    HTTP 403 before anything is written."
  - "Requests: two reads (the folders, the folder's entries); then one write per folder change and per entry
    created, changed or deleted."
  - The address book needs Vault on the server; without it the server answers the calls with an error.
  - The module runs where the API is reachable, normally the controller (a play on C(localhost)).
seealso:
  - module: proxgate.core.rustguac_entry
  - module: proxgate.core.rustguac_folder
  - module: proxgate.core.guacamole_sync_connections
"""

EXAMPLES = r"""
- name: Publish three hosts in the folder lab, for the OIDC group ops
  proxgate.core.rustguac_sync_entries:
    folder: lab
    allowed_groups: [ops]
    entries:
      - {name: web01, type: ssh, hostname: 10.20.0.11, port: 22}
      - {name: win-desktop, type: rdp, hostname: 10.20.0.40, ignore_cert: true, security: nla}
      - {name: printer, type: vnc, hostname: 10.20.9.9, port: 5900}
  delegate_to: localhost

- name: The same from a list built earlier; a stopped host's entry is left as it is
  proxgate.core.rustguac_sync_entries:
    api_url: https://gateway.example.com:8089
    api_key: "{{ vault_rustguac_admin_key }}"
    folder: Proxmox
    entries: "{{ wanted_entries }}"
    keep: [db01]
  delegate_to: localhost

- name: Only add and update, never delete
  proxgate.core.rustguac_sync_entries:
    folder: Proxmox
    entries: "{{ wanted_entries }}"
    prune: false
  delegate_to: localhost
"""

RETURN = r"""
folder:
  description: The folder after the run (in check mode, as it would be).
  returned: always
  type: dict
  sample: {scope: shared, name: Proxmox, allowed_groups: [ops], description: Proxmox guests}
entries:
  description:
    - The entries of O(entries) after the run (in check mode, as they would be), in the given order, without
      credentials, each with its C(status) (V(created), V(updated) or V(unchanged)).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: web01, type: ssh, hostname: 10.20.0.11, port: 22, jump_hosts: [], guest: pve/101, status: created}
created:
  description: Names of the entries created.
  returned: always
  type: list
  elements: str
  sample: [web01]
updated:
  description: Names of the entries whose fields were written.
  returned: always
  type: list
  elements: str
removed:
  description: Names of the entries deleted.
  returned: always
  type: list
  elements: str
kept:
  description: Names of the entries of the folder left as they are because O(keep) names them.
  returned: always
  type: list
  elements: str
collisions:
  description:
    - The entries written under another name than the one asked for, because that name is the entry of
      another guest (or was stored without a guest for another hostname); see O(entries[].guest).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: finance-db, guest: pve/100, entry: finance-db-100,
       reason: "the entry 'finance-db' belongs to guest 'pve/105'"}
folder_created:
  description: Whether the folder was created.
  returned: always
  type: bool
secrets_sent:
  description: For each entry whose write carried credentials, their names (never their values).
  returned: always
  type: dict
  sample: {web01: [password]}
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import SECRET_MASK
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.addressbook import (
    FOLDERS,
    describe_folder,
    entries_path,
    find_entry,
    folder_path,
    folder_problem,
    folder_put_body,
    folder_settings,
    name_problem,
    read_entries,
    read_folder,
    read_folder_config,
)
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.entries import (
    GUEST_FIELD,
    SECRETS,
    entry_argument_spec,
    guest_problem,
    identity_of,
    input_problems,
    plan_entry,
    public_entry,
    resolve_names,
)
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import RustguacModule, compare


def entry_options():
    options = entry_argument_spec()
    options["type"]["required"] = True
    return dict(name=dict(type="str", required=True), guest=dict(type="str"), **options)


def entry_problems(entries, keep):
    """Texts naming each entry (by index and name) whose options do not fit, empty when all is well."""
    problems, seen, guests = [], set(), set()
    for index, entry in enumerate(entries):
        label = f"entries[{index}] ({entry['name']})"
        bad_name = name_problem(f"entries[{index}].name", entry["name"])
        if bad_name:
            problems.append(bad_name)
        elif entry["name"] in seen:
            problems.append(f"{label}: the name is given twice; names are unique in a folder")
        seen.add(entry["name"])
        bad_guest = guest_problem(f"entries[{index}].guest", entry.get("guest"))
        if bad_guest:
            problems.append(bad_guest)
        elif entry.get("guest") in guests:
            problems.append(f"{label}: guest {entry['guest']!r} is given twice; a guest has one entry")
        if entry.get("guest"):
            guests.add(entry["guest"])
        problems.extend(f"{label}: {problem}" for problem in input_problems(entry))
    both = sorted(seen.intersection(keep))
    if both:
        problems.append(f"keep and entries both name {', '.join(both)}; an entry is either managed or kept")
    return problems


def masked_secrets(entry):
    """The credentials a new entry's write carries, as the diff shows them."""
    return {name: SECRET_MASK for name in SECRETS if entry.get(name)}


class RustguacSyncEntries(RustguacModule):
    argument_spec = dict(
        scope=dict(type="str", choices=["shared", "instance"], default="shared"),
        folder=dict(type="str", required=True),
        allowed_groups=dict(type="list", elements="str"),
        description=dict(type="str"),
        entries=dict(type="list", elements="dict", required=True, options=entry_options()),
        keep=dict(type="list", elements="str", default=[]),
        keep_guests=dict(type="list", elements="str", default=[]),
        prune=dict(type="bool", default=True),
        allow_empty=dict(type="bool", default=False),
        update_password=dict(type="str", choices=["always", "on_create"], default="on_create", no_log=False),
    )
    required_role = "admin"

    def validate(self):
        params = self.params
        problem = (folder_problem("folder", params["folder"])
                   or folder_settings(params["allowed_groups"], params["description"])[1])
        if problem:
            self.fail(problem)
        problems = entry_problems(params["entries"], params["keep"])
        for index, guest in enumerate(params["keep_guests"]):
            bad_guest = guest_problem(f"keep_guests[{index}]", guest)
            if bad_guest:
                problems.append(bad_guest)
        both = sorted({entry.get("guest") for entry in params["entries"]}.intersection(params["keep_guests"]))
        if both:
            problems.append(f"keep_guests and entries both name guest {', '.join(both)}; a guest's entry is either "
                            "managed or kept")
        if problems:
            self.fail("; ".join(problems))
        if (not params["entries"] and not params["keep"] and not params["keep_guests"] and params["prune"]
                and not params["allow_empty"]):
            self.fail(f"entries is empty, which would delete every entry of the folder {params['folder']!r}; "
                      "set allow_empty=true if that is what you want (an inventory that failed to load also "
                      "gives an empty list)")

    def run(self):
        scope, name = self.params["scope"], self.params["folder"]
        stored_folder = read_folder(self.client, scope, name)
        # The listing has no groups: they come from the folder's config (admin only).
        config = None if stored_folder is None else read_folder_config(self.client, scope, name)
        folder, folder_changes = self.plan_folder(config)
        stored_entries = [] if stored_folder is None else read_entries(self.client, scope, name)
        stored_by_name = {stored["name"]: stored for stored in stored_entries if stored.get("name")}
        names, collisions, problems = resolve_names(self.params["entries"], stored_by_name)
        if problems:
            self.fail("; ".join(problems))
        plan = SyncPlan(stored_folder is None, collisions)
        for index, entry in enumerate(self.params["entries"]):
            entry_name = names[index]
            existing = find_entry(stored_entries, entry_name)
            body, changes, sent = plan_entry(existing, entry, self.params["update_password"],
                                             extra={GUEST_FIELD: entry.get("guest")})
            plan.add(dict(entry, name=entry_name), existing, body, changes, sent)
        for collision in collisions:
            self.module.warn(f"entry {collision['name']!r} of guest {collision['guest']!r} is written as "
                             f"{collision['entry']!r}: {collision['reason']} (it is not re-pointed)")
        managed = set(names)
        for stored in stored_entries:
            if stored.get("name") in managed:
                continue
            if stored.get("name") in self.params["keep"] or identity_of(stored) in self.params["keep_guests"]:
                plan.kept.append(stored["name"])
            elif self.params["prune"]:
                plan.remove(stored)
        if not self.check_mode:
            self.write(config, folder, folder_changes, plan)
        before, after = plan.diff()
        if folder_changes:
            folder_diff = folder_changes.diff()
            before["folder"], after["folder"] = folder_diff["before"], folder_diff["after"]
        result = dict(changed=bool(folder_changes) or plan.changed, folder=folder, **plan.result())
        return self.with_diff(result, before, after)

    def plan_folder(self, config):
        """(the folder after the run, the changes of its settings); config is None for a new folder."""
        desired = folder_settings(self.params["allowed_groups"], self.params["description"])[0]
        current = describe_folder(self.params["scope"], self.params["folder"], config or {})
        changes = compare(current, desired)
        if config is None:
            changes.add("name", None, self.params["folder"])
        folder = {**current, **{key: changes.after[key] for key in changes if key in current}}
        return folder, changes

    def write(self, config, folder, folder_changes, plan):
        scope, name = self.params["scope"], self.params["folder"]
        if config is None:
            self.client.post(FOLDERS, folder)
        elif folder_changes:
            self.client.put(folder_path(scope, name), folder_put_body(config, folder))
        for entry_name, body, exists in plan.writes:
            if exists:
                self.client.put(entries_path(scope, name, entry_name), body)
            else:
                self.client.post(entries_path(scope, name), dict(name=entry_name, **body))
        for entry_name in plan.removed:
            self.client.delete(entries_path(scope, name, entry_name))


class SyncPlan:
    """What the run writes to the entries, and what it reports."""

    def __init__(self, folder_is_new, collisions=()):
        self.folder_is_new = folder_is_new
        self.collisions = list(collisions)
        self.entries = []
        self.writes = []
        self.created, self.updated, self.removed, self.kept = [], [], [], []
        self.secrets_sent = {}
        self.before, self.after = {}, {}

    def add(self, entry, existing, body, changes, sent):
        name = entry["name"]
        exists = existing is not None
        status = "unchanged"
        if body is not None:
            self.writes.append((name, body, exists))
            status = "updated" if exists else "created"
            (self.updated if exists else self.created).append(name)
            diff = changes.diff()
            self.before[name] = diff["before"] if exists else None
            self.after[name] = diff["after"] if exists else {**public_entry(body), **masked_secrets(body)}
        if sent:
            self.secrets_sent[name] = sent
        shown = public_entry(body if body is not None else existing)
        shown["guest"] = identity_of(shown)
        shown.pop(GUEST_FIELD, None)
        self.entries.append(dict(shown, name=name, status=status))

    def remove(self, stored):
        self.removed.append(stored["name"])
        self.before[stored["name"]] = public_entry(stored)
        self.after[stored["name"]] = None

    @property
    def changed(self):
        return bool(self.writes or self.removed)

    def diff(self):
        return ({"entries": self.before} if self.before else {}), ({"entries": self.after} if self.after else {})

    def result(self):
        return dict(entries=self.entries, created=self.created, updated=self.updated, removed=self.removed,
                    kept=self.kept, folder_created=self.folder_is_new, secrets_sent=self.secrets_sent,
                    collisions=self.collisions)


def main():
    RustguacSyncEntries().execute()


if __name__ == "__main__":
    main()

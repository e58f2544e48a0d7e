#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_firewall_ipset
short_description: Create, update or delete a Proxmox VE firewall IPSet and its entries
version_added: 0.1.0
description:
  - Makes sure a firewall IPSet exists with the comment and entries given (O(state=present)), or does not exist
    (O(state=absent)), in the cluster's firewall or a guest's (VM or container).
  - Entries are compared as a set, by address, then by O(entries[].nomatch) and O(entries[].comment); an entry
    that differs only in those is updated in place. Entries not listed stay, unless O(exclusive=true), which
    makes the IPSet hold exactly the entries listed. A role can so own one IPSet per guest and rewrite exactly
    its entries on every run.
  - Addresses are compared the way the node keeps them, host bits cleared (V(10.0.0.5/24) is V(10.0.0.0/24)),
    V(/32) and V(/128) dropped, IPv6 compressed.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the IPSet's comment and entries before and after.
options:
  name:
    description:
      - The IPSet's name, 2 to 64 letters, digits, C(-) and C(_), starting with a letter. Rules refer to it as
        C(+name).
      - A node reads IPSet names back in lower case (a name with capitals could not be found by its spelling
        afterwards), so the name is used in lower case.
    type: str
    required: true
  vmid:
    description:
      - The guest whose firewall holds the IPSet. Its node and type (VM or container) are looked up.
      - Not given, the IPSet is the cluster's (datacenter level). A node's firewall has no IPSets.
    type: int
  node:
    description:
      - Not supported here, as a node's firewall has rules and options only (pve-firewall C(Host.pm)). Given, the
        task fails before any call.
    type: str
  comment:
    description:
      - The IPSet's comment. An empty string removes it; not given leaves it as it is.
    type: str
  entries:
    description:
      - The IPSet's entries. Not given leaves them as they are; with O(exclusive=true), V([]) removes every entry.
    type: list
    elements: dict
    suboptions:
      cidr:
        description:
          - An IP address (V(192.0.2.10)), a network (V(192.0.2.0/24)), or an alias name (V(dc/gateway)). An alias
            must exist before anything is written (in check mode, a warning).
        type: str
        required: true
      nomatch:
        description:
          - Exclude this address from the set (C(!) in the firewall file).
        type: bool
        default: false
      comment:
        description:
          - The entry's comment; one line.
        type: str
  exclusive:
    description:
      - Remove the entries not listed in O(entries). Without O(entries) it changes nothing.
    type: bool
    default: false
  state:
    description:
      - V(present) creates the IPSet or updates it, V(absent) deletes it with its entries.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: the cluster's IPSets need C(Sys.Modify) on C(/) to change (C(Sys.Audit) to read); a guest's
    C(VM.Config.Network) on C(/vms/<vmid>) (C(VM.Audit) to read). Finding the guest reads C(/cluster/resources)."
  - Rules that refer to an IPSet that is deleted are left as they are; the node then ignores them.
seealso:
  - module: proxgate.core.proxmox_firewall_rule
  - module: proxgate.core.proxmox_firewall_alias
"""

EXAMPLES = r"""
- name: The gateway's addresses, exactly these, on guest 101 (auth from PROXMOX_* environment variables)
  proxgate.core.proxmox_firewall_ipset:
    vmid: 101
    name: proxgate-gateway
    comment: guacd addresses (managed by Ansible)
    entries:
      - cidr: 192.0.2.10
        comment: guacd 1
      - cidr: 2001:db8::10
    exclusive: true

- name: A cluster-wide set of admin networks, one excluded
  proxgate.core.proxmox_firewall_ipset:
    name: admins
    entries:
      - cidr: 10.10.0.0/16
      - cidr: 10.10.99.0/24
        nomatch: true

- name: Remove it
  proxgate.core.proxmox_firewall_ipset:
    name: admins
    state: absent
"""

RETURN = r"""
ipset:
  description: The IPSet after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: Its name, in lower case.
      type: str
      sample: proxgate-gateway
    comment:
      description: Its comment; V(null) when it has none.
      type: str
      sample: guacd addresses (managed by Ansible)
    entries:
      description: Its entries, sorted by address.
      type: list
      elements: dict
      sample: [{cidr: 192.0.2.10, nomatch: false, comment: guacd 1}]
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import find_entry
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.firewall import (
    clean_comment,
    comment_problem,
    entry_cidr_problem,
    entry_data,
    entry_key,
    find_level,
    ipset_entries,
    level_argument_spec,
    missing_references,
    name_problem,
    plan_entries,
    reference,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule


def sorted_entries(entries):
    return sorted(entries, key=lambda entry: entry["cidr"])


class ProxmoxFirewallIpset(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        name=dict(type="str", required=True),
        comment=dict(type="str"),
        entries=dict(type="list", elements="dict", options=dict(
            cidr=dict(type="str", required=True),
            nomatch=dict(type="bool", default=False),
            comment=dict(type="str"))),
        exclusive=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **level_argument_spec(),
    )
    object_key = "ipset"
    level = None
    wanted: dict = {}

    def validate(self):
        params, problems = self.params, []
        if params["node"] is not None:
            problems.append("node: a node's firewall has no IPSets (only rules and options); give vmid for a "
                            "guest's IPSet, or neither for the cluster's")
        problems.append(name_problem("name", params["name"]))
        problems.append(comment_problem("comment", params["comment"]))
        self.wanted = {}
        for index, entry in enumerate(params["entries"] or []):
            option = f"entries[{index}]"
            cidr = (entry["cidr"] or "").strip()
            problem = (entry_cidr_problem(f"{option}.cidr", cidr)
                       or comment_problem(f"{option}.comment", entry["comment"]))
            if problem:
                problems.append(problem)
                continue
            key = entry_key(cidr)
            if key in self.wanted:
                problems.append(f"{option}.cidr: {cidr!r} is listed twice (as {key})")
            self.wanted[key] = {"cidr": key, "nomatch": entry["nomatch"], "comment": clean_comment(entry["comment"])}
        problems = [problem for problem in problems if problem]
        if problems:
            self.fail("; ".join(problems))
        self.params["name"] = params["name"].lower()

    def locate(self):
        self.level, problem = find_level(self.client, vmid=self.params["vmid"])
        if problem:
            self.fail(problem)
        found = find_entry(self.client.get(self.level.at("ipset")), "name", self.params["name"])
        if found is None:
            return None
        return {"name": found["name"], "comment": clean_comment(found.get("comment")),
                "entries": ipset_entries(self.client, self.level, self.params["name"])}

    def desired(self, existing):
        """Check that the aliases among the entries exist (IPSet.pm create_ip refuses one that does not), so that
        no entry is added before the one the node would refuse. In check mode a missing one is a warning: an
        earlier task of the same check run may be the one that would make it."""
        refs = [(f"entries[{index}].cidr", reference(entry["cidr"])) for index, entry in enumerate(self.wanted.values())
                if reference(entry["cidr"])]
        for problem in missing_references(self.client, self.level, refs):
            if not self.check_mode:
                self.fail(problem)
            self.warn(f"{problem} (in check mode: an earlier task may make it)")
        return None

    def create(self, desired):
        name, comment = self.params["name"], clean_comment(self.params["comment"])
        self.write(self.client.post, self.level.at("ipset"), name=name, **({"comment": comment} if comment else {}))
        ipset, _changes = self.update({"name": name, "comment": comment, "entries": []}, desired)
        return ipset, {"comment": ipset["comment"], "entries": ipset["entries"]}

    def update(self, existing, desired):
        name, changes = existing["name"], Changes()
        comment = self.params["comment"]
        if comment is not None and clean_comment(comment) != existing["comment"]:
            changes.add("comment", existing["comment"], clean_comment(comment))
            # IPSet.pm create_ipset with rename set to the name itself: the way to change the comment.
            self.write(self.client.post, self.level.at("ipset"), name=name, rename=name,
                       comment=clean_comment(comment) or "")
        entries = existing["entries"]
        if self.params["entries"] is not None:
            adds, updates, removes = plan_entries(existing["entries"], self.wanted, self.params["exclusive"])
            for entry in removes:
                self.write(self.client.delete, self.level.at("ipset", name, entry["cidr"]))
            for entry in updates:
                self.write(self.client.put, self.level.at("ipset", name, entry["cidr"]), **entry_data(entry))
            for entry in adds:
                self.write(self.client.post, self.level.at("ipset", name), cidr=entry["cidr"], **entry_data(entry))
            if adds or updates or removes:
                gone = {entry_key(entry["cidr"]) for entry in removes + updates}
                kept = [entry for entry in existing["entries"] if entry_key(entry["cidr"]) not in gone]
                entries = sorted_entries(kept + updates + adds)
                changes.add("entries", existing["entries"], entries)
        ipset = {"name": name, "comment": changes.after.get("comment", existing["comment"]), "entries": entries}
        return ipset, changes

    def delete(self, existing):
        self.write(self.client.delete, self.level.at("ipset", existing["name"]), force=1)
        return {"comment": existing["comment"], "entries": existing["entries"]}


def main():
    ProxmoxFirewallIpset().execute()


if __name__ == "__main__":
    main()

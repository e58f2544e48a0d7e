#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_pool
short_description: Create, update or delete a Proxmox VE resource pool and its members
version_added: 0.1.0
description:
  - Makes sure a resource pool exists with the comment and members given (O(state=present)), or does not
    exist (O(state=absent)). Its members are guests (VMs and containers) and storages.
  - Members listed are added when missing. Members not listed stay in the pool, unless O(exclusive=true),
    which makes the pool hold exactly the members listed, as community.proxmox's C(proxmox_pool_member) does.
  - Guests and storages are checked before anything is written, because PVE takes a member that does not
    exist and then never lists it.
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
      - The diff shows the pool's comment, guests and storages that change, before and after.
options:
  name:
    description:
      - The pool id, such as V(production); a nested pool (PVE 8.1 and later) as V(parent/child), at most three
        levels.
    type: str
    required: true
    aliases: [poolid]
  comment:
    description:
      - The pool's comment. An empty string removes it; not given leaves it as it is.
    type: str
  vms:
    description:
      - Guests (VMs and containers) in the pool, each by vmid or by its name, which must be unique in the cluster.
      - Not given leaves the pool's guests as they are; with O(exclusive=true), V([]) takes every guest out.
    type: list
    elements: str
  storage:
    description:
      - Storage ids in the pool, such as V(local-lvm).
      - Not given leaves the pool's storages as they are; with O(exclusive=true), V([]) takes every storage out.
    type: list
    elements: str
  exclusive:
    description:
      - Remove the members of each kind given (O(vms), O(storage)) that are not listed. A kind not given is
        never touched.
      - Removing a member leaves the guest or storage itself as it is; only the pool's permissions stop
        applying to it.
    type: bool
    default: false
  allow_move:
    description:
      - Move a guest listed in O(vms) that is in another pool into this one (a guest is in one pool at most).
      - Without it, such a guest fails the task before anything is written, naming its pool.
    type: bool
    default: false
  state:
    description:
      - V(present) creates the pool or updates it, V(absent) deletes it.
      - PVE deletes only an empty pool; a pool that still has members or nested pools fails the task, naming
        them. Empty it first with O(exclusive=true) and empty lists.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privileges: C(Pool.Allocate) on C(/pool/<name>), and to add or remove a member C(Permissions.Modify) or
    C(VM.Allocate) on C(/vms/<vmid>), C(Datastore.Allocate) on C(/storage/<id>); reading the guests needs
    C(VM.Audit) on them, reading the storages C(Datastore.Audit)."
seealso:
  - module: proxgate.core.proxmox_role
  - module: proxgate.core.proxmox_group
"""

EXAMPLES = r"""
- name: The published guests and their storage in one pool (auth from PROXMOX_* environment variables)
  proxgate.core.proxmox_pool:
    name: gateway
    comment: Guests reachable through the gateway
    vms: [web01, 102]
    storage: [local-lvm]

- name: Exactly these guests; the pool's storages untouched
  proxgate.core.proxmox_pool:
    name: gateway
    vms: [web01]
    exclusive: true

- name: Empty the pool, then remove it
  proxgate.core.proxmox_pool:
    name: gateway
    vms: []
    storage: []
    exclusive: true
- name: Remove it
  proxgate.core.proxmox_pool:
    name: gateway
    state: absent
"""

RETURN = r"""
pool:
  description: The pool after the task (what it would be, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    poolid:
      description: The pool id.
      type: str
      sample: gateway
    comment:
      description: Its comment; V(null) when it has none.
      type: str
      sample: Guests reachable through the gateway
    vms:
      description: The vmids of its guests, sorted.
      type: list
      elements: int
      sample: [101, 102]
    storage:
      description: Its storage ids, sorted.
      type: list
      elements: str
      sample: [local-lvm]
"""

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import (
    MEMBER_KINDS,
    comment_change,
    find_entry,
    member_data,
    plan_members,
    pool_call,
    pool_members,
    stored_comment,
    unknown_names,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import cluster_guests, resolve_guest_refs
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.lifecycle import put_pool
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule


class ProxmoxPool(ObjectModule, ProxmoxModule):
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["poolid"]),
        comment=dict(type="str"),
        vms=dict(type="list", elements="str"),
        storage=dict(type="list", elements="str"),
        exclusive=dict(type="bool", default=False),
        allow_move=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    name_formats = {"name": "pve-poolid"}
    object_key = "pool"

    def locate(self):
        name = self.params["name"]
        if find_entry(self.client.get("/pools"), "poolid", name) is None:
            return None
        return dict(poolid=name, **pool_members(pool_call(self.client, "get", name)))

    def desired(self, existing):
        params, wanted = self.params, {}
        if params["vms"] is not None:
            guests = cluster_guests(self.client, None)
            wanted["vms"], errors = resolve_guest_refs(guests, params["vms"])
            if errors:
                self.fail("vms: " + "; ".join(errors))
            elsewhere = [f"{guest['vmid']} ({guest.get('name')}) is in pool {guest['pool']!r}" for guest in guests
                         if int(guest["vmid"]) in wanted["vms"] and guest.get("pool") not in (None, "", params["name"])]
            if elsewhere and not params["allow_move"]:
                self.fail(f"vms: guest {', '.join(elsewhere)}; set allow_move: true to move it into this pool")
        if params["storage"] is not None:
            wanted["storage"] = sorted({storage.strip() for storage in params["storage"]})
            known = [entry["storage"] for entry in self.client.get("/storage") or []]
            problem = unknown_names("storage", wanted["storage"], known, "storage")
            if problem:
                self.fail(problem)
        return wanted

    def create(self, desired):
        name, comment = self.params["name"], stored_comment(self.params["comment"])
        self.write(self.client.post, "/pools", poolid=name, **({"comment": comment} if comment else {}))
        pool, _changes = self.update(dict(poolid=name, comment=comment, vms=[], storage=[]), desired)
        return pool, {key: pool[key] for key in ("comment", *MEMBER_KINDS)}

    def update(self, existing, desired):
        name, changes = existing["poolid"], Changes()
        data = comment_change(changes, existing["comment"], self.params["comment"])
        adds, removes = plan_members(existing, desired, self.params["exclusive"])
        pool = dict(existing, comment=changes.after.get("comment", existing["comment"]))
        for kind in MEMBER_KINDS:
            pool[kind] = sorted((set(existing[kind]) | set(adds.get(kind, []))) - set(removes.get(kind, [])))
            if pool[kind] != existing[kind]:
                changes.add(kind, existing[kind], pool[kind])
        if data or adds:
            move = {"allow-move": 1} if "vms" in adds and self.params["allow_move"] else {}
            self.write(put_pool, self.client, name, **data, **member_data(adds), **move)
        if removes:
            self.write(put_pool, self.client, name, delete=1, **member_data(removes))
        return pool, changes

    def delete(self, existing):
        held = [f"{kind} {', '.join(map(str, existing[kind]))}" for kind in MEMBER_KINDS if existing[kind]]
        if held:
            self.fail(f"pool {existing['poolid']!r} still holds {' and '.join(held)}, and PVE deletes only an "
                      "empty pool: take them out first (vms: [], storage: [] and exclusive: true)")
        self.write(pool_call, self.client, "delete", existing["poolid"])
        return {key: existing[key] for key in ("comment", *MEMBER_KINDS)}


def main():
    ProxmoxPool().execute()


if __name__ == "__main__":
    main()

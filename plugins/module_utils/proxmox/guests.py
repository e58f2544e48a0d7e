# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding guests in the cluster: one GET /cluster/resources?type=vm, not a walk of the nodes."""

from __future__ import annotations

from typing import NamedTuple

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxError, api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import split_tags


class GuestKind(NamedTuple):
    """What a kind of guest is called, and what manages it."""

    noun: str  # one guest, in messages: VM, container
    template_noun: str  # what a clone source of the kind may also be
    called: str  # a guest of this kind, in a message about another kind's vmid
    name_key: str  # the configuration key of its name, and the option of its module that sets it
    module: str  # the module that manages it


# The kinds /cluster/resources (type) and the API paths (/nodes/<node>/<kind>) name.
GUEST_KINDS = {
    "qemu": GuestKind("VM", "template", "a QEMU VM", "name", "proxgate.core.proxmox_vm"),
    "lxc": GuestKind("container", "container template", "an LXC container", "hostname", "proxgate.core.proxmox_lxc"),
}


def cluster_guests(client, kind="qemu"):
    """Guests of the cluster as /cluster/resources lists them, of one kind (qemu, lxc) or both (None)."""
    resources = client.get("/cluster/resources", type="vm") or []
    return [guest for guest in resources if kind is None or guest.get("type") == kind]


def find_guest(client, vmid=None, name=None, kind="qemu"):
    """The resource entry of the guest with this vmid, or the only one with this name; None if there is none.

    A name held by several guests is an error that lists their vmids, so nothing acts on the wrong one.
    """
    guests = cluster_guests(client, kind)
    if vmid is not None:
        for guest in guests:
            if int(guest["vmid"]) == int(vmid):
                return guest
        return None
    named = [guest for guest in guests if guest.get("name") == name]
    if len(named) > 1:
        ids = ", ".join(str(guest["vmid"]) for guest in sorted(named, key=lambda g: int(g["vmid"])))
        raise ProxmoxError(f"name {name!r} is used by several guests (vmids {ids}); give vmid to choose one")
    return named[0] if named else None


def guest_path(guest):
    """The API path of a guest: /nodes/<node>/<qemu|lxc>/<vmid>, each part (as /cluster/resources gave it)
    quoted as one segment."""
    return api_path("nodes", guest["node"], guest.get("type", "qemu"), guest["vmid"])


def describe(guest):
    """The fields every module returns about a guest, with tags as a list."""
    return {
        "vmid": int(guest["vmid"]),
        "name": guest.get("name"),
        "node": guest.get("node"),
        "type": guest.get("type"),
        "status": guest.get("status"),
        "template": bool(guest.get("template")),
        "tags": split_tags(guest.get("tags")),
        "pool": guest.get("pool"),
        "lock": guest.get("lock"),
        "cpus": guest.get("maxcpu"),
        "maxmem": guest.get("maxmem"),
        "maxdisk": guest.get("maxdisk"),
        "uptime": guest.get("uptime"),
    }


def resolve_guest_refs(guests, refs, known_only=True):
    """The vmids (sorted, each once) for a list of vmids and names, and the errors: unknown names, names
    several guests share, and, with known_only, vmids of no guest (a backup listing wants those too)."""
    known = {int(guest["vmid"]) for guest in guests}
    vmids, errors = set(), []
    for ref in refs:
        text = str(ref).strip()
        if text.isdigit():
            if known_only and int(text) not in known:
                errors.append(f"no guest with vmid {int(text)} in the cluster")
                continue
            vmids.add(int(text))
            continue
        named = sorted(int(guest["vmid"]) for guest in guests if guest.get("name") == text)
        if len(named) > 1:
            errors.append(f"name {text!r} is used by several guests (vmids {', '.join(map(str, named))}); "
                          "give the vmid to choose one")
        elif not named:
            errors.append(f"no guest named {text!r} in the cluster")
        else:
            vmids.add(named[0])
    return sorted(vmids), errors

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guacamole_sync role's plan: one connection per guest, worked out in one pass over the inventory's hosts
(the filter proxgate.core.guacamole_sync_plan). It was a Jinja loop; in Python it is linear in the hosts and can
be tested on its own.

Guest data is tenant data: a guest's name, tags and pool decide only what the role's settings map them to. A pool
or node name is one group level taken verbatim (a list, never a path), and a connection belongs to its guest by
``<cluster>/<vmid>``, never by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# The ostype values of a Linux VM (qemu-server: l24, l26), which get SSH.
LINUX_OSTYPES = ("l24", "l26")


class Settings:
    """The role's variables the plan reads (guacamole_sync_<name>)."""

    def __init__(self, values: Mapping[str, Any]):
        self.prefix = "proxmox_" if values.get("prefix") is None else str(values["prefix"])
        self.cluster = str(values.get("cluster") or "pve")
        self.root = values.get("root") or ""
        self.group_by = values.get("group_by") or "pool"
        self.ungrouped = values.get("ungrouped") or ""
        self.protocol_tags = dict(values.get("protocol_tags") or {})
        self.exclude_tags = list(values.get("exclude_tags") or [])
        self.os_tags = dict(values.get("os_tags") or {})
        self.default_protocol = values.get("default_protocol") or "ssh"
        self.ports = dict(values.get("ports") or {})
        self.parameters = dict(values.get("parameters") or {})
        self.attributes = dict(values.get("attributes") or {})
        self.user_groups = list(values.get("user_groups") or [])
        self.user_groups_by_pool = dict(values.get("user_groups_by_pool") or {})
        self.user_groups_by_tag = dict(values.get("user_groups_by_tag") or {})
        self.keep_without_address = bool(values.get("keep_without_address", True))


def _var(host: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """A host variable, or default when it is not set or empty (Jinja's default(x, true))."""
    value = host.get(name)
    return value if value else default


def choose_protocol(host: Mapping[str, Any], settings: Settings, tags: list[Any]) -> tuple[str, str]:
    """(the rule that decided, the protocol) for a guest: a protocol tag, the host variable guacamole_protocol,
    a container (ssh), the VM's ostype from its config, the OS its guest agent reports, an OS tag, the default."""
    prefix = settings.prefix
    ostype = str((_var(host, prefix + "config", {}) or {}).get("ostype") or "").lower()
    os_id = str((_var(host, prefix + "os", {}) or {}).get("id") or "").lower()
    protocol_tag = next((tag for tag in tags if tag in settings.protocol_tags), None)
    os_tag = next((tag for tag in tags if tag in settings.os_tags), None)
    if protocol_tag is not None:
        return f"tag {protocol_tag}", settings.protocol_tags[protocol_tag]
    if _var(host, "guacamole_protocol"):
        return "guacamole_protocol", host["guacamole_protocol"]
    if host.get(prefix + "type", "") == "lxc":
        return "container", "ssh"
    if ostype.startswith("w"):
        return f"ostype {ostype}", "rdp"
    if ostype in LINUX_OSTYPES:
        return f"ostype {ostype}", "ssh"
    if os_id == "mswindows":
        return "agent OS mswindows", "rdp"
    if os_id:
        return f"agent OS {os_id}", "ssh"
    if os_tag is not None:
        return f"tag {os_tag}", settings.os_tags[os_tag]
    return "guacamole_sync_default_protocol", settings.default_protocol


def escaped(name: str) -> str:
    """A group name as one level of a Guacamole group path (its '\\' and '/' escaped)."""
    return name.replace("\\", "\\\\").replace("/", "\\/")


def plan(hosts: Iterable[tuple[str, Mapping[str, Any]]], values: Mapping[str, Any]) -> dict[str, Any]:
    """The plan of the guests among the hosts (inventory name, host variables; a host without <prefix>vmid is not a
    guest, and is left out): how many guests there are (``guests``), the connections to publish, the guests to keep as
    they are (``keep`` by name, ``keep_guests`` by identity, ``keep_vmids``), those skipped (no address), excluded
    (by tag) or incomplete (not read in full), a summary line per published guest, and for the firewall the port
    of each published guest (``firewall``) or the guests that have none (``portless``)."""
    settings = Settings(values)
    prefix = settings.prefix
    result: dict[str, Any] = {key: [] for key in ("connections", "keep", "keep_guests", "skipped", "excluded",
                                                  "incomplete", "firewall", "keep_vmids", "portless")}
    result["summary"], result["guests"] = {}, 0

    def keep(name: str, guest: str, vmid: Any) -> None:
        result["keep"].append(name)
        result["keep_guests"].append(guest)
        result["keep_vmids"].append(int(vmid))

    for name, host in hosts:
        if prefix + "vmid" not in host:
            continue
        result["guests"] += 1
        vmid = host[prefix + "vmid"]
        guest = f"{_var(host, prefix + 'cluster', settings.cluster)}/{vmid}"
        tags = list(_var(host, prefix + "tags", []))
        pool = _var(host, prefix + "pool", "")
        extra = dict(_var(host, "guacamole_parameters", {}))
        address = extra.get("hostname") or host.get("ansible_host", "")
        missing = _var(host, prefix + "incomplete", [])
        if missing:
            result["incomplete"].append({"name": name, "vmid": vmid, "missing": list(missing)})
            keep(name, guest, vmid)
            continue
        if any(tag in settings.exclude_tags for tag in tags):
            result["excluded"].append(name)
            continue
        if not address:
            result["skipped"].append({"name": name, "vmid": vmid, "status": host.get(prefix + "status", "unknown")})
            if settings.keep_without_address:
                keep(name, guest, vmid)
            continue
        rule, chosen = choose_protocol(host, settings, tags)
        protocol = str(chosen).lower()
        node = _var(host, prefix + "node", "")
        if settings.group_by == "pool" and pool:
            group: Any = [str(pool)]
        elif settings.group_by == "node" and node:
            group = [str(node)]
        else:
            group = settings.ungrouped
        where = group if isinstance(group, str) else escaped(group[0])
        access = settings.user_groups + list(host.get("guacamole_user_groups") or [])
        if pool:
            access += settings.user_groups_by_pool.get(pool) or []
        for tag in tags:
            access += settings.user_groups_by_tag.get(tag) or []
        user_groups = sorted(set(access))
        parameters = {"hostname": address}
        if protocol in settings.ports:
            parameters["port"] = settings.ports[protocol]
        parameters.update(settings.parameters.get(protocol) or {})
        parameters.update(extra)
        result["connections"].append({
            "name": name, "guest": guest, "group": group, "protocol": protocol, "parameters": parameters,
            "attributes": {**settings.attributes, **(host.get("guacamole_attributes") or {})},
            "user_groups": user_groups})
        port = f":{parameters['port']}" if "port" in parameters else ""
        path = "/".join(part for part in (settings.root, where) if part)
        grants = f", READ for {', '.join(user_groups)}" if user_groups else ""
        result["summary"][name] = f"{protocol} ({rule}) to {parameters['hostname']}{port} in {path}{grants}"
        if str(parameters.get("port", "")).isdigit():
            result["firewall"].append({"vmid": int(vmid), "protocol": protocol, "port": int(parameters["port"])})
        else:
            result["portless"].append(name)
    return result

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the proxgate.core.proxmox inventory plugin does without Ansible: choose the guests, name them,
make the per-guest API calls concurrently, and turn the replies into host variables.

Private to the collection: no promise of a stable interface.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING, Any

from ansible import constants as C

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.addresses import (
    normalize_agent_interfaces,
    normalize_lxc_interfaces,
    select_addresses,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxClient,
    ProxmoxError,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import split_tags

# Bumped when the shape of the cached data changes, so an old cache is fetched again, not misread.
# 2: agent replies bounded (an older cache may hold unbounded ones), `cut` notes.
# 3: `listed_at` (when /cluster/resources answered) and each guest's `asked` (when its address call answered),
#    for reuse_addresses.
DATA_VERSION = 3
# Seconds a guest's uptime in /cluster/resources may lag behind (pvestatd sends the guests' status every 10 s):
# a guest is taken as not restarted when its uptime grew by the time passed less this much, and a guest that was
# up for less than this at the last listing is always asked again (a restart could hide in the lag).
UPTIME_SLACK = 10
# What reuse_addresses keeps of a guest's details: what its agent (or the container's interfaces) reported.
REUSED_KEYS = ("interfaces", "agent", "os", "asked", "cut")
GROUP_KINDS = ("node", "pool", "type", "status", "tag")
# PVE's answers for a guest that has no agent to ask: normal, not worth a message.
NO_AGENT = ("No QEMU guest agent configured",)
# PVE's answers that say how the guest is, not that the call failed: the agent is not running (not started yet,
# not installed), the guest stopped after the listing. The host has no address, and nothing is missing.
GUEST_STATE = re.compile(r"\bnot running\b")
# A timeout inside the node (a QMP or agent command that got no answer): the call took its time already.
NODE_TIMEOUT = "got timeout"
# The status /cluster/resources gives a guest whose node sent no status (the node is down or cut off).
UNKNOWN_STATUS = "unknown"
# What a host may lack (<prefix>incomplete names them, in this order), and the error key of each call.
INCOMPLETE_PARTS = (("status", None), ("config", "config"), ("snapshots", "snapshots"),
                    ("addresses", "interfaces"), ("os", "os"))
# How many incomplete hosts the summary warning names (-v lists every one).
NAMED_IN_WARNING = 10
# Fields of /cluster/resources copied to host variables as they are. Left out: the network and disk I/O
# counters, which change on every read and would only make every host's variables bigger.
RESOURCE_FIELDS = ("node", "type", "status", "pool", "lock", "hastate", "cpu", "maxcpu", "mem", "maxmem",
                   "disk", "maxdisk", "uptime")
USED_FIELDS = frozenset(("vmid", "name", "template", "tags", *RESOURCE_FIELDS))
ONE_LINE = re.compile(r"\s+")
# How many addresses or interfaces a message about a guest lists.
SEEN_IN_MESSAGE = 4
# What the agent's get-osinfo reply may hold (it is a flat mapping of about ten short strings; the guest
# writes it): nesting, entries per mapping or list, characters per string or key. More is dropped.
OS_MAX_DEPTH = 4
OS_MAX_ITEMS = 64
OS_MAX_TEXT = 1024

if TYPE_CHECKING:
    # What GuestCalls.start hands to finish() or cancel(): the guests, the pool (None when no guest needs a call),
    # the guests asked and the futures of their details.
    Started = tuple[Sequence[Mapping[str, Any]], ThreadPoolExecutor | None, list[Mapping[str, Any]],
                    list[Future[dict[str, Any]]]]


# ------------------------------------------------------------------ choosing guests

def slim(guest: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a /cluster/resources entry that the inventory uses (what is worth caching)."""
    return {key: value for key, value in guest.items() if key in USED_FIELDS}


def guest_tags(guest: Mapping[str, Any]) -> list[str]:
    return split_tags(guest.get("tags"))


def keep_guest(guest: Mapping[str, Any], exclude_templates: bool = True, nodes: Collection[str] = (),
               pools: Collection[str] = (), tags: Collection[str] = (), statuses: Collection[str] = (),
               types: Collection[str] = ()) -> bool:
    """True when the guest passes the plain filters (read from /cluster/resources alone, before any other call).

    Each non-empty list keeps the guests with one of its values; tags keeps guests with any of the tags. A guest
    whose status is unknown (its node did not answer) passes `statuses`: it may have any status, and leaving it
    out would make it look gone (it becomes an incomplete host instead).
    """
    if exclude_templates and guest.get("template"):
        return False
    status = guest.get("status")
    checks = ((nodes, guest.get("node")), (pools, guest.get("pool")),
              (statuses if status != UNKNOWN_STATUS else (), status), (types, guest.get("type")))
    if any(wanted and value not in wanted for wanted, value in checks):
        return False
    return not tags or bool(set(split_tags(tags)) & set(guest_tags(guest)))


def bounded(value: Any, cut: list[str], what: str = "os", depth: int = OS_MAX_DEPTH, items: int = OS_MAX_ITEMS,
            text: int = OS_MAX_TEXT) -> Any:
    """A copy of JSON data a guest sent, within the limits: mappings and lists nested at most `depth` deep
    (deeper ones become empty), at most `items` entries each, strings and keys of at most `text` characters.
    What is dropped is noted in `cut`, once per kind."""
    def note(message):
        if message not in cut:
            cut.append(message)

    def walk(node, level):
        if isinstance(node, str):
            if len(node) > text:
                note(f"{what}: strings over {text} characters cut")
                return node[:text]
            return node
        if isinstance(node, (dict, list)):
            if level >= depth:
                note(f"{what}: nesting deeper than {depth} levels dropped")
                return type(node)()
            if len(node) > items:
                note(f"{what}: more than {items} entries in one mapping or list dropped")
            if isinstance(node, list):
                return [walk(item, level + 1) for item in node[:items]]
            return {walk(str(key), level): walk(item, level + 1) for key, item in list(node.items())[:items]}
        return node

    return walk(value, 0)


def cut_message(cut: Sequence[str]) -> str:
    """One line for what was dropped from a guest's replies."""
    shown = "; ".join(cut[:SEEN_IN_MESSAGE])
    return shown + (f"; and {len(cut) - SEEN_IN_MESSAGE} more" if len(cut) > SEEN_IN_MESSAGE else "")


def agent_enabled(value: Any) -> bool:
    """True for a config's agent value that switches the agent on: ``1``, ``enabled=1,fstrim_cloned_disks=1``."""
    first = str(value if value is not None else "0").split(",", maxsplit=1)[0]
    return first.split("=")[-1].strip().lower() in ("1", "true", "yes", "on")


# ----------------------------------------------------------------------- naming

def fallback_name(guest: Mapping[str, Any]) -> str:
    """The host name of a guest that has no name (a half-created one): its type and vmid, e.g. qemu-105."""
    return f"{guest.get('type') or 'guest'}-{int(guest['vmid'])}"


# Groups every Ansible inventory has (ansible-core's InventoryData makes them first).
BUILTIN_GROUPS = ("all", "ungrouped")


def controller_names() -> tuple[str, ...]:
    """The names ansible-core reads as the controller itself (C.LOCALHOST in ansible/constants.py: localhost,
    127.0.0.1, ::1): a host of such a name is what `delegate_to: localhost`, `hosts: localhost` and
    `local_action` run on."""
    return tuple(C.LOCALHOST)


def name_problem(name: str, groups: Collection[str] = ()) -> str | None:
    """Why a guest may not have this host name (None when it may): a name that is the controller's or a
    group's would let the guest's owner choose where delegated tasks run, or which hosts a group holds."""
    if name in controller_names():
        return ("Ansible reads it as the controller itself (implicit localhost): delegate_to: localhost would "
                "run on this guest")
    if name in BUILTIN_GROUPS:
        return f"it is Ansible's built-in group {name!r}"
    if name in groups:
        return "it is the name of a group of this inventory"
    return None


def free_name(base: str, taken: Collection[str], groups: Collection[str] = ()) -> str:
    """base, or base-2, base-3, ... : the first that is neither taken nor a name a host may not have."""
    candidate, number = base, 1
    while candidate in taken or name_problem(candidate, groups):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def safe_names(wanted: Iterable[tuple[int, str]], fallbacks: Mapping[int, str], groups: Collection[str] = ()
               ) -> tuple[dict[int, str], dict[str, list[int]], dict[int, tuple[str, str]]]:
    """Host names for [(vmid, wanted name)] that no guest can use to become the controller or a group.

    A wanted name with a name_problem is not used: that guest gets its fallback name (fallbacks[vmid], as a
    guest without a name gets: qemu-105), after the other guests are named, so it never displaces one of them.
    Returns (names, duplicates as unique_names returns them, {vmid: (wanted name, why it was refused)}).
    """
    refused: dict[int, tuple[str, str]] = {}
    usable: list[tuple[int, str]] = []
    for vmid, name in wanted:
        problem = name_problem(name, groups)
        if problem:
            refused[int(vmid)] = (name, problem)
        else:
            usable.append((vmid, name))
    names, duplicates = unique_names(usable)
    for vmid in sorted(names):
        # A '<name>-<vmid>' of a duplicate may itself be a group's name.
        problem = name_problem(names[vmid], groups)
        if problem:
            refused[vmid] = (names.pop(vmid), problem)
    taken = set(names.values())
    for vmid in sorted(refused):
        names[vmid] = free_name(fallbacks[vmid], taken, groups)
        taken.add(names[vmid])
    return names, duplicates, refused


def refused_message(vmid: int, name: str, problem: str, host: str) -> str:
    return f"guest {vmid} is named {name!r}, which a host may not be called: {problem}. It is {host} in this inventory"


def unique_names(wanted: Iterable[tuple[int, str]]) -> tuple[dict[int, str], dict[str, list[int]]]:
    """Host names for [(vmid, wanted name)], unique and the same on every run.

    Of the guests that want one name, the one with the lowest vmid gets it; each other one gets
    ``<name>-<vmid>``. Returns ({vmid: host name}, {name: [vmids that wanted it]} for the names held by several).
    """
    by_name: defaultdict[str, list[int]] = defaultdict(list)
    for vmid, name in wanted:
        by_name[name].append(int(vmid))
    names: dict[int, str] = {}
    duplicates: dict[str, list[int]] = {}
    for name, vmids in by_name.items():
        vmids.sort()
        names[vmids[0]] = name
        if len(vmids) > 1:
            duplicates[name] = vmids
    taken = set(by_name)
    for name in sorted(duplicates):
        for vmid in duplicates[name][1:]:
            candidate, extra = f"{name}-{vmid}", 1
            while candidate in taken:
                extra += 1
                candidate = f"{name}-{vmid}-{extra}"
            taken.add(candidate)
            names[vmid] = candidate
    return names, duplicates


def duplicates_message(duplicates: Mapping[str, Sequence[int]], names: Mapping[int, str]) -> str:
    """One line that says which guests share a name and what each is called in the inventory."""
    parts = []
    for name in sorted(duplicates):
        held = ", ".join(f"{vmid} as {names[vmid]}" for vmid in duplicates[name])
        parts.append(f"{name!r} (vmids {held})")
    return "guests share a host name, so all but the lowest vmid got '-<vmid>' added: " + "; ".join(parts)


# --------------------------------------------------------------- per-guest calls

def one_line(text: object) -> str:
    return ONE_LINE.sub(" ", str(text)).strip()


class GuestCalls:
    """The per-guest calls the options need, made concurrently.

    Only running guests are asked for addresses: LXC through ``lxc/{vmid}/interfaces``, QEMU through the agent's
    ``network-get-interfaces``. Without want_config, "agent enabled" is learnt from that one call: a guest
    without an agent answers ``No QEMU guest agent configured`` (no address, no message). With want_config the
    config is read first and the agent is only asked when the config enables it.
    """

    def __init__(self, client: ProxmoxClient | None, concurrency: int = 16, want_addresses: bool = True,
                 want_config: bool = False, want_snapshots: bool = False, want_os_info: bool = False,
                 call_timeout: float | None = None) -> None:
        # None until a guest needs a call (needs_calls): the caller sets it before start().
        self.client: ProxmoxClient | None = client
        self.call_timeout: float | None = call_timeout
        self.concurrency: int = max(1, int(concurrency))
        self.want_addresses: bool = want_addresses
        self.want_config: bool = want_config
        self.want_snapshots: bool = want_snapshots
        self.want_os_info: bool = want_os_info
        # {vmid as str: details to keep} (reusable_details): these guests' addresses are not asked again.
        self.reuse: dict[str, dict[str, Any]] = {}

    def needs_calls(self, guest: Mapping[str, Any]) -> bool:
        """True when the options need at least one call for this guest."""
        if self.want_config or self.want_snapshots:
            return True
        if guest.get("status") != "running" or str(int(guest["vmid"])) in self.reuse:
            return False
        if guest.get("type") == "lxc":
            return self.want_addresses
        return self.want_addresses or self.want_os_info

    def fetch(self, guests: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """{vmid as str: details} for the guests that need calls or whose details are reused; see fetch_one for
        the details."""
        return self.finish(self.start(guests))

    def start(self, guests: Sequence[Mapping[str, Any]]) -> Started:
        """Every call of `guests` handed to the pool at once (the pool is busy from the first one, while the
        caller goes on): pass the result to finish()."""
        todo = [guest for guest in guests if self.needs_calls(guest)]
        if not todo:
            return guests, None, [], []
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(todo)), thread_name_prefix="proxgate-inventory")
        try:
            futures = [pool.submit(self.fetch_one, guest) for guest in todo]
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        return guests, pool, todo, futures

    @staticmethod
    def cancel(started: Started) -> None:
        """The calls start() began are not wanted any more (the run failed): the pool drops those not begun."""
        pool = started[1]
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def finish(self, started: Started) -> dict[str, dict[str, Any]]:
        """{vmid as str: details} of the calls start() began, once they have all answered."""
        guests, pool, todo, futures = started
        found: dict[str, dict[str, Any]] = {}
        if pool is not None:
            try:
                found = {str(int(guest["vmid"])): future.result() for guest, future in zip(todo, futures, strict=True)}
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        for guest in guests:
            vmid = str(int(guest["vmid"]))
            if vmid in self.reuse and vmid not in found:
                found[vmid] = {"errors": {}, "cut": [], **self.reuse[vmid]}
        for details in found.values():
            for key in ("errors", "cut"):
                if not details[key]:
                    del details[key]
        return found

    def fetch_one(self, guest: Mapping[str, Any]) -> dict[str, Any]:
        """What the calls for one guest found: interfaces (normalized), config, snapshots, os, and the
        calls that failed under errors ({call: one-line reason}); `agent` says why no agent was asked."""
        details: dict[str, Any] = {"errors": {}, "cut": []}
        path = guest_path(guest)
        config = None
        if self.want_config:
            config = self._call(details, "config", f"{path}/config", dict)
            if isinstance(config, dict):
                details["config"] = {key: value for key, value in config.items() if key != "digest"}
        if self.want_snapshots:
            snapshots = self._call(details, "snapshots", f"{path}/snapshot", list)
            if isinstance(snapshots, list):
                details["snapshots"] = sorted(item["name"] for item in snapshots
                                              if isinstance(item, dict) and item.get("name") not in (None, "current"))
        if guest.get("status") != "running":
            return details
        kept = self.reuse.get(str(int(guest["vmid"])))
        if guest.get("type") == "lxc":
            if kept is not None:
                details.update(kept)
            elif self.want_addresses:
                data = self._call(details, "interfaces", f"{path}/interfaces", list)
                if data is not None:
                    details["interfaces"] = normalize_lxc_interfaces(data, details["cut"])
                    details["asked"] = int(time.time())
            return details
        if isinstance(config, dict) and not agent_enabled(config.get("agent")):
            details["agent"] = "disabled in the config"
            return details
        if kept is not None:
            details.update(kept)
            return details
        answered = True
        if self.want_addresses:
            reply = self._call(details, "interfaces", f"{path}/agent/network-get-interfaces", dict)
            answered = isinstance(reply, dict)
            if answered:
                details["interfaces"] = normalize_agent_interfaces(reply.get("result"), details["cut"])
            if answered or "agent" in details:
                details["asked"] = int(time.time())
        if self.want_os_info and answered and "agent" not in details:
            reply = self._call(details, "os", f"{path}/agent/get-osinfo", dict)
            if isinstance(reply, dict) and isinstance(reply.get("result"), dict):
                details["os"] = bounded(reply["result"], details["cut"])
        return details

    def _call(self, details: dict[str, Any], name: str, path: str, expected: type) -> Any:
        """GET path and return its reply, which must be of the `expected` type; otherwise note why under
        details and return None.

        A call that failed at once (the connection broke, a 5xx from the node or a proxy, a reply that is not
        what PVE sends) is asked once more: such faults pass. A call that timed out (ours, or the node's 'got
        timeout') is not: it took its time already, and a hung agent would cost twice. Answers that say how the
        guest is (no agent configured, the agent not running) and refusals (403) are not asked again."""
        # Every pass of the loop that does not return sets problem.
        problem, asked = "", 0
        while asked < 2:
            asked += 1
            try:
                reply = self.client.get(path)  # type: ignore[union-attr]  # set before start(): needs_calls
            except ProxmoxApiError as exc:
                if any(text in exc.message for text in NO_AGENT):
                    details["agent"] = one_line(exc.message)
                    return None
                problem = one_line(f"HTTP {exc.status} {exc.message}")
                again = (exc.status >= 500 or exc.status < 400) and NODE_TIMEOUT not in exc.message \
                    and not GUEST_STATE.search(exc.message)
            except ProxmoxError as exc:
                problem, again = self._connection_error(exc), not self._timed_out(exc)
            else:
                if isinstance(reply, expected):
                    return reply
                problem, again = f"the reply is not what PVE sends (a {type(reply).__name__})", True
            if not again:
                break
        details["errors"][name] = problem + (" (asked twice)" if asked > 1 else "")
        return None

    @staticmethod
    def _timed_out(exc: BaseException) -> bool:
        """True when the client's connection error is a timeout.

        httpx raises its errors from ReadTimeout, ConnectTimeout, ...; HttpGetTransport's come from the socket's
        TimeoutError."""
        cause = exc.__cause__
        return isinstance(cause, TimeoutError) or type(cause).__name__.endswith("Timeout")

    def _connection_error(self, exc: BaseException) -> str:
        """The client's connection error in one line; a timeout said as such (it is not 'cannot reach')."""
        if self._timed_out(exc) and self.call_timeout:
            return f"no answer within call_timeout ({self.call_timeout:g}s)"
        return one_line(exc)


# ------------------------------------------------------------- reuse_addresses

def why_ask_again(old_guest: Mapping[str, Any] | None, old_details: Mapping[str, Any] | None,
                  guest: Mapping[str, Any], elapsed: float, now: float, max_age: float, want_os_info: bool = False
                  ) -> str | None:
    """Why a running guest's address from the last listing (`elapsed` seconds before this one) cannot be kept,
    or None when it can: the same node, running then and now, not restarted since (its uptime grew by the time
    passed, less UPTIME_SLACK), and an address asked less than max_age seconds before `now`."""
    if old_guest is None or old_details is None:
        return "new since the last listing"
    if guest.get("node") != old_guest.get("node"):
        return f"moved from {old_guest.get('node')} to {guest.get('node')}"
    if guest.get("status") != "running" or old_guest.get("status") != "running":
        return "not running at the last listing or now"
    if guest.get("type") != old_guest.get("type"):
        return "another guest with the same vmid"
    try:
        then, uptime = float(old_guest["uptime"]), float(guest["uptime"])
    except (KeyError, TypeError, ValueError):
        return "no uptime to compare"
    if then < UPTIME_SLACK or uptime < then + elapsed - UPTIME_SLACK:
        return "restarted since the last listing"
    # An answer to keep: the interfaces, or PVE's "No QEMU guest agent configured" (the agent device only comes
    # with a restart). An error (an agent not running yet, a timeout) is asked again.
    asked = old_details.get("asked")
    if not isinstance(asked, (int, float)) or old_details.get("errors") \
            or not ("interfaces" in old_details or old_details.get("agent")):
        return "no address was found at the last listing"
    if now - asked > max_age:
        return f"the address is {now - asked:.0f}s old (reuse_addresses_max_age {max_age}s)"
    if want_os_info and guest.get("type") == "qemu" and "interfaces" in old_details and "os" not in old_details:
        return "no OS was found at the last listing"
    return None


def reusable_details(previous: Mapping[str, Any], guests: Iterable[Mapping[str, Any]], now: float, max_age: float,
                     want_os_info: bool = False) -> dict[str, dict[str, Any]]:
    """{vmid as str: the details to keep} for the running guests of this listing whose address from the
    previous data (an expired cache: listed_at, guests, details) may be kept (why_ask_again)."""
    elapsed = now - float(previous["listed_at"])
    if elapsed < 0:
        return {}
    old_guests = {str(int(item["vmid"])): item for item in previous.get("guests") or ()
                  if isinstance(item, dict) and item.get("vmid") is not None}
    old_details = previous.get("details") or {}
    kept: dict[str, dict[str, Any]] = {}
    for guest in guests:
        vmid = str(int(guest["vmid"]))
        if guest.get("status") != "running":
            continue
        # The cached details of this guest (JSON), or None: why_ask_again is None only when there are some.
        found: Any = old_details.get(vmid)
        if why_ask_again(old_guests.get(vmid), found, guest, elapsed, now, max_age, want_os_info) is None:
            kept[vmid] = {key: found[key] for key in REUSED_KEYS if key in found}
    return kept


# ------------------------------------------------------------------- variables

def host_variables(guest: Mapping[str, Any], details: Mapping[str, Any] | None, prefix: str = "proxmox_",
                   interface: str | None = None, networks: Sequence[IPv4Network | IPv6Network] = (),
                   preference: str = "prefer_ipv4", with_interfaces: bool = False
                   ) -> tuple[dict[str, Any], str | None]:
    """The host's variables, with `prefix`, and the address to connect to (None if there is none)."""
    variables = resource_variables(guest, prefix)
    found, address = detail_variables(details, prefix, interface, networks, preference, with_interfaces)
    variables.update(found)
    return variables, address


def resource_variables(guest: Mapping[str, Any], prefix: str = "proxmox_") -> dict[str, Any]:
    """The host's variables from /cluster/resources alone (known before any per-guest call)."""
    variables: dict[str, Any] = {f"{prefix}vmid": int(guest["vmid"]), f"{prefix}name": guest.get("name"),
                                 f"{prefix}template": bool(guest.get("template")), f"{prefix}tags": guest_tags(guest)}
    for field in RESOURCE_FIELDS:
        if field in guest:
            variables[prefix + field] = guest[field]
    return variables


def detail_variables(details: Mapping[str, Any] | None, prefix: str = "proxmox_", interface: str | None = None,
                     networks: Sequence[IPv4Network | IPv6Network] = (), preference: str = "prefer_ipv4",
                     with_interfaces: bool = False) -> tuple[dict[str, Any], str | None]:
    """The host's variables from its per-guest calls, and the address to connect to (None if there is none)."""
    variables: dict[str, Any] = {}
    if not details:
        return variables, None
    address: str | None = None
    interfaces = details.get("interfaces")
    if interfaces is not None:
        addresses = select_addresses(interfaces, interface, networks, preference)
        variables[f"{prefix}ip_addresses"] = addresses
        if with_interfaces:
            variables[f"{prefix}interfaces"] = interfaces
        address = addresses[0] if addresses else None
    for key in ("config", "snapshots", "os"):
        if key in details:
            variables[prefix + key] = details[key]
    return variables, address


def group_names(guest: Mapping[str, Any], kinds: Iterable[str] = GROUP_KINDS, prefix: str = "proxmox_") -> list[str]:
    """The plugin's own groups for a guest, before sanitizing: proxmox_node_pve1, proxmox_tag_web, ..."""
    groups: list[str] = []
    for kind in kinds:
        if kind == "tag":
            groups.extend(f"{prefix}tag_{tag}" for tag in guest_tags(guest))
        elif guest.get(kind) not in (None, ""):
            groups.append(f"{prefix}{kind}_{guest[kind]}")
    return groups


def why_no_address(guest: Mapping[str, Any], details: Mapping[str, Any] | None) -> str | None:
    """A one-line reason for a running guest without an address, or None when none is worth saying."""
    if guest.get("status") != "running" or details is None:
        return None
    errors = details.get("errors") or {}
    if errors.get("interfaces"):
        return errors["interfaces"]
    interfaces = details.get("interfaces")
    if interfaces is None:
        return None
    if not interfaces:
        return "the guest reported no interfaces"
    seen = [f"{iface.get('name')} {entry['address']}/{entry.get('prefix')}"
            for iface in interfaces for entry in iface.get("addresses") or ()]
    if not seen:
        names = ", ".join(str(iface.get("name")) for iface in interfaces[:SEEN_IN_MESSAGE])
        return f"the guest reported interfaces without addresses ({names})"
    more = f" and {len(seen) - SEEN_IN_MESSAGE} more" if len(seen) > SEEN_IN_MESSAGE else ""
    return f"no address passed the filters (it reported {', '.join(seen[:SEEN_IN_MESSAGE])}{more})"


def incomplete_parts(guest: Mapping[str, Any], details: Mapping[str, Any] | None) -> dict[str, str]:
    """{what the host lacks: why} for a guest whose data the inventory could not read in full (empty when it is
    whole), in the order of INCOMPLETE_PARTS: `status` when its node sent no status to the cluster (the node is
    down or cut off), and each per-guest call that failed or timed out. What the guest's state explains (no
    agent configured or running, a stopped guest) is not missing."""
    errors = (details or {}).get("errors") or {}
    found: dict[str, str] = {}
    for part, key in INCOMPLETE_PARTS:
        if key is None:
            if guest.get("status") == UNKNOWN_STATUS:
                found[part] = f"node {guest.get('node')} sent no status (status unknown: the node is down or cut off)"
        elif errors.get(key) and not GUEST_STATE.search(errors[key]):
            found[part] = errors[key]
    return found


def incomplete_line(host: str, vmid: int, parts: Mapping[str, str]) -> str:
    """One line for an incomplete host: what it lacks and why."""
    return f"{host} (vmid {vmid}): " + "; ".join(f"{part}: {why}" for part, why in parts.items())


def incomplete_message(found: Sequence[tuple[str, int, Mapping[str, str]]], variable: str, group: str) -> str:
    """The summary warning for [(host, vmid, parts)] of incomplete hosts (at most NAMED_IN_WARNING named)."""
    named = " | ".join(incomplete_line(*entry) for entry in found[:NAMED_IN_WARNING])
    more = f" | and {len(found) - NAMED_IN_WARNING} more (-v lists them)" if len(found) > NAMED_IN_WARNING else ""
    count = f"{len(found)} host{'s' if len(found) > 1 else ''}"
    return (f"{count} could not be read in full, marked with the variable {variable} and the group {group} (a "
            f"proxgate.core.guacamole_sync run leaves their connections as they are): {named}{more}")


def fingerprint(settings: Mapping[str, Any]) -> str:
    """A short stable hash of the settings that decide what is fetched (a cached result is only used when
    they are the same)."""
    blob = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]

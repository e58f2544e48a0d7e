# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: proxmox
short_description: Proxmox VE guests as hosts, with their addresses from the guest agent
version_added: 0.1.0
description:
  - Makes every QEMU VM and LXC container of a Proxmox VE cluster an Ansible host, from one
    C(GET /cluster/resources?type=vm) call for the whole cluster (not a walk of the nodes).
  - C(ansible_host) is the address the guest reports, through the QEMU guest agent
    (C(agent/network-get-interfaces)) for VMs and C(lxc/{vmid}/interfaces) for containers. Only running
    guests are asked; the calls run concurrently, each with its own timeout. A guest that does not answer
    keeps its host entry without C(ansible_host) (one line at C(-v) says why); it never fails the inventory.
  - A host the inventory could not read in full is marked, never left out or shown as if whole - its node sent
    no status to the cluster (its status in C(/cluster/resources) is V(unknown); the node is down or cut off),
    or a per-guest call failed or timed out (after one more try for a call that failed at once). It gets the
    variable C(<prefix>incomplete), the list of what could not be read (C(status), C(config), C(snapshots),
    C(addresses), C(os)), and the group C(<prefix>incomplete) (made even when empty, so that
    C(all:!proxmox_incomplete) always matches); one warning names each such host and why. What the guest's
    state explains is not missing - no agent configured or running, a stopped guest.
  - The role C(proxgate.core.guacamole_sync) leaves the connection of a marked host exactly as it is.
  - Variables come with a prefix (C(proxmox_) by default) and groups by node, pool, type, status and tag
    (C(proxmox_node_pve1), C(proxmox_pool_production), C(proxmox_type_qemu), C(proxmox_status_running),
    C(proxmox_tag_web)), plus the usual O(compose), O(groups) and O(keyed_groups).
  - The configuration file name must end with C(.proxmox.yml) or C(.proxmox.yaml).
  - With O(cache) on, a run that finds the cache makes no API call at all.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox_plugin
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; it must be V(proxgate.core.proxmox) for the file to be read.
    type: str
    required: true
    choices: [proxgate.core.proxmox]
  hostname:
    description:
      - How hosts are named. V(name) uses the guest's name, V(vmid) its id.
      - Anything else is a Jinja2 template (C({{ proxmox_name }}.lab.example.com)) or expression
        (C(proxmox_name ~ '.' ~ proxmox_node)) over the guest's variables from C(/cluster/resources)
        (not the addresses).
      - A guest without a name (half-created) is named after its type and vmid, such as C(qemu-105).
      - When several guests get the same name, the one with the lowest vmid keeps it and each other one is
        named C(<name>-<vmid>); a warning lists them.
      - A guest whose name is one Ansible reads as the controller (C(localhost), C(127.0.0.1), C(::1)), a
        built-in group (C(all), C(ungrouped)) or a group of the inventory (the plugin's own, those of
        O(groups) and O(keyed_groups), those of sources read earlier) is named as a guest without a name is,
        such as C(qemu-105) (C(-2), C(-3), ... added if a guest is really called so), with a warning naming
        the guest and why. Otherwise a guest's owner could make tasks delegated to localhost run on the guest,
        or join other hosts' groups or give them variables.
    type: str
    default: name
  prefix:
    description: Prefix of the host variables and of the plugin's own group names.
    type: str
    default: proxmox_
  group_by:
    description:
      - Which of the plugin's own groups to make, each named C(<prefix><kind>_<value>) with invalid characters
        replaced by C(_), for example C(proxmox_tag_web) or C(proxmox_node_pve1).
    type: list
    elements: str
    choices: [node, pool, type, status, tag]
    default: [node, pool, type, status, tag]
  exclude_templates:
    description: Leave out templates.
    type: bool
    default: true
  nodes:
    description: Only guests on these nodes. Checked before any per-guest call.
    type: list
    elements: str
    default: []
  pools:
    description: Only guests in these pools. Checked before any per-guest call.
    type: list
    elements: str
    default: []
  tags:
    description: Only guests with at least one of these tags (case-insensitive). Checked before any per-guest call.
    type: list
    elements: str
    default: []
  statuses:
    description:
      - Only guests with one of these statuses (V(running), V(stopped), V(paused)). Checked before any per-guest
        call.
      - A guest whose status is V(unknown) (its node sent no status) is kept whatever this says, and marked
        incomplete; leaving it out would look as if it was gone.
    type: list
    elements: str
    default: []
  types:
    description: Only guests of these types. Checked before any per-guest call.
    type: list
    elements: str
    choices: [qemu, lxc]
    default: []
  filters:
    description:
      - Jinja2 conditions on the guest's variables from C(/cluster/resources) (C(proxmox_vmid), C(proxmox_name),
        C(proxmox_node), C(proxmox_tags), ...), checked in order before any per-guest call.
      - Each entry is a mapping with one key, C(include) or C(exclude), whose value is the condition; the first
        entry whose condition is true decides. A guest that no entry decides is kept.
    type: list
    elements: dict
    default: []
  want_addresses:
    description:
      - Ask running guests for their addresses (one call per running guest) and set C(ansible_host),
        C(<prefix>ip_addresses) (the addresses that pass O(address_interface) and O(address_networks), in
        the order O(address_family) prefers).
    type: bool
    default: true
  want_interfaces:
    description:
      - Also set C(<prefix>interfaces), the guest's interfaces as it reported them (name, C(hwaddr) and
        addresses with C(address), C(prefix) and C(family)), loopback included.
      - No extra call (the addresses call returns them), but several times the host variables' size;
        C(<prefix>ip_addresses) holds the usable addresses either way.
      - A guest's reply is read within limits - at most 256 interfaces, 64 addresses on each, 128 characters
        in an interface name and 64 in a hardware address - with a warning naming the guest when something
        was dropped; this holds for C(ansible_host) and C(<prefix>ip_addresses) too.
    type: bool
    default: false
  want_config:
    description:
      - Read each guest's configuration into C(<prefix>config) (one call per guest, running or not).
      - The guest agent is then only asked when the configuration enables it.
    type: bool
    default: false
  want_snapshots:
    description: Read each guest's snapshot names into C(<prefix>snapshots) (one call per guest).
    type: bool
    default: false
  want_os_info:
    description:
      - Ask the guest agent of running VMs for their OS (C(get-osinfo)) into C(<prefix>os); one more call per
        VM whose agent answered.
      - The reply is the guest's, so it is kept within limits - at most 4 levels of mappings and lists (the
        reply counting as the first; a fifth is left empty), 64 entries in each, 1024 characters in a string or
        key - and a warning names the guest when something was dropped.
    type: bool
    default: false
  address_interface:
    description:
      - Only addresses of interfaces whose name matches this shell glob, such as V(eth*), V(ens*) or
        V(Ethernet*) (case-sensitive).
      - The loopback interface and every address that cannot be the guest's are always left out. Only a global
        or private unicast address (RFC 1918, C(fc00::/7), the documentation ranges, the RFC 6598 shared space
        C(100.64.0.0/10)) becomes C(ansible_host) or is listed in C(<prefix>ip_addresses). Left out are
        C(0.0.0.0), C(::), multicast, reserved addresses (C(255.255.255.255)), the network and broadcast
        address of the reported network, loopback and link-local addresses, IPv4-mapped ones included
        (C(::ffff:127.0.0.1)).
    type: str
  address_networks:
    description:
      - Only addresses inside one of these networks, such as V(10.20.0.0/16) or V(2001:db8::/32).
    type: list
    elements: str
    default: []
  address_family:
    description:
      - Which address becomes C(ansible_host). V(ipv4) or V(ipv6) keep only that family; V(prefer_ipv4) and
        V(prefer_ipv6) take the other family when the preferred one has no address; V(any) takes the first
        address in the order the guest reports them.
    type: str
    choices: [ipv4, ipv6, prefer_ipv4, prefer_ipv6, any]
    default: prefer_ipv4
  concurrency:
    description: How many per-guest calls run at the same time (1 to 64).
    type: int
    default: 16
  call_timeout:
    description:
      - Seconds each per-guest call may take. A guest whose agent hangs has no address after that, and is marked
        incomplete (C(<prefix>incomplete)).
      - A call that timed out is not made again (a hung agent costs one timeout, not two); a call that failed at
        once (the connection broke, a 5xx from the node or a proxy, a reply that is not what PVE sends) is made
        once more.
    type: float
    default: 5
  reuse_addresses:
    description:
      - With O(cache) on and a file cache plugin (V(ansible.builtin.jsonfile), V(ansible.builtin.yaml),
        V(ansible.builtin.pickle)), a run whose cache has expired still reads the data it cached last, makes
        its one C(/cluster/resources) call, and keeps the address (and O(want_os_info)'s OS) of every guest that
        is on the same node, still running, has not restarted since (its uptime grew by the time passed, less
        10 seconds, PVE's statistics interval; a guest that was up for less than that is always asked), and
        whose address was asked less than O(reuse_addresses_max_age) seconds ago. Only the other running guests
        are asked. C(--flush-cache) asks every guest.
      - The risk, why it is off by default - a guest whose address changed while it kept running (a DHCP lease
        moved, an address set by hand, a second interface that came up) keeps its old address until it
        restarts, moves or its address is older than O(reuse_addresses_max_age); tasks would go to the
        address the guest had, which may by then be another machine's. Turn it on where addresses only change
        with a restart (static or reserved addresses) and keep O(reuse_addresses_max_age) short where not.
      - O(want_config) and O(want_snapshots) are still read for every guest (they change without a restart).
    type: bool
    default: false
  reuse_addresses_max_age:
    description:
      - With O(reuse_addresses), the age in seconds of the oldest address kept; a guest whose address was asked
        longer ago is asked again. V(0) asks every guest (as without O(reuse_addresses)).
    type: int
    default: 3600
notes:
  - >-
    Privileges: C(VM.Audit) on the guests (C(/vms) or a pool) to list them and read their configuration and
    snapshots. Addresses from the QEMU guest agent need C(VM.Monitor) on Proxmox VE 8, and
    C(VM.GuestAgent.Audit) (or C(VM.GuestAgent.Unrestricted)) on Proxmox VE 9; a guest the user may not ask
    keeps its host entry without an address, marked incomplete.
  - >-
    API calls per run: 1 for the cluster's guests (plus 1 login with a password), then, for the guests left
    after the filters, 1 per running guest for its addresses, 1 per guest with O(want_config), 1 per guest
    with O(want_snapshots), 1 per running VM whose agent answered with O(want_os_info), and 1 more for each
    of these calls that failed at once. With O(cache), 0 when the cache holds this configuration's result,
    unless a host of that result was marked incomplete (the API is read again, so that a fault that passed
    is not kept for O(cache_timeout)). With O(reuse_addresses) and an expired cache, the address calls only
    for the guests whose cached address cannot be kept.
"""

EXAMPLES = r"""
# inventory/cluster.proxmox.yml: every guest, addresses from the guest agent; auth from PROXMOX_* variables
plugin: proxgate.core.proxmox

---
# Running Linux guests, grouped by tag, with the SSH user from a tag and the connection for Windows guests.
# Tags are set by the guests' owners: they may sort hosts, never choose the hosts that get secrets
# (a gateway group comes from a static inventory file or an admin-only pool, see docs/security.md).
plugin: proxgate.core.proxmox
api_url: https://pve1.example.com:8006
api_token_id: inventory@pve!ansible
api_token_secret: "{{ lookup('ansible.builtin.env', 'PVE_INVENTORY_SECRET') }}"
ca_path: /etc/ssl/pve-root-ca.pem
statuses: [running]
address_networks: [10.20.0.0/16]
compose:
  ansible_user: "'debian' if 'debian' in proxmox_tags else 'root'"
  ansible_connection: "'winrm' if 'windows' in proxmox_tags else 'ssh'"
keyed_groups:
  - key: proxmox_pool | default('none')
    prefix: pool
groups:
  big: proxmox_maxmem >= 8 * 1024 ** 3

---
# Cached for 10 minutes in JSON files: a second ansible-playbook run within that time makes no API call.
# After that, one /cluster/resources call, and only the guests that restarted, moved or are new (or whose
# address is over a day old) are asked for their address (static addresses: see reuse_addresses' risk).
plugin: proxgate.core.proxmox
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-inventory
cache_timeout: 600
reuse_addresses: true
reuse_addresses_max_age: 86400
"""

import difflib
import json
import os
import time

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.addresses import parse_networks
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import HAS_HTTPX, ProxmoxError
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import client_from_params
from ansible_collections.proxgate.core.plugins.plugin_utils.proxmox_get import HttpGetTransport
from ansible_collections.proxgate.core.plugins.plugin_utils.proxmox_inventory import (
    DATA_VERSION,
    GuestCalls,
    cut_message,
    detail_variables,
    duplicates_message,
    fallback_name,
    fingerprint,
    free_name,
    group_names,
    host_variables,
    incomplete_line,
    incomplete_message,
    incomplete_parts,
    keep_guest,
    refused_message,
    resource_variables,
    reusable_details,
    safe_names,
    slim,
    why_no_address,
)

NAME = "proxgate.core.proxmox"
# The version of the cache's value, in the value and in the fingerprint: DATA_VERSION (what is fetched and kept)
# and CACHE_LAYOUT (how it is stored), so that a cache another release wrote is fetched again, never misread.
# Layout 1 (the int DATA_VERSION alone, up to 3): the guests as mappings, the details as mappings, all in the
# value. Layout 2: the guests as rows and the details, in one JSON text (pack_cache), issue #18.
CACHE_LAYOUT = 2
CACHE_VERSION = f"{DATA_VERSION}.{CACHE_LAYOUT}"
SUFFIXES = (".proxmox.yml", ".proxmox.yaml")
AUTH_OPTIONS = ("api_user", "api_password", "api_token_id", "api_token_secret")
# The options that name the API's address (api_url, or api_host and api_port): given to client_from_params with
# those that came from the environment apart, so that an option of the file beats another one's variable.
ADDRESS_OPTIONS = ("api_url", "api_host", "api_port")
MAX_CONCURRENCY = 64
# The options that change what is fetched, and so what the cache holds: the cache's fingerprint is made of their
# values, and a cached result is only used when they are the same. Every other option is in OTHER_OPTIONS
# (tests/unit/plugins/inventory/test_inventory_docs.py checks that each documented option is in one of them), so
# a new option cannot reuse a stale cache without a decision.
FETCH_OPTIONS = ("api_url", "api_host", "api_port", "api_user", "api_token_id", "prefix", "filters",
                 "exclude_templates", "nodes", "pools", "tags", "statuses", "types", "want_addresses", "want_config",
                 "want_snapshots", "want_os_info")
OTHER_OPTIONS = frozenset((
    "plugin",
    # How the fetched data becomes hosts, variables and groups (applied to cached data too).
    "hostname", "group_by", "address_interface", "address_networks", "address_family", "want_interfaces",
    "compose", "groups", "keyed_groups", "strict", "leading_separator", "use_extra_vars",
    # How it is fetched, not what: the same guests and replies whatever their values.
    "concurrency", "call_timeout", "api_timeout", "api_retries", "validate_certs", "ca_path", "reuse_addresses",
    "reuse_addresses_max_age",
    # Secrets: never hashed into the cache; another secret of the same user or token reads the same data.
    "api_password", "api_token_secret",
    # The cache itself.
    "cache", "cache_plugin", "cache_timeout", "cache_connection", "cache_prefix",
))


def make_unsafe(value):
    """API data as Ansible must hold it: never templated. Dicts and lists are walked all the way down; a string
    that could start a template (it holds a brace) goes through wrap_var (AnsibleUnsafe before ansible-core
    2.19, untrusted from 2.19 on). The others cannot be templated, and leaving them as they are keeps 5,000
    hosts fast."""
    if isinstance(value, str):
        return wrap_var(value) if "{" in value or "}" in value else value
    if isinstance(value, dict):
        return {make_unsafe(key): make_unsafe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [make_unsafe(item) for item in value]
    return value


def pack_cache(data):
    """The value to cache for the result of _fetch: its checked fields as they are, and the guests and their details
    in one JSON text (`data`), the guests as rows - [shape, value, ...], the keys being those of shapes[shape] (the
    few key sets a listing has), so their presence and order are kept.

    Why one text: ansible-core 2.19 encodes a cache value with its persistence encoder (pure Python, every value
    visited) and deep-copies it after writing (CachePluginAdjudicator.set_cache), and decodes it with a Python
    object hook on reading. Of one string they make nothing; the standard library's C encoder and decoder make
    and read the text itself, several times faster. The data is plain JSON from the API (strings, numbers,
    booleans, null, lists, mappings), made unsafe when the hosts are made, as before."""
    shapes, rows = {}, []
    for guest in data["guests"]:
        shape = shapes.setdefault(tuple(guest), len(shapes))
        rows.append([shape, *guest.values()])
    text = json.dumps({"shapes": list(shapes), "rows": rows, "details": data["details"]}, separators=(",", ":"))
    return {"version": CACHE_VERSION, "fingerprint": data["fingerprint"], "listed_at": data["listed_at"],
            "incomplete": data["incomplete"], "guests": len(rows), "data": text}


def unpack_cache(value, wanted):
    """The result of _fetch from a cached value of this layout and fingerprint (`wanted`), or None: another
    release's or other settings' value, or one that cannot be read."""
    if not isinstance(value, dict) or value.get("version") != CACHE_VERSION or value.get("fingerprint") != wanted \
            or not isinstance(value.get("data"), str) or not isinstance(value.get("listed_at"), (int, float)):
        return None
    try:
        packed = json.loads(value["data"])
        shapes = packed["shapes"]
        guests = [dict(zip(shapes[row[0]], row[1:], strict=True)) for row in packed["rows"]]
        details = packed["details"]
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if not isinstance(details, dict) or not all(isinstance(found, dict) for found in details.values()):
        return None
    return {"version": CACHE_VERSION, "fingerprint": wanted, "listed_at": value["listed_at"],
            "incomplete": value.get("incomplete"), "guests": guests, "details": details}


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = NAME

    def verify_file(self, path):
        """Only files named *.proxmox.yml or *.proxmox.yaml (other plugins read the rest)."""
        return super().verify_file(path) and str(path).endswith(SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        self._reject_unknown(config)
        settings = self._settings()
        key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        data = self._from_cache(key, settings["fingerprint"]) if use_cache else None
        if data is None:
            previous = self._expired_cache(key, settings["fingerprint"]) if use_cache and settings["reuse"] \
                else None
            data = self._fetch(settings, previous)
            if self.get_option("cache"):
                self._cache[key] = pack_cache(data)
        else:
            started = time.monotonic()
            self._complete(self._add_hosts(data["guests"], settings), data.get("details") or {}, settings)
            self.display.vv(f"{NAME}: made the hosts and groups in {time.monotonic() - started:.2f}s")

    # ------------------------------------------------------------- options

    def _reject_unknown(self, config):
        """A misspelt option would otherwise be ignored without a word (want_confg: true reads no config)."""
        unknown = sorted(str(key) for key in config if key not in self._options)
        if not unknown:
            return
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, list(self._options), n=1)
            hints.append(f"{key} (did you mean {close[0]}?)" if close else key)
        raise AnsibleParserError(f"{NAME}: unknown option(s) in the configuration: {', '.join(hints)}")

    def _settings(self):
        """The options, checked: an error names the option and what it expects."""
        concurrency = self.get_option("concurrency")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise AnsibleParserError(f"{NAME}: concurrency must be between 1 and {MAX_CONCURRENCY}, "
                                     f"got {concurrency}")
        if self.get_option("call_timeout") <= 0:
            raise AnsibleParserError(f"{NAME}: call_timeout must be a number of seconds above 0, "
                                     f"got {self.get_option('call_timeout')}")
        try:
            networks = parse_networks(self.get_option("address_networks"))
        except ValueError as exc:
            raise AnsibleParserError(f"{NAME}: address_networks: {exc}") from None
        # Not stripped or copied: a new string would lose ansible-core 2.19's trust in the file's template.
        hostname = self.get_option("hostname")
        if not hostname or not hostname.strip():
            raise AnsibleParserError(f"{NAME}: hostname must be name, vmid or a template, got an empty value")
        prefix = self.get_option("prefix")
        if prefix is None:
            raise AnsibleParserError(f"{NAME}: prefix must be a string such as proxmox_, got null")
        max_age = self.get_option("reuse_addresses_max_age")
        if max_age < 0:
            raise AnsibleParserError(f"{NAME}: reuse_addresses_max_age must be a number of seconds, 0 or more, "
                                     f"got {max_age}")
        fetch = {name: self.get_option(name) for name in FETCH_OPTIONS}
        fetch["filters"] = self._filters()
        return dict(fetch, hostname=hostname, networks=networks,
                    fingerprint=fingerprint(dict(fetch, version=CACHE_VERSION)), concurrency=concurrency,
                    reuse=self.get_option("reuse_addresses") and max_age > 0, max_age=max_age,
                    call_timeout=float(self.get_option("call_timeout")),
                    interface=self.get_option("address_interface"), family=self.get_option("address_family"),
                    group_by=self.get_option("group_by"), strict=self.get_option("strict"),
                    with_interfaces=self.get_option("want_interfaces"))

    def _filters(self):
        entries = []
        for index, entry in enumerate(self.get_option("filters") or ()):
            if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in ("include", "exclude"):
                raise AnsibleParserError(f"{NAME}: filters[{index}] must be a mapping with one key, include or "
                                         f"exclude, and a condition as its value; got {entry!r}")
            kind, condition = next(iter(entry.items()))
            if not isinstance(condition, (str, bool)) or condition == "":
                raise AnsibleParserError(f"{NAME}: filters[{index}].{kind} must be a Jinja2 condition such as "
                                         f"\"'web' in proxmox_tags\", got {condition!r}")
            entries.append((kind, condition))
        return entries

    def _templated(self, name):
        """An auth option's value, rendered if it is a template (a lookup or an extra variable)."""
        value = self.get_option(name)
        if isinstance(value, str) and self.templar.is_template(value):
            self.templar.available_variables = self._vars or {}
            try:
                value = self.templar.template(value)
            except AnsibleError as exc:
                raise AnsibleError(f"{NAME}: {name} could not be rendered: {exc}") from None
        return value

    # ---------------------------------------------------------------- cache

    def _from_cache(self, key, wanted):
        """The cached fetch for this configuration, or None (missing, expired, or from other settings)."""
        try:
            value = self._cache[key]
        except KeyError:
            return None
        data = unpack_cache(value, wanted)
        if data is None:
            self.display.vvv(f"{NAME}: the cached inventory was made with other settings or by another release; "
                             "reading the API")
            return None
        if data.get("incomplete"):
            # A fault that passes is not kept for cache_timeout: such a result only serves reuse_addresses.
            self.display.vvv(f"{NAME}: the cached inventory has {data['incomplete']} hosts it could not read in full; "
                             "reading the API")
            return None
        self.display.vvv(f"{NAME}: using the cached inventory ({len(data['guests'])} guests)")
        return data

    def _expired_cache(self, key, wanted):
        """The data this configuration cached last even though its cache_timeout has passed (for
        reuse_addresses), or None: missing, from other settings, or a cache plugin that keeps no expired data.

        ansible-core's file cache plugins (jsonfile, yaml, pickle) refuse an expired entry by its file's age
        (their _timeout); it is read here with that check off, and the plugin's timeout put back at once."""
        plugin = getattr(self._cache, "_plugin", None)
        timeout = getattr(plugin, "_timeout", None)
        if plugin is None or timeout is None or not callable(getattr(plugin, "get", None)):
            return None
        plugin._timeout = 0
        try:
            value = plugin.get(key)
        except (KeyError, AnsibleError):
            return None
        finally:
            plugin._timeout = timeout
        data = unpack_cache(value, wanted)
        if data is None:
            return None
        self.display.vvv(f"{NAME}: the cache has expired; its addresses may be reused ({len(data['guests'])} "
                         "guests)")
        return data

    # ---------------------------------------------------------------- fetch

    def _client(self):
        """The client of the cluster-wide calls, from the connection options through the modules' checks
        (client_from_params): the same errors for the same mistakes."""
        if not HAS_HTTPX:
            raise AnsibleError(f"{NAME} needs the httpx Python library on the controller: "
                               "pip install 'httpx>=0.27' (or add it to the execution environment)")
        params = {name: self._templated(name) for name in AUTH_OPTIONS}
        params.update(self._tls_options(), api_timeout=self.get_option("api_timeout"),
                      api_retries=self.get_option("api_retries"))
        environ = {}
        for name in ADDRESS_OPTIONS:
            value, origin = self.get_option_and_origin(name)
            value = self._templated(name) if name != "api_port" else value
            if isinstance(origin, str) and origin.startswith("env:"):
                environ[origin.partition(":")[2].strip()] = None if value is None else str(value)
            else:
                params[name] = value
        try:
            return client_from_params(params, environ)
        except ProxmoxError as exc:
            # from None: the client's text is whole (the cause and a hint); ansible-core 2.19 would append the
            # text of each chained cause to it, repeating the hint in one warning.
            raise AnsibleError(f"{NAME}: {exc}") from None

    def _tls_options(self):
        # A str, not a path option: Ansible turns an empty path into the current directory.
        ca_path = self.get_option("ca_path")
        return {"validate_certs": self.get_option("validate_certs"),
                "ca_path": os.path.expanduser(ca_path) if ca_path else None}

    def _guest_client(self, main, settings):
        """The client of the per-guest calls: the main client's API, credentials and login (one login per run,
        shared, renewed for both when refused), no retries, call_timeout.

        Its GETs go through the standard library's http.client (HttpGetTransport: one kept-alive connection per
        worker thread, half the CPU per call of httpx), httpx only when the environment names a proxy that
        http.client cannot speak to. httpx keeps as many connections alive as calls run at once (by default it
        keeps 20; a busier pool would open a TLS connection per call)."""
        try:
            transport = HttpGetTransport.for_url(main.base_url, settings["call_timeout"], context=main.ssl_context)
        except ProxmoxError as exc:
            raise AnsibleError(f"{NAME}: {exc}") from None
        return main.derive(settings["call_timeout"], 0, max_connections=settings["concurrency"],
                           get_transport=transport)

    def _fetch(self, settings, previous=None):
        """List the guests, hand every per-guest call to the pool at once, and make the hosts, their groups and
        their variables from the listing while the calls are in flight; then add what the calls found."""
        started = time.monotonic()
        main = self._client()
        guest_client = None
        try:
            try:
                resources = main.get("/cluster/resources", type="vm") or []
            except ProxmoxError as exc:
                raise AnsibleError(f"{NAME}: cannot list the cluster's guests: {exc}") from None
            listed_at = time.time()
            guests = sorted((guest for guest in resources if isinstance(guest, dict)
                             and guest.get("type") in ("qemu", "lxc") and guest.get("vmid") is not None),
                            key=lambda guest: int(guest["vmid"]))
            guests = [slim(guest) for guest in guests if self._wanted(guest, settings)]
            calls = GuestCalls(None, settings["concurrency"], settings["want_addresses"], settings["want_config"],
                               settings["want_snapshots"], settings["want_os_info"], settings["call_timeout"])
            if previous is not None:
                calls.reuse = reusable_details(previous, guests, listed_at, settings["max_age"],
                                               settings["want_os_info"])
                self.display.v(f"{NAME}: {len(calls.reuse)} guests' addresses reused from the expired cache")
            if any(calls.needs_calls(guest) for guest in guests):
                calls.client = guest_client = self._guest_client(main, settings)
            in_flight = calls.start(guests)
            try:
                making = time.monotonic()
                placed = self._add_hosts(guests, settings)
                making = time.monotonic() - making
                details = calls.finish(in_flight)
            except BaseException:
                calls.cancel(in_flight)
                raise
        finally:
            if guest_client is not None:
                guest_client.close()
            main.close()
        self.display.vv(f"{NAME}: read {len(guests)} guests and {len(details)} guests' details from the API in "
                        f"{time.monotonic() - started:.2f}s")
        completing = time.monotonic()
        incomplete = self._complete(placed, details, settings)
        self.display.vv(f"{NAME}: made the hosts and groups in {making + time.monotonic() - completing:.2f}s")
        return {"version": CACHE_VERSION, "fingerprint": settings["fingerprint"], "listed_at": listed_at,
                "guests": guests, "details": details, "incomplete": incomplete}

    def _wanted(self, guest, settings):
        if not keep_guest(guest, settings["exclude_templates"], settings["nodes"], settings["pools"],
                          settings["tags"], settings["statuses"], settings["types"]):
            return False
        if not settings["filters"]:
            return True
        variables, _address = host_variables(make_unsafe(guest), None, settings["prefix"])
        for index, (kind, condition) in enumerate(settings["filters"]):
            try:
                matched = boolean(self._compose(condition, variables), strict=False)
            except AnsibleError as exc:
                raise AnsibleParserError(f"{NAME}: filters[{index}].{kind} ({condition!r}) failed for guest "
                                         f"{guest.get('vmid')}: {exc}") from None
            if matched:
                return kind == "include"
        return True

    # ------------------------------------------------------------- populate

    def _add_hosts(self, guests, settings):
        """The hosts, their variables from the listing and the plugin's own groups: all that does not wait for a
        guest's per-guest calls (made while they are in flight). _complete adds the rest."""
        prefix = settings["prefix"]
        # Thousands of hosts share a few dozen group names (nodes, pools, types, statuses, tags): each is
        # sanitized once.
        sanitized = {}

        def sanitize(name):
            if name not in sanitized:
                sanitized[name] = self._sanitize_group_name(make_unsafe(name))
            return sanitized[name]

        kinds = settings["group_by"]
        own_groups = {int(guest["vmid"]): [sanitize(group) for group in group_names(guest, kinds, prefix)]
                      for guest in guests}
        # Made whether or not a host is incomplete, so that a pattern such as all:!proxmox_incomplete always
        # matches a group.
        incomplete = self.inventory.add_group(sanitize(f"{prefix}incomplete"))
        # Every group name known before the hosts are added: the other sources' groups, the plugin's own and the
        # composed ones. A host of such a name would receive the group's members or its variables.
        groups = set(self.inventory.groups)
        groups.update(group for names in own_groups.values() for group in names)
        groups.update(self._sanitize_group_name(name) for name in self.get_option("groups") or {})
        names = self._host_names(guests, settings, groups)
        inventory = self.inventory
        hosts, made = {}, {}
        for guest in guests:
            vmid = int(guest["vmid"])
            host = made[vmid] = make_unsafe(names[vmid])
            variables = hosts[vmid] = make_unsafe(resource_variables(guest, prefix))
            inventory.add_host(host)
            for key, value in variables.items():
                inventory.set_variable(host, key, value)
            for group in own_groups[vmid]:
                inventory.add_child(inventory.add_group(group), host)
        return {"guests": guests, "names": names, "hosts": hosts, "made": made, "own_groups": own_groups,
                "incomplete": incomplete}

    def _complete(self, placed, details, settings):
        """The variables from the per-guest calls (addresses, config, snapshots, OS), then the composed variables,
        the composed groups and the keyed ones, which may use any variable. Returns how many hosts are
        incomplete."""
        guests, names, hosts, made = placed["guests"], placed["names"], placed["hosts"], placed["made"]
        prefix, strict = settings["prefix"], settings["strict"]
        inventory = self.inventory
        reasons = {}
        incomplete = {}
        for guest in guests:
            vmid = int(guest["vmid"])
            found = details.get(str(vmid))
            extra, address = detail_variables(found, prefix, settings["interface"], settings["networks"],
                                              settings["family"], settings["with_interfaces"])
            extra = make_unsafe(extra)
            if address:
                extra["ansible_host"] = make_unsafe(address)
            host = made[vmid]
            missing = incomplete_parts(guest, found)
            if missing:
                extra[f"{prefix}incomplete"] = list(missing)
                incomplete[vmid] = make_unsafe(missing)
            for key, value in extra.items():
                inventory.set_variable(host, key, value)
            hosts[vmid].update(extra)
            if found and found.get("cut"):
                self.display.warning(f"{NAME}: guest {vmid} ({names[vmid]}) sent more than the inventory keeps, "
                                     f"the rest was dropped: {cut_message(found['cut'])}")
            reason = why_no_address(guest, found) if settings["want_addresses"] and not address else None
            if reason:
                reasons[vmid] = reason
        compose, composed, keyed = (self.get_option(name) for name in ("compose", "groups", "keyed_groups"))
        if compose:
            for vmid, variables in hosts.items():
                self._set_composite_vars(compose, variables, made[vmid], strict=strict)
        if composed:
            for vmid, variables in hosts.items():
                self._add_host_to_composed_groups(composed, variables, made[vmid], strict=strict)
        if keyed:
            for vmid, variables in hosts.items():
                self._add_host_to_keyed_groups(keyed, variables, made[vmid], strict=strict)
        self._rename_keyed_group_clashes(guests, hosts, names, placed["own_groups"], strict)
        # After the renames, which may have given a host another name.
        for vmid in incomplete:
            inventory.add_child(placed["incomplete"], make_unsafe(names[vmid]))
        for vmid, reason in reasons.items():
            self.display.v(f"{NAME}: {names[vmid]} (vmid {vmid}) has no address: {reason}")
        with_address = sum(1 for variables in hosts.values() if "ansible_host" in variables)
        self.display.v(f"{NAME}: {len(guests)} guests, {with_address} with an address")
        if incomplete:
            found = [(names[vmid], vmid, missing) for vmid, missing in incomplete.items()]
            self.display.warning(f"{NAME}: " + incomplete_message(found, f"{prefix}incomplete", placed["incomplete"]))
            for entry in found:
                self.display.v(f"{NAME}: incomplete: {incomplete_line(*entry)}")
        return len(incomplete)

    def _place(self, hosts, names, own_groups, strict):
        """Add the hosts, then their composed variables, then their groups: the plugin's and the composed ones
        (whose names no host has), then the keyed ones last, which add a host by its object, never by a name
        that may be a group's."""
        compose = self.get_option("compose")
        for vmid, variables in hosts.items():
            host = make_unsafe(names[vmid])
            self.inventory.add_host(host)
            for key, value in variables.items():
                self.inventory.set_variable(host, key, value)
        for vmid, variables in hosts.items():
            self._set_composite_vars(compose, variables, make_unsafe(names[vmid]), strict=strict)
        for vmid, variables in hosts.items():
            host = make_unsafe(names[vmid])
            for group in own_groups[vmid]:
                self.inventory.add_child(self.inventory.add_group(group), host)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
        for vmid, variables in hosts.items():
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, make_unsafe(names[vmid]),
                                           strict=strict)

    def _rename_keyed_group_clashes(self, guests, hosts, names, own_groups, strict):
        """A keyed group's name is only known once it is made: a host named like one is taken out and added
        again under its fallback name (a few rounds at most, as a new name could clash again)."""
        by_vmid = {int(guest["vmid"]): guest for guest in guests}
        for _round in range(5):
            clashes = sorted(vmid for vmid, name in names.items() if name in self.inventory.groups)
            if not clashes:
                return
            taken = set(self.inventory.hosts)
            for vmid in clashes:
                wanted = names[vmid]
                self.inventory.remove_host(self.inventory.hosts[wanted])
                names[vmid] = free_name(fallback_name(by_vmid[vmid]), taken | set(self.inventory.groups))
                taken.add(names[vmid])
                problem = "it is the name of a group of this inventory (made by keyed_groups)"
                self.display.warning(f"{NAME}: {refused_message(vmid, wanted, problem, names[vmid])}")
            self._place({vmid: hosts[vmid] for vmid in clashes}, names, own_groups, strict)

    def _host_names(self, guests, settings, groups):
        wanted = [(int(guest["vmid"]), self._wanted_name(guest, settings)) for guest in guests]
        fallbacks = {int(guest["vmid"]): fallback_name(guest) for guest in guests}
        names, duplicates, refused = safe_names(wanted, fallbacks, groups)
        if duplicates:
            self.display.warning(f"{NAME}: {duplicates_message(duplicates, names)}")
        for vmid, (name, problem) in sorted(refused.items()):
            self.display.warning(f"{NAME}: {refused_message(vmid, name, problem, names[vmid])}")
        return names

    def _wanted_name(self, guest, settings):
        hostname = settings["hostname"]
        if hostname == "vmid":
            return str(int(guest["vmid"]))
        if hostname == "name":
            return str(guest.get("name") or "") or fallback_name(guest)
        variables, _address = host_variables(make_unsafe(guest), None, settings["prefix"])
        try:
            if "{{" in hostname or "{%" in hostname:
                self.templar.available_variables = variables
                name = self.templar.template(hostname)
            else:
                name = self._compose(hostname, variables)
        except AnsibleError as exc:
            if settings["strict"]:
                raise AnsibleParserError(f"{NAME}: hostname ({hostname!r}) failed for guest {guest.get('vmid')}: "
                                         f"{exc}") from None
            self.display.v(f"{NAME}: hostname ({hostname!r}) failed for guest {guest.get('vmid')}, "
                           f"named by its name instead: {exc}")
            name = None
        return str(name).strip() if name not in (None, "") else (str(guest.get("name") or "") or fallback_name(guest))

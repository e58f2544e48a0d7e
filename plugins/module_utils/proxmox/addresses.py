# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guest addresses: what the QEMU guest agent and the LXC interfaces call report, and which one to connect to.

Both replies are first brought to one shape, a list of
``{"name": "eth0", "hwaddr": "bc:24:11:aa:bb:cc", "addresses": [{"address": "10.0.0.5", "prefix": 24,
"family": "ipv4"}]}``, then filtered by interface name, network and family. Pure functions, no network.
"""

from __future__ import annotations

import ipaddress
from fnmatch import fnmatchcase

FAMILIES = {"ipv4": 4, "ipv6": 6}
PREFERENCES = ("ipv4", "ipv6", "prefer_ipv4", "prefer_ipv6", "any")
# RFC 1122 "this network": never the address of a host (Python counts it as private).
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
# RFC 6598 shared address space (carrier-grade NAT, overlay networks): unicast, but neither global nor
# private to Python's ipaddress; a guest may well be reached there.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
# What one guest's reply may hold (the guest writes it): more is dropped, and noted in `cut`. A Linux host
# with a few hundred containers has that many veth interfaces, but without addresses of their own.
MAX_INTERFACES = 256
MAX_ADDRESSES = 64  # per interface
MAX_NAME = 128  # characters of an interface name (Windows' adapter names are the long ones)
MAX_HWADDR = 64  # characters of a hardware address (InfiniBand's 20 bytes are 59)


def parse_networks(cidrs):
    """ip_network objects for a list of CIDRs (host bits allowed); ValueError names the bad entry."""
    networks = []
    for text in cidrs or ():
        try:
            networks.append(ipaddress.ip_network(str(text).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"cidr entry {text!r} is not a network such as 10.20.0.0/16 or 2001:db8::/32 "
                             f"({exc})") from exc
    return networks


def parse_address(text):
    """An ip_address without a zone (fe80::1%eth0); None if the text is not an address."""
    try:
        return ipaddress.ip_address(str(text).split("%", 1)[0].strip())
    except ValueError:
        return None


def address_problem(address, prefix=None, allow_link_local=False):
    """Why a guest's reported address is not one to connect to the guest at; None when it is.

    The one rule for the inventory's ansible_host and proxmox_guest_agent's address: only a unicast address that
    is global or private (RFC 1918, fc00::/7, the documentation ranges, or the RFC 6598 shared space) is the
    guest's. An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as the IPv4 address it carries.
    Link-local addresses only pass with allow_link_local (proxmox_guest_agent's skip_link_local=false), and
    never in IPv4-mapped form. A guest's agent says what it likes, so this is what stops it from sending
    the controller's connections to itself, to 169.254.169.254 or to everyone.
    """
    mapped = address.ipv4_mapped if address.version == 6 else None
    if mapped is not None:
        address = mapped
    if address.is_unspecified or (address.version == 4 and address in THIS_NETWORK):
        return "unspecified (this host, not an address to connect to)"
    if address.is_loopback:
        return "loopback"
    if address.is_multicast:
        return "multicast"
    if address.is_link_local and (mapped is not None or not allow_link_local):
        return "link-local"
    if address.is_reserved:
        return "reserved (the limited broadcast 255.255.255.255 or a range not assigned for use)"
    if address.version == 4 and isinstance(prefix, int) and 0 < prefix <= 30:
        network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
        if address == network.broadcast_address:
            return f"the broadcast address of {network}"
        if address == network.network_address:
            return f"the network address of {network}"
    if not (address.is_global or address.is_private or address in SHARED_ADDRESS_SPACE):
        return "neither a global nor a private unicast address"
    return None


def _prefix(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _entry(address_text, prefix):
    address = parse_address(address_text)
    if address is None:
        return None
    return {"address": str(address), "prefix": _prefix(prefix), "family": f"ipv{address.version}"}


def _note(cut, message):
    if cut is not None and message not in cut:
        cut.append(message)


def _limited(items, limit, what, cut):
    """The first `limit` of a list the guest sent; what is dropped is noted in cut (a list, or None)."""
    if not isinstance(items, list):
        return ()
    if len(items) > limit:
        _note(cut, f"{what}: more than {limit}, the first {limit} kept" if what != "interfaces"
              else f"interfaces: {len(items)} reported, the first {limit} kept")
        return items[:limit]
    return items


def _text(value, limit, what, cut):
    """A string the guest sent, cut to `limit` characters (None stays None; a mapping or list is no string)."""
    if value is None:
        return None
    text = str(value) if not isinstance(value, (dict, list)) else ""
    if len(text) > limit:
        _note(cut, f"{what} over {limit} characters cut")
        return text[:limit]
    return text


def _interface(name, hwaddr, pairs, cut):
    entries = (_entry(address, prefix) for address, prefix in pairs)
    return {"name": _text(name or "", MAX_NAME, "an interface name", cut),
            "hwaddr": _text(hwaddr, MAX_HWADDR, "a hardware address", cut),
            "addresses": [entry for entry in entries if entry]}


def normalize_agent_interfaces(result, cut=None):
    """network-get-interfaces' ``result`` in the common shape. Interfaces without ``ip-addresses`` (some
    Windows agents report adapters that way) are kept, with no addresses. At most MAX_INTERFACES interfaces
    of MAX_ADDRESSES addresses each are read; what is dropped is noted in `cut` when it is a list."""
    interfaces = []
    for iface in _limited(result, MAX_INTERFACES, "interfaces", cut):
        if not isinstance(iface, dict):
            continue
        pairs = [(item.get("ip-address"), item.get("prefix"))
                 for item in _limited(iface.get("ip-addresses"), MAX_ADDRESSES, "addresses of an interface", cut)
                 if isinstance(item, dict)]
        interfaces.append(_interface(iface.get("name"), iface.get("hardware-address"), pairs, cut))
    return interfaces


def normalize_lxc_interfaces(data, cut=None):
    """GET lxc/{vmid}/interfaces in the common shape.

    Current nodes answer ``{name, hwaddr, inet: "10.0.0.6/24", inet6: "fd00::6/64"}`` (one address per family,
    as ``ip addr`` in the container shows them); some also give an agent-style ``ip-addresses`` list, which is
    read instead when present because it holds every address. The same limits as normalize_agent_interfaces.
    """
    interfaces = []
    for iface in _limited(data, MAX_INTERFACES, "interfaces", cut):
        if not isinstance(iface, dict):
            continue
        if isinstance(iface.get("ip-addresses"), list):
            pairs = [(item.get("ip-address"), item.get("prefix"))
                     for item in _limited(iface["ip-addresses"], MAX_ADDRESSES, "addresses of an interface", cut)
                     if isinstance(item, dict)]
        else:
            pairs = []
            for key in ("inet", "inet6"):
                values = iface.get(key)
                for cidr in values if isinstance(values, list) else [values]:
                    if cidr:
                        address, _slash, prefix = str(cidr).partition("/")
                        pairs.append((address, prefix or None))
        pairs = list(_limited(pairs, MAX_ADDRESSES, "addresses of an interface", cut))
        interfaces.append(_interface(iface.get("name"), iface.get("hwaddr") or iface.get("hardware-address"),
                                     pairs, cut))
    return interfaces


def candidate_addresses(interfaces, interface=None, networks=(), family="any", skip_link_local=True):
    """The addresses of normalized interfaces that pass the filters, in the order the guest reported them:
    ``[{"interface", "address", "family", "prefix"}]``.

    The loopback interface ``lo`` and every address with an address_problem are always left out; link-local
    ones (169.254.0.0/16, fe80::/10) are kept only when skip_link_local is false. ``interface`` is a shell glob
    on the interface name (case-sensitive); ``networks`` a list of ip_network; ``family`` ipv4, ipv6 or any.
    """
    wanted_version = FAMILIES.get(family)
    found = []
    for iface in interfaces or ():
        name = iface.get("name") or ""
        if name == "lo" or (interface and not fnmatchcase(name, interface)):
            continue
        for entry in iface.get("addresses") or ():
            address = parse_address(entry.get("address"))
            if address is None or address_problem(address, entry.get("prefix"), not skip_link_local):
                continue
            if wanted_version and address.version != wanted_version:
                continue
            if networks and not any(address.version == net.version and address in net for net in networks):
                continue
            found.append({"interface": name, "address": str(address), "family": f"ipv{address.version}",
                          "prefix": entry.get("prefix")})
    return found


def agent_addresses(interfaces, interface=None, networks=(), family="ipv4", skip_link_local=True, cut=None):
    """candidate_addresses for network-get-interfaces' raw ``result`` (what proxmox_guest_agent needs), read
    within the limits of normalize_agent_interfaces (what is dropped noted in `cut`)."""
    return candidate_addresses(normalize_agent_interfaces(interfaces, cut), interface, networks, family,
                               skip_link_local)


def select_addresses(interfaces, interface=None, networks=(), preference="prefer_ipv4", skip_link_local=True):
    """Address strings of normalized interfaces in the order to try them.

    preference: ``ipv4`` or ``ipv6`` keep only that family; ``prefer_ipv4`` / ``prefer_ipv6`` keep both, the
    preferred family first (each in the guest's order); ``any`` keeps the guest's order.
    """
    if preference not in PREFERENCES:
        raise ValueError(f"address preference must be one of {', '.join(PREFERENCES)}, got {preference!r}")
    family = preference if preference in FAMILIES else "any"
    found = candidate_addresses(interfaces, interface, networks, family, skip_link_local)
    if preference.startswith("prefer_"):
        first = preference[len("prefer_"):]
        found.sort(key=lambda item: item["family"] != first)  # stable: keeps the guest's order within a family
    return [item["address"] for item in found]

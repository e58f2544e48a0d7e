"""fakepve, with what a real node does that fakepve 0.5.0 does not, added through its Python API.

Each addition names the gap it closes; tests/emulators/test_pve_gaps.py shows every gap against
plain fakepve and the fix against this class.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import re
import threading
import time
import urllib.parse
from http import HTTPStatus
from pathlib import Path

import fakepve.server as fakepve_server
from aiohttp import web
from fakepve import FakePve, PveError
from fakepve.certs import make_cert
from fakepve.model import TaskError
from fakepve.server import USER, params

from tests.emulators.interleave import Interleavings

from .access_gaps import AccessGaps
from .acl_roles import AclRoles
from .backups import BackupGaps
from .cdroms import CdromGaps
from .firewall_gaps import FirewallGaps
from .guest_gaps import GuestGaps
from .imports import ImportGaps
from .info_gaps import InfoGaps
from .locks import LockGaps
from .migration import MigrationGaps
from .state_file import save_state
from .storage_gaps import StorageGaps
from .tokens import TokenGaps

WRITE_METHODS = ("POST", "PUT", "DELETE")
LOGIN_PATH = "/api2/json/access/ticket"
HIDDEN_PASSWORD = "**********"
MAC = re.compile(r"=((?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2})(?:,|$)")
# Set on every request ProxgatePve serves: its parameters are read as a node reads them (node_params).
NODE_PARAMS = web.RequestKey("proxgate.node_params", bool)
FAKEPVE_PARAMS = fakepve_server.params


async def node_params(request):
    """fakepve's parameter reader, and on ProxgatePve's requests what a node does besides.

    Gap: fakepve reads a form with urllib's parse_qsl, which drops a blank value (``tags=``), so the
    request looks as if the key was not sent. A node keeps the key: pve-http-server's
    PVE::APIServer::AnyEvent decode_urlencoded splits ``tags=`` at '=' and stores the key with an
    undefined value, which counts as an option given (the LXC config update says 'no options specified'
    only for a request without keys). Blank values come here as ''.
    Gap: fakepve keeps a description verbatim. A node strips trailing whitespace from it whenever it
    reads a configuration (qemu-server PVE::QemuServer parse_vm_config, its description finisher;
    pve-container PVE::LXC::Config parse_pct_config), a snapshot's description included; it is stripped
    here on the way in, which every later read then shows.

    fakepve's handlers look the reader up by name at each request, so it is replaced in fakepve.server;
    a plain FakePve's requests (without NODE_PARAMS) are read as before.
    """
    values = await FAKEPVE_PARAMS(request)
    if not request.get(NODE_PARAMS):
        return values
    body = await request.read()
    if body and request.content_type not in ("application/json", "multipart/form-data"):
        for key, value in urllib.parse.parse_qsl(body.decode(), keep_blank_values=True):
            if value == "" and key not in values:
                values[key] = ""
    if isinstance(values.get("description"), str):
        values["description"] = values["description"].rstrip()
    return values


fakepve_server.params = node_params


class ProxgatePve(AclRoles, AccessGaps, TokenGaps, GuestGaps, LockGaps, MigrationGaps, CdromGaps, StorageGaps,
                  ImportGaps, BackupGaps, InfoGaps, FirewallGaps, FakePve):
    """FakePve plus: API tokens' privileges with and without privilege separation (tokens.TokenGaps), NIC MACs,
    clones to another node and used templates as a node handles them (guest_gaps.GuestGaps), config locks,
    skiplock and what a crash leaves locked (locks.LockGaps), QEMU migration
    (migration.MigrationGaps), CD-ROM drives in config updates as a node
    writes them (cdroms.CdromGaps), disk import
    and disk operations as a node does them (imports.ImportGaps), download-url, upload and templates listed as a
    node handles them (storage_gaps.StorageGaps), vzdump that writes archive volumes
    (backups.BackupGaps),
    IPSet and security group names and rule comments as a node's firewall files keep them (firewall_gaps.FirewallGaps),
    pending values in GET config, POST config's privilege checks before its task, the real agent errors
    (no agent configured, VM not running), a guest OS whose agent comes up after boot, deterministic
    dropped connections, guests without a name and LXC interfaces as a node lists them, a hung agent that
    holds the request for real seconds, and a request log file for the benchmarks."""

    def __init__(self, *args, agent_boot_secs=0.0, agent_network="10.20.0.0/16", request_log=None, **kwargs):
        super().__init__(*args, **kwargs)
        # PVE seconds from start until the guest's agent answers (a guest OS boots).
        self.agent_boot_secs = agent_boot_secs
        self.agent_network = ipaddress.ip_network(agent_network)
        # (method, path suffix) -> connections still to drop without an answer.
        self.drops = {}
        # (method, path suffix) -> [requests still to answer so after they were carried out, status].
        self.lost_answers = {}
        # Real seconds an agent with vm.agent_hangs holds the request before it answers 'got timeout';
        # None: fakepve's own 10 PVE seconds (nothing at time_scale 0).
        self.agent_hang_secs = None
        # A text file that gets "METHOD PATH" for every request, as it arrives (another process counts them).
        self.request_log = request_log
        # The ACL as PUT /access/acl leaves it: (path, type, ugid, roleid) -> propagate (1 or 0).
        self.acl_entries = {}
        # hold_nextid(): {count, waiting, event, timeout} while GET /cluster/nextid requests are held together.
        self.nextid_hold = None
        # PVE seconds a QEMU clone's task runs (its new VM locked 'clone'), so clones can overlap.
        self.clone_secs = 0
        # tests/emulators/faults.RandomFaults: a share of all requests dropped, lost after acting, or hung.
        self.random_faults = None
        # A file the node's state is written to after every write request (state_file.save_state), or None.
        self.state_file = None
        # Another client's requests, made just before one of the client under test (interleave()).
        self.interleavings = Interleavings()

    # -------------------------------------------------------------- faults

    def interleave(self, method, suffix, action):
        """The next `method` request whose path ends with `suffix` first runs action() (another client's doing)."""
        self.interleavings.add(method, suffix, action)

    def drop_next(self, method, suffix, times=1):
        """Close the connection, without an answer, on the next `times` requests whose path ends with suffix."""
        self.drops[(method, suffix)] = times

    def answer_after_next(self, method, suffix, status, times=1):
        """Carry out the next `times` requests whose path ends with suffix, then answer `status` instead of their
        reply: the node acted, and what the client gets is a proxy's error (issue #17 finding 1).

        Conformance: 596 is what pveproxy answers when a request it proxied to the node the path names failed
        while being sent or while its answer's headers were read (pve-http-server src/PVE/APIServer/AnyEvent.pm
        proxy_request passes AnyEvent::HTTP's pseudo-status and its Reason on, with no body); the request may
        have run there. 502, 503 and 504 are a reverse proxy's (nginx, HAProxy) in front of pveproxy, with its
        HTML page. A plain node never answers these after acting; the switch stages what the client sees."""
        self.lost_answers[(method, suffix)] = [times, status]

    def hold_nextid(self, count, timeout=10.0):
        """Hold the next `count` GET /cluster/nextid requests (without ?vmid) until all of them have come (or
        `timeout` real seconds have passed), then answer them: they all get the same id, as parallel callers
        on a node do between one's nextid and its create. A test facility for the create race."""
        self.nextid_hold = {"count": count, "waiting": 0, "event": None, "timeout": timeout}

    async def _nextid(self, v, user):
        hold = self.nextid_hold
        if hold is not None and v.get("vmid") in (None, ""):
            if hold["event"] is None:
                hold["event"] = asyncio.Event()
            hold["waiting"] += 1
            if hold["waiting"] >= hold["count"]:
                self.nextid_hold = None
                hold["event"].set()
            else:
                try:
                    await asyncio.wait_for(hold["event"].wait(), hold["timeout"])
                except asyncio.TimeoutError:
                    self.nextid_hold = None
        return await super()._nextid(v, user)

    def _build_app(self):
        app = super()._build_app()
        app.middlewares.insert(0, self._drop_middleware)
        return app

    @web.middleware
    async def _drop_middleware(self, request, handler):
        request[NODE_PARAMS] = True
        for key, left in list(self.drops.items()):
            if request.method == key[0] and request.path.endswith(key[1]) and left > 0:
                self.drops[key] = left - 1
                self._record(request, b"")
                request.transport.close()
                raise ConnectionResetError("proxgate test server: connection dropped")
        fault = self.random_faults.pick(request.method) if self.random_faults else None
        if fault == "hang":
            await asyncio.sleep(self.random_faults.hang_secs)
        if fault in ("drop", "hang"):
            request.transport.close()
            raise ConnectionResetError(f"proxgate test server: random fault {fault}")
        self.interleavings.run_due(request.method, request.path)
        response = await handler(request)
        if self.state_file is not None and request.method in WRITE_METHODS:
            save_state(self, self.state_file)  # before any lost answer: the node acted
        if fault == "lose":  # carried out; the answer never arrives
            request.transport.close()
            raise ConnectionResetError("proxgate test server: random fault lose")
        if fault == "status":  # carried out; a proxy's error instead of the answer
            return proxy_error(self.random_faults.status_code((596, 502, 504)))
        for (method, suffix), rule in self.lost_answers.items():
            if request.method == method and request.path.endswith(suffix) and rule[0] > 0:
                rule[0] -= 1
                return proxy_error(rule[1])
        return response

    def _record(self, request, body):
        super()._record(request, body)
        if self.request_log is not None:
            self.request_log.write(f"{request.method} {request.path}\n")
            self.request_log.flush()

    # --------------------------------------------------------------- gaps

    async def _resources(self, request):
        # Gap: a guest without a name (half-created) has no `name` field in /cluster/resources;
        # fakepve sends "name": null.
        response = await super()._resources(request)
        body = json.loads(response.text)
        if not any(isinstance(item, dict) and "name" in item and item["name"] is None for item in body["data"]):
            return response
        body["data"] = [{key: value for key, value in item.items() if not (key == "name" and value is None)}
                        for item in body["data"]]
        return web.json_response(body)

    async def _lxc_interfaces(self, user, v):
        # Gap: a node lists each interface of a running container as {name, hwaddr, inet, inet6}
        # (PVE::LXC::get_interfaces, from `ip addr` in the container); fakepve adds the agent-style
        # `hardware-address` and `ip-addresses`, which a client must not count on.
        data = await super()._lxc_interfaces(user, v)
        if data is None:
            return None
        return [{key: iface[key] for key in ("name", "hwaddr", "inet", "inet6") if key in iface} for iface in data]

    async def _qm_clone(self, v, user):
        # Gap: fakepve refuses a clone whose new id another clone is still making at the request. On a node the
        # request checks only that no config file of the id exists (qemu-server PVE::API2::Qemu clone_vm, its
        # early $load_and_check); the new config file is written in the qmclone worker, once it holds the
        # locks, after the same check again ('unable to create VM <newid>: config file already exists'). So the
        # clone that loses a race for an id still gets a task, which fails.
        newid = int(v["newid"])
        other = self.vm(newid)
        if other is not None and other.lock == "clone":
            message = f"unable to create VM {newid}: config file already exists"

            async def lost():
                raise TaskError(message)
            return await self.task(v["node"], "qmclone", v["vmid"], user, lost, lock=False,
                                   log=[f"creating a clone of VM {v['vmid']} with ID {newid}"])
        return await super()._qm_clone(v, user)

    async def ceph_io(self, vm, keys=None):
        if getattr(vm, "lock", None) == "clone" and self.clone_secs:
            await self.pause(self.clone_secs)
        await super().ceph_io(vm, keys)

    async def _qm_snapshot_list(self, v, user):
        return unordered_snapshots(await super()._qm_snapshot_list(v, user))

    async def _lxc_snapshot_list(self, user, v):
        return unordered_snapshots(await super()._lxc_snapshot_list(user, v))

    @staticmethod
    def _blank_values_unset(values):
        """A config update's blank values (``tags=``) as the deletes they amount to on a node.

        Gap: fakepve stores a blank value as ''. On a node the key arrives undefined (node_params):
        qemu-server PVE::API2::Qemu update_vm_api puts it into the pending section as it is (tags through
        PVE::GuestHelpers get_unique_tags, which makes it ''), and the config afterwards has no such key:
        PVE::QemuServer write_vm_config writes no description that is undefined, and parse_vm_config
        cannot read an empty ``tags:`` line back. pve-container's update_pct_config does the same. So
        each blank key is treated as a delete of it; the deletes fakepve already has keep their order.
        """
        blank = [key for key, value in values.items() if value == "" and key not in ("delete", "digest", "revert")]
        if not blank:
            return values
        values = {key: value for key, value in values.items() if key not in blank}
        deletes = [key for key in str(values.get("delete") or "").split(",") if key]
        values["delete"] = ",".join(deletes + [key for key in blank if key not in deletes])
        return values

    async def _apply_config(self, vm, user, p):
        await super()._apply_config(vm, user, self._blank_values_unset(p))

    async def _lxc_config_put(self, user, v):
        return await super()._lxc_config_put(user, self._blank_values_unset(v))

    def _routes_acl(self):
        # Gap: fakepve answers GET /access/acl with a made-up sample and PUT /access/acl changes nothing. A node
        # keeps each (path, user/group/token, role) with its propagate flag and lists them all (pve-access-control
        # PVE::API2::ACL read_acl and update_acl; the path as PVE::AccessControl normalize_path makes it).
        # Not modelled: that the users, groups, tokens and roles exist, and the privilege checks on the roles.
        return [("GET", "/access/acl", self._acl_read), ("PUT", "/access/acl", self._acl_update)]

    async def _acl_read(self, v, user):
        return [{"path": path, "type": kind, "ugid": ugid, "roleid": role, "propagate": propagate}
                for (path, kind, ugid, role), propagate in sorted(self.acl_entries.items())]

    async def _acl_update(self, v, user):
        members = {"user": split_items(v.get("users")), "group": split_items(v.get("groups")),
                   "token": split_items(v.get("tokens"))}
        if not any(members.values()):
            raise PveError(400, "Parameter verification failed.",
                           dict.fromkeys(("users", "groups", "tokens"),
                                         "either 'users', 'groups' or 'tokens' is required."))
        path = "/" + "/".join(part for part in str(v["path"]).split("/") if part)
        propagate = 1 if v.get("propagate") is None else int(is_true(v["propagate"]))
        for role in split_items(v.get("roles")):
            for kind, ids in members.items():
                for ugid in ids:
                    if is_true(v.get("delete")):
                        self.acl_entries.pop((path, kind, ugid, role), None)
                    else:
                        self.acl_entries[(path, kind, ugid, role)] = propagate

    async def _config_post(self, request):
        # Gap: qemu-server's update_vm_api checks the privileges each key needs before it forks the qmconfig
        # worker, so a missing one is a synchronous 403; fakepve raises it inside the task. The lock, the digest
        # and the values are checked in the worker on both.
        vm = self._vm(request)
        self._require_config_privileges(vm, request[USER], await params(request))
        return await super()._config_post(request)

    def _require_config_privileges(self, vm, user, values):
        """The privilege checks of fakepve's config update, in its order, for the keys set or deleted."""
        keys = [key for key in values if key not in ("digest", "delete", "skiplock")]
        keys += [key for key in str(values.get("delete", "") or "").split(",") if key]
        for key in keys:
            privilege = self._config_priv(key)
            if privilege == "root":
                if user != "root@pam":
                    raise PveError(403, f"only root can set '{key}' config")
            elif key.startswith("ide") and "media=cdrom" in str(values.get(key, "")):
                self.require(user, f"/vms/{vm.vmid}", "VM.Config.CDROM")
            else:
                self.require(user, f"/vms/{vm.vmid}", privilege)

    async def _config_get(self, request):
        # Gap: a node's GET config shows pending values unless ?current=1 (fakepve always shows current).
        # Gap: a node never shows the cloud-init password, only that one is set (qemu-server hides it).
        response = await super()._config_get(request)
        vm = self._vm(request)
        current_only = str(request.query.get("current", "0")) in ("1", "true")
        if (current_only or not vm.pending) and "cipassword" not in vm.config:
            return response
        config = dict(vm.config)
        for key, value in ({} if current_only else vm.pending).items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        if "cipassword" in config:
            config["cipassword"] = HIDDEN_PASSWORD
        if "memory" in config:
            config["memory"] = str(config["memory"])
        config["digest"] = vm.digest()
        return web.json_response({"data": config})

    async def _pending(self, request):
        # Gap: the pending list hides the cloud-init password too, current and pending value alike.
        response = await super()._pending(request)
        items = json.loads(response.text)["data"]
        for item in items:
            if item["key"] == "cipassword":
                for field in ("value", "pending"):
                    if item.get(field) is not None:
                        item[field] = HIDDEN_PASSWORD
        return web.json_response({"data": items})

    def _qm_new_drive(self, vmid, key, value, default):
        # Gap: a node names a new cloud-init drive's volume vm-<vmid>-cloudinit, not the next vm-<vmid>-disk-<n>.
        drive, made = super()._qm_new_drive(vmid, key, value, default)
        if not made or not str(value).split(",", maxsplit=1)[0].endswith(":cloudinit"):
            return drive, made
        storage, name = made[0].split(":", 1)
        cloudinit_name = re.sub(r"vm-(\d+)-disk-\d+", r"vm-\1-cloudinit", name)
        volumes = self.storages[storage]["volumes"]
        volumes[cloudinit_name] = volumes.pop(name)
        cloudinit_volid = f"{storage}:{cloudinit_name}"
        return drive.replace(made[0], cloudinit_volid, 1), [cloudinit_volid]

    async def _agent_call(self, match, values):
        vm = self.find(values["node"], values["vmid"])
        # Gap: a node checks, in this order, that the config has an agent and that the VM runs
        # (PVE::QemuServer::Agent::assert_agent_available); fakepve says 'agent is not running' for both.
        if vm.config.get("agent") is None:
            raise PveError(500, "No QEMU guest agent configured")
        if vm.status != "running":
            raise PveError(500, f"VM {vm.vmid} is not running")
        self._boot_guest_agent(vm)
        if vm.agent is not None and vm.agent_hangs and self.agent_hang_secs is not None:
            # A test facility, not a gap: a hung agent that keeps the request for real seconds whatever
            # time_scale is, so a client's own timeout can be tested with tasks still finishing at once.
            await asyncio.sleep(self.agent_hang_secs)
            raise PveError(500, f"VM {vm.vmid} qmp command 'guest-ping' failed - got timeout")
        return await super()._agent_call(match, values)

    def _boot_guest_agent(self, vm):
        """Model of the guest OS: a guest created through the API with `agent: 1` has an agent that answers
        once it has run agent_boot_secs, with an address derived from its vmid."""
        if vm.agent is not None or not agent_enabled(vm.config.get("agent")) or not vm.started_at:
            return
        if getattr(vm, "agent_missing", False):
            return
        if (time.time() - vm.started_at) < self.agent_boot_secs * (self.time_scale or 0):
            return
        vm.agent = {"interfaces": agent_interfaces(self.agent_network, vm.vmid, mac=nic_mac(vm.config.get("net0")))}


def unordered_snapshots(entries):
    """A snapshot list in an order a client cannot take for the age of the snapshots, 'current' last.

    Gap: fakepve lists a guest's snapshots in the order they were taken. A node lists them in the order of
    a Perl hash's keys, which is no order at all (qemu-server PVE::API2::Qemu snapshot_list and pve-container
    PVE::API2::LXC::Snapshot list both walk ``keys %$snaphash``, then push the 'current' entry). Here they come
    sorted by a hash of their name, so the same set always lists the same way.
    """
    snapshots = [entry for entry in entries if entry.get("name") != "current"]
    current = [entry for entry in entries if entry.get("name") == "current"]
    snapshots.sort(key=lambda entry: hashlib.sha1(str(entry.get("name")).encode()).hexdigest())
    return snapshots + current


def split_items(text):
    """PVE::Tools split_list: items separated by commas, semicolons or white space."""
    return [item for item in re.split(r"[\s,;]+", str(text or "")) if item]


def is_true(value):
    return str(value).lower() in ("1", "true", "on", "yes")


def agent_enabled(value):
    """True for PVE's agent option when it switches the agent on (``1``, ``enabled=1,...``)."""
    first = str(value or "0").split(",", maxsplit=1)[0]
    return first.split("=")[-1] in ("1", "true", "yes", "on")


def nic_mac(net):
    """The MAC of a NIC config value (``virtio=BC:24:11:00:01:01,bridge=vmbr0``), lower-cased as agents report it."""
    found = MAC.search(str(net or ""))
    return found.group(1).lower() if found else None


def guest_address(network, vmid):
    """A stable address for a guest inside network, derived from its vmid."""
    return str(network.network_address + 10 + int(vmid) % (network.num_addresses - 20))


def agent_interfaces(network, vmid, mac=None):
    """What qemu-guest-agent's network-get-interfaces reports for a Linux guest: lo, then eth0 with
    an IPv4 address, an IPv6 link-local and a global IPv6 address."""
    mac = mac or f"bc:24:11:{(vmid >> 16) & 255:02x}:{(vmid >> 8) & 255:02x}:{vmid & 255:02x}"
    return [
        {"name": "lo", "hardware-address": "00:00:00:00:00:00", "ip-addresses": [
            {"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8},
            {"ip-address": "::1", "ip-address-type": "ipv6", "prefix": 128}]},
        {"name": "eth0", "hardware-address": mac, "ip-addresses": [
            {"ip-address": guest_address(network, vmid), "ip-address-type": "ipv4", "prefix": network.prefixlen},
            {"ip-address": f"fe80::be24:11ff:fe00:{vmid:x}", "ip-address-type": "ipv6", "prefix": 64},
            {"ip-address": f"2001:db8::{vmid:x}", "ip-address-type": "ipv6", "prefix": 64}]},
    ]


def windows_agent_interfaces(network, vmid, mac=None, with_addresses=True):
    """What qemu-guest-agent on Windows reports: adapters named as Windows names them, a loopback pseudo
    interface, and adapters without an ``ip-addresses`` key (tunnel adapters always; every adapter while the
    network is not up yet, with_addresses=False)."""
    mac = mac or f"bc:24:11:{(vmid >> 16) & 255:02x}:{(vmid >> 8) & 255:02x}:{vmid & 255:02x}"
    ethernet = {"name": "Ethernet", "hardware-address": mac}
    loopback = {"name": "Loopback Pseudo-Interface 1", "hardware-address": "00:00:00:00:00:00"}
    if with_addresses:
        ethernet["ip-addresses"] = [
            {"ip-address": f"fe80::{vmid:x}:be24:11ff:fe00", "ip-address-type": "ipv6", "prefix": 64},
            {"ip-address": guest_address(network, vmid), "ip-address-type": "ipv4", "prefix": network.prefixlen}]
        loopback["ip-addresses"] = [
            {"ip-address": "::1", "ip-address-type": "ipv6", "prefix": 128},
            {"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]
    return [ethernet, {"name": "isatap.{4A1C2F4E-6B1D-4C1E-9D2A-0F4B3C2D1E0F}", "hardware-address": ""}, loopback]


def load_guests(pve, guests):
    """Add guests described as in fakepve's guests.json ({vmid, name, node, status, type, config, agent, pool...})."""
    for guest in guests:
        common = dict(node=guest.get("node", "pve1"), status=guest.get("status", "stopped"),
                      config=guest.get("config", {}), template=guest.get("template", False),
                      pool=guest.get("pool"))
        if guest.get("type", "qemu") == "lxc":
            pve.add_ct(guest["vmid"], guest.get("name"), ostemplate=guest.get("ostemplate"), **common)
        else:
            vm = pve.add_vm(guest["vmid"], guest.get("name"), **common)
            if vm.config.get("name") is None:
                vm.config.pop("name", None)  # a node keeps no name key for a guest created without one
            vm.agent = guest.get("agent")
            vm.agent_hangs = guest.get("agent_hangs", False)
            # A guest described as running without an agent answer has no agent in its OS (agent: 1 in the
            # config, qemu-guest-agent never installed): the boot model must not give it one.
            vm.agent_missing = vm.status == "running" and vm.agent is None
        if guest.get("pool"):
            pve.pools.setdefault(guest["pool"], set()).add(guest["vmid"])
            pve.pool_info.setdefault(guest["pool"], {"comment": None, "storage": set()})


def proxy_error(status):
    """What the client gets instead of the node's answer: pveproxy's 596 (AnyEvent::HTTP's Reason, no body), or
    a reverse proxy's HTML page."""
    if status == 596:
        return web.Response(status=596, reason="Broken pipe")
    title = f"{status} {HTTPStatus(status).phrase}"
    return web.Response(status=status, text=f"<html><head><title>{title}</title></head><body><center><h1>{title}"
                        "</h1></center><hr><center>nginx</center></body></html>", content_type="text/html")


def write_requests(pve):
    """The requests that change something: POST, PUT and DELETE, less the logins."""
    return [(method, path) for method, path, _body in pve.requests
            if method in WRITE_METHODS and path != LOGIN_PATH]


class ServedPve:
    """A ProxgatePve served over HTTPS on 127.0.0.1 from an event loop in a daemon thread."""

    def __init__(self, pki_dir, user="root@pam", password="secret", port=0, **kwargs):
        Path(pki_dir).mkdir(parents=True, exist_ok=True)
        self.certfile, self.keyfile, _der = make_cert(str(pki_dir), hosts=("127.0.0.1",))
        self.pve = ProxgatePve(user=user, password=password, host="127.0.0.1", port=port, **kwargs)
        self.pve.time_scale = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="proxgate-pve", daemon=True)
        self.thread.start()
        self.call(self.pve.start(self.certfile, self.keyfile))

    def restart(self, down_secs=1.0):
        """Stop listening for down_secs real seconds, then listen on the same port again, keeping every guest,
        volume and running task: pveproxy restarted (an upgrade, a crash), the node's state untouched."""
        async def cycle():
            await self.pve.stop()
            await asyncio.sleep(down_secs)
            await self.pve.start(self.certfile, self.keyfile)
        self.call(cycle(), timeout=down_secs + 30)

    def call(self, coroutine, timeout=30):
        """Run a coroutine (a fakepve scenario such as hold_config_lock) on the server's loop."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    @property
    def url(self):
        return self.pve.url

    def stop(self):
        try:
            self.call(self.pve.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

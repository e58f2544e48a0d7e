# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The life of one guest, the same for a QEMU VM (proxmox_vm) and an LXC container (proxmox_lxc): find it,
create or clone it, update its configuration, put it in its pool, bring it to its power state or make it a
template, remove it, and read back what it has at the end.

GuestModule does all of that; a module sets what names its kind of guest and implements the few steps
that differ (what configuration the options ask for, how it is compared and written, what a create needs).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import mask_secrets
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxError,
    api_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.config import (
    config_changes,
    effective_config,
    pending_keys,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import (
    GUEST_KINDS,
    find_guest,
    guest_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.locks import (
    STATE_LOCKS,
    UnlockRefused,
    clear_lock,
    format_age,
    read_lock,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import canonical_scalar, config_value_equal
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.tasks import ProxmoxTaskError

DNS_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
DNS_NAME = re.compile(rf"^(?=.{{1,253}}$){DNS_LABEL}(\.{DNS_LABEL})*$")
CONFIG_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")
# Creates (or clones) without a vmid that may find the id from /cluster/nextid taken by a parallel create, each
# then retried with a fresh id. pve-manager's nextid reserves nothing: callers between one's nextid and its
# create get the same id.
ALLOCATION_ATTEMPTS = 10


def id_taken(exc, vmid):
    """True when a failed create or clone says its vmid is taken: at the request ('unable to create VM 104 - VM
    104 already exists on node ...', PVE::Cluster check_vmid_unused and create_and_lock_config) or in its task
    ('unable to create VM 104: config file already exists', qemu-server's qmclone worker)."""
    if isinstance(exc, ProxmoxTaskError):
        text = str(exc.exitstatus)
    elif isinstance(exc, ProxmoxApiError):
        text = exc.message
    else:
        return False
    return "already exists" in text and re.search(rf"\b{int(vmid)}\b", text) is not None


# ------------------------------------------------------------ validation

def identity_problems(params, name_option):
    """Messages for a vmid outside PVE's range and a name (name_option) that is not a DNS name."""
    problems = []
    if params.get("vmid") is not None and not 100 <= params["vmid"] <= 999999999:
        problems.append(f"vmid must be between 100 and 999999999, got {params['vmid']}")
    name = params.get(name_option)
    if name is not None and not DNS_NAME.match(name):
        problems.append(f"{name_option} must be a DNS name (letters, digits, '-' and '.'), got {name!r}")
    return problems


def positive_problems(params, options):
    """Messages for options that must be a positive number and are not (seconds to wait: timeout_problems)."""
    return [f"{option} must be a positive number, got {params[option]}"
            for option in options if params.get(option) is not None and params[option] <= 0]


def guest_option_problems(params, name_option, positive_options):
    """Messages for what every guest module checks first, and alike: vmid and the name (identity_problems), the
    options that must be a positive number, and shutdown_timeout and timeout (seconds to wait)."""
    return (identity_problems(params, name_option) + positive_problems(params, positive_options)
            + ProxmoxModule.timeout_problems(params, "shutdown_timeout", "timeout"))


def clone_only_problems(params, options):
    """The message for options given that only a clone takes, without clone."""
    given = [option for option in options if params.get(option) is not None]
    if given and not params.get("clone"):
        return [f"{', '.join(given)} only apply with clone"]
    return []


def migrate_problems(params):
    """Messages for migrate without a node to go to, or with a state that keeps no guest."""
    if not params.get("migrate"):
        return []
    problems = []
    if not params.get("node"):
        problems.append("migrate needs node, the node to move the guest to")
    if params.get("state") == "absent":
        problems.append("migrate does not apply with state: absent")
    return problems


def owning_option(key, own_options, option_groups):
    """The option that sets a configuration key, or None when only the config option does: for a key of
    own_options the option named like it (with _ for -), else the dict option of the first (pattern, option) of
    option_groups whose pattern matches the key (net0: nets)."""
    if key in own_options:
        return key.replace("-", "_")
    return next((option for pattern, option in option_groups if pattern.match(key)), None)


def config_option_problems(config, own_options, option_groups, node_keys):
    """Messages for keys of the `config` option that are not plain configuration keys: keys an option sets
    (owning_option), keys a node sets by itself (node_keys), and values that are no single value."""
    problems = []
    for key, value in config.items():
        if not CONFIG_KEY.match(str(key)):
            problems.append(f"config key {key!r} is not a PVE configuration key name")
        elif owning_option(key, own_options, option_groups):
            problems.append(f"config.{key}: use the {owning_option(key, own_options, option_groups)} option instead")
        elif isinstance(value, (dict, list)):
            problems.append(f"config.{key} must be a single value (a string, number or boolean), "
                            f"got a {type(value).__name__}")
        elif key in node_keys:
            problems.append(f"config.{key} is set by the node, not by a caller")
    return problems


def empty_as_unset(wanted):
    """Wanted keys with an empty value as keys to remove (None): ``tags: []``, ``description: ""``.

    A node stores no empty value: a blank form value leaves the key unset (see tests/emulators/pve/server.py),
    so sending one would write on every run. A description is compared as a node reads it back, without
    trailing whitespace (specs.config_value_equal), so one that is only whitespace is empty too.
    """
    result = {}
    for key, value in wanted.items():
        if key == "description" and isinstance(value, str):
            value = value.rstrip()
        result[key] = None if isinstance(value, str) and value == "" else value
    return result


# ---------------------------------------------------------------- module

# The options of every guest module: those GuestModule reads itself (which guest, where, its state and pool, the
# clone parameters both kinds take, how it is written, stopped and removed) and the configuration a VM and a
# container have under the same name and meaning (tags, description, onboot, and config for any other key).
# A module's argument_spec is dict(GUEST_OPTIONS, <its name option>=..., <its own options>...).
GUEST_OPTIONS: dict[str, dict] = dict(
    vmid=dict(type="int"),
    rename=dict(type="bool", default=False),
    node=dict(type="str"),
    migrate=dict(type="bool", default=False),
    state=dict(type="str", default="present",
               choices=["present", "absent", "started", "stopped", "restarted", "template"]),
    clone=dict(type="str"),
    full=dict(type="bool"),
    storage=dict(type="str"),
    snapname=dict(type="str"),
    pool=dict(type="str"),
    tags=dict(type="list", elements="str"),
    description=dict(type="str"),
    onboot=dict(type="bool"),
    config=dict(type="dict"),
    update=dict(type="bool", default=True),
    force=dict(type="bool", default=False),
    shutdown_timeout=dict(type="int", default=180),
    purge=dict(type="bool", default=True),
    timeout=dict(type="int", default=600),
)
# The options of GUEST_OPTIONS that only a clone takes; a kind whose clone takes more sets its own clone_options.
GUEST_CLONE_OPTIONS = ("full", "storage", "snapname")


def put_pool(client, pool, **data):
    """PUT a pool's members: /pools/<pool>, the one call PVE 7 and 8.0 have; a nested pool (parent/child, PVE
    8.1 and later), whose id cannot be one path segment, as PUT /pools with poolid."""
    if "/" in pool:
        return client.put("/pools", poolid=pool, **data)
    return client.put(api_path("pools", pool), **data)


class GuestModule(ProxmoxModule):
    """One guest of one kind, found by vmid or by its unique name, from creation to removal.

    A module sets the class attributes below and implements ``option_problems(params)``,
    ``wanted_config(current)`` and ``write_config(...)``; the other hooks have defaults.
    """

    kind = ""  # qemu or lxc (guests.GUEST_KINDS): what messages call the guest, and its name option
    clone_options = GUEST_CLONE_OPTIONS  # options that only a clone takes
    secret_keys = ()  # configuration keys masked in the diff
    value_equal = staticmethod(config_value_equal)  # value_equal(key, desired, current)
    # staticmethod(f), f(key, wanted, current): what to send for a changed key (every module sets it)
    value_to_write: Callable[[str, Any, Any], Any]
    # node and pool go into paths (POST /nodes/<node>/<kind>, PUT /pools/<pool>); storage and snapname are
    # the clone's target storage and source snapshot, names PVE checks by the same formats.
    name_formats = {"node": "pve-node", "pool": "pve-poolid", "storage": "pve-storage-id",
                    "snapname": "pve-snapshot-name"}

    def __init__(self):
        super().__init__()
        self.result: dict[str, Any] = dict(changed=False, created=False, changed_keys=[], pending=[],
                                           reboot_required=False, tasks=self.tasks)
        self.diff: dict[str, dict[str, Any]] = {"before": {}, "after": {}}

    @property
    def noun(self) -> str:
        """What messages call one guest: VM, container."""
        return GUEST_KINDS[self.kind].noun

    @property
    def template_noun(self) -> str:
        """What the clone source may also be: template, container template."""
        return GUEST_KINDS[self.kind].template_noun

    @property
    def name_option(self) -> str:
        """The option (and config key, and result key) of the guest's name."""
        return GUEST_KINDS[self.kind].name_key

    # ---------------------------------------------------------- hooks

    @staticmethod
    def option_problems(params):
        """Messages for options PVE would refuse or the module cannot act on, each naming the option."""
        raise NotImplementedError

    def wanted_config(self, current):
        """The configuration keys the options ask for, given the guest's current ones ({} for a new guest):
        {key: value}, None meaning 'remove the key'."""
        raise NotImplementedError

    def write_config(self, guest, changes, current, payload, **params):
        """Write payload, the changed keys' values, with params (the digest and the keys to delete)."""
        raise NotImplementedError

    def check_create(self, source, wanted):
        """Refuse (self.fail) what a create, or a clone of source, cannot do, before anything is written."""

    def create_params(self):
        """Parameters of the create call that are no configuration keys."""
        return {}

    def conflicts(self, guest, wanted, current):
        """(problems, notes) for wanted values a configuration write cannot apply to the guest."""
        return [], []

    def compare(self, wanted, current):
        return config_changes(wanted, current, equal=self.value_equal, secret_keys=self.secret_keys)

    def reboot_params(self):
        """Parameters of a reboot: it shuts the guest down first, within shutdown_timeout."""
        return {"timeout": self.params["shutdown_timeout"]}

    def migration_params(self, guest, target):
        """Parameters of POST .../migrate that move the guest, as it is, to target."""
        raise NotImplementedError

    # ------------------------------------------------------------ run

    def validate(self):
        problems = self.option_problems(self.params) + migrate_problems(self.params)
        if problems:
            self.fail("; ".join(problems))

    def run(self):
        p = self.params
        guest = self.find()
        if p["state"] == "absent":
            self.remove(guest)
            return self.finish()
        if guest is None:
            guest = self.create()
            if guest is None:  # check mode: nothing to read back
                return self.finish()
        else:
            self.check_lock(guest)
            self.place(guest)
            if p["update"]:
                self.update(guest)
        self.set_pool(guest)
        self.set_power(guest)
        self.read_back(guest)
        if self.result.get("migrated") and self.check_mode:
            self.result["node"] = p["node"]
        return self.finish()

    def find(self):
        """The guest asked for, or None. A vmid that is a guest of the other kind, or a guest with another
        name than the one given (without rename), is refused before anything is written, in every state."""
        p = self.params
        name = p[self.name_option]
        if p["vmid"] is None:
            return find_guest(self.client, name=name, kind=self.kind)
        guest = find_guest(self.client, vmid=p["vmid"], kind=None)
        if guest is None:
            return None
        if guest.get("type") != self.kind:
            other = GUEST_KINDS.get(guest.get("type"))
            what, module = (other.called, other.module) if other else (f"a {guest.get('type')} guest", None)
            self.fail(f"vmid {p['vmid']} is {what} ({guest.get('name')}), not a {self.noun}"
                      + (f"; manage it with {module}" if module else ""))
        have = guest.get("name")
        if name is not None and have and have != name and not p["rename"]:
            self.fail(f"vmid {p['vmid']} is the {self.noun} {have!r}, not {name!r}; nothing was changed. To rename "
                      f"{have} to {name}, set rename: true; to manage {name}, give its own vmid or leave vmid out "
                      f"to find it by {self.name_option}")
        return guest

    def finish(self):
        if self.diff_mode:
            self.result["diff"] = self.diff
        return self.result

    def describe(self, guest, status=None):
        self.result.update(vmid=int(guest["vmid"]), **{self.name_option: guest.get("name")}, node=guest["node"],
                           status=status or guest.get("status"))

    def changed(self):
        self.result["changed"] = True

    # ---------------------------------------------------------- locks

    def check_lock(self, guest):
        """A lock no running task holds (a task that died with its node left it) fails the task, naming the
        lock, its age and the command that clears it; with unlock_stale_after (VMs), a lock at least that old
        is cleared first. A lock a running task holds is left to the task (the client waits for it)."""
        lock = guest.get("lock")
        if not lock or lock in STATE_LOCKS:
            return
        info = read_lock(self.client, self.kind, guest, lock)
        if not info.stale:
            return
        after = self.params.get("unlock_stale_after")
        what = f"{self.noun} {guest['vmid']} ({guest.get('name')}) is {info.describe()}"
        clear = f"clear it on node {info.node} with: {info.unlock_command()}"
        if after is None:
            option = (", or set unlock_stale_after: <seconds> to clear a lock at least that old"
                      if "unlock_stale_after" in self.params else "")
            self.fail(f"{what}; nothing was changed. Once you know the task will not come back, "
                      f"{clear}{option}, and run again", lock=info.as_result())
        if info.age is None or info.age < after:
            age = "unknown" if info.age is None else format_age(info.age)
            self.fail(f"{what}; its age ({age}) is not known to be over unlock_stale_after ({after} s), so it was "
                      f"not cleared and nothing was changed. If no task will come back to it, {clear}",
                      lock=info.as_result())
        try:
            clear_lock(self.client, info, user=self.params.get("api_user"), token_id=self.params.get("api_token_id"),
                       check_mode=self.check_mode)
        except UnlockRefused as exc:
            self.fail(f"{what}; {exc}", lock=info.as_result())
        self.changed()
        self.result["unlocked"] = info.as_result()
        self.diff["before"]["lock"] = lock
        self.diff["after"]["lock"] = None
        self.warn(f"{what}: {'would be' if self.check_mode else 'was'} cleared, as unlock_stale_after ({after} s) "
                  "allows")
        guest.pop("lock", None)

    # ------------------------------------------------------ migration

    def place(self, guest):
        """Bring an existing guest to the node asked for: migrate it with migrate: true, else refuse, saying
        where it is. No node asked for: it stays where it is."""
        p = self.params
        target, where = p["node"], guest["node"]
        if not target or target == where:
            return
        name = guest.get("name")
        if not p["migrate"]:
            self.fail(f"{self.noun} {guest['vmid']} ({name}) is on node {where}, not {target}; nothing was changed. "
                      f"Set migrate: true to move it to {target}, or give node: {where} (or no node) to manage it "
                      "where it is")
        data = self.migration_params(guest, target)
        self.changed()
        self.result["migrated"] = True
        self.diff["before"]["node"] = where
        self.diff["after"]["node"] = target
        if self.check_mode:
            return
        self.wait(self.client.post(guest_path(guest) + "/migrate", **data))
        self.wait_placed(guest, target)
        guest["node"] = target

    def wait_placed(self, guest, target):
        """Wait until /cluster/resources shows the guest on target (an HA migration's task ends before the
        guest has moved)."""
        deadline = time.monotonic() + self.params["timeout"]
        while True:
            found = find_guest(self.client, vmid=guest["vmid"], kind=self.kind)
            if found is not None and found.get("node") == target:
                guest["status"] = found.get("status", guest.get("status"))
                return
            if time.monotonic() >= deadline:
                where = found.get("node") if found else "no node"
                raise ProxmoxError(f"{self.noun} {guest['vmid']} is still on {where} after its migration to "
                                   f"{target} ({self.params['timeout']}s)")
            time.sleep(1)

    # --------------------------------------------------------- create

    def create(self):
        p = self.params
        wanted = empty_as_unset(self.wanted_config({}))
        source = None
        node = p["node"]
        if p["clone"]:
            source = self.clone_source()
            node = node or source["node"]
        elif not node:
            self.fail(f"node is required to create a {self.noun} (or give clone to copy one)")
        self.check_create(source, wanted)
        vmid = p["vmid"] if p["vmid"] is not None else self.next_vmid()
        create_params = {} if source else self.create_params()
        self.changed()
        self.result["created"] = True
        self.result["changed_keys"] = sorted(key for key, value in wanted.items() if value is not None)
        self.diff["before"] = {"state": "absent"}
        self.diff["after"] = mask_secrets({"state": "present", "vmid": vmid, "node": node, **create_params,
                                           **wanted}, self.secret_keys)
        if source:
            self.diff["after"]["clone"] = p["clone"]
        if self.check_mode:
            self.result.update(vmid=vmid, **{self.name_option: p[self.name_option]}, node=node,
                               status="running" if p["state"] in ("started", "restarted") else "stopped")
            return None
        payload = {key: value for key, value in wanted.items() if value is not None}
        for attempt in range(1, ALLOCATION_ATTEMPTS + 1):
            try:
                if source:
                    self.clone_from(source, vmid, node)
                else:
                    self.wait(self.client.post(api_path("nodes", node, self.kind), vmid=vmid,
                                               pool=p["pool"] or None, **create_params, **payload))
                break
            except (ProxmoxApiError, ProxmoxTaskError) as exc:
                # Only an id the module chose is chosen again; a vmid given stays what it is.
                if p["vmid"] is not None or not id_taken(exc, vmid):
                    raise
                self.result.setdefault("vmids_taken", []).append(vmid)
                if attempt == ALLOCATION_ATTEMPTS:
                    raise ProxmoxError(f"could not create the {self.noun}: the ids /cluster/nextid gave "
                                       f"({', '.join(map(str, self.result['vmids_taken']))}) were each taken by "
                                       "another create first; give vmid, or retry") from exc
                vmid = self.next_vmid()
        self.diff["after"]["vmid"] = vmid
        guest = self.find_created(vmid)
        if source:
            self.update(guest, record=False)
        return guest

    def next_vmid(self):
        """The id /cluster/nextid offers: the first free one, which a parallel create may take first."""
        return int(self.client.get("/cluster/nextid"))

    def find_created(self, vmid):
        guest = find_guest(self.client, vmid=vmid, kind=self.kind)
        if guest is None:
            raise ProxmoxError(f"{self.noun} {vmid} is not in /cluster/resources after its create task finished")
        return guest

    def clone_source(self):
        ref = self.params["clone"]
        source = find_guest(self.client, vmid=int(ref), kind=self.kind) if ref.isdigit() else \
            find_guest(self.client, name=ref, kind=self.kind)
        if source is None:
            self.fail(f"clone: no {self.noun} or {self.template_noun} {ref!r} in the cluster")
        return source

    def clone_from(self, source, vmid, node):
        p = self.params
        data = {"newid": vmid, self.name_option: p[self.name_option]}
        data.update((option, p[option]) for option in self.clone_options)
        data["pool"] = p["pool"] or None
        if node != source["node"]:
            data["target"] = node
        self.wait(self.client.post(guest_path(source) + "/clone", **data))

    # --------------------------------------------------------- update

    def update(self, guest, record=True):
        # One read gives the values with pending changes applied and the digest they go with.
        current = dict(self.client.get(guest_path(guest) + "/config") or {})
        digest = current.pop("digest", None)
        wanted = empty_as_unset(self.wanted_config(current))
        problems, notes = self.conflicts(guest, wanted, current)
        if problems:
            self.fail("; ".join(problems))
        for note in notes:
            self.warn(note)
        changes = self.compare(wanted, current)
        if not changes:
            return
        self.changed()
        self.result["changed_keys"] = sorted(changes.keys())
        if record:
            diff = changes.diff()
            self.diff["before"].update(diff["before"])
            self.diff["after"].update(diff["after"])
        if self.check_mode:
            return
        payload = {key: self.value_to_write(key, after, current.get(key))
                   for key, after in changes.after.items() if after is not None}
        deletes = [key for key, after in changes.after.items() if after is None]
        self.write_config(guest, changes, current, payload, digest=digest, delete=",".join(deletes) or None)

    def set_pool(self, guest):
        wanted = self.params["pool"]
        if wanted is None or self.result["created"]:
            return
        current = guest.get("pool") or ""
        if wanted == current:
            return
        self.changed()
        self.diff["before"]["pool"] = current
        self.diff["after"]["pool"] = wanted
        if self.check_mode:
            return
        vmid = str(guest["vmid"])
        if wanted:
            put_pool(self.client, wanted, vms=vmid, **({"allow-move": True} if current else {}))
        else:
            put_pool(self.client, current, vms=vmid, delete=True)

    # ---------------------------------------------------------- power

    def set_power(self, guest):
        p = self.params
        state = p["state"]
        status = guest.get("status")
        if self.check_mode and self.result["created"]:
            return
        if state == "started" and status != "running":
            if guest.get("template"):
                self.fail(f"{self.noun} {guest['vmid']} is a template; a template cannot be started "
                          "(clone it instead)")
            self.power(guest, "start", status, "running")
        elif state == "stopped" and status == "running":
            if p["force"]:
                self.power(guest, "stop", status, "stopped")
            else:
                self.power(guest, "shutdown", status, "stopped", timeout=p["shutdown_timeout"])
        elif state == "restarted":
            if guest.get("template"):
                self.fail(f"{self.noun} {guest['vmid']} is a template; a template cannot be restarted")
            if status == "running":
                self.power(guest, "reboot", status, "running", **self.reboot_params())
            else:
                self.power(guest, "start", status, "running")
        elif state == "template" and not guest.get("template"):
            if status == "running":
                if not p["force"]:
                    self.fail(f"{self.noun} {guest['vmid']} is running; stop it or set force: true to convert it "
                              "to a template")
                self.power(guest, "stop", status, "stopped")
            self.changed()
            self.diff["before"]["template"] = False
            self.diff["after"]["template"] = True
            if not self.check_mode:
                self.wait(self.client.post(guest_path(guest) + "/template"))

    def power(self, guest, action, before, after, **data):
        self.changed()
        self.diff["before"]["status"] = before
        self.diff["after"]["status"] = after
        guest["status"] = after
        if not self.check_mode:
            self.wait(self.client.post(guest_path(guest) + api_path("status", action), **data))

    # --------------------------------------------------------- remove

    def remove(self, guest):
        p = self.params
        if guest is None:
            self.result.update(vmid=p["vmid"], **{self.name_option: p[self.name_option]}, node=p["node"],
                               status="absent")
            return
        self.describe(guest)
        if guest.get("status") == "running":
            if not p["force"]:
                self.fail(f"{self.noun} {guest['vmid']} ({guest.get('name')}) is running; stop it first or set "
                          "force: true")
            self.power(guest, "stop", "running", "stopped")
        self.changed()
        self.diff["before"].update(state="present", vmid=int(guest["vmid"]),
                                   **{self.name_option: guest.get("name")}, node=guest["node"])
        self.diff["after"] = {"state": "absent"}
        self.result["status"] = "absent"
        if self.check_mode:
            return
        purge = {"purge": 1, "destroy-unreferenced-disks": 1} if p["purge"] else {}
        self.wait(self.client.delete(guest_path(guest), **purge))

    # ------------------------------------------------------ read back

    def read_back(self, guest):
        status = guest.get("status")
        if not (self.check_mode and self.result["changed"]):
            status = (self.client.get(guest_path(guest) + "/status/current") or {}).get("status", status)
            items = self.client.get(guest_path(guest) + "/pending") or []
            self.result["config"] = {key: canonical_scalar(value) if isinstance(value, bool) else value
                                     for key, value in effective_config(items).items()}
            self.result["pending"] = pending_keys(items)
            self.result["reboot_required"] = bool(self.result["pending"]) and status == "running"
        self.describe(guest, status=status)
        if self.result.get("config", {}).get(self.name_option):
            self.result[self.name_option] = self.result["config"][self.name_option]

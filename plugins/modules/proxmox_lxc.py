#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_lxc
short_description: Create, clone, update, start, stop, template and remove LXC containers on Proxmox VE
version_added: 0.1.0
description:
  - Manages one LXC container, found by O(vmid) or by its unique O(hostname) anywhere in the cluster.
  - Creates it from an OS template (O(ostemplate)) or clones it from another container or container
    template, updates only the configuration keys that differ (with the configuration digest, so a
    concurrent change is refused rather than overwritten), and brings it to the power state asked for.
  - Every task it starts (create, clone, power, template, removal) is waited for; a task that fails
    fails the module with its exit status and the end of its log.
  - A change that a running container only takes at its next start (for example O(features), O(nameserver),
    or the options of a mount point) is reported in RV(pending) and RV(reboot_required);
    O(state=restarted) applies it.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.proxmox.task_timeout
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  vmid:
    description:
      - The container's id. When it is absent and no container has O(hostname), the next free id is
        taken from C(/cluster/nextid).
      - Parallel creates may be offered the same id (PVE reserves none); the one whose create the node
        refuses because the id is taken, at the request or in its task, takes a fresh id and creates again
        (RV(vmids_taken)). A O(vmid) given is never replaced.
      - An id that belongs to a QEMU VM is refused (manage it with M(proxgate.core.proxmox_vm)).
    type: int
  hostname:
    description:
      - The container's host name, a DNS name (letters, digits, C(-) and C(.)); PVE lists it as the guest's name.
      - Without O(vmid), the container is found by this name, which must then be unique among the
        cluster's containers.
      - With O(vmid), the container with that id must have this host name; a different one is refused
        unless O(rename=true).
    type: str
    aliases: [name]
  rename:
    description:
      - With O(vmid) and O(hostname), rename the container with that id when its host name differs.
      - Without it, such a difference fails the task before anything is written (in every O(state)), so a
        vmid that belongs to another container is never changed or removed by mistake.
    type: bool
    default: false
  node:
    description:
      - Node to create the container on (for a clone, the node it is cloned to).
      - Required to create a container that is not a clone.
      - Without O(migrate), an existing container on another node than O(node) fails the task, saying where
        it is (before anything is written); without O(node), an existing container is managed on whatever
        node it is.
    type: str
  migrate:
    description:
      - Move an existing container that is on another node to O(node), and wait for it.
      - A running container moves by restart migration (C(restart=1)) - it is shut down within
        O(shutdown_timeout), moved and started again on O(node) - as PVE cannot migrate containers live; a
        stopped one moves offline.
      - It always reports a change when the container moves; once it is on O(node), nothing is done.
    type: bool
    default: false
  state:
    description:
      - V(present) makes sure the container exists with the configuration given; its power state is left alone.
      - V(started), V(stopped) also bring it to that power state.
      - V(restarted) reboots a running container (applying pending changes) or starts a stopped one;
        it always reports a change.
      - V(template) converts the container to a template (it must be stopped, or O(force=true), and
        have no snapshots).
      - V(absent) removes the container and its volumes (a running container needs O(force=true)).
    type: str
    choices: [present, absent, started, stopped, restarted, template]
    default: present
  ostemplate:
    description:
      - The OS template to create the container from, a volume id such as
        C(local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst) (see C(pveam available) and C(pveam download)).
      - It can come from the same play - M(proxgate.core.proxmox_storage_content) downloads or uploads the template
        and returns its volume id as C(volume.volid).
      - Required to create a container that is not a clone; not used for an existing container.
    type: str
  clone:
    description:
      - Host name or vmid of the container or container template to clone when the container does not exist yet.
      - The configuration options given are applied to the clone afterwards.
    type: str
  full:
    description:
      - Make a full copy of the volumes when cloning. The default is PVE's own choice, a linked clone
        from a template and a full clone from a container.
      - A linked clone needs a template source; a full clone of a running container needs O(snapname).
    type: bool
  storage:
    description: Storage for the volumes of a full clone (default, the source's storage).
    type: str
  snapname:
    description: Snapshot of the source to clone from.
    type: str
  cores:
    description: CPU cores the container may use (default, all of the node's).
    type: int
  memory:
    description: Memory in MiB (at least 16).
    type: int
  swap:
    description: Swap in MiB.
    type: int
  rootfs:
    description:
      - The root file system, a PVE mount point string. A new volume is C(STORAGE:SIZE_IN_GiB) with
        options, such as C(local-lvm:8) or C(local-lvm:8,mountoptions=noatime).
      - Without it, PVE creates a 4 GiB volume on the storage C(local).
      - For an existing container, only the options are compared and updated; its volume and size are kept
        (a different size is only warned about; grow a volume with C(PUT /nodes/{node}/lxc/{vmid}/resize),
        for example through M(proxgate.core.proxmox_api)).
    type: str
  mounts:
    description:
      - Mount points by key (C(mp0), C(mp1)...), each a PVE mount point string with the path inside the
        container, such as C(local-lvm:16,mp=/srv/data,backup=1).
      - As for O(rootfs), a new volume is C(STORAGE:SIZE_IN_GiB); an existing one keeps its volume and size.
      - Bind mounts of host paths (C(/mnt/share,mp=/share)) are allowed to C(root@pam) only.
      - A key set to V(null) detaches that mount point; PVE keeps its volume as an C(unusedN) entry.
    type: dict
  nets:
    description:
      - Network devices by key (C(net0), C(net1)...), each a PVE property string with the interface's name
        inside the container, such as C(name=eth0,bridge=vmbr0,ip=dhcp) or
        C(name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,firewall=1).
      - Without C(hwaddr), the node picks a MAC address when the device is created, and the existing one
        is kept when the device is updated; the MAC is then not compared.
      - A key set to V(null) removes that device.
    type: dict
  features:
    description:
      - Feature flags by name (see the examples), written as PVE's C(features) option (C(keyctl=1,nesting=1)).
        Known flags are C(nesting), C(keyctl), C(fuse), C(mknod), C(force_rw_sys) (booleans) and C(mount)
        (a list of file system types, such as V([nfs, cifs])).
      - The dict given replaces the container's flags; a flag left out is off. V({}) switches them all off.
      - PVE lets only C(root@pam) (logged in with its password; an API token of root is not enough) change
        the flags of a privileged container, and any flag but C(nesting) of an unprivileged one.
        Other users may change C(nesting) of an unprivileged container with C(VM.Allocate).
    type: dict
  unprivileged:
    description:
      - Run the container unprivileged (its root user mapped to an unprivileged user on the host).
      - Only set when the container is created; a new container is unprivileged unless this is V(false).
        PVE cannot change it on an existing container, so a different value for one is refused
        (back it up and restore it with the other setting instead).
      - A privileged container needs C(Sys.Modify) on C(/) to create.
    type: bool
  onboot:
    description: Start the container when its node boots.
    type: bool
  tags:
    description:
      - Tags of the container (stored lower-cased and sorted by PVE); the list given replaces its tags.
      - An empty list removes them (no call is made when the container has none).
    type: list
    elements: str
  pool:
    description:
      - Resource pool the container belongs to. An existing container is moved into it.
      - An empty string takes the container out of its pool.
    type: str
  description:
    description:
      - Notes shown in the container's summary.
      - Compared as PVE reads them back, without trailing whitespace (which PVE drops); an empty string
        removes them.
    type: str
  nameserver:
    description: DNS servers of the container, separated by spaces (default, the host's).
    type: str
  searchdomain:
    description: DNS search domains of the container, separated by spaces (default, the host's).
    type: str
  ostype:
    description:
      - The OS type, which selects PVE's setup scripts. PVE detects it from the template; set it only to
        override that.
    type: str
    choices: [debian, devuan, ubuntu, centos, fedora, opensuse, archlinux, alpine, gentoo, nixos, unmanaged]
  password:
    description:
      - Password of the container's root user, at least 5 characters.
      - Only set when the container is created from O(ostemplate). PVE does not keep it in the
        configuration, so it cannot be read back; it is never compared and a different value for an
        existing container changes nothing (change it inside the container instead).
    type: str
  ssh_public_keys:
    description:
      - SSH public keys for the container's root user, one per line (OpenSSH format).
      - Only set when the container is created from O(ostemplate); like O(password), they are not part
        of the configuration and are not compared afterwards.
    type: str
  config:
    description:
      - Any other configuration keys, as the API names them (for example C(startup), C(protection),
        C(timezone), C(cpulimit), C(tty)).
      - A key set to V(null) is removed from the configuration.
      - A key that also has its own option here (such as C(memory), C(net0) or C(mp0)) is refused; use the option.
    type: dict
  update:
    description: Change the configuration of an existing container to match the options; V(false) only creates.
    type: bool
    default: true
  force:
    description:
      - With O(state=stopped), stop the container at once instead of a clean shutdown.
      - With O(state=absent) or O(state=template), stop a running container first instead of failing.
    type: bool
    default: false
  shutdown_timeout:
    description: Seconds a clean shutdown (and the shutdown part of a reboot) may take before PVE gives up.
    type: int
    default: 180
  purge:
    description:
      - With O(state=absent), also remove the container from backup jobs, replication and HA, and its
        unreferenced volumes.
    type: bool
    default: true
notes:
  - Needs C(VM.Allocate) on the container (or its pool) to create or remove it, C(Datastore.AllocateSpace)
    on the storages of new volumes, C(Datastore.Audit) (or C(Datastore.AllocateSpace)) on the storage of
    the OS template, C(VM.Clone) on a clone source, C(VM.Config.*) (C(Disk), C(CPU), C(Memory),
    C(Network), C(Options)) to change it, C(VM.PowerMgmt) to start or stop it, and, on PVE 8 and later,
    C(SDN.Use) on C(/sdn/zones/localnetwork/BRIDGE) for each bridge its NICs use.
  - PVE changes a running container's memory, swap, cores, NICs, host name, tags and description at once;
    other keys wait in the pending configuration until it restarts (see RV(pending)).
  - A config lock that no running task holds (the C(create) lock left by a create that died with its node, for
    example) fails the task, naming the lock, its age (from the newest task on the container in the node's
    task list) and the command that clears it, C(pct unlock <vmid>) on the node. The module does not clear
    it, as PVE has no API call for it (the container config update always checks the lock). C(mounted) (from
    C(pct mount)) is no stale lock.
seealso:
  - module: proxgate.core.proxmox_vm
  - module: proxgate.core.proxmox_storage_content
  - module: proxgate.core.proxmox_snapshot
  - module: proxgate.core.proxmox_api
"""

EXAMPLES = r"""
- name: Move dns01 to pve2 (restart migration while it runs)
  proxgate.core.proxmox_lxc:
    hostname: dns01
    node: pve2
    migrate: true

- name: A Debian container with a data volume, running
  proxgate.core.proxmox_lxc:
    api_url: https://pve1.example.com:8006
    api_token_id: automation@pve!ansible
    api_token_secret: "{{ vault_pve_token_secret }}"
    node: pve1
    hostname: dns02
    ostemplate: local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst
    password: "{{ vault_ct_root_password }}"
    ssh_public_keys: "{{ lookup('ansible.builtin.file', 'files/admin.pub') }}"
    cores: 2
    memory: 1024
    swap: 512
    rootfs: local-lvm:8
    mounts:
      mp0: local-lvm:16,mp=/srv/data,backup=1
    nets:
      net0: name=eth0,bridge=vmbr0,ip=10.0.0.53/24,gw=10.0.0.1,firewall=1
    features:
      nesting: true
    nameserver: 10.0.0.1
    tags: [dns, production]
    onboot: true
    state: started

- name: Clone a container template (auth from PROXMOX_* environment variables)
  proxgate.core.proxmox_lxc:
    hostname: app03
    clone: debian-13-ct-template
    full: true
    storage: local-lvm
    node: pve2
    memory: 2048
    state: started

- name: Switch on keyctl; a running container takes it at its next start
  proxgate.core.proxmox_lxc:
    hostname: dns02
    features:
      nesting: true
      keyctl: true
  register: dns02

- name: Restart to apply it
  proxgate.core.proxmox_lxc:
    hostname: dns02
    state: restarted
  when: dns02.reboot_required

- name: Remove a container, stopping it first
  proxgate.core.proxmox_lxc:
    hostname: app03
    state: absent
    force: true
"""

RETURN = r"""
vmid:
  description: The container's id.
  returned: always
  type: int
  sample: 201
hostname:
  description: The container's host name.
  returned: always
  type: str
  sample: dns02
node:
  description: The node the container is on.
  returned: always
  type: str
  sample: pve1
status:
  description: The container's power state at the end (V(absent) once removed; in check mode, the state it would have).
  returned: always
  type: str
  sample: running
created:
  description: Whether the container was created (or cloned) by this run.
  returned: always
  type: bool
  sample: true
migrated:
  description: Whether the container was (or in check mode would be) migrated to O(node) by this run.
  returned: when O(node) differs from the container's node and O(migrate=true)
  type: bool
  sample: true
vmids_taken:
  description:
    - Ids C(/cluster/nextid) offered that a parallel create took first; the container was created again with a
      fresh id each time (up to 10 tries). Only when no O(vmid) was given.
  returned: when an id was taken
  type: list
  elements: int
  sample: [104]
changed_keys:
  description: Configuration keys that were (or in check mode would be) written.
  returned: always
  type: list
  elements: str
  sample: [features, memory]
pending:
  description: Configuration keys whose new value waits for the container's next start.
  returned: always
  type: list
  elements: str
  sample: [features]
reboot_required:
  description: Whether there are pending changes that only a restart applies.
  returned: always
  type: bool
  sample: false
config:
  description: The container's configuration at the end, pending values included (not read in check mode
    when something would change).
  returned: when the container exists
  type: dict
  sample: {hostname: dns02, memory: 1024, features: "keyctl=1,nesting=1", rootfs: "local-lvm:vm-201-disk-0,size=8G"}
tasks:
  description: The UPIDs of the tasks the module started and waited for.
  returned: always
  type: list
  elements: str
  sample: ["UPID:pve1:0001A2B3:00C4D5E6:6740F0A1:vzcreate:201:root@pam:"]
"""

import re

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.config import (
    LXC_MOUNT_KEY,
    LXC_MP_KEY,
    lxc_feature_problems,
    lxc_features_value,
    lxc_mount_conflicts,
    lxc_value_equal,
    lxc_value_to_write,
    options_config,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.lifecycle import (
    GUEST_CLONE_OPTIONS,
    GUEST_OPTIONS,
    GuestModule,
    clone_only_problems,
    config_option_problems,
    guest_option_problems,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import (
    NET_KEY,
    canonical_scalar,
    parse_props,
    storage_id_problem,
)

OSTEMPLATE = re.compile(r"^([^:\s/]+:vztmpl/\S+|/\S+)$")
# Options that are config keys under the same name.
PLAIN_KEYS = ("cores", "memory", "swap", "hostname", "ostype", "nameserver", "searchdomain", "description",
              "onboot", "rootfs")
# Parameters of the create call that are not configuration keys.
CREATE_KEYS = ("ostemplate", "password", "ssh-public-keys", "unprivileged", "pool", "storage", "vmid", "node")
# Keys the config option refuses: an option sets them (named the same, but with _ for -), or a dict option
# (pattern, option) does.
OWN_OPTIONS = (*PLAIN_KEYS, "tags", "features", *CREATE_KEYS)
OPTION_GROUPS = ((NET_KEY, "nets"), (LXC_MP_KEY, "mounts"))
# Keys a node changes or sets by itself; they are never compared.
NODE_KEYS = ("digest", "lock", "parent", "template", "snaptime", "arch")
SECRET_KEYS = ("password",)
MIN_MEMORY = 16
MIN_PASSWORD = 5


def desired_config(params):
    """The configuration keys the options ask for: {key: value}, None meaning 'remove the key'."""
    wanted = options_config(params, (*PLAIN_KEYS, "tags"), ("nets", "mounts", "config"))
    if params.get("features") is not None:
        wanted["features"] = lxc_features_value(params["features"])
    return wanted


def option_problems(p):
    """Messages for options PVE would refuse or this module cannot act on, each naming the option."""
    problems = guest_option_problems(p, "hostname", ("cores",))
    if p.get("memory") is not None and p["memory"] < MIN_MEMORY:
        problems.append(f"memory must be at least {MIN_MEMORY} (MiB), got {p['memory']}")
    if p.get("swap") is not None and p["swap"] < 0:
        problems.append(f"swap must be 0 or more (MiB), got {p['swap']}")
    if p.get("rootfs") is not None and not p["rootfs"].strip():
        problems.append("rootfs must be a mount point string such as local-lvm:8")
    if p.get("ostemplate") is not None and not OSTEMPLATE.match(p["ostemplate"]):
        problems.append("ostemplate must be a template volume such as "
                        f"local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst, got {p['ostemplate']!r}")
    if p.get("password") is not None and len(p["password"]) < MIN_PASSWORD:
        problems.append(f"password must be at least {MIN_PASSWORD} characters long")
    problems.extend(group_problems("nets", p.get("nets"), NET_KEY, "net0, net1, ...", "name",
                                   "the interface name inside the container, such as name=eth0"))
    problems.extend(group_problems("mounts", p.get("mounts"), LXC_MP_KEY, "mp0, mp1, ...", "mp",
                                   "the path inside the container, such as mp=/srv/data"))
    problems.extend(lxc_feature_problems(p.get("features")))
    # A full clone's volumes are projected onto it as STORAGE:volume (projected_clone_config) before the clone.
    storage_problem = storage_id_problem("storage", p.get("storage"))
    if storage_problem:
        problems.append(storage_problem)
    problems.extend(config_option_problems(p.get("config") or {}, OWN_OPTIONS, OPTION_GROUPS, NODE_KEYS))
    problems.extend(clone_only_problems(p, GUEST_CLONE_OPTIONS))
    create_only = [option for option in ("password", "ssh_public_keys") if p.get(option) is not None]
    if create_only and p.get("clone"):
        problems.append(f"{', '.join(create_only)} only apply when creating from ostemplate; a clone keeps "
                        "its source's")
    return problems


def group_problems(option, values, key_pattern, keys, required, what):
    """Messages for a nets or mounts dict: its keys, and the property each value must set."""
    problems = []
    for key, value in (values or {}).items():
        if not key_pattern.match(str(key)):
            problems.append(f"{option} keys must be {keys}; got {key!r}")
        elif value is None:
            continue
        elif not isinstance(value, str):
            problems.append(f"{option}.{key} must be a property string, got a {type(value).__name__}")
        elif required not in parse_props(value):
            problems.append(f"{option}.{key} must set {required}=, {what}")
    return problems


def is_unprivileged(config):
    """Whether a container configuration is unprivileged (the key is absent on a privileged one)."""
    return canonical_scalar(config.get("unprivileged", 0)).lower() in ("1", "true", "on", "yes")


def unprivileged_problem(wanted, config, what):
    """The message for an unprivileged value that differs from a container's (or clone source's), or None."""
    if wanted is None or wanted == is_unprivileged(config):
        return None
    have = "unprivileged" if is_unprivileged(config) else "privileged"
    return (f"unprivileged: {what} is {have}; PVE cannot change this on an existing container "
            "(back it up and restore it with the other setting, or create a new one)")


def projected_clone_config(source_config, storage):
    """The source's configuration as a full clone to `storage` would have it: its volumes on that storage."""
    projected = dict(source_config)
    if storage:
        for key, value in source_config.items():
            if LXC_MOUNT_KEY.match(key) and ":" in str(value).split(",", maxsplit=1)[0]:
                projected[key] = f"{storage}:{str(value).split(':', 1)[1]}"
    return projected


class ProxmoxLxc(GuestModule):
    argument_spec = dict(
        GUEST_OPTIONS,
        hostname=dict(type="str", aliases=["name"]),
        ostemplate=dict(type="str"),
        cores=dict(type="int"),
        memory=dict(type="int"),
        swap=dict(type="int"),
        rootfs=dict(type="str"),
        mounts=dict(type="dict"),
        nets=dict(type="dict"),
        features=dict(type="dict"),
        unprivileged=dict(type="bool"),
        nameserver=dict(type="str"),
        searchdomain=dict(type="str"),
        ostype=dict(type="str", choices=["debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux",
                                         "alpine", "gentoo", "nixos", "unmanaged"]),
        password=dict(type="str", no_log=True),
        ssh_public_keys=dict(type="str", no_log=False),
    )
    module_kwargs = dict(required_one_of=[("vmid", "hostname")], mutually_exclusive=[("clone", "ostemplate")])

    kind = "lxc"
    secret_keys = SECRET_KEYS
    value_equal = staticmethod(lxc_value_equal)
    value_to_write = staticmethod(lxc_value_to_write)
    option_problems = staticmethod(option_problems)

    def wanted_config(self, current):
        return desired_config(self.params)

    def check_create(self, source, wanted):
        p = self.params
        if source:
            self.check_clone(source, wanted)
            return
        if not p["ostemplate"]:
            self.fail("ostemplate is required to create a container, such as "
                      "local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst (or give clone to copy one)")
        if p["mounts"] and not p["rootfs"]:
            self.fail("rootfs is required when mounts are given to a new container (for example local-lvm:8)")

    def check_clone(self, source, wanted):
        """What the clone would refuse afterwards, checked on its source before anything is written."""
        config = self.client.get(guest_path(source) + "/config") or {}
        problem = unprivileged_problem(self.params["unprivileged"], config, f"the clone source {self.params['clone']}")
        problems = [problem] if problem else []
        problems.extend(lxc_mount_conflicts(wanted, projected_clone_config(config, self.params["storage"]))[0])
        if problems:
            self.fail("; ".join(problems))

    def create_params(self):
        """The create call's own parameters; a new container is unprivileged unless asked otherwise."""
        p = self.params
        unprivileged = True if p["unprivileged"] is None else p["unprivileged"]
        data = {"ostemplate": p["ostemplate"], "unprivileged": unprivileged}
        if p["password"] is not None:
            data["password"] = p["password"]
        if p["ssh_public_keys"]:
            data["ssh-public-keys"] = p["ssh_public_keys"]
        return data

    def conflicts(self, guest, wanted, current):
        problems, notes = lxc_mount_conflicts(wanted, current)
        problem = unprivileged_problem(self.params["unprivileged"], current, f"container {guest['vmid']}")
        if problem:
            problems.insert(0, problem)
        return problems, notes

    def write_config(self, guest, changes, current, payload, **params):
        self.wait(self.client.put(guest_path(guest) + "/config", **params, **payload))

    def migration_params(self, guest, target):
        """A running container moves by restart migration (shut down within shutdown_timeout, started again on
        the target): PVE has no live migration of containers."""
        data = {"target": target}
        if guest.get("status") == "running":
            data.update(restart=True, timeout=self.params["shutdown_timeout"])
        return data


def main():
    ProxmoxLxc().execute()


if __name__ == "__main__":
    main()

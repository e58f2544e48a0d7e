#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_vm
short_description: Create, clone, update, start, stop, template and remove QEMU VMs on Proxmox VE
version_added: 0.1.0
description:
  - Manages one QEMU virtual machine, found by O(vmid) or by its unique O(name) anywhere in the cluster.
  - Creates it from parameters or clones it from another VM or template, updates only the configuration
    keys that differ (respecting pending changes and the configuration digest), and brings it to the
    power state asked for.
  - Every task it starts (create, clone, configuration, power, removal) is waited for; a task that fails
    fails the module with its exit status and the end of its log.
  - A configuration change that a running VM only takes at its next start is reported in
    RV(pending) and RV(reboot_required); O(state=restarted) applies it.
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
      - The VM's id. When it is absent and no VM has O(name), the next free id is taken from
        C(/cluster/nextid).
      - Parallel creates may be offered the same id (PVE reserves none); the one whose create the node
        refuses because the id is taken, at the request or in its task, takes a fresh id and creates again
        (RV(vmids_taken)). A O(vmid) given is never replaced.
      - An id that belongs to an LXC container is refused (manage it with M(proxgate.core.proxmox_lxc)).
    type: int
  name:
    description:
      - The VM's name, a DNS name (letters, digits, C(-) and C(.)).
      - Without O(vmid), the VM is found by this name, which must then be unique in the cluster.
      - With O(vmid), the VM with that id must have this name; a different one is refused unless
        O(rename=true).
    type: str
  rename:
    description:
      - With O(vmid) and O(name), rename the VM with that id when its name differs.
      - Without it, such a difference fails the task before anything is written (in every O(state)), so a
        vmid that belongs to another VM is never changed or removed by mistake.
    type: bool
    default: false
  node:
    description:
      - Node to create the VM on (for a clone, the node it is cloned to).
      - Required to create a VM that is not a clone.
      - Without O(migrate), an existing VM on another node than O(node) fails the task, saying where it is
        (before anything is written); without O(node), an existing VM is managed on whatever node it is.
    type: str
  migrate:
    description:
      - Move an existing VM that is on another node to O(node), and wait for it.
      - A running VM migrates online (live), with its disks on local storage (C(with-local-disks)) when it has
        any; a stopped one offline. The node's own check (C(GET .../migrate)) must list O(node) as allowed.
      - It always reports a change when the VM moves; once it is on O(node), nothing is done.
    type: bool
    default: false
  state:
    description:
      - V(present) makes sure the VM exists with the configuration given; its power state is left alone.
      - V(started), V(stopped) also bring it to that power state.
      - V(restarted) reboots a running VM (applying pending changes) or starts a stopped one;
        it always reports a change.
      - V(template) converts the VM to a template (it must be stopped, or O(force=true)).
      - V(absent) removes the VM and its disks (a running VM needs O(force=true)).
    type: str
    choices: [present, absent, started, stopped, restarted, template]
    default: present
  clone:
    description:
      - Name or vmid of the VM or template to clone when the VM does not exist yet.
      - The configuration options given are applied to the clone afterwards.
    type: str
  full:
    description:
      - Make a full copy of the disks when cloning. The default is PVE's own choice, a linked clone
        from a template and a full clone from a VM.
      - A linked clone needs a template source.
    type: bool
  storage:
    description: Storage for the disks of a full clone (default, the source's storage).
    type: str
  format:
    description: Disk format of a full clone on a file-based storage.
    type: str
    choices: [raw, qcow2, vmdk]
  snapname:
    description: Snapshot of the source to clone from.
    type: str
  cores:
    description: CPU cores per socket.
    type: int
  sockets:
    description: CPU sockets.
    type: int
  memory:
    description: Memory in MiB.
    type: int
  cpu:
    description: CPU type, as PVE's C(cpu) option (for example C(host) or C(x86-64-v2-AES)).
    type: str
  machine:
    description: QEMU machine type (for example C(q35)).
    type: str
  bios:
    description: Firmware.
    type: str
    choices: [seabios, ovmf]
  ostype:
    description: Guest OS type (V(l26) for Linux 2.6+, V(win11) for Windows 11/2022/2025...).
    type: str
    choices: [other, wxp, w2k, w2k3, w2k8, wvista, win7, win8, win10, win11, l24, l26, solaris]
  scsihw:
    description: SCSI controller model.
    type: str
    choices: [lsi, lsi53c810, virtio-scsi-pci, virtio-scsi-single, megasas, pvscsi]
  nets:
    description:
      - Network devices by key (C(net0), C(net1)...), each a PVE property string such as
        C(virtio,bridge=vmbr0,firewall=1).
      - Without a MAC address, the node picks one when the device is created, and the existing MAC is
        kept when the device is updated; the MAC is then not compared.
      - A key set to V(null) removes that device.
    type: dict
  disks:
    description:
      - Disks by key (C(scsi0), C(virtio1), C(sata0), C(ide2), C(efidisk0)...), each a PVE property string.
      - The keys are the drive slots a VM has - C(ide0) to C(ide3), C(sata0) to C(sata5), C(scsi0) to C(scsi30),
        C(virtio0) to C(virtio15), C(efidisk0) and C(tpmstate0); another key is refused before anything is written.
      - A new disk is C(STORAGE:SIZE_IN_GiB) with options, such as C(local-lvm:32,discard=on,iothread=1).
      - For an existing disk, only the options are compared and updated; its volume and size are
        kept. Growing, moving and importing disks is the job of M(proxgate.core.proxmox_disk).
      - A CD-ROM drive (C(media=cdrom)) is the exception, which takes the ISO given, such as
        C(local:iso/debian-13.iso,media=cdrom), or none (C(none,media=cdrom)); see O(cdrom) for C(ide2).
    type: dict
  cdrom:
    description:
      - What is in the VM's C(ide2) CD-ROM drive, as PVE's C(cdrom) option (an alias of C(ide2)) - an ISO
        volume such as V(local:iso/debian-13.iso), V(none) for an empty drive (the ISO ejected), or V(cdrom)
        for the host's physical drive. A drive without one is added.
      - Written as C(ide2=VALUE,media=cdrom) and compared by the ISO alone (the size a node adds is not
        compared), so inserting, swapping and ejecting converge. On a running VM the change applies at once.
      - To remove the drive itself, set C(ide2) to V(null) in O(disks).
      - Refused when C(ide2) holds a disk or the cloud-init drive, or together with C(ide2) in O(disks).
    type: str
  tags:
    description:
      - Tags of the VM (stored lower-cased and sorted by PVE); the list given replaces the VM's tags.
      - An empty list removes them (no call is made when the VM has none).
    type: list
    elements: str
  pool:
    description:
      - Resource pool the VM belongs to. An existing VM is moved into it.
      - An empty string takes the VM out of its pool.
    type: str
  description:
    description:
      - Notes shown in the VM's summary.
      - Compared as PVE reads them back, without trailing whitespace (which PVE drops); an empty string
        removes them.
    type: str
  onboot:
    description: Start the VM when its node boots.
    type: bool
  agent:
    description:
      - The QEMU guest agent device (the agent itself must run in the guest).
      - A boolean switches it on or off, or a property string as PVE's C(agent) option takes it sets
        fields of it, such as C(enabled=1,fstrim_cloned_disks=1) or C(type=isa).
      - Only the fields given are compared and written; the VM's other agent fields keep their values
        (V(true) on a VM with C(enabled=1,fstrim_cloned_disks=1) changes nothing). A field the VM's
        value leaves out counts as PVE's default, so V(false) on a VM without an agent changes nothing.
    type: raw
  config:
    description:
      - Any other configuration keys, as the API names them (for example C(balloon), C(numa),
        C(serial0), C(vga), C(boot), C(hotplug)).
      - A key set to V(null) is removed from the configuration.
      - A key that also has its own option here (such as C(memory)) is refused; use the option.
    type: dict
  ciuser:
    description: Cloud-init user name to create in the guest (the image's default user if not set).
    type: str
  cipassword:
    description:
      - Cloud-init password of O(ciuser). A node never shows it back (only that one is set), so it is
        written as O(update_password) says.
    type: str
  update_password:
    description:
      - V(on_create) sets O(cipassword) only when the VM has none yet, so runs stay idempotent.
      - V(always) writes it on every run and reports a change each time.
    type: str
    choices: [always, on_create]
    default: on_create
  sshkeys:
    description:
      - Public SSH keys cloud-init installs for O(ciuser), one key per item.
      - They are URL-encoded as PVE expects (C(%20) for spaces, C(%0A) between keys); compared as a set.
    type: list
    elements: str
  ipconfig:
    description:
      - Cloud-init network settings by key (C(ipconfig0) for C(net0), ...), each like
        C(ip=10.0.0.5/24,gw=10.0.0.1), C(ip=dhcp) or C(ip6=auto).
    type: dict
  nameserver:
    description: DNS servers cloud-init configures, separated by spaces.
    type: str
  searchdomain:
    description: DNS search domain cloud-init configures.
    type: str
  citype:
    description: Cloud-init configuration format (PVE picks V(nocloud) for Linux, V(configdrive2) for Windows).
    type: str
    choices: [configdrive2, nocloud, opennebula]
  cicustom:
    description:
      - Custom cloud-init files from a snippets storage, such as C(user=local:snippets/user.yaml).
    type: str
  ciupgrade:
    description: Whether cloud-init upgrades the guest's packages on first boot.
    type: bool
  cloudinit_storage:
    description:
      - Storage to create the cloud-init drive on, when the VM has none.
      - Without it, cloud-init options on a VM without a cloud-init drive only give a warning.
    type: str
  cloudinit_drive:
    description:
      - Drive key of the cloud-init drive created with O(cloudinit_storage), an IDE, SATA or SCSI slot
        (C(ide0) to C(ide3), C(sata0) to C(sata5), C(scsi0) to C(scsi30)).
    type: str
    default: ide2
  update:
    description: Change the configuration of an existing VM to match the options; V(false) only creates.
    type: bool
    default: true
  force:
    description:
      - With O(state=stopped), stop the VM at once (like pulling the plug) instead of an ACPI shutdown.
      - With O(state=absent) or O(state=template), stop a running VM first instead of failing.
    type: bool
    default: false
  shutdown_timeout:
    description: Seconds an ACPI shutdown (for O(state=stopped) and the reboot of O(state=restarted)) may take
      before the task gives up.
    type: int
    default: 180
  purge:
    description:
      - With O(state=absent), also remove the VM from backup jobs, replication and HA, and its
        unreferenced disks.
    type: bool
    default: true
  unlock_stale_after:
    description:
      - Clear a config lock that no running task holds, when it is at least this many seconds old, then go
        on (as C(qm unlock) does). Such a lock is what a task that died with its node leaves, most often
        the C(create) lock of a create cut short by a crash, and it makes every later change fail.
      - The age is that of the newest task on the VM in the node's task list (the one that took the lock),
        counted on the controller's clock. A lock without such a task has no known age and is never cleared.
      - Not set, a stale lock fails the task, naming the lock, its age, the task that took it and the
        command that clears it. A lock a running task holds is never cleared (the module waits as for any
        lock). C(suspended) (a hibernated VM) is no stale lock.
      - PVE clears a lock through the API only for V(root@pam) logged in with its password (C(skiplock));
        with an API token the task fails saying to run C(qm unlock) on the node.
    type: int
notes:
  - Needs C(VM.Allocate) on the VM (or its pool) to create it, C(VM.Clone) on a clone source,
    C(VM.Config.*) to change it (C(VM.Config.Cloudinit) for the cloud-init options), C(VM.PowerMgmt) to
    start or stop it, and C(Datastore.AllocateSpace) on the storage of new disks.
  - A change to the cloud-init options regenerates the cloud-init drive (C(PUT .../cloudinit)); a
    running VM applies it at its next boot.
  - An option set to PVE's default (O(cores=1), O(sockets=1), O(cpu=kvm64), O(onboot=false), O(scsihw=lsi),
    O(ostype=other), O(bios=seabios)) on a VM whose configuration lacks that key is no change; PVE reads
    the missing key as that value.
  - The size of an C(efidisk0) or C(tpmstate0) is not compared; PVE gives them the size their type needs.
seealso:
  - module: proxgate.core.proxmox_vm_info
  - module: proxgate.core.proxmox_guest_agent
  - module: proxgate.core.proxmox_snapshot
"""

EXAMPLES = r"""
- name: A Debian VM with a 32 GiB disk on pve1, running
  proxgate.core.proxmox_vm:
    api_url: https://pve1.example.com:8006
    api_token_id: automation@pve!ansible
    api_token_secret: "{{ vault_pve_token_secret }}"
    node: pve1
    name: web01
    cores: 2
    memory: 2048
    ostype: l26
    scsihw: virtio-scsi-single
    agent: true
    disks:
      scsi0: local-lvm:32,discard=on,iothread=1
    nets:
      net0: virtio,bridge=vmbr0,firewall=1
    tags: [web, production]
    state: started

- name: Clone a cloud-image template (auth from PROXMOX_* environment variables)
  proxgate.core.proxmox_vm:
    name: app02
    clone: debian-13-cloud
    full: true
    storage: local-lvm
    node: pve2
    cores: 4
    memory: 4096
    state: started

- name: Move web01 to pve2 (live, as it runs, with its local disks)
  proxgate.core.proxmox_vm:
    name: web01
    node: pve2
    migrate: true

- name: Boot the installer ISO (inserted in ide2, swapped for another ISO when one is in)
  proxgate.core.proxmox_vm:
    name: web01
    cdrom: local:iso/debian-13.2.0-amd64-netinst.iso

- name: Eject it, keeping the empty drive
  proxgate.core.proxmox_vm:
    name: web01
    cdrom: none

- name: An ISO in a second, SATA CD-ROM drive
  proxgate.core.proxmox_vm:
    name: web01
    disks:
      sata1: local:iso/virtio-win-0.1.271.iso,media=cdrom

- name: More memory; applied at the next reboot if the VM runs without memory hotplug
  proxgate.core.proxmox_vm:
    name: web01
    memory: 4096
  register: web01

- name: Reboot to apply it
  proxgate.core.proxmox_vm:
    name: web01
    state: restarted
  when: web01.reboot_required

- name: A cloud-init VM from a template, with a static address and two keys
  proxgate.core.proxmox_vm:
    name: app03
    clone: debian-13-cloud
    node: pve1
    ciuser: debian
    cipassword: "{{ vault_app03_password }}"
    sshkeys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx7ynNbfhkpLd/EPjDcpG3P/0t7ha2TXm6aJg1eTbZ2 ops@example.com
      - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
    ipconfig:
      ipconfig0: ip=10.0.0.30/24,gw=10.0.0.1
    nameserver: 10.0.0.2 10.0.0.3
    searchdomain: example.com
    cloudinit_storage: local-lvm
    state: started

- name: Remove a VM, stopping it first
  proxgate.core.proxmox_vm:
    name: app02
    state: absent
    force: true
"""

RETURN = r"""
vmid:
  description: The VM's id.
  returned: always
  type: int
  sample: 101
name:
  description: The VM's name.
  returned: always
  type: str
  sample: web01
node:
  description: The node the VM is on.
  returned: always
  type: str
  sample: pve1
status:
  description: The VM's power state at the end (V(absent) once removed; in check mode, the state it would have).
  returned: always
  type: str
  sample: running
created:
  description: Whether the VM was created (or cloned) by this run.
  returned: always
  type: bool
  sample: true
unlocked:
  description: The stale lock O(unlock_stale_after) cleared (in check mode, would clear), its age in seconds
    and the task that had taken it.
  returned: when a stale lock was cleared
  type: dict
  sample: {lock: create, age: 7260, task: "UPID:pve1:00004001:0001C007:6740F0A1:qmcreate:104:root@pam:"}
migrated:
  description: Whether the VM was (or in check mode would be) migrated to O(node) by this run.
  returned: when O(node) differs from the VM's node and O(migrate=true)
  type: bool
  sample: true
vmids_taken:
  description:
    - Ids C(/cluster/nextid) offered that a parallel create took first; the VM was created again with a
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
  sample: [memory, tags]
pending:
  description: Configuration keys whose new value waits for the VM's next start.
  returned: always
  type: list
  elements: str
  sample: [memory]
reboot_required:
  description: Whether there are pending changes that only a restart applies.
  returned: always
  type: bool
  sample: false
config:
  description: The VM's configuration at the end, pending values included (not read in check mode for a new VM).
  returned: when the VM exists
  type: dict
  sample: {cores: 2, memory: "2048", name: web01}
tasks:
  description: The UPIDs of the tasks the module started and waited for.
  returned: always
  type: list
  elements: str
  sample: ["UPID:pve1:0001A2B3:00C4D5E6:6740F0A1:qmcreate:101:root@pam:"]
"""

import re

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.config import (
    keep_volume,
    options_config,
    volume_conflicts,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.lifecycle import (
    GUEST_OPTIONS,
    GuestModule,
    clone_only_problems,
    config_option_problems,
    guest_option_problems,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import (
    DRIVE_KEY,
    DRIVE_LIKE_KEY,
    NET_KEY,
    agent_problem,
    agent_value_to_write,
    cdrom_value,
    config_value_equal,
    disk_key_pattern,
    disk_slots_text,
    encode_sshkeys,
    format_props,
    is_cdrom_drive,
    is_cloudinit_volume,
    parse_drive,
    parse_net,
    storage_id_problem,
)

# Options that are config keys under the same name.
PLAIN_KEYS = ("cores", "sockets", "memory", "cpu", "machine", "bios", "ostype", "scsihw", "description",
              "onboot", "agent")
# Keys a node changes or sets by itself; they are never compared.
NODE_KEYS = ("digest", "lock", "meta", "vmgenid", "smbios1", "parent", "template", "snaptime", "vmstate")
SECRET_KEYS = ("cipassword",)
# What a VM without the key has: the defaults of qemu-server's $confdesc (PVE::QemuServer) and, for cpu, of
# the cputype field of PVE::QemuServer::CPUConfig's cpu format. An option set to its default on a VM that
# lacks the key is no change.
QEMU_DEFAULTS = {"cores": "1", "sockets": "1", "cpu": "kvm64", "onboot": "0", "scsihw": "lsi", "ostype": "other",
                 "bios": "seabios"}
CLONE_OPTIONS = ("full", "storage", "format", "snapname")
# Cloud-init options that are config keys under the same name.
CLOUDINIT_KEYS = ("ciuser", "citype", "cicustom", "ciupgrade", "nameserver", "searchdomain")
IPCONFIG_KEY = re.compile(r"^ipconfig\d+$")
# Keys the config option refuses: an option of the same name sets them, or a dict option (pattern, option) does.
OWN_OPTIONS = (*PLAIN_KEYS, "name", "tags", "pool", "vmid", "node", *CLOUDINIT_KEYS, "sshkeys", "cipassword")
OPTION_GROUPS = ((IPCONFIG_KEY, "ipconfig"), (NET_KEY, "nets"), (DRIVE_LIKE_KEY, "disks"))
# What the cdrom option takes: an ISO volume id, none (an empty drive) or cdrom (the host's drive).
ISO_VOLUME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*:iso/[^,=\s]+$")
# The cloud-init drive is an IDE, SATA or SCSI CD-ROM.
CLOUDINIT_BUSES = ("ide", "sata", "scsi")
CLOUDINIT_DRIVE_KEY = disk_key_pattern(*CLOUDINIT_BUSES)


def desired_config(params):
    """The configuration keys the options ask for: {key: value}, None meaning 'remove the key'."""
    wanted = options_config(params, (*PLAIN_KEYS, "name", "tags", *CLOUDINIT_KEYS),
                            ("nets", "disks", "ipconfig", "config"))
    if params.get("sshkeys") is not None:
        wanted["sshkeys"] = encode_sshkeys(params["sshkeys"])
    if params.get("cdrom") is not None:
        wanted["ide2"] = cdrom_value(params["cdrom"])
    return wanted


def vm_value_equal(key, desired, current):
    """config_value_equal, with a key the VM lacks read as qemu-server's default for it."""
    if current is None and desired is not None and key in QEMU_DEFAULTS:
        current = QEMU_DEFAULTS[key]
    return config_value_equal(key, desired, current)


def is_cloudinit_key(key):
    return key in CLOUDINIT_KEYS or key in ("sshkeys", "cipassword") or bool(IPCONFIG_KEY.match(key))


def cloudinit_drive(config):
    """The key of the VM's cloud-init drive, or None."""
    for key, value in config.items():
        if DRIVE_KEY.match(key) and is_cloudinit_volume(parse_drive(value).get("volume")):
            return key
    return None


def value_to_write(key, wanted, current):
    """What to send for a changed key: an existing NIC keeps its MAC unless one is asked for, an
    existing disk keeps its volume and size and takes the new options, the agent keeps the fields not given."""
    if current is None or wanted is None:
        return wanted
    if key == "agent":
        return agent_value_to_write(wanted, current)
    if NET_KEY.match(key):
        want = parse_net(wanted)
        have = parse_net(current)
        if "macaddr" not in want and have.get("macaddr"):
            model = want.pop("model", have.get("model", "virtio"))
            want.pop("macaddr", None)
            return format_props({model: have["macaddr"], **want})
        return wanted
    if DRIVE_KEY.match(key):
        if is_cdrom_drive(wanted) and is_cdrom_drive(current):
            # Another ISO (or none) in the same drive: sent as asked, the node adds the new ISO's size.
            return format_props({k: v for k, v in parse_drive(wanted).items() if k != "size"}, default_key="volume")
        return keep_volume(wanted, current)
    return wanted


def disk_conflicts(wanted, current, cdrom=None):
    """Messages for disks the options would move, replace or resize: this module does not do that.
    A cloud-init drive can only go where there is no other disk, a CD-ROM only in a slot that has no disk."""
    problems, plain = [], {}
    for key, value in wanted.items():
        if value is not None and DRIVE_KEY.match(key) and is_cloudinit_volume(parse_drive(value).get("volume")):
            have = current.get(key)
            if have is not None and not is_cloudinit_volume(parse_drive(have).get("volume")):
                problems.append(f"disks.{key}: the VM already has a disk there, not a cloud-init drive")
        elif value is not None and is_cdrom_drive(value) and current.get(key) is not None \
                and not is_cdrom_drive(current[key]):
            what = ("the cloud-init drive" if is_cloudinit_volume(parse_drive(current[key]).get("volume"))
                    else f"a disk ({parse_drive(current[key]).get('volume')})")
            problems.append(f"{cdrom_label(key, cdrom)}: {key} of the VM holds {what}, not a CD-ROM drive; put the "
                            "CD-ROM in a free slot (disks.sata1: ...,media=cdrom) or remove what is there first")
        else:
            plain[key] = value
    more, notes = volume_conflicts(plain, current, DRIVE_KEY.match, lambda key: f"disks.{key}")
    return problems + more, notes


def cdrom_label(key, cdrom):
    """The option a drive value came from, for messages."""
    return "cdrom" if key == "ide2" and cdrom is not None else f"disks.{key}"


def option_problems(p):
    """Messages for options PVE would refuse or this module cannot act on, each naming the option."""
    problems = guest_option_problems(p, "name", ("cores", "sockets", "memory"))
    if p.get("unlock_stale_after") is not None and p["unlock_stale_after"] < 0:
        problems.append(f"unlock_stale_after must be 0 or more seconds, got {p['unlock_stale_after']}")
    if agent_problem("agent", p.get("agent")):
        problems.append(agent_problem("agent", p.get("agent")))
    for key in (p["nets"] or {}):
        if not NET_KEY.match(key):
            problems.append(f"nets keys must be net0, net1, ...; got {key!r}")
    for group in ("nets", "disks"):
        for key, value in (p[group] or {}).items():
            if isinstance(value, str) and not value.strip():
                # Empty means 'not set' for the scalar options; a device is only removed when asked by name.
                problems.append(f"{group}.{key} is empty; give a property string, or null to remove the device")
    problems.extend(cdrom_problems(p))
    for key in (p["disks"] or {}):
        if not DRIVE_KEY.match(key) or key.startswith("unused"):
            problems.append(f"disks keys must be drive slots a VM has ({disk_slots_text()}, efidisk0 or tpmstate0); "
                            f"got {key!r}")
    for key in (p["ipconfig"] or {}):
        if not IPCONFIG_KEY.match(key):
            problems.append(f"ipconfig keys must be ipconfig0, ipconfig1, ...; got {key!r}")
    for index, key in enumerate(p["sshkeys"] or []):
        if len(key.split()) < 2:
            problems.append(f"sshkeys[{index}] is not an SSH public key (type and key data), got {key[:40]!r}")
    if not CLOUDINIT_DRIVE_KEY.match(p["cloudinit_drive"]):
        problems.append(f"cloudinit_drive must be an IDE, SATA or SCSI slot ({disk_slots_text(*CLOUDINIT_BUSES)}), "
                        f"got {p['cloudinit_drive']!r}")
    # It becomes the first field of the cloud-init drive's property string, STORAGE:cloudinit.
    storage_problem = storage_id_problem("cloudinit_storage", p["cloudinit_storage"])
    if storage_problem:
        problems.append(storage_problem)
    problems.extend(config_option_problems(p["config"] or {}, OWN_OPTIONS, OPTION_GROUPS, NODE_KEYS))
    problems.extend(clone_only_problems(p, CLONE_OPTIONS))
    return problems


def cdrom_problems(p):
    """Messages for a cdrom value PVE would refuse, or one that competes with disks.ide2."""
    cdrom = p.get("cdrom")
    if cdrom is None:
        return []
    problems = []
    if cdrom not in ("none", "cdrom") and not ISO_VOLUME.match(cdrom):
        problems.append(f"cdrom must be an ISO volume such as local:iso/debian-13.iso, none (eject) or cdrom (the "
                        f"host's drive), got {cdrom!r}")
    if "ide2" in (p["disks"] or {}):
        problems.append("cdrom and disks.ide2 both set ide2 (cdrom is PVE's alias of ide2); give one of them")
    return problems


class ProxmoxVm(GuestModule):
    argument_spec = dict(
        GUEST_OPTIONS,
        name=dict(type="str"),
        format=dict(type="str", choices=["raw", "qcow2", "vmdk"]),
        cores=dict(type="int"),
        sockets=dict(type="int"),
        memory=dict(type="int"),
        cpu=dict(type="str"),
        machine=dict(type="str"),
        bios=dict(type="str", choices=["seabios", "ovmf"]),
        ostype=dict(type="str", choices=["other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8",
                                         "win10", "win11", "l24", "l26", "solaris"]),
        scsihw=dict(type="str", choices=["lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas",
                                         "pvscsi"]),
        nets=dict(type="dict"),
        disks=dict(type="dict"),
        cdrom=dict(type="str"),
        agent=dict(type="raw"),
        ciuser=dict(type="str"),
        cipassword=dict(type="str", no_log=True),
        update_password=dict(type="str", default="on_create", choices=["always", "on_create"], no_log=False),
        sshkeys=dict(type="list", elements="str", no_log=False),
        ipconfig=dict(type="dict"),
        nameserver=dict(type="str"),
        searchdomain=dict(type="str"),
        citype=dict(type="str", choices=["configdrive2", "nocloud", "opennebula"]),
        cicustom=dict(type="str"),
        ciupgrade=dict(type="bool"),
        cloudinit_storage=dict(type="str"),
        cloudinit_drive=dict(type="str", default="ide2"),
        unlock_stale_after=dict(type="int"),
    )
    module_kwargs = dict(required_one_of=[("vmid", "name")])

    kind = "qemu"
    clone_options = CLONE_OPTIONS
    secret_keys = SECRET_KEYS
    value_equal = staticmethod(vm_value_equal)
    value_to_write = staticmethod(value_to_write)
    option_problems = staticmethod(option_problems)

    def wanted_config(self, current):
        """The keys to have, given what the VM has: a cloud-init drive when cloud-init options need one,
        and the cloud-init password only as update_password says (a node never shows it back)."""
        p = self.params
        wanted = desired_config(p)
        if p["cipassword"] is not None and (p["update_password"] == "always" or "cipassword" not in current):
            wanted["cipassword"] = p["cipassword"]
        uses_cloudinit = any(is_cloudinit_key(key) for key in wanted)
        if uses_cloudinit and not cloudinit_drive({**current, **wanted}):
            if p["cloudinit_storage"] and p["cdrom"] is not None and p["cloudinit_drive"] == "ide2":
                self.fail("cdrom uses ide2, where cloudinit_drive would put the new cloud-init drive; set "
                          "cloudinit_drive to another slot (such as ide0 or scsi1)")
            if p["cloudinit_storage"]:
                wanted[p["cloudinit_drive"]] = f"{p['cloudinit_storage']}:cloudinit"
            else:
                self.warn("cloud-init options are set but the VM has no cloud-init drive: "
                          "give cloudinit_storage to create one")
        return wanted

    def conflicts(self, guest, wanted, current):
        return disk_conflicts(wanted, current, self.params["cdrom"])

    def compare(self, wanted, current):
        changes = super().compare(wanted, current)
        if "cipassword" in wanted and "cipassword" not in changes:
            # It cannot be read back to compare: update_password: always writes it every time.
            changes.add("cipassword", current.get("cipassword"), wanted["cipassword"])
        return changes

    def write_config(self, guest, changes, current, payload, **params):
        # POST is QEMU's asynchronous config call: it returns a task to wait for.
        self.wait(self.client.post(guest_path(guest) + "/config", **params, **payload))
        if any(is_cloudinit_key(key) for key in changes) and cloudinit_drive({**current, **payload}):
            # Write the new settings into the cloud-init drive now, not only at the next start.
            self.client.put(guest_path(guest) + "/cloudinit")

    def migration_params(self, guest, target):
        """Online for a running VM, with its local disks (with-local-disks) when it has any; offline
        otherwise. The node's own check (GET .../migrate) must allow the target."""
        check = self.client.get(guest_path(guest) + "/migrate", target=target) or {}
        allowed = check.get("allowed_nodes")
        if allowed is not None and target not in allowed:
            reasons = (check.get("not_allowed_nodes") or {}).get(target) or {}
            why = "; ".join(f"{key}: {value}" for key, value in sorted(reasons.items())) or "not an allowed node"
            self.fail(f"migrate: VM {guest['vmid']} ({guest.get('name')}) cannot move from {guest['node']} to "
                      f"{target}: {why}")
        data = {"target": target}
        if check.get("running", guest.get("status") == "running"):
            data["online"] = True
            local = [disk for disk in check.get("local_disks") or []
                     if not disk.get("cdrom") and not disk.get("is_unused")]
            if local:
                data["with-local-disks"] = True
        return data


def main():
    ProxmoxVm().execute()


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_disk
short_description: Create, import, attach, grow, move, detach and delete disks of Proxmox VE QEMU VMs
version_added: 0.1.0
description:
  - Manages one disk slot (C(scsi0), C(virtio1), C(sata0), C(ide0)...) of a QEMU VM found by O(vmid) or O(name).
  - With O(state=present), the slot gets a disk if it has none - a new one (O(storage) and O(size)), an
    existing volume (O(volume)), or an image imported with O(import_from) - and then has the options asked
    for (O(discard), O(ssd), O(iothread), O(cache), O(backup), O(options)), is on O(storage) (the disk is
    moved otherwise), is at least O(size) (it is grown; shrinking is refused) and is first in the boot order
    with O(boot=true).
  - With O(state=absent), the disk is detached (it stays on its storage as an C(unusedN) entry of the VM) or,
    with O(delete_volume=true), deleted.
  - O(import_from) is a volume id (C(local:import/noble.qcow2)), an absolute path of a file on the node, or an
    C(https://) URL that the node downloads first into O(import_storage)
    (C(POST /nodes/{node}/storage/{storage}/download-url)), which needs PVE 8.2 or later.
  - An image is imported through the API (C(import-from), PVE 7.2 and later) or over SSH with
    C(qm importdisk), as O(import_method) says; see the notes and docs/disk-import.md for how V(auto) chooses.
  - A slot that already holds a disk is not imported into again (the run reports no change for the import)
    unless O(force=true).
  - Every task the module starts is waited for; a task that fails fails the module with its exit status and
    the end of its log.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is written and no SSH connection is made; what an import or a download
        would do is reported from the API's answers.
  diff_mode:
    support: full
requirements:
  - paramiko >= 3.4 (only for O(import_method=ssh), or V(auto) when it chooses SSH)
options:
  vmid:
    description: The VM's id.
    type: int
  name:
    description: The VM's name, when O(vmid) is not given; it must be unique in the cluster.
    type: str
  disk:
    description:
      - The disk slot, such as C(scsi0), C(virtio1), C(sata2) or C(ide0) - one of the slots a VM has, C(ide0) to
        C(ide3), C(sata0) to C(sata5), C(scsi0) to C(scsi30) and C(virtio0) to C(virtio15).
      - With O(state=absent) also C(unusedN) (C(unused0) to C(unused255)), an entry of a detached volume (which
        is then deleted).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the slot holds a disk as the other options describe.
      - V(absent) detaches the disk (it becomes C(unusedN)) or deletes it with O(delete_volume=true).
    type: str
    choices: [present, absent]
    default: present
  storage:
    description:
      - Storage of the disk, such as C(local-lvm).
      - For a new disk and an import, where it is made; for an existing disk on another storage, where it is
        moved to (C(POST .../move_disk)).
    type: str
  size:
    description:
      - Size of the disk, such as V(32G), V(512M) or V(1T) (a bare number is in GiB).
      - Required for a new disk. An existing or imported disk smaller than this is grown to it
        (C(PUT .../resize)); an existing disk larger than this is an error, as PVE cannot shrink a disk
        (an image just imported larger than this stays as it is, with a warning).
    type: str
  volume:
    description:
      - An existing volume to attach in the slot when it is empty, such as C(local-lvm:vm-100-disk-3), or
        C(unusedN) for a volume the VM lists as unused.
      - It may not contain C(,), C(=) or a line break, which PVE's property strings cannot hold in a volume.
    type: str
  import_from:
    description:
      - The image to import into the slot when it is empty (or with O(force=true)).
      - A volume id of C(import) or C(images) content (C(local:import/noble.qcow2)), an absolute path of a file
        on the node (C(/var/lib/vz/template/noble.qcow2)), or an C(https://) (or C(http://)) URL.
      - An URL is downloaded by the node into O(import_storage) as O(import_filename) (unless that file is
        there already) and that volume is imported.
      - Needs O(storage), the storage the disk is made on.
      - A volume id or a path may not contain C(,) or a line break (it becomes C(import-from=SOURCE) in a
        property string, which has no quoting); this holds for an import over SSH too.
    type: str
  import_method:
    description:
      - How the image is imported.
      - V(api) sets the disk option C(import-from) (C(STORAGE:0,import-from=SOURCE)) and waits for the task.
        A path on the node is only accepted from C(root@pam) logged in with a password.
      - V(ssh) connects to the node and runs C(qm importdisk VMID SOURCE STORAGE) (C(qm disk import) on PVE 8
        and later), then attaches the C(unusedN) volume it reports on its last line in the slot through the
        API, once that volume is a disk of this VM on O(storage) listed in the VM's configuration (anything
        else fails, and nothing is attached). It takes paths only, not volume ids or URLs.
      - V(auto) uses the API for a volume id and an URL, and for a path when the login is C(root@pam) with a
        password and the node runs PVE 7.2 or later; otherwise SSH. RV(import_method_used) and
        RV(import_method_reason) say what ran and why.
    type: str
    choices: [auto, api, ssh]
    default: auto
  import_storage:
    description: Storage with C(import) content that an O(import_from) URL is downloaded into.
    type: str
    default: local
  import_filename:
    description:
      - File name of the download in O(import_storage); by default the last part of the URL's path.
      - PVE takes only C(.qcow2), C(.raw), C(.vmdk) and C(.ova) names (letters, digits and C(-._+=)). A cloud
        image published as C(.img) (a qcow2 inside) needs a name such as C(noble.qcow2) here.
    type: str
  checksum:
    description: Expected checksum of the download; the node refuses a file that does not match.
    type: str
  checksum_algorithm:
    description: Algorithm of O(checksum).
    type: str
    choices: [md5, sha1, sha224, sha256, sha384, sha512]
  download_verify_certificates:
    description: Whether the node checks the TLS certificate of an O(import_from) URL.
    type: bool
    default: true
  format:
    description: Format of a new, imported or moved disk on a file-based storage.
    type: str
    choices: [raw, qcow2, vmdk]
  discard:
    description: Pass discard (TRIM) requests to the storage (C(discard=on)); V(false) is C(discard=ignore).
    type: bool
  ssd:
    description: Show the disk to the guest as an SSD.
    type: bool
  iothread:
    description: Give the disk its own I/O thread (with C(virtio-scsi-single) for SCSI disks).
    type: bool
  cache:
    description: Cache mode of the disk.
    type: str
    choices: [none, writethrough, writeback, unsafe, directsync]
  backup:
    description: Whether backups include the disk (PVE's default is V(true)).
    type: bool
  options:
    description:
      - Other drive options, as PVE names them (C(aio), C(serial), C(wwn), C(replicate)...).
      - An option set to V(null) is removed. Options not named here are kept as they are.
      - A value is one value (no list or dict) and may not contain C(,) or a line break.
    type: dict
  boot:
    description:
      - V(true) puts the disk first in the boot order (C(boot=order=scsi0;...)); the devices already in the
        order stay after it. Without an explicit order (PVE's default), the disk becomes the only entry.
      - V(false) takes the disk out of the boot order. Not set, the boot order is left alone.
    type: bool
  force:
    description:
      - Import O(import_from) even though the slot holds a disk. The disk it replaces stays on its storage
        as C(unusedN) (delete it with O(state=absent), O(disk=unusedN) and O(delete_volume=true)).
    type: bool
    default: false
  delete_volume:
    description: With O(state=absent), delete the disk's volume instead of keeping it as C(unusedN).
    type: bool
    default: false
  delete_source:
    description: When a disk is moved to O(storage), delete the old volume instead of keeping it as C(unusedN).
    type: bool
    default: false
  ssh_host:
    description:
      - Address of the node for O(import_method=ssh); by default the node's C(ip) in C(GET /cluster/status),
        else its name.
    type: str
  ssh_port:
    description: SSH port of the node.
    type: int
    default: 22
  ssh_user:
    description:
      - User to log in as on the node. It must be able to run C(qm), as root or through O(ssh_become).
      - If not set, the value of the E(PROXMOX_SSH_USER) environment variable is used.
    type: str
    default: root
  ssh_password:
    description: Password of O(ssh_user), when no key is given.
    type: str
  ssh_private_key:
    description: Private key of O(ssh_user), as text (OpenSSH or PEM ed25519, ECDSA or RSA).
    type: str
  ssh_private_key_passphrase:
    description: Passphrase of an encrypted O(ssh_private_key) or O(ssh_private_key_file).
    type: str
  ssh_private_key_file:
    description:
      - File of the private key of O(ssh_user).
      - If not set, the value of the E(PROXMOX_SSH_PRIVATE_KEY_FILE) environment variable is used.
      - Without O(ssh_private_key), O(ssh_private_key_file) and O(ssh_password), the SSH agent and the usual
        C(~/.ssh/id_*) keys are tried.
    type: path
  ssh_known_hosts:
    description:
      - known_hosts file the node's host key is checked against (a host not in it is refused).
      - If not set, the value of the E(PROXMOX_SSH_KNOWN_HOSTS) environment variable is used, else
        C(~/.ssh/known_hosts).
    type: path
  ssh_host_key:
    description:
      - The node's host key fingerprint, such as C(SHA256:Fm0H...), as C(ssh-keygen -lf
        /etc/ssh/ssh_host_ed25519_key.pub) prints it on the node. When set, only that key is accepted and
        O(ssh_known_hosts) is not read.
    type: str
  ssh_host_key_checking:
    description:
      - V(false) accepts any host key (nothing is written to a known_hosts file). Only for a lab node on a
        network you trust.
      - Every run that connects with V(false) (or, in check mode, would) gives a warning with the key the node
        offered, as a changed key - someone answering in the node's place - goes unnoticed.
    type: bool
    default: true
  ssh_become:
    description:
      - Run qm through C(sudo -n), for an O(ssh_user) other than root that may run C(/usr/sbin/qm) as root
        without a password.
    type: bool
    default: false
  ssh_timeout:
    description: Seconds to wait for the SSH connection and login.
    type: int
    default: 30
  timeout:
    description: Seconds to wait for each task the module starts, and for C(qm importdisk) to finish.
    type: int
    default: 600
notes:
  - >-
    Privileges through the API: C(VM.Audit) and C(VM.Config.Disk) on the VM, C(Datastore.AllocateSpace) on
    the storage of a new, imported or moved disk, and C(Datastore.Audit) (or C(Datastore.AllocateSpace)) on the
    storage an image is imported from. Importing a disk owned by another VM needs C(VM.Clone) on that VM.
    Downloading an URL needs C(Datastore.AllocateTemplate) on O(import_storage) and C(Sys.Audit) and
    C(Sys.Modify) on C(/).
  - >-
    An absolute path in O(import_from) is accepted by the API only from C(root@pam) logged in with a
    password (C(api_user) and C(api_password)); a token, even root's, is refused with
    C(403 Only root can pass arbitrary filesystem paths.) With a token, a file already on the node is imported
    over SSH, or placed in an C(import) storage first and given as a volume id.
  - >-
    Over SSH, O(ssh_user) must be able to run C(qm) on the node: root, or a dedicated user with a sudoers rule
    such as C(ansible ALL=(root) NOPASSWD: /usr/sbin/qm) and O(ssh_become=true). The node's host key is checked
    against O(ssh_known_hosts) or O(ssh_host_key); every argument of the command is shell-quoted.
  - The node version is read from C(GET /nodes/{node}/version); if it cannot be read, PVE 7.2 or later is assumed.
seealso:
  - module: proxgate.core.proxmox_vm
  - module: proxgate.core.proxmox_vm_info
"""

EXAMPLES = r"""
- name: Import Debian's cloud image, downloaded by the node, as the boot disk of VM 9000 (token login)
  proxgate.core.proxmox_disk:
    vmid: 9000
    disk: scsi0
    storage: local-lvm
    import_from: https://cloud.debian.org/images/cloud/trixie/latest/debian-13-generic-amd64.qcow2
    checksum: "{{ debian_sha512 }}"
    checksum_algorithm: sha512
    size: 20G
    discard: true
    iothread: true
    boot: true

- name: Import an image file that is on the node; over SSH, as a token cannot pass a path
  proxgate.core.proxmox_disk:
    name: web01
    disk: scsi0
    storage: local-lvm
    import_from: /var/lib/vz/template/noble-server-cloudimg-amd64.qcow2
    ssh_user: ansible
    ssh_become: true
    ssh_private_key_file: ~/.ssh/pve_ansible
    ssh_known_hosts: "{{ playbook_dir }}/files/pve_known_hosts"
    boot: true
  register: imported

- name: A second, 64 GiB data disk
  proxgate.core.proxmox_disk:
    name: web01
    disk: scsi1
    storage: local-lvm
    size: 64G
    discard: true

- name: Grow it to 128 GiB
  proxgate.core.proxmox_disk:
    name: web01
    disk: scsi1
    size: 128G

- name: Move it to the Ceph pool and delete the old volume
  proxgate.core.proxmox_disk:
    name: web01
    disk: scsi1
    storage: ceph-vm
    delete_source: true

- name: Detach it (it stays as unused0) ...
  proxgate.core.proxmox_disk:
    name: web01
    disk: scsi1
    state: absent

- name: ... or delete it
  proxgate.core.proxmox_disk:
    name: web01
    disk: scsi1
    state: absent
    delete_volume: true
"""

RETURN = r"""
vmid:
  description: The VM's id.
  returned: when the VM exists
  type: int
  sample: 100
name:
  description: The VM's name.
  returned: when the VM exists
  type: str
  sample: web01
node:
  description: The node the VM is on.
  returned: when the VM exists
  type: str
  sample: pve1
disk:
  description: The disk slot.
  returned: always
  type: str
  sample: scsi0
value:
  description: The slot's configuration value at the end (not read in check mode after a change).
  returned: when the slot holds a disk
  type: str
  sample: local-lvm:vm-100-disk-0,discard=on,iothread=1,size=20G
volume:
  description: The disk's volume id at the end.
  returned: when the slot holds a disk
  type: str
  sample: local-lvm:vm-100-disk-0
size:
  description: The disk's size as PVE writes it.
  returned: when the slot holds a disk with a known size
  type: str
  sample: 20G
actions:
  description: What was done (or, in check mode, would be), in order.
  returned: always
  type: list
  elements: str
  sample: [download, import, attach, resize]
import_method_used:
  description: V(api) or V(ssh), the way the image was (or would be) imported.
  returned: when an image is imported
  type: str
  sample: ssh
import_method_reason:
  description: Why that way was taken.
  returned: when an image is imported
  type: str
  sample: >-
    the source is a path on the node, which the API accepts only from root@pam logged in with a password;
    this run logs in with an API token, so qm importdisk runs over SSH
downloaded:
  description: Whether the URL was downloaded by this run (V(false) when the file was in O(import_storage) already).
  returned: when O(import_from) is an URL and an import is due
  type: bool
  sample: true
imported_as:
  description: The C(unusedN) entry and volume C(qm importdisk) reported, before they were attached.
  returned: when an image was imported over SSH
  type: str
  sample: unused0:local-lvm:vm-100-disk-1
ssh_command:
  description: The command run on the node, as quoted for its shell.
  returned: when an image was imported over SSH
  type: str
  sample: qm disk import 100 /var/lib/vz/template/noble.qcow2 local-lvm
replaced:
  description: The volume of the disk a forced import replaced; it stays as C(unusedN).
  returned: when O(force=true) replaced a disk
  type: str
  sample: local-lvm:vm-100-disk-0
unused:
  description: The C(unusedN) entry the detached disk (or the source of a move) became.
  returned: when a disk was detached, or moved without O(delete_source)
  type: str
  sample: unused0
tasks:
  description: The UPIDs of the tasks the module started and waited for.
  returned: always
  type: list
  elements: str
  sample: ["UPID:pve1:0001A2B3:00C4D5E6:6740F0A1:qmconfig:100:root@pam:"]
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.disks import DiskModule, option_problems
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import find_guest, guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import DISK_KEY, UNUSED_KEY, parse_drive


class ProxmoxDisk(DiskModule):
    argument_spec = dict(
        vmid=dict(type="int"),
        name=dict(type="str"),
        disk=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        storage=dict(type="str"),
        size=dict(type="str"),
        volume=dict(type="str"),
        import_from=dict(type="str"),
        import_method=dict(type="str", choices=["auto", "api", "ssh"], default="auto"),
        import_storage=dict(type="str", default="local"),
        import_filename=dict(type="str"),
        checksum=dict(type="str"),
        checksum_algorithm=dict(type="str", choices=["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
        download_verify_certificates=dict(type="bool", default=True),
        format=dict(type="str", choices=["raw", "qcow2", "vmdk"]),
        discard=dict(type="bool"),
        ssd=dict(type="bool"),
        iothread=dict(type="bool"),
        cache=dict(type="str", choices=["none", "writethrough", "writeback", "unsafe", "directsync"]),
        backup=dict(type="bool"),
        options=dict(type="dict"),
        boot=dict(type="bool"),
        force=dict(type="bool", default=False),
        delete_volume=dict(type="bool", default=False),
        delete_source=dict(type="bool", default=False),
        ssh_host=dict(type="str"),
        ssh_port=dict(type="int", default=22),
        ssh_user=dict(type="str", default="root", fallback=(env_fallback, ["PROXMOX_SSH_USER"])),
        ssh_password=dict(type="str", no_log=True),
        ssh_private_key=dict(type="str", no_log=True),
        ssh_private_key_passphrase=dict(type="str", no_log=True),
        ssh_private_key_file=dict(type="path", no_log=False,
                                  fallback=(env_fallback, ["PROXMOX_SSH_PRIVATE_KEY_FILE"])),
        ssh_known_hosts=dict(type="path", fallback=(env_fallback, ["PROXMOX_SSH_KNOWN_HOSTS"])),
        ssh_host_key=dict(type="str", no_log=False),
        ssh_host_key_checking=dict(type="bool", default=True, no_log=False),
        ssh_become=dict(type="bool", default=False),
        ssh_timeout=dict(type="int", default=30),
        timeout=dict(type="int", default=600),
    )
    module_kwargs = dict(required_one_of=[("vmid", "name")],
                         mutually_exclusive=[("import_from", "volume"), ("ssh_private_key", "ssh_private_key_file")],
                         required_together=[("checksum", "checksum_algorithm")])
    # storage and import_storage: option_problems checks them (storage_id_problem, the pve-storage-id format).

    def validate(self):
        problems = option_problems(self.params) + self.timeout_problems(self.params, "timeout", "ssh_timeout")
        if problems:
            self.fail("; ".join(problems))

    def run(self):
        p = self.params
        vm = find_guest(self.client, vmid=p["vmid"]) if p["vmid"] is not None else \
            find_guest(self.client, name=p["name"])
        if vm is None:
            which = f"vmid {p['vmid']}" if p["vmid"] is not None else f"name {p['name']!r}"
            self.fail(f"no QEMU VM with {which} in the cluster; create it first (proxgate.core.proxmox_vm)")
        self.set_vm(vm, guest_path(vm))
        config, digest = self.read_config()
        if p["state"] == "absent":
            self.remove(config, digest)
        else:
            self.ensure(config, digest)
        if not (self.check_mode and self.result["changed"]):
            self.describe_slot(self.read_config()[0])
        if self.diff_mode:
            self.result["diff"] = self.diff
        return self.result

    def ensure(self, config, digest):
        """Fill the slot when it is empty (or an import is forced), then bring the disk to the options."""
        p = self.params
        slot = p["disk"]
        current = config.get(slot)
        self.check_not_cdrom(current)
        filled = current is None or bool(p["import_from"] and p["force"])
        if filled:
            self.fill_slot(config, digest, current)
            if self.check_mode:
                return
            config, digest = self.read_config()
            if config.get(slot) is None:
                # Written, but still pending (a running VM without disk hotplug): nothing more to do now.
                return
        elif p["volume"] and self.resolve_volume(config) != parse_drive(current).get("volume"):
            self.fail(f"volume: {slot} holds {parse_drive(current).get('volume')}, not {p['volume']}; detach it first "
                      "(state: absent) or use another slot")
        self.converge(config, digest, filled)

    def fill_slot(self, config, digest, current):
        p = self.params
        if p["import_from"]:
            self.import_disk(config, digest, current)
        elif p["volume"]:
            self.attach(config, digest)
        elif p["storage"] and p["size"]:
            self.create(config, digest)
        else:
            self.fail(f"disk: {p['disk']} of VM {self.vm['vmid']} holds no disk; give import_from, volume, or storage "
                      "and size to make one")

    def remove(self, config, digest):
        p = self.params
        slot = p["disk"]
        current = config.get(slot)
        if current is None:
            return
        if UNUSED_KEY.match(slot) and not p["delete_volume"]:
            self.fail(f"disk: {slot} is a detached volume ({current}); removing it deletes the volume - set "
                      "delete_volume: true to do that")
        if DISK_KEY.match(slot):
            self.check_not_cdrom(current)
        if p["delete_volume"]:
            self.delete(slot, current)
        else:
            self.detach(slot, current, digest)


def main():
    ProxmoxDisk().execute()


if __name__ == "__main__":
    main()

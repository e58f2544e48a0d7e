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

import posixpath
import re
from urllib.parse import unquote, urlsplit

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxError,
    api_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import find_guest, guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import (
    DISK_KEY,
    MAX_UNUSED_DISKS,
    UNUSED_KEY,
    canonical_scalar,
    disk_slots_text,
    format_props,
    owned_disk_problem,
    parse_drive,
    parse_props,
    property_field_problem,
    props_equal,
    size_bytes,
    storage_id_problem,
    volume_storage,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.ssh import (
    HAS_PARAMIKO,
    PARAMIKO_IMPORT_ERROR,
    NodeSsh,
    SshError,
    command_line,
    failure_message,
    normalize_fingerprint,
    parse_import_output,
    qm_import_argv,
    unchecked_host_key_warning,
)

VOLUME_ID = re.compile(r"^(?P<storage>[a-z][a-z0-9\-_.]*[a-z0-9]):(?P<name>\S.*)$", re.I)
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)\s*$", re.I)
OPTION_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
# pve-storage: SAFE_CHAR_CLASS_RE and UPLOAD_IMPORT_EXT_RE_1, the names download-url takes for import content.
IMPORT_FILENAME = re.compile(r"^[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$")
IMPORT_FROM_SINCE = (7, 2)
DOWNLOAD_SINCE = (8, 2)
# Drive options whose value here is what PVE does without them: an absent option equals it.
OPTION_DEFAULTS = {"discard": "ignore", "ssd": "0", "iothread": "0", "backup": "1"}
OWN_OPTIONS = ("discard", "ssd", "iothread", "cache", "backup")
NOT_OPTIONS = ("volume", "file", "size", "import-from", "format")


# ------------------------------------------------------------------ pure helpers

def classify_source(text):
    """'url', 'volume' or 'path' for an import_from value; None when it is none of them."""
    text = (text or "").strip()
    if re.match(r"^https?://", text, re.I):
        return "url" if urlsplit(text).hostname else None
    if text.startswith("/"):
        return "path"
    if VOLUME_ID.match(text) and "://" not in text:
        return "volume"
    return None


def parse_version(text):
    """(major, minor) of a PVE version string (8.2.4, 7.1-10), or None."""
    found = re.match(r"^\s*(\d+)\.(\d+)", str(text or ""))
    return (int(found.group(1)), int(found.group(2))) if found else None


def version_text(version):
    return "an unknown version" if version is None else f"{version[0]}.{version[1]}"


def choose_import_method(requested, kind, auth_mode, user, version):
    """(method, reason) for an import; ValueError with a user's message when the combination cannot work.

    version is the node's (major, minor), None when unknown (then assumed recent enough).
    """
    has_import_from = version is None or version >= IMPORT_FROM_SINCE
    root_password = auth_mode == "ticket" and user == "root@pam"
    login = "with an API token" if auth_mode == "token" else f"as {user}"
    if kind == "url":
        if requested == "ssh":
            raise ValueError("import_method: ssh imports a file that is on the node; an URL is downloaded by the "
                             "node (download-url) and imported through the API - use import_method auto or api")
        if version is not None and version < DOWNLOAD_SINCE:
            raise ValueError(f"import_from: downloading an URL into an import storage needs PVE 8.2 or later "
                             f"(the node runs {version_text(version)}); put the image on the node and give its path")
        return "api", ("the source is an URL: the node downloads it into an import storage (download-url) and "
                       "the API imports that volume with import-from")
    if requested == "api":
        if not has_import_from:
            raise ValueError(f"import_method: api needs import-from, which PVE {version_text(version)} does not have "
                             "(7.2 and later); use import_method ssh or auto")
        if kind == "path" and not root_password:
            raise ValueError(f"import_method: api cannot import a path on the node when logged in {login}: PVE "
                             "accepts paths only from root@pam logged in with a password; use import_method ssh or "
                             "auto, or put the image into an import storage and give its volume id")
        return "api", "import_method: api was asked for"
    if requested == "ssh":
        if kind == "volume":
            raise ValueError("import_method: ssh runs qm importdisk, which takes a file path on the node, not a "
                             "volume id; use import_method auto or api for a volume id")
        return "ssh", "import_method: ssh was asked for"
    if kind == "volume":
        if not has_import_from:
            raise ValueError(f"import_from: importing a volume id needs import-from, which PVE {version_text(version)} "
                             "does not have (7.2 and later); give the image's path on the node to import it over SSH")
        return "api", "the source is a volume id, which the API imports with import-from"
    if not has_import_from:
        return "ssh", (f"the node runs PVE {version_text(version)}, which has no import-from (it came with 7.2), "
                       "so qm importdisk runs over SSH")
    if not root_password:
        return "ssh", ("the source is a path on the node, which the API accepts only from root@pam logged in with "
                       f"a password; this run logs in {login}, so qm importdisk runs over SSH")
    return "api", ("the source is a path on the node and this run is root@pam logged in with a password, which "
                   "the API's import-from accepts")


def disk_size(text):
    """Bytes of a size option: 32G, 512M, 1.5T; a bare number is GiB. ValueError otherwise."""
    found = SIZE.match(str(text))
    if not found:
        raise ValueError(f"not a size: {text!r}")
    value = size_bytes(f"{found.group(1)}{found.group(2).upper()}")
    if value <= 0:
        raise ValueError(f"not a size: {text!r}")
    return value


def size_text(size):
    """A size in bytes as PVE writes it: the largest unit that divides it (32G, 512M), else bytes."""
    for unit, factor in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def gib_text(size):
    """A new disk's size in GiB, as STORAGE:SIZE takes it (32, 0.5)."""
    return f"{size / (1 << 30):.6f}".rstrip("0").rstrip(".")


def wanted_options(params):
    """The drive options the parameters ask for, as PVE spells them; None means 'remove it'."""
    options = {}
    if params.get("discard") is not None:
        options["discard"] = "on" if params["discard"] else "ignore"
    for name in ("ssd", "iothread", "backup"):
        if params.get(name) is not None:
            options[name] = "1" if params[name] else "0"
    if params.get("cache") is not None:
        options["cache"] = params["cache"]
    for name, value in (params.get("options") or {}).items():
        options[name] = None if value is None else canonical_scalar(value)
    return options


def _without_defaults(values):
    return {key: value for key, value in values.items()
            if not (key in OPTION_DEFAULTS and canonical_scalar(value) == OPTION_DEFAULTS[key])}


def drive_value(volume, options, extra=None):
    """A drive's config value: the volume, then the options (those at PVE's default left out)."""
    values = {"volume": volume, **(extra or {})}
    values.update(_without_defaults({key: value for key, value in options.items() if value is not None}))
    return format_props(values, default_key="volume")


def merged_drive(current, options):
    """The config value of an existing drive with the options applied (volume, size and other options kept),
    or None when nothing would change."""
    have = parse_drive(current)
    merged = dict(have)
    for key, value in options.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if props_equal(format_props(_without_defaults(have), "volume"), format_props(_without_defaults(merged), "volume"),
                   default_key="volume"):
        return None
    return format_props(_without_defaults(merged), default_key="volume")


def boot_devices(boot):
    """The devices of a boot value's order (``order=scsi0;ide2;net0``); [] for none or the legacy form."""
    order = parse_props(boot).get("order") if boot else None
    return [device for device in (order or "").split(";") if device]


def boot_value(boot, slot, first):
    """The boot value with slot first (first=True) or out of the order (first=False); None when unchanged."""
    devices = boot_devices(boot)
    if first:
        if devices[:1] == [slot]:
            return None
        return "order=" + ";".join([slot] + [device for device in devices if device != slot])
    if slot not in devices:
        return None
    rest = [device for device in devices if device != slot]
    return "order=" + ";".join(rest) if rest else ""


def node_address(cluster_status, node):
    """The node's ip from GET /cluster/status, else its name."""
    for entry in cluster_status or []:
        if entry.get("type") == "node" and entry.get("name") == node and entry.get("ip"):
            return entry["ip"]
    return node


def download_filename(url, given=None):
    """The file name a download gets: given, else the last part of the URL's path."""
    return given or posixpath.basename(unquote(urlsplit(url).path))


def unused_key_of(config, volume):
    """The unusedN entry of the config that lists volume, or None."""
    return next((key for key, value in sorted(config.items())
                 if UNUSED_KEY.match(key) and parse_drive(value).get("volume") == volume), None)


def is_cdrom(value):
    drive = parse_drive(value)
    return drive.get("media") == "cdrom" or drive.get("volume") in ("cdrom", "none")


# ------------------------------------------------------------------ the module

class ProxmoxDisk(ProxmoxModule):
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
    # storage and import_storage: validate() checks them (storage_id_problem, the pve-storage-id format).

    def __init__(self):
        super().__init__()
        self.result = dict(changed=False, disk=self.params["disk"], actions=[], tasks=self.tasks)
        self.diff = {"before": {}, "after": {}}
        self.vm = None
        self.path = None
        self.version = None  # the node's (major, minor) once read; () when it could not be read

    # ---------------------------------------------------------- validation

    def validate(self):
        p = self.params
        problems = []
        if p["vmid"] is not None and not 100 <= p["vmid"] <= 999999999:
            problems.append(f"vmid must be between 100 and 999999999, got {p['vmid']}")
        slot = p["disk"]
        if not (DISK_KEY.match(slot) or (p["state"] == "absent" and UNUSED_KEY.match(slot))):
            also = " (or unusedN with state: absent)" if p["state"] == "present" else \
                f", or unusedN (unused0-unused{MAX_UNUSED_DISKS - 1})"
            problems.append(f"disk must be a disk slot such as scsi0, virtio1, sata2 or ide0 ({disk_slots_text()})"
                            f"{also}; got {slot!r}")
        for option in ("storage", "import_storage"):
            problem = storage_id_problem(option, p[option])
            if problem:
                problems.append(problem)
        if p["size"] is not None:
            try:
                disk_size(p["size"])
            except ValueError:
                problems.append(f"size must be a size such as 32G, 512M or 1T (a bare number is GiB), "
                                f"got {p['size']!r}")
        volume_problem = property_field_problem("volume", p["volume"], first="volume")
        if volume_problem:
            problems.append(volume_problem)
        elif p["volume"] is not None and not (UNUSED_KEY.match(p["volume"]) or VOLUME_ID.match(p["volume"])):
            problems.append(f"volume must be a volume id such as local-lvm:vm-100-disk-1 or unusedN, "
                            f"got {p['volume']!r}")
        problems.extend(self._import_problems())
        problems.extend(self._option_problems())
        problems.extend(self._ssh_problems())
        if p["state"] == "absent":
            given = [name for name in ("import_from", "volume", "size", "storage", "boot") if p[name] is not None]
            if given:
                problems.append(f"{', '.join(given)} only apply with state: present")
        problems.extend(self.timeout_problems(p, "timeout", "ssh_timeout"))
        if problems:
            self.fail("; ".join(problems))

    def _import_problems(self):
        p = self.params
        source = p["import_from"]
        if source is None:
            url_only = [name for name in ("import_filename", "checksum") if p[name] is not None]
            return [f"{', '.join(url_only)} only apply with an import_from URL"] if url_only else []
        kind = classify_source(source)
        problems = []
        if kind in ("path", "volume"):
            # It becomes import-from=SOURCE in the drive's property string (an URL does not: the volume it is
            # downloaded to does, whose name IMPORT_FILENAME allows). A path goes the same way over SSH, so that
            # a run does not fail or pass by the login it uses.
            problem = property_field_problem("import_from", source)
            if problem:
                problems.append(problem)
        if kind is None:
            problems.append(f"import_from must be a volume id (local:import/noble.qcow2), an absolute path on the node "
                            f"or an https:// URL, got {source!r}")
        if not p["storage"]:
            problems.append("import_from needs storage, the storage the disk is made on")
        if kind == "url":
            filename = download_filename(source, p["import_filename"])
            if not IMPORT_FILENAME.match(filename or ""):
                problems.append(f"import_filename: the download would be named {filename!r}, but PVE takes only "
                                ".qcow2, .raw, .vmdk and .ova names of letters, digits and -._+= for import content; "
                                "give import_filename (an image published as .img is usually a qcow2: name it .qcow2)")
        else:
            url_only = [name for name in ("import_filename", "checksum") if p[name] is not None]
            if url_only:
                problems.append(f"{', '.join(url_only)} only apply with an import_from URL")
        if kind == "url" and p["import_method"] == "ssh":
            problems.append("import_method: ssh imports a file that is on the node; an URL is downloaded by the node "
                            "(download-url) and imported through the API - use import_method auto or api")
        if kind == "volume" and p["import_method"] == "ssh":
            problems.append("import_method: ssh runs qm importdisk, which takes a file path on the node, not a "
                            "volume id; use import_method auto or api for a volume id")
        return problems

    def _option_problems(self):
        problems = []
        for name, value in (self.params["options"] or {}).items():
            if not OPTION_NAME.match(str(name)) or name in NOT_OPTIONS:
                problems.append(f"options.{name} is not a drive option this module sets")
            elif name in OWN_OPTIONS:
                problems.append(f"options.{name}: use the {name} option instead")
            else:
                problem = property_field_problem(f"options.{name}", value)
                if problem:
                    problems.append(problem)
        return problems

    def _ssh_problems(self):
        p = self.params
        problems = []
        if not 1 <= p["ssh_port"] <= 65535:
            problems.append(f"ssh_port must be between 1 and 65535, got {p['ssh_port']}")
        if p["ssh_host_key"] is not None and normalize_fingerprint(p["ssh_host_key"]) is None:
            problems.append(f"ssh_host_key must be a SHA256 fingerprint as ssh-keygen -lf prints it "
                            f"(SHA256: and 43 base64 characters), got {p['ssh_host_key']!r}")
        return problems

    # ---------------------------------------------------------------- run

    def run(self):
        p = self.params
        vm = find_guest(self.client, vmid=p["vmid"]) if p["vmid"] is not None else \
            find_guest(self.client, name=p["name"])
        if vm is None:
            which = f"vmid {p['vmid']}" if p["vmid"] is not None else f"name {p['name']!r}"
            self.fail(f"no QEMU VM with {which} in the cluster; create it first (proxgate.core.proxmox_vm)")
        self.vm = vm
        self.path = guest_path(vm)
        self.result.update(vmid=int(vm["vmid"]), name=vm.get("name"), node=vm["node"])
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

    def read_config(self):
        config = dict(self.client.get(self.path + "/config") or {})
        return config, config.pop("digest", None)

    def describe_slot(self, config):
        value = config.get(self.params["disk"])
        if value is None:
            return
        drive = parse_drive(value)
        self.result.update(value=value, volume=drive.get("volume"))
        if drive.get("size"):
            self.result["size"] = drive["size"]

    def act(self, action, key, before, after):
        self.result["changed"] = True
        self.result["actions"].append(action)
        self.diff["before"].setdefault(key, before)
        self.diff["after"][key] = after

    def write_config(self, payload, digest=None, delete=None):
        if not self.check_mode:
            self.wait(self.client.post(self.path + "/config", digest=digest, delete=delete, **payload))

    def storage_status(self, storage, content):
        """Make sure the storage exists on the node and takes this content; fail (before any write) otherwise."""
        node = self.vm["node"]
        try:
            status = self.client.get(api_path("nodes", node, "storage", storage, "status")) or {}
        except ProxmoxApiError as exc:
            self.fail(f"storage {storage!r} cannot be used on node {node}: {exc}")
        contents = [item for item in re.split(r"[,;\s]+", str(status.get("content") or "")) if item]
        if content not in contents:
            option = "import_storage" if content == "import" else "storage"
            has = ", ".join(contents) or "none"
            self.fail(f"{option}: storage {storage!r} has no {content!r} content (it has {has})"
                      + ("; enable 'import' in its content types (PVE 8.2 and later) or give another import_storage"
                         if content == "import" else ""))
        return status

    # -------------------------------------------------------------- present

    def ensure(self, config, digest):
        p = self.params
        slot = p["disk"]
        current = config.get(slot)
        if current is not None and is_cdrom(current):
            self.fail(f"disk: {slot} of VM {self.vm['vmid']} is a CD-ROM drive ({current}), not a disk; "
                      "change its ISO with proxgate.core.proxmox_vm (cdrom for ide2, or disks)")
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

    def boot_change(self, config):
        """The boot value to write for the boot option ('' to remove the key), or None; recorded in the diff."""
        if self.params["boot"] is None:
            return None
        value = boot_value(config.get("boot"), self.params["disk"], self.params["boot"])
        if value is not None:
            self.diff["before"].setdefault("boot", config.get("boot"))
            self.diff["after"]["boot"] = value or None
        return value

    def config_write(self, payload, digest, boot=None):
        if boot:
            payload = {**payload, "boot": boot}
        self.write_config(payload, digest, delete="boot" if boot == "" else None)

    def create(self, config, digest):
        p = self.params
        extra = {"format": p["format"]} if p["format"] else {}
        value = drive_value(f"{p['storage']}:{gib_text(disk_size(p['size']))}", wanted_options(p), extra)
        self.storage_status(p["storage"], "images")
        self.act("create", p["disk"], None, value)
        self.config_write({p["disk"]: value}, digest, self.boot_change(config))

    def resolve_volume(self, config):
        volume = self.params["volume"]
        if UNUSED_KEY.match(volume):
            if config.get(volume) is None:
                self.fail(f"volume: VM {self.vm['vmid']} has no {volume}")
            return parse_drive(config[volume]).get("volume")
        return volume

    def attach(self, config, digest):
        p = self.params
        volume = self.resolve_volume(config)
        for key, value in config.items():
            if DISK_KEY.match(key) and parse_drive(value).get("volume") == volume:
                self.fail(f"volume: {volume} is attached already, as {key}")
        value = drive_value(volume, wanted_options(p))
        self.act("attach", p["disk"], None, value)
        self.config_write({p["disk"]: value}, digest, self.boot_change(config))

    # ------------------------------------------------------------- import

    def node_version(self):
        """The node's (major, minor), read once; None when it cannot be read."""
        if self.version is None:
            try:
                reply = self.client.get(api_path("nodes", self.vm["node"], "version")) or {}
            except ProxmoxApiError:
                reply = {}
            self.version = parse_version(reply.get("version")) or parse_version(reply.get("release")) or ()
        return self.version or None

    def import_disk(self, config, digest, current):
        p = self.params
        kind = classify_source(p["import_from"])
        try:
            method, reason = choose_import_method(p["import_method"], kind, self.client.auth_mode, self.client.user,
                                                  self.node_version())
        except ValueError as exc:
            self.fail(str(exc))
        self.result.update(import_method_used=method, import_method_reason=reason)
        if method == "ssh" and not HAS_PARAMIKO:
            self.fail(missing_required_lib("paramiko"), exception=PARAMIKO_IMPORT_ERROR)
        self.storage_status(p["storage"], "images")
        if current is not None:
            self.result["replaced"] = parse_drive(current).get("volume")
        source = self.download() if kind == "url" else p["import_from"]
        if method == "api":
            self.import_api(source, config, digest, current)
        else:
            self.import_ssh(source, config, current)

    def download(self):
        p = self.params
        storage, url = p["import_storage"], p["import_from"]
        filename = download_filename(url, p["import_filename"])
        volid = f"{storage}:import/{filename}"
        self.storage_status(storage, "import")
        node = self.vm["node"]
        listing = self.client.get(api_path("nodes", node, "storage", storage, "content"), content="import") or []
        if any(item.get("volid") == volid for item in listing):
            self.result["downloaded"] = False
            return volid
        self.result["downloaded"] = True
        self.act("download", "download", None, f"{url} -> {volid}")
        if not self.check_mode:
            self.wait(self.client.post(api_path("nodes", node, "storage", storage, "download-url"), url=url,
                                       content="import", filename=filename, checksum=p["checksum"],
                                       **{"checksum-algorithm": p["checksum_algorithm"],
                                          "verify-certificates": p["download_verify_certificates"]}))
        return volid

    def import_api(self, source, config, digest, current):
        p = self.params
        extra = {"import-from": source, **({"format": p["format"]} if p["format"] else {})}
        value = drive_value(f"{p['storage']}:0", wanted_options(p), extra)
        self.act("import", p["disk"], current, value)
        self.config_write({p["disk"]: value}, digest, self.boot_change(config))

    def ssh_runner(self):
        p = self.params
        host = p["ssh_host"]
        if not host:
            try:
                host = node_address(self.client.get("/cluster/status"), self.vm["node"])
            except ProxmoxApiError:
                host = self.vm["node"]
        return NodeSsh(host, port=p["ssh_port"], user=p["ssh_user"], password=p["ssh_password"],
                       private_key=p["ssh_private_key"], private_key_passphrase=p["ssh_private_key_passphrase"],
                       private_key_file=p["ssh_private_key_file"], known_hosts=p["ssh_known_hosts"],
                       host_key=p["ssh_host_key"], host_key_checking=p["ssh_host_key_checking"],
                       become=p["ssh_become"], connect_timeout=p["ssh_timeout"], warn=self.warn)

    def import_ssh(self, source, config, current):
        p = self.params
        version = self.node_version()
        # `qm disk import` is the name since PVE 8 (importdisk stays as an alias); older nodes know importdisk.
        subcommand = "disk import" if version is not None and version >= (8, 0) else "importdisk"
        argv = qm_import_argv(self.vm["vmid"], source, p["storage"], p["format"], subcommand)
        self.result["ssh_command"] = command_line(argv, p["ssh_become"])
        options = wanted_options(p)
        self.act("import", p["disk"], current, drive_value("<volume qm importdisk makes>", options))
        if self.check_mode:
            if not p["ssh_host_key_checking"]:
                self.warn(unchecked_host_key_warning())
            self.boot_change(config)
            return
        try:
            with self.ssh_runner() as ssh:
                rc, out, err = ssh.run(argv, timeout=p["timeout"])
                host = ssh.host
        except SshError as exc:
            self.fail(str(exc))
        if rc != 0:
            self.fail(failure_message(host, self.result["ssh_command"], rc, err, out), rc=rc, stdout=out, stderr=err)
        try:
            key, volid = parse_import_output(out)
        except SshError as exc:
            self.fail(f"{exc}\n{self.nothing_attached()}", stdout=out)
        config, digest = self.read_config()
        self.check_imported(key, volid, config, out)
        self.result["imported_as"] = f"{key}:{volid}"
        self.result["actions"].append("attach")
        try:
            self.config_write({p["disk"]: drive_value(volid, options)}, digest, self.boot_change(config))
        except ProxmoxError as exc:
            raise ProxmoxError(f"qm imported the image as {key} ({volid}), but attaching it as {p['disk']} failed: "
                               f"{exc}. Attach it with volume: {key}") from exc

    def nothing_attached(self):
        vmid = self.vm["vmid"]
        return (f"Nothing was attached to {self.params['disk']}. If qm made a volume, it is an unusedN entry of VM "
                f"{vmid}: check qm config {vmid} and pvesm list {self.params['storage']} --vmid {vmid} on the node")

    def check_imported(self, key, volid, config, out):
        """Attach only what qm made for this VM: a disk of this VM on the storage asked for, which the VM's
        config lists under the unusedN key qm named. Anything else fails, with nothing attached."""
        vmid, storage = int(self.vm["vmid"]), self.params["storage"]
        problem = owned_disk_problem(volid, vmid, storage)
        if problem is None and parse_drive(config.get(key)).get("volume") != volid:
            listed = config.get(key)
            problem = f"VM {vmid}'s configuration lists {f'{key}: {listed}' if listed else f'no {key}'}"
        if problem:
            self.fail(f"qm reported the imported disk as {key}:{volid}, which is not a new disk of VM {vmid} on "
                      f"storage {storage}: {problem}.\n{self.nothing_attached()}", stdout=out)

    # ------------------------------------------------------ existing disks

    def current_size(self, drive):
        if drive.get("size"):
            return size_bytes(drive["size"])
        volume = drive.get("volume") or ""
        storage = volume_storage(volume)
        if not storage:
            return None
        info = self.client.get(api_path("nodes", self.vm["node"], "storage", storage, "content", volume)) or {}
        return int(info["size"]) if info.get("size") else None

    def converge(self, config, digest, filled=False):
        """Options, boot order, storage and size of the disk in the slot (just filled, or there before)."""
        p = self.params
        slot = p["disk"]
        current = config[slot]
        drive = parse_drive(current)
        grow = None
        if p["size"] is not None:
            wanted = disk_size(p["size"])
            have = self.current_size(drive)
            if have is not None and wanted < have:
                message = (f"size: {slot} is {size_text(have)}, larger than the {p['size']} asked for; PVE cannot "
                           "shrink a disk")
                if filled:
                    # The image was imported as it is: failing now would not undo that.
                    self.warn(message + "; it stays as the image made it")
                else:
                    self.fail(message + " (make a new, smaller disk and copy the data in the guest)")
            elif have is None or wanted > have:
                grow = (have, wanted)
        move = p["storage"] is not None and volume_storage(drive.get("volume")) != p["storage"]
        if move:
            self.storage_status(p["storage"], "images")
        payload = {}
        value = merged_drive(current, wanted_options(p))
        if value is not None:
            self.act("options", slot, current, value)
            payload[slot] = value
        boot = self.boot_change(config)
        if boot is not None:
            self.result["changed"] = True
            self.result["actions"].append("boot")
        if payload or boot is not None:
            self.config_write(payload, digest, boot)
        if move:
            self.move(drive)
        if grow:
            self.resize(*grow)

    def move(self, drive):
        p = self.params
        self.act("move", "storage", volume_storage(drive.get("volume")), p["storage"])
        if self.check_mode:
            return
        self.wait(self.client.post(self.path + "/move_disk", disk=p["disk"], storage=p["storage"],
                                   format=p["format"], delete=p["delete_source"]))
        if not p["delete_source"]:
            self.result["unused"] = unused_key_of(self.read_config()[0], drive.get("volume"))

    def resize(self, have, wanted):
        p = self.params
        self.act("resize", "size", size_text(have) if have is not None else None, size_text(wanted))
        if not self.check_mode:
            self.wait(self.client.put(self.path + "/resize", disk=p["disk"], size=size_text(wanted)))

    # -------------------------------------------------------------- absent

    def remove(self, config, digest):
        p = self.params
        slot = p["disk"]
        current = config.get(slot)
        if current is None:
            return
        if UNUSED_KEY.match(slot) and not p["delete_volume"]:
            self.fail(f"disk: {slot} is a detached volume ({current}); removing it deletes the volume - set "
                      "delete_volume: true to do that")
        if DISK_KEY.match(slot) and is_cdrom(current):
            self.fail(f"disk: {slot} of VM {self.vm['vmid']} is a CD-ROM drive ({current}), not a disk; "
                      "change its ISO with proxgate.core.proxmox_vm (cdrom for ide2, or disks)")
        if p["delete_volume"]:
            self.act("delete", slot, current, None)
            if not self.check_mode:
                self.wait(self.client.put(self.path + "/unlink", idlist=slot, force=True))
            return
        self.act("detach", slot, current, None)
        if self.check_mode:
            return
        self.write_config({}, digest, delete=slot)
        after = self.read_config()[0]
        self.result["unused"] = unused_key_of(after, parse_drive(current).get("volume"))
        if slot in after:
            self.warn(f"{slot} is still in the VM's configuration: the detach is pending until the VM restarts")


def main():
    ProxmoxDisk().execute()


if __name__ == "__main__":
    main()

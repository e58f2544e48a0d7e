# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guest configurations: what a guest has once its pending changes apply, which keys differ from
what is wanted, and what to write for them.

The generic part (effective_config, pending_keys, config_changes, volume_conflicts) serves QEMU VMs
and LXC containers alike; the ``lxc_*`` functions know how a container spells its NICs
(``name=eth0,bridge=vmbr0,hwaddr=...``), mount points (``local-lvm:vm-200-disk-1,mp=/data,size=8G``)
and feature flags (``keyctl=1,nesting=1``).
"""

from __future__ import annotations

import re

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import dict_changes
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import (
    FALSE_WORDS,
    NET_KEY,
    NEW_DISK,
    TRUE_WORDS,
    canonical_scalar,
    config_value_equal,
    drive_equal,
    drive_size_request,
    format_props,
    is_cdrom_drive,
    join_tags,
    parse_drive,
    parse_props,
    size_bytes,
    volume_storage,
)

LXC_MOUNT_KEY = re.compile(r"^(rootfs|mp\d+)$")
LXC_MP_KEY = re.compile(r"^mp\d+$")  # the mount points besides the root file system
# The flags of a container's `features` option (pve-container's $features_desc); `mount` is a list of
# file system types, the others are booleans.
LXC_FEATURE_FLAGS = ("force_rw_sys", "fuse", "keyctl", "mknod", "nesting")
LXC_FEATURES = (*LXC_FEATURE_FLAGS, "mount")
MOUNT_FS_TYPE = re.compile(r"^[a-zA-Z0-9_]+$")
# A VM's EFI vars and TPM state volumes: qemu-server allocates them at the size their type needs (whatever
# size is asked for) and cannot resize them, so a size that differs is no news.
FIXED_SIZE_KEYS = ("efidisk0", "tpmstate0")


# ------------------------------------------------------------- generic

def effective_config(pending_items):
    """The configuration a guest has once its pending changes apply, from GET .../pending."""
    config = {}
    for item in pending_items or []:
        if item.get("delete"):
            continue
        value = item.get("pending", item.get("value"))
        if value is not None:
            config[item["key"]] = value
    return config


def pending_keys(pending_items):
    """Keys with a change that waits for the guest's next start."""
    return sorted(item["key"] for item in pending_items or [] if "pending" in item or item.get("delete"))


def options_config(params, keys, groups=()):
    """The configuration keys that options set as given: each of keys from the option of the same name (tags
    joined as PVE stores them), then the keys of each dict option of groups. {key: value}, None meaning 'remove
    the key'; an option not given sets nothing."""
    wanted = {key: join_tags(params[key]) if key == "tags" else params[key]
              for key in keys if params.get(key) is not None}
    for group in groups:
        wanted.update(params.get(group) or {})
    return wanted


def config_changes(wanted, current, equal=config_value_equal, secret_keys=()):
    """Changes between the wanted keys ({key: value}, None meaning 'remove it') and the guest's current
    (effective) configuration, compared by equal(key, desired, current)."""
    return dict_changes(current, wanted, equal=equal, skip=lambda _key, value, have: value is None and have is None,
                        secret_keys=secret_keys)


def volume_conflicts(wanted, current, is_volume_key, label, owner="VM", noun="disk",
                     move_tool="proxgate.core.proxmox_disk", grow_tool=None):
    """(problems, notes) for volumes the wanted values would move, replace or resize.

    A config write only updates the options of an existing volume: moving or replacing one is refused
    (a problem), a different size only noted. label(key) names the option in messages (disks.scsi0, rootfs).
    A CD-ROM drive that stays one takes any ISO (or none): that is no replacement of a volume.
    """
    grow_tool = grow_tool or move_tool
    problems, notes = [], []
    for key, value in wanted.items():
        if value is None or not is_volume_key(key) or current.get(key) is None:
            continue
        if is_cdrom_drive(value) and is_cdrom_drive(current[key]):
            continue
        want, have = parse_drive(value), parse_drive(current[key])
        new_disk = NEW_DISK.match(want.get("volume") or "")
        have_storage = volume_storage(have.get("volume"))
        if new_disk and new_disk.group("storage") != have_storage:
            problems.append(f"{label(key)}: the {owner}'s {noun} is on {have_storage!r}, not "
                            f"{new_disk.group('storage')!r}; moving a {noun} is done by {move_tool}")
        elif not new_disk and want.get("volume") not in (have.get("volume"), None):
            problems.append(f"{label(key)}: the {owner}'s {noun} is {have.get('volume')!r}, not "
                            f"{want.get('volume')!r}; replacing a {noun} is done by {move_tool}")
        requested = drive_size_request(value)
        if key in FIXED_SIZE_KEYS:
            continue  # PVE gives these the size their type needs; the size asked for never applies
        if requested and have.get("size") and requested != size_bytes(have["size"]):
            notes.append(f"{label(key)}: the {noun} is {have['size']}, the size asked for is not applied here; "
                         f"grow it with {grow_tool}")
    return problems, notes


def keep_volume(wanted, current):
    """An existing volume's value with the wanted options: its volume and size stay as they are."""
    want = parse_drive(wanted)
    have = parse_drive(current)
    options = {k: v for k, v in want.items() if k not in ("volume", "size", "import-from")}
    kept = {"volume": have["volume"], **options}
    if have.get("size"):
        kept["size"] = have["size"]
    return format_props(kept, default_key="volume")


# ------------------------------------------------------------------ LXC

def _flag(value):
    """A boolean-like value as '1' or '0', or None when it is not one."""
    text = canonical_scalar(value).strip().lower()
    if text in TRUE_WORDS:
        return "1"
    if text in FALSE_WORDS:
        return "0"
    return None


def _mount_types(value):
    items = value if isinstance(value, (list, tuple)) else re.split(r"[;\s]+", str(value or ""))
    return sorted({str(item).strip() for item in items if str(item).strip()})


def lxc_feature_problems(features):
    """Messages for a `features` dict that PVE would refuse."""
    problems = []
    for name, value in (features or {}).items():
        if name not in LXC_FEATURES:
            problems.append(f"features.{name} is not a container feature (one of {', '.join(LXC_FEATURES)})")
        elif name == "mount":
            bad = [item for item in _mount_types(value) if not MOUNT_FS_TYPE.match(item)]
            if bad or isinstance(value, (dict, bool)):
                problems.append(f"features.mount must be a list of file system types (such as [nfs, cifs]), "
                                f"got {value!r}")
        elif _flag(value) is None:
            problems.append(f"features.{name} must be a boolean, got {value!r}")
    return problems


def lxc_features_value(features):
    """The `features` config value of a dict such as {nesting: true, keyctl: true}: ``keyctl=1,nesting=1``.

    Flags that are off are left out (off is PVE's default); None when nothing is on.
    """
    items = []
    for name in sorted(features or {}):
        value = features[name]
        if name == "mount":
            types = _mount_types(value)
            if types:
                items.append(f"mount={';'.join(types)}")
        elif _flag(value) == "1":
            items.append(f"{name}=1")
    return ",".join(items) or None


def _features_on(text):
    """The features a config value switches on: {flag: '1', mount: 'cifs;nfs'}."""
    result = {}
    for name, value in parse_props(text).items():
        if name == "mount":
            types = _mount_types(value)
            if types:
                result["mount"] = ";".join(types)
        elif _flag(value) == "1":
            result[name] = "1"
    return result


def lxc_net_equal(desired, current):
    """A container NIC matches when everything desired is there; the hwaddr the node picked and the
    type it adds (veth) count only when asked for."""
    want, have = parse_props(desired), parse_props(current)
    for generated in ("hwaddr", "type"):
        if generated not in want:
            have.pop(generated, None)

    def canon(values):
        result = {}
        for key, value in values.items():
            if key == "hwaddr" and value:
                result[key] = value.upper()
            else:
                flag = _flag(value) if key in ("firewall", "link_down", "host-managed") else None
                result[key] = flag or value
        return result
    return canon(want) == canon(have)


def lxc_value_equal(key, desired, current):
    """Compare one container config key's desired and current values the way PVE means them."""
    if key == "features":
        return _features_on(desired) == _features_on(current)
    if current is None or desired is None:
        return current is None and desired is None
    if NET_KEY.match(key):
        return lxc_net_equal(desired, current)
    if LXC_MOUNT_KEY.match(key):
        return drive_equal(desired, current)
    return config_value_equal(key, desired, current)


def lxc_value_to_write(key, wanted, current):
    """What to send for a changed container key: an existing NIC keeps its hwaddr unless one is asked
    for; an existing mount point keeps its volume and size and takes the new options."""
    if current is None or wanted is None:
        return wanted
    if NET_KEY.match(key):
        want = parse_props(wanted)
        hwaddr = parse_props(current).get("hwaddr")
        if "hwaddr" not in want and hwaddr:
            want["hwaddr"] = hwaddr
        return format_props(want)
    if LXC_MOUNT_KEY.match(key):
        return keep_volume(wanted, current)
    return wanted


def lxc_mount_conflicts(wanted, current):
    """(problems, notes) for rootfs and mount points the options would move, replace or resize."""
    def label(key):
        return key if key == "rootfs" else f"mounts.{key}"
    return volume_conflicts(wanted, current, LXC_MOUNT_KEY.match, label, owner="container", noun="volume",
                            move_tool="POST /nodes/{node}/lxc/{vmid}/move_volume (proxgate.core.proxmox_api)",
                            grow_tool="PUT /nodes/{node}/lxc/{vmid}/resize (proxgate.core.proxmox_api)")

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PVE property strings: ``virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1``,
``local-lvm:vm-100-disk-0,discard=on,size=32G``, ``ip=10.0.0.5/24,gw=10.0.0.1``.

Parse them to dicts, format them back, and compare them the way PVE means them:
order does not matter, booleans may be spelled 1/on/true, and a value the node
generates (a MAC, a disk's volume name and size) does not count as a difference
when the desired value leaves it out.

A value that becomes one field of a property string (a volume, a storage, an
``import-from`` source, a drive option's value) goes through
``property_field_problem`` first: PVE has no quoting, so a ``,`` in it would add
options of the caller's choosing (see docs/security.md).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

NET_MODELS = ("e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b",
              "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3")
# The drive keys of a QEMU VM, as qemu-server has them (src/PVE/QemuServer/Drive.pm valid_drive_names_with_unused):
# $MAX_IDE_DISKS, $MAX_SATA_DISKS, $MAX_SCSI_DISKS and $MAX_VIRTIO_DISKS slots of each bus (ide0-3, sata0-5,
# scsi0-30, virtio0-15), efidisk0, tpmstate0, and $MAX_UNUSED_DISKS entries of detached volumes (unused0-255).
# A node refuses any other (a key outside its schema: "property is not defined in schema").
DISK_BUSES = {"ide": 4, "sata": 6, "scsi": 31, "virtio": 16}
MAX_UNUSED_DISKS = 256
SINGLE_DRIVES = ("efidisk0", "tpmstate0")


def _numbered(prefix, count):
    """A regex of prefix0 .. prefix<count-1>, numbers as PVE writes them (no leading zero)."""
    return prefix + "(?:" + "|".join(str(number) for number in range(count)) + ")"


def _slots(buses):
    return "|".join(_numbered(bus, DISK_BUSES[bus]) for bus in buses or DISK_BUSES)


def disk_key_pattern(*buses):
    """The disk slots of the buses named (all four when none is): ``disk_key_pattern("ide", "sata", "scsi")``."""
    return re.compile(f"^(?:{_slots(buses)})$")


def disk_slots_text(*buses):
    """The disk slots of the buses named (all four when none is), for messages: ide0-ide3, sata0-sata5, ..."""
    return ", ".join(f"{bus}0-{bus}{DISK_BUSES[bus] - 1}" for bus in buses or DISK_BUSES)


_UNUSED = _numbered("unused", MAX_UNUSED_DISKS)
# A disk slot (what proxgate.core.proxmox_disk manages), an unusedN entry, and any drive key of a VM.
DISK_KEY = disk_key_pattern()
UNUSED_KEY = re.compile(f"^{_UNUSED}$")
DRIVE_KEY = re.compile(f"^(?:{_slots(())}|{'|'.join(SINGLE_DRIVES)}|{_UNUSED})$")
# A key named like a drive, in range or not: the option that sets drives claims it (and its check says the range).
DRIVE_LIKE_KEY = re.compile(f"^(?:{'|'.join(DISK_BUSES)}|efidisk|tpmstate|unused)[0-9]+$")
NET_KEY = re.compile(r"^net\d+$")
# A new disk in a create or config call: [storage:]size in GiB.
NEW_DISK = re.compile(r"^(?P<storage>[^/:\s]+):(?P<size>\d+(?:\.\d+)?)$")
# pve-common PVE::JSONSchema::parse_id, the pve-storage-id format.
STORAGE_ID = re.compile(r"^[a-z][a-z0-9\-_.]*[a-z0-9]$", re.I)
# What pve-storage names a VM's disk image: Plugin.pm get_next_vm_diskname makes vm-<vmid>-disk-<n> (with
# .<fmt> on a file storage, in the directory <vmid>/ that Plugin.pm parse_volname reads the owner from);
# LVMPlugin, LvmThinPlugin, ZFSPoolPlugin and RBDPlugin parse_volname read it from vm-<vmid>- or base-<vmid>-.
OWN_DISK = re.compile(r"^(?:(?P<dir>\d+)/)?(?:vm|base)-(?P<owner>\d+)-disk-\d+(?:\.(?:raw|qcow2|vmdk))?$")
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
TRUE_WORDS = ("1", "on", "yes", "true")
FALSE_WORDS = ("0", "off", "no", "false")
SIZE_UNITS = {"": 1 << 30, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_props(text, default_key=None):
    """A property string as an ordered dict. A first item without '=' goes under default_key
    (or becomes a key with value None when there is none)."""
    result: dict[str, str | None] = {}
    if text is None:
        return result
    for index, item in enumerate(str(text).split(",")):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            if index == 0 and default_key:
                result[default_key] = key
            else:
                result[key] = None
        else:
            result[key] = value
    return result


def format_props(values, default_key=None):
    """The property string of a dict; default_key's value goes first, without its name."""
    items = []
    if default_key and values.get(default_key) is not None:
        items.append(str(values[default_key]))
    for key, value in values.items():
        if key == default_key:
            continue
        items.append(key if value is None else f"{key}={canonical_scalar(value)}")
    return ",".join(items)


def canonical_scalar(value):
    """Booleans as PVE writes them (1/0); everything else as text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _comparable(value):
    text = canonical_scalar(value).strip()
    lowered = text.lower()
    if lowered in TRUE_WORDS:
        return "1"
    if lowered in FALSE_WORDS:
        return "0"
    return text


def props_equal(first, second, default_key=None, ignore=()):
    """True when two property strings say the same, whatever the order and boolean spelling."""
    def canon(text):
        return {k: _comparable(v) if v is not None else None
                for k, v in parse_props(text, default_key).items() if k not in ignore}
    return canon(first) == canon(second)


# ------------------------------------------------------------------ one field of a property string

def property_field_problem(option, value, first=None):
    """The message (naming option) for a value that cannot be one field of a PVE property string, or None.

    PVE::JSONSchema::parse_property_string (pve-common src/PVE/JSONSchema.pm) splits a property string at
    every ',' - there is no quoting and no escape - and reads a part as key=value as soon as it holds an '='
    (the key ends at the first '='), else as the value of the format's default key. So no field may hold a
    ',', and the first, positional field (a drive's volume, ``storage:size``) no '=' either: give first, the
    name of what that field is (such as 'volume'), for it. The value of a key=value field may hold '='
    (``import-from=local:import/a=b.qcow2`` reads back whole). Nothing may hold a line break or another
    control character: qemu-server writes a configuration as ``key: value`` lines (write_vm_config) and
    reads it back line by line (parse_vm_config).
    """
    if value is None:
        return None
    if isinstance(value, (dict, list, tuple, set)):
        return f"{option} must be a single value (a string, number or boolean), got a {type(value).__name__}"
    text = canonical_scalar(value)
    if "," in text:
        return (f"{option} must not contain ',': PVE's property strings have no quoting, so what follows a ',' "
                f"would be read as options of its own; got {text!r}")
    if first and "=" in text:
        return (f"{option} must not contain '=': PVE would read it as an option=value pair, not as the {first}; "
                f"got {text!r}")
    if CONTROL_CHARACTER.search(text):
        return (f"{option} must not contain a line break or another control character: PVE keeps a "
                f"configuration as one 'key: value' line per key; got {text!r}")
    return None


def storage_id_problem(option, value):
    """The message (naming option) for a value that is not a storage id as pve-common's parse_id takes one,
    or None. A storage id is the first field of a volume (``STORAGE:...``), so property_field_problem comes
    first and gives its reason."""
    problem = property_field_problem(option, value, first="storage id")
    if problem or value is None or STORAGE_ID.match(canonical_scalar(value)):
        return problem
    return f"{option} must be a storage id (letters, digits, '-', '_', '.'), got {value!r}"


def owned_disk_problem(volid, vmid, storage):
    """None when volid is a disk image of VM vmid on storage, named as pve-storage names one
    (``local-lvm:vm-100-disk-1``, ``local:100/vm-100-disk-1.qcow2``); else what is wrong with it."""
    problem = property_field_problem("the volume", volid, first="volume")
    if problem:
        return problem
    text = str(volid or "")
    have_storage, _sep, name = text.partition(":")
    if have_storage != storage:
        return f"it is on storage {have_storage!r}, not on {storage!r}"
    found = OWN_DISK.match(name)
    if not found:
        return f"{name!r} is not named as PVE names a VM's disk (vm-{vmid}-disk-N)"
    want = str(int(vmid))
    other = next((owner for owner in (found.group("owner"), found.group("dir")) if owner not in (None, want)), None)
    if other is not None:
        return f"it belongs to VM {other}, not to VM {want}"
    return None


# ------------------------------------------------------------------ nets

def parse_net(text):
    """A NIC as {model, macaddr, bridge, ...}: accepts ``virtio=MAC``, ``virtio`` and ``model=virtio,macaddr=MAC``."""
    raw = parse_props(text)
    result = {}
    for key, value in raw.items():
        if key in NET_MODELS:
            result["model"] = key
            if value:
                result["macaddr"] = value.upper()
        elif key == "macaddr" and value:
            result["macaddr"] = value.upper()
        else:
            result[key] = value
    return result


def net_equal(desired, current):
    """A NIC matches when everything desired is there; a MAC the node picked counts only if one was asked for."""
    want, have = parse_net(desired), parse_net(current)
    if "macaddr" not in want:
        have.pop("macaddr", None)
    return _canon_dict(want) == _canon_dict(have)


def _canon_dict(values):
    return {k: _comparable(v) if v is not None else None for k, v in values.items()}


# ------------------------------------------------------------------ drives

def parse_drive(text):
    """A drive as {volume, option: value...}; ``volume`` is ``local-lvm:vm-100-disk-0``, ``local-lvm:32``,
    ``none`` or ``cdrom``."""
    values = parse_props(text, default_key="volume")
    if "volume" not in values and "file" in values:
        values["volume"] = values.pop("file")
    return values


def volume_storage(volume):
    """The storage id of a volume id (``local-lvm:vm-100-disk-0`` -> ``local-lvm``), None for a path or keyword."""
    if not volume or volume.startswith("/") or ":" not in volume:
        return None
    return volume.split(":", 1)[0]


def size_bytes(text):
    """``32G``, ``512M``, ``1.5T`` or a bare number of GiB as bytes."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)\s*", str(text), re.I)
    if not found:
        raise ValueError(f"not a size: {text!r}")
    return int(float(found.group(1)) * SIZE_UNITS[found.group(2).upper()])


def is_cloudinit_volume(volume):
    """True for a cloud-init drive's volume: ``local-lvm:cloudinit`` asked for, ``local-lvm:vm-100-cloudinit`` made."""
    return bool(volume) and ":" in volume and "cloudinit" in volume.split(":", 1)[1]


def is_cdrom_drive(value):
    """True for a CD-ROM drive's value (``local:iso/x.iso,media=cdrom``, ``none,media=cdrom``, ``cdrom``) that is
    not the cloud-init drive (also ``media=cdrom``, but a volume of the VM's own)."""
    drive = parse_drive(value)
    volume = drive.get("volume")
    return (drive.get("media") == "cdrom" or volume == "cdrom") and not is_cloudinit_volume(volume)


def cdrom_value(value):
    """A ``cdrom`` value as qemu-server's update_vm_api makes it an ``ide2`` value: ``media=cdrom`` added when the
    value has no media."""
    text = str(value)
    return text if "media=" in text else f"{text},media=cdrom"


def drive_equal(desired, current):
    """A drive matches when its options match. A desired new disk (``storage:size``) matches any volume
    on that storage; the size is not compared here (growing a disk is a separate call) and an
    ``import-from`` has done its work once a volume is attached. A desired cloud-init drive
    (``storage:cloudinit``) matches the cloud-init volume the node made on that storage."""
    want, have = parse_drive(desired), parse_drive(current)
    want_volume, have_volume = want.pop("volume", None), have.pop("volume", None)
    for values in (want, have):
        values.pop("size", None)
        values.pop("import-from", None)
    if is_cloudinit_volume(want_volume):
        return is_cloudinit_volume(have_volume) and volume_storage(want_volume) == volume_storage(have_volume)
    new_disk = NEW_DISK.match(want_volume or "")
    if new_disk:
        if volume_storage(have_volume) != new_disk.group("storage"):
            return False
    elif want_volume != have_volume:
        return False
    return _canon_dict(want) == _canon_dict(have)


def drive_size_request(desired):
    """The size in bytes a desired drive asks for (``local-lvm:32`` or ``size=32G``), or None."""
    values = parse_drive(desired)
    new_disk = NEW_DISK.match(values.get("volume") or "")
    if new_disk:
        return size_bytes(new_disk.group("size"))
    if values.get("size"):
        return size_bytes(values["size"])
    return None


# ------------------------------------------------------------------ agent

# qemu-server's $agent_fmt (PVE::QemuServer::Agent): the fields of the `agent` option, with their defaults;
# freeze-fs has two older names a configuration may still use.
AGENT_DEFAULTS = {"enabled": "0", "fstrim_cloned_disks": "0", "freeze-fs": "1", "type": "virtio"}
AGENT_ALIASES = {"freeze-fs-on-backup": "freeze-fs", "guest-fsfreeze": "freeze-fs"}
AGENT_TYPES = ("virtio", "isa")


def agent_fields(value):
    """The fields an `agent` value names, by their current names, in the order given:
    {field: (spelling, value)}. ``True`` and ``1`` name only `enabled`."""
    if value is None:
        return {}
    fields = {}
    for key, text in parse_props(canonical_scalar(value), default_key="enabled").items():
        field = AGENT_ALIASES.get(key, key)
        fields[field] = (key, text if field == "type" else _comparable(text))
    return fields


def agent_problem(option, value):
    """The message (naming option) for an `agent` value a node would refuse, or None."""
    if value is None or isinstance(value, (bool, int)):
        return None
    if not isinstance(value, str):
        return f"{option} must be a boolean or a property string such as enabled=1,fstrim_cloned_disks=1"
    if CONTROL_CHARACTER.search(value):
        return f"{option} must not contain a line break or another control character; got {value!r}"
    known = (*AGENT_DEFAULTS, *AGENT_ALIASES)
    for field, (spelling, text) in agent_fields(value).items():
        if field not in AGENT_DEFAULTS:
            return f"{option}: {spelling!r} is not a field of the agent option (one of {', '.join(known)})"
        if field == "type" and text not in AGENT_TYPES:
            return f"{option}: type must be one of {', '.join(AGENT_TYPES)}, got {text!r}"
        if field != "type" and text not in ("0", "1"):
            return f"{option}: {spelling} must be a boolean (0 or 1), got {text!r}"
    return None


def agent_equal(desired, current):
    """True when the fields the desired value names have those values on the VM; fields it leaves out
    do not count, and a field the VM's value leaves out has PVE's default (no agent key: disabled)."""
    have = {field: text for field, (_spelling, text) in agent_fields(current).items()}
    return all(have.get(field, AGENT_DEFAULTS.get(field)) == text
               for field, (_spelling, text) in agent_fields(desired).items())


def agent_value_to_write(desired, current):
    """The VM's agent value with the desired fields set: the fields it did not name keep their values
    (and each field the spelling it already had, so an older node is not sent a name it does not know)."""
    fields = agent_fields(current)
    for field, (spelling, text) in agent_fields(desired).items():
        fields[field] = (fields[field][0] if field in fields else spelling, text)
    order = sorted(fields, key=lambda field: field != "enabled")
    return ",".join(f"{fields[field][0]}={fields[field][1]}" for field in order)


def config_value_equal(key, desired, current):
    """Compare one config key's desired and current values the way PVE means them."""
    if key == "agent" and desired is not None:
        return agent_equal(desired, current)
    if current is None:
        return desired is None
    if desired is None:
        return False
    if NET_KEY.match(key):
        return net_equal(desired, current)
    if DRIVE_KEY.match(key):
        return drive_equal(desired, current)
    if key == "tags":
        return split_tags(desired) == split_tags(current)
    if key == "description":
        # A node strips trailing whitespace from a description whenever it reads a configuration.
        return str(desired).rstrip() == str(current).rstrip()
    if key == "sshkeys":
        return decode_sshkeys(desired) == decode_sshkeys(current)
    desired_text, current_text = canonical_scalar(desired), canonical_scalar(current)
    if "=" in desired_text or "=" in current_text:
        return props_equal(desired_text, current_text)
    return _comparable(desired_text) == _comparable(current_text)


def split_tags(value):
    """PVE tags as a sorted list: the API takes ``a;b``, ``a,b`` or ``a b`` and stores them lower-cased."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else re.split(r"[;, ]+", str(value))
    return sorted({str(tag).strip().lower() for tag in items if str(tag).strip()})


def join_tags(tags):
    return ";".join(split_tags(tags))


# ------------------------------------------------------------------ cloud-init

def encode_sshkeys(keys):
    """SSH public keys as PVE's ``sshkeys`` takes them: one per line, URL-encoded with %20 for spaces
    and %0A for newlines (every byte but letters, digits and ``-._~`` escaped, as Perl's uri_escape)."""
    lines = keys.splitlines() if isinstance(keys, str) else list(keys)
    text = "\n".join(line.strip() for line in lines if line and line.strip())
    return quote(text + "\n", safe="")


def decode_sshkeys(value):
    """The set of keys in an ``sshkeys`` value, encoded or not, whitespace normalised."""
    return {" ".join(line.split()) for line in unquote(str(value or "")).splitlines() if line.strip()}

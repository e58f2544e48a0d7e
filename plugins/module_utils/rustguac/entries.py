# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address-book entries: which fields there are, which are secrets, and the plan of a write.

What rustguac 1.9.7 does with an entry (src/vault.rs AddressBookEntry, EntryInfo; src/api.rs ab_list_entries,
ab_create_entry, ab_update_entry):

- The listing names the protocol ``session_type`` (the written field is ``type``), lists unset fields as
  ``null`` and never returns a secret: only ``has_credentials`` (a password or private key is stored).
- PUT *replaces* the entry with its body (``type`` required): only the secrets the body leaves out are kept
  (``password``, ``private_key``, ``container_password``, ``proxmox_token_secret``, and per jump host by
  index ``password``, ``private_key``, ``host_key``); every other field left out is cleared.
- POST writes the body whole, also over an existing entry (its secrets are then lost).

So an update sends the whole entry as listed (banner, recording, jump hosts and every field this collection
has no option for), with the options given on top; secrets are write-only and ``plan_entry`` decides which
to send.
"""

from __future__ import annotations

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import SECRET_MASK, Changes

TYPES = ("ssh", "rdp", "vnc", "web")
SECRETS = ("password", "private_key")
FIELDS = ("type", "hostname", "port", "username", "url", "domain", "security", "ignore_cert", "auth_pkg",
          "kdc_url", "color_depth", "enable_drive", "display_name", "prompt_credentials", "banner",
          "enable_recording", "disable_copy", "disable_paste", "allow_sharing")
HOP_FIELDS = ("hostname", "port", "username")
HOP_PORT = 22
COLOR_DEPTHS = (8, 16, 24, 32)
# Keys of the listing that are not entry fields: the name (in the URL) and what the server derives.
LISTED_ONLY = ("name", "has_credentials", "has_container_password", "has_proxmox_token_secret",
               "credential_variables", "has_password", "has_private_key")
# Which types use a field (the seed's "Used by" column); the rest are "All".
USED_BY = {
    "hostname": ("ssh", "rdp", "vnc"), "port": ("ssh", "rdp", "vnc"), "username": ("ssh", "rdp"),
    "password": ("ssh", "rdp", "vnc"), "private_key": ("ssh",), "url": ("web",), "domain": ("rdp",),
    "security": ("rdp",), "ignore_cert": ("rdp",), "auth_pkg": ("rdp",), "kdc_url": ("rdp",),
    "color_depth": ("rdp",), "enable_drive": ("rdp", "ssh"),
}


def entry_argument_spec():
    """The options of one entry's fields (rustguac_entry's, and each item of rustguac_sync_entries' entries)."""
    return dict(
        type=dict(type="str", choices=list(TYPES)),
        hostname=dict(type="str"),
        port=dict(type="int"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        private_key=dict(type="str", no_log=True),
        url=dict(type="str"),
        domain=dict(type="str"),
        security=dict(type="str", choices=["tls", "nla", "rdp"]),
        ignore_cert=dict(type="bool"),
        auth_pkg=dict(type="str", choices=["kerberos", "ntlm", ""]),
        kdc_url=dict(type="str"),
        color_depth=dict(type="int", choices=list(COLOR_DEPTHS)),
        enable_drive=dict(type="bool"),
        display_name=dict(type="str"),
        prompt_credentials=dict(type="bool"),
        banner=dict(type="str"),
        enable_recording=dict(type="bool"),
        disable_copy=dict(type="bool"),
        disable_paste=dict(type="bool"),
        allow_sharing=dict(type="bool"),
        jump_hosts=dict(type="list", elements="dict", options=dict(
            hostname=dict(type="str", required=True),
            port=dict(type="int", default=HOP_PORT),
            username=dict(type="str", required=True),
            password=dict(type="str", no_log=True),
            private_key=dict(type="str", no_log=True),
        )),
    )


def public_hop(hop):
    """A jump host as PUT takes it back: hostname, port (defaulted), username; no secret, no fingerprint (the
    server keeps each hop's secrets and host key by index)."""
    hop = hop or {}
    return dict(hostname=hop.get("hostname"), port=hop.get("port") or HOP_PORT, username=hop.get("username"))


def stored_entry(listed):
    """The whole entry as a PUT body, from its listing: ``session_type`` back to ``type``, the name and the
    derived flags dropped, null fields left out (null and absent are the same to the server), hops as
    public_hop. Every other field is kept as listed, also those the collection has no option for."""
    body = {}
    for key, value in (listed or {}).items():
        if key in LISTED_ONLY or value is None:
            continue
        if key == "session_type":
            body["type"] = value
        elif key == "jump_hosts":
            body["jump_hosts"] = [public_hop(hop) for hop in value]
        else:
            body[key] = value
    return body


def public_entry(entry):
    """An entry (as listed, or a body) without secrets, the protocol as ``type``, ``jump_hosts`` always a list."""
    public = {key: value for key, value in stored_entry(entry).items()
              if key not in SECRETS and key not in ("container_password", "proxmox_token_secret")}
    public["jump_hosts"] = public.get("jump_hosts") or []
    return public


def input_problems(params):
    """Texts naming each option that does not fit the entry's type (empty when all is well)."""
    problems = []
    entry_type = params.get("type")
    for key, types in USED_BY.items():
        if params.get(key) not in (None, "") and entry_type and entry_type not in types:
            problems.append(f"{key} is not used by type {entry_type} (only by {', '.join(types)})")
    if entry_type == "web" and not params.get("url"):
        problems.append("url is required for type web")
    if entry_type in ("ssh", "rdp", "vnc") and not params.get("hostname"):
        problems.append(f"hostname is required for type {entry_type}")
    port = params.get("port")
    if port is not None and not 1 <= port <= 65535:
        problems.append(f"port must be between 1 and 65535, got {port}")
    if params.get("color_depth") is not None and params["color_depth"] not in COLOR_DEPTHS:
        problems.append(f"color_depth must be one of {', '.join(map(str, COLOR_DEPTHS))}, "
                        f"got {params['color_depth']}")
    for index, hop in enumerate(params.get("jump_hosts") or []):
        if hop.get("port") is not None and not 1 <= hop["port"] <= 65535:
            problems.append(f"jump_hosts[{index}].port must be between 1 and 65535, got {hop['port']}")
    return problems


def secret_is_new(current, name):
    """Whether the server says the entry has no such secret yet: ``has_credentials: false`` (rustguac 1.9.7:
    neither a password nor a private key is stored), or a ``has_<name>: false`` flag where a server gives one."""
    current = current or {}
    return current.get("has_credentials") is False or current.get(f"has_{name}") is False


def plan_entry(current, params, update_password, extra=None):
    """(body, changes, secrets_sent) for making the entry current (None: it does not exist) what params say.

    extra holds more fields to set, by their server names (rustguac_sync_entries' guest identity).

    body is the whole entry to POST or PUT (None when nothing is to be written); changes the differences,
    secrets marked as before ``********``; secrets_sent the names of the secrets the body carries
    (``password``, ``jump_hosts[1].private_key``).

    The body of an update is the whole stored entry (stored_entry) with the options given on top, because the
    server's PUT clears every field it leaves out; fields given as None keep their stored values.

    Secrets are sent when the entry (or the jump host, by index) is created, when the server says the entry
    has none (``has_credentials: false``), and with update_password=always every time one is given (then the
    run always reports a change). A hop whose hostname, port or username changes counts as created: the
    server would otherwise merge the old hop's credentials into it.
    """
    exists = current is not None
    stored = public_entry(current) if exists else {"jump_hosts": []}
    wanted = {key: params[key] for key in FIELDS if params.get(key) is not None}
    wanted.update({key: value for key, value in (extra or {}).items() if value is not None})
    changes = Changes(secret_keys=set(SECRETS))
    for key, value in wanted.items():
        if stored.get(key) != value:
            changes.add(key, stored.get(key), value)
    body = {**stored_entry(current), **wanted}
    sent = []

    def send(name, value, holder, before_holder, label):
        holder[name] = value
        sent.append(label)
        before_holder[name] = SECRET_MASK if exists else None

    before_secrets: dict[str, str | None] = {}
    after_secrets: dict[str, str] = {}
    for name in SECRETS:
        value = params.get(name)
        if value and (not exists or update_password == "always" or secret_is_new(current, name)):
            send(name, value, body, before_secrets, name)
            after_secrets[name] = value
    for name, value in after_secrets.items():
        changes.add(name, before_secrets[name], value)

    if params.get("jump_hosts") is not None:
        old_hops = stored["jump_hosts"]
        raw_old_hops = (current or {}).get("jump_hosts") or []
        new_hops = []
        hop_changes = False
        for index, hop in enumerate(params["jump_hosts"]):
            public = public_hop(hop)
            old = old_hops[index] if index < len(old_hops) else None
            hop_is_new = old != public
            hop_changes |= hop_is_new
            out = dict(public)
            for name in SECRETS:
                unset = not hop_is_new and secret_is_new(raw_old_hops[index], name)
                if hop.get(name) and (not exists or hop_is_new or unset or update_password == "always"):
                    out[name] = hop[name]
                    sent.append(f"jump_hosts[{index}].{name}")
                    hop_changes = True
            new_hops.append(out)
        hop_changes |= len(old_hops) != len(new_hops)
        body["jump_hosts"] = new_hops
        if hop_changes:
            changes.add("jump_hosts", old_hops, [dict(public_hop(hop), **{
                name: hop[name] for name in SECRETS if f"jump_hosts[{index}].{name}" in sent})
                for index, hop in enumerate(params["jump_hosts"])])
    if exists and not changes:
        return None, changes, []
    return body, changes, sent


# --- which entry is a guest's: the identity stored in the entry ---------------------------------------------

# rustguac 1.9.7 drops fields it does not know (src/vault.rs AddressBookEntry has no deny_unknown_fields and no
# free-text field), so the identity of the guest an entry reaches is kept in proxmox_node: stored and listed
# for every entry, read by the server only for entries of session type "proxmox" (src/session.rs), which
# these modules do not write.
GUEST_FIELD = "proxmox_node"
GUEST_MAX = 128
NAME_MAX = 64


def guest_problem(option, guest):
    """Why a guest identity is refused, naming the option (None when it is good)."""
    if guest is None:
        return None
    text = str(guest)
    if not text.strip():
        return f"{option} must not be empty"
    if len(text) > GUEST_MAX:
        return f"{option} has {len(text)} characters, at most {GUEST_MAX} are taken"
    if any(ord(char) < 32 or ord(char) == 127 or char.isspace() for char in text):
        return f"{option} must not hold spaces or control characters, got {text!r}"
    return None


def identity_of(listed):
    """The guest identity stored in an entry (as listed), None when it has none."""
    value = (listed or {}).get(GUEST_FIELD)
    return value or None


def _name_part(text):
    return "".join(char if char.isascii() and (char.isalnum() or char in "._-") else "-" for char in text)


def other_names(name, guest):
    """The names a guest's entry takes when its own name is another guest's entry: ``<name>-<vmid>``, then
    ``<name>-<cluster>-<vmid>`` (the guest identity's last part and the part before it, characters outside
    rustguac's [A-Za-z0-9._-] made '-'), the name cut so that the whole stays within 64 characters."""
    cluster, _slash, vmid = str(guest).rpartition("/")
    suffixes = [f"-{_name_part(vmid)}"]
    if cluster:
        suffixes.append(f"-{_name_part(cluster)}-{_name_part(vmid)}")
    names = []
    for suffix in suffixes:
        if len(suffix) < NAME_MAX:
            names.append(name[:NAME_MAX - len(suffix)] + suffix)
    return names


def resolve_names(entries, stored_by_name):
    """(the name each wanted entry is written under, the collisions, the problems) for a folder's entries.

    An entry whose ``guest`` is stored in an entry of the folder is that entry, whatever its name. Otherwise the
    wanted name is used unless the entry of that name belongs to another guest, or was stored without a guest
    for another hostname: such an entry is never re-pointed. A wanted entry with a ``guest`` then takes
    other_names' first free name and the collision is reported; one without a ``guest`` is a problem (the run
    fails before any write). An entry stored without a guest, for the same hostname, is adopted.
    """
    final: list[str | None] = [None] * len(entries)
    claimed = {}
    by_identity: dict[str, list[str]] = {}
    for name in sorted(stored_by_name):
        identity = identity_of(stored_by_name[name])
        if identity:
            by_identity.setdefault(identity, []).append(name)
    for index, entry in enumerate(entries):
        names = by_identity.get(entry.get("guest")) if entry.get("guest") else None
        if names:
            name = entry["name"] if entry["name"] in names else names[0]
            if name not in claimed:
                final[index] = name
                claimed[name] = index
    wanted_names = {entry["name"] for entry in entries}
    collisions, problems = [], []
    for index, entry in enumerate(entries):
        if final[index] is not None:
            continue
        name, guest = entry["name"], entry.get("guest")
        reason = _taken(name, guest, entry, stored_by_name, claimed, entries)
        if reason is None:
            final[index] = name
            claimed[name] = index
            continue
        if not guest:
            problems.append(f"entries[{index}] ({name}): {reason}; it is not re-pointed at {entry.get('hostname')!r}"
                            ": give the entry a guest (the identity of the machine) or another name")
            continue
        for candidate in other_names(name, guest):
            if candidate in claimed or candidate in wanted_names or candidate in stored_by_name:
                continue
            final[index] = candidate
            claimed[candidate] = index
            collisions.append(dict(name=name, guest=guest, entry=candidate, reason=reason))
            break
        else:
            problems.append(f"entries[{index}] ({name}): {reason}, and the other names for guest {guest!r} "
                            f"({', '.join(other_names(name, guest))}) are taken too")
    return final, collisions, problems


def _taken(name, guest, entry, stored_by_name, claimed, entries):
    """Why the wanted entry may not have the stored entry of its name, None when it may."""
    stored = stored_by_name.get(name)
    identity = identity_of(stored)
    if identity and identity != guest:
        return f"the entry {name!r} belongs to guest {identity!r}"
    if name in claimed:
        return f"the name is the entry of guest {entries[claimed[name]].get('guest')!r}"
    if stored is None:
        return None
    if not identity and guest and stored.get("hostname") != entry.get("hostname"):
        return (f"the entry {name!r} was stored without a guest for hostname {stored.get('hostname')!r}, not "
                f"{entry.get('hostname')!r}")
    return None

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address-book entries: which fields there are, which are secrets, and the plan of a write.

The server never returns an entry's secrets (``password``, ``private_key``, also per jump host), and its PUT
merges: secrets left out of the body are kept, jump-host secrets per hop by index. So secrets are write-only:
``plan_entry`` decides which to send, and everything else is compared with what the server lists.
"""

from __future__ import annotations

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import SECRET_MASK, Changes

TYPES = ("ssh", "rdp", "vnc", "web")
SECRETS = ("password", "private_key")
FIELDS = ("type", "hostname", "port", "username", "url", "domain", "security", "ignore_cert", "auth_pkg",
          "kdc_url", "color_depth", "enable_drive", "display_name", "prompt_credentials")
HOP_FIELDS = ("hostname", "port", "username")
HOP_PORT = 22
COLOR_DEPTHS = (8, 16, 24, 32)
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
        jump_hosts=dict(type="list", elements="dict", options=dict(
            hostname=dict(type="str", required=True),
            port=dict(type="int", default=HOP_PORT),
            username=dict(type="str", required=True),
            password=dict(type="str", no_log=True),
            private_key=dict(type="str", no_log=True),
        )),
    )


def public_hop(hop):
    """A jump host without its secrets, the port defaulted."""
    hop = hop or {}
    return dict(hostname=hop.get("hostname"), port=hop.get("port") or HOP_PORT, username=hop.get("username"))


def public_entry(entry):
    """An entry as listed, reduced to the fields this module manages, secrets (if any) left out."""
    entry = entry or {}
    public = {key: entry[key] for key in FIELDS if entry.get(key) is not None}
    public["jump_hosts"] = [public_hop(hop) for hop in entry.get("jump_hosts") or []]
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
    """Whether the server says the entry has no such secret yet (a ``has_<name>: false`` flag), if it says so."""
    return (current or {}).get(f"has_{name}") is False


def plan_entry(current, params, update_password):
    """(body, changes, secrets_sent) for making the entry current (None: it does not exist) what params say.

    body is the whole entry to POST or PUT (None when nothing is to be written); changes the differences,
    secrets marked as before ``********``; secrets_sent the names of the secrets the body carries
    (``password``, ``jump_hosts[1].private_key``).

    Secrets are sent when the entry (or the jump host, by index) is created, when the server flags one as
    not set (``has_password: false``, also per hop), and with update_password=always every time one is given
    (then the run always reports a change). A hop whose hostname, port or username changes counts as
    created: the server would otherwise merge the old hop's credentials into it.
    """
    exists = current is not None
    stored = public_entry(current) if exists else {"jump_hosts": []}
    wanted = {key: params[key] for key in FIELDS if params.get(key) is not None}
    changes = Changes(secret_keys=set(SECRETS))
    for key, value in wanted.items():
        if stored.get(key) != value:
            changes.add(key, stored.get(key), value)
    body = {**stored, **wanted}
    sent = []

    def send(name, value, holder, before_holder, label):
        holder[name] = value
        sent.append(label)
        before_holder[name] = SECRET_MASK if exists else None

    before_secrets, after_secrets = {}, {}
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

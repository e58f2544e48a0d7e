#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_api
short_description: Call any path of the Proxmox VE API, optionally idempotently
version_added: 0.1.0
description:
  - The escape hatch for everything in the Proxmox VE API that has no dedicated module. It calls one
    path of C(/api2/json) with the collection's authentication, retries and task waiting.
  - B(Raw mode) (no O(state)) sends the call as given. A V(GET) reports C(changed=false); a V(POST),
    V(PUT) or V(DELETE) always reports C(changed=true), and in check mode it is not sent.
  - B(Idempotent mode) (O(state=present)) first reads the object with a V(GET) of the same path,
    compares each key of O(data) with its current value the way Proxmox VE means it, and writes only
    the keys that differ. When nothing differs nothing is written and C(changed=false).
  - When the reply of a write is a task id (UPID), the module waits for the task (O(wait)) and fails
    with the task's exit status and the end of its log when the task fails.
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
      - Reads are sent; writes are not. A raw write reports C(changed=true) and RV(msg) says it was not sent.
  diff_mode:
    support: partial
    details:
      - With O(state=present), the diff holds the before and after values of the differing keys only,
        secrets masked. Raw mode does not know the state before the call and returns no diff.
options:
  path:
    description:
      - The API path, relative to C(/api2/json), such as C(/cluster/options) or
        C(nodes/pve1/qemu/101/config). The leading C(/) is optional; a leading C(/api2/json) is dropped.
      - Not a full URL (the node's address is O(api_url)), no C(.) or C(..) segments, and no query
        string (parameters go in O(data)).
      - A path segment that itself contains C(/) (a volume id such as C(local:iso/x.iso)) must be
        URL-encoded by you (C(local:iso%2Fx.iso)).
      - This is a raw path, sent as given. The names in it are not checked against PVE's formats nor
        quoted, as the other modules do with their node, pool, storage and snapshot name options. A
        variable placed in it can add segments (C(pve1/qemu/101/status/stop)); build it only from values
        you trust.
    type: str
    required: true
  method:
    description:
      - The HTTP method. V(GET) reads, V(POST) creates or starts work, V(PUT) updates, V(DELETE) removes.
      - Defaults to V(GET) in raw mode and to V(PUT) with O(state=present), where only V(PUT) and
        V(POST) are allowed (use V(POST) where the API updates with a POST, such as the asynchronous
        C(nodes/{node}/qemu/{vmid}/config)).
      - One of V(GET), V(POST), V(PUT) and V(DELETE), in any case.
    type: str
  data:
    description:
      - The call's parameters, spelled as the API spells them (C(import-from), C(mac_prefix)). They go
        in the query string for V(GET) and V(DELETE) and in the form body for V(POST) and V(PUT).
      - Booleans are sent as C(1)/C(0) and lists as repeated parameters, except C(delete), whose list
        is joined with commas as the API expects.
      - A nested setting is a property string, such as C(virtio,bridge=vmbr0) or C(shutdown_policy=migrate).
      - With O(state=present), C(delete) lists keys to remove; only those that exist are sent.
        C(digest) and C(skiplock) are sent with a write but are not compared.
      - B(Secrets) in O(data) (passwords, token secrets, keys) are masked in the results and the diff
        when their key is matched by O(secret_keys), including in the returned invocation. Ansible
        itself cannot know which values inside a dict are secret before the module runs, so it logs the
        raw arguments in the target's system log. Keep such values in Ansible Vault and set
        C(no_log) on the task when they must not appear anywhere.
    type: dict
  state:
    description:
      - V(present) makes the call idempotent, see the description. It needs O(data) and an existing
        object at O(path) to compare against, or, with O(id_key), a collection to create the object in.
      - Values are compared as Proxmox VE means them. Property strings match whatever the order of their
        items, booleans match whatever their spelling (V(1), V(on), V(true)), tags match in any order
        and case, a NIC without a MAC matches the MAC the node picked, a new disk C(storage:size) matches
        any volume on that storage, and lists match as sets of items. Where a reply shows a property
        string as an object or a list, it is compared as such.
      - An empty string matches a key that is not set.
      - For V(PUT) C(/access/acl), whose V(GET) is a list, each role of C(roles) for each member of
        C(users), C(groups) and C(tokens) must be in the ACL on C(path) with C(propagate) (default
        V(true)), or, with C(delete), be absent; the call is sent as given when one is not.
      - A value the API hides when read (C(cipassword) reads as C(**********)) cannot be compared, so it
        is written on every run, with a warning.
    type: str
    choices: [present]
  id_key:
    description:
      - With O(state=present) and V(POST) to a collection (a path whose V(GET) returns a list, such as
        C(/pools) or C(/access/groups)), the key of O(data) that names the object in it, as the list's
        items name it (C(poolid), C(groupid), C(userid)).
      - The object is the item of the list with that value. When there is none, the call is sent as given
        and creates it. When there is one, the other keys of O(data) are compared with a V(GET) of
        C(PATH/ID), and those that differ are written with a V(PUT) there.
    type: str
  wait:
    description:
      - When the reply is a task id (UPID), wait for the task to finish. The result then has the task's
        status in RV(status), and the module fails when the task fails.
      - With V(false), RV(data) is the UPID and the task goes on in the background.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for a task when O(wait=true). The module fails when the task is still running
        then; the task goes on.
    type: int
    default: 600
  secret_keys:
    description:
      - Names of parameters whose values are secrets. A key of O(data) or of the reply is secret when
        its whole name, or one of the words of its name (split at C(-), C(_) and C(.)), is in this list,
        case ignored. So V(key) matches C(encryption-key) but not C(keyboard) or C(sshkeys).
      - Their values are replaced by C(********) in RV(data), in the diff and everywhere in the module's
        output.
      - In the list a guest's C(.../pending) returns, C(key) is the name of a configuration key and is
        shown; the C(value) and C(pending) of an item are masked when the key it names is a secret
        (C(cipassword)).
      - Set to V([]) to mask nothing.
    type: list
    elements: str
    default: [password, passwd, cipassword, secret, token, key, otp]
notes:
  - Needs the privileges of the path and method called, as the API viewer lists them (for example
    C(Sys.Modify) on C(/) for C(PUT /cluster/options), C(VM.Config.Options) on C(/vms/{vmid}) for a VM's
    description); C(state=present) also needs the right to read the path.
  - Transient faults (a connection that could not be made, HTTP 595, a guest locked by another task) are
    retried up to O(api_retries) times with a backoff of 1, 2, 4... seconds. A request the node may have
    carried out (a lost reply, or HTTP 502, 503, 504 or 596 from a proxy in its place) is resent only for
    V(GET), V(PUT) and V(DELETE); a V(POST) is never sent twice, and its error says the outcome is unknown.
  - "With O(state=present), the comparison reads the object the way a V(GET) of O(path) returns it. For a
    guest's C(config), that includes pending values: a change that a running guest takes at its next
    start counts as done."
seealso:
  - name: Proxmox VE API viewer
    description: Every path, method and parameter of the API.
    link: https://pve.proxmox.com/pve-docs/api-viewer/
"""

EXAMPLES = r"""
- name: Set cluster options idempotently (auth from PROXMOX_* environment variables)
  proxgate.core.proxmox_api:
    path: /cluster/options
    state: present
    data:
      keyboard: de
      mac_prefix: "BC:24:11"
      ha: shutdown_policy=migrate
      tag-style: shape=circle,ordering=config

- name: Set a VM's description and memory, writing only what differs
  proxgate.core.proxmox_api:
    api_url: https://pve1.example.com:8006
    api_token_id: automation@pve!ansible
    api_token_secret: "{{ vault_pve_token_secret }}"
    path: /nodes/pve1/qemu/101/config
    state: present
    data:
      description: Web server, managed by Ansible
      memory: 4096
      delete: [serial0]
  register: web01_config

- name: Start a VM and wait for the start task
  proxgate.core.proxmox_api:
    path: /nodes/pve2/qemu/103/status/start
    method: POST
    timeout: 120
  register: started

- name: Show the task's exit status (OK, or WARNINGS with a count)
  ansible.builtin.debug:
    msg: "{{ started.data }} ended with {{ started.status.exitstatus }}"

- name: Read the nodes of the cluster
  proxgate.core.proxmox_api:
    path: /nodes
  register: nodes

- name: Names of the online nodes
  ansible.builtin.debug:
    msg: "{{ nodes.data | selectattr('status', 'eq', 'online') | map(attribute='node') | list }}"

- name: Set a cloud-init user and password (the password is hidden by the API, so it is written every run)
  proxgate.core.proxmox_api:
    path: nodes/pve1/qemu/101/config
    method: POST
    state: present
    data:
      ciuser: admin
      cipassword: "{{ vault_admin_password }}"
  no_log: true

- name: A pool, created when it is missing and its comment kept as given
  proxgate.core.proxmox_api:
    path: /pools
    method: POST
    state: present
    id_key: poolid
    data:
      poolid: development
      comment: Test and development VMs

- name: Grant a group a role on a pool (sent only when the ACL lacks an entry)
  proxgate.core.proxmox_api:
    path: /access/acl
    method: PUT
    state: present
    data:
      path: /pool/production
      groups: operators
      roles: PVEVMUser
"""

RETURN = r"""
data:
  description:
    - The C(data) of the API's reply, with the values of O(secret_keys) masked. For a call that
      started a task, its UPID.
    - With O(state=present), the reply of the write, or V(null) when nothing was written.
  returned: always
  type: raw
  sample: "UPID:pve2:0001A2B3:00C4D5E6:6740F0A1:qmstart:103:root@pam:"
status:
  description: The status of the task the call started, once it stopped.
  returned: when the reply was a task id and O(wait=true)
  type: dict
  sample: {status: stopped, exitstatus: OK, type: qmstart, id: "103", node: pve2, user: root@pam,
           upid: "UPID:pve2:0001A2B3:00C4D5E6:6740F0A1:qmstart:103:root@pam:"}
changed_keys:
  description: The keys of O(data) that differed and were written (or would be, in check mode), sorted.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [description, memory]
msg:
  description: Says that a write was not sent because of check mode.
  returned: in check mode, when a write would have been sent
  type: str
  sample: "check mode: not sent"
"""

import re
from urllib.parse import unquote

from ansible_collections.proxgate.core.plugins.module_utils.common import api_state
from ansible_collections.proxgate.core.plugins.module_utils.common.api_state import ApiCallModule
from ansible_collections.proxgate.core.plugins.module_utils.common.compare import dict_changes
from ansible_collections.proxgate.core.plugins.module_utils.common.diff import SECRET_MASK
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxApiError, api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import (
    canonical_scalar,
    config_value_equal,
    format_props,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.tasks import is_upid

METHODS = ("GET", "POST", "PUT", "DELETE")
PRESENT_METHODS = ("PUT", "POST")
QUERY_METHODS = ("GET", "DELETE")
API_PREFIX = "/api2/json"
DEFAULT_SECRET_KEYS = ["password", "passwd", "cipassword", "secret", "token", "key", "otp"]
# Sent along with a write when given, but never a reason for one.
PASS_THROUGH_KEYS = ("digest", "skiplock")
# PUT /access/acl: the options of data that list its members, and the kind of member each gives.
ACL_PATH = "/access/acl"
ACL_MEMBERS = (("user", "users"), ("group", "groups"), ("token", "tokens"))
# The fields of an item of a guest's GET .../pending (qemu-server and pve-container's vm_pending).
PENDING_FIELDS = {"key", "value", "pending", "delete"}


# ------------------------------------------------------------------ input

def normalize_path(path):
    """The path as /a/b/c under /api2/json; ValueError with a message naming `path` when it is not one."""
    text = (path or "").strip()
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        raise ValueError(f"path must be relative to {API_PREFIX} (such as /cluster/options), not a full URL: "
                         f"{text!r}; the node's address goes in api_url")
    if "?" in text or "#" in text:
        raise ValueError(f"path must not carry a query string or fragment: {text!r}; give parameters in data")
    if any(ord(char) < 32 or char == "\\" for char in text):
        raise ValueError(f"path contains a control character or a backslash: {text!r}")
    segments = [segment for segment in text.split("/") if segment]
    if segments[:2] == ["api2", "json"]:
        segments = segments[2:]
    if any(unquote(segment) in (".", "..") for segment in segments):
        raise ValueError(f"path must not contain '.' or '..' segments: {text!r}")
    if not segments:
        raise ValueError(f"path names no API object: {text!r}; give one such as /nodes or /cluster/options")
    return "/" + "/".join(segments)


def resolve_method(method, state):
    """The method to send: the given one (any case), else GET in raw mode and PUT with state present."""
    if method is None:
        return "PUT" if state == "present" else "GET"
    upper = str(method).strip().upper()
    if upper not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if state == "present" and upper not in PRESENT_METHODS:
        raise ValueError(f"method must be PUT or POST with state: present (it writes the keys that differ), "
                         f"got {upper}; for a read or a removal, leave state out")
    return upper


def check_data(data, state):
    """ValueError naming the offending key of `data` when a value is no API parameter."""
    if state == "present" and not data:
        raise ValueError("data is required with state: present: give the keys and values the object must have")
    for key, value in (data or {}).items():
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, (dict, list)) for item in items):
            raise ValueError(f"data.{key} must be a scalar or a list of scalars; a nested setting is a property "
                             "string such as 'virtio,bridge=vmbr0'")
        if state == "present" and value is None:
            raise ValueError(f"data.{key} is null; with state: present, list a key to remove in data.delete")
    deleted = set(deletion_list(data)) if state == "present" else set()
    both = sorted(deleted & set(data or {}))
    if both:
        raise ValueError(f"data.delete lists {', '.join(both)}, which data also sets")


def split_items(text):
    """A list parameter as PVE's split_list reads it: items separated by commas, semicolons or white space."""
    if isinstance(text, (list, tuple)):
        text = ",".join(str(item) for item in text)
    return [item for item in re.split(r"[\s,;]+", str(text or "")) if item]


def is_true(value):
    return canonical_scalar(value).strip().lower() in ("1", "true", "on", "yes")


def acl_state(propagate):
    """What the diff shows of one ACL entry."""
    if propagate is None:
        return "absent"
    return "present, propagated" if propagate else "present, not propagated"


def check_id_key(id_key, data, state, method):
    """ValueError naming id_key when it cannot name an object of a collection."""
    if id_key is None:
        return
    if state != "present" or method != "POST":
        raise ValueError("id_key applies only with state: present and method: POST (an object of a collection, "
                         "created when it is missing)")
    value = (data or {}).get(id_key)
    if value is None or isinstance(value, (list, bool)) or str(value) == "":
        raise ValueError(f"id_key is {id_key!r}, so data.{id_key} must give the object's id")


def deletion_list(data):
    """The keys a `delete` parameter of data names (comma, semicolon or space separated, or a list)."""
    value = (data or {}).get("delete")
    if isinstance(value, list):
        value = ",".join(str(item) for item in value)
    if not isinstance(value, str):
        # `delete` is a boolean on some paths (/access/acl): then it is no key list.
        return []
    return [item for item in re.split(r"[,;\s]+", value) if item]


def deletes_keys(data):
    """True when data's `delete` is a key list (and so not a value to compare)."""
    return isinstance((data or {}).get("delete"), (str, list))


def encode_delete(data):
    """data with a list `delete` joined by commas, as PVE's configid-list parameters read it."""
    if isinstance((data or {}).get("delete"), list):
        return {**data, "delete": ",".join(str(item) for item in data["delete"])}
    return data


# ---------------------------------------------------------------- secrets

def key_words(name):
    """The words of a key name: split at - _ . (PVE's names are lower case)."""
    return re.split(r"[-_.]", str(name).lower())


def is_secret_key(name, secret_keys):
    """True when the name, or one of its words (split at - _ .), is one of secret_keys, case ignored."""
    return api_state.is_secret_key(name, secret_keys, key_words)


def secret_values(data, secret_keys):
    """The texts of data's secret values, for Ansible to mask wherever they appear in the output."""
    values = set()
    for key, value in (data or {}).items():
        if not is_secret_key(key, secret_keys):
            continue
        for item in value if isinstance(value, list) else [value]:
            if item is not None and not isinstance(item, bool) and str(item) != "":
                values.add(str(item))
    return values


def mask_reply(reply, secret_keys):
    """The reply with the values of its secret keys masked; a pending list (is_pending_list) by the keys its
    items name."""
    if is_pending_list(reply):
        return [mask_pending_item(item, secret_keys) for item in reply]
    return api_state.mask_reply(reply, secret_keys, key_words)


def is_pending_list(reply):
    """True for the reply of a guest's GET .../pending: a list of {key, value, pending, delete}, where `key`
    is the name of a configuration key, never a secret."""
    return isinstance(reply, list) and bool(reply) and all(
        isinstance(item, dict) and isinstance(item.get("key"), str) and set(item) <= PENDING_FIELDS for item in reply)


def mask_pending_item(item, secret_keys):
    """One item of a pending list: its value and pending value are masked when the key it names is a secret
    (cipassword), and its key's name is shown."""
    if not is_secret_key(item["key"], secret_keys):
        return item
    return {field: SECRET_MASK if field in ("value", "pending") and value not in (None, "") else value
            for field, value in item.items()}


# -------------------------------------------------------------- comparing

def list_items(value):
    """A list value, or a list given as one string, as a sorted list of texts."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", str(value))
    return sorted(canonical_scalar(item) for item in items if str(item) != "")


def value_equal(key, desired, current):
    """Whether a key's current value already says what the desired value says."""
    if isinstance(current, dict):
        # Some GETs (/cluster/options: ha, migration, tag-style...) return a property string parsed.
        current = format_props(current)
    if desired == "" and current in (None, ""):
        return True
    if key != "tags" and (isinstance(desired, (list, tuple)) or isinstance(current, list)):
        return list_items(desired) == list_items(current)
    return config_value_equal(key, desired, current)


def plan_changes(current, desired, secret_keys=()):
    """The keys of desired whose current value differs, and the deleted keys that still exist
    (after=None); pass-through keys and a key-list `delete` are not compared."""
    key_list_delete = deletes_keys(desired)

    def not_compared(key, _value, _have):
        return key in PASS_THROUGH_KEYS or (key == "delete" and key_list_delete)

    changes = dict_changes(current, desired, equal=value_equal, skip=not_compared,
                           secret_keys=api_state.change_secrets(current, desired, secret_keys, key_words))
    for key in deletion_list(desired) if key_list_delete else []:
        if key in current:
            changes.add(key, current[key], None)
    return changes


def hidden_keys(current, changes):
    """The differing keys whose current value the API hides (cipassword reads as '**********')."""
    return [key for key in changes.after
            if isinstance(current.get(key), str) and re.fullmatch(r"\*{3,}", current[key])]


def write_payload(changes, desired):
    """The parameters of the write: the differing keys, the keys to delete, and the pass-through keys."""
    payload = {key: desired[key] for key, after in changes.after.items() if after is not None}
    deleted = [key for key, after in changes.after.items() if after is None]
    if deleted:
        payload["delete"] = ",".join(deleted)
    payload.update((key, desired[key]) for key in PASS_THROUGH_KEYS if key in desired)
    return payload


# ----------------------------------------------------------------- module

class ProxmoxApi(ApiCallModule, ProxmoxModule):
    argument_spec = dict(
        path=dict(type="str", required=True),
        # Validated in validate(), so that any case is accepted and the message names the choices.
        method=dict(type="str"),
        data=dict(type="dict"),
        state=dict(type="str", choices=["present"]),
        id_key=dict(type="str", no_log=False),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=600),
        secret_keys=dict(type="list", elements="str", no_log=False, default=DEFAULT_SECRET_KEYS),
    )

    key_words = staticmethod(key_words)
    secret_values = staticmethod(secret_values)

    def result(self, changed, reply=None, **extra):
        return dict(changed=changed, data=mask_reply(reply, self.params["secret_keys"]), **extra)

    def validate(self):
        super().validate()
        for problem in self.timeout_problems(self.params):
            self.fail(problem)

    @staticmethod
    def parse_call(params):
        path = normalize_path(params["path"])
        method = resolve_method(params["method"], params["state"])
        check_data(params["data"], params["state"])
        check_id_key(params["id_key"], params["data"], params["state"], method)
        return path, method

    def run(self):
        if self.params["state"] == "present":
            return self.ensure_present()
        return self.call()

    def send(self, method, payload):
        """Send the call; when it started a task and wait is on, wait for it and return its status too."""
        payload = encode_delete(payload or {})
        if method in QUERY_METHODS:
            reply = self.client.request(method, self.path, params=payload)
        else:
            reply = self.client.request(method, self.path, data=payload)
        if self.params["wait"] and is_upid(reply):
            return reply, {"status": self.wait(reply)}
        return reply, {}

    def read_current(self):
        try:
            current = self.client.get(self.path)
        except ProxmoxApiError as exc:
            if exc.missing:
                self.fail(f"state: present needs an existing object to compare data against, and GET {self.path} "
                          f"says there is none: {exc}. Create it first (raw mode, method POST) or fix path.",
                          status=exc.status)
            if exc.status == 501:
                self.fail(f"state: present reads {self.path} to compare data against, but the path has no GET: "
                          f"{exc}. Leave state out to send the call as it is.", status=exc.status)
            raise
        if not isinstance(current, dict):
            self.fail(f"state: present needs a path whose GET returns one object (a dict) to compare data "
                      f"against; GET {self.path} returned a {type(current).__name__}. Leave state out to send "
                      "the call as it is.")
        return current

    def ensure_member(self):
        """Idempotent mode in a collection: create the object named by data[id_key] when the list has none,
        else compare the other keys with the object and PUT those that differ to it."""
        desired, id_key = self.params["data"], self.params["id_key"]
        listing = self.client.get(self.path)
        if not isinstance(listing, list):
            self.fail(f"id_key needs a path whose GET lists the objects of a collection; GET {self.path} returned "
                      f"a {type(listing).__name__}. Leave id_key out to compare with the object at path.")
        wanted_id = canonical_scalar(desired[id_key])
        if not any(isinstance(item, dict) and canonical_scalar(item.get(id_key)) == wanted_id for item in listing):
            changes = plan_changes({}, desired, self.params["secret_keys"])
            return self.write_changes(changes, desired)
        self.path = self.path + api_path(wanted_id)
        self.method = "PUT"
        others = {key: value for key, value in desired.items() if key != id_key}
        current = self.read_current()
        changes = plan_changes(current, others, self.params["secret_keys"])
        return self.write_changes(changes, write_payload(changes, others))

    def ensure_acl(self):
        """Idempotent mode for PUT /access/acl: the ACL is a list, not an object. Each (member, role) of data
        must be there on data's path with its propagate flag (or, with delete, be gone); the call is sent
        as given when one is not."""
        desired = self.params["data"]
        members = [(kind, ugid) for kind, option in ACL_MEMBERS for ugid in split_items(desired.get(option))]
        roles = split_items(desired.get("roles"))
        if desired.get("path") is None or not roles or not members:
            self.fail("data must give path, roles and users, groups or tokens to set /access/acl with "
                      "state: present")
        path = "/" + "/".join(part for part in str(desired["path"]).split("/") if part)
        propagate = 1 if desired.get("propagate") is None else int(is_true(desired["propagate"]))
        remove = is_true(desired.get("delete"))
        have = {(entry.get("path"), entry.get("type"), entry.get("ugid"), entry.get("roleid")):
                int(is_true(entry.get("propagate", 1)))
                for entry in self.client.get(self.path) or [] if isinstance(entry, dict)}
        changes = plan_changes({}, {}, self.params["secret_keys"])
        for kind, ugid in members:
            for role in roles:
                current = have.get((path, kind, ugid, role))
                wanted = None if remove else propagate
                if current != wanted:
                    changes.add(f"{path} {kind}:{ugid} {role}", acl_state(current), acl_state(wanted))
        return self.write_changes(changes, desired)

    def ensure_present(self):
        """Idempotent mode: read, compare, write only the differing keys."""
        if self.params["id_key"]:
            return self.ensure_member()
        if self.path == ACL_PATH and self.method == "PUT":
            return self.ensure_acl()
        desired = self.params["data"]
        current = self.read_current()
        changes = plan_changes(current, desired, self.params["secret_keys"])
        for key in hidden_keys(current, changes):
            self.warn(f"data.{key}: the API hides its current value, so it cannot be compared and is written "
                      "on every run")
        return self.write_changes(changes, write_payload(changes, desired))


def main():
    ProxmoxApi().execute()


if __name__ == "__main__":
    main()

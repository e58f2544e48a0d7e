#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacamole_api
short_description: Call any endpoint of the Apache Guacamole REST API, optionally idempotently
version_added: 0.1.0
description:
  - The escape hatch for everything in the Guacamole REST API that has no dedicated module. It calls one
    path with the collection's login, token handling (the token travels in a header and is deleted at the
    end), retries and error reporting.
  - B(Raw mode) (no O(state)) sends the call as given. A V(GET) reports C(changed=false); any other method
    always reports C(changed=true), and in check mode it is not sent.
  - B(O(state=present)) first reads the object with a V(GET) of the same path, compares each key of
    O(data) with its current value, and when something differs sends the current object with O(data)
    merged in as a V(PUT) (Guacamole's updates replace the whole object). When nothing differs nothing
    is written and C(changed=false).
  - B(O(state=absent)) reads the object and sends a V(DELETE) only when it exists.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.guacamole
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_GUACAMOLE
attributes:
  check_mode:
    support: full
    details:
      - Reads are sent; writes are not. A raw write reports C(changed=true) and RV(msg) says it was not sent.
  diff_mode:
    support: partial
    details:
      - With O(state=present), the diff holds the before and after values of the differing keys only, secrets
        masked. With O(state=absent), the object before. Raw mode returns no diff.
options:
  path:
    description:
      - The path. Without a leading C(/) it is relative to the data source, C(/api/session/data/<data_source>/)
        (V(connections/3), V(users/alice/permissions), V(schema/protocols)); with a leading C(/) it is
        relative to the API root (V(/session/data/mysql/users), V(/languages)); a leading C(/api) is dropped.
      - Not a full URL (the server's address is O(api_url)), no C(.) or C(..) segments, no query string
        (use O(query)), and not C(/tokens) (the module logs in and out itself).
      - A segment that contains C(/) or other special characters (a user name such as C(ops/alice)) must be
        URL-encoded by you (C(users/ops%2Falice)).
    type: str
    required: true
  method:
    description:
      - The HTTP method, in any case. Defaults to V(GET) in raw mode; O(state=present) always uses V(PUT)
        and O(state=absent) V(DELETE).
    type: str
    choices: [GET, POST, PUT, PATCH, DELETE, get, post, put, patch, delete]
  data:
    description:
      - The JSON body of a V(POST), V(PUT) or V(PATCH) (a dict, or a list for a JSON Patch).
      - With O(state=present), a dict of the keys to set. Dict values (such as C(attributes) or
        C(parameters)) are compared and merged key by key, so only the keys given matter. V(true) matches
        C("true") and an empty value matches an unset one, as Guacamole stores them.
      - For a connection or sharing profile (V(connections/<id>), V(sharingProfiles/<id>)), the current
        C(parameters) are read from C(.../parameters) and sent back with the update, because an update
        that leaves them out removes them.
      - B(Secrets) (keys matched by O(secret_keys)) are masked in the results and the diff. Ansible itself
        cannot know which values inside a dict are secret before the module runs, so it logs the raw
        arguments in the system log; keep such values in Ansible Vault.
    type: raw
  query:
    description:
      - Query parameters, such as C(permission=READ) or C(contains=web); a list value repeats the parameter.
    type: dict
    default: {}
  state:
    description:
      - V(present) and V(absent) make the call idempotent; see the description.
      - O(state=present) needs O(data) (a dict) and an existing object at O(path); to create one, use raw
        mode with V(POST).
    type: str
    choices: [present, absent]
  secret_keys:
    description:
      - Names whose values are secrets. A key is secret when its whole name, or one of the words of its name
        (split at C(-), C(_), C(.) and camelCase), is in this list, case ignored; so V(password) matches
        C(sftp-password) and C(newPassword).
      - Their values are replaced by C(********) in RV(data), in the diff and everywhere in the output.
    type: list
    elements: str
    default: [password, passphrase, secret, token, key, totp]
notes:
  - Transient faults (connection failures, HTTP 500, 502, 503, 504) are retried up to O(api_retries) times;
    a V(POST) is never sent twice once it reached the server.
  - "Privileges: those of the call itself; see the Guacamole REST API."
seealso:
  - module: proxgate.core.guacamole_info
  - name: Guacamole REST API (community reference)
    description: The endpoints, as the web app's own JavaScript uses them.
    link: https://github.com/ridvanaltun/guacamole-rest-api-documentation
"""

EXAMPLES = r"""
- name: Read the protocols the server knows (auth from GUACAMOLE_* environment variables)
  proxgate.core.guacamole_api:
    path: schema/protocols
  register: protocols

- name: Set two attributes of connection 3, writing only when they differ
  proxgate.core.guacamole_api:
    path: connections/3
    state: present
    data:
      attributes:
        max-connections: "10"
        guacd-hostname: guacd.internal

- name: Connections the automation user may update
  proxgate.core.guacamole_api:
    path: connections
    query:
      permission: UPDATE
  register: updatable

- name: Kill an active session
  proxgate.core.guacamole_api:
    path: activeConnections
    method: PATCH
    data:
      - op: remove
        path: /0b4e0f4e-6f4b-4a55-9a3c-5d4a5d0a1f33

- name: Remove a user if it exists
  proxgate.core.guacamole_api:
    path: users/old-contractor
    state: absent
"""

RETURN = r"""
data:
  description:
    - The parsed JSON reply, with the values of O(secret_keys) masked; V(null) for a reply without a body
      (most writes answer 204).
    - With O(state=present) or O(state=absent), the reply of the write, or the object as read when nothing
      was written.
  returned: always
  type: raw
  sample: {name: web01, identifier: "3", parentIdentifier: ROOT, protocol: ssh}
changed_keys:
  description: The keys of O(data) that differed and were written (or would be, in check mode), sorted.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [attributes]
msg:
  description: Says that a write was not sent because of check mode.
  returned: in check mode, when a write would have been sent
  type: str
  sample: "check mode: not sent"
"""

import re
from urllib.parse import unquote

from ansible_collections.proxgate.core.plugins.module_utils.common import api_state
from ansible_collections.proxgate.core.plugins.module_utils.common.api_state import CHECK_MODE_MSG, ApiCallModule
from ansible_collections.proxgate.core.plugins.module_utils.common.compare import dict_changes
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import GuacamoleApiError
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.module import GuacamoleModule

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BODY_METHODS = ("POST", "PUT", "PATCH")
DEFAULT_SECRET_KEYS = ["password", "passphrase", "secret", "token", "key", "totp"]
# Objects whose GET leaves out the parameters that their PUT replaces.
WITH_PARAMETERS = re.compile(r"^(?:/session/data/[^/]+/)?(connections|sharingProfiles)/[^/]+$")


# ---------------------------------------------------------------- path

def normalize_path(path):
    """The path as the client takes it (relative to the data source, or to the API root with a leading '/');
    ValueError naming what is wrong."""
    text = (path or "").strip()
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        raise ValueError(f"path must be an API path such as connections/3, not a full URL ({text!r}); "
                         "the server's address is api_url")
    if any(char in text for char in "?#"):
        raise ValueError(f"path must not have a query string ({text!r}); give query parameters in query")
    if any(ord(char) < 32 for char in text):
        raise ValueError("path must not contain a control character")
    absolute = text.startswith("/")
    segments = [segment for segment in text.split("/") if segment]
    if absolute and segments[:1] == ["api"]:
        segments = segments[1:]
    for segment in segments:
        if unquote(segment) in (".", ".."):
            raise ValueError(f"path must not contain '.' or '..' segments ({text!r})")
    if not segments:
        raise ValueError(f"path {text!r} names no API object; give one such as connections or /languages")
    if absolute and segments[0] == "tokens":
        raise ValueError("path must not be /tokens: the module logs in and deletes its token itself")
    joined = "/".join(segments)
    return "/" + joined if absolute else joined


def resolve_method(method, state):
    if state == "present":
        if method not in (None, "PUT", "put"):
            raise ValueError(f"state: present updates with PUT; method {method!r} cannot be used with it")
        return "PUT"
    if state == "absent":
        if method not in (None, "DELETE", "delete"):
            raise ValueError(f"state: absent deletes with DELETE; method {method!r} cannot be used with it")
        return "DELETE"
    return (method or "GET").upper()


def check_data(data, method, state):
    if state == "present" and not isinstance(data, dict):
        raise ValueError("state: present needs data: a dict of the keys to set")
    if data is not None and method not in BODY_METHODS:
        raise ValueError(f"data is the body of POST, PUT or PATCH; {method} has none (use query for parameters)")
    if data is not None and not isinstance(data, (dict, list)):
        raise ValueError(f"data must be a dict or a list (a JSON object or array), got {type(data).__name__}")


# ---------------------------------------------------------------- secrets

def key_words(name):
    """The words of a key name: split at - _ . and white space, and where camelCase starts a word."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name)).lower()
    return [word for word in re.split(r"[-_.\s]+", text) if word]


def is_secret_key(name, secret_keys):
    return api_state.is_secret_key(name, secret_keys, key_words)


def secret_values(value, secret_keys):
    """The texts of the secret values at any depth, for Ansible to mask wherever they appear."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_key(key, secret_keys) and isinstance(item, (str, int, float)) and not isinstance(item, bool):
                if str(item) != "":
                    found.add(str(item))
            else:
                found |= secret_values(item, secret_keys)
    elif isinstance(value, list):
        for item in value:
            found |= secret_values(item, secret_keys)
    return found


def mask_reply(reply, secret_keys):
    return api_state.mask_reply(reply, secret_keys, key_words)


# -------------------------------------------------------------- comparing

def as_stored(value):
    """A desired value as Guacamole stores strings: true -> "true", false/None -> "", numbers as text."""
    if isinstance(value, bool):
        return "true" if value else ""
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return value


def value_equal(desired, current):
    """Whether current already says what desired says (dicts: only the keys desired names)."""
    if isinstance(desired, dict):
        current = current if isinstance(current, dict) else {}
        return all(value_equal(value, current.get(key)) for key, value in desired.items())
    if isinstance(current, bool):
        if isinstance(desired, bool):
            return desired == current
        return str(desired).strip().lower() in (("true",) if current else ("false", ""))
    if isinstance(desired, list) or isinstance(current, list):
        return desired == current
    return as_stored(desired) == as_stored(current)


def differing(current, desired):
    """(before, after) of the differing keys; a dict value holds only its differing keys."""
    changes = dict_changes(current, desired, equal=lambda _key, value, now: value_equal(value, now))
    for key in changes:  # add() below replaces values, never adds a key
        value, now = desired[key], changes.before[key]
        if isinstance(value, dict):
            now = now if isinstance(now, dict) else {}
            keys = [name for name, item in value.items() if not value_equal(item, now.get(name))]
            changes.add(key, {name: now.get(name) for name in keys}, {name: value[name] for name in keys})
    return changes.before, changes.after


def merged(current, desired):
    """current with desired put in; dict values merged key by key."""
    body = dict(current)
    for key, value in desired.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            body[key] = {**current[key], **value}
        else:
            body[key] = value
    return body


# ----------------------------------------------------------------- module

class GuacamoleApi(ApiCallModule, GuacamoleModule):
    argument_spec = dict(
        path=dict(type="str", required=True),
        method=dict(type="str", choices=[*METHODS, *(method.lower() for method in METHODS)]),
        data=dict(type="raw"),
        query=dict(type="dict", default={}),
        state=dict(type="str", choices=["present", "absent"]),
        secret_keys=dict(type="list", elements="str", no_log=False, default=DEFAULT_SECRET_KEYS),
    )

    key_words = staticmethod(key_words)
    secret_values = staticmethod(secret_values)

    @staticmethod
    def parse_call(params):
        path = normalize_path(params["path"])
        method = resolve_method(params["method"], params["state"])
        check_data(params["data"], method, params["state"])
        return path, method

    def run(self):
        if self.params["state"] == "present":
            return self.ensure_present()
        if self.params["state"] == "absent":
            return self.ensure_absent()
        return self.call()

    def send(self, method, payload=None):
        """The reply to the call, and no more result keys (a Guacamole call starts no task)."""
        query = self.params["query"] or None
        if method in BODY_METHODS:
            reply = self.client.request(method, self.path, params=query, json=payload)
        else:
            reply = self.client.request(method, self.path, params=query)
        return reply, {}

    def read_current(self):
        """The object at path (with its parameters, for a connection or sharing profile); None when missing."""
        try:
            current = self.client.get(self.path, **(self.params["query"] or {}))
        except GuacamoleApiError as exc:
            if exc.missing:
                return None
            raise
        if isinstance(current, dict) and WITH_PARAMETERS.match(self.path):
            current = dict(current, parameters=self.client.get(self.path + "/parameters") or {})
        return current

    def ensure_present(self):
        current = self.read_current()
        if current is None:
            self.fail(f"state: present needs an existing object to compare data against, and GET {self.path} "
                      "found none. Create it first (raw mode, method POST) or fix path.")
        if not isinstance(current, dict):
            self.fail(f"state: present needs a path whose GET returns one object (a dict); GET {self.path} "
                      f"returned a {type(current).__name__}. Leave state out to send the call as it is.")
        desired = self.params["data"]
        before, after = differing(current, desired)
        changes = api_state.masked_changes(current, desired, self.params["secret_keys"], key_words)
        for key in after:
            changes.add(key, before[key], after[key])
        return self.write_changes(changes, merged(current, desired), unchanged_reply=current)

    def ensure_absent(self):
        current = self.read_current()
        extra = {}
        if self.diff_mode:
            extra["diff"] = {"before": mask_reply(current, self.params["secret_keys"]) if current else {},
                             "after": {}}
        if current is None:
            return self.result(False, **extra)
        if self.check_mode:
            return self.result(True, msg=CHECK_MODE_MSG, **extra)
        reply, _more = self.send("DELETE")
        return self.result(True, reply, **extra)


def main():
    GuacamoleApi().execute()


if __name__ == "__main__":
    main()

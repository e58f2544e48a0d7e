# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What proxmox_api and guacamole_api share: which keys hold secrets, and the raw call and the state: present
bookkeeping around them. Each API splits key names into words its own way (``words``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes, mask_secrets

CHECK_MODE_MSG = "check mode: not sent"


def is_secret_key(name, secret_keys, words):
    """True when the name, or one of the words words(name) splits it into, is one of secret_keys, case ignored."""
    wanted = {str(key).lower() for key in secret_keys}
    return str(name).lower() in wanted or any(word in wanted for word in words(name))


def secret_names(value, secret_keys, words):
    """Every dict key, at any depth of value, that names a secret."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_key(key, secret_keys, words):
                found.add(key)
            found |= secret_names(item, secret_keys, words)
    elif isinstance(value, list):
        for item in value:
            found |= secret_names(item, secret_keys, words)
    return found


def mask_reply(reply, secret_keys, words):
    """The reply with the values of its secret keys masked."""
    return mask_secrets(reply, secret_names(reply, secret_keys, words))


def change_secrets(current, desired, secret_keys, words):
    """Every key of current or desired that names a secret: what the diff of their changes masks."""
    return secret_names(desired, secret_keys, words) | secret_names(current, secret_keys, words)


def masked_changes(current, desired, secret_keys, words):
    """An empty Changes whose diff masks every key of current or desired that names a secret."""
    return Changes(secret_keys=change_secrets(current, desired, secret_keys, words))


class ApiCallModule:
    """The half of proxmox_api and guacamole_api that is the same; mixed in before the API's module base.

    Subclasses set ``key_words`` (how a key name splits into words) and implement ``secret_values(data,
    secret_keys)``, ``parse_call(params)`` returning (path, method) or raising ValueError, and
    ``send(method, payload)`` returning (reply, more result keys).
    """

    key_words: Callable[[str], Iterable[str]] | None = None
    # from the API's module base (ApiModule), which follows this class in the bases: declared, not defined here
    module: Any
    params: dict[str, Any]
    check_mode: bool
    diff_mode: bool
    fail: Callable[..., None]

    def __init__(self) -> None:
        super().__init__()
        # The call: set by validate(), which runs before run().
        self.path = ""
        self.method = ""

    def secret_values(self, data: Any, secret_keys: list[str]) -> Iterable[Any]:
        raise NotImplementedError

    def parse_call(self, params: dict[str, Any]) -> tuple[str, str]:
        raise NotImplementedError

    def send(self, method: str, payload: Any) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError

    def validate(self):
        params = self.params
        # First, so that even a failure below shows no secret.
        self.module.no_log_values.update(self.secret_values(params["data"], params["secret_keys"]))
        try:
            self.path, self.method = self.parse_call(params)
        except ValueError as exc:
            self.fail(str(exc))

    def result(self, changed, reply=None, **extra):
        return dict(changed=changed, data=mask_reply(reply, self.params["secret_keys"], self.key_words), **extra)

    def call(self):
        """Raw mode: send as given; a write counts as a change."""
        is_write = self.method != "GET"
        if is_write and self.check_mode:
            return self.result(True, msg=CHECK_MODE_MSG)
        reply, more = self.send(self.method, self.params["data"])
        return self.result(is_write, reply, **more)

    def write_changes(self, changes, payload, unchanged_reply=None):
        """state: present once compared: report the changed keys (and the diff), and send payload when
        anything differs and this is no check mode. unchanged_reply is the data returned when nothing does."""
        extra = dict(changed_keys=sorted(changes.keys()))
        if self.diff_mode:
            extra["diff"] = changes.diff(before_header=f"GET {self.path}", after_header=f"{self.method} {self.path}")
        if not changes:
            return self.result(False, unchanged_reply, **extra)
        if self.check_mode:
            return self.result(True, msg=CHECK_MODE_MSG, **extra)
        reply, more = self.send(self.method, payload)
        return self.result(True, reply, **more, **extra)

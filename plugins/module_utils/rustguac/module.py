# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every rustguac module shares: the auth options, the client built from them, and errors turned into
fail_json with the method, path, status, the server's message and, for a 403, the role the call needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible.module_utils.basic import env_fallback

from ansible_collections.proxgate.core.plugins.module_utils.common.compare import dict_changes
from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import HTTPX_IMPORT_ERROR
from ansible_collections.proxgate.core.plugins.module_utils.common.module import ApiModule
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import (
    HEADER_STYLES,
    RustguacApiError,
    RustguacClient,
    RustguacError,
)

# rustguac's answer when its Vault backend is down (src/api.rs VaultBackends::scoped: VaultError::Unavailable,
# answered 502 by every address-book handler).
VAULT_DOWN = "vault backend not available"
# The 403s rustguac's auth middleware answers for a key it refuses outright (src/auth.rs require_auth with
# src/db.rs AuthError, rustguac 1.9.7); a handler's own 403 names the role it needs ("admin role required").
KEY_REFUSALS = ("API key has expired", "admin account is disabled", "client IP not in allowed list")


def rustguac_auth_argument_spec() -> dict[str, dict]:
    """The options of the proxgate.core.rustguac doc fragment, each with its environment fallback."""
    return dict(
        api_url=dict(type="str", required=True, fallback=(env_fallback, ["RUSTGUAC_URL"])),
        api_key=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["RUSTGUAC_API_KEY"])),
        api_key_header=dict(type="str", default="bearer", choices=list(HEADER_STYLES),
                            fallback=(env_fallback, ["RUSTGUAC_API_KEY_HEADER"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["RUSTGUAC_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["RUSTGUAC_CA_PATH"])),
        api_timeout=dict(type="int", default=30),
        api_retries=dict(type="int", default=3),
    )


def client_from_params(params: Mapping[str, Any]) -> RustguacClient:
    return RustguacClient(params["api_url"], params["api_key"], header_style=params.get("api_key_header") or "bearer",
                          validate_certs=params.get("validate_certs", True), ca_path=params.get("ca_path"),
                          timeout=params.get("api_timeout"), retries=params.get("api_retries"))


def compare(current: Mapping[str, Any] | None, desired: Mapping[str, Any], secret_keys: Iterable[str] = ()
            ) -> Changes:
    """Changes for every key of desired whose value is not None (an option not given) and differs from current's."""
    return dict_changes(current, desired, skip=lambda _key, value, _have: value is None, secret_keys=secret_keys)


class RustguacModule(ApiModule):
    """An AnsibleModule with the rustguac auth options merged in and a client.

    Subclasses set ``argument_spec`` (and ``module_kwargs``) and ``required_role`` (named in a 403's message),
    may override ``validate()``, and implement ``run()`` returning the result dict.
    """

    auth_argument_spec = staticmethod(rustguac_auth_argument_spec)
    httpx_import_error = HTTPX_IMPORT_ERROR
    client_errors = (RustguacError,)
    required_role = "admin"

    def connect(self):
        self.client = client_from_params(self.params)

    def permission_hint(self, exc: RustguacApiError) -> str:
        """The sentence added to a 403; modules override it where the role alone does not say it."""
        return f"the API key's role is too low: this module needs the {self.required_role} role; see its notes"

    def report_error(self, exc):
        if isinstance(exc, RustguacApiError):
            msg = str(exc)
            if exc.forbidden and exc.message in KEY_REFUSALS:
                msg += (" (rustguac refused api_key itself, whatever its role: renew the key, enable the account or "
                        "allow this controller's address for it)")
            elif exc.forbidden:
                msg += f" ({self.permission_hint(exc)})"
            elif exc.unauthorized:
                msg += " (the server does not accept api_key: it is unknown, revoked or expired)"
            elif exc.status == 502 and exc.message == VAULT_DOWN:
                msg += (" (rustguac keeps the address book in Vault, and its Vault backend is down or unreachable: "
                        "see the server's log; nothing was written)")
            self.fail(msg, status=exc.status)
        self.fail(str(exc))

    def with_diff(self, result: dict[str, Any], before: Any, after: Any) -> dict[str, Any]:
        if self.diff_mode:
            result["diff"] = {"before": before, "after": after}
        return result


def listed(reply: Any, key: str) -> list[dict[str, Any]]:
    """The list a list call returned: the reply itself, or the list under key (``{"folders": [...]}``)."""
    if isinstance(reply, dict):
        reply = reply.get(key)
    return [item for item in reply or [] if isinstance(item, dict)]

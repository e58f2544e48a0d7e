# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Guacamole module shares: the auth options, the client built from them, error reporting,
and the token deleted at the end of every run, failed or not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.module_utils.basic import env_fallback

from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import HTTPX_IMPORT_ERROR
from ansible_collections.proxgate.core.plugins.module_utils.common.module import ApiModule
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import (
    VERSIONS,
    GuacamoleApiError,
    GuacamoleClient,
    GuacamoleError,
)


def guacamole_auth_argument_spec() -> dict[str, dict]:
    """The options of the proxgate.core.guacamole doc fragment, each with its environment fallback."""
    return dict(
        api_url=dict(type="str", required=True, fallback=(env_fallback, ["GUACAMOLE_URL"])),
        api_username=dict(type="str", required=True, fallback=(env_fallback, ["GUACAMOLE_USERNAME"])),
        api_password=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["GUACAMOLE_PASSWORD"])),
        api_totp=dict(type="str", no_log=True),
        data_source=dict(type="str", fallback=(env_fallback, ["GUACAMOLE_DATA_SOURCE"])),
        api_version=dict(type="str", default="auto", choices=["auto", *VERSIONS]),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["GUACAMOLE_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["GUACAMOLE_CA_PATH"])),
        api_timeout=dict(type="int", default=30),
        api_retries=dict(type="int", default=3),
    )


def client_from_params(params: Mapping[str, Any]) -> GuacamoleClient:
    """A GuacamoleClient (not yet logged in) for a module's auth options."""
    if params.get("api_timeout") is not None and params["api_timeout"] <= 0:
        raise GuacamoleError("api_timeout must be a positive number of seconds")
    if params.get("api_retries") is not None and params["api_retries"] < 0:
        raise GuacamoleError("api_retries must be 0 or more")
    if params.get("data_source") is not None and not params["data_source"].strip():
        raise GuacamoleError("data_source must not be empty; leave it out to use the one the login names")
    return GuacamoleClient(
        params["api_url"], params.get("api_username"), params.get("api_password"),
        data_source=params.get("data_source"), totp=params.get("api_totp"), version=params.get("api_version"),
        validate_certs=params.get("validate_certs", True), ca_path=params.get("ca_path"),
        timeout=params.get("api_timeout") or 30,
        retries=3 if params.get("api_retries") is None else params["api_retries"])


def api_error_details(exc: GuacamoleApiError) -> dict[str, Any]:
    """The fail_json extras of an API error: status, Guacamole's error type, and what it expected."""
    details = {"status": exc.status}
    if exc.type:
        details["error_type"] = exc.type
    if exc.patches:
        details["patches"] = exc.patches
    return details


class GuacamoleModule(ApiModule):
    """An AnsibleModule with the Guacamole auth options merged in and a logged-in client.

    Subclasses set ``argument_spec`` (and ``module_kwargs``), may override ``validate()`` for the checks the
    argument spec cannot express (call ``self.fail``), and implement ``run()`` returning the result dict.
    ``execute()`` logs in, runs, logs out (also when the run fails) and turns client errors into fail_json
    with the method, path, HTTP status, Guacamole's error type and its message. A module that manages one
    object (a connection, a user) uses guacamole.objects.GuacamoleObjectModule, which implements ``run()``.
    """

    auth_argument_spec = staticmethod(guacamole_auth_argument_spec)
    httpx_import_error = HTTPX_IMPORT_ERROR
    client_errors = (GuacamoleError,)

    def permission_hint(self, exc: GuacamoleApiError) -> str:
        """A sentence added to a PERMISSION_DENIED error; modules override it to name what the call needs."""
        return (f"user {self.params['api_username']!r} lacks a permission this needs "
                "(the module's notes list them)")

    def connect(self):
        self.client = client_from_params(self.params)
        self.client.login()

    def disconnect(self):
        # A failed run's token goes with close(), which execute() calls whatever happens.
        trouble = self.client.logout()
        if trouble:
            self.warn(f"the session token could not be deleted: {trouble}")

    def report_error(self, exc):
        if isinstance(exc, GuacamoleApiError):
            msg = str(exc)
            if exc.permission_denied:
                msg = f"{msg} ({self.permission_hint(exc)})"
            self.fail(msg, **api_error_details(exc))
        else:
            self.fail(str(exc))

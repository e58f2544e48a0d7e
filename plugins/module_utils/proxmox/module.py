# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Proxmox module shares: the auth options, the client built from them, and error reporting."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    HAS_HTTPX,
    HTTPX_IMPORT_ERROR,
    ProxmoxApiError,
    ProxmoxClient,
    ProxmoxError,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.tasks import ProxmoxTaskError


def proxmox_auth_argument_spec():
    """The options of the proxgate.core.proxmox doc fragment, each with its environment fallback."""
    return dict(
        api_url=dict(type="str", required=True, fallback=(env_fallback, ["PROXMOX_URL"])),
        api_user=dict(type="str", fallback=(env_fallback, ["PROXMOX_USER"])),
        api_password=dict(type="str", no_log=True, fallback=(env_fallback, ["PROXMOX_PASSWORD"])),
        api_otp=dict(type="str", no_log=True),
        api_token_id=dict(type="str", no_log=False, fallback=(env_fallback, ["PROXMOX_TOKEN_ID"])),
        api_token_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["PROXMOX_TOKEN_SECRET"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["PROXMOX_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["PROXMOX_CA_PATH"])),
        api_timeout=dict(type="int", default=30),
        api_retries=dict(type="int", default=3),
    )


def client_from_params(params):
    """A ProxmoxClient for a module's (or plugin's) auth options."""
    user = params.get("api_user")
    if user and "@" not in user:
        raise ProxmoxError(f"api_user must be user@realm (for example root@pam), got {user!r}")
    if params.get("api_timeout") is not None and params["api_timeout"] <= 0:
        raise ProxmoxError("api_timeout must be a positive number of seconds")
    if params.get("api_retries") is not None and params["api_retries"] < 0:
        raise ProxmoxError("api_retries must be 0 or more")
    token_id = params.get("api_token_id")
    token_secret = params.get("api_token_secret")
    password = None if token_id else params.get("api_password")
    return ProxmoxClient(
        params["api_url"], user=user, password=password, token_id=token_id, token_secret=token_secret,
        otp=params.get("api_otp"), validate_certs=params.get("validate_certs", True),
        ca_path=params.get("ca_path"), timeout=params.get("api_timeout") or 30,
        retries=3 if params.get("api_retries") is None else params["api_retries"])


class ProxmoxModule:
    """An AnsibleModule with the auth options merged in and a connected client.

    Subclasses implement ``run()`` and return the result dict; API errors become ``fail_json``
    with the method, path, status and PVE's message.
    """

    argument_spec: dict = {}
    module_kwargs: dict = {}

    def __init__(self):
        spec = proxmox_auth_argument_spec()
        spec.update(self.argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **self.module_kwargs)
        if not HAS_HTTPX:
            self.module.fail_json(msg=missing_required_lib("httpx"), exception=HTTPX_IMPORT_ERROR)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.diff_mode = self.module._diff
        self.client = None

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def warn(self, text):
        self.module.warn(text)

    def validate(self):
        """Checks of the options that the argument spec cannot express; call self.fail."""

    def run(self):
        raise NotImplementedError

    def execute(self):
        self.validate()
        try:
            self.client = client_from_params(self.params)
            result = self.run()
        except ProxmoxTaskError as exc:
            self.fail(str(exc), upid=exc.upid, exitstatus=exc.exitstatus, task_log=exc.log_tail)
        except ProxmoxApiError as exc:
            details = {"errors": exc.errors} if exc.errors else {}
            self.fail(str(exc), status=exc.status, **details)
        except ProxmoxError as exc:
            self.fail(str(exc))
        finally:
            if self.client is not None:
                self.client.close()
        self.module.exit_json(**result)

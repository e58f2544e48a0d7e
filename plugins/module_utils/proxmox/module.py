# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Proxmox module shares: the auth options, the client built from them, and error reporting."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import HTTPX_IMPORT_ERROR
from ansible_collections.proxgate.core.plugins.module_utils.common.module import ApiModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxClient,
    ProxmoxError,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.names import name_problems
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.tasks import (
    ProxmoxTaskError,
    is_upid,
    wait_for_task,
)


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


class ProxmoxModule(ApiModule):
    """An AnsibleModule with the Proxmox auth options merged in and a connected client.

    Subclasses implement ``run()`` and return the result dict; API errors become ``fail_json``
    with the method, path, status and PVE's message. A module that starts tasks has a ``timeout`` option (the
    ``proxgate.core.proxmox.task_timeout`` doc fragment, or its own), checks it with ``timeout_problems`` in
    ``validate()`` and waits for each task with ``wait()``.
    """

    auth_argument_spec = staticmethod(proxmox_auth_argument_spec)
    httpx_import_error = HTTPX_IMPORT_ERROR
    client_errors = (ProxmoxError,)
    # Options whose values go into API paths (or name such objects), each with PVE's format of it
    # (names.FORMATS): checked before anything else, so no call is made with a value that is no such name.
    name_formats: dict = {}

    def __init__(self):
        super().__init__()
        self.tasks = []  # the UPIDs of the tasks wait() waited for, in order
        problems = name_problems(self.params, self.name_formats)
        if problems:
            self.fail("; ".join(problems))

    @staticmethod
    def timeout_problems(params, *options):
        """Messages for options (``timeout`` when none is named) that are seconds to wait and not positive."""
        return [f"{option} must be a positive number of seconds, got {params[option]}"
                for option in options or ("timeout",) if params.get(option) is not None and params[option] <= 0]

    def wait(self, reply, task_expected=False):
        """Wait, up to the timeout option's seconds, for the task a call started; its status when it ended well
        (ProxmoxTaskError when it failed, ProxmoxTaskTimeout when it runs on). A reply that is no UPID is a call
        that finished at once (None), or with task_expected an error."""
        if is_upid(reply):
            self.tasks.append(reply)
        elif not task_expected:
            return None
        return wait_for_task(self.client, reply, timeout=self.params["timeout"])

    def connect(self):
        self.client = client_from_params(self.params)

    def report_error(self, exc):
        if isinstance(exc, ProxmoxTaskError):
            self.fail(str(exc), upid=exc.upid, exitstatus=exc.exitstatus, task_log=exc.log_tail)
        elif isinstance(exc, ProxmoxApiError):
            details = {"errors": exc.errors} if exc.errors else {}
            self.fail(str(exc), status=exc.status, **details)
        else:
            self.fail(str(exc))

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Proxmox module shares: the auth options, the client built from them, and error reporting."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

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

DEFAULT_API_PORT = 8006


def proxmox_auth_argument_spec() -> dict[str, dict]:
    """The options of the proxgate.core.proxmox doc fragment, each with its environment fallback.

    api_host, api_port and the PROXMOX_HOST, PROXMOX_PORT, PROXMOX_OTP and PROXMOX_API_TIMEOUT variables are
    community.proxmox's, so that its playbooks and credentials work here. The address options (api_url, api_host,
    api_port) read their variables in api_url_from, not through env_fallback: an option given in the task must
    beat another option's variable (api_host in a task with PROXMOX_URL in the environment is no conflict), which
    a fallback of each option on its own cannot express."""
    return dict(
        api_url=dict(type="str"),
        api_host=dict(type="str"),
        api_port=dict(type="int"),
        api_user=dict(type="str", fallback=(env_fallback, ["PROXMOX_USER"])),
        api_password=dict(type="str", no_log=True, fallback=(env_fallback, ["PROXMOX_PASSWORD"])),
        api_otp=dict(type="str", no_log=True, fallback=(env_fallback, ["PROXMOX_OTP"])),
        api_token_id=dict(type="str", no_log=False, fallback=(env_fallback, ["PROXMOX_TOKEN_ID"])),
        api_token_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["PROXMOX_TOKEN_SECRET"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["PROXMOX_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["PROXMOX_CA_PATH"])),
        api_timeout=dict(type="int", default=30, fallback=(env_fallback, ["PROXMOX_API_TIMEOUT"])),
        api_retries=dict(type="int", default=3),
    )


def _port(value, name):
    """A port number from an option (int) or a variable (text); ProxmoxError naming where it came from."""
    try:
        port = int(str(value).strip())
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ProxmoxError(f"{name} must be a port number (1-65535, PVE's is {DEFAULT_API_PORT}), got {value!r}")
    return port


def _host(host, name):
    """api_host (or PROXMOX_HOST) as the host part of a URL: a name or an address, bracketed when IPv6."""
    host = host.strip()
    hint = f"set api_url to the whole address (https://{host.split('://')[-1].rstrip('/')}) instead, or " \
        "api_host to the bare name with api_port for the port"
    if "://" in host:
        raise ProxmoxError(f"{name} is a host name without a scheme, got {host!r}: {hint}")
    if not host or "/" in host or "@" in host or any(char.isspace() for char in host):
        raise ProxmoxError(f"{name} must be a host name or address such as pve1.example.com, got {host!r}")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if bare.count(":") > 1 and not bare.startswith("[") and "]" not in bare:
        return f"[{bare}]"  # an IPv6 address
    if ":" in host:
        raise ProxmoxError(f"{name} takes no port, got {host!r}: put the port in api_port (or PROXMOX_PORT), "
                           f"or {hint}")
    return host


def api_url_from(params: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str:
    """The API address of the auth options: api_url, or https://<api_host>:<api_port> (port 8006 by default),
    the way community.proxmox's api_host and api_port name it.

    An option given (in the task or module_defaults) beats the environment; of the variables, PROXMOX_URL beats
    PROXMOX_HOST (and PROXMOX_PORT only goes with a host). api_url and api_host given together, or api_port
    without api_host, are refused: which of two addresses is meant cannot be guessed."""
    environ = os.environ if environ is None else environ
    url, host, port = (params.get(name) for name in ("api_url", "api_host", "api_port"))
    if url and host:
        raise ProxmoxError("api_url and api_host both name the API's address; set one of them: api_url "
                           "(https://pve1.example.com:8006) or api_host (pve1.example.com) with api_port")
    if url:
        if port is not None:
            raise ProxmoxError(f"api_port goes with api_host; with api_url put the port in the URL "
                               f"(such as https://pve1.example.com:{port})")
        return url
    host_name = "api_host"
    if not host:
        if environ.get("PROXMOX_URL"):
            if port is not None:
                raise ProxmoxError("api_port goes with api_host, but the address comes from the PROXMOX_URL "
                                   "environment variable: set api_host too, or put the port in the URL")
            return environ["PROXMOX_URL"]
        host, host_name = environ.get("PROXMOX_HOST"), "PROXMOX_HOST"
    if not host:
        raise ProxmoxError("the API's address is missing: set api_url (or the PROXMOX_URL environment variable), "
                           "or api_host (or PROXMOX_HOST) with api_port (or PROXMOX_PORT, 8006 by default)")
    if port is not None:
        port = _port(port, "api_port")
    elif environ.get("PROXMOX_PORT"):
        port = _port(environ["PROXMOX_PORT"], "PROXMOX_PORT")
    return f"https://{_host(host, host_name)}:{port or DEFAULT_API_PORT}"


def client_from_params(params: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> ProxmoxClient:
    """A ProxmoxClient for a module's (or plugin's) auth options (the address from api_url_from, with the
    environment's variables or the plugin's values that came from them)."""
    api_url = api_url_from(params, environ)
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
        api_url, user=user, password=password, token_id=token_id, token_secret=token_secret,
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
    name_formats: dict[str, str] = {}

    def __init__(self):
        super().__init__()
        self.tasks = []  # the UPIDs of the tasks wait() waited for, in order
        problems = name_problems(self.params, self.name_formats)
        if problems:
            self.fail("; ".join(problems))

    @staticmethod
    def timeout_problems(params: Mapping[str, Any], *options: str) -> list[str]:
        """Messages for options (``timeout`` when none is named) that are seconds to wait and not positive."""
        return [f"{option} must be a positive number of seconds, got {params[option]}"
                for option in options or ("timeout",) if params.get(option) is not None and params[option] <= 0]

    def wait(self, reply: Any, task_expected: bool = False) -> Any:
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

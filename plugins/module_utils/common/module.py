# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Proxmox and the Guacamole module bases share: the AnsibleModule built from the API's auth
options and the module's own, and the run that connects, runs and always closes the client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from ansible.module_utils.basic import AnsibleModule, missing_required_lib


class ApiModule:
    """An AnsibleModule with an API's auth options merged in, and a client for the run.

    An API's base sets ``auth_argument_spec``, ``httpx_import_error`` (its client module's, None when httpx
    is there) and ``client_errors``, and implements ``connect()`` and ``report_error()``.
    Modules set ``argument_spec`` (and ``module_kwargs``), may override ``validate()`` for the checks the
    argument spec cannot express (call ``self.fail``), and implement ``run()`` returning the result dict.
    """

    argument_spec: dict[str, dict] = {}
    module_kwargs: dict[str, Any] = {}
    auth_argument_spec: Callable[[], dict[str, dict]]  # a staticmethod returning a new dict on each call
    httpx_import_error: str | None = None
    client_errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        spec = self.auth_argument_spec()
        spec.update(self.argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **self.module_kwargs)
        if self.httpx_import_error is not None:
            self.module.fail_json(msg=missing_required_lib("httpx"), exception=self.httpx_import_error)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.diff_mode = self.module._diff
        self.client: Any = None

    def fail(self, msg: str, **kwargs: Any) -> None:
        self.module.fail_json(msg=msg, **kwargs)

    def warn(self, text: str) -> None:
        self.module.warn(text)

    def validate(self) -> None:
        """Checks of the options that the argument spec cannot express; call self.fail."""

    def run(self) -> dict[str, Any]:
        raise NotImplementedError

    def connect(self) -> None:
        """Set self.client, ready for run()."""
        raise NotImplementedError

    def disconnect(self) -> None:
        """End the session after a run that went through (close() follows in every case)."""

    def report_error(self, exc: Exception) -> NoReturn:
        """fail_json for one of client_errors."""
        raise NotImplementedError

    def execute(self) -> None:
        self.validate()
        result: dict[str, Any] | None = None
        try:
            self.connect()
            result = self.run()
            self.disconnect()
        except self.client_errors as exc:
            self.report_error(exc)
        finally:
            # Also after fail_json (SystemExit) and any other exception.
            if self.client is not None:
                self.client.close()
        self.module.exit_json(**result)

# Test-only callback: writes every task result of a run to $PROXGATE_RESULTS_FILE as JSON lines,
# so the integration tests can assert on module results without parsing the human output.
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: record_results
type: aggregate
short_description: write task results to a JSON-lines file (proxgate.core tests)
description:
  - Used by the integration tests only.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result, status):
        path = os.environ.get("PROXGATE_RESULTS_FILE")
        if not path:
            return
        record = {"task": result.task_name, "host": result._host.get_name(), "status": status,
                  "result": result._result}
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")

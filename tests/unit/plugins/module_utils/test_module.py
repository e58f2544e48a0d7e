"""ProxmoxModule's task waiting and timeout check, which every Proxmox module that starts tasks uses."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxError
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule

UPID = "UPID:pve1:0001A2B3:00C4D5E6:6740F0A1:qmconfig:100:root@pam:"


class TaskClient:
    """Answers the task status and log calls of one task that ends with exitstatus."""

    def __init__(self, exitstatus="OK"):
        self.exitstatus = exitstatus
        self.calls = []

    def get(self, path, **params):
        self.calls.append(path)
        if path.endswith("/status"):
            return {"status": "stopped", "exitstatus": self.exitstatus}
        return [{"n": 1, "t": "TASK ERROR: no space left"}]


def bare_module(client, timeout=600):
    module = object.__new__(ProxmoxModule)  # no AnsibleModule: only what wait() reads
    module.client, module.params, module.tasks = client, {"timeout": timeout}, []
    return module


def test_wait_records_the_task_and_returns_its_status():
    module = bare_module(TaskClient("WARNINGS: 1"))
    assert module.wait(UPID)["exitstatus"] == "WARNINGS: 1"
    assert module.tasks == [UPID]


def test_a_reply_that_is_no_task_is_a_call_that_finished_at_once():
    module = bare_module(TaskClient())
    assert module.wait(None) is None and module.wait({"data": 1}) is None
    assert module.tasks == [] and module.client.calls == []
    with pytest.raises(ProxmoxError, match="not a task id"):
        module.wait(None, task_expected=True)


def test_a_failed_task_raises_with_its_log():
    with pytest.raises(ProxmoxError, match="no space left"):
        bare_module(TaskClient("command failed")).wait(UPID)


@pytest.mark.parametrize("params, options, expected", [
    ({"timeout": 0}, (), ["timeout must be a positive number of seconds, got 0"]),
    ({"timeout": 600}, (), []),
    ({"timeout": None}, (), []),
    ({"timeout": -1, "ssh_timeout": 0}, ("timeout", "ssh_timeout"),
     ["timeout must be a positive number of seconds, got -1",
      "ssh_timeout must be a positive number of seconds, got 0"]),
])
def test_timeout_problems(params, options, expected):
    assert ProxmoxModule.timeout_problems(params, *options) == expected

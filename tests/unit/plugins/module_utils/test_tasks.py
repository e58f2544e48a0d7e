"""Waiting for PVE tasks: UPID parsing, success with OK and WARNINGS, failure with the log tail, timeout.

The node is an httpx.MockTransport: these tests are about how the task helpers read the task status
and log answers, so each test scripts those answers exactly; the clock is faked to keep them fast.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from ansible_collections.proxgate.core.plugins.module_utils.proxmox import tasks
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxClient, ProxmoxError
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.tasks import (
    ProxmoxTaskError,
    ProxmoxTaskTimeout,
    is_upid,
    parse_upid,
    wait_for_task,
)

UPID = "UPID:pve1:0001A2B3:00C4D5E6:6740F0A1:qmstart:100:root@pam:"
TASK_PATH = f"/api2/json/nodes/pve1/tasks/{quote(UPID, safe='')}"


class FakeClock:
    """time.monotonic and time.sleep that only move when slept."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(tasks.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(tasks.time, "sleep", fake.sleep)
    return fake


class TaskNode:
    """Answers the status endpoint with the scripted states in turn (the last one repeats) and the
    log endpoint with `log`, paged by start/limit as PVE pages it."""

    def __init__(self, states, log=()):
        self.states = list(states)
        self.log = list(log)
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        raw_path = request.url.raw_path.decode().split("?")[0]
        if raw_path == TASK_PATH + "/status":
            state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
            return httpx.Response(200, json={"data": dict(state, upid=UPID, node="pve1", type="qmstart", id="100")})
        if raw_path == TASK_PATH + "/log":
            start = int(request.url.params.get("start", 0))
            limit = int(request.url.params.get("limit", 50))
            lines = [{"n": n + 1, "t": text} for n, text in enumerate(self.log)][start:start + limit]
            return httpx.Response(200, json={"data": lines})
        return httpx.Response(404, json={"data": None, "message": f"no route {raw_path}\n"})

    def client(self):
        return ProxmoxClient("https://pve1:8006", token_id="root@pam!ci", token_secret="s",
                             transport=httpx.MockTransport(self), backoff=0)

    def status_polls(self):
        return [r for r in self.requests if r.url.raw_path.decode().endswith("/status")]


RUNNING = {"status": "running"}


def stopped(exitstatus):
    return {"status": "stopped", "exitstatus": exitstatus}


# ------------------------------------------------------------------ UPIDs

def test_parse_upid_of_the_documented_example():
    assert parse_upid(UPID) == {"node": "pve1", "pid": 0x0001A2B3, "pstart": 0x00C4D5E6,
                                "starttime": 0x6740F0A1, "type": "qmstart", "id": "100", "user": "root@pam"}


def test_parse_upid_keeps_a_token_user_and_an_empty_id():
    upid = "UPID:pve2:00001000:00007000:6740F0A1:download:local:root@pam!ci:"
    fields = parse_upid(upid)
    assert (fields["node"], fields["type"], fields["id"]) == ("pve2", "download", "local")
    assert fields["user"] == "root@pam!ci"


@pytest.mark.parametrize("value", ["100", "UPID:pve1:0001A2B3", "", None, "TASK:pve1:1:2:3:qmstart:100:root@pam:"])
def test_parse_upid_refuses_what_is_not_a_upid(value):
    assert not is_upid(value)
    with pytest.raises(ProxmoxError, match="not a task id"):
        parse_upid(value)


def test_is_upid_of_a_real_upid():
    assert is_upid(UPID)


# ------------------------------------------------------------------ waiting

@pytest.mark.parametrize("exitstatus", ["OK", "WARNINGS: 2"])
def test_wait_returns_the_final_status_on_success(clock, exitstatus):
    node = TaskNode([RUNNING, RUNNING, stopped(exitstatus)])
    status = wait_for_task(node.client(), UPID, timeout=60)
    assert status["exitstatus"] == exitstatus
    assert len(node.status_polls()) == 3
    assert not [r for r in node.requests if r.url.path.endswith("/log")], "a success does not read the log"


def test_wait_polls_the_task_of_the_upid_node_with_the_upid_quoted(clock):
    node = TaskNode([stopped("OK")])
    wait_for_task(node.client(), UPID)
    assert node.requests[0].url.raw_path.decode() == TASK_PATH + "/status"


def test_failed_task_raises_with_exitstatus_and_the_last_20_log_lines(clock):
    log = [f"progress line {n:02d}" for n in range(1, 31)] + ["TASK ERROR: unable to create VM 100 - no space"]
    exitstatus = "unable to create VM 100 - no space"
    node = TaskNode([RUNNING, stopped(exitstatus)], log=log)
    with pytest.raises(ProxmoxTaskError) as caught:
        wait_for_task(node.client(), UPID)
    error = caught.value
    assert error.exitstatus == exitstatus
    assert error.upid == UPID
    assert error.log_tail == log[-20:]
    text = str(error)
    assert f"task {UPID} failed: {exitstatus}" in text
    assert "progress line 12" in text and "TASK ERROR" in text
    assert "progress line 11" not in text, "only the last 20 lines"


def test_failed_task_log_longer_than_one_page_still_gives_its_end(clock, monkeypatch):
    monkeypatch.setattr(tasks, "LOG_FETCH_LIMIT", 7)
    log = [f"transferred {n} of 45 GiB" for n in range(1, 46)] + ["TASK ERROR: import failed"]
    node = TaskNode([stopped("import failed")], log=log)
    with pytest.raises(ProxmoxTaskError) as caught:
        wait_for_task(node.client(), UPID)
    assert caught.value.log_tail == log[-20:]


def test_failed_task_with_a_short_log(clock):
    node = TaskNode([stopped("VM quit/powerdown failed - got timeout")], log=["TASK ERROR: got timeout"])
    with pytest.raises(ProxmoxTaskError) as caught:
        wait_for_task(node.client(), UPID)
    assert caught.value.log_tail == ["TASK ERROR: got timeout"]


def test_task_still_running_at_the_deadline_times_out(clock):
    node = TaskNode([RUNNING])
    start = clock.now
    with pytest.raises(ProxmoxTaskTimeout) as caught:
        wait_for_task(node.client(), UPID, timeout=30, poll=0.2, max_poll=2.0)
    assert caught.value.upid == UPID
    assert "still running after 30s" in str(caught.value)
    assert clock.now - start == pytest.approx(30)
    # The poll interval grows from `poll` up to `max_poll`, not beyond.
    assert clock.sleeps[0] == pytest.approx(0.2)
    assert max(clock.sleeps) == pytest.approx(2.0)
    assert clock.sleeps[:5] == sorted(clock.sleeps[:5])


def test_timeout_zero_checks_once(clock):
    node = TaskNode([RUNNING])
    with pytest.raises(ProxmoxTaskTimeout):
        wait_for_task(node.client(), UPID, timeout=0)
    assert len(node.status_polls()) == 1

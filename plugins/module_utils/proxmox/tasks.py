# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for PVE worker tasks (UPIDs) to finish."""

from __future__ import annotations

import time

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxError, api_path

LOG_TAIL_LINES = 20
# Enough for the progress lines of a long disk import; the tail is what is reported.
LOG_FETCH_LIMIT = 10000


class ProxmoxTaskError(ProxmoxError):
    """A task that stopped with an exit status other than OK or WARNINGS."""

    def __init__(self, upid, exitstatus, log_tail):
        self.upid = upid
        self.exitstatus = exitstatus
        self.log_tail = log_tail
        tail = "\n".join(log_tail)
        super().__init__(f"task {upid} failed: {exitstatus}" + (f"\nlast log lines:\n{tail}" if tail else ""))


class ProxmoxTaskTimeout(ProxmoxError):
    """A task still running when the wait ran out."""

    def __init__(self, upid, timeout):
        self.upid = upid
        super().__init__(f"task {upid} still running after {timeout}s; it goes on in the background "
                         "(raise the module's timeout, or look at it in the node's task list)")


def parse_upid(upid):
    """The fields of a UPID string: node, pid, pstart, starttime, type, id, user."""
    parts = str(upid).split(":")
    if len(parts) < 8 or parts[0] != "UPID":
        raise ProxmoxError(f"not a task id (UPID): {upid!r}")
    return {"node": parts[1], "pid": int(parts[2], 16), "pstart": int(parts[3], 16),
            "starttime": int(parts[4], 16), "type": parts[5], "id": parts[6], "user": parts[7]}


def is_upid(value):
    return isinstance(value, str) and value.startswith("UPID:") and value.count(":") >= 7


def task_succeeded(exitstatus):
    """PVE counts OK and 'WARNINGS: n' as success."""
    return exitstatus == "OK" or str(exitstatus).startswith("WARNINGS")


def task_log_tail(client, upid, lines=LOG_TAIL_LINES):
    """The last lines of the task's log, oldest first (all of them when lines is None)."""
    node = parse_upid(upid)["node"]
    path = api_path("nodes", node, "tasks", upid, "log")
    tail: list[str] = []
    start = 0
    # The log API pages from the start (and the client keeps only `data`, not the `total` beside it):
    # read on while pages come back full, so the error at the end of a long log is not cut off.
    while True:
        entries = client.get(path, start=start, limit=LOG_FETCH_LIMIT) or []
        tail = tail + [entry.get("t", "") for entry in entries]
        if lines is not None:
            tail = tail[-lines:]
        if len(entries) < LOG_FETCH_LIMIT:
            return tail
        start += len(entries)


def wait_for_task(client, upid, timeout=600, poll=0.2, max_poll=2.0):
    """Poll the task's status until it stops; returns the status dict, raises ProxmoxTaskError on failure."""
    node = parse_upid(upid)["node"]
    path = api_path("nodes", node, "tasks", upid, "status")
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(path) or {}
        if status.get("status") == "stopped":
            exitstatus = status.get("exitstatus", "")
            if not task_succeeded(exitstatus):
                raise ProxmoxTaskError(upid, exitstatus, task_log_tail(client, upid))
            return status
        if time.monotonic() >= deadline:
            raise ProxmoxTaskTimeout(upid, timeout)
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        poll = min(max_poll, poll * 1.5)


def task_log(client, upid):
    """Every line of the task's log, oldest first."""
    return task_log_tail(client, upid, lines=None)

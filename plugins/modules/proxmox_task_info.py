#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_task_info
short_description: Read a Proxmox VE task's status and log, or list the tasks of a guest
version_added: 0.1.0
description:
  - With O(upid), reads one task (worker) from C(GET /nodes/<node>/tasks/<upid>/status) and, with O(log), its whole
    log from C(GET /nodes/<node>/tasks/<upid>/log). The node is the one the UPID names.
  - With O(vmid), lists the tasks of that guest, newest first, from C(GET /nodes/<node>/tasks?vmid=<vmid>) on
    O(node), or on every node of the cluster when O(node) is not set (a guest's tasks stay on the node that ran
    them, so a migrated guest has tasks on more than one). Running tasks are listed too.
  - Without O(node), a node that does not answer is left out and named in RV(unreachable_nodes); it does not
    fail the module. The one node named in O(node) not answering is an error.
  - Reads only; never changes anything.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.INFO_MODULE
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
options:
  upid:
    description:
      - The task's id, as modules and C(proxmox_api) return it
        (C(UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:)).
      - Exactly one of O(upid) and O(vmid) is required.
    type: str
  log:
    description: With O(upid), also read the task's log (every line).
    type: bool
    default: true
  vmid:
    description:
      - List the tasks of this guest (a VM or a container).
      - The guest need not exist any more - the tasks of a destroyed guest are listed by its vmid.
    type: int
  node:
    description:
      - With O(vmid), list the tasks on this node only. Not set means every node of the cluster.
      - With O(upid), the node must be the one the UPID names (the UPID alone is enough).
    type: str
  type:
    description:
      - With O(vmid), only tasks of this type, such as V(qmstart), V(qmigrate), V(vzdump) or V(vzcreate)
        (PVE's C(typefilter)).
    type: str
  limit:
    description: With O(vmid), at most this many tasks, the newest.
    type: int
    default: 50
notes:
  - "Privileges: a user sees its own tasks (and those of its API tokens); C(Sys.Audit) on C(/nodes/<node>) shows
    everyone's."
"""

EXAMPLES = r"""
- name: Read the log of the vzdump task proxgate.core.proxmox_backup started (registered as backup)
  proxgate.core.proxmox_task_info:
    upid: "{{ backup.jobs[0].upid }}"
  delegate_to: localhost
  register: task

- name: Show how it ended
  ansible.builtin.debug:
    msg: "{{ task.task.exitstatus }}: {{ task.task.log[-3:] }}"

- name: The last five starts of VM 101, on any node
  proxgate.core.proxmox_task_info:
    vmid: 101
    type: qmstart
    limit: 5
  delegate_to: localhost
"""

RETURN = r"""
task:
  description: With O(upid), the task.
  returned: when O(upid) is given
  type: dict
  contains:
    upid:
      description: The task's id.
      type: str
      sample: "UPID:pve1:0001A2B3:00C0FFEE:6925A1B0:qmstart:101:root@pam:"
    node:
      description: The node the task ran on.
      type: str
      sample: pve1
    type:
      description: The task's type.
      type: str
      sample: qmstart
    id:
      description: What it worked on, such as the vmid; empty when nothing in particular.
      type: str
      sample: "101"
    user:
      description: Who started it (user@realm, or user@realm!token).
      type: str
      sample: root@pam
    status:
      description: V(running) or V(stopped).
      type: str
      sample: stopped
    exitstatus:
      description: How it ended (V(OK), V(WARNINGS... ), or the error); null while it runs.
      type: str
      sample: OK
    succeeded:
      description: True when it ended with OK or warnings, false when it failed, null while it runs.
      type: bool
      sample: true
    starttime:
      description: When it started (Unix time).
      type: int
      sample: 1795456800
    starttime_iso:
      description: The same time in ISO 8601, UTC.
      type: str
      sample: "2026-11-23T18:00:00Z"
    log:
      description: The log's lines, oldest first (with O(log)).
      type: list
      elements: str
      sample: ["starting VM 101", "TASK OK"]
tasks:
  description: With O(vmid), the guest's tasks, newest first.
  returned: when O(vmid) is given
  type: list
  elements: dict
  contains:
    upid:
      description: The task's id.
      type: str
    node:
      description: The node it ran on.
      type: str
    type:
      description: The task's type.
      type: str
    id:
      description: The vmid, as text.
      type: str
    user:
      description: Who started it.
      type: str
    status:
      description: V(running) or V(stopped).
      type: str
    exitstatus:
      description: How it ended; null while it runs.
      type: str
    succeeded:
      description: True for OK or warnings, false for a failure, null while it runs.
      type: bool
    starttime:
      description: When it started (Unix time).
      type: int
    starttime_iso:
      description: The same in ISO 8601, UTC.
      type: str
    endtime:
      description: When it ended (Unix time); null while it runs.
      type: int
unreachable_nodes:
  description: With O(vmid), the nodes that did not answer (their tasks are not listed).
  returned: when O(vmid) is given
  type: list
  elements: str
  sample: [pve3]
"""

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxError, api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.info import did_not_answer, iso_time
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.tasks import parse_upid, task_log, task_succeeded

UPID_FORM = "UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:"


def upid_fields(upid):
    """The UPID's fields (parse_upid), or a ProxmoxError that says what a UPID looks like."""
    try:
        fields = parse_upid(upid)
    except (ProxmoxError, ValueError):
        fields = None
    if fields is None or not fields["node"] or not fields["type"]:
        raise ProxmoxError(f"upid is not a Proxmox VE task id ({UPID_FORM}, with hexadecimal pid, pstart and "
                           f"starttime), got {upid!r}")
    return fields


def outcome(exitstatus):
    """succeeded for an exit status: None while the task runs."""
    return None if exitstatus is None else task_succeeded(exitstatus)


def task_fields(status, upid):
    """What the module returns about GET .../tasks/<upid>/status."""
    fields = upid_fields(upid)
    running = status.get("status") == "running"
    exitstatus = None if running else status.get("exitstatus")
    starttime = status.get("starttime", fields["starttime"])
    return {"upid": upid, "node": status.get("node", fields["node"]), "type": status.get("type", fields["type"]),
            "id": str(status.get("id", fields["id"]) or ""), "user": status.get("user", fields["user"]),
            "status": "running" if running else "stopped", "exitstatus": exitstatus,
            "succeeded": outcome(exitstatus), "starttime": starttime, "starttime_iso": iso_time(starttime)}


def listed_task(item, node):
    """What the module returns about one entry of GET /nodes/<node>/tasks (whose `status` is the exit status;
    a running task has none, or RUNNING with source=all)."""
    exitstatus = item.get("status")
    running = exitstatus in (None, "", "RUNNING")
    exitstatus = None if running else exitstatus
    return {"upid": item.get("upid"), "node": item.get("node", node), "type": item.get("type"),
            "id": str(item.get("id") or ""), "user": item.get("user"),
            "status": "running" if running else "stopped", "exitstatus": exitstatus,
            "succeeded": outcome(exitstatus), "starttime": item.get("starttime"),
            "starttime_iso": iso_time(item.get("starttime")), "endtime": item.get("endtime")}


def newest(tasks, limit):
    """The `limit` newest tasks, newest first (ties by UPID, so the order is stable)."""
    return sorted(tasks, key=lambda task: (-(task["starttime"] or 0), task["upid"] or ""))[:limit]


class ProxmoxTaskInfo(ProxmoxModule):
    argument_spec = dict(
        upid=dict(type="str"),
        log=dict(type="bool", default=True),
        vmid=dict(type="int"),
        node=dict(type="str"),
        type=dict(type="str"),
        limit=dict(type="int", default=50),
    )
    module_kwargs = dict(mutually_exclusive=[("upid", "vmid")], required_one_of=[("upid", "vmid")])
    name_formats = {"node": "pve-node"}

    def validate(self):
        params = self.params
        if params["upid"] is not None:
            try:
                fields = upid_fields(params["upid"])
            except ProxmoxError as exc:
                self.fail(str(exc))
            if params["node"] and params["node"] != fields["node"]:
                self.fail(f"node is {params['node']!r} but the task ran on {fields['node']!r} (its UPID says so); "
                          "leave node out with upid")
            if params["type"] is not None:
                self.fail("type filters the tasks of a vmid; with upid leave it out")
        else:
            if params["vmid"] < 100:
                self.fail(f"vmid must be 100 or more, got {params['vmid']}")
            if params["limit"] < 1:
                self.fail(f"limit must be 1 or more, got {params['limit']}")
            if params["type"] is not None and not params["type"].strip():
                self.fail("type must be a task type such as qmstart, got an empty string")

    def run(self):
        if self.params["upid"] is not None:
            return dict(changed=False, task=self.one_task(self.params["upid"]))
        tasks, missing = self.guest_tasks()
        return dict(changed=False, tasks=tasks, unreachable_nodes=missing)

    def one_task(self, upid):
        node = upid_fields(upid)["node"]
        task = task_fields(self.client.get(api_path("nodes", node, "tasks", upid, "status")) or {}, upid)
        if self.params["log"]:
            task["log"] = task_log(self.client, upid)
        return task

    def guest_tasks(self):
        params = self.params
        nodes = [params["node"]] if params["node"] else sorted(
            entry["node"] for entry in self.client.get("/nodes") or [] if entry.get("node"))
        query = dict(vmid=params["vmid"], limit=params["limit"], source="all")
        if params["type"]:
            query["typefilter"] = params["type"]
        tasks, missing = [], []
        for node in nodes:
            try:
                items = self.client.get(api_path("nodes", node, "tasks"), **query) or []
            except ProxmoxError as exc:
                if params["node"] or not did_not_answer(exc):
                    raise
                missing.append(node)
                continue
            tasks += [listed_task(item, node) for item in items]
        return newest(tasks, params["limit"]), missing


def main():
    ProxmoxTaskInfo().execute()


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_backup
short_description: Back up Proxmox VE guests (vzdump) and return the archives made
version_added: 0.1.0
description:
  - Backs up a list of QEMU VMs and LXC containers with vzdump, to a storage that holds backups
    (a directory, NFS or CIFS storage with C(backup) content, or a Proxmox Backup Server).
  - vzdump backs up only the guests of the node it runs on, so the module runs one vzdump task per node,
    C(POST /nodes/<node>/vzdump) with that node's guests, one node after the other, and waits for each
    (O(timeout)).
  - It returns the volume id of each new archive, found by listing the guest's backups on the storage before
    and after the task (the task log's C(creating vzdump archive ...) line is the fallback).
  - A backup is an action, not a state - every run that is not in check mode makes new archives and reports
    C(changed). In check mode the guests and the storage are checked and the result lists the vzdump tasks
    that would run, and nothing is written.
  - Everything is checked before the first task starts - every guest exists (a name must be unique in the
    cluster), the storage exists, holds C(backup) content and is enabled and active on every node involved,
    and O(notes_template) only uses the variables PVE knows.
  - A task ending with C(WARNINGS) counts as success; its warning lines are returned and shown as warnings.
    A guest whose backup fails fails the module, with PVE's error for it and the tail of the task log; the
    archives made until then are still returned.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
attributes:
  check_mode:
    support: full
    details:
      - Nothing runs; RV(jobs) lists the vzdump tasks that would run, RV(backups) is empty.
  diff_mode:
    support: full
    details:
      - The diff lists the volume ids of the guests' backups on the storage before and after; in check mode
        the new ones are shown with a placeholder for the time they would be made at.
options:
  guests:
    description:
      - The guests to back up, QEMU VMs or LXC containers, each by vmid (digits only) or by name.
      - A name must belong to exactly one guest of the cluster; a name used by several fails the module,
        naming their vmids.
    type: list
    elements: str
    required: true
  node:
    description:
      - Only back up guests on this node. Every guest in O(guests) must be on it, or the module fails before
        any backup (vzdump on a node silently skips the guests of other nodes).
      - Not set means each guest is backed up on the node it is on.
    type: str
  storage:
    description:
      - The storage the archives go to. It must have C(backup) in its content types and be enabled and
        active on every node of the guests (a node-local storage such as C(local) holds each node's
        archives on that node).
    type: str
    required: true
  mode:
    description:
      - V(snapshot) backs up a running guest live, V(suspend) suspends it for the backup, V(stop) shuts it
        down for the backup and starts it again.
      - A stopped guest is always backed up in stop mode, whatever is asked.
    type: str
    choices: [snapshot, suspend, stop]
    default: snapshot
  compress:
    description:
      - Compression of the archive. V(0) means none. A Proxmox Backup Server compresses on its own and
        ignores it.
      - PVE's own default is no compression; the module defaults to V(zstd), as the web interface does.
    type: str
    choices: [zstd, gzip, lzo, "0"]
    default: zstd
  notes_template:
    description:
      - The notes each new archive gets. PVE fills in C({{cluster}}), C({{guestname}}), C({{node}}) and
        C({{vmid}}); C(\n) is a line break and C(\\) a backslash. At most 1024 characters, on one line.
      - >-
        Ansible templates C({{ }}) itself before the module sees the value, so write PVE's variables so
        that Ansible leaves them alone, as in C(notes_template: "{{ '{{guestname}}' }} before the upgrade"),
        or put the whole value inside C({% raw %}...{% endraw %}), or mark it C(!unsafe) (then it cannot hold
        Ansible variables). See the examples.
      - Any other C({{name}}) fails the module before any backup (PVE would make the archive without notes).
    type: str
  protected:
    description:
      - Mark the new archives as protected, so neither pruning nor a removal deletes them.
    type: bool
    default: false
  remove:
    description:
      - After each backup, prune the guest's older backups on the storage by the storage's retention
        (its C(prune-backups) setting, C(keep-last) and the like). Protected backups are never pruned.
        A storage without a retention setting keeps everything either way.
      - This is PVE's own default (its C(remove) parameter defaults to 1, also in the web interface's
        C(Backup now)).
      - With V(false), a storage with a retention setting becomes a hard limit - once the guest has as many
        unprotected backups as the retention keeps, vzdump refuses the backup
        (C(There is a max backup limit of N enforced by the target storage)).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each node's vzdump task. A task still running then goes on in the background
        and the module fails.
    type: int
    default: 3600
notes:
  - "Privileges: C(VM.Audit) on the guests (to find them), C(VM.Backup) on the guests, and
    C(Datastore.AllocateSpace) on the storage (to write and list the archives; C(Datastore.Audit) also
    lets the storage status be read)."
  - A backup takes the guest's config lock (C(lock=backup)) while it runs; other changes to the guest wait
    or fail meanwhile. A guest already locked (by a snapshot, a migration, another backup) fails its backup.
  - A node runs one vzdump job at a time; a job waits for another node-wide job to finish first.
"""

EXAMPLES = r"""
- name: Back up web01 and the dns container before an upgrade, protected, with notes
  proxgate.core.proxmox_backup:
    guests: [web01, 200]
    storage: local
    protected: true
    notes_template: "{{ '{{guestname}}' }} before the upgrade to {{ target_version }}"
  delegate_to: localhost
  register: before_upgrade

- name: Show the archives
  ansible.builtin.debug:
    msg: "{{ before_upgrade.backups | map(attribute='volid') | list }}"

- name: Nightly backup to a Proxmox Backup Server, the notes kept from Ansible's templating by raw
  proxgate.core.proxmox_backup:
    guests: [101]
    storage: pbs-main
    notes_template: "{% raw %}{{guestname}} ({{vmid}}) nightly{% endraw %}"
    # or, with no Ansible variable in it: notes_template: !unsafe "{{guestname}} ({{vmid}}) nightly"
  delegate_to: localhost

- name: Stop-mode backups of the stopped database VMs on pve2, gzip, without pruning
  proxgate.core.proxmox_backup:
    guests: [db01, db02]
    node: pve2
    storage: nfs-backup
    mode: stop
    compress: gzip
    remove: false
    timeout: 7200
  delegate_to: localhost
"""

RETURN = r"""
backups:
  description:
    - The archives made, one per guest, in the order of their vmids. Empty in check mode.
    - When the module fails, the archives made before the failure.
  returned: always
  type: list
  elements: dict
  contains:
    vmid:
      description: The guest's id.
      type: int
      sample: 101
    name:
      description: The guest's name.
      type: str
      sample: web01
    type:
      description: V(qemu) or V(lxc).
      type: str
      sample: qemu
    node:
      description: The node the backup ran on.
      type: str
      sample: pve1
    volid:
      description: The archive's volume id; null when the node listed none and logged none.
      type: str
      sample: local:backup/vzdump-qemu-101-2026_11_23-18_00_00.vma.zst
    size:
      description: Size of the archive in bytes.
      type: int
      sample: 1288490188
    ctime:
      description: When the archive was made (Unix time).
      type: int
      sample: 1795456800
    format:
      description: The archive's format as PVE lists it (V(vma.zst), V(tar.zst), V(pbs-vm), ...).
      type: str
      sample: vma.zst
    notes:
      description: The archive's notes, if any.
      type: str
      sample: web01 before the upgrade
    protected:
      description: Whether the archive is protected.
      type: bool
      sample: true
jobs:
  description: The vzdump tasks, one per node, in the order they ran (or would run, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    node:
      description: The node.
      type: str
      sample: pve1
    vmids:
      description: The guests it backs up.
      type: list
      elements: int
      sample: [101, 200]
    upid:
      description: The task's id; null in check mode and for a task that did not start.
      type: str
      sample: "UPID:pve1:0001A2B3:00C4D5E6:6740F0A1:vzdump::root@pam:"
    exitstatus:
      description: "How the task ended (V(OK), V(WARNINGS: n), or the error PVE gives); null when it did not run."
      type: str
      sample: OK
    warnings:
      description: The C(WARN:) lines of the task's log.
      type: list
      elements: str
      sample: []
"""

import posixpath
import re

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxApiError, api_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import cluster_guests, resolve_guest_refs
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.tasks import (
    ProxmoxTaskError,
    ProxmoxTaskTimeout,
    is_upid,
    task_log,
)

NOTES_VARIABLES = ("cluster", "guestname", "node", "vmid")
NOTES_MAX = 1024
# Enough lines for the log of a job of many guests; the log is read only to find archives, errors and warnings.
STARTING = re.compile(r"INFO: Starting Backup of VM (\d+) \((\w+)\)")
ARCHIVE = re.compile(r"INFO: creating (vzdump|Proxmox Backup Server) archive '([^']+)'")
FAILED = re.compile(r"ERROR: Backup of VM (\d+) failed - (.*)")
WARNING = re.compile(r"^(?:\S+ \S+ )?WARN(?:ING)?: ")
COMPRESS_EXT = {"zstd": ".zst", "gzip": ".gz", "lzo": ".lzo", "0": ""}


# ------------------------------------------------------------------------------------------ pure helpers

def braced(name):
    return "{{" + name + "}}"


def notes_template_error(template):
    """Why PVE would not make notes from this template, or None."""
    if template is None:
        return None
    if "\n" in template:
        return "notes_template must be one line (PVE refuses a line feed; write \\n for a line break in the notes)"
    if len(template) > NOTES_MAX:
        return f"notes_template is {len(template)} characters long; PVE allows at most {NOTES_MAX}"
    bad_escape = re.search(r"\\([^\\n])", template.replace("\\\\", ""))
    if bad_escape:
        return (f"notes_template has the escape \\{bad_escape.group(1)}; PVE knows only \\n (a line break) and "
                "\\\\ (a backslash)")
    unknown = sorted({name for name in re.findall(r"\{\{([^\s]+?)\}\}", template) if name not in NOTES_VARIABLES})
    if unknown:
        return (f"notes_template uses {', '.join(map(braced, unknown))}; PVE fills in only "
                f"{', '.join(map(braced, NOTES_VARIABLES))} (and would make the archive without notes)")
    return None


def group_by_node(guests):
    """{node: [guests, by vmid]}, the nodes sorted: one vzdump task per node."""
    groups = {}
    for guest in sorted(guests, key=lambda g: int(g["vmid"])):
        groups.setdefault(guest["node"], []).append(guest)
    return dict(sorted(groups.items()))


def parse_vzdump_log(lines):
    """What a vzdump task log says: {vmid: archive named}, {vmid: error}, and the warning lines."""
    archives, errors, warnings = {}, {}, []
    current = None
    for line in lines:
        started = STARTING.search(line)
        if started:
            current = int(started.group(1))
            continue
        archive = ARCHIVE.search(line)
        if archive:
            target = archive.group(2)
            pbs = re.match(r"(?:vm|ct)/(\d+)/", target)
            vmid = int(pbs.group(1)) if pbs else current
            if vmid is not None:
                archives[vmid] = target
            continue
        failed = FAILED.search(line)
        if failed:
            errors[int(failed.group(1))] = failed.group(2)
            continue
        if WARNING.search(line):
            warnings.append(line)
    return archives, errors, warnings


def archive_volid(storage, target):
    """The volume id of an archive as the log names it: a file path (dir, NFS, ...) or a PBS snapshot."""
    if target.startswith("/"):
        return f"{storage}:backup/{posixpath.basename(target)}"
    return f"{storage}:backup/{target}"


def planned_volid(storage, storage_type, guest, compress):
    """The volume id a backup would get, with a placeholder for its time (check mode's diff)."""
    kind = guest.get("type", "qemu")
    if storage_type == "pbs":
        return f"{storage}:backup/{'ct' if kind == 'lxc' else 'vm'}/{guest['vmid']}/YYYY-MM-DDTHH:MM:SSZ"
    ext = (".tar" if kind == "lxc" else ".vma") + COMPRESS_EXT.get(compress, "")
    return f"{storage}:backup/vzdump-{kind}-{guest['vmid']}-YYYY_MM_DD-HH_MM_SS{ext}"


def backup_entry(guest, node, item):
    """What the module returns about one new archive (item: its entry in the storage listing)."""
    item = item or {}
    return {
        "vmid": int(guest["vmid"]),
        "name": guest.get("name"),
        "type": guest.get("type", "qemu"),
        "node": node,
        "volid": item.get("volid"),
        "size": item.get("size"),
        "ctime": item.get("ctime"),
        "format": item.get("format"),
        "notes": item.get("notes"),
        "protected": bool(item.get("protected")),
    }


def new_archive(before, after, logged_volid):
    """The listing entry of the guest's new archive: the one the listing gained (the one the log names when it
    gained several, as when another job ran at the same time), else None."""
    gained = [item for volid, item in after.items() if volid not in before]
    if logged_volid and logged_volid in after and (len(gained) != 1 or logged_volid not in before):
        return after[logged_volid]
    if len(gained) == 1:
        return gained[0]
    return max(gained, key=lambda item: item.get("ctime") or 0) if gained else None


def describe_guest(guest):
    name = guest.get("name")
    return f"{guest['vmid']} ({name})" if name else str(guest["vmid"])


# ------------------------------------------------------------------------------------------------ module

class ProxmoxBackup(ProxmoxModule):
    argument_spec = dict(
        guests=dict(type="list", elements="str", required=True),
        node=dict(type="str"),
        storage=dict(type="str", required=True),
        mode=dict(type="str", choices=["snapshot", "suspend", "stop"], default="snapshot"),
        compress=dict(type="str", choices=["zstd", "gzip", "lzo", "0"], default="zstd"),
        notes_template=dict(type="str"),
        protected=dict(type="bool", default=False),
        remove=dict(type="bool", default=True),
        timeout=dict(type="int", default=3600),
    )
    name_formats = {"node": "pve-node", "storage": "pve-storage-id"}

    def validate(self):
        params = self.params
        if not params["guests"] or any(not str(item).strip() for item in params["guests"]):
            self.fail("guests must list at least one guest, each a vmid or a name (an empty entry was given)")
        if not params["storage"].strip():
            self.fail("storage must name a storage, such as local")
        error = notes_template_error(params["notes_template"])
        if error:
            self.fail(error)
        for problem in self.timeout_problems(params):
            self.fail(problem)

    # ------------------------------------------------------------- reading

    def find_guests(self):
        resources = cluster_guests(self.client, None)
        vmids, errors = resolve_guest_refs(resources, self.params["guests"])
        by_vmid = {int(guest["vmid"]): guest for guest in resources}
        guests = [by_vmid[vmid] for vmid in vmids]
        if errors:
            self.fail("guests: " + "; ".join(errors))
        node = self.params["node"]
        elsewhere = [guest for guest in guests if guest.get("node") != node]
        if node is not None and elsewhere:
            listed = ", ".join(f"{describe_guest(g)} on {g.get('node')}" for g in elsewhere)
            self.fail(f"node is {node}, but guests {listed} are not on it (vzdump on a node backs up only its own "
                      "guests); leave node out to back up each guest on its own node")
        return guests

    def storage_path(self, node):
        return api_path("nodes", node, "storage", self.params["storage"])

    def check_storage(self, node, guests):
        """The storage's status on the node, once it is known to take backups there."""
        storage = self.params["storage"]
        try:
            status = self.client.get(f"{self.storage_path(node)}/status") or {}
        except ProxmoxApiError as exc:
            if (exc.status == 400 and "storage" in exc.errors) or exc.missing:
                self.fail(f"storage {storage!r} does not exist (node {node} answered: "
                          f"{exc.errors.get('storage') or exc.message})")
            raise
        content = [item for item in re.split(r"[\s,;]+", str(status.get("content") or "")) if item]
        ids = ", ".join(describe_guest(guest) for guest in guests)
        if "backup" not in content:
            self.fail(f"storage {storage!r} does not take backups: its content types are "
                      f"{', '.join(content) or 'none'}; choose a storage with 'backup' content (such as local or a "
                      "Proxmox Backup Server), or add 'backup' to its content")
        if not int(status.get("enabled", 1)):
            self.fail(f"storage {storage!r} is not enabled on node {node}, where guests {ids} are")
        if not int(status.get("active", 1)):
            self.fail(f"storage {storage!r} is not active on node {node}, where guests {ids} are")
        return status

    def list_backups(self, node, vmid):
        """The guest's backups on the storage, as the node lists them: {volid: entry}."""
        items = self.client.get(f"{self.storage_path(node)}/content", content="backup", vmid=vmid) or []
        return {item["volid"]: item for item in items if item.get("volid")}

    # ------------------------------------------------------------- writing

    def vzdump_data(self, guests):
        params = self.params
        data = {"vmid": ",".join(str(guest["vmid"]) for guest in guests), "storage": params["storage"],
                "mode": params["mode"], "compress": params["compress"], "remove": params["remove"]}
        if params["protected"]:
            data["protected"] = True
        if params["notes_template"]:
            data["notes-template"] = params["notes_template"]
        return data

    def run_job(self, node, guests, before):
        """One node's vzdump: start it, wait, find the archives. Returns (job, backups, failure), failure being
        None or (message, log tail)."""
        job = {"node": node, "vmids": [int(g["vmid"]) for g in guests], "upid": None, "exitstatus": None,
               "warnings": []}
        try:
            upid = self.client.post(api_path("nodes", node, "vzdump"), **self.vzdump_data(guests))
        except ProxmoxApiError as exc:
            return job, [], (f"vzdump on node {node} was refused: {exc}", [])
        if not is_upid(upid):
            # PVE answers OK instead of a task when none of the guests is on the node (any more).
            return job, [], (f"vzdump on node {node} backed up nothing: guests "
                             f"{', '.join(map(describe_guest, guests))} are no longer on it (migrated?)", [])
        job["upid"] = upid
        failure = None
        try:
            job["exitstatus"] = self.wait(upid).get("exitstatus")
        except ProxmoxTaskError as exc:
            job["exitstatus"] = exc.exitstatus
            failure = exc
        except ProxmoxTaskTimeout as exc:
            return job, [], (str(exc), [])
        log = TaskLog(self.client, upid)
        if failure is not None or str(job["exitstatus"]).startswith("WARNINGS"):
            job["warnings"] = parse_vzdump_log(log.lines())[2]
        backups = self.find_archives(node, guests, before, log, failed=failure is not None)
        if failure is not None:
            return job, backups, (self.failure_message(node, guests, failure, log.lines()), failure.log_tail)
        return job, backups, None

    def find_archives(self, node, guests, before, log, failed=False):
        """The new archive of each guest: the listing's difference, the log's archive line as the fallback.
        After a failed job, only the guests that have one."""
        errors = parse_vzdump_log(log.lines())[1] if failed else {}
        backups = []
        for guest in guests:
            vmid = int(guest["vmid"])
            if vmid in errors:
                continue
            after = self.list_backups(node, vmid)
            logged = None
            if failed or len([volid for volid in after if volid not in before[vmid]]) != 1:
                # Nothing new, or more than one (another job at the same time): the log names this job's archive.
                archives = parse_vzdump_log(log.lines())[0]
                logged = archive_volid(self.params["storage"], archives[vmid]) if vmid in archives else None
            item = new_archive(before[vmid], after, logged)
            if item is None and logged:
                item = self.volume_info(node, logged)
            if item is None:
                if not failed:
                    self.warn(f"the backup of guest {describe_guest(guest)} finished, but node {node} lists no new "
                              f"archive of it on storage {self.params['storage']!r} and the task log names none")
                    backups.append(backup_entry(guest, node, None))
                continue
            backups.append(backup_entry(guest, node, item))
        return backups

    def volume_info(self, node, volid):
        """A volume the listing does not show (no right to list it?), from GET .../content/<volid>."""
        try:
            info = self.client.get(self.storage_path(node) + api_path("content", volid)) or {}
        except ProxmoxApiError:
            return {"volid": volid}
        return dict(info, volid=volid)

    @staticmethod
    def failure_message(node, guests, failure, log):
        errors = parse_vzdump_log(log)[1]
        names = {int(g["vmid"]): describe_guest(g) for g in guests}
        lines = [f"vzdump on node {node} failed: {failure.exitstatus}"]
        lines += [f"guest {names.get(vmid, vmid)}: {error}" for vmid, error in sorted(errors.items())]
        tail = "\n".join(failure.log_tail)
        return "\n".join(lines) + (f"\nlast log lines:\n{tail}" if tail else "")

    # --------------------------------------------------------------- logic

    def run(self):
        storage = self.params["storage"]
        guests = self.find_guests()
        groups = group_by_node(guests)
        statuses = {node: self.check_storage(node, members) for node, members in groups.items()}
        before = {int(g["vmid"]): self.list_backups(node, int(g["vmid"])) for node, members in groups.items()
                  for g in members}

        if self.check_mode:
            jobs = [{"node": node, "vmids": [int(g["vmid"]) for g in members], "upid": None, "exitstatus": None,
                     "warnings": []} for node, members in groups.items()]
            planned = [planned_volid(storage, statuses[g["node"]].get("type"), g, self.params["compress"])
                       for g in guests]
            return self.result(jobs, [], before, planned)

        jobs, backups = [], []
        for node, members in groups.items():
            job, made, failure = self.run_job(node, members, before)
            jobs.append(job)
            backups += made
            if failure is not None:
                self.fail_after(failure, jobs, backups, groups)
        for job in jobs:
            for line in job["warnings"]:
                self.warn(f"vzdump on node {job['node']}: {line}")
        return self.result(jobs, backups, before, [b["volid"] for b in backups if b["volid"]])

    def result(self, jobs, backups, before, added):
        result = dict(changed=True, jobs=jobs, backups=sorted(backups, key=lambda b: b["vmid"]))
        if self.diff_mode:
            existing = sorted(volid for listing in before.values() for volid in listing)
            result["diff"] = {"before": {"backups": existing}, "after": {"backups": existing + sorted(added)}}
        return result

    def fail_after(self, failure, jobs, backups, groups):
        """Fail with what was done: the archives made so far (also by the failed job) and the jobs not run."""
        message, tail = failure
        done = {job["node"] for job in jobs}
        pending = [f"{node} (guests {', '.join(map(describe_guest, members))})"
                   for node, members in groups.items() if node not in done]
        if pending:
            message += "\nnot started, so not backed up: " + "; ".join(pending)
        if backups:
            message += "\nbackups made: " + ", ".join(b["volid"] or f"guest {b['vmid']}" for b in backups)
        self.fail(message, changed=bool(backups), jobs=jobs, backups=sorted(backups, key=lambda b: b["vmid"]),
                  task_log=tail, upid=jobs[-1]["upid"], exitstatus=jobs[-1]["exitstatus"])


class TaskLog:
    """A task's log, read once, when first needed."""

    def __init__(self, client, upid):
        self.client = client
        self.upid = upid
        self._lines = None

    def lines(self):
        if self._lines is None:
            self._lines = task_log(self.client, self.upid)
        return self._lines


def main():
    ProxmoxBackup().execute()


if __name__ == "__main__":
    main()

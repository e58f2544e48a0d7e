"""Backups (vzdump) as a node makes them, added to fakepve 0.5.0 through its Python API.

Gap: fakepve answers ``POST /nodes/{node}/vzdump`` from the schema alone - a UPID of a task that does
nothing. A node (pve-manager PVE/API2/VZDump.pm and PVE/VZDump.pm) backs up the listed guests that live on
it (others are skipped as external), each under the config lock ``backup``, writes one archive volume per
guest into the storage (content ``backup``, with size, ctime, the notes made from ``notes-template`` and the
protected flag), prunes older backups by the storage's retention when ``remove`` is on, and logs each step.
A storage without ``backup`` content makes the task fail before any guest is touched, with
``could not get storage information for 'X': can't use storage 'X' for backups - wrong content type``.
A guest that fails ends as ``ERROR: Backup of VM N failed - ...`` in the log and the task as ``job errors``;
a warning (notes that cannot be made) ends it as ``WARNINGS: n``.

Also: a node-local storage (``dir`` without ``shared``, LVM, ZFS) holds its own backups on each node, while
fakepve keeps one volume list per storage for the whole cluster; the content listing of such a storage
shows only the backups written on that node. The listing also carries ``subtype`` (qemu or lxc), as PVE's.
"""

from __future__ import annotations

import asyncio
import re
import time

from fakepve import PveError
from fakepve.model import TaskError
from fakepve.routing import split_list

VZDUMP = "/nodes/{node}/vzdump"
# Options only root@pam (a password login, not even root's token) may give (API2/VZDump.pm).
ROOT_ONLY = ("maxfiles", "prune-backups", "tmpdir", "dumpdir", "script", "bwlimit", "ionice")
# Storage types whose volumes live on one node unless the storage is marked shared.
NODE_LOCAL_TYPES = ("dir", "btrfs", "lvm", "lvmthin", "zfspool")
COMPRESS_EXT = {"0": "", "1": ".lzo", "lzo": ".lzo", "gzip": ".gz", "zstd": ".zst"}
# PVE::Storage::prune_mark_backup_group: the period each keep-* option counts in.
PRUNE_PERIODS = (("keep-last", None), ("keep-hourly", "%Y/%m/%d/%H"), ("keep-daily", "%Y/%m/%d"),
                 ("keep-weekly", "%G/%V"), ("keep-monthly", "%Y/%m"), ("keep-yearly", "%Y"))
NOTES_VARS = ("cluster", "guestname", "node", "vmid")


def param_error(**fields):
    return PveError(400, "Parameter verification failed.", fields)


def format_size(size):
    """PVE::VZDump::format_size."""
    if size / 1024 < 1024:
        return f"{int(size / 1024)}KB"
    mib = size / 1024 ** 2
    if mib < 1024:
        return f"{int(mib)}MB"
    gib = mib / 1024
    return f"{gib:.2f}GB" if gib < 1024 else f"{gib / 1024:.2f}TB"


def generate_notes(template, info):
    """PVE::VZDump's generate_notes: \\\\ and \\n escapes, then {{cluster}}, {{guestname}}, {{node}}, {{vmid}}."""
    def unescape(found):
        char = found.group(1)
        if char == "\\":
            return "\\"
        if char == "n":
            return "\n"
        raise ValueError(f"unexpected escape character '{char}'")
    text = re.sub(r"\\(.)", unescape, template)
    text = re.sub(r"\{\{(" + "|".join(NOTES_VARS) + r")\}\}", lambda found: str(info[found.group(1)]), text)
    unknown = re.search(r"\{\{([^\s]+)\}\}", text)
    if unknown:
        raise ValueError(f"unexpected variable name '{unknown.group(1)}'")
    return text


def parse_retention(text):
    """A prune-backups property string (keep-last=3,keep-daily=7) as a dict of ints."""
    out = {}
    for item in split_list(str(text or "").replace(",", " ")):
        key, _unused, value = item.partition("=")
        out[key] = int(value or 0)
    return out


def prune_marks(backups, keep):
    """PVE::Storage::prune_mark_backup_group: {volname: 'keep' | 'remove' | 'protected'} for one guest's
    backups ({volname, ctime, protected}), newest first."""
    entries = sorted(backups, key=lambda b: -b["ctime"])
    marks = {b["volname"]: "protected" for b in entries if b.get("protected")}
    if keep.get("keep-all"):
        return {b["volname"]: marks.get(b["volname"], "keep") for b in entries}
    for option, period in PRUNE_PERIODS:
        count = keep.get(option, 0)
        if not count:
            continue

        def period_of(ctime, period=period):
            return ctime if period is None else time.strftime(period, time.localtime(ctime))
        done = {period_of(b["ctime"]) for b in entries if marks.get(b["volname"]) == "keep"}
        new = set()
        for backup in entries:
            ident = period_of(backup["ctime"])
            if backup["volname"] in marks or ident in done:
                continue
            if ident not in new:
                if len(new) >= count:
                    break
                new.add(ident)
                marks[backup["volname"]] = "keep"
            else:
                marks[backup["volname"]] = "remove"
    return {b["volname"]: marks.get(b["volname"], "remove") for b in entries}


class GuestBackupError(Exception):
    """One guest's backup failed; the job goes on with the next guest."""


class BackupGaps:
    """Mixin for ProxgatePve: POST /nodes/{node}/vzdump as a node runs it, and backup listings per node."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # vmid -> the error its backup ends with (a disk read error, a full target, ...).
        self.backup_failures = {}
        # vmid -> a warning its backup logs (such as qemu-server's "no efidisk configured! Using temporary
        # efivars disk."): the job ends with WARNINGS: n.
        self.backup_warnings = {}
        # PVE seconds each guest's backup takes while it holds the `backup` lock (scaled by time_scale).
        self.backup_secs = 0

    def fail_backup(self, vmid, message):
        """The next backups of this guest fail with message (until the entry is removed)."""
        self.backup_failures[int(vmid)] = message

    def warn_backup(self, vmid, message):
        """The next backups of this guest log the warning `WARN: message` and succeed."""
        self.backup_warnings[int(vmid)] = message

    def _routes_backups(self):
        return [("POST", VZDUMP, self._vzdump)]

    # ------------------------------------------------------------ the API call

    async def _vzdump(self, v, user):
        node = v["node"]
        self._check_vzdump_params(v, user)
        storage = v.get("storage") or "local"
        if v.get("storage"):
            self.require(user, f"/storage/{storage}", "Datastore.AllocateSpace")
        vmids = self._included(v)
        local = [vmid for vmid in vmids if self.guest(vmid) is not None and self.guest(vmid).node == node]
        orphaned = [vmid for vmid in vmids if self.guest(vmid) is None]
        skipped = [vmid for vmid in vmids if vmid not in local and vmid not in orphaned]
        local = sorted(local + orphaned)
        if not local and not v.get("all"):
            return "OK"  # PVE: "silent exit if specified VMs run on other nodes"
        taskid = local[0] if len(local) == 1 else ""

        async def work(log):
            return await self._vzdump_job(node, storage, v, user, local, skipped, log)
        return await self._vzdump_task(node, taskid, user, work)

    @staticmethod
    def _check_vzdump_params(v, user):
        if v.get("stdout"):
            raise param_error(stdout="option is only allowed on the command line interface.")
        for key in ROOT_ONLY:
            if v.get(key) is not None and user != "root@pam":
                raise param_error(**{key: "Only root may set this option."})
        for key in ("all", "exclude", "pool"):
            if v.get(key) and v.get("vmid") and (key != "all" or v.get("all")):
                raise param_error(**{key: "option conflicts with option 'vmid'"})
        if v.get("notes-template") and "\n" in v["notes-template"]:
            raise param_error(**{"notes-template": "contains a line feed"})
        if not (v.get("all") or v.get("stop") or v.get("pool") or v.get("vmid")):
            raise param_error(vmid="property is missing")

    def _included(self, v):
        """PVE::VZDump::get_included_guests, for vmid lists and all (with exclude)."""
        if v.get("vmid"):
            ids = split_list(v["vmid"])
            for item in ids:
                if not re.fullmatch(r"\d+", item):
                    raise PveError(500, f"ERROR: strange VM ID '{item}'")
            return sorted({int(item) for item in ids if int(item)})
        excluded = {int(item) for item in split_list(v.get("exclude"))}
        return sorted(guest.vmid for guest in self._guests() if guest.vmid not in excluded)

    async def _vzdump_task(self, node, taskid, user, work):
        """A vzdump worker: like fakepve's task(), but it can end with WARNINGS: n as a node's does."""
        upid, pid, start = self._upid(node, "vzdump", taskid, user)
        record = {"upid": upid, "node": node, "pid": pid, "pstart": pid * 7, "starttime": start, "type": "vzdump",
                  "id": str(taskid), "user": user, "status": "running", "log": []}
        self.tasks[upid] = record
        self.tasklog.append(record)

        async def run():
            try:
                warnings = await work(record["log"])
                status = f"WARNINGS: {warnings}" if warnings else "OK"
                last = f"TASK WARNINGS: {warnings}" if warnings else "TASK OK"
            except TaskError as exc:
                status = str(exc)
                last = f"TASK ERROR: {status}"
            record.update(status="stopped", exitstatus=status, endtime=int(time.time()))
            record["log"].append(last)

        if self.time_scale:
            asyncio.ensure_future(run())
        else:
            await run()
        return upid

    # ----------------------------------------------------------------- the job

    def _storage_errors(self, storage, node):
        """What PVE::VZDump->new dies with for the storage, before any guest is touched."""
        store = self.storages.get(storage)
        if store is None:
            missing = f"storage '{storage}' does not exist"
            return [f"could not activate storage '{storage}': {missing}",
                    f"could not get storage information for '{storage}': {missing}"]
        errors = []
        nodes = split_list(store.get("nodes"))
        if store.get("disable"):
            errors.append(f"could not activate storage '{storage}': storage '{storage}' is disabled")
        elif nodes and node not in nodes:
            errors.append(f"could not activate storage '{storage}': storage '{storage}' is not available on node "
                          f"'{node}'")
        if "backup" not in split_list(store.get("content")):
            errors.append(f"could not get storage information for '{storage}': can't use storage '{storage}' for "
                          "backups - wrong content type")
        return errors

    async def _vzdump_job(self, node, storage, v, user, vmids, skipped, log):
        errors = self._storage_errors(storage, node)
        if errors:
            raise TaskError("\n".join(errors))
        options = " ".join(f"--{key} {value}" for key, value in sorted(v.items())
                           if key not in ("vmid", "node") and value is not None)
        log.append(f"INFO: starting new backup job: vzdump {' '.join(map(str, vmids))} {options} --node {node}")
        if skipped:
            log.append(f"INFO: skip external VMs: {', '.join(map(str, skipped))}")
        for vmid in vmids:
            # Checked as the task list is built, outside the per-guest error handling: the whole job fails.
            if self.guest(vmid) is not None and not v.get("all"):
                try:
                    self.require(user, f"/vms/{vmid}", "VM.Backup")
                except PveError as exc:
                    raise TaskError(exc.message) from None
        failed = warnings = 0
        for vmid in vmids:
            try:
                warnings += await self._backup_guest(node, storage, vmid, v, log)
            except GuestBackupError as exc:
                failed += 1
                log.append(f"ERROR: Backup of VM {vmid} failed - {exc}")
                log.append(f"INFO: Failed at {time.strftime('%Y-%m-%d %H:%M:%S')}")
        log.append("INFO: Backup job finished with errors" if failed else "INFO: Backup job finished successfully")
        if failed:
            raise TaskError("job errors")
        return warnings

    async def _backup_guest(self, node, storage, vmid, v, log):
        """One guest's backup; returns the number of warnings, raises GuestBackupError."""
        guest = self.guest(vmid)
        if guest is None:
            raise GuestBackupError(f"unable to find VM '{vmid}'")
        kind = "lxc" if guest in getattr(self, "cts", []) else "qemu"
        store = self.storages[storage]
        pbs = store.get("type") == "pbs"
        backup_time = self._backup_time(storage, vmid)
        self._check_backup_limit(store, storage, kind, vmid, v)
        log.append(f"INFO: Starting Backup of VM {vmid} ({kind})")
        log.append(f"INFO: Backup started at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(backup_time))}")
        log.append(f"INFO: status = {guest.status}")
        hostname = (guest.config.get("name") or f"VM {vmid}") if kind == "qemu" else guest.name
        log.append(f"INFO: {'VM' if kind == 'qemu' else 'CT'} Name: {hostname}")
        if guest.lock:
            raise GuestBackupError(f"{'VM' if kind == 'qemu' else 'CT'} is locked ({guest.lock})")
        mode = (v.get("mode") or "snapshot") if guest.status == "running" else "stop"
        log.append(f"INFO: backup mode: {mode}")
        log.append("INFO: ionice priority: 7")
        volname, target, fmt = self._archive_name(store, storage, kind, vmid, backup_time, v.get("compress"))
        log.append(f"INFO: creating {'Proxmox Backup Server' if pbs else 'vzdump'} archive '{target}'")
        await self._hold_backup_lock(guest, kind)
        if vmid in self.backup_failures:
            raise GuestBackupError(self.backup_failures[vmid])
        size = self._archive_size(guest)
        if not pbs:
            log.append(f"INFO: archive file size: {format_size(size)}")
        volume = {"content": "backup", "format": fmt, "size": size, "ctime": backup_time, "vmid": vmid,
                  "subtype": kind}
        if store.get("type", "dir") in NODE_LOCAL_TYPES and not store.get("shared"):
            volume["node"] = node
        store.setdefault("volumes", {})[volname] = volume
        if "avail" in store:
            store["avail"] = max(0, store["avail"] - size)
        warnings = 0
        if vmid in self.backup_warnings:
            warnings += 1
            log.append(f"WARN: {self.backup_warnings[vmid]}")
        if v.get("notes-template"):
            log.append("INFO: adding notes to backup")
            info = {"cluster": self.cluster_name, "guestname": hostname, "node": node, "vmid": vmid}
            try:
                volume["notes"] = generate_notes(v["notes-template"], info)
            except ValueError as exc:
                warnings += 1
                log.append(f"WARN: unable to add notes - {exc}")
        if v.get("protected"):
            log.append("INFO: marking backup as protected")
            volume["protected"] = True
        self._prune(store, storage, kind, vmid, v, log)
        log.append(f"INFO: Finished Backup of VM {vmid} (00:00:{max(1, int(self.backup_secs)) % 60:02d})")
        log.append(f"INFO: Backup finished at {time.strftime('%Y-%m-%d %H:%M:%S')}")
        return warnings

    async def _hold_backup_lock(self, guest, kind):
        """The guest carries `lock: backup` while its archive is written."""
        if kind == "qemu":
            guest.lock = "backup"
            guest.config["lock"] = "backup"
        else:
            guest.lock = "backup"
        try:
            await self.pause(self.backup_secs)
        finally:
            guest.lock = None
            guest.config.pop("lock", None)

    # --------------------------------------------------------------- archives

    def _backup_time(self, storage, vmid):
        """Now, or a second later than the guest's newest backup here: archive names have a 1 s resolution and
        a real backup takes longer than that, while a fake one can take no time at all."""
        now = int(time.time())
        taken = [vol["ctime"] for vol in self.storages[storage].get("volumes", {}).values()
                 if vol.get("content") == "backup" and vol.get("vmid") == vmid]
        return max([now] + [ctime + 1 for ctime in taken])

    @staticmethod
    def _archive_name(store, storage, kind, vmid, backup_time, compress):
        """(volname, what the log names, format) of a new archive, as PVE::VZDump::exec_backup_task names it."""
        if store.get("type") == "pbs":
            group = f"{'ct' if kind == 'lxc' else 'vm'}/{vmid}"
            snapshot = f"{group}/{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(backup_time))}"
            return f"backup/{snapshot}", snapshot, f"pbs-{'ct' if kind == 'lxc' else 'vm'}"
        stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.localtime(backup_time))
        ext = (".tar" if kind == "lxc" else ".vma") + COMPRESS_EXT.get(str(compress or "0"), "")
        name = f"vzdump-{kind}-{vmid}-{stamp}{ext}"
        base = store.get("path") or ("/var/lib/vz" if storage == "local" else f"/mnt/pve/{storage}")
        return f"backup/{name}", f"{base}/dump/{name}", ext.lstrip(".")

    @staticmethod
    def _archive_size(guest):
        """A tenth of the guest's disks (sparse, compressed), at least 1 MiB."""
        total = 0
        for key, value in guest.config.items():
            if re.match(r"(ide|sata|scsi|virtio|efidisk|tpmstate|rootfs|mp)\d*$", key):
                found = re.search(r"size=(\d+)([KMGT]?)", str(value))
                if found:
                    total += int(found.group(1)) * 1024 ** " KMGT".index(found.group(2) or " ")
        return max(total // 10, 1024 ** 2) + guest.vmid

    def _guest_backups(self, storage, kind, vmid):
        return [dict(vol, volname=name) for name, vol in self.storages[storage].get("volumes", {}).items()
                if vol.get("content") == "backup" and vol.get("vmid") == vmid and vol.get("subtype", kind) == kind]

    def _retention(self, store, v):
        keep = parse_retention(v.get("prune-backups") or store.get("prune-backups") or "keep-all=1")
        return keep, (0 if keep.get("keep-all") else sum(keep.values()))

    def _check_backup_limit(self, store, storage, kind, vmid, v):
        """Without remove, a retention limit is a hard limit (PVE::VZDump::exec_backup_task)."""
        _keep, limit = self._retention(store, v)
        remove = v.get("remove", True) not in (False, 0, "0")
        if limit and not remove and not v.get("protected"):
            count = sum(1 for vol in self._guest_backups(storage, kind, vmid) if not vol.get("protected"))
            if count >= limit:
                raise GuestBackupError(f"There is a max backup limit of {limit} enforced by the target storage or "
                                       "the vzdump parameters. Either increase the limit or delete old backups.")

    def _prune(self, store, storage, kind, vmid, v, log):
        keep, _limit = self._retention(store, v)
        remove = v.get("remove", True) not in (False, 0, "0")
        if not remove or keep.get("keep-all"):
            return
        log.append("INFO: prune older backups with retention: "
                   + ", ".join(f"{key}={keep[key]}" for key in sorted(keep)))
        marks = prune_marks(self._guest_backups(storage, kind, vmid), keep)
        pruned = [name for name, mark in marks.items() if mark == "remove"]
        for name in pruned:
            log.append(f"INFO: removing backup '{storage}:{name}'")
            volume = store["volumes"].pop(name)
            if "avail" in store:
                store["avail"] += int(volume.get("size") or 0)
        extra = " not covered by keep-retention policy" if pruned else ""
        log.append(f"INFO: pruned {len(pruned)} backup(s){extra}")

    # ---------------------------------------------------------------- listing

    def _item(self, name, volname, vol):
        item = super()._item(name, volname, vol)
        if vol.get("content") == "backup" and vol.get("subtype"):
            item["subtype"] = vol["subtype"]
        return item

    async def _content_list(self, v, user):
        items = await super()._content_list(v, user)
        store = self.storages[v["storage"]]
        volumes = store.get("volumes", {})
        prefix = v["storage"] + ":"
        return [item for item in items
                if volumes.get(item["volid"][len(prefix):], {}).get("node") in (None, v["node"])]

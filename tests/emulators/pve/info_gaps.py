"""What the info modules read (tasks, nodes, the cluster and HA status) as a node answers it, added to fakepve 0.5.0.

Each gap is shown on plain fakepve and fixed here in tests/emulators/test_pve_info_gaps.py:

- GET /nodes/{node}/tasks ignores ``typefilter``; a node lists only the tasks of that type (pve-manager
  PVE/API2/Tasks.pm, node_tasks: ``$filter_task`` skips ``$task->{type} ne $typefilter``).
- GET /nodes/{node}/status answers with schema samples (``pveversion: fake``, ``loadavg: [fake]``, no ``kversion``);
  a node reports ``pve-manager/<version>/<repoid>``, three load averages and ``kversion`` (pve-manager
  PVE/API2/Nodes.pm, the ``status`` method of PVE::API2::Nodes::Nodeinfo).
- GET /cluster/status always has a ``cluster`` entry; a node that is in no cluster answers only an entry of its own,
  with ``nodeid`` 0, ``local`` and ``online`` 1 (pve-manager PVE/API2/Cluster.pm, ``status``: "fake entry for local
  node if no cluster defined"). ``standalone = True`` makes the server such a node (its first node, alone).
- GET /cluster/ha/status/current answers with schema samples; a node lists a ``quorum`` entry, the CRM's ``master``
  when it has one, the ``fencing`` state, an ``lrm:<node>`` entry per node and a ``service:<sid>`` entry per HA
  resource (pve-ha-manager src/PVE/API2/HA/Status.pm, ``current``). HA resources are the guests fakepve marks
  HA-managed (``ha_state``); without any, the CRM is idle, as on a cluster that never had an HA resource.
"""

from __future__ import annotations

import json
import time

from fakepve.server import USER, ok, params

KVERSION = "Linux 6.14.8-2-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.8-2 (2025-07-22T10:04Z)"


class InfoGaps:
    """Mixin of ProxgatePve: ``standalone`` (False) makes the server a single node outside any cluster."""

    standalone = False

    def _routes_info_nodes(self):
        return [("GET", "/nodes/{node}/status", self._info_node_status),
                ("GET", "/cluster/ha/status/current", self._info_ha_current)]

    # ------------------------------------------------------------------- tasks

    async def _task_list(self, request):
        typefilter = (await params(request)).get("typefilter")
        response = await super()._task_list(request)
        if not typefilter or response.status != 200:
            return response
        body = json.loads(response.body)
        body["data"] = [task for task in body["data"] if task.get("type") == typefilter]
        response.body = json.dumps(body).encode()
        return response

    # ------------------------------------------------------------------- nodes

    async def _info_node_status(self, v, user):
        return {
            "uptime": 3600, "idle": 0, "loadavg": ["0.05", "0.10", "0.08"], "cpu": 0.02, "wait": 0,
            "kversion": KVERSION,
            "current-kernel": {"sysname": "Linux", "release": "6.14.8-2-pve", "machine": "x86_64",
                               "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.14.8-2 (2025-07-22T10:04Z)"},
            "boot-info": {"mode": "efi", "secureboot": 0},
            "cpuinfo": {"cpus": 4, "cores": 4, "sockets": 1, "model": "QEMU Virtual CPU", "mhz": "2400.000",
                        "hvm": "1", "user_hz": 100, "flags": "fpu vme", "vendor": "GenuineIntel"},
            "memory": {"total": 8 * 2 ** 30, "used": 2 * 2 ** 30, "free": 6 * 2 ** 30, "available": 6 * 2 ** 30},
            "ksm": {"shared": 0},
            "swap": {"total": 0, "used": 0, "free": 0},
            "pveversion": f"pve-manager/{self.version}/fakepve",
            "rootfs": {"total": 64 * 2 ** 30, "avail": 60 * 2 ** 30, "used": 4 * 2 ** 30, "free": 60 * 2 ** 30},
        }

    # ----------------------------------------------------------------- cluster

    async def _cluster_status(self, request):
        if not self.standalone:
            return await super()._cluster_status(request)
        self.require(request[USER], "/", "Sys.Audit")
        name = sorted(self.nodes)[0]
        return ok([{"type": "node", "id": "node/" + name, "name": name, "ip": "192.0.2.11", "local": 1,
                    "nodeid": 0, "online": 1, "level": ""}])

    def _ha_resources(self):
        guests = [("vm", vm) for vm in self.vms] + [("ct", ct) for ct in self.cts]
        return sorted((f"{kind}:{guest.vmid}", guest) for kind, guest in guests if guest.ha_managed)

    async def _info_ha_current(self, v, user):
        local = sorted(self.nodes)[0]
        quorate = bool(self.quorate) or self.standalone
        now = int(time.time())
        res = [{"id": "quorum", "type": "quorum", "node": local, "quorate": 1 if quorate else 0,
                "status": "OK" if quorate else f"No quorum on node '{local}'!"}]
        services = self._ha_resources()
        if not services or self.standalone:
            # read_manager_status without a CRM that ever ran: no master, no node_status, fencing on standby.
            return res + [{"id": "fencing", "type": "fencing", "node": local, "armed-state": "standby",
                           "status": "standby (CRM watchdog standby)"}]
        stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(now))
        res.append({"id": "master", "type": "master", "node": local, "status": f"{local} (active, {stamp})",
                    "timestamp": now})
        res.append({"id": "fencing", "type": "fencing", "node": local, "status": "armed (CRM watchdog active)",
                    "armed-state": "armed"})
        for node in sorted(self.nodes):
            online = self.nodes[node].get("online", True)
            if online:
                res.append({"id": "lrm:" + node, "type": "lrm", "node": node, "timestamp": now,
                            "status": f"{node} (active, watchdog active, {stamp})"})
            else:
                res.append({"id": "lrm:" + node, "type": "lrm", "node": node,
                            "status": f"{node} (unable to read lrm status)"})
        for sid, guest in services:
            state = guest.ha_state
            res.append({"id": "service:" + sid, "type": "service", "sid": sid, "node": guest.node,
                        "crm_state": state, "state": state, "request_state": state,
                        "status": f"{sid} ({guest.node}, {state})"})
        return res

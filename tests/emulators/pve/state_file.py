"""The Proxmox test server's state in a file, so that a server killed and started again with the same
``--state-file`` comes back with the same guests, volumes, snapshots, pools, users, ACLs, firewall and tasks
(issue #17): /etc/pve and the storages outlive pveproxy on a node.

The state is every attribute of the ProxgatePve but those of the running process (its listener, request log,
faults) and those its command line sets (address, latency, time scale, ticket lifetime...), pickled. It is
written after every write request (ProxgatePve.state_file) and when the server stops, to a temporary file that
then replaces the old one, so a SIGKILL never leaves half a file. Login tickets are kept: a node's tickets are
signed with a key that a restart keeps, so they stay valid until they expire.
"""

from __future__ import annotations

import asyncio
import io
import os
import pickle
from pathlib import Path

# The process's own (listener, logs, faults, held requests) and what the command line sets anew each start.
NOT_STATE = frozenset({
    "runner", "site", "app", "request_log", "random_faults", "state_file", "requests", "drops", "lost_answers",
    "nextid_hold", "failures", "host", "port", "user", "password", "time_scale", "latency", "network", "ticket_ttl",
    "agent_boot_secs", "agent_hang_secs", "privilege_log", "interleavings",
})


class _StatePickler(pickle.Pickler):
    """Pickles the state; asyncio objects of requests in flight (a lock's waiters) become None."""

    def reducer_override(self, obj):
        if isinstance(obj, (asyncio.Event, asyncio.Future, asyncio.Handle, asyncio.AbstractEventLoop)):
            return type(None), ()
        return NotImplemented


def save_state(pve, path):
    """Write pve's state to path (atomically: a temporary file renamed over it)."""
    state = {name: value for name, value in vars(pve).items() if name not in NOT_STATE}
    buffer = io.BytesIO()
    _StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(buffer.getvalue())
    os.replace(partial, path)


def load_state(pve, path):
    """Give pve the state save_state wrote to path; False (and nothing changed) when there is no such file."""
    path = Path(path)
    if not path.exists():
        return False
    with path.open("rb") as state_file:
        state = pickle.load(state_file)  # noqa: S301 - the server's own file, named on its command line
    for name, value in state.items():
        setattr(pve, name, value)
    for node in pve.nodes.values():
        node["online"] = True  # offline nodes are the command line's (--offline-node), applied after this
    return True

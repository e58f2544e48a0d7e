# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the info modules that read node by node share: telling a node that did not answer from a refused request."""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxConnectionError,
)

# pveproxy's answers for a node it could not reach (595: no route, connection refused; 596: broken or timed out)
# and a proxy's or gateway's when the node behind it is down.
NO_ANSWER_STATUSES = (595, 596, 502, 503, 504)


def did_not_answer(error):
    """True for an error that means the node did not answer (offline, unreachable), not a refused request."""
    if isinstance(error, ProxmoxConnectionError):
        return True
    return isinstance(error, ProxmoxApiError) and error.status in NO_ANSWER_STATUSES


def iso_time(value):
    """A Unix time in ISO 8601, UTC; None for None."""
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

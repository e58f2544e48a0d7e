# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PVE's own formats for the names that go into API paths (node, pool, storage, snapshot), checked on the
options before the first call, so a value that is no such name is refused with the option named.

The rules are PVE's, read from its source:
- pve-node: pve-common src/PVE/JSONSchema.pm, pve_verify_node_name (a DNS label).
- pve-storage-id: pve-common src/PVE/JSONSchema.pm, parse_storage_id -> parse_id (specs.storage_id_problem).
- pve-configid (snapshot names, the pve-snapshot-name standard option, maxLength 40): pve-common
  src/PVE/JSONSchema.pm, pve_verify_configid with $CONFIGID_RE.
- pve-poolid: pve-access-control src/PVE/AccessControl.pm, verify_poolname (nested pools since PVE 8.1:
  parent/child, at most 3 levels).
"""

from __future__ import annotations

import re

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.specs import storage_id_problem

NODE_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?")
CONFIG_ID = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]+")
SNAPSHOT_NAME_LONGEST = 40
# PVE's levels may also be '.' or '..', which no path can hold: those are refused here.
POOL_LEVEL = r"(?!\.\.?(?:/|$))[A-Za-z0-9._-]+"
POOL_ID = re.compile(rf"{POOL_LEVEL}(?:/{POOL_LEVEL}){{0,2}}")


def _matching(pattern, what, longest=None):
    def problem(option, value):
        text = str(value)
        if pattern.fullmatch(text) and (longest is None or len(text) <= longest):
            return None
        return f"{option} must be {what}; got {text!r}"
    return problem


# format -> problem(option, value): the message naming option for a value that is no name of the format, or None
FORMATS = {
    "pve-node": _matching(NODE_NAME, "a Proxmox VE node name (a DNS label: letters, digits and '-')"),
    "pve-storage-id": storage_id_problem,
    "pve-snapshot-name": _matching(CONFIG_ID, "a Proxmox VE snapshot name (2 to 40 letters, digits, '-' and '_', "
                                   "starting with a letter)", SNAPSHOT_NAME_LONGEST),
    "pve-poolid": _matching(POOL_ID, "a Proxmox VE pool id (letters, digits, '.', '-' and '_', not '.' or '..'; "
                            "a nested pool as parent/child, at most 3 levels)"),
}


def name_problem(option, value, fmt):
    """The message for a value of `option` that is not a name of format `fmt`; None for one that is (or None)."""
    if value is None:
        return None
    return FORMATS[fmt](option, value)


def name_problems(params, formats):
    """The messages for the options (option -> format) whose values are no names of their format."""
    problems = (name_problem(option, params.get(option), fmt) for option, fmt in formats.items())
    return [problem for problem in problems if problem]

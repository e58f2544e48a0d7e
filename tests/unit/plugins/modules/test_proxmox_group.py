"""proxmox_group: members as a node lists them, and the comment as user.cfg keeps it
(module_utils/proxmox/access.py)."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.access import (
    comment_change,
    name_list,
    stored_comment,
)
from ansible_collections.proxgate.core.plugins.modules.proxmox_group import shown


@pytest.mark.parametrize("text, expected", [
    ("bob@pve,alice@pve", ["alice@pve", "bob@pve"]),
    ("", []),
    (None, []),
])
def test_member_list(text, expected):
    assert name_list(text) == expected


def test_shown_reads_a_blank_comment_as_none():
    assert shown("ops", "", []) == {"groupid": "ops", "comment": None, "members": []}
    assert stored_comment("x") == "x"


@pytest.mark.parametrize("existing, wanted, data, diff", [
    ("Old", None, {}, None),            # not given: left as it is
    ("Old", "Old", {}, None),
    (None, "", {}, None),                # none and blank are the same to a node
    ("Old", "New", {"comment": "New"}, ("Old", "New")),
    ("Old", "", {"comment": ""}, ("Old", None)),
    (None, "New", {"comment": "New"}, (None, "New")),
])
def test_comment_change(existing, wanted, data, diff):
    changes = Changes()
    assert comment_change(changes, existing, wanted) == data
    assert (changes.before.get("comment"), changes.after.get("comment")) == (diff or (None, None))
    assert bool(changes) == (diff is not None)

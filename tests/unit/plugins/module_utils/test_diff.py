"""Changes (the differences a module writes) and mask_secrets (what --diff and results may show)."""

from __future__ import annotations

import copy

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import (
    SECRET_CHANGED,
    SECRET_MASK,
    Changes,
    mask_secrets,
)


def test_no_changes_is_false_and_diffs_to_empty():
    changes = Changes()
    assert not changes
    assert changes.keys() == []
    assert changes.diff() == {"before": {}, "after": {}}


def test_changes_keep_before_and_after_per_key_in_order():
    changes = Changes()
    changes.add("cores", 2, 4)
    changes.add("tags", None, "web")
    assert changes
    assert "cores" in changes and "memory" not in changes
    assert changes.keys() == ["cores", "tags"]
    assert changes.diff() == {"before": {"cores": 2, "tags": None}, "after": {"cores": 4, "tags": "web"}}


def test_diff_masks_secrets_on_both_sides_and_keeps_headers():
    changes = Changes(secret_keys=("cipassword",))
    changes.add("cipassword", "old-secret", "new-secret")
    changes.add("ciuser", "debian", "ops")
    diff = changes.diff(before_header="vm 100 (current)", after_header="vm 100 (wanted)")
    assert diff == {"before": {"cipassword": SECRET_MASK, "ciuser": "debian"},
                    "after": {"cipassword": SECRET_CHANGED, "ciuser": "ops"},
                    "before_header": "vm 100 (current)", "after_header": "vm 100 (wanted)"}
    assert "old-secret" not in repr(diff) and "new-secret" not in repr(diff)
    assert changes.after["cipassword"] == "new-secret", "the value to write is kept unmasked"


def test_a_secret_that_changes_shows_in_the_diff_though_masked():
    """Masked on both sides, a changed password would look unchanged and the diff would show nothing."""
    changes = Changes(secret_keys=("cipassword",))
    changes.add("cipassword", "old-secret", "new-secret")
    diff = changes.diff()
    assert diff["before"] != diff["after"]
    assert diff["after"]["cipassword"] == "******** (changed)"


def test_an_unset_secret_stays_visible_as_unset():
    changes = Changes(secret_keys=("cipassword",))
    changes.add("cipassword", None, "new-secret")
    assert changes.diff()["before"] == {"cipassword": None}
    assert changes.diff()["after"] == {"cipassword": SECRET_MASK}


def test_mask_secrets_nested_in_dicts_and_lists_without_touching_the_input():
    values = {
        "name": "web01",
        "password": "top",
        "parameters": {"hostname": "10.0.0.5", "password": "rdp-secret", "private-key": "-----BEGIN..."},
        "connections": [{"name": "ssh", "password": "ssh-secret"}, {"name": "vnc", "password": ""}],
        "token_secret": None,
    }
    original = copy.deepcopy(values)
    masked = mask_secrets(values, {"password", "private-key", "token_secret"})
    assert masked == {
        "name": "web01",
        "password": SECRET_MASK,
        "parameters": {"hostname": "10.0.0.5", "password": SECRET_MASK, "private-key": SECRET_MASK},
        "connections": [{"name": "ssh", "password": SECRET_MASK}, {"name": "vnc", "password": ""}],
        "token_secret": None,
    }
    assert values == original


def test_mask_secrets_passes_plain_values_through():
    assert mask_secrets("text", {"password"}) == "text"
    assert mask_secrets([1, {"password": "x"}], {"password"}) == [1, {"password": SECRET_MASK}]
    assert mask_secrets({"password": "x"}, set()) == {"password": "x"}

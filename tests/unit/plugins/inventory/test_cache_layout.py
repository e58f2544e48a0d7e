"""The inventory plugin's cache value (issue #18): the guests as rows and their details in one JSON text, read back
exactly as they were fetched, and a value of another layout (another release's) or of other settings refused,
never misread."""

from __future__ import annotations

import copy
import json

import pytest
from ansible.plugins.cache import CachePluginAdjudicator

from ansible_collections.proxgate.core.plugins.inventory.proxmox import CACHE_VERSION, pack_cache, unpack_cache
from ansible_collections.proxgate.core.plugins.plugin_utils.proxmox_inventory import DATA_VERSION


def fetched():
    """A result of _fetch: guests with different key sets and orders (a container, a guest without a name or
    pool, a None, braces and non-ASCII text), and details of every kind."""
    guests = [
        {"vmid": 100, "name": "web01", "type": "qemu", "node": "pve1", "status": "running", "template": 0,
         "tags": "linux;web", "uptime": 3600, "cpu": 0.02, "mem": 67108864, "pool": "prod"},
        {"type": "lxc", "node": "pve2", "vmid": 101, "name": "ct-{{ x }}", "status": "running", "template": 0,
         "uptime": 12, "maxmem": 536870912},
        {"vmid": 102, "type": "qemu", "node": "pve1", "status": "stopped", "template": 0, "lock": None},
        {"vmid": 103, "name": "Größe-ünïcode", "type": "qemu", "node": "pve3", "status": "unknown", "template": 0,
         "tags": ""},
        {"vmid": 104, "name": "web02", "type": "qemu", "node": "pve1", "status": "running", "template": 0,
         "tags": "linux;web", "uptime": 7200, "cpu": 0.5, "mem": 1, "pool": "prod"},
    ]
    details = {
        "100": {"interfaces": [{"name": "eth0", "hwaddr": "aa:bb:cc:dd:ee:ff", "addresses": [
            {"address": "10.20.0.100", "prefix": 16, "family": "ipv4"},
            {"address": "fe80::1", "prefix": 64, "family": "ipv6"}]}], "asked": 1700000000,
            "os": {"id": "debian", "version-id": "13", "nested": {"a": [1, 2.5, None, True]}}},
        "101": {"interfaces": [], "asked": 1700000001, "config": {"agent": "1", "description": "{% raw %}"},
                "snapshots": ["baseline"]},
        "103": {"errors": {"status": "node pve3 sent no status"}, "cut": ["os: strings over 1024 characters cut"]},
        "104": {"agent": "No QEMU guest agent configured", "asked": 1700000002},
    }
    return {"version": CACHE_VERSION, "fingerprint": "0123456789abcdef", "listed_at": 1700000003.25,
            "guests": guests, "details": details, "incomplete": 1}


def test_a_packed_value_is_read_back_as_it_was_fetched():
    data = fetched()
    original = copy.deepcopy(data)
    value = pack_cache(data)
    assert data == original, "packing leaves the fetched data as it is"
    back = unpack_cache(value, data["fingerprint"])
    assert back == original
    # The keys of each guest in the order the listing gave them, a missing key still missing (not None).
    assert [list(guest) for guest in back["guests"]] == [list(guest) for guest in original["guests"]]
    assert "pool" not in back["guests"][1] and back["guests"][2]["lock"] is None


def test_the_packed_value_is_flat_and_its_guests_are_rows():
    value = pack_cache(fetched())
    # What ansible-core's persistence encoder walks and the cache adjudicator deep-copies: a few scalars.
    assert all(not isinstance(item, (dict, list)) for item in value.values())
    assert value["version"] == CACHE_VERSION and value["guests"] == 5 and value["incomplete"] == 1
    packed = json.loads(value["data"])
    assert all(isinstance(row, list) for row in packed["rows"])
    # Guests with the same keys in the same order share a shape (100 and 104).
    assert len(packed["shapes"]) == 4 and packed["rows"][0][0] == packed["rows"][4][0]


def test_an_empty_inventory_is_packed_too():
    data = dict(fetched(), guests=[], details={}, incomplete=0)
    assert unpack_cache(pack_cache(data), data["fingerprint"]) == data


def old_layout(data):
    """A value as the releases before layout 2 cached it: the fetched data itself, version DATA_VERSION."""
    return dict(data, version=DATA_VERSION)


@pytest.mark.parametrize("change", [
    pytest.param(lambda value: old_layout(fetched()), id="the previous layout"),
    pytest.param(lambda value: dict(old_layout(fetched()), version=CACHE_VERSION), id="mappings with this version"),
    pytest.param(lambda value: dict(value, version=DATA_VERSION), id="another version"),
    pytest.param(lambda value: dict(value, fingerprint="fedcba9876543210"), id="other settings"),
    pytest.param(lambda value: dict(value, data=value["data"][:-10]), id="a cut text"),
    pytest.param(lambda value: dict(value, data='{"shapes": [], "rows": [[0, 1]], "details": {}}'), id="a bad row"),
    pytest.param(lambda value: dict(value, data='{"shapes": [["vmid"]], "rows": [[0, 1, 2]], "details": {}}'),
                 id="a row longer than its shape"),
    pytest.param(lambda value: dict(value, data='{"shapes": [], "rows": [], "details": {"1": []}}'), id="bad details"),
    pytest.param(lambda value: dict(value, listed_at=None), id="no listing time"),
    pytest.param(lambda value: None, id="not a mapping"),
])
def test_a_value_of_another_layout_or_settings_is_refused_not_misread(change):
    value = pack_cache(fetched())
    assert unpack_cache(change(value), value["fingerprint"]) is None


def test_through_ansible_cores_jsonfile_cache(tmp_path):
    """The value as ansible-core's cache machinery writes and reads it (its persistence encoder, the jsonfile
    plugin, the adjudicator's copy)."""
    data = fetched()
    writer = CachePluginAdjudicator("jsonfile", _uri=str(tmp_path), _timeout=600)
    writer["key"] = pack_cache(data)
    writer.update_cache_if_changed()
    reader = CachePluginAdjudicator("jsonfile", _uri=str(tmp_path), _timeout=600)
    assert unpack_cache(reader["key"], data["fingerprint"]) == data

"""The one path builder (common/http_client.py path_segment, join_segments) and PVE's name formats
(proxmox/names.py), issue #15 finding 8.

The formats were read from PVE's source: pve-common src/PVE/JSONSchema.pm (pve_verify_node_name for pve-node,
parse_storage_id -> parse_id for pve-storage-id, pve_verify_configid for pve-configid, the format of the
pve-snapshot-name standard option with maxLength 40) and pve-access-control src/PVE/AccessControl.pm
(verify_poolname for pve-poolid).
"""

from __future__ import annotations

import httpx
import pytest

from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import join_segments, path_segment
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import GuacamoleError
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import path_of as guacamole_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxClient,
    ProxmoxError,
    api_path,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.names import name_problem, name_problems
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.tasks import wait_for_task
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import RustguacError
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import path_of as rustguac_path

# ------------------------------------------------------------------ the builder


@pytest.mark.parametrize("value, quoted", [
    ("pve1/qemu/101/status/stop?x=", "pve1%2Fqemu%2F101%2Fstatus%2Fstop%3Fx%3D"),
    ("../access/users/root@pam?", "..%2Faccess%2Fusers%2Froot%40pam%3F"),
    ("a#b", "a%23b"),
    ("100%", "100%25"),
    ("local:iso/x.iso", "local%3Aiso%2Fx.iso"),
    ("UPID:pve1:0000:00:00:qmstart:101:root@pam:", "UPID%3Apve1%3A0000%3A00%3A00%3Aqmstart%3A101%3Aroot%40pam%3A"),
    ("web-01_a.b~c", "web-01_a.b~c"),
    (101, "101"),
    ("...", "..."),
])
def test_a_value_becomes_exactly_one_segment(value, quoted):
    assert path_segment(value) == quoted
    assert join_segments(["nodes", value, "status"]).split("/") == ["", "nodes", quoted, "status"]


@pytest.mark.parametrize("value", ["", ".", "..", None])
def test_empty_and_dot_segments_are_refused_with_the_clients_error(value):
    with pytest.raises(ProxmoxError, match="cannot be a segment of an API path"):
        api_path("nodes", value, "qemu")
    with pytest.raises(GuacamoleError, match="cannot be a segment of an API path"):
        guacamole_path("users", value)
    with pytest.raises(RustguacError, match="cannot be a segment of an API path"):
        rustguac_path("users", value)


def test_the_three_clients_quote_alike():
    assert api_path("pools", "a/b") == "/pools/a%2Fb"
    assert guacamole_path("users", "a/b?c") == "users/a%2Fb%3Fc"
    assert rustguac_path("users", "a/b?c") == "/users/a%2Fb%3Fc"


def test_guest_path_keeps_a_server_given_node_name_in_its_segment():
    """A node name from /cluster/resources goes back into paths through the builder too."""
    guest = {"node": "pve1/qemu/102/status", "type": "qemu", "vmid": 101}
    assert guest_path(guest) == "/nodes/pve1%2Fqemu%2F102%2Fstatus/qemu/101"


def test_the_node_receives_the_quoted_segment_unresolved():
    """What reaches the server: httpx sends %2F as it is, so the node sees one segment (and '..' never gets
    there to be resolved by the URL library)."""
    seen = []

    def node(request):
        seen.append(request.url.raw_path.decode())
        return httpx.Response(200, json={"data": {"status": "stopped", "exitstatus": "OK"}})

    client = ProxmoxClient("https://pve.invalid:8006", user="root@pam", token_id="ci", token_secret="s",
                           transport=httpx.MockTransport(node))
    client.get(api_path("nodes", "pve1/qemu/101/status/stop?x=", "status"))
    # A UPID names its node; a forged one cannot walk out of /nodes/<node>/tasks/<upid>/status either.
    wait_for_task(client, "UPID:../../access:0000:00:00:qmstart:101:root@pam:")
    assert seen == ["/api2/json/nodes/pve1%2Fqemu%2F101%2Fstatus%2Fstop%3Fx%3D/status",
                    "/api2/json/nodes/..%2F..%2Faccess/tasks/"
                    "UPID%3A..%2F..%2Faccess%3A0000%3A00%3A00%3Aqmstart%3A101%3Aroot%40pam%3A/status"]


# ------------------------------------------------------------------ PVE's formats


@pytest.mark.parametrize("fmt, good", [
    ("pve-node", ["pve1", "PVE-node-2", "a", "9"]),
    ("pve-poolid", ["production", "a.b_c-d", "prod/web", "prod/web/db", "1"]),
    ("pve-storage-id", ["local", "local-lvm", "nfs.backup_1", "ab"]),
    ("pve-snapshot-name", ["ab", "before-upgrade", "Nightly_2026", "a" * 40]),
])
def test_pves_own_names_pass(fmt, good):
    assert [name_problem("option", value, fmt) for value in good] == [None] * len(good)


@pytest.mark.parametrize("fmt, bad", [
    # pve_verify_node_name: ^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$
    ("pve-node", ["pve1/qemu/101/status/stop?x=", "pve1?", "-pve", "pve-", "pve_1", "pve.example.com", "",
                  "pve1\n"]),
    # verify_poolname: ^[A-Za-z0-9\.\-_]+(?:/[A-Za-z0-9\.\-_]+){0,2}$, at most 3 levels; '.' and '..' refused here
    ("pve-poolid", ["../access/users/root@pam?", "a/b/c/d", "a//b", "/a", "a/", "a b", "..", "prod/..", "."]),
    # parse_id: 2 characters at least, ^[a-z][a-z0-9\-\_\.]*[a-z0-9]$ with /i
    ("pve-storage-id", ["local/../../../access", "l", "1local", "local-", "local?", "local%2F"]),
    # pve_verify_configid: ^[a-z][a-z0-9_-]+$ with /i; maxLength 40
    ("pve-snapshot-name", ["x/../../status/stop", "a", "1st", "v1.2", "a" * 41]),
])
def test_anything_else_is_refused_naming_the_option_and_the_value(fmt, bad):
    for value in bad:
        problem = name_problem("opt", value, fmt)
        assert problem is not None and problem.startswith("opt must be "), (value, problem)
        assert repr(value) in problem


def test_the_node_message_says_what_a_node_name_is():
    assert name_problem("node", "pve1/qemu", "pve-node") == (
        "node must be a Proxmox VE node name (a DNS label: letters, digits and '-'); got 'pve1/qemu'")


def test_options_left_out_are_not_checked():
    params = {"node": None, "pool": "ok", "storage": "a/b"}
    assert name_problems(params, {"node": "pve-node", "pool": "pve-poolid", "storage": "pve-storage-id"}) == [
        name_problem("storage", "a/b", "pve-storage-id")]

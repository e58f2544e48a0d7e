"""proxmox_api: path and input checks, secret detection, and what state: present decides to write."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.modules.proxmox_api import (
    DEFAULT_SECRET_KEYS,
    check_data,
    deletion_list,
    encode_delete,
    hidden_keys,
    is_secret_key,
    mask_reply,
    normalize_path,
    plan_changes,
    resolve_method,
    secret_values,
    value_equal,
    write_payload,
)

# What GET /nodes/pve1/qemu/101/config answers for the demo's web01.
WEB01 = {"cores": 2, "memory": "2048", "agent": "1", "tags": "linux;web", "ostype": "l26",
         "net0": "virtio=BC:24:11:00:01:01,bridge=vmbr0", "name": "web01", "description": "web server\n",
         "scsi0": "local-lvm:vm-101-disk-0,discard=on,iothread=1,size=32G", "cipassword": "**********",
         "digest": "d537d6eaacb4b72c91e28fca628e94d40c393fdb"}


# ------------------------------------------------------------------ path

@pytest.mark.parametrize("given, expected", [
    ("/cluster/options", "/cluster/options"),
    ("nodes/pve1/qemu/101/config", "/nodes/pve1/qemu/101/config"),
    ("/nodes/", "/nodes"),
    ("  /version ", "/version"),
    ("nodes//pve1", "/nodes/pve1"),
    ("/api2/json/cluster/resources", "/cluster/resources"),
    ("/nodes/pve1/tasks/UPID:pve1:0001A2B3:00C4D5E6:6740F0A1:qmstart:100:root@pam:/status",
     "/nodes/pve1/tasks/UPID:pve1:0001A2B3:00C4D5E6:6740F0A1:qmstart:100:root@pam:/status"),
    ("/nodes/pve1/storage/local/content/local:iso%2Fx.iso", "/nodes/pve1/storage/local/content/local:iso%2Fx.iso"),
])
def test_path_is_normalized_under_api2_json(given, expected):
    assert normalize_path(given) == expected


@pytest.mark.parametrize("given, words", [
    ("https://pve1:8006/api2/json/nodes", ["full URL", "api_url"]),
    ("HTTP://pve1/nodes", ["full URL"]),
    ("/nodes/../access/users", ["'..'"]),
    ("nodes/%2E%2E/access", ["'..'"]),
    ("/nodes/./pve1", ["'.'"]),
    ("/cluster/resources?type=vm", ["query string", "data"]),
    ("/nodes#x", ["query string"]),
    ("", ["names no API object"]),
    ("/", ["names no API object"]),
    ("/api2/json", ["names no API object"]),
    ("/nodes\n/pve1", ["control character"]),
])
def test_bad_paths_are_refused_naming_path(given, words):
    with pytest.raises(ValueError) as caught:
        normalize_path(given)
    message = str(caught.value)
    assert message.startswith("path ")
    for word in words:
        assert word in message


# ---------------------------------------------------------------- method

@pytest.mark.parametrize("method, state, expected", [
    (None, None, "GET"),
    (None, "present", "PUT"),
    ("post", None, "POST"),
    ("Delete", None, "DELETE"),
    ("POST", "present", "POST"),
])
def test_method_defaults_and_any_case(method, state, expected):
    assert resolve_method(method, state) == expected


def test_unknown_method_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match=r"^method must be one of GET, POST, PUT, DELETE, got 'PATCH'"):
        resolve_method("PATCH", None)


@pytest.mark.parametrize("method", ["GET", "delete"])
def test_state_present_writes_with_put_or_post_only(method):
    with pytest.raises(ValueError, match=r"^method must be PUT or POST with state: present"):
        resolve_method(method, "present")


# ------------------------------------------------------------------ data

@pytest.mark.parametrize("data", [None, {}])
def test_state_present_needs_data(data):
    with pytest.raises(ValueError, match=r"^data is required with state: present"):
        check_data(data, "present")


def test_raw_mode_takes_no_data_and_nulls():
    check_data(None, None)
    check_data({"memory": None, "tags": ["a", "b"], "onboot": True}, None)


def test_nested_dict_is_refused_naming_the_key():
    with pytest.raises(ValueError, match=r"^data\.net0 must be a scalar or a list of scalars"):
        check_data({"net0": {"model": "virtio"}}, None)
    with pytest.raises(ValueError, match=r"^data\.ids must be"):
        check_data({"ids": [[1, 2]]}, None)


def test_state_present_refuses_null_and_conflicting_delete():
    with pytest.raises(ValueError, match=r"^data\.memory is null.*data\.delete"):
        check_data({"memory": None}, "present")
    with pytest.raises(ValueError, match=r"^data\.delete lists serial0, which data also sets"):
        check_data({"serial0": "socket", "delete": "serial0,vga"}, "present")


@pytest.mark.parametrize("value, keys", [
    ("serial0,vga", ["serial0", "vga"]),
    ("serial0; vga  net1", ["serial0", "vga", "net1"]),
    (["serial0", "vga"], ["serial0", "vga"]),
    (True, []),
    (None, []),
])
def test_deletion_list(value, keys):
    assert deletion_list({"delete": value}) == keys


def test_delete_list_is_sent_comma_joined_but_a_boolean_delete_is_kept():
    assert encode_delete({"delete": ["a", "b"], "x": [1, 2]}) == {"delete": "a,b", "x": [1, 2]}
    assert encode_delete({"delete": True, "path": "/"}) == {"delete": True, "path": "/"}


# --------------------------------------------------------------- secrets

@pytest.mark.parametrize("name", ["password", "cipassword", "api-key", "token_secret", "Encryption-Key",
                                  "root.password", "otp", "secret"])
def test_secret_names(name):
    assert is_secret_key(name, DEFAULT_SECRET_KEYS)


@pytest.mark.parametrize("name", ["keyboard", "sshkeys", "master-pubkey", "tokens", "description", "memory",
                                  "mac_prefix"])
def test_names_that_only_look_secret(name):
    assert not is_secret_key(name, DEFAULT_SECRET_KEYS)


def test_secret_keys_are_configurable():
    assert is_secret_key("value", ["value"])
    assert not is_secret_key("password", [])


def test_secret_values_for_ansible_to_mask():
    data = {"cipassword": "hunter2", "ciuser": "admin", "keys": ["k1"], "api-key": ["a1", "a2"],
            "token": None, "password": ""}
    assert secret_values(data, DEFAULT_SECRET_KEYS) == {"hunter2", "a1", "a2"}


def test_reply_secrets_are_masked_at_any_depth():
    reply = {"full-tokenid": "root@pam!ci", "value": "uuid", "info": {"secret": "s", "comment": "c"},
             "list": [{"password": "p"}]}
    masked = mask_reply(reply, DEFAULT_SECRET_KEYS)
    assert masked == {"full-tokenid": "root@pam!ci", "value": "uuid", "info": {"secret": "********", "comment": "c"},
                      "list": [{"password": "********"}]}
    assert mask_reply("UPID:pve1:1:2:3:qmstart:100:root@pam:", DEFAULT_SECRET_KEYS).startswith("UPID:")


# ------------------------------------------------------------- comparing

@pytest.mark.parametrize("key, desired, current", [
    ("memory", 2048, "2048"),
    ("agent", "on", "1"),
    ("onboot", True, 1),
    ("tags", ["Web", "linux"], "linux;web"),
    ("net0", "virtio,bridge=vmbr0", "virtio=BC:24:11:00:01:01,bridge=vmbr0"),
    ("scsi0", "local-lvm:32,iothread=1,discard=on", "local-lvm:vm-101-disk-0,discard=on,iothread=1,size=32G"),
    ("description", "web server", "web server\n"),
    ("ha", "shutdown_policy=migrate", {"shutdown_policy": "migrate"}),
    ("tag-style", "ordering=config,shape=circle", {"shape": "circle", "ordering": "config"}),
    ("allowed-tags", "b;a", ["a", "b"]),
    ("nodes", ["pve2", "pve1"], "pve1,pve2"),
    ("description", "", None),
])
def test_values_that_say_the_same(key, desired, current):
    assert value_equal(key, desired, current)


@pytest.mark.parametrize("key, desired, current", [
    ("memory", 4096, "2048"),
    ("memory", 4096, None),
    ("net0", "virtio=BC:24:11:00:00:99,bridge=vmbr0", "virtio=BC:24:11:00:01:01,bridge=vmbr0"),
    ("net0", "virtio,bridge=vmbr1", "virtio=BC:24:11:00:01:01,bridge=vmbr0"),
    ("scsi0", "other:32", "local-lvm:vm-101-disk-0,size=32G"),
    ("ha", "shutdown_policy=freeze", {"shutdown_policy": "migrate"}),
    ("allowed-tags", "a;b;c", ["a", "b"]),
    ("description", "x", ""),
])
def test_values_that_differ(key, desired, current):
    assert not value_equal(key, desired, current)


def test_only_differing_keys_are_written():
    desired = {"memory": 4096, "description": "web server", "tags": "WEB;linux", "agent": "enabled=1",
               "net0": "virtio,bridge=vmbr0", "cores": 4}
    changes = plan_changes(WEB01, desired, DEFAULT_SECRET_KEYS)
    assert changes.keys() == ["memory", "cores"]
    assert write_payload(changes, desired) == {"memory": 4096, "cores": 4}
    assert changes.diff() == {"before": {"memory": "2048", "cores": 2}, "after": {"memory": 4096, "cores": 4}}


def test_nothing_differs_nothing_to_write():
    desired = {"memory": "2048", "name": "web01", "onboot": "", "digest": "stale", "skiplock": 1}
    changes = plan_changes(WEB01, desired, DEFAULT_SECRET_KEYS)
    assert not changes
    assert changes.keys() == []


def test_deleted_keys_are_sent_only_when_they_exist():
    desired = {"delete": ["vga", "description", "serial0"], "cores": 2}
    changes = plan_changes(WEB01, desired)
    assert changes.keys() == ["description"]
    assert write_payload(changes, desired) == {"delete": "description"}
    assert changes.diff()["after"] == {"description": None}
    assert not plan_changes(WEB01, {"delete": "vga,serial0"})


def test_a_boolean_delete_is_an_ordinary_key():
    changes = plan_changes({"delete": 0}, {"delete": True})
    assert changes.keys() == ["delete"]
    assert write_payload(changes, {"delete": True}) == {"delete": True}


def test_pass_through_keys_ride_along_with_a_write():
    desired = {"memory": 4096, "digest": WEB01["digest"], "skiplock": True}
    changes = plan_changes(WEB01, desired)
    assert changes.keys() == ["memory"]
    assert write_payload(changes, desired) == {"memory": 4096, "digest": WEB01["digest"], "skiplock": True}


def test_secrets_are_masked_in_the_diff_but_written_in_clear():
    desired = {"cipassword": "hunter2", "ciuser": "admin"}
    changes = plan_changes(WEB01, desired, DEFAULT_SECRET_KEYS)
    assert changes.keys() == ["cipassword", "ciuser"]
    assert changes.diff() == {"before": {"cipassword": "********", "ciuser": None},
                              "after": {"cipassword": "******** (changed)", "ciuser": "admin"}}
    assert write_payload(changes, desired) == desired
    assert hidden_keys(WEB01, changes) == ["cipassword"]
    assert hidden_keys(WEB01, plan_changes(WEB01, {"memory": 1})) == []

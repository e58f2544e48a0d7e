"""plan_entry and input_problems: what an entry write carries, given the server's merge rules
(omitted credentials kept, jump-host credentials merged per hop by index, credentials never read back)."""

from __future__ import annotations

from ansible_collections.proxgate.core.plugins.module_utils.rustguac.entries import (
    input_problems,
    plan_entry,
    public_entry,
)
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.module import compare

LISTED = {"name": "web01", "type": "ssh", "hostname": "10.0.0.1", "port": 22, "username": "deploy",
          "jump_hosts": [{"hostname": "bastion", "port": 22, "username": "jump"}]}


def params(**given):
    base = dict(type="ssh", hostname="10.0.0.1", port=22, username="deploy", password=None, private_key=None,
                jump_hosts=None)
    base.update(given)
    return base


def test_create_sends_everything_given_secrets_included():
    body, changes, sent = plan_entry(None, params(password="pw", jump_hosts=[
        {"hostname": "bastion", "port": 22, "username": "jump", "password": "jp", "private_key": None}]), "on_create")
    assert body["password"] == "pw" and body["jump_hosts"][0]["password"] == "jp"
    assert sent == ["password", "jump_hosts[0].password"]
    diff = changes.diff()
    assert diff["after"]["password"] == "********"
    assert diff["after"]["jump_hosts"][0]["password"] == "********"
    assert "pw" not in repr(diff) and "jp" not in repr(diff)


def test_unchanged_entry_with_on_create_writes_nothing():
    body, changes, sent = plan_entry(LISTED, params(password="pw", jump_hosts=[
        {"hostname": "bastion", "port": 22, "username": "jump", "password": "jp", "private_key": None}]), "on_create")
    assert body is None and not changes and sent == []


def test_always_sends_given_secrets_and_reports_them_changed():
    body, changes, sent = plan_entry(LISTED, params(password="new"), "always")
    assert body["password"] == "new" and sent == ["password"]
    assert changes.keys() == ["password"]
    assert changes.diff()["after"] == {"password": "******** (changed)"}
    assert changes.diff()["before"] == {"password": "********"}


def test_changed_field_put_carries_the_stored_fields_but_no_secret_under_on_create():
    body, changes, sent = plan_entry(LISTED, params(hostname="10.0.0.2", password="pw"), "on_create")
    assert changes.keys() == ["hostname"]
    assert body["hostname"] == "10.0.0.2" and body["username"] == "deploy"
    assert "password" not in body and sent == []
    assert body["jump_hosts"] == [{"hostname": "bastion", "port": 22, "username": "jump"}]


def test_replaced_hop_gets_its_credentials_even_under_on_create():
    # The server merges hop credentials by index: a new hop 0 without them would inherit bastion's.
    body, changes, sent = plan_entry(LISTED, params(jump_hosts=[
        {"hostname": "bastion2", "port": 2222, "username": "jump", "password": "jp2", "private_key": None}]),
        "on_create")
    assert sent == ["jump_hosts[0].password"]
    assert body["jump_hosts"] == [{"hostname": "bastion2", "port": 2222, "username": "jump", "password": "jp2"}]
    assert changes.diff()["before"]["jump_hosts"] == [{"hostname": "bastion", "port": 22, "username": "jump"}]


def test_removing_all_hops_is_a_change_and_leaving_them_out_keeps_them():
    body, changes, _sent = plan_entry(LISTED, params(jump_hosts=[]), "on_create")
    assert body["jump_hosts"] == [] and changes.keys() == ["jump_hosts"]
    body, changes, _sent = plan_entry(LISTED, params(jump_hosts=None), "on_create")
    assert body is None


def test_server_flag_of_a_missing_secret_sends_it_under_on_create():
    listed = dict(LISTED, has_password=False, has_private_key=True)
    body, _changes, sent = plan_entry(listed, params(password="pw"), "on_create")
    assert sent == ["password"] and body["password"] == "pw"


def test_public_entry_drops_secrets_of_the_entry_and_hops():
    shown = public_entry(dict(LISTED, password="x", private_key="y",
                              jump_hosts=[{"hostname": "b", "username": "u", "password": "z"}]))
    assert "password" not in shown and "private_key" not in shown
    assert shown["jump_hosts"] == [{"hostname": "b", "port": 22, "username": "u"}]


def test_input_problems_name_the_option():
    assert input_problems(dict(type="web", hostname="h")) == [
        "hostname is not used by type web (only by ssh, rdp, vnc)", "url is required for type web"]
    assert input_problems(dict(type="vnc", hostname="h", private_key="k")) == [
        "private_key is not used by type vnc (only by ssh)"]
    assert input_problems(dict(type="ssh", hostname="h", port=70000)) == [
        "port must be between 1 and 65535, got 70000"]
    assert input_problems(dict(type="rdp")) == ["hostname is required for type rdp"]
    assert input_problems(dict(type="ssh", hostname="h", jump_hosts=[
        {"hostname": "b", "port": 0, "username": "u", "password": "p", "private_key": "k"}])) == [
        "jump_hosts[0].port must be between 1 and 65535, got 0"]
    assert input_problems(params()) == []


def test_compare_only_the_given_keys():
    changes = compare({"role": "viewer", "enabled": True}, {"role": "admin", "enabled": None})
    assert changes.keys() == ["role"] and changes.before == {"role": "viewer"}
    assert not compare({"role": "admin"}, {"role": "admin", "enabled": None})


def test_hop_flag_of_a_missing_secret_sends_it_once():
    listed = dict(LISTED, jump_hosts=[{"hostname": "bastion", "port": 22, "username": "jump",
                                       "has_password": False, "has_private_key": False}])
    hop = {"hostname": "bastion", "port": 22, "username": "jump", "password": "jp", "private_key": None}
    body, changes, sent = plan_entry(listed, params(jump_hosts=[hop]), "on_create")
    assert sent == ["jump_hosts[0].password"] and changes.keys() == ["jump_hosts"]
    listed["jump_hosts"][0]["has_password"] = True
    assert plan_entry(listed, params(jump_hosts=[hop]), "on_create")[0] is None

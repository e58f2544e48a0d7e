"""ObjectModule: which of create, update and delete runs, check mode, changed, the diff and the result."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import SECRET_CHANGED, Changes
from ansible_collections.proxgate.core.plugins.module_utils.common.object_module import ObjectModule


class Thing(ObjectModule):
    """An object module over a dict of things by name, without Ansible: what the base sees of a module."""

    object_key = "thing"

    def __init__(self, store, check_mode=False, diff_mode=True, **params):
        self.store, self.sent = store, []
        self.check_mode, self.diff_mode = check_mode, diff_mode
        self.params = dict(dict(name="a", state="present", size=1, secret=None), **params)

    def send(self, method, *args):
        self.sent.append((method, *args))
        return {"identifier": "7"}

    def locate(self):
        return self.store.get(self.params["name"])

    def extra_results(self):
        return {"changed_keys": []}

    def desired(self, existing):
        return {"size": self.params["size"], "secret": self.params["secret"]}

    def create(self, desired):
        reply = self.write(self.send, "POST", desired)
        thing = dict(desired, identifier=None if reply is None else reply["identifier"])
        return thing, {"size": desired["size"]}

    def update(self, existing, desired):
        changes = Changes(secret_keys={"secret"})
        for key, value in desired.items():
            if value is not None and existing.get(key) != value:
                changes.add(key, existing.get(key), value)
        if changes:
            self.write(self.send, "PUT", dict(existing, **desired))
        self.extra["changed_keys"] = changes.keys()
        return dict(existing, **changes.after), changes

    def delete(self, existing):
        self.write(self.send, "DELETE", existing["identifier"])
        return {"size": existing["size"]}


def test_create_writes_and_shows_the_object_after():
    thing = Thing({})
    assert thing.run() == {"changed": True, "thing": {"size": 1, "secret": None, "identifier": "7"},
                           "changed_keys": [], "diff": {"before": {}, "after": {"size": 1}}}
    assert thing.sent == [("POST", {"size": 1, "secret": None})]


def test_check_mode_counts_the_write_without_sending_it():
    thing = Thing({}, check_mode=True)
    assert thing.run()["thing"]["identifier"] is None
    assert thing.run()["changed"] is True
    assert thing.sent == []


def test_an_update_with_nothing_to_change_writes_nothing():
    thing = Thing({"a": {"identifier": "7", "size": 1}})
    assert thing.run() == {"changed": False, "thing": {"identifier": "7", "size": 1}, "changed_keys": [],
                           "diff": {"before": {}, "after": {}}}
    assert thing.sent == []


def test_an_update_reports_its_changes_with_secrets_masked():
    thing = Thing({"a": {"identifier": "7", "size": 1, "secret": "old"}}, size=2, secret="new")
    result = thing.run()
    assert result["changed"] is True and result["changed_keys"] == ["size", "secret"]
    assert result["diff"] == {"before": {"size": 1, "secret": "********"},
                              "after": {"size": 2, "secret": SECRET_CHANGED}}
    assert "new" not in repr(result["diff"]) and thing.sent[0][0] == "PUT"


def test_no_diff_without_diff_mode():
    assert "diff" not in Thing({}, diff_mode=False).run()


@pytest.mark.parametrize("state_in_diff, before, after", [
    (False, {"size": 3}, {}),
    (True, {"size": 3, "state": "present"}, {"state": "absent"}),
])
def test_delete_and_its_diff(state_in_diff, before, after):
    thing = Thing({"a": {"identifier": "7", "size": 3}}, state="absent")
    thing.state_in_diff = state_in_diff
    assert thing.run() == {"changed": True, "thing": {}, "changed_keys": [],
                           "diff": {"before": before, "after": after}}
    assert thing.sent == [("DELETE", "7")]


def test_absent_and_already_gone_writes_nothing():
    thing = Thing({}, state="absent")
    thing.gone = None
    assert thing.run() == {"changed": False, "thing": None, "changed_keys": [], "diff": {"before": {}, "after": {}}}
    assert thing.sent == []


def test_state_in_diff_marks_a_create():
    thing = Thing({})
    thing.state_in_diff = True
    assert thing.run()["diff"] == {"before": {"state": "absent"}, "after": {"size": 1, "state": "present"}}


class Resettable(Thing):
    """A thing with a third state, declared in states."""

    states = {"reset": "reset"}

    def reset(self, existing):
        self.write(self.send, "POST", "reset", existing["identifier"])
        return dict(existing, size=0), {"size": existing["size"]}, {"size": 0}


@pytest.mark.parametrize("check_mode, sent", [(False, [("POST", "reset", "7")]), (True, [])])
def test_a_declared_state_runs_its_method_on_the_located_object(check_mode, sent):
    thing = Resettable({"a": {"identifier": "7", "size": 3}}, check_mode=check_mode, state="reset")
    assert thing.run() == {"changed": True, "thing": {"identifier": "7", "size": 0}, "changed_keys": [],
                           "diff": {"before": {"size": 3}, "after": {"size": 0}}}
    assert thing.sent == sent


def test_present_and_absent_stay_the_bases_beside_a_declared_state():
    thing = Resettable({}, state="present")
    assert thing.run()["diff"] == {"before": {}, "after": {"size": 1}}
    assert thing.sent == [("POST", {"size": 1, "secret": None})]

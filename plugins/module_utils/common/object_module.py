# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state machine of a module that manages one object of an API (a Guacamole connection or user, a rustguac
folder, a Proxmox ACL): state present or absent, check mode, the diff and the result, written once.

A module declares how to find its object and what a create, an update and a delete write; ``ObjectModule``
decides which of them runs, skips the writes in check mode, and reports. ``changed`` is whether a write was
asked for, so it cannot disagree with what the run did (or, in check mode, would do).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.proxgate.core.plugins.module_utils.common.diff import Changes


class ObjectModule:
    """Mixed in before an API's module base (an ApiModule subclass), whose execute() calls run().

    Declare:
      ``object_key``     the result key that holds the object (``connection``).
      ``gone``           what that key holds once the object is absent (``{}`` or None).
      ``state_in_diff``  True: a create's diff reads {state: absent} -> {..., state: present} and a delete's the
                         reverse; False: {} -> {...} and back.
    Implement (each write goes through ``self.write``):
      ``locate()``                   the existing object in any form the module likes, or None; fails when what
                                     the object hangs on is missing and the state is present.
      ``desired(existing)``          what the options ask for, checked against the server (default None).
      ``create(desired)``            the writes of a create; returns (the object, how the diff shows it).
      ``update(existing, desired)``  the writes of an update, if any; returns (the object, its diff: a
                                     ``common.diff.Changes`` or a dict with before and after).
      ``delete(existing)``           the writes of a delete; returns how the diff shows the object before.
      ``extra_results()``            more result keys with their values when nothing is written (default
                                     none); called once the object is located, updated in ``self.extra``.
    States beyond present and absent (a snapshot's rollback): ``states`` maps each to the name of the method that
    carries it out, which is given what ``locate()`` found (None when nothing), makes its writes through
    ``self.write`` and returns what ``result()`` takes: (the object, the diff's before, its after).
    """

    object_key = "object"
    gone: dict[str, Any] | None = {}
    state_in_diff = False
    states: dict[str, str] = {}

    writes = 0
    extra: dict[str, Any] = {}
    # from the API's module base (ApiModule)
    params: dict[str, Any]
    check_mode: bool
    diff_mode: bool

    def write(self, send: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Count a write, and make it (send(*args, **kwargs), its reply) unless in check mode (None)."""
        self.writes += 1
        return None if self.check_mode else send(*args, **kwargs)

    def locate(self) -> Any:
        raise NotImplementedError

    def desired(self, existing: Any) -> Any:
        return None

    def create(self, desired: Any) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError

    def update(self, existing: Any, desired: Any) -> tuple[Any, Changes | dict[str, Any]]:
        raise NotImplementedError

    def delete(self, existing: Any) -> dict[str, Any]:
        raise NotImplementedError

    def extra_results(self) -> dict[str, Any]:
        return {}

    def run(self) -> dict[str, Any]:
        self.writes = 0
        existing = self.locate()
        self.extra = self.extra_results()
        state = self.params["state"]
        if state in self.states:
            return self.result(*getattr(self, self.states[state])(existing))
        if state == "absent":
            if existing is None:
                return self.result(self.gone, {}, {})
            before = self.delete(existing)
            if self.state_in_diff:
                return self.result(self.gone, dict(before, state="present"), {"state": "absent"})
            return self.result(self.gone, before, {})
        desired = self.desired(existing)
        if existing is None:
            try:
                obj, after = self.create(desired)
            except Exception as error:
                existing = self.made_meanwhile(error)
                if existing is None:
                    raise
                desired = self.desired(existing)
            else:
                if self.state_in_diff:
                    return self.result(obj, {"state": "absent"}, dict(after, state="present"))
                return self.result(obj, {}, after)
        obj, diff = self.update(existing, desired)
        diff = diff if isinstance(diff, dict) else diff.diff()
        return self.result(obj, diff["before"], diff["after"])

    def made_meanwhile(self, error: Exception) -> Any:
        """The object, when a create was refused because it exists (the API error's ``already_made``): a run in
        parallel made it after locate() looked. The refused write changed nothing and is not counted; the task
        goes on as an update of what the other run made, so parallel runs converge instead of failing. None for
        any other error."""
        if not getattr(error, "already_made", False):
            return None
        existing = self.locate()
        if existing is not None:
            self.writes -= 1
        return existing

    def result(self, obj: Any, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        result = dict(changed=self.writes > 0, **{self.object_key: obj}, **self.extra)
        if self.diff_mode:
            result["diff"] = {"before": before, "after": after}
        return result

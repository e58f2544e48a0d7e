# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bounded number of calls in flight at once, for modules that make the same calls for many objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

Item = TypeVar("Item")


def each_at_once(function: Callable[[Item], Any], items: Iterable[Item], workers: int = 1) -> list[Any]:
    """[function(item) for item in items], with up to `workers` calls running at once. After the first error
    no call that has not started is made, and that error is raised once the calls running have ended: a
    failure stops the run as it would one call at a time, without leaving a call half-made."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [pool.submit(function, item) for item in items]
        for future in as_completed(futures):
            if future.cancelled():
                continue
            if failure is None and future.exception() is not None:
                failure = future.exception()
                for pending in futures:
                    pending.cancel()
    if failure is not None:
        raise failure
    return [future.result() for future in futures]

"""Another client's request, made just before one of the client under test: how a test server shows what a run
in parallel does between a module's read and its write, without racing two processes.

``server.interleave("POST", "/connections", action)``: the next POST whose path ends with /connections first runs
``action()`` (which changes the server's state as another client would), then is handled as usual. One-shot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Interleavings:
    def __init__(self) -> None:
        self._due: list[tuple[str, str, Callable[[], object]]] = []
        self._lock = threading.Lock()

    def add(self, method: str, suffix: str, action: Callable[[], object]) -> None:
        with self._lock:
            self._due.append((method.upper(), suffix, action))

    def run_due(self, method: str, path: str) -> None:
        """Run (and forget) the first action due before this request, if any."""
        with self._lock:
            found = next((item for item in self._due if item[0] == method and path.endswith(item[1])), None)
            if found is None:
                return
            self._due.remove(found)
        found[2]()

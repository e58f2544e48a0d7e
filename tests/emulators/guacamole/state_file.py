"""The Guacamole emulator's objects in a file, so that an emulator killed and started again with the same
``--state-file`` comes back with the same users, groups, connections, sharing profiles and permissions
(issue #17): Guacamole keeps them in its database, which a restart of the web app does not touch.

Sessions are not kept: Guacamole holds its tokens in memory (HashTokenSessionMap), so every token is gone
after a restart, and a client's next call with one gets 403 Permission Denied. The file is written after every
write request, to a temporary file that then replaces the old one, so a SIGKILL never leaves half a file.
"""

from __future__ import annotations

import os
import pickle
from http import HTTPStatus
from pathlib import Path

from .api import Response


def save_state(emulator, path):
    """Write the emulator's data sources to path (atomically); called with the emulator's lock held."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(pickle.dumps(emulator.api.data_sources, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(partial, path)


def load_state(emulator, path):
    """Give the emulator the data sources save_state wrote to path; False when there is no such file."""
    path = Path(path)
    if not path.exists():
        return False
    with emulator._lock:
        emulator.api.data_sources = pickle.loads(path.read_bytes())  # noqa: S301 - its own file
    return True


def proxy_error(status):
    """What a reverse proxy (nginx) in front of Guacamole answers when the web app's answer does not reach it."""
    title = f"{status} {HTTPStatus(status).phrase}"
    return Response(status, f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center>"
                    "<hr><center>nginx</center></body></html>", {"Content-Type": "text/html"})

"""Fixtures for the rustguac integration tests: the emulator on 127.0.0.1 over HTTPS with a self-signed
certificate (trusted through RUSTGUAC_CA_PATH), and the RUSTGUAC_* environment the modules read.

A test module uses them with ``rustguac = rustguac_fixtures.rustguac`` at module level.
"""

from __future__ import annotations

import json

import pytest

from tests.emulators.rustguac import RustguacEmulator
from tests.integration.guacamole_fixtures import make_self_signed_cert

ADMIN_KEY = "rg-admin-key-S3cr3t-0123456789"


@pytest.fixture
def rustguac(tmp_path):
    """A started rustguac emulator over HTTPS, stopped after the test."""
    certfile, keyfile = make_self_signed_cert(tmp_path / "rustguac-pki")
    emu = RustguacEmulator(host="127.0.0.1", port=0, certfile=certfile, keyfile=keyfile, admin_key=ADMIN_KEY)
    emu.start()
    yield emu
    emu.stop()


def rg_env(emu, key=ADMIN_KEY, **extra):
    """The environment an AWX credential would give; the modules read their auth from it."""
    env = {"RUSTGUAC_URL": emu.url, "RUSTGUAC_API_KEY": key, "RUSTGUAC_CA_PATH": emu.certfile}
    env.update(extra)
    return env


def writes(emu):
    """The write requests the emulator saw, as (method, path) with the /api prefix dropped."""
    return [(method, path.split("?")[0].removeprefix("/api")) for method, path, _status in emu.writes()]


def bodies(emu, method, path_suffix):
    """The logged bodies (secrets redacted by the emulator) of the requests with this method and path end."""
    return [body for seen, path, body in emu.request_bodies
            if seen == method and path.split("?")[0].endswith(path_suffix) and body is not None]


def everything(run):
    """All a playbook run printed and returned, for asserting that a secret is nowhere in it."""
    return run.stdout + run.stderr + json.dumps(run.results, default=str)

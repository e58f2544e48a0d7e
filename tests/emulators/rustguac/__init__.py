"""Emulator of the rustguac gateway broker's REST API for tests.

Start it with::

    from tests.emulators.rustguac import RustguacEmulator

    with RustguacEmulator(admin_key="rg-admin-0123456789") as emu:
        key = emu.add_api_key(name="ci-operator", role="operator")
        ...  # talk to emu.url with "Authorization: Bearer <key>" or "X-API-Key: <key>"
"""
from .api import SOURCE_COMMIT, SOURCE_REPO, SOURCE_VERSION
from .server import RustguacEmulator

__all__ = ["SOURCE_COMMIT", "SOURCE_REPO", "SOURCE_VERSION", "RustguacEmulator"]

"""Emulator of the Apache Guacamole REST API (1.5 / 1.6) for tests.

Start it with::

    from tests.emulators.guacamole import GuacamoleEmulator

    with GuacamoleEmulator(version="1.6.0") as emu:
        client = make_client(emu.url)  # e.g. http://127.0.0.1:PORT/guacamole
"""
from .server import GuacamoleEmulator

__all__ = ["GuacamoleEmulator"]

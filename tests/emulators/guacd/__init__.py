"""A guacd protocol peer for tests: see README.md. The collection never imports it."""

from __future__ import annotations

from pathlib import Path

SCRIPT = Path(__file__).with_name("guacd.py")

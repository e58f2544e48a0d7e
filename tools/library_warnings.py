"""Python deprecation warnings that installed libraries print while ansible-* runs, told apart from ours.

A Python warning is printed as "<file>:<line>: <Category>: <message>", then the line of source it points at,
indented by two spaces. One from a library under site-packages (cryptography 51 deprecating DSA, which
ansible-core imports) is that library's business: the demo leaves it out of what it shows, and the docs tools
and tests do not take it for a fault of the collection. They are left out rather than ignored through
PYTHONWARNINGS: CryptographyDeprecationWarning derives from UserWarning, and a -W category from an installed
package cannot be named (the options are read before site-packages can be imported).
"""

from __future__ import annotations

import re
from pathlib import Path

PYTHON_DEPRECATION = re.compile(r"^(?P<file>.+?\.py):\d+: \w*DeprecationWarning: ")
WARNING_SOURCE_LINE = re.compile(r"^  \S")
OURS = "/ansible_collections/proxgate/"


def is_library_deprecation(line: str) -> bool:
    """True for the first line of a Python deprecation warning raised in an installed library other than this
    collection."""
    found = PYTHON_DEPRECATION.match(line)
    if not found:
        return False
    installed = {"site-packages", "dist-packages"} & set(Path(found["file"]).parts)
    return bool(installed) and OURS not in found["file"]


class LibraryDeprecationFilter:
    """Feed it output line by line; `keep(line)` is False for a library's deprecation warning and its source line."""

    def __init__(self) -> None:
        self.skipping = False

    def keep(self, line: str) -> bool:
        if self.skipping and WARNING_SOURCE_LINE.match(line):
            self.skipping = False
            return False
        self.skipping = is_library_deprecation(line)
        return not self.skipping


def without_library_deprecations(text: str) -> str:
    lines = LibraryDeprecationFilter()
    return "".join(line for line in text.splitlines(keepends=True) if lines.keep(line))

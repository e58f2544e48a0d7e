# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the text a module sends as a name: a control character (Unicode category Cc: a newline, a tab,
NUL, ESC) is in no name anyone means, and it garbles the logs and terminals the name is shown in."""

from __future__ import annotations

import unicodedata


def control_character(value: str) -> str | None:
    """The first control character of value, None when it has none."""
    return next((char for char in value if unicodedata.category(char) == "Cc"), None)


def control_problem(option: str, value: str) -> str | None:
    """The message for a value holding a control character, naming the option; None for a clean one."""
    char = control_character(value)
    return None if char is None else f"{option} must hold no control character; got {value!r}, which holds {char!r}"

# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one check of an object name (connection, connection group, sharing profile, user, user group) that
every Guacamole module makes before any call, the login included.

Guacamole's JDBC schema stores every such name in a VARCHAR(128) (guacamole-client,
extensions/guacamole-auth-jdbc/modules/guacamole-auth-jdbc-postgresql/schema/001-create-schema.sql:
connection_name, connection_group_name, sharing_profile_name, guacamole_entity.name). A name also becomes a
path segment (users/<name>, userGroups/<name>), where '.' and '..' are dot segments, and a control character
(Unicode category Cc: a newline, a tab, NUL, ESC) is no name anyone means and garbles logs and terminals.
"""

from __future__ import annotations

from ansible_collections.proxgate.core.plugins.module_utils.common.text import control_character

NAME_MAX_LENGTH = 128


def name_problem(option, value):
    """None for a good name, else the message: the option, what it must be, the value as repr, and why."""
    expected = (f"{option} must be a Guacamole name (1 to {NAME_MAX_LENGTH} characters, no control character, "
                "not '.' or '..')")
    if not isinstance(value, str):
        return f"{expected}; got {value!r}, which is no string"
    if value == "":
        return f"{expected}; got '', which is empty"
    if value in (".", ".."):
        return f"{expected}; got {value!r}, which is a dot segment in a URL"
    control = control_character(value)
    if control is not None:
        return f"{expected}; got {value!r}, which holds the control character {control!r}"
    if len(value) > NAME_MAX_LENGTH:
        return (f"{expected}; got {value!r}, which has {len(value)} characters, and Guacamole stores at most "
                f"{NAME_MAX_LENGTH}")
    return None


def name_errors(option, value):
    """[] for a good name, else the one message: empty (or only spaces), or name_problem's."""
    if not (value or "").strip():
        return [f"{option} must not be empty"]
    problem = name_problem(option, value)
    return [problem] if problem else []


def names_errors(option, names):
    """[] for a list of names (or None) without an empty one, else the message naming the option."""
    if names is not None and any(not (name or "").strip() for name in names):
        return [f"{option} must not contain an empty name"]
    return []

"""Static schema data: protocol forms, attribute forms, permission names.

Protocol schemas are those shipped in guacamole-ext (``org/apache/guacamole/protocols/*.json``) of
Guacamole 1.5.5 and 1.6.0, kept as data under ``protocols/``.
"""
from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

Field = dict[str, Any]
Form = dict[str, Any]

OBJECT_PERMISSIONS = ("READ", "UPDATE", "DELETE", "ADMINISTER")
SYSTEM_PERMISSIONS_15 = (
    "CREATE_CONNECTION", "CREATE_CONNECTION_GROUP", "CREATE_SHARING_PROFILE",
    "CREATE_USER", "CREATE_USER_GROUP", "ADMINISTER",
)
SYSTEM_PERMISSIONS_16 = SYSTEM_PERMISSIONS_15 + ("AUDIT",)

PROTOCOLS_DIR = Path(__file__).with_name("protocols")


def field(name: str, field_type: str = "TEXT", options: list[str] | None = None) -> Field:
    result: Field = {"name": name, "type": field_type}
    if options is not None:
        result["options"] = list(options)
    return result


def boolean(name: str) -> Field:
    return field(name, "BOOLEAN", ["true"])


def form(name: str, *fields: Field) -> Form:
    return {"name": name, "fields": list(fields)}


def protocol_release(is_16: bool) -> str:
    """The release whose protocol descriptions the emulator serves: the newest of each line it mirrors."""
    return "1.6.0" if is_16 else "1.5.5"


@cache
def _protocol_document(release: str) -> dict[str, Any]:
    return json.loads((PROTOCOLS_DIR / f"{release}.json").read_text(encoding="utf-8"))


def protocols(is_16: bool = True) -> dict[str, dict[str, Any]]:
    """GET schema/protocols: guacamole-ext's protocol descriptions of the release, as the web app serves them
    (LocalEnvironment reads guacamole-ext/src/main/resources/org/apache/guacamole/protocols/*.json).
    The files under protocols/ are written by tools/guacamole_protocols.py from the release tags."""
    return copy.deepcopy(_protocol_document(protocol_release(is_16))["protocols"])


# --- attribute schemas (JDBC auth extension) -------------------------------

USER_PROFILE_FIELDS = [
    field("guac-full-name"), field("guac-email-address", "EMAIL"),
    field("guac-organization"), field("guac-organizational-role"),
]


def user_restriction_fields(is_16: bool) -> list[Field]:
    # 1.6 moved `disabled` out of the attributes into a top-level boolean.
    fields = [] if is_16 else [boolean("disabled")]
    return fields + [
        boolean("expired"), field("access-window-start", "TIME"),
        field("access-window-end", "TIME"), field("valid-from", "DATE"),
        field("valid-until", "DATE"), field("timezone", "TIMEZONE"),
    ]


def user_attribute_forms(is_16: bool) -> list[Form]:
    return [form("profile", *USER_PROFILE_FIELDS),
            form("restrictions", *user_restriction_fields(is_16))]


def user_group_attribute_forms(is_16: bool) -> list[Form]:
    return [] if is_16 else [form("restrictions", boolean("disabled"))]


def connection_attribute_forms() -> list[Form]:
    return [
        form("concurrency", field("max-connections", "NUMERIC"),
             field("max-connections-per-user", "NUMERIC")),
        form("load-balancing", field("weight", "NUMERIC"), boolean("failover-only")),
        form("guacd", field("guacd-hostname"), field("guacd-port", "NUMERIC"),
             field("guacd-encryption", "ENUM", ["", "none", "ssl"])),
    ]


def connection_group_attribute_forms() -> list[Form]:
    return [form("concurrency", field("max-connections", "NUMERIC"),
                 field("max-connections-per-user", "NUMERIC"),
                 boolean("enable-session-affinity"))]


def sharing_profile_attribute_forms() -> list[Form]:
    return []


def user_preference_attribute_forms() -> list[Form]:
    return []


def fields_of(forms: list[Form]) -> dict[str, Field]:
    return {f["name"]: f for frm in forms for f in frm["fields"]}

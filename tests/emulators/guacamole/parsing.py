"""Coercion of JSON request bodies into the shapes the real API accepts.

The real server deserialises bodies with Jackson, which turns numbers and
booleans into strings for ``String`` fields, ignores unknown properties and
rejects structurally wrong input (an object where a string belongs, a value no enum has) with
Jersey's plain-text 400 (errors.JacksonError), before any Guacamole code runs.
"""
from __future__ import annotations

import json
from typing import Any

from .errors import GuacError, bad_request, internal_error, jackson_error

JSON_PATCH_OPS = ("add", "remove", "replace", "move", "copy", "test")


def parse_json(body: bytes, content_type: str | None) -> Any:
    """The decoded body, or None when it is empty (Jackson yields null then)."""
    if not body.strip():
        return None
    if not (content_type or "").lower().startswith("application/json"):
        raise GuacError(415, "BAD_REQUEST", "Unsupported Media Type")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise jackson_error(f"Unexpected character in request body: {error}") from None


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number" if isinstance(value, (int, float)) and not isinstance(value, bool) else "Boolean"


def as_enum(value: Any, name: str, enum_class: str, values: tuple[str, ...]) -> str | None:
    """A Java enum field: null stays null, any other value than one of the constants is Jackson's
    InvalidFormatException (400, text/plain)."""
    if value is None or value in values:
        return value
    raise jackson_error(f"Cannot deserialize value of type `{enum_class}` from {_json_kind(value)} "
                        f"{json.dumps(value)}: not one of the values accepted for Enum class: "
                        f"[{', '.join(values)}] (through reference chain: \"{name}\")")


def as_string(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise jackson_error(f"Cannot deserialize value of type `java.lang.String` from {_json_kind(value)} value "
                        f'(through reference chain: "{name}")')


def as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise jackson_error(f"Cannot deserialize value of type `boolean` from {_json_kind(value)} value "
                        f'(through reference chain: "{name}")')


def as_string_map(value: Any, name: str) -> dict[str, str | None]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise jackson_error(f"Cannot deserialize value of type `java.util.Map` from {_json_kind(value)} value "
                            f'(through reference chain: "{name}")')
    return {str(key): as_string(item, f"{name}.{key}") for key, item in value.items()}


def require_object(data: Any, *, creating: bool) -> dict[str, Any]:
    if data is None:
        verb = "creating" if creating else "updating"
        raise bad_request(f"Data must be submitted when {verb} objects.")
    if not isinstance(data, dict):
        raise jackson_error(f"Cannot deserialize value from {_json_kind(data)} value: expected a JSON object")
    return data


def require_patches(data: Any) -> list[dict[str, Any]]:
    """A structurally valid JSON Patch list (every element checked up front)."""
    if data is None:
        data = []
    if not isinstance(data, list):
        raise jackson_error(f"Cannot deserialize value of type `java.util.ArrayList` from {_json_kind(data)} value")
    for patch in data:
        if not isinstance(patch, dict):
            raise jackson_error(f"Cannot deserialize value of type `APIPatch` from {_json_kind(patch)} value")
        op = patch.get("op")
        if op is not None and op not in JSON_PATCH_OPS:  # null is a null enum, left to the resource
            # APIPatch.Operation is an enum: any other value (or a non-string) fails in Jackson.
            raise jackson_error(f"Cannot deserialize value of type `APIPatch$Operation` from {_json_kind(op)} "
                                f"{json.dumps(op)}: not one of the values accepted for Enum class: "
                                "[add, remove, test, copy, replace, move]")
        as_string(patch.get("path"), "path")
    return data


def patch_path(patch: dict[str, Any]) -> str:
    """DirectoryResource.patchObjects: the path must start with "/" (400); a patch without one is
    path.startsWith() on null, a NullPointerException (500)."""
    path = as_string(patch.get("path"), "path")
    if path is None:
        raise internal_error()
    if not path.startswith("/"):
        raise bad_request('Patch paths must start with "/".')
    return path


def string_patch_value(patch: dict[str, Any]) -> str | None:
    value = patch.get("value")
    if value is None or isinstance(value, str):
        return value
    raise jackson_error(f"Cannot deserialize value of type `java.lang.String` from {_json_kind(value)} value "
                        '(through reference chain: "value")')


def filter_attributes(raw: Any, fields: dict[str, dict]) -> tuple[dict[str, str | None], dict[str, Any]]:
    """(stored form, echoed form) of the attributes, restricted to the schema.

    Attributes not declared by the schema are dropped, like the real
    ``DirectoryObjectTranslator.filterAttributes``, which also reads the map once per field of the schema:
    a body without attributes is a NullPointerException there (500) whenever the schema has a field.
    """
    if raw is None and fields:
        raise internal_error()
    attributes = as_string_map(raw, "attributes")
    stored: dict[str, str | None] = {}
    echoed: dict[str, Any] = {}
    for name, value in attributes.items():
        spec = fields.get(name)
        if spec is None:
            continue
        echoed[name] = value
        if spec["type"] == "BOOLEAN":
            stored[name] = "true" if value == "true" else ""
        else:
            stored[name] = value if value not in ("", None) else None
    return stored, echoed


def clean_parameters(raw: Any) -> dict[str, str]:
    # The JDBC extension does not store empty parameters.
    return {name: value for name, value in as_string_map(raw, "parameters").items() if value}

"""Redaction of secrets before request bodies are written to the request log."""
from __future__ import annotations

import json
from typing import Any

MASK = "********"
SECRET_NAMES = {"password", "private_key", "token", "jump_password", "jump_private_key", "key",
                "api_key", "secret", "container_password", "proxmox_token_secret"}


def redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: (MASK if str(key).lower() in SECRET_NAMES and item not in (None, "")
                      else redact_json(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def redact_body(body: bytes) -> Any:
    """The body as logged: parsed JSON with secrets masked, or a placeholder (never raw text)."""
    if not body:
        return None
    try:
        return redact_json(json.loads(body.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError):
        # Unparseable input may still hold a secret: never log it verbatim.
        return f"<{len(body)} bytes of unparseable data>"

"""Redaction of secrets before requests are written to the request log."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

MASK = "********"
SECRET_NAMES = {"passphrase", "private-key", "client-key", "token", "guac-totp"}


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return (lowered in SECRET_NAMES or "password" in lowered
            or lowered.endswith(("-passphrase", "-private-key")))


def redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: (MASK if is_secret(str(key)) and item not in (None, "") else redact_json(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def redact_form(text: str) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    masked = [(key, MASK if is_secret(key) and value else value) for key, value in pairs]
    return urlencode(masked, safe="*")


def redact_path(path: str) -> str:
    """Mask ``?token=`` values and the token in ``DELETE /api/tokens/<token>``."""
    base, mark, query = path.partition("?")
    prefix, tokens, token = base.partition("/api/tokens/")
    if tokens and token:
        base = f"{prefix}{tokens}{MASK}"
    return f"{base}?{redact_form(query)}" if mark else base


def redact_body(body: bytes, content_type: str | None) -> str:
    if not body:
        return ""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(body)} bytes of undecodable data>"
    content_type = (content_type or "").lower()
    if "json" in content_type or text.lstrip()[:1] in ("{", "["):
        try:
            return json.dumps(redact_json(json.loads(text)))
        except json.JSONDecodeError:
            # Unparseable input may still hold a secret: never log it verbatim.
            return f"<{len(body)} bytes of malformed JSON>"
    if "=" in text:
        return redact_form(text)
    return f"<{len(body)} bytes of {content_type or 'unknown content'}>"

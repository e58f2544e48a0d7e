# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP client for the rustguac REST API, used by every rustguac module.

It knows nothing of Ansible: modules feed it their options and turn its exceptions into ``fail_json``.

Paths are relative to the API root (``https://host/api``), such as ``/addressbook/folders``; build them from
names with ``path_of()``, which quotes each segment. The API key travels only in a header
(``Authorization: Bearer`` or ``X-API-Key``), never in a URL, and never appears in an error message.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import (
    MAY_HAVE_ACTED,
    NOT_JSON,
    JsonHttpClient,
    parsed_body,
)

HEADER_STYLES = ("bearer", "x-api-key")
RETRY_STATUSES = (500, 502, 503, 504)
ROLES = ("viewer", "operator", "poweruser", "admin")


class RustguacError(Exception):
    """Anything the client could not do; the text is meant for a user."""

    # True when the request may have been carried out and was not sent again (its text says what to check).
    outcome_unknown = False


class RustguacApiError(RustguacError):
    """The API answered with an error status; ``message`` is the server's own text (its ``error`` field)."""

    json_error = False  # the reply was rustguac's own {"error": ...}, not a proxy's page

    def __init__(self, method, path, status, message=None):
        self.method = method
        self.path = path
        self.status = status
        self.message = (message or "").strip()
        text = f"{method} {path} failed: HTTP {status}"
        if self.message:
            text += f": {self.message}"
        super().__init__(text)

    @property
    def missing(self) -> bool:
        return self.status == 404

    @property
    def forbidden(self) -> bool:
        return self.status == 403

    @property
    def unauthorized(self) -> bool:
        return self.status == 401

    @property
    def conflict(self) -> bool:
        return self.status == 409

    already_made = conflict  # 409: a token or group mapping of that name exists (api.rs), for ObjectModule


class RustguacConnectionError(RustguacError):
    """The API could not be reached (after the retries)."""


def auth_headers(api_key, header_style):
    if header_style == "x-api-key":
        return {"X-API-Key": api_key}
    return {"Authorization": f"Bearer {api_key}"}


class RustguacClient(JsonHttpClient):
    """Talks to the rustguac REST API with an API key (or a user token, ``rgu_...``).

    The send loop is common/http_client.py HttpClient's. Connect failures that never reached the server are
    retried for every method; a connection lost after the request was sent, and the 5xx answers 500, 502, 503
    and 504, are retried only for GET, HEAD, PUT and DELETE, never for a POST (it may have created a token or a
    mapping: its error says so), and a 502 that carries rustguac's own error body never (its address-book
    handlers answer every Vault error so, such as "invalid name"). A DELETE sent again that finds nothing is
    success (the first one deleted it). Exponential backoff, at most ``retries`` times. Nothing else is
    retried.
    """

    error_class = RustguacError
    connection_error_class = RustguacConnectionError
    api_root = "/api"
    url_means = "the http(s) URL of the rustguac server, such as https://gateway.example.com:8089"
    credentials_options = "api_key"
    server = "rustguac server"

    def __init__(self, url, api_key, header_style="bearer", validate_certs=True, ca_path=None, timeout=30,
                 retries=3, backoff=1.0, transport=None):
        self.require_httpx()
        if not api_key or not str(api_key).strip():
            raise RustguacError("api_key is required (or the RUSTGUAC_API_KEY environment variable)")
        if header_style not in HEADER_STYLES:
            raise RustguacError(f"api_key_header must be one of {', '.join(HEADER_STYLES)}, got {header_style!r}")
        if timeout is not None and timeout <= 0:
            raise RustguacError("api_timeout must be a positive number of seconds")
        if retries is not None and retries < 0:
            raise RustguacError("api_retries must be 0 or more")
        self.start(url, timeout or 30, 3 if retries is None else retries, backoff)
        self.http = self.open_http(self._verify(validate_certs, ca_path), transport,
                                   auth_headers(api_key, header_style))

    def health(self) -> bool:
        """GET /api/health (no auth needed): True when it answers 200."""
        self.request("GET", "/health", parse=False)
        return True

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None,
                parse: bool = True) -> Any:
        """The parsed JSON reply (None for an empty one); raises RustguacApiError, RustguacConnectionError."""
        path = "/" + str(path or "").lstrip("/")
        query = {key: value for key, value in (params or {}).items() if value is not None} or None
        reply = self.send(method.upper(), path, params=query, json=json)
        return reply if parse else None

    # ------------------------------------------------- HttpClient's hooks

    def verdict(self, method, error):
        # rustguac answers 502 with an error body for what its Vault refused ("invalid name: ..."):
        # the same request gets the same answer. A proxy's 502 (no such body) may come after rustguac acted.
        if error.status in RETRY_STATUSES and not (error.status == 502 and error.json_error):
            return MAY_HAVE_ACTED
        return None

    def read_reply(self, method, path, reply):
        body = parsed_body(reply)
        if body is not NOT_JSON:
            return body
        if "json" in reply.headers.get("Content-Type", ""):
            raise RustguacApiError(method, path, reply.status_code, f"the reply is not JSON: {reply.text[:200]!r}")
        return reply.text

    def read_error(self, method, path, reply, headers):
        body = parsed_body(reply)
        if isinstance(body, dict) and (body.get("error") or body.get("message")):
            error = RustguacApiError(method, path, reply.status_code, str(body.get("error") or body.get("message")))
            error.json_error = True
            return error
        text = reply.reason_phrase
        if reply.text:
            text = f"{text}: {' '.join(reply.text.split())[:200]}"
        return RustguacApiError(method, path, reply.status_code, text)


# The only way a value enters a path (emails hold '@', names may hold '/' or spaces): one segment each;
# RustguacError for '', '.' and '..', which a URL client would resolve. path_of('users', 'a@b.c', 'role')
# -> '/users/a%40b.c/role'.
api_base_url = RustguacClient.api_base_url
quote_segment = RustguacClient.quote_segment
path_of = RustguacClient.path_of

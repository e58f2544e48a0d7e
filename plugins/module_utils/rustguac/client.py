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

import time

from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import (
    HAS_HTTPX,
    IDEMPOTENT_METHODS,
    backoff_sleep,
    http_url_parts,
    httpx,
    join_segments,
    may_resend,
    path_segment,
    tls_verify,
    unreachable_message,
)

HEADER_STYLES = ("bearer", "x-api-key")
RETRY_STATUSES = (500, 502, 503, 504)
ROLES = ("viewer", "operator", "poweruser", "admin")


class RustguacError(Exception):
    """Anything the client could not do; the text is meant for a user."""


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
    def missing(self):
        return self.status == 404

    @property
    def forbidden(self):
        return self.status == 403

    @property
    def unauthorized(self):
        return self.status == 401

    @property
    def conflict(self):
        return self.status == 409


class RustguacConnectionError(RustguacError):
    """The API could not be reached (after the retries)."""


def api_base_url(url):
    """The API root for the server's address: https://h:8089 -> https://h:8089/api (an /api suffix is kept)."""
    given = url
    url = (url or "").strip().rstrip("/")
    parts = http_url_parts(url)
    if parts is None:
        raise RustguacError("api_url must be the http(s) URL of the rustguac server, such as "
                            f"https://gateway.example.com:8089, got {given!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise RustguacError("api_url must not have a query string, fragment or credentials; give the key in "
                            "api_key")
    return url if url.endswith("/api") else url + "/api"


def quote_segment(text):
    """One path segment, safe for the URL (emails hold '@', names may hold '/' or spaces);
    RustguacError for '', '.' and '..', which a URL client would resolve."""
    return path_segment(text, RustguacError)


def path_of(*segments):
    """An API path from unquoted segments: path_of('users', 'a@b.c', 'role') -> '/users/a%40b.c/role'."""
    return join_segments(segments, RustguacError)


def auth_headers(api_key, header_style):
    if header_style == "x-api-key":
        return {"X-API-Key": api_key}
    return {"Authorization": f"Bearer {api_key}"}


class RustguacClient:
    """Talks to the rustguac REST API with an API key (or a user token, ``rgu_...``).

    Connect failures that never reached the server are retried for every method; a connection lost after the
    request was sent, and the 5xx answers 500, 502, 503 and 504, are retried only for GET, HEAD, PUT and
    DELETE, never for a POST (it may have created a token or a mapping), and a 502 that carries rustguac's
    own error body never (its address-book handlers answer every Vault error so, such as "invalid name").
    Exponential backoff, at most ``retries`` times. Nothing else is retried.
    """

    def __init__(self, url, api_key, header_style="bearer", validate_certs=True, ca_path=None, timeout=30,
                 retries=3, backoff=1.0, transport=None):
        if not HAS_HTTPX:
            raise RustguacError("the httpx Python library is required")
        if not api_key or not str(api_key).strip():
            raise RustguacError("api_key is required (or the RUSTGUAC_API_KEY environment variable)")
        if header_style not in HEADER_STYLES:
            raise RustguacError(f"api_key_header must be one of {', '.join(HEADER_STYLES)}, got {header_style!r}")
        if timeout is not None and timeout <= 0:
            raise RustguacError("api_timeout must be a positive number of seconds")
        if retries is not None and retries < 0:
            raise RustguacError("api_retries must be 0 or more")
        self.base_url = api_base_url(url)
        self.retries = 3 if retries is None else int(retries)
        self.backoff = float(backoff)
        self.timeout = timeout or 30
        self.calls = 0
        self.http = httpx.Client(verify=tls_verify(validate_certs, ca_path, RustguacError), timeout=self.timeout,
                                 transport=transport,
                                 headers={"Accept": "application/json", **auth_headers(api_key, header_style)})

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self.http.close()

    def get(self, path, **params):
        return self.request("GET", path, params=params)

    def post(self, path, json=None):
        return self.request("POST", path, json=json)

    def put(self, path, json=None):
        return self.request("PUT", path, json=json)

    def delete(self, path):
        return self.request("DELETE", path)

    def health(self):
        """GET /api/health (no auth needed): True when it answers 200."""
        self.request("GET", "/health", parse=False)
        return True

    def request(self, method, path, params=None, json=None, parse=True):
        """The parsed JSON reply (None for an empty one); raises RustguacApiError, RustguacConnectionError."""
        method = method.upper()
        path = "/" + str(path or "").lstrip("/")
        query = {key: value for key, value in (params or {}).items() if value is not None} or None
        attempt = 0
        started = time.monotonic()
        while True:
            try:
                self.calls += 1
                response = self.http.request(method, self.base_url + path, params=query, json=json)
            except httpx.TransportError as exc:
                if attempt < self.retries and may_resend(exc, method in IDEMPOTENT_METHODS):
                    attempt += 1
                    backoff_sleep(self.backoff, attempt)
                    continue
                raise RustguacConnectionError(unreachable_message(
                    method, path, self.base_url, exc, attempt + 1, started, self.timeout, self.retries,
                    "rustguac server", "/api")) from exc
            if response.status_code < 400:
                return self._payload(method, path, response) if parse else None
            error = self._error(method, path, response)
            # rustguac answers 502 with an error body for what its Vault refused ("invalid name: ..."):
            # the same request gets the same answer. A proxy's 502 (no such body) is retried.
            if (attempt < self.retries and method in IDEMPOTENT_METHODS and error.status in RETRY_STATUSES
                    and not (error.status == 502 and error.json_error)):
                attempt += 1
                backoff_sleep(self.backoff, attempt)
                continue
            raise error

    @staticmethod
    def _payload(method, path, response):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            if "json" in response.headers.get("Content-Type", ""):
                raise RustguacApiError(method, path, response.status_code,
                                       f"the reply is not JSON: {response.text[:200]!r}") from None
            return response.text

    @staticmethod
    def _error(method, path, response):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and (body.get("error") or body.get("message")):
            message = body.get("error") or body.get("message")
            error = RustguacApiError(method, path, response.status_code, str(message))
            error.json_error = True
            return error
        text = response.reason_phrase
        if response.text:
            text = f"{text}: {' '.join(response.text.split())[:200]}"
        return RustguacApiError(method, path, response.status_code, text)

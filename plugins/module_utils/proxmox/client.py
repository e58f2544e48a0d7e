# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP client for the Proxmox VE API, used by every module and the inventory plugin.

It knows nothing of Ansible: modules and plugins feed it their options and turn its
exceptions into ``fail_json`` / ``AnsibleError``.
"""

from __future__ import annotations

import json
import threading
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

API_PREFIX = "/api2/json"
WRITE_METHODS = ("POST", "PUT", "DELETE")
# pveproxy answers these when it could not hand the request to a worker or another node:
# the request was not carried out, so any method may be sent again.
RETRY_STATUSES = (502, 503, 504, 595, 596)
# 500s whose message says another task holds the guest or the cluster is busy: nothing was done yet.
TRANSIENT_MESSAGES = ("can't lock file", "VM is locked", "CT is locked", "no quorum",
                      "unable to open file '/etc/pve", "cfs-lock")
# A timeout inside the node (a QMP or agent command): the call may have run, so only idempotent ones go again.
TIMEOUT_MESSAGE = "got timeout"


class ProxmoxError(Exception):
    """Anything the client could not do; the text is meant for a user."""


class ProxmoxApiError(ProxmoxError):
    """The API answered with an error status."""

    def __init__(self, method, path, status, message, errors=None):
        self.method = method
        self.path = path
        self.status = status
        self.message = (message or "").strip()
        self.errors = errors or {}
        details = "; ".join(f"{name}: {text.strip()}" for name, text in sorted(self.errors.items()))
        text = f"{method} {path} failed: HTTP {status} {self.message}"
        if details:
            text += f" ({details})"
        super().__init__(text)

    @property
    def missing(self):
        """True when the error says the object does not exist."""
        text = self.message.lower()
        return self.status == 404 or "does not exist" in text or "no such" in text


class ProxmoxConnectionError(ProxmoxError):
    """The API could not be reached (after the retries)."""


class ProxmoxAuthError(ProxmoxApiError):
    """Login refused, or a ticket or token not accepted."""


def api_base_url(url):
    """The API root for a node address: https://pve:8006 -> https://pve:8006/api2/json."""
    given = url
    url = (url or "").strip().rstrip("/")
    if http_url_parts(url) is None:
        raise ProxmoxError(f"api_url must be an http(s) URL such as https://pve.example.com:8006, got {given!r}")
    if url.endswith(API_PREFIX):
        return url
    return url + API_PREFIX


def form_encode(data):
    """Parameters as PVE's form parser reads them: booleans as 1/0, lists as repeated keys, None left out."""
    encoded = {}
    for key, value in (data or {}).items():
        if value is None:
            continue
        items = [int(item) if isinstance(item, bool) else item
                 for item in (value if isinstance(value, (list, tuple)) else [value])]
        encoded[key] = [str(item) for item in items] if isinstance(value, (list, tuple)) else str(items[0])
    return encoded


class ProxmoxClient:
    """Talks to /api2/json with a login ticket (+ CSRF token) or an API token.

    Retries connect errors, proxy errors (502/503/504/595/596) and lock or quorum contention,
    with exponential backoff, at most ``retries`` times; re-logs in once when a ticket is refused.
    """

    def __init__(self, api_url, user=None, password=None, token_id=None, token_secret=None, otp=None,
                 validate_certs=True, ca_path=None, timeout=30, retries=3, backoff=1.0, transport=None,
                 max_connections=None):
        if not HAS_HTTPX:
            raise ProxmoxError("the httpx Python library is required")
        self.base_url = api_base_url(api_url)
        self.user = user
        self.password = password
        self.otp = otp
        self.token = self._token_header(user, token_id, token_secret)
        if self.token is None and not (user and password):
            raise ProxmoxError("give api_user and api_password, or api_token_id and api_token_secret")
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.timeout = timeout
        self.ticket = None
        self.csrf = None
        self.calls = 0
        # Threads may share a client (the inventory plugin does): one of them logs in at a time.
        self._login_lock = threading.Lock()
        # httpx keeps 20 connections alive by default; callers running more calls at once ask for more.
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections) \
            if max_connections else httpx.Limits()
        self.http = httpx.Client(verify=self._verify(validate_certs, ca_path), timeout=timeout,
                                 transport=transport, limits=limits, headers={"Accept": "application/json"})

    @staticmethod
    def _token_header(user, token_id, token_secret):
        if not (token_id or token_secret):
            return None
        if not (token_id and token_secret):
            raise ProxmoxError("api_token_id and api_token_secret go together")
        if "!" not in token_id:
            if not user:
                raise ProxmoxError("api_token_id without user (name only) needs api_user, "
                                   "or give it whole as user@realm!tokenname")
            token_id = f"{user}!{token_id}"
        return f"PVEAPIToken={token_id}={token_secret}"

    @staticmethod
    def _verify(validate_certs, ca_path):
        return tls_verify(validate_certs, ca_path, ProxmoxError)

    @property
    def auth_mode(self):
        return "token" if self.token else "ticket"

    def close(self):
        self.http.close()

    # ------------------------------------------------------------------ auth

    def login(self):
        """POST /access/ticket: keep the ticket and CSRF token for the calls that follow."""
        if self.token:
            return
        form = {"username": self.user, "password": self.password, "otp": self.otp}
        data = self._send("POST", "/access/ticket", data=form, authenticated=False)
        if not isinstance(data, dict) or "ticket" not in data:
            raise ProxmoxAuthError("POST", "/access/ticket", 200, "the reply has no ticket")
        if data.get("NeedTFA"):
            raise ProxmoxAuthError("POST", "/access/ticket", 401,
                                   "the account needs a second factor; log in with an API token instead")
        self.ticket = data["ticket"]
        self.csrf = data.get("CSRFPreventionToken")

    def _auth_headers(self, method):
        if self.token:
            return {"Authorization": self.token}
        if self.ticket is None:
            with self._login_lock:
                if self.ticket is None:
                    self.login()
        headers = {"Cookie": f"PVEAuthCookie={self.ticket}"}
        if method in WRITE_METHODS:
            headers["CSRFPreventionToken"] = self.csrf or ""
        return headers

    # --------------------------------------------------------------- calls

    def get(self, path, **params):
        return self.request("GET", path, params=params)

    def post(self, path, **data):
        return self.request("POST", path, data=data)

    def put(self, path, **data):
        return self.request("PUT", path, data=data)

    def delete(self, path, **params):
        return self.request("DELETE", path, params=params)

    def request(self, method, path, params=None, data=None):
        """The `data` of the reply; raises ProxmoxApiError, ProxmoxConnectionError."""
        try:
            return self._send(method, path, params=params, data=data)
        except ProxmoxAuthError as exc:
            if self.token or exc.path == "/access/ticket" or exc.status != 401:
                raise
            # The ticket expired or was revoked: log in again, once.
            self.ticket = None
            return self._send(method, path, params=params, data=data)

    def _send(self, method, path, params=None, data=None, authenticated=True):
        path = "/" + path.lstrip("/")
        url = self.base_url + path
        attempt = 0
        started = time.monotonic()
        while True:
            headers = self._auth_headers(method) if authenticated else {}
            try:
                self.calls += 1
                response = self.http.request(method, url, params=form_encode(params) or None,
                                             data=form_encode(data) or None, headers=headers)
            except httpx.TransportError as exc:
                if attempt < self.retries and may_resend(exc, method in IDEMPOTENT_METHODS):
                    attempt += 1
                    self._sleep(attempt)
                    continue
                raise ProxmoxConnectionError(unreachable_message(
                    method, path, self.base_url, exc, attempt + 1, started, self.timeout, self.retries, "node",
                    API_PREFIX)) from exc
            if response.status_code < 400:
                return self._payload(method, path, response)
            error = self._error(method, path, response)
            if attempt < self.retries and self._transient(method, error):
                attempt += 1
                self._sleep(attempt)
                continue
            raise error

    @staticmethod
    def _transient(method, error):
        if isinstance(error, ProxmoxAuthError):
            return False
        if error.status in RETRY_STATUSES:
            return True
        if error.status != 500:
            return False
        # "can't lock file ... - got timeout" refused the call before it ran: safe to send again, even a POST.
        if any(text in error.message for text in TRANSIENT_MESSAGES):
            return True
        if TIMEOUT_MESSAGE in error.message:
            return method in IDEMPOTENT_METHODS
        return False

    def _sleep(self, attempt):
        backoff_sleep(self.backoff, attempt)

    @staticmethod
    def _payload(method, path, response):
        return reply_data(method, path, response.status_code, response.content)

    @staticmethod
    def _error(method, path, response):
        return reply_error(method, path, response.status_code, response.reason_phrase, response.content)


def reply_data(method, path, status, body):
    """The `data` of a successful reply's raw body; ProxmoxApiError when it is not JSON."""
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise ProxmoxApiError(method, path, status, f"the reply is not JSON: {_text(body)[:200]!r}") from exc
    return parsed.get("data") if isinstance(parsed, dict) else parsed


def reply_error(method, path, status, reason, body):
    """The exception for an error reply: PVE's message (the body's, else the status line's) and per-parameter
    errors; ProxmoxAuthError for a 401."""
    message, errors = reason, None
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        message = parsed.get("message") or message
        errors = parsed.get("errors") if isinstance(parsed.get("errors"), dict) else None
    elif body and not message:
        message = _text(body)[:200]
    cls = ProxmoxAuthError if status == 401 else ProxmoxApiError
    return cls(method, path, status, message, errors)


def _text(body):
    return body.decode("utf-8", errors="replace")


def quote_segment(value):
    """One path segment, safe for the URL (UPIDs, volume ids, snapshot names); ProxmoxError for '', '.', '..'."""
    return path_segment(value, ProxmoxError)


def api_path(*segments):
    """The API path of the segments, each quoted as one: api_path("nodes", node, "qemu", vmid) ->
    /nodes/pve1/qemu/101. Every value a module or plugin puts in a path goes through here."""
    return join_segments(segments, ProxmoxError)

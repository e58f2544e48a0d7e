# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP client for the Proxmox VE API, used by every module and the inventory plugin.

It knows nothing of Ansible: modules and plugins feed it their options and turn its
exceptions into ``fail_json`` / ``AnsibleError``.
"""

from __future__ import annotations

import http.client
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


class Session:
    """The login a client holds, shared by the clients derive() makes: one ticket for all of them, renewed once
    by whichever thread first finds it refused."""

    def __init__(self):
        self.ticket = None
        self.csrf = None
        self.lock = threading.Lock()


# What a GET transport raises when it cannot get an answer (the standard library's socket and HTTP errors).
GET_TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


class ProxmoxClient:
    """Talks to /api2/json with a login ticket (+ CSRF token) or an API token.

    Retries connect errors, proxy errors (502/503/504/595/596) and lock or quorum contention,
    with exponential backoff, at most ``retries`` times; re-logs in once when a ticket is refused.

    ``get_transport`` (optional) carries the GETs instead of httpx: an object whose
    ``get(path, query, headers)`` returns ``(status, reason, body)`` for a path below the API root and raises
    OSError or http.client.HTTPException when no answer came (the inventory plugin's per-guest calls use the
    standard library's http.client, plugin_utils/proxmox_get.py). Auth headers, the renewal of a refused ticket,
    retries and errors are this client's, whichever transport carries the call.
    """

    def __init__(self, api_url, user=None, password=None, token_id=None, token_secret=None, otp=None,
                 validate_certs=True, ca_path=None, timeout=30, retries=3, backoff=1.0, transport=None,
                 max_connections=None, get_transport=None, session=None, ssl_context=None):
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
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        # Threads may share a client (the inventory plugin does): one of them logs in at a time.
        self.session = session or Session()
        self.calls = 0
        self.get_transport = get_transport
        self._arguments = dict(api_url=api_url, user=user, password=password, token_id=token_id,
                               token_secret=token_secret, otp=otp, validate_certs=validate_certs, ca_path=ca_path,
                               backoff=backoff, transport=transport)
        # The TLS trust of validate_certs and ca_path, made once (loading the system's CAs takes tens of
        # milliseconds): the SSLContext httpx would make for them, shared with the clients derive() makes.
        self.ssl_context = ssl_context if ssl_context is not None \
            else httpx.create_ssl_context(verify=self._verify(validate_certs, ca_path))
        # httpx keeps 20 connections alive by default; callers running more calls at once ask for more.
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections) \
            if max_connections else httpx.Limits()
        self.http = httpx.Client(verify=self.ssl_context, timeout=timeout,
                                 transport=transport, limits=limits, headers={"Accept": "application/json"})

    def derive(self, timeout, retries, max_connections=None, get_transport=None):
        """A client for the same API and credentials with another timeout and retries (and transport), sharing
        this one's login (a ticket either of them gets or renews serves both, nothing is copied) and TLS trust."""
        return ProxmoxClient(**self._arguments, timeout=timeout, retries=retries, max_connections=max_connections,
                             get_transport=get_transport, session=self.session, ssl_context=self.ssl_context)

    @property
    def ticket(self):
        return self.session.ticket

    @ticket.setter
    def ticket(self, value):
        self.session.ticket = value

    @property
    def csrf(self):
        return self.session.csrf

    @csrf.setter
    def csrf(self, value):
        self.session.csrf = value

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
        if self.get_transport is not None:
            self.get_transport.close()

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
        self.session.csrf = data.get("CSRFPreventionToken")
        self.session.ticket = data["ticket"]

    def auth_headers(self, method="GET"):
        """The headers that authenticate a call, for every transport: the API token, or the ticket cookie (+ the
        CSRF token on writes) of the session's login, made now when there is none yet."""
        if self.token:
            return {"Authorization": self.token}
        session = self.session
        if session.ticket is None:
            with session.lock:
                if session.ticket is None:
                    self.login()
        headers = {"Cookie": f"PVEAuthCookie={session.ticket}"}
        if method in WRITE_METHODS:
            headers["CSRFPreventionToken"] = session.csrf or ""
        return headers

    def _renew(self, refused):
        """Drop the refused ticket, unless another thread has already replaced it: one new login for all."""
        with self.session.lock:
            if self.session.ticket == refused:
                self.session.ticket = None

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
            # The ticket expired or was revoked: log in again, once (and once for all the threads).
            self._renew(getattr(exc, "ticket", None))
            return self._send(method, path, params=params, data=data)

    def _send(self, method, path, params=None, data=None, authenticated=True):
        path = "/" + path.lstrip("/")
        url = self.base_url + path
        attempt = 0
        started = time.monotonic()
        by_get_transport = method == "GET" and authenticated and self.get_transport is not None
        while True:
            headers = self.auth_headers(method) if authenticated else {}
            try:
                self.calls += 1
                if by_get_transport:
                    status, reason, body = self.get_transport.get(path, form_encode(params), headers)
                else:
                    response = self.http.request(method, url, params=form_encode(params) or None,
                                                 data=form_encode(data) or None, headers=headers)
                    status, reason, body = response.status_code, response.reason_phrase, response.content
            except (httpx.TransportError, *GET_TRANSPORT_ERRORS) as exc:
                # A GET is safe to send again, whichever transport lost it.
                if attempt < self.retries and (by_get_transport or may_resend(exc, method in IDEMPOTENT_METHODS)):
                    attempt += 1
                    self._sleep(attempt)
                    continue
                raise ProxmoxConnectionError(unreachable_message(
                    method, path, self.base_url, exc, attempt + 1, started, self.timeout, self.retries, "node",
                    API_PREFIX)) from exc
            if status < 400:
                return reply_data(method, path, status, body)
            error = reply_error(method, path, status, reason, body)
            if authenticated:
                # The ticket this call was refused with (another thread may have renewed it since).
                error.ticket = headers.get("Cookie", "").removeprefix("PVEAuthCookie=") or None
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

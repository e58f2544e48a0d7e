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
import re
import threading
from collections import namedtuple
from typing import Any

from ansible_collections.proxgate.core.plugins.module_utils.common import http_client
from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import (
    MAY_HAVE_ACTED,
    REFUSED,
    HttpClient,
    httpx,
)

# Whether httpx is installed: the inventory plugin reads it here before it makes a client.
HAS_HTTPX = http_client.HAS_HTTPX
API_PREFIX = "/api2/json"
WRITE_METHODS = ("POST", "PUT", "DELETE")
# pveproxy's 595: it could not connect to the node the request is for, which so never saw it: any method goes
# again. Its 596 (the proxied request failed while it was sent or its answer's headers read) and a reverse
# proxy's 502/503/504 may come after the node acted: only a repeatable request goes again (issue #17).
NOT_REACHED_STATUSES = (595,)
MAY_HAVE_ACTED_STATUSES = (502, 503, 504, 596)
RETRY_STATUSES = NOT_REACHED_STATUSES + MAY_HAVE_ACTED_STATUSES
# 500s whose message says another task holds the guest or the cluster is busy: nothing was done yet.
TRANSIENT_MESSAGES = ("can't lock file", "VM is locked", "CT is locked", "no quorum",
                      "unable to open file '/etc/pve", "cfs-lock")
# A timeout inside the node (a QMP or agent command): the call may have run, so only idempotent ones go again.
TIMEOUT_MESSAGE = "got timeout"


class ProxmoxError(Exception):
    """Anything the client could not do; the text is meant for a user."""

    # True when the request may have been carried out and was not sent again (its text says what to check).
    outcome_unknown = False


class ProxmoxApiError(ProxmoxError):
    """The API answered with an error status."""

    def __init__(self, method: str, path: str, status: int, message: str | None,
                 errors: dict[str, str] | None = None) -> None:
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
    def missing(self) -> bool:
        """True when the error says the object does not exist."""
        text = self.message.lower()
        return self.status == 404 or "does not exist" in text or "no such" in text

    @property
    def already_made(self) -> bool:
        """True when a create was refused because the object exists: pve-access-control's die texts ("pool 'x'
        already exists", HTTP 500) and pve-firewall's parameter errors ({name: "IPSet 'x' already exists"}, 400)."""
        texts = [self.message, *self.errors.values()]
        return self.status in (400, 500) and any("already exists" in text.lower() for text in texts)


class ProxmoxConnectionError(ProxmoxError):
    """The API could not be reached (after the retries)."""


class ProxmoxAuthError(ProxmoxApiError):
    """Login refused, or a ticket or token not accepted."""


def form_encode(data: dict[str, Any] | None) -> dict[str, str | list[str]]:
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
# A GET transport's answer, read as an httpx.Response is.
RawReply = namedtuple("RawReply", "status_code reason_phrase content")
GUEST_PATH = re.compile(r"^/nodes/([^/]+)/(?:qemu|lxc)/(\d+)(?:/|$)")
NODE_PATH = re.compile(r"^/nodes/([^/]+)(?:/|$)")


class ProxmoxClient(HttpClient):
    """Talks to /api2/json with a login ticket (+ CSRF token) or an API token.

    The send loop and its resend rule are common/http_client.py HttpClient's: connect errors, pveproxy's 595
    and lock or quorum contention are retried for every method; proxy errors (502/503/504/596) and a lost reply
    only for GET, PUT, DELETE and the login, never for a POST the node may have carried out (its error says what
    to check). Exponential backoff, at most ``retries`` times; re-logs in once when a ticket is refused.

    ``get_transport`` (optional) carries the GETs instead of httpx: an object whose
    ``get(path, query, headers)`` returns ``(status, reason, body)`` for a path below the API root and raises
    OSError or http.client.HTTPException when no answer came (the inventory plugin's per-guest calls use the
    standard library's http.client, plugin_utils/proxmox_get.py). Auth headers, the renewal of a refused ticket,
    retries and errors are this client's, whichever transport carries the call.
    """

    error_class = ProxmoxError
    connection_error_class = ProxmoxConnectionError
    api_root = API_PREFIX
    url_means = "an http(s) URL such as https://pve.example.com:8006"
    credentials_options = "api_user and api_password, or api_token_id and api_token_secret"
    server = "node"
    login_path = "/access/ticket"

    def __init__(self, api_url, user=None, password=None, token_id=None, token_secret=None, otp=None,
                 validate_certs=True, ca_path=None, timeout=30, retries=3, backoff=1.0, transport=None,
                 max_connections=None, get_transport=None, session=None, ssl_context=None):
        self.require_httpx()
        self.start(api_url, timeout, retries, backoff)
        self.user = user
        self.password = password
        self.otp = otp
        self.token = self._token_header(user, token_id, token_secret)
        if self.token is None and not (user and password):
            raise ProxmoxError("give api_user and api_password, or api_token_id and api_token_secret")
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        # Threads may share a client (the inventory plugin does): one of them logs in at a time.
        self.session = session or Session()
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
        self.http = self.open_http(self.ssl_context, transport, limits=limits)

    def derive(self, timeout: float | None, retries: int, max_connections: int | None = None,
               get_transport: Any = None) -> ProxmoxClient:
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

    @property
    def auth_mode(self):
        return "token" if self.token else "ticket"

    def close(self):
        self.http.close()
        if self.get_transport is not None:
            self.get_transport.close()

    # ------------------------------------------------------------------ auth

    def login(self) -> None:
        """POST /access/ticket: keep the ticket and CSRF token for the calls that follow."""
        if self.token:
            return
        form = {"username": self.user, "password": self.password, "otp": self.otp}
        data = self.send("POST", self.login_path, data=form_encode(form), authenticated=False)
        if not isinstance(data, dict) or "ticket" not in data:
            raise ProxmoxAuthError("POST", "/access/ticket", 200, "the reply has no ticket")
        if data.get("NeedTFA"):
            raise ProxmoxAuthError("POST", "/access/ticket", 401,
                                   "the account needs a second factor; log in with an API token instead")
        self.session.csrf = data.get("CSRFPreventionToken")
        self.session.ticket = data["ticket"]

    def auth_headers(self, method: str = "GET") -> dict[str, str]:
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

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, **data: Any) -> Any:
        return self.request("POST", path, data=data)

    def put(self, path: str, **data: Any) -> Any:
        return self.request("PUT", path, data=data)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, params=params)

    def request(self, method: str, path: str, params: dict[str, Any] | None = None,
                data: dict[str, Any] | None = None) -> Any:
        """The `data` of the reply; raises ProxmoxApiError, ProxmoxConnectionError."""
        path = "/" + path.lstrip("/")
        content: dict[str, Any] = dict(params=form_encode(params) or None, data=form_encode(data) or None)
        try:
            return self.send(method, path, **content)
        except ProxmoxAuthError as exc:
            if self.token or exc.path == self.login_path or exc.status != 401:
                raise
            # The ticket expired or was revoked: log in again, once (and once for all the threads).
            self._renew(getattr(exc, "ticket", None))
            return self.send(method, path, **content)

    # ------------------------------------------------- HttpClient's hooks

    def headers(self, method):
        return self.auth_headers(method)

    def transport_errors(self):
        return (httpx.TransportError, *GET_TRANSPORT_ERRORS)

    def transmit(self, method, path, headers, content):
        # The GET transport carries the authenticated GETs (the login has no auth headers).
        if method == "GET" and headers and self.get_transport is not None:
            return RawReply(*self.get_transport.get(path, content["params"] or {}, headers))
        return super().transmit(method, path, headers, content)

    def read_reply(self, method, path, reply):
        return reply_data(method, path, reply.status_code, reply.content)

    def read_error(self, method, path, reply, headers):
        error = reply_error(method, path, reply.status_code, reply.reason_phrase, reply.content)
        # The ticket this call was refused with (another thread may have renewed it since).
        error.ticket = headers.get("Cookie", "").removeprefix("PVEAuthCookie=") or None
        return error

    def verdict(self, method, error):
        if isinstance(error, ProxmoxAuthError):
            return None
        if error.status in NOT_REACHED_STATUSES:
            return REFUSED
        if error.status in MAY_HAVE_ACTED_STATUSES:
            return MAY_HAVE_ACTED
        if error.status != 500:
            return None
        # "can't lock file ... - got timeout" refused the call before it ran: safe to send again, even a POST.
        if any(text in error.message for text in TRANSIENT_MESSAGES):
            return REFUSED
        # A timeout inside the node (a QMP or agent command): the call may have run.
        return MAY_HAVE_ACTED if TIMEOUT_MESSAGE in error.message else None

    def outcome_check(self, method, path, content):
        """Where to look for what a POST did: the new guest's VMID, the guest's or the node's task list."""
        data = dict(content.get("data") or {})
        guest, node = GUEST_PATH.match(path), NODE_PATH.match(path)
        vmid = data.get("vmid")
        if node and vmid and path.rstrip("/").endswith(("/qemu", "/lxc")):
            return (f"Check whether VMID {vmid} now exists (GET /cluster/resources?type=vm, or qm list / pct list "
                    "on the node) before you run the task again")
        if node and path.rstrip("/").endswith("/vzdump"):
            return (f"Check node {node.group(1)}'s task list for a vzdump task this request started (GET "
                    f"/nodes/{node.group(1)}/tasks?typefilter=vzdump) before you run the task again: it would "
                    "make another backup")
        if guest:
            return (f"Check guest {guest.group(2)}'s task list for a task this request started (GET "
                    f"/nodes/{guest.group(1)}/tasks?vmid={guest.group(2)}), and the guest, before you run the "
                    "task again")
        if node:
            return (f"Check node {node.group(1)}'s task list (GET /nodes/{node.group(1)}/tasks) and what the "
                    "request writes before you run the task again")
        return "Check whether what the request writes is there before you run the task again"


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


# The only way a value enters a path: api_path("nodes", node, "qemu", vmid) -> /nodes/pve1/qemu/101, each value
# quoted as one segment (UPIDs, volume ids, snapshot names); ProxmoxError for '', '.', '..'.
api_base_url = ProxmoxClient.api_base_url
quote_segment = ProxmoxClient.quote_segment
api_path = ProxmoxClient.path_of

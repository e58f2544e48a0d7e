# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP client for the Apache Guacamole REST API (1.5 and 1.6), used by every Guacamole module.

It knows nothing of Ansible: modules feed it their options and turn its exceptions into ``fail_json``.

Paths: a path that starts with ``/`` is relative to the API root (``https://host/guacamole/api``), such as
``/tokens``; any other path is relative to the data source's root (``/session/data/<dataSource>/``), such as
``connections/5/parameters``. Build paths from names with ``path_of()``, which quotes each segment.

The auth token travels only in the ``Guacamole-Token`` header, never in a URL, and never appears in an
error message. ``close()`` (or leaving the ``with`` block) deletes it on the server.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import (
    IDEMPOTENT_METHODS,
    MAY_HAVE_ACTED,
    NOT_JSON,
    JsonHttpClient,
    parsed_body,
)
from ansible_collections.proxgate.core.plugins.module_utils.common.parallel import each_at_once

TOKEN_HEADER = "Guacamole-Token"
TOKENS_PATH = "/tokens"
# 501 says the call is not supported (a data source without atomic PATCH): sending it again cannot help.
RETRY_STATUSES = (500, 502, 503, 504)
VERSIONS = ("1.5", "1.6")
OBJECT_PERMISSIONS = ("READ", "UPDATE", "DELETE", "ADMINISTER")
SYSTEM_PERMISSIONS_15 = ("ADMINISTER", "CREATE_CONNECTION", "CREATE_CONNECTION_GROUP", "CREATE_SHARING_PROFILE",
                         "CREATE_USER", "CREATE_USER_GROUP")
SYSTEM_PERMISSIONS_16 = SYSTEM_PERMISSIONS_15 + ("AUDIT",)
TOTP_FIELD = "guac-totp"


class GuacamoleError(Exception):
    """Anything the client could not do; the text is meant for a user."""

    # True when the request may have been carried out and was not sent again (its text says what to check).
    outcome_unknown = False


class GuacamoleApiError(GuacamoleError):
    """The API answered with an error status; ``type`` is Guacamole's error type (``PERMISSION_DENIED``...)."""

    def __init__(self, method, path, status, type=None, message=None, expected=None, patches=None):
        self.method = method
        self.path = path
        self.status = status
        self.type = type or ""
        self.message = (message or "").strip()
        self.expected = expected
        self.patches = patches
        # the token the refused request carried (read_error sets it; request() renews it after a PERMISSION_DENIED)
        self.token: str | None = None
        kind = f" {self.type}" if self.type else ""
        text = f"{method} {path} failed: HTTP {status}{kind}"
        if self.message:
            text += f": {self.message}"
        failed = failed_patch_texts(patches)
        if failed:
            text += f" ({'; '.join(failed)})"
        super().__init__(text)

    @property
    def already_made(self) -> bool:
        """True for the server's refusal of a second object of a name ('The connection "x" already exists.',
        'Group "x" already exists.'...): a run in parallel may have made it a moment ago."""
        return self.status == 400 and self.message.endswith("already exists.")

    @property
    def missing(self) -> bool:
        """True when the object does not exist (or the caller may not see it, which Guacamole says the same way)."""
        return self.status == 404 or self.type == "NOT_FOUND"

    @property
    def permission_denied(self) -> bool:
        return self.type == "PERMISSION_DENIED"


class GuacamoleAuthError(GuacamoleApiError):
    """The login was refused (bad credentials, a second factor missing or wrong, an unknown data source)."""


class GuacamoleConnectionError(GuacamoleError):
    """The API could not be reached (after the retries)."""


def failed_patch_texts(patches):
    """The failing operations of a 1.6 directory PATCH error, as 'op path: message' texts."""
    texts = []
    for patch in patches or []:
        if isinstance(patch, dict) and patch.get("error"):
            error = patch["error"]
            if isinstance(error, dict):
                error = (error.get("variables") or {}).get("MESSAGE") or error.get("key")
            texts.append(f"{patch.get('op')} {patch.get('path')}: {error}")
    return texts


class GuacamoleClient(JsonHttpClient):
    """Talks to the Guacamole REST API with a token from POST /api/tokens.

    The send loop is common/http_client.py HttpClient's: connect errors are retried for every method; a
    connection lost after the request was sent, and the 5xx answers 500, 502, 503 and 504, are retried for GET,
    HEAD, PUT, DELETE, PATCH and the login, never for a POST that creates an object (it may have been created).
    With exponential backoff, at most ``retries`` times. A call refused with PERMISSION_DENIED because its token
    has died (the session timeout, a restart of the web app) logs in again and goes once more.
    """

    error_class = GuacamoleError
    connection_error_class = GuacamoleConnectionError
    api_root = "/api"
    url_means = "the http(s) URL of the Guacamole web app, such as https://gateway.example.com/guacamole"
    credentials_options = "api_username and api_password"
    login_path = TOKENS_PATH
    # Guacamole's PATCHes add or remove permissions and members: sent twice, they end as sent once.
    repeatable_methods = IDEMPOTENT_METHODS + ("PATCH",)

    def __init__(self, url, username, password, data_source=None, totp=None, version=None, validate_certs=True,
                 ca_path=None, timeout=30, retries=3, backoff=1.0, transport=None):
        self.require_httpx()
        if not username or password is None:
            raise GuacamoleError("api_username and api_password are required")
        if version not in (None, "auto") + VERSIONS:
            raise GuacamoleError(f"api_version must be one of auto, {', '.join(VERSIONS)}, got {version!r}")
        self.start(url, timeout, retries, backoff)
        self.username = username
        self._password = password
        self._totp = totp
        self.wanted_data_source = data_source or None
        self._token = None
        self._renew_lock = threading.Lock()
        self.data_source = None
        self.available_data_sources = []
        self._version = None if version in (None, "auto") else version
        self.http = self.open_http(self._verify(validate_certs, ca_path), transport)

    # ------------------------------------------------------------------ auth

    @property
    def logged_in(self):
        return self._token is not None

    def login(self):
        """POST /api/tokens: keep the token and pick the data source (the option, else the one the reply names)."""
        form = {"username": self.username, "password": self._password}
        if self._totp:
            form[TOTP_FIELD] = self._totp
        try:
            reply = self.send("POST", TOKENS_PATH, data=form, authenticated=False)
        except GuacamoleApiError as exc:
            raise self._login_error(exc) from exc
        if not isinstance(reply, dict) or not reply.get("authToken"):
            raise GuacamoleAuthError("POST", TOKENS_PATH, 200, "", "the reply has no authToken")
        self._token = reply["authToken"]
        self.available_data_sources = list(reply.get("availableDataSources") or [])
        wanted = self.wanted_data_source
        if wanted is not None and self.available_data_sources and wanted not in self.available_data_sources:
            self.logout()
            raise GuacamoleAuthError(
                "POST", TOKENS_PATH, 200, "",
                f"data_source {wanted!r} is not one of the data sources of user {self.username!r}: "
                f"{', '.join(self.available_data_sources)}")
        self.data_source = wanted or reply.get("dataSource")
        if not self.data_source:
            self.logout()
            raise GuacamoleAuthError("POST", TOKENS_PATH, 200, "", "the reply names no data source; set data_source")

    def _login_error(self, exc):
        if exc.type == "INVALID_CREDENTIALS":
            message = f"invalid login: the server refused username {self.username!r} with this password"
        elif exc.type == "INSUFFICIENT_CREDENTIALS" and any(
                isinstance(field, dict) and field.get("name") == TOTP_FIELD for field in exc.expected or []):
            message = ("the account needs a TOTP code: give the current one in api_totp"
                       if not self._totp else f"the TOTP code was not accepted: {exc.message}")
        elif exc.type == "INSUFFICIENT_CREDENTIALS":
            fields = ", ".join(str(field.get("name")) for field in exc.expected or [] if isinstance(field, dict))
            message = f"{exc.message} (the server asks for: {fields})" if fields else exc.message
        elif exc.status == 400 and self._totp and "TOTP" in exc.message.upper():
            message = f"the TOTP code was not accepted: {exc.message}"
        elif exc.status == 404:
            return GuacamoleApiError(exc.method, exc.path, exc.status, exc.type,
                                     f"{exc.message} ({self._no_api_hint()})")
        else:
            return exc
        return GuacamoleAuthError(exc.method, exc.path, exc.status, exc.type, message, exc.expected)

    def _no_api_hint(self):
        """What a 404 on the login usually means: api_url lacks the web app's path."""
        tried = self.base_url + TOKENS_PATH
        web_app = self.base_url[:-len("/api")]
        if not urlsplit(web_app).path:
            return (f"no Guacamole API at {tried}: api_url usually ends with the web app's path, such as "
                    f"{web_app}/guacamole")
        return (f"no Guacamole API at {tried}: is the web app's path in api_url right? It usually ends with "
                "/guacamole")

    def logout(self):
        """DELETE /api/tokens/<token>. Returns None, or the text of the error when the token could not be
        deleted (the caller decides whether that is worth a warning); never raises for an API error."""
        token, self._token = self._token, None
        if token is None:
            return None
        try:
            self.send("DELETE", f"{TOKENS_PATH}/{quote_segment(token)}", authenticated=False,
                      shown_path=f"{TOKENS_PATH}/<token>")
        except GuacamoleError as exc:
            return str(exc)
        return None

    def close(self):
        """Log out (when logged in) and close the connections. Returns logout()'s result."""
        try:
            return self.logout()
        finally:
            self.http.close()

    # --------------------------------------------------------------- version

    @property
    def version(self):
        """'1.5' or '1.6': given, or detected from GET self (1.6 returns a top-level `disabled` on users)."""
        if self._version is None:
            me = self.get("self")
            self._version = "1.6" if isinstance(me, dict) and "disabled" in me else "1.5"
        return self._version

    @property
    def is_16(self):
        return self.version == "1.6"

    @property
    def system_permissions(self):
        return SYSTEM_PERMISSIONS_16 if self.is_16 else SYSTEM_PERMISSIONS_15

    def is_disabled(self, obj):
        """Whether a user or user group object (as GET returns it) is disabled, in either version's form."""
        if self.is_16:
            return bool(obj.get("disabled"))
        return (obj.get("attributes") or {}).get("disabled") == "true"

    def set_disabled(self, body, disabled):
        """body (a user or user group to PUT/POST) with `disabled` in the form the server reads.

        1.6 reads a top-level boolean and re-enables an account when it is left out of a PUT; 1.5 reads the
        `disabled` attribute ("true" or "")."""
        body = dict(body)
        attributes = dict(body.get("attributes") or {})
        if self.is_16:
            attributes.pop("disabled", None)
            body["disabled"] = bool(disabled)
        else:
            body.pop("disabled", None)
            attributes["disabled"] = "true" if disabled else ""
        body["attributes"] = attributes
        return body

    # --------------------------------------------------------------- calls

    def each(self, function, items, workers=1):
        """[function(item) for item in items], with up to `workers` calls in flight at once on this client's
        connection pool (common.parallel.each_at_once): after the first error no call that has not started is
        made, and that error is raised once the calls in flight have ended."""
        items = list(items)
        if workers > 1 and len(items) > 1 and self._token is None:
            self.login()  # once, not once per thread
        return each_at_once(function, items, workers)

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        """The parsed JSON reply (None for 204); raises GuacamoleApiError, GuacamoleConnectionError."""
        if self._token is None:
            self.login()
        content = dict(params=encode_query(params), json=json)
        try:
            return self.send(method.upper(), self.full_path(path), **content)
        except GuacamoleApiError as exc:
            if not exc.permission_denied or not self._renewed(exc.token):
                raise
        # The token had expired (api-session-timeout) or died with a restart of the web app: the call was refused,
        # so it goes again, once, with the new token.
        return self.send(method.upper(), self.full_path(path), **content)

    def _renewed(self, refused):
        """After a PERMISSION_DENIED: whether the token it was refused with is dead and a new one is held now.
        Every user may read their own account (GET self), so a token that can is alive and the refusal was for a
        missing permission (it costs that one GET); a token that cannot is replaced by a new login."""
        with self._renew_lock:
            if refused is None or self._token != refused:
                return refused is not None  # another thread has already logged in again
            try:
                self.send("GET", self.full_path("self"))
                return False
            except GuacamoleApiError as exc:
                if not exc.permission_denied:
                    return False
            self._token = None  # dead: nothing to log out
            self.login()
            return True

    def full_path(self, path: str) -> str:
        """The path relative to the API root: '/x' stays, 'x' goes under /session/data/<dataSource>/."""
        path = str(path or "")
        if path.startswith("/"):
            return path
        if self.data_source is None:
            raise GuacamoleError(f"{path!r} is relative to the data source, which is known only after login()")
        return f"/session/data/{quote_segment(self.data_source)}/{path}".rstrip("/")

    # ------------------------------------------------- HttpClient's hooks

    def headers(self, method):
        return {TOKEN_HEADER: self._token}

    def verdict(self, method, error):
        return MAY_HAVE_ACTED if error.status in RETRY_STATUSES else None

    def read_reply(self, method, path, reply):
        body = parsed_body(reply)
        if body is NOT_JSON:
            raise GuacamoleApiError(method, path, reply.status_code, "", f"the reply is not JSON: {reply.text[:200]!r}")
        return body

    def read_error(self, method, path, reply, headers):
        body = parsed_body(reply)
        if isinstance(body, dict) and ("message" in body or "type" in body):
            error = GuacamoleApiError(method, path, reply.status_code, body.get("type"),
                                      body.get("message") or reply.reason_phrase, body.get("expected"),
                                      body.get("patches"))
            error.token = headers.get(TOKEN_HEADER)
            return error
        text = reply.reason_phrase
        if reply.text and "json" not in reply.headers.get("Content-Type", ""):
            text = f"{text}: {' '.join(reply.text.split())[:200]}"
        return GuacamoleApiError(method, path, reply.status_code, "", text)


def encode_query(params):
    """Query parameters as strings, lists as repeated keys, None left out; None when there are none."""
    encoded = []
    for key, value in (params or {}).items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is None:
                continue
            encoded.append((key, str(item).lower() if isinstance(item, bool) else str(item)))
    return encoded or None


# The only way a value enters a path (usernames and group names may hold '/', '@', spaces): one segment each;
# GuacamoleError for '', '.' and '..', which a URL client would resolve.
api_base_url = GuacamoleClient.api_base_url
quote_segment = GuacamoleClient.quote_segment


def path_of(*segments):
    """A data-source-relative path from unquoted segments: path_of('users', 'a b') -> 'users/a%20b'."""
    return GuacamoleClient.path_of(*segments)[1:]

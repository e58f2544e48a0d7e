# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP core of the Proxmox, Guacamole and rustguac clients: HttpClient, the send loop with the one resend
rule, the API root of an api_url, and the only way a value enters a path (path_segment). Besides: TLS trust,
which connect failures are worth another try, backoff, and the message for a request that could not reach the
server, with a hint at the likely cause (an untrusted certificate, http:// to an HTTPS port, a server that does
not answer in time)."""

from __future__ import annotations

import random
import ssl
import time
import traceback
from collections.abc import Iterable
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

HTTPX_IMPORT_ERROR: str | None
try:
    import httpx
except ImportError:  # the clients report the missing library themselves, with this traceback
    httpx = None  # type: ignore[assignment]  # HAS_HTTPX is False: nothing reads it
    HAS_HTTPX = False
    HTTPX_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_HTTPX = True
    HTTPX_IMPORT_ERROR = None


# Sending one of these twice leaves the server as sending it once; a POST creates (or toggles) something.
IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE")
# What an error reply says about the work, for the resend rule (HttpClient.verdict):
REFUSED = "refused"  # the server did nothing (a busy lock, no route to the node): any request may go again
MAY_HAVE_ACTED = "may have acted"  # a proxy's 502/504, a lost answer: only a repeatable request goes again


def path_segment(value: object, error: type[Exception] = ValueError) -> str:
    """value as exactly one URL path segment: every character but letters, digits and '-', '_', '.', '~' is
    percent-encoded ('/' as %2F, '?' as %3F, '#' as %23, '%' as %25), so a value can neither add segments nor
    end the path. An empty value, '.' and '..' are refused with `error`: a URL client resolves the dot
    segments, and an empty one would name the collection above the object."""
    text = "" if value is None else str(value)
    if text in ("", ".", ".."):
        raise error(f"{text!r} cannot be a segment of an API path (an empty value, '.' and '..' are refused)")
    return quote(text, safe="")


def join_segments(segments: Iterable[object], error: type[Exception] = ValueError) -> str:
    """'/a/b/c' from the segments, each quoted by path_segment: the only way the clients build a path from
    values; literal parts ("nodes", "status") go through it too, unchanged."""
    return "/" + "/".join(path_segment(segment, error) for segment in segments)


def http_url_parts(url: str) -> SplitResult | None:
    """urlsplit() of an http(s)://host[:port][/path] URL; None for anything else: another scheme, no host name,
    a port that is not a number or is 0, a bad IPv6 literal."""
    try:
        parts = urlsplit(url)
        port = parts.port  # reading it raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or port == 0:
        return None
    return parts


def tls_verify(validate_certs: bool, ca_path: str | None, error_class: type[Exception]) -> bool | ssl.SSLContext:
    """httpx's `verify` for the options: False, True (the system's CAs) or a context trusting ca_path."""
    if not validate_certs:
        return False
    if ca_path:
        try:
            return ssl.create_default_context(cafile=ca_path)
        except (OSError, ssl.SSLError) as exc:
            raise error_class(f"ca_path {ca_path!r} could not be loaded as a CA bundle: {exc}") from exc
    return True


def ssl_cause(exc: BaseException | None) -> ssl.SSLError | None:
    """The ssl.SSLError behind an httpx error, if any: httpx raises from httpcore's error, which wraps it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ssl.SSLError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def resend_after_connect_failure(exc: BaseException) -> bool | None:
    """For a failure while connecting, whether sending again can help; None when exc is not one.

    A connect failure never reached the server. A TLS handshake the server refused (untrusted certificate,
    not TLS at all) fails the same way every time; one cut short by a closed connection is worth another try.
    """
    if not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return None
    tls_error = ssl_cause(exc)
    if tls_error is not None and not isinstance(tls_error, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return False
    return "CERTIFICATE" not in str(exc).upper()


def may_resend(exc: BaseException, repeatable: bool) -> bool:
    """Whether a request that failed with the transport error exc may be sent again: a connect failure as
    resend_after_connect_failure says; a reply lost after the request went out only when the request is
    `repeatable` (the server may have carried it out)."""
    resend = resend_after_connect_failure(exc)
    return repeatable if resend is None else resend


def backoff_sleep(backoff: float, attempt: int) -> None:
    """Sleep before retry number `attempt` (1, 2, ...): backoff, 2 x backoff, 4 x backoff... plus jitter."""
    delay = backoff * (2 ** (attempt - 1))
    time.sleep(delay + random.uniform(0, delay / 4))


def tls_hint(exc: BaseException, server: str = "server") -> str:
    """A hint to add to a connection error whose cause is an untrusted certificate."""
    if "CERTIFICATE_VERIFY_FAILED" in str(exc) or isinstance(ssl_cause(exc), ssl.SSLCertVerificationError):
        return (" (the TLS certificate is not trusted: give its CA in ca_path, or set validate_certs: false "
                f"for a lab {server} you trust)")
    return ""


def plain_http_hint(exc: BaseException, base_url: str, api_root: str = "") -> str:
    """A hint for an http:// address whose server hung up without an HTTP reply, as an HTTPS port does when it
    reads a plain HTTP request instead of a TLS handshake. base_url without api_root is the address to try."""
    parts = urlsplit(base_url)
    if parts.scheme.lower() != "http" or not isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return ""
    path = parts.path[:-len(api_root)] if api_root and parts.path.endswith(api_root) else parts.path
    suggested = urlunsplit(("https", parts.netloc, path, "", ""))
    return (" (the server closed the connection without an HTTP reply: is it an HTTPS port? "
            f"try api_url: {suggested})")


def attempts_note(exc: BaseException, method: str, tries: int, elapsed: float, timeout: float | None,
                  retries: int) -> str:
    """How the request was tried, for its last failure: the attempts and the time they took; for a timeout also
    the seconds each attempt waited and the options that set both."""
    attempts = "1 attempt" if tries == 1 else f"{tries} attempts"
    if not isinstance(exc, httpx.TimeoutException) or timeout is None:
        return f" ({attempts} in {elapsed:.1f}s)" if tries > 1 else ""
    each = "timed out" if tries == 1 else "each timed out"
    note = (f" ({attempts}, {each} after {timeout:g}s, {elapsed:.1f}s in all: api_timeout sets the seconds an "
            "attempt waits, api_retries how many times a request is sent again")
    if tries == 1 and retries > 0:
        note += f"; a {method} that may have reached the server is not sent again"
    return note + ")"


def unreachable_message(method: str, path: str, base_url: str, exc: BaseException, tries: int, started: float,
                        timeout: float | None, retries: int, server: str = "server", api_root: str = "",
                        outcome: str = "") -> str:
    """The text of a request that failed with the transport error exc on the last of `tries` attempts, the first
    begun at time.monotonic() `started`: the request, the address, the error, what it likely means, then the
    `outcome` note of a request the server may have carried out."""
    return (f"{method} {path} failed: cannot reach {base_url}: {type(exc).__name__}: {exc}"
            + tls_hint(exc, server) + plain_http_hint(exc, base_url, api_root)
            + attempts_note(exc, method, tries, time.monotonic() - started, timeout, retries) + outcome)


NOT_JSON = object()  # parsed_body's answer for a body that is not JSON


def parsed_body(reply: Any) -> Any:
    """An httpx reply's body parsed as JSON; None for an empty one (204, no content), NOT_JSON when it is not."""
    if reply.status_code == 204 or not reply.content:
        return None
    try:
        return reply.json()
    except ValueError:
        return NOT_JSON


def add_note(error: Any, note: str) -> Any:
    """error (an API error) with note appended to its text, marked as a request whose outcome is unknown."""
    error.args = (f"{error}{note}",)
    error.outcome_unknown = True
    return error


class HttpClient:
    """What the three API clients share: the send loop with its resend rule, the API root of an api_url and
    the quoting of path segments. A subclass sets the class attributes below; its __init__ calls
    require_httpx(), start() and sets `http` (open_http()); it overrides
    the hooks for what differs: headers (auth), read_reply and read_error (the API's replies and exception),
    verdict (which error replies are worth another try) and outcome_check (what to look at when a request may
    have been carried out).

    The resend rule, at most `retries` times with exponential backoff:
    - a connect failure (the request never reached the server) goes again, whatever the method;
    - a reply lost after the request went out, or an error reply the verdict calls MAY_HAVE_ACTED (a proxy's
      502/504 after the server acted), goes again only when the request is repeatable (GET, HEAD, PUT, DELETE,
      the login); otherwise the error says the server may have carried it out and what to check;
    - an error reply the verdict calls REFUSED (the server did nothing: a lock held by another task) goes again;
    - a DELETE sent again that finds the object gone succeeds (the first one deleted it; only its reply was lost).
    """

    error_class: type[Exception] = Exception  # the API's base exception: a bad api_url or path segment
    connection_error_class: type[Exception] = Exception  # the request could not reach the server (after retries)
    api_root = ""  # the path of the API under the server's address, such as /api2/json
    url_means = "an http(s) URL"  # "api_url must be <this>, got ..."
    credentials_options = "the credential options"  # where credentials go instead of the URL
    server = "server"  # what the messages call the server
    login_path: str | None = None  # the login, which may be sent again whatever its method
    repeatable_methods: tuple[str, ...] = IDEMPOTENT_METHODS

    # set by start() and the subclass's __init__
    http: httpx.Client
    base_url: str
    timeout: float | None
    retries: int
    backoff: float
    calls: int

    @classmethod
    def require_httpx(cls) -> None:
        """The API's error when httpx is missing (the module reports it with missing_required_lib)."""
        if not HAS_HTTPX:
            raise cls.error_class("the httpx Python library is required")

    def start(self, url: str, timeout: float | None, retries: int, backoff: float) -> None:
        """Set what the send loop reads: the API root of url, the timeout, retries (0 or more) and backoff."""
        self.base_url = self.api_base_url(url)
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.calls = 0

    @classmethod
    def _verify(cls, validate_certs: bool, ca_path: str | None) -> bool | ssl.SSLContext:
        """httpx's `verify` for validate_certs and ca_path (tls_verify), with the API's error."""
        return tls_verify(validate_certs, ca_path, cls.error_class)

    def open_http(self, verify: bool | ssl.SSLContext, transport: Any = None, headers: dict[str, str] | None = None,
                  **options: Any) -> httpx.Client:
        """The httpx.Client the requests go through: JSON accepted, the timeout, TLS trust `verify`."""
        return httpx.Client(verify=verify, timeout=self.timeout, transport=transport,
                            headers={"Accept": "application/json", **(headers or {})}, **options)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        self.http.close()

    # ---------------------------------------------------------------- URL and paths

    @classmethod
    def api_base_url(cls, url: str | None) -> str:
        """The API root for a server address: the URL, stripped, without a trailing slash, ending in api_root."""
        given = url
        url = (url or "").strip().rstrip("/")
        parts = http_url_parts(url)
        if parts is None:
            raise cls.error_class(f"api_url must be {cls.url_means}, got {given!r}")
        if parts.query or parts.fragment or parts.username or parts.password:
            # The text is not repeated: it may hold a password.
            raise cls.error_class("api_url must not have a query string, fragment or credentials; give the "
                                  f"credentials in {cls.credentials_options}")
        return url if url.endswith(cls.api_root) else url + cls.api_root

    @classmethod
    def quote_segment(cls, value: object) -> str:
        """value as one path segment (path_segment); the API's error for '', '.' and '..'."""
        return path_segment(value, cls.error_class)

    @classmethod
    def path_of(cls, *segments: object) -> str:
        """'/a/b/c' from the segments, each quoted as one: the only way a value enters a path."""
        return join_segments(segments, cls.error_class)

    # ---------------------------------------------------------------- hooks

    def headers(self, method: str) -> dict[str, str]:
        """The headers that authenticate a request (those the httpx client does not carry already)."""
        return {}

    def transport_errors(self) -> tuple[type[Exception], ...]:
        """What transmit() raises when no answer came."""
        return (httpx.TransportError,)

    def transmit(self, method: str, path: str, headers: dict[str, str], content: dict[str, Any]) -> Any:
        """Send one request; the reply has status_code, reason_phrase, content (an httpx.Response does)."""
        return self.http.request(method, self.base_url + path, headers=headers, **content)

    def read_reply(self, method: str, path: str, reply: Any) -> Any:
        """What a successful reply gives the caller."""
        raise NotImplementedError

    def read_error(self, method: str, path: str, reply: Any, headers: dict[str, str]) -> Any:
        """The API's exception for an error reply; it has `status` and `missing`."""
        raise NotImplementedError

    def verdict(self, method: str, error: Any) -> str | None:
        """REFUSED, MAY_HAVE_ACTED, or None for an error that sending again would only repeat."""
        return None

    def repeatable(self, method: str, path: str) -> bool:
        """Whether a request the server may have carried out can be sent again."""
        return method in self.repeatable_methods or (self.login_path is not None and path == self.login_path)

    def outcome_check(self, method: str, path: str, content: dict[str, Any]) -> str:
        """What the user is to check (or do) when the request may have been carried out."""
        return "Run the task again: it reads what is there and finishes the work"

    def outcome_note(self, method: str, path: str, content: dict[str, Any], what: str) -> str:
        """The note for a request that may have been carried out and was not sent again; `what` came back."""
        return (f" - the request went out and {what}, so the {self.server} may have carried it out; it was not "
                f"sent again, which could have made it twice. {self.outcome_check(method, path, content)}")

    # ---------------------------------------------------------------- the send loop

    def send(self, method: str, path: str, shown_path: str | None = None, authenticated: bool = True,
             **content: Any) -> Any:
        """One request to path (below the API root) and its reply as read_reply reads it, with the resend rule.
        content: httpx.Client.request's params, data, json. shown_path stands for path in messages (a path that
        holds a secret). Raises the API's error, or connection_error_class when no answer came."""
        shown_path = shown_path or path
        repeatable = self.repeatable(method, path)
        attempt = 0
        started = time.monotonic()
        while True:
            headers = self.headers(method) if authenticated else {}
            try:
                self.calls += 1
                reply = self.transmit(method, path, headers, content)
            except self.transport_errors() as exc:
                if attempt < self.retries and may_resend(exc, repeatable):
                    attempt += 1
                    backoff_sleep(self.backoff, attempt)
                    continue
                lost = not repeatable and resend_after_connect_failure(exc) is None
                error: Any = self.connection_error_class(unreachable_message(
                    method, shown_path, self.base_url, exc, attempt + 1, started, self.timeout, self.retries,
                    self.server, self.api_root,
                    self.outcome_note(method, shown_path, content, "its reply was lost") if lost else ""))
                error.outcome_unknown = lost
                raise error from exc
            if reply.status_code < 400:
                return self.read_reply(method, shown_path, reply)
            error = self.read_error(method, shown_path, reply, headers)
            if attempt > 0 and method == "DELETE" and error.missing:
                return None  # an earlier attempt deleted it: only its reply was lost
            verdict = self.verdict(method, error)
            if verdict == REFUSED or (verdict == MAY_HAVE_ACTED and repeatable):
                if attempt < self.retries:
                    attempt += 1
                    backoff_sleep(self.backoff, attempt)
                    continue
            elif verdict == MAY_HAVE_ACTED:
                raise add_note(error, self.outcome_note(method, shown_path, content,
                                                        f"the answer was HTTP {error.status}"))
            raise error


class JsonHttpClient(HttpClient):
    """An HttpClient for an API whose bodies are JSON (Guacamole, rustguac): the calls by method, each to the
    subclass's request(method, path, params=None, json=None)."""

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        raise NotImplementedError

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def put(self, path: str, json: Any = None) -> Any:
        return self.request("PUT", path, json=json)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.request("PATCH", path, json=json)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, params=params)

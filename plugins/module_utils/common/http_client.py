# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Proxmox, Guacamole and rustguac clients share about HTTP: TLS trust, which connect failures are
worth another try, backoff, and the message for a request that could not reach the server, with a hint at the
likely cause (an untrusted certificate, http:// to an HTTPS port, a server that does not answer in time)."""

from __future__ import annotations

import random
import ssl
import time
import traceback
from urllib.parse import quote, urlsplit, urlunsplit

try:
    import httpx
except ImportError:  # the clients report the missing library themselves, with this traceback
    httpx = None
    HAS_HTTPX = False
    HTTPX_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_HTTPX = True
    HTTPX_IMPORT_ERROR = None


# Sending one of these twice leaves the server as sending it once; a POST creates (or toggles) something.
IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE")


def path_segment(value, error=ValueError):
    """value as exactly one URL path segment: every character but letters, digits and '-', '_', '.', '~' is
    percent-encoded ('/' as %2F, '?' as %3F, '#' as %23, '%' as %25), so a value can neither add segments nor
    end the path. An empty value, '.' and '..' are refused with `error`: a URL client resolves the dot
    segments, and an empty one would name the collection above the object."""
    text = "" if value is None else str(value)
    if text in ("", ".", ".."):
        raise error(f"{text!r} cannot be a segment of an API path (an empty value, '.' and '..' are refused)")
    return quote(text, safe="")


def join_segments(segments, error=ValueError):
    """'/a/b/c' from the segments, each quoted by path_segment: the only way the clients build a path from
    values; literal parts ("nodes", "status") go through it too, unchanged."""
    return "/" + "/".join(path_segment(segment, error) for segment in segments)


def http_url_parts(url):
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


def tls_verify(validate_certs, ca_path, error_class):
    """httpx's `verify` for the options: False, True (the system's CAs) or a context trusting ca_path."""
    if not validate_certs:
        return False
    if ca_path:
        try:
            return ssl.create_default_context(cafile=ca_path)
        except (OSError, ssl.SSLError) as exc:
            raise error_class(f"ca_path {ca_path!r} could not be loaded as a CA bundle: {exc}") from exc
    return True


def ssl_cause(exc):
    """The ssl.SSLError behind an httpx error, if any: httpx raises from httpcore's error, which wraps it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ssl.SSLError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def resend_after_connect_failure(exc):
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


def may_resend(exc, repeatable):
    """Whether a request that failed with the transport error exc may be sent again: a connect failure as
    resend_after_connect_failure says; a reply lost after the request went out only when the request is
    `repeatable` (the server may have carried it out)."""
    resend = resend_after_connect_failure(exc)
    return repeatable if resend is None else resend


def backoff_sleep(backoff, attempt):
    """Sleep before retry number `attempt` (1, 2, ...): backoff, 2 x backoff, 4 x backoff... plus jitter."""
    delay = backoff * (2 ** (attempt - 1))
    time.sleep(delay + random.uniform(0, delay / 4))


def tls_hint(exc, server="server"):
    """A hint to add to a connection error whose cause is an untrusted certificate."""
    if "CERTIFICATE_VERIFY_FAILED" in str(exc) or isinstance(ssl_cause(exc), ssl.SSLCertVerificationError):
        return (" (the TLS certificate is not trusted: give its CA in ca_path, or set validate_certs: false "
                f"for a lab {server} you trust)")
    return ""


def plain_http_hint(exc, base_url, api_root=""):
    """A hint for an http:// address whose server hung up without an HTTP reply, as an HTTPS port does when it
    reads a plain HTTP request instead of a TLS handshake. base_url without api_root is the address to try."""
    parts = urlsplit(base_url)
    if parts.scheme.lower() != "http" or not isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return ""
    path = parts.path[:-len(api_root)] if api_root and parts.path.endswith(api_root) else parts.path
    suggested = urlunsplit(("https", parts.netloc, path, "", ""))
    return (" (the server closed the connection without an HTTP reply: is it an HTTPS port? "
            f"try api_url: {suggested})")


def attempts_note(exc, method, tries, elapsed, timeout, retries):
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


def unreachable_message(method, path, base_url, exc, tries, started, timeout, retries, server="server",
                        api_root=""):
    """The text of a request that failed with the transport error exc on the last of `tries` attempts, the first
    begun at time.monotonic() `started`: the request, the address, the error, then what it likely means."""
    return (f"{method} {path} failed: cannot reach {base_url}: {type(exc).__name__}: {exc}"
            + tls_hint(exc, server) + plain_http_hint(exc, base_url, api_root)
            + attempts_note(exc, method, tries, time.monotonic() - started, timeout, retries))

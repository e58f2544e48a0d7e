# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A GET-only Proxmox VE client for the inventory plugin's per-guest calls: the standard library's http.client,
one kept-alive connection per worker thread.

Why not ProxmoxClient: at thousands of guests the per-guest calls are bound by the controller's CPU, and a GET
through httpx costs several times the CPU of the same GET through http.client (docs/performance.md). This
client does only what those calls need: the main client's URL, TLS trust and credentials (after its login),
a timeout, `data` unwrapped, and the main client's exceptions with the same texts. No retries (a per-guest
call is never retried), except that a kept-alive connection the server has closed is opened again once (a GET
is safe to send again).

Private to the collection: no promise of a stable interface.
"""

from __future__ import annotations

import http.client
import threading
import urllib.request
from urllib.parse import quote, urlencode, urlsplit

from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import httpx, tls_hint, tls_verify
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxConnectionError,
    ProxmoxError,
    form_encode,
    reply_data,
    reply_error,
)

# Characters left as they are in a request path (as httpx leaves them); anything else is percent-encoded.
PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def environment_proxy(url):
    """True when the environment names a proxy that httpx would consider for this URL's scheme
    (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, read as httpx reads them; NO_PROXY not looked at). This client does not
    speak to proxies, so the caller keeps the httpx client then."""
    proxies = urllib.request.getproxies()
    return bool(proxies.get(urlsplit(url).scheme.lower()) or proxies.get("all"))


def ssl_context(validate_certs, ca_path):
    """The SSLContext httpx makes for the same options (the system's or certifi's CAs, SSL_CERT_FILE and
    SSL_CERT_DIR honoured, or ca_path alone), so both clients trust the same certificates."""
    return httpx.create_ssl_context(verify=tls_verify(validate_certs, ca_path, ProxmoxError))


class GuestGetClient:
    """GET path -> the reply's `data`, thread-safe: each thread keeps its own connection open.

    Raises ProxmoxApiError (ProxmoxAuthError for a 401) when the API answers with an error, and
    ProxmoxConnectionError (raised from the socket's TimeoutError when no answer came in time) when it cannot be
    reached, with the texts ProxmoxClient uses.
    """

    def __init__(self, base_url, auth_header, context=None, timeout=None):
        parts = urlsplit(base_url)
        self.base_url = base_url
        self.timeout = timeout
        self._https = parts.scheme.lower() == "https"
        self._host, self._port = parts.hostname, parts.port
        self._prefix = parts.path.rstrip("/")
        self._context = context
        self._headers = {"Accept": "application/json", **auth_header}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections = []

    @classmethod
    def like(cls, client, timeout, validate_certs=True, ca_path=None):
        """A client for `client`'s API with its credentials: its API token, or the ticket of its login (made now
        if it has not logged in yet)."""
        if client.token:
            header = {"Authorization": client.token}
        else:
            if client.ticket is None:
                client.login()
            header = {"Cookie": f"PVEAuthCookie={client.ticket}"}
        context = ssl_context(validate_certs, ca_path) if urlsplit(client.base_url).scheme.lower() == "https" \
            else None
        return cls(client.base_url, header, context, timeout)

    def close(self):
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()

    def get(self, path, **params):
        path = "/" + path.lstrip("/")
        target = self._prefix + quote(path, safe=PATH_SAFE)
        query = urlencode(form_encode(params), doseq=True)
        if query:
            target += "?" + query
        status, reason, body = self._exchange(path, target)
        if status < 400:
            return reply_data("GET", path, status, body)
        raise reply_error("GET", path, status, reason, body)

    # ------------------------------------------------------------------ transport

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout,
                                                         context=self._context)
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _exchange(self, path, target):
        """(status, reason, body) of one GET; a kept-alive connection found closed is opened again, once."""
        connection = self._connection()
        reused = connection.sock is not None
        try:
            return self._send(connection, target)
        except TimeoutError as exc:
            connection.close()
            raise self._unreachable(path, exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            if not reused:
                raise self._unreachable(path, exc) from exc
        try:
            return self._send(connection, target)
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise self._unreachable(path, exc) from exc

    def _send(self, connection, target):
        connection.request("GET", target, headers=self._headers)
        response = connection.getresponse()
        # Read to the end, so the connection can carry the next call.
        return response.status, response.reason, response.read()

    def _unreachable(self, path, exc):
        return ProxmoxConnectionError(f"GET {path} failed: cannot reach {self.base_url}: {type(exc).__name__}: "
                                      f"{exc}" + tls_hint(exc, "node"))

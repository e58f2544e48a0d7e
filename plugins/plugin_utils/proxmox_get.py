# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The GET transport of the inventory plugin's per-guest calls: the standard library's http.client, one kept-alive
connection per worker thread, behind ProxmoxClient (its ``get_transport``).

Why not httpx for these calls: at thousands of guests they are bound by the controller's CPU, and a GET through
httpx costs several times the CPU of the same GET through http.client (docs/performance.md). This transport only
carries the request: ProxmoxClient adds the auth headers (and renews a refused ticket), unwraps `data`, raises its
errors and decides on retries. A kept-alive connection the server has closed is opened again once (a GET is safe
to send again).

Proxies are honoured as httpx honours them: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (an http:// proxy, with
user:password@ if given), NO_PROXY for the hosts that bypass it; an https URL goes through the proxy with
CONNECT. A proxy this transport cannot speak to (https://, socks5://) makes `for_url` answer None, and httpx
carries the GETs.

Private to the collection: no promise of a stable interface.
"""

from __future__ import annotations

import base64
import http.client
import threading
import urllib.request
from urllib.parse import quote, unquote, urlencode, urlsplit

from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import httpx, tls_verify
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxError

# Characters left as they are in a request path (as httpx leaves them); anything else is percent-encoded.
PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def environment_proxy(url):
    """The proxy URL the environment names for this URL (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, lower case too),
    or None when there is none or NO_PROXY exempts the URL's host."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme.lower()) or proxies.get("all")
    if not proxy:
        return None
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    if urllib.request.proxy_bypass_environment(netloc, proxies) or urllib.request.proxy_bypass_environment(
            host, proxies):
        return None
    return proxy


def ssl_context(validate_certs, ca_path):
    """The SSLContext httpx makes for the same options (the system's or certifi's CAs, SSL_CERT_FILE and
    SSL_CERT_DIR honoured, or ca_path alone), so both transports trust the same certificates."""
    return httpx.create_ssl_context(verify=tls_verify(validate_certs, ca_path, ProxmoxError))


class HttpGetTransport:
    """(status, reason, body) of a GET below the API root, thread-safe: each thread keeps its own connection."""

    def __init__(self, base_url, context=None, timeout=None, proxy=None):
        parts = urlsplit(base_url)
        self.base_url = base_url
        self.timeout = timeout
        self._https = parts.scheme.lower() == "https"
        self._host, self._port = parts.hostname, parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._context = context
        self._origin = ""
        self._proxy_headers = {}
        self._proxy = None
        if proxy:
            found = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            self._proxy = (found.hostname, found.port or 80)
            if found.username is not None:
                credentials = f"{unquote(found.username)}:{unquote(found.password or '')}"
                self._proxy_headers = {"Proxy-Authorization": "Basic "
                                       + base64.b64encode(credentials.encode()).decode("ascii")}
            if not self._https:
                # Plain HTTP through a proxy: the request names the whole URL.
                self._origin = f"http://{self._host}:{self._port}"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections = []

    @classmethod
    def for_url(cls, base_url, timeout, validate_certs=True, ca_path=None, context=None):
        """A transport for this API root with the TLS trust of these options (or `context`, a client's
        ssl_context), or None when the environment names a proxy that http.client cannot speak to (the caller
        leaves the GETs to httpx then)."""
        proxy = environment_proxy(base_url)
        if proxy and urlsplit(proxy if "://" in proxy else "http://" + proxy).scheme.lower() != "http":
            return None
        if urlsplit(base_url).scheme.lower() != "https":
            context = None
        elif context is None:
            context = ssl_context(validate_certs, ca_path)
        return cls(base_url, context, timeout, proxy)

    def close(self):
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()

    def get(self, path, query, headers):
        target = self._origin + self._prefix + quote(path, safe=PATH_SAFE)
        query = urlencode(query, doseq=True) if query else ""
        if query:
            target += "?" + query
        headers = {"Accept": "application/json", **self._proxy_headers, **headers} if self._origin \
            else {"Accept": "application/json", **headers}
        connection = self._connection()
        reused = connection.sock is not None
        try:
            return self._send(connection, target, headers)
        except TimeoutError:
            connection.close()
            raise
        except GET_ERRORS:
            connection.close()
            if not reused:
                raise
        # The server closed the kept-alive connection between two calls: once more on a new one.
        try:
            return self._send(connection, target, headers)
        except GET_ERRORS:
            connection.close()
            raise

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            host, port = self._proxy or (self._host, self._port)
            if self._https:
                connection = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._context)
                if self._proxy:
                    connection.set_tunnel(self._host, self._port, headers=self._proxy_headers)
            else:
                connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @staticmethod
    def _send(connection, target, headers):
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        # Read to the end, so the connection can carry the next call.
        return response.status, response.reason, response.read()


GET_ERRORS = (OSError, http.client.HTTPException)

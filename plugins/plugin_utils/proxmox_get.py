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
import ssl
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import quote, unquote, urlencode, urlsplit

from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import httpx, tls_verify
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import ProxmoxError

# Characters left as they are in a request path (as httpx leaves them); anything else is percent-encoded.
PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def environment_proxy(url: str) -> str | None:
    """The proxy URL the environment names for this URL (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, lower case too),
    or None when there is none or NO_PROXY exempts the URL's host."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme.lower()) or proxies.get("all")
    if not proxy:
        return None
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    # proxy_bypass_environment (what urllib itself reads NO_PROXY with) is undocumented: typeshed leaves it out.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if bypass(netloc, proxies) or bypass(host, proxies):
        return None
    return proxy


def ssl_context(validate_certs: bool, ca_path: str | None) -> ssl.SSLContext:
    """The SSLContext httpx makes for the same options (the system's or certifi's CAs, SSL_CERT_FILE and
    SSL_CERT_DIR honoured, or ca_path alone), so both transports trust the same certificates."""
    return httpx.create_ssl_context(verify=tls_verify(validate_certs, ca_path, ProxmoxError))


class HttpGetTransport:
    """(status, reason, body) of a GET below the API root, thread-safe: each thread keeps its own connection."""

    def __init__(self, base_url: str, context: ssl.SSLContext | None = None, timeout: float | None = None,
                 proxy: str | None = None) -> None:
        parts = urlsplit(base_url)
        self.base_url: str = base_url
        self.timeout: float | None = timeout
        self._https: bool = parts.scheme.lower() == "https"
        # The URLs here (an API root, a proxy) name a host: hostname is only None for a URL without one.
        self._host: str = cast(str, parts.hostname)
        self._port: int = parts.port or (443 if self._https else 80)
        self._prefix: str = parts.path.rstrip("/")
        self._context: ssl.SSLContext | None = context
        self._origin: str = ""
        self._proxy_headers: dict[str, str] = {}
        self._proxy: tuple[str, int] | None = None
        if proxy:
            found = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            self._proxy = (cast(str, found.hostname), found.port or 80)
            if found.username is not None:
                credentials = f"{unquote(found.username)}:{unquote(found.password or '')}"
                self._proxy_headers = {"Proxy-Authorization": "Basic "
                                       + base64.b64encode(credentials.encode()).decode("ascii")}
            if not self._https:
                # Plain HTTP through a proxy: the request names the whole URL.
                self._origin = f"http://{self._host}:{self._port}"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPConnection] = []

    @classmethod
    def for_url(cls, base_url: str, timeout: float | None, validate_certs: bool = True, ca_path: str | None = None,
                context: ssl.SSLContext | None = None) -> HttpGetTransport | None:
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

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()

    def get(self, path: str, query: Mapping[str, Any] | None, headers: Mapping[str, str]) -> tuple[int, str, bytes]:
        target = self._origin + self._prefix + quote(path, safe=PATH_SAFE)
        encoded = urlencode(query, doseq=True) if query else ""
        if encoded:
            target += "?" + encoded
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

    def _connection(self) -> http.client.HTTPConnection:
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
    def _send(connection: http.client.HTTPConnection, target: str, headers: Mapping[str, str]
              ) -> tuple[int, str, bytes]:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        # Read to the end, so the connection can carry the next call.
        return response.status, response.reason, response.read()


GET_ERRORS = (OSError, http.client.HTTPException)

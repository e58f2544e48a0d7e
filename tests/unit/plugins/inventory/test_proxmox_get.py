"""HttpGetTransport, the http.client transport of the inventory plugin's per-guest calls behind ProxmoxClient,
against a real HTTPS server on 127.0.0.1 (HTTP/1.1, kept-alive connections): TLS trust, auth headers from the
client (a refused ticket renewed once for every client sharing the login), errors with PVE's message, timeouts, a
kept-alive connection the server closed, one connection per thread, proxies from the environment."""

from __future__ import annotations

import json
import select
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count

import pytest
from fakepve.certs import make_cert

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxAuthError,
    ProxmoxClient,
    ProxmoxConnectionError,
    ProxmoxError,
)
from ansible_collections.proxgate.core.plugins.plugin_utils.proxmox_get import HttpGetTransport, environment_proxy
from ansible_collections.proxgate.core.plugins.plugin_utils.proxmox_inventory import GuestCalls

TOKEN = "PVEAPIToken=root@pam!ci=5f0c2b4e-8a51-4d3c-9f0e-1c2d3e4f5a6b"
AGENT = "/nodes/pve1/qemu/101/agent/network-get-interfaces"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as pveproxy
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK wait between them

    def setup(self):
        super().setup()
        self.connection_id = next(self.server.connection_ids)

    def log_message(self, *_args):
        pass

    def do_POST(self):  # noqa: N802 - the name http.server calls
        # POST /access/ticket: a new ticket each time.
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.logins += 1
        self.server.seen.append((self.connection_id, "LOGIN", dict(self.headers)))
        self.reply(200, {"data": {"ticket": f"PVE:root@pam:TICKET{self.server.logins}",
                                  "CSRFPreventionToken": f"CSRF{self.server.logins}"}})

    def do_GET(self):  # noqa: N802 - the name http.server calls
        path = self.path.removeprefix("/api2/json")
        self.server.seen.append((self.connection_id, path, dict(self.headers)))
        route = self.server.routes.get(path.split("?")[0], ("ok",))
        getattr(self, f"answer_{route[0]}")(path, *route[1:])

    def reply(self, status, body, reason=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def answer_ok(self, path):
        self.reply(200, {"data": {"path": path}})

    def answer_error(self, _path, status, reason, body):
        self.reply(status, body, reason)

    def answer_raw(self, _path, body):
        self.reply(200, body)

    def answer_slow(self, path):
        self.server.release.wait(10)
        self.answer_ok(path)

    def answer_then_close(self, path):
        # Answers as if the connection stayed open (no "Connection: close"), then closes it, as a server whose
        # keep-alive timeout ran out between two calls.
        self.answer_ok(path)
        self.close_connection = True

    def answer_drop(self, _path):
        self.close_connection = True

    def answer_ticket(self, path, accepted):
        # Only the ticket `accepted` is valid (the others have expired).
        if self.headers.get("Cookie") == f"PVEAuthCookie=PVE:root@pam:TICKET{accepted}":
            self.answer_ok(path)
        else:
            self.reply(401, {"data": None}, "No ticket")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context):
        super().__init__(("127.0.0.1", 0), Handler)
        self.context = context
        self.seen = []
        self.routes = {}
        self.connection_ids = count(1)
        self.release = threading.Event()
        self.logins = 0

    def finish_request(self, request, client_address):
        # The handshake in the connection's own thread: a client that refuses the certificate fails only it.
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)

    def connections(self):
        return len({connection for connection, _path, _headers in self.seen})


@pytest.fixture
def pki(tmp_path):
    (tmp_path / "server").mkdir()
    (tmp_path / "other").mkdir()
    certfile, keyfile, _der = make_cert(str(tmp_path / "server"), "node")
    other_ca = make_cert(str(tmp_path / "other"), "other")[0]
    return {"cert": certfile, "key": keyfile, "other_ca": other_ca}


@pytest.fixture
def node(pki):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["cert"], pki["key"])
    server = Server(context)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    server.url = f"https://127.0.0.1:{server.server_address[1]}"
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def token_main(node, **kwargs):
    return ProxmoxClient(node.url, token_id="root@pam!ci", token_secret=TOKEN.rsplit("=", 1)[1], **kwargs)


def guest_client(main, timeout, validate_certs=True, ca_path=None):
    """As the plugin makes its per-guest client: the main client's login, no retries, http.client for GETs."""
    return main.derive(timeout, 0, get_transport=HttpGetTransport.for_url(main.base_url, timeout, validate_certs,
                                                                          ca_path))


@pytest.fixture
def client(node, pki):
    made = guest_client(token_main(node), timeout=5, ca_path=pki["cert"])
    yield made
    made.close()


# ------------------------------------------------------------------ TLS

def test_a_certificate_from_another_ca_is_refused_with_the_hint(node, pki):
    refused = guest_client(token_main(node), timeout=5, ca_path=pki["other_ca"])
    with pytest.raises(ProxmoxConnectionError) as caught:
        refused.get(AGENT)
    text = str(caught.value)
    assert text.startswith(f"GET {AGENT} failed: cannot reach {node.url}/api2/json: SSLCertVerificationError")
    assert "not trusted" in text and "ca_path" in text and "validate_certs: false" in text
    assert node.seen == [], "no request went over an untrusted connection"
    refused.close()


def test_verification_is_on_by_default_and_off_only_when_asked(node, pki):
    # Without ca_path: the default CAs, which do not hold the node's self-signed certificate.
    default = guest_client(token_main(node), timeout=5)
    with pytest.raises(ProxmoxConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        default.get(AGENT)
    unverified = guest_client(token_main(node, validate_certs=False), timeout=5, validate_certs=False)
    assert unverified.get(AGENT) == {"path": AGENT}
    trusted = guest_client(token_main(node), timeout=5, ca_path=pki["cert"])
    assert trusted.get(AGENT) == {"path": AGENT}
    for made in (default, unverified, trusted):
        made.close()


def test_a_ca_path_that_is_not_a_certificate_names_the_option(node, tmp_path):
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("hello")
    with pytest.raises(ProxmoxError, match="ca_path .* could not be loaded"):
        guest_client(token_main(node), timeout=5, ca_path=str(bad))


# ------------------------------------------------------------------ auth

def test_token_auth_sends_the_token_header_and_no_cookie(node, client):
    client.get(AGENT)
    headers = node.seen[0][2]
    assert headers["Authorization"] == TOKEN
    assert "Cookie" not in headers and "CSRFPreventionToken" not in headers
    assert headers["Accept"] == "application/json"


def test_ticket_auth_sends_the_main_clients_ticket_cookie(node, pki):
    main = ProxmoxClient(node.url, user="root@pam", password="secret", ca_path=pki["cert"])
    main.ticket, main.csrf = "PVE:root@pam:TICKET", "CSRF-TOKEN"  # as after its login
    made = guest_client(main, timeout=5, ca_path=pki["cert"])
    made.get(AGENT)
    headers = node.seen[0][2]
    assert headers["Cookie"] == "PVEAuthCookie=PVE:root@pam:TICKET"
    assert "Authorization" not in headers and "CSRFPreventionToken" not in headers, "a GET needs no CSRF token"
    made.close()


def test_a_401_is_an_auth_error(node, client):
    node.routes[AGENT] = ("error", 401, "No ticket", {"data": None})
    with pytest.raises(ProxmoxAuthError) as caught:
        client.get(AGENT)
    assert caught.value.status == 401 and caught.value.message == "No ticket"


# ------------------------------------------------------------------ replies and errors

def test_data_is_unwrapped_and_the_path_is_below_the_api_root(node, client):
    assert client.get(AGENT) == {"path": AGENT}
    assert client.get("nodes/pve1/qemu/101/config", current=True) == {"path": "/nodes/pve1/qemu/101/config?current=1"}


def test_a_500_carries_pves_message_from_the_body(node, client):
    # The body's message wins over the status line's (a proxy in front, or the test server, says only this).
    node.routes[AGENT] = ("error", 500, "Internal Server Error",
                          {"data": None, "message": "QEMU guest agent is not running\n"})
    with pytest.raises(ProxmoxApiError) as caught:
        client.get(AGENT)
    error = caught.value
    assert (error.method, error.path, error.status) == ("GET", AGENT, 500)
    assert error.message == "QEMU guest agent is not running"
    assert str(error) == f"GET {AGENT} failed: HTTP 500 QEMU guest agent is not running"


def test_an_error_without_a_message_in_the_body_takes_the_status_lines(node, client):
    node.routes[AGENT] = ("error", 500, "VM 101 is not running", {"data": None})
    with pytest.raises(ProxmoxApiError, match="HTTP 500 VM 101 is not running$"):
        client.get(AGENT)
    node.routes[AGENT] = ("error", 400, "Parameter verification failed.",
                          {"data": None, "errors": {"vmid": "value must be at least 100"}})
    with pytest.raises(ProxmoxApiError) as caught:
        client.get(AGENT)
    assert caught.value.errors == {"vmid": "value must be at least 100"}
    assert str(caught.value).endswith("HTTP 400 Parameter verification failed. (vmid: value must be at least 100)")


def test_a_reply_that_is_not_json_is_an_api_error(node, client):
    node.routes[AGENT] = ("raw", b"<html>proxy</html>")
    with pytest.raises(ProxmoxApiError, match="the reply is not JSON: '<html>proxy</html>'"):
        client.get(AGENT)


def test_guest_calls_note_pves_message_as_the_httpx_client_did(node, client):
    node.routes[AGENT] = ("error", 500, "QEMU guest agent is not running",
                          {"data": None, "message": "QEMU guest agent is not running\n"})
    details = GuestCalls(client).fetch([{"vmid": 101, "node": "pve1", "type": "qemu", "status": "running"}])
    assert details["101"]["errors"] == {"interfaces": "HTTP 500 QEMU guest agent is not running"}


# ------------------------------------------------------------------ timeouts and connections

def test_a_timeout_is_reported_as_no_answer_within_call_timeout(node, pki):
    node.routes[AGENT] = ("slow",)
    made = guest_client(token_main(node), timeout=0.3, ca_path=pki["cert"])
    made.get("/first")
    with pytest.raises(ProxmoxConnectionError) as caught:
        made.get(AGENT)  # on a kept-alive connection: a timeout is not taken for a connection the server closed
    assert isinstance(caught.value.__cause__, TimeoutError)
    details = GuestCalls(made, call_timeout=0.3).fetch([{"vmid": 101, "node": "pve1", "type": "qemu",
                                                         "status": "running"}])
    assert details["101"]["errors"] == {"interfaces": "no answer within call_timeout (0.3s)"}
    assert [path for _connection, path, _headers in node.seen] == ["/first", AGENT, AGENT], \
        "a call that timed out is not sent again"
    made.close()


def test_one_kept_alive_connection_carries_a_threads_calls(node, client):
    for vmid in range(101, 111):
        client.get(f"/nodes/pve1/qemu/{vmid}/status/current")
    assert node.connections() == 1


def test_a_kept_alive_connection_the_server_closed_is_opened_again_once(node, client):
    node.routes["/first"] = ("then_close",)
    assert client.get("/first") == {"path": "/first"}
    assert client.get(AGENT) == {"path": AGENT}, "sent again on a new connection"
    assert [(connection, path) for connection, path, _headers in node.seen] == [(1, "/first"), (2, AGENT)]
    # Dropped again on the new connection: one new try only, then the error.
    node.routes[AGENT] = ("drop",)
    with pytest.raises(ProxmoxConnectionError, match=f"GET {AGENT} failed: cannot reach .*RemoteDisconnected"):
        client.get(AGENT)
    assert [path for _connection, path, _headers in node.seen[2:]] == [AGENT, AGENT]


def test_a_fresh_connection_that_drops_the_call_is_not_retried(node, client):
    node.routes[AGENT] = ("drop",)
    with pytest.raises(ProxmoxConnectionError, match="RemoteDisconnected"):
        client.get(AGENT)
    assert len(node.seen) == 1


def test_a_node_that_is_not_listening_cannot_be_reached(node, pki):
    main = token_main(node)
    node.shutdown()
    node.server_close()
    made = guest_client(main, timeout=2, ca_path=pki["cert"])
    with pytest.raises(ProxmoxConnectionError, match=f"cannot reach {node.url}/api2/json: ConnectionRefusedError"):
        made.get(AGENT)


def test_each_worker_thread_keeps_its_own_connection(node, client):
    guests = [{"vmid": vmid, "node": "pve1", "type": "lxc", "status": "running"} for vmid in range(200, 260)]
    # A container's interfaces are a list, as a node sends them (another reply would be asked again).
    node.routes.update({f"/nodes/pve1/lxc/{vmid}/interfaces": ("raw", {"data": []}) for vmid in range(200, 260)})
    details = GuestCalls(client, concurrency=4).fetch(guests)
    assert len(details) == 60 and len(node.seen) == 60
    assert not any(found.get("errors") for found in details.values())
    assert 1 <= node.connections() <= 4
    client.close()
    assert client.get_transport._connections == []


# ------------------------------------------------------------------ proxies

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                   "no_proxy")


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(("env", "proxied"), [
    ({}, False),
    ({"HTTPS_PROXY": "http://proxy:3128"}, True),
    ({"https_proxy": "http://proxy:3128"}, True),
    ({"ALL_PROXY": "http://proxy:3128"}, True),
    ({"HTTP_PROXY": "http://proxy:3128"}, False),  # not for an https URL
    ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "example.com"}, False),
    ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "other.org"}, True),
])
def test_environment_proxy_says_when_httpx_would_use_a_proxy(no_proxy_env, env, proxied):
    for name, value in env.items():
        no_proxy_env.setenv(name, value)
    assert bool(environment_proxy("https://pve.example.com:8006/api2/json")) is proxied


class TunnelProxy(threading.Thread):
    """An HTTP proxy that only speaks CONNECT, as squid does for https: it notes each tunnel and its
    Proxy-Authorization, then copies bytes both ways."""

    def __init__(self):
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://user:p%40ss@127.0.0.1:{self.listener.getsockname()[1]}"
        self.tunnels = []

    def run(self):
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.tunnel, args=(client,), daemon=True).start()

    def tunnel(self, client):
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(4096)
        lines = head.decode().split("\r\n")
        target = lines[0].split()[1]
        auth = next((line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("proxy-authorization")),
                    None)
        self.tunnels.append((lines[0].split()[0], target, auth))
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [client, upstream]
        while True:
            ready, _w, _x = select.select(sockets, [], [], 5)
            if not ready:
                break
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    client.close()
                    upstream.close()
                    return
                (upstream if sock is client else client).sendall(data)

    def stop(self):
        self.listener.close()


def test_the_per_guest_calls_go_through_the_environments_proxy_unless_no_proxy_says(node, pki, no_proxy_env):
    proxy = TunnelProxy()
    proxy.start()
    try:
        no_proxy_env.setenv("HTTPS_PROXY", proxy.url)
        made = guest_client(token_main(node), timeout=5, ca_path=pki["cert"])
        assert made.get(AGENT) == {"path": AGENT}
        port = node.server_address[1]
        # The node's certificate is checked through the tunnel; the proxy's credentials go only to the proxy.
        assert proxy.tunnels == [("CONNECT", f"127.0.0.1:{port}", "Basic dXNlcjpwQHNz")]
        assert "Proxy-Authorization" not in node.seen[0][2]
        made.close()
        no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
        direct = guest_client(token_main(node), timeout=5, ca_path=pki["cert"])
        assert direct.get(AGENT) == {"path": AGENT}
        assert len(proxy.tunnels) == 1, "NO_PROXY: straight to the node"
        direct.close()
    finally:
        proxy.stop()


def test_a_proxy_http_client_cannot_speak_to_leaves_the_gets_to_httpx(node, no_proxy_env):
    no_proxy_env.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    assert HttpGetTransport.for_url(node.url + "/api2/json", 5) is None


# ------------------------------------------------------------------ one login for both clients

def test_a_refused_ticket_is_renewed_once_for_the_main_and_the_per_guest_client(node, pki):
    main = ProxmoxClient(node.url, user="root@pam", password="secret", ca_path=pki["cert"])
    made = guest_client(main, timeout=5, ca_path=pki["cert"])
    node.routes[AGENT] = ("ticket", 1)
    assert made.get(AGENT) == {"path": AGENT}, "the per-guest client logs in through the main client's session"
    assert node.logins == 1 and main.ticket == "PVE:root@pam:TICKET1"
    # The ticket expires: the per-guest calls (threads of a pool) renew it once, and the main client uses the new one.
    node.routes[AGENT] = ("ticket", 2)
    guests = [{"vmid": 101, "node": "pve1", "type": "qemu", "status": "running"}] * 8
    details = GuestCalls(made, concurrency=4).fetch(guests)
    assert all("errors" not in found for found in details.values())
    assert node.logins == 2, "one new login for all the threads"
    assert main.get(AGENT) == {"path": AGENT} and node.logins == 2, "the main client shares the renewed ticket"
    made.close()
    main.close()


def test_a_derived_client_shares_the_login_and_the_tls_trust_but_not_the_timeout(node, pki):
    main = ProxmoxClient(node.url, user="root@pam", password="secret", ca_path=pki["cert"], timeout=30, retries=3)
    made = main.derive(2, 0)
    assert made.session is main.session and made.ssl_context is main.ssl_context
    assert (made.timeout, made.retries) == (2, 0) and (main.timeout, main.retries) == (30, 3)
    main.ticket = "PVE:root@pam:SET-BY-MAIN"
    assert made.auth_headers()["Cookie"] == "PVEAuthCookie=PVE:root@pam:SET-BY-MAIN", "nothing copied, one login"
    made.close()
    main.close()

"""The messages of a request that got no HTTP answer, and of a Guacamole login at a wrong path, in the cases
the integration tests (tests/integration/test_troubleshooting.py) cannot stage against the test servers:
a connection dropped on an https:// address, a POST whose answer timed out, a wrong web-app path.

The server is an httpx.MockTransport scripted with the transport errors httpx raises."""

from __future__ import annotations

import httpx
import pytest

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import (
    GuacamoleApiError,
    GuacamoleClient,
    GuacamoleConnectionError,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxClient,
    ProxmoxConnectionError,
)
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import (
    RustguacClient,
    RustguacConnectionError,
)

HTTPS_HINT = "is it an HTTPS port?"


class Failing:
    """Raises error_class for every request and counts them."""

    def __init__(self, error_class, text):
        self.error_class, self.text = error_class, text
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        raise self.error_class(self.text, request=request)


def proxmox(url, server, retries=3):
    return ProxmoxClient(url, token_id="root@pam!ci", token_secret="uuid-secret", retries=retries, backoff=0,
                         transport=httpx.MockTransport(server))


def guacamole(url, server, retries=3):
    return GuacamoleClient(url, "guacadmin", "s3cret", retries=retries, backoff=0,
                           transport=httpx.MockTransport(server))


def rustguac(url, server, retries=3):
    return RustguacClient(url, "rg-key", retries=retries, backoff=0, transport=httpx.MockTransport(server))


def failure(kind, url, server, retries=3, method="GET"):
    """The text of the failed request, through the client of that API."""
    if kind == "proxmox":
        with pytest.raises(ProxmoxConnectionError) as caught:
            proxmox(url, server, retries).request(method, "/cluster/resources")
    elif kind == "guacamole":
        with pytest.raises(GuacamoleConnectionError) as caught:
            guacamole(url, server, retries).login()
    else:
        with pytest.raises(RustguacConnectionError) as caught:
            rustguac(url, server, retries).request(method, "/addressbook/folders")
    return str(caught.value)


DISCONNECTED = (httpx.RemoteProtocolError, "Server disconnected without sending a response.")


@pytest.mark.parametrize("kind, url, suggested", [
    ("proxmox", "http://pve1.example.com:8006", "https://pve1.example.com:8006"),
    ("proxmox", "http://pve1.example.com:8006/api2/json", "https://pve1.example.com:8006"),
    ("guacamole", "http://gw.example.com:8443/guacamole", "https://gw.example.com:8443/guacamole"),
    ("rustguac", "http://gw.example.com:8089", "https://gw.example.com:8089"),
])
def test_http_to_a_port_that_hangs_up_suggests_the_https_address(kind, url, suggested):
    text = failure(kind, url, Failing(*DISCONNECTED), retries=0)
    assert text.endswith(f"(the server closed the connection without an HTTP reply: {HTTPS_HINT} "
                         f"try api_url: {suggested})")


@pytest.mark.parametrize("kind", ["proxmox", "guacamole", "rustguac"])
def test_a_dropped_connection_on_https_does_not_blame_the_scheme(kind):
    text = failure(kind, "https://gw.example.com:8443/guacamole", Failing(*DISCONNECTED), retries=0)
    assert "Server disconnected" in text and HTTPS_HINT not in text


def test_a_connection_refused_names_the_attempts_it_took():
    server = Failing(httpx.ConnectError, "[Errno 111] Connection refused")
    text = failure("proxmox", "https://pve1.example.com:8006", server, retries=2)
    assert len(server.requests) == 3
    assert text.startswith("GET /cluster/resources failed: cannot reach https://pve1.example.com:8006/api2/json: "
                           "ConnectError: [Errno 111] Connection refused (3 attempts in ")


@pytest.mark.parametrize("kind", ["proxmox", "rustguac"])
def test_a_post_whose_answer_timed_out_is_sent_once_and_says_why(kind):
    server = Failing(httpx.ReadTimeout, "timed out")
    text = failure(kind, "https://gw.example.com:8089", server, retries=3, method="POST")
    assert len(server.requests) == 1, "the server may have carried it out"
    assert "ReadTimeout: timed out (1 attempt, timed out after 30s, " in text
    assert ("api_timeout sets the seconds an attempt waits, api_retries how many times a request is "
            "sent again; a POST that may have reached the server is not sent again) - the request went out and "
            "its reply was lost, so the ") in text
    # Issue #17 finding 1: then what to check before running the task again.
    assert text.endswith({"proxmox": "Check whether what the request writes is there before you run the task again",
                          "rustguac": "Run the task again: it reads what is there and finishes the work"}[kind])


def test_a_read_that_timed_out_is_sent_again_and_counted():
    server = Failing(httpx.ReadTimeout, "timed out")
    text = failure("proxmox", "https://pve1.example.com:8006", server, retries=3)
    assert len(server.requests) == 4
    assert "(4 attempts, each timed out after 30s, " in text and "not sent again" not in text


def not_found(request):
    return httpx.Response(404, text="<html><body><h1>HTTP Status 404 – Not Found</h1></body></html>",
                          headers={"Content-Type": "text/html"})


@pytest.mark.parametrize("url, hint", [
    # Tomcat's own 404 page, for an address without the web app's path.
    ("https://gw.example.com:8443", "no Guacamole API at https://gw.example.com:8443/api/tokens: api_url usually "
                                    "ends with the web app's path, such as https://gw.example.com:8443/guacamole"),
    ("https://gw.example.com/guac", "no Guacamole API at https://gw.example.com/guac/api/tokens: is the web app's "
                                    "path in api_url right? It usually ends with /guacamole"),
])
def test_a_login_not_found_says_the_address_tried_and_the_usual_path(url, hint):
    requests = []

    def server(request):
        requests.append(request)
        return not_found(request)

    with pytest.raises(GuacamoleApiError) as caught:
        guacamole(url, server).login()
    assert caught.value.status == 404
    assert str(caught.value).startswith("POST /tokens failed: HTTP 404: Not Found: ")
    assert str(caught.value).endswith(f"({hint})")
    assert len(requests) == 1, "a 404 is not sent again"

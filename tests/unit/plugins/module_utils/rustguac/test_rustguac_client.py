"""RustguacClient: the key in a header (never the URL), errors with method/path/status/message, retries
bounded and only where sending again is harmless, TLS verification on by default.

The server is an httpx.MockTransport scripted per test.
"""

from __future__ import annotations

import httpx
import pytest

from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import (
    RustguacApiError,
    RustguacClient,
    RustguacConnectionError,
    RustguacError,
    api_base_url,
    path_of,
)

KEY = "rg-secret-key-0123456789"


class Scripted:
    def __init__(self, *replies):
        self.replies = list(replies)
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def client(self, **kwargs):
        kwargs.setdefault("backoff", 0)
        return RustguacClient("https://rg.example.com:8089", KEY, transport=httpx.MockTransport(self), **kwargs)


def test_bearer_header_by_default_and_key_never_in_url():
    server = Scripted(httpx.Response(200, json=[{"scope": "shared", "name": "a"}]))
    assert server.client().get("/addressbook/folders") == [{"scope": "shared", "name": "a"}]
    request = server.requests[0]
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert "X-API-Key" not in request.headers
    assert KEY not in str(request.url)
    assert str(request.url) == "https://rg.example.com:8089/api/addressbook/folders"


def test_x_api_key_header_style():
    server = Scripted(httpx.Response(200, json={}))
    server.client(header_style="x-api-key").get("/me")
    assert server.requests[0].headers["X-API-Key"] == KEY
    assert "Authorization" not in server.requests[0].headers


def test_json_error_names_method_path_status_and_message_not_the_key():
    server = Scripted(httpx.Response(403, json={"error": "admin role required"}))
    with pytest.raises(RustguacApiError) as caught:
        server.client().post("/admin/group-mappings", {"oidc_group": "x", "role": "admin"})
    assert str(caught.value) == "POST /admin/group-mappings failed: HTTP 403: admin role required"
    assert caught.value.forbidden and KEY not in str(caught.value)


def test_non_json_error_keeps_the_text():
    server = Scripted(httpx.Response(502, text="<html>Bad gateway from nginx</html>",
                                     headers={"Content-Type": "text/html"}))
    with pytest.raises(RustguacApiError, match="HTTP 502: Bad Gateway: <html>Bad gateway from nginx</html>"):
        server.client(retries=0).get("/sessions")


def test_5xx_retried_for_get_and_put_then_success():
    server = Scripted(httpx.Response(503, json={"error": "vault sealed"}), httpx.Response(500, text=""),
                      httpx.Response(200, json={"ok": True}))
    assert server.client(retries=2).put("/x", {}) == {"ok": True}
    assert len(server.requests) == 3


def test_retries_are_bounded():
    server = Scripted(*[httpx.Response(503, json={"error": "busy"})] * 3)
    with pytest.raises(RustguacApiError, match="HTTP 503: busy"):
        server.client(retries=2).get("/sessions")
    assert len(server.requests) == 3


def test_post_never_sent_again_after_5xx_or_lost_reply():
    server = Scripted(httpx.Response(503, json={"error": "busy"}))
    with pytest.raises(RustguacApiError):
        server.client(retries=3).post("/me/tokens", {"name": "ci"})
    assert len(server.requests) == 1
    lost = Scripted(httpx.ReadError("connection reset"))
    with pytest.raises(RustguacConnectionError, match="POST /me/tokens failed: cannot reach"):
        lost.client(retries=3).post("/me/tokens", {"name": "ci"})
    assert len(lost.requests) == 1


def test_lost_reply_resent_for_idempotent_methods_and_connect_failures_for_all():
    lost = Scripted(httpx.ReadError("reset"), httpx.Response(204))
    assert lost.client().delete("/admin/group-mappings/3") is None
    assert len(lost.requests) == 2
    refused = Scripted(httpx.ConnectError("refused"), httpx.Response(200, json={"id": 1}))
    assert refused.client().post("/admin/group-mappings", {}) == {"id": 1}


def test_4xx_not_retried():
    server = Scripted(httpx.Response(409, json={"error": "mapping exists"}))
    with pytest.raises(RustguacApiError) as caught:
        server.client().post("/admin/group-mappings", {})
    assert caught.value.conflict and len(server.requests) == 1


def test_health_needs_no_json():
    server = Scripted(httpx.Response(200, text="OK", headers={"Content-Type": "text/plain"}))
    assert server.client().health() is True


@pytest.mark.parametrize("url, expected", [
    ("https://rg.example.com:8089", "https://rg.example.com:8089/api"),
    ("https://rg.example.com/api/", "https://rg.example.com/api"),
    ("http://127.0.0.1:1234/", "http://127.0.0.1:1234/api"),
])
def test_api_base_url(url, expected):
    assert api_base_url(url) == expected


@pytest.mark.parametrize("url", ["", "rg.example.com", "ftp://x", "https://h/?key=abc", "https://u:p@h/"])
def test_bad_url_names_the_option(url):
    with pytest.raises(RustguacError, match="api_url"):
        api_base_url(url)


def test_bad_options_name_the_option():
    with pytest.raises(RustguacError, match="api_key is required"):
        RustguacClient("https://h", "")
    with pytest.raises(RustguacError, match="api_key_header"):
        RustguacClient("https://h", KEY, header_style="basic")
    with pytest.raises(RustguacError, match="api_retries"):
        RustguacClient("https://h", KEY, retries=-1)
    with pytest.raises(RustguacError, match="ca_path '/nonexistent.pem' could not be loaded"):
        RustguacClient("https://h", KEY, ca_path="/nonexistent.pem")


def test_tls_verification_is_on_by_default():
    client = RustguacClient("https://h", KEY)
    # httpx keeps the SSL context on its transport's pool: verify_mode CERT_REQUIRED means verification on.
    import ssl
    assert client.http._transport._pool._ssl_context.verify_mode == ssl.CERT_REQUIRED
    client.close()


def test_path_of_quotes_segments():
    assert path_of("users", "a b@example.com", "role") == "/users/a%20b%40example.com/role"
    assert path_of("addressbook", "folders", "shared", "a/b") == "/addressbook/folders/shared/a%2Fb"

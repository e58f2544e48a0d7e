"""GuacamoleClient: login, the token header, data source choice, logout, errors, retries, version detection.

The server is an httpx.MockTransport that answers as the Guacamole web app does (shapes from
/work/shared/api-notes/guacamole.md), so each test scripts exactly the answers and faults it is about.
"""

from __future__ import annotations

import json
import ssl
import time
from urllib.parse import parse_qsl

import httpx
import pytest

from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import (
    GuacamoleApiError,
    GuacamoleAuthError,
    GuacamoleClient,
    GuacamoleConnectionError,
    GuacamoleError,
    api_base_url,
    encode_query,
    path_of,
)

URL = "https://gw.example.com/guacamole"
TOKEN = "A" * 64
DS = "/guacamole/api/session/data/postgresql"


def error_body(status, type_, message, expected=None, patches=None):
    return httpx.Response(status, json={"message": message, "translatableMessage": {"key": "x", "variables": None},
                                        "statusCode": None, "expected": expected, "patches": patches,
                                        "type": type_})


class ScriptedGuacamole:
    """Answers logins with a token, logouts with 204, every other request with the next scripted reply."""

    def __init__(self, *replies, login=None, data_sources=("postgresql", "postgresql-shared")):
        self.replies = list(replies)
        self.login_reply = login
        self.data_sources = list(data_sources)
        self.requests = []
        self.logins = []
        self.logouts = []

    def __call__(self, request):
        self.requests.append(request)
        if request.url.path == "/guacamole/api/tokens":
            self.logins.append(dict(parse_qsl(request.content.decode())))
            if self.login_reply:
                return self.login_reply(request)
            return httpx.Response(200, json={"authToken": TOKEN, "username": "guacadmin",
                                             "dataSource": self.data_sources[0],
                                             "availableDataSources": self.data_sources})
        if request.method == "DELETE" and request.url.path.startswith("/guacamole/api/tokens/"):
            self.logouts.append(request.url.path.rsplit("/", 1)[1])
            return httpx.Response(204)
        assert self.replies, f"unexpected request {request.method} {request.url}"
        reply = self.replies.pop(0)
        return reply(request) if callable(reply) else reply

    @property
    def calls(self):
        return [r for r in self.requests if not r.url.path.startswith("/guacamole/api/tokens")]

    def client(self, **kwargs):
        options = dict(backoff=0)
        options.update(kwargs)
        return GuacamoleClient(URL, "guacadmin", "s3cret", transport=httpx.MockTransport(self), **options)


def ok(body):
    return httpx.Response(200, json=body)


def raise_(error_class, text="boom"):
    def reply(request):
        raise error_class(text, request=request)
    return reply


# ------------------------------------------------------------------ URL and paths

@pytest.mark.parametrize("given, expected", [
    ("https://gw.example.com/guacamole", "https://gw.example.com/guacamole/api"),
    ("https://gw.example.com/guacamole/", "https://gw.example.com/guacamole/api"),
    ("https://gw.example.com/guacamole/api/", "https://gw.example.com/guacamole/api"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api"),
])
def test_api_base_url(given, expected):
    assert api_base_url(given) == expected


@pytest.mark.parametrize("given", ["gw.example.com/guacamole", "ftp://gw/guacamole", "https://", "",
                                   "https://gw:port/x", "https://gw/guacamole?token=x"])
def test_bad_api_url_names_the_option(given):
    with pytest.raises(GuacamoleError, match="api_url"):
        api_base_url(given)


def test_path_of_quotes_each_segment():
    assert path_of("users", "a b/c@d", "permissions") == "users/a%20b%2Fc%40d/permissions"


def test_query_encoding_repeats_lists_and_drops_none():
    assert encode_query({"permission": ["READ", "UPDATE"], "x": None, "flag": True}) == [
        ("permission", "READ"), ("permission", "UPDATE"), ("flag", "true")]
    assert encode_query({}) is None


# ------------------------------------------------------------------ login, token, logout

def test_login_posts_a_form_and_the_token_goes_only_in_the_header():
    server = ScriptedGuacamole(ok({"1": {"name": "web"}}))
    client = server.client()
    assert client.get("connections") == {"1": {"name": "web"}}
    assert server.logins == [{"username": "guacadmin", "password": "s3cret"}]
    login = server.requests[0]
    assert login.headers["Content-Type"] == "application/x-www-form-urlencoded"
    call = server.calls[0]
    assert call.url.path == f"{DS}/connections"
    assert call.headers["Guacamole-Token"] == TOKEN
    assert TOKEN not in str(call.url), "the token never goes in a URL"
    assert client.data_source == "postgresql"
    assert client.available_data_sources == ["postgresql", "postgresql-shared"]


def test_totp_code_goes_in_guac_totp():
    server = ScriptedGuacamole()
    server.client(totp="123456").login()
    assert server.logins == [{"username": "guacadmin", "password": "s3cret", "guac-totp": "123456"}]


def test_data_source_option_wins_over_the_reply():
    server = ScriptedGuacamole(ok({}))
    client = server.client(data_source="postgresql-shared")
    client.get("users")
    assert server.calls[0].url.path == "/guacamole/api/session/data/postgresql-shared/users"


def test_unknown_data_source_fails_listing_the_real_ones_and_logs_out():
    server = ScriptedGuacamole()
    with pytest.raises(GuacamoleAuthError) as caught:
        server.client(data_source="mysql").login()
    assert "data_source 'mysql'" in str(caught.value)
    assert "postgresql, postgresql-shared" in str(caught.value)
    assert server.logouts == [TOKEN], "the token of the refused run is deleted"


def test_logout_deletes_the_token_and_close_is_idempotent():
    server = ScriptedGuacamole(ok({}))
    client = server.client()
    client.get("users")
    assert client.close() is None
    assert server.logouts == [TOKEN]
    assert client.logout() is None
    assert server.logouts == [TOKEN]


def test_logout_failure_is_reported_without_the_token():
    def login(request):
        return httpx.Response(200, json={"authToken": TOKEN, "dataSource": "postgresql",
                                         "availableDataSources": ["postgresql"]})

    def transport(request):
        if request.url.path.endswith("/tokens"):
            return login(request)
        return error_body(404, "NOT_FOUND", "No such token.")

    client = GuacamoleClient(URL, "guacadmin", "s3cret", transport=httpx.MockTransport(transport), backoff=0)
    client.login()
    trouble = client.logout()
    assert trouble == "DELETE /tokens/<token> failed: HTTP 404 NOT_FOUND: No such token."
    assert TOKEN not in trouble


def test_invalid_credentials_say_so_and_are_not_retried():
    expected = [{"name": "username"}, {"name": "password"}]
    server = ScriptedGuacamole(
        login=lambda r: error_body(403, "INVALID_CREDENTIALS", "Invalid login.", expected=expected))
    with pytest.raises(GuacamoleAuthError) as caught:
        server.client(retries=3).get("users")
    assert len(server.logins) == 1
    assert caught.value.status == 403 and caught.value.type == "INVALID_CREDENTIALS"
    assert "invalid login" in str(caught.value) and "'guacadmin'" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_totp_required_names_api_totp():
    server = ScriptedGuacamole(login=lambda r: error_body(
        403, "INSUFFICIENT_CREDENTIALS", "A TOTP authentication code is required",
        expected=[{"name": "guac-totp", "type": "GUAC_TOTP_CODE"}]))
    with pytest.raises(GuacamoleAuthError, match="api_totp"):
        server.client().login()


def test_wrong_totp_code_says_so():
    server = ScriptedGuacamole(login=lambda r: error_body(400, "BAD_REQUEST", "Provided TOTP code is not valid."))
    with pytest.raises(GuacamoleAuthError, match="TOTP code was not accepted"):
        server.client(totp="000000").login()


# ------------------------------------------------------------------ calls and errors

def test_methods_send_json_and_parse_the_reply():
    server = ScriptedGuacamole(ok({"identifier": "7"}), httpx.Response(204), httpx.Response(204),
                               httpx.Response(204))
    client = server.client()
    assert client.post("connections", {"name": "web", "protocol": "ssh"}) == {"identifier": "7"}
    assert client.put("connections/7", {"name": "web"}) is None
    assert client.patch("users/bob/permissions", [{"op": "add", "path": "/systemPermissions",
                                                   "value": "CREATE_USER"}]) is None
    assert client.delete("connections/7") is None
    post, put, patch, delete = server.calls
    assert post.headers["Content-Type"] == "application/json"
    assert json.loads(post.content) == {"name": "web", "protocol": "ssh"}
    assert (put.method, patch.method, delete.method) == ("PUT", "PATCH", "DELETE")
    assert patch.url.path == f"{DS}/users/bob/permissions"


def test_absolute_paths_are_relative_to_the_api_root():
    server = ScriptedGuacamole(ok({"ssh": {}}))
    server.client().get("/session/data/postgresql-shared/schema/protocols")
    assert server.calls[0].url.path == "/guacamole/api/session/data/postgresql-shared/schema/protocols"


def test_guacamole_error_body_is_carried_into_the_message():
    server = ScriptedGuacamole(error_body(403, "PERMISSION_DENIED", "Permission denied."), ok({"username": "x"}))
    with pytest.raises(GuacamoleApiError) as caught:
        server.client(retries=3).post("connections", {"name": "x"})
    error = caught.value
    assert (error.method, error.status, error.type, error.message) == ("POST", 403, "PERMISSION_DENIED",
                                                                       "Permission denied.")
    assert error.path == "/session/data/postgresql/connections"
    assert str(error) == ("POST /session/data/postgresql/connections failed: HTTP 403 PERMISSION_DENIED: "
                          "Permission denied.")
    assert error.permission_denied and not error.missing
    # A 403 is not retried while the token lives: it can read its own account (an expired one could not).
    calls = [(call.method, call.url.path) for call in server.calls]
    assert calls == [("POST", f"{DS}/connections"), ("GET", f"{DS}/self")]


def test_not_found_is_missing():
    server = ScriptedGuacamole(error_body(404, "NOT_FOUND", 'Not found: "9"'))
    with pytest.raises(GuacamoleApiError) as caught:
        server.client().get("connections/9")
    assert caught.value.missing


def test_directory_patch_failures_are_listed():
    patches = [{"op": "add", "path": "/", "identifier": None,
                "error": {"key": "APP.TEXT_UNTRANSLATED", "variables": {"MESSAGE": "Connection names must not be "
                                                                                   "blank."}}}]
    server = ScriptedGuacamole(error_body(400, "BAD_REQUEST", "The provided patches failed to apply.",
                                          patches=patches))
    with pytest.raises(GuacamoleApiError) as caught:
        server.client().patch("connections", [{"op": "add", "path": "/", "value": {}}])
    assert "add /: Connection names must not be blank." in str(caught.value)


def test_non_json_error_from_a_proxy_keeps_its_text():
    server = ScriptedGuacamole(httpx.Response(418, text="<html><title>I am a teapot</title></html>",
                                              headers={"Content-Type": "text/html"}))
    with pytest.raises(GuacamoleApiError) as caught:
        server.client().get("users")
    assert caught.value.status == 418 and "teapot" in str(caught.value)


def test_non_json_success_reply_is_an_error():
    server = ScriptedGuacamole(httpx.Response(200, text="<html>login page</html>"))
    with pytest.raises(GuacamoleApiError, match="not JSON"):
        server.client().get("users")


# ------------------------------------------------------------------ retries

@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_for_reads_and_updates(status):
    server = ScriptedGuacamole(error_body(status, "INTERNAL_ERROR", "Unexpected internal error"), ok({"a": 1}),
                               error_body(status, "INTERNAL_ERROR", "x"), httpx.Response(204))
    client = server.client(retries=2)
    assert client.get("users") == {"a": 1}
    assert client.put("users/a", {"username": "a"}) is None
    assert len(server.calls) == 4


def test_retries_are_bounded():
    server = ScriptedGuacamole(*[error_body(503, "INTERNAL_ERROR", "busy")] * 3)
    with pytest.raises(GuacamoleApiError) as caught:
        server.client(retries=2).get("users")
    assert caught.value.status == 503 and len(server.calls) == 3


def test_501_and_4xx_are_not_retried():
    server = ScriptedGuacamole(error_body(501, "INTERNAL_ERROR", "not supported"))
    with pytest.raises(GuacamoleApiError):
        server.client(retries=3).patch("connections", [])
    assert len(server.calls) == 1


def test_a_creating_post_is_not_repeated_after_a_5xx():
    server = ScriptedGuacamole(error_body(502, "", "Bad Gateway"))
    with pytest.raises(GuacamoleApiError):
        server.client(retries=3).post("connections", {"name": "x"})
    assert len(server.calls) == 1


def test_connect_errors_are_retried_for_any_method():
    server = ScriptedGuacamole(raise_(httpx.ConnectError, "refused"), ok({"identifier": "1"}))
    assert server.client(retries=1).post("connections", {"name": "x"}) == {"identifier": "1"}


def test_a_dropped_connection_is_retried_for_get_not_for_a_creating_post():
    server = ScriptedGuacamole(raise_(httpx.RemoteProtocolError, "Server disconnected"), ok({}),
                               raise_(httpx.RemoteProtocolError, "Server disconnected"))
    client = server.client(retries=2)
    assert client.get("users") == {}
    with pytest.raises(GuacamoleConnectionError) as caught:
        client.post("connections", {"name": "x"})
    assert "POST /session/data/postgresql/connections failed: cannot reach" in str(caught.value)
    assert len(server.calls) == 3


def test_login_is_retried_after_a_5xx():
    answers = [error_body(500, "INTERNAL_ERROR", "db down")]

    def login(request):
        if answers:
            return answers.pop(0)
        return httpx.Response(200, json={"authToken": TOKEN, "dataSource": "postgresql",
                                         "availableDataSources": ["postgresql"]})
    server = ScriptedGuacamole(login=login)
    server.client(retries=1).login()
    assert len(server.logins) == 2


def test_untrusted_certificate_is_not_retried_and_says_what_to_do():
    def reply(request):
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", request=request)
    server = ScriptedGuacamole(login=reply)
    with pytest.raises(GuacamoleConnectionError) as caught:
        server.client(retries=3).login()
    assert len(server.logins) == 1
    assert "ca_path" in str(caught.value) and "validate_certs" in str(caught.value)


def test_bad_ca_path_names_the_option(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(GuacamoleError, match="ca_path"):
        GuacamoleClient(URL, "u", "p", ca_path=str(bad))


def test_validate_certs_false_and_ca_path(tmp_path, monkeypatch):
    seen = {}
    real = ssl.create_default_context

    def fake(cafile=None):
        seen["cafile"] = cafile
        return real()
    monkeypatch.setattr(ssl, "create_default_context", fake)
    GuacamoleClient(URL, "u", "p", ca_path="/etc/ssl/ca.pem")
    assert seen == {"cafile": "/etc/ssl/ca.pem"}
    assert GuacamoleClient._verify(False, "/etc/ssl/ca.pem") is False


# ------------------------------------------------------------------ version and disabled

def test_version_is_detected_from_self_once():
    server = ScriptedGuacamole(ok({"username": "guacadmin", "disabled": False, "attributes": {}}))
    client = server.client()
    assert client.version == "1.6" and client.is_16
    assert client.version == "1.6"
    assert [r.url.path for r in server.calls] == [f"{DS}/self"]
    assert "AUDIT" in client.system_permissions


def test_version_15_has_disabled_as_an_attribute():
    server = ScriptedGuacamole(ok({"username": "guacadmin", "attributes": {"disabled": ""}}))
    client = server.client()
    assert client.version == "1.5"
    assert "AUDIT" not in client.system_permissions
    assert client.is_disabled({"attributes": {"disabled": "true"}}) is True
    assert client.set_disabled({"username": "bob", "disabled": True, "attributes": {"x": "1"}}, True) == {
        "username": "bob", "attributes": {"x": "1", "disabled": "true"}}


def test_given_version_needs_no_call():
    server = ScriptedGuacamole()
    client = server.client(version="1.6")
    assert client.version == "1.6"
    assert server.requests == []
    assert client.set_disabled({"username": "bob", "attributes": {"disabled": "true"}}, False) == {
        "username": "bob", "disabled": False, "attributes": {}}
    assert client.is_disabled({"disabled": True, "attributes": {}}) is True


def test_bad_version_and_missing_credentials_are_refused():
    with pytest.raises(GuacamoleError, match="api_version"):
        GuacamoleClient(URL, "u", "p", version="1.4")
    with pytest.raises(GuacamoleError, match="api_username and api_password"):
        GuacamoleClient(URL, "", "p")


def test_each_keeps_the_order_and_stops_starting_calls_after_a_failure():
    """GuacamoleClient.each runs a function over items a few at a time (the sync module's reads and writes):
    results come back in the items' order, and after the first error no call that has not started is made."""
    client = GuacamoleClient("https://gateway.example.com/guacamole", "automation", "secret")
    client._token = "already-logged-in"  # each() logs in once before starting threads; no server here
    assert client.each(lambda item: item * 2, range(40), workers=4) == [item * 2 for item in range(40)]

    started = []

    def work(item):
        started.append(item)
        if item == 1:
            raise GuacamoleError("refused")
        time.sleep(0.02)
        return item

    with pytest.raises(GuacamoleError, match="refused"):
        client.each(work, range(200), workers=2)
    assert len(started) < 200

"""ProxmoxClient: auth, CSRF, re-login, error text, retries, form encoding and TLS options.

The server is an httpx.MockTransport: these tests are about the client's own request and response
handling (what it sends, how it reads each answer, when it sends again), so each test scripts the
exact answers, faults included, that a real node or a proxy in front of it gives.
"""

from __future__ import annotations

import ssl
from urllib.parse import parse_qsl

import httpcore
import httpx
import pytest

from ansible_collections.proxgate.core.plugins.module_utils.common import http_client as http_module
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxAuthError,
    ProxmoxClient,
    ProxmoxConnectionError,
    ProxmoxError,
    api_base_url,
    form_encode,
)

URL = "https://pve.example.com:8006"
LOGIN = "/api2/json/access/ticket"
VM_CONFIG = "/nodes/pve1/qemu/100/config"


# ------------------------------------------------------------------ a scripted node

def answer(status=200, data=None, message=None, errors=None, reason=None):
    """A reply as pveproxy sends it: the JSON envelope, the error text also in the reason phrase."""
    body = {"data": data}
    if message is not None:
        body["message"] = message + "\n"
    if errors:
        body["errors"] = errors
    extensions = {"reason_phrase": (reason or message or "").encode()} if (reason or message) else {}

    def reply(request):
        return httpx.Response(status, json=body, extensions=extensions)
    return reply


def html_page(status, title):
    """What a reverse proxy in front of the node answers when the node is away."""
    def reply(request):
        return httpx.Response(status, text=f"<html><head><title>{title}</title></head><body>{title}</body></html>",
                              headers={"Content-Type": "text/html"})
    return reply


def transport_error(error_class, text):
    def reply(request):
        raise error_class(text, request=request)
    return reply


class ScriptedNode:
    """Answers logins with a fresh ticket each time, every other request with the next scripted reply."""

    def __init__(self, *replies, login=None):
        self.replies = list(replies)
        self.login_reply = login
        self.requests = []
        self.logins = []

    def __call__(self, request):
        self.requests.append(request)
        if request.url.path == LOGIN:
            self.logins.append(dict(parse_qsl(request.content.decode())))
            if self.login_reply:
                return self.login_reply(request)
            number = len(self.logins)
            return httpx.Response(200, json={"data": {
                "ticket": f"PVE:root@pam:TICKET{number}", "CSRFPreventionToken": f"CSRF{number}",
                "username": "root@pam", "cap": {}}})
        assert self.replies, f"unexpected request {request.method} {request.url}"
        return self.replies.pop(0)(request)

    @property
    def calls(self):
        """The requests other than logins."""
        return [request for request in self.requests if request.url.path != LOGIN]

    def client(self, **kwargs):
        options = dict(user="root@pam", password="s3cret", backoff=0)
        options.update(kwargs)
        return ProxmoxClient(URL, transport=httpx.MockTransport(self), **options)


def token_client(node, **kwargs):
    return node.client(password=None, token_id="root@pam!ci", token_secret="uuid-secret", **kwargs)


def form_of(request):
    return parse_qsl(request.content.decode())


# ------------------------------------------------------------------ ticket auth

def test_ticket_login_sends_the_credentials_as_a_form():
    node = ScriptedNode(answer(data={"version": "9.0.10"}))
    assert node.client().get("/version") == {"version": "9.0.10"}
    assert node.logins == [{"username": "root@pam", "password": "s3cret"}]
    login = node.requests[0]
    assert login.method == "POST"
    assert "Cookie" not in login.headers and "Authorization" not in login.headers


def test_ticket_login_passes_otp_when_given():
    node = ScriptedNode(answer(data=[]))
    node.client(otp="123456").get("/nodes")
    assert node.logins == [{"username": "root@pam", "password": "s3cret", "otp": "123456"}]


def test_ticket_is_a_cookie_and_csrf_goes_only_on_writes():
    node = ScriptedNode(answer(data={}), answer(data="UPID:x"), answer(), answer())
    client = node.client()
    client.get(VM_CONFIG)
    client.post(VM_CONFIG, cores=2)
    client.put(VM_CONFIG, cores=2)
    client.delete("/nodes/pve1/qemu/100")
    get, post, put, delete = node.calls
    for request in (get, post, put, delete):
        assert request.headers["Cookie"] == "PVEAuthCookie=PVE:root@pam:TICKET1"
        assert "Authorization" not in request.headers
    assert "CSRFPreventionToken" not in get.headers
    for request in (post, put, delete):
        assert request.headers["CSRFPreventionToken"] == "CSRF1"
    assert len(node.logins) == 1, "one login serves every call"


def test_login_refused_is_an_auth_error_and_not_repeated():
    node = ScriptedNode(login=answer(401, message="authentication failure"))
    with pytest.raises(ProxmoxAuthError) as caught:
        node.client().get("/version")
    assert len(node.logins) == 1
    assert caught.value.status == 401
    assert "POST /access/ticket" in str(caught.value) and "authentication failure" in str(caught.value)


def test_login_that_needs_a_second_factor_says_to_use_a_token():
    node = ScriptedNode(login=answer(data={"ticket": "PVE:!tfa!x", "NeedTFA": 1, "CSRFPreventionToken": "c"}))
    with pytest.raises(ProxmoxAuthError, match="API token"):
        node.client().get("/version")


def test_expired_ticket_logs_in_again_once_then_succeeds():
    node = ScriptedNode(answer(401, message="No ticket"), answer(data={"cores": 2}))
    assert node.client().get(VM_CONFIG) == {"cores": 2}
    assert len(node.logins) == 2
    first, second = node.calls
    assert first.headers["Cookie"] == "PVEAuthCookie=PVE:root@pam:TICKET1"
    assert second.headers["Cookie"] == "PVEAuthCookie=PVE:root@pam:TICKET2"


def test_write_after_relogin_carries_the_new_csrf_token():
    node = ScriptedNode(answer(401, message="Permission denied - invalid csrf token"), answer())
    node.client().put(VM_CONFIG, cores=2)
    assert [request.headers["CSRFPreventionToken"] for request in node.calls] == ["CSRF1", "CSRF2"]


def test_second_401_after_relogin_is_raised():
    node = ScriptedNode(answer(401, message="No ticket"), answer(401, message="permission denied - invalid PVE ticket"))
    with pytest.raises(ProxmoxAuthError) as caught:
        node.client(retries=3).get(VM_CONFIG)
    assert len(node.logins) == 2
    assert len(node.calls) == 2, "a 401 is never retried beyond the one re-login"
    assert caught.value.status == 401
    assert "invalid PVE ticket" in str(caught.value)


# ------------------------------------------------------------------ token auth

@pytest.mark.parametrize("user, token_id", [
    (None, "root@pam!ci"),
    ("root@pam", "ci"),
    ("someone@pve", "root@pam!ci"),  # a whole token id wins over api_user
])
def test_token_header_for_whole_and_bare_token_ids(user, token_id):
    node = ScriptedNode(answer(data=[]), answer(data=None))
    client = ProxmoxClient(URL, user=user, token_id=token_id, token_secret="uuid-secret",
                           transport=httpx.MockTransport(node), backoff=0)
    client.get("/nodes")
    client.post(VM_CONFIG, cores=1)
    assert node.logins == []
    for request in node.requests:
        assert request.headers["Authorization"] == "PVEAPIToken=root@pam!ci=uuid-secret"
        assert "Cookie" not in request.headers
        assert "CSRFPreventionToken" not in request.headers


def test_bare_token_name_without_user_is_refused():
    with pytest.raises(ProxmoxError, match="api_user"):
        ProxmoxClient(URL, token_id="ci", token_secret="uuid-secret")


@pytest.mark.parametrize("options", [
    {"token_id": "root@pam!ci"},
    {"token_secret": "uuid-secret", "user": "root@pam"},
])
def test_token_id_and_secret_go_together(options):
    with pytest.raises(ProxmoxError, match="api_token_id and api_token_secret"):
        ProxmoxClient(URL, **options)


def test_no_credentials_at_all_is_refused():
    with pytest.raises(ProxmoxError, match="api_password"):
        ProxmoxClient(URL, user="root@pam")


def test_token_401_is_raised_without_relogin():
    node = ScriptedNode(answer(401, message="authentication failure"))
    with pytest.raises(ProxmoxAuthError):
        token_client(node).get("/nodes")
    assert node.logins == []
    assert len(node.calls) == 1


# ------------------------------------------------------------------ error text

def test_error_carries_method_path_status_message_and_parameter_errors():
    node = ScriptedNode(answer(400, message="Parameter verification failed.",
                               errors={"memory": "type check ('integer') failed - got 'lots'",
                                       "foo": "property is not defined in schema and the schema does not "
                                              "allow additional properties"}))
    with pytest.raises(ProxmoxApiError) as caught:
        token_client(node).put(VM_CONFIG, memory="lots", foo="bar")
    error = caught.value
    assert (error.method, error.path, error.status) == ("PUT", VM_CONFIG, 400)
    assert error.message == "Parameter verification failed."
    assert set(error.errors) == {"memory", "foo"}
    text = str(error)
    assert text.startswith(f"PUT {VM_CONFIG} failed: HTTP 400 Parameter verification failed.")
    assert "memory: type check ('integer') failed - got 'lots'" in text
    assert "foo: property is not defined in schema" in text


def test_error_message_from_the_reason_phrase_when_the_body_has_none():
    def reply(request):
        return httpx.Response(500, json={"data": None}, extensions={"reason_phrase": b"VM 100 is not running"})
    node = ScriptedNode(reply)
    with pytest.raises(ProxmoxApiError) as caught:
        token_client(node).get("/nodes/pve1/qemu/100/agent/network-get-interfaces")
    assert caught.value.message == "VM 100 is not running"
    assert "HTTP 500 VM 100 is not running" in str(caught.value)


@pytest.mark.parametrize("status, message, missing", [
    (500, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist", True),
    (404, "Not Found", True),
    (500, "VM is locked (backup)", False),
    (403, "Permission check failed (/vms/100, VM.Audit)", False),
])
def test_missing_tells_a_missing_object_from_other_errors(status, message, missing):
    node = ScriptedNode(answer(status, message=message))
    with pytest.raises(ProxmoxApiError) as caught:
        token_client(node, retries=0).get(VM_CONFIG)
    assert caught.value.missing is missing


def test_html_error_page_from_a_proxy_gives_the_status_not_the_page():
    node = ScriptedNode(html_page(403, "403 Forbidden"))
    with pytest.raises(ProxmoxApiError) as caught:
        token_client(node).get("/nodes")
    assert caught.value.status == 403
    assert str(caught.value) == "GET /nodes failed: HTTP 403 Forbidden"


def test_html_page_with_status_200_is_reported_as_not_json():
    node = ScriptedNode(html_page(200, "Captive portal"))
    with pytest.raises(ProxmoxApiError, match="not JSON.*Captive portal"):
        token_client(node).get("/nodes")


# ------------------------------------------------------------------ retries

def test_proxy_error_503_then_success_is_retried():
    node = ScriptedNode(answer(503, message="Service Unavailable"), answer(data=[{"node": "pve1"}]))
    assert token_client(node).get("/nodes") == [{"node": "pve1"}]
    assert len(node.calls) == 2


def test_html_502_from_a_proxy_is_retried_then_reported():
    node = ScriptedNode(*[html_page(502, "502 Bad Gateway")] * 3)
    with pytest.raises(ProxmoxApiError) as caught:
        token_client(node, retries=2).get("/nodes/pve1/qemu/100/status/current")
    assert len(node.calls) == 3
    assert caught.value.status == 502
    assert "<html>" not in str(caught.value)


@pytest.mark.parametrize("status", [502, 503, 504, 596])
def test_a_proxy_error_to_a_post_is_not_sent_again_and_says_what_to_check(status):
    """Issue #17 finding 1: a 502/503/504 from a reverse proxy or pveproxy's 596 may come after the node acted."""
    node = ScriptedNode(html_page(status, "Bad Gateway"), answer(data="UPID:never-reached"))
    with pytest.raises(ProxmoxApiError) as caught:
        token_client(node, retries=3).post("/nodes/pve1/qemu/100/status/start")
    assert len(node.calls) == 1, "the node may have started the guest: a second POST could start it twice"
    assert caught.value.status == status and caught.value.outcome_unknown
    assert f"the answer was HTTP {status}, so the node may have carried it out; it was not sent again" in str(
        caught.value)
    assert "GET /nodes/pve1/tasks?vmid=100" in str(caught.value)


def test_pveproxy_595_no_route_to_the_node_is_retried_even_for_a_post():
    """595: pveproxy could not connect to the node the request is for, which so never saw it."""
    node = ScriptedNode(answer(595, message="No route to host"), answer(data="UPID:pve2:1:2:3:qmstart:100:root@pam:"))
    assert token_client(node).post("/nodes/pve2/qemu/100/status/start").startswith("UPID:pve2")
    assert len(node.calls) == 2


def test_locked_guest_is_retried_until_the_lock_is_gone():
    node = ScriptedNode(answer(500, message="VM is locked (backup)"), answer(500, message="VM is locked (backup)"),
                        answer(data="UPID:pve1:0001A2B3:00C4D5E6:6740F0A1:qmstart:100:root@pam:"))
    upid = token_client(node).post("/nodes/pve1/qemu/100/status/start")
    assert upid.startswith("UPID:pve1:")
    assert len(node.calls) == 3


@pytest.mark.parametrize("method, status, message", [
    ("DELETE", 500, "VM 100 is running - destroy failed"),
    ("PUT", 400, "Parameter verification failed."),
    ("POST", 403, "Permission check failed (/vms/100, VM.PowerMgmt)"),
    ("GET", 500, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist"),
])
def test_errors_that_would_fail_again_are_not_retried(method, status, message):
    node = ScriptedNode(answer(status, message=message))
    with pytest.raises(ProxmoxApiError) as caught:
        token_client(node, retries=3).request(method, "/nodes/pve1/qemu/100")
    assert len(node.calls) == 1
    assert caught.value.status == status and caught.value.message == message


def test_a_node_side_timeout_is_retried_for_reads_but_not_for_a_post():
    """'got timeout' may come after the command ran (a QMP or agent call): sending a POST again could run it twice."""
    timeout = "VM 101 qmp command 'guest-exec' failed - got timeout"
    node = ScriptedNode(answer(500, message=timeout), answer(data={"result": []}))
    assert token_client(node).get("/nodes/pve1/qemu/101/agent/network-get-interfaces") == {"result": []}
    assert len(node.calls) == 2
    node = ScriptedNode(answer(500, message=timeout))
    with pytest.raises(ProxmoxApiError):
        token_client(node).post("/nodes/pve1/qemu/101/agent/exec", command=["true"])
    assert len(node.calls) == 1


def test_a_config_lock_timeout_is_retried_even_for_a_post():
    """'can't lock file ... got timeout' is the node refusing before it ran anything: safe to send again."""
    node = ScriptedNode(answer(500, message="can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout"),
                        answer(data=None))
    token_client(node).post("/nodes/pve1/qemu/101/config", memory=4096)
    assert len(node.calls) == 2


def test_connect_error_is_retried_even_for_post():
    node = ScriptedNode(transport_error(httpx.ConnectError, "[Errno 111] Connection refused"),
                        answer(data="UPID:pve1:00000001:00000002:00000003:qmstart:100:root@pam:"))
    assert token_client(node).post("/nodes/pve1/qemu/100/status/start").startswith("UPID:")
    assert len(node.calls) == 2


@pytest.mark.parametrize("error_class, text", [
    (httpx.ReadError, "[Errno 104] Connection reset by peer"),
    (httpx.RemoteProtocolError, "Server disconnected without sending a response."),
])
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_lost_reply_is_retried_for_idempotent_methods(method, error_class, text):
    node = ScriptedNode(transport_error(error_class, text), answer(data={"ok": 1}))
    assert token_client(node).request(method, VM_CONFIG) == {"ok": 1}
    assert len(node.calls) == 2


@pytest.mark.parametrize("error_class, text", [
    (httpx.ReadError, "[Errno 104] Connection reset by peer"),
    (httpx.RemoteProtocolError, "Server disconnected without sending a response."),
    (httpx.ReadTimeout, "The read operation timed out"),
])
def test_lost_reply_to_a_post_is_not_sent_again(error_class, text):
    # The node may have started the task already: a second POST could start it twice.
    node = ScriptedNode(transport_error(error_class, text), answer(data="UPID:never-reached"))
    with pytest.raises(ProxmoxConnectionError) as caught:
        token_client(node, retries=3).post("/nodes/pve1/qemu", vmid=100)
    assert len(node.calls) == 1
    assert "POST /nodes/pve1/qemu failed" in str(caught.value)
    assert text in str(caught.value)


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_retries_are_bounded(retries):
    node = ScriptedNode(*[answer(503, message="Service Unavailable")] * 10)
    with pytest.raises(ProxmoxApiError) as caught:
        token_client(node, retries=retries).get("/nodes")
    assert len(node.calls) == 1 + retries
    assert caught.value.status == 503


def test_connect_errors_are_bounded_and_name_the_node():
    node = ScriptedNode(*[transport_error(httpx.ConnectError, "[Errno 111] Connection refused")] * 10)
    with pytest.raises(ProxmoxConnectionError) as caught:
        token_client(node, retries=2).get("/nodes")
    assert len(node.calls) == 3
    assert f"cannot reach {URL}/api2/json" in str(caught.value)


def test_untrusted_certificate_is_not_retried_and_says_what_to_do():
    node = ScriptedNode(transport_error(
        httpx.ConnectError, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"))
    with pytest.raises(ProxmoxConnectionError) as caught:
        token_client(node, retries=3).get("/nodes")
    assert len(node.calls) == 1
    assert "ca_path" in str(caught.value) and "validate_certs" in str(caught.value)


def tls_failure(ssl_error):
    """A failed handshake as httpx raises it: from httpcore's ConnectError, raised while handling the ssl one."""
    def reply(request):
        try:
            raise ssl_error
        except ssl.SSLError:
            try:
                raise httpcore.ConnectError(str(ssl_error))
            except httpcore.ConnectError as inner:
                raise httpx.ConnectError(str(inner), request=request) from inner
    return reply


def test_tls_handshake_with_a_port_that_does_not_speak_tls_is_not_retried():
    node = ScriptedNode(tls_failure(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")),
                        answer(data=[]))
    with pytest.raises(ProxmoxConnectionError, match="WRONG_VERSION_NUMBER"):
        token_client(node, retries=3).get("/nodes")
    assert len(node.calls) == 1


def test_tls_handshake_cut_short_by_the_server_is_retried():
    # pveproxy restarting (a new certificate) closes connections in the middle of the handshake.
    node = ScriptedNode(tls_failure(ssl.SSLEOFError(8, "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred")),
                        answer(data=[{"node": "pve1"}]))
    assert token_client(node, retries=3).get("/nodes") == [{"node": "pve1"}]
    assert len(node.calls) == 2


def test_backoff_grows_exponentially(monkeypatch):
    delays = []
    monkeypatch.setattr(http_module.time, "sleep", delays.append)
    node = ScriptedNode(*[answer(500, message="VM is locked (backup)")] * 4)
    with pytest.raises(ProxmoxApiError):
        token_client(node, retries=3, backoff=1.0).put(VM_CONFIG, cores=2)
    assert len(delays) == 3
    # Each wait is the base doubled per attempt, plus at most a quarter of it as jitter.
    for attempt, delay in enumerate(delays):
        base = 1.0 * 2 ** attempt
        assert base <= delay <= base * 1.25


# ------------------------------------------------------------------ encoding

def test_form_encode_booleans_lists_and_none():
    assert form_encode({"onboot": True, "protection": False, "delete": None, "cores": 2,
                        "command": ["ls", "-l", True]}) == {
        "onboot": "1", "protection": "0", "cores": "2", "command": ["ls", "-l", "1"]}
    assert form_encode(None) == {}


def test_write_sends_a_form_body_and_read_sends_a_query():
    node = ScriptedNode(answer(data={"pid": 1234}), answer(data=[]))
    client = token_client(node)
    client.post("/nodes/pve1/qemu/100/agent/exec", command=["uname", "-a"], **{"input-data": None})
    client.get("/cluster/resources", type="vm", full=True, skip=None)
    post, get = node.calls
    assert post.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_of(post) == [("command", "uname"), ("command", "-a")]
    assert get.content == b""
    assert sorted(get.url.params.multi_items()) == [("full", "1"), ("type", "vm")]


def test_delete_sends_its_parameters_in_the_query():
    node = ScriptedNode(answer(data="UPID:x"))
    token_client(node).delete("/nodes/pve1/qemu/100", purge=True, **{"destroy-unreferenced-disks": True})
    request = node.calls[0]
    assert request.content == b""
    assert dict(request.url.params) == {"purge": "1", "destroy-unreferenced-disks": "1"}


def test_path_segments_are_sent_as_given_under_the_api_root():
    node = ScriptedNode(answer(data={}))
    token_client(node).get("nodes/pve1/qemu/100/config")
    assert str(node.calls[0].url) == f"{URL}/api2/json{VM_CONFIG}"


# ------------------------------------------------------------------ api_url and TLS

@pytest.mark.parametrize("given, expected", [
    ("https://pve.example.com:8006", "https://pve.example.com:8006/api2/json"),
    ("https://pve.example.com:8006/", "https://pve.example.com:8006/api2/json"),
    ("  https://pve.example.com:8006  ", "https://pve.example.com:8006/api2/json"),
    ("https://pve.example.com:8006/api2/json", "https://pve.example.com:8006/api2/json"),
    ("https://pve.example.com:8006/api2/json/", "https://pve.example.com:8006/api2/json"),
    ("https://gateway.example.com/pve", "https://gateway.example.com/pve/api2/json"),
    ("http://10.0.0.1:8006", "http://10.0.0.1:8006/api2/json"),
    ("https://[2001:db8::1]:8006", "https://[2001:db8::1]:8006/api2/json"),
])
def test_api_url_is_normalised_to_the_api_root(given, expected):
    assert api_base_url(given) == expected


@pytest.mark.parametrize("given", ["pve.example.com:8006", "pve.example.com", "ftp://pve.example.com",
                                   "https://", "https://:8006", "https://pve:port", "", None])
def test_api_url_that_is_not_an_http_url_is_refused(given):
    with pytest.raises(ProxmoxError, match="api_url must be an http"):
        ProxmoxClient(given, token_id="root@pam!ci", token_secret="s")


def test_missing_ca_path_names_the_option(tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(ProxmoxError) as caught:
        ProxmoxClient(URL, token_id="root@pam!ci", token_secret="s", ca_path=str(missing))
    assert "ca_path" in str(caught.value) and str(missing) in str(caught.value)


def test_ca_path_that_is_not_a_certificate_names_the_option(tmp_path):
    garbage = tmp_path / "ca.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    with pytest.raises(ProxmoxError, match="ca_path"):
        ProxmoxClient(URL, token_id="root@pam!ci", token_secret="s", ca_path=str(garbage))


def test_ca_path_is_loaded_as_the_trust_store(tmp_path):
    from fakepve.certs import make_cert
    certfile = make_cert(str(tmp_path))[0]
    context = ProxmoxClient._verify(True, certfile)
    # Only that certificate is trusted, not the system store as well.
    assert context.cert_store_stats()["x509"] == 1
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname


def test_validate_certs_false_ignores_ca_path(tmp_path):
    # A lab node without a CA bundle: the ca_path option is not even opened.
    assert ProxmoxClient._verify(False, str(tmp_path / "absent.pem")) is False
    ProxmoxClient(URL, token_id="root@pam!ci", token_secret="s", validate_certs=False,
                  ca_path=str(tmp_path / "absent.pem"))
    assert ProxmoxClient._verify(True, None) is True

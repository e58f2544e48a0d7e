"""The one HTTP core (common/http_client.py HttpClient) and its resend rule, issue #17 finding 1, against the
real test servers: each server carries a request out and then answers what a proxy in front of it answers
(the Proxmox test server's answer_after_next, the rustguac emulator's fail_after) or closes the connection
without an answer (the Guacamole emulator's lose_reply_next). The server-side request logs prove what was
sent: a POST once, a repeatable request again, a DELETE sent again that finds the object gone is success.
"""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.common.http_client import HttpClient
from ansible_collections.proxgate.core.plugins.module_utils.guacamole import client as guacamole_client
from ansible_collections.proxgate.core.plugins.module_utils.guacamole.client import (
    GuacamoleClient,
    GuacamoleConnectionError,
    GuacamoleError,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox import client as proxmox_client
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxClient,
    ProxmoxError,
)
from ansible_collections.proxgate.core.plugins.module_utils.rustguac import client as rustguac_client
from ansible_collections.proxgate.core.plugins.module_utils.rustguac.client import (
    RustguacApiError,
    RustguacClient,
    RustguacError,
)
from tests.emulators.guacamole import GuacamoleEmulator
from tests.emulators.pve import ServedPve, demo_guests, load_guests, write_requests
from tests.emulators.rustguac import RustguacEmulator

TOKEN_ID = "root@pam!ci"
TOKEN_SECRET = "5f0c2b4e-8a51-4d3c-9f0e-1c2d3e4f5a6b"
RUSTGUAC_KEY = "rg-core-admin-key-0123456789"
MAPPINGS = "/admin/group-mappings"


@pytest.fixture
def pve(tmp_path):
    served = ServedPve(tmp_path / "pki")
    served.pve.add_node("pve2")
    served.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    load_guests(served.pve, demo_guests())
    yield served
    served.stop()


def proxmox(pve):
    return ProxmoxClient(pve.url, token_id=TOKEN_ID, token_secret=TOKEN_SECRET, ca_path=pve.certfile, backoff=0)


def pve_writes(pve):
    return [(method, path.removeprefix("/api2/json")) for method, path in write_requests(pve.pve)]


@pytest.fixture
def rustguac():
    server = RustguacEmulator(admin_key=RUSTGUAC_KEY).start()
    yield server
    server.stop()


def rustguac_writes(emu):
    return [(method, path.removeprefix("/api")) for method, path, _status in emu.writes()]


@pytest.fixture
def guacamole():
    server = GuacamoleEmulator(version="1.6.0").start()
    yield server
    server.stop()


# ------------------------------------------------------------------ one core, one way into a path

@pytest.mark.parametrize("client_class, module, error", [
    (ProxmoxClient, proxmox_client, ProxmoxError),
    (GuacamoleClient, guacamole_client, GuacamoleError),
    (RustguacClient, rustguac_client, RustguacError),
])
def test_the_three_clients_are_the_one_core(client_class, module, error):
    assert issubclass(client_class, HttpClient)
    assert module.quote_segment("a/b?c#d%") == "a%2Fb%3Fc%23d%25"
    for value in ("", ".", ".."):
        with pytest.raises(error, match="cannot be a segment of an API path"):
            module.quote_segment(value)
    assert module.api_base_url("https://h.example.com:8443/").startswith("https://h.example.com:8443/api")


@pytest.mark.parametrize("module, error", [
    (proxmox_client, ProxmoxError), (guacamole_client, GuacamoleError), (rustguac_client, RustguacError)])
@pytest.mark.parametrize("url", ["https://h.example.com/?next=/x", "https://h.example.com/#top",
                                 "https://admin:hunter2@h.example.com/"])
def test_an_api_url_with_a_query_fragment_or_credentials_is_refused_without_echoing_it(module, error, url):
    with pytest.raises(error, match="api_url must not have a query string, fragment or credentials") as caught:
        module.api_base_url(url)
    assert "hunter2" not in str(caught.value)


# ------------------------------------------------------------------ Proxmox

def test_a_create_answered_502_after_the_node_acted_is_sent_once_and_says_to_look_for_the_vmid(pve):
    pve.pve.answer_after_next("POST", "/nodes/pve1/qemu", 502)
    with pytest.raises(ProxmoxApiError) as caught:
        proxmox(pve).post("/nodes/pve1/qemu", vmid=150, name="new01", memory=512)
    assert pve_writes(pve) == [("POST", "/nodes/pve1/qemu")], "a create is never sent twice"
    assert caught.value.status == 502 and caught.value.outcome_unknown
    text = str(caught.value)
    assert text.startswith("POST /nodes/pve1/qemu failed: HTTP 502 ")
    assert "the answer was HTTP 502, so the node may have carried it out; it was not sent again" in text
    assert "Check whether VMID 150 now exists (GET /cluster/resources?type=vm" in text
    assert proxmox(pve).get("/nodes/pve1/qemu/150/config")["name"] == "new01", "the node did create it"


def test_a_start_answered_596_by_pveproxy_is_sent_once_and_says_to_look_at_the_guests_tasks(pve):
    pve.pve.answer_after_next("POST", "/nodes/pve2/qemu/103/status/start", 596)
    with pytest.raises(ProxmoxApiError) as caught:
        proxmox(pve).post("/nodes/pve2/qemu/103/status/start")
    assert pve_writes(pve) == [("POST", "/nodes/pve2/qemu/103/status/start")]
    assert "HTTP 596 Broken pipe" in str(caught.value)
    assert "task list for a task this request started (GET /nodes/pve2/tasks?vmid=103)" in str(caught.value)
    assert proxmox(pve).get("/nodes/pve2/qemu/103/status/current")["status"] == "running"


def test_a_backup_answered_504_after_the_node_acted_is_not_made_twice(pve):
    pve.pve.answer_after_next("POST", "/nodes/pve1/vzdump", 504)
    with pytest.raises(ProxmoxApiError, match="vzdump task this request started .*it would make another backup"):
        proxmox(pve).post("/nodes/pve1/vzdump", vmid=101, storage="local")
    assert pve_writes(pve) == [("POST", "/nodes/pve1/vzdump")]


@pytest.mark.parametrize("status", [502, 503, 504, 596])
def test_a_config_update_answered_with_a_proxy_error_after_acting_is_sent_again(pve, status):
    pve.pve.answer_after_next("PUT", "/nodes/pve1/qemu/101/config", status)
    proxmox(pve).put("/nodes/pve1/qemu/101/config", description=f"after {status}")
    assert pve_writes(pve) == [("PUT", "/nodes/pve1/qemu/101/config")] * 2
    assert pve.pve.vm(101).config["description"] == f"after {status}"


def test_a_read_answered_503_is_sent_again(pve):
    pve.pve.answer_after_next("GET", "/cluster/resources", 503)
    assert any(item.get("vmid") == 101 for item in proxmox(pve).get("/cluster/resources", type="vm"))
    assert [request[:2] for request in pve.pve.requests].count(("GET", "/api2/json/cluster/resources")) == 2


def test_a_delete_answered_504_after_the_node_deleted_finds_it_gone_and_succeeds(pve):
    client = proxmox(pve)
    client.post("/nodes/pve1/qemu", vmid=150, name="new01", memory=512)
    pve.pve.requests.clear()
    pve.pve.answer_after_next("DELETE", "/nodes/pve1/qemu/150", 504)
    assert client.delete("/nodes/pve1/qemu/150") is None
    assert pve_writes(pve) == [("DELETE", "/nodes/pve1/qemu/150")] * 2, "sent once more, found gone: success"
    assert all(str(guest.get("vmid")) != "150" for guest in client.get("/nodes/pve1/qemu"))


# ------------------------------------------------------------------ rustguac

def rustguac_client_for(emu):
    return RustguacClient(emu.url, RUSTGUAC_KEY, backoff=0)


def test_a_rustguac_create_answered_502_by_a_proxy_after_acting_is_sent_once(rustguac):
    rustguac.fail_after("POST", MAPPINGS, 502)
    with pytest.raises(RustguacApiError) as caught:
        rustguac_client_for(rustguac).post(MAPPINGS, {"group": "ops", "role": "operator"})
    assert rustguac_writes(rustguac) == [("POST", MAPPINGS)], "a create is never sent twice"
    assert caught.value.status == 502 and caught.value.outcome_unknown
    assert ("the answer was HTTP 502, so the rustguac server may have carried it out; it was not sent again, "
            "which could have made it twice. Run the task again: it reads what is there") in str(caught.value)
    assert [item["oidc_group"] for item in rustguac_client_for(rustguac).get(MAPPINGS)] == ["ops"]


def test_a_rustguac_update_answered_504_after_acting_is_sent_again(rustguac):
    mapping = rustguac.add_group_mapping("ops", "viewer")
    path = f"{MAPPINGS}/{mapping['id']}"
    rustguac.fail_after("PUT", path, 504)
    rustguac_client_for(rustguac).put(path, {"group": "ops", "role": "admin"})
    assert rustguac_writes(rustguac) == [("PUT", path)] * 2
    assert [item["role"] for item in rustguac_client_for(rustguac).get(MAPPINGS)] == ["admin"]


def test_a_rustguac_delete_answered_502_after_acting_finds_it_gone_and_succeeds(rustguac):
    mapping = rustguac.add_group_mapping("ops", "viewer")
    path = f"{MAPPINGS}/{mapping['id']}"
    rustguac.fail_after("DELETE", path, 502)
    assert rustguac_client_for(rustguac).delete(path) is None
    assert [status for method, _path, status in rustguac.writes()] == [502, 404], "sent once more, found gone"
    assert rustguac_client_for(rustguac).get(MAPPINGS) == []


def test_rustguacs_own_502_is_not_sent_again(rustguac):
    """Its address-book handlers answer a Vault refusal with 502 and an error body: the same request gets the
    same answer, and nothing was done."""
    rustguac.fail("PUT", "/entries/web01", 502, "invalid name: web01")
    with pytest.raises(RustguacApiError) as caught:
        rustguac_client_for(rustguac).put("/addressbook/folders/shared/default/entries/web01", {"type": "ssh"})
    assert len(rustguac.writes()) == 1
    assert str(caught.value) == ("PUT /addressbook/folders/shared/default/entries/web01 failed: HTTP 502: invalid "
                                 "name: web01")


# ------------------------------------------------------------------ Guacamole (the rule it had, now the core's)

def guacamole_client_for(emu):
    return GuacamoleClient(emu.url, emu.admin_username, emu.admin_password, backoff=0)


def test_a_guacamole_create_whose_reply_was_lost_is_sent_once(guacamole):
    guacamole.lose_reply_next(method="POST", path_contains="/connections")
    with guacamole_client_for(guacamole) as client, pytest.raises(GuacamoleConnectionError) as caught:
        client.post("connections", {"name": "web01", "protocol": "ssh", "parentIdentifier": "ROOT",
                                    "parameters": {"hostname": "10.0.0.1"}, "attributes": {}})
    assert [entry[0] for entry in guacamole.write_requests()] == ["POST"]
    assert caught.value.outcome_unknown
    assert "its reply was lost, so the server may have carried it out; it was not sent again" in str(caught.value)
    assert len(guacamole.state()["connections"]) == 1


def test_a_guacamole_delete_whose_reply_was_lost_finds_it_gone_and_succeeds(guacamole):
    identifier = guacamole.add_connection("web01", parameters={"hostname": "10.0.0.1"})
    guacamole.lose_reply_next(method="DELETE", path_contains=f"/connections/{identifier}")
    with guacamole_client_for(guacamole) as client:
        assert client.delete(f"connections/{identifier}") is None
    assert [entry[0] for entry in guacamole.write_requests()] == ["DELETE", "DELETE"]
    assert guacamole.state()["connections"] == {}

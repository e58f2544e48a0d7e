"""The firewall (tests/emulators/pve/firewall_gaps.py): each gap on plain fakepve 0.5.0, and the behaviour a node
has, read in pve-firewall (src/PVE/Firewall.pm, src/PVE/API2/Firewall/IPSet.pm; the functions are named in each
test). Both servers are served for real over HTTPS on 127.0.0.1 and spoken to with httpx."""

from __future__ import annotations

import ssl

import httpx
import pytest

from tests.emulators.pve import ServedPve

TOKEN_ID = "root@pam!firewall-gaps"
TOKEN_SECRET = "5b1f0c7e-2a94-4d36-9e81-7c3d2b6a0f15"


def client_for(url, cafile):
    return httpx.Client(base_url=url + "/api2/json", verify=ssl.create_default_context(cafile=cafile),
                        headers={"Authorization": f"PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}"}, timeout=10)


@pytest.fixture
def plain(fakepve, fakepve_cafile):
    """(FakePve, client): fakepve 0.5.0 as published."""
    fakepve.apitokens[TOKEN_ID] = TOKEN_SECRET
    with client_for(fakepve.url, fakepve_cafile) as client:
        yield fakepve, client


@pytest.fixture
def fixed(tmp_path):
    """(ProxgatePve, client): with the project's additions."""
    server = ServedPve(tmp_path / "pki")
    server.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    with client_for(server.url, server.certfile) as client:
        yield server.pve, client
    server.stop()


def data(response):
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()["data"]


def make_ipset(client):
    data(client.post("/cluster/firewall/ipset", data={"name": "Gateway", "comment": "guacd"}))
    return [entry["name"] for entry in data(client.get("/cluster/firewall/ipset"))]


# --- 1. Firewall.pm generic_fw_config_parser reads [IPSET name] and [group name] sections' names in lower case ---

def test_gap_an_ipset_keeps_the_capitals_it_was_created_with(plain):
    _pve, client = plain
    assert make_ipset(client) == ["Gateway"]
    assert client.get("/cluster/firewall/ipset/Gateway").status_code == 200


def test_fixed_an_ipset_is_listed_in_lower_case_and_its_first_spelling_finds_nothing(fixed):
    _pve, client = fixed
    assert make_ipset(client) == ["gateway"]
    assert data(client.get("/cluster/firewall/ipset"))[0]["comment"] == "guacd"
    assert client.get("/cluster/firewall/ipset/Gateway").status_code != 200  # IPSet.pm load_config: as given
    data(client.post("/cluster/firewall/ipset/gateway", data={"cidr": "192.0.2.10"}))
    assert [entry["cidr"] for entry in data(client.get("/cluster/firewall/ipset/gateway"))] == ["192.0.2.10"]


def make_group(client):
    data(client.post("/cluster/firewall/groups", data={"group": "WebServers"}))
    return [entry["group"] for entry in data(client.get("/cluster/firewall/groups"))]


def test_gap_a_security_group_keeps_the_capitals_it_was_created_with(plain):
    _pve, client = plain
    assert make_group(client) == ["WebServers"]


def test_fixed_a_security_group_is_listed_in_lower_case_and_its_rules_found_by_that_name(fixed):
    _pve, client = fixed
    assert make_group(client) == ["webservers"]
    assert client.get("/cluster/firewall/groups/WebServers").status_code != 200
    data(client.post("/cluster/firewall/groups/webservers", data={"type": "in", "action": "ACCEPT", "enable": 1}))
    assert len(data(client.get("/cluster/firewall/groups/webservers"))) == 1


# --- 2. Firewall.pm $format_rules writes a comment that is not blank; parse_fw_rule reads it back stripped --------

def rule_comments(client):
    for comment in ("  ssh from the gateway  ", "   "):
        data(client.post("/cluster/firewall/rules", data={"type": "in", "action": "ACCEPT", "enable": 1,
                                                          "comment": comment}))
    return [rule.get("comment") for rule in data(client.get("/cluster/firewall/rules"))]


def test_gap_a_rule_comment_is_kept_with_its_white_space(plain):
    _pve, client = plain
    assert rule_comments(client) == ["   ", "  ssh from the gateway  "]


def test_fixed_a_rule_comment_is_read_back_stripped_and_a_blank_one_is_none(fixed):
    _pve, client = fixed
    assert rule_comments(client) == [None, "ssh from the gateway"]
    data(client.put("/cluster/firewall/rules/1", data={"comment": " moved on "}))
    assert data(client.get("/cluster/firewall/rules/1"))["comment"] == "moved on"

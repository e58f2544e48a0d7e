"""proxmox_firewall_gateway against the test server (issue #20, item 4): each published guest opened to the
gateway's addresses only, the rest of its firewall untouched, other guests closed by prune, check mode and a
rerun writing nothing. One playbook run holds several steps (each run costs seconds of CI time)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

FW = "/api2/json/nodes/{node}/{kind}/{vmid}/firewall"
WEB, WIN, DB, DNS = (FW.format(node="pve1", kind="qemu", vmid=101), FW.format(node="pve2", kind="qemu", vmid=102),
                     FW.format(node="pve2", kind="qemu", vmid=103), FW.format(node="pve1", kind="lxc", vmid=200))
OURS = {"type": "in", "action": "ACCEPT", "proto": "tcp", "source": "+proxgate-gateway", "enable": 1}


def gateway(guests, sources="[192.0.2.10, 192.0.2.11/32]", extra=""):
    return f"""
      proxgate.core.proxmox_firewall_gateway:
        guests: {guests}
        sources: {sources}
        prune: true
        keep: [200]{extra}
"""


def task(name, body, check=False):
    return f"    - name: {name}\n" + ("      check_mode: true\n" if check else "") + body


def test_published_guests_open_to_the_gateway_only_then_nothing_to_do(run_playbook, pve, pve_env, writes):
    server = pve.pve
    web = server.firewall_config("vm", "pve1", 101)
    web["rules"] += [{"type": "in", "action": "DROP", "enable": 1, "comment": "admin: drop the rest"},
                     {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "9100", "enable": 1,
                      "source": "+proxgate-gateway", "comment": "admin: metrics from the gateway"}]
    web["options"] = {"enable": 1}
    server.vm(101).config["net0"] += ",firewall=1"
    server.firewall_config("vm", "pve2", 102)["options"] = {"enable": 1}  # but its net0 has no firewall=1
    server.firewall_config("cluster")["options"] = {"enable": 1}
    # Left by an earlier run: 103 was published then, it is not now; 200 is kept as it is.
    for node, kind, vmid in (("pve2", "vm", 103), ("pve1", "ct", 200)):
        left = server.firewall_config(kind, node, vmid)
        left["ipset"]["proxgate-gateway"] = [{"cidr": "192.0.2.10"}]
        left["rules"] += [dict(OURS, dport="22", comment="proxgate: ssh from the gateway"),
                          {"type": "in", "action": "ACCEPT", "enable": 1, "comment": "admin's"}]
    published = "[{vmid: 101, protocol: ssh, port: 22}, {vmid: 102, protocol: rdp, port: 3389}]"
    tasks = "".join(task(f"{step}", gateway(published), check=step == "Plan") for step in ("Plan", "Apply", "Again"))
    run = run_playbook(tasks, env=pve_env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == ["Plan", "Apply"]
    plan = run.result("Plan")
    assert plan["changes"] == [
        {"vmid": 101, "node": "pve1", "actions": ["create IPSet proxgate-gateway", "add 192.0.2.10", "add 192.0.2.11",
                                                  "open ssh 22"]},
        {"vmid": 102, "node": "pve2", "actions": ["create IPSet proxgate-gateway", "add 192.0.2.10", "add 192.0.2.11",
                                                  "open rdp 3389"]},
        {"vmid": 103, "node": "pve2", "actions": ["close ssh 22", "delete IPSet proxgate-gateway"]}]
    assert plan["diff"]["after"]["101"] == {"ipset": ["192.0.2.10", "192.0.2.11"], "ports": ["ssh 22"]}
    assert plan["diff"]["before"]["103"] == {"ipset": ["192.0.2.10"], "ports": ["ssh 22"]}
    assert (plan["opened"], plan["closed"], plan["missing"]) == ([101, 102], [103], [])
    # 101's firewall is on and filters its one network device; 102's does not filter its net0.
    assert plan["unenforced"] == [{"vmid": 102, "reason": "net0 without firewall=1: traffic through it is not "
                                                          "filtered"}]
    assert "not enforced on 1 guest(s): 102" in plan["warnings"][0]
    assert run.result("Apply")["changes"] == plan["changes"]
    assert run.result("Again")["changes"] == [] and run.result("Again")["closed"] == []
    # Check mode and the rerun wrote nothing: these are the apply run's writes, exactly, in order per guest.
    assert sorted(writes(), key=lambda write: write[1].split("/firewall")[0]) == [
        ("POST", f"{WEB}/ipset"), ("POST", f"{WEB}/ipset/proxgate-gateway"), ("POST", f"{WEB}/ipset/proxgate-gateway"),
        ("POST", f"{WEB}/rules"),
        ("POST", f"{WIN}/ipset"), ("POST", f"{WIN}/ipset/proxgate-gateway"), ("POST", f"{WIN}/ipset/proxgate-gateway"),
        ("POST", f"{WIN}/rules"),
        ("DELETE", f"{DB}/rules/0"), ("DELETE", f"{DB}/ipset/proxgate-gateway")]
    # The new rule is on top, the admin's rules stay as they were, where they were.
    assert [(rule["comment"], rule.get("dport")) for rule in web["rules"]] == [
        ("proxgate: ssh from the gateway", "22"), ("admin: drop the rest", None),
        ("admin: metrics from the gateway", "9100")]
    assert web["rules"][0]["source"] == "+proxgate-gateway" and web["rules"][0]["action"] == "ACCEPT"
    assert sorted(entry["cidr"] for entry in web["ipset"]["proxgate-gateway"]) == ["192.0.2.10", "192.0.2.11"]
    db = server.firewall_config("vm", "pve2", 103)
    assert "proxgate-gateway" not in db["ipset"] and [rule["comment"] for rule in db["rules"]] == ["admin's"]
    assert "proxgate-gateway" in server.firewall_config("ct", "pve1", 200)["ipset"]


def test_a_moved_port_and_a_new_gateway_address_are_updated_in_place(run_playbook, pve, pve_env, writes):
    first = gateway("[{vmid: 101, protocol: ssh, port: 22}]")
    moved = gateway("[{vmid: 101, protocol: ssh, port: 2222}]", sources="[192.0.2.12]")
    run = run_playbook(task("Open", first) + task("Move", moved), env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Move")["changes"] == [{"vmid": 101, "node": "pve1", "actions": [
        "remove 192.0.2.10", "remove 192.0.2.11", "add 192.0.2.12", "update ssh 2222"]}]
    web = pve.pve.firewall_config("vm", "pve1", 101)
    assert [(rule["comment"], rule["dport"]) for rule in web["rules"]] == [("proxgate: ssh from the gateway", "2222")]
    assert [entry["cidr"] for entry in web["ipset"]["proxgate-gateway"]] == ["192.0.2.12"]
    assert writes()[-2:] == [("POST", f"{WEB}/ipset/proxgate-gateway"), ("PUT", f"{WEB}/rules/0")]


def test_bad_input_is_refused_naming_the_option_before_any_call(run_playbook, pve, pve_env, writes):
    cases = {
        "No sources": (gateway("[{vmid: 101, protocol: ssh, port: 22}]", sources="[]"), "sources: the gateway's"),
        "All addresses": (gateway("[]", sources="[0.0.0.0/0]"), "sources[0] must be an IP address or a network"),
        "Bad protocol": (gateway("[{vmid: 101, protocol: 'ssh from anywhere', port: 22}]"), "guests[0].protocol must"),
        "Bad port": (gateway("[{vmid: 101, protocol: ssh, port: 0}]"), "guests[0].port must be a TCP port"),
        "Two ports": (gateway("[{vmid: 101, protocol: ssh, port: 22}, {vmid: 101, protocol: ssh, port: 23}]"),
                      "guests[1]: guest 101 has ssh on port 22 already"),
        "Bad IPSet": (gateway("[]", extra="\n        ipset: '../x'"), "ipset must be a firewall IPSet name"),
    }
    tasks = "".join(task(name, body).replace("      proxgate", "      ignore_errors: true\n      proxgate", 1)
                    for name, (body, _msg) in cases.items())
    run = run_playbook(tasks, env=pve_env)
    assert [result["task"] for result in run.failed] == list(cases)
    for name, (_body, message) in cases.items():
        assert message in run.result(name)["msg"], name
    assert writes() == []


def test_a_node_that_does_not_answer_and_a_deleted_guest_are_listed_not_failed(run_playbook, pve, pve_env, writes):
    server = pve.pve
    left = server.firewall_config("vm", "pve2", 103)
    left["ipset"]["proxgate-gateway"] = [{"cidr": "192.0.2.10"}]
    server.set_node_offline("pve2")
    run = run_playbook(task("Open", gateway("[{vmid: 101, protocol: ssh, port: 22}, {vmid: 999, protocol: ssh, "
                                            "port: 22}]")), env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Open")
    assert (result["opened"], result["missing"], result["closed"]) == ([101], [999], [])
    assert result["unchecked"] == [{"vmid": 102, "reason": "its node pve2 does not answer"},
                                   {"vmid": 103, "reason": "its node pve2 does not answer"}]
    assert "proxgate-gateway" in left["ipset"]
    assert {path.split("/firewall", maxsplit=1)[0] for _method, path in writes()} == {
        WEB.split("/firewall", maxsplit=1)[0]}

"""The guacamole_sync role's plan (plugins/plugin_utils/guacamole_sync_plan.py, the filter
proxgate.core.guacamole_sync_plan): each rule on its own. Its speed is measured by tests/bench/publish.py."""

from __future__ import annotations

from ansible_collections.proxgate.core.plugins.plugin_utils.guacamole_sync_plan import plan

SETTINGS = {"root": "Proxmox", "protocol_tags": {"guac-vnc": "vnc"}, "exclude_tags": ["guac-off"],
            "os_tags": {"windows": "rdp"}, "ports": {"ssh": 22, "rdp": 3389, "vnc": 5900},
            "parameters": {"rdp": {"ignore-cert": True}}, "user_groups_by_pool": {"production": ["operators"]},
            "user_groups_by_tag": {"windows": ["desktop-users"]}}


def guest(vmid, **variables):
    host = {"proxmox_vmid": vmid, "ansible_host": f"10.0.0.{vmid % 250}", "proxmox_type": "qemu"}
    host.update(variables)
    return host


def test_the_first_matching_rule_chooses_the_protocol():
    hosts = [
        ("tagged", guest(1, proxmox_tags=["windows", "guac-vnc"], proxmox_config={"ostype": "win11"})),
        ("variable", guest(2, guacamole_protocol="telnet", proxmox_config={"ostype": "l26"})),
        ("container", guest(3, proxmox_type="lxc", proxmox_os={"id": "mswindows"})),
        ("ostype", guest(4, proxmox_config={"ostype": "win10"})),
        ("agent", guest(5, proxmox_os={"id": "mswindows"})),
        ("os-tag", guest(6, proxmox_tags=["windows"])),
        ("default", guest(7)),
    ]
    summary = plan(hosts, SETTINGS)["summary"]
    assert {name: line.split(" to ")[0] for name, line in summary.items()} == {
        "tagged": "vnc (tag guac-vnc)", "variable": "telnet (guacamole_protocol)", "container": "ssh (container)",
        "ostype": "rdp (ostype win10)", "agent": "rdp (agent OS mswindows)", "os-tag": "rdp (tag windows)",
        "default": "ssh (guacamole_sync_default_protocol)"}


def test_a_pool_is_one_group_level_verbatim_and_grants_follow_pool_and_tags():
    result = plan([("web", guest(101, proxmox_pool="a/b", proxmox_tags=["windows"])),
                   ("db", guest(102, proxmox_pool="production", guacamole_parameters={"port": 2222}))], SETTINGS)
    web, db = result["connections"]
    assert web["group"] == ["a/b"] and web["guest"] == "pve/101"
    assert web["protocol"] == "rdp" and web["parameters"] == {"hostname": "10.0.0.101", "port": 3389,
                                                              "ignore-cert": True}
    assert web["user_groups"] == ["desktop-users"] and db["user_groups"] == ["operators"]
    assert result["summary"]["web"] == "rdp (tag windows) to 10.0.0.101:3389 in Proxmox/a\\/b, READ for desktop-users"
    assert result["firewall"] == [{"vmid": 101, "protocol": "rdp", "port": 3389},
                                  {"vmid": 102, "protocol": "ssh", "port": 2222}]


def test_incomplete_excluded_and_address_less_guests():
    hosts = [("partial", guest(1, proxmox_incomplete=["config"])),
             ("off", guest(2, proxmox_tags=["guac-off"])),
             ("stopped", guest(3, ansible_host="", proxmox_status="stopped")),
             ("custom", guest(4, proxmox_cluster="lab", guacamole_protocol="kubernetes"))]
    result = plan(hosts, SETTINGS)
    assert result["incomplete"] == [{"name": "partial", "vmid": 1, "missing": ["config"]}]
    assert result["excluded"] == ["off"]
    assert result["skipped"] == [{"name": "stopped", "vmid": 3, "status": "stopped"}]
    assert (result["keep"], result["keep_guests"], result["keep_vmids"]) == (
        ["partial", "stopped"], ["pve/1", "pve/3"], [1, 3])
    assert [connection["guest"] for connection in result["connections"]] == ["lab/4"]
    assert result["portless"] == ["custom"] and result["firewall"] == []
    assert plan(hosts[2:3], dict(SETTINGS, keep_without_address=False))["keep"] == []

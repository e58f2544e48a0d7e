"""proxmox_cluster_info against the test server: quorum, members and HA state; a node in no cluster; lost quorum;
and no writes."""

import pytest

pytestmark = pytest.mark.integration


def test_cluster_quorum_members_and_ha(run_playbook, pve, pve_env, writes):
    pve.pve.vm(101).ha_state = "started"
    pve.pve.set_node_offline("pve2")
    run = run_playbook("""
        - name: Cluster
          proxgate.core.proxmox_cluster_info:
        - name: Without HA
          proxgate.core.proxmox_cluster_info:
            ha: false
    """, env=pve_env, check=True)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Cluster")
    assert result["clustered"] is True and result["quorate"] is True
    assert result["cluster"] == {"name": pve.pve.cluster_name, "nodes": 2, "version": 1}
    assert [(n["name"], n["nodeid"], n["online"], n["local"]) for n in result["nodes"]] == [
        ("pve1", 1, True, True), ("pve2", 2, False, False)]
    assert result["nodes_online"] == ["pve1"] and result["nodes_offline"] == ["pve2"]
    ha = result["ha"]
    assert ha["quorate"] is True and ha["master"] == "pve1" and ha["armed_state"] == "armed"
    assert [lrm["node"] for lrm in ha["lrm"]] == ["pve1", "pve2"]
    assert ha["resources"] == [{"sid": "vm:101", "node": "pve1", "state": "started", "crm_state": "started",
                                "request_state": "started", "status": "vm:101 (pve1, started)"}]
    assert run.result("Without HA")["ha"] is None
    assert run.changed == []
    assert writes() == []


def test_a_node_in_no_cluster_says_so(run_playbook, pve, pve_env, writes):
    pve.pve.standalone = True
    run = run_playbook("""
        - name: Standalone
          proxgate.core.proxmox_cluster_info:
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Standalone")
    assert result["clustered"] is False and result["cluster"] is None and result["quorate"] is True
    assert [(n["name"], n["nodeid"], n["local"]) for n in result["nodes"]] == [("pve1", 0, True)]
    assert result["ha"]["master"] is None and result["ha"]["resources"] == []
    assert writes() == []


def test_lost_quorum_is_reported(run_playbook, pve, pve_env):
    pve.pve.lose_quorum()
    run = run_playbook("""
        - name: No quorum
          proxgate.core.proxmox_cluster_info:
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("No quorum")
    assert result["quorate"] is False and result["ha"]["quorate"] is False


def test_bad_input_gets_a_clear_message(run_playbook, pve_env, writes):
    run = run_playbook("""
        - name: Bad
          proxgate.core.proxmox_cluster_info:
            ha: maybe
          ignore_errors: true
    """, env=pve_env)
    assert [r["task"] for r in run.failed] == ["Bad"]
    assert "ha" in run.result("Bad")["msg"] and "bool" in run.result("Bad")["msg"]
    assert writes() == []

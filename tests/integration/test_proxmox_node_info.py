"""proxmox_node_info against the test server: every node with its status and versions, one node, a node that is
offline or does not answer, bad input, and no writes (nor any subscription read)."""

import pytest

pytestmark = pytest.mark.integration


def test_every_node_with_status_and_versions(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
        - name: Nodes
          proxgate.core.proxmox_node_info:
        - name: Only pve2
          proxgate.core.proxmox_node_info:
            node: pve2
    """, env=pve_env, check=True)
    assert run.rc == 0, run.stdout + run.stderr
    nodes = run.result("Nodes")["nodes"]
    assert [node["node"] for node in nodes] == ["pve1", "pve2"]
    first = nodes[0]
    assert first["status"] == "online" and first["error"] is None
    assert first["version"] == pve.pve.version and first["release"] == pve.pve.release_version
    assert first["pveversion"] == f"pve-manager/{pve.pve.version}/fakepve"
    assert first["kernel"].startswith("Linux ") and len(first["loadavg"]) == 3
    assert first["maxcpu"] == 4 and first["memory"]["total"] > 0 and first["boot_info"]["mode"] == "efi"
    assert "level" not in first
    assert [node["node"] for node in run.result("Only pve2")["nodes"]] == ["pve2"]
    assert run.changed == []
    assert writes() == []
    assert not [path for _method, path, _body in pve.pve.requests if "subscription" in path]


def test_an_offline_node_and_one_that_does_not_answer(run_playbook, pve, pve_env, writes):
    pve.pve.set_node_offline("pve2")
    pve.pve.fail("GET", "/nodes/pve1/version", status=595, message="No route to host")
    run = run_playbook("""
        - name: Nodes
          proxgate.core.proxmox_node_info:
            api_retries: 0  # both nodes' 595 reported at once, not after 1 + 2 + 4 s of retries
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    pve1, pve2 = run.result("Nodes")["nodes"]
    assert pve1["status"] == "unknown" and "No route to host" in pve1["error"] and pve1["version"] is None
    assert pve2["status"] == "offline" and pve2["error"] == "node is offline" and pve2["kernel"] is None
    assert writes() == []


@pytest.mark.parametrize("node, message", [
    ("pve9", "node 'pve9' is not a node of the cluster"),
    ("'bad node'", "node must be a Proxmox VE node name"),
])
def test_bad_input_gets_a_clear_message(run_playbook, pve_env, writes, node, message):
    run = run_playbook(f"""
        - name: Bad
          proxgate.core.proxmox_node_info:
            node: {node}
          ignore_errors: true
    """, env=pve_env)
    assert [r["task"] for r in run.failed] == ["Bad"]
    assert message in run.result("Bad")["msg"]
    assert writes() == []

"""proxmox_api against the test server, in both auth modes."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.each_auth]  # the generic module: auth is its concern

CONFIG_101 = "/api2/json/nodes/pve1/qemu/101/config"


def requests_to(pve, method, path):
    """How many requests the server saw for method and path (including dropped ones)."""
    return sum(1 for seen_method, seen_path, _body in pve.pve.requests if (seen_method, seen_path) == (method, path))


def test_get_reads_without_changing(run_playbook, pve_env, writes):
    run = run_playbook("""
        - name: Nodes
          proxgate.core.proxmox_api:
            path: /nodes
        - name: VMs only, the query from data
          proxgate.core.proxmox_api:
            path: cluster/resources
            data:
              type: vm
    """, env=pve_env, check=True)
    assert run.rc == 0, run.stdout + run.stderr
    nodes = run.result("Nodes")
    assert sorted(node["node"] for node in nodes["data"]) == ["pve1", "pve2"]
    assert nodes["changed"] is False
    guests = run.result("VMs only, the query from data")["data"]
    assert sorted(guest["vmid"] for guest in guests) == [101, 102, 103, 200, 9000]
    assert not any(guest["type"] == "node" for guest in guests)
    assert run.changed == []
    assert writes() == []


def test_state_present_writes_only_the_difference(run_playbook, pve, pve_env, writes):
    tasks = """
        - name: Memory and description
          proxgate.core.proxmox_api:
            path: /nodes/pve1/qemu/101/config
            state: present
            data:
              memory: 4096
              description: x
              cores: 2
              tags: WEB;linux
              net0: virtio,bridge=vmbr0
    """
    checked = run_playbook(tasks, env=pve_env, check=True, diff=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    result = checked.result("Memory and description")
    assert result["changed"] is True
    assert result["changed_keys"] == ["description", "memory"]
    assert result["msg"] == "check mode: not sent"
    assert result["diff"]["before"] == {"memory": "2048", "description": None}
    assert result["diff"]["after"] == {"memory": 4096, "description": "x"}
    assert writes() == []

    applied = run_playbook(tasks, env=pve_env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("Memory and description")["changed"] is True
    assert writes() == [("PUT", CONFIG_101)]
    body = [body for method, path, body in pve.pve.requests if (method, path) == ("PUT", CONFIG_101)][0]
    assert "cores" not in str(body) and "net0" not in str(body)
    vm = pve.pve.vm(101)
    assert vm.config["description"] == "x"
    # web01 is running: the memory waits for its next start, as on a node.
    assert str(vm.pending["memory"]) == "4096"
    assert str(vm.config["memory"]) == "2048"

    again = run_playbook(tasks, env=pve_env, diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    result = again.result("Memory and description")
    assert result["changed"] is False
    assert result["changed_keys"] == []
    assert writes() == [("PUT", CONFIG_101)]


def test_state_present_deletes_only_keys_that_exist_and_masks_secrets(run_playbook, pve, pve_env, writes):
    secret = "Tr0ub4dor-and-3"
    run = run_playbook(f"""
        - name: Cloud-init user and password, no tags
          proxgate.core.proxmox_api:
            path: nodes/pve2/qemu/103/config
            method: POST
            state: present
            data:
              ciuser: admin
              cipassword: "{secret}"
              delete: [tags, serial0]
    """, env=pve_env, diff=True, verbosity=3)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Cloud-init user and password, no tags")
    assert result["changed_keys"] == ["cipassword", "ciuser", "tags"]
    assert result["diff"]["before"] == {"cipassword": None, "ciuser": None, "tags": "linux;db"}
    assert result["diff"]["after"] == {"cipassword": "********", "ciuser": "admin", "tags": None}
    # POST config is asynchronous: its task was waited for.
    assert result["status"]["exitstatus"] == "OK"
    assert secret not in run.stdout + run.stderr + json.dumps(run.results, default=str)
    config = pve.pve.vm(103).config
    assert config["ciuser"] == "admin" and config["cipassword"] == secret and "tags" not in config
    assert writes() == [("POST", "/api2/json/nodes/pve2/qemu/103/config")]


def test_post_starts_a_task_and_waits(run_playbook, pve, pve_env, writes):
    tasks = """
        - name: Start db01
          proxgate.core.proxmox_api:
            path: /nodes/pve2/qemu/103/status/start
            method: post
            timeout: 60
    """
    checked = run_playbook(tasks, env=pve_env, check=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    assert checked.result("Start db01")["changed"] is True
    assert checked.result("Start db01")["msg"] == "check mode: not sent"
    assert writes() == []
    assert pve.pve.vm(103).status == "stopped"

    run = run_playbook(tasks, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Start db01")
    assert result["changed"] is True
    assert result["data"].startswith("UPID:pve2:") and ":qmstart:103:" in result["data"]
    assert result["status"]["status"] == "stopped"
    assert result["status"]["exitstatus"] == "OK"
    assert pve.pve.vm(103).status == "running"


def test_task_failure_and_parameter_error_show_pve_messages(run_playbook, pve, pve_env):
    run = run_playbook("""
        - name: Start the template
          proxgate.core.proxmox_api:
            path: /nodes/pve1/qemu/9000/status/start
            method: POST
          ignore_errors: true
        - name: Memory lots
          proxgate.core.proxmox_api:
            path: /nodes/pve1/qemu/101/config
            method: PUT
            data:
              memory: lots
          ignore_errors: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert sorted(record["task"] for record in run.failed) == ["Memory lots", "Start the template"]
    started = run.result("Start the template")
    assert "failed: you can't start a vm if it's a template" in started["msg"]
    assert "TASK ERROR: you can't start a vm if it's a template" in started["msg"]
    assert started["task_log"][-1] == "TASK ERROR: you can't start a vm if it's a template"
    assert pve.pve.vm(9000).status == "stopped"
    bad = run.result("Memory lots")
    assert "PUT /nodes/pve1/qemu/101/config failed: HTTP 400 Parameter verification failed." in bad["msg"]
    assert "memory" in bad["errors"] and "got 'lots'" in bad["msg"]
    assert str(pve.pve.vm(101).config["memory"]) == "2048" and "memory" not in pve.pve.vm(101).pending


def test_transient_faults_are_retried(run_playbook, pve, pve_env):
    pve.pve.fail("GET", "/cluster/options", 503, "Service Unavailable", times=1)
    pve.pve.drop_next("GET", "/version", 1)
    # One retry each; the client backs off 1 s (plus jitter) before it.
    run = run_playbook("""
        - name: Cluster options
          proxgate.core.proxmox_api:
            path: /cluster/options
            api_retries: 1
        - name: Version
          proxgate.core.proxmox_api:
            path: /version
            api_retries: 1
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Cluster options")["data"]["keyboard"]
    assert run.result("Version")["data"]["version"]
    assert requests_to(pve, "GET", "/api2/json/cluster/options") == 2
    assert requests_to(pve, "GET", "/api2/json/version") == 2


def test_bad_input_names_the_parameter(run_playbook, pve, pve_env, writes):
    run = run_playbook(f"""
        - name: Full URL
          proxgate.core.proxmox_api:
            path: "{pve.url}/api2/json/nodes"
          ignore_errors: true
        - name: Dot dot
          proxgate.core.proxmox_api:
            path: /nodes/../access/users
          ignore_errors: true
        - name: Present without data
          proxgate.core.proxmox_api:
            path: /cluster/options
            state: present
          ignore_errors: true
        - name: Bad method
          proxgate.core.proxmox_api:
            path: /nodes
            method: PATCH
          ignore_errors: true
        - name: Present on a VM that does not exist
          proxgate.core.proxmox_api:
            path: /nodes/pve1/qemu/999/config
            state: present
            data:
              memory: 1024
          ignore_errors: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert len(run.failed) == 5, run.stdout
    assert run.result("Full URL")["msg"].startswith("path must be relative to /api2/json")
    assert "api_url" in run.result("Full URL")["msg"]
    assert run.result("Dot dot")["msg"].startswith("path must not contain '.' or '..' segments")
    assert run.result("Present without data")["msg"].startswith("data is required with state: present")
    assert run.result("Bad method")["msg"] == "method must be one of GET, POST, PUT, DELETE, got 'PATCH'"
    missing = run.result("Present on a VM that does not exist")["msg"]
    assert "state: present needs an existing object" in missing
    assert "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist" in missing
    assert writes() == []

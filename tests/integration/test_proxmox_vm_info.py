"""proxmox_vm_info against the test server, in both auth modes."""

import pytest

pytestmark = pytest.mark.integration


def test_filters_by_tag_and_status_and_reads_config(run_playbook, pve_env, writes):
    run = run_playbook("""
        - name: Running linux VMs
          proxgate.core.proxmox_vm_info:
            tags: [LINUX]
            status: running
            config: true
          register: found
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    vms = run.result("Running linux VMs")["vms"]
    assert [vm["name"] for vm in vms] == ["web01"]
    assert vms[0]["tags"] == ["linux", "web"]
    assert vms[0]["pool"] == "production"
    assert vms[0]["config"]["net0"].startswith("virtio=BC:24:11:00:01:01")
    assert writes() == []


def test_templates_only_and_unknown_name(run_playbook, pve_env):
    run = run_playbook("""
        - name: Templates
          proxgate.core.proxmox_vm_info:
            templates: only
        - name: Nobody
          proxgate.core.proxmox_vm_info:
            name: no-such-vm
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert [vm["vmid"] for vm in run.result("Templates")["vms"]] == [9000]
    assert run.result("Nobody")["vms"] == []


def test_module_defaults_group_and_explicit_options(run_playbook, pve, tmp_path):
    playbook = tmp_path / "defaults.yml"
    playbook.write_text(f"""
- name: Auth from module_defaults
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/proxgate.core.proxmox:
      api_url: {pve.url}
      api_user: root@pam
      api_password: correct-horse-battery-staple
      ca_path: {pve.certfile}
  tasks:
    - name: All VMs of node pve2
      proxgate.core.proxmox_vm_info:
        node: pve2
""")
    run = run_playbook(None, playbook=playbook)
    assert run.rc == 0, run.stdout + run.stderr
    assert [vm["name"] for vm in run.result("All VMs of node pve2")["vms"]] == ["win-desktop", "db01"]

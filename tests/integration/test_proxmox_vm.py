"""proxmox_vm against the test server: create, update, clone, power, template, remove; in both auth modes."""

import json

import pytest

from tests.emulators.pve import write_requests
from tests.integration.batch_fixtures import failed_message, once_for_all_workers, run_tasks, served_pve

pytestmark = pytest.mark.integration

CREATE = """
- name: Create web02
  proxgate.core.proxmox_vm:
    node: pve1
    name: web02
    cores: 2
    memory: 2048
    ostype: l26
    scsihw: virtio-scsi-single
    agent: true
    onboot: true
    disks:
      scsi0: local-lvm:8,discard=on,iothread=1
    nets:
      net0: virtio,bridge=vmbr0,firewall=1
    tags: [Web, demo]
    pool: production
    description: made by a test
    state: started
"""


def vm_named(pve, name):
    return next((vm for vm in pve.pve.vms if vm.name == name), None)


@pytest.mark.each_auth
def test_create_check_mode_then_apply_then_idempotent(run_playbook, pve, pve_env, writes):
    check = run_playbook(CREATE, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    planned = check.result("Create web02")
    assert planned["changed"] and planned["created"]
    assert planned["diff"]["after"]["memory"] == 2048
    assert writes() == [], "check mode must not write"
    assert vm_named(pve, "web02") is None

    first = run_playbook(CREATE, env=pve_env)
    assert first.rc == 0, first.stdout + first.stderr
    created = first.result("Create web02")
    assert created["changed"] and created["created"] and created["status"] == "running"
    vm = vm_named(pve, "web02")
    assert vm is not None and vm.status == "running" and vm.vmid == created["vmid"]
    assert vm.config["memory"] in (2048, "2048")
    assert vm.config["tags"] == "demo;web"
    assert vm.config["scsi0"].startswith("local-lvm:vm-") and "discard=on" in vm.config["scsi0"]
    assert "firewall=1" in vm.config["net0"]
    assert vm.vmid in pve.pve.pools["production"]
    assert len(created["tasks"]) == 2  # qmcreate, qmstart

    before = len(writes())
    second = run_playbook(CREATE, env=pve_env, diff=True)
    assert second.rc == 0, second.stdout + second.stderr
    assert second.changed == [], second.result("Create web02")
    assert len(writes()) == before, f"second run wrote: {writes()[before:]}"


def test_update_only_what_differs_keeps_mac_and_reports_pending(run_playbook, pve, pve_env, writes):
    mac = pve.pve.vm(101).config["net0"].split(",")[0]
    update = """
    - name: Grow web01
      proxgate.core.proxmox_vm:
        name: web01
        memory: 4096
        nets:
          net0: virtio,bridge=vmbr1
        tags: [linux, web, grown]
    """
    check = run_playbook(update, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    planned = check.result("Grow web01")
    assert planned["changed_keys"] == ["memory", "net0", "tags"]
    assert str(planned["diff"]["before"]["memory"]) == "2048" and planned["diff"]["after"]["memory"] == 4096
    assert writes() == []

    applied = run_playbook(update, env=pve_env)
    result = applied.result("Grow web01")
    assert applied.rc == 0 and result["changed"]
    vm = pve.pve.vm(101)
    # web01 runs: memory and the NIC wait for the next start, tags apply at once.
    assert result["reboot_required"] is True
    assert set(result["pending"]) >= {"memory", "net0"}
    assert vm.pending["net0"].split(",")[0] == mac, "an updated NIC keeps its MAC"
    assert "bridge=vmbr1" in vm.pending["net0"]
    assert vm.config["tags"] in ("grown;linux;web", "linux;web;grown")
    writes_after_update = len(writes())

    again = run_playbook(update, env=pve_env)
    assert again.rc == 0 and again.changed == []
    assert len(writes()) == writes_after_update

    restart = run_playbook("""
    - name: Restart web01
      proxgate.core.proxmox_vm:
        name: web01
        state: restarted
    """, env=pve_env)
    assert restart.rc == 0
    assert restart.result("Restart web01")["reboot_required"] is False
    assert str(vm.config["memory"]) == "4096" and not vm.pending


def test_clone_template_then_stop_and_remove(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
    - name: Clone the template
      proxgate.core.proxmox_vm:
        name: app01
        clone: debian-13-cloud
        full: true
        storage: local-lvm
        node: pve1
        cores: 4
        state: started
    - name: Stop it
      proxgate.core.proxmox_vm:
        name: app01
        state: stopped
        force: true
    - name: Remove it
      proxgate.core.proxmox_vm:
        name: app01
        state: absent
    - name: Remove it again
      proxgate.core.proxmox_vm:
        name: app01
        state: absent
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    clone = run.result("Clone the template")
    assert clone["created"] and clone["node"] == "pve1" and clone["status"] == "running"
    assert clone["config"]["cores"] in (4, "4")
    assert run.result("Stop it")["status"] == "stopped"
    assert run.result("Remove it")["changed"] and run.result("Remove it")["status"] == "absent"
    assert not run.result("Remove it again")["changed"]
    assert vm_named(pve, "app01") is None
    destroy = [path for method, path in writes() if method == "DELETE"]
    assert len(destroy) == 1


def test_running_vm_is_not_removed_without_force(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
    - name: Remove web01
      proxgate.core.proxmox_vm:
        name: web01
        state: absent
    """, env=pve_env)
    assert run.rc != 0
    assert "is running" in run.result("Remove web01")["msg"] and "force" in run.result("Remove web01")["msg"]
    assert pve.pve.vm(101) is not None
    assert writes() == []


def test_template_conversion_is_idempotent(run_playbook, pve, pve_env, writes):
    tasks = """
    - name: Make db01 a template
      proxgate.core.proxmox_vm:
        vmid: 103
        state: template
    """
    first = run_playbook(tasks, env=pve_env)
    assert first.rc == 0 and first.result("Make db01 a template")["changed"]
    assert pve.pve.vm(103).template
    count = len(writes())
    second = run_playbook(tasks, env=pve_env)
    assert second.rc == 0 and second.changed == [] and len(writes()) == count


def test_failed_start_task_reports_exit_status_and_log(run_playbook, pve, pve_env):
    pve.pve.vm(103).start_error = "TASK test: no bootable device found on scsi0"
    run = run_playbook("""
    - name: Start db01
      proxgate.core.proxmox_vm:
        vmid: 103
        state: started
    """, env=pve_env)
    assert run.rc != 0
    result = run.result("Start db01")
    assert "qmstart" in result["msg"] and "no bootable device found" in result["msg"]
    assert result["exitstatus"] == "TASK test: no bootable device found on scsi0"
    assert any("TASK ERROR" in line for line in result["task_log"])


BAD_INPUT = [
    ({"name": "bad name!", "node": "pve1"}, "name must be a DNS name"),
    ({"vmid": 5, "node": "pve1"}, "vmid must be between 100"),
    ({"name": "x1", "node": "pve1", "memory": 0}, "memory must be a positive number"),
    ({"name": "x1", "node": "pve1", "nets": {"eth0": "virtio"}}, "nets keys must be net0"),
    ({"name": "x1", "node": "pve1", "disks": {"hda": "local-lvm:1"}}, "disks keys must be"),
    # qemu-server has scsi0-scsi30 (Drive.pm $MAX_SCSI_DISKS): refused here, with the range, before the node is asked.
    ({"name": "x1", "node": "pve1", "disks": {"scsi31": "local-lvm:1"}}, "scsi0-scsi30, virtio0-virtio15"),
    ({"name": "x1", "node": "pve1", "config": {"memory": 512}}, "config.memory: use the memory option"),
    ({"name": "x1", "node": "pve1", "config": {"numa": [1]}}, "config.numa must be a single value"),
    ({"name": "x1", "node": "pve1", "storage": "local-lvm"}, "storage only apply with clone"),
    ({"name": "x1"}, "node is required to create a VM"),
    ({"name": "x1", "clone": "no-such-template"}, "clone: no VM or template 'no-such-template'"),
    ({"name": "x1", "node": "pve1", "state": "bogus"}, "value of state must be one of"),
    ({"node": "pve1"}, "one of the following is required: vmid, name"),
    ({"name": "x1", "node": "pve1", "config": {"frobnicate": 1}}, "frobnicate: property is not defined in schema"),
    ({"name": "x1", "node": "pve1", "api_user": "root"}, "api_user must be user@realm"),
]


def refused_before_any_write(options_expected):
    """The node refuses the schema case (it alone knows its schema), with a POST; the module every other case."""
    return "schema" not in options_expected[1]


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    """The cases refused before any write, as the tasks of one playbook run against one server
    (batch_fixtures.py). (the run, the server's write requests after it, whether it has a VM x1)."""
    def make(workdir):
        served, env = served_pve(workdir / "pki")
        try:
            run = run_tasks(workdir, [f"- name: Bad input {index}\n  proxgate.core.proxmox_vm: {json.dumps(options)}"
                                      for index, (options, expected) in enumerate(BAD_INPUT)
                                      if refused_before_any_write((options, expected))], env)
            return run, write_requests(served.pve), vm_named(served, "x1") is not None
        finally:
            served.stop()
    return once_for_all_workers(tmp_path_factory, "proxmox-vm-bad-inputs", make)


@pytest.mark.parametrize("options, expected", BAD_INPUT)
def test_bad_input_gets_a_clear_message_and_writes_nothing(request, options, expected):
    if refused_before_any_write((options, expected)):
        run, writes, made_x1 = request.getfixturevalue("bad_inputs")
        msg = failed_message(run, f"Bad input {BAD_INPUT.index((options, expected))}")
        assert expected in msg, msg
        assert not made_x1
        assert writes == []
        return
    run_playbook, pve, pve_env = (request.getfixturevalue(name) for name in ("run_playbook", "pve", "pve_env"))
    run = run_playbook(f"""
    - name: Bad input
      proxgate.core.proxmox_vm: {json.dumps(options)}
    """, env=pve_env)
    assert run.rc != 0
    msg = run.result("Bad input")["msg"]
    assert expected in msg, msg
    assert "Traceback" not in run.stdout + run.stderr
    assert vm_named(pve, "x1") is None
    # Only the node knows its schema: it refuses the create call before any task starts.
    assert [method for method, _path in write_requests(pve.pve)] == ["POST"]


def test_moving_a_disk_is_refused_before_any_write(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
    - name: Move the disk
      proxgate.core.proxmox_vm:
        vmid: 9000
        memory: 1024
        disks:
          scsi0: local:3
    """, env=pve_env)
    assert run.rc != 0
    assert "disks.scsi0" in run.result("Move the disk")["msg"]
    assert writes() == []


def test_stale_digest_is_reported_not_overwritten(run_playbook, pve, pve_env):
    """Another writer changes the config between our read and our write: PVE refuses the stale digest."""
    pve.pve.fail("POST", "/nodes/pve1/qemu/101/config", 500, "checksum mismatch (file change by other user?)")
    run = run_playbook("""
    - name: Change web01
      proxgate.core.proxmox_vm:
        vmid: 101
        cores: 3
    """, env=pve_env)
    assert run.rc != 0
    assert "checksum mismatch" in run.result("Change web01")["msg"]
    assert str(pve.pve.vm(101).config["cores"]) == "2"


@pytest.mark.each_auth
def test_transient_faults_are_retried(run_playbook, pve, pve_env):
    pve.pve.fail("GET", "/cluster/resources", 503, "Service Unavailable", times=1)
    pve.pve.drop_next("GET", "/nodes/pve1/qemu/101/pending", 1)
    run = run_playbook("""
    - name: Change web01
      proxgate.core.proxmox_vm:
        vmid: 101
        description: retried
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert pve.pve.vm(101).config["description"] == "retried"


@pytest.mark.each_auth
def test_secrets_never_reach_verbose_output(run_playbook, pve, pve_env, auth_mode):
    run = run_playbook("""
    - name: Read web01
      proxgate.core.proxmox_vm:
        vmid: 101
    """, env=pve_env, verbosity=4, diff=True)
    assert run.rc == 0
    output = run.stdout + run.stderr
    secret = pve_env.get("PROXMOX_PASSWORD") or pve_env["PROXMOX_TOKEN_SECRET"]
    assert secret not in output
    assert "PVEAuthCookie=PVE:" not in output


CLOUDINIT = """
- name: Cloud-init VM
  proxgate.core.proxmox_vm:
    name: ci01
    clone: debian-13-cloud
    node: pve1
    ciuser: debian
    cipassword: "{{ ci_password }}"
    sshkeys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx7ynNbfhkpLd/EPjDcpG3P+0t7ha2TXm6aJg1eTbZ2 ops@example.com
      - ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= backup key
    ipconfig:
      ipconfig0: ip=10.0.0.30/24,gw=10.0.0.1
    nameserver: 10.0.0.2 10.0.0.3
    searchdomain: example.com
    cloudinit_storage: local-lvm
"""


def test_cloud_init_settings_drive_and_idempotence(run_playbook, pve, pve_env, writes):
    secret = {"ci_password": "Cl0ud-Init-Secret"}
    first = run_playbook(CLOUDINIT, env=pve_env, extra_vars=secret, diff=True, verbosity=3)
    assert first.rc == 0, first.stdout + first.stderr
    assert secret["ci_password"] not in first.stdout + first.stderr
    vm = vm_named(pve, "ci01")
    config = vm.config
    assert config["ciuser"] == "debian" and config["cipassword"] == secret["ci_password"]
    # URL-encoded exactly as PVE expects: %20 for spaces, %0A between keys, '+' and '/' escaped.
    assert config["sshkeys"] == (
        "ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIBx7ynNbfhkpLd%2FEPjDcpG3P%2B0t7ha2TXm6aJg1eTbZ2%20ops%40example.com"
        "%0Aecdsa-sha2-nistp256%20AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY%3D%20backup%20key%0A")
    assert config["ipconfig0"] == "ip=10.0.0.30/24,gw=10.0.0.1"
    assert config["ide2"].startswith("local-lvm:") and "cloudinit" in config["ide2"]
    regenerations = [path for method, path in writes() if method == "PUT" and path.endswith("/cloudinit")]
    assert len(regenerations) == 1

    count = len(writes())
    # The node hides the password; with update_password: on_create nothing is rewritten.
    again = run_playbook(CLOUDINIT, env=pve_env, extra_vars=secret)
    assert again.rc == 0 and again.changed == [], again.stdout
    assert len(writes()) == count

    changed = run_playbook(CLOUDINIT.replace("ip=10.0.0.30/24", "ip=10.0.0.31/24"), env=pve_env,
                           extra_vars=secret, diff=True)
    result = changed.result("Cloud-init VM")
    assert changed.rc == 0 and result["changed_keys"] == ["ipconfig0"]
    assert vm.config["ipconfig0"] == "ip=10.0.0.31/24,gw=10.0.0.1"
    assert len([p for m, p in writes() if m == "PUT" and p.endswith("/cloudinit")]) == 2


def test_cloud_init_password_always_is_rewritten_and_masked(run_playbook, pve, pve_env):
    tasks = CLOUDINIT + "    update_password: always\n"
    first = run_playbook(tasks, env=pve_env, extra_vars={"ci_password": "first-Secret-1"})
    assert first.rc == 0
    second = run_playbook(tasks, env=pve_env, extra_vars={"ci_password": "second-Secret-2"}, diff=True)
    result = second.result("Cloud-init VM")
    assert second.rc == 0 and result["changed_keys"] == ["cipassword"]
    assert vm_named(pve, "ci01").config["cipassword"] == "second-Secret-2"
    assert "second-Secret-2" not in second.stdout + second.stderr
    assert result["diff"]["after"]["cipassword"] != "second-Secret-2"


def test_bad_ssh_key_and_ipconfig_key_are_refused(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
    - name: Bad cloud-init
      proxgate.core.proxmox_vm:
        vmid: 101
        sshkeys: [not-a-key]
        ipconfig:
          eth0: ip=dhcp
    """, env=pve_env)
    msg = run.result("Bad cloud-init")["msg"]
    assert run.rc != 0 and "sshkeys[0] is not an SSH public key" in msg and "ipconfig keys must be" in msg
    assert writes() == []


def test_cloud_init_password_always_is_rewritten_even_when_unchanged(run_playbook, pve, pve_env):
    tasks = CLOUDINIT + "    update_password: always\n"
    secret = {"ci_password": "same-Secret-3"}
    assert run_playbook(tasks, env=pve_env, extra_vars=secret).rc == 0
    second = run_playbook(tasks, env=pve_env, extra_vars=secret)
    assert second.rc == 0 and second.result("Cloud-init VM")["changed_keys"] == ["cipassword"]


# The options are checked before the module logs in, so one auth mode is enough.
@pytest.mark.parametrize("auth_mode", ["token"])
def test_a_cloudinit_storage_that_would_add_drive_options_is_refused(run_playbook, pve, pve_env):
    """cloudinit_storage is the first field of the drive `STORAGE:cloudinit`. pve-common src/PVE/JSONSchema.pm
    parse_property_string splits at every ',' (no quoting) and reads a part with '=' as key=value, so
    `local-lvm,cache=unsafe` would add a drive option and `media=disk` would not be a storage at all
    (issue #15, finding 9)."""
    run = run_playbook("""
- name: Comma
  proxgate.core.proxmox_vm:
    vmid: 101
    ciuser: admin
    cloudinit_storage: "local-lvm,cache=unsafe"
  ignore_errors: true
- name: Equals
  proxgate.core.proxmox_vm:
    name: new01
    node: pve1
    ciuser: admin
    cloudinit_storage: "media=disk"
  ignore_errors: true
""", env=pve_env)
    assert [record["task"] for record in run.failed] == ["Comma", "Equals"]
    assert run.result("Comma")["msg"].startswith(
        "cloudinit_storage must not contain ',': PVE's property strings have no quoting")
    assert run.result("Equals")["msg"].startswith(
        "cloudinit_storage must not contain '=': PVE would read it as an option=value pair, not as the storage id")
    assert "Traceback" not in run.stdout + run.stderr
    assert pve.pve.requests == [], "checked before the login: nothing reaches the server"

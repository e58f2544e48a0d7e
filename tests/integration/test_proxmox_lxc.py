"""proxmox_lxc against the test server: create, update, power, clone, template, remove; in both auth modes."""

import json

import pytest

pytestmark = pytest.mark.integration

TEMPLATE_FILE = "debian-13-standard_13.1-1_amd64.tar.zst"
OSTEMPLATE = f"local:vztmpl/{TEMPLATE_FILE}"
CT_PASSWORD = "ct-root-Pa55word-for-tests"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIProxgateTestKeyOnly admin@example"

CREATE = f"""
- name: Create dns02
  proxgate.core.proxmox_lxc:
    node: pve1
    hostname: dns02
    ostemplate: {OSTEMPLATE}
    password: {CT_PASSWORD}
    ssh_public_keys: {SSH_KEY}
    cores: 2
    memory: 1024
    swap: 256
    rootfs: local-lvm:8
    mounts:
      mp0: local-lvm:4,mp=/srv/data,backup=1
    nets:
      net0: name=eth0,bridge=vmbr0,ip=dhcp,firewall=1
    features:
      nesting: true
      keyctl: true
      fuse: false
    nameserver: 10.20.0.1
    tags: [DNS, demo]
    pool: production
    onboot: true
    description: made by a test
    state: started
"""


@pytest.fixture(autouse=True)
def os_template(pve):
    """The Debian template on the storage `local`, as `pveam download local <template>` leaves it."""
    pve.pve.store_file("local", TEMPLATE_FILE, 129 * 1024 * 1024, content="vztmpl")


def ct_named(pve, hostname):
    return next((ct for ct in pve.pve.cts if ct.name == hostname), None)


@pytest.mark.each_auth
def test_create_check_mode_then_apply_then_idempotent(run_playbook, pve, pve_env, writes):
    check = run_playbook(CREATE, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    planned = check.result("Create dns02")
    assert planned["changed"] and planned["created"] and planned["status"] == "running"
    assert planned["diff"]["after"]["features"] == "keyctl=1,nesting=1"
    assert planned["diff"]["after"]["password"] == "********"
    assert writes() == [], "check mode must not write"
    assert ct_named(pve, "dns02") is None

    # -vvvv shows the module's arguments and results: the root password must not be among them.
    first = run_playbook(CREATE, env=pve_env, diff=True, verbosity=4)
    assert first.rc == 0, first.stdout + first.stderr
    assert CT_PASSWORD not in first.stdout + first.stderr
    created = first.result("Create dns02")
    assert created["changed"] and created["created"] and created["status"] == "running"
    ct = ct_named(pve, "dns02")
    assert ct is not None and ct.vmid == created["vmid"] and ct.status == "running" and ct.node == "pve1"
    assert str(ct.config["memory"]) == "1024" and str(ct.config["swap"]) == "256"
    assert ct.config["rootfs"].startswith(f"local-lvm:vm-{ct.vmid}-disk-0") and "size=8G" in ct.config["rootfs"]
    assert "mp=/srv/data" in ct.config["mp0"] and "size=4G" in ct.config["mp0"]
    assert "hwaddr=" in ct.config["net0"] and "firewall=1" in ct.config["net0"]
    assert ct.config["features"] == "keyctl=1,nesting=1"
    assert ct.config["tags"] == "demo;dns"
    assert str(ct.config["unprivileged"]) == "1", "a new container is unprivileged by default"
    assert ct.config["ostype"] == "debian"
    assert ct.vmid in pve.pve.pools["production"]
    create_call = next(body for method, path, body in pve.pve.requests
                       if method == "POST" and path.endswith("/nodes/pve1/lxc"))
    assert b"password=" in create_call and b"ssh-public-keys=" in create_call
    assert [upid.split(":")[5] for upid in created["tasks"]] == ["vzcreate", "vzstart"]
    assert created["config"]["hostname"] == "dns02" and created["pending"] == []

    before = len(writes())
    second = run_playbook(CREATE, env=pve_env, diff=True)
    assert second.rc == 0, second.stdout + second.stderr
    assert second.changed == [], second.result("Create dns02")
    assert len(writes()) == before, f"second run wrote: {writes()[before:]}"


UPDATE = """
- name: Change dns01
  proxgate.core.proxmox_lxc:
    hostname: dns01
    memory: 1024
    swap: 512
    rootfs: local-lvm:8
    nets:
      net0: name=eth0,bridge=vmbr1,ip=10.20.2.0/16
    features:
      nesting: true
    tags: [dns]
    pool: production
"""


def test_update_only_what_differs_keeps_hwaddr_and_reports_pending(run_playbook, pve, pve_env, writes):
    ct = pve.pve.ct(200)
    check = run_playbook(UPDATE, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    planned = check.result("Change dns01")
    # swap and rootfs already match (the volume name and size the node chose are not compared).
    assert planned["changed_keys"] == ["features", "memory", "net0", "tags"]
    assert str(planned["diff"]["before"]["memory"]) == "512" and planned["diff"]["after"]["memory"] == 1024
    assert planned["diff"]["before"]["pool"] == "" and planned["diff"]["after"]["pool"] == "production"
    assert writes() == []

    applied = run_playbook(UPDATE, env=pve_env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    result = applied.result("Change dns01")
    assert result["changed"] and not result["created"]
    assert writes() == [("PUT", "/api2/json/nodes/pve1/lxc/200/config"), ("PUT", "/api2/json/pools/production")]
    assert 200 in pve.pve.pools["production"]
    # dns01 runs: memory, the NIC and tags apply at once, the feature flags wait for the next start.
    assert str(ct.config["memory"]) == "1024"
    assert "hwaddr=BC:24:11:00:02:00" in ct.config["net0"], "an updated NIC keeps its MAC"
    assert "bridge=vmbr1" in ct.config["net0"]
    assert ct.pending == {"features": "nesting=1"}
    assert result["pending"] == ["features"] and result["reboot_required"] is True
    assert result["config"]["features"] == "nesting=1"
    count = len(writes())

    again = run_playbook(UPDATE, env=pve_env)
    assert again.rc == 0 and again.changed == [], again.result("Change dns01")
    assert len(writes()) == count

    restart = run_playbook("""
    - name: Restart dns01
      proxgate.core.proxmox_lxc:
        vmid: 200
        state: restarted
    """, env=pve_env)
    assert restart.rc == 0, restart.stdout + restart.stderr
    assert restart.result("Restart dns01")["reboot_required"] is False
    assert ct.config["features"] == "nesting=1" and not ct.pending and ct.status == "running"


def test_power_clone_template_and_remove(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
    - name: Stop dns01
      proxgate.core.proxmox_lxc:
        hostname: dns01
        state: stopped
    - name: Full clone of dns01
      proxgate.core.proxmox_lxc:
        hostname: ct-base
        clone: dns01
        full: true
        storage: local-lvm
        node: pve1
        memory: 256
    - name: Make it a template
      proxgate.core.proxmox_lxc:
        hostname: ct-base
        state: template
    - name: Make it a template again
      proxgate.core.proxmox_lxc:
        hostname: ct-base
        state: template
    - name: Linked clone of the template, running
      proxgate.core.proxmox_lxc:
        hostname: ct-app
        clone: ct-base
        cores: 1
        tags: [app]
        state: started
    - name: Restart the clone
      proxgate.core.proxmox_lxc:
        hostname: ct-app
        state: restarted
    - name: Start dns01 again
      proxgate.core.proxmox_lxc:
        vmid: 200
        state: started
    - name: Start dns01 once more
      proxgate.core.proxmox_lxc:
        vmid: 200
        state: started
    - name: Remove the running clone
      proxgate.core.proxmox_lxc:
        hostname: ct-app
        state: absent
        force: true
    - name: Remove it again
      proxgate.core.proxmox_lxc:
        hostname: ct-app
        state: absent
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Stop dns01")["status"] == "stopped"
    assert [upid.split(":")[5] for upid in run.result("Stop dns01")["tasks"]] == ["vzshutdown"]
    base = run.result("Full clone of dns01")
    assert base["created"] and base["node"] == "pve1" and base["status"] == "stopped"
    assert base["config"]["memory"] in (256, "256")
    template = pve.pve.ct(base["vmid"])
    assert template.template and "base-" in template.config["rootfs"]
    assert run.result("Make it a template")["changed"] and not run.result("Make it a template again")["changed"]
    app = run.result("Linked clone of the template, running")
    assert app["created"] and app["status"] == "running" and app["config"]["tags"] == "app"
    assert run.result("Restart the clone")["changed"]
    assert run.result("Start dns01 again")["changed"] and not run.result("Start dns01 once more")["changed"]
    assert pve.pve.ct(200).status == "running"
    removed = run.result("Remove the running clone")
    assert removed["changed"] and removed["status"] == "absent"
    assert not run.result("Remove it again")["changed"]
    assert pve.pve.ct(app["vmid"]) is None and ct_named(pve, "ct-app") is None
    assert pve.pve.ct(base["vmid"]) is not None
    assert [path for method, path in writes() if method == "DELETE"] == [f"/api2/json/nodes/pve1/lxc/{app['vmid']}"]


# Refusals that need the server's view (the container, its state, the clone source): both auth modes.
REFUSED = [
    ({"hostname": "dns01", "state": "absent"}, ["container 200 (dns01) is running", "force: true"]),
    ({"hostname": "dns01", "unprivileged": False, "memory": 2048},
     ["unprivileged: container 200 is unprivileged", "cannot change"]),
    ({"hostname": "ct-x", "clone": "dns01", "unprivileged": False}, ["unprivileged: the clone source dns01"]),
    ({"hostname": "dns01", "rootfs": "local:8"}, ["rootfs: the container's volume is on 'local-lvm', not 'local'"]),
    ({"vmid": 101, "memory": 1024}, ["vmid 101 is a QEMU VM (web01)", "proxmox_vm"]),
    ({"hostname": "ct-x", "clone": "no-such-ct"}, ["clone: no container or container template 'no-such-ct'"]),
    ({"hostname": "ct-x", "ostemplate": OSTEMPLATE}, ["node is required to create a container"]),
    ({"hostname": "ct-x", "node": "pve1"}, ["ostemplate is required to create a container"]),
    ({"hostname": "ct-x", "node": "pve1", "ostemplate": OSTEMPLATE, "mounts": {"mp0": "local-lvm:4,mp=/d"}},
     ["rootfs is required when mounts are given"]),
]
# Refusals of the options alone, before any API call (tests/unit has every case); one auth mode is enough.
INVALID = [
    ({"hostname": "bad name!", "node": "pve1", "ostemplate": OSTEMPLATE}, ["hostname must be a DNS name"]),
    ({"hostname": "ct-x", "nets": {"net0": "bridge=vmbr0"}}, ["nets.net0 must set name="]),
    ({"hostname": "ct-x", "features": {"docker": True}}, ["features.docker is not a container feature"]),
    ({"hostname": "ct-x", "clone": "dns01", "ostemplate": OSTEMPLATE}, ["mutually exclusive: clone|ostemplate"]),
    ({"hostname": "ct-x", "node": "pve1", "ostemplate": OSTEMPLATE, "password": "abcd"},
     ["password must be at least 5 characters"]),
    ({"hostname": "ct-x", "state": "bogus"}, ["value of state must be one of"]),
    ({"node": "pve1"}, ["one of the following is required: vmid, hostname"]),
]


def refusal_tasks(cases):
    return "\n".join(f"- name: Case {n}\n  proxgate.core.proxmox_lxc: {json.dumps(options)}\n  ignore_errors: true"
                     for n, (options, _expected) in enumerate(cases))


def assert_refused(run, cases):
    assert "Traceback" not in run.stdout + run.stderr
    failed = {record["task"] for record in run.failed}
    for n, (options, expected) in enumerate(cases):
        result = run.result(f"Case {n}")
        assert f"Case {n}" in failed, (options, result)
        for text in expected:
            assert text in result["msg"], (options, result["msg"])


def test_refusals_name_the_parameter_and_write_nothing(run_playbook, pve, pve_env, writes):
    run = run_playbook(refusal_tasks(REFUSED) + f"""
- name: Missing template
  proxgate.core.proxmox_lxc:
    node: pve1
    hostname: ct-y
    ostemplate: local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz
    rootfs: local-lvm:2
  ignore_errors: true
- name: Unknown config key
  proxgate.core.proxmox_lxc:
    node: pve1
    hostname: ct-z
    ostemplate: {OSTEMPLATE}
    config:
      frobnicate: 1
  ignore_errors: true
""", env=pve_env)
    assert_refused(run, REFUSED)
    ct = pve.pve.ct(200)
    assert ct.status == "running" and str(ct.config["memory"]) == "512"
    assert ct_named(pve, "ct-x") is None
    # Failures only the node can see come with its own words: the create task's exit status, the schema check.
    missing = run.result("Missing template")
    assert "vzcreate" in missing["msg"] and "does not exist" in missing["msg"]
    assert "alpine-3.22-default_20250617_amd64.tar.xz" in missing["exitstatus"]
    assert "frobnicate: property is not defined in schema" in run.result("Unknown config key")["msg"]
    assert ct_named(pve, "ct-y") is None and ct_named(pve, "ct-z") is None
    # The two create calls the node refused are the only writes: every other case stopped before writing.
    assert writes() == [("POST", "/api2/json/nodes/pve1/lxc")] * 2


# The options are checked before the module logs in, so one auth mode is enough.
@pytest.mark.parametrize("auth_mode", ["token"])
def test_invalid_options_are_refused_before_any_api_call(run_playbook, pve, pve_env):
    run = run_playbook(refusal_tasks(INVALID), env=pve_env)
    assert_refused(run, INVALID)
    assert pve.pve.requests == [], "nothing may reach the server"


@pytest.mark.parametrize("auth_mode", ["token"])
def test_a_clone_storage_that_would_add_mount_options_is_refused(run_playbook, pve, pve_env):
    """A full clone's volumes are compared as `STORAGE:volume` property strings before the clone. pve-common
    src/PVE/JSONSchema.pm parse_property_string splits at every ',' (no quoting) and reads a part with '=' as
    key=value, so a storage holding either is refused with the option's name (issue #15, finding 9)."""
    run = run_playbook(refusal_tasks(CLONE_STORAGE), env=pve_env)
    assert_refused(run, CLONE_STORAGE)
    assert pve.pve.requests == [], "checked before the login: nothing reaches the server"
    assert ct_named(pve, "ct-x") is None


CLONE_STORAGE = [
    ({"hostname": "ct-x", "clone": "dns01", "full": True, "storage": "local-lvm,backup=0"},
     ["storage must not contain ','", "PVE's property strings have no quoting", "'local-lvm,backup=0'"]),
    ({"hostname": "ct-x", "clone": "dns01", "full": True, "storage": "mp=/srv"},
     ["storage must not contain '='", "not as the storage id"]),
]

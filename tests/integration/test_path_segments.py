"""Names that go into API paths (issue #15 finding 8): a node, pool, storage or snapshot name that is no such
name in PVE's own format is refused before anything reaches the server, with a message naming the option.

Before, ``node: "pve1/qemu/101/status/stop?x="`` made proxmox_vm POST /nodes/pve1/qemu/101/status/stop and
stopped VM 101, and ``pool: ../access/users/root@pam?`` sent a PUT to the access API.

The formats, as PVE checks them:
- node: pve-node, pve-common src/PVE/JSONSchema.pm pve_verify_node_name (a DNS label).
- pool: pve-poolid, pve-access-control src/PVE/AccessControl.pm verify_poolname.
- storage: pve-storage-id, pve-common src/PVE/JSONSchema.pm parse_storage_id -> parse_id.
- snapshot name: pve-snapshot-name (format pve-configid, maxLength 40), pve-common src/PVE/JSONSchema.pm
  pve_verify_configid.
"""

import pytest

from tests.integration.batch_fixtures import failed_message, once_for_all_workers, run_tasks, served_pve

pytestmark = pytest.mark.integration


@pytest.fixture
def auth_mode():
    """One auth mode: the refusals come before the login, so the other one would prove nothing more."""
    return "token"


def vm(pve, vmid):
    return next(guest for guest in pve.pve.vms if guest.vmid == vmid)


def refused(run, task):
    assert run.rc != 0, run.stdout
    assert [r["task"] for r in run.failed] == [task], run.stdout
    result = run.result(task)
    assert "Traceback" not in run.stdout + run.stderr
    return result["msg"]


NODE_TASK = """
- name: Create with a node that is a path
  proxgate.core.proxmox_vm:
    vmid: 150
    name: web150
    node: "pve1/qemu/101/status/stop?x="
    memory: 512
"""


def test_a_node_that_is_a_path_is_refused_and_vm_101_keeps_running(run_playbook, pve, pve_env):
    """pve_verify_node_name (pve-common JSONSchema.pm): a DNS label, so no '/', '?'."""
    assert vm(pve, 101).status == "running"
    run = run_playbook(NODE_TASK, env=pve_env)
    msg = refused(run, "Create with a node that is a path")
    assert msg == ("node must be a Proxmox VE node name (a DNS label: letters, digits and '-'); "
                   "got 'pve1/qemu/101/status/stop?x='")
    assert pve.pve.requests == [], "refused before the login: nothing reaches the server"
    assert vm(pve, 101).status == "running"


NODE_CASES = [
    ("proxmox_lxc", "vmid: 250\n    hostname: ct250\n    ostemplate: local:vztmpl/debian-13.tar.zst"),
    ("proxmox_backup", "guests: [101]\n    storage: local"),
    ("proxmox_backup_info", "storage: local"),
    ("proxmox_vm_info", "vmid: 101"),
]
STORAGE_CASES = [
    ("proxmox_backup", "guests: [101]\n    storage: \"local/../../../access\""),
    ("proxmox_backup_info", "storage: \"local/../../../access\""),
    ("proxmox_disk", "vmid: 101\n    disk: scsi1\n    size: 1G\n    storage: \"local/../../../access\""),
    ("proxmox_vm", "vmid: 150\n    name: web150\n    clone: '101'\n    storage: \"local/../../../access\""),
]
SNAPSHOT_CASES = [
    ("proxmox_snapshot", "vmid: 101\n    snapname: \"x/../../status/stop\"\n    state: absent"),
    ("proxmox_vm", "vmid: 150\n    name: web150\n    clone: '101'\n    snapname: \"x/../../status/stop\""),
    ("proxmox_lxc", "vmid: 250\n    hostname: ct250\n    clone: '200'\n    snapname: \"x/../../status/stop\""),
]


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """The cases of the three parametrized tests below as the tasks of one playbook run against one server
    (batch_fixtures.py). (the run, the requests the server saw, VM 101's status after it)."""
    def make(workdir):
        served, env = served_pve(workdir / "pki")
        try:
            return run_tasks(workdir, tasks, env), list(served.pve.requests), vm(served, 101).status
        finally:
            served.stop()

    tasks = [f"- name: Node with a query {index}\n  proxgate.core.{module}:\n    node: \"pve1?x=#\"\n    {extra}"
             for index, (module, extra) in enumerate(NODE_CASES)]
    tasks += [f"- name: Storage that is a path {index}\n  proxgate.core.{module}:\n    {task}"
              for index, (module, task) in enumerate(STORAGE_CASES)]
    tasks += [f"- name: Snapshot name that is a path {index}\n  proxgate.core.{module}:\n    {task}"
              for index, (module, task) in enumerate(SNAPSHOT_CASES)]
    return once_for_all_workers(tmp_path_factory, "path-segment-refusals", make)


@pytest.mark.parametrize("module, extra", NODE_CASES)
def test_every_module_with_a_node_option_refuses_one_that_is_no_node_name(refusals, module, extra):
    run, requests, _status = refusals
    msg = failed_message(run, f"Node with a query {NODE_CASES.index((module, extra))}")
    assert msg.startswith("node must be a Proxmox VE node name (a DNS label: letters, digits and '-'); got 'pve1?x=#'")
    assert requests == []


POOL_TASK = """
- name: Move 101 to a pool that is a path
  proxgate.core.proxmox_vm:
    vmid: 101
    pool: "../access/users/root@pam?"
"""


def test_a_pool_that_climbs_to_the_access_api_is_refused(run_playbook, pve, pve_env):
    """verify_poolname (pve-access-control AccessControl.pm): [A-Za-z0-9.-_] levels, at most 3 of them."""
    run = run_playbook(POOL_TASK, env=pve_env)
    msg = refused(run, "Move 101 to a pool that is a path")
    assert msg.startswith("pool must be a Proxmox VE pool id (letters, digits, '.', '-' and '_', not '.' or '..'")
    assert msg.endswith("got '../access/users/root@pam?'")
    assert pve.pve.requests == []
    assert 101 in pve.pve.pools["production"]


def test_a_pool_level_of_dots_is_refused_though_pve_would_take_it(run_playbook, pve, pve_env):
    """verify_poolname accepts 'production/..' (its levels are [A-Za-z0-9.-_]+); no path can carry it."""
    run = run_playbook(POOL_TASK.replace("../access/users/root@pam?", "production/.."), env=pve_env)
    assert "got 'production/..'" in refused(run, "Move 101 to a pool that is a path")
    assert pve.pve.requests == []


def test_a_nested_pool_is_joined_with_poolid_as_a_parameter(run_playbook, pve, pve_env, writes):
    """A nested pool id (parent/child, PVE 8.1+) holds a '/', so it cannot be one path segment: the module
    sends PUT /pools with poolid, and the VM lands in the child pool, not in a pool path made of two."""
    pve.pve.pools["production/web"] = set()
    pve.pve.pool_info["production/web"] = {"comment": None, "storage": set()}
    run = run_playbook(POOL_TASK.replace("../access/users/root@pam?", "production/web"), env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Move 101 to a pool that is a path")["changed"]
    assert 101 in pve.pve.pools["production/web"] and 101 not in pve.pve.pools["production"]
    assert writes() == [("PUT", "/api2/json/pools")]


@pytest.mark.parametrize("module, task", STORAGE_CASES)
def test_a_storage_that_is_a_path_is_refused(refusals, module, task):
    """parse_storage_id -> parse_id (pve-common JSONSchema.pm): letters, digits, '-', '_', '.'."""
    run, requests, _status = refusals
    msg = failed_message(run, f"Storage that is a path {STORAGE_CASES.index((module, task))}")
    assert msg.startswith("storage must be a storage id"), msg
    assert "'local/../../../access'" in msg
    assert requests == []


@pytest.mark.parametrize("module, task", SNAPSHOT_CASES)
def test_a_snapshot_name_that_is_a_path_is_refused(refusals, module, task):
    """pve-snapshot-name: format pve-configid, pve_verify_configid (pve-common JSONSchema.pm)."""
    run, requests, status = refusals
    msg = failed_message(run, f"Snapshot name that is a path {SNAPSHOT_CASES.index((module, task))}")
    assert "snapname" in msg and "'x/../../status/stop'" in msg, msg
    assert requests == []
    assert status == "running"

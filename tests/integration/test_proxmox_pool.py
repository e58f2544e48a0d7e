"""proxmox_pool against the test server (demo guests: 101 web01 and 102 win-desktop in pool production; 103 db01
and the container 200 dns01 in none), in both auth modes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

POOLS = "/api2/json/pools"
CREATE = """
    - name: Gateway pool
      proxgate.core.proxmox_pool:
        name: gateway
        comment: Published guests
        vms: [db01, 200]
        storage: [local-lvm]
"""


def status(run, task_name):
    return [r for r in run.results if r["task"] == task_name][-1]["status"]


@pytest.mark.each_auth
def test_create_in_check_mode_then_apply_then_nothing_to_do(run_playbook, pve, pve_env, writes):
    check = run_playbook(CREATE, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Gateway pool")
    assert predicted["changed"] is True
    assert predicted["diff"] == {"before": {}, "after": {"comment": "Published guests", "vms": [103, 200],
                                                         "storage": ["local-lvm"]}}
    assert writes() == []
    assert "gateway" not in pve.pve.pools

    applied = run_playbook(CREATE, env=pve_env)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("Gateway pool")["pool"] == {"poolid": "gateway", "comment": "Published guests",
                                                      "vms": [103, 200], "storage": ["local-lvm"]}
    assert pve.pve.pools["gateway"] == {103, 200}
    assert pve.pve.pool_info["gateway"]["storage"] == {"local-lvm"}
    assert writes() == [("POST", POOLS), ("PUT", POOLS + "/gateway")]

    again = run_playbook(CREATE, env=pve_env, diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("Gateway pool")["changed"] is False
    assert len(writes()) == 2


def test_members_added_kept_removed_only_when_exclusive(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
        - name: Add db01, keep the others
          proxgate.core.proxmox_pool:
            name: production
            vms: [103]
        - name: Only web01, check mode
          proxgate.core.proxmox_pool:
            name: production
            vms: [web01]
            exclusive: true
          check_mode: true
        - name: Only web01
          proxgate.core.proxmox_pool:
            name: production
            vms: [web01]
            storage: [local]
            exclusive: true
        - name: Storage untouched when not given
          proxgate.core.proxmox_pool:
            name: production
            vms: [web01]
            exclusive: true
    """, env=pve_env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("Add db01, keep the others")["pool"]["vms"] == [101, 102, 103]
    assert run.result("Only web01, check mode")["diff"] == {"before": {"vms": [101, 102, 103]}, "after": {"vms": [101]}}
    assert run.result("Only web01")["pool"] == {"poolid": "production", "comment": None, "vms": [101],
                                                "storage": ["local"]}
    assert run.changed == ["Add db01, keep the others", "Only web01, check mode", "Only web01"]
    assert pve.pve.pools["production"] == {101}
    assert writes() == [("PUT", POOLS + "/production")] * 3  # add; then add local and remove 102, 103


def test_absent_refuses_a_pool_with_members_then_deletes_it_empty(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
        - name: Remove with members
          proxgate.core.proxmox_pool:
            name: production
            state: absent
          ignore_errors: true
        - name: Empty it
          proxgate.core.proxmox_pool:
            name: production
            vms: []
            storage: []
            exclusive: true
        - name: Remove
          proxgate.core.proxmox_pool:
            name: production
            state: absent
        - name: Remove again
          proxgate.core.proxmox_pool:
            name: production
            state: absent
    """, env=pve_env, diff=True)
    assert status(run, "Remove with members") == "failed"
    assert run.result("Remove with members")["msg"] == (
        "pool 'production' still holds vms 101, 102, and PVE deletes only an empty pool: take them out first "
        "(vms: [], storage: [] and exclusive: true)")
    assert run.result("Remove")["diff"] == {"before": {"comment": None, "vms": [], "storage": []}, "after": {}}
    assert run.changed == ["Empty it", "Remove"]
    assert "production" not in pve.pve.pools
    assert writes() == [("PUT", POOLS + "/production"), ("DELETE", POOLS + "/production")]


def test_bad_input_is_refused_before_any_write(run_playbook, pve, pve_env, writes):
    cases = {
        "Unknown guest": ("vms: [web01, 999, nosuch]",
                          "vms: no guest with vmid 999 in the cluster; no guest named 'nosuch' in the cluster"),
        "Guest in another pool": ("vms: [web01]", "vms: guest 101 (web01) is in pool 'production'; set "
                                                  "allow_move: true to move it into this pool"),
        "Unknown storage": ("storage: [local-lwm]",
                            "storage: this server has no storage 'local-lwm' (did you mean 'local-lvm'?)"),
        "Bad id": ("name: 'gate way'", "name must be a Proxmox VE pool id"),
    }
    run = run_playbook("".join(f"""
- name: {name}
  proxgate.core.proxmox_pool:
    name: gateway
    {options}
  ignore_errors: true
""" for name, (options, _msg) in cases.items()).replace("name: gateway\n    name: ", "name: "), env=pve_env)
    for name, (_options, expected) in cases.items():
        assert status(run, name) == "failed", name
        assert expected in run.result(name)["msg"], (name, run.result(name)["msg"])
    assert writes() == []


def test_allow_move_takes_a_guest_from_its_pool(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
        - name: Move web01
          proxgate.core.proxmox_pool:
            name: production2
            vms: [web01]
            allow_move: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert pve.pve.pools["production2"] == {101} and pve.pve.pools["production"] == {102}
    assert writes() == [("POST", POOLS), ("PUT", POOLS + "/production2")]


def test_a_nested_pool_is_managed_through_poolid(run_playbook, pve, pve_env, writes):
    tasks = """
        - name: Parent
          proxgate.core.proxmox_pool:
            name: gw
        - name: Child
          proxgate.core.proxmox_pool:
            name: gw/web
            vms: [db01]
    """
    first = run_playbook(tasks, env=pve_env)
    assert first.rc == 0, first.stdout + first.stderr
    assert first.result("Child")["pool"] == {"poolid": "gw/web", "comment": None, "vms": [103], "storage": []}
    again = run_playbook(tasks, env=pve_env)
    assert again.rc == 0 and again.changed == [], again.stdout + again.stderr
    gone = run_playbook("""
        - name: Empty the child
          proxgate.core.proxmox_pool:
            name: gw/web
            vms: []
            exclusive: true
        - name: Remove the child
          proxgate.core.proxmox_pool:
            name: gw/web
            state: absent
    """, env=pve_env)
    assert gone.rc == 0, gone.stdout + gone.stderr
    assert set(pve.pve.pools) == {"production", "gw"}
    assert writes() == [("POST", POOLS), ("POST", POOLS), ("PUT", POOLS), ("PUT", POOLS), ("DELETE", POOLS)]

"""Issue #16: proxmox_vm, proxmox_lxc and proxmox_snapshot converge where a node would make them write on
every run (empty values, trailing whitespace, agent sub-options) and refuse a vmid that is another guest."""

from __future__ import annotations

import concurrent.futures
import sys
import textwrap

import pytest

from tests.integration.conftest import BIN, run_ansible_playbook

pytestmark = pytest.mark.integration


@pytest.fixture
def auth_mode():
    """Auth does not matter here (test_proxmox_vm and test_proxmox_lxc run both modes): a token only."""
    return "token"


def converge(run_playbook, pve_env, writes, tasks):
    """Apply tasks, then apply them again: the second run must report nothing changed and write nothing.
    Returns the first run."""
    first = run_playbook(tasks, env=pve_env)
    assert first.rc == 0, first.stdout + first.stderr
    before = len(writes())
    second = run_playbook(tasks, env=pve_env)
    assert second.rc == 0, second.stdout + second.stderr
    assert second.changed == [], [second.result(name) for name in second.changed]
    assert writes()[before:] == [], "the second run wrote"
    return first


# ------------------------------------------------------------------ item 1: empty values

EMPTY_VALUES = """
- name: VM without tags and notes
  proxgate.core.proxmox_vm:
    vmid: 101
    tags: []
    description: ""
- name: Container without tags and notes
  proxgate.core.proxmox_lxc:
    vmid: 200
    tags: []
    description: ""
"""


def test_empty_tags_and_description_remove_the_keys_then_change_nothing(run_playbook, pve, pve_env, writes):
    pve.pve.vm(101).config["description"] = "old notes"
    pve.pve.ct(200).config.update(tags="dns;old", description="old notes")

    check = run_playbook(EMPTY_VALUES, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    assert check.result("VM without tags and notes")["changed_keys"] == ["description", "tags"]
    assert check.result("Container without tags and notes")["changed_keys"] == ["description", "tags"]
    assert writes() == []

    first = converge(run_playbook, pve_env, writes, EMPTY_VALUES)
    assert first.changed == ["VM without tags and notes", "Container without tags and notes"]
    for config in (pve.pve.vm(101).config, pve.pve.ct(200).config):
        assert "tags" not in config and "description" not in config, config


def test_empty_values_on_a_guest_without_them_make_no_call(run_playbook, pve, pve_env, writes):
    pve.pve.vm(101).config.pop("tags")
    run = run_playbook(EMPTY_VALUES, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == [] and writes() == []


# ------------------------------------------------------------------ item 3: trailing whitespace

def test_descriptions_with_trailing_whitespace_converge(run_playbook, pve, pve_env, writes):
    tasks = """
    - name: VM notes
      proxgate.core.proxmox_vm:
        vmid: 101
        description: "Web server\\nowner: ops  \\n\\n"
    - name: Container notes
      proxgate.core.proxmox_lxc:
        vmid: 200
        description: "DNS resolver \\t\\n"
    - name: Snapshot notes
      proxgate.core.proxmox_snapshot:
        vmid: 101
        snapname: before-upgrade
        description: "Before the upgrade  \\n"
    - name: Same snapshot notes, with trailing whitespace
      proxgate.core.proxmox_snapshot:
        vmid: 101
        snapname: installed
        description: "fresh install \\t\\n"
    """
    vm = pve.pve.vm(101)
    vm.snapshots["installed"] = dict(vm.config, snaptime=1767225600, description="fresh install")
    vm.config["parent"] = "installed"
    first = converge(run_playbook, pve_env, writes, tasks)
    assert first.changed == ["VM notes", "Container notes", "Snapshot notes"]
    assert vm.config["description"] == "Web server\nowner: ops"
    assert pve.pve.ct(200).config["description"] == "DNS resolver"
    assert vm.snapshots["before-upgrade"]["description"] == "Before the upgrade"
    assert first.result("Snapshot notes")["snapshot"]["description"] == "Before the upgrade"


# ------------------------------------------------------------------ item 2: agent sub-options

AGENT = """
- name: Agent on, as a boolean
  proxgate.core.proxmox_vm:
    vmid: 101
    agent: true
- name: One field of the agent
  proxgate.core.proxmox_vm:
    vmid: 103
    agent: type=isa
- name: Agent off where there is none
  proxgate.core.proxmox_vm:
    vmid: 102
    agent: false
"""


def test_agent_fields_not_given_are_kept(run_playbook, pve, pve_env, writes):
    pve.pve.vm(101).config["agent"] = "enabled=1,fstrim_cloned_disks=1"
    pve.pve.vm(103).config["agent"] = "1,freeze-fs-on-backup=0"
    pve.pve.vm(102).config.pop("agent")

    first = converge(run_playbook, pve_env, writes, AGENT)
    assert first.changed == ["One field of the agent"]
    assert pve.pve.vm(101).config["agent"] == "enabled=1,fstrim_cloned_disks=1"
    assert pve.pve.vm(103).config["agent"] == "enabled=1,freeze-fs-on-backup=0,type=isa"
    assert "agent" not in pve.pve.vm(102).config


def test_agent_refuses_a_field_pve_does_not_have(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
    - name: Misspelt agent field
      proxgate.core.proxmox_vm:
        vmid: 101
        agent: enabled=1,fstrim=1
    """, env=pve_env)
    assert run.rc != 0
    msg = run.result("Misspelt agent field")["msg"]
    assert "agent: 'fstrim' is not a field of the agent option" in msg and "fstrim_cloned_disks" in msg
    assert writes() == []


# ------------------------------------------------------------------ item 6: a vmid that is another guest

def test_a_vmid_with_another_name_is_refused_in_every_state(run_playbook, pve, pve_env, writes):
    tasks = "\n".join(f"""
    - name: Other VM, {state}
      proxgate.core.proxmox_vm:
        vmid: 101
        name: nc-other
        memory: 512
        state: {state}
        force: true
      ignore_errors: true
    - name: Other container, {state}
      proxgate.core.proxmox_lxc:
        vmid: 200
        hostname: nc-other
        memory: 512
        state: {state}
        force: true
      ignore_errors: true""" for state in ("present", "stopped", "absent"))
    for check in (True, False):
        run = run_playbook(tasks, env=pve_env, check=check)
        assert run.rc == 0, run.stdout + run.stderr
        for state in ("present", "stopped", "absent"):
            vm_msg = run.result(f"Other VM, {state}")["msg"]
            assert vm_msg.startswith("vmid 101 is the VM 'web01', not 'nc-other'; nothing was changed"), vm_msg
            assert "rename: true" in vm_msg
            ct_msg = run.result(f"Other container, {state}")["msg"]
            assert ct_msg.startswith("vmid 200 is the container 'dns01', not 'nc-other'"), ct_msg
    assert writes() == []
    web01 = pve.pve.vm(101)
    assert web01.name == "web01" and str(web01.config["memory"]) == "2048" and web01.status == "running"


def test_rename_true_renames_the_guest_then_changes_nothing(run_playbook, pve, pve_env, writes):
    first = converge(run_playbook, pve_env, writes, """
    - name: Rename web01
      proxgate.core.proxmox_vm:
        vmid: 101
        name: web01-old
        rename: true
    - name: Rename dns01
      proxgate.core.proxmox_lxc:
        vmid: 200
        hostname: dns01-old
        rename: true
    """)
    assert first.changed == ["Rename web01", "Rename dns01"]
    assert pve.pve.vm(101).config["name"] == "web01-old"
    assert pve.pve.ct(200).config["hostname"] == "dns01-old"


def test_a_vmid_of_the_other_kind_of_guest_is_refused_in_every_state(run_playbook, pve, pve_env, writes):
    tasks = "\n".join(f"""
    - name: VM module on a container, {state}
      proxgate.core.proxmox_vm:
        vmid: 200
        node: pve1
        state: {state}
        force: true
      ignore_errors: true
    - name: Container module on a VM, {state}
      proxgate.core.proxmox_lxc:
        vmid: 101
        state: {state}
        force: true
      ignore_errors: true""" for state in ("present", "started", "stopped", "restarted", "template", "absent"))
    run = run_playbook(tasks, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    for state in ("present", "started", "stopped", "restarted", "template", "absent"):
        assert run.result(f"VM module on a container, {state}")["msg"] == \
            "vmid 200 is an LXC container (dns01), not a VM; manage it with proxgate.core.proxmox_lxc"
        assert run.result(f"Container module on a VM, {state}")["msg"] == \
            "vmid 101 is a QEMU VM (web01), not a container; manage it with proxgate.core.proxmox_vm"
    assert writes() == []
    assert pve.pve.ct(200).status == "running" and pve.pve.vm(101).status == "running"


# ------------------------------------------------------------------ item 9: minor points

def test_explicit_defaults_and_fixed_size_volumes_change_nothing(run_playbook, pve, pve_env, writes):
    db01 = pve.pve.vm(103)
    db01.config.update(bios="ovmf", efidisk0="local-lvm:vm-103-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M",
                       tpmstate0="local-lvm:vm-103-disk-2,version=v2.0,size=4M")
    run = run_playbook("""
    - name: Defaults said out loud
      proxgate.core.proxmox_vm:
        vmid: 103
        cores: 2
        sockets: 1
        cpu: kvm64
        onboot: false
        scsihw: lsi
        disks:
          efidisk0: local-lvm:1,efitype=4m,pre-enrolled-keys=1
          tpmstate0: local-lvm:1,version=v2.0
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("Defaults said out loud")
    assert result["changed"] is False and writes() == []
    assert not result.get("warnings"), result.get("warnings")
    assert {"sockets", "cpu", "onboot", "scsihw"}.isdisjoint(db01.config)


def test_proxmox_api_shows_the_keys_of_a_pending_list_and_masks_secret_values(run_playbook, pve, pve_env, writes):
    web01 = pve.pve.vm(101)
    web01.config["cipassword"] = "hunter2-old"
    web01.pending.update(memory=4096, cipassword="hunter2-new")
    run = run_playbook("""
    - name: Pending changes of web01
      proxgate.core.proxmox_api:
        path: /nodes/pve1/qemu/101/pending
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    items = {item["key"]: item for item in run.result("Pending changes of web01")["data"]}
    assert {"memory", "cores", "cipassword", "name"} <= set(items)
    assert str(items["memory"]["pending"]) == "4096" and str(items["memory"]["value"]) == "2048"
    assert "hunter2" not in run.stdout + run.stderr and writes() == []
    assert items["cipassword"]["value"] in ("********", "**********")


def test_an_empty_device_value_is_refused_not_taken_as_a_removal(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
    - name: Empty NIC
      proxgate.core.proxmox_vm:
        vmid: 101
        nets:
          net0: ""
    """, env=pve_env)
    assert run.rc != 0
    assert run.result("Empty NIC")["msg"] == "nets.net0 is empty; give a property string, or null to remove the device"
    assert writes() == [] and "net0" in pve.pve.vm(101).config


POOL = """
- name: Pool development
  proxgate.core.proxmox_api:
    path: /pools
    method: POST
    state: present
    id_key: poolid
    data:
      poolid: development
      comment: {comment}
"""


def test_proxmox_api_creates_a_pool_once_then_updates_only_its_comment(run_playbook, pve, pve_env, writes):
    check = run_playbook(POOL.format(comment="Test VMs"), env=pve_env, check=True)
    assert check.rc == 0 and check.result("Pool development")["changed"] and writes() == []

    first = converge(run_playbook, pve_env, writes, POOL.format(comment="Test VMs"))
    assert first.result("Pool development")["changed_keys"] == ["comment", "poolid"]
    assert writes() == [("POST", "/api2/json/pools")]
    assert pve.pve.pool_info["development"]["comment"] == "Test VMs"

    renamed = converge(run_playbook, pve_env, writes, POOL.format(comment="Test and development VMs"))
    assert renamed.result("Pool development")["changed_keys"] == ["comment"]
    assert writes()[1:] == [("PUT", "/api2/json/pools/development")]
    assert pve.pve.pool_info["development"]["comment"] == "Test and development VMs"


def test_proxmox_api_id_key_without_its_id_in_data_is_refused(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
    - name: No pool id
      proxgate.core.proxmox_api:
        path: /pools
        method: POST
        state: present
        id_key: poolid
        data:
          comment: Test VMs
    """, env=pve_env)
    assert run.rc != 0
    assert run.result("No pool id")["msg"] == "id_key is 'poolid', so data.poolid must give the object's id"
    assert writes() == []


ACL = """
- name: Operators on the production pool
  proxgate.core.proxmox_api:
    path: /access/acl
    method: PUT
    state: present
    data:
      path: /pool/production
      groups: operators
      roles: {roles}
      {extra}
"""


def test_proxmox_api_acl_example_converges(run_playbook, pve, pve_env, writes):
    pve.pve.access_groups["operators"] = {"comment": None, "users": set()}  # a node refuses a group it lacks
    first = converge(run_playbook, pve_env, writes, ACL.format(roles="PVEVMUser", extra=""))
    assert first.result("Operators on the production pool")["changed_keys"] == [
        "/pool/production group:operators PVEVMUser"]
    assert writes() == [("PUT", "/api2/json/access/acl")]
    assert pve.pve.acl_entries == {("/pool/production", "group", "operators", "PVEVMUser"): 1}

    removed = converge(run_playbook, pve_env, writes, ACL.format(roles="PVEVMUser", extra="delete: true"))
    assert removed.result("Operators on the production pool")["changed"] is True
    assert pve.pve.acl_entries == {}


# ------------------------------------------------------------------ item 8: container snapshots, retention

CT_SNAP_PATH = "/api2/json/nodes/pve1/lxc/200/snapshot"


def seed_ct_snapshots(pve, names, start=1767225600):
    """Snapshots of container 200 taken a day apart in the order given, as earlier nightly runs left them."""
    ct = pve.pve.ct(200)
    for day, name in enumerate(names):
        ct.snapshots[name] = dict(ct.config, snaptime=start + day * 86400, description="")
        ct.config["parent"] = name


def test_container_snapshot_by_name_create_describe_rollback_delete(run_playbook, pve, pve_env, writes):
    create = """
    - name: Snapshot dns01
      proxgate.core.proxmox_snapshot:
        name: dns01
        snapname: before-upgrade
        description: Before the resolver upgrade
    """
    check = run_playbook(create, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    assert check.result("Snapshot dns01")["changed"] is True
    assert check.result("Snapshot dns01")["diff"]["after"] == {"exists": True,
                                                               "description": "Before the resolver upgrade"}
    assert writes() == [] and pve.pve.ct(200).snapshots == {}

    first = converge(run_playbook, pve_env, writes, create)
    result = first.result("Snapshot dns01")
    assert (result["vmid"], result["type"], result["node"]) == (200, "lxc", "pve1")
    assert result["snapshot"]["description"] == "Before the resolver upgrade"
    assert result["snapshot"]["vmstate"] is False
    assert writes() == [("POST", CT_SNAP_PATH)]

    later = converge(run_playbook, pve_env, writes, """
    - name: Describe it
      proxgate.core.proxmox_snapshot:
        vmid: 200
        snapname: before-upgrade
        description: "Before the resolver upgrade (unbound 1.22) \\n"
    """)
    assert later.changed == ["Describe it"]
    assert pve.pve.ct(200).snapshots["before-upgrade"]["description"] == "Before the resolver upgrade (unbound 1.22)"

    rollback = run_playbook("""
    - name: Roll dns01 back and start it
      proxgate.core.proxmox_snapshot:
        name: dns01
        snapname: before-upgrade
        state: rollback
        start: true
    """, env=pve_env)
    assert rollback.rc == 0, rollback.stdout + rollback.stderr
    assert rollback.changed == ["Roll dns01 back and start it"]
    assert writes()[-1] == ("POST", CT_SNAP_PATH + "/before-upgrade/rollback")
    assert pve.pve.ct(200).status == "running"

    converge(run_playbook, pve_env, writes, """
    - name: Remove it
      proxgate.core.proxmox_snapshot:
        vmid: 200
        snapname: before-upgrade
        state: absent
    """)
    assert pve.pve.ct(200).snapshots == {}
    assert writes()[-1] == ("DELETE", CT_SNAP_PATH + "/before-upgrade")


NIGHTLY = """
- name: Nightly snapshot, the newest three kept
  proxgate.core.proxmox_snapshot:
    name: dns01
    snapname: auto-20260105
    prefix: auto-
    keep: 3
"""


def test_retention_keeps_the_newest_by_creation_time_then_changes_nothing(run_playbook, pve, pve_env, writes):
    # Taken in this order; their names sort otherwise and the server lists them in neither order.
    seed_ct_snapshots(pve, ["auto-20260104", "manual", "auto-20260101", "auto-20260103", "auto-20260102"])
    check = run_playbook(NIGHTLY, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    predicted = check.result("Nightly snapshot, the newest three kept")
    assert predicted["removed"] == ["auto-20260104", "auto-20260101"]
    assert predicted["diff"]["before"]["pruned"] == ["auto-20260104", "auto-20260101"]
    assert writes() == []

    first = converge(run_playbook, pve_env, writes, NIGHTLY)
    result = first.result("Nightly snapshot, the newest three kept")
    assert result["removed"] == ["auto-20260104", "auto-20260101"]
    assert result["snapshots"] == ["manual", "auto-20260103", "auto-20260102", "auto-20260105"]
    assert sorted(pve.pve.ct(200).snapshots) == ["auto-20260102", "auto-20260103", "auto-20260105", "manual"]
    assert writes() == [("POST", CT_SNAP_PATH), ("DELETE", CT_SNAP_PATH + "/auto-20260104"),
                        ("DELETE", CT_SNAP_PATH + "/auto-20260101")]

    prune_only = converge(run_playbook, pve_env, writes, """
    - name: Prune only
      proxgate.core.proxmox_snapshot:
        vmid: 200
        prefix: auto-
        keep: 1
    """)
    assert prune_only.result("Prune only")["removed"] == ["auto-20260103", "auto-20260102"]
    assert sorted(pve.pve.ct(200).snapshots) == ["auto-20260105", "manual"]


def test_retention_and_container_snapshot_bad_input_is_refused_before_any_write(run_playbook, pve, pve_env, writes):
    seed_ct_snapshots(pve, ["auto-1"])
    run = run_playbook("""
    - name: keep without prefix
      proxgate.core.proxmox_snapshot:
        vmid: 200
        snapname: auto-2
        keep: 2
      ignore_errors: true
    - name: keep zero
      proxgate.core.proxmox_snapshot:
        vmid: 200
        prefix: auto-
        keep: 0
      ignore_errors: true
    - name: keep with absent
      proxgate.core.proxmox_snapshot:
        vmid: 200
        snapname: auto-1
        state: absent
        prefix: auto-
        keep: 2
      ignore_errors: true
    - name: no snapname and no keep
      proxgate.core.proxmox_snapshot:
        vmid: 200
      ignore_errors: true
    - name: RAM of a container
      proxgate.core.proxmox_snapshot:
        name: dns01
        snapname: with-ram
        vmstate: true
      ignore_errors: true
    - name: vzdump on a container
      proxgate.core.proxmox_snapshot:
        vmid: 200
        snapname: vzdump
      ignore_errors: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    msgs = {r["task"]: r["result"].get("msg", "") for r in run.results}
    assert len(run.failed) == 6, msgs
    assert "keep and prefix go together" in msgs["keep without prefix"]
    assert "keep must be 1 or more, got 0" in msgs["keep zero"]
    assert "keep and prefix apply only to state=present, not state=absent" in msgs["keep with absent"]
    assert msgs["no snapname and no keep"].startswith("missing required arguments: snapname")
    assert msgs["RAM of a container"].startswith("vmstate: container 200 (dns01) cannot save its RAM")
    assert "snapname 'vzdump' is reserved by PVE" in msgs["vzdump on a container"]
    assert writes() == [] and list(pve.pve.ct(200).snapshots) == ["auto-1"]


# ------------------------------------------------------------------ item 5: CD-ROMs

VM_CONFIG_PATH = "/api2/json/nodes/pve1/qemu/101/config"
INSTALLER = "debian-13.2.0-amd64-netinst.iso"
DRIVERS = "virtio-win-0.1.271.iso"


def cdrom_tasks(value, name="CD-ROM"):
    return f"""
    - name: {name}
      proxgate.core.proxmox_vm:
        vmid: 101
        cdrom: {value}
    """


def test_insert_swap_and_eject_an_iso_converge(run_playbook, pve, pve_env, writes):
    pve.pve.store_file("local", INSTALLER, 700 * 1024 ** 2)
    pve.pve.store_file("local", DRIVERS, 600 * 1024 ** 2)
    vm = pve.pve.vm(101)  # running, with the empty CD-ROM drive a VM made in the web UI has
    vm.config["ide2"] = "none,media=cdrom"

    insert = cdrom_tasks(f"local:iso/{INSTALLER}", "Insert")
    check = run_playbook(insert, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    assert check.result("Insert")["changed_keys"] == ["ide2"]
    assert writes() == [] and vm.config["ide2"] == "none,media=cdrom"

    converge(run_playbook, pve_env, writes, insert)
    assert vm.config["ide2"] == f"local:iso/{INSTALLER},media=cdrom,size=700M"
    assert writes() == [("POST", VM_CONFIG_PATH)]

    swap = converge(run_playbook, pve_env, writes, cdrom_tasks(f"local:iso/{DRIVERS}", "Swap"))
    assert swap.result("Swap")["pending"] == []  # a medium change applies to the running VM at once
    assert vm.config["ide2"] == f"local:iso/{DRIVERS},media=cdrom,size=600M"

    converge(run_playbook, pve_env, writes, cdrom_tasks("none", "Eject"))
    assert vm.config["ide2"] == "none,media=cdrom"
    assert writes() == [("POST", VM_CONFIG_PATH)] * 3

    # A new drive on a running VM waits for its next start (IDE and SATA cannot be hot-plugged).
    added = converge(run_playbook, pve_env, writes, f"""
    - name: An ISO in a new SATA drive, by disks
      proxgate.core.proxmox_vm:
        vmid: 101
        disks:
          sata1: local:iso/{INSTALLER},media=cdrom
    """)
    assert added.result("An ISO in a new SATA drive, by disks")["pending"] == ["sata1"]

    stopped = pve.pve.vm(103)
    stopped.config["sata1"] = f"local:iso/{INSTALLER},media=cdrom,size=700M"
    converge(run_playbook, pve_env, writes, f"""
    - name: Swapped by disks
      proxgate.core.proxmox_vm:
        vmid: 103
        disks:
          sata1: local:iso/{DRIVERS},media=cdrom
    """)
    assert stopped.config["sata1"] == f"local:iso/{DRIVERS},media=cdrom,size=600M"


def test_a_new_vm_with_an_iso_converges(run_playbook, pve, pve_env, writes):
    pve.pve.store_file("local", INSTALLER, 700 * 1024 ** 2)
    converge(run_playbook, pve_env, writes, f"""
    - name: New VM booting the installer
      proxgate.core.proxmox_vm:
        vmid: 150
        name: installer
        node: pve1
        memory: 2048
        cdrom: local:iso/{INSTALLER}
    """)
    assert pve.pve.vm(150).config["ide2"].startswith(f"local:iso/{INSTALLER},media=cdrom")


def test_bad_cdrom_input_is_refused_naming_the_option(run_playbook, pve, pve_env, writes):
    pve.pve.store_file("local", INSTALLER, 700 * 1024 ** 2)
    pve.pve.vm(103).config["ide2"] = "local-lvm:vm-103-disk-1,size=8G"
    run = run_playbook(f"""
    - name: Not an ISO
      proxgate.core.proxmox_vm:
        vmid: 101
        cdrom: local-lvm:vm-101-disk-0
      ignore_errors: true
    - name: Both cdrom and disks.ide2
      proxgate.core.proxmox_vm:
        vmid: 101
        cdrom: none
        disks:
          ide2: none,media=cdrom
      ignore_errors: true
    - name: ide2 holds a disk
      proxgate.core.proxmox_vm:
        vmid: 103
        cdrom: local:iso/{INSTALLER}
      ignore_errors: true
    - name: An ISO that is not there
      proxgate.core.proxmox_vm:
        vmid: 101
        cdrom: local:iso/nope.iso
      ignore_errors: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    msgs = {r["task"]: r["result"].get("msg", "") for r in run.results}
    assert len(run.failed) == 4, msgs
    assert msgs["Not an ISO"].startswith("cdrom must be an ISO volume such as local:iso/debian-13.iso")
    assert msgs["Both cdrom and disks.ide2"].startswith("cdrom and disks.ide2 both set ide2")
    assert msgs["ide2 holds a disk"].startswith("cdrom: ide2 of the VM holds a disk (local-lvm:vm-103-disk-1)")
    assert "volume local:iso/nope.iso does not exist" in msgs["An ISO that is not there"]
    # Only the last one reached the node, whose task refused the missing ISO.
    assert writes() == [("POST", VM_CONFIG_PATH)]
    assert "ide2" not in pve.pve.vm(101).config


# ------------------------------------------------------------------ item 4: the /cluster/nextid race

def parallel_runs(tmp_path, label, plays, env, check=False):
    """Run one playbook per task list, all at once, as parallel AWX jobs do; returns their PlaybookRuns."""
    def run(index, tasks):
        workdir = tmp_path / f"{label}-{index}"
        workdir.mkdir()
        playbook = workdir / "play.yml"
        playbook.write_text("- name: Parallel play\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
                            + textwrap.indent(textwrap.dedent(tasks).strip() + "\n", "    "))
        command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                   "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)]
        return run_ansible_playbook(command + (["--check"] if check else []), workdir, env)

    with concurrent.futures.ThreadPoolExecutor(len(plays)) as pool:
        return list(pool.map(run, range(len(plays)), plays))


def new_vm(name):
    return f"""
    - name: Create {name}
      proxgate.core.proxmox_vm:
        name: {name}
        node: pve1
        memory: 512
    """


def clone_vm(name):
    return f"""
    - name: Create {name}
      proxgate.core.proxmox_vm:
        name: {name}
        clone: debian-13-cloud
        node: pve1
    """


def assert_parallel_converge(tmp_path, plays, pve_env, writes):
    before = len(writes())
    again = parallel_runs(tmp_path, "again", plays, pve_env)
    for run in again:
        assert run.rc == 0, run.stdout + run.stderr
        assert run.changed == []
    assert writes()[before:] == [], "the second runs wrote"


def test_parallel_creates_without_vmid_each_get_their_own_id(run_playbook, tmp_path, pve, pve_env, writes):
    names = ["par-a", "par-b", "par-c", "par-d"]
    plays = [new_vm(name) for name in names]
    check = parallel_runs(tmp_path, "check", plays, pve_env, check=True)
    assert all(run.rc == 0 for run in check) and writes() == []

    pve.pve.hold_nextid(len(plays))  # every run gets the same id from /cluster/nextid, as in the issue
    runs = parallel_runs(tmp_path, "first", plays, pve_env)
    for run in runs:
        assert run.rc == 0, run.stdout + run.stderr
        assert run.changed == [run.results[0]["task"]]
    vmids = {run.results[0]["result"]["name"]: run.results[0]["result"]["vmid"] for run in runs}
    assert sorted(vmids) == names and len(set(vmids.values())) == 4
    assert {pve.pve.vm(vmid).name for vmid in vmids.values()} == set(names)
    taken = [run.results[0]["result"].get("vmids_taken", []) for run in runs]
    assert sum(len(ids) for ids in taken) >= 3, taken  # the node refused the id the losers had first
    creates = [request for request in writes() if request == ("POST", "/api2/json/nodes/pve1/qemu")]
    assert len(creates) == 4 + sum(len(ids) for ids in taken)
    assert_parallel_converge(tmp_path, plays, pve_env, writes)


def test_parallel_clones_retry_when_the_task_reports_the_id_taken(run_playbook, tmp_path, pve, pve_env, writes):
    names = ["clone-a", "clone-b", "clone-c"]
    plays = [clone_vm(name) for name in names]
    pve.pve.time_scale = 0.02
    pve.pve.clone_secs = 25  # half a second: the clones overlap, and the later ones lose their id in the task
    pve.pve.hold_nextid(len(plays))
    runs = parallel_runs(tmp_path, "first", plays, pve_env)
    for run in runs:
        assert run.rc == 0, run.stdout + run.stderr
    vmids = {run.results[0]["result"]["name"]: run.results[0]["result"]["vmid"] for run in runs}
    assert sorted(vmids) == names and len(set(vmids.values())) == 3
    lost = [task for task in pve.pve.tasklog if task["type"] == "qmclone"
            and "config file already exists" in str(task.get("exitstatus"))]
    assert lost, "no clone lost its id in its task"
    assert sum(len(run.results[0]["result"].get("vmids_taken", [])) for run in runs) >= len(lost)
    pve.pve.time_scale = 0
    assert_parallel_converge(tmp_path, plays, pve_env, writes)


def test_a_given_vmid_that_is_taken_meanwhile_is_not_replaced(run_playbook, pve, pve_env, writes):
    # A vmid given is the user's: a create that finds it taken fails with the node's message, no other id is
    # tried. (The id is taken between the module's lookup and its create: another guest of that id on the
    # server is what the lookup would find, so the race is staged with a failing create.)
    pve.pve.fail("POST", "/nodes/pve1/qemu", 500, "unable to create VM 150 - VM 150 already exists on node 'pve2'")
    run = run_playbook("""
    - name: Given vmid
      proxgate.core.proxmox_vm:
        vmid: 150
        name: given
        node: pve1
        memory: 512
      ignore_errors: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    assert [failure["task"] for failure in run.failed] == ["Given vmid"], run.stdout
    assert "VM 150 already exists on node 'pve2'" in run.result("Given vmid")["msg"]
    assert writes() == [("POST", "/api2/json/nodes/pve1/qemu")]


# ------------------------------------------------------------------ item 7: migration

MIGRATE = """
- name: web01 to pve2
  proxgate.core.proxmox_vm:
    vmid: 101
    node: pve2
    memory: 3072
    migrate: true
- name: db01 to pve1
  proxgate.core.proxmox_vm:
    name: db01
    node: pve1
    migrate: true
- name: dns01 to pve2
  proxgate.core.proxmox_lxc:
    hostname: dns01
    node: pve2
    migrate: true
"""


def request_body(pve, method, suffix):
    found = [body for m, path, body in pve.pve.requests if m == method and path.endswith(suffix)]
    assert found, f"no {method} {suffix}"
    return found[-1].decode() if isinstance(found[-1], bytes) else str(found[-1])


def test_migrate_moves_guests_to_their_node_then_changes_nothing(run_playbook, pve, pve_env, writes):
    web = pve.pve.vm(101)
    web.config["scsi0"] = "local-lvm:vm-101-disk-0,iothread=1,size=8G"  # a disk on local storage
    check = run_playbook(MIGRATE, env=pve_env, check=True, diff=True)
    assert check.rc == 0, check.stdout + check.stderr
    assert check.changed == ["web01 to pve2", "db01 to pve1", "dns01 to pve2"]
    assert check.result("web01 to pve2")["diff"]["before"]["node"] == "pve1"
    assert check.result("web01 to pve2")["node"] == "pve2"
    assert writes() == [] and web.node == "pve1"

    first = converge(run_playbook, pve_env, writes, MIGRATE)
    assert first.changed == ["web01 to pve2", "db01 to pve1", "dns01 to pve2"]
    assert (web.node, web.status) == ("pve2", "running")
    assert first.result("web01 to pve2")["migrated"] is True
    online = request_body(pve, "POST", "/qemu/101/migrate")
    assert "online=1" in online and "with-local-disks=1" in online, online
    assert "online" not in request_body(pve, "POST", "/qemu/103/migrate")  # stopped: offline
    assert (pve.pve.vm(103).node, pve.pve.vm(103).status) == ("pve1", "stopped")
    ct = pve.pve.ct(200)
    assert (ct.node, ct.status) == ("pve2", "running")
    assert "restart=1" in request_body(pve, "POST", "/lxc/200/migrate")
    # The config write went to the node the VM is on now.
    assert ("POST", "/api2/json/nodes/pve2/qemu/101/config") in writes()
    assert str(web.pending.get("memory", web.config["memory"])) == "3072"


def test_a_guest_on_another_node_without_migrate_is_refused_saying_where_it_is(run_playbook, pve, pve_env, writes):
    run = run_playbook("""
    - name: VM elsewhere
      proxgate.core.proxmox_vm:
        vmid: 101
        node: pve2
        memory: 4096
      ignore_errors: true
    - name: Container elsewhere
      proxgate.core.proxmox_lxc:
        vmid: 200
        node: pve2
      ignore_errors: true
    - name: migrate without node
      proxgate.core.proxmox_vm:
        vmid: 101
        migrate: true
      ignore_errors: true
    - name: migrate to a node that is not there
      proxgate.core.proxmox_vm:
        vmid: 101
        node: pve9
        migrate: true
      ignore_errors: true
    """, env=pve_env)
    assert run.rc == 0, run.stdout + run.stderr
    msgs = {r["task"]: r["result"].get("msg", "") for r in run.results}
    assert len(run.failed) == 4, msgs
    assert msgs["VM elsewhere"].startswith("VM 101 (web01) is on node pve1, not pve2; nothing was changed. "
                                           "Set migrate: true")
    assert msgs["Container elsewhere"].startswith("container 200 (dns01) is on node pve1, not pve2")
    assert msgs["migrate without node"] == "migrate needs node, the node to move the guest to"
    assert msgs["migrate to a node that is not there"].startswith(
        "migrate: VM 101 (web01) cannot move from pve1 to pve9")
    assert writes() == [] and pve.pve.vm(101).node == "pve1"

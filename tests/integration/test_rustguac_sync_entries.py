"""rustguac_sync_entries through real ansible-playbook runs against the rustguac emulator (HTTPS, its CA)."""

from __future__ import annotations

import pytest

from tests.integration import rustguac_fixtures
from tests.integration.rustguac_fixtures import bodies, everything, rg_env, writes

pytestmark = pytest.mark.integration

rustguac = rustguac_fixtures.rustguac

PASSWORD = "Sync-Entry-Passw0rd-secret"
ENTRIES = "/addressbook/folders/shared/Proxmox/entries"


def sync(entries, keep="[]", extra=""):
    return f"""
- name: sync
  proxgate.core.rustguac_sync_entries:
    folder: Proxmox
    allowed_groups: [ops]
    description: Proxmox guests
    entries: {entries}
    keep: {keep}
{extra}"""


THREE = f"""
      - {{name: web01, type: ssh, hostname: 10.20.0.11, port: 22, username: deploy, password: "{PASSWORD}"}}
      - {{name: win-desktop, type: rdp, hostname: 10.20.0.40, port: 3389, ignore_cert: true}}
      - {{name: printer, type: vnc, hostname: 10.20.9.9, port: 5900}}"""


def folder_entries(emu, folder="Proxmox"):
    return {entry["name"]: entry for entry in emu.state()["entries"] if entry["folder"] == folder}


def test_check_create_verify_and_idempotent(rustguac, run_playbook):
    env = rg_env(rustguac)
    checked = run_playbook(sync(THREE), env=env, check=True, diff=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    result = checked.result("sync")
    assert result["changed"] is True and result["folder_created"] is True
    assert result["created"] == ["web01", "win-desktop", "printer"]
    assert result["diff"]["after"]["entries"]["web01"]["password"] == "********"
    assert result["diff"]["after"]["folder"]["allowed_groups"] == ["ops"]
    assert writes(rustguac) == [], "check mode writes nothing"

    applied = run_playbook(sync(THREE), env=env, diff=True, verbosity=3)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert writes(rustguac) == [("POST", "/addressbook/folders")] + [("POST", ENTRIES)] * 3
    [folder] = rustguac.state()["folders"]
    assert folder == {"scope": "shared", "name": "Proxmox", "allowed_groups": ["ops"],
                      "description": "Proxmox guests", "inherit_from_parent": False}
    stored = folder_entries(rustguac)
    assert stored["web01"]["password"] == PASSWORD and stored["web01"]["hostname"] == "10.20.0.11"
    assert stored["win-desktop"]["type"] == "rdp" and stored["win-desktop"]["ignore_cert"] is True
    assert applied.result("sync")["secrets_sent"] == {"web01": ["password"]}

    again = run_playbook(sync(THREE), env=env, diff=True)
    result = again.result("sync")
    assert result["changed"] is False, result
    assert [entry["status"] for entry in result["entries"]] == ["unchanged"] * 3
    assert len(writes(rustguac)) == 4, "the second run writes nothing"
    assert PASSWORD not in everything(checked) + everything(applied) + everything(again)


def test_changes_prune_and_keep(rustguac, run_playbook):
    rustguac.add_folder(name="Proxmox", allowed_groups=["ops"], description="Proxmox guests")
    rustguac.add_entry(scope="shared", folder="Proxmox", name="web01", type="ssh", hostname="10.20.0.99", port=22)
    rustguac.add_entry(scope="shared", folder="Proxmox", name="gone", type="ssh", hostname="10.20.0.50")
    rustguac.add_entry(scope="shared", folder="Proxmox", name="db01", type="ssh", hostname="10.20.0.13")
    rustguac.add_folder(name="manual")
    rustguac.add_entry(scope="shared", folder="manual", name="keep-me", type="ssh", hostname="10.1.1.1")
    tasks = sync("[{name: web01, type: ssh, hostname: 10.20.0.11, port: 22}]", keep="[db01]")

    checked = run_playbook(tasks, env=rg_env(rustguac), check=True, diff=True)
    result = checked.result("sync")
    assert result["updated"] == ["web01"] and result["removed"] == ["gone"] and result["kept"] == ["db01"]
    assert result["diff"]["before"]["entries"]["web01"] == {"hostname": "10.20.0.99"}
    assert result["diff"]["after"]["entries"] == {"web01": {"hostname": "10.20.0.11"}, "gone": None}
    assert writes(rustguac) == []

    run = run_playbook(tasks, env=rg_env(rustguac))
    assert run.rc == 0, run.stdout + run.stderr
    assert writes(rustguac) == [("PUT", ENTRIES + "/web01"), ("DELETE", ENTRIES + "/gone")]
    stored = folder_entries(rustguac)
    assert sorted(stored) == ["db01", "web01"] and stored["web01"]["hostname"] == "10.20.0.11"
    assert list(folder_entries(rustguac, "manual")) == ["keep-me"], "nothing outside the folder is touched"

    again = run_playbook(tasks, env=rg_env(rustguac))
    assert again.result("sync")["changed"] is False and len(writes(rustguac)) == 2


def test_update_password_always_resends_and_reports_changed(rustguac, run_playbook):
    entries = f'[{{name: web01, type: ssh, hostname: 10.0.0.5, password: "{PASSWORD}"}}]'
    assert run_playbook(sync(entries), env=rg_env(rustguac)).rc == 0
    again = run_playbook(sync(entries, extra="    update_password: always"), env=rg_env(rustguac), diff=True)
    result = again.result("sync")
    assert result["changed"] is True and result["secrets_sent"] == {"web01": ["password"]}
    assert result["diff"]["after"]["entries"]["web01"] == {"password": "******** (changed)"}
    assert bodies(rustguac, "PUT", ENTRIES + "/web01")[-1]["password"] == "********"
    assert PASSWORD not in everything(again)


def test_bad_input_fails_before_any_write(rustguac, run_playbook):
    run = run_playbook("""
        - name: duplicate
          proxgate.core.rustguac_sync_entries:
            folder: Proxmox
            entries:
              - {name: a, type: ssh, hostname: h1}
              - {name: a, type: ssh, hostname: h2}
          ignore_errors: true
        - name: wrong field
          proxgate.core.rustguac_sync_entries:
            folder: Proxmox
            entries:
              - {name: a, type: vnc, hostname: h1, domain: CORP}
          ignore_errors: true
        - name: empty
          proxgate.core.rustguac_sync_entries:
            folder: Proxmox
            entries: []
          ignore_errors: true
        - name: slash
          proxgate.core.rustguac_sync_entries:
            folder: a/b
            entries: []
            allow_empty: true
          ignore_errors: true
        - name: keep and manage
          proxgate.core.rustguac_sync_entries:
            folder: Proxmox
            entries: [{name: a, type: ssh, hostname: h1}]
            keep: [a]
          ignore_errors: true
    """, env=rg_env(rustguac))
    assert run.result("duplicate")["msg"] == "entries[1] (a): the name is given twice; names are unique in a folder"
    assert run.result("wrong field")["msg"] == "entries[0] (a): domain is not used by type vnc (only by rdp)"
    assert "entries is empty, which would delete every entry of the folder 'Proxmox'" in run.result("empty")["msg"]
    assert run.result("slash")["msg"].startswith("folder must be a top-level folder name, got 'a/b'")
    assert run.result("keep and manage")["msg"].startswith("keep and entries both name a")
    assert rustguac.requests == [], "bad input is refused before the API is called"


def test_operator_key_gets_403_naming_admin_and_nothing_is_written(rustguac, run_playbook):
    key = rustguac.add_api_key(name="ci-operator", role="operator", groups=["ops"])
    run = run_playbook(sync(THREE), env=rg_env(rustguac, key=key))
    msg = run.result("sync")["msg"]
    assert "POST /addressbook/folders failed: HTTP 403" in msg and "needs the admin role" in msg
    assert rustguac.state()["folders"] == [] and rustguac.state()["entries"] == []


def test_folder_groups_come_from_its_config_and_survive_a_description_change(rustguac, run_playbook):
    """rustguac 1.9.7 lists folders without groups and resets what a folder PUT leaves out (src/api.rs
    ab_list_folders, ab_update_folder): unchanged groups write nothing, a new description keeps them."""
    rustguac.add_folder(name="Proxmox", allowed_groups=["ops"], description="Proxmox guests",
                        inherit_from_parent=True)
    entry = "[{name: web01, type: ssh, hostname: 10.20.0.11}]"
    rustguac.add_entry(scope="shared", folder="Proxmox", name="web01", type="ssh", hostname="10.20.0.11")
    same = run_playbook(sync(entry), env=rg_env(rustguac))
    assert same.rc == 0, same.stdout + same.stderr
    assert same.result("sync")["changed"] is False and writes(rustguac) == []
    text = run_playbook(f"""
- name: sync
  proxgate.core.rustguac_sync_entries:
    folder: Proxmox
    description: Proxmox VE guests
    entries: {entry}
""", env=rg_env(rustguac))
    assert text.result("sync")["changed"] is True
    assert writes(rustguac) == [("PUT", "/addressbook/folders/shared/Proxmox")]
    [folder] = rustguac.state()["folders"]
    assert (folder["allowed_groups"], folder["description"], folder["inherit_from_parent"]) == (
        ["ops"], "Proxmox VE guests", True)


# --- the whole entry is sent back (rustguac 1.9.7's PUT replaces an entry) -----------------------------------


def proxmox_folder(emu):
    emu.add_folder(name="Proxmox", allowed_groups=["ops"], description="Proxmox guests")


def test_a_sync_keeps_every_field_set_on_the_server(rustguac, run_playbook):
    """src/api.rs ab_update_entry replaces the entry with the body (only secrets left out are kept): a sync
    that changes the port sends the banner, the recording settings, the display name and the jump hosts back
    as they are; the stored password and hop credential stay. A second run writes nothing."""
    proxmox_folder(rustguac)
    rustguac.add_entry(folder="Proxmox", name="web01", type="ssh", hostname="10.20.0.11", port=22,
                       password=PASSWORD, display_name="Web 01", banner="Authorised use only",
                       enable_recording=True, max_recordings=3, allow_sharing=True,
                       jump_hosts=[{"hostname": "bastion", "username": "jump", "password": "Hop-Passw0rd-secret"}])
    before = folder_entries(rustguac)["web01"]
    task = sync("[{name: web01, type: ssh, hostname: 10.20.0.11, port: 2222}]")
    run = run_playbook(task, env=rg_env(rustguac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("sync")["updated"] == ["web01"]
    assert run.result("sync")["diff"]["after"]["entries"] == {"web01": {"port": 2222}}
    assert writes(rustguac) == [("PUT", f"{ENTRIES}/web01")]
    assert folder_entries(rustguac)["web01"] == dict(before, port=2222)
    assert PASSWORD not in everything(run) and "Hop-Passw0rd-secret" not in everything(run)

    again = run_playbook(task, env=rg_env(rustguac))
    assert again.result("sync")["changed"] is False and len(writes(rustguac)) == 1


# --- which entry is a guest's: the identity, not the name (issue #15, finding 1) -----------------------------

GUESTS = """
      - {name: finance-db, guest: pve/100, type: ssh, hostname: 10.66.6.6, port: 22}
      - {name: finance-db-105, guest: pve/105, type: ssh, hostname: 10.20.0.50, port: 22}"""


def test_a_tenant_guest_named_like_another_guests_entry_does_not_take_it(rustguac, run_playbook):
    """A tenant names its VM (vmid 100) like an existing guest (vmid 105), and the inventory gives it the plain
    name. The entry finance-db, stored for guest pve/105 with a password, is not re-pointed at the tenant's
    address: it stays with its guest (found by its identity, under its own name), and the tenant's entry is
    created as finance-db-100, with a warning and an item in collisions. A second run writes nothing."""
    proxmox_folder(rustguac)
    rustguac.add_entry(folder="Proxmox", name="finance-db", type="ssh", hostname="10.20.0.50", port=22,
                       username="dba", password=PASSWORD, proxmox_node="pve/105")
    original = folder_entries(rustguac)["finance-db"]
    run = run_playbook(sync(GUESTS), env=rg_env(rustguac))
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("sync")
    assert folder_entries(rustguac)["finance-db"] == original, "the guest's entry is untouched"
    tenant = folder_entries(rustguac)["finance-db-100"]
    assert (tenant["hostname"], tenant["proxmox_node"], "password" in tenant) == ("10.66.6.6", "pve/100", False)
    assert writes(rustguac) == [("POST", ENTRIES)] and result["created"] == ["finance-db-100"]
    assert result["collisions"] == [{"name": "finance-db", "guest": "pve/100", "entry": "finance-db-100",
                                     "reason": "the entry 'finance-db' belongs to guest 'pve/105'"}]
    assert [(entry["name"], entry["guest"]) for entry in result["entries"]] == [
        ("finance-db-100", "pve/100"), ("finance-db", "pve/105")]
    assert "entry 'finance-db' of guest 'pve/100' is written as 'finance-db-100'" in run.stdout + run.stderr
    assert PASSWORD not in everything(run)

    again = run_playbook(sync(GUESTS), env=rg_env(rustguac))
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("sync")["changed"] is False and len(writes(rustguac)) == 1, "a second run writes nothing"
    assert set(folder_entries(rustguac)) == {"finance-db", "finance-db-100"}


def test_an_entry_without_identity_is_adopted_only_for_its_own_hostname(rustguac, run_playbook):
    """Entries written before guests had an identity (or by hand) carry none: the one whose hostname is the
    guest's is adopted and its identity written once (its password stays); one with another hostname is not
    re-pointed, and the guest gets <name>-<vmid>."""
    proxmox_folder(rustguac)
    rustguac.add_entry(folder="Proxmox", name="web01", type="ssh", hostname="10.20.0.11", port=22,
                       password=PASSWORD)
    rustguac.add_entry(folder="Proxmox", name="db01", type="ssh", hostname="10.20.0.30", port=22,
                       password=PASSWORD)
    entries = """
      - {name: web01, guest: pve-prod/101, type: ssh, hostname: 10.20.0.11, port: 22}
      - {name: db01, guest: pve-prod/103, type: ssh, hostname: 10.66.6.6, port: 22}"""
    run = run_playbook(sync(entries, extra="    prune: false"), env=rg_env(rustguac), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("sync")
    stored = folder_entries(rustguac)
    assert stored["web01"]["proxmox_node"] == "pve-prod/101" and stored["web01"]["password"] == PASSWORD
    assert result["diff"]["after"]["entries"]["web01"] == {"proxmox_node": "pve-prod/101"}
    assert (stored["db01"]["hostname"], stored["db01"]["password"], "proxmox_node" in stored["db01"]) == (
        "10.20.0.30", PASSWORD, False)
    assert stored["db01-103"]["hostname"] == "10.66.6.6"
    assert [item["entry"] for item in result["collisions"]] == ["db01-103"]
    assert "stored without a guest for hostname '10.20.0.30'" in result["collisions"][0]["reason"]

    count = len(writes(rustguac))
    again = run_playbook(sync(entries, extra="    prune: false"), env=rg_env(rustguac))
    assert again.result("sync")["changed"] is False and len(writes(rustguac)) == count


def test_a_hand_given_host_does_not_repoint_a_guests_entry(rustguac, run_playbook):
    """A host given without a guest is matched by name; when that name is a guest's entry for another hostname
    the run fails before any write, naming the entry."""
    proxmox_folder(rustguac)
    rustguac.add_entry(folder="Proxmox", name="finance-db", type="ssh", hostname="10.20.0.50",
                       password=PASSWORD, proxmox_node="pve/105")
    run = run_playbook(sync("[{name: finance-db, type: ssh, hostname: 10.66.6.6}]") + "  ignore_errors: true\n",
                       env=rg_env(rustguac))
    msg = run.result("sync")["msg"]
    assert msg.startswith("entries[0] (finance-db): the entry 'finance-db' belongs to guest 'pve/105'; it is "
                          "not re-pointed at '10.66.6.6'")
    assert writes(rustguac) == [] and folder_entries(rustguac)["finance-db"]["hostname"] == "10.20.0.50"


def test_keep_guests_keeps_a_guests_entry_under_any_name(rustguac, run_playbook):
    """keep_guests leaves the entries of those guests as they are, also one stored under another name than
    its guest has now; the rest is pruned as before."""
    proxmox_folder(rustguac)
    rustguac.add_entry(folder="Proxmox", name="db01-old", type="ssh", hostname="10.20.0.30", proxmox_node="pve/103")
    rustguac.add_entry(folder="Proxmox", name="gone", type="ssh", hostname="10.20.0.99", proxmox_node="pve/199")
    run = run_playbook(sync("[{name: web01, guest: pve/101, type: ssh, hostname: 10.20.0.11}]",
                            extra="    keep_guests: [pve/103]"), env=rg_env(rustguac))
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("sync")
    assert (result["kept"], result["removed"], result["created"]) == (["db01-old"], ["gone"], ["web01"])
    assert set(folder_entries(rustguac)) == {"db01-old", "web01"}


def test_bad_guests_and_dot_names_fail_before_any_call(rustguac, run_playbook):
    """'.' and '..' (and any name rustguac's src/vault.rs validate_name refuses), a guest with a space, a guest
    given twice: each is refused before the login, with a message naming the parameter."""
    run = run_playbook("""
        - name: dot folder
          proxgate.core.rustguac_sync_entries:
            folder: ".."
            entries: [{name: a, type: ssh, hostname: h1}]
          ignore_errors: true
        - name: dot entry
          proxgate.core.rustguac_sync_entries:
            folder: Proxmox
            entries: [{name: ".", type: ssh, hostname: h1}]
          ignore_errors: true
        - name: spaced guest
          proxgate.core.rustguac_sync_entries:
            folder: Proxmox
            entries: [{name: a, guest: "pve /1", type: ssh, hostname: h1}]
          ignore_errors: true
        - name: guest twice
          proxgate.core.rustguac_sync_entries:
            folder: Proxmox
            entries:
              - {name: a, guest: pve/1, type: ssh, hostname: h1}
              - {name: b, guest: pve/1, type: ssh, hostname: h2}
          ignore_errors: true
    """, env=rg_env(rustguac))
    assert run.result("dot folder")["msg"].startswith("folder must be a valid rustguac folder name: '..' is reserved")
    assert run.result("dot entry")["msg"].startswith("entries[0].name must be a valid rustguac name: '.' is reserved")
    assert run.result("spaced guest")["msg"] == ("entries[0].guest must not hold spaces or control characters, "
                                                 "got 'pve /1'")
    assert run.result("guest twice")["msg"] == "entries[1] (b): guest 'pve/1' is given twice; a guest has one entry"
    assert rustguac.requests == [], "refused before the API is called"

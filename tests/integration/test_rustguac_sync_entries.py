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

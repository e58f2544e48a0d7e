"""rustguac_entry through real ansible-playbook runs against the rustguac emulator (HTTPS, its CA).

The emulator stores credentials (state() shows them) but never lists them, and merges a PUT as the seed says:
omitted credentials are kept, jump-host credentials per hop by index."""

from __future__ import annotations

import json

import pytest

from tests.integration import rustguac_fixtures
from tests.integration.rustguac_fixtures import bodies, everything, rg_env, writes

pytestmark = pytest.mark.integration

rustguac = rustguac_fixtures.rustguac

PASSWORD = "Entry-Passw0rd-secret"
JUMP_PASSWORD = "Jump-Passw0rd-secret"
KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-entry-key-secret\n"
       "-----END OPENSSH PRIVATE KEY-----")
ENTRIES = "/addressbook/folders/shared/production/entries"


def web01(update_password="on_create", hostname="10.20.0.11", bastion="bastion.example.com"):
    return f"""
- name: web01
  proxgate.core.rustguac_entry:
    folder: production
    name: web01
    type: ssh
    hostname: {hostname}
    port: 22
    username: deploy
    password: "{PASSWORD}"
    enable_drive: true
    display_name: Web 01
    update_password: {update_password}
    jump_hosts:
      - hostname: {bastion}
        username: jump
        password: "{JUMP_PASSWORD}"
"""


def stored(emu, name="web01"):
    found = [entry for entry in emu.state()["entries"] if entry["name"] == name]
    assert len(found) == 1, emu.state()["entries"]
    return found[0]


@pytest.fixture
def production(rustguac):
    rustguac.add_folder(name="production", allowed_groups=["ops"])
    return rustguac


def test_check_create_verify_and_idempotent(production, run_playbook):
    emu, env = production, rg_env(production)
    checked = run_playbook(web01(), env=env, check=True, diff=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    result = checked.result("web01")
    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["password"] == "********"
    assert result["diff"]["after"]["jump_hosts"][0]["password"] == "********"
    assert result["secrets_sent"] == ["password", "jump_hosts[0].password"]
    assert writes(emu) == [] and emu.state()["entries"] == []

    applied = run_playbook(web01(), env=env, diff=True)
    assert applied.rc == 0, applied.stdout + applied.stderr
    assert applied.result("web01")["changed"] is True
    assert writes(emu) == [("POST", ENTRIES)]
    entry = stored(emu)
    assert entry == {"scope": "shared", "folder": "production", "name": "web01", "type": "ssh",
                     "hostname": "10.20.0.11", "port": 22, "username": "deploy", "password": PASSWORD,
                     "enable_drive": True, "display_name": "Web 01",
                     "jump_hosts": [{"hostname": "bastion.example.com", "port": 22, "username": "jump",
                                     "password": JUMP_PASSWORD}]}
    assert "password" not in applied.result("web01")["entry"]

    again = run_playbook(web01(), env=env, diff=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("web01")["changed"] is False
    assert again.result("web01")["secrets_sent"] == []
    assert writes(emu) == [("POST", ENTRIES)], "the second run writes nothing"


def test_on_create_update_keeps_stored_secret_and_always_rewrites_it(production, run_playbook):
    emu, env = production, rg_env(production)
    emu.add_entry(folder="production", name="web01", type="ssh", hostname="10.20.0.11", port=22,
                  username="deploy", password="set-in-the-ui", enable_drive=True, display_name="Web 01",
                  jump_hosts=[{"hostname": "bastion.example.com", "username": "jump", "password": "old-jump"}])
    moved = run_playbook(web01(hostname="10.20.0.12"), env=env, diff=True)
    assert moved.rc == 0, moved.stdout + moved.stderr
    result = moved.result("web01")
    assert result["changed_keys"] == ["hostname"] and result["secrets_sent"] == []
    assert result["diff"] == {"before": {"hostname": "10.20.0.11"}, "after": {"hostname": "10.20.0.12"}}
    entry = stored(emu)
    assert entry["hostname"] == "10.20.0.12"
    assert entry["password"] == "set-in-the-ui", "on_create leaves the stored secret alone"
    assert entry["jump_hosts"][0]["password"] == "old-jump"
    [put] = bodies(emu, "PUT", f"{ENTRIES}/web01")
    assert "password" not in put and "password" not in put["jump_hosts"][0]

    for run_number in (1, 2):
        rotated = run_playbook(web01("always", hostname="10.20.0.12"), env=env, diff=True)
        result = rotated.result("web01")
        assert result["changed"] is True, f"always reports a change on run {run_number}: it cannot compare"
        assert result["secrets_sent"] == ["password", "jump_hosts[0].password"]
        assert result["diff"]["after"]["password"] == "******** (changed)"
    entry = stored(emu)
    assert entry["password"] == PASSWORD and entry["jump_hosts"][0]["password"] == JUMP_PASSWORD
    assert [method for method, _path in writes(emu)] == ["PUT", "PUT", "PUT"]


def test_replaced_jump_host_gets_its_own_credentials(production, run_playbook):
    emu = production
    emu.add_entry(folder="production", name="web01", type="ssh", hostname="10.20.0.11", port=22,
                  username="deploy", password=PASSWORD, enable_drive=True, display_name="Web 01",
                  jump_hosts=[{"hostname": "bastion.example.com", "username": "jump", "password": "old-jump"}])
    run = run_playbook(web01(bastion="bastion2.example.com"), env=rg_env(emu), diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("web01")["secrets_sent"] == ["jump_hosts[0].password"]
    hop = stored(emu)["jump_hosts"][0]
    assert hop == {"hostname": "bastion2.example.com", "port": 22, "username": "jump", "password": JUMP_PASSWORD}
    again = run_playbook(web01(bastion="bastion2.example.com"), env=rg_env(emu))
    assert again.result("web01")["changed"] is False


def test_secrets_never_in_verbose_output(production, run_playbook):
    # The failing task comes first: ansible-core shows the playbook lines above a failed task, and a
    # playbook's own text is not the module's output (real playbooks take secrets from a vault).
    tasks = f"""
- name: rdp
  proxgate.core.rustguac_entry:
    folder: production
    name: win
    type: rdp
    hostname: win.example.com
    security: nla
    ignore_cert: true
    color_depth: 24
    private_key: {json.dumps(KEY)}
  ignore_errors: true
""" + web01() + f"""
- name: key entry
  proxgate.core.rustguac_entry:
    folder: production
    name: sshkey
    type: ssh
    hostname: 10.0.0.5
    private_key: {json.dumps(KEY)}
"""
    run = run_playbook(tasks, env=rg_env(production), diff=True, verbosity=3)
    assert run.rc == 0, run.stdout + run.stderr
    assert "private_key is not used by type rdp (only by ssh)" in run.result("rdp")["msg"]
    text = everything(run)
    for secret in (PASSWORD, JUMP_PASSWORD, "entry-key-secret", rg_env(production)["RUSTGUAC_API_KEY"]):
        assert secret not in text
    assert stored(production, "sshkey")["private_key"] == KEY


def test_bad_input_and_missing_folder_fail_before_any_write(rustguac, run_playbook):
    run = run_playbook("""
        - name: web without url
          proxgate.core.rustguac_entry:
            folder: production
            name: app
            type: web
          ignore_errors: true
        - name: no type
          proxgate.core.rustguac_entry:
            folder: production
            name: app
          ignore_errors: true
        - name: no folder
          proxgate.core.rustguac_entry:
            folder: production
            name: app
            type: vnc
            hostname: 10.0.0.7
            port: 5901
    """, env=rg_env(rustguac))
    assert run.result("web without url")["msg"] == "url is required for type web"
    assert "state is present but all of the following are missing: type" in run.result("no type")["msg"]
    assert "folder 'production' (scope shared) does not exist" in run.result("no folder")["msg"]
    assert writes(rustguac) == []


def test_operator_key_gets_403_naming_admin(production, run_playbook):
    key = production.add_api_key(name="ci-operator", role="operator", groups=["ops"])
    run = run_playbook(web01(), env=rg_env(production, key=key))
    msg = run.result("web01")["msg"]
    assert "POST /addressbook/folders/shared/production/entries failed: HTTP 403" in msg
    assert "needs the admin role" in msg
    assert production.state()["entries"] == []


BAD_NAMES = {
    # option: (value, what the message says)
    "folder: ..": ("folder must be a valid rustguac folder name: '..' is reserved ('.' and '..' are dot "
                   "segments in a URL"),
    "name: .": "name must be a valid rustguac name: '.' is reserved",
    "name: .config": "name must be a valid rustguac name: '.config' is reserved",
    "name: web 01": "name must be a valid rustguac name: 'web 01' holds ' ', and rustguac takes only ASCII",
    "name: café": "name must be a valid rustguac name: 'café' holds 'é'",
    f"name: {'x' * 65}": f"name must be a valid rustguac name: '{'x' * 65}' has 65 characters, and rustguac "
                         "takes 1 to 64",
}


def test_names_rustguac_refuses_fail_before_any_call(production, run_playbook):
    """rustguac 1.9.7 answers these names with 502 "invalid name" (src/vault.rs validate_name); '.' and '..'
    would even turn into dot segments of the URL. The module refuses them before it calls the API."""
    tasks = ""
    for index, option in enumerate(BAD_NAMES):
        folder = option.split(": ", 1)[1] if option.startswith("folder") else "production"
        name = option.split(": ", 1)[1] if option.startswith("name") else "web01"
        tasks += f"""
        - name: bad{index}
          proxgate.core.rustguac_entry:
            folder: "{folder}"
            name: "{name}"
            type: ssh
            hostname: 10.0.0.5
            state: {"absent" if index % 2 else "present"}
          ignore_errors: true
        """
    run = run_playbook(tasks, env=rg_env(production))
    for index, expected in enumerate(BAD_NAMES.values()):
        assert expected in run.result(f"bad{index}")["msg"], run.result(f"bad{index}")["msg"]
    assert production.requests == [], "bad names are refused before the API is called"


def test_names_rustguac_takes_are_written(production, run_playbook):
    """Dots, dashes and underscores inside a name, and 64 characters, are good names for rustguac."""
    tasks = "".join(f"""
        - name: good{index}
          proxgate.core.rustguac_entry:
            folder: production
            name: "{name}"
            type: ssh
            hostname: 10.0.0.5
        """ for index, name in enumerate(["web-01.example_com", "a..b", "x" * 64]))
    run = run_playbook(tasks, env=rg_env(production))
    assert run.rc == 0, run.stdout + run.stderr
    assert sorted(entry["name"] for entry in production.state()["entries"]) == sorted(
        ["web-01.example_com", "a..b", "x" * 64])


def test_a_502_with_rustguac_error_body_is_not_sent_again(production, run_playbook):
    """rustguac answers what its Vault refuses with 502 {"error": ...} (src/api.rs ab_list_entries); sending
    the same GET again gets the same answer, so the client reports it at once."""
    production.fail("GET", ENTRIES, 502, "invalid name: reserved name", times=3)
    run = run_playbook(web01(), env=rg_env(production))
    msg = run.result("web01")["msg"]
    assert f"GET {ENTRIES} failed: HTTP 502: invalid name: reserved name" in msg
    assert [status for method, path, status in production.requests if path.endswith("/entries")] == [502]
    assert production.state()["entries"] == []


def test_a_missing_folder_is_reported_not_created(rustguac, run_playbook):
    """rustguac lists the entries of a missing folder as [] and creates the folder with a first entry
    (src/api.rs ab_list_entries, ab_create_entry); the module reads the folder list and stops."""
    rustguac.add_folder(name="staging")
    run = run_playbook("""
        - name: web01
          proxgate.core.rustguac_entry:
            folder: production
            name: web01
            type: ssh
            hostname: 10.0.0.5
          ignore_errors: true
        - name: gone
          proxgate.core.rustguac_entry:
            folder: production
            name: web01
            state: absent
    """, env=rg_env(rustguac))
    assert run.result("web01")["msg"] == ("folder 'production' (scope shared) does not exist: create it first "
                                          "with proxgate.core.rustguac_folder")
    assert run.result("gone")["changed"] is False
    assert [folder["name"] for folder in rustguac.state()["folders"]] == ["staging"]
    assert rustguac.state()["entries"] == []
    assert writes(rustguac) == []


# --- rustguac 1.9.7's entry shape: the PUT replaces the entry, the listing says session_type -----------------

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBpv6vSkrG0rXWMVGq5ZyAhbUEZ9YtJs7X1wOq0bVbdJ"


def seed_rich_entry(emu):
    """An entry as the web UI would leave it: fields the module has no option for, secrets, a pinned hop."""
    emu.add_entry("shared", "production", "web01", type="ssh", hostname="10.20.0.11", port=22,
                  username="deploy", password=PASSWORD, display_name="Web 01", banner="Authorised use only",
                  enable_recording=True, max_recordings=10, record_typescript=True, allow_sharing=True,
                  allowed_domains=["intranet.example"],
                  jump_hosts=[{"hostname": "bastion.example.com", "port": 22, "username": "jump",
                               "password": JUMP_PASSWORD, "host_key": HOST_KEY}])


def port_task(port, **more):
    options = "".join(f"\n    {key}: {value}" for key, value in more.items())
    return f"""
- name: port
  proxgate.core.rustguac_entry:
    folder: production
    name: web01
    type: ssh
    hostname: 10.20.0.11
    port: {port}{options}
"""


def test_a_port_change_keeps_every_field_set_on_the_server(production, run_playbook):
    """rustguac 1.9.7's PUT replaces the entry (src/api.rs ab_update_entry): a body with only the module's fields
    cleared the banner, the recording settings, the display name and the jump hosts. The module sends the whole
    entry back, so only the port changes, and the secrets and the hop's host key stay."""
    emu, env = production, rg_env(production)
    seed_rich_entry(emu)
    before = stored(emu)
    run = run_playbook(port_task(2222), env=env, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("port")
    assert result["changed"] is True and result["changed_keys"] == ["port"]
    assert result["diff"] == {"before": {"port": 22}, "after": {"port": 2222}}
    assert writes(emu) == [("PUT", f"{ENTRIES}/web01")]
    assert stored(emu) == dict(before, port=2222)
    assert result["entry"]["banner"] == "Authorised use only" and result["entry"]["enable_recording"] is True
    assert PASSWORD not in everything(run) and JUMP_PASSWORD not in everything(run)

    again = run_playbook(port_task(2222), env=env)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result("port")["changed"] is False
    assert writes(emu) == [("PUT", f"{ENTRIES}/web01")], "the second run writes nothing"


def test_an_entry_the_module_did_not_write_is_unchanged_on_a_second_look(production, run_playbook):
    """The listing names the protocol session_type and lists unset fields as null (src/vault.rs EntryInfo):
    compared on the real names, an entry that already is what the task says is not written."""
    emu, env = production, rg_env(production)
    emu.add_entry("shared", "production", "web01", type="ssh", hostname="10.20.0.11", port=22)
    run = run_playbook(port_task(22), env=env)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("port")["changed"] is False and writes(emu) == []


def test_banner_recording_and_clipboard_options(production, run_playbook):
    """The options banner, enable_recording, disable_copy, disable_paste and allow_sharing are written, and a
    second run writes nothing."""
    emu, env = production, rg_env(production)
    options = dict(banner='"Monitored"', enable_recording="true", disable_copy="true", disable_paste="false",
                   allow_sharing="false")
    first = run_playbook(port_task(22, **options), env=env)
    assert first.rc == 0, first.stdout + first.stderr
    entry = stored(emu)
    assert (entry["banner"], entry["enable_recording"], entry["disable_copy"], entry["disable_paste"],
            entry["allow_sharing"]) == ("Monitored", True, True, False, False)
    count = len(writes(emu))
    again = run_playbook(port_task(22, **options), env=env)
    assert again.result("port")["changed"] is False and len(writes(emu)) == count


def test_a_password_is_sent_when_the_server_lists_no_credentials(production, run_playbook):
    """rustguac lists only has_credentials (src/vault.rs EntryInfo): an entry without a password or key gets
    the one given once under update_password=on_create; the next run sends nothing."""
    emu, env = production, rg_env(production)
    emu.add_entry("shared", "production", "web01", type="ssh", hostname="10.20.0.11", port=22)
    task = port_task(22, password=f'"{PASSWORD}"')
    first = run_playbook(task, env=env)
    assert first.rc == 0, first.stdout + first.stderr
    assert first.result("port")["secrets_sent"] == ["password"] and stored(emu)["password"] == PASSWORD
    again = run_playbook(task, env=env)
    assert again.result("port")["changed"] is False and len(writes(emu)) == 1


def test_vault_down_is_a_clear_502_and_nothing_is_retried_or_written(production, run_playbook):
    """rustguac answers every address-book call with 502 {"error": "vault backend not available"} when its Vault
    backend is down (src/api.rs VaultBackends::scoped), not 503: the module says so, once, without a retry."""
    production.vault_enabled = False
    run = run_playbook(port_task(22) + "  ignore_errors: true\n", env=rg_env(production))
    msg = run.result("port")["msg"]
    assert msg.startswith("GET /addressbook/folders failed: HTTP 502: vault backend not available (rustguac keeps "
                          "the address book in Vault, and its Vault backend is down")
    assert production.requests == [("GET", "/api/addressbook/folders", 502)], "a 502 with rustguac's body is final"

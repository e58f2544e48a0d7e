"""docs/gitops.md's pipeline against the test servers: the plan job (`ansible-playbook -i
playbooks/inventory/demo.proxmox.yml playbooks/site.yml --check --diff`, secrets from the environment as CI
variables give them) and the apply job (the same without --check), on the Proxmox test server with the demo
cloud image and the Guacamole emulator.

- The plan prints a diff for every task it reports as changed, shows no secret (the Proxmox token secret, the
  Guacamole password and the SSH password given to the connections appear nowhere; the mask does), and makes
  no write call to either server.
- The apply changes what the plan said: the same changed tasks with the same diffs. The one documented
  exception is a VM the plan would create: the steps after its creation (import its disk, start it,
  snapshot it) are skipped in check mode, and its connection cannot be planned before it has an address.
- A rerun changes nothing and writes nothing: `changed=0` is the drift signal.

Two rounds: a fresh cluster (the exception applies), then a change of inputs on what exists (more memory,
a user group mapped from a tag), for which the plan is complete; then the rerun. The jobs run as the tokens of
playbooks/automation_account.yml (made by running it first, as root): the plans as its read-only token (role
ProxgateAudit), as docs/gitops.md advises, the applies and the rerun as its automation token (ProxgateAutomation),
both privilege-separated: provision, the inventory and publish need no more than those roles hold."""

from __future__ import annotations

import json
import re
import sys

import pytest

from tests.emulators.pve import add_demo_image
from tests.integration import automation_fixtures, guacamole_fixtures
from tests.integration.conftest import BIN, REPO, TOKEN_SECRET, PlaybookRun, run_ansible_playbook
from tests.integration.guacamole_fixtures import ADMIN_PASSWORD, guac_env
from tests.integration.guacamole_fixtures import writes as guacamole_writes

pytestmark = pytest.mark.integration

guacamole_server = guacamole_fixtures.guacamole_server
make_automation_account = automation_fixtures.make_automation_account

SITE = REPO / "playbooks" / "site.yml"
INVENTORY = REPO / "playbooks" / "inventory" / "demo.proxmox.yml"
SSH_PASSWORD = "gitops-Ssh-Secret-4711"
MASK = "********"
NEW_VM = "demo-web01"
CREATE = "Create the VM with cloud-init settings"
PUBLISH = "Publish the guests below Proxmox"
# provision.yml skips these in check mode when the VM is still to be created (`when: not (ansible_check_mode
# and provision_vm.created)`): they act on a VM that does not exist yet.
AFTER_CREATION = ("Import the cloud image as the boot disk and grow it", "Start the VM",
                  "Wait for the guest agent to report an address", "Take the baseline snapshot")
# Every connection gets an SSH password: a secret the plan's diff must mask.
CLOUD_INIT_PASSWORD = "ci-Secret-4711"
INPUTS = {"guacamole_sync_parameters": {"ssh": {"password": SSH_PASSWORD}, "rdp": {"ignore-cert": True}},
          "provision_cipassword": CLOUD_INIT_PASSWORD}
CHANGED_INPUTS = {**INPUTS, "provision_memory": 4096, "guacamole_sync_user_groups_by_tag": {"demo": ["operators"]}}


class SiteRun(PlaybookRun):
    """A run of the site playbook, with the changed and skipped tasks as sets of names."""

    @property
    def changed(self):
        return {entry["task"] for entry in self.results if entry["result"].get("changed")}

    @property
    def skipped(self):
        return {entry["task"] for entry in self.results if entry["status"] == "skipped"}


@pytest.fixture
def site(tmp_path, pve):
    """site(guac, token, check=False, extra_vars=None) -> SiteRun of the pipeline's command:
    ansible-playbook -i playbooks/inventory/demo.proxmox.yml playbooks/site.yml --diff [--check]."""
    counter = {"n": 0}

    def run(guac, token, check=False, extra_vars=None):
        counter["n"] += 1
        workdir = tmp_path / f"site{counter['n']}"
        workdir.mkdir()
        command = [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), str(SITE), "--diff"]
        command += ["--check"] if check else []
        command += ["-e", json.dumps(extra_vars)] if extra_vars else []
        env = dict(guac_env(guac),
                   # What the pipeline's CI variables give.
                   PROXMOX_URL=pve.url, PROXMOX_CA_PATH=pve.certfile,
                   PROXMOX_TOKEN_ID=token[0], PROXMOX_TOKEN_SECRET=token[1],
                   ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
                   # What the test needs.
                   ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
        recorded = run_ansible_playbook(command, workdir, env)
        return SiteRun(recorded.rc, recorded.stdout, recorded.stderr, recorded.results)

    return run


def task_blocks(stdout):
    """The default callback's output cut into one text per task, from its `TASK [...]` line on."""
    blocks, current = [], None
    for line in stdout.splitlines():
        if line.startswith(("TASK [", "PLAY [", "PLAY RECAP")):
            current = [line]
            blocks.append(current)
        elif current is not None:
            current.append(line)
    return ["\n".join(block) for block in blocks if block[0].startswith("TASK [")]


def assert_every_change_shown(run):
    changed_blocks = [block for block in task_blocks(run.stdout) if "\nchanged: [localhost]" in block]
    assert len(changed_blocks) == len(run.changed) > 0, run.stdout
    for block in changed_blocks:
        assert "--- before" in block and "+++ after" in block, f"a change without its diff:\n{block}"


def assert_no_secret(run, account):
    printed = run.stdout + run.stderr
    tokens = [secret for _token_id, secret in account.tokens.values()]
    for secret in (TOKEN_SECRET, *tokens, ADMIN_PASSWORD, SSH_PASSWORD, CLOUD_INIT_PASSWORD):
        assert secret not in printed, f"a secret reached the output: {secret[:4]}..."


def publish_items(result):
    """What the publish task did (or would do), as comparable strings."""
    items = {f"{kind} {path}" for kind in ("created", "updated", "removed", "groups_created", "groups_removed",
                                           "user_groups_created") for path in result.get(kind, [])}
    items |= {f"moved {move['from']} -> {move['to']}" for move in result.get("moved", [])}
    for group, change in (result.get("permissions") or {}).items():
        items |= {f"grant {group} {path}" for path in change.get("granted", [])}
        items |= {f"revoke {group} {path}" for path in change.get("revoked", [])}
    return items


def seeded_gateway(guacamole_server):
    emu = guacamole_server(tls=True)
    emu.add_user_group("operators")
    return emu


def test_plan_then_apply_then_nothing_to_do(site, pve, writes, guacamole_server, make_automation_account):
    add_demo_image(pve.pve)
    emu = seeded_gateway(guacamole_server)
    account = make_automation_account()
    planner, automation = account.tokens["plan"], account.tokens["ansible"]
    account_writes = len(writes())

    # Round 1, a fresh cluster. The plan: every change shown, secrets masked, nothing written.
    plan = site(emu, planner, check=True, extra_vars=INPUTS)
    assert plan.rc == 0, plan.stdout + plan.stderr
    assert len(writes()) == account_writes and guacamole_writes(emu) == []
    assert_every_change_shown(plan)
    assert_no_secret(plan, account)
    assert MASK in plan.stdout, "the connections' SSH password is shown masked"
    assert plan.result(CREATE)["created"] is True
    assert set(AFTER_CREATION) <= plan.skipped, "the steps on the VM to be created cannot be planned"
    assert NEW_VM not in {vm.name for vm in pve.pve.vms}

    apply = site(emu, automation, extra_vars=INPUTS)
    assert apply.rc == 0, apply.stdout + apply.stderr
    assert_no_secret(apply, account)
    # The apply made the planned changes, plus those of the steps the plan had to skip.
    assert plan.changed <= apply.changed
    assert apply.changed - plan.changed <= set(AFTER_CREATION)
    assert apply.result(CREATE)["diff"] == plan.result(CREATE)["diff"]
    # The new VM's connection is the one publish change the plan could not see: the VM had no address yet.
    planned, published = publish_items(plan.result(PUBLISH)), publish_items(apply.result(PUBLISH))
    assert published - planned == {f"created Proxmox/{NEW_VM}"}
    assert planned <= published
    connections = {c["name"]: c for c in emu.state()["connections"].values()}
    assert connections[NEW_VM]["parameters"]["password"] == SSH_PASSWORD
    assert pve.pve.vm(apply.result(CREATE)["vmid"]).status == "running"

    # Round 2, changed inputs on what exists: the plan is complete (exactly these two tasks: round 1 left
    # nothing else to do), and the apply does exactly that.
    pve_writes, guac_writes = len(writes()), len(guacamole_writes(emu))
    plan = site(emu, planner, check=True, extra_vars=CHANGED_INPUTS)
    assert plan.rc == 0, plan.stdout + plan.stderr
    assert len(writes()) == pve_writes and len(guacamole_writes(emu)) == guac_writes
    assert_every_change_shown(plan)
    assert_no_secret(plan, account)
    assert plan.changed == {CREATE, PUBLISH}
    assert not set(AFTER_CREATION) & plan.skipped

    apply = site(emu, automation, extra_vars=CHANGED_INPUTS)
    assert apply.rc == 0, apply.stdout + apply.stderr
    assert apply.changed == plan.changed
    for task in plan.changed:
        assert apply.result(task)["diff"] == plan.result(task)["diff"], task
    assert publish_items(apply.result(PUBLISH)) == publish_items(plan.result(PUBLISH)) == {
        f"grant operators Proxmox/{NEW_VM}", "grant operators Proxmox/"}
    vm = pve.pve.vm(apply.result(CREATE)["vmid"])
    assert int((vm.pending or {}).get("memory", vm.config["memory"])) == 4096

    # Nothing left to do: changed=0 and no write, the drift signal.
    pve_writes, guac_writes = len(writes()), len(guacamole_writes(emu))
    rerun = site(emu, automation, extra_vars=CHANGED_INPUTS)
    assert rerun.rc == 0 and rerun.changed == set(), rerun.changed
    assert "changed=0" in rerun.stdout
    assert len(writes()) == pve_writes and len(guacamole_writes(emu)) == guac_writes


def test_the_page_runs_what_this_test_runs():
    """docs/gitops.md's jobs: the plan is `site.yml --check --diff`, the apply the same without --check, and a
    source that fails to load fails the job; its links resolve."""
    doc = REPO / "docs" / "gitops.md"
    text = doc.read_text()
    commands = [line.strip(" -").removeprefix("run: ") for line in text.splitlines()]
    commands = [command for command in commands if command.startswith("ansible-playbook ") and "site.yml" in command]
    plans = [command for command in commands if "--check" in command]
    applies = [command for command in commands if "--check" not in command]
    assert plans and applies, commands
    assert all("--check --diff" in command for command in plans), plans
    assert all(command.endswith("--diff") for command in applies), applies
    assert text.count('ANSIBLE_INVENTORY_UNPARSED_FAILED: "true"') == 2, "both pipelines"
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (doc.parent / target).exists(), target

"""AWX / Ansible Automation Platform: the custom credential types of docs/awx/ checked and injected the way
AWX does it, each driving a real module with nothing but the environment it injects; the execution
environment's dependencies as ansible-builder finds them; and the project skeleton of docs/awx/project/.

AWX's behaviour reproduced here was read from its source: CredentialTypeInjectorField.validate
(awx/main/fields.py) checks a type when it is saved, CredentialType.inject_credential
(awx/main/models/credential.py) renders it for a job or an inventory update.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import struct
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.integration import guacamole_fixtures, rustguac_fixtures, ssh_fixtures
from tests.integration.guacamole_fixtures import ADMIN, ADMIN_PASSWORD, assert_no_session_left
from tests.integration.rustguac_fixtures import ADMIN_KEY as RUSTGUAC_ADMIN_KEY

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
AWX_DOCS = REPO / "docs" / "awx"
PROJECT = AWX_DOCS / "project"
COLLECTIONS = REPO / "build" / "collections"
BIN = Path(sys.executable).parent

guacamole_server = guacamole_fixtures.guacamole_server
rustguac = rustguac_fixtures.rustguac
ssh_node = ssh_fixtures.ssh_node

# AWX's schema for injector keys (awx/main/fields.py).
FILE_KEY = re.compile(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$")
NAME_KEY = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
INJECTED = {
    "proxmox_api_token": {"PROXMOX_URL", "PROXMOX_TOKEN_ID", "PROXMOX_TOKEN_SECRET", "PROXMOX_VALIDATE_CERTS",
                          "PROXMOX_CA_PATH"},
    "proxmox_ssh_key": {"PROXMOX_SSH_USER", "PROXMOX_SSH_PRIVATE_KEY_FILE", "PROXMOX_SSH_KNOWN_HOSTS"},
    "guacamole_admin": {"GUACAMOLE_URL", "GUACAMOLE_USERNAME", "GUACAMOLE_PASSWORD", "GUACAMOLE_DATA_SOURCE",
                        "GUACAMOLE_VALIDATE_CERTS", "GUACAMOLE_CA_PATH"},
    "rustguac_api_key": {"RUSTGUAC_URL", "RUSTGUAC_API_KEY", "RUSTGUAC_VALIDATE_CERTS", "RUSTGUAC_CA_PATH"},
}
SECRETS = {"proxmox_api_token": {"token_secret"}, "proxmox_ssh_key": {"ssh_private_key"},
           "guacamole_admin": {"password"}, "rustguac_api_key": {"api_key"}}


def credential_type(name):
    """A credential type exactly as docs/awx/<name>.yml gives it to users."""
    return yaml.safe_load((AWX_DOCS / f"{name}.yml").read_text())


# ------------------------------------------------------------------ AWX's side


def awx_validate(cred_type):
    """What AWX checks when a credential type is saved; an AssertionError names what it would refuse."""
    assert cred_type["kind"] in ("cloud", "net"), "custom credential types are of kind cloud or net"
    fields = cred_type["inputs"]["fields"]
    ids = [field["id"] for field in fields]
    assert len(ids) == len(set(ids)), f"duplicate input ids: {ids}"
    assert set(cred_type["inputs"].get("required", [])) <= set(ids)
    for field in fields:
        assert field.get("type", "string") in ("string", "boolean"), field
        assert field.get("label"), f"input {field['id']} has no label"
    injectors = cred_type["injectors"]
    assert set(injectors) <= {"file", "env", "extra_vars"}
    files = list(injectors.get("file", {}))
    assert all(FILE_KEY.match(key) for key in files), files
    assert "template" not in files or len(files) == 1, "one file is `template`, several are `template.<name>`"
    for name, value in injectors.get("env", {}).items():
        assert NAME_KEY.match(name) and not name.startswith("ANSIBLE_"), f"AWX refuses the variable {name}"
        assert value.isascii(), f"{name}: AWX refuses non-ASCII templates"
    # Every template must render with each input set and StrictUndefined: no unknown names.
    namespace = dict.fromkeys(ids, "EXAMPLE")
    names = {key.split(".", 1)[1]: "EXAMPLE_FILENAME" for key in files if "." in key}
    namespace["tower"] = SimpleNamespace(filename="EXAMPLE_FILENAME" if files == ["template"]
                                         else SimpleNamespace(**names))
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for section in injectors.values():
        for template in section.values():
            strict.from_string(template).render(namespace)


def awx_inject(cred_type, inputs, private_dir):
    """(env, safe_env) as AWX's inject_credential makes them for a credential with these inputs: empty strings
    are left undefined, a missing boolean is false, file injectors become 0600 files whose paths the other
    templates see as tower.filename.<name>, and safe_env (what AWX stores with the job) has secrets masked."""
    fields = {field["id"]: field for field in cred_type["inputs"]["fields"]}
    missing = [name for name in cred_type["inputs"].get("required", []) if inputs.get(name) in (None, "")]
    assert not missing, f"AWX refuses a credential without {missing}"
    namespace, safe = {}, {}
    for name, field in fields.items():
        value = inputs.get(name)
        if field.get("type") == "boolean":
            namespace[name] = safe[name] = bool(value)
            continue
        if not value:
            continue
        if field.get("format") == "ssh_private_key" and not value.endswith("\n"):
            value += "\n"
        namespace[name] = value
        safe[name] = "**********" if field.get("secret") else value
    tower = SimpleNamespace(filename=SimpleNamespace())
    namespace["tower"] = safe["tower"] = tower
    sandbox = ImmutableSandboxedEnvironment()
    env_dir = Path(private_dir) / "env"
    env_dir.mkdir(parents=True, exist_ok=True)
    for label, template in cred_type["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as out:
            out.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." in label:
            setattr(tower.filename, label.split(".", 1)[1], path)
        else:
            tower.filename = path
    env, safe_env = {}, {}
    for name, template in cred_type["injectors"].get("env", {}).items():
        env[name] = sandbox.from_string(template).render(**namespace)
        safe_env[name] = sandbox.from_string(template).render(**safe)
    return env, safe_env


def clean_env(**extra):
    """The process environment without any PROXMOX_*, GUACAMOLE_* or ANSIBLE_* variable, plus extra."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PROXMOX_", "GUACAMOLE_", "ANSIBLE_"))}
    env.update(extra)
    return env


def output(run):
    return run.stdout + run.stderr


# ------------------------------------------------------------------ the credential types themselves


@pytest.mark.parametrize("name", sorted(INJECTED))
def test_credential_type_is_what_awx_accepts_and_the_collection_reads(name, tmp_path):
    cred_type = credential_type(name)
    awx_validate(cred_type)
    injected = set(cred_type["injectors"]["env"])
    assert injected == INJECTED[name]
    sources = "\n".join(path.read_text() for path in (REPO / "plugins").rglob("*.py"))
    for variable in injected:
        assert f'"{variable}"' in sources or f"name: {variable}" in sources, \
            f"{variable} is injected but no module or plugin reads it"

    fields = {field["id"]: field for field in cred_type["inputs"]["fields"]}
    assert {field_id for field_id, field in fields.items() if field.get("secret")} == SECRETS[name]
    assert "extra_vars" not in cred_type["injectors"], "AWX gives no extra_vars to inventory updates"

    # What AWX stores with the job (safe_env) never holds a secret input.
    inputs = {field_id: ("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n" if field.get("format") else f"value-{field_id}")
              for field_id, field in fields.items() if field.get("type") != "boolean"}
    env, safe_env = awx_inject(cred_type, inputs, tmp_path)
    for secret in SECRETS[name]:
        assert not [key for key, value in safe_env.items() if inputs[secret].strip() in value]
        assert reaches(env, inputs[secret].strip()), f"the secret input {secret} reaches no variable"


def reaches(env, value):
    """Whether value is in one of the variables, or in a file one of them names."""
    return any(value in text or (text.startswith("/") and Path(text).is_file() and value in Path(text).read_text())
               for text in env.values())


def test_certificate_verification_is_on_unless_the_box_is_ticked(tmp_path):
    """AWX gives a boolean input left out as false: the credential must then still verify certificates, and
    a CA left out must give no CA file (an empty file would not load)."""
    cred_type = credential_type("proxmox_api_token")
    minimal = {"api_url": "https://pve1:8006", "token_id": "a@pve!t", "token_secret": "s"}
    env, _unused = awx_inject(cred_type, minimal, tmp_path / "a")
    assert env["PROXMOX_VALIDATE_CERTS"] == "True" and env["PROXMOX_CA_PATH"] == ""
    env, _unused = awx_inject(cred_type, {**minimal, "skip_tls_verify": True}, tmp_path / "b")
    assert env["PROXMOX_VALIDATE_CERTS"] == "False"
    guacamole = credential_type("guacamole_admin")
    env, _unused = awx_inject(guacamole, {"api_url": "https://g/guacamole", "username": "u", "password": "p",
                                          "data_source": "postgresql"}, tmp_path / "c")
    assert env["GUACAMOLE_VALIDATE_CERTS"] == "True" and env["GUACAMOLE_CA_PATH"] == ""


# ------------------------------------------------------------------ the credentials driving real modules


@pytest.fixture
def awx_token(pve):
    """A fresh API token on the Proxmox test server, as a user would make one for AWX."""
    token_id, token_secret = "automation@pve!awx", str(uuid.uuid4())
    pve.pve.apitokens[token_id] = token_secret
    return token_id, token_secret


@pytest.mark.parametrize("tls", ["ca", "system_trust", "skip_verify"])
def test_token_credential_runs_a_module_and_the_inventory(tls, run_playbook, pve, awx_token, writes, tmp_path):
    """With the CA in the credential; with no CA, the certificate signed by a CA the execution environment trusts
    (SSL_CERT_FILE stands in for its trust store); and with verification off."""
    token_id, token_secret = awx_token
    inputs = {"api_url": pve.url, "token_id": token_id, "token_secret": token_secret}
    if tls == "ca":
        inputs["ca_cert"] = Path(pve.certfile).read_text()
    elif tls == "skip_verify":
        inputs["skip_tls_verify"] = True
    env, _unused = awx_inject(credential_type("proxmox_api_token"), inputs, tmp_path / "private")
    if tls == "ca":
        assert Path(env["PROXMOX_CA_PATH"]).read_text() == inputs["ca_cert"]
    else:
        assert env["PROXMOX_CA_PATH"] == ""
    trust = {"SSL_CERT_FILE": str(pve.certfile)} if tls == "system_trust" else {}

    run = run_playbook("""
        - name: Running VMs
          proxgate.core.proxmox_vm_info:
            status: running
    """, env={**env, **trust}, verbosity=3)
    assert run.rc == 0, output(run)
    assert "web01" in [vm["name"] for vm in run.result("Running VMs")["vms"]]
    assert token_secret not in output(run)
    assert writes() == []

    # The inventory source of docs/awx.md: the project's file with the groups example of the page (the gateway
    # from a pool only administrators fill), the same credential. A tag on a tenant's VM makes no gateway.
    pve.pve.vm(101).pool = "gateways"
    pve.pve.pools["production"].discard(101)
    pve.pve.pools.setdefault("gateways", set()).add(101)
    pve.pve.vm(102).config["tags"] = "guac-gateway;windows"
    source = tmp_path / "pve.proxmox.yml"
    source.write_text((PROJECT / "inventories" / "pve.proxmox.yml").read_text() + doc_block("groups:"))
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list", "-vvv"],
                          capture_output=True, text=True, check=False, cwd=tmp_path,
                          env=clean_env(**env, **trust, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
                                        ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_INVENTORY_UNPARSED_FAILED="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert listed["_meta"]["hostvars"]["web01"]["ansible_host"]
    assert listed["guacamole_gateway"]["hosts"] == ["web01"]
    assert token_secret not in proc.stdout + proc.stderr


def test_a_wrong_token_secret_fails_without_showing_it(run_playbook, pve, awx_token, tmp_path):
    token_id, _right = awx_token
    wrong = str(uuid.uuid4())
    env, _unused = awx_inject(credential_type("proxmox_api_token"),
                              {"api_url": pve.url, "token_id": token_id, "token_secret": wrong,
                               "ca_cert": Path(pve.certfile).read_text()}, tmp_path / "private")
    run = run_playbook("""
        - name: Running VMs
          proxgate.core.proxmox_vm_info:
    """, env=env, verbosity=3)
    assert run.rc != 0
    failure = run.result("Running VMs")
    assert "401" in failure["msg"], failure["msg"]
    assert wrong not in output(run)


def test_guacamole_credential_runs_a_module(guacamole_server, run_playbook, tmp_path):
    emu = guacamole_server(tls=True)
    emu.add_connection("shared-desk", "rdp", {"hostname": "10.0.0.9"}, data_source="postgresql-shared")
    emu.add_connection("main-only", "ssh", {"hostname": "10.0.0.8"})
    inputs = {"api_url": emu.url, "username": ADMIN, "password": ADMIN_PASSWORD,
              "data_source": "postgresql-shared", "ca_cert": Path(emu.certfile).read_text()}
    env, safe_env = awx_inject(credential_type("guacamole_admin"), inputs, tmp_path / "private")
    assert safe_env["GUACAMOLE_PASSWORD"] == "**********"

    run = run_playbook("""
        - name: Connections
          proxgate.core.guacamole_info:
            gather: [connections]
    """, env=env, verbosity=3)
    assert run.rc == 0, output(run)
    found = run.result("Connections")
    assert found["data_source"] == "postgresql-shared"
    assert [connection["name"] for connection in found["connections"]] == ["shared-desk"]
    assert ADMIN_PASSWORD not in output(run)
    assert_no_session_left(emu)


def test_rustguac_credential_runs_a_module(rustguac, run_playbook, tmp_path):
    rustguac.add_folder(name="production", allowed_groups=["ops"])
    inputs = {"api_url": rustguac.url, "api_key": RUSTGUAC_ADMIN_KEY, "ca_cert": Path(rustguac.certfile).read_text()}
    env, safe_env = awx_inject(credential_type("rustguac_api_key"), inputs, tmp_path / "private")
    assert safe_env["RUSTGUAC_API_KEY"] == "**********"
    assert env["RUSTGUAC_VALIDATE_CERTS"] == "True"

    run = run_playbook("""
        - name: Folders
          proxgate.core.rustguac_info:
            gather: [folders]
    """, env=env, verbosity=3)
    assert run.rc == 0, output(run)
    assert [folder["name"] for folder in run.result("Folders")["folders"]] == ["production"]
    assert RUSTGUAC_ADMIN_KEY not in output(run)


def qcow2(path, virtual_size):
    """A file with a qcow2 header announcing virtual_size (what qm and the test server read of it)."""
    path.write_bytes(b"QFI\xfb" + struct.pack(">I", 3) + bytes(16) + struct.pack(">Q", virtual_size) + bytes(480))
    return path


def test_ssh_credential_gives_key_files_that_proxmox_disk_imports_with(
        run_playbook, pve, ssh_node, awx_token, tmp_path):
    private_key = ssh_node.key_file.read_text()
    known_hosts = ssh_node.known_hosts.read_text()
    ssh_env, _unused = awx_inject(credential_type("proxmox_ssh_key"),
                                  {"ssh_user": ssh_node.user, "ssh_private_key": private_key,
                                   "known_hosts": known_hosts}, tmp_path / "private")
    key_file, hosts_file = Path(ssh_env["PROXMOX_SSH_PRIVATE_KEY_FILE"]), Path(ssh_env["PROXMOX_SSH_KNOWN_HOSTS"])
    assert key_file.read_text() == private_key and hosts_file.read_text() == known_hosts
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert ssh_env["PROXMOX_SSH_USER"] == "root"

    token_id, token_secret = awx_token
    api_env, _unused = awx_inject(credential_type("proxmox_api_token"),
                                  {"api_url": pve.url, "token_id": token_id, "token_secret": token_secret,
                                   "ca_cert": Path(pve.certfile).read_text()}, tmp_path / "private")
    pve.pve.add_vm(130, "vm130", node="pve1", status="stopped",
                   config={"scsi0": "local-lvm:vm-130-disk-0,size=8G", "boot": "order=scsi0"})
    image = qcow2(tmp_path / f"image-{secrets.token_hex(4)}.qcow2", 1024 ** 3)
    # The job template gives the node's address; user, key and known_hosts come from the credential.
    run = run_playbook(f"""
        - name: Import over SSH
          proxgate.core.proxmox_disk:
            vmid: 130
            disk: scsi1
            storage: local-lvm
            import_from: {image}
            ssh_host: {ssh_node.host}
            ssh_port: {ssh_node.port}
    """, env={**api_env, **ssh_env}, verbosity=3)
    assert run.rc == 0, output(run)
    assert run.result("Import over SSH")["import_method_used"] == "ssh"
    assert [entry["source"] for entry in pve.pve.qm_imports] == [str(image)]
    assert "scsi1" in pve.pve.vm(130).config
    key_body = "".join(private_key.splitlines()[1:-1])
    assert key_body[:40] not in output(run) and token_secret not in output(run)


# ------------------------------------------------------------------ docs/awx.md


def doc_blocks():
    """The YAML code blocks of docs/awx.md."""
    return re.findall(r"^```yaml\n(.*?)^```", (REPO / "docs" / "awx.md").read_text(), re.M | re.S)


def doc_block(start):
    found = [block for block in doc_blocks() if block.startswith(start)]
    assert len(found) == 1, f"docs/awx.md has {len(found)} YAML blocks starting with {start!r}"
    return found[0]


def test_the_page_shows_the_injectors_of_the_files():
    blocks = [yaml.safe_load(block) for block in doc_blocks()]
    shown = [block["injectors"] for block in blocks if isinstance(block, dict) and "injectors" in block]
    assert shown == [credential_type(name)["injectors"] for name in
                     ("proxmox_api_token", "proxmox_ssh_key", "guacamole_admin", "rustguac_api_key")]
    definition = (AWX_DOCS / "execution-environment.yml").read_text()
    assert yaml.safe_load(doc_block("version: 3")) == yaml.safe_load(definition)
    inventory = yaml.safe_load(doc_block("plugin:"))
    assert inventory == yaml.safe_load((PROJECT / "inventories" / "pve.proxmox.yml").read_text())


# ------------------------------------------------------------------ execution environment and project


def ansible_builder():
    path = BIN / "ansible-builder"
    assert path.exists(), "ansible-builder is missing: pip install -r tests/requirements.txt"
    return path


def test_ansible_builder_finds_the_collection_dependencies():
    proc = subprocess.run([str(ansible_builder()), "introspect", str(COLLECTIONS)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = yaml.safe_load(proc.stdout[proc.stdout.index("---"):])
    ours = " # from collection proxgate.core"
    wanted = {line.split(";")[0] for line in (REPO / "requirements.txt").read_text().splitlines()
              if line.startswith(("httpx", "paramiko"))}
    assert wanted and sorted(line.replace(ours, "").strip() for line in found["python"]) == sorted(wanted)
    system = sorted(line.replace(ours, "").strip() for line in found["system"])
    assert system == ["openssh-client [platform:dpkg]", "openssh-clients [platform:rpm]"]


def test_the_documented_execution_environment_is_a_valid_definition(tmp_path):
    proc = subprocess.run([str(ansible_builder()), "create", "-f", str(AWX_DOCS / "execution-environment.yml"),
                           "--context", str(tmp_path / "context")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    requirements = yaml.safe_load((tmp_path / "context" / "_build" / "requirements.yml").read_text())
    assert [entry["name"] for entry in requirements["collections"]] == ["proxgate.core"]


@pytest.mark.parametrize("playbook", ["site", "provision", "publish"])
def test_project_playbooks_run_the_collection_playbooks(playbook, tmp_path):
    """The job templates' playbooks in docs/awx/project/ import the collection's own playbooks."""
    wrapper = PROJECT / f"{playbook}.yml"
    assert yaml.safe_load(wrapper.read_text())[0]["ansible.builtin.import_playbook"] == f"proxgate.core.{playbook}"
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "--list-tasks", str(wrapper)],
                          capture_output=True, text=True, check=False, cwd=tmp_path,
                          env=clean_env(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_HOME=str(tmp_path)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in play_names(REPO / "playbooks" / f"{playbook}.yml"):
        assert f"): {name}" in proc.stdout, f"play {name!r} is not run:\n{proc.stdout}"


def play_names(path):
    """The names of the plays a playbook runs, through its imports of the collection's other playbooks."""
    names = []
    for play in yaml.safe_load(path.read_text()):
        imported = play.get("ansible.builtin.import_playbook")
        names += play_names(path.parent / imported) if imported else [play["name"]]
    return names


def test_a_cluster_that_does_not_answer_fails_the_sync_instead_of_emptying_it(pve, awx_token, tmp_path):
    """Issue #17, finding 6: with /cluster/resources failing, ansible-inventory under Ansible's defaults exits 0
    with no host (an AWX import with Overwrite would delete them all); with the environment AWX gives an
    inventory update (ANSIBLE_INVENTORY_UNPARSED_FAILED, awx/main/constants.py) it fails, and for a directory of
    sources the source variable of docs/awx.md (ANY_UNPARSED_IS_FAILED) makes one failing file fail it."""
    token_id, token_secret = awx_token
    env, _unused = awx_inject(credential_type("proxmox_api_token"),
                              {"api_url": pve.url, "token_id": token_id, "token_secret": token_secret,
                               "ca_cert": Path(pve.certfile).read_text()}, tmp_path / "private")
    sources = tmp_path / "sources"
    sources.mkdir()
    # api_retries: 0, so that each sync gives up at once instead of after 1 + 2 + 4 s of backoff (7 s a sync,
    # four syncs): a request that failed its last retry fails the source the same way as one never retried.
    (sources / "pve.proxmox.yml").write_text((PROJECT / "inventories" / "pve.proxmox.yml").read_text()
                                             + "api_retries: 0\n")
    (sources / "static.yml").write_text("all:\n  hosts:\n    jumphost:\n      ansible_host: 192.0.2.1\n")

    def sync(source, **settings):
        pve.pve.drop_next("GET", "/cluster/resources", times=20)
        proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list"],
                              capture_output=True, text=True, check=False, cwd=tmp_path,
                              env=clean_env(**env, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
                                            ANSIBLE_HOME=str(tmp_path / "home"), **settings))
        pve.pve.drop_next("GET", "/cluster/resources", times=0)
        return proc

    plain = sync(sources / "pve.proxmox.yml")
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["_meta"]["hostvars"] == {}, "Ansible's default: an empty inventory"
    awx = sync(sources / "pve.proxmox.yml", ANSIBLE_INVENTORY_UNPARSED_FAILED="True")
    assert awx.returncode != 0, awx.stdout

    directory = sync(sources, ANSIBLE_INVENTORY_UNPARSED_FAILED="True")
    assert directory.returncode == 0, "one file parsed: AWX's default lets the other fail"
    assert list(json.loads(directory.stdout)["_meta"]["hostvars"]) == ["jumphost"]
    strict = sync(sources, ANSIBLE_INVENTORY_UNPARSED_FAILED="True", ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="True")
    assert strict.returncode != 0, strict.stdout

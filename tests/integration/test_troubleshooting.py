"""docs/troubleshooting.md against the modules: every message the page quotes (a fenced block after an
`<!-- message: ID -->` comment, `<...>` standing for what varies) is triggered here for real, against the
Proxmox test server (wrong credentials, a token without a privilege, a proxy that drops the CSRF header, a
guest without an agent, an untrusted certificate; locks with PVE's own error texts from fakepve's error
catalogue), a real sshd, the Guacamole emulator and ansible-playbook/ansible-inventory with the demo
inventory. Each test asserts that what the module printed contains the page's text, so the page and the
behaviour cannot drift apart."""

from __future__ import annotations

import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.integration import guacamole_fixtures, publish_fixtures, rustguac_fixtures, ssh_fixtures
from tests.integration.conftest import BIN, COLLECTIONS, PASSWORD, REPO, TOKEN_ID, TOKEN_SECRET
from tests.integration.guacamole_fixtures import guac_env
from tests.integration.rustguac_fixtures import rg_env

pytestmark = pytest.mark.integration

guacamole_server = guacamole_fixtures.guacamole_server
ssh_node = ssh_fixtures.ssh_node
rustguac = rustguac_fixtures.rustguac
publish = publish_fixtures.publish

DOC = REPO / "docs" / "troubleshooting.md"
QUOTE = re.compile(r"<!-- message: ([a-z0-9-]+) -->\n```text\n(.*?)\n```", re.S)
PLACEHOLDER = re.compile(r"<[^<>\s][^<>]*>")
CONFIG_PATH = "/nodes/{node}/qemu/{vmid}/config"

# A token whose user may read everything and change a VM's CPU, nothing else.
LIMITED_TOKEN = "automation@pve!ansible"
LIMITED_SECRET = "0d6c1b1e-4f3a-4c55-9a7e-2b8f6c5d4e3a"

PVE_MESSAGES = ("pve-login-refused", "pve-token-refused", "pve-ticket-refused", "pve-csrf", "pve-permission",
                "pve-permission-config", "pve-locked", "pve-lock-timeout", "pve-agent-not-running",
                "pve-agent-not-configured", "pve-agent-not-configured-api", "pve-tls")
SSH_MESSAGES = ("ssh-host-key-unknown", "ssh-host-key-changed")
GUACAMOLE_MESSAGES = ("guac-invalid-credentials", "guac-permission-denied", "guac-totp", "guac-data-source",
                      "guac-tls", "guac-context-path", "guac-name-held")
RUSTGUAC_MESSAGES = ("rustguac-unknown-key", "rustguac-role", "rustguac-vault", "rustguac-publish-access")
CONNECTION_MESSAGES = ("api-plain-http", "api-timeout")
INVENTORY_MESSAGES = ("inventory-auth", "inventory-unparsed", "inventory-unknown-plugin", "inventory-publish-empty")


def quoted_messages():
    """{message id: [quoted lines]} of docs/troubleshooting.md."""
    return {message_id: block.splitlines() for message_id, block in QUOTE.findall(DOC.read_text())}


def quote_pattern(line):
    """A regex for one quoted line: the text as it is, each <placeholder> matching anything."""
    return re.compile(".+?".join(re.escape(part) for part in PLACEHOLDER.split(line)))


def assert_quoted(message_id, printed):
    lines = quoted_messages().get(message_id)
    assert lines, f"docs/troubleshooting.md has no <!-- message: {message_id} --> block"
    for line in lines:
        assert quote_pattern(line).search(printed), (
            f"docs/troubleshooting.md ({message_id}) quotes\n  {line}\nbut what was printed is\n  {printed}")


def failure(run, name):
    """The msg of the task with this name, which must have failed."""
    found = [entry for entry in run.results if entry["task"] == name]
    assert found and found[-1]["status"] == "failed", (name, found, run.stdout, run.stderr)
    return found[-1]["result"]["msg"]


def clean_env(workdir, **extra):
    """os.environ without PROXMOX_/GUACAMOLE_/ANSIBLE_ variables, plus what an ansible run here needs."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PROXMOX_", "GUACAMOLE_", "ANSIBLE_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"), ANSIBLE_HOME=str(workdir / "ansible-home"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    env.update(extra)
    return env


# ------------------------------------------------------------------ a proxy that drops the CSRF header

class CsrfDroppingProxy(ThreadingHTTPServer):
    """Plain HTTP on 127.0.0.1 in front of the test server, passing everything on except the
    CSRFPreventionToken header, as a web application firewall with a header allow-list does."""

    daemon_threads = True

    def __init__(self, upstream, cafile):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.client = httpx.Client(base_url=upstream, verify=ssl.create_default_context(cafile=cafile), timeout=30)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        self.client.close()


class ProxyHandler(BaseHTTPRequestHandler):
    DROPPED = {"host", "content-length", "connection", "accept-encoding", "csrfpreventiontoken"}

    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {key: value for key, value in self.headers.items() if key.lower() not in self.DROPPED}
        reply = self.server.client.request(self.command, self.path, content=body, headers=headers)
        self.send_response(reply.status_code, reply.reason_phrase)
        self.send_header("Content-Type", reply.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)

    do_GET = do_POST = do_PUT = do_DELETE = forward

    def log_message(self, *args):
        pass


# ------------------------------------------------------------------ Proxmox VE


def add_guests(pve):
    """104 and 106: stopped VMs for the lock errors; 105: running, no agent in its config; 107: running,
    agent configured but never coming up in the guest."""
    for vmid in (104, 106):
        pve.pve.add_vm(vmid, f"vm{vmid}", node="pve1", status="stopped", config={"memory": 1024, "agent": "1"})
    pve.pve.add_vm(105, "noagent", node="pve1", status="running", config={"memory": 1024})
    silent = pve.pve.add_vm(107, "silent", node="pve1", status="running", config={"memory": 1024, "agent": "1"})
    silent.agent, silent.agent_missing = None, True


def test_proxmox_messages(run_playbook, pve, writes):
    add_guests(pve)
    pve.pve.apitokens[LIMITED_TOKEN] = LIMITED_SECRET
    pve.pve.token_privsep[LIMITED_TOKEN] = False  # `--privsep 0`, as docs/quickstart.md makes it
    pve.pve.grant(LIMITED_TOKEN.split("!", maxsplit=1)[0], "/", "VM.Audit", "Sys.Audit", "VM.Config.CPU")
    # PVE's own texts, from fakepve's catalogue of each endpoint's errors, every time (retries included).
    pve.pve.fail("POST", CONFIG_PATH.format(node="pve1", vmid=104), error="locked")
    pve.pve.fail("POST", CONFIG_PATH.format(node="pve1", vmid=106), error="config_lock_timeout")
    # A fresh ticket refused as well: the client logs in again once, so two refusals reach the user.
    pve.pve.fail("GET", "/nodes/pve1/qemu/105/status/current", error="invalid_ticket", times=2)
    ticket = f"api_user: root@pam\n    api_password: {PASSWORD}"
    limited = f"api_token_id: '{LIMITED_TOKEN}'\n    api_token_secret: {LIMITED_SECRET}"
    with CsrfDroppingProxy(pve.url, pve.certfile) as proxy:
        run = run_playbook(f"""
- name: Wrong password
  proxgate.core.proxmox_vm_info:
    api_user: root@pam
    api_password: not-the-password
  ignore_errors: true
- name: Wrong token secret
  proxgate.core.proxmox_vm_info:
    api_token_id: '{TOKEN_ID}'
    api_token_secret: 00000000-0000-0000-0000-000000000000
  ignore_errors: true
- name: Ticket refused twice
  proxgate.core.proxmox_api:
    path: /nodes/pve1/qemu/105/status/current
    {ticket}
  ignore_errors: true
- name: Behind a proxy that drops the CSRF header
  proxgate.core.proxmox_vm:
    vmid: 101
    memory: 4096
    api_url: {proxy.url}
    {ticket}
  ignore_errors: true
- name: Start without VM.PowerMgmt
  proxgate.core.proxmox_vm:
    vmid: 103
    state: started
    {limited}
  ignore_errors: true
- name: Memory without VM.Config.Memory
  proxgate.core.proxmox_vm:
    vmid: 101
    memory: 4096
    {limited}
  ignore_errors: true
- name: Locked by a backup
  proxgate.core.proxmox_vm:
    vmid: 104
    memory: 2048
    api_retries: 1
    {ticket}
  ignore_errors: true
- name: Config file lock not free
  proxgate.core.proxmox_vm:
    vmid: 106
    memory: 2048
    api_retries: 1
    {ticket}
  ignore_errors: true
- name: Agent not running
  proxgate.core.proxmox_guest_agent:
    vmid: 107
    timeout: 2
    delay: 0.5
    {ticket}
  ignore_errors: true
- name: No agent configured
  proxgate.core.proxmox_guest_agent:
    vmid: 105
    {ticket}
  ignore_errors: true
- name: No agent configured, raw API
  proxgate.core.proxmox_api:
    path: /nodes/pve1/qemu/105/agent/network-get-interfaces
    {ticket}
  ignore_errors: true
- name: Certificate not trusted
  proxgate.core.proxmox_vm_info:
    {ticket}
  environment:
    PROXMOX_CA_PATH: ""
  ignore_errors: true
""", env={"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile})
    assert run.rc == 0, run.stdout + run.stderr
    for message_id, task in (
            ("pve-login-refused", "Wrong password"),
            ("pve-token-refused", "Wrong token secret"),
            ("pve-ticket-refused", "Ticket refused twice"),
            ("pve-csrf", "Behind a proxy that drops the CSRF header"),
            ("pve-permission", "Start without VM.PowerMgmt"),
            ("pve-permission-config", "Memory without VM.Config.Memory"),
            ("pve-locked", "Locked by a backup"),
            ("pve-lock-timeout", "Config file lock not free"),
            ("pve-agent-not-running", "Agent not running"),
            ("pve-agent-not-configured", "No agent configured"),
            ("pve-agent-not-configured-api", "No agent configured, raw API"),
            ("pve-tls", "Certificate not trusted")):
        assert_quoted(message_id, failure(run, task))
    # The CSRF refusal is real: the writes reached the server without the header and were refused.
    assert pve.pve.vm(101).config["memory"] in (2048, "2048")
    assert pve.pve.vm(103).status == "stopped"


@pytest.mark.parametrize("error, refusals", [("locked", 2), ("config_lock_timeout", 1)])
def test_a_lock_held_by_another_task_is_retried(run_playbook, pve, error, refusals):
    """'VM is locked (backup)' and "can't lock file ... got timeout" both refuse before anything ran."""
    pve.pve.fail("POST", CONFIG_PATH.format(node="pve2", vmid=103), error=error, times=refusals)
    task = """
- name: Change the memory while another task holds the guest
  proxgate.core.proxmox_vm:
    vmid: 103
    memory: 8192
"""
    run = run_playbook(task, env={"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile,
                                  "PROXMOX_TOKEN_ID": TOKEN_ID, "PROXMOX_TOKEN_SECRET": TOKEN_SECRET})
    assert run.rc == 0, run.stdout + run.stderr
    assert int(pve.pve.vm(103).config["memory"]) == 8192
    posts = [path for method, path, _body in pve.pve.requests
             if method == "POST" and path.endswith(CONFIG_PATH.format(node="pve2", vmid=103))]
    assert len(posts) == refusals + 1, "the refusals, then the write that worked"


def qcow2(path, virtual_size=1024 ** 3):
    """A file with a qcow2 header announcing virtual_size, which is all the test qm reads of an image."""
    path.write_bytes(b"QFI\xfb" + struct.pack(">I", 3) + bytes(16) + struct.pack(">Q", virtual_size) + bytes(480))
    return path


def test_ssh_host_key_messages(run_playbook, pve, ssh_node, writes, tmp_path):
    pve.pve.add_vm(120, "vm120", node="pve1", status="stopped", config={"scsihw": "virtio-scsi-single"})
    image = qcow2(tmp_path / "noble.qcow2")
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    task = """
- name: {name}
  proxgate.core.proxmox_disk:
    vmid: 120
    disk: scsi1
    storage: local-lvm
    import_from: {image}
    import_method: ssh
    ssh_host: {node.host}
    ssh_port: {node.port}
    ssh_private_key_file: {node.key_file}
    ssh_known_hosts: {known_hosts}
  ignore_errors: true
"""
    run = run_playbook(
        task.format(name="Unknown node", image=image, node=ssh_node, known_hosts=empty)
        + task.format(name="Changed key", image=image, node=ssh_node, known_hosts=ssh_node.wrong_known_hosts),
        env={"PROXMOX_URL": pve.url, "PROXMOX_CA_PATH": pve.certfile,
             "PROXMOX_TOKEN_ID": TOKEN_ID, "PROXMOX_TOKEN_SECRET": TOKEN_SECRET})
    assert run.rc == 0, run.stdout + run.stderr
    unknown, changed = failure(run, "Unknown node"), failure(run, "Changed key")
    assert_quoted("ssh-host-key-unknown", unknown)
    assert_quoted("ssh-host-key-changed", changed)
    assert ssh_node.fingerprint in unknown, "the message shows the key the node really has"
    assert pve.pve.qm_imports == [] and writes() == []


# ------------------------------------------------------------------ Guacamole


def test_guacamole_messages(run_playbook, guacamole_server):
    emu = guacamole_server(tls=True)
    emu.add_user("alice", "alice-Pa55")
    with_totp = guacamole_server()
    with_totp.totp_required = True
    run = run_playbook(f"""
- name: Wrong password
  proxgate.core.guacamole_info:
    api_password: not-the-password
  ignore_errors: true
- name: Without the permission
  proxgate.core.guacamole_connection:
    name: web01
    protocol: ssh
    parameters:
      hostname: 10.20.0.111
    api_username: alice
    api_password: alice-Pa55
  ignore_errors: true
- name: Unknown data source
  proxgate.core.guacamole_info:
    data_source: mysql
  ignore_errors: true
- name: TOTP required
  proxgate.core.guacamole_info:
    api_url: {with_totp.url}
  ignore_errors: true
- name: Certificate not trusted
  proxgate.core.guacamole_info:
  environment:
    GUACAMOLE_CA_PATH: ""
  ignore_errors: true
""", env=guac_env(emu))
    assert run.rc == 0, run.stdout + run.stderr
    for message_id, task in (("guac-invalid-credentials", "Wrong password"),
                             ("guac-permission-denied", "Without the permission"),
                             ("guac-data-source", "Unknown data source"),
                             ("guac-totp", "TOTP required"),
                             ("guac-tls", "Certificate not trusted")):
        assert_quoted(message_id, failure(run, task))
    assert emu.state()["connections"] == {}
    assert guacamole_fixtures.writes(emu) == [("POST", "connections")], "alice's one attempt, refused"


def test_a_guest_named_like_a_kept_guest(run_playbook, guacamole_server):
    emu = guacamole_server()
    task = """
- name: Publish
  proxgate.core.guacamole_sync_connections:
    root: Proxmox
    keep_guests: {keep}
    connections:
      - {{name: finance-db, guest: {guest}, protocol: ssh, parameters: {{hostname: {address}}}}}
"""
    first = run_playbook(task.format(keep=[], guest="pve/200", address="10.20.0.200"), env=guac_env(emu))
    assert first.rc == 0, first.stdout + first.stderr
    run = run_playbook(task.format(keep=["pve/200"], guest="pve/150", address="10.66.6.6"), env=guac_env(emu))
    assert run.rc == 0, run.stdout + run.stderr
    [warning] = run.result("Publish")["warnings"]
    assert_quoted("guac-name-held", warning)


def test_guacamole_api_url_without_the_web_app_path(run_playbook, guacamole_server):
    emu = guacamole_server(tls=True)
    server_only = emu.url.removesuffix("/guacamole")
    run = run_playbook(f"""
- name: Without the web app's path
  proxgate.core.guacamole_info:
    api_url: {server_only}
  ignore_errors: true
""", env=guac_env(emu))
    assert run.rc == 0, run.stdout + run.stderr
    printed = failure(run, "Without the web app's path")
    assert_quoted("guac-context-path", printed)
    assert f"no Guacamole API at {server_only}/api/tokens" in printed, "the URL that was tried"
    assert f"such as {emu.url})" in printed, "the URL to try instead"
    assert [(method, path) for method, path, _body in emu.requests] == [("POST", "/api/tokens")], \
        "one login, not sent again"


# ------------------------------------------------------------------ rustguac


def test_rustguac_messages(run_playbook, rustguac, publish, pve):
    operator = rustguac.add_api_key(name="ci-operator", role="operator", groups=["ops"])
    run = run_playbook(f"""
- name: Unknown key
  proxgate.core.rustguac_info:
    api_key: rg-not-a-key-0000
  ignore_errors: true
- name: Role too low
  proxgate.core.rustguac_folder:
    name: production
    api_key: {operator}
  ignore_errors: true
""", env=rg_env(rustguac))
    assert run.rc == 0, run.stdout + run.stderr
    assert_quoted("rustguac-unknown-key", failure(run, "Unknown key"))
    assert_quoted("rustguac-role", failure(run, "Role too low"))

    rustguac.vault_enabled = False
    run = run_playbook("""
- name: No Vault
  proxgate.core.rustguac_folder:
    name: production
  ignore_errors: true
""", env=rg_env(rustguac))
    assert_quoted("rustguac-vault", failure(run, "No Vault"))
    rustguac.vault_enabled = True

    attempts = rustguac_fixtures.writes(rustguac)
    refused = publish(rustguac, extra_vars={"guacamole_sync_target": "rustguac",
                                            "guacamole_sync_user_groups_by_pool": {"production": ["ops"]}})
    assert refused.rc != 0
    assert_quoted("rustguac-publish-access", " ".join(refused.stdout.split()))
    assert rustguac.state()["folders"] == [] and rustguac_fixtures.writes(rustguac) == attempts


# ------------------------------------------------------------------ reaching an API


def test_plain_http_to_an_https_port(run_playbook, pve, guacamole_server, rustguac):
    """The three servers speak HTTPS only: an http:// api_url gets a closed connection and the https:// address
    to try instead."""
    guacamole = guacamole_server(tls=True)
    addresses = {"Proxmox VE": pve.url, "Guacamole": guacamole.url, "rustguac": rustguac.url}
    plain = {name: url.replace("https://", "http://", 1) for name, url in addresses.items()}
    run = run_playbook(f"""
- name: Proxmox VE
  proxgate.core.proxmox_vm_info:
    api_url: {plain["Proxmox VE"]}
    api_retries: 0
  ignore_errors: true
- name: Guacamole
  proxgate.core.guacamole_info:
    api_url: {plain["Guacamole"]}
    api_retries: 0
  ignore_errors: true
- name: rustguac
  proxgate.core.rustguac_info:
    api_url: {plain["rustguac"]}
    api_retries: 0
  ignore_errors: true
""", env={"PROXMOX_TOKEN_ID": TOKEN_ID, "PROXMOX_TOKEN_SECRET": TOKEN_SECRET, **guac_env(guacamole),
          **rg_env(rustguac)})
    assert run.rc == 0, run.stdout + run.stderr
    for name, url in addresses.items():
        printed = failure(run, name)
        assert_quoted("api-plain-http", printed)
        assert printed.endswith(f"try api_url: {url})"), printed
    assert guacamole.requests == [] and rustguac_fixtures.writes(rustguac) == [], "no request reached the APIs"


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers, as a hung service does."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.connections = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self):
        while not self.stopped.is_set():
            try:
                connection, _address = self.sock.accept()
            except TimeoutError:
                continue
            self.connections.append(connection)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(5)
        for connection in self.connections:
            connection.close()
        self.sock.close()


@pytest.mark.parametrize("module, auth", [
    ("proxmox_vm_info", f"api_token_id: '{TOKEN_ID}'\n    api_token_secret: {TOKEN_SECRET}"),
    ("guacamole_info", "api_username: guacadmin\n    api_password: not-used"),
    ("rustguac_info", "api_key: rg-not-used"),
])
def test_a_server_that_never_answers(run_playbook, module, auth):
    """Small api_timeout and api_retries: the message says how the request was tried and which options
    set that (with the defaults, 4 attempts of 30 seconds each)."""
    with SilentServer() as server:
        run = run_playbook(f"""
- name: No answer
  proxgate.core.{module}:
    api_url: {server.url}
    api_timeout: 1
    api_retries: 1
    {auth}
  ignore_errors: true
""")
        tried = len(server.connections)
    assert run.rc == 0, run.stdout + run.stderr
    printed = failure(run, "No answer")
    assert_quoted("api-timeout", printed)
    assert "(2 attempts, each timed out after 1s, " in printed
    assert tried == 2, "each attempt is a connection of its own"
    # Two waits of 1 second, and a backoff of 1 to 1.25 seconds between them.
    assert 2.9 <= float(re.search(r", ([0-9.]+)s in all", printed).group(1)) < 10, printed


# ------------------------------------------------------------------ inventory


def test_inventory_messages(pve, guacamole_server, tmp_path):
    emu = guacamole_server()
    inventory = REPO / "playbooks" / "inventory" / "demo.proxmox.yml"
    wrong_token = clean_env(tmp_path, PROXMOX_URL=pve.url, PROXMOX_CA_PATH=pve.certfile, PROXMOX_TOKEN_ID=TOKEN_ID,
                            PROXMOX_TOKEN_SECRET="00000000-0000-0000-0000-000000000000", **guac_env(emu))
    publish = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory),
                              str(REPO / "playbooks" / "publish.yml")],
                             env=wrong_token, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert publish.returncode != 0, publish.stdout + publish.stderr
    printed = " ".join((publish.stdout + publish.stderr).split())
    for message_id in ("inventory-auth", "inventory-unparsed", "inventory-publish-empty"):
        assert_quoted(message_id, printed)
    assert guacamole_fixtures.writes(emu) == [], "nothing was published from an empty inventory"

    (tmp_path / "no-collections").mkdir()
    graph = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(inventory), "--graph"],
                           env=clean_env(tmp_path, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "no-collections"),
                                         PROXMOX_URL=pve.url),
                           cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert_quoted("inventory-unknown-plugin", " ".join((graph.stdout + graph.stderr).split()))


@pytest.mark.parametrize("scheme, options, hint", [
    ("https", "", "(the TLS certificate is not trusted"),
    ("http", "api_retries: 0\n", "(the server closed the connection without an HTTP reply"),
])
def test_the_inventory_gives_a_hint_once(pve, tmp_path, scheme, options, hint):
    """ansible-core 2.19 appends the text of each chained cause to an error: the client's text, hint and all,
    must not come twice."""
    source = tmp_path / "cluster.proxmox.yml"
    source.write_text(f"plugin: proxgate.core.proxmox\n{options}")
    env = clean_env(tmp_path, PROXMOX_URL=pve.url.replace("https://", f"{scheme}://", 1), PROXMOX_TOKEN_ID=TOKEN_ID,
                    PROXMOX_TOKEN_SECRET=TOKEN_SECRET)
    graph = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--graph"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120, check=False)
    printed = " ".join((graph.stdout + graph.stderr).split())
    shown = printed.count("proxgate.core.proxmox: cannot list the cluster's guests")
    assert shown >= 1, printed
    assert printed.count(hint) == shown, f"the hint once each time the error is shown:\n{printed}"
    if scheme == "https":
        assert_quoted("pve-tls", printed)


# ------------------------------------------------------------------ the page itself


def test_every_quoted_message_is_triggered_here():
    quoted = quoted_messages()
    triggered = (PVE_MESSAGES + SSH_MESSAGES + GUACAMOLE_MESSAGES + RUSTGUAC_MESSAGES + CONNECTION_MESSAGES
                 + INVENTORY_MESSAGES)
    assert sorted(quoted) == sorted(triggered), "a quote without a test here, or a test without its quote"
    for message_id, lines in quoted.items():
        assert lines and all(line.strip() for line in lines), f"{message_id}: an empty quote"


def test_the_page_links_resolve():
    text = DOC.read_text()
    for target in re.findall(r"\]\(([^)#]+\.md)", text):
        assert (DOC.parent / target).exists(), target

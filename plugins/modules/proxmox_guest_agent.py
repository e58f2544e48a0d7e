#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxmox_guest_agent
short_description: Ask a Proxmox VE QEMU VM's guest agent for its address, run a command, or read its OS
version_added: 0.1.0
description:
  - Talks to the QEMU guest agent of a running VM through the Proxmox VE API.
  - V(address) waits until the agent reports an address that passes the filters (the usual step
    after starting a new VM, before connecting to it) and returns it.
  - V(exec) runs a command in the guest and returns its exit code and output, like
    M(ansible.builtin.command) does on a host.
  - V(info) returns the guest's OS and the agent's version and supported commands.
  - A VM that is not running fails at once, whatever the action.
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.proxmox
  - proxgate.core.attributes
  - proxgate.core.attributes.ACTIONGROUP_PROXMOX
attributes:
  check_mode:
    support: full
    details:
      - V(address) and V(info) only read, and run in check mode as usual.
      - V(exec) does not run the command in check mode; it reports C(changed=true) (it would run).
  diff_mode:
    support: none
    details:
      - Nothing is configured, so there is no before and after to show.
options:
  vmid:
    description:
      - Id of the VM. Exactly one of O(vmid) and O(name) is required.
    type: int
  name:
    description:
      - Name of the VM; it must be unique in the cluster. Exactly one of O(vmid) and O(name) is required.
    type: str
  action:
    description:
      - V(address) polls C(network-get-interfaces) until an address passes O(interface), O(cidr),
        O(family) and O(skip_link_local), or O(timeout) runs out. While the agent is not up yet
        (C(QEMU guest agent is not running), or it times out) it keeps asking.
      - Only an address that can be the guest's is ever returned - a global or private unicast address
        (RFC 1918, C(fc00::/7), the documentation ranges, the RFC 6598 shared space C(100.64.0.0/10)).
        The agent's other answers are left out whatever the filters say - C(0.0.0.0), C(::), multicast,
        C(255.255.255.255) and other reserved addresses, the network and broadcast address of the reported
        network, loopback, link-local (unless O(skip_link_local=false)), and these in IPv4-mapped form
        (C(::ffff:127.0.0.1) is loopback, C(::ffff:169.254.169.254) link-local even with
        O(skip_link_local=false)). The guest's operating system writes the agent's answer, so it could
        otherwise point the next tasks at the controller, at a metadata service or at everyone.
      - V(exec) runs O(command) in the guest and waits for it to end.
      - V(info) reads C(get-osinfo) and C(info). It does not wait for the agent to come up.
    type: str
    choices: [address, exec, info]
    default: address
  interface:
    description:
      - With V(address), only addresses of interfaces whose name matches this shell glob, such as
        V(eth*), V(ens*) or V(Ethernet*) (case-sensitive).
    type: str
  cidr:
    description:
      - With V(address), only addresses inside one of these networks, such as V(10.20.0.0/16).
      - Host bits are ignored (V(10.20.0.5/16) means V(10.20.0.0/16)).
    type: list
    elements: str
  family:
    description:
      - With V(address), the address family wanted.
    type: str
    choices: [ipv4, ipv6, any]
    default: ipv4
  skip_link_local:
    description:
      - With V(address), leave out link-local addresses (V(169.254.0.0/16), V(fe80::/10)).
      - Loopback addresses (and the loopback interface) are always left out, and so is every address that
        cannot be the guest's (see O(action)); link-local addresses in IPv4-mapped form (C(::ffff:169.254.0.1))
        too.
    type: bool
    default: true
  timeout:
    description:
      - With V(address), seconds to wait for a matching address; V(0) asks once.
      - With V(exec), seconds to wait for the command to end.
    type: int
    default: 300
  delay:
    description:
      - Seconds between two polls of the agent.
    type: float
    default: 2
  command:
    description:
      - With V(exec), the command to run - a list of the program and its arguments (no shell), or a
        string that is split into one with shell quoting rules (still no shell; run
        V([/bin/sh, -c, "..."]) for pipes and redirections).
      - Required with O(action=exec).
    type: raw
  input:
    description:
      - With V(exec), text to give the command on its standard input (PVE's C(input-data), at most 64 KiB).
    type: str
notes:
  - The VM needs the agent enabled in its configuration (C(agent=1)) and C(qemu-guest-agent)
    installed and running in the guest.
  - "Privileges: on PVE 8, C(VM.Monitor) on the VM for every action. PVE 9 replaced it: C(VM.GuestAgent.Audit)
    (or C(VM.GuestAgent.Unrestricted)) for read commands such as V(address) and V(info), and
    C(VM.GuestAgent.Unrestricted) for V(exec). C(VM.Audit) is needed in both to find the VM."
  - Some Windows agents list interfaces without addresses; those are skipped.
  - The agent sends command output base64-encoded; PVE decodes it, so RV(stdout) and RV(stderr) are
    the text as the command wrote it.
"""

EXAMPLES = r"""
- name: Wait for the new VM's address on the server network
  proxgate.core.proxmox_guest_agent:
    name: web01
    interface: "eth*"
    cidr: [10.20.0.0/16]
    timeout: 600
  delegate_to: localhost
  register: web01_agent

- name: Use it
  ansible.builtin.add_host:
    name: web01
    ansible_host: "{{ web01_agent.address }}"

- name: Run a command in the guest
  proxgate.core.proxmox_guest_agent:
    vmid: 101
    action: exec
    command: [systemctl, is-active, nginx]
  delegate_to: localhost
  register: nginx_state
  failed_when: false
  changed_when: false

- name: Feed a script to a shell
  proxgate.core.proxmox_guest_agent:
    vmid: 101
    action: exec
    command: /bin/sh -s
    input: |
      apt-get update
      apt-get -y install nginx
  delegate_to: localhost

- name: Which OS is it?
  proxgate.core.proxmox_guest_agent:
    vmid: 102
    action: info
  delegate_to: localhost
  register: guest_os
"""

RETURN = r"""
vmid:
  description: Id of the VM.
  returned: always
  type: int
  sample: 101
node:
  description: Node the VM is on.
  returned: always
  type: str
  sample: pve1
address:
  description: The first address that passed the filters, in the order the agent lists interfaces and addresses.
  returned: O(action=address)
  type: str
  sample: 10.20.0.111
addresses:
  description: Every address that passed the filters.
  returned: O(action=address)
  type: list
  elements: dict
  contains:
    interface:
      description: Interface name as the guest calls it.
      type: str
      sample: eth0
    address:
      description: The address.
      type: str
      sample: 10.20.0.111
    family:
      description: V(ipv4) or V(ipv6).
      type: str
      sample: ipv4
    prefix:
      description: Prefix length of the address's network.
      type: int
      sample: 16
interfaces:
  description:
    - The interfaces as the agent reported them (C(network-get-interfaces)), at most the first 256.
    - The addresses are read within limits - 256 interfaces, 64 addresses on each, 128 characters of an
      interface name, 64 of a hardware address - and a warning says what was dropped.
  returned: O(action=address)
  type: list
  elements: dict
elapsed:
  description: Seconds spent waiting for the address.
  returned: O(action=address)
  type: float
  sample: 12.4
cmd:
  description: The command as run (or as it would run, in check mode).
  returned: O(action=exec)
  type: list
  elements: str
  sample: [systemctl, is-active, nginx]
rc:
  description:
    - Exit code of the command; a negative number when a signal ended it (C(-9) for SIGKILL).
    - The task fails when it is not 0, as M(ansible.builtin.command) does.
  returned: O(action=exec), not in check mode
  type: int
  sample: 0
stdout:
  description: What the command wrote on its standard output.
  returned: O(action=exec), not in check mode
  type: str
  sample: active
stdout_lines:
  description: RV(stdout) split into lines.
  returned: O(action=exec), not in check mode
  type: list
  elements: str
stderr:
  description: What the command wrote on its standard error.
  returned: O(action=exec), not in check mode
  type: str
stderr_lines:
  description: RV(stderr) split into lines.
  returned: O(action=exec), not in check mode
  type: list
  elements: str
pid:
  description: Process id of the command in the guest.
  returned: O(action=exec), not in check mode
  type: int
  sample: 1234
os:
  description: The agent's C(get-osinfo) answer.
  returned: O(action=info)
  type: dict
  sample: {id: debian, name: Debian GNU/Linux, version-id: "13", kernel-release: 6.12.0, machine: x86_64}
version:
  description: Version of the guest agent.
  returned: O(action=info)
  type: str
  sample: 9.0.0
supported_commands:
  description: The agent commands that are enabled in the guest.
  returned: O(action=info)
  type: list
  elements: str
  sample: [guest-exec, guest-get-osinfo, guest-network-get-interfaces]
"""

import re
import shlex
import time
from contextlib import contextmanager

from ansible_collections.proxgate.core.plugins.module_utils.proxmox.addresses import (
    MAX_INTERFACES,
    agent_addresses,
    parse_networks,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.client import (
    ProxmoxApiError,
    ProxmoxConnectionError,
    ProxmoxError,
)
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.guests import find_guest, guest_path
from ansible_collections.proxgate.core.plugins.module_utils.proxmox.module import ProxmoxModule

FAMILIES = {"ipv4": 4, "ipv6": 6}
VM_NOT_RUNNING = re.compile(r"\bVM \d+ is not running")
NO_AGENT_CONFIGURED = "No QEMU guest agent configured"
# How many addresses the 'none matched' message lists.
SEEN_IN_MESSAGE = 8


# ------------------------------------------------------------------ pure logic

def split_command(command):
    """The argv for the command option: a list as given, a string split with shell quoting rules."""
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ValueError(f"command {command!r} cannot be split into arguments: {exc}") from exc
    elif isinstance(command, (list, tuple)):
        if any(isinstance(item, (dict, list, tuple)) or item is None for item in command):
            raise ValueError("command must be a list of strings (the program and its arguments), "
                             f"got {command!r}")
        argv = [str(item) for item in command]
    else:
        raise ValueError(f"command must be a list of strings or a string, got {type(command).__name__}")
    if not argv or not argv[0]:
        raise ValueError("command is empty; give the program to run and its arguments")
    return argv


def seen_addresses(interfaces):
    """'eth0 10.0.0.5/24, ...' for the message when nothing passed the filters."""
    seen = [f"{iface.get('name')} {entry.get('ip-address')}/{entry.get('prefix')}"
            for iface in interfaces or () for entry in iface.get("ip-addresses") or ()]
    text = ", ".join(seen[:SEEN_IN_MESSAGE]) or "none"
    return text + (f" and {len(seen) - SEEN_IN_MESSAGE} more" if len(seen) > SEEN_IN_MESSAGE else "")


def exit_code(status):
    """The command's rc from exec-status: exitcode, or minus the signal that ended it."""
    if status.get("exitcode") is not None:
        return int(status["exitcode"])
    if status.get("signal") is not None:
        return -int(status["signal"])
    return 0


@contextmanager
def without_retries(client):
    """The client's own retries off: the module polls itself, and a resent exec could run twice."""
    saved, client.retries = client.retries, 0
    try:
        yield client
    finally:
        client.retries = saved


# ---------------------------------------------------------------------- module

class ProxmoxGuestAgent(ProxmoxModule):
    argument_spec = dict(
        vmid=dict(type="int"),
        name=dict(type="str"),
        action=dict(type="str", choices=["address", "exec", "info"], default="address"),
        interface=dict(type="str"),
        cidr=dict(type="list", elements="str"),
        family=dict(type="str", choices=["ipv4", "ipv6", "any"], default="ipv4"),
        skip_link_local=dict(type="bool", default=True),
        timeout=dict(type="int", default=300),
        delay=dict(type="float", default=2.0),
        command=dict(type="raw"),
        input=dict(type="str"),
    )
    module_kwargs = dict(
        mutually_exclusive=[("vmid", "name")],
        required_one_of=[("vmid", "name")],
        required_if=[("action", "exec", ("command",))],
    )

    def __init__(self):
        super().__init__()
        self.networks = []
        self.argv = None

    def validate(self):
        params = self.params
        action = params["action"]
        if params["timeout"] < 0:
            self.fail(f"timeout must be 0 or more seconds, got {params['timeout']}")
        if params["delay"] <= 0:
            self.fail(f"delay must be a positive number of seconds, got {params['delay']}")
        for option, used_by in (("interface", "address"), ("cidr", "address"), ("command", "exec"),
                                ("input", "exec")):
            if params[option] is not None and action != used_by:
                self.fail(f"{option} is only used with action={used_by}, not action={action}")
        try:
            self.networks = parse_networks(params["cidr"])
            if action == "exec":
                self.argv = split_command(params["command"])
        except ValueError as exc:
            self.fail(str(exc))
        version = FAMILIES.get(params["family"])
        if self.networks and version and all(net.version != version for net in self.networks):
            self.fail(f"cidr lists only IPv{self.networks[0].version} networks, so no address of "
                      f"family={params['family']} can match; set family to "
                      f"ipv{self.networks[0].version} or any")

    # ------------------------------------------------------------- the VM

    def find_vm(self):
        vmid, name = self.params["vmid"], self.params["name"]
        guest = find_guest(self.client, vmid=vmid, name=name)
        if guest is None:
            self.fail(f"no QEMU VM with vmid {vmid} in the cluster" if vmid is not None
                      else f"no QEMU VM with name {name!r} in the cluster")
        return guest

    def label(self, guest):
        return f"VM {guest['vmid']} ({guest.get('name')})"

    def fail_stopped(self, guest, state="stopped"):
        self.fail(f"{self.label(guest)} is {state}: its guest agent only answers while the VM runs; start it first")

    def check_running(self, guest, path):
        """Fail at once when the VM is not running or has the agent switched off in its config."""
        status = self.client.get(f"{path}/status/current") or {}
        if status.get("status") != "running":
            self.fail_stopped(guest, status.get("status") or "not running")
        if not status.get("agent"):
            self.fail(f"{self.label(guest)} has the guest agent disabled in its configuration; set agent: 1 "
                      "(proxgate.core.proxmox_vm or the web UI) and restart the VM")

    def permanent(self, guest, exc):
        """Fail for agent errors that waiting cannot fix; return for the ones worth asking again."""
        if VM_NOT_RUNNING.search(exc.message):
            self.fail_stopped(guest)
        if NO_AGENT_CONFIGURED in exc.message:
            self.fail(f"{self.label(guest)}: {exc.message}; set agent: 1 in its configuration and restart it")
        if exc.status < 500 or exc.missing:
            raise exc

    # ------------------------------------------------------------ actions

    def run(self):
        guest = self.find_vm()
        path = guest_path(guest)
        self.check_running(guest, path)
        result = dict(changed=False, vmid=int(guest["vmid"]), node=guest["node"])
        action = self.params["action"]
        if action == "address":
            result.update(self.wait_for_address(guest, path))
        elif action == "exec":
            result.update(self.run_command(guest, path))
        else:
            result.update(self.read_info(path))
        return result

    def wait_for_address(self, guest, path):
        params = self.params
        started = time.monotonic()
        deadline = started + params["timeout"]
        tries, last = 0, "no answer yet"
        with without_retries(self.client):
            while True:
                tries += 1
                try:
                    reply = self.client.get(f"{path}/agent/network-get-interfaces") or {}
                except ProxmoxApiError as exc:
                    self.permanent(guest, exc)
                    last = f"HTTP {exc.status} {exc.message}"
                except ProxmoxConnectionError as exc:
                    last = str(exc)
                else:
                    interfaces = reply.get("result") or []
                    cut = []
                    found = agent_addresses(interfaces, params["interface"], self.networks, params["family"],
                                            params["skip_link_local"], cut)
                    if found:
                        if cut:
                            self.warn(f"{self.label(guest)}'s agent reported more than the module reads, the rest "
                                      f"was dropped: {'; '.join(cut)}")
                        return dict(address=found[0]["address"], addresses=found,
                                    interfaces=interfaces[:MAX_INTERFACES] if isinstance(interfaces, list) else [],
                                    elapsed=round(time.monotonic() - started, 1))
                    last = f"the agent answered, but no address passed the filters (it reported: " \
                           f"{seen_addresses(interfaces)})"
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.fail(f"timed out after {time.monotonic() - started:.1f}s (timeout={params['timeout']}, "
                              f"{tries} tries) waiting for an address of {self.label(guest)} "
                              f"{self.filters_text()}; last answer: {last}")
                time.sleep(min(params["delay"], remaining))

    def filters_text(self):
        params = self.params
        parts = [f"family={params['family']}"]
        if params["interface"]:
            parts.append(f"interface={params['interface']}")
        if self.networks:
            parts.append("cidr=" + ",".join(str(net) for net in self.networks))
        if not params["skip_link_local"]:
            parts.append("link-local allowed")
        return "(" + ", ".join(parts) + ")"

    def run_command(self, guest, path):
        argv = self.argv
        if self.check_mode:
            return dict(changed=True, cmd=argv, msg="Command would have run if not in check mode")
        data = {"command": argv}
        if self.params["input"] is not None:
            data["input-data"] = self.params["input"]
        with without_retries(self.client):
            reply = self.client.post(f"{path}/agent/exec", **data) or {}
        pid = reply.get("pid")
        if pid is None:
            raise ProxmoxError(f"POST {path}/agent/exec answered without a pid: {reply!r}")
        status = self.wait_for_exit(guest, path, pid, argv)
        stdout, stderr = status.get("out-data") or "", status.get("err-data") or ""
        for stream in ("out", "err"):
            if status.get(f"{stream}-truncated"):
                self.warn(f"the agent cut the command's std{stream} short (it keeps at most a few MiB)")
        result = dict(changed=True, cmd=argv, pid=pid, rc=exit_code(status), stdout=stdout, stderr=stderr,
                      stdout_lines=stdout.splitlines(), stderr_lines=stderr.splitlines())
        if result["rc"] != 0:
            self.fail("non-zero return code", vmid=int(guest["vmid"]), node=guest["node"], **result)
        return result

    def wait_for_exit(self, guest, path, pid, argv):
        deadline = time.monotonic() + self.params["timeout"]
        poll = min(0.1, self.params["delay"])
        while True:
            status = self.client.get(f"{path}/agent/exec-status", pid=pid) or {}
            if status.get("exited"):
                return status
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail(f"command {argv!r} still running in {self.label(guest)} after {self.params['timeout']}s "
                          f"(timeout; guest pid {pid}); it goes on in the guest", changed=True, pid=pid)
            time.sleep(min(poll, remaining))
            poll = min(self.params["delay"], poll * 2)

    def read_info(self, path):
        os_info = (self.client.get(f"{path}/agent/get-osinfo") or {}).get("result") or {}
        agent = (self.client.get(f"{path}/agent/info") or {}).get("result") or {}
        supported = sorted(command["name"] for command in agent.get("supported_commands") or ()
                           if command.get("enabled", True))
        return dict(os=os_info, version=agent.get("version"), supported_commands=supported)


def main():
    ProxmoxGuestAgent().execute()


if __name__ == "__main__":
    main()

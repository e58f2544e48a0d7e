#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guacd_ping
short_description: Check that guacd answers the Guacamole handshake
version_added: 0.1.0
description:
  - Connects to guacd (the Guacamole proxy daemon), sends the first instruction of the Guacamole handshake,
    C(select) for O(protocol), reads guacd's C(args) reply and closes the connection.
  - Returns the protocol version guacd speaks and the names of the parameters it takes for that protocol, so a
    play can tell that guacd is up, which version it is, and that it was built with support for the protocol.
  - guacd forks a process for every C(select); this module closes the connection right after the reply, so the
    check costs guacd nothing more.
  - Needs nothing but Python on the host it runs on; runs where guacd is reachable (the gateway host itself for a
    guacd bound to loopback).
author:
  - proxgate.core developers (@proxgate)
extends_documentation_fragment:
  - proxgate.core.attributes
  - proxgate.core.attributes.INFO_MODULE
options:
  host:
    description: Host name or address guacd listens on (its C(bind_host)).
    type: str
    default: 127.0.0.1
  port:
    description: TCP port guacd listens on (its C(bind_port)).
    type: int
    default: 4822
  protocol:
    description:
      - The protocol to C(select). guacd answers only for protocols it was built with; without support for it,
        guacd 1.6 sends nothing and keeps the connection open, so the check fails after O(timeout) (guacd's
        log says C(Support for protocol "rdp" is not installed)).
    type: str
    choices: [ssh, rdp, vnc, telnet, kubernetes]
    default: ssh
  timeout:
    description: Seconds one attempt may take, connecting and reading the reply together.
    type: float
    default: 10
  retries:
    description:
      - How many more attempts to make when guacd cannot be reached, does not answer in time or closes the
        connection early, as right after a restart. A TLS failure, a reply that is not the Guacamole protocol or
        an C(error) reply is not retried.
    type: int
    default: 0
  delay:
    description: Seconds to wait between attempts.
    type: float
    default: 2
  tls:
    description: Speak TLS to guacd (guacd has C(server_certificate) and C(server_key) in its C([ssl]) section).
    type: bool
    default: false
  ca_path:
    description:
      - PEM file of the certificate authorities to trust for guacd's certificate (a self-signed certificate can
        be given itself). The system's trust store when not set.
    type: path
  validate_certs:
    description:
      - Verify guacd's certificate and that it was issued to O(server_name). Turn it off only for tests, as
        without it a man in the middle goes unnoticed.
    type: bool
    default: true
  server_name:
    description: The name guacd's certificate must be issued to, and the TLS SNI name. O(host) when not set.
    type: str
notes:
  - Only the start of the handshake is checked; no remote desktop connection is made.
seealso:
  - name: Guacamole protocol reference
    description: The instruction format and the handshake.
    link: https://guacamole.apache.org/doc/gug/protocol-reference.html
  - name: Configuring guacd
    description: guacd.conf and its command-line options.
    link: https://guacamole.apache.org/doc/gug/configuring-guacamole.html#configuring-guacd
"""

EXAMPLES = r"""
- name: Wait until guacd answers after a restart (30 s at most)
  proxgate.core.guacd_ping:
    retries: 15
    delay: 2

- name: Check a guacd with TLS on another host, and that it can do RDP
  proxgate.core.guacd_ping:
    host: guacd.example.org
    port: 4822
    protocol: rdp
    tls: true
    ca_path: /etc/guacamole/ssl/ca.pem
  register: guacd
  delegate_to: gateway01

- name: Show the version
  ansible.builtin.debug:
    msg: "guacd speaks {{ guacd.version }} and takes {{ guacd.args | length }} RDP parameters"
"""

RETURN = r"""
version:
  description:
    - The Guacamole protocol version guacd speaks, the first element of its C(args) reply. C(null) for guacd
      older than 1.1, which sends no version.
  returned: success
  type: str
  sample: VERSION_1_5_0
args:
  description: The names of the connection parameters guacd takes for O(protocol), in guacd's order.
  returned: success
  type: list
  elements: str
  sample: [hostname, host-key, port, username, password, font-name, font-size, enable-sftp]
protocol:
  description: The protocol that was selected.
  returned: success
  type: str
  sample: ssh
host:
  description: The host that was reached.
  returned: success
  type: str
  sample: 127.0.0.1
port:
  description: The port that was reached.
  returned: success
  type: int
  sample: 4822
tls:
  description: Whether TLS was spoken.
  returned: success
  type: bool
  sample: false
attempts:
  description: How many attempts it took (1 when guacd answered at once).
  returned: success
  type: int
  sample: 1
elapsed:
  description: Seconds from the first attempt to guacd's answer, waits between attempts included.
  returned: success
  type: float
  sample: 0.004
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.proxgate.core.plugins.module_utils.guacd.protocol import (
    PROTOCOLS,
    GuacdError,
    GuacdUnexpectedReply,
    ping,
    split_args,
)

ARGUMENT_SPEC = dict(
    host=dict(type="str", default="127.0.0.1"),
    port=dict(type="int", default=4822),
    protocol=dict(type="str", default="ssh", choices=list(PROTOCOLS)),
    timeout=dict(type="float", default=10.0),
    retries=dict(type="int", default=0),
    delay=dict(type="float", default=2.0),
    tls=dict(type="bool", default=False),
    ca_path=dict(type="path"),
    validate_certs=dict(type="bool", default=True),
    server_name=dict(type="str"),
)


def validation_errors(params):
    errors = []
    if not 1 <= params["port"] <= 65535:
        errors.append(f"port must be between 1 and 65535, got {params['port']}")
    if params["timeout"] <= 0:
        errors.append(f"timeout must be more than 0 seconds, got {params['timeout']:g}")
    if params["retries"] < 0:
        errors.append(f"retries must be 0 or more, got {params['retries']}")
    if params["delay"] < 0:
        errors.append(f"delay must be 0 or more seconds, got {params['delay']:g}")
    return errors


def run(module):
    params = module.params
    started = time.monotonic()
    tls_options = {}
    if params["tls"]:
        tls_options = dict(tls=True, ca_path=params["ca_path"], validate_certs=params["validate_certs"],
                           server_name=params["server_name"])
    instruction, attempts = ping(params["host"], params["port"], params["protocol"], timeout=params["timeout"],
                                 retries=params["retries"], delay=params["delay"], **tls_options)
    version, names = split_args(instruction)
    return dict(changed=False, version=version, args=names, protocol=params["protocol"], host=params["host"],
                port=params["port"], tls=params["tls"], attempts=attempts,
                elapsed=round(time.monotonic() - started, 3))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    errors = validation_errors(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    try:
        module.exit_json(**run(module))
    except GuacdUnexpectedReply as exc:
        module.fail_json(msg=str(exc), instruction=exc.instruction)
    except GuacdError as exc:
        module.fail_json(msg=str(exc))


if __name__ == "__main__":
    main()

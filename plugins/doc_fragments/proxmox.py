# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The Proxmox VE API connection options every Proxmox module takes.
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Address of a Proxmox VE node's API, such as C(https://pve1.example.com:8006).
      - The C(/api2/json) suffix is added when missing.
      - If not set, the value of the E(PROXMOX_URL) environment variable is used.
      - Required, unless the address is given by O(api_host) (or E(PROXMOX_HOST)) instead. Setting both
        O(api_url) and O(api_host) is an error. Of the environment variables, E(PROXMOX_URL) wins over
        E(PROXMOX_HOST); an option set in the task wins over either.
    type: str
  api_host:
    description:
      - Host name or address of a Proxmox VE node, such as C(pve1.example.com), the way community.proxmox's
        modules name the API. The address used is C(https://<api_host>:<api_port>).
      - No scheme and no port here (those go in O(api_url), or the port in O(api_port)); an IPv6 address may be
        given bare or in brackets.
      - If not set (and neither O(api_url) nor E(PROXMOX_URL) is), the value of the E(PROXMOX_HOST)
        environment variable is used.
    type: str
  api_port:
    description:
      - Port of the API on O(api_host); only with O(api_host) (or E(PROXMOX_HOST)).
      - If not set, the value of the E(PROXMOX_PORT) environment variable is used, else C(8006).
    type: int
  api_user:
    description:
      - User to log in as, with its realm, such as C(root@pam) or C(automation@pve).
      - With O(api_password), the module logs in for a ticket and sends the CSRF token on writes.
      - With a bare token name in O(api_token_id), this names the token's user.
      - If not set, the value of the E(PROXMOX_USER) environment variable is used.
    type: str
  api_password:
    description:
      - Password of O(api_user), for ticket authentication.
      - Ignored when O(api_token_id) is set.
      - If not set, the value of the E(PROXMOX_PASSWORD) environment variable is used.
    type: str
  api_otp:
    description:
      - One-time password for an account with two-factor authentication.
      - If not set, the value of the E(PROXMOX_OTP) environment variable is used.
    type: str
  api_token_id:
    description:
      - API token to authenticate with, either whole (C(automation@pve!ansible)) or just its name
        (C(ansible)) with O(api_user) giving the user.
      - Requires O(api_token_secret). Takes precedence over O(api_password).
      - If not set, the value of the E(PROXMOX_TOKEN_ID) environment variable is used.
    type: str
  api_token_secret:
    description:
      - Secret (UUID) of O(api_token_id).
      - If not set, the value of the E(PROXMOX_TOKEN_SECRET) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the node's TLS certificate.
      - Set to V(false) only for a lab node you trust; prefer O(ca_path) with the cluster's CA
        (C(/etc/pve/pve-root-ca.pem) on a node).
      - If not set, the value of the E(PROXMOX_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authority (or the self-signed certificate) to trust for the API.
      - If not set, the value of the E(PROXMOX_CA_PATH) environment variable is used.
    type: path
  api_timeout:
    description:
      - Seconds to wait for one HTTP request to answer.
      - If not set, the value of the E(PROXMOX_API_TIMEOUT) environment variable is used.
    type: int
    default: 30
  api_retries:
    description:
      - How many times a request is sent again after a transient fault, with exponential backoff
        (1, 2, 4... seconds).
      - Transient faults are a connection that could not be made, pveproxy's 595 (the node was not
        reached), a guest locked by another task and a busy cluster file system. A request the node may
        have carried out (a lost reply, or a proxy's 502, 503, 504 or pveproxy's 596 in its place) is
        resent only for GET, PUT and DELETE; a POST is never sent twice, and its error says the outcome
        is unknown and what to check. Nothing else is retried.
    type: int
    default: 3
requirements:
  - httpx >= 0.27
notes:
  - >-
    The modules talk to the API from where they run; that is normally the controller
    (C(delegate_to: localhost) or a play on C(localhost)) or an AWX execution environment.
  - Defaults for these options can be set once for all Proxmox modules with
    C(module_defaults) and the C(group/proxgate.core.proxmox) action group.
"""

    # The timeout option of a module that waits for the PVE tasks it starts (ProxmoxModule.wait).
    TASK_TIMEOUT = r"""
options:
  timeout:
    description:
      - Seconds to wait for each task the module starts. A task still running then goes on in the background,
        and the module fails saying so.
    type: int
    default: 600
"""

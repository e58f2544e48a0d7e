# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The Proxmox VE API connection options of the collection's plugins (the inventory plugin), with the
    # same environment variables as the modules' options.
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Address of a Proxmox VE node's API, such as C(https://pve1.example.com:8006).
      - The C(/api2/json) suffix is added when missing.
      - Required, unless the address is given by O(api_host) instead. Setting both O(api_url) and O(api_host)
        in the configuration is an error. Of the environment variables, E(PROXMOX_URL) wins over
        E(PROXMOX_HOST); an option set in the configuration wins over either.
    type: str
    env:
      - name: PROXMOX_URL
  api_host:
    description:
      - Host name or address of a Proxmox VE node, such as C(pve1.example.com), the way community.proxmox's
        modules name the API (E(PROXMOX_HOST)). The address used is C(https://<api_host>:<api_port>).
      - No scheme and no port here (those go in O(api_url), or the port in O(api_port)); an IPv6 address may be
        given bare or in brackets.
    type: str
    env:
      - name: PROXMOX_HOST
  api_port:
    description:
      - Port of the API on O(api_host); only with O(api_host) (or E(PROXMOX_HOST)). C(8006) when not set.
    type: int
    env:
      - name: PROXMOX_PORT
  api_user:
    description:
      - User to log in as, with its realm, such as C(root@pam) or C(automation@pve).
      - With O(api_password), the plugin logs in for a ticket (one extra request per run).
      - With a bare token name in O(api_token_id), this names the token's user.
    type: str
    env:
      - name: PROXMOX_USER
  api_password:
    description:
      - Password of O(api_user), for ticket authentication. Ignored when O(api_token_id) is set.
      - May be a template, rendered with lookups and extra variables (C(-e)), such as one that reads a file
        with the C(ansible.builtin.file) lookup, or C({{ pve_password }}) with C(-e @vault.yml).
    type: str
    env:
      - name: PROXMOX_PASSWORD
  api_token_id:
    description:
      - API token to authenticate with, either whole (C(automation@pve!inventory)) or just its name
        (C(inventory)) with O(api_user) giving the user.
      - Requires O(api_token_secret). Takes precedence over O(api_password).
    type: str
    env:
      - name: PROXMOX_TOKEN_ID
  api_token_secret:
    description:
      - Secret (UUID) of O(api_token_id).
      - May be a template, rendered with lookups and extra variables (C(-e)), such as one that reads an
        environment variable with the C(ansible.builtin.env) lookup (the second example does), or
        C({{ pve_token_secret }}) with C(-e @vault.yml).
    type: str
    env:
      - name: PROXMOX_TOKEN_SECRET
  validate_certs:
    description:
      - Verify the node's TLS certificate.
      - Set to V(false) only for a lab node you trust; prefer O(ca_path) with the cluster's CA
        (C(/etc/pve/pve-root-ca.pem) on a node).
    type: bool
    default: true
    env:
      - name: PROXMOX_VALIDATE_CERTS
  ca_path:
    description:
      - PEM file of the certificate authority (or the self-signed certificate) to trust for the API.
      - Empty (as an AWX credential without a CA sets E(PROXMOX_CA_PATH)) means the system's CAs.
    type: str
    env:
      - name: PROXMOX_CA_PATH
  api_timeout:
    description:
      - Seconds to wait for the answer of the cluster-wide calls (login and C(/cluster/resources)).
      - The per-guest calls have their own, shorter timeout (see the plugin's C(call_timeout) option).
    type: int
    default: 30
    env:
      - name: PROXMOX_API_TIMEOUT
  api_retries:
    description:
      - How many times the login and C(/cluster/resources) are sent again after a transient fault
        (connection failure, HTTP 502, 503, 504, 595, 596, a busy cluster file system), with exponential
        backoff (1, 2, 4... seconds).
    type: int
    default: 3
requirements:
  - httpx >= 0.27 (on the controller)
"""

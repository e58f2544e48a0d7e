# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The rustguac REST API connection options every rustguac module takes.
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Address of the rustguac server, such as C(https://gateway.example.com:8089).
      - The C(/api) suffix is added when missing.
      - If not set, the value of the E(RUSTGUAC_URL) environment variable is used.
    type: str
    required: true
  api_key:
    description:
      - An API key of the server (from its configuration) or a user token (C(rgu_...)).
      - It is sent only in a request header (see O(api_key_header)), never in a URL, and never returned.
      - If not set, the value of the E(RUSTGUAC_API_KEY) environment variable is used.
    type: str
    required: true
  api_key_header:
    description:
      - "How the key is sent. V(bearer) sends C(Authorization: Bearer <key>), V(x-api-key) sends
        C(X-API-Key: <key>) (for a proxy in front of rustguac that takes the C(Authorization) header for itself)."
      - If not set, the value of the E(RUSTGUAC_API_KEY_HEADER) environment variable is used.
    type: str
    choices: [bearer, x-api-key]
    default: bearer
  validate_certs:
    description:
      - Verify the server's TLS certificate.
      - Set to V(false) only for a lab server you trust; prefer O(ca_path) with the CA that signed it.
      - If not set, the value of the E(RUSTGUAC_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authority (or the self-signed certificate) to trust for the API.
      - If not set, the value of the E(RUSTGUAC_CA_PATH) environment variable is used.
    type: path
  api_timeout:
    description:
      - Seconds to wait for one HTTP request to answer.
    type: int
    default: 30
  api_retries:
    description:
      - How many times a request is sent again after a transient fault, with exponential backoff
        (1, 2, 4... seconds).
      - Transient faults are connection failures and the HTTP statuses 500, 502, 503 and 504. A request
        that may have reached the server is sent again only for C(GET), C(PUT) and C(DELETE), never for a
        C(POST) (it may have created a token or a mapping). Nothing else is retried.
    type: int
    default: 3
requirements:
  - httpx >= 0.27
notes:
  - >-
    The modules talk to the API from where they run; that is normally the controller
    (C(delegate_to: localhost) or a play on C(localhost)) or an AWX execution environment.
  - Defaults for these options can be set once for all rustguac modules with
    C(module_defaults) and the C(group/proxgate.core.rustguac) action group.
  - rustguac gates every call by the role of the key (admin, poweruser, operator, viewer). A key whose role
    is too low gets HTTP 403; the module's message then names the role it needs.
"""

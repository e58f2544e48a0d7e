# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The Apache Guacamole REST API connection options every Guacamole module takes.
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Address of the Guacamole web app, with its context path, such as C(https://gateway.example.com/guacamole).
      - The C(/api) suffix is added when missing.
      - If not set, the value of the E(GUACAMOLE_URL) environment variable is used.
    type: str
    required: true
  api_username:
    description:
      - User to log in as. The module logs in with C(POST /api/tokens), sends the token only in the
        C(Guacamole-Token) header, and deletes the token when it ends, also when it fails.
      - If not set, the value of the E(GUACAMOLE_USERNAME) environment variable is used.
    type: str
    required: true
  api_password:
    description:
      - Password of O(api_username).
      - If not set, the value of the E(GUACAMOLE_PASSWORD) environment variable is used.
    type: str
    required: true
  api_totp:
    description:
      - The current TOTP code, for an account that logs in with a second factor (the C(guac-totp) field of
        Guacamole's TOTP extension).
    type: str
  data_source:
    description:
      - The data source (authentication backend) whose objects the module manages, such as C(postgresql),
        C(mysql) or C(postgresql-shared). Each one has its own tree of connections and users.
      - Defaults to the data source the login reply names (the one that authenticated the user).
      - The module fails, listing the user's data sources, when it is not one of them.
      - If not set, the value of the E(GUACAMOLE_DATA_SOURCE) environment variable is used.
    type: str
  api_version:
    description:
      - The Guacamole release of the server, which decides how a disabled user or user group is written
        (1.6 has a top-level C(disabled) flag, 1.5 a C(disabled) attribute).
      - V(auto) finds out with one C(GET self) when a module needs it.
    type: str
    choices: [auto, "1.5", "1.6"]
    default: auto
  validate_certs:
    description:
      - Verify the server's TLS certificate.
      - Set to V(false) only for a lab server you trust; prefer O(ca_path) with the CA that signed it.
      - If not set, the value of the E(GUACAMOLE_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authority (or the self-signed certificate) to trust for the API.
      - If not set, the value of the E(GUACAMOLE_CA_PATH) environment variable is used.
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
        that may have reached the server is only sent again when doing so twice is harmless, so a
        C(POST) that creates an object is never repeated after it was sent. Nothing else is retried.
    type: int
    default: 3
requirements:
  - httpx >= 0.27
notes:
  - >-
    The modules talk to the API from where they run; that is normally the controller
    (C(delegate_to: localhost) or a play on C(localhost)) or an AWX execution environment.
  - Defaults for these options can be set once for all Guacamole modules with
    C(module_defaults) and the C(group/proxgate.core.guacamole) action group.
  - Guacamole answers a missing permission with C(PERMISSION_DENIED), and hides objects the user
    may not read (they look absent). Errors carry the HTTP status, Guacamole's error type and its message.
"""

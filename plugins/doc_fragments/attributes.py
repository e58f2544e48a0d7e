# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What every module declares: check mode and diff mode.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: >-
      Will return details on what has changed (or possibly needs changing in C(check_mode)),
      when in diff mode.
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
"""

    ACTIONGROUP_PROXMOX = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/proxgate.core.proxmox) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - proxgate.core.proxmox
"""

    ACTIONGROUP_GUACAMOLE = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/proxgate.core.guacamole) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - proxgate.core.guacamole
"""

    ACTIONGROUP_RUSTGUAC = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/proxgate.core.rustguac) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - proxgate.core.rustguac
"""

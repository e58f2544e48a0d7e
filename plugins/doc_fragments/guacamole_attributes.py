# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The action group of the Guacamole modules (the check and diff mode attributes are in proxgate.core.attributes).
    ACTIONGROUP_GUACAMOLE = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/proxgate.core.guacamole) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - proxgate.core.guacamole
"""

    # Kept for modules that still name this fragment; new ones use proxgate.core.attributes.ACTIONGROUP_GUACAMOLE.
    DOCUMENTATION = r"""
options: {}
"""

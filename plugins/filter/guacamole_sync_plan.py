# -*- coding: utf-8 -*-
# Copyright: proxgate.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: guacamole_sync_plan
short_description: The guacamole_sync role's plan, one connection per Proxmox guest
version_added: 0.1.0
description:
  - Works out, in one pass over the inventory's Proxmox guests, the connection each one is published as (its
    protocol, group, parameters, attributes and the user groups with C(READ)), and which guests are kept as they
    are, skipped (no address), excluded (by tag) or not read in full.
  - The role proxgate.core.guacamole_sync uses it; its README says how each guest becomes a connection. Written in
    Python so that its time grows linearly with the guests (the Jinja loop it replaces did not).
  - A guest's name, tags and pool only decide what the settings map them to; a pool or node name is one group level
    taken verbatim, and a connection belongs to its guest by C(<cluster>/<vmid>).
options:
  _input:
    description:
      - The inventory names of the hosts to publish. Those without the variable C(<prefix>vmid), which the
        proxgate.core.proxmox inventory gives each guest, and those not in O(hostvars) are left out.
    type: list
    elements: str
    required: true
  hostvars:
    description: The play's C(hostvars), from which each guest's variables are read.
    type: dict
    required: true
  settings:
    description:
      - The role's variables without their C(guacamole_sync_) prefix, such as C(prefix), C(cluster), C(root),
        C(group_by), C(ungrouped), C(protocol_tags), C(exclude_tags), C(os_tags), C(default_protocol), C(ports),
        C(parameters), C(attributes), C(user_groups), C(user_groups_by_pool), C(user_groups_by_tag),
        C(keep_without_address).
    type: dict
    required: true
author:
  - proxgate.core developers (@proxgate)
"""

EXAMPLES = r"""
- name: Work out one connection per guest
  ansible.builtin.set_fact:
    plan: >-
      {{ ['web01', 'win-desktop']
         | proxgate.core.guacamole_sync_plan(hostvars, {'root': 'Proxmox', 'group_by': 'pool'}) }}
"""

RETURN = r"""
_value:
  description:
    - C(guests) (how many of the hosts are guests), C(connections) (for proxgate.core.guacamole_sync_connections),
      C(keep), C(keep_guests) and C(keep_vmids) (the guests left as they are), C(skipped), C(excluded),
      C(incomplete), C(summary) (a line per published guest), C(firewall) (C({vmid, protocol, port}) of each
      published guest) and C(portless).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.proxgate.core.plugins.plugin_utils.guacamole_sync_plan import plan


def guacamole_sync_plan(names, hostvars, settings):
    try:
        return plan(((str(name), hostvars[name]) for name in names if name in hostvars), settings)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError(f"guacamole_sync_plan: a guest's variables are not as the proxgate.core.proxmox "
                                 f"inventory gives them ({type(exc).__name__}: {exc})") from None


class FilterModule:
    def filters(self):
        return {"guacamole_sync_plan": guacamole_sync_plan}

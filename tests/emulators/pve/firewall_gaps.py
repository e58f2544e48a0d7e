"""The firewall as a node keeps it, added to fakepve 0.5.0 through its Python API.

A node writes each change to a .fw file and reads the file back for the next request, and what the file's
reader makes of a value is what every later request sees. Each gap is shown on plain fakepve and fixed here in
tests/emulators/test_pve_firewall_gaps.py, read in pve-firewall:

- fakepve keeps an IPSet's name as it was created. A node reads an ``[IPSET name]`` section's name in lower case
  (src/PVE/Firewall.pm generic_fw_config_parser: ``$group = lc($1)``), so ``Gateway`` is listed as ``gateway``,
  and GET, POST and DELETE by the spelling it was created with find no IPSet (src/PVE/API2/Firewall/IPSet.pm
  load_config looks the name up as given).
- fakepve keeps a security group's name as it was created; a node reads a ``[group name]`` section's name in lower
  case too (generic_fw_config_parser), so ``WebServers`` is listed as ``webservers`` and its rules are found by
  that name only (src/PVE/API2/Firewall/Groups.pm: the group's rules by name as given).
- fakepve keeps a rule's comment verbatim. A node writes it after ``#`` only when it is not blank
  (src/PVE/Firewall.pm $format_rules) and reads back the text after '#' without surrounding white space
  (parse_fw_rule: ``s/#\\s*(.*?)\\s*$//``); a blank comment is none.
"""

from __future__ import annotations

from fakepve.firewall import FirewallApi


def stored_comment(rule):
    """A rule as parse_fw_rule reads it back: the comment stripped, a blank one gone."""
    comment = (rule.get("comment") or "").strip()
    if comment:
        rule["comment"] = comment
    else:
        rule.pop("comment", None)
    return rule


class FirewallGaps:
    """Mixin of ProxgatePve: IPSet and security group names in lower case, and rule comments, as the firewall files
    keep them."""

    async def _fw_ipset_create(self, scope, v, user):
        await super()._fw_ipset_create(scope, v, user)
        conf = self.firewall_config(scope, v.get("node"), v.get("vmid"))
        name = v["name"]
        if name != name.lower() and name in conf["ipset"]:
            conf["ipset"][name.lower()] = conf["ipset"].pop(name)
            if name in conf["ipset_comments"]:
                conf["ipset_comments"][name.lower()] = conf["ipset_comments"].pop(name)

    async def _fw_group_create(self, v, user):
        await super()._fw_group_create(v, user)
        conf = self.firewall_config("cluster")
        name = v["group"]
        if name != name.lower() and name in conf["groups"]:
            conf["groups"][name.lower()] = conf["groups"].pop(name)
            if name in conf["group_comments"]:
                conf["group_comments"][name.lower()] = conf["group_comments"].pop(name)

    @staticmethod
    def _copy_rule_data(rule, v):
        return stored_comment(FirewallApi._copy_rule_data(rule, v))

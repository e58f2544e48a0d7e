"""Which privileges the collection's calls need: a report from the privilege checks the Proxmox test server made.

The checks are the permission rules of the PVE API schema for each call (fakepve's generic.check_permissions) and
the handlers' own (a config key's privilege, VM.Allocate on a new vmid, ...), logged for runs as root too. Run the
integration tests of the jobs with the log on, then report:

    rm -f build/privileges.jsonl
    PROXGATE_PRIVILEGE_LOG=$PWD/build/privileges.jsonl .venv/bin/python -m pytest -q \\
        tests/integration/test_gitops.py tests/integration/test_proxmox_lxc.py ...
    .venv/bin/python tools/automation_privileges.py build/privileges.jsonl [--test SUBSTRING] [--user automation@pve]

It prints, for each privilege, the ACL paths it was checked on and the calls (method and schema path) that checked
it, the privileges of ProxgateAutomation and ProxgateAudit (playbooks/automation_account.yml) marked, and those
checked that neither role holds. A check that was refused is counted too: a test that expects a 403 asks for it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml
from fakepve import schema

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "playbooks" / "automation_account.yml"


def route(path):
    """'/api2/json/nodes/pve1/qemu/100/config' -> '/nodes/{node}/qemu/{vmid}/config'."""
    path = re.sub(r"^/api2/(json|extjs)", "", path)
    found = schema.load().match(path)
    return found.template if found else path


def acl_template(path):
    return re.sub(r"^/(vms|storage|nodes|pool)/[^/]+", r"/\1/{id}", path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--test", default="", help="only the checks of tests whose node id contains this")
    parser.add_argument("--user", default="", help="only the checks for users or tokens whose id contains this")
    args = parser.parse_args(argv)
    play = yaml.safe_load(PLAYBOOK.read_text())[0]["vars"]
    automation, audit = set(play["automation_privileges"]), set(play["automation_audit_privileges"])
    calls, paths = defaultdict(set), defaultdict(set)
    for line in args.log.read_text().splitlines():
        entry = json.loads(line)
        if args.test not in entry["test"] or args.user not in entry.get("user", "") or not entry["method"]:
            continue
        calls[entry["privilege"]].add(f"{entry['method']} {route(entry['path'])}")
        paths[entry["privilege"]].add(acl_template(entry["acl_path"]))
    for privilege in sorted(calls):
        mark = "automation+audit" if privilege in audit else "automation" if privilege in automation else "NEITHER"
        print(f"{privilege} [{mark}] on {', '.join(sorted(paths[privilege]))}")
        for call in sorted(calls[privilege]):
            print(f"    {call}")
    unused = sorted(automation - set(calls))
    if args.user or args.test:
        print("(only the checks of", " and ".join(filter(None, (args.test, args.user))) + ")")
    if unused:
        print("in ProxgateAutomation, never checked:", ", ".join(unused))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The version_added rule, as ansible-test's validate-modules and antsibull-changelog read it: a module, plugin,
role entry point or option was added in a release X.Y.Z (semantic versioning, as galaxy.yml's version) that is
not later than the collection's own version. Used by tests/unit/test_docs.py and tools/release_check.sh."""

from __future__ import annotations

import re
from typing import Any

RELEASE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
# galaxy.yml's version may carry a pre-release or build part (0.2.0-beta.1): its release is what comes first.
COLLECTION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:[-+].*)?$")


def problem(version_added: Any, collection_version: str) -> str | None:
    """Why version_added is not valid for a collection at collection_version; None when it is."""
    if version_added in (None, "", "historical"):
        return "no version_added"
    collection = COLLECTION.match(str(collection_version))
    if not collection:
        return f"the collection's version {collection_version!r} (galaxy.yml) is not a version X.Y.Z"
    # A bare YAML 0.2 is a float: never a version X.Y.Z.
    added = RELEASE.match(version_added) if isinstance(version_added, str) else None
    if not added:
        return f"version_added {version_added!r} is not a version X.Y.Z"
    if tuple(map(int, added.groups())) > tuple(map(int, collection.groups())):
        return f"version_added {version_added} is later than the collection's version {collection_version} (galaxy.yml)"
    return None


COLLECTION_NAME = "proxgate.core"


def option_problems(options: dict | None, collection_version: str, where: str) -> list[str]:
    """The problems of the version_added that options (and their suboptions) give; an option without one is
    as old as what it belongs to, and one from another collection's doc fragment (ansible-doc says whose in
    version_added_collection: ansible.builtin's constructed options were added in 2.11) is not ours to check."""
    found = []
    for name, spec in (options or {}).items():
        if not isinstance(spec, dict):
            continue
        if "version_added" in spec and spec.get("version_added_collection", COLLECTION_NAME) == COLLECTION_NAME:
            why = problem(spec["version_added"], collection_version)
            if why:
                found.append(f"{where} option {name}: {why}")
        found += option_problems(spec.get("suboptions"), collection_version, f"{where} option {name}")
    return found


def doc_problems(kind: str, name: str, entry: dict, collection_version: str) -> list[str]:
    """The version_added problems of one `ansible-doc --json` entry: a module's or plugin's doc, or every entry
    point of a role (an internal role has no main entry point, only the ones other roles include)."""
    if kind == "role":
        docs = {f"role {name} entry point {point}": spec for point, spec in (entry.get("entry_points") or {}).items()}
        if not docs:
            return [f"role {name}: no entry point with argument specs"]
    else:
        docs = {f"{kind} {name}": entry.get("doc") or {}}
    found = []
    for where, doc in docs.items():
        why = problem(doc.get("version_added"), collection_version)
        if why:
            found.append(f"{where}: {why}")
        found += option_problems(doc.get("options"), collection_version, where)
    return found

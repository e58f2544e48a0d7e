"""`make test-latest`: say which installed packages differ from the lock, so a run with the newest
releases names what it is trying. Usage: python tools/lock_diff.py requirements-lock.txt (with the venv's python)."""

from __future__ import annotations

import re
import sys
from importlib import metadata

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as lock:
        return {canonical(match[1]): match[2] for match in map(PIN.match, lock) if match}


def main(path: str) -> int:
    locked = locked_versions(path)
    installed = {canonical(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}
    rows = [(name, locked.get(name, "-"), version) for name, version in sorted(installed.items())
            if locked.get(name) != version and name not in ("pip", "setuptools")]
    if not rows:
        print(f"test-latest: the newest allowed versions are the locked ones ({path})")
        return 0
    print(f"test-latest: {len(rows)} package(s) differ from {path} (name: locked -> now)")
    for name, was, now in rows:
        print(f"  {name}: {was} -> {now}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

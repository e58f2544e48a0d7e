"""Write the protocol schemas a Guacamole release serves (GET schema/protocols) for the Guacamole emulator.

The web app reads them from guacamole-ext's protocol descriptions, one JSON file per protocol
(guacamole-ext/src/main/resources/org/apache/guacamole/protocols/<protocol>.json), and serves them as they are.
This reads those files at a release tag of a guacamole-client git directory (`fetch github:apache/guacamole-client`)
and writes tests/emulators/guacamole/protocols/<tag>.json, one document per release, so that the emulator of a
version answers with that version's parameters.

Usage: python tools/guacamole_protocols.py GIT_DIR TAG [TAG...]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SOURCE = "guacamole-ext/src/main/resources/org/apache/guacamole/protocols"
OUT = Path(__file__).resolve().parents[1] / "tests" / "emulators" / "guacamole" / "protocols"


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "-C", git_dir, *args], check=True, capture_output=True, text=True).stdout


def schemas_at(git_dir: str, tag: str) -> dict:
    commit = git(git_dir, "rev-list", "-n", "1", tag).strip()
    names = sorted(Path(path).stem for path in git(git_dir, "ls-tree", "--name-only", f"{tag}:{SOURCE}").split()
                   if path.endswith(".json"))
    protocols = {name: json.loads(git(git_dir, "show", f"{tag}:{SOURCE}/{name}.json")) for name in names}
    return {"release": tag, "commit": commit, "source": f"{SOURCE}/<protocol>.json", "protocols": protocols}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    git_dir, tags = argv[0], argv[1:]
    OUT.mkdir(parents=True, exist_ok=True)
    for tag in tags:
        path = OUT / f"{tag}.json"
        path.write_text(json.dumps(schemas_at(git_dir, tag), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(OUT.parents[3])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

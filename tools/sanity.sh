#!/usr/bin/env bash
# `make sanity`: ansible-test sanity on the collection as git sees it (tracked and new files), from a
# copy at $TMPDIR/proxgate-sanity.XXXXXX/ansible_collections/proxgate/core (outside the repository: inside it,
# ansible-test would ask this repository's git, which ignores build/), in per-test venvs it makes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$repo/.venv/bin}
# A fresh folder per run: two runs at once (a CI clone and a work tree) must not delete each other's copy.
work=$(mktemp -d "${TMPDIR:-/tmp}/proxgate-sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/proxgate/core"
python_version=$("$bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# ansible-test fetches its pip bootstrap script from a host outside the package registries; where it
# cannot, the shim (tools/get_pip_shim.py) stands in for it. A real cached script is left alone.
pip_version=$("$bin/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3", path="/usr/bin/python3"))["pip"])
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$cache" ]; then
  mkdir -p "$(dirname "$cache")"
  cp "$repo/tools/get_pip_shim.py" "$cache"
fi

mkdir -p "$dest"
cd "$repo"
# Files deleted in the work tree but not yet in git are still listed: leave them out.
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
  | xargs -0 tar -cf - | tar -xf - -C "$dest"
cd "$dest"
"$bin/ansible-test" sanity --local --python "$python_version" --requirements "$@"

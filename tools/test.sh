#!/usr/bin/env bash
# `make test`: lint, sanity and the pytest suites, with the roles' molecule scenarios running alongside (they
# spend most of their time waiting on apt downloads and systemd, not on the CPU), then the release check.
# The molecule output is shown at the end, whole.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN:-$PWD/.venv/bin}
MAKE=${MAKE:-make}
mkdir -p build
BIN="$BIN" tools/molecule.sh > build/molecule.log 2>&1 &
molecule_pid=$!

failed=()
"$MAKE" --no-print-directory lint sanity || failed+=(lint/sanity)
"$BIN/python" -m pytest -n 2 -q tests/unit tests/emulators tests/integration || failed+=(pytest)

wait "$molecule_pid" || failed+=(molecule)
echo "== make molecule (ran alongside; its output)"
cat build/molecule.log
"$MAKE" --no-print-directory release-check || failed+=(release-check)

if [ ${#failed[@]} -gt 0 ]; then
  echo "make test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "make test: all passed"

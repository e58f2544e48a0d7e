#!/usr/bin/env bash
# `make test`: lint, sanity and the pytest suites, with the roles' molecule scenarios running alongside (they
# spend most of their time waiting on apt downloads and systemd, not on the CPU), then the release check.
# The molecule output is shown at the end, whole. Each stage's time is printed as it ends, and all of them
# again at the end, so the slowest stage is plain to see.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN:-$PWD/.venv/bin}
MAKE=${MAKE:-make}
mkdir -p build

failed=()
times=()
started=$SECONDS
# stage NAME COMMAND...: run it, print and keep how long it took, remember a failure.
stage() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  "$@" || failed+=("$name")
  times+=("$name $((SECONDS - start))")
  echo "== $name: $((SECONDS - start)) s"
}

( start=$SECONDS; BIN="$BIN" tools/molecule.sh; rc=$?; echo "== molecule total: $((SECONDS - start)) s"; exit $rc ) \
  > build/molecule.log 2>&1 &
molecule_pid=$!

# The real guacd the guacd tests run against (tools/guacd_build.sh: a few minutes on a fresh machine, nothing
# once cached) is built while lint and sanity run; pytest waits for it. PROXGATE_NO_REAL_GUACD=1 skips both.
guacd_pid=
if [ "${PROXGATE_NO_REAL_GUACD:-}" != 1 ]; then
  ( start=$SECONDS; tools/guacd_build.sh; rc=$?; echo "== guacd build: $((SECONDS - start)) s"; exit $rc ) \
    > build/guacd-build.log 2>&1 &
  guacd_pid=$!
fi

# The venv of the oldest supported ansible-core (test_collection_install.py; pip from
# tests/requirements-oldest-lock.txt, about 15 s on a fresh clone) is made alongside lint and sanity too, not in a
# pytest worker; its file lock makes the test wait for it if it is still being made.
( start=$SECONDS; "$BIN/python" -c 'from tests.integration.conftest import oldest_ansible_venv; oldest_ansible_venv()'
  rc=$?; echo "== oldest ansible-core venv: $((SECONDS - start)) s"; exit $rc ) > build/oldest-venv.log 2>&1 &
oldest_venv_pid=$!

stage lint $MAKE --no-print-directory lint
stage sanity $MAKE --no-print-directory sanity
if [ -n "$guacd_pid" ]; then
  wait "$guacd_pid" || failed+=(guacd-build)
  echo "== guacd build (ran alongside lint and sanity; its output)"
  cat build/guacd-build.log
  guacd_seconds=$(grep -oE '^== guacd build: [0-9]+' build/guacd-build.log | grep -oE '[0-9]+$')
  times+=("guacd-build(alongside) ${guacd_seconds:-?}")
fi
wait "$oldest_venv_pid" || failed+=(oldest-venv)
cat build/oldest-venv.log
stage pytest "$BIN/python" -m pytest -n 2 -q --durations=15 tests/unit tests/emulators tests/integration

wait "$molecule_pid" || failed+=(molecule)
echo "== make molecule (ran alongside; its output)"
cat build/molecule.log
molecule_seconds=$(grep -oE '^== molecule total: [0-9]+' build/molecule.log | grep -oE '[0-9]+$')
times+=("molecule(alongside) ${molecule_seconds:-?}")
stage release-check $MAKE --no-print-directory release-check

echo "== make test: time of each stage (s)"
printf '  %-22s %s\n' $(printf '%s\n' "${times[@]}")
printf '  %-22s %s\n' total $((SECONDS - started))
if [ ${#failed[@]} -gt 0 ]; then
  echo "make test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "make test: all passed"

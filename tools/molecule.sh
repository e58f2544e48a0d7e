#!/usr/bin/env bash
# `make molecule`: every role's molecule scenarios, one after the other (their machines share the host's network).
# The roles that deploy a gateway run in Debian 12 machines booted with systemd in systemd-nspawn
# (tools/nspawn_machine.py); no Docker. Needs root, debootstrap and systemd-container (`make test` installs
# them: tools/system_deps.sh). guacamole_sync runs on the controller: its scenario boots nothing and talks to the
# Proxmox test server and the Guacamole emulator on loopback (about 15 s of CPU, 45-50 s on a busy runner).
# MOLECULE_ROLES="guacd" limits the run to some roles.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.venv/bin}
export PATH="$BIN:$PATH"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
if [ "$(id -u)" != 0 ]; then
  echo "make molecule: the scenarios boot machines with systemd-nspawn, which needs root (run make test as root," >&2
  echo "or the other targets - lint, sanity, unit, integration, release-check - on their own)" >&2
  exit 1
fi
for tool in debootstrap systemd-nspawn; do
  command -v "$tool" >/dev/null || { echo "make molecule: $tool is missing (run tools/system_deps.sh test as root)" >&2; exit 1; }
done
roles=${MOLECULE_ROLES:-$(find roles -mindepth 2 -maxdepth 2 -name molecule -type d | cut -d/ -f2 | sort)}
[ -n "$roles" ] || { echo "no molecule scenarios"; exit 0; }
"$BIN/python" tools/nspawn_machine.py base
for role in $roles; do
  for scenario in roles/"$role"/molecule/*/molecule.yml; do
    name=$(basename "$(dirname "$scenario")")
    echo "== molecule: role $role, scenario $name"
    start=$SECONDS
    (cd "roles/$role" && molecule test --scenario-name "$name")
    echo "== molecule: role $role, scenario $name: $((SECONDS - start)) s"
  done
done

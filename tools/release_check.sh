#!/usr/bin/env bash
# `make release-check`: is the tree ready to be released as the version galaxy.yml names?
#
#   tools/release_check.sh                      # every check below; exits 1 at the first that fails
#   tools/release_check.sh --refresh-changelog  # bring CHANGELOG.rst and changelogs/changelog.yaml up to date
#
# 1. changelog fragments and changelogs/changelog.yaml pass antsibull-changelog's lint;
# 2. galaxy.yml's version is the latest release of changelogs/changelog.yaml;
# 3. CHANGELOG.rst and changelog.yaml are what `antsibull-changelog release` makes of the tree now (run in a
#    copy: new fragments, and modules, plugins or roles whose version_added is this version, make them stale);
# 4. the collection builds, the tarball holds what users need and none of the test doubles, molecule
#    scenarios or build trees, and it installs into a fresh collections path;
# 5. from that install: every module, plugin and role (each entry point) has a version_added X.Y.Z not later
#    than galaxy.yml's version (tools/version_added.py), ansible-builder finds the execution
#    environment's dependencies, ansible-doc reads the modules, and a playbook runs a module against the
#    Proxmox test server and sees another fail its argument validation with a clear message.
#
# BIN is the bin directory of the venv with the tools (tests/requirements.txt), .venv/bin by default.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "${BIN:-$repo/.venv/bin}" && pwd)
cd "$repo"

# Nothing from the caller's environment may reach the collection: the smoke run sets what it needs.
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(PROXMOX_|GUACAMOLE_|ANSIBLE_)' || true)

work=$(mktemp -d "${TMPDIR:-/tmp}/proxgate-release.XXXXXX")
fakepve_pid=
cleanup() {
  if [ -n "$fakepve_pid" ]; then kill "$fakepve_pid" 2>/dev/null || true; wait "$fakepve_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { echo "release-check: $*"; }
fail() { echo "release-check: FAILED: $*" >&2; exit 1; }
py() { "$BIN/python" "$@"; }

version=$(py -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
# The latest release of changelog.yaml and its date ("" "" when there is none).
read -r latest latest_date < <(py - <<'PY'
import yaml
from packaging.version import Version
releases = (yaml.safe_load(open("changelogs/changelog.yaml")) or {}).get("releases") or {}
latest = max(releases, key=Version) if releases else ""
print(latest or "-", releases.get(latest, {}).get("release_date", "-") if latest else "-")
PY
)

# A copy of the tree as git sees it (tracked and new files, not the ignored ones), at
# ansible_collections/proxgate/core so that antsibull-changelog's ansible-doc finds the collection.
copy_tree() {
  local dest=$1/ansible_collections/proxgate/core
  mkdir -p "$dest"
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # (files deleted but not yet committed are listed too: only the ones that exist are copied)
    git ls-files -co --exclude-standard -z | grep -zv '^changelogs/\.plugin-cache\.yaml$' \
      | while IFS= read -r -d '' file; do if [ -e "$file" ]; then printf '%s\0' "$file"; fi; done \
      | xargs -0 tar -cf - | tar -xf - -C "$dest"
  else
    tar -cf - --exclude=./.venv --exclude=./build --exclude=./.git --exclude=./changelogs/.plugin-cache.yaml . \
      | tar -xf - -C "$dest"
  fi
  echo "$dest"
}

# The command that makes galaxy.yml's version in the copy, keeping an existing release's date.
release_args=(release --version "$version" --reload-plugins)
if [ "$latest" = "$version" ]; then
  release_args+=(--update-existing --date "$latest_date")
fi

regenerate_changelog() {
  local tree
  tree=$(copy_tree "$1")
  (cd "$tree" && PATH="$BIN:$PATH" "$BIN/antsibull-changelog" "${release_args[@]}" >"$1/antsibull.log" 2>&1) \
    || { cat "$1/antsibull.log" >&2; fail "antsibull-changelog ${release_args[*]} failed"; }
  echo "$tree"
}

if [ "${1:-}" = "--refresh-changelog" ]; then
  tree=$(regenerate_changelog "$work/refresh")
  cp "$tree/CHANGELOG.rst" CHANGELOG.rst
  cp "$tree/changelogs/changelog.yaml" changelogs/changelog.yaml
  # antsibull-changelog removed the fragments it took into the release (keep_fragments: false).
  for fragment in changelogs/fragments/*; do
    [ -e "$fragment" ] || continue
    [ -e "$tree/$fragment" ] || { rm "$fragment"; echo "took $fragment into release $version"; }
  done
  step "CHANGELOG.rst and changelogs/changelog.yaml now describe release $version"
  exit 0
fi
[ $# -eq 0 ] || fail "unknown argument $1 (the only one is --refresh-changelog)"

step "antsibull-changelog lint"
"$BIN/antsibull-changelog" lint || fail "changelog fragments: fix what antsibull-changelog lint says above"
"$BIN/antsibull-changelog" lint-changelog-yaml changelogs/changelog.yaml \
  || fail "changelogs/changelog.yaml: fix what antsibull-changelog lint-changelog-yaml says above"

step "galaxy.yml version $version is the latest changelog release"
if [ "$latest" != "$version" ]; then
  fail "galaxy.yml says version $version but the latest release in changelogs/changelog.yaml is $latest;" \
       "make the release with: tools/release_check.sh --refresh-changelog"
fi

step "CHANGELOG.rst is current"
tree=$(regenerate_changelog "$work/changelog")
for file in CHANGELOG.rst changelogs/changelog.yaml; do
  if ! cmp -s "$file" "$tree/$file"; then
    diff -u "$file" "$tree/$file" | head -40 >&2 || true
    fail "$file is stale: new fragments, or modules, plugins or roles with version_added: $version, are not in it." \
         "Refresh it with: tools/release_check.sh --refresh-changelog (antsibull-changelog ${release_args[*]}" \
         "in a copy of the tree), then commit CHANGELOG.rst, changelogs/ and the removed fragments"
  fi
done

step "ansible-galaxy collection build"
"$BIN/ansible-galaxy" collection build --output-path "$work/dist" "$repo" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; fail "ansible-galaxy collection build failed"; }
tarball="$work/dist/proxgate-core-$version.tar.gz"
[ -f "$tarball" ] || fail "the build made no $(basename "$tarball")"
tar -tzf "$tarball" | sed 's|^\./||' >"$work/contents"
unwanted=$(grep -oE '^(tests/emulators|tests/molecule|tests/bench|tests/output|roles/[^/]+/molecule|\.venv|build|tools|\.ci|\.ruff_cache|\.pytest_cache|changelogs/\.plugin-cache\.yaml)(/|$)' \
  "$work/contents" | sort -u || true)
[ -z "$unwanted" ] || fail "the tarball holds what users must not get (add it to build_ignore in galaxy.yml):" \
  "$(echo "$unwanted" | tr '\n' ' ')"
for needed in MANIFEST.json FILES.json README.md CHANGELOG.rst changelogs/changelog.yaml meta/runtime.yml \
              meta/execution-environment.yml meta/ee-requirements.txt meta/ee-bindep.txt; do
  grep -qx "$needed" "$work/contents" || fail "the tarball lacks $needed"
done

step "ansible-galaxy collection install into a fresh collections path"
installed="$work/collections"
# Only that path, and a home of its own: a copy in ~/.ansible/collections must not stand in for the tarball.
export ANSIBLE_COLLECTIONS_PATH="$installed" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false ANSIBLE_HOME="$work/ansible-home" \
  ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCAL_TEMP="$work/tmp"
"$BIN/ansible-galaxy" collection install --offline --force -p "$installed" "$tarball" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "installing the tarball failed"; }
[ -f "$installed/ansible_collections/proxgate/core/MANIFEST.json" ] \
  || { cat "$work/install.log" >&2; fail "the tarball was not installed into $installed"; }

step "version_added of every module, plugin and role"
py - "$BIN/ansible-doc" "$installed" "$version" <<'PY' || fail "give each of them version_added: the release they first appear in, not later than galaxy.yml's $version"
import json
import subprocess
import sys

from tools.version_added import doc_problems

ansible_doc, installed, version = sys.argv[1:]


def doc(*args):
    proc = subprocess.run([ansible_doc, "--json", *args], capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"ansible-doc {' '.join(args)} failed: {proc.stderr}")
    return json.loads(proc.stdout)


problems, wrong_path = [], []
for kind in ("module", "inventory", "role"):
    names = list(doc("-t", kind, "--list", "proxgate.core"))
    if not names:
        continue
    for name, entry in doc("-t", kind, *names).items():
        problems += doc_problems(kind, name, entry, version)
        where = entry.get("path") if kind == "role" else entry.get("doc", {}).get("filename")
        if not str(where).startswith(installed):
            wrong_path.append(f"{name} from {where}")
if wrong_path:
    sys.exit("ansible-doc read these from outside the installed tarball: " + ", ".join(wrong_path))
if problems:
    sys.exit("version_added: " + "; ".join(problems))
PY

step "ansible-builder introspect finds the execution environment's dependencies"
[ -x "$BIN/ansible-builder" ] || fail "$BIN/ansible-builder is missing: pip install -r tests/requirements.txt"
"$BIN/ansible-builder" introspect "$installed" >"$work/introspect.log" 2>&1 \
  || { cat "$work/introspect.log" >&2; fail "ansible-builder introspect failed"; }
for dependency in 'httpx>=' 'paramiko>=' 'openssh-client [platform:dpkg]' 'openssh-clients [platform:rpm]'; do
  grep -F -- "$dependency" "$work/introspect.log" | grep -q '# from collection proxgate.core' \
    || { cat "$work/introspect.log" >&2; fail "ansible-builder does not find $dependency (meta/execution-environment.yml)"; }
done

step "smoke run from the installed collection"
"$BIN/ansible-doc" proxgate.core.proxmox_vm >"$work/doc.txt" 2>&1 || { cat "$work/doc.txt" >&2; fail "ansible-doc proxgate.core.proxmox_vm failed"; }
grep -q "PROXMOX_URL" "$work/doc.txt" || fail "ansible-doc proxgate.core.proxmox_vm lacks the auth options"

token_id='release@pve!check'
token_secret=$(py -c 'import uuid; print(uuid.uuid4())')
(cd "$repo" && exec "$BIN/python" -m tests.emulators.pve --cert-dir "$work/pki" --port 0 \
   --token "$token_id=$token_secret" >"$work/fakepve.log" 2>&1) &
fakepve_pid=$!
for _ in $(seq 150); do
  grep -q '^fakepve listening on ' "$work/fakepve.log" && break
  kill -0 "$fakepve_pid" 2>/dev/null || { cat "$work/fakepve.log" >&2; fail "the Proxmox test server did not start"; }
  sleep 0.1
done
url=$(sed -n 's/^fakepve listening on //p' "$work/fakepve.log")
[ -n "$url" ] || fail "the Proxmox test server did not answer in 15 s"

cat >"$work/smoke.yml" <<'YAML'
- name: Smoke test of the installed collection
  hosts: localhost
  gather_facts: false
  tasks:
    - name: List the VMs of the test server
      proxgate.core.proxmox_vm_info:
      register: smoke_vms
    - name: Call a Guacamole module without its connection options
      proxgate.core.guacamole_info:
      register: smoke_unconfigured
      ignore_errors: true
    - name: Check what they returned
      ansible.builtin.assert:
        that:
          - "'web01' in smoke_vms.vms | map(attribute='name')"
          - smoke_unconfigured is failed
          - smoke_unconfigured.msg is search('missing required arguments:.*api_url')
YAML
(cd "$work" && PROXMOX_URL="$url" PROXMOX_TOKEN_ID="$token_id" PROXMOX_TOKEN_SECRET="$token_secret" \
   PROXMOX_CA_PATH="$work/pki/fakepve.crt" "$BIN/ansible-playbook" -i localhost, -c local \
   -e "ansible_python_interpreter=$BIN/python" smoke.yml >"$work/smoke.log" 2>&1) \
  || { cat "$work/smoke.log" >&2; fail "the smoke playbook failed with the installed collection"; }

step "OK: proxgate.core $version is ready ($(basename "$tarball"))"

#!/usr/bin/env bash
# The Debian packages `make demo` and `make test` need beyond Python 3.11+:
#   tools/system_deps.sh demo   python3-venv (the .venv)
#   tools/system_deps.sh test   that, plus an OpenSSH server and client (the SSH import tests start their own
#                               sshd on 127.0.0.1; the system service is not used), and debootstrap and
#                               systemd-container (the roles' molecule scenarios boot Debian machines with
#                               systemd-nspawn: tools/nspawn_machine.py), and Xvfb, x11vnc and xrdp (the VNC and
#                               RDP servers of the end-to-end test through the real guacd; tools/guacd_build.sh
#                               installs guacd's own build dependencies), and djpeg (libjpeg-turbo-progs: the
#                               end-to-end test decodes the JPEG images guacd may send)
# As root, what is missing is installed with apt-get. Otherwise it stops at once with the command to run.
set -euo pipefail
purpose=${1:-test}
case "$purpose" in demo | test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac

missing=()
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if [ "$purpose" = test ]; then
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
  command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
  command -v x11vnc >/dev/null 2>&1 || missing+=(x11vnc)
  command -v xrdp >/dev/null 2>&1 || missing+=(xrdp)
  command -v djpeg >/dev/null 2>&1 || missing+=(libjpeg-turbo-progs)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "make $purpose needs Debian packages that are not installed: ${missing[*]}" >&2
  echo "run, as root:  $command" >&2
  [ "$purpose" = test ] && echo "(make test runs the roles' molecule scenarios, which need root anyway)" >&2
  exit 1
fi
echo "make $purpose: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp "${TMPDIR:-/tmp}/proxgate-apt.XXXXXX")
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "make $purpose: apt-get failed (above); the command was: $command" >&2
  exit 1
fi
rm -f "$log"

#!/usr/bin/env bash
# The real guacd for the test suite (issue #21): Apache guacamole-server 1.6.0, built once per machine from
# the tarball in ../shared/upstream (GUACD_TARBALL, else beside this clone or the clone it was cloned from)
# into a cache outside the clone, keyed by the tarball's sha256, so that later runs and later clones reuse it:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/proxgate/guacd-<first 16 hex of the sha256>/sbin/guacd
# guacd there needs LD_LIBRARY_PATH=<that prefix>/lib (tests/integration/guacd_real.py sets it).
#
#   tools/guacd_build.sh           build if the cache is missing, then print the prefix (the last line)
#   tools/guacd_build.sh --prefix  print the prefix only (builds nothing)
#
# The checksum is verified before anything else; a mismatch stops at once. The Debian build dependencies
# are installed when missing (as root; otherwise the apt-get command is printed). Protocols built: SSH
# (+SFTP), RDP (FreeRDP 2), VNC (with PulseAudio, as distribution builds have it), telnet, Kubernetes
# (libwebsockets); guacd's TLS (libssl). Not built:
# guacenc/guaclog (the ffmpeg -dev packages; recordings are not played back by the tests).
# The build runs in a temporary directory beside the cache entry and is moved into place in one rename, so
# an interrupted build leaves nothing that looks finished. make -j2 by default (GUACD_MAKE_JOBS).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
SHA256=f214dde1aefcff8f88c49ab028dd0855d6ef76bfceffdad44000619cfd0ff716
name=guacamole-server-1.6.0-git.tar.gz
# GUACD_TARBALL, else ../shared/upstream beside the clone, else beside the clone it was cloned from (a fresh CI
# clone of a local checkout).
tarball=${GUACD_TARBALL:-$here/../shared/upstream/$name}
origin=$(git -C "$here" config --get remote.origin.url 2>/dev/null || true)
if [ -z "${GUACD_TARBALL:-}" ] && [ ! -f "$tarball" ] && [ -d "$origin" ]; then
  tarball=$(cd "$origin" && pwd)/../shared/upstream/$name
fi
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/proxgate
prefix=$cache_root/guacd-${SHA256:0:16}
jobs=${GUACD_MAKE_JOBS:-2}

if [ "${1:-}" = --prefix ]; then
  echo "$prefix"
  exit 0
fi

if [ -x "$prefix/sbin/guacd" ] && [ -f "$prefix/.complete" ]; then
  echo "$prefix"
  exit 0
fi

mkdir -p "$cache_root"
# One build at a time (tools/test.sh starts one early; pytest workers call this too): wait for the lock,
# then look again.
exec 9>"$cache_root/.guacd-build.lock"
flock 9
if [ -x "$prefix/sbin/guacd" ] && [ -f "$prefix/.complete" ]; then
  echo "$prefix"
  exit 0
fi

if [ ! -f "$tarball" ]; then
  echo "guacd_build: the guacamole-server tarball is not at $tarball (set GUACD_TARBALL)" >&2
  exit 1
fi
actual=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ "$actual" != "$SHA256" ]; then
  echo "guacd_build: checksum mismatch for $tarball" >&2
  echo "  expected sha256 $SHA256" >&2
  echo "  got      sha256 $actual" >&2
  echo "guacd_build: refusing to build an archive that is not guacamole-server 1.6.0 as released" >&2
  exit 1
fi

packages=(autoconf automake libtool-bin make gcc pkg-config
  libcairo2-dev libjpeg62-turbo-dev libpng-dev uuid-dev
  libssh2-1-dev libpango1.0-dev libvncserver-dev freerdp2-dev libtelnet-dev libwebsockets-dev libssl-dev libpulse-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "guacd_build: Debian packages missing: ${missing[*]}" >&2
    echo "run, as root:  $command" >&2
    exit 1
  fi
  echo "guacd_build: installing ${missing[*]}" >&2
  log=$(mktemp "${TMPDIR:-/tmp}/proxgate-guacd-apt.XXXXXX")
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$log" 2>&1; then
    cat "$log" >&2
    echo "guacd_build: apt-get failed (above); the command was: $command" >&2
    exit 1
  fi
  rm -f "$log"
fi

work=$(mktemp -d "$cache_root/.guacd-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$work/build.log
# The prefix is compiled into guacd (the FreeRDP plugin directory), so configure gets the final path and
# installs into a staging root (DESTDIR) inside the temporary directory.
(
  cd "$work"
  tar -xzf "$tarball"
  src=$(find . -mindepth 1 -maxdepth 1 -type d | head -n1)
  cd "$src"
  autoreconf -fi
  ./configure --prefix="$prefix" --with-freerdp-plugin-dir="$prefix/lib/freerdp2" \
    --disable-guacenc --disable-guaclog --without-libavcodec --without-libavformat --without-libavutil \
    --without-libswscale
  make -j"$jobs"
  make install DESTDIR="$work/root"
) >"$log" 2>&1 || {
  tail -n 60 "$log" >&2
  echo "guacd_build: the build failed (the last 60 lines of its log above)" >&2
  exit 1
}
staged=$work/root$prefix
for protocol in ssh rdp vnc telnet kubernetes; do
  if ! ls "$staged/lib/libguac-client-$protocol.so" >/dev/null 2>&1; then
    grep -E '^ *(RDP|SSH|VNC|Telnet|Kubernetes)|freerdp|ssh2|vncclient|telnet|websockets' "$log" | tail -n 20 >&2
    echo "guacd_build: libguac-client-$protocol was not built (a missing -dev package?)" >&2
    exit 1
  fi
done
touch "$staged/.complete"
# Another build may have finished first: keep the one in place.
if ! mv -T "$staged" "$prefix" 2>/dev/null; then
  [ -f "$prefix/.complete" ] || { echo "guacd_build: cannot move the build to $prefix" >&2; exit 1; }
fi
echo "$prefix"

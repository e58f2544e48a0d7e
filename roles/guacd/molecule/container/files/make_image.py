"""Write a stand-in container image as a docker-archive tar (what `podman save` writes and `podman load` reads).

The image holds the machine's own python3 (the interpreter, the standard library without its tests, and the
shared libraries they link), the files given with --add and --data, and a config (Cmd, User, ExposedPorts).
Used by the container scenarios of the guacd and guacamole roles. No container
engine is needed to write it, so the role still installs podman itself and loads the archive as it would load
the official image on an air-gapped site.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

PYTHON = Path(sys.executable).resolve()
STDLIB = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data", "__pycache__",
        "unittest", "distutils", "config-3.11-x86_64-linux-gnu", "site-packages", "dist-packages"}


def stdlib_files():
    for path in sorted(STDLIB.rglob("*")):
        if path.is_file() and not SKIP.intersection(path.relative_to(STDLIB).parts):
            yield path


def linked_libraries(binaries):
    found = set()
    for binary in binaries:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            parts = line.split()
            target = parts[2] if "=>" in parts and len(parts) > 2 else parts[0] if parts else ""
            if target.startswith("/"):
                found.add(Path(target))
    return sorted(found)


def add_file(tar, source, dest, mode=None):
    info = tar.gettarinfo(str(source), arcname=str(dest).lstrip("/"))
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if mode is not None:
        info.mode = mode
    with open(source, "rb") as handle:
        tar.addfile(info, handle)


def add_script(tar, source, dest):
    lines = source.read_bytes().split(b"\n", 1)
    content = b"#!/usr/bin/python3\n" + (lines[1] if lines[0].startswith(b"#!") else b"\n".join(lines))
    info = tarfile.TarInfo(dest.lstrip("/"))
    info.size = len(content)
    info.mode = 0o755
    tar.addfile(info, io.BytesIO(content))


def add_dir(tar, dest):
    info = tarfile.TarInfo(dest.lstrip("/"))
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tar.addfile(info)


def add_symlink(tar, dest, target):
    info = tarfile.TarInfo(dest.lstrip("/"))
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def layer(extra, data):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("/usr", "/usr/bin", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/tmp", "/etc"):
            add_dir(tar, directory)
        # Debian's merged /usr: /lib, /lib64 and /bin point into /usr.
        for link in ("lib", "lib64", "bin"):
            add_symlink(tar, f"/{link}", f"usr/{link}")
        add_dir(tar, "/usr/lib64")
        add_file(tar, PYTHON, "/usr/bin/python3")
        done = set()
        binaries = [PYTHON, *STDLIB.joinpath("lib-dynload").glob("*.so")]
        # glibc dlopen()s libgcc_s when a thread exits; ldd does not list it.
        for library in [*linked_libraries(binaries), *Path("/usr/lib/x86_64-linux-gnu").glob("libgcc_s.so.1")]:
            dest = "/usr" + str(library) if not str(library).startswith("/usr/") else str(library)
            if dest not in done:
                done.add(dest)
                add_file(tar, library.resolve(), dest)
        seen_dirs = set()
        for path in stdlib_files():
            for parent in reversed(path.relative_to(STDLIB).parents[:-1]):
                if parent not in seen_dirs:
                    seen_dirs.add(parent)
                    add_dir(tar, str(STDLIB / parent))
            add_file(tar, path, path)
        for spec in extra:
            source, dest = spec.split(":", 1)
            for parent in reversed(Path(dest).parents[:-1]):
                add_dir(tar, str(parent))
            add_script(tar, Path(source), dest)
        for spec in data:
            source, dest = spec.split(":", 1)
            for parent in reversed(Path(dest).parents[:-1]):
                add_dir(tar, str(parent))
            add_file(tar, Path(source), dest, mode=0o644)
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", required=True)
    parser.add_argument("--cmd", required=True, help="the image's Cmd, as a JSON list")
    parser.add_argument("--user", default="")
    parser.add_argument("--expose", action="append", default=[])
    parser.add_argument("--add", action="append", default=[],
                        help="SOURCE:DEST, a Python script installed executable (its #! line made /usr/bin/python3)")
    parser.add_argument("--data", action="append", default=[], help="SOURCE:DEST, a file installed as it is")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    data = layer(args.add, args.data)
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": json.loads(args.cmd), "User": args.user, "WorkingDir": "/tmp",
                   "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "ExposedPorts": {port: {} for port in args.expose}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }, sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [args.tag], "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(args.out, "w") as archive:
        for name, content in (("layer.tar", data), (config_name, config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    print(f"{args.out}: {args.tag}, layer {len(data) // 1024} KiB")


if __name__ == "__main__":
    main()

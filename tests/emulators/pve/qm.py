"""A fake `qm` for the SSH tests: `qm importdisk` (and `qm disk import`) against the Proxmox test server.

The SSH tests start a real OpenSSH server whose PATH has this program first (through a wrapper named
`qm`). It does what the node's qm does - through the test server's private endpoint
`.../proxgate-qm-importdisk`, so the VM's config and the storage change as on a node - and prints what
`qm importdisk` prints (qemu-server src/PVE/CLI/qm.pm, importdisk): `importing disk '<source>' to VM <vmid> ...`,
the progress lines, then as the last line `unused0: successfully imported disk '<volume id>'` on a node of
PVE 8.3 or later (qemu-server 8.2.7 and later; the test server's `GET /nodes/{node}/version`), and
`Successfully imported disk as 'unused0:<volume id>'` on an older one.
Errors go to stderr with exit status 255, as PVE's CLI handler does.

Standard library only: it runs under whatever python3 the SSH session finds. It reads the test server from
the environment the sshd gives it: PROXGATE_PVE_URL, PROXGATE_PVE_CA, PROXGATE_PVE_TOKEN (user@realm!name=secret)
and PROXGATE_PVE_NODE.
"""

import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

FORMATS = ("raw", "qcow2", "vmdk")


def fail(message, status=255):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(status)


def human(size):
    """qemu-img's progress sizes, as PVE prints them (1.0 GiB)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def parse_import(args):
    """VMID SOURCE STORAGE [--format F] [--target-disk D] -> dict, or qm's usage error."""
    positional, options = [], {}
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word.startswith("--"):
            name = word[2:]
            if name not in ("format", "target-disk") or not rest:
                fail(f"400 unable to parse option\nqm importdisk: unknown or incomplete option '{word}'")
            options[name] = rest.pop(0)
        else:
            positional.append(word)
    if len(positional) != 3:
        fail("400 not enough arguments\nqm importdisk <vmid> <source> <storage> [OPTIONS]")
    vmid, source, storage = positional
    if not vmid.isdigit():
        fail(f"400 Parameter verification failed.\nvmid: type check ('integer') failed - got '{vmid}'")
    if options.get("format") and options["format"] not in FORMATS:
        fail(f"400 Parameter verification failed.\nformat: value '{options['format']}' does not have a value "
             "in the enumeration 'raw, qcow2, vmdk'")
    return {"vmid": int(vmid), "source": source, "storage": storage, "format": options.get("format")}


def call_server(path, fields=None):
    """POST fields to (or, without them, GET) a path of the node's API on the test server; its data."""
    url = os.environ["PROXGATE_PVE_URL"].rstrip("/")
    node = os.environ.get("PROXGATE_PVE_NODE", "pve1")
    context = ssl.create_default_context(cafile=os.environ["PROXGATE_PVE_CA"])
    body = None if fields is None else \
        urllib.parse.urlencode({k: v for k, v in fields.items() if v is not None}).encode()
    request = urllib.request.Request(f"{url}/api2/json/nodes/{node}{path}", data=body,
                                     method="GET" if body is None else "POST",
                                     headers={"Authorization": "PVEAPIToken=" + os.environ["PROXGATE_PVE_TOKEN"]})
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return json.loads(response.read())["data"]
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message") or exc.reason
        except ValueError:
            message = exc.reason
        fail(str(message))
    except urllib.error.URLError as exc:
        fail(f"proxgate fake qm: cannot reach the test server: {exc.reason}")
    return None


def importdisk(args):
    wanted = parse_import(args)
    # qm checks the VM, its lock, the file and the storage before it says anything.
    result = call_server(f"/qemu/{wanted['vmid']}/proxgate-qm-importdisk",
                         {"source": wanted["source"], "storage": wanted["storage"], "format": wanted["format"]})
    print(f"importing disk '{wanted['source']}' to VM {wanted['vmid']} ...", flush=True)
    size = int(result["size"])
    for share in (0, 25, 50, 75, 100):
        print(f"transferred {human(size * share // 100)} of {human(size)} ({share:.2f}%)", flush=True)
    if node_version() >= (8, 3):
        print(f"{result['key']}: successfully imported disk '{result['volid']}'", flush=True)
    else:
        print(f"Successfully imported disk as '{result['key']}:{result['volid']}'", flush=True)


def node_version():
    """(major, minor) of the node's PVE version."""
    release = str(call_server("/version").get("release") or "0.0")
    major, _dot, minor = release.partition(".")
    return int(major), int(minor or 0)


def main(argv):
    if argv[:1] == ["importdisk"]:
        return importdisk(argv[1:])
    if argv[:2] == ["disk", "import"]:
        return importdisk(argv[2:])
    fail(f"unknown command 'qm {' '.join(argv)}' (the proxgate fake qm knows only importdisk and disk import)")
    return None


if __name__ == "__main__":
    main(sys.argv[1:])

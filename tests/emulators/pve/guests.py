"""Guest lists for the test server: a small demo cluster, and N generated guests for benchmarks."""

from __future__ import annotations

import ipaddress
import random

from .server import agent_interfaces

DEMO_NETWORK = ipaddress.ip_network("10.20.0.0/16")
# The cloud image playbooks/provision.yml imports by default: local:import/<name>.
DEMO_IMAGE = "debian-13-genericcloud-amd64.qcow2"
DEMO_IMAGE_SIZE = 3 * 1024 ** 3


def demo_guests():
    """What `make demo` starts with: a cloud-image template to clone, two running VMs with agents,
    a stopped VM and a container, on two nodes."""
    return [
        {"vmid": 9000, "name": "debian-13-cloud", "node": "pve1", "template": True,
         "config": {"cores": 2, "memory": 2048, "scsihw": "virtio-scsi-single", "agent": "1",
                    "net0": "virtio=BC:24:11:00:90:00,bridge=vmbr0",
                    "scsi0": "local-lvm:base-9000-disk-0,discard=on,size=3G", "ostype": "l26"}},
        {"vmid": 101, "name": "web01", "node": "pve1", "status": "running", "pool": "production",
         "config": {"cores": 2, "memory": 2048, "agent": "1", "tags": "linux;web", "ostype": "l26",
                    "net0": "virtio=BC:24:11:00:01:01,bridge=vmbr0"},
         "agent": {"interfaces": agent_interfaces(DEMO_NETWORK, 101, mac="bc:24:11:00:01:01")}},
        {"vmid": 102, "name": "win-desktop", "node": "pve2", "status": "running", "pool": "production",
         "config": {"cores": 4, "memory": 8192, "agent": "1", "tags": "windows", "ostype": "win11",
                    "net0": "virtio=BC:24:11:00:01:02,bridge=vmbr0"},
         "agent": {"interfaces": agent_interfaces(DEMO_NETWORK, 102, mac="bc:24:11:00:01:02"),
                   "os": {"name": "Microsoft Windows", "id": "mswindows", "version": "Microsoft Windows 11",
                          "version-id": "11", "pretty-name": "Windows 11 Pro", "kernel-release": "22631",
                          "kernel-version": "10.0", "machine": "x86_64"}}},
        {"vmid": 103, "name": "db01", "node": "pve2", "status": "stopped",
         "config": {"cores": 2, "memory": 4096, "agent": "1", "tags": "linux;db", "ostype": "l26"}},
        {"vmid": 200, "name": "dns01", "node": "pve1", "status": "running", "type": "lxc",
         "config": {"net0": "name=eth0,bridge=vmbr0,ip=10.20.2.0/16,hwaddr=BC:24:11:00:02:00"}},
    ]


def generate_guests(count, nodes=3, running=0.7, with_agent=0.8, lxc_share=0.1, seed=1,
                    network=DEMO_NETWORK):
    """`count` guests over `nodes` nodes: `running` of them running, `with_agent` of the running
    VMs with an agent that reports an address; `lxc_share` are containers. Repeatable for a seed."""
    rng = random.Random(seed)
    guests = []
    for index in range(count):
        vmid = 1000 + index
        node = f"pve{index % nodes + 1}"
        status = "running" if rng.random() < running else "stopped"
        tags = ";".join(sorted(rng.sample(["web", "db", "linux", "windows", "prod", "dev"], 2)))
        if rng.random() < lxc_share:
            address = network.network_address + 10 + vmid
            guests.append({"vmid": vmid, "name": f"ct{vmid}", "node": node, "status": status, "type": "lxc",
                           "config": {"tags": tags,
                                      "net0": f"name=eth0,bridge=vmbr0,ip={address}/{network.prefixlen}"}})
            continue
        guest = {"vmid": vmid, "name": f"vm{vmid}", "node": node, "status": status,
                 "config": {"cores": 1, "memory": 1024, "tags": tags, "agent": "1", "ostype": "l26"}}
        if status == "running" and rng.random() < with_agent:
            guest["agent"] = {"interfaces": agent_interfaces(network, vmid)}
        guests.append(guest)
    return guests


def add_demo_image(pve):
    """Give the `local` storage the `import` content type and a cloud image in it, as an admin would after
    downloading one (PVE 8.2+), so provision.yml can import it by volume id."""
    store = pve.storages["local"]
    if "import" not in store["content"].split(","):
        store["content"] += ",import"
    pve.store_file("local", DEMO_IMAGE, DEMO_IMAGE_SIZE, content="import")

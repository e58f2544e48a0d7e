"""The Proxmox test server's read-fault switches (issue #17): a node that does not answer and a GET that fails,
given on the command line, so that the inventory and the publish playbook can be run under them without Python."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.emulators.test_pve_gaps import REPO, TOKEN_ID, TOKEN_SECRET, api_client, data, error_of, read_line


def test_cli_offline_node_and_failing_get(tmp_path):
    cert_dir = tmp_path / "certs"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "tests.emulators.pve", "--cert-dir", str(cert_dir),
                                "--token", f"{TOKEN_ID}={TOKEN_SECRET}", "--offline-node", "pve2",
                                "--fail-get", "/nodes/pve1/qemu/101/config", "500", "unable to read file"],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(process.stdout, timeout=20)
        assert line.startswith("fakepve listening on "), (line, process.poll())
        with api_client(line.split()[-1], str(cert_dir / "fakepve.crt")) as client:
            guests = {guest["name"]: guest for guest in data(client.get("/cluster/resources", params={"type": "vm"}))}
            assert {name: guests[name]["status"] for name in ("web01", "win-desktop", "db01")} == {
                "web01": "running", "win-desktop": "unknown", "db01": "unknown"}
            assert error_of(client.get("/nodes/pve2/qemu/102/config")) == (595, "No route to host")
            for _times in range(2):
                assert error_of(client.get("/nodes/pve1/qemu/101/config")) == (500, "unable to read file")
            assert data(client.get("/nodes/pve1/qemu/101/agent/network-get-interfaces"))["result"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()

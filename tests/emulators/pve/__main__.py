"""Serve the Proxmox test server as a process (for `make demo` and the benchmarks).

    python -m tests.emulators.pve --guests demo --cert-dir build/pve --port 0

Prints one line, `fakepve listening on https://HOST:PORT`, once it answers; the certificate to
trust is written to CERT_DIR/fakepve.crt. Stops on SIGTERM or Ctrl-C. With --request-log FILE, every
request is appended to FILE as `METHOD PATH` when it arrives (the benchmarks count them there).

Faults, a short ticket lifetime and a state that outlives the process (issue #17), for playbooks run under
faults without writing Python: every POST carried out and then answered 596 (pveproxy) or 502 (a reverse
proxy), tickets that expire after 60 s, and the guests kept in a file across a kill and a restart:

    python -m tests.emulators.pve --cert-dir build/pve --faults status=1,status-codes=596:502,methods=POST
    python -m tests.emulators.pve --cert-dir build/pve --ticket-lifetime 60
    python -m tests.emulators.pve --cert-dir build/pve --state-file build/pve/state.pickle

Read faults, to run the inventory and playbooks/publish.yml against a cluster that cannot be read in full:

    python -m tests.emulators.pve --cert-dir build/pve --offline-node pve2 \
        --fail-get /nodes/pve1/qemu/101/config 500 "unable to read file '/etc/pve/nodes/pve1/qemu-server/101.conf'"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from contextlib import nullcontext
from pathlib import Path

from fakepve.certs import make_cert

from tests.emulators.faults import add_faults_option

from .guests import add_demo_image, demo_guests, generate_guests
from .server import ProxgatePve, load_guests
from .state_file import load_state, save_state


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.pve", description=__doc__.splitlines()[0])
    parser.add_argument("--guests", default="demo",
                        help="'demo', 'generate:N[:NODES]', or a JSON file {\"guests\": [...]} (default: demo)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--user", default="root@pam")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--token", action="append", default=[], metavar="USER@REALM!NAME=SECRET",
                        help="an API token the server accepts (repeatable)")
    parser.add_argument("--cert-dir", required=True, help="where fakepve.crt and its key are written")
    parser.add_argument("--time-scale", type=float, default=0.0,
                        help="real seconds per PVE second; 0 finishes tasks at once (default)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    parser.add_argument("--agent-boot-secs", type=float, default=0.0,
                        help="PVE seconds until a started guest's agent answers")
    parser.add_argument("--request-log", metavar="FILE", help="append `METHOD PATH` for every request to FILE")
    parser.add_argument("--ticket-lifetime", type=float, default=7200.0, metavar="SECS",
                        help="real seconds a login ticket is accepted (PVE: 7200, two hours)")
    parser.add_argument("--state-file", metavar="FILE",
                        help="keep the cluster's state in FILE, written after every write request and at stop; "
                             "a server started with an existing FILE comes back with its guests (--guests unused)")
    add_read_fault_options(parser)
    add_faults_option(parser)
    return parser.parse_args(argv)


def add_read_fault_options(parser):
    faults = parser.add_argument_group("read faults")
    faults.add_argument("--offline-node", action="append", default=[], metavar="NODE",
                        help="a node that does not answer: /cluster/resources lists its guests with status unknown, "
                             "requests for it get 595 No route to host (repeatable)")
    faults.add_argument("--fail-get", action="append", default=[], nargs=3, metavar=("SUFFIX", "STATUS", "MESSAGE"),
                        help="every GET whose path ends with SUFFIX answers the HTTP STATUS with PVE's error body "
                             "carrying MESSAGE, as long as the server runs (repeatable)")


def apply_read_faults(pve, args):
    """The --offline-node and --fail-get switches, through fakepve's own scenarios."""
    for node in args.offline_node:
        pve.set_node_offline(node)
    for suffix, status, message in args.fail_get:
        pve.fail("GET", suffix, int(status), message)


def guests_from(spec):
    if spec == "demo":
        return demo_guests()
    if spec.startswith("generate:"):
        count, _unused, nodes = spec[len("generate:"):].partition(":")
        return generate_guests(int(count), nodes=int(nodes or 3))
    return json.loads(Path(spec).read_text(encoding="utf-8"))["guests"]


async def serve(args):
    cert_dir = Path(args.cert_dir)
    cert_dir.mkdir(parents=True, exist_ok=True)
    certfile, keyfile, _der = make_cert(str(cert_dir), hosts=(args.host,))
    with open(args.request_log, "a", encoding="utf-8") if args.request_log else nullcontext() as request_log:
        await serve_until_stopped(args, certfile, keyfile, request_log)


async def serve_until_stopped(args, certfile, keyfile, request_log):
    pve = ProxgatePve(user=args.user, password=args.password, host=args.host, port=args.port,
                      agent_boot_secs=args.agent_boot_secs, request_log=request_log)
    pve.time_scale = args.time_scale
    pve.add_node("pve2")
    if args.latency:
        pve.slow_network(args.latency)
        pve.time_scale = pve.time_scale or 1.0
    pve.ticket_ttl = args.ticket_lifetime
    load_guests(pve, guests_from(args.guests))
    if args.guests == "demo":
        add_demo_image(pve)
    if args.state_file:
        load_state(pve, args.state_file)  # when the file exists: the state it holds instead of --guests
    for token in args.token:
        token_id, _unused, secret = token.partition("=")
        pve.apitokens[token_id] = secret
    apply_read_faults(pve, args)
    pve.random_faults = args.faults
    pve.state_file = args.state_file
    await pve.start(certfile, keyfile)
    print(f"fakepve listening on {pve.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await pve.stop()
    if pve.state_file:
        save_state(pve, pve.state_file)


def main(argv=None):
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()

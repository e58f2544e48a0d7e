"""Run the emulator as a process.

    python -m tests.emulators.guacamole --host 127.0.0.1 --port 0 \
        [--tls-cert CERT --tls-key KEY] [--version 1.6.0] [--admin-password P] \
        [--state seed.json] [--state-file FILE] [--token-lifetime SECS] [--faults ...]

Faults, a short session timeout and objects that outlive the process (issue #17), for playbooks run under
faults without writing Python: every POST carried out and then answered 502 or 504 (a reverse proxy), tokens
that expire after 60 s unused, and the objects kept in a file across a kill and a restart:

    python -m tests.emulators.guacamole --faults status=1,status-codes=502:504,methods=POST
    python -m tests.emulators.guacamole --token-lifetime 60
    python -m tests.emulators.guacamole --state-file build/guacamole-state.pickle

Prints ``guacamole-emulator listening on <base url>`` once ready, then serves
until SIGTERM or SIGINT.
"""
from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext

from tests.emulators.faults import add_faults_option
from tests.emulators.loopback import serve_until_signalled

from .server import GuacamoleEmulator
from .state_file import load_state


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.guacamole",
                                     description="Emulated Apache Guacamole REST API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--version", default="1.6.0", help="emulated Guacamole version")
    parser.add_argument("--admin-username", default="guacadmin")
    parser.add_argument("--admin-password", default="guacadmin")
    parser.add_argument("--data-sources", default="postgresql,postgresql-shared",
                        help="comma-separated data source names")
    parser.add_argument("--context-path", default="/guacamole")
    parser.add_argument("--state", help="JSON seed file (see README)")
    parser.add_argument("--state-file", metavar="FILE",
                        help="keep the objects in FILE, written after every write request; an emulator started "
                             "with an existing FILE comes back with its objects (not its sessions)")
    parser.add_argument("--token-lifetime", type=float, metavar="SECS",
                        help="seconds a token may go unused before it expires (Guacamole's api-session-timeout, "
                             "default 60 minutes; here never unless given)")
    parser.add_argument("--totp", action="store_true", help="require a guac-totp code at login")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    parser.add_argument("--request-log", help="append every request to this file as 'METHOD PATH'")
    add_faults_option(parser)
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    emulator = GuacamoleEmulator(
        host=args.host, port=args.port, version=args.version,
        data_sources=[name for name in args.data_sources.split(",") if name],
        admin_username=args.admin_username, admin_password=args.admin_password,
        certfile=args.tls_cert, keyfile=args.tls_key, context_path=args.context_path,
    )
    if args.state:
        with open(args.state, encoding="utf-8") as seed:
            emulator.load_state(json.load(seed))
    if args.state_file:
        load_state(emulator, args.state_file)  # when the file exists: its objects instead of the seed's
        emulator.state_file = args.state_file
    emulator.token_lifetime = args.token_lifetime
    emulator.totp_required = args.totp
    emulator.latency = args.latency
    emulator.random_faults = args.faults
    with open(args.request_log, "a", encoding="utf-8") if args.request_log else nullcontext() as log:
        emulator.request_log = log
        return serve_until_signalled(emulator, "guacamole-emulator")


if __name__ == "__main__":
    sys.exit(main())

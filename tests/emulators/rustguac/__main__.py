"""Run the emulator as a process.

    python -m tests.emulators.rustguac --host 127.0.0.1 --port 0 \
        [--tls-cert CERT --tls-key KEY] --admin-key KEY

Prints ``rustguac-emulator listening on <url>`` once it answers, then serves until SIGTERM or SIGINT.
"""
from __future__ import annotations

import argparse
import sys

from tests.emulators.loopback import serve_until_signalled

from .server import RustguacEmulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.rustguac",
                                     description="Emulated rustguac REST API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--admin-key", default="rg-admin-0123456789", help="the admin API key")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    emulator = RustguacEmulator(host=args.host, port=args.port, certfile=args.tls_cert,
                                keyfile=args.tls_key, admin_key=args.admin_key)
    return serve_until_signalled(emulator, "rustguac-emulator")


if __name__ == "__main__":
    sys.exit(main())

"""guacd-emulator: a stand-in for guacd (the Guacamole proxy daemon) that speaks the start of its handshake.

Answers `select` with `args` (the protocol version first, then the real parameter names of guacd 1.5/1.6 for
ssh, rdp, vnc, telnet and kubernetes), over TCP or TLS, configured like guacd: the flags
`-b HOST -l PORT -L LEVEL -f -p PIDFILE -C CERT -K KEY` and /etc/guacamole/guacd.conf
([server] bind_host/bind_port, [daemon] log_level/pid_file, [ssl] server_certificate/server_key; flags win).
It makes no remote desktop connection: `connect` is answered with `ready` (a new connection id), then an
`error` and `disconnect`. Stdlib only, one file, so that it can be installed as /usr/local/sbin/guacd on a test
machine. tests/emulators/test_guacd_conformance.py runs the same tests against it and the real guacd 1.6.0.

Fault switches (for tests): --fault hang (accept, never answer), --fault close (close right after `select`),
--fault garbage (answer with bytes that are not the protocol), --fault error (answer `select` with `error`);
--fault-times N limits the fault to the first N connections.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import os
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import uuid

EMULATOR_VERSION = "1.6.0"
PROTOCOL_VERSION = "VERSION_1_5_0"
DEFAULT_CONFIG = "/etc/guacamole/guacd.conf"
LOG_LEVELS = ("trace", "debug", "info", "warning", "error")

# Parameter names, in order, as the real guacd 1.6.0 sends them in `args` (tests/emulators/test_guacd_conformance.py
# compares): a build with SFTP, PulseAudio (vnc's enable-audio, audio-servername) and Kubernetes, without SSH agent
# support. The lists grow between releases: tests of the collection must look for names, not pin lengths.
PROTOCOL_ARGS = {
    "ssh": ["hostname", "host-key", "port", "timeout", "username", "password", "font-name", "font-size", "enable-sftp",
            "sftp-root-directory", "sftp-disable-download", "sftp-disable-upload", "private-key", "passphrase",
            "public-key", "color-scheme", "command", "typescript-path", "typescript-name", "create-typescript-path",
            "typescript-write-existing", "recording-path", "recording-name", "recording-exclude-output",
            "recording-exclude-mouse", "recording-include-keys", "create-recording-path", "recording-write-existing",
            "read-only", "server-alive-interval", "backspace", "terminal-type", "scrollback", "locale", "timezone",
            "disable-copy", "disable-paste", "wol-send-packet", "wol-mac-addr", "wol-broadcast-addr", "wol-udp-port",
            "wol-wait-time"],
    "telnet": ["hostname", "port", "timeout", "username", "username-regex", "password", "password-regex", "font-name",
               "font-size", "color-scheme", "typescript-path", "typescript-name", "create-typescript-path",
               "typescript-write-existing", "recording-path", "recording-name", "recording-exclude-output",
               "recording-exclude-mouse", "recording-include-keys", "create-recording-path", "recording-write-existing",
               "read-only", "backspace", "terminal-type", "scrollback", "login-success-regex", "login-failure-regex",
               "disable-copy", "disable-paste", "wol-send-packet", "wol-mac-addr", "wol-broadcast-addr", "wol-udp-port",
               "wol-wait-time"],
    "kubernetes": ["hostname", "port", "namespace", "pod", "container", "exec-command", "use-ssl", "client-cert",
                   "client-key", "ca-cert", "ignore-cert", "font-name", "font-size", "color-scheme", "typescript-path",
                   "typescript-name", "create-typescript-path", "typescript-write-existing", "recording-path",
                   "recording-name", "recording-exclude-output", "recording-exclude-mouse", "recording-include-keys",
                   "create-recording-path", "recording-write-existing", "read-only", "backspace", "scrollback",
                   "disable-copy", "disable-paste"],
    "vnc": ["hostname", "port", "read-only", "disable-display-resize", "encodings", "username", "password",
            "swap-red-blue", "color-depth", "cursor", "autoretry", "clipboard-encoding", "dest-host", "dest-port",
            "enable-audio", "audio-servername", "reverse-connect", "listen-timeout", "enable-sftp", "sftp-hostname",
            "sftp-host-key", "sftp-port", "sftp-timeout", "sftp-username", "sftp-password", "sftp-private-key",
            "sftp-passphrase", "sftp-public-key", "sftp-directory", "sftp-root-directory", "sftp-server-alive-interval",
            "sftp-disable-download", "sftp-disable-upload", "recording-path", "recording-name",
            "recording-exclude-output", "recording-exclude-mouse", "recording-include-keys", "create-recording-path",
            "recording-write-existing", "disable-copy", "disable-paste", "disable-server-input", "wol-send-packet",
            "wol-mac-addr", "wol-broadcast-addr", "wol-udp-port", "wol-wait-time", "force-lossless", "compress-level",
            "quality-level"],
    "rdp": ["hostname", "port", "timeout", "domain", "username", "password", "width", "height", "dpi",
            "initial-program", "color-depth", "disable-audio", "enable-printing", "printer-name", "enable-drive",
            "drive-name", "drive-path", "create-drive-path", "disable-download", "disable-upload", "console",
            "console-audio", "server-layout", "security", "ignore-cert", "cert-tofu", "cert-fingerprints",
            "disable-auth", "remote-app", "remote-app-dir", "remote-app-args", "static-channels", "client-name",
            "enable-wallpaper", "enable-theming", "enable-font-smoothing", "enable-full-window-drag",
            "enable-desktop-composition", "enable-menu-animations", "disable-bitmap-caching",
            "disable-offscreen-caching", "disable-glyph-caching", "disable-gfx", "preconnection-id",
            "preconnection-blob", "timezone", "enable-sftp", "sftp-hostname", "sftp-host-key", "sftp-port",
            "sftp-timeout", "sftp-username", "sftp-password", "sftp-private-key", "sftp-passphrase", "sftp-public-key",
            "sftp-directory", "sftp-root-directory", "sftp-server-alive-interval", "sftp-disable-download",
            "sftp-disable-upload", "recording-path", "recording-name", "recording-exclude-output",
            "recording-exclude-mouse", "recording-exclude-touch", "recording-include-keys", "create-recording-path",
            "recording-write-existing", "resize-method", "enable-audio-input", "enable-touch", "read-only",
            "gateway-hostname", "gateway-port", "gateway-domain", "gateway-username", "gateway-password",
            "load-balance-info", "disable-copy", "disable-paste", "wol-send-packet", "wol-mac-addr",
            "wol-broadcast-addr", "wol-udp-port", "wol-wait-time", "force-lossless", "normalize-clipboard"],
}
# The instructions guacd takes between `args` and `connect` (anything else is ignored).
HANDSHAKE_OPCODES = {"size", "audio", "video", "image", "timezone", "name"}
CONFIG_KEYS = {"server": {"bind_host", "bind_port"}, "daemon": {"pid_file", "log_level"},
               "ssl": {"server_certificate", "server_key"}}
STATUS_UNSUPPORTED = 0x0100
STATUS_SERVER_BUSY = 0x0201
STATUS_RESOURCE_NOT_FOUND = 0x0204
STATUS_UPSTREAM_NOT_FOUND = 0x0207


def encode(*elements: str) -> bytes:
    return (",".join(f"{len(e)}.{e}" for e in elements) + ";").encode("utf-8")


class ClientGone(Exception):
    pass


class BadInstruction(Exception):
    pass


def read_instruction(stream) -> list[str]:
    """One instruction from a binary file object; lengths count characters, so read UTF-8 one char at a time."""
    elements = []
    while True:
        digits = b""
        while True:
            byte = stream.read(1)
            if not byte:
                raise ClientGone()
            if byte == b".":
                break
            if not byte.isdigit() or len(digits) >= 5:
                raise BadInstruction(f"bad element length {digits + byte!r}")
            digits += byte
        if not digits:
            raise BadInstruction("empty element length")
        chars = []
        for _position in range(int(digits)):
            chars.append(read_char(stream))
        elements.append("".join(chars))
        terminator = stream.read(1)
        if not terminator:
            raise ClientGone()
        if terminator == b";":
            return elements
        if terminator != b",":
            raise BadInstruction(f"element followed by {terminator!r}")


def read_char(stream) -> str:
    first = stream.read(1)
    if not first:
        raise ClientGone()
    lead = first[0]
    extra = 0 if lead < 0x80 else 1 if lead >> 5 == 0b110 else 2 if lead >> 4 == 0b1110 else 3
    data = first + (stream.read(extra) if extra else b"")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInstruction(f"not UTF-8: {data!r}") from exc


class Log:
    def __init__(self, level: str):
        self.threshold = LOG_LEVELS.index(level)

    def __call__(self, level: str, message: str):
        if LOG_LEVELS.index(level) >= self.threshold:
            print(f"guacd[{os.getpid()}]: {level.upper()}:\t{message}", file=sys.stderr, flush=True)


class Emulator:
    def __init__(self, options, log):
        self.options = options
        self.log = log
        self.protocols = set(options.protocols)
        self.fault_left = options.fault_times
        self.lock = threading.Lock()
        self.tls = None
        if options.cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(options.cert, options.key)

    def take_fault(self):
        with self.lock:
            if not self.options.fault or self.fault_left == 0:
                return None
            if self.fault_left > 0:
                self.fault_left -= 1
            return self.options.fault

    def serve(self, sock: socket.socket, peer):
        fault = self.take_fault()
        if fault == "hang":
            self.log("debug", f"fault hang: holding the connection from {peer[0]} without answering")
            time.sleep(self.options.hang_seconds)
            return
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                self.log("warning", f"Unable to establish TLS connection: {exc}")
                return
        stream = sock.makefile("rb")
        try:
            self.handshake(sock, stream, fault)
        except ClientGone:
            self.log("debug", "Client closed the connection")
        except BadInstruction as exc:
            self.log("error", f"Error reading \"select\": {exc}")
        except OSError as exc:
            self.log("debug", f"Connection error: {exc}")
        finally:
            stream.close()

    def handshake(self, sock, stream, fault):
        # guacd waits GUACD_TIMEOUT (15 s) for each instruction of the handshake, `select` included, then closes.
        sock.settimeout(self.options.handshake_timeout)
        try:
            select = read_instruction(stream)
        except TimeoutError:
            self.log("debug", "Error reading \"select\": Timed out")
            return
        if select[0] != "select":
            self.log("debug", "Error reading \"select\": Instruction read did not have expected opcode")
            return
        if len(select) != 2:
            self.log("error", f"Bad number of arguments to \"select\" ({len(select) - 1})")
            return
        protocol = select[1]
        if fault == "close":
            self.log("debug", "fault close: closing the connection after \"select\"")
            return
        if fault == "garbage":
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            return
        if fault == "error":
            sock.sendall(encode("error", "Server busy: too many connections (emulator fault)",
                                str(STATUS_SERVER_BUSY)))
            return
        if protocol.startswith("$"):
            # The emulator keeps no connection to join: every id is missing.
            self.log("info", f"Connection \"{protocol}\" does not exist")
            sock.sendall(encode("error", "No such connection.", str(STATUS_RESOURCE_NOT_FOUND)))
            return
        if protocol not in self.protocols:
            self.log("warning", f"Support for protocol \"{protocol}\" is not installed")
            if self.options.unknown_protocol == "error":
                sock.sendall(encode("error", f"Support for protocol \"{protocol}\" is not installed",
                                    str(STATUS_UNSUPPORTED)))
                return
            if self.options.unknown_protocol == "close":
                return
            # guacd 1.6 has already handed the connection to a new process, which exits; nothing answers, and
            # guacd's relay closes the socket only once the client sends something more.
            self.hold_until_the_client_sends(sock)
            return
        self.log("info", f"Creating new client for protocol \"{protocol}\"")
        sock.sendall(encode("args", self.options.protocol_version, *PROTOCOL_ARGS[protocol]))
        self.after_args(sock, stream, protocol)

    def after_args(self, sock, stream, protocol):
        """Read the rest of the handshake (size, audio, ..., connect), each instruction within the handshake
        timeout; `connect` gets `ready` and, when it carries a value for every name of `args`, an `error` and
        `disconnect`: no desktop here."""
        try:
            while True:
                instruction = read_instruction(stream)
                if instruction[0] == "connect":
                    break
                if instruction[0] not in HANDSHAKE_OPCODES:
                    self.log("debug", f"Handler not found for \"{instruction[0]}\"")
        except TimeoutError:
            # The session is given up; guacd's relay closes the socket once the client sends something more.
            self.log("error", "Handshake failed, \"connect\" instruction was not received.")
            self.hold_until_the_client_sends(sock)
            return
        connection_id = f"${uuid.uuid4()}"
        self.log("info", f"Connection ID is \"{connection_id}\"")
        sock.sendall(encode("ready", connection_id))
        if len(instruction) != len(PROTOCOL_ARGS[protocol]) + 2:
            # The user is not joined and nothing more is sent; guacd leaves the socket open.
            self.log("error", "Client did not return the expected number of arguments.")
            self.hold_until_the_client_sends(sock, until_closed=True)
            return
        sock.sendall(encode("error", "guacd-emulator makes no remote desktop connections",
                            str(STATUS_UPSTREAM_NOT_FOUND)) + encode("disconnect"))

    def hold_until_the_client_sends(self, sock, until_closed=False):
        """Send nothing and keep the connection open until the client sends something (or, with until_closed,
        until it closes the connection)."""
        sock.settimeout(None)
        with contextlib.suppress(OSError):
            while sock.recv(4096) and until_closed:
                pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, family, emulator):
        self.address_family = family
        self.emulator = emulator
        super().__init__(address, Handler)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.emulator.serve(self.request, self.client_address)


def read_config(path: str) -> dict:
    """guacd.conf as {section: {key: value}}; unknown sections or keys are errors, as in guacd."""
    if not path or not os.path.exists(path):
        return {}
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",), comment_prefixes=("#",),
                                       inline_comment_prefixes=("#",))
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except configparser.Error as exc:
        raise SystemExit(f"Error parsing \"{path}\": {exc}") from None
    config = {}
    for section in parser.sections():
        if section not in CONFIG_KEYS:
            raise SystemExit(f"Invalid section: \"{section}\" in {path}")
        for key, value in parser.items(section):
            if key not in CONFIG_KEYS[section]:
                raise SystemExit(f"Parameter \"{key}\" is not valid for section \"{section}\" in {path}")
            config.setdefault(section, {})[key] = value.strip()
    return config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="guacd", description=__doc__.splitlines()[0])
    parser.add_argument("-b", "--host", dest="host", help="bind host (guacd -b)")
    parser.add_argument("-l", "--port", dest="port", type=int, help="bind port (guacd -l)")
    parser.add_argument("-L", dest="log_level", choices=LOG_LEVELS, help="log level (guacd -L)")
    parser.add_argument("-f", dest="foreground", action="store_true",
                        help="foreground (accepted for guacd compatibility; the emulator never forks)")
    parser.add_argument("-p", dest="pid_file", help="write the PID to this file (guacd -p)")
    parser.add_argument("-C", "--tls-cert", dest="cert", help="TLS certificate, PEM (guacd -C)")
    parser.add_argument("-K", "--tls-key", dest="key", help="TLS private key, PEM (guacd -K)")
    parser.add_argument("-v", dest="show_version", action="store_true", help="print the version and exit")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"guacd.conf to read (default {DEFAULT_CONFIG})")
    parser.add_argument("--protocols", default=",".join(PROTOCOL_ARGS),
                        help="protocols to answer for, comma-separated (as if guacd were built with only those)")
    parser.add_argument("--protocol-version", default=PROTOCOL_VERSION)
    parser.add_argument("--unknown-protocol", choices=["hold", "close", "error"], default="hold",
                        help="what to do on `select` of a protocol not served: send nothing and keep the "
                             "connection open, as guacd 1.6 does; close it; or send an `error` instruction")
    parser.add_argument("--fault", choices=["hang", "close", "garbage", "error"])
    parser.add_argument("--fault-times", type=int, default=-1, help="only the first N connections (default all)")
    parser.add_argument("--hang-seconds", type=float, default=300)
    parser.add_argument("--handshake-timeout", type=float, default=15)
    options = parser.parse_args(argv)
    options.protocols = [p for p in options.protocols.split(",") if p]
    unknown = sorted(set(options.protocols) - set(PROTOCOL_ARGS))
    if unknown:
        parser.error(f"--protocols: unknown {', '.join(unknown)}; known: {', '.join(PROTOCOL_ARGS)}")
    return options


def merge_config(options):
    """Flags win over guacd.conf, guacd.conf over guacd's defaults (localhost:4822, info)."""
    config = read_config(options.config)
    server, daemon, tls = config.get("server", {}), config.get("daemon", {}), config.get("ssl", {})
    options.host = options.host or server.get("bind_host") or "localhost"
    options.port = options.port if options.port is not None else int(server.get("bind_port") or 4822)
    options.log_level = options.log_level or daemon.get("log_level") or "info"
    if options.log_level not in LOG_LEVELS:
        raise SystemExit(f"Invalid log level: \"{options.log_level}\"")
    options.pid_file = options.pid_file or daemon.get("pid_file")
    options.cert = options.cert or tls.get("server_certificate")
    options.key = options.key or tls.get("server_key")
    if bool(options.cert) != bool(options.key):
        raise SystemExit("TLS needs both a certificate (-C, server_certificate) and a key (-K, server_key)")
    return options


def bind(options, emulator):
    infos = socket.getaddrinfo(options.host, options.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    last_error = None
    for family, _type, _proto, _name, address in infos:
        try:
            return Server(address[:2], family, emulator)
        except OSError as exc:
            last_error = exc
    raise SystemExit(f"Unable to bind socket to host {options.host}, port {options.port}: {last_error}")


def main(argv=None):
    options = parse_args(argv)
    if options.show_version:
        print(f"Guacamole proxy daemon (guacd) version {EMULATOR_VERSION} (guacd-emulator)")
        return 0
    options = merge_config(options)
    log = Log(options.log_level)
    try:
        emulator = Emulator(options, log)
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(f"Unable to load TLS certificate or key: {exc}") from None
    server = bind(options, emulator)
    host, port = server.server_address[:2]
    if options.pid_file:
        with open(options.pid_file, "w", encoding="ascii") as handle:
            handle.write(f"{os.getpid()}\n")

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("info", f"Listening on host {host}, port {port}")
    if options.cert:
        log("info", "Communication will require SSL/TLS.")
    log("info", f"Guacamole proxy daemon (guacd) version {EMULATOR_VERSION} started")
    print(f"guacd-emulator listening on {host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if options.pid_file:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(options.pid_file)
        log("info", "Exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())

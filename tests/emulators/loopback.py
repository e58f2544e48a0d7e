"""What the project's own HTTP emulators (Guacamole, rustguac) share: a threaded HTTP(S) server on loopback
that hands each request to its emulator, started and stopped in a thread, and run until a signal from a CLI."""

from __future__ import annotations

import signal
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    """Every method goes to _handle(), which subclasses write; the request body is read_body()."""

    protocol_version = "HTTP/1.1"
    sys_version = ""
    timeout = 60  # idle keep-alive connections are closed eventually
    # The handler writes the headers and the body in separate sends; with Nagle's algorithm and the client's
    # delayed ACK, a kept-alive connection then waited about 40 ms per response, a delay no real server adds.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _handle(self) -> None:
        raise NotImplementedError

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: Any) -> None:
        super().__init__(address, handler)
        self.emulator = emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # client hang-ups and failed TLS handshakes are not worth a traceback


class LoopbackEmulator:
    """start()/stop()/with for an emulator with host, port, certfile and keyfile attributes; subclasses set
    handler_class (their BaseHTTPRequestHandler) and thread_name."""

    handler_class: type[BaseHTTPRequestHandler]
    thread_name = "emulator"
    host: str
    port: int
    certfile: str | None
    keyfile: str | None
    _server: EmulatorHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self):
        server = EmulatorHTTPServer((self.host, self.port), self.handler_class, self)
        if self.certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certfile, self.keyfile)
            # The handshake then happens in the request thread, not in accept().
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name=self.thread_name,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        scheme = "https" if self.certfile else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def serve_until_signalled(emulator: LoopbackEmulator, name: str) -> int:
    """Start the emulator, print '<name> listening on <url>' (what scripts wait for), serve until SIGTERM/SIGINT."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_unused: stopping.set())
    emulator.start()
    print(f"{name} listening on {emulator.url}", flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0

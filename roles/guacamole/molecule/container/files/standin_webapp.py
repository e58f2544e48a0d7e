"""Stand-in for the guacamole/guacamole image's web app: serves a marker page at /<WEBAPP_CONTEXT>/ on port 8080.

Reads WEBAPP_CONTEXT from the environment like the real image (default: guacamole) and answers /status with the
names (never the values) of the variables the image would turn into guacamole.properties keys, so that a test can
see that the role's environment file reached the container.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTEXT = os.environ.get("WEBAPP_CONTEXT", "guacamole")
PAGE = (b"<!DOCTYPE html>\n<html><head><title>Guacamole stand-in</title></head>\n"
        b"<body><p>proxgate-guacamole-standin</p></body></html>\n")
PREFIXES = ("GUACD_", "POSTGRESQL_", "MYSQL_", "TOTP_", "OPENID_", "WEBAPP_", "API_")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the name BaseHTTPRequestHandler calls
        path = self.path.split("?", 1)[0]
        if path == f"/{CONTEXT}":
            self.answer(302, b"", {"Location": f"/{CONTEXT}/"})
        elif path in (f"/{CONTEXT}/", f"/{CONTEXT}/index.html"):
            self.answer(200, PAGE, {"Content-Type": "text/html"})
        elif path == "/status":
            names = sorted(name for name in os.environ if name.startswith(PREFIXES))
            self.answer(200, json.dumps({"context": CONTEXT, "env": names}).encode(),
                        {"Content-Type": "application/json"})
        else:
            self.answer(404, b"not found\n", {"Content-Type": "text/plain"})

    def answer(self, status, body, headers):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    # PID 1 in the container: without a handler SIGTERM would be ignored and `podman stop` would wait.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("0.0.0.0", 8080), Handler)
    print(f"guacamole stand-in serving /{CONTEXT}/ on :8080", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

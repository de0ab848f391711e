"""A small app for the process runtime: prints lines (the console log under test) and serves
``/health`` and ``/say?text=…`` (which prints ``said: …``) on ``$PORT``."""

from __future__ import annotations

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MARKER = "talking-app: hello from the app"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/say":
            text = parse_qs(url.query).get("text", [""])[0]
            print(f"said: {text}", flush=True)
        elif url.path != "/health":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    print(MARKER, flush=True)
    print("talking-app: to stderr too", file=sys.stderr, flush=True)
    ThreadingHTTPServer(
        (os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), Handler
    ).serve_forever()


if __name__ == "__main__":
    main()

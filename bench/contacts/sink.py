"""A webhook receiver for the benchmark: accepts every delivery (204) and keeps nothing, so the dispatcher
delivers the bench's events the way it does to a healthy subscriber.

    python -m bench.contacts.sink PORT
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Accept(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would allow

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # the bench's health check
        self.do_POST()

    def log_message(self, *_args: object) -> None:
        pass


def main() -> None:
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _Accept).serve_forever()


if __name__ == "__main__":
    main()

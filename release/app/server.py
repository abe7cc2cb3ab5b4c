"""Sample release of the web tier: answers its health path, nothing more.

Standard library only, so a host needs nothing but python3 to run it.
"""

from __future__ import annotations

import argparse
import json
import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HEALTH_PATH = "/health"
VERSION = Path(__file__).with_name("VERSION").read_text(encoding="utf-8").strip()

log = logging.getLogger("web")


class Handler(BaseHTTPRequestHandler):
    """GET /health is 200 with the release version; every other path is 404."""

    server_version = "web"
    sys_version = ""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == HEALTH_PATH:
            self._reply(HTTPStatus.OK, {"status": "ok", "version": VERSION})
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"status": "not found"})

    def _reply(self, status: HTTPStatus, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:
        log.info("%s %s", self.address_string(), format % args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    log.info("release %s listening on %s:%d", VERSION, args.host, args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""The TV page's HTTP server: the standard library's threaded server, read-only (GET and HEAD;
anything else is 405), the page and the last snapshot and nothing else. The page loads nothing
from elsewhere, and its Content-Security-Policy forbids it to, so it works offline."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files

from sheets_kpi.tv.snapshot import Snapshot

log = logging.getLogger(__name__)

#: The default address: this machine only. A TV elsewhere on the LAN needs --host 0.0.0.0.
LOOPBACK = "127.0.0.1"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
    ),
}


def page() -> bytes:
    return files("sheets_kpi.tv").joinpath("page.html").read_bytes()


class TvServer:
    """Serves `/` (the page), `/api/version` (`{"version": …}`, polled by the page) and
    `/api/data` (the snapshot, its version as the ETag); `read` gives the current snapshot,
    None before the first cycle, when `/api/data` answers 503 with `waiting` (in the locale)."""

    def __init__(
        self,
        read: Callable[[], Snapshot | None],
        waiting: str,
        host: str = LOOPBACK,
        port: int = 8080,
    ) -> None:
        self._read = read
        self._waiting = json.dumps({"error": waiting}, ensure_ascii=False).encode()
        self._page = page()
        self._http = ThreadingHTTPServer((host, port), self._handler())
        self._http.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}/"

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def start(self) -> TvServer:
        """In a background thread (`serve --tv`, tests)."""
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()  # waits for serve_forever to return: no timed wait
        self._http.server_close()

    def _answer(self, path: str) -> tuple[HTTPStatus, str, bytes, dict[str, str]]:
        route = path.split("?", 1)[0]
        if route in ("/", "/index.html"):
            return HTTPStatus.OK, "text/html; charset=utf-8", self._page, {}
        if route not in ("/api/version", "/api/data"):
            return HTTPStatus.NOT_FOUND, "application/json", b'{"error": "not found"}', {}
        snapshot = self._read()
        if route == "/api/version":
            body = json.dumps({"version": snapshot.version if snapshot else None}).encode()
            return HTTPStatus.OK, "application/json", body, {}
        if snapshot is None:
            return HTTPStatus.SERVICE_UNAVAILABLE, "application/json", self._waiting, {}
        return HTTPStatus.OK, "application/json", snapshot.body, {"ETag": f'"{snapshot.version}"'}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "sheets-kpi-tv"
            sys_version = ""

            def do_GET(self) -> None:
                self._send(head=False)

            def do_HEAD(self) -> None:
                self._send(head=True)

            def _send(self, head: bool) -> None:
                status, kind, body, extra = server._answer(self.path)
                self.send_response(status)
                for name, value in {**HEADERS, **extra, "Content-Type": kind}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _refuse(self) -> None:
                body = b'{"error": "read-only: only GET and HEAD"}'
                self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
                self.send_header("Allow", "GET, HEAD")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def __getattr__(self, name: str) -> Callable[[], None]:
                """Every other method (POST, PUT, DELETE, PROPFIND…) is refused alike."""
                if name.startswith("do_"):
                    return self._refuse
                raise AttributeError(name)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("tv %s - %s", self.address_string(), format % args)

        return Handler

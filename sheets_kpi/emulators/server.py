"""A threaded local HTTP server shared by both emulators, with a request log and a control plane.

An emulator is an `App`: a callable from a parsed `Request` to a `Response`. The server owns the
socket, the request log behind `GET /_emulator/stats` (emptied by `DELETE` on the same path or
`POST /_emulator/stats/reset`; each entry carries the API operation when the app names one, and
`operations` counts them), and starting on port 0 so tests never fight over ports. A body sent
with `Content-Encoding: gzip` (as Google's frontends take it) is inflated before the app sees it;
the log counts the bytes as they came over the wire.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

RESET_STATS = {("DELETE", "/_emulator/stats"), ("POST", "/_emulator/stats/reset")}


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    base_url: str
    #: The body's length as received (compressed, when it came gzipped).
    received: int = 0

    def json(self) -> object:
        return json.loads(self.body or b"null")

    def first(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.query if k == name), default)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop_connection: bool = False
    truncate: bool = False  # announce the whole body, send half of it, close the connection
    delay_seconds: float = 0.0
    drip_seconds: float = 0.0  # send the body one byte at a time, this long apart
    operation: str = ""  # the API method served, e.g. "values.batchGet", for the request log

    @classmethod
    def json(cls, status: int, payload: object, content_type: str = "application/json") -> Response:
        body = json.dumps(payload, ensure_ascii=False).encode()
        return cls(status, body, {"Content-Type": f"{content_type}; charset=UTF-8"})


App = Callable[[Request], Response]


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    operation: str = ""
    #: The request body's length: what a client sent, for the benchmarks' byte counts.
    bytes: int = 0
    #: Its length once inflated: the JSON itself (`bytes` unless it came gzipped).
    inflated: int = 0


class EmulatorServer:
    """Serve `app` on 127.0.0.1 in a background thread; `url` is ready once `start()` returns."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def stats(self) -> dict[str, object]:
        with self._lock:
            entries = [vars(entry).copy() for entry in self.log]
        operations: dict[str, int] = {}
        for entry in entries:
            if entry["operation"]:
                operations[entry["operation"]] = operations.get(entry["operation"], 0) + 1
        return {"requests": entries, "count": len(entries), "operations": operations}

    def reset_stats(self) -> None:
        with self._lock:
            self.log.clear()

    def _record(self, request: Request, response: Response) -> None:
        query = "&".join(f"{k}={v}" for k, v in request.query)
        entry = LoggedRequest(
            request.method,
            request.path,
            query,
            response.status,
            response.operation,
            request.received or len(request.body),
            len(request.body),
        )
        with self._lock:
            self.log.append(entry)

    def _dispatch(self, request: Request) -> Response:
        if request.path == "/_emulator/stats" and request.method == "GET":
            return Response.json(200, self.stats())
        if (request.method, request.path) in RESET_STATS:
            self.reset_stats()
            return Response(204)
        response = self.app(request)
        self._record(request, response)
        return response

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

            def log_message(self, format: str, *args: object) -> None:
                """Silence the default stderr access log; the request log replaces it."""

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                received = len(body)
                if self.headers.get("Content-Encoding", "").strip().lower() == "gzip":
                    with contextlib.suppress(OSError, EOFError):  # not gzip: the app rejects it
                        body = gzip.decompress(body)
                host = self.headers.get("Host") or "{}:{}".format(*server._httpd.server_address[:2])
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qsl(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    base_url=f"http://{host}",
                    received=received,
                )
                response = server._dispatch(request)
                if response.delay_seconds:
                    time.sleep(response.delay_seconds)
                if response.drop_connection:
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if response.truncate:
                    self.wfile.write(response.body[: len(response.body) // 2])
                    self.close_connection = True
                elif response.drip_seconds and self.command != "HEAD":
                    self._drip(response)
                elif response.body and self.command != "HEAD":
                    self.wfile.write(response.body)

            def _drip(self, response: Response) -> None:
                """A slow-drip server: every socket read gets a byte, the answer takes ages."""
                self.close_connection = True
                try:
                    for index in range(len(response.body)):
                        self.wfile.write(response.body[index : index + 1])
                        self.wfile.flush()
                        time.sleep(response.drip_seconds)
                except OSError:  # the client gave up and closed the connection
                    return

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        return Handler

"""The Sheets emulator as an App: URL table, auth, per-minute quotas, latency, control plane.

Every served request is logged by the shared server with its operation name
(`spreadsheets.batchUpdate`, `values.batchGet`…), so tests can count API calls by kind.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from sheets_kpi.emulators.server import Request, Response
from sheets_kpi.emulators.sheets.drive import XLSX
from sheets_kpi.emulators.sheets.errors import (
    ApiError,
    internal_error,
    invalid,
    not_found,
    quota_exceeded,
    service_disabled,
    unauthenticated,
)
from sheets_kpi.emulators.sheets.handlers import Handlers, body_of, error_response, json_response
from sheets_kpi.emulators.sheets.state import SheetsState
from sheets_kpi.emulators.sheets.xlsx import export_bytes

log = logging.getLogger(__name__)
_BOOK = r"/v4/spreadsheets/(?P<id>[^/:]+)"
_FILE = r"/drive/v3/files/(?P<id>[^/]+)"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    quota: str | None  # "read", "write" or None (Drive is not under the Sheets quotas)
    handler: str  # a Handlers method name


def _route(method: str, path: str, operation: str, quota: str | None, handler: str) -> Route:
    return Route(method, re.compile(f"^{path}$"), operation, quota, handler)


ROUTES = (
    _route("POST", "/v4/spreadsheets", "spreadsheets.create", "write", "spreadsheets_create"),
    _route("GET", _BOOK, "spreadsheets.get", "read", "spreadsheets_get"),
    _route("POST", _BOOK + ":batchUpdate", "spreadsheets.batchUpdate", "write", "batch_update"),
    _route("GET", _BOOK + "/values:batchGet", "values.batchGet", "read", "values_batch_get"),
    _route(
        "POST", _BOOK + "/values:batchUpdate", "values.batchUpdate", "write", "values_batch_update"
    ),
    _route(
        "POST", _BOOK + "/values:batchClear", "values.batchClear", "write", "values_batch_clear"
    ),
    _route(
        "POST", _BOOK + "/values/(?P<range>.+):append", "values.append", "write", "values_append"
    ),
    _route("POST", _BOOK + "/values/(?P<range>.+):clear", "values.clear", "write", "values_clear"),
    _route("GET", _BOOK + "/values/(?P<range>.+)", "values.get", "read", "values_get"),
    _route("PUT", _BOOK + "/values/(?P<range>.+)", "values.update", "write", "values_update"),
    _route(
        "POST", _BOOK + r"/sheets/(?P<sheet>\d+):copyTo", "sheets.copyTo", "write", "sheets_copy_to"
    ),
    _route("POST", "/drive/v3/files", "drive.files.create", None, "drive_create"),
    _route("GET", "/drive/v3/files", "drive.files.list", None, "drive_list"),
    _route("GET", _FILE, "drive.files.get", None, "drive_get"),
    _route("DELETE", _FILE, "drive.files.delete", None, "drive_delete"),
    _route("POST", _FILE + "/copy", "drive.files.copy", None, "drive_copy"),
    _route("POST", _FILE + "/permissions", "drive.permissions.create", None, "drive_permission"),
    _route("GET", _FILE + "/export", "drive.files.export", None, "drive_export"),
    _route("GET", _FILE + "/comments", "drive.comments.list", None, "drive_comments"),
    _route(
        "PUT", "/upload/drive/v2/files/(?P<id>[^/]+)", "drive.files.update", None, "drive_upload"
    ),
)


class Quota:
    """Sliding one-minute windows of read and write requests; None = unlimited."""

    def __init__(self, per_minute: int | None = None) -> None:
        self.limits: dict[str, int | None] = {"read": per_minute, "write": per_minute}
        self._calls: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._lock = threading.Lock()

    def set(self, read: int | None, write: int | None) -> None:
        with self._lock:
            self.limits = {"read": read, "write": write}
            self._calls.clear()

    def charge(self, kind: str) -> None:
        """Count one request, or raise the 429 Google sends when the minute's bucket is empty."""
        limit = self.limits[kind]
        if not limit:
            return
        now = time.monotonic()
        with self._lock:
            calls = self._calls[kind]
            while calls and calls[0] <= now - 60:
                calls.popleft()
            if len(calls) >= limit:
                raise quota_exceeded(kind)
            calls.append(now)


@dataclass
class Fault:
    """One planned failure: `kind` is an HTTP status ("429", "500", "503"), "reset", "slow"
    (the answer after `seconds`) or "drip" (its body a byte every `seconds`)."""

    kind: str
    operation: str | None = None
    seconds: float = 1.0


class Faults:
    """Failures for the next matching requests, in order (deterministic, for retry tests)."""

    KINDS = ("429", "500", "503", "reset", "slow", "drip")

    def __init__(self) -> None:
        self.pending: list[Fault] = []
        self._lock = threading.Lock()

    def plan(self, body: dict[str, Any]) -> None:
        """`{"next": ["429", "reset"], "operation": "values.batchUpdate", "slow_seconds": 1}`;
        a "drip" waits `drip_seconds` (1.5 by default) between bytes."""
        kinds = [str(k) for k in body.get("next") or []]
        unknown = sorted(set(kinds) - set(self.KINDS))
        if unknown:
            raise invalid(f"unknown fault {unknown[0]!r}; expected one of {', '.join(self.KINDS)}")
        slow, drip = float(body.get("slow_seconds", 1.0)), float(body.get("drip_seconds", 1.5))
        with self._lock:
            self.pending = [
                Fault(k, body.get("operation"), drip if k == "drip" else slow) for k in kinds
            ]

    def take(self, operation: str) -> Fault | None:
        with self._lock:
            for fault in self.pending:
                if fault.operation in (None, operation):
                    self.pending.remove(fault)
                    return fault
        return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [vars(f).copy() for f in self.pending]


class SheetsApp:
    """Callable Request → Response serving the Sheets v4 + Drive v3 subset and `/_emulator/`."""

    def __init__(
        self,
        state: SheetsState,
        quota_per_minute: int | None = None,
        latency_ms: int = 0,
        require_auth: bool = False,
    ) -> None:
        self.state = state
        self.handlers = Handlers(state)
        self.quota = Quota(quota_per_minute)
        self.faults = Faults()
        self.latency_ms = latency_ms
        self.require_auth = require_auth

    def __call__(self, request: Request) -> Response:
        if request.path.startswith("/_emulator/"):
            return self._control(request)
        route, ids = self._match(request)
        try:
            if route is None:
                raise not_found()
            if self.require_auth and "authorization" not in request.headers:
                raise unauthenticated()
            if not self.state.api_enabled and request.path.startswith("/v4/"):
                raise service_disabled()
            fault = self.faults.take(route.operation)
            if fault and fault.kind in ("429", "500", "503"):
                raise _fault_error(fault.kind, route.quota)
            if route.quota:
                self.quota.charge(route.quota)
            params = {k: v for k, v in request.query}
            response = getattr(self.handlers, route.handler)(request, params, ids)
            if fault and fault.kind == "reset":
                response.drop_connection = True
            if fault and fault.kind == "slow":
                response.delay_seconds = fault.seconds
            if fault and fault.kind == "drip":
                response.drip_seconds = fault.seconds
        except ApiError as err:
            response = error_response(err)
        except Exception:  # a bug in the emulator: answer as Google's backend does, log it
            log.exception("Sheets emulator failed on %s %s", request.method, request.path)
            response = error_response(internal_error())
        response.operation = route.operation if route else ""
        response.delay_seconds += self.latency_ms / 1000
        return response

    def _match(self, request: Request) -> tuple[Route | None, dict[str, Any]]:
        for route in ROUTES:
            if route.method == request.method and (found := route.pattern.match(request.path)):
                return route, found.groupdict()
        return None, {}

    def _control(self, request: Request) -> Response:
        """reset, quota, faults, auth and export under /_emulator/ (docs/emulator-sheets.md)."""
        path, method = request.path, request.method
        if path == "/_emulator/reset" and method == "POST":
            self.state.reset()
            self.quota.set(self.quota.limits["read"], self.quota.limits["write"])
            self.faults.plan({})
            return Response(204)
        if path == "/_emulator/quota":
            if method == "POST":
                body = body_of(request)
                self.quota.set(body.get("read_per_minute"), body.get("write_per_minute"))
            return json_response({"quota": self.quota.limits})
        if path == "/_emulator/faults":
            if method == "POST":
                try:
                    self.faults.plan(body_of(request))
                except ApiError as err:
                    return error_response(err)
            return json_response({"pending": self.faults.describe()})
        if path == "/_emulator/auth" and method == "POST":
            self.require_auth = bool(body_of(request).get("required"))
            return json_response({"required": self.require_auth})
        export = re.fullmatch(r"/_emulator/export/(.+)\.xlsx", path)
        if export and method == "GET":
            try:
                with self.state.lock:
                    data = export_bytes(self.state.get(export[1]))
            except ApiError as err:
                return error_response(err)
            return Response(200, data, {"Content-Type": XLSX})
        return error_response(not_found())


def _fault_error(kind: str, quota: str | None) -> ApiError:
    if kind == "429":
        return quota_exceeded(quota or "read")
    if kind == "503":
        return ApiError(503, "The service is currently unavailable.", "UNAVAILABLE")
    return internal_error()

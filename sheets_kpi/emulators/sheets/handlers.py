"""HTTP ↔ state for the Sheets emulator: the Sheets v4 and Drive v3 routes gspread uses."""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import re
import threading
import time
from typing import Any
from urllib.parse import unquote

from sheets_kpi.emulators.server import Request, Response
from sheets_kpi.emulators.sheets import batch, values
from sheets_kpi.emulators.sheets.state import ApiError, SheetsState, Spreadsheet, invalid
from sheets_kpi.emulators.sheets.xlsx import export_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BOOK = re.compile(r"^/v4/spreadsheets/(?P<id>[^/:]+)(?P<rest>.*)$")


class SheetsApp:
    def __init__(
        self, state: SheetsState, quota_per_minute: int | None = None, latency_ms: int = 0
    ) -> None:
        self.state = state
        self.quota = {"read": quota_per_minute, "write": quota_per_minute}
        self.latency = latency_ms / 1000
        self._calls: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if request.path.startswith("/_emulator/"):
            return self._control(request)
        try:
            if request.path.startswith(("/drive/v3/files", "/upload/drive")):
                response = self._drive(request)
            else:
                self._charge("read" if request.method == "GET" else "write")
                response = self._sheets(request)
        except ApiError as err:
            response = _error(err)
        response.delay_seconds = self.latency
        return response

    def _charge(self, kind: str) -> None:
        limit = self.quota[kind]
        if not limit:
            return
        now = time.monotonic()
        with self._lock:
            calls = self._calls[kind]
            while calls and calls[0] <= now - 60:
                calls.popleft()
            if len(calls) >= limit:
                metric = "Read requests" if kind == "read" else "Write requests"
                key = (
                    "ReadRequestsPerMinutePerUser"
                    if kind == "read"
                    else "WriteRequestsPerMinutePerUser"
                )
                raise ApiError(
                    429,
                    f"Quota exceeded for quota metric '{metric}' and limit "
                    f"'{metric} per minute per user' of service "
                    "'sheets.googleapis.com' for consumer 'project_number:0'.",
                    "RESOURCE_EXHAUSTED",
                    [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "RATE_LIMIT_EXCEEDED",
                            "domain": "googleapis.com",
                            "metadata": {
                                "quota_limit": key,
                                "quota_metric": f"sheets.googleapis.com/{kind}_requests",
                                "service": "sheets.googleapis.com",
                                "consumer": "projects/0",
                            },
                        }
                    ],
                )
            calls.append(now)

    def _sheets(self, request: Request) -> Response:
        match = _BOOK.match(request.path)
        if not match:
            raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
        book_id, rest = unquote(match["id"]), match["rest"]
        with self.state.lock:
            book = self.state.get(book_id)
            if rest == "" and request.method == "GET":
                return _json(_mask(_only_ranges(book, request), request.first("fields")))
            if rest == ":batchUpdate" and request.method == "POST":
                return self._atomic(
                    book, lambda copy_: batch.apply(self.state, copy_, _body(request))
                )
            if rest == "/values:batchGet" and request.method == "GET":
                ranges = [v for k, v in request.query if k == "ranges"]
                major, render = _read_options(request)
                return _json(
                    {
                        "spreadsheetId": book.spreadsheet_id,
                        "valueRanges": [values.get(book, r, major, render) for r in ranges],
                    }
                )
            if rest == "/values:batchUpdate" and request.method == "POST":
                return self._atomic(book, lambda c: values.batch_write(c, _body(request)))
            if rest == "/values:batchClear" and request.method == "POST":
                ranges = _body(request).get("ranges") or []
                return self._atomic(
                    book,
                    lambda c: {
                        "spreadsheetId": book.spreadsheet_id,
                        "clearedRanges": [values.clear(c, r) for r in ranges],
                    },
                )
            if rest.startswith("/values/"):
                return self._range(book, rest[len("/values/") :], request)
        raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")

    def _range(self, book: Spreadsheet, encoded: str, request: Request) -> Response:
        action = ""
        for suffix in (":append", ":clear"):
            if encoded.endswith(suffix):
                encoded, action = encoded[: -len(suffix)], suffix
        text = unquote(encoded)
        option = request.first("valueInputOption")
        if request.method == "GET" and not action:
            major, render = _read_options(request)
            return _json(values.get(book, text, major, render))
        if request.method == "PUT" and not action:
            body = _body(request)
            return self._atomic(
                book,
                lambda c: values.write(
                    c, text, body.get("values"), option or "", body.get("majorDimension")
                ),
            )
        if request.method == "POST" and action == ":append":
            body = _body(request)
            return self._atomic(
                book,
                lambda c: values.append(
                    c,
                    text,
                    body.get("values") or [],
                    option or "",
                    request.first("insertDataOption") or "OVERWRITE",
                ),
            )
        if request.method == "POST" and action == ":clear":
            return self._atomic(
                book,
                lambda c: {
                    "spreadsheetId": book.spreadsheet_id,
                    "clearedRange": values.clear(c, text),
                },
            )
        raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")

    def _atomic(self, book: Spreadsheet, change: Any) -> Response:
        """All or nothing: apply to a copy, keep it only if the whole request succeeded."""
        working = copy.deepcopy(book)
        result = change(working)
        self.state.spreadsheets[book.spreadsheet_id] = working
        self.state.save()
        return _json(result)

    def _drive(self, request: Request) -> Response:
        parts = request.path.removeprefix("/drive/v3/files").strip("/").split("/")
        file_id = unquote(parts[0]) if parts[0] else ""
        with self.state.lock:
            if not file_id and request.method == "POST":
                body = _body(request)
                book = self.state.create_spreadsheet(body.get("name") or "Untitled spreadsheet")
                return _json(
                    {
                        "kind": "drive#file",
                        "id": book.spreadsheet_id,
                        "name": book.properties["title"],
                        "mimeType": "application/vnd.google-apps.spreadsheet",
                    }
                )
            if not file_id and request.method == "GET":
                query = request.first("q") or ""
                name = re.search(r'name\s*=\s*"([^"]*)"', query)
                files = [
                    _file(b)
                    for b in self.state.spreadsheets.values()
                    if not name or b.properties["title"] == name[1]
                ]
                return _json({"kind": "drive#fileList", "incompleteSearch": False, "files": files})
            book = self.state.get(file_id)
            if len(parts) > 1 and parts[1] == "export":
                return Response(200, export_bytes(book), {"Content-Type": XLSX})
            if request.method == "DELETE":
                del self.state.spreadsheets[file_id]
                self.state.save()
                return Response(204)
            if request.method == "GET":
                return _json(_file(book))
        raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")

    def _control(self, request: Request) -> Response:
        if request.path == "/_emulator/reset" and request.method == "POST":
            with self.state.lock:
                self.state.spreadsheets.clear()
                self.state.save()
            return Response(204)
        if request.path == "/_emulator/quota" and request.method == "POST":
            body = _body(request)
            self.quota = {
                "read": body.get("read_per_minute"),
                "write": body.get("write_per_minute"),
            }
            self._calls.clear()
            return _json({"quota": self.quota})
        export = re.fullmatch(r"/_emulator/export/(.+)\.xlsx", request.path)
        if export:
            try:
                book = self.state.get(export[1])
            except ApiError as err:
                return _error(err)
            return Response(200, export_bytes(book), {"Content-Type": XLSX})
        return _error(ApiError(404, "Requested entity was not found.", "NOT_FOUND"))


def _only_ranges(book: Spreadsheet, request: Request) -> dict[str, Any]:
    """With `ranges`, only the sheets those ranges name are returned."""
    payload = book.to_api()
    ranges = [v for k, v in request.query if k == "ranges"]
    if ranges:
        titles = {book.resolve(r)[0].title for r in ranges}
        payload["sheets"] = [s for s in payload["sheets"] if s["properties"]["title"] in titles]
    return payload


def _file(book: Spreadsheet) -> dict[str, Any]:
    def stamp(moment: float) -> str:
        return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    return {
        "id": book.spreadsheet_id,
        "name": book.properties["title"],
        "createdTime": stamp(book.created),
        "modifiedTime": stamp(book.modified),
    }


def _read_options(request: Request) -> tuple[str, str]:
    major = request.first("majorDimension") or "ROWS"
    render = request.first("valueRenderOption") or "FORMATTED_VALUE"
    if render not in values.RENDER_OPTIONS:
        raise invalid(f"Invalid value at 'value_render_option' ({render})")
    return major, render


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise invalid("Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected an object.")
    return body


def _mask(payload: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Apply a `fields` mask to a response (`sheets.properties`, `sheets(properties,…)`)."""
    if not fields:
        return payload
    tree: dict[str, Any] = {}
    for path in batch.mask_paths(fields):
        node = tree
        for part in path:
            node = node.setdefault(part, {})

    def cut(value: Any, node: dict[str, Any]) -> Any:
        if not node or "*" in node:
            return value
        if isinstance(value, list):
            return [cut(item, node) for item in value]
        if isinstance(value, dict):
            return {k: cut(value[k], sub) for k, sub in node.items() if k in value}
        return value

    return cut(payload, tree)


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, indent=2).encode()
    return Response(status, body, {"Content-Type": "application/json; charset=UTF-8"})


def _error(err: ApiError) -> Response:
    error: dict[str, Any] = {"code": err.code, "message": err.message, "status": err.status}
    if err.details:
        error["details"] = err.details
    return _json({"error": error}, err.code)

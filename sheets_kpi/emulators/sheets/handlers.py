"""HTTP ↔ state for the Sheets v4 and Drive v3 methods (routes.py maps URLs to these).

Each handler mirrors one real method: it parses the query and JSON body the way Google does
(percent-decoded range segment, `True`/`true` booleans, JSON null = unset, unknown body members
rejected), runs the change on a copy of the spreadsheet and keeps it only on success.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from sheets_kpi.emulators.server import Request, Response
from sheets_kpi.emulators.sheets import (
    batch,
    batch_cells,
    batch_objects,
    drive,
    metadata,
    pretty,
    schema,
    values,
)
from sheets_kpi.emulators.sheets.errors import ApiError, bad_value, invalid, permission_denied
from sheets_kpi.emulators.sheets.state import SheetsState, Spreadsheet
from sheets_kpi.emulators.sheets.xlsx import export_bytes

#: Importing these registers their batchUpdate request kinds with batch.HANDLERS.
REQUEST_MODULES = (batch_cells, batch_objects)

VALUE_RANGE = frozenset({"range", "majorDimension", "values"})
BATCH_VALUES = frozenset(
    {
        "valueInputOption",
        "data",
        "includeValuesInResponse",
        "responseValueRenderOption",
        "responseDateTimeRenderOption",
    }
)
Params = dict[str, str]


def json_response(payload: Any, status: int = 200) -> Response:
    body = pretty.dumps(payload).encode()
    return Response(status, body, {"Content-Type": "application/json; charset=UTF-8"})


def error_response(err: ApiError) -> Response:
    return json_response(err.body(), err.code)


def body_of(request: Request, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    """The JSON object body; members outside `allowed` are rejected as Google does."""
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise invalid("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected an object.")
    unknown_fields(body, allowed)
    return body


def unknown_fields(body: dict[str, Any], allowed: frozenset[str] | None, at: str = "") -> None:
    if allowed is None:
        return
    for key in body:
        if key not in allowed:
            where = f" at '{at}'" if at else ""
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.'
            )


def flag(params: Params, name: str) -> bool:
    return params.get(name, "").lower() == "true"


def _option(params: Params, name: str, allowed: tuple[str, ...], default: str, enum: str) -> str:
    value = params.get(name) or default
    if value not in allowed:
        snake = "".join("_" + c.lower() if c.isupper() else c for c in name)
        raise bad_value(snake, value, f"google.apps.sheets.v4.{enum}")
    return value


def read_options(params: Params) -> tuple[str, str, str]:
    return (
        _option(params, "majorDimension", values.MAJOR, "ROWS", "Dimension"),
        _option(
            params,
            "valueRenderOption",
            values.RENDER_OPTIONS,
            "FORMATTED_VALUE",
            "ValueRenderOption",
        ),
        _option(
            params,
            "dateTimeRenderOption",
            values.DATE_OPTIONS,
            "SERIAL_NUMBER",
            "DateTimeRenderOption",
        ),
    )


class Handlers:
    """The methods, bound to one SheetsState."""

    def __init__(self, state: SheetsState) -> None:
        self.state = state

    def atomic(self, book_id: str, change: Callable[[Spreadsheet], Any]) -> Any:
        """All or nothing: apply to a working copy, keep it only if the whole request succeeded.

        The copy takes only the sheets the request uses (Spreadsheet.draft), so a small write
        to a big spreadsheet costs what it touches.
        """
        with self.state.lock:
            book = self.state.get(book_id)
            if book.read_only:
                raise permission_denied()
            working = book.draft()
            result = change(working)
            working.settle()
            self.state.spreadsheets[book_id] = working
            self.state.save()
        return result

    def read(self, book_id: str, view: Callable[[Spreadsheet], Any]) -> Any:
        with self.state.lock:
            return view(self.state.get(book_id))

    # Sheets v4 -----------------------------------------------------------------------------

    def spreadsheets_create(self, request: Request, params: Params, ids: Params) -> Response:
        """spreadsheets.create: title (and locale/timeZone) from the body; one Sheet1."""
        body = body_of(request)
        props = body.get("properties") or {}
        book = self.state.create_spreadsheet(
            props.get("title") or "Untitled spreadsheet",
            locale=props.get("locale") or "en_US",
            time_zone=props.get("timeZone") or "Etc/GMT",
        )
        payload = self.read(book.spreadsheet_id, lambda b: metadata.spreadsheet(b, None, False))
        return json_response(metadata.apply_mask(payload, params.get("fields")))

    def spreadsheets_get(self, request: Request, params: Params, ids: Params) -> Response:
        """spreadsheets.get with `ranges`, `includeGridData` and `fields`."""
        ranges = [v for k, v in request.query if k == "ranges"]
        fields = params.get("fields")
        grid = metadata.wants_grid_data(fields, flag(params, "includeGridData"))

        def view(book: Spreadsheet) -> Any:
            targets = [book.resolve(r) for r in ranges] if ranges else None
            return metadata.spreadsheet(book, targets, grid)

        return json_response(metadata.apply_mask(self.read(ids["id"], view), fields))

    def batch_update(self, request: Request, params: Params, ids: Params) -> Response:
        body = schema.validate(body_of(request))
        result = self.atomic(ids["id"], lambda book: batch.apply(self.state, book, body))
        return json_response(metadata.apply_mask(result, params.get("fields")))

    def values_get(self, request: Request, params: Params, ids: Params) -> Response:
        major, render, dates = read_options(params)
        text = unquote(ids["range"])
        result = self.read(ids["id"], lambda b: values.get(b, text, major, render, dates))
        return json_response(metadata.apply_mask(result, params.get("fields")))

    def values_batch_get(self, request: Request, params: Params, ids: Params) -> Response:
        major, render, dates = read_options(params)
        ranges = [v for k, v in request.query if k == "ranges"]

        def view(book: Spreadsheet) -> Any:
            found = [values.get(book, r, major, render, dates) for r in ranges]
            out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
            if found:
                out["valueRanges"] = found
            return out

        return json_response(metadata.apply_mask(self.read(ids["id"], view), params.get("fields")))

    def values_update(self, request: Request, params: Params, ids: Params) -> Response:
        body = body_of(request, VALUE_RANGE)
        text = unquote(ids["range"])
        include = _include(params)

        def change(book: Spreadsheet) -> Any:
            return values.write(
                book,
                text,
                body.get("values"),
                params.get("valueInputOption"),
                body.get("majorDimension"),
                include=include,
            )

        return json_response(self.atomic(ids["id"], change))

    def values_batch_update(self, request: Request, params: Params, ids: Params) -> Response:
        body = body_of(request, BATCH_VALUES)
        for index, item in enumerate(body.get("data") or []):
            if not isinstance(item, dict):
                raise bad_value(f"data[{index}]", item, "google.apps.sheets.v4.ValueRange")
            unknown_fields(item, VALUE_RANGE, f"data[{index}]")
        return json_response(self.atomic(ids["id"], lambda b: values.batch_write(b, body)))

    def values_append(self, request: Request, params: Params, ids: Params) -> Response:
        body = body_of(request, VALUE_RANGE)
        text = unquote(ids["range"])

        def change(book: Spreadsheet) -> Any:
            return values.append(
                book,
                text,
                body.get("values"),
                params.get("valueInputOption"),
                params.get("insertDataOption"),
                body.get("majorDimension"),
                _include(params),
            )

        return json_response(self.atomic(ids["id"], change))

    def values_clear(self, request: Request, params: Params, ids: Params) -> Response:
        text = unquote(ids["range"])

        def change(book: Spreadsheet) -> Any:
            return {"spreadsheetId": book.spreadsheet_id, "clearedRange": values.clear(book, text)}

        return json_response(self.atomic(ids["id"], change))

    def values_batch_clear(self, request: Request, params: Params, ids: Params) -> Response:
        ranges = body_of(request, frozenset({"ranges"})).get("ranges") or []

        def change(book: Spreadsheet) -> Any:
            cleared = [values.clear(book, r) for r in ranges]
            out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
            if cleared:
                out["clearedRanges"] = cleared
            return out

        return json_response(self.atomic(ids["id"], change))

    def sheets_copy_to(self, request: Request, params: Params, ids: Params) -> Response:
        """spreadsheets.sheets.copyTo: the sheet lands last in the destination as "Copy of …"."""
        body = body_of(request, frozenset({"destinationSpreadsheetId"}))
        with self.state.lock:
            source = self.state.get(ids["id"])
            sheet = source.sheet_by_id(int(ids["sheet"]), "sheetId")
            snapshot = copy.deepcopy(sheet)

        def change(book: Spreadsheet) -> Any:
            title = f"Copy of {snapshot.title}"
            number = 2
            while book.sheet_by_title(title):
                title, number = f"Copy {number} of {snapshot.title}", number + 1
            snapshot.properties.update(
                sheetId=self.state.new_id(), title=title, index=len(book.sheets)
            )
            snapshot.extras.pop("protectedRanges", None)
            book.sheets.append(snapshot)
            return metadata.sheet_properties(snapshot)

        destination = body.get("destinationSpreadsheetId") or ""
        return json_response(self.atomic(destination, change))

    # Drive v3 ------------------------------------------------------------------------------

    def drive_create(self, request: Request, params: Params, ids: Params) -> Response:
        with self.state.lock:
            book = drive.create(self.state, body_of(request), flag(params, "supportsAllDrives"))
            self.state.save()
            payload = drive.resource(book)
        return json_response(drive.select(payload, params.get("fields"), drive.DEFAULT_FILE))

    def drive_list(self, request: Request, params: Params, ids: Params) -> Response:
        size = int(params.get("pageSize") or 100)
        with self.state.lock:
            payload = drive.listing(
                self.state, params.get("q") or "", size, params.get("pageToken")
            )
        fields = params.get("fields")
        if not fields:
            files = [drive.select(f, None, drive.DEFAULT_FILE) for f in payload["files"]]
            return json_response({**payload, "files": files})
        return json_response(drive.select(payload, fields, ()))

    def _file(self, file_id: str) -> Spreadsheet:
        book = self.state.spreadsheets.get(file_id)
        if book is None or not book.shared:
            raise drive.file_not_found(file_id)
        return book

    def drive_get(self, request: Request, params: Params, ids: Params) -> Response:
        with self.state.lock:
            payload = drive.resource(self._file(ids["id"]))
        return json_response(drive.select(payload, params.get("fields"), drive.DEFAULT_FILE))

    def drive_delete(self, request: Request, params: Params, ids: Params) -> Response:
        with self.state.lock:
            self._file(ids["id"])
            del self.state.spreadsheets[ids["id"]]
            self.state.save()
        return Response(204)

    def drive_copy(self, request: Request, params: Params, ids: Params) -> Response:
        body = body_of(request)
        with self.state.lock:
            twin = drive.copy_file(self.state, self._file(ids["id"]), body)
            self.state.save()
            payload = drive.resource(twin)
        return json_response(drive.select(payload, params.get("fields"), drive.DEFAULT_FILE))

    def drive_permission(self, request: Request, params: Params, ids: Params) -> Response:
        body = body_of(request)
        with self.state.lock:
            book = self._file(ids["id"])
            in_shared_drive = any(self.state.folders.get(p) for p in book.parents)
            if in_shared_drive and not flag(params, "supportsAllDrives"):
                raise drive.file_not_found(ids["id"])  # unseen without supportsAllDrives
            permission = drive.add_permission(self.state, book, body)
            self.state.save()
        return json_response(
            drive.select(permission, params.get("fields"), drive.DEFAULT_PERMISSION)
        )

    def drive_export(self, request: Request, params: Params, ids: Params) -> Response:
        """files.export: text/csv (first sheet) or .xlsx; other formats are not emulated."""
        mime = params.get("mimeType") or ""
        with self.state.lock:
            book = self._file(ids["id"])
            if mime == drive.CSV:
                return Response(200, drive.export_csv(book), {"Content-Type": "text/csv"})
            if mime == drive.XLSX:
                return Response(200, export_bytes(book), {"Content-Type": drive.XLSX})
        raise invalid(f"The requested conversion is not supported: {mime}")

    def drive_comments(self, request: Request, params: Params, ids: Params) -> Response:
        """comments.list: spreadsheets made through the API have none."""
        with self.state.lock:
            self._file(ids["id"])
        return json_response({"comments": []})

    def drive_upload(self, request: Request, params: Params, ids: Params) -> Response:
        """Drive v2 media upload with convert=True: what gspread's import_csv sends."""
        result = self.atomic(ids["id"], lambda book: drive.import_csv(book, request.body))
        return json_response(result)


def _include(params: Params) -> dict[str, Any] | None:
    if not flag(params, "includeValuesInResponse"):
        return None
    return {
        "responseValueRenderOption": params.get("responseValueRenderOption"),
        "responseDateTimeRenderOption": params.get("responseDateTimeRenderOption"),
    }

"""spreadsheets.batchUpdate: requests applied in order, replies mirror requests (§3.8).

The handler runs `apply` on a copy of the spreadsheet and keeps it only if every request
succeeds, so a batch is all-or-nothing. Sheet and dimension requests live here; cell requests
in batch_cells.py, protected ranges, rules, charts and the like in batch_objects.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sheets_kpi.emulators.sheets import cells, formats, grid, metadata
from sheets_kpi.emulators.sheets.errors import ApiError, invalid
from sheets_kpi.emulators.sheets.state import (
    DEFAULT_COLS,
    DEFAULT_ROWS,
    Sheet,
    SheetsState,
    Spreadsheet,
    bounds,
)

MAX_CELLS = 10_000_000
#: Approximate Arial 10 advance and padding, calibrated on the recorded autoResize (1024 × "A").
CHAR_PIXELS, PADDING_PIXELS = 8.48, 7
Reply = dict[str, Any] | None


@dataclass
class Ctx:
    """One request being applied: where it is (for error texts) and what it acts on."""

    state: SheetsState
    book: Spreadsheet
    where: str

    def fail(self, reason: str) -> ApiError:
        return invalid(f"Invalid {self.where}: {reason}")

    def sheet(self, sheet_id: Any) -> Sheet:
        return self.book.sheet_by_id(sheet_id or 0, self.where)

    def rect(self, grid_range: dict[str, Any]) -> tuple[Sheet, int, int, int, int]:
        """A GridRange checked against its sheet's grid."""
        sheet = self.sheet(grid_range.get("sheetId"))
        r0, c0, r1, c1 = bounds(sheet, grid_range)
        if r0 > r1 or c0 > c1:
            raise self.fail("The range's start must be before its end.")
        if r1 > sheet.row_count:
            raise self.fail(
                f"GridCoordinate.rowIndex[{r1 - 1}] is after last row in grid[{sheet.sheet_id}]"
            )
        if c1 > sheet.column_count:
            raise self.fail(
                f"GridCoordinate.columnIndex[{c1 - 1}] is after last column "
                f"in grid[{sheet.sheet_id}]"
            )
        return sheet, r0, c0, r1, c1

    def span(self, dimension_range: dict[str, Any]) -> tuple[Sheet, int, int, int]:
        """A DimensionRange → (sheet, axis 0 rows / 1 columns, start, end)."""
        sheet = self.sheet(dimension_range.get("sheetId"))
        axis = 0 if dimension_range.get("dimension") == "ROWS" else 1
        if dimension_range.get("dimension") not in ("ROWS", "COLUMNS"):
            raise self.fail("dimension must be ROWS or COLUMNS")
        size = sheet.row_count if axis == 0 else sheet.column_count
        start = dimension_range.get("startIndex") or 0
        end = size if dimension_range.get("endIndex") is None else dimension_range["endIndex"]
        if not 0 <= start < end or end > size:
            raise self.fail(f"Invalid dimension range: [{start}, {end}) on a grid of {size}")
        return sheet, axis, start, end

    def check_cells(self) -> None:
        total = sum(s.row_count * s.column_count for s in self.book.sheets)
        if total > MAX_CELLS:
            raise self.fail(
                "This action would increase the number of cells in the workbook above the "
                f"limit of {MAX_CELLS} cells."
            )


Handler = Callable[[Ctx, dict[str, Any]], Reply]
HANDLERS: dict[str, Handler] = {}


def handles(name: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[name] = function
        return function

    return register


def apply(state: SheetsState, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    """Apply every request in order; the first invalid one fails the whole batch."""
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise invalid("Must specify at least one request.")
    replies = []
    for index, request in enumerate(requests):
        kinds = [k for k, v in (request or {}).items() if v is not None]
        if len(kinds) != 1:
            raise invalid(f"Invalid requests[{index}]: exactly one kind of request must be set.")
        kind = kinds[0]
        handler = HANDLERS.get(kind)
        if handler is None:  # valid for Google (the schema passed) but not emulated
            raise invalid(f"Invalid requests[{index}].{kind}: not supported by the emulator.")
        ctx = Ctx(state, book, f"requests[{index}].{kind}")
        try:
            reply = handler(ctx, request[kind] or {})
        except KeyError as err:
            raise ctx.fail(f"{err.args[0]} is required") from None
        replies.append({kind: reply} if reply is not None else {})
    book.modified = time.time()
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        ranges = [book.resolve(r) for r in body.get("responseRanges") or []]
        out["updatedSpreadsheet"] = metadata.spreadsheet(
            book, ranges or None, bool(body.get("responseIncludeGridData"))
        )
    return out


def _reindex(book: Spreadsheet) -> None:
    for index, sheet in enumerate(book.sheets):
        sheet.properties["index"] = index


def _check_title(ctx: Ctx, title: str, sheet: Sheet | None = None) -> None:
    other = ctx.book.sheet_by_title(title)
    if other is not None and other is not sheet and other.title.lower() == title.lower():
        raise ctx.fail(
            f'A sheet with the name "{title}" already exists. Please enter another name.'
        )


@handles("addSheet")
def add_sheet(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    props = {k: v for k, v in (payload.get("properties") or {}).items() if v is not None}
    book = ctx.book
    number = len(book.sheets) + 1
    while book.sheet_by_title(f"Sheet{number}"):
        number += 1
    title = props.get("title") or f"Sheet{number}"
    _check_title(ctx, title)
    sheet_id = props.get("sheetId")
    if sheet_id is None:
        sheet_id = ctx.state.new_id()
    if any(s.sheet_id == sheet_id for s in book.sheets):
        raise ctx.fail(f"A sheet with the id {sheet_id} already exists.")
    grid_props = {"rowCount": DEFAULT_ROWS, "columnCount": DEFAULT_COLS}
    grid_props.update(props.get("gridProperties") or {})
    index = min(props.get("index", len(book.sheets)), len(book.sheets))
    properties = {
        **props,
        "sheetId": sheet_id,
        "title": title,
        "index": index,
        "sheetType": props.get("sheetType", "GRID"),
        "gridProperties": grid_props,
    }
    formats.normalise(properties)
    sheet = Sheet(properties)
    book.sheets.insert(index, sheet)
    _reindex(book)
    ctx.check_cells()
    return {"properties": metadata.sheet_properties(sheet)}


@handles("deleteSheet")
def delete_sheet(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    sheet_id = payload.get("sheetId") or 0
    sheet = next((s for s in ctx.book.sheets if s.sheet_id == sheet_id), None)
    if sheet is None:
        raise ctx.fail(f"No sheet with id: {sheet_id}")
    if len(ctx.book.sheets) == 1:
        raise ctx.fail("You can't remove all the sheets in a document.")
    ctx.book.sheets.remove(sheet)
    ctx.book.named_ranges = [
        n for n in ctx.book.named_ranges if n["range"].get("sheetId", 0) != sheet_id
    ]
    _reindex(ctx.book)
    return None


@handles("updateSheetProperties")
def update_sheet_properties(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    props = payload.get("properties") or {}
    fields = payload.get("fields") or ""
    if not fields.strip():
        raise ctx.fail("At least one field must be specified.")
    sheet = ctx.sheet(props.get("sheetId"))
    old_index = sheet.properties.get("index", 0)
    old_size = sheet.row_count, sheet.column_count
    updated = {**sheet.properties, "gridProperties": dict(sheet.grid)}
    formats.mask_update(updated, {**props, "sheetId": sheet.sheet_id}, fields)
    updated["sheetId"] = sheet.sheet_id
    updated.setdefault("sheetType", sheet.properties.get("sheetType", "GRID"))
    _check_title(ctx, updated.get("title") or "", sheet)
    if not updated.get("title"):
        raise ctx.fail("The sheet title must not be empty.")
    grid_props = updated.setdefault("gridProperties", {})
    if (grid_props.get("rowCount") or 0) < 1 or (grid_props.get("columnCount") or 0) < 1:
        raise ctx.fail("A sheet must have at least one row and one column.")
    for key, what in (("frozenRowCount", "rows"), ("frozenColumnCount", "columns")):
        size = grid_props["rowCount" if what == "rows" else "columnCount"]
        if (grid_props.get(key) or 0) >= size:
            raise ctx.fail(f"You can't freeze all visible {what} on the sheet.")
    sheet.properties = updated
    if updated.get("hidden") and all(s.properties.get("hidden") for s in ctx.book.sheets):
        raise ctx.fail("You can't hide all the sheets in a document.")
    if fields.strip() == "*" or ["index"] in formats.mask_paths(fields):
        _move(ctx.book, sheet, old_index, updated.get("index") or 0)
    if sheet.row_count < old_size[0] or sheet.column_count < old_size[1]:
        sheet.drop_outside()
    ctx.check_cells()
    return None


def _move(book: Spreadsheet, sheet: Sheet, old: int, new: int) -> None:
    """Index semantics of the API: positions count the sheet itself before it moves."""
    book.sheets.remove(sheet)
    target = new - 1 if new > old else new
    book.sheets.insert(max(0, min(target, len(book.sheets))), sheet)
    _reindex(book)


@handles("updateSpreadsheetProperties")
def update_spreadsheet_properties(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    fields = payload.get("fields") or ""
    if not fields.strip():
        raise ctx.fail("At least one field must be specified.")
    formats.mask_update(ctx.book.properties, payload.get("properties") or {}, fields)
    return None


@handles("appendDimension")
def append_dimension(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    sheet = ctx.sheet(payload.get("sheetId"))
    length = payload.get("length") or 0
    if length < 1:
        raise ctx.fail("length must be greater than 0")
    key = "rowCount" if payload.get("dimension") == "ROWS" else "columnCount"
    sheet.grid[key] += length
    ctx.check_cells()
    return None


@handles("insertDimension")
def insert_dimension(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    dim = payload["range"]
    sheet = ctx.sheet(dim.get("sheetId"))
    axis = 0 if dim.get("dimension") == "ROWS" else 1
    start, end = dim.get("startIndex") or 0, dim.get("endIndex") or 0
    size = sheet.row_count if axis == 0 else sheet.column_count
    if not 0 <= start < end or start > size:
        raise ctx.fail(f"Invalid dimension range: [{start}, {end}) on a grid of {size}")
    before = bool(payload.get("inheritFromBefore"))
    if before and start == 0:
        raise ctx.fail("Cannot inherit properties from before the first row or column.")
    grid.shift(ctx.book, sheet, axis, start, end - start)
    source = start - 1 if before else end
    if source < (sheet.row_count if axis == 0 else sheet.column_count):
        _inherit(sheet, axis, source, start, end)
    ctx.check_cells()
    return None


def _inherit(sheet: Sheet, axis: int, source: int, start: int, end: int) -> None:
    """New rows/columns take the format of their neighbour (inheritFromBefore)."""
    for coord, fmt in list(sheet.formats.items()):
        if coord[axis] == source:
            for index in range(start, end):
                sheet.formats[(index, coord[1]) if axis == 0 else (coord[0], index)] = dict(fmt)


@handles("deleteDimension")
def delete_dimension(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    sheet, axis, start, end = ctx.span(payload["range"])
    if end - start == (sheet.row_count if axis == 0 else sheet.column_count):
        raise ctx.fail(
            f"You can't delete all the {'rows' if axis == 0 else 'columns'} on the sheet."
        )
    grid.shift(ctx.book, sheet, axis, start, start - end)
    return None


@handles("updateDimensionProperties")
def update_dimension_properties(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    fields = payload.get("fields") or ""
    if not fields.strip():
        raise ctx.fail("At least one field must be specified.")
    sheet, axis, start, end = ctx.span(payload["range"])
    store = sheet.rows if axis == 0 else sheet.columns
    for index in range(start, end):
        current = store.get(index, {})
        formats.mask_update(current, payload.get("properties") or {}, fields)
        current = {k: v for k, v in current.items() if v not in (None, False)}
        if current:
            store[index] = current
        else:
            store.pop(index, None)
    return None


@handles("autoResizeDimensions")
def auto_resize_dimensions(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """Columns fit their longest shown text (approximate metrics); rows go back to 21 px."""
    sheet, axis, start, end = ctx.span(payload.get("dimensions") or {})
    if axis == 0:
        for index in range(start, end):
            sheet.rows.setdefault(index, {})["pixelSize"] = metadata.ROW_PIXELS
        return None
    widths: dict[int, int] = {}
    for (row, col), value in sheet.cells.items():
        if start <= col < end:
            shown = cells.render(value, "FORMATTED_VALUE", sheet.number_format((row, col)))
            length = len(str(shown))
            widths[col] = max(widths.get(col, 0), round(length * CHAR_PIXELS) + PADDING_PIXELS)
    for col, width in widths.items():
        sheet.columns.setdefault(col, {})["pixelSize"] = width
    return None

"""spreadsheets.values.*: get, batchGet, update, batchUpdate, append, clear, batchClear."""

from __future__ import annotations

import time
from typing import Any

from sheets_kpi.emulators.sheets import a1, cells
from sheets_kpi.emulators.sheets.state import Sheet, Spreadsheet, invalid

RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
INPUT_OPTIONS = ("RAW", "USER_ENTERED")


def get(
    book: Spreadsheet, text: str, major: str = "ROWS", render: str = "FORMATTED_VALUE"
) -> dict[str, Any]:
    sheet, r0, c0, r1, c1 = book.resolve(text)
    grid = [
        [
            cells.render(sheet.cells[(r, c)], render) if (r, c) in sheet.cells else ""
            for c in range(c0, c1)
        ]
        for r in range(r0, r1)
    ]
    if major == "COLUMNS":
        grid = [list(column) for column in zip(*grid, strict=True)] if grid else []
    grid = [_trim_row(row) for row in grid]
    while grid and not grid[-1]:
        grid.pop()
    out: dict[str, Any] = {
        "range": a1.format_range(sheet.title, r0, c0, r1, c1),
        "majorDimension": major,
    }
    if grid:
        out["values"] = grid
    return out


def _trim_row(row: list[Any]) -> list[Any]:
    while row and row[-1] == "":
        row.pop()
    return row


def write_cells(
    book: Spreadsheet,
    text: str,
    rows: Any,
    option: str,
    major: str | None = None,
    field: str = "values",
) -> tuple[dict[str, Any], set[tuple[str, int, int]]]:
    """Write a ValueRange at the range's top-left; an explicit range must hold the values."""
    if option not in INPUT_OPTIONS:
        raise invalid("'valueInputOption' is required but not specified")
    if not isinstance(rows, list) or any(not isinstance(r, list) for r in rows):
        raise invalid(f"Invalid value at '{field}' (type.googleapis.com/google.protobuf.ListValue)")
    if major == "COLUMNS":
        width = max((len(r) for r in rows), default=0)
        rows = [[col[i] if i < len(col) else None for col in rows] for i in range(width)]
    sheet, r0, c0, r1, c1 = book.resolve(text)
    height, width = len(rows), max((len(r) for r in rows), default=0)
    explicit = ":" in text.rpartition("!")[2]
    if explicit and (r0 + height > r1 or c0 + width > c1):
        raise invalid(
            f"Requested writing within range [{a1.format_range(sheet.title, r0, c0, r1, c1)}]"
            f", but tried writing to row [{r0 + height}]"
        )
    if r0 + height > sheet.rows or c0 + width > sheet.cols:
        raise invalid(
            f"Range ({a1.quote_title(sheet.title)}!{a1.column_letters(c0 + width - 1)}"
            f"{r0 + height}) exceeds grid limits. Max rows: {sheet.rows}, "
            f"max columns: {sheet.cols}"
        )
    convert = cells.user_entered if option == "USER_ENTERED" else cells.raw
    touched: set[tuple[int, int]] = set()
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is None:
                continue
            touched.add((r0 + i, c0 + j))
            if value == "":
                sheet.cells.pop((r0 + i, c0 + j), None)
            else:
                sheet.cells[(r0 + i, c0 + j)] = convert(value)
    book.modified = time.time()
    result: dict[str, Any] = {
        "spreadsheetId": book.spreadsheet_id,
        "updatedRows": len({r for r, _ in touched}),
        "updatedColumns": len({c for _, c in touched}),
        "updatedCells": len(touched),
    }
    if height and width:
        result["updatedRange"] = a1.format_range(sheet.title, r0, c0, r0 + height, c0 + width)
    return result, {(sheet.title, r, c) for r, c in touched}


def write(
    book: Spreadsheet,
    text: str,
    rows: Any,
    option: str,
    major: str | None = None,
    field: str = "values",
) -> dict[str, Any]:
    return write_cells(book, text, rows, option, major, field)[0]


def batch_write(book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    """Counts are of distinct rows, columns and cells touched, as the API reports them."""
    option = body.get("valueInputOption")
    responses, written = [], set()
    for index, item in enumerate(body.get("data") or []):
        try:
            response, cells_written = write_cells(
                book,
                item.get("range", ""),
                item.get("values"),
                option,
                item.get("majorDimension"),
                f"data[{index}].values",
            )
        except Exception as err:
            message = getattr(err, "message", str(err))
            raise invalid(f"Invalid data[{index}]: {message}") from err
        responses.append(response)
        written |= cells_written
    return {
        "spreadsheetId": book.spreadsheet_id,
        "totalUpdatedRows": len({(t, r) for t, r, _ in written}),
        "totalUpdatedColumns": len({(t, c) for t, _, c in written}),
        "totalUpdatedCells": len(written),
        "totalUpdatedSheets": len({t for t, _, _ in written}),
        "responses": responses,
    }


def append(
    book: Spreadsheet, text: str, rows: Any, option: str, insert: str = "OVERWRITE"
) -> dict[str, Any]:
    """Append after the table found at the range; the grid grows as needed."""
    sheet, r0, c0, _, _ = book.resolve(text)
    table_end, table = _table(sheet, r0)
    height = len(rows or [])
    width = max((len(r) for r in rows or []), default=0)
    start = table_end if table else r0
    needed = start + height - sheet.rows
    if needed > 0:
        sheet.properties["gridProperties"]["rowCount"] += needed
    if c0 + width > sheet.cols:
        sheet.properties["gridProperties"]["columnCount"] = c0 + width
    if insert == "INSERT_ROWS":
        _shift_rows(sheet, start, height)
    target = f"{a1.quote_title(sheet.title)}!{a1.column_letters(c0)}{start + 1}"
    updates = write(book, target, rows, option)
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id, "updates": updates}
    if table:
        out["tableRange"] = table
    return out


def _table(sheet: Sheet, r0: int) -> tuple[int, str | None]:
    """The contiguous block of non-empty rows from the first non-empty row at or below r0."""
    used = sorted({r for r, _ in sheet.cells if r >= r0})
    if not used:
        return r0, None
    first = last = used[0]
    for r in used[1:]:
        if r != last + 1:
            break
        last = r
    cols = [c for r, c in sheet.cells if first <= r <= last]
    return last + 1, a1.format_range(sheet.title, first, min(cols), last + 1, max(cols) + 1)


def _shift_rows(sheet: Sheet, start: int, count: int) -> None:
    sheet.cells = {((r + count) if r >= start else r, c): v for (r, c), v in sheet.cells.items()}


def clear(book: Spreadsheet, text: str) -> str:
    sheet, r0, c0, r1, c1 = book.resolve(text)
    for key in [k for k in sheet.cells if r0 <= k[0] < r1 and c0 <= k[1] < c1]:
        del sheet.cells[key]
    book.modified = time.time()
    return a1.format_range(sheet.title, r0, c0, r1, c1)

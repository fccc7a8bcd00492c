"""spreadsheets.values.*: get, batchGet, update, batchUpdate, append, clear, batchClear (§3.6-3.7).

Every function works on a Spreadsheet the handler already copied, so a failure half-way leaves
the stored one untouched.
"""

from __future__ import annotations

import time
from typing import Any

from sheets_kpi.emulators.sheets import a1, cells, grid
from sheets_kpi.emulators.sheets.errors import ApiError, bad_value, invalid
from sheets_kpi.emulators.sheets.state import Coord, Sheet, Spreadsheet, Target, exceeds

RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATE_OPTIONS = ("SERIAL_NUMBER", "FORMATTED_STRING")
INPUT_OPTIONS = ("RAW", "USER_ENTERED")
MAJOR = ("ROWS", "COLUMNS")
INSERT_OPTIONS = ("OVERWRITE", "INSERT_ROWS")
_SCALARS = (str, int, float, bool, type(None))


def get(
    book: Spreadsheet,
    text: str,
    major: str = "ROWS",
    render: str = "FORMATTED_VALUE",
    date_option: str = "SERIAL_NUMBER",
) -> dict[str, Any]:
    """A ValueRange: the whole requested range echoed, values with trailing empties trimmed."""
    return value_range(book.resolve(text), major, render, date_option, book.locale)


def value_range(
    target: Target, major: str, render: str, date_option: str, locale: str
) -> dict[str, Any]:
    sheet = target.sheet
    inside = [
        (r, c)
        for r, c in sheet.cells
        if target.row0 <= r < target.row1 and target.col0 <= c < target.col1
    ]
    height = max((r for r, _ in inside), default=target.row0 - 1) - target.row0 + 1
    width = max((c for _, c in inside), default=target.col0 - 1) - target.col0 + 1
    rows: list[list[Any]] = [[""] * width for _ in range(height)]
    for r, c in inside:
        value, number_format = sheet.cells[(r, c)], sheet.number_format((r, c))
        rows[r - target.row0][c - target.col0] = cells.render(
            value, render, number_format, date_option, locale
        )
    if major == "COLUMNS":
        rows = [list(column) for column in zip(*rows, strict=True)]
    rows = [_trim(row) for row in rows]
    while rows and not rows[-1]:
        rows.pop()
    out: dict[str, Any] = {"range": target.a1, "majorDimension": major}
    if rows:
        out["values"] = rows
    return out


def _trim(row: list[Any]) -> list[Any]:
    while row and row[-1] == "":
        row.pop()
    return row


def check_rows(rows: Any, field: str) -> list[list[Any]]:
    """`values` must be a list of lists of scalars, as the protobuf ListValue demands."""
    if not isinstance(rows, list):
        raise bad_value(field, rows)
    for index, row in enumerate(rows):
        if not isinstance(row, list):
            raise bad_value(f"{field}[{index}]", row)
        for column, item in enumerate(row):
            if not isinstance(item, _SCALARS):
                kind = "struct_value" if isinstance(item, dict) else "list_value"
                raise invalid(f"Invalid values[{index}][{column}]: {kind}")
    return rows


def check_option(value: Any, allowed: tuple[str, ...], name: str, enum: str) -> str:
    if value is None or value == "":
        raise invalid(f"'{name}' is required but not specified")
    if value not in allowed:
        raise bad_value(name, value, f"google.apps.sheets.v4.{enum}")
    return str(value)


def write(
    book: Spreadsheet,
    text: str,
    rows: Any,
    option: Any,
    major: str | None = None,
    field: str = "data.values",
    include: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """values.update: write at the range's top-left; a bounded range must hold the values."""
    rows = check_rows(rows, field)
    option = check_option(option, INPUT_OPTIONS, "valueInputOption", "ValueInputOption")
    target = book.resolve(text)
    return write_at(book, target, rows, option, major, _bounded(text), include)[0]


def _bounded(text: str) -> bool:
    """`A1` anchors a write; `A1:B2`, `A:B`, a sheet or a named range bound it."""
    try:
        ref = a1.split(text)
    except a1.RangeError:
        return True
    return ref.area is None or ":" in ref.area or not _is_cell(ref.area)


def _is_cell(area: str) -> bool:
    try:
        a1.parse_area(area)
    except a1.RangeError:
        return False
    return True


def write_at(
    book: Spreadsheet,
    target: Target,
    rows: list[list[Any]],
    option: str,
    major: str | None,
    bounded: bool,
    include: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], set[Coord]]:
    """Write and report; also returns the cells written (on the target's sheet) for batch
    totals."""
    sheet = target.sheet
    if major == "COLUMNS":
        depth = max((len(r) for r in rows), default=0)
        rows = [[col[i] if i < len(col) else None for col in rows] for i in range(depth)]
    height, width = len(rows), max((len(r) for r in rows), default=0)
    r0, c0 = target.row0, target.col0
    if bounded and height and r0 + height > target.row1:
        raise invalid(
            f"Requested writing within range [{target.a1}], but tried writing to row "
            f"[{r0 + height}]"
        )
    if bounded and width and c0 + width > target.col1:
        raise invalid(
            f"Requested writing within range [{target.a1}], but tried writing to column "
            f"[{a1.column_letters(c0 + width - 1)}]"
        )
    if r0 + height > sheet.row_count or c0 + width > sheet.column_count:
        label = f"{a1.quote_title(sheet.title)}!{a1.cell_name(r0 + height - 1, c0 + width - 1)}"
        raise exceeds(label, sheet)
    touched = _store(book, sheet, rows, r0, c0, option)
    book.modified = time.time()
    result: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if height and width:
        result["updatedRange"] = a1.format_range(sheet.title, r0, c0, r0 + height, c0 + width)
    result["updatedRows"] = len({r for r, _ in touched})
    result["updatedColumns"] = len({c for _, c in touched})
    result["updatedCells"] = len(touched)
    result = {k: v for k, v in result.items() if v != 0}
    if include and height and width:
        written = Target(sheet, r0, c0, r0 + height, c0 + width)
        result["updatedData"] = value_range(
            written,
            "ROWS",
            include.get("responseValueRenderOption") or "FORMATTED_VALUE",
            include.get("responseDateTimeRenderOption") or "SERIAL_NUMBER",
            book.locale,
        )
    return result, touched


def _store(
    book: Spreadsheet, sheet: Sheet, rows: list[list[Any]], r0: int, c0: int, option: str
) -> set[Coord]:
    touched: set[Coord] = set()
    stored = sheet.cells
    for i, row in enumerate(rows, r0):
        for j, value in enumerate(row, c0):
            if value is None:
                continue
            coord = (i, j)
            touched.add(coord)
            if value == "":
                stored.pop(coord, None)
                continue
            if option == "USER_ENTERED":
                value, number_format = cells.user_entered(value, book.locale)
                if number_format and not sheet.number_format(coord):
                    fmt = {**sheet.formats.get(coord, {}), "numberFormat": number_format}
                    sheet.formats[coord] = fmt
                cells.check_length(value)
            elif type(value) is str:  # RAW: only text can be too long
                cells.check_length(value)
            stored[coord] = value
    return touched


def batch_write(book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    """values.batchUpdate: one option for all ranges; totals count distinct cells written."""
    data = body.get("data") or []
    option = check_option(
        body.get("valueInputOption"), INPUT_OPTIONS, "valueInputOption", "ValueInputOption"
    )
    include = body if _true(body.get("includeValuesInResponse")) else None
    responses: list[dict[str, Any]] = []
    written: dict[int, set[Coord]] = {}  # sheetId → cells
    for index, item in enumerate(data):
        rows = check_rows(item.get("values"), f"data[{index}].values")
        try:
            target = book.resolve(item.get("range") or "")
            response, cells_written = write_at(
                book,
                target,
                rows,
                option,
                item.get("majorDimension"),
                _bounded(item.get("range") or ""),
                include,
            )
        except ApiError as err:
            raise invalid(f"Invalid data[{index}]: {err.message}") from err
        responses.append(response)
        written.setdefault(target.sheet.sheet_id, set()).update(cells_written)
    touched = [coords for coords in written.values() if coords]
    out = {
        "spreadsheetId": book.spreadsheet_id,
        "totalUpdatedRows": sum(len({r for r, _ in coords}) for coords in touched),
        "totalUpdatedColumns": sum(len({c for _, c in coords}) for coords in touched),
        "totalUpdatedCells": sum(len(coords) for coords in touched),
        "totalUpdatedSheets": len(touched),
        "responses": responses,
    }
    return {k: v for k, v in out.items() if v not in (0, [])}


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def append(
    book: Spreadsheet,
    text: str,
    rows: Any,
    option: Any,
    insert: str | None = None,
    major: str | None = None,
    include: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """values.append: find the table the range touches, write below it; the grid grows."""
    rows = check_rows(rows, "data.values")
    option = check_option(option, INPUT_OPTIONS, "valueInputOption", "ValueInputOption")
    if insert and insert not in INSERT_OPTIONS:
        raise bad_value("insert_data_option", insert, "google.apps.sheets.v4.InsertDataOption")
    target = book.resolve(text)
    sheet = target.sheet
    table = find_table(sheet, target)
    row, col = (table.row1, table.col0) if table else (target.row0, target.col0)
    height = len(rows) if major != "COLUMNS" else max((len(r) for r in rows), default=0)
    width = max((len(r) for r in rows), default=0) if major != "COLUMNS" else len(rows)
    if insert == "INSERT_ROWS" and height:
        grid.shift(book, sheet, 0, min(row, sheet.row_count), height)
    if row + height > sheet.row_count:
        sheet.grid["rowCount"] = row + height
    if col + width > sheet.column_count:
        sheet.grid["columnCount"] = col + width
    anchor = Target(sheet, row, col, sheet.row_count, sheet.column_count)
    updates, _ = write_at(book, anchor, rows, option, major, False, include)
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if table:
        out["tableRange"] = table.a1
    out["updates"] = updates
    return out


def find_table(sheet: Sheet, target: Target) -> Target | None:
    """The data region the append lands under (as observed on the real API).

    Start from the last non-empty cell inside the range (row-major) and grow through
    neighbouring non-empty cells anywhere on the sheet; the region's bounding box is the table.
    """
    inside = [
        coord
        for coord in sheet.cells
        if target.row0 <= coord[0] < target.row1 and target.col0 <= coord[1] < target.col1
    ]
    if not inside:
        return None
    seen, todo = set(), [max(inside)]
    while todo:
        r, c = todo.pop()
        if (r, c) in seen or (r, c) not in sheet.cells:
            continue
        seen.add((r, c))
        todo += [(r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)]
    rows, cols = [r for r, _ in seen], [c for _, c in seen]
    return Target(sheet, min(rows), min(cols), max(rows) + 1, max(cols) + 1)


def clear(book: Spreadsheet, text: str) -> str:
    """values.clear: values only; formats, notes and validation stay. Returns clearedRange."""
    target = book.resolve(text)
    grid.clear(target.sheet, target.row0, target.col0, target.row1, target.col1, ("cells",))
    book.modified = time.time()
    return target.a1

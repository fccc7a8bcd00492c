"""spreadsheets.get: the Spreadsheet resource, grid data, and `fields` masks (§3.4).

Output follows the API's JSON: unset members are omitted (a sheet's `sheetId` and `index`
always appear), `ranges` limits the sheets and the grid data, and grid data is included when
`includeGridData=true` or when the `fields` mask reaches into `sheets.data`.
"""

from __future__ import annotations

from typing import Any

from sheets_kpi.emulators.sheets import cells, formats
from sheets_kpi.emulators.sheets.state import Coord, Sheet, Spreadsheet, Target, copied

ROW_PIXELS, COLUMN_PIXELS = 21, 100
DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}
_THEME = [
    ("TEXT", "000000"),
    ("BACKGROUND", "FFFFFF"),
    ("ACCENT1", "4285F4"),
    ("ACCENT2", "EA4335"),
    ("ACCENT3", "FBBC04"),
    ("ACCENT4", "34A853"),
    ("ACCENT5", "FF6D01"),
    ("ACCENT6", "46BDC6"),
    ("LINK", "1155CC"),
]


def _rgb(hex_code: str) -> dict[str, Any]:
    channels = zip(formats.CHANNELS, (hex_code[0:2], hex_code[2:4], hex_code[4:6]), strict=True)
    return {name: formats.quantise(int(h, 16) / 255) for name, h in channels if int(h, 16)}


THEME: dict[str, Any] = {
    "primaryFontFamily": "Arial",
    "themeColors": [{"colorType": k, "color": {"rgbColor": _rgb(v)}} for k, v in _THEME],
}
SHEET_ARRAYS = (
    "merges",
    "conditionalFormats",
    "filterViews",
    "protectedRanges",
    "basicFilter",
    "charts",
    "bandedRanges",
    "developerMetadata",
    "rowGroups",
    "columnGroups",
)


def spreadsheet(book: Spreadsheet, targets: list[Target] | None, grid_data: bool) -> dict[str, Any]:
    """The Spreadsheet resource; with `targets` only their sheets (and their grid data)."""
    properties = {**copied(book.properties)}
    properties["defaultFormat"] = copied(DEFAULT_FORMAT)
    properties["spreadsheetTheme"] = copied(THEME)
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id, "properties": properties}
    out["sheets"] = []
    for sheet in book.sheets:
        mine = [t for t in targets or [] if t.sheet is sheet]
        if targets is not None and not mine:
            continue
        whole = [Target(sheet, 0, 0, sheet.row_count, sheet.column_count)]
        out["sheets"].append(sheet_resource(sheet, (mine or whole) if grid_data else [], book))
    if book.named_ranges:
        out["namedRanges"] = copied(book.named_ranges)
    if book.developer_metadata:
        out["developerMetadata"] = copied(book.developer_metadata)
    out["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit"
    return out


def sheet_properties(sheet: Sheet) -> dict[str, Any]:
    """SheetProperties with unset members omitted; sheetId and index always present."""
    props = copied(sheet.properties)
    grid = {k: v for k, v in props.get("gridProperties", {}).items() if v not in (0, False, None)}
    grid["rowCount"], grid["columnCount"] = sheet.row_count, sheet.column_count
    props["gridProperties"] = grid
    if sheet.properties.get("sheetType", "GRID") != "GRID":
        props.pop("gridProperties")
    out = {k: v for k, v in props.items() if v not in (False, None, {}, [])}
    out["sheetId"], out["index"] = sheet.sheet_id, sheet.properties.get("index", 0)
    return out


def sheet_resource(sheet: Sheet, targets: list[Target], book: Spreadsheet) -> dict[str, Any]:
    out: dict[str, Any] = {"properties": sheet_properties(sheet)}
    for key in SHEET_ARRAYS:
        if sheet.extras.get(key):
            out[key] = copied(sheet.extras[key])
    if targets:
        out["data"] = [grid_data(t, book.locale) for t in targets]
    return out


def grid_data(target: Target, locale: str) -> dict[str, Any]:
    """GridData of a rectangle: cell data (trailing empties trimmed), row and column sizes."""
    sheet = target.sheet
    out: dict[str, Any] = {}
    if target.row0:
        out["startRow"] = target.row0
    if target.col0:
        out["startColumn"] = target.col0
    occupied: dict[int, list[int]] = {}
    for name in ("cells", "formats", "notes", "validations"):
        for row, col in getattr(sheet, name):
            if target.row0 <= row < target.row1 and target.col0 <= col < target.col1:
                occupied.setdefault(row, []).append(col)
    rows = []
    for row in range(target.row0, max(occupied, default=target.row0 - 1) + 1):
        columns = occupied.get(row)
        if not columns:
            rows.append({})
            continue
        values = [cell_data(sheet, (row, c), locale) for c in range(target.col0, max(columns) + 1)]
        rows.append({"values": values})
    if rows:
        out["rowData"] = rows
    out["rowMetadata"] = [dimension(sheet.rows.get(r), ROW_PIXELS) for r in _span(target, 0)]
    out["columnMetadata"] = [
        dimension(sheet.columns.get(c), COLUMN_PIXELS) for c in _span(target, 1)
    ]
    return out


def _span(target: Target, axis: int) -> range:
    return range(target.row0, target.row1) if axis == 0 else range(target.col0, target.col1)


def dimension(stored: dict[str, Any] | None, pixels: int) -> dict[str, Any]:
    """DimensionProperties: the stored overrides over the default size."""
    out = {"pixelSize": pixels, **(stored or {})}
    return {k: v for k, v in out.items() if v is not False}


def cell_data(sheet: Sheet, coord: Coord, locale: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    number_format = sheet.number_format(coord)
    if coord in sheet.cells:
        value = sheet.cells[coord]
        out["userEnteredValue"] = cells.extended(value)
        out["effectiveValue"] = cells.effective_extended(value)
        out["formattedValue"] = cells.render(value, "FORMATTED_VALUE", number_format, locale=locale)
    if coord in sheet.formats:
        out["userEnteredFormat"] = copied(sheet.formats[coord])
    if coord in sheet.cells or coord in sheet.formats:
        out["effectiveFormat"] = effective_format(sheet.formats.get(coord))
    if coord in sheet.notes:
        out["note"] = sheet.notes[coord]
    if coord in sheet.validations:
        out["dataValidation"] = copied(sheet.validations[coord])
    return out


def effective_format(user: dict[str, Any] | None) -> dict[str, Any]:
    """The spreadsheet default format overlaid with the cell's own."""
    merged = copied(DEFAULT_FORMAT)
    for key, value in (user or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **copied(value)}
        else:
            merged[key] = copied(value)
    return merged


def wants_grid_data(fields: str | None, include: bool) -> bool:
    if not fields:
        return include
    return any(path[:2] == ["sheets", "data"] for path in formats.mask_paths(fields))


def apply_mask(payload: Any, fields: str | None, keep_empty: bool = False) -> Any:
    """Keep only the members a `fields` mask names (any API method accepts one).

    Sheets then drops emptied lists; Drive keeps them (`"files": []`).
    """
    if not fields:
        return payload
    tree: dict[str, Any] = {}
    for path in formats.mask_paths(fields):
        node = tree
        for part in path:
            node = node.setdefault(part, {})
    return _cut(payload, tree, "", keep_empty)


def _cut(value: Any, node: dict[str, Any], key: str, keep_empty: bool) -> Any:
    if not node or "*" in node:
        return value
    if isinstance(value, list):
        items = [_cut(item, node, "", keep_empty) for item in value]
        while key in ("rowData", "values") and items and items[-1] == {}:
            items.pop()  # masked grid data loses trailing empty rows and cells (as observed)
        return items
    if isinstance(value, dict):
        out = {}
        for name, sub in node.items():
            if name in value:
                cut = _cut(value[name], sub, name, keep_empty)
                if cut != [] or keep_empty:
                    out[name] = cut
        return out
    return value

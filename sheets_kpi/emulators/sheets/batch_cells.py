"""batchUpdate requests that change cells: values, formats, notes, validation, merges, paste, sort.

`fields` masks are relative to CellData (`userEnteredValue`, `userEnteredFormat(a,b)`, `note`,
`dataValidation`, `*`), applied per cell by formats.update_cell.
"""

from __future__ import annotations

import functools
from typing import Any

from sheets_kpi.emulators.sheets import cells, formats, grid
from sheets_kpi.emulators.sheets.batch import Ctx, Reply, handles
from sheets_kpi.emulators.sheets.state import CELL_MAPS, Sheet

_PASTE = {
    "PASTE_NORMAL": CELL_MAPS,
    "PASTE_VALUES": ("cells",),
    "PASTE_FORMAT": ("formats",),
    "PASTE_NO_BORDERS": CELL_MAPS,
    "PASTE_FORMULA": ("cells",),
    "PASTE_DATA_VALIDATION": ("validations",),
}


def _fields(ctx: Ctx, payload: dict[str, Any]) -> str:
    fields = payload.get("fields") or ""
    if not fields.strip():
        raise ctx.fail("At least one field must be specified.")
    return fields


@handles("updateCells")
def update_cells(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """Rows of CellData from `start`, or over `range` (cells the rows miss are cleared)."""
    fields = _fields(ctx, payload)
    rows = payload.get("rows") or []
    if payload.get("range") is not None:
        sheet, r0, c0, r1, c1 = ctx.rect(payload["range"])
    else:
        start = payload.get("start") or {}
        sheet = ctx.sheet(start.get("sheetId"))
        r0, c0 = start.get("rowIndex") or 0, start.get("columnIndex") or 0
        r1 = r0 + len(rows)
        c1 = c0 + max((len(r.get("values") or []) for r in rows), default=0)
        _inside(ctx, sheet, r1, c1)
    values_only = fields.strip() == "userEnteredValue"  # a RAW-like write: no view to merge
    for r in range(r0, r1):
        row = (rows[r - r0].get("values") or []) if r - r0 < len(rows) else []
        for c in range(c0, c1):
            cell = row[c - c0] if c - c0 < len(row) else None
            if cell is None and payload.get("range") is None:
                continue
            if values_only:
                value = (cell or {}).get("userEnteredValue")
                stored = cells.from_extended(value, ctx.book.locale) if value else None
                cells.check_length(stored)
                formats.put(sheet.cells, (r, c), stored)
            else:
                formats.update_cell(sheet, (r, c), cell or {}, fields, ctx.book.locale)
    return None


def _inside(ctx: Ctx, sheet: Sheet, r1: int, c1: int) -> None:
    if r1 > sheet.row_count:
        raise ctx.fail(
            f"GridCoordinate.rowIndex[{r1 - 1}] is after last row in grid[{sheet.sheet_id}]"
        )
    if c1 > sheet.column_count:
        raise ctx.fail(
            f"GridCoordinate.columnIndex[{c1 - 1}] is after last column in grid[{sheet.sheet_id}]"
        )


@handles("appendCells")
def append_cells(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """Rows after the last row holding a value; the grid grows when needed."""
    fields = _fields(ctx, payload)
    sheet = ctx.sheet(payload.get("sheetId"))
    rows = payload.get("rows") or []
    r0 = max((r for r, _ in sheet.cells), default=-1) + 1
    width = max((len(r.get("values") or []) for r in rows), default=0)
    sheet.grid["rowCount"] = max(sheet.row_count, r0 + len(rows))
    sheet.grid["columnCount"] = max(sheet.column_count, width)
    ctx.check_cells()
    for i, row in enumerate(rows):
        for j, cell in enumerate(row.get("values") or []):
            formats.update_cell(sheet, (r0 + i, j), cell or {}, fields, ctx.book.locale)
    return None


@handles("repeatCell")
def repeat_cell(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    fields = _fields(ctx, payload)
    sheet, r0, c0, r1, c1 = ctx.rect(payload["range"])
    cell = payload.get("cell") or {}
    cleared = formats.cleared_stores(sheet, cell, fields)
    if cleared is not None:  # a reset of whole members: touch only the cells that hold them
        for store in cleared:
            for coord in [k for k in store if r0 <= k[0] < r1 and c0 <= k[1] < c1]:
                del store[coord]
        return None
    if formats.masked_members(fields) != ("userEnteredFormat",):
        for r in range(r0, r1):
            for c in range(c0, c1):
                formats.update_cell(sheet, (r, c), cell, fields, ctx.book.locale)
        return None
    # Formats only: each distinct current format is worked out once (kept alive with its id).
    done: dict[int, tuple[Any, Any]] = {}
    for r in range(r0, r1):
        for c in range(c0, c1):
            current = sheet.formats.get((r, c))
            known = done.get(id(current))
            if known is None or known[0] is not current:
                known = done[id(current)] = (current, formats.updated_format(current, cell, fields))
            formats.put(sheet.formats, (r, c), known[1])
    return None


@handles("updateBorders")
def update_borders(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """Outer borders on the edge cells, inner ones between cells; absent sides untouched."""
    sheet, r0, c0, r1, c1 = ctx.rect(payload["range"])
    for r in range(r0, r1):
        for c in range(c0, c1):
            sides = {
                "top": payload.get("top" if r == r0 else "innerHorizontal"),
                "bottom": payload.get("bottom" if r == r1 - 1 else "innerHorizontal"),
                "left": payload.get("left" if c == c0 else "innerVertical"),
                "right": payload.get("right" if c == c1 - 1 else "innerVertical"),
            }
            chosen = {k: v for k, v in sides.items() if v is not None}
            if chosen:
                fields = ",".join(f"userEnteredFormat.borders.{k}" for k in chosen)
                source = {"userEnteredFormat": {"borders": chosen}}
                formats.update_cell(sheet, (r, c), source, fields, ctx.book.locale)
    return None


@handles("setDataValidation")
def set_data_validation(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """Stored per cell; an absent rule clears it. Not enforced on API writes (UI only)."""
    sheet, r0, c0, r1, c1 = ctx.rect(payload["range"])
    rule = payload.get("rule")
    for r in range(r0, r1):
        for c in range(c0, c1):
            source = {"dataValidation": rule} if rule else {}
            formats.update_cell(sheet, (r, c), source, "dataValidation", ctx.book.locale)
    return None


@handles("mergeCells")
def merge_cells(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """MERGE_ALL one block, MERGE_ROWS one per row, MERGE_COLUMNS one per column.

    Merges fully inside the range are replaced; only each block's top-left value stays.
    """
    sheet, r0, c0, r1, c1 = ctx.rect(payload["range"])
    grid_props = sheet.grid
    for frozen, low, high, what in (
        (grid_props.get("frozenRowCount") or 0, r0, r1, "rows"),
        (grid_props.get("frozenColumnCount") or 0, c0, c1, "columns"),
    ):
        if low < frozen < high:
            raise ctx.fail(f"You can't merge frozen and non-frozen {what}.")
    kind = payload.get("mergeType") or "MERGE_ALL"
    if kind == "MERGE_ROWS":
        blocks = [(r, c0, r + 1, c1) for r in range(r0, r1)]
    elif kind == "MERGE_COLUMNS":
        blocks = [(r0, c, r1, c + 1) for c in range(c0, c1)]
    else:
        blocks = [(r0, c0, r1, c1)]
    kept = []
    for merge in sheet.extras.get("merges", []):
        m = _rect(sheet, merge)
        if _inside_rect(m, (r0, c0, r1, c1)):
            continue
        if _overlaps(m, (r0, c0, r1, c1)):
            raise ctx.fail("Cannot merge cells that partially overlap an existing merge.")
        kept.append(merge)
    for b in blocks:
        if (b[2] - b[0]) * (b[3] - b[1]) > 1:
            kept.append(_grid_range(sheet, *b))
            _keep_top_left(sheet, b)
    sheet.extras["merges"] = kept
    return None


def _keep_top_left(sheet: Sheet, block: tuple[int, int, int, int]) -> None:
    r0, c0, r1, c1 = block
    anchor = sheet.cells.get((r0, c0))
    grid.clear(sheet, r0, c0, r1, c1, ("cells",))
    if anchor is not None:
        sheet.cells[(r0, c0)] = anchor


@handles("unmergeCells")
def unmerge_cells(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    sheet, r0, c0, r1, c1 = ctx.rect(payload["range"])
    kept = []
    for merge in sheet.extras.get("merges", []):
        m = _rect(sheet, merge)
        if _inside_rect(m, (r0, c0, r1, c1)):
            continue
        if _overlaps(m, (r0, c0, r1, c1)):
            raise ctx.fail("The range must not partially span a merge.")
        kept.append(merge)
    sheet.extras["merges"] = kept
    return None


def _rect(sheet: Sheet, merge: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        merge.get("startRowIndex", 0),
        merge.get("startColumnIndex", 0),
        merge.get("endRowIndex", sheet.row_count),
        merge.get("endColumnIndex", sheet.column_count),
    )


def _inside_rect(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return b[0] <= a[0] and b[1] <= a[1] and a[2] <= b[2] and a[3] <= b[3]


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _grid_range(sheet: Sheet, r0: int, c0: int, r1: int, c1: int) -> dict[str, Any]:
    out: dict[str, Any] = {} if sheet.sheet_id == 0 else {"sheetId": sheet.sheet_id}
    out.update(startRowIndex=r0, endRowIndex=r1, startColumnIndex=c0, endColumnIndex=c1)
    return out


@handles("copyPaste")
def copy_paste(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """The source tiled over the destination (NORMAL) or transposed into it."""
    source, r0, c0, r1, c1 = ctx.rect(payload["source"])
    target, d0, e0, d1, e1 = ctx.rect(payload["destination"])
    names = _PASTE.get(payload.get("pasteType") or "PASTE_NORMAL", ())
    data = grid.snapshot(source, r0, c0, r1, c1)
    height, width = r1 - r0, c1 - c0
    if payload.get("pasteOrientation") == "TRANSPOSE":
        data = {k: {(c, r): v for (r, c), v in m.items()} for k, m in data.items()}
        height, width = width, height
    for row in range(d0, max(d1, d0 + height), height or 1):
        for col in range(e0, max(e1, e0 + width), width or 1):
            grid.paste(target, data, row, col, (height, width), names)
    return None


@handles("cutPaste")
def cut_paste(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    source, r0, c0, r1, c1 = ctx.rect(payload["source"])
    where = payload.get("destination") or {}
    target = ctx.sheet(where.get("sheetId"))
    row, col = where.get("rowIndex") or 0, where.get("columnIndex") or 0
    names = _PASTE.get(payload.get("pasteType") or "PASTE_NORMAL", ())
    data = grid.snapshot(source, r0, c0, r1, c1)
    grid.clear(source, r0, c0, r1, c1, names)
    grid.paste(target, data, row, col, (r1 - r0, c1 - c0), names)
    return None


@handles("sortRange")
def sort_range(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """Rows of the range reordered (stable); numbers < text < booleans, blanks always last."""
    sheet, r0, c0, r1, c1 = ctx.rect(payload["range"])
    specs = payload.get("sortSpecs") or []
    data = grid.snapshot(sheet, r0, c0, r1, c1)

    def compare(a: int, b: int) -> int:
        for spec in specs:
            column = (spec.get("dimensionIndex") or 0) - c0
            x, y = data["cells"].get((a, column)), data["cells"].get((b, column))
            if (x is None) != (y is None):
                return 1 if x is None else -1
            if x is None:
                continue
            kx, ky = _sort_key(x), _sort_key(y)
            if kx != ky:
                order = -1 if kx < ky else 1
                return -order if spec.get("sortOrder") == "DESCENDING" else order
        return 0

    order = sorted(range(r1 - r0), key=functools.cmp_to_key(compare))
    position = {old: new for new, old in enumerate(order)}
    moved = {
        name: {(position[r], c): v for (r, c), v in mapping.items()}
        for name, mapping in data.items()
    }
    grid.paste(sheet, moved, r0, c0, (r1 - r0, c1 - c0))
    return None


def _sort_key(value: Any) -> tuple[int, Any]:
    shown = cells.effective(value)
    if isinstance(shown, bool):
        return (2, shown)
    if isinstance(shown, int | float):
        return (0, shown)
    return (1, str(shown).casefold())

"""Grid geometry shared by batchUpdate requests: shifting rows/columns, moving cells, ranges.

Inserting or deleting rows and columns moves everything anchored to the grid, as the API does:
values, formats, notes, validation, dimension sizes, merges, protected/filter/format ranges,
dimension groups and named ranges (SHEETS_API.md §3.8, insertDimension/deleteDimension).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sheets_kpi.emulators.sheets.state import CELL_MAPS, Coord, Sheet, Spreadsheet

_KEYS = (("startRowIndex", "endRowIndex"), ("startColumnIndex", "endColumnIndex"))


def shift(book: Spreadsheet, sheet: Sheet, axis: int, start: int, count: int) -> None:
    """Insert `count` rows (axis 0) or columns (axis 1) at `start`; negative count deletes."""
    end = start - count if count < 0 else start

    def move(index: int) -> int | None:
        if count > 0:
            return index + count if index >= start else index
        if start <= index < end:
            return None
        return index + count if index >= end else index

    for name in CELL_MAPS:
        moved: dict[Coord, Any] = {}
        for coord, value in getattr(sheet, name).items():
            new = move(coord[axis])
            if new is not None:
                moved[(new, coord[1]) if axis == 0 else (coord[0], new)] = value
        setattr(sheet, name, moved)
    dims = "rows" if axis == 0 else "columns"
    setattr(
        sheet,
        dims,
        {m: v for i, v in getattr(sheet, dims).items() if (m := move(i)) is not None},
    )
    key = "rowCount" if axis == 0 else "columnCount"
    sheet.grid[key] += count
    adjust = _range_adjuster(axis, start, count)
    for_each_range(book, sheet, adjust)
    groups = "rowGroups" if axis == 0 else "columnGroups"
    if groups in sheet.extras:
        kept = []
        for group in sheet.extras[groups]:
            span = _adjust_span(group["range"], "startIndex", "endIndex", start, count)
            if span is not None:
                kept.append({**group, "range": span})
        sheet.extras[groups] = kept


def _range_adjuster(
    axis: int, start: int, count: int
) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    low, high = _KEYS[axis]

    def adjust(grid: dict[str, Any]) -> dict[str, Any] | None:
        return _adjust_span(grid, low, high, start, count)

    return adjust


def _adjust_span(
    span: dict[str, Any], low: str, high: str, start: int, count: int
) -> dict[str, Any] | None:
    """The span after the shift, or None when it was deleted entirely."""
    out = dict(span)
    if count > 0:
        if out.get(low) is not None and out[low] >= start:
            out[low] += count
        if out.get(high) is not None and out[high] > start:
            out[high] += count
        return out
    end = start - count

    def moved(index: int) -> int:
        return index if index <= start else start if index <= end else index + count

    if out.get(low) is not None:
        out[low] = moved(out[low])
    if out.get(high) is not None:
        out[high] = moved(out[high])
    if out.get(low) is not None and out.get(high) is not None and out[low] >= out[high]:
        return None
    return out


def for_each_range(
    book: Spreadsheet, sheet: Sheet, change: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> None:
    """Apply `change` to every GridRange anchored on `sheet`; None removes the owner."""
    extras = sheet.extras
    if "merges" in extras:
        extras["merges"] = [m for m in (change(m) for m in extras["merges"]) if m is not None]
    for protected in list(extras.get("protectedRanges", [])):
        if "range" in protected:
            new = change(protected["range"])
            if new is None:
                extras["protectedRanges"].remove(protected)
            else:
                protected["range"] = new
    for rule in list(extras.get("conditionalFormats", [])):
        ranges = [r for r in (change(r) for r in rule.get("ranges", [])) if r is not None]
        if ranges:
            rule["ranges"] = ranges
        else:
            extras["conditionalFormats"].remove(rule)
    if "basicFilter" in extras:
        new = change(extras["basicFilter"]["range"])
        if new is None:
            del extras["basicFilter"]
        else:
            extras["basicFilter"]["range"] = new
    for named in list(book.named_ranges):
        if named["range"].get("sheetId", 0) == sheet.sheet_id:
            new = change(named["range"])
            if new is None:
                book.named_ranges.remove(named)
            else:
                named["range"] = new


def snapshot(sheet: Sheet, r0: int, c0: int, r1: int, c1: int) -> dict[str, dict[Coord, Any]]:
    """The per-cell maps of a rectangle, keyed relative to its top-left corner."""
    return {
        name: {
            (r - r0, c - c0): copy.deepcopy(v)
            for (r, c), v in getattr(sheet, name).items()
            if r0 <= r < r1 and c0 <= c < c1
        }
        for name in CELL_MAPS
    }


def clear(sheet: Sheet, r0: int, c0: int, r1: int, c1: int, names: tuple[str, ...]) -> None:
    for name in names:
        mapping = getattr(sheet, name)
        for coord in [k for k in mapping if r0 <= k[0] < r1 and c0 <= k[1] < c1]:
            del mapping[coord]


def paste(
    sheet: Sheet,
    data: dict[str, dict[Coord, Any]],
    row: int,
    col: int,
    size: tuple[int, int],
    names: tuple[str, ...] = CELL_MAPS,
) -> None:
    """Write a snapshot at (row, col), replacing what the rectangle of `size` held."""
    height, width = size
    clear(sheet, row, col, min(row + height, sheet.row_count), col + width, names)
    for name in names:
        mapping = getattr(sheet, name)
        for (r, c), value in data[name].items():
            if row + r < sheet.row_count and col + c < sheet.column_count:
                mapping[(row + r, col + c)] = copy.deepcopy(value)

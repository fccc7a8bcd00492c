"""Layouts into `spreadsheets.batchUpdate` requests (pure): cells, formats, rules, charts, markers.

A tab's structure (size, formats, rules, protection, chart) goes in `spreadsheets.batchUpdate`
requests, its values as RAW arrays for `values.batchUpdate` (so `=IMPORTXML(...)` stays text),
by blocks of rows. Two developer-metadata entries sit on each of the tool's tabs: `sheets-kpi` (who
owns it; created with the tab, never removed) and `sheets-kpi-hash` (the content hash, replaced
last, so a tab whose rewrite was cut short is simply rewritten by the next cycle).

Numbers inside rules are spelled so that every spreadsheet locale reads them the same: the API
parses condition values "as if typed" in the spreadsheet's locale, where `0.7` is not a number
in ru_RU, so fractions become `=7/10`.
"""

from __future__ import annotations

import json
import math
import zlib
from bisect import bisect_left
from fractions import Fraction
from typing import Any

from sheets_kpi.sheets.layout import (
    Block,
    LineChart,
    TabLayout,
    fit_cell,
    fitted_widths,
    pattern_decimals,
    plain_value,
)

MARKER = "sheets-kpi"
HASH_KEY = "sheets-kpi-hash"
#: The title a tab was last written under: a tab a user renamed is theirs from then on.
TITLE_KEY = "sheets-kpi-title"
#: On the run-log tab: the run id whose row is row 2 (each run's row has a fixed place).
LOG_BASE_KEY = "sheets-kpi-log-base"
GRID_FIELDS = "gridProperties(rowCount,columnCount,frozenRowCount,frozenColumnCount)"
DEFAULT_WIDTH = 100  # Sheets' default column width, in pixels
RED = {"red": 0.96, "green": 0.8, "blue": 0.8}
AMBER = {"red": 1.0, "green": 0.92, "blue": 0.7}
GREEN = {"red": 0.8, "green": 0.92, "blue": 0.8}
HEADER = {"red": 0.93, "green": 0.93, "blue": 0.93}


def sheet_id_for(title: str, taken: set[int]) -> int:
    """A stable id from the title, so a new tab can be built in the same batch that adds it."""
    candidate = zlib.crc32(title.encode()) & 0x7FFFFFFF or 1
    while candidate in taken:
        candidate = (candidate + 1) & 0x7FFFFFFF or 1
    return candidate


def cell(value: Any) -> dict[str, Any]:
    """A value as the CellData a RAW write makes of it. The plain types come first: a quiet
    cycle that grows a tab sends tens of thousands of them."""
    kind = type(value)
    if kind is str:
        return {"userEnteredValue": {"stringValue": fit_cell(value)}} if value else {}
    if kind is int or (kind is float and math.isfinite(value)):
        return {"userEnteredValue": {"numberValue": value}}
    value = plain_value(value)
    if value is None or value == "":
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": fit_cell(str(value))}}


def cell_rows(sheet_id: int, row: int, rows: list[list[Any]]) -> dict[str, Any]:
    """RAW rows (a `value_ranges` range's cells) as an `updateCells` from column A of `row`,
    typed as a RAW write types them (text stays text, `=IMPORTXML(...)` included); a blank
    clears."""
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": 0},
            "rows": [{"values": [cell(value) for value in cells]} for cells in rows],
            "fields": "userEnteredValue",
        }
    }


def grid_properties(layout: TabLayout, height: int | None = None) -> dict[str, Any]:
    """A tab's `gridProperties`: its size (`height` rows if given) and frozen rows/columns."""
    rows, columns = layout.grid_size()
    return {
        "rowCount": rows if height is None else height,
        "columnCount": columns,
        "frozenRowCount": layout.frozen_rows,
        "frozenColumnCount": layout.frozen_cols,
    }


def structure_requests(
    layout: TabLayout,
    sheet_id: int,
    editors: list[str],
    existing_rows: int,
    fresh: bool = False,
    widths: dict[int, int] | None = None,
) -> list[dict[str, Any]]:
    """Size, formats, colour rules, protection and chart of one of our tabs; no values (those
    go as RAW arrays in `value_ranges`), so a tab whose cells alone changed sends none of it.
    A `fresh` tab (added in the same batch, with its size and panes) has no merges, formats or
    widths to undo, so only what differs from a new tab's defaults is sent."""
    height, width = layout.grid_size()
    if layout.append_only:
        height = max(existing_rows, height)
    requests: list[dict[str, Any]] = []
    if not fresh:
        requests += [
            {
                "updateSheetProperties": {
                    "properties": {
                        "sheetId": sheet_id,
                        "gridProperties": grid_properties(layout, height),
                    },
                    "fields": GRID_FIELDS,
                }
            },
            # A user's merges go too: data tabs must stay merge-free for BI.
            {"unmergeCells": {"range": Block(0, 0, height, width).grid(sheet_id)}},
            {
                "repeatCell": {
                    "range": Block(0, 0, height, width).grid(sheet_id),
                    "cell": {"userEnteredFormat": {}},
                    "fields": "userEnteredFormat",
                }
            },
        ]
    requests += format_requests(layout, sheet_id, height, width)
    requests += width_requests(layout, sheet_id, width, fresh, widths)
    for block in layout.achievement:
        requests += achievement_rules(block, sheet_id, layout.gate)
    if layout.protected:
        requests.append(
            {
                "addProtectedRange": {
                    "protectedRange": {
                        "range": {"sheetId": sheet_id},
                        "description": MARKER,
                        "warningOnly": False,
                        "editors": {"users": editors},
                    }
                }
            }
        )
    if layout.chart:
        requests.append({"addChart": {"chart": _chart(layout.chart, sheet_id)}})
    return requests


def format_requests(
    layout: TabLayout, sheet_id: int, height: int, width: int
) -> list[dict[str, Any]]:
    """The header and the layout's format blocks as one `repeatCell` per rectangle of cells
    that end up formatted alike: blocks apply in order, each setting only its own fields (the
    last wins, as in Sheets), so the cells' final formats are worked out here and equal
    neighbours go together — a manager tab's row of `₽` cells is one request, not one a cell.
    The work is on the grid cut at the blocks' edges, whose pieces are each formatted alike."""
    header = Block(0, 0, layout.frozen_rows, width, bold=True)
    blocks = [
        (
            block,
            min(block.row0, height),
            min(block.row1, height),
            block.col0,
            min(block.col1, width),
        )
        for block in [header, *layout.formats]
    ]
    rows = sorted({row for _, row0, row1, _, _ in blocks for row in (row0, row1)})
    cols = sorted({col for *_, col0, col1 in blocks for col in (col0, col1)})
    pieces: dict[tuple[int, int], dict[str, Any]] = {}
    for block, row0, row1, col0, col1 in blocks:
        fields = _format_fields(block)
        for i in range(bisect_left(rows, row0), bisect_left(rows, row1)) if fields else ():
            for j in range(bisect_left(cols, col0), bisect_left(cols, col1)):
                pieces.setdefault((i, j), {}).update(fields)
    requests = []
    for i0, j0, i1, j1 in _rectangles({piece: encode(fmt) for piece, fmt in pieces.items()}):
        fmt = {name: pieces[(i0, j0)][name] for name in FORMAT_FIELDS if name in pieces[(i0, j0)]}
        requests.append(
            {
                "repeatCell": {
                    "range": Block(rows[i0], cols[j0], rows[i1], cols[j1]).grid(sheet_id),
                    "cell": {"userEnteredFormat": fmt},
                    "fields": f"userEnteredFormat({','.join(fmt)})",
                }
            }
        )
    return requests


def _rectangles(cells: dict[tuple[int, int], bytes]) -> list[tuple[int, int, int, int]]:
    """Cover the cells (row, column) with rectangles of one value each: from the first cell not
    yet covered (row by row), as far right as the value holds, then as far down as the whole
    row does."""
    covered: set[tuple[int, int]] = set()
    found = []

    def same(row: int, col: int, key: bytes) -> bool:
        return cells.get((row, col)) == key and (row, col) not in covered

    for row, col in sorted(cells):
        if (row, col) in covered:
            continue
        key = cells[(row, col)]
        col1 = col + 1
        while same(row, col1, key):
            col1 += 1
        row1 = row + 1
        while all(same(row1, c, key) for c in range(col, col1)):
            row1 += 1
        covered.update((r, c) for r in range(row, row1) for c in range(col, col1))
        found.append((row, col, row1, col1))
    return found


def width_requests(
    layout: TabLayout,
    sheet_id: int,
    width: int,
    fresh: bool = False,
    widths: dict[int, int] | None = None,
) -> list[dict[str, Any]]:
    """Every column's width (fitted, given, or Sheets' default, which undoes a user's resize)
    in runs of equal widths; a `fresh` tab's default-width columns need nothing. `widths`: the
    layout's as already worked out."""
    chosen = widths if widths is not None else layout.widths or fitted_widths(layout)
    pixels = [chosen.get(col, DEFAULT_WIDTH) for col in range(width)]
    requests = []
    start = 0
    for col in range(1, width + 1):
        if col < width and pixels[col] == pixels[start]:
            continue
        if not (fresh and pixels[start] == DEFAULT_WIDTH):
            requests.append(_column_width(sheet_id, start, col, pixels[start]))
        start = col
    return requests


def _column_width(sheet_id: int, start: int, end: int, pixels: int) -> dict[str, Any]:
    return {
        "updateDimensionProperties": {
            "range": {
                "sheetId": sheet_id,
                "dimension": "COLUMNS",
                "startIndex": start,
                "endIndex": end,
            },
            "properties": {"pixelSize": pixels},
            "fields": "pixelSize",
        }
    }


def value_ranges(
    layout: TabLayout, spans: list[tuple[int, int]], rows: list[list[Any]], blank: bool = False
) -> list[dict[str, Any]]:
    """The `values.batchUpdate` data of these spans (first, end) of the tab's rows (`rows`: its
    `value_rows`), one range each, of the whole width, blanks as "" to clear stale cells. On a
    `blank` tab (just created) trailing blanks are left out, there being nothing to clear (a
    span of blanks only has no values at all)."""
    quoted = "'" + layout.title.replace("'", "''") + "'"
    ranges = []
    for first, end in spans:
        piece = rows[first:end]
        if blank:
            piece = [_trimmed(row) for row in piece]
            while piece and not piece[-1]:
                piece.pop()
        ranges.append({"range": f"{quoted}!A{first + 1}", "values": piece})
    return ranges


def _trimmed(row: list[Any]) -> list[Any]:
    end = len(row)
    while end and row[end - 1] == "":
        end -= 1
    return row[:end]


def encode(body: Any) -> bytes:
    """Compact UTF-8 JSON: what is sent, and what the payload limit is measured on (Cyrillic
    as `\\u041c` escapes and `", "` separators would triple a Russian table's size)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _pattern_type(pattern: str) -> str:
    """The numberFormat type a pattern needs: a date pattern must say DATE or DATE_TIME."""
    if "yyyy" in pattern:
        return "DATE_TIME" if "hh" in pattern else "DATE"
    return "PERCENT" if "%" in pattern else "NUMBER"


#: The format fields a block may set, in the order a request names them.
FORMAT_FIELDS = ("numberFormat", "textFormat", "backgroundColor")


def _format_fields(block: Block) -> dict[str, Any]:
    """What `block` sets: its pattern, bold (a header: also shaded) and font size; each field
    replaces the cell's whole field (a later font size drops an earlier bold)."""
    fmt: dict[str, Any] = {}
    if block.pattern:
        kind = _pattern_type(block.pattern)
        fmt["numberFormat"] = {"type": kind, "pattern": block.pattern}
    text: dict[str, Any] = {}
    if block.bold:
        text["bold"] = True
    if block.font_size:
        text["fontSize"] = block.font_size
    if text:
        fmt["textFormat"] = text
    if block.bold:
        fmt["backgroundColor"] = HEADER
    return fmt


def achievement_rules(block: Block, sheet_id: int, gate: float) -> list[dict[str, Any]]:
    """< gate red, < 100 % amber, ≥ 100 % green; blank and text cells stay uncoloured.

    Custom formulas, because Sheets treats a blank cell as 0 in NUMBER_LESS (a KPI without a
    plan would turn red). The formula has no argument separator or decimal point, so it reads
    the same in every locale; `D2` is relative to the block's top-left cell. The colour follows
    the value as shown at the block's pattern: with `0%`, 0.998 shows "100 %" and is green (the
    thresholds move down half a shown unit, `D2<199/200`, instead of `ROUND(D2;2)`, which needs
    a locale's separator and whose one-argument form Excel does not take).
    """
    ref = f"{column_letter(block.col0)}{block.row0 + 1}"
    red, done = (locale_free(shown_threshold(t, block.pattern)) for t in (gate, 1))
    tests = [(f"<{red}", RED), (f"<{done}", AMBER), (f">={done}", GREEN)]
    return [
        {
            "addConditionalFormatRule": {
                "index": index,
                "rule": {
                    "ranges": [block.grid(sheet_id)],
                    "booleanRule": {
                        "condition": {
                            "type": "CUSTOM_FORMULA",
                            "values": [{"userEnteredValue": f"=ISNUMBER({ref})*({ref}{test})=1"}],
                        },
                        "format": {"backgroundColor": colour},
                    },
                },
            }
        }
        for index, (test, colour) in enumerate(tests)
    ]


def shown_threshold(threshold: float, pattern: str) -> Fraction:
    """The least value that `pattern` shows as `threshold` or more (rounding half up): half a
    shown unit below it. `0%` shows hundredths, `0.0%` thousandths, `0.00` hundredths; no
    pattern, the exact threshold."""
    exact = Fraction(str(threshold))
    if not pattern:
        return exact
    return exact - Fraction(1, 2 * 10 ** pattern_decimals(pattern))


def locale_free(value: float | Fraction) -> str:
    """A number as the API parses it in any locale: `1`, `-3`, or a fraction `7/10`."""
    fraction = Fraction(value if isinstance(value, Fraction) else str(value))
    fraction = fraction.limit_denominator(1_000_000)
    if fraction.denominator == 1:
        return str(fraction.numerator)
    return f"{fraction.numerator}/{fraction.denominator}"


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _chart(chart: LineChart, sheet_id: int) -> dict[str, Any]:
    def source(col: int) -> dict[str, Any]:
        return {
            "sourceRange": {"sources": [Block(chart.row0, col, chart.row1, col + 1).grid(sheet_id)]}
        }

    return {
        "spec": {
            "title": chart.title,
            "basicChart": {
                "chartType": "LINE",
                "legendPosition": "BOTTOM_LEGEND",
                "headerCount": 1,
                "domains": [{"domain": source(chart.domain_col)}],
                "series": [
                    {
                        "series": source(col),
                        "targetAxis": "RIGHT_AXIS" if col in chart.right_cols else "LEFT_AXIS",
                    }
                    for col in chart.series_cols
                ],
            },
        },
        "position": {
            "overlayPosition": {
                "anchorCell": {
                    "sheetId": sheet_id,
                    "rowIndex": chart.anchor_row,
                    "columnIndex": chart.anchor_col,
                },
                "widthPixels": 720,
                "heightPixels": 360,
            }
        },
    }


def cleanup_requests(sheet: dict[str, Any]) -> list[dict[str, Any]]:
    """Remove our previous rules, protections and charts from a tab before rebuilding it."""
    sheet_id = sheet["properties"]["sheetId"]
    requests: list[dict[str, Any]] = [
        {"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": 0}}
        for _ in sheet.get("conditionalFormats", [])
    ]
    requests += [
        {"deleteProtectedRange": {"protectedRangeId": p["protectedRangeId"]}}
        for p in sheet.get("protectedRanges", [])
    ]
    requests += [
        {"deleteEmbeddedObject": {"objectId": c["chartId"]}} for c in sheet.get("charts", [])
    ]
    return requests


def metadata_of(sheet: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [m for m in sheet.get("developerMetadata", []) if m.get("metadataKey") == key]


def forget_requests(sheet: dict[str, Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Delete the tab's developer metadata under `keys`."""
    return [
        {
            "deleteDeveloperMetadata": {
                "dataFilter": {"developerMetadataLookup": {"metadataId": m["metadataId"]}}
            }
        }
        for key in keys
        for m in metadata_of(sheet, key)
    ]


def stamp_requests(sheet_id: int, digest: str, title: str) -> list[dict[str, Any]]:
    """The content hash and the title it was written under, set after the tab's content."""
    return [marker_request(sheet_id, HASH_KEY, digest), marker_request(sheet_id, TITLE_KEY, title)]


def marker_request(sheet_id: int, key: str, value: str) -> dict[str, Any]:
    return {
        "createDeveloperMetadata": {
            "developerMetadata": {
                "metadataKey": key,
                "metadataValue": value,
                "visibility": "DOCUMENT",
                "location": {"sheetId": sheet_id},
            }
        }
    }

"""Declarative output tabs: a `TabLayout` is a tab's rows, formats by block, achievement colours,
frozen panes, chart and protection, with a content hash of all of it. Pure data; `render.py`
turns it into Sheets requests.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import zip_longest
from typing import Any

#: Part of every content hash: bump it when the rendering changes so existing tabs are rebuilt.
RENDER_VERSION = 5
#: Rows per change-detection block: a changed cell rewrites its block of rows, not its tab.
BLOCK_ROWS = 500
#: Cells a 720 × 360 px chart covers at the default 100 × 21 px cell size.
CHART_COLS, CHART_ROWS = 8, 18


@dataclass(frozen=True)
class Block:
    """A rectangle (0-based, end-exclusive) with a number pattern, e.g. `#,##0 "₽"`, `0.0%`,
    bold (a header: also shaded) and a font size in points (0: the spreadsheet's)."""

    row0: int
    col0: int
    row1: int
    col1: int
    pattern: str = ""
    bold: bool = False
    font_size: int = 0

    def grid(self, sheet_id: int) -> dict[str, int]:
        return {
            "sheetId": sheet_id,
            "startRowIndex": self.row0,
            "endRowIndex": self.row1,
            "startColumnIndex": self.col0,
            "endColumnIndex": self.col1,
        }


@dataclass(frozen=True)
class LineChart:
    """A line per series column over the domain column; `right_cols` (some of `series_cols`)
    are drawn against the right axis, so counts are not flattened by roubles."""

    title: str
    domain_col: int
    series_cols: tuple[int, ...]
    row0: int
    row1: int
    anchor_row: int
    anchor_col: int
    right_cols: tuple[int, ...] = ()


@dataclass
class TabLayout:
    """One output tab. `achievement` blocks get the red/amber/green rules against `gate`;
    `widths` maps a column index to pixels; `volatile_columns` (timestamps) do not count as a
    change; an `append_only` tab (the run log) keeps its rows and only has its header rewritten.
    """

    title: str
    rows: list[list[Any]]
    frozen_rows: int = 1
    frozen_cols: int = 0
    widths: dict[int, int] = field(default_factory=dict)
    formats: list[Block] = field(default_factory=list)
    achievement: list[Block] = field(default_factory=list)
    gate: float = 0.7
    protected: bool = True
    chart: LineChart | None = None
    volatile_columns: tuple[int, ...] = ()
    #: (row, column) cells that do not count as a change either (a "data as of" time).
    volatile_cells: tuple[tuple[int, int], ...] = ()
    append_only: bool = False

    @property
    def width(self) -> int:
        return max(map(len, self.rows), default=1) or 1

    def grid_size(self) -> tuple[int, int]:
        """Rows × columns: the table, room past the frozen panes, and the chart's cells."""
        rows = max(len(self.rows), self.frozen_rows + 1)
        cols = max(self.width, self.frozen_cols + 1)
        if self.chart:
            rows = max(rows, self.chart.anchor_row + CHART_ROWS)
            cols = max(cols, self.chart.anchor_col + CHART_COLS)
        return rows, cols

    def digest(self, editors: list[str] | tuple[str, ...] = ()) -> str:
        """The whole tab's hash: its structure and every block of its values."""
        return _hash([self.structure_digest(editors), self.block_digests()])

    def structure_digest(self, editors: list[str] | tuple[str, ...] = ()) -> str:
        """Hash of everything but the cell values: grid, formats, widths, rules, chart and
        protection; a new set of protection editors (config `google.supervisors`) counts."""
        return _hash(
            [
                RENDER_VERSION,
                self.title,
                self.grid_size(),
                self.frozen_rows,
                self.frozen_cols,
                sorted((self.widths or fitted_widths(self)).items()),
                [vars(b) for b in self.formats],
                [vars(b) for b in self.achievement],
                self.gate,
                self.protected and sorted(editors),
                vars(self.chart) if self.chart else None,
                self.append_only,
            ]
        )

    def value_rows(self) -> list[list[Any]]:
        """The grid's cells as RAW values, blanks as "" (which clears a cell), padded to the
        grid, so a shorter table than last time leaves nothing stale; an append-only tab has
        only its header here."""
        return [row for _, block in self._value_blocks() for row in block]

    def hashed_values(self) -> tuple[list[list[Any]], list[str]]:
        """`value_rows` and their `block_digests`, in one pass: each block is hashed as it is
        made (a quiet cycle does this for every tab only to find nothing moved)."""
        rows: list[list[Any]] = []
        digests = []
        for start, block in self._value_blocks():
            rows += block
            digests.append(self._block_digest(start, block))
        return rows, digests

    def block_digests(self, rows: list[list[Any]] | None = None) -> list[str]:
        """A hash per BLOCK_ROWS rows of `value_rows` (`rows`, when the caller has them);
        volatile columns and cells (timestamps) do not count as a change."""
        if rows is None:
            return self.hashed_values()[1]
        return [
            self._block_digest(start, rows[start : start + BLOCK_ROWS])
            for start in range(0, len(rows), BLOCK_ROWS)
        ]

    def _value_blocks(self) -> Iterator[tuple[int, list[list[Any]]]]:
        """(first row, RAW rows) per BLOCK_ROWS rows of the grid; floats rounded to what their
        number pattern shows (see `rounded`)."""
        height, width = self.grid_size()
        rows = self.rows[: self.frozen_rows] if self.append_only else self.rows
        height = len(rows) if self.append_only else height
        shown = self._shown_places()
        for start in range(0, height, BLOCK_ROWS):
            block = [
                [raw_value(v) for v in row] + [""] * (width - len(row))
                for row in rows[start : start + BLOCK_ROWS]
            ]
            block += [
                [""] * width for _ in range(min(height, start + BLOCK_ROWS) - start - len(block))
            ]
            _round_shown(block, start, shown)
            yield start, block

    def _shown_places(self) -> list[tuple[int, int, int, int, int]]:
        """(row0, row1, col0, col1, decimals shown) of each block with a number pattern."""
        return [
            (block.row0, block.row1, block.col0, block.col1, places)
            for block in self.formats
            if (places := shown_decimals(block.pattern)) is not None
        ]

    def _block_digest(self, start: int, block: list[list[Any]]) -> str:
        """The hash of one block of value rows, its volatile cells left out."""
        cells = [
            (row - start, col)
            for row, col in self.volatile_cells
            if start <= row < start + len(block)
        ]
        if not self.volatile_columns and not cells:
            return _hash(block)
        steady = [list(row) for row in block]
        for steady_row in steady:
            for col in self.volatile_columns:
                if col < len(steady_row):
                    steady_row[col] = None
        for row, col in cells:
            if col < len(steady[row]):
                steady[row][col] = None
        return _hash(steady)


def _round_shown(
    block: list[list[Any]], start: int, shown: list[tuple[int, int, int, int, int]]
) -> None:
    """Round the floats of `block` (rows from `start`) to the decimals their cell shows; where
    pattern blocks overlap the last one wins, as in Sheets."""
    places: dict[tuple[int, int], int] = {}
    for row0, row1, col0, col1, decimals in shown:
        for row in range(max(row0, start), min(row1, start + len(block))):
            cells = block[row - start]
            for col in range(col0, min(col1, len(cells))):
                if isinstance(cells[col], float):
                    places[(row - start, col)] = decimals
    for (row, col), decimals in places.items():
        block[row][col] = raw_value(rounded(block[row][col], decimals))


class KeptHashes:
    """Each tab's structure hash, RAW values and block hashes as last worked out, which `serve`
    keeps between cycles (its gateway lives across them): a layout equal to last cycle's has the
    same ones, and in a quiet cycle nearly every tab is. Equal is as Python compares the cells
    (a column keeps its type, so a cell is not `True` one cycle and `1` the next); a NaN is
    never equal, so its tab is simply worked out again."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[TabLayout, tuple[str, ...], Hashed]] = {}

    def of(self, layout: TabLayout, editors: list[str] | tuple[str, ...]) -> Hashed:
        last = self._last.get(layout.title)
        if last is not None and last[1] == tuple(editors) and last[0] == layout:
            return last[2]
        cells, digests = layout.hashed_values()
        hashed = Hashed(layout.structure_digest(editors), cells, digests)
        self._last[layout.title] = (layout, tuple(editors), hashed)
        return hashed


@dataclass(frozen=True)
class Hashed:
    """What the writer compares with the spreadsheet: the tab's structure hash, its RAW cells
    and the hash of each block of them (only read)."""

    structure: str
    cells: list[list[Any]]
    digests: list[str]


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()[:20]


#: Fitted column widths: pixels per character of the longest cell, padding, and bounds.
PIXELS_PER_CHAR, PADDING, NARROWEST, WIDEST = 7, 14, 50, 420


def fitted_widths(layout: TabLayout) -> dict[int, int]:
    """A width per column from its longest cell, so labels are not cut at 100 px. A row with a
    single filled cell (a title or a note) is left out: it may run over the next columns."""
    kept = [row for row in layout.rows if len(row) - row.count(None) - row.count("") >= 2]
    distinct = [_distinct(cells) for cells in zip_longest(*kept)]
    longest = {  # text as it is, one length per line; numbers as a cell shows them
        col: max(
            map(len, "\n".join(v if type(v) is str else _shown(v) for v in values).split("\n"))
        )
        for col, values in enumerate(distinct)
        if values
    }
    return {
        col: min(WIDEST, max(NARROWEST, PADDING + PIXELS_PER_CHAR * chars))
        for col, chars in longest.items()
    }


def _distinct(cells: tuple[Any, ...]) -> list[Any]:
    """A column's filled cells, each distinct value once (a long data tab repeats its values).
    Equal values of two types are kept apart (`1` and `Decimal("1.000")` show differently);
    a column with text, blanks and at most one other type needs only its values compared."""
    kinds = set(map(type, cells)) - {str, type(None)}
    if len(kinds) <= 1:
        return [v for v in set(cells) if v not in (None, "")]
    return [v for _, v in set(zip(map(type, cells), cells, strict=True)) if v not in (None, "")]


def _shown(value: Any) -> str:
    """About what a cell shows: numbers with thousands separators and 3 decimals at most."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}"
    return f"{value:,.0f} ₽"  # the widest integer pattern: roubles


def shown_decimals(pattern: str) -> int | None:
    """Decimals a number pattern shows: `0%` hundredths (2), `0.0%` 3, `0.00` 2, `0` none;
    money keeps its kopecks (2: a payout is copied on, to the kopeck); None for a date pattern
    or none at all, whose numbers are kept as they are."""
    if not pattern or any(part in pattern for part in ("yy", "dd", "hh", "mm")):
        return None
    return 2 if "₽" in pattern else pattern_decimals(pattern)


def pattern_decimals(pattern: str) -> int:
    """Decimals of the value a number pattern displays: `0%` 2, `0.0%` 3, `0.00` 2, `0` 0."""
    number = pattern.split(";")[0]
    fraction = number.split(".")[1] if "." in number else ""
    decimals = len(fraction) - len(fraction.lstrip("0#?"))
    return decimals + (2 if "%" in number else 0)


def rounded(value: float, places: int) -> float:
    """`value` as a cell with `places` decimals shows it, rounding half up as Sheets does, so
    a number that moves only below what is shown (a ratio at 0.3387 → 0.3387 1) does not
    count as a change."""
    exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return float(exact)


def raw_value(value: Any) -> Any:
    """A cell as `values.batchUpdate` takes it RAW: numbers and booleans typed, text capped
    at the cell limit (never parsed: `=IMPORTXML(...)` stays text), blanks as "". The plain
    types come first: a quiet cycle converts every cell of every tab."""
    kind = type(value)
    if kind is str:
        return value if len(value) <= MAX_CELL_CHARS else fit_cell(value)
    if kind is float:
        if value.is_integer():
            return int(value)
        return value if math.isfinite(value) else ""
    if kind is int:
        return value
    value = plain_value(value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)  # "3" rather than "3.0": the same number in Sheets, fewer bytes
    if isinstance(value, bool | int | float):
        return value
    return fit_cell(str(value))


#: Google refuses a whole request if one cell holds more characters than this.
MAX_CELL_CHARS = 50_000


def fit_cell(text: str) -> str:
    """`text` cut to Google's cell limit, ending with a visible marker of what was cut: the one
    cap of every string written (tab cells, issue values, amoCRM names, the run-log row)."""
    if len(text) <= MAX_CELL_CHARS:
        return text
    marker = f" … [cut: {len(text)} characters, the first {{}} shown]"
    kept = MAX_CELL_CHARS - len(marker.format(MAX_CELL_CHARS))
    return text[:kept] + marker.format(kept)


def plain_value(value: Any) -> Any:
    """A Python value as JSON can carry it: NaN and infinities blank, numpy scalars plain."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value

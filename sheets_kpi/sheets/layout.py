"""Declarative output tabs: a `TabLayout` is a tab's rows, formats by block, achievement colours,
frozen panes, chart and protection, with a content hash of all of it. Pure data; `render.py`
turns it into Sheets requests.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
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
        return self._structure_digest(editors, self.widths or fitted_widths(self))

    def _structure_digest(
        self, editors: list[str] | tuple[str, ...], widths: dict[int, int]
    ) -> str:
        return _hash(
            [
                RENDER_VERSION,
                self.title,
                self.grid_size(),
                self.frozen_rows,
                self.frozen_cols,
                sorted(widths.items()),
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
        """(first row, RAW rows) per BLOCK_ROWS rows of the grid."""
        rows, height, width = self._value_grid()
        shown = self._shown_places()
        for start in range(0, height, BLOCK_ROWS):
            end = min(height, start + BLOCK_ROWS)
            yield start, _value_block(rows, start, end, width, shown)

    def _value_grid(self) -> tuple[list[list[Any]], int, int]:
        """The rows the values come from (an append-only tab: its header) and the grid's
        height and width."""
        height, width = self.grid_size()
        if self.append_only:
            rows = self.rows[: self.frozen_rows]
            return rows, len(rows), width
        return self.rows, height, width

    def _block_contexts(
        self, height: int, width: int, shown: list[tuple[int, int, int, int, int]]
    ) -> list[tuple[Any, ...]]:
        """What each block's RAW values and hash take from the layout besides its rows: its
        height (which also cuts an append-only tab to its header), the grid's width, the number
        patterns over it (cut to it, in order: where they overlap the last wins) and the
        volatile columns and cells in it. Blocks of the same rows in equal contexts have the
        same values and hashes."""
        contexts = []
        for start in range(0, height, BLOCK_ROWS):
            end = min(height, start + BLOCK_ROWS)
            patterns = [
                (max(row0, start) - start, min(row1, end) - start, col0, col1, decimals)
                for row0, row1, col0, col1, decimals in shown
                if max(row0, start) < min(row1, end)
            ]
            cells = [(row - start, col) for row, col in self.volatile_cells if start <= row < end]
            contexts.append((end - start, width, patterns, self.volatile_columns, cells))
        return contexts

    def _shown_places(self) -> list[tuple[int, int, int, int, int]]:
        """(row0, row1, col0, col1, decimals shown) of each block with a number pattern."""
        return [
            (block.row0, block.row1, block.col0, block.col1, places)
            for block in self.formats
            if (places := shown_decimals(block.pattern)) is not None
        ]

    def _block_digest(self, start: int, block: list[list[Any]]) -> str:
        """The hash of one block of value rows, its volatile cells left out."""
        return _hash(self._steady(start, block))

    def row_digests(self, start: int, rows: list[list[Any]]) -> bytes:
        """An 8-byte hash of each of these value rows (from row `start`), its volatile cells
        left out: what the writer compares a changed block with, row by row. Rows are hashed
        as they pickle, which tells `True`, `1` and `1.0` apart (equal rows whose cells share
        objects otherwise may pickle otherwise: such a row is only written again)."""
        return b"".join(
            hashlib.blake2b(pickle.dumps(row, pickle.HIGHEST_PROTOCOL), digest_size=8).digest()
            for row in self._steady(start, rows)
        )

    def _steady(self, start: int, block: list[list[Any]]) -> list[list[Any]]:
        """A block of value rows (from row `start`) with its volatile cells as None: what
        counts as a change."""
        cells = [
            (row - start, col)
            for row, col in self.volatile_cells
            if start <= row < start + len(block)
        ]
        if not self.volatile_columns and not cells:
            return block
        steady = [list(row) for row in block]
        for steady_row in steady:
            for col in self.volatile_columns:
                if col < len(steady_row):
                    steady_row[col] = None
        for row, col in cells:
            if col < len(steady[row]):
                steady[row][col] = None
        return steady


def _value_block(
    rows: list[list[Any]],
    start: int,
    end: int,
    width: int,
    shown: list[tuple[int, int, int, int, int]],
) -> list[list[Any]]:
    """Grid rows `start`–`end` as RAW values, padded with blanks to the grid; floats rounded to
    what their number pattern shows (see `rounded`)."""
    block = [[raw_value(v) for v in row] + [""] * (width - len(row)) for row in rows[start:end]]
    block += [[""] * width for _ in range(end - start - len(block))]
    _round_shown(block, start, shown)
    return block


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
    keeps between cycles (its gateway lives across them): a layout the same as last cycle's has
    the same ones, and in a quiet cycle nearly every tab is. Of a tab that changed (`data_daily`:
    today's rows) only the blocks whose rows changed are worked out again; the others keep
    their RAW values, hashes and share of the fitted widths. The result is always what the
    layout's own `hashed_values` and `structure_digest` give."""

    def __init__(self) -> None:
        self._last: dict[str, _Kept] = {}

    def of(self, layout: TabLayout, editors: list[str] | tuple[str, ...]) -> Hashed:
        kept = _kept(layout, tuple(editors), self._last.get(layout.title))
        self._last[layout.title] = kept
        return kept.hashed


@dataclass(frozen=True)
class _Kept:
    """A tab's hashes and what they were worked out from: its settings (all but the rows) and
    editors, its rows `pickled` by BLOCK_ROWS, the context of each block of values and each
    chunk of rows' share of the fitted widths."""

    hashed: Hashed
    settings: bytes | None
    chunks: list[bytes | None]
    contexts: list[tuple[Any, ...]]
    lengths: list[list[dict[tuple[type, Any], int]]]


def _kept(layout: TabLayout, editors: tuple[str, ...], last: _Kept | None) -> _Kept:
    """`layout`'s hashes, taking from `last` each block whose rows and context are the same."""
    rows = layout.rows
    source, height, width = layout._value_grid()
    starts = range(0, max(height, len(rows)), BLOCK_ROWS)
    chunks = [pickled(rows[start : start + BLOCK_ROWS]) for start in starts]
    old = last.chunks if last else []
    same = [
        i < len(old) and chunk is not None and chunk == old[i] for i, chunk in enumerate(chunks)
    ]
    settings = pickled(({**vars(layout), "rows": None}, editors))
    known = None not in (settings, *chunks)
    if last and known and (settings, chunks) == (last.settings, last.chunks):
        return last
    lengths = []
    if not layout.widths:
        lengths = [
            last.lengths[i]
            if last and same[i] and i < len(last.lengths)
            else _lengths(rows[start : start + BLOCK_ROWS])
            for i, start in enumerate(range(0, len(rows), BLOCK_ROWS))
        ]
    shown = layout._shown_places()
    contexts = layout._block_contexts(height, width, shown)
    cells: list[list[Any]] = []
    digests = []
    for i, context in enumerate(contexts):
        start = i * BLOCK_ROWS
        end = start + context[0]
        if last and same[i] and i < len(last.contexts) and last.contexts[i] == context:
            block = last.hashed.cells[start:end]
            digest = last.hashed.digests[i]
        else:
            block = _value_block(source, start, end, width, shown)
            digest = layout._block_digest(start, block)
        cells += block
        digests.append(digest)
    widths = layout.widths or _fitted(lengths)
    hashed = Hashed(layout._structure_digest(editors, widths), cells, digests, widths)
    return _Kept(hashed, settings, chunks, contexts, lengths)


def pickled(value: Any) -> bytes | None:
    """`value` as pickle writes it, which tells cells apart that `==` does not (`True`, `1` and
    `1.0` are written TRUE, 1 and 1; `Decimal("1.0")` and `Decimal("1.00")`, 0.0 and -0.0 show
    differently) and a NaN from no NaN; None if it cannot be pickled. Cells that share objects
    otherwise than last time pickle otherwise too: their block is just worked out again."""
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exotic cell: its block is worked out every time
        return None


@dataclass(frozen=True)
class Hashed:
    """What the writer compares with the spreadsheet: the tab's structure hash, its RAW cells
    and the hash of each block of them (only read)."""

    structure: str
    cells: list[list[Any]]
    digests: list[str]
    #: The column widths the structure hash was made with, which a rebuild sends (None: the
    #: writer works them out).
    widths: dict[int, int] | None = field(default=None, compare=False)


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()[:20]


#: Fitted column widths: pixels per character of the longest cell, padding, and bounds.
PIXELS_PER_CHAR, PADDING, NARROWEST, WIDEST = 7, 14, 50, 420


def fitted_widths(layout: TabLayout) -> dict[int, int]:
    """A width per column from its longest cell, so labels are not cut at 100 px. A row with a
    single filled cell (a title or a note) is left out: it may run over the next columns.
    Worked out per BLOCK_ROWS rows, so `KeptHashes` measures only the rows that changed."""
    rows = layout.rows
    return _fitted(
        [_lengths(rows[start : start + BLOCK_ROWS]) for start in range(0, len(rows), BLOCK_ROWS)]
    )


def _lengths(rows: list[list[Any]]) -> list[dict[tuple[type, Any], int]]:
    """Per column of `rows`, each distinct filled cell (a long data tab repeats its values) with
    the length of its longest line as it shows. Equal values of two types are kept apart (`1`
    and `Decimal("1.000")` show differently)."""
    kept = [row for row in rows if len(row) - row.count(None) - row.count("") >= 2]
    return [
        {(type(value), value): _longest_line(value) for value in _distinct(cells)}
        for cells in zip_longest(*kept)
    ]


def _longest_line(value: Any) -> int:
    """Characters of a cell's longest line: text as it is, numbers as a cell shows them."""
    text = value if type(value) is str else _shown(value)
    return max(map(len, text.split("\n"))) if "\n" in text else len(text)


def _distinct(cells: tuple[Any, ...]) -> list[Any]:
    """The filled cells, each distinct value once, the first of equal ones. Equal values of two
    types are kept apart; cells of text, blanks and at most one other type need only their
    values compared."""
    kinds = set(map(type, cells)) - {str, type(None)}
    if len(kinds) <= 1:
        return [v for v in dict.fromkeys(cells) if v not in (None, "")]
    pairs = dict.fromkeys(zip(map(type, cells), cells, strict=True))
    return [v for _, v in pairs if v not in (None, "")]


def _fitted(chunks: list[list[dict[tuple[type, Any], int]]]) -> dict[int, int]:
    """`fitted_widths` from the `_lengths` of each chunk of rows. Where equal values show
    differently (0.0 and -0.0: "0 ₽" and "-0 ₽") the first one counts, as when a column is
    measured in one go."""
    widths = {}
    for col in range(max(map(len, chunks), default=0)):
        lengths: dict[tuple[type, Any], int] = {}
        for chunk in reversed(chunks):
            lengths.update(chunk[col] if col < len(chunk) else {})
        if lengths:
            chars = max(lengths.values())
            widths[col] = min(WIDEST, max(NARROWEST, PADDING + PIXELS_PER_CHAR * chars))
    return widths


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

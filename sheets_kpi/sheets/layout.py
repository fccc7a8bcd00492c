"""Declarative output tabs: a `TabLayout` is a tab's rows, formats by block, achievement colours,
frozen panes, chart and protection, with a content hash of all of it. Pure data; `render.py`
turns it into Sheets requests.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

#: Part of every content hash: bump it when the rendering changes so existing tabs are rebuilt.
RENDER_VERSION = 3
#: Cells a 720 × 360 px chart covers at the default 100 × 21 px cell size.
CHART_COLS, CHART_ROWS = 8, 18


@dataclass(frozen=True)
class Block:
    """A rectangle (0-based, end-exclusive) with a number pattern, e.g. `#,##0 "₽"`, `0.0%`."""

    row0: int
    col0: int
    row1: int
    col1: int
    pattern: str = ""
    bold: bool = False

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
    title: str
    domain_col: int
    series_cols: tuple[int, ...]
    row0: int
    row1: int
    anchor_row: int
    anchor_col: int


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
    append_only: bool = False

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=1) or 1

    def grid_size(self) -> tuple[int, int]:
        """Rows × columns: the table, room past the frozen panes, and the chart's cells."""
        rows = max(len(self.rows), self.frozen_rows + 1)
        cols = max(self.width, self.frozen_cols + 1)
        if self.chart:
            rows = max(rows, self.chart.anchor_row + CHART_ROWS)
            cols = max(cols, self.chart.anchor_col + CHART_COLS)
        return rows, cols

    def digest(self, editors: list[str] | tuple[str, ...] = ()) -> str:
        """Content hash; volatile columns (timestamps) do not count as a change, a new set of
        protection editors (config `google.supervisors`) does."""
        rows = [
            [None if i in self.volatile_columns else plain_value(v) for i, v in enumerate(r)]
            for r in self.rows
        ]
        payload = [
            RENDER_VERSION,
            self.title,
            rows,
            self.frozen_rows,
            self.frozen_cols,
            sorted(self.widths.items()),
            [vars(b) for b in self.formats],
            [vars(b) for b in self.achievement],
            self.gate,
            self.protected and sorted(editors),
            vars(self.chart) if self.chart else None,
            self.append_only,
        ]
        return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()[:20]


def plain_value(value: Any) -> Any:
    """A Python value as JSON can carry it: NaN and infinities blank, numpy scalars plain."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value

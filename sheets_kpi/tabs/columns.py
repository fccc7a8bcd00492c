"""Tables declared as columns: each column says its label, number pattern and whether it is
coloured by achievement, and the formats follow from where the table is placed on the tab.

A model: great-tables' `fmt_*(columns=[...])`, formats addressed by column, never by counted
coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sheets_kpi.sheets.layout import Block, TabLayout

#: Number patterns by KPI unit.
PATTERNS = {"rub": '#,##0 "₽"', "share": "0.0%", "minutes": "0.0", "score": "0.00", "count": "0"}
RUB = PATTERNS["rub"]
#: Three decimals, so a score just under the bonus gate (0.698 against 0.7) never reads "0.70".
SCORE = "0.000"
PERCENT = "0%"
SHARE = "0.0%"
DAYS = "0.0"
#: A column whose pattern is that of each row's KPI unit (`Table.units`).
BY_UNIT = "by unit"


@dataclass(frozen=True)
class Column:
    label: str
    pattern: str = ""
    achievement: bool = False
    #: Roubles as text (a bonus in words): hidden with the rouble-formatted columns.
    money: bool = False

    @property
    def roubles(self) -> bool:
        return self.money or self.pattern == RUB


@dataclass
class Table:
    """A header row of `columns`, body `rows` and an optional bold `total` row.

    Patterns cover the body and the total; achievement colours only the body (a total is no
    one's achievement). `units` gives each body row's KPI unit for `BY_UNIT` columns.
    """

    columns: Sequence[Column]
    rows: list[list[Any]]
    units: Sequence[str] = ()
    total: list[Any] | None = None
    bold_header: bool = False


def with_money(table: Table, shown: bool) -> Table:
    """`table` as it may be seen: whole, or (privacy.money_in_shared_tabs: false) without
    roubles — rouble columns dropped, a per-unit column's rouble rows left blank; %, score and
    rank stay."""
    if shown:
        return table
    keep = [i for i, column in enumerate(table.columns) if not column.roubles]
    per_unit = {i for i in keep if table.columns[i].pattern == BY_UNIT}
    hidden = {row for row, unit in enumerate(table.units) if unit == "rub"}

    def strip(row: list[Any], index: int | None) -> list[Any]:
        blank = index in hidden
        return [None if blank and i in per_unit else row[i] for i in keep]

    return Table(
        [table.columns[i] for i in keep],
        [strip(row, index) for index, row in enumerate(table.rows)],
        # the blanked rows need no rouble pattern: a count's is as good as none
        units=["count" if unit == "rub" else unit for unit in table.units],
        total=None if table.total is None else strip(table.total, None),
        bold_header=table.bold_header,
    )


@dataclass
class Grid:
    """A tab's rows, built top to bottom; a placed table brings its formats along."""

    rows: list[list[Any]] = field(default_factory=list)
    formats: list[Block] = field(default_factory=list)
    achievement: list[Block] = field(default_factory=list)

    def add(self, *rows: list[Any]) -> None:
        self.rows += [list(row) for row in rows]

    def fields(self, items: Sequence[tuple[str, Any, str]]) -> None:
        """Label / value rows, the value formatted with its pattern."""
        for name, value, pattern in items:
            if pattern:
                self.formats.append(_cell(len(self.rows), 1, pattern))
            self.rows.append([name, value])

    def table(self, table: Table) -> None:
        top = len(self.rows)
        if table.bold_header:
            self.formats.append(Block(top, 0, top + 1, len(table.columns), bold=True))
        body = top + 1
        end = body + len(table.rows)
        last = end + (table.total is not None)
        for index, column in enumerate(table.columns):
            if column.pattern == BY_UNIT:
                self.formats += [
                    _cell(body + row, index, PATTERNS[unit]) for row, unit in enumerate(table.units)
                ]
            elif column.pattern and last > body:
                self.formats.append(Block(body, index, last, index + 1, column.pattern))
            if column.achievement and end > body:
                # the pattern too: the colour follows the value as it is shown
                self.achievement.append(Block(body, index, end, index + 1, column.pattern))
        self.rows += [[column.label for column in table.columns], *table.rows]
        if table.total is not None:
            self.formats.append(Block(end, 0, last, len(table.columns), bold=True))
            self.rows.append(table.total)

    def layout(self, title: str, **options: Any) -> TabLayout:
        return TabLayout(
            title, self.rows, formats=self.formats, achievement=self.achievement, **options
        )


def _cell(row: int, col: int, pattern: str) -> Block:
    return Block(row, col, row + 1, col + 1, pattern)


def cell_value(value: Any) -> Any:
    """A frame's value as a cell: None for missing, plain Python numbers, dates as text."""
    kind = type(value)
    if kind is float:  # the common case first: a tab converts tens of thousands of them
        return None if math.isnan(value) else value
    if kind is int or kind is str:
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):  # strftime("%Y-%m-%d"), a few times faster
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return value


#: Day 0 of Sheets' serial dates.
EPOCH = pd.Timestamp("1899-12-30")


def serial(value: Any) -> float | None:
    """A date or naive date-time as a Sheets serial number (days since 1899-12-30), the value
    of a date cell; missing stays empty."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    days = (pd.Timestamp(value) - EPOCH) / pd.Timedelta(days=1)
    return round(float(days), 8)

"""`serve` keeps each department's draft statement lines between cycles: building the lines of
every month shown again is most of the month close in a quiet cycle, and an ended month's
lines rarely move (the current month's are kept alike, while its standing stays).

A draft's lines (`close.statement` with the approval columns left empty and the department's
status) are made of the period, the month's standing, what the statement before carried, the
adjustment decisions (`close.inflow` takes from these two what the statement gets), the config
and the department's status (`close.period_status`: it moves with the day, so it is worked out
every cycle and the lines are kept with it). Lines are handed out again only when every one of
these is exactly equal to what they were made of (frames compared whole, as
`kept_months.same_frame` tells). Anything else: built. Approved statements are read from their
snapshots and not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.kept_months import same_frame


@dataclass(frozen=True)
class _Lines:
    status: str
    rows: pd.DataFrame


class MonthLines:
    """One month's draft lines in an assembly: those of the last one when the month is made of
    the same, and those handed out in this one (kept for the next)."""

    def __init__(
        self, standing: pd.DataFrame, carried: pd.Series, on_hand: dict[str, _Lines]
    ) -> None:
        self.standing, self.carried = standing, carried
        self._on_hand = on_hand
        self.lines: dict[str, _Lines] = {}
        self.reused = 0

    def draft(
        self, department: str, status: str, build: Callable[[], pd.DataFrame]
    ) -> pd.DataFrame:
        """The department's lines: the kept ones when made with the same status, else `build()`.
        The caller gets its own copy (the kept lines stay as they were made)."""
        old = self._on_hand.get(department)
        if old is not None and old.status == status:
            self.reused += 1
            self.lines[department] = old
            return old.rows.copy()
        rows = build()
        self.lines[department] = _Lines(status, rows.copy())
        return rows


class KeptStatements:
    """The draft lines of the last statements assembled, per month and department, with what
    they were made of. Only those of the last assembly are kept: a strip of months' worth."""

    def __init__(self) -> None:
        self._config: Config | None = None
        self._decisions: pd.DataFrame | None = None
        self._last: dict[str, MonthLines] = {}
        self._months: dict[str, MonthLines] = {}

    @property
    def reused(self) -> int:
        """How many lines the assembly since the last `start` handed out again instead of
        building."""
        return sum(month.reused for month in self._months.values())

    def start(self, config: Config, decisions: pd.DataFrame) -> None:
        """Statements are assembled with `config` and `decisions`: the lines of the last assembly
        stay on hand only when it had equal ones; after it, only its own lines are kept."""
        kept = self._config
        same = (
            kept is not None
            and self._decisions is not None
            and (kept is config or kept == config)
            and same_frame(self._decisions, decisions)
        )
        self._last = self._months if same else {}
        self._config, self._decisions, self._months = config, decisions.copy(), {}

    def month(self, period: str, standing: pd.DataFrame, carried: pd.Series) -> MonthLines:
        """The draft lines of `period` given its standing (every department's) and what the
        statement before carried: the kept ones are on hand only when both are the same."""
        old = self._last.get(period)
        if old is not None and same_frame(old.standing, standing) and _same(old.carried, carried):
            month = MonthLines(old.standing, old.carried, old.lines)
        else:
            month = MonthLines(standing.copy(), carried.copy(), {})
        self._months[period] = month
        return month


def _same(a: pd.Series, b: pd.Series) -> bool:
    """The same amounts for the same managers: the index (the managers) compared as a column."""
    return same_frame(a.reset_index(), b.reset_index())

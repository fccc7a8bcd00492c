"""`serve` keeps the ended months' figures between cycles: computing the manager tab's strip of
past months again is a large part of a quiet cycle, and with the same data they come out the
same.

An ended month's figures (`engine.compute`'s `ended`) are made of the config, the roster and the
plans, the day each metric is first measured from (`facts.measured_from`), and the daily facts
and won records dated in the month; the amoCRM frames reach them only through these. A kept
month is handed out again only when every one of them is exactly equal to what it was made of:
the rows dated in the month are compared, never assumed (a late-synced call, or an unanswered
missed call's minutes on the month's last day, may still move them). Anything else: computed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.periods import Period

if TYPE_CHECKING:
    from sheets_kpi.kpi.engine import PeriodFigures


@dataclass(frozen=True)
class MonthBasis:
    """What every ended month is made of besides the rows dated in it."""

    config: Config
    roster: pd.DataFrame
    plans: pd.DataFrame
    measured: dict[str, pd.Timestamp]

    def same_as(self, other: MonthBasis) -> bool:
        return (
            (self.config is other.config or self.config == other.config)
            and self.measured == other.measured
            and same_frame(self.roster, other.roster)
            and same_frame(self.plans, other.plans)
        )


@dataclass(frozen=True)
class _Month:
    daily: pd.DataFrame
    wins: pd.DataFrame
    figures: PeriodFigures


class KeptMonths:
    """The ended months of the last compute with what each was made of. Only the months of the
    last compute are kept, so it holds a strip's worth at most."""

    def __init__(self) -> None:
        self._basis: MonthBasis | None = None
        self._months: dict[Period, _Month] = {}
        #: How many months the last `figures` call handed out again instead of computing.
        self.reused = 0

    def figures(
        self,
        months: list[Period],
        basis: MonthBasis,
        daily: pd.DataFrame,
        wins: pd.DataFrame,
        compute: Callable[[Period], PeriodFigures],
    ) -> dict[Period, PeriodFigures]:
        """Each of `months`: its kept figures when made of the same `basis`, daily facts and won
        records, else `compute(month)`. The caller gets its own copies (the kept ones stay as
        they were made, whatever the caller does with its frames)."""
        same = self._basis is not None and basis.same_as(self._basis)
        kept = self._months if same else {}
        self._basis = dataclasses.replace(
            basis,
            roster=basis.roster.copy(),
            plans=basis.plans.copy(),
            measured=dict(basis.measured),
        )
        self._months, self.reused = {}, 0
        out = {}
        for at in months:
            rows, won = _dated_in(daily, at), _dated_in(wins, at)
            old = kept.get(at)
            if old is not None and same_frame(rows, old.daily) and same_frame(won, old.wins):
                self.reused += 1
                out[at], keep = _copy(old.figures), old.figures
            else:
                out[at] = compute(at)
                keep = _copy(out[at])
            self._months[at] = _Month(rows, won, keep)
        return out


def same_frame(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Exactly the same table: labels, dtypes and values, NaN where NaN. Stricter than `.equals`,
    which holds None equal to NaN and 1 to 1.0 or True among objects, and 0.0 equal to -0.0."""
    if not (a.columns.equals(b.columns) and a.dtypes.equals(b.dtypes) and a.equals(b)):
        return False
    for column in a.columns:
        x, y = a[column], b[column]
        if x.dtype == object and not _same_types(x, y):
            return False
        if x.dtype.kind == "f" and not np.array_equal(_signs(x), _signs(y)):
            return False
    return True


def _same_types(x: pd.Series, y: pd.Series) -> bool:
    """Equal objects are of the same types (a column of strings only: checked at C speed)."""
    if pd.api.types.infer_dtype(x, skipna=False) == "string":
        return pd.api.types.infer_dtype(y, skipna=False) == "string"
    return all(type(p) is type(q) for p, q in zip(x, y, strict=True))


def _signs(x: pd.Series) -> np.ndarray:
    return np.signbit(x.to_numpy(dtype=float, na_value=np.nan))


def _dated_in(frame: pd.DataFrame, at: Period) -> pd.DataFrame:
    return frame[frame["date"].between(at.start, at.end)].reset_index(drop=True)


def _copy(figures: PeriodFigures) -> PeriodFigures:
    return dataclasses.replace(
        figures,
        kpi=figures.kpi.copy(),
        managers=figures.managers.copy(),
        wins=figures.wins.copy(),
    )

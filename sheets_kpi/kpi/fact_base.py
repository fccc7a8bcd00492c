"""What every fact builder shares: its context and the shape of its output."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.periods import Grain, period_start, to_utc, today


@dataclass(frozen=True)
class Context:
    """What every fact builder needs besides the frames."""

    config: Config
    now: pd.Timestamp
    since: pd.Timestamp  # first local date computed; the start of a month (or week) at `grain`
    grain: Grain
    roster_ids: frozenset[int]

    @property
    def zone(self) -> str:
        return self.config.timezone

    @property
    def today(self) -> pd.Timestamp:
        return today(self.now, self.zone)

    @property
    def since_utc(self) -> pd.Timestamp:
        return to_utc([self.since], self.zone)[0]


def rows(
    date: pd.Series, manager: pd.Series, num: object = 1.0, den: object = np.nan
) -> pd.DataFrame:
    """A builder's output: (date, manager_id, num, den), scalars broadcast."""
    return pd.DataFrame(
        {
            "date": date.to_numpy(dtype="datetime64[ns]"),
            "manager_id": pd.array(manager.to_numpy(), dtype="Int64"),
            "num": num if np.isscalar(num) else np.asarray(num, dtype=float),
            "den": den if np.isscalar(den) else np.asarray(den, dtype=float),
        },
        index=range(len(date)),
    )


def first_per_period(events: pd.DataFrame, key: str, grain: Grain) -> pd.DataFrame:
    """The earliest row per (key, month or week of its `date`): a lead counts once per period."""
    events = events.sort_values("created_at", kind="stable")
    period = period_start(events["date"], grain)
    return events.loc[~pd.DataFrame({"k": events[key], "p": period}).duplicated()]


def lookup(table: pd.Series, keys: pd.Series) -> pd.Series:
    """`keys.map(table)` that keeps the table's dtype, even for empty datetime tables."""
    found = table[~table.index.duplicated()].reindex(keys.to_numpy())
    return pd.Series(found.array, index=keys.index, dtype=table.dtype)

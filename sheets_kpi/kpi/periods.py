"""Local calendar arithmetic: instants → local dates, plan months, ISO weeks.

Every daily fact is keyed by a naive local midnight (`datetime64[ns]`) in `config.timezone`;
period bounds are local dates too, and turn into UTC instants only to pre-filter raw events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

NS = "datetime64[ns]"
Grain = Literal["month", "week"]


def local_date(instants: pd.Series, zone: str) -> pd.Series:
    """UTC instants → naive local midnights, the key of every daily fact."""
    if instants.empty:
        return pd.Series([], index=instants.index, dtype=NS)
    local = instants.dt.tz_convert(zone).dt.tz_localize(None)
    return local.dt.normalize().astype(NS)


def today(now: pd.Timestamp, zone: str) -> pd.Timestamp:
    """The local date of `now`."""
    return now.tz_convert(zone).tz_localize(None).normalize().as_unit("ns")


def to_utc(days: pd.Series | pd.DatetimeIndex | list, zone: str) -> pd.DatetimeIndex:
    """Local midnights → the UTC instants they begin at (a midnight skipped by DST moves on)."""
    index = pd.DatetimeIndex(days).as_unit("ns")
    local = index.tz_localize(zone, ambiguous=False, nonexistent="shift_forward")
    return local.tz_convert("UTC")


def period_start(dates: pd.Series, grain: Grain) -> pd.Series:
    """First day of each date's month, or Monday of its ISO week."""
    if grain == "week":
        return (dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")).astype(NS)
    return dates.dt.to_period("M").dt.start_time.astype(NS)


def period_starts(since: pd.Timestamp, until: pd.Timestamp, grain: Grain) -> pd.DatetimeIndex:
    """Starts of the months (or ISO weeks) from the one holding `since` to the one of `until`."""
    first = period_start(pd.Series([since]), grain).iloc[0]
    freq = "W-MON" if grain == "week" else "MS"
    return pd.date_range(first, until, freq=freq).as_unit("ns")


def next_start(starts: pd.DatetimeIndex, grain: Grain) -> pd.DatetimeIndex:
    if grain == "week":
        return starts + pd.Timedelta(days=7)
    return starts + pd.offsets.MonthBegin(1)


def week_start(dates: pd.Series) -> pd.Series:
    """Monday of each date's ISO week."""
    return period_start(dates, "week")


@dataclass(frozen=True)
class Period:
    """A plan month: its first and last local dates and the local date `today` within it."""

    start: pd.Timestamp
    end: pd.Timestamp
    today: pd.Timestamp

    @classmethod
    def of(cls, day: pd.Timestamp) -> Period:
        month = day.to_period("M")
        return cls(month.start_time.as_unit("ns"), month.end_time.normalize().as_unit("ns"), day)

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def elapsed_days(self) -> int:
        """Days so far, today included (1 on the first day, all of them once the month is over)."""
        return int(np.clip((self.today - self.start).days + 1, 1, self.days))

    @classmethod
    def month(cls, label: str) -> Period:
        """The whole month `YYYY-MM`, as it stands once it has ended."""
        period = cls.of(pd.Timestamp(f"{label}-01"))
        return cls(period.start, period.end, period.end)

    def ended(self, count: int) -> list[Period]:
        """The `count` whole months before this one, the most recent first."""
        months = pd.period_range(end=self.start.to_period("M") - 1, periods=count, freq="M")
        return [Period.month(str(month)) for month in reversed(months)]

    def previous_same_point(self) -> Period:
        """The previous month up to the same day of month; its last day when today is the last.

        Clamped to the previous month's length, so 31 March compares with all of February.
        """
        start = (self.start - pd.Timedelta(days=1)).to_period("M").start_time.as_unit("ns")
        end = (self.start - pd.Timedelta(days=1)).normalize()
        if self.today >= self.end:
            return Period(start, end, end)
        point = min(end, start + pd.Timedelta(days=self.elapsed_days - 1))
        return Period(start, end, point)

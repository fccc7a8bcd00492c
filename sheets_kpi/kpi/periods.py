"""Local calendar arithmetic: instants → local dates, month and ISO-week bounds."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


def local_date(instants: pd.Series, zone: str) -> pd.Series:
    """UTC instants → naive local midnights (`datetime64[ns]`), the key of every daily fact."""
    if instants.empty:
        return pd.Series(pd.to_datetime([]), index=instants.index, dtype="datetime64[ns]")
    return instants.dt.tz_convert(zone).dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")


def today(now: pd.Timestamp, zone: str) -> pd.Timestamp:
    return now.tz_convert(zone).tz_localize(None).normalize()


@dataclass(frozen=True)
class Period:
    """A plan month: its first and last local dates and how far into it `today` is."""

    start: pd.Timestamp
    end: pd.Timestamp
    today: pd.Timestamp

    @classmethod
    def of(cls, day: pd.Timestamp) -> Period:
        start = day.to_period("M").start_time
        end = day.to_period("M").end_time.normalize()
        return cls(start, end, day)

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def elapsed_days(self) -> int:
        return min(self.days, max(1, (self.today - self.start).days + 1))

    def previous_same_point(self) -> Period:
        """The previous month up to the same day of month (clamped to its length)."""
        start = (self.start - pd.Timedelta(days=1)).to_period("M").start_time
        end = start.to_period("M").end_time.normalize()
        point = min(end, start + pd.Timedelta(days=self.elapsed_days - 1))
        return Period(start, end, point)


def week_start(dates: pd.Series) -> pd.Series:
    """Monday of each date's ISO week."""
    return dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")

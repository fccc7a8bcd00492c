"""Weekly dynamics (SPEC §7.7): the last 12 ISO weeks per manager and department total.

Values come from num/den sums, never from averaging. Once-per-lead metrics are taken from the
week-grain fact table (a lead entering a stage in two weeks counts in both, and once in a week
that straddles two months); every other metric from the monthly table, which is the same there.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sheets_kpi.kpi.facts import sum_num_den, value
from sheets_kpi.kpi.periods import week_start

WEEKS = 12
COLUMNS = ["week_start", "department", "manager_id", "kpi", "num", "den", "fact"]


def first_week(today: pd.Timestamp) -> pd.Timestamp:
    """Monday of the oldest of the 12 weeks ending with the current one."""
    return today - pd.Timedelta(days=today.weekday() + 7 * (WEEKS - 1))


def weekly(
    daily: pd.DataFrame,
    daily_by_week: pd.DataFrame,
    people: pd.DataFrame,
    catalogue: pd.DataFrame,
    today: pd.Timestamp,
    measured_from: Mapping[str, pd.Timestamp] | None = None,
) -> pd.DataFrame:
    """Every (week, manager, KPI of their department), weeks without activity included.

    A week that ended before its metric's first measured day (`facts.measured_from`: deal-rule
    metrics before the rules were first evaluated) has no value, where a count would read 0.
    """
    start = first_week(today)
    distinct = catalogue["distinct"]
    facts = pd.concat(
        [
            daily[~daily["metric"].isin(catalogue.loc[distinct, "metric"])],
            daily_by_week[daily_by_week["metric"].isin(catalogue.loc[distinct, "metric"])],
        ],
        ignore_index=True,
    )
    facts = facts[(facts["date"] >= start) & (facts["date"] <= today)]
    facts = facts.assign(week_start=week_start(facts["date"]))
    sums = sum_num_den(facts, ["week_start", "manager_id", "metric"])
    weeks = pd.DataFrame({"week_start": pd.date_range(start, periods=WEEKS, freq="7D")})
    grid = people[["manager_id", "department"]].merge(
        catalogue[["department", "kpi", "metric", "ratio"]], on="department"
    )
    grid = grid.merge(weeks, how="cross").merge(
        sums, on=["week_start", "manager_id", "metric"], how="left"
    )
    grid["num"] = grid["num"].fillna(0.0)
    keys = ["week_start", "department", "kpi", "metric", "ratio"]
    total = sum_num_den(grid, keys)
    total["manager_id"] = pd.NA
    out = pd.concat([grid, total], ignore_index=True)
    out["fact"] = value(out["num"], out["den"], out["ratio"])
    first = out["metric"].map(dict(measured_from or {})).astype("datetime64[ns]")
    unmeasured = (out["week_start"] + pd.Timedelta(days=6) < first).to_numpy()
    out.loc[unmeasured, ["num", "den", "fact"]] = np.nan
    out["manager_id"] = out["manager_id"].astype("Int64")
    out = out.sort_values(["department", "kpi", "week_start", "manager_id"], na_position="last")
    return out[COLUMNS].reset_index(drop=True)

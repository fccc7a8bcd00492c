"""Weekly dynamics (SPEC §7.7): the last 12 ISO weeks per manager and department total."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.kpi.facts import sum_num_den
from sheets_kpi.kpi.periods import week_start

WEEKS = 12


def weekly(
    daily: pd.DataFrame, managers: pd.DataFrame, catalogue: pd.DataFrame, today: pd.Timestamp
) -> pd.DataFrame:
    first_week = today - pd.Timedelta(days=today.weekday() + 7 * (WEEKS - 1))
    window = daily[(daily["date"] >= first_week) & (daily["date"] <= today)]
    window = window.assign(week_start=week_start(window["date"]))
    window = window.merge(managers[["manager_id", "department"]], on="manager_id")
    kpis = catalogue[["department", "kpi", "metric", "ratio"]]
    window = window.merge(kpis, on=["department", "metric"])
    keys = ["week_start", "department", "kpi", "ratio"]
    per_manager = sum_num_den(window, [*keys, "manager_id"])
    total = sum_num_den(window, keys)
    total["manager_id"] = pd.NA
    out = pd.concat([per_manager, total], ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(out["den"] > 0, out["num"] / out["den"], np.nan)
    out["fact"] = np.where(out["ratio"], ratio, out["num"])
    out["manager_id"] = out["manager_id"].astype("Int64")
    columns = ["week_start", "department", "manager_id", "kpi", "num", "den", "fact"]
    return out[columns].sort_values(["department", "kpi", "week_start"]).reset_index(drop=True)

"""KPI facts for a period, the plans that apply, and achievement (SPEC §7.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.facts import RATIO_METRICS, sum_num_den


def kpi_catalogue(config: Config, locale: str) -> pd.DataFrame:
    """One row per (department, KPI) with its settings and localised title."""
    rows = []
    for dept in config.departments:
        for kpi in dept.kpis:
            title = (kpi.title_en if locale == "en" else kpi.title) or kpi.title or kpi.id
            rows.append(
                {
                    "department": dept.id,
                    "kpi": kpi.id,
                    "metric": kpi.metric,
                    "kpi_title": title,
                    "unit": kpi.unit,
                    "direction": kpi.direction,
                    "weight": float(kpi.weight),
                    "cap": dept.cap,
                    "ratio": kpi.metric_name in RATIO_METRICS,
                }
            )
    return pd.DataFrame(rows)


def kpi_facts(
    daily: pd.DataFrame,
    managers: pd.DataFrame,
    catalogue: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Each manager × their department's KPIs, with num, den and fact over [start, end]."""
    window = daily[(daily["date"] >= start) & (daily["date"] <= end)]
    sums = sum_num_den(window, ["manager_id", "metric"])
    table = managers[["manager_id", "department"]].merge(catalogue, on="department")
    table = table.merge(sums, on=["manager_id", "metric"], how="left")
    table["num"] = table["num"].fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(table["den"] > 0, table["num"] / table["den"], np.nan)
    table["fact"] = np.where(table["ratio"], ratio, table["num"])
    return table


def resolve_plans(table: pd.DataFrame, plans: pd.DataFrame, period: str) -> pd.Series:
    """A manager's own plan row wins over the department default for the same KPI."""
    current = plans[plans["period"] == period]
    own = current.dropna(subset=["manager_id"]).astype({"manager_id": "int64"})
    own = own.drop_duplicates(["manager_id", "kpi"], keep="last")
    default = current[current["manager_id"].isna()].drop_duplicates(
        ["department", "kpi"], keep="last"
    )
    mine = table.merge(own[["manager_id", "kpi", "plan"]], on=["manager_id", "kpi"], how="left")
    theirs = table.merge(
        default[["department", "kpi", "plan"]], on=["department", "kpi"], how="left"
    )
    return pd.Series(mine["plan"].combine_first(theirs["plan"]).to_numpy(), index=table.index)


def achievement(fact: pd.Series, plan: pd.Series, direction: pd.Series) -> pd.Series:
    """higher: max(0, f/p); lower: max(0, 2 − f/p), and for p = 0: 1 if f = 0 else 0.

    A negative fact (NPS) gives 0, never a negative achievement. A higher-is-better KPI with
    plan 0 is met by any fact (achievement 1). No plan or no fact
    (a share with nothing to divide) gives no achievement: the KPI is left out of the score.
    """
    f = fact.to_numpy(dtype=float)
    p = plan.to_numpy(dtype=float)
    lower = (direction == "lower").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        higher_value = np.where(p > 0, np.maximum(0.0, f / p), 1.0)
        lower_value = np.where(p > 0, np.maximum(0.0, 2.0 - f / p), np.where(f == 0, 1.0, 0.0))
    value = np.where(lower, lower_value, higher_value)
    value = np.where(np.isnan(f) | np.isnan(p), np.nan, value)
    return pd.Series(value, index=fact.index)


def still_needed(fact: pd.Series, plan: pd.Series, direction: pd.Series) -> pd.Series:
    """What closes the gap to 100 %: +more for higher-is-better, −less for lower; 0 when met."""
    gap = plan - fact
    needed = np.where(direction == "lower", np.minimum(gap, 0.0), np.maximum(gap, 0.0))
    return pd.Series(needed, index=fact.index).where(fact.notna() & plan.notna())

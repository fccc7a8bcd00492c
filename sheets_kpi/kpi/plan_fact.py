"""KPI facts over a period, the plans that apply, and achievement (SPEC §7.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.facts import sum_num_den, value
from sheets_kpi.kpi.metrics import METRICS


def kpi_catalogue(config: Config) -> pd.DataFrame:
    """One row per (department, KPI) with its settings and title in the configured locale."""
    rows = [
        {
            "department": dept.id,
            "kpi": kpi.id,
            "metric": kpi.metric,
            "kpi_title": kpi.title_in(config.locale),
            "unit": kpi.unit,
            "direction": kpi.direction,
            "weight": float(kpi.weight),
            "cap": float(dept.cap),
            "ratio": METRICS[kpi.metric_name].ratio,
            "distinct": METRICS[kpi.metric_name].distinct,
        }
        for dept in config.departments
        for kpi in dept.kpis
    ]
    return pd.DataFrame(rows)


def period_table(
    daily: pd.DataFrame,
    people: pd.DataFrame,
    catalogue: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Each manager × their department's KPIs, with num, den and fact over [start, end].

    No activity gives a count of 0 but an empty ratio (nothing to divide).
    """
    window = daily[(daily["date"] >= start) & (daily["date"] <= end)]
    sums = sum_num_den(window, ["manager_id", "metric"])
    table = people[["manager_id", "department"]].merge(catalogue, on="department")
    table = table.merge(sums, on=["manager_id", "metric"], how="left")
    table["num"] = table["num"].fillna(0.0)
    table["den"] = table["den"].astype(float)
    table["fact"] = value(table["num"], table["den"], table["ratio"])
    return table


def resolve_plans(
    table: pd.DataFrame, plans: pd.DataFrame, period: str, carry_over: bool = True
) -> pd.DataFrame:
    """The plan of each row and the period it was typed for (`plan_from`).

    The period's own rows come first, a manager's row before the department default; with
    `carry_over`, a KPI still without a plan takes the latest earlier one, again the manager's
    own before the default (a supervisor who plans a month once keeps everyone ranked).
    """
    plan = np.full(len(table), np.nan)
    source = np.full(len(table), None, dtype=object)
    keys = {
        "manager_id": list(zip(table["manager_id"], table["kpi"], strict=True)),
        "department": list(zip(table["department"], table["kpi"], strict=True)),
    }
    earlier = plans[plans["period"] < period] if carry_over else plans.iloc[:0]
    for rows in (plans[plans["period"] == period], earlier):
        rows = rows.sort_values("period", kind="stable")
        own = rows.dropna(subset=["manager_id"]).astype({"manager_id": "int64"})
        default = rows[rows["manager_id"].isna()]
        for found, by in ((own, "manager_id"), (default, "department")):
            typed = _typed(found, by)
            match = [typed.get(key, (np.nan, None)) for key in keys[by]]
            found_plan = np.array([value for value, _ in match], dtype=float)
            take = np.isnan(plan) & ~np.isnan(found_plan)
            plan[take] = found_plan[take]
            source[take] = np.array([typed_for for _, typed_for in match], dtype=object)[take]
    return pd.DataFrame({"plan": plan, "plan_from": source}, index=table.index)


def _typed(rows: pd.DataFrame, by: str) -> dict[tuple[object, object], tuple[float, object]]:
    """(`by`, kpi) → (plan, period) of the last of `rows` typed for it. The plans tab is short:
    a dictionary looks each table row up for less than a merge costs."""
    found = zip(rows[by], rows["kpi"], rows["plan"], rows["period"], strict=True)
    return {(key, kpi): (plan, typed_for) for key, kpi, plan, typed_for in found}


def achievement(fact: pd.Series, plan: pd.Series, direction: pd.Series) -> pd.Series:
    """higher: f/p; lower: max(0, 2 − f/p), and for p = 0: 1 if f = 0 else 0.

    Never negative (a negative NPS gives 0). Higher with p = 0: a fact that meets the zero target
    (f ≥ 0) gives 1, a negative one (an NPS below 0) gives 0. No plan, or no fact (a share with
    nothing to divide): empty, so the KPI is left out.
    """
    f = fact.to_numpy(dtype=float)
    p = plan.to_numpy(dtype=float)
    lower = (direction == "lower").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        higher_value = np.where(p > 0, np.maximum(0.0, f / p), np.where(f >= 0, 1.0, 0.0))
        lower_value = np.where(p > 0, np.maximum(0.0, 2.0 - f / p), np.where(f == 0, 1.0, 0.0))
    result = np.where(lower, lower_value, higher_value)
    return pd.Series(np.where(np.isnan(f) | np.isnan(p), np.nan, result), index=fact.index)

"""Explain my number (SPEC §7.6): what is still needed, and where the month is heading.

Reports localise the text ("+3 КП", "−2 нарушения"); the engine keeps machine values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.kpi.periods import Period


def still_needed(
    fact: pd.Series, plan: pd.Series, direction: pd.Series, unit: pd.Series
) -> pd.Series:
    """Signed change of the fact that reaches 100 %: +more (higher), −less (lower), 0 when met.

    Counts move in whole units (3.2 more calls means 4); empty without a plan or a fact.
    """
    gap = (plan - fact).to_numpy(dtype=float)
    lower = (direction == "lower").to_numpy()
    needed = np.where(lower, np.minimum(gap, 0.0), np.maximum(gap, 0.0))
    whole = (unit == "count").to_numpy()
    needed = np.where(whole, np.sign(needed) * np.ceil(np.abs(needed) - 1e-9), needed)
    return pd.Series(needed + 0.0, index=fact.index).where(fact.notna() & plan.notna())


def flows(table: pd.DataFrame) -> pd.Series:
    """KPIs whose fact accumulates over the period (counts and sums: Σnum, no den). Shares,
    means, minutes, scores and NPS are ratios: a rate so far, not a stock that grows."""
    return ~table["ratio"].astype(bool)


def pace_fact(table: pd.DataFrame, period: Period) -> pd.Series:
    """Counts and sums run on at today's pace to the month's end; ratios are already rates."""
    scale = period.days / period.elapsed_days
    return table["fact"].where(~flows(table), table["fact"] * scale)


def with_plan_to_date(table: pd.DataFrame, period: Period) -> pd.DataFrame:
    """`plan_to_date` and, for lower-is-better flows still within their monthly plan while the
    period has days left, what is still needed measured against it.

    A lower-is-better count (violations, overdue tasks) within its monthly plan is not met yet:
    the month can still break it. Its plan to date is plan × elapsed days / days, and the pace
    forecast breaks the plan exactly when the fact is above it, so `still_needed` becomes the
    (negative) excess over the plan to date, 0 within it. Over the monthly plan, the month is
    broken already and `still_needed` keeps counting against it. Achievement and score keep the
    monthly plan (SPEC §7.3). Everywhere else `plan_to_date` is empty and `still_needed` stays.
    """
    table = table.copy()
    running = period.elapsed_days < period.days
    within = table["fact"] <= table["plan"]
    lower_flow = flows(table) & (table["direction"] == "lower") & within & running
    to_date = table["plan"] * period.elapsed_days / period.days
    table["plan_to_date"] = to_date.where(lower_flow)
    excess = np.minimum((to_date - table["fact"]).to_numpy(dtype=float), 0.0)
    whole = (table["unit"] == "count").to_numpy()
    # 1e-9: a fact equal to the plan to date (float noise aside) is within it
    excess = np.where(whole, -np.ceil(np.maximum(-excess - 1e-9, 0.0)), excess) + 0.0
    needed = pd.Series(excess, index=table.index).where(table["fact"].notna() & to_date.notna())
    table["still_needed"] = needed.where(lower_flow, table["still_needed"])
    return table


def top_kpi(table: pd.DataFrame) -> pd.Series:
    """Per manager, the title of the KPI contributing most to the score."""
    ranked = table.dropna(subset=["contribution"]).sort_values(
        ["contribution", "weight"], ascending=False, kind="stable"
    )
    return ranked.drop_duplicates("manager_id").set_index("manager_id")["kpi_title"]

"""Composite score and competition ranking (SPEC §7.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Scores are rounded to this many decimals, so float noise never splits a tie or misses a gate.
SCORE_DIGITS = 9


def contributions(table: pd.DataFrame) -> pd.Series:
    """wᵢ·min(aᵢ, cap) / Σw over the manager's KPIs that have an achievement."""
    scorable = table["achievement"].notna()
    weights = table["weight"].where(scorable)
    total = weights.groupby(table["manager_id"]).transform("sum")
    capped = np.minimum(table["achievement"], table["cap"])
    return (weights * capped / total).where(scorable)


def scores(table: pd.DataFrame) -> pd.Series:
    """Score per manager (index manager_id); NaN when no KPI is scorable."""
    summed = contributions(table).groupby(table["manager_id"]).sum(min_count=1)
    return summed.round(SCORE_DIGITS)


def competition_rank(score: pd.Series, department: pd.Series) -> pd.Series:
    """1, 2, 2, 4 within each department by descending score; NaN (unranked) without a score."""
    return score.round(SCORE_DIGITS).groupby(department).rank(method="min", ascending=False)

"""Composite score, competition ranking (SPEC §7.4) and bonus (SPEC §7.5)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.config import BonusConfig


def contributions(table: pd.DataFrame) -> pd.Series:
    """wᵢ·min(aᵢ, cap)/Σw over the manager's KPIs that have an achievement."""
    scorable = table["achievement"].notna()
    weights = table["weight"].where(scorable)
    total = weights.groupby(table["manager_id"]).transform("sum")
    capped = np.minimum(table["achievement"], table["cap"])
    return (weights * capped / total).where(scorable)


def scores(table: pd.DataFrame) -> pd.Series:
    """Score per manager; NaN when no KPI is scorable."""
    contribution = table.assign(contribution=contributions(table))
    return contribution.groupby("manager_id")["contribution"].sum(min_count=1)


def competition_rank(score: pd.Series, department: pd.Series) -> pd.Series:
    """1, 2, 2, 4 within each department; unranked (NaN) without a score."""
    rounded = score.round(9)
    return rounded.groupby(department).rank(method="min", ascending=False)


def multiplier(score: float, bonus: BonusConfig) -> float:
    if np.isnan(score) or score < bonus.gate:
        return 0.0
    if score <= 1:
        return score
    return min(bonus.cap, 1 + bonus.accelerator * (score - 1))


def bonus_amount(score: float, rank: float, base: float, bonus: BonusConfig) -> tuple[float, float]:
    """(bonus in whole roubles, prize part); the prize only when the score passes the gate."""
    prize = 0.0
    if not np.isnan(score) and score >= bonus.gate and not np.isnan(rank):
        prize = float(bonus.prizes.get(int(rank), 0.0))
    total = base * multiplier(score, bonus) + prize
    return float(np.floor(total + 0.5)), prize

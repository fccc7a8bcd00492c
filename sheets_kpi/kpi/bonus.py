"""Bonus (SPEC §7.5): base × multiplier(score) + prize(rank), rounded once at the end."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.config import BonusConfig, Config


def multiplier(score: np.ndarray | float, bonus: BonusConfig) -> np.ndarray:
    """0 below the gate; s up to 1; min(cap, 1 + accelerator·(s − 1)) above 1; 0 without a score."""
    s = np.asarray(score, dtype=float)
    above = np.minimum(bonus.cap, 1 + bonus.accelerator * (s - 1))
    m = np.where(s < bonus.gate, 0.0, np.where(s <= 1, s, above))
    return np.where(np.isnan(s), 0.0, m)


def prize(score: np.ndarray | float, rank: np.ndarray | float, bonus: BonusConfig) -> np.ndarray:
    """The prize of the rank (shared by ties), only for a score at or above the gate."""
    s, r = np.asarray(score, dtype=float), np.asarray(rank, dtype=float)
    table = {float(rank_): float(amount) for rank_, amount in bonus.prizes.items()}
    by_rank = pd.Series(r.ravel()).map(table).fillna(0.0).to_numpy().reshape(r.shape)
    return np.where(s >= bonus.gate, by_rank, 0.0)


def round_roubles(amount: np.ndarray | float) -> np.ndarray:
    """Half up to whole roubles; applied once, to the final amount.

    Float products land a hair off a true half (10000 · 1.00045 computed from a score comes out
    as 10004.4999…), so the amount is first rounded to 1/10000 of a rouble: no real bonus has
    finer parts.
    """
    return np.floor(np.round(np.asarray(amount, dtype=float), 4) + 0.5)


def bonuses(managers: pd.DataFrame, config: Config) -> pd.DataFrame:
    """bonus and prize per manager row (columns department, score, rank, bonus_base).

    bonus_base from the roster overrides the department base; NaN means the department's.
    """
    bonus = np.zeros(len(managers))
    prizes = np.zeros(len(managers))
    for dept in config.departments:
        mine = (managers["department"] == dept.id).to_numpy()
        if not mine.any():
            continue
        part = managers[mine]
        base = part["bonus_base"].astype(float).fillna(dept.bonus.base).to_numpy()
        score = part["score"].to_numpy(dtype=float)
        won = prize(score, part["rank"].to_numpy(dtype=float), dept.bonus)
        bonus[mine] = round_roubles(base * multiplier(score, dept.bonus) + won)
        prizes[mine] = won
    return pd.DataFrame({"bonus": bonus, "prize": prizes}, index=managers.index)

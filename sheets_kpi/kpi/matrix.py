"""Who sells to whom (SPEC §7.8): win rate by seller seniority × new vs repeat client."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.kpi.stages import LOST, WON

Z95 = 1.959963984540054


def wilson(won: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Wilson score 95 % interval of a proportion; NaN where n = 0."""
    n_f = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = won / n_f
        centre = (p + Z95**2 / (2 * n_f)) / (1 + Z95**2 / n_f)
        half = Z95 * np.sqrt(p * (1 - p) / n_f + Z95**2 / (4 * n_f**2)) / (1 + Z95**2 / n_f)
    return (centre - half).where(n > 0), (centre + half).where(n > 0)


def closed_deals(
    leads: pd.DataFrame, roster: pd.DataFrame, start: pd.Timestamp, now: pd.Timestamp
) -> pd.DataFrame:
    """Leads won or lost in the window, typed new/repeat, with the seller's seniority."""
    live = leads[~leads["is_deleted"]]
    won_all = live[live["status_id"] == WON]
    closed = live[
        live["status_id"].isin([WON, LOST])
        & (live["closed_at"] >= start)
        & (live["closed_at"] <= now)
    ].copy()
    repeat = pd.Series(False, index=closed.index)
    for key in ("contact_id", "company_id"):
        first_win = won_all.dropna(subset=[key]).groupby(key)["closed_at"].min()
        if first_win.empty:
            continue
        repeat |= (closed[key].map(first_win) < closed["created_at"]).fillna(False).astype(bool)
    closed["client_type"] = np.where(repeat, "repeat", "new")
    closed["won"] = (closed["status_id"] == WON).astype(int)
    closed["cycle_days"] = (closed["closed_at"] - closed["created_at"]).dt.total_seconds() / 86400
    people = roster[["manager_id", "name", "seniority"]].rename(columns={"name": "manager"})
    closed = closed.merge(people, left_on="responsible_user_id", right_on="manager_id")
    return closed


def _cells(closed: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = closed.groupby(keys)
    cells = grouped.agg(
        won=("won", "sum"), n=("won", "size"), median_cycle_days=("cycle_days", "median")
    ).reset_index()
    won_price = closed[closed["won"] == 1].groupby(keys)["price"].mean().rename("mean_won_price")
    cells = cells.merge(won_price.reset_index(), on=keys, how="left")
    cells["lost"] = cells["n"] - cells["won"]
    cells["win_rate"] = cells["won"] / cells["n"]
    cells["ci_low"], cells["ci_high"] = wilson(cells["won"], cells["n"])
    return cells


def seniority_matrix(closed: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "seniority",
        "client_type",
        "won",
        "lost",
        "n",
        "win_rate",
        "ci_low",
        "ci_high",
        "mean_won_price",
        "median_cycle_days",
    ]
    if closed.empty:
        return pd.DataFrame(columns=columns)
    return _cells(closed, ["seniority", "client_type"])[columns]


def matrix_by_manager(closed: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "manager_id",
        "manager",
        "seniority",
        "client_type",
        "won",
        "lost",
        "n",
        "win_rate",
        "ci_low",
        "ci_high",
    ]
    if closed.empty:
        return pd.DataFrame(columns=columns)
    return _cells(closed, ["manager_id", "manager", "seniority", "client_type"])[columns]

"""Who sells to whom (SPEC §7.8): win rate by seller seniority × new vs repeat client."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.kpi.fact_base import lookup
from sheets_kpi.kpi.ownership import responsible_at
from sheets_kpi.kpi.stages import LOST, WON

Z95 = 1.959963984540054
CELL_COLUMNS = ["won", "lost", "n", "win_rate", "ci_low", "ci_high"]
EXTRA_COLUMNS = ["mean_won_price", "median_cycle_days"]


def wilson(won: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Wilson score 95 % interval of a proportion; empty where n = 0."""
    k, size = won.astype(float), n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / size
        z2 = Z95**2
        centre = (p + z2 / (2 * size)) / (1 + z2 / size)
        half = Z95 * np.sqrt(p * (1 - p) / size + z2 / (4 * size**2)) / (1 + z2 / size)
    # The bounds are exactly 0 with no wins and 1 with no losses; rounding would leave 1e-17.
    low = (centre - half).clip(lower=0.0).mask(k == 0, 0.0).where(n > 0)
    high = (centre + half).clip(upper=1.0).mask(k == size, 1.0).where(n > 0)
    return low, high


def closed_deals(
    leads: pd.DataFrame,
    responsible_changes: pd.DataFrame,
    roster: pd.DataFrame,
    start: pd.Timestamp,
    now: pd.Timestamp,
) -> pd.DataFrame:
    """Leads won or lost in [start, now], typed new/repeat, with the seller and seniority.

    The seller is whoever was responsible when the lead closed; sellers outside the roster are
    left out (no seniority to file them under). A client is `repeat` when the lead's main
    contact or its company had a won lead closed before this lead was created.
    """
    live = leads[~leads["is_deleted"]]
    won_all = live[(live["status_id"] == WON) & live["closed_at"].notna()]
    closed = live[
        live["status_id"].isin([WON, LOST])
        & (live["closed_at"] >= start)
        & (live["closed_at"] <= now)
    ]
    repeat = pd.Series(False, index=closed.index)
    for key in ("contact_id", "company_id"):
        first_win = won_all.dropna(subset=[key]).groupby(key)["closed_at"].min()
        earlier = lookup(first_win, closed[key]) < closed["created_at"]
        repeat |= earlier.fillna(False).astype(bool)
    seller = responsible_at(leads, responsible_changes, closed["lead_id"], closed["closed_at"])
    closed = closed.assign(
        seller=seller,
        client_type=np.where(repeat, "repeat", "new"),
        won=(closed["status_id"] == WON).astype(int),
        cycle_days=(closed["closed_at"] - closed["created_at"]).dt.total_seconds() / 86400,
    )
    people = roster[["manager_id", "name", "seniority"]].rename(columns={"name": "manager"})
    closed = closed[closed["seller"].notna()].astype({"seller": "int64"})
    return closed.merge(people, left_on="seller", right_on="manager_id")


def _cells(closed: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if closed.empty:
        return pd.DataFrame(columns=[*keys, *CELL_COLUMNS, *EXTRA_COLUMNS])
    grouped = closed.groupby(keys, observed=True)
    cells = grouped.agg(
        won=("won", "sum"), n=("won", "size"), median_cycle_days=("cycle_days", "median")
    ).reset_index()
    won_price = closed[closed["won"] == 1].groupby(keys)["price"].mean().rename("mean_won_price")
    cells = cells.merge(won_price.reset_index(), on=keys, how="left")
    cells["lost"] = cells["n"] - cells["won"]
    cells["win_rate"] = cells["won"] / cells["n"]
    cells["ci_low"], cells["ci_high"] = wilson(cells["won"], cells["n"])
    return cells[[*keys, *CELL_COLUMNS, *EXTRA_COLUMNS]]


def seniority_matrix(closed: pd.DataFrame) -> pd.DataFrame:
    return _cells(closed, ["seniority", "client_type"])


def matrix_by_manager(closed: pd.DataFrame) -> pd.DataFrame:
    return _cells(closed, ["manager_id", "manager", "seniority", "client_type"])

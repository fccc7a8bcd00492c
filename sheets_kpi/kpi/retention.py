"""Do clients come back (SPEC §7.9): one purchase vs several, and the gap between them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.ownership import responsible_at
from sheets_kpi.kpi.stages import WON

COLUMNS = ["scope", "clients", "once_share", "repeat_share", "median_days_between"]


def of_sellers(
    inputs: Inputs, sellers: pd.Series, start: pd.Timestamp, now: pd.Timestamp
) -> pd.DataFrame:
    """Retention over the purchases of `sellers` (`analytics.seller_departments`), as the matrix
    counts their deals only."""
    return retention(inputs.leads, inputs.clients, start, now, sellers, inputs.responsible_changes)


def retention(
    leads: pd.DataFrame,
    clients: pd.DataFrame,
    start: pd.Timestamp,
    now: pd.Timestamp,
    sellers: pd.Series | None = None,
    responsible_changes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Over clients (company, else main contact) with a won lead closed in [start, now].

    Purchases are that client's won leads closed in the window and sold by one of `sellers`
    (manager ids; the seller is whoever was responsible when the lead closed, as in the
    matrix); all wins when `sellers` is None. The account manager is the client's responsible
    user in amoCRM when that is a seller, else the seller of its latest purchase.
    """
    won = leads[
        ~leads["is_deleted"]
        & (leads["status_id"] == WON)
        & (leads["closed_at"] >= start)
        & (leads["closed_at"] <= now)
    ]
    seller = (
        won["responsible_user_id"]
        if responsible_changes is None
        else responsible_at(leads, responsible_changes, won["lead_id"], won["closed_at"])
    )
    purchases = pd.DataFrame(
        {
            "client_type": np.where(won["company_id"].notna(), "company", "contact"),
            "client_id": won["company_id"].fillna(won["contact_id"]),
            "closed_at": won["closed_at"],
            "seller": seller.astype("Int64"),
        }
    ).dropna(subset=["client_id"])
    selling = None if sellers is None else set(sellers.astype("int64"))
    if selling is not None:
        purchases = purchases[purchases["seller"].isin(selling)]
    if purchases.empty:
        return pd.DataFrame(columns=COLUMNS)
    purchases = purchases.astype({"client_id": "int64", "client_type": object})
    purchases = purchases.sort_values("closed_at", kind="stable")
    keys = ["client_type", "client_id"]
    purchases["gap"] = purchases.groupby(keys)["closed_at"].diff()
    per_client = purchases.groupby(keys).agg(
        purchases=("closed_at", "size"), last_seller=("seller", "last")
    )
    owners = clients.astype({"client_type": object}).drop_duplicates(keys, keep="last")
    owner = per_client.reset_index()[keys].merge(owners, on=keys, how="left")
    per_client["owner"] = owner["responsible_user_id"].astype("Int64").to_numpy()
    if selling is not None:
        per_client["owner"] = per_client["owner"].where(per_client["owner"].isin(selling))
    per_client["owner"] = per_client["owner"].fillna(per_client["last_seller"].astype("Int64"))
    account = purchases.join(per_client["owner"], on=keys)["owner"]
    # days since the client's previous purchase, split by account manager in one pass
    days = purchases["gap"].dt.total_seconds() / 86400
    days_of = dict(iter(days.groupby(account)))
    out = [_summary("all", per_client, days)]
    for manager, group in per_client.dropna(subset=["owner"]).groupby("owner"):
        out.append(_summary(f"{manager:.0f}", group, days_of[manager]))
    return pd.DataFrame(out, columns=COLUMNS)


def _summary(scope: str, per_client: pd.DataFrame, days: pd.Series) -> dict:
    """Clients, the shares buying once and again, and the median of the `days` between
    purchases (empty for a first purchase)."""
    count = len(per_client)
    again = int((per_client["purchases"] >= 2).sum())
    gaps = days.dropna()
    return {
        "scope": scope,
        "clients": count,
        "once_share": (count - again) / count,
        "repeat_share": again / count,
        "median_days_between": float(gaps.median()) if len(gaps) else np.nan,
    }

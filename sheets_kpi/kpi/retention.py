"""Do clients come back (SPEC §7.9): one purchase vs several, and the gap between them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.kpi.stages import WON

COLUMNS = ["scope", "clients", "once_share", "repeat_share", "median_days_between"]


def retention(
    leads: pd.DataFrame, clients: pd.DataFrame, start: pd.Timestamp, now: pd.Timestamp
) -> pd.DataFrame:
    """Over clients (company, else main contact) with a won lead closed in [start, now].

    Purchases are that client's won leads closed in the window; the account manager is the
    client's responsible user in amoCRM, else the owner of its latest won lead.
    """
    won = leads[
        ~leads["is_deleted"]
        & (leads["status_id"] == WON)
        & (leads["closed_at"] >= start)
        & (leads["closed_at"] <= now)
    ]
    purchases = pd.DataFrame(
        {
            "client_type": np.where(won["company_id"].notna(), "company", "contact"),
            "client_id": won["company_id"].fillna(won["contact_id"]),
            "closed_at": won["closed_at"],
            "seller": won["responsible_user_id"],
        }
    ).dropna(subset=["client_id"])
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
    per_client["owner"] = per_client["owner"].fillna(per_client["last_seller"].astype("Int64"))
    purchases = purchases.join(per_client["owner"], on=keys)
    out = [_summary("all", per_client, purchases)]
    for manager, group in per_client.dropna(subset=["owner"]).groupby("owner"):
        label = f"{manager:.0f}"
        out.append(_summary(label, group, purchases[purchases["owner"] == manager]))
    return pd.DataFrame(out, columns=COLUMNS)


def _summary(scope: str, per_client: pd.DataFrame, purchases: pd.DataFrame) -> dict:
    count = len(per_client)
    again = int((per_client["purchases"] >= 2).sum())
    gaps = purchases["gap"].dropna().dt.total_seconds() / 86400
    return {
        "scope": scope,
        "clients": count,
        "once_share": (count - again) / count,
        "repeat_share": again / count,
        "median_days_between": float(gaps.median()) if len(gaps) else np.nan,
    }

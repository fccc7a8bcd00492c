"""Do clients come back (SPEC §7.9): one purchase vs several, and the gap between them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.kpi.stages import WON

COLUMNS = ["scope", "clients", "once_share", "repeat_share", "median_days_between"]


def retention(
    leads: pd.DataFrame, clients: pd.DataFrame, start: pd.Timestamp, now: pd.Timestamp
) -> pd.DataFrame:
    """Over clients (company, else main contact) with a won lead closed in the window."""
    won = leads[
        ~leads["is_deleted"]
        & (leads["status_id"] == WON)
        & (leads["closed_at"] >= start)
        & (leads["closed_at"] <= now)
    ]
    client_type = np.where(won["company_id"].notna(), "company", "contact")
    client_id = won["company_id"].fillna(won["contact_id"])
    purchases = pd.DataFrame(
        {"client_type": client_type, "client_id": client_id, "closed_at": won["closed_at"]}
    ).dropna(subset=["client_id"])
    if purchases.empty:
        return pd.DataFrame(columns=COLUMNS)
    purchases["client_id"] = purchases["client_id"].astype("int64")
    purchases = purchases.sort_values("closed_at")
    purchases["gap"] = purchases.groupby(["client_type", "client_id"])["closed_at"].diff()
    per_client = (
        purchases.groupby(["client_type", "client_id"])
        .agg(purchases=("closed_at", "size"))
        .reset_index()
    )
    owners = clients.rename(columns={"responsible_user_id": "owner"})
    per_client = per_client.merge(owners, on=["client_type", "client_id"], how="left")
    purchases = purchases.merge(
        per_client[["client_type", "client_id", "owner"]], on=["client_type", "client_id"]
    )
    rows = [_summary("all", per_client, purchases)]
    for owner, group in per_client.dropna(subset=["owner"]).groupby("owner"):
        rows.append(_summary(str(int(owner)), group, purchases[purchases["owner"] == owner]))
    return pd.DataFrame(rows, columns=COLUMNS)


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

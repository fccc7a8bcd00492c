"""Who was responsible for a lead at a given instant, from the handover history.

Money and deal facts belong to whoever owned the lead when the fact happened, not to whoever
owns it now: a lead won by A and handed to B next week stays A's sale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NS = "datetime64[ns]"


def responsible_at(
    leads: pd.DataFrame,
    changes: pd.DataFrame,
    lead_ids: pd.Series,
    moments: pd.Series,
) -> pd.Series:
    """Owner of each (lead, moment), aligned with `lead_ids`.

    The `after_user_id` of the last handover at or before the moment; before the first recorded
    handover, its `before_user_id`; with no history, the lead's current responsible user.
    """
    owners = leads.drop_duplicates("lead_id").set_index("lead_id")["responsible_user_id"]
    result = owners.astype("Float64").reindex(lead_ids.to_numpy()).to_numpy(float, na_value=np.nan)
    history = changes[changes["created_at"].notna()]
    touched = np.flatnonzero(lead_ids.isin(history["lead_id"]).to_numpy())
    if len(touched):
        asked = pd.DataFrame(
            {
                "lead_id": lead_ids.to_numpy(dtype="int64")[touched],
                "moment": moments.to_numpy(dtype=NS)[touched],
                "order": touched,
            }
        ).sort_values("moment", kind="stable")
        history = pd.DataFrame(
            {
                "lead_id": history["lead_id"].to_numpy(dtype="int64"),
                "created_at": history["created_at"].to_numpy(dtype=NS),
                "before": history["before_user_id"].to_numpy(float, na_value=np.nan),
                "after": history["after_user_id"].to_numpy(float, na_value=np.nan),
            }
        ).sort_values("created_at", kind="stable")
        last = pd.merge_asof(asked, history, left_on="moment", right_on="created_at", by="lead_id")
        owner = last["after"].to_numpy(copy=True)
        # Before a lead's first handover the next one is that first one: looked up, not merged.
        early = last["created_at"].isna().to_numpy()
        first = history.drop_duplicates("lead_id").set_index("lead_id")["before"]
        owner[early] = first.reindex(last["lead_id"].to_numpy()[early]).to_numpy()
        # A handover to no one known: the next one says who had the lead (rare: merged alone).
        unnamed = np.flatnonzero(np.isnan(owner) & ~early)
        if len(unnamed):
            owner[unnamed] = pd.merge_asof(
                asked.iloc[unnamed],
                history,
                left_on="moment",
                right_on="created_at",
                by="lead_id",
                direction="forward",
                allow_exact_matches=False,
            )["before"].to_numpy()
        known = ~np.isnan(owner)
        result[last["order"].to_numpy()[known]] = owner[known]
    return pd.Series(result, index=lead_ids.index).astype("Int64")

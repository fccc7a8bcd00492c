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
    Handovers at the same instant count in the order recorded.
    """
    current = leads.drop_duplicates("lead_id")
    owners = current["responsible_user_id"].astype("Float64").to_numpy(float, na_value=np.nan)
    # Position -1 (a lead not found, a handover not there) picks the NaN appended at the end.
    result = np.append(owners, np.nan)[pd.Index(current["lead_id"]).get_indexer(lead_ids)]
    history = changes[changes["created_at"].notna()]
    touched = np.flatnonzero(lead_ids.isin(history["lead_id"]).to_numpy())
    if len(touched):
        asked = lead_ids.to_numpy(dtype="int64")[touched]
        lead = history["lead_id"].to_numpy(dtype="int64")
        # Each (lead, instant) as one sortable number, the lead's place among the leads and the
        # instant's among all instants, so one binary search finds every moment's handovers
        # (this runs for each lead fact; a merge per call cost more than the facts).
        leads_seen = np.unique(lead)
        when = history["created_at"].to_numpy(dtype=NS)
        moment = moments.to_numpy(dtype=NS)[touched]
        instants = np.unique(np.concatenate([when, moment]))

        def key(lead: np.ndarray, at: np.ndarray) -> np.ndarray:
            return np.searchsorted(leads_seen, lead) * (len(instants) + 1) + np.searchsorted(
                instants, at
            )

        order = np.argsort(key(lead, when), kind="stable")
        keys, lead = key(lead, when)[order], lead[order]
        later = np.searchsorted(keys, key(asked, moment), side="right")
        last = np.where((later > 0) & (lead[later - 1] == asked), later - 1, -1)
        ahead = np.minimum(later, len(lead) - 1)
        following = np.where((later < len(lead)) & (lead[ahead] == asked), later, -1)
        before = np.append(
            history["before_user_id"].to_numpy(float, na_value=np.nan)[order], np.nan
        )
        after = np.append(history["after_user_id"].to_numpy(float, na_value=np.nan)[order], np.nan)
        owner = after[last]
        owner = np.where(np.isnan(owner), before[following], owner)
        known = ~np.isnan(owner)
        result[touched[known]] = owner[known]
    return pd.Series(result, index=lead_ids.index).astype("Int64")

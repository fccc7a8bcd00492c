"""Who was responsible for a lead at a given instant, from the handover history.

Money and deal facts belong to whoever owned the lead when the fact happened, not to whoever
owns it now: a lead won by A and handed to B next week stays A's sale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UTC_NS = "datetime64[ns, UTC]"


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
    current = lead_ids.map(
        leads.drop_duplicates("lead_id").set_index("lead_id")["responsible_user_id"]
    )
    current = current.astype("Int64")
    history = changes.dropna(subset=["created_at"])
    touched = lead_ids.isin(history["lead_id"]).to_numpy()
    if not touched.any():
        return current
    asked = pd.DataFrame(
        {
            "lead_id": lead_ids.to_numpy(dtype="int64")[touched],
            "moment": moments.to_numpy()[touched],
            "order": np.flatnonzero(touched),
        }
    )
    asked["moment"] = asked["moment"].astype(UTC_NS)
    asked = asked.sort_values("moment", kind="stable")
    history = history[["lead_id", "created_at", "before_user_id", "after_user_id"]].astype(
        {"lead_id": "int64", "created_at": UTC_NS}
    )
    history = history.sort_values("created_at", kind="stable")
    common = {"left_on": "moment", "right_on": "created_at", "by": "lead_id"}
    before = pd.merge_asof(asked, history, direction="backward", **common)
    after = pd.merge_asof(asked, history, direction="forward", allow_exact_matches=False, **common)
    owner = before["after_user_id"].astype("Int64").fillna(after["before_user_id"].astype("Int64"))
    result = current.to_numpy(dtype=object, na_value=pd.NA)
    known = owner.notna().to_numpy()
    result[before["order"].to_numpy()[known]] = owner.to_numpy(dtype=object)[known]
    return pd.Series(result, index=lead_ids.index, dtype="Int64")

"""Deal rules (SPEC §7.2) evaluated on the current state of open leads.

`Store.record_violations` turns successive evaluations into first_seen_at / resolved_at.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from sheets_kpi.config import RulesConfig, StageRef
from sheets_kpi.kpi.fact_base import lookup
from sheets_kpi.kpi.stages import LOST, WON, pair_key, pair_keys, resolve

RULE_COLUMNS = ["lead_id", "rule"]


def evaluate_deal_rules(
    leads: pd.DataFrame,
    tasks: pd.DataFrame,
    statuses: pd.DataFrame,
    stage_changes: pd.DataFrame,
    rules: RulesConfig,
    now: pd.Timestamp,
) -> pd.DataFrame:
    """One row per (open lead, broken rule), sorted."""
    open_leads = leads[
        ~leads["is_deleted"] & leads["status_id"].notna() & ~leads["status_id"].isin([WON, LOST])
    ]
    found: list[pd.DataFrame] = []

    def flag(mask: pd.Series, rule: str) -> None:
        found.append(pd.DataFrame({"lead_id": open_leads.loc[mask, "lead_id"], "rule": rule}))

    if rules.no_next_task:
        pending = tasks[~tasks["is_completed"] & (tasks["entity_type"] == "leads")]
        flag(~open_leads["lead_id"].isin(pending["entity_id"].dropna()), "no_next_task")
    if rules.stale_stage_days:
        last_move = stage_changes.groupby("lead_id")["created_at"].max()
        since = lookup(last_move.astype(open_leads["created_at"].dtype), open_leads["lead_id"])
        since = since.fillna(open_leads["created_at"])
        flag(now - since > pd.Timedelta(days=rules.stale_stage_days), "stale_stage")
    for stage, required in rules.required_fields.items():
        reached = at_or_after(open_leads, [stage], statuses)
        flag(reached & ~open_leads["custom_fields"].map(_filled(required)), "required_fields")
    if rules.zero_price_after:
        reached = at_or_after(open_leads, rules.zero_price_after, statuses)
        flag(reached & (open_leads["price"].fillna(0) == 0), "zero_price_after")
    if not found:
        return pd.DataFrame({"lead_id": pd.Series(dtype="int64"), "rule": pd.Series(dtype=object)})
    out = pd.concat(found, ignore_index=True).astype({"lead_id": "int64", "rule": object})
    return out.drop_duplicates().sort_values(RULE_COLUMNS).reset_index(drop=True)


def _filled(required: list[str | int]) -> Callable[[object], bool]:
    """A check that every required field (by name, case-insensitive, or by id) has a value."""
    wanted = [str(name).strip().casefold() for name in required]

    def check(values: object) -> bool:
        present = {
            str(key).strip().casefold()
            for key, value in (values if isinstance(values, dict) else {}).items()
            if value not in (None, "", [])
        }
        return all(name in present for name in wanted)

    return check


def at_or_after(leads: pd.DataFrame, refs: list[StageRef], statuses: pd.DataFrame) -> pd.Series:
    """Leads in one of the stages, or in a later status (by `sort`) of the same pipeline."""
    pairs = resolve(refs, statuses)
    if not pairs or statuses.empty:
        return pd.Series(False, index=leads.index)
    sort = statuses.set_index(pair_key(statuses["pipeline_id"], statuses["status_id"]))["sort"]
    ordered = sorted(pairs)
    found = sort[~sort.index.duplicated()].reindex(pair_keys(ordered))
    threshold = found.set_axis([p for p, _ in ordered]).dropna().groupby(level=0).min()
    lead_sort = pair_key(leads["pipeline_id"], leads["status_id"]).map(sort)
    reached = lead_sort >= leads["pipeline_id"].map(threshold)
    return reached.fillna(False).astype(bool)

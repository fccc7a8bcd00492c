"""Deal rules (SPEC §7.2) evaluated on the current state of open leads."""

from __future__ import annotations

import pandas as pd

from sheets_kpi.config import RulesConfig, StageRef
from sheets_kpi.kpi.stages import LOST, WON, pair_key, resolve

RULE_COLUMNS = ["lead_id", "rule"]


def evaluate_deal_rules(
    leads: pd.DataFrame,
    tasks: pd.DataFrame,
    statuses: pd.DataFrame,
    stage_changes: pd.DataFrame,
    rules: RulesConfig,
    now: pd.Timestamp,
) -> pd.DataFrame:
    """One row per (open lead, broken rule)."""
    open_leads = leads[
        ~leads["is_deleted"] & ~leads["status_id"].isin([WON, LOST]) & leads["status_id"].notna()
    ]
    found: list[pd.DataFrame] = []

    def flag(mask: pd.Series, rule: str) -> None:
        hits = open_leads.loc[mask, ["lead_id"]].assign(rule=rule)
        found.append(hits)

    if rules.no_next_task:
        open_tasks = tasks[~tasks["is_completed"] & (tasks["entity_type"] == "leads")]
        flag(
            ~open_leads["lead_id"].isin(open_tasks["entity_id"].dropna().astype("int64")),
            "no_next_task",
        )
    if rules.stale_stage_days:
        last_move = stage_changes.groupby("lead_id")["created_at"].max()
        since = open_leads["lead_id"].map(last_move).fillna(open_leads["created_at"])
        flag(now - since > pd.Timedelta(days=rules.stale_stage_days), "stale_stage")
    for stage, required in rules.required_fields.items():
        at_stage = _at_or_after(open_leads, [stage], statuses, exact=True)
        missing = open_leads["custom_fields"].map(
            lambda values, names=required: any(str(n) not in (values or {}) for n in names)
        )
        flag(at_stage & missing, "required_fields")
    if rules.zero_price_after:
        past = _at_or_after(open_leads, rules.zero_price_after, statuses, exact=False)
        flag(past & (open_leads["price"].fillna(0) == 0), "zero_price_after")
    if not found:
        return pd.DataFrame(columns=RULE_COLUMNS)
    return pd.concat(found, ignore_index=True).drop_duplicates().reset_index(drop=True)


def _at_or_after(
    leads: pd.DataFrame, refs: list[StageRef], statuses: pd.DataFrame, exact: bool
) -> pd.Series:
    """Leads in one of the stages, or (not exact) in a later stage of the same pipeline."""
    pairs = resolve(refs, statuses)
    if not pairs:
        return pd.Series(False, index=leads.index)
    keys = pair_key(leads["pipeline_id"].fillna(0), leads["status_id"].fillna(0))
    if exact:
        return keys.isin([p * 1_000_000_000 + s for p, s in pairs])
    sort = statuses.set_index(pair_key(statuses["pipeline_id"], statuses["status_id"]))["sort"]
    threshold = {p: sort.get(p * 1_000_000_000 + s) for p, s in pairs}
    lead_sort = keys.map(sort)
    lead_threshold = leads["pipeline_id"].map(threshold)
    return (lead_sort >= lead_threshold).fillna(False).astype(bool)

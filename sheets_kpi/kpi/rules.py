"""Deal rules (SPEC §7.2) evaluated on the current state of open leads.

`Store.record_violations` turns successive evaluations into first_seen_at / resolved_at.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
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
    open_leads = still_open(leads)
    found: list[pd.DataFrame] = []

    def flag(mask: pd.Series, rule: str) -> None:
        found.append(pd.DataFrame({"lead_id": open_leads.loc[mask, "lead_id"], "rule": rule}))

    if rules.no_next_task:
        pending = tasks[~tasks["is_completed"] & (tasks["entity_type"] == "leads")]
        flag(~open_leads["lead_id"].isin(pending["entity_id"].dropna()), "no_next_task")
    if rules.stale_stage_days:
        flag(now > stale_at(open_leads, stage_changes, rules.stale_stage_days), "stale_stage")
    for stage, required in rules.required_fields.items():
        reached = at_or_after(open_leads, [stage], statuses)
        flag(_unfilled(open_leads["custom_fields"], reached, required), "required_fields")
    if rules.zero_price_after:
        reached = at_or_after(open_leads, rules.zero_price_after, statuses)
        flag(reached & (open_leads["price"].fillna(0) == 0), "zero_price_after")
    if not found:
        return pd.DataFrame({"lead_id": pd.Series(dtype="int64"), "rule": pd.Series(dtype=object)})
    out = pd.concat(found, ignore_index=True).astype({"lead_id": "int64", "rule": object})
    return out.drop_duplicates().sort_values(RULE_COLUMNS).reset_index(drop=True)


def still_open(leads: pd.DataFrame) -> pd.DataFrame:
    """Leads neither deleted, won nor lost: the ones the deal rules look at."""
    return leads[
        ~leads["is_deleted"] & leads["status_id"].notna() & ~leads["status_id"].isin([WON, LOST])
    ]


def stale_at(open_leads: pd.DataFrame, stage_changes: pd.DataFrame, days: int) -> pd.Series:
    """When each open lead becomes stale: its last stage move (or its creation) plus `days`."""
    last_move = stage_changes.groupby("lead_id")["created_at"].max()
    since = lookup(last_move.astype(open_leads["created_at"].dtype), open_leads["lead_id"])
    return since.fillna(open_leads["created_at"]) + pd.Timedelta(days=days)


def _unfilled(fields: pd.Series, reached: pd.Series, required: list[str | int]) -> pd.Series:
    """Leads at or past the stage missing a required field; only those are looked into (a
    Python check per lead, most of which have not reached the stage)."""
    missing = np.zeros(len(fields), dtype=bool)
    at = np.flatnonzero(reached.to_numpy())
    filled = _filled(required)
    missing[at] = [not filled(values) for values in fields.to_numpy()[at]]
    return pd.Series(missing, index=fields.index)


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


def onsets(
    found: pd.DataFrame,
    leads: pd.DataFrame,
    tasks: pd.DataFrame,
    statuses: pd.DataFrame,
    stage_changes: pd.DataFrame,
    rules: RulesConfig,
    now: pd.Timestamp,
) -> pd.Series:
    """When each (lead, rule) of `found` began, read from the lead's history; NaT where the
    history does not say (backlog: counted in no period).

    For the first evaluation, when every violation found already exists:
    - `stale_stage`: the last status change (or the creation) + `stale_stage_days`;
    - `zero_price_after`: the start of the lead's current stay at or past the stage (open), its
      price taken as 0 all along (no price history is synced);
    - `no_next_task`: the last completion of a task of the lead, else the entry into its current
      status (or the creation); a completed task with no known completion time leaves it unknown;
    - `required_fields`: unknown (no field history).
    A lead's creation is a known start only when it is younger than the stage-change history
    (the earliest event synced): an older lead may have moved before it.
    """
    out = pd.Series(pd.NaT, index=found.index, dtype="datetime64[ns, UTC]")
    if found.empty:
        return out
    lead = leads.drop_duplicates("lead_id").set_index("lead_id")
    changes = stage_changes[stage_changes["created_at"].notna()]
    changes = changes.sort_values("created_at", kind="stable")
    created = lookup(lead["created_at"], found["lead_id"])
    horizon = changes["created_at"].min() if not changes.empty else pd.NaT
    young = created >= horizon if not pd.isna(horizon) else pd.Series(False, index=found.index)
    known_creation = created.where(young)
    last_move = lookup(changes.groupby("lead_id")["created_at"].max(), found["lead_id"])
    entered = last_move.fillna(known_creation)
    rule = found["rule"]

    stale = rule == "stale_stage"
    if rules.stale_stage_days:
        out[stale] = entered[stale] + pd.Timedelta(days=rules.stale_stage_days)

    no_task = rule == "no_next_task"
    done = tasks[(tasks["entity_type"] == "leads") & tasks["is_completed"]]
    done = done.dropna(subset=["entity_id"]).astype({"entity_id": "int64"})
    last_done = done.groupby("entity_id")["completed_at"].max()
    unknown_done = done.loc[done["completed_at"].isna(), "entity_id"]
    completed = lookup(last_done.astype(out.dtype), found["lead_id"])
    had_done = found["lead_id"].isin(done["entity_id"])
    by_task = completed.where(~found["lead_id"].isin(unknown_done))
    out[no_task] = by_task.where(had_done, entered)[no_task]

    zero = rule == "zero_price_after"
    if rules.zero_price_after and zero.any():
        out[zero] = _reached_since(
            found.loc[zero, "lead_id"],
            known_creation[zero],
            changes,
            statuses,
            rules.zero_price_after,
        )
    return out.where(out.isna() | (out <= now), now)


def _stage_flags(
    pipeline: pd.Series, status: pd.Series, stages: list[StageRef], statuses: pd.DataFrame
) -> pd.Series:
    """At or past the stage and still open (a closed lead breaks no rule)."""
    frame = pd.DataFrame({"pipeline_id": pipeline, "status_id": status})
    return at_or_after(frame, stages, statuses) & ~status.isin([WON, LOST]).astype(bool)


def _reached_since(
    lead_ids: pd.Series,
    creation: pd.Series,
    changes: pd.DataFrame,
    statuses: pd.DataFrame,
    stages: list[StageRef],
) -> pd.Series:
    """The start of each lead's current stay at or past the stage (and open), from its status
    changes: the move after the last one that landed outside; the first move when the lead was
    outside before it; its (known) creation when it never was outside. NaT when the last
    recorded move landed outside (the history lags the lead) or the start is before the
    history."""
    mine = changes[changes["lead_id"].isin(lead_ids)].copy()
    mine["inside"] = _stage_flags(mine["pipeline_id"], mine["status_id"], stages, statuses)
    came_from_outside = ~_stage_flags(
        mine["before_pipeline_id"], mine["before_status_id"], stages, statuses
    )
    mine["from_outside"] = came_from_outside & mine["before_status_id"].notna()
    mine["from_inside"] = ~came_from_outside
    since = dict(zip(lead_ids, creation, strict=True))  # never moved: there since creation
    for lead_id, moves in mine.groupby("lead_id", sort=False):
        inside = moves["inside"].to_numpy()
        outside = (~inside).nonzero()[0]
        if not inside[-1]:
            since[lead_id] = pd.NaT
        elif len(outside):
            since[lead_id] = moves["created_at"].iloc[outside[-1] + 1]
        elif moves["from_outside"].iloc[0]:
            since[lead_id] = moves["created_at"].iloc[0]
        elif not moves["from_inside"].iloc[0]:
            since[lead_id] = pd.NaT  # where it was before its first move is not recorded
    return pd.Series(
        [since[lead_id] for lead_id in lead_ids], index=lead_ids.index, dtype=creation.dtype
    )

"""Lead facts: stages reached, wins, deal violations and clean deals (SPEC §7.1, §7.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.kpi.appeals import standing_deal_violations, standing_violations
from sheets_kpi.kpi.fact_base import Context, first_per_period, lookup, rows
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.ownership import responsible_at
from sheets_kpi.kpi.periods import local_date, next_start, period_starts, to_utc, today
from sheets_kpi.kpi.stages import LOST, WON, pair_key, pair_keys, pipelines, resolve


def _owner(inputs: Inputs, lead_ids: pd.Series, moments: pd.Series) -> pd.Series:
    return responsible_at(inputs.leads, inputs.responsible_changes, lead_ids, moments)


def _deleted(inputs: Inputs) -> pd.Series:
    return inputs.leads.loc[inputs.leads["is_deleted"], "lead_id"]


def stage_reached(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    """Leads entering the stage, once per lead per period, credited to the mover.

    A robot (created_by 0) or anyone outside the roster gives way to the lead's responsible
    user at that moment.
    """
    pairs = resolve(context.config.amocrm.stages.get(arg or "", []), inputs.statuses)
    changes = inputs.stage_changes
    changes = changes[
        (changes["created_at"] >= context.since_utc)
        & pair_key(changes["pipeline_id"], changes["status_id"]).isin(pair_keys(pairs))
        & ~changes["lead_id"].isin(_deleted(inputs))
    ]
    changes = changes.assign(date=local_date(changes["created_at"], context.zone))
    first = first_per_period(changes, "lead_id", context.grain)
    actor = first["created_by"].astype("Int64")
    owner = _owner(inputs, first["lead_id"], first["created_at"])
    return rows(first["date"], actor.where(actor.isin(context.roster_ids), owner))


def wins(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    """Leads won now, each dated once at its last entry into 142, with the owner at that time.

    A lead won, reopened and won again counts once, on the final win; one reopened and not won
    again does not count at all (pay follows deals that stay won).
    """
    leads = inputs.leads
    won = leads[~leads["is_deleted"] & (leads["status_id"] == WON)]
    if arg is not None:
        won = won[won["pipeline_id"].isin(_filter_pipelines(inputs, context, arg))]
    changes = inputs.stage_changes
    last_entry = changes[changes["status_id"] == WON].groupby("lead_id")["created_at"].max()
    moment = lookup(last_entry.astype(won["closed_at"].dtype), won["lead_id"])
    won = won.assign(moment=moment.fillna(won["closed_at"]))
    won = won[won["moment"].notna() & (won["moment"] >= context.since_utc)]
    return won.assign(
        date=local_date(won["moment"], context.zone),
        manager_id=_owner(inputs, won["lead_id"], won["moment"]),
    )


def _filter_pipelines(inputs: Inputs, context: Context, arg: str) -> set[int]:
    """`upsell` → the configured upsell pipelines; digits → that pipeline id."""
    if arg == "upsell":
        return pipelines(context.config.amocrm.upsell.pipelines, inputs.statuses)
    return {int(arg)} if arg.isdigit() else set()


def won_amount(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    won = wins(inputs, context, arg)
    return rows(won["date"], won["manager_id"], won["price"].fillna(0.0))


def won_count(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    won = wins(inputs, context, arg)
    return rows(won["date"], won["manager_id"])


def rules_first_evaluated(inputs: Inputs) -> pd.Timestamp | None:
    """When the deal rules were first evaluated (UTC); None when not known (then every
    recorded violation is taken as measured)."""
    first = inputs.rule_evaluation["first_at"].dropna()
    return first.min() if len(first) else None


def rules_measured_from(inputs: Inputs, zone: str) -> pd.Timestamp | None:
    """The first local day automatic deal-rule facts are measured on: that of the first
    evaluation. Before it, violations that began and ended are unknown, so no day is told."""
    first = rules_first_evaluated(inputs)
    return None if first is None else today(first, zone)


def deal_violations(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    """Automatic violations on their first-seen day (owner then) + manual `deal` rows.

    Backlog (open at the first evaluation, start unknown) counts in no period, and neither does
    an automatic violation dated before the first evaluation's day: days before it are not
    measured. Manual rows are typed facts and always count.
    """
    auto = standing_deal_violations(inputs, context.zone)
    auto = auto[~auto["backlog"] & (auto["first_seen_at"] >= context.since_utc)]
    day = local_date(auto["first_seen_at"], context.zone)
    measured = rules_measured_from(inputs, context.zone)
    if measured is not None:
        auto, day = auto[day >= measured], day[day >= measured]
    manual = standing_violations(inputs, context.zone)
    manual = manual[manual["type"] == "deal"]
    return pd.concat(
        [
            rows(day, _owner(inputs, auto["lead_id"], auto["first_seen_at"])),
            rows(manual["date"], manual["manager_id"]),
        ],
        ignore_index=True,
    )


def deals_correct_share(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    """Per period, each lead open at some moment of it: num 1 if no violation overlapped it.

    den 1 per (lead, period), dated on the lead's first open day of the period and credited to
    its owner at the period's end (or now, for the current period). Periods are measured from
    the rules' first evaluation: one that ended before it has no rows (not 100 %), and the one
    holding it counts the leads open from that instant on, dated no earlier than its day.
    """
    leads = inputs.leads[~inputs.leads["is_deleted"]]
    starts = period_starts(context.since, context.today, context.grain)
    start_utc = to_utc(starts, context.zone).asi8
    # The current period ends just after `now`: the computing instant itself belongs to it.
    end_utc = np.minimum(
        to_utc(next_start(starts, context.grain), context.zone).asi8, context.now.value + 1
    )
    first_day: np.datetime64 = np.datetime64("NaT", "ns")
    first = rules_first_evaluated(inputs)
    if first is not None:
        measured = end_utc > first.value
        starts, start_utc, end_utc = starts[measured], start_utc[measured], end_utc[measured]
        start_utc = np.maximum(start_utc, first.value)
        first_day = today(first, context.zone).to_datetime64()
    closed_at = leads["closed_at"].where(
        leads["closed_at"].notna() | ~leads["status_id"].isin([WON, LOST]), leads["updated_at"]
    )
    created = leads["created_at"].to_numpy(dtype="datetime64[ns]").view("int64")
    closed = closed_at.to_numpy(dtype="datetime64[ns]").view("int64")
    closed = np.where(closed_at.isna().to_numpy(), np.iinfo("int64").max, closed)
    active = (created[:, None] < end_utc[None, :]) & (closed[:, None] >= start_utc[None, :])
    lead_at, period_at = np.nonzero(active)
    lead_ids = pd.Series(leads["lead_id"].to_numpy()[lead_at])
    spans = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "start": start_utc[period_at],
            "end": end_utc[period_at],
            "date": np.maximum(
                np.fmax(starts.to_numpy()[period_at], first_day),
                local_date(leads["created_at"], context.zone).to_numpy()[lead_at],
            ),
        }
    )
    moments = pd.Series(pd.to_datetime(spans["end"] - 1, utc=True))
    owner = _owner(inputs, lead_ids, moments)
    marks = standing_deal_violations(inputs, context.zone)
    marks = pd.DataFrame(
        {
            "lead_id": marks["lead_id"].to_numpy(dtype="int64"),
            "first": marks["first_seen_at"].to_numpy(dtype="datetime64[ns]").view("int64"),
            # an open violation lasts up to and including now
            "last": marks["resolved_at"]
            .fillna(context.now + pd.Timedelta(1, "ns"))
            .to_numpy(dtype="datetime64[ns]")
            .view("int64"),
        }
    )
    pairs = spans[["lead_id", "start", "end"]].reset_index().merge(marks, on="lead_id")
    broke = pairs.loc[(pairs["first"] < pairs["end"]) & (pairs["last"] > pairs["start"]), "index"]
    clean = ~spans.index.isin(broke.unique())
    return rows(spans["date"], owner, clean.astype(float), 1.0)

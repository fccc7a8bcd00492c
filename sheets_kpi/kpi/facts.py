"""The daily fact table (SPEC §7.1): one row per (date, manager_id, metric) with num and den.

Any period's value is sum(num) / sum(den), or sum(num) for counts and sums, so weekly and monthly
figures are aggregated, never averaged. Metrics that count a lead once per period
(`Metric.distinct`) depend on the period length: they are built at a `grain` (month for plans,
week for dynamics) and dated on the lead's first qualifying day of each month or week, which
keeps "sum over the days of one period" exact for that grain.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi import activity_facts, lead_facts
from sheets_kpi.kpi.fact_base import Context
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.kept_facts import KeptFacts
from sheets_kpi.kpi.metrics import parse_metric
from sheets_kpi.kpi.periods import Grain

FACT_COLUMNS = ["date", "manager_id", "metric", "num", "den"]

Builder = Callable[[Inputs, Context, "str | None"], pd.DataFrame]
#: the daily rows of each metric in the registry, given its argument.
BUILDERS: dict[str, Builder] = {
    "stage_reached": lead_facts.stage_reached,
    "won_amount": lead_facts.won_amount,
    "won_count": lead_facts.won_count,
    "deal_violations": lead_facts.deal_violations,
    "deals_correct_share": lead_facts.deals_correct_share,
    "calls_missed_share": activity_facts.calls_missed_share,
    "callback_minutes": activity_facts.callback_minutes,
    "calls_outgoing": activity_facts.calls_outgoing,
    "tasks_overdue": activity_facts.tasks_overdue,
    "tasks_overdue_share": activity_facts.tasks_overdue_share,
    "tasks_completed": activity_facts.tasks_completed,
    "score_avg": activity_facts.score_avg,
    "nps": activity_facts.nps,
    "violations": activity_facts.violations,
    "appeals_lost": activity_facts.appeals_lost,
}
#: The builders that read the clock (`context.now`, or `today` from it): their rows move with
#: it, so they are built in every compute, never kept (`KeptFacts`). A test fails when a builder
#: whose rows move with the clock is missing here.
CLOCKED = frozenset(
    {"callback_minutes", "deals_correct_share", "tasks_overdue", "tasks_overdue_share"}
)

#: Clocked builders made of a part the clock does not move, kept like the rows of a builder
#: that does not read it, and the clock's step on that part: a missed call's minutes to its
#: callback are the data's, those elapsed by now the clock's.
STAGED: dict[str, tuple[Builder, Callable[[pd.DataFrame, Context], pd.DataFrame]]] = {
    "callback_minutes": (activity_facts.callbacks, activity_facts.callback_minutes_at),
}


#: Metrics of the deal rules, measured from the rules' first evaluation only.
RULE_METRICS = ("deal_violations", "deals_correct_share")


def measured_from(inputs: Inputs, config: Config) -> dict[str, pd.Timestamp]:
    """Configured metrics that are measured from a later day than the data: each → its first
    local day (the deal-rule metrics, from the rules' first evaluation). Days and weeks before
    it have no value, not a 0 or a 100 %."""
    day = lead_facts.rules_measured_from(inputs, config.timezone)
    if day is None:
        return {}
    return {m: day for m in configured_metrics(config) if parse_metric(m)[0].name in RULE_METRICS}


def configured_metrics(config: Config) -> list[str]:
    return sorted({kpi.metric for dept in config.departments for kpi in dept.kpis})


def daily_facts(
    inputs: Inputs,
    config: Config,
    now: pd.Timestamp,
    since: pd.Timestamp,
    grain: Grain = "month",
    metrics: list[str] | None = None,
    kept: KeptFacts | None = None,
) -> pd.DataFrame:
    """Facts of `metrics` (default: all configured) dated from `since` up to today; `kept`
    (`serve`'s, started on `inputs`) hands out the rows of a builder that does not read the
    clock again when the frames it read and the context are the same, and so the steady part
    of a `STAGED` one."""
    context = Context(
        config=config,
        now=now,
        since=since,
        grain=grain,
        roster_ids=frozenset(inputs.roster["manager_id"].astype("int64")),
    )
    parts = []
    for metric in configured_metrics(config) if metrics is None else metrics:
        measured, arg = parse_metric(metric)
        builder = BUILDERS[measured.name]
        if kept is not None and measured.name in STAGED:
            steady, at_now = STAGED[measured.name]
            part = at_now(kept.part(f"{metric} steady", context, steady, arg), context)
        elif kept is None or measured.name in CLOCKED:
            part = builder(inputs, context, arg)
        else:
            part = kept.part(metric, context, builder, arg)
        parts.append(part.assign(metric=metric))
    if not parts:
        return pd.DataFrame(
            {"date": pd.Series(dtype="datetime64[ns]"), "manager_id": pd.Series(dtype="int64")}
            | {c: pd.Series(dtype=float) for c in ("num", "den")}
            | {"metric": pd.Series(dtype=object)}
        )[FACT_COLUMNS]
    facts = pd.concat(parts, ignore_index=True)
    keep = facts["manager_id"].notna() & (facts["date"] >= since) & (facts["date"] <= context.today)
    facts = facts[keep].astype({"manager_id": "int64", "metric": object})
    return sum_num_den(facts, ["date", "manager_id", "metric"])[FACT_COLUMNS]


#: Metrics whose facts are won leads: the records behind the money an approval freezes.
WIN_METRICS = ("won_amount", "won_count")
WIN_COLUMNS = ["metric", "lead_id", "lead_name", "price", "won_at", "date", "manager_id"]


def won_records(
    inputs: Inputs, config: Config, now: pd.Timestamp, since: pd.Timestamp
) -> pd.DataFrame:
    """The won leads behind each configured won_* metric, dated from `since`: the deals a
    statement pays for, so a later reopen, deletion, new price or new owner can be named."""
    context = Context(config, now, since, "month", frozenset(inputs.roster["manager_id"]))
    parts = []
    for metric in configured_metrics(config):
        measured, arg = parse_metric(metric)
        if measured.name in WIN_METRICS:
            parts.append(lead_facts.wins(inputs, context, arg).assign(metric=metric))
    if not parts:
        return pd.DataFrame(columns=WIN_COLUMNS)
    won = pd.concat(parts, ignore_index=True).rename(
        columns={"name": "lead_name", "moment": "won_at"}
    )
    won = won[won["manager_id"].notna() & (won["date"] >= since)]
    return won[WIN_COLUMNS].astype({"manager_id": "int64"}).reset_index(drop=True)


def sum_num_den(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sum num and den per group; den stays empty where no row of the group had one."""
    grouped = frame.groupby(keys, sort=True, observed=True)
    out = grouped["num"].sum().to_frame()
    out["den"] = grouped["den"].sum(min_count=1)
    return out.reset_index()


def value(num: pd.Series, den: pd.Series, ratio: pd.Series | np.ndarray) -> np.ndarray:
    """A period's value: num/den for ratios (empty when den is 0 or missing), else num."""
    n, d = num.to_numpy(dtype=float), den.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.where(d > 0, n / d, np.nan)
    return np.where(np.asarray(ratio, dtype=bool), quotient, n)

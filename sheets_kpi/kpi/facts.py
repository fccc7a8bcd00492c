"""The daily fact table (SPEC §7.1): one row per (date, manager, metric) with num and den.

Any period's value is sum(num) / sum(den) (or sum(num) where den is empty), so weekly and
monthly figures are aggregated, never averaged. Facts that count a lead once per month
(stage_reached, won_*, deals_correct_share) are dated on the lead's first qualifying day of that
month, which keeps daily sums exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.periods import local_date
from sheets_kpi.kpi.stages import WON, pair_key, pair_keys, pipelines, resolve

FACT_COLUMNS = ["date", "manager_id", "metric", "num", "den"]
#: Metrics whose value is a ratio num/den; the rest are plain counts or sums.
RATIO_METRICS = frozenset(
    {
        "calls_missed_share",
        "callback_minutes",
        "tasks_overdue_share",
        "deals_correct_share",
        "score_avg",
        "nps",
    }
)


def daily_facts(inputs: Inputs, config: Config, now: pd.Timestamp) -> pd.DataFrame:
    """Every metric any configured KPI uses, for every day with activity."""
    metrics = sorted({kpi.metric for dept in config.departments for kpi in dept.kpis})
    zone = config.timezone
    roster_ids = set(inputs.roster["manager_id"].astype("int64"))
    parts = []
    for metric in metrics:
        name, _, arg = metric.partition("(")
        part = _BUILDERS[name](inputs, config, now, zone, arg.rstrip(")") or None, roster_ids)
        parts.append(part.assign(metric=metric))
    if not parts:
        return pd.DataFrame(columns=FACT_COLUMNS)
    facts = pd.concat(parts, ignore_index=True)
    facts = facts.dropna(subset=["manager_id"])
    facts["manager_id"] = facts["manager_id"].astype("int64")
    return sum_num_den(facts, ["date", "manager_id", "metric"])[FACT_COLUMNS]


def sum_num_den(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sum num and den per group; den stays empty where no row of the group had one."""
    grouped = frame.groupby(keys, sort=True)
    out = grouped["num"].sum().to_frame()
    out["den"] = grouped["den"].sum(min_count=1)
    return out.reset_index()


def _facts(
    date: pd.Series, manager: pd.Series, num: object = 1.0, den: object = np.nan
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": date.to_numpy(),
            "manager_id": manager.to_numpy(),
            "num": num if np.isscalar(num) else np.asarray(num, dtype=float),
            "den": den if np.isscalar(den) else np.asarray(den, dtype=float),
        },
        index=range(len(date)),
    )


def _month(dates: pd.Series) -> pd.Series:
    return dates.dt.to_period("M")


def _first_in_month(events: pd.DataFrame, key: str) -> pd.DataFrame:
    """The first row per (key, local month): a lead counts once per period."""
    events = events.sort_values(["date", "created_at"], kind="stable")
    return events.loc[~events.assign(month=_month(events["date"])).duplicated([key, "month"])]


def _responsible(inputs: Inputs) -> pd.Series:
    return inputs.leads.set_index("lead_id")["responsible_user_id"]


def stage_reached(inputs: Inputs, config: Config, now, zone, arg, roster_ids) -> pd.DataFrame:
    pairs = resolve(config.amocrm.stages.get(arg or "", []), inputs.statuses)
    changes = inputs.stage_changes
    keys = pair_key(changes["pipeline_id"].fillna(0), changes["status_id"].fillna(0))
    entered = changes[keys.isin(pair_keys(pairs))].assign(
        date=lambda f: local_date(f["created_at"], zone)
    )
    entered = _first_in_month(entered, "lead_id")
    actor = entered["created_by"]
    fallback = entered["lead_id"].map(_responsible(inputs))
    who = actor.where(actor.isin(roster_ids), fallback)
    return _facts(entered["date"], who)


def _wins(inputs: Inputs, zone: str, pipeline_ids: set[int] | None) -> pd.DataFrame:
    """Leads entering won (142) per month, with the responsible user at that moment."""
    changes = inputs.stage_changes
    won = changes[changes["status_id"] == WON][["lead_id", "created_at", "pipeline_id"]]
    leads = inputs.leads[~inputs.leads["is_deleted"]]
    closed = leads[
        (leads["status_id"] == WON)
        & leads["closed_at"].notna()
        & ~leads["lead_id"].isin(won["lead_id"])
    ]
    closed = closed[["lead_id", "closed_at", "pipeline_id"]].rename(
        columns={"closed_at": "created_at"}
    )
    won = pd.concat([won, closed], ignore_index=True)
    won = won[won["lead_id"].isin(leads["lead_id"])]
    if pipeline_ids is not None:
        won = won[won["pipeline_id"].isin(pipeline_ids)]
    won = won.assign(date=local_date(won["created_at"], zone))
    won = _first_in_month(won, "lead_id")
    won["manager_id"] = responsible_at(inputs, won["lead_id"], won["created_at"])
    won["price"] = won["lead_id"].map(leads.set_index("lead_id")["price"]).fillna(0.0)
    return won


def responsible_at(inputs: Inputs, lead_ids: pd.Series, moments: pd.Series) -> pd.Series:
    """Who was responsible for each lead at each moment, from the responsibility history."""
    current = lead_ids.map(_responsible(inputs))
    history = inputs.responsible_changes.dropna(subset=["created_at"])
    if history.empty or lead_ids.empty:
        return current
    asked = pd.DataFrame(
        {
            "lead_id": lead_ids.astype("int64").to_numpy(),
            "moment": moments.to_numpy(),
            "order": range(len(lead_ids)),
        }
    )
    history = history.sort_values("created_at")
    before = pd.merge_asof(
        asked.sort_values("moment"),
        history,
        left_on="moment",
        right_on="created_at",
        by="lead_id",
        direction="backward",
    )
    after = pd.merge_asof(
        asked.sort_values("moment"),
        history,
        left_on="moment",
        right_on="created_at",
        by="lead_id",
        direction="forward",
        allow_exact_matches=False,
    )
    who = (
        before.set_index("order")["after_user_id"]
        .combine_first(after.set_index("order")["before_user_id"])
        .sort_index()
    )
    return pd.Series(who.to_numpy(), index=lead_ids.index).combine_first(current)


def won_amount(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    won = _wins(inputs, zone, _upsell(inputs, config) if arg == "upsell" else None)
    return _facts(won["date"], won["manager_id"], won["price"])


def won_count(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    won = _wins(inputs, zone, _upsell(inputs, config) if arg == "upsell" else None)
    return _facts(won["date"], won["manager_id"])


def _upsell(inputs: Inputs, config: Config) -> set[int]:
    return pipelines(config.amocrm.upsell.pipelines, inputs.statuses)


def missed_calls(calls: pd.DataFrame, config: Config) -> pd.Series:
    incoming = calls["direction"] == "in"
    failed = calls["call_status"].isin(config.amocrm.missed_call_statuses).fillna(False)
    return incoming & (failed.astype(bool) | (calls["duration"] == 0))


def calls_missed_share(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    calls = inputs.calls
    incoming = calls[calls["direction"] == "in"]
    missed = missed_calls(incoming, config)
    return _facts(
        local_date(incoming["created_at"], zone), incoming["user_id"], missed.astype(float), 1.0
    )


def callback_minutes(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    """Minutes from a missed call to the next outgoing call to the same phone (or contact)."""
    calls = inputs.calls.assign(key=_call_key(inputs.calls))
    missed = calls[missed_calls(calls, config) & calls["key"].ne("")]
    window = config.amocrm.callback_window_hours * 60
    if missed.empty:
        return _facts(missed["created_at"], missed["user_id"])
    outgoing = calls[(calls["direction"] == "out") & calls["key"].ne("")]
    joined = pd.merge_asof(
        missed.sort_values("created_at"),
        outgoing[["created_at", "key"]]
        .rename(columns={"created_at": "called_back_at"})
        .sort_values("called_back_at"),
        left_on="created_at",
        right_on="called_back_at",
        by="key",
        direction="forward",
        allow_exact_matches=False,
    )
    minutes = (joined["called_back_at"] - joined["created_at"]).dt.total_seconds() / 60
    minutes = minutes.fillna(window).clip(upper=window)
    return _facts(local_date(joined["created_at"], zone), joined["user_id"], minutes, 1.0)


def _call_key(calls: pd.DataFrame) -> pd.Series:
    phone = calls["phone"].fillna("").astype(str)
    contact = "c" + calls["contact_id"].astype("string").fillna("")
    return phone.where(phone != "", contact.where(contact != "c", "")).astype(object)


def calls_outgoing(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    out = inputs.calls[inputs.calls["direction"] == "out"]
    return _facts(local_date(out["created_at"], zone), out["user_id"])


def _due_tasks(inputs: Inputs, now: pd.Timestamp) -> pd.DataFrame:
    """Tasks whose deadline has passed, flagged overdue when done late or not done."""
    tasks = inputs.tasks[
        inputs.tasks["complete_till"].notna() & (inputs.tasks["complete_till"] <= now)
    ]
    late = tasks["completed_at"].notna() & (tasks["completed_at"] > tasks["complete_till"])
    undone = ~tasks["is_completed"]
    return tasks.assign(overdue=(late | undone).astype(float))


def tasks_overdue(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    due = _due_tasks(inputs, now)
    due = due[due["overdue"] > 0]
    return _facts(local_date(due["complete_till"], zone), due["responsible_user_id"])


def tasks_overdue_share(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    due = _due_tasks(inputs, now)
    return _facts(
        local_date(due["complete_till"], zone), due["responsible_user_id"], due["overdue"], 1.0
    )


def tasks_completed(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    done = inputs.tasks[inputs.tasks["completed_at"].notna()]
    return _facts(local_date(done["completed_at"], zone), done["responsible_user_id"])


def deal_violations(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    auto = inputs.deal_violations
    manual = inputs.violations[inputs.violations["type"] == "deal"]
    return pd.concat(
        [
            _facts(
                local_date(auto["first_seen_at"], zone), auto["lead_id"].map(_responsible(inputs))
            ),
            _facts(manual["date"], manual["manager_id"]),
        ],
        ignore_index=True,
    )


def deals_correct_share(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    """Per month, each lead open at some point in it: 1/1 if it broke no rule then, else 0/1."""
    leads = inputs.leads[~inputs.leads["is_deleted"]]
    today = local_date(pd.Series([now]), zone).iloc[0]
    opened = local_date(leads["created_at"], zone)
    closed = local_date(leads["closed_at"].fillna(now), zone).clip(upper=today)
    first_month = opened.dt.year * 12 + opened.dt.month - 1
    months = (closed.dt.year * 12 + closed.dt.month - 1 - first_month + 1).clip(lower=0)
    rows = np.repeat(np.arange(len(leads)), months.to_numpy())
    offset = np.arange(len(rows)) - np.repeat(
        np.cumsum(months.to_numpy()) - months.to_numpy(), months.to_numpy()
    )
    month_index = first_month.to_numpy()[rows] + offset
    month_start = pd.to_datetime(
        {"year": month_index // 12, "month": month_index % 12 + 1, "day": 1}
    )
    spans = pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy()[rows],
            "manager_id": leads["responsible_user_id"].to_numpy()[rows],
            "date": np.maximum(month_start.to_numpy(), opened.to_numpy()[rows]),
            "month_end": (month_start + pd.offsets.MonthEnd(0)).to_numpy(),
        }
    )
    violations = inputs.deal_violations
    marks = pd.DataFrame(
        {
            "lead_id": violations["lead_id"].to_numpy(),
            "first": local_date(violations["first_seen_at"], zone).to_numpy(),
            "last": local_date(violations["resolved_at"].fillna(now), zone).to_numpy(),
        }
    )
    merged = spans.reset_index().merge(marks, on="lead_id", how="inner")
    broke = merged[(merged["first"] <= merged["month_end"]) & (merged["last"] >= merged["date"])]
    clean = ~spans.index.isin(broke["index"].unique())
    return _facts(spans["date"], spans["manager_id"], clean.astype(float), 1.0)


def score_avg(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    scores = inputs.scores[inputs.scores["kind"] == arg]
    return _facts(scores["date"], scores["manager_id"], scores["score"], 1.0)


def nps(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    scores = inputs.scores[inputs.scores["kind"] == "nps"]
    points = np.where(scores["score"] >= 9, 100.0, np.where(scores["score"] <= 6, -100.0, 0.0))
    return _facts(scores["date"], scores["manager_id"], points, 1.0)


def violations(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    rows = inputs.violations[inputs.violations["type"] == arg]
    return _facts(rows["date"], rows["manager_id"])


def appeals_lost(inputs, config, now, zone, arg, roster_ids) -> pd.DataFrame:
    rows = inputs.appeals[inputs.appeals["outcome"] == "lost"]
    return _facts(rows["date"], rows["manager_id"])


_BUILDERS = {
    "stage_reached": stage_reached,
    "won_amount": won_amount,
    "won_count": won_count,
    "calls_missed_share": calls_missed_share,
    "callback_minutes": callback_minutes,
    "calls_outgoing": calls_outgoing,
    "tasks_overdue": tasks_overdue,
    "tasks_overdue_share": tasks_overdue_share,
    "tasks_completed": tasks_completed,
    "deal_violations": deal_violations,
    "deals_correct_share": deals_correct_share,
    "score_avg": score_avg,
    "nps": nps,
    "violations": violations,
    "appeals_lost": appeals_lost,
}

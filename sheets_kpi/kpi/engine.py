"""`compute(inputs, config, now)`: every table the reports need, from frames only."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi import appeals, dynamics, issues, matrix, retention
from sheets_kpi.kpi.bonus import bonuses
from sheets_kpi.kpi.explain import pace_fact, still_needed, top_kpi, with_plan_to_date
from sheets_kpi.kpi.facts import (
    WIN_COLUMNS,
    configured_metrics,
    daily_facts,
    measured_from,
    won_records,
)
from sheets_kpi.kpi.horizon import next_change
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.kept_facts import KeptFacts
from sheets_kpi.kpi.kept_months import KeptMonths, MonthBasis
from sheets_kpi.kpi.metrics import parse_metric
from sheets_kpi.kpi.periods import Period, period_start, to_utc, today
from sheets_kpi.kpi.plan_fact import achievement, kpi_catalogue, period_table, resolve_plans
from sheets_kpi.kpi.scoring import competition_rank, contributions, scores

__all__ = ["KPI_COLUMNS", "MANAGER_COLUMNS", "PeriodFigures", "Results", "compute"]

#: Ended months computed besides the current one (the manager tab's strip of past months).
HISTORY_MONTHS = 6

KPI_COLUMNS = [
    "period",
    "period_start",
    "period_end",
    "department",
    "manager_id",
    "manager",
    "kpi",
    "kpi_title",
    "unit",
    "direction",
    "plan",
    "fact",
    "achievement",
    "weight",
    "contribution",
    "score",
    "rank",
    "bonus",
    "still_needed",
    "forecast_fact",
    "plan_to_date",
    "num",
    "den",
    "metric",
    "plan_from",
]
MANAGER_COLUMNS = [
    "manager_id",
    "manager",
    "department",
    "seniority",
    "score",
    "rank",
    "rank_change",
    "ranked_count",
    "bonus",
    "bonus_at_pace",
    "prize",
    "top_kpi",
    "previous_score",
    "previous_rank",
    "score_at_pace",
    "rank_at_pace",
    "bonus_base",
]


#: A manager's standing in one period: what a statement is made of.
STANDING_COLUMNS = [
    "manager_id",
    "manager",
    "department",
    "bonus_base",
    "score",
    "rank",
    "prize",
    "bonus",
]


@dataclass
class PeriodFigures:
    """An ended plan month computed at the computing instant with the data as it is then: its
    KPI rows (`KPI_COLUMNS`), each manager's standing (`STANDING_COLUMNS`) and the won leads
    dated in it (`facts.WIN_COLUMNS`)."""

    period: Period
    kpi: pd.DataFrame
    managers: pd.DataFrame
    wins: pd.DataFrame


@dataclass
class Results:
    period: Period
    daily: pd.DataFrame
    kpi: pd.DataFrame
    managers: pd.DataFrame
    weekly: pd.DataFrame
    matrix: pd.DataFrame
    matrix_by_manager: pd.DataFrame
    retention: pd.DataFrame
    open_violations: pd.DataFrame
    overdue_tasks: pd.DataFrame
    issues: pd.DataFrame
    #: Won leads of the current period.
    wins: pd.DataFrame
    #: The ended months, the last one first.
    past: list[PeriodFigures]
    #: Each lead's state now (lead_id, is_deleted, status_id): why an approved win moved.
    leads: pd.DataFrame
    #: The first instant at which these numbers may differ with the same data (`horizon`).
    changes_at: pd.Timestamp


def compute(
    inputs: Inputs,
    config: Config,
    now: pd.Timestamp,
    months_back: int | None = None,
    settled: frozenset[str] = frozenset(),
    kept: KeptMonths | None = None,
    facts: KeptFacts | None = None,
) -> Results:
    """The current plan month (the one holding `now` in config.timezone), the ended months
    before it (`months_back`, default the strip or the watched months) and the analytics.
    `settled` months (approved in every department, no longer watched) are shown from their
    snapshots, so they are not computed: their figures are empty. `kept` (`serve`'s) hands out
    an ended month of the last compute again when it is made of the same inputs, and `facts`
    a metric's fact rows when its builder does not read the clock and the frames it read are
    the same."""
    period = Period.of(today(now, config.timezone))
    previous = period.previous_same_point()
    people, roster_issues = issues.roster_in_scope(inputs, config)
    weeks_from = dynamics.first_week(period.today)
    history = period.ended(months_back or max(HISTORY_MONTHS, config.close.watch_months))
    since = min(history[-1].start, period_start(pd.Series([weeks_from]), "month").iloc[0])
    if facts is not None:
        facts.start(inputs)
    daily = daily_facts(inputs, config, now, since, kept=facts)
    distinct = [m for m in configured_metrics(config) if parse_metric(m)[0].distinct]
    by_week = daily_facts(inputs, config, now, weeks_from, "week", distinct, kept=facts)
    catalogue = kpi_catalogue(config)
    wins = won_records(inputs, config, now, since)
    measured = measured_from(inputs, config)

    def evaluate(at: Period, who: pd.DataFrame = people) -> pd.DataFrame:
        table = period_table(daily, who, catalogue, at.start, at.today)
        # A month over before a metric was first measured (deal rules before their first
        # evaluation) has no value: left out of the score, not a perfect 0 violations.
        unmeasured = (pd.to_datetime(table["metric"].map(measured)) > at.end).to_numpy()
        table.loc[unmeasured, ["num", "den", "fact"]] = float("nan")
        table[["plan", "plan_from"]] = resolve_plans(
            table, inputs.plans, at.label, config.plans.carry_over
        )
        return score(table, who, config)

    def ended(at: Period) -> PeriodFigures:
        """Everyone who was on the roster then: a manager who left at the month's end is paid."""
        who = issues.roster_of_period(inputs, config, daily, at.start, at.end)
        # no pace and no plan to date once it ended
        table = evaluate(at, who).assign(forecast_fact=float("nan"), plan_to_date=float("nan"))
        standing = who.rename(columns={"name": "manager"})[STANDING_COLUMNS[:4]]
        standing = standing.merge(
            table.drop_duplicates("manager_id")[["manager_id", *STANDING_COLUMNS[4:]]],
            on="manager_id",
            how="left",
        )
        standing[["prize", "bonus"]] = standing[["prize", "bonus"]].fillna(0.0)
        return PeriodFigures(
            period=at,
            kpi=_kpi_frame(table, who, at),
            managers=standing.sort_values(
                ["department", "rank", "manager"], na_position="last"
            ).reset_index(drop=True),
            wins=wins[wins["date"].between(at.start, at.end)].reset_index(drop=True),
        )

    open_months = [at for at in history if at.label not in settled]
    if kept is None:
        past = {at: ended(at) for at in open_months}
    else:
        basis = MonthBasis(config, inputs.roster, inputs.plans, measured)
        past = kept.figures(open_months, basis, daily, wins, ended)

    # The previous ranking is of those who had any activity then: a manager who joined this
    # month has no previous rank (and no rank change), and does not push others down.
    then = daily["date"].between(previous.start, previous.today)
    active_then = people[people["manager_id"].isin(daily.loc[then, "manager_id"])]
    table, before = evaluate(period), evaluate(previous, active_then)
    pace = table.drop(columns=["achievement", "contribution", "score", "rank", "bonus", "prize"])
    pace = score(pace.assign(fact=pace_fact(table, period)), people, config)
    table["forecast_fact"] = pace["fact"].to_numpy()
    table = with_plan_to_date(table, period)
    managers = _managers(table, before, pace, people)
    kpi = _kpi_frame(table, people, period)
    window_start = now - pd.DateOffset(months=config.analytics.window_months)
    roster = inputs.roster.drop_duplicates("manager_id", keep="last")  # inactive ones too
    sellers = roster[roster["department"].isin(config.seller_departments)]
    closed = matrix.closed_deals(
        inputs.leads, inputs.responsible_changes, sellers, window_start, now
    )
    return Results(
        period=period,
        daily=daily,
        kpi=kpi,
        managers=managers,
        weekly=dynamics.weekly(daily, by_week, people, catalogue, period.today, measured),
        matrix=matrix.seniority_matrix(closed),
        matrix_by_manager=matrix.matrix_by_manager(closed),
        retention=retention.of_sellers(inputs, sellers["manager_id"], window_start, now),
        open_violations=_open_violations(inputs),
        overdue_tasks=_overdue_tasks(inputs, now),
        wins=wins[wins["date"] >= period.start].reset_index(drop=True),
        past=[past[at] if at in past else _settled(at) for at in history],
        leads=inputs.leads[["lead_id", "is_deleted", "status_id"]],
        changes_at=next_change(inputs, config, now),
        issues=pd.concat(
            [
                roster_issues,
                issues.config_issues(inputs, config),
                issues.plan_issues(kpi, config.plans.carry_over),
                appeals.appeal_issues(inputs, config),
                issues.user_issues(inputs, daily, to_utc([since], config.timezone)[0]),
            ],
            ignore_index=True,
        ),
    )


def _settled(at: Period) -> PeriodFigures:
    return PeriodFigures(
        period=at,
        kpi=pd.DataFrame(columns=KPI_COLUMNS),
        managers=pd.DataFrame(columns=STANDING_COLUMNS),
        wins=pd.DataFrame(columns=WIN_COLUMNS),
    )


def score(table: pd.DataFrame, people: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Achievement, contribution, still needed; the manager's score, rank, bonus and prize."""
    table = table.copy()
    table["achievement"] = achievement(table["fact"], table["plan"], table["direction"])
    table["contribution"] = contributions(table)
    table["still_needed"] = still_needed(
        table["fact"], table["plan"], table["direction"], table["unit"]
    )
    per_manager = people[["manager_id", "department", "bonus_base"]].copy()
    per_manager["score"] = per_manager["manager_id"].map(scores(table))
    per_manager["rank"] = competition_rank(per_manager["score"], per_manager["department"])
    per_manager = per_manager.join(bonuses(per_manager, config))
    columns = ["manager_id", "score", "rank", "bonus", "prize"]
    return table.merge(per_manager[columns], on="manager_id", how="left")


def _managers(
    table: pd.DataFrame, before: pd.DataFrame, pace: pd.DataFrame, people: pd.DataFrame
) -> pd.DataFrame:
    def per_manager(frame: pd.DataFrame, column: str) -> pd.Series:
        return out["manager_id"].map(
            frame.drop_duplicates("manager_id").set_index("manager_id")[column]
        )

    out = people[["manager_id", "name", "department", "seniority", "bonus_base"]].rename(
        columns={"name": "manager"}
    )
    for column in ("score", "rank", "bonus", "prize"):
        out[column] = per_manager(table, column)
    out["previous_score"] = per_manager(before, "score")
    out["previous_rank"] = per_manager(before, "rank")
    out["rank_change"] = out["previous_rank"] - out["rank"]
    out["ranked_count"] = out.groupby("department")["rank"].transform("count")
    out["score_at_pace"] = per_manager(pace, "score")
    out["rank_at_pace"] = per_manager(pace, "rank")
    out["bonus_at_pace"] = per_manager(pace, "bonus")
    out[["bonus", "prize", "bonus_at_pace"]] = out[["bonus", "prize", "bonus_at_pace"]].fillna(0.0)
    out["top_kpi"] = out["manager_id"].map(top_kpi(table))
    out = out.sort_values(["department", "rank", "manager"], na_position="last", kind="stable")
    return out[MANAGER_COLUMNS].reset_index(drop=True)


def _kpi_frame(table: pd.DataFrame, people: pd.DataFrame, period: Period) -> pd.DataFrame:
    names = people.set_index("manager_id")["name"]
    out = table.assign(
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        manager=table["manager_id"].map(names),
    )
    return out[KPI_COLUMNS].reset_index(drop=True)


def _open_violations(inputs: Inputs) -> pd.DataFrame:
    """Unresolved automatic violations of live leads, newest first."""
    rows = inputs.deal_violations[inputs.deal_violations["resolved_at"].isna()]
    leads = inputs.leads.drop_duplicates("lead_id").set_index("lead_id")
    rows = rows[rows["lead_id"].isin(leads.index[~leads["is_deleted"]])]
    out = pd.DataFrame(
        {
            "manager_id": rows["lead_id"].map(leads["responsible_user_id"]).astype("Int64"),
            "lead_id": rows["lead_id"],
            "lead_name": rows["lead_id"].map(leads["name"]),
            "rule": rows["rule"],
            "first_seen_at": rows["first_seen_at"],
        }
    )
    out = out.dropna(subset=["manager_id"]).sort_values("first_seen_at", ascending=False)
    return out.reset_index(drop=True)


def _overdue_tasks(inputs: Inputs, now: pd.Timestamp) -> pd.DataFrame:
    """Open tasks past their deadline, most recent deadline first."""
    tasks = inputs.tasks
    late = tasks[~tasks["is_completed"] & (tasks["complete_till"] < now)]
    late = late.rename(columns={"responsible_user_id": "manager_id"})
    columns = ["manager_id", "task_id", "text", "entity_type", "entity_id", "complete_till"]
    return late[columns].sort_values("complete_till", ascending=False).reset_index(drop=True)

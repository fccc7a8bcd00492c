"""`compute(inputs, config, now)`: every table the reports need, from frames only."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi import appeals, dynamics, issues, matrix, retention
from sheets_kpi.kpi.bonus import bonuses
from sheets_kpi.kpi.explain import pace_fact, still_needed, top_kpi, with_plan_to_date
from sheets_kpi.kpi.facts import configured_metrics, daily_facts, measured_from
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.metrics import parse_metric
from sheets_kpi.kpi.periods import Period, period_start, to_utc, today
from sheets_kpi.kpi.plan_fact import achievement, kpi_catalogue, period_table, resolve_plans
from sheets_kpi.kpi.scoring import competition_rank, contributions, scores

__all__ = ["KPI_COLUMNS", "MANAGER_COLUMNS", "Results", "compute"]

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


def compute(inputs: Inputs, config: Config, now: pd.Timestamp) -> Results:
    """The current plan month (the one holding `now` in config.timezone) and the analytics."""
    period = Period.of(today(now, config.timezone))
    previous = period.previous_same_point()
    people, roster_issues = issues.roster_in_scope(inputs, config)
    weeks_from = dynamics.first_week(period.today)
    since = min(previous.start, period_start(pd.Series([weeks_from]), "month").iloc[0])
    daily = daily_facts(inputs, config, now, since)
    distinct = [m for m in configured_metrics(config) if parse_metric(m)[0].distinct]
    by_week = daily_facts(inputs, config, now, weeks_from, "week", distinct)
    catalogue = kpi_catalogue(config)

    def evaluate(at: Period, who: pd.DataFrame = people) -> pd.DataFrame:
        table = period_table(daily, who, catalogue, at.start, at.today)
        table["plan"] = resolve_plans(table, inputs.plans, at.label)
        return score(table, who, config)

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
        weekly=dynamics.weekly(
            daily, by_week, people, catalogue, period.today, measured_from(inputs, config)
        ),
        matrix=matrix.seniority_matrix(closed),
        matrix_by_manager=matrix.matrix_by_manager(closed),
        retention=retention.of_sellers(inputs, sellers["manager_id"], window_start, now),
        open_violations=_open_violations(inputs),
        overdue_tasks=_overdue_tasks(inputs, now),
        issues=pd.concat(
            [
                roster_issues,
                issues.config_issues(inputs, config),
                issues.plan_issues(kpi),
                appeals.appeal_issues(inputs, config),
                issues.user_issues(inputs, daily, to_utc([since], config.timezone)[0]),
            ],
            ignore_index=True,
        ),
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
    columns = ["manager_id", "task_id", "entity_type", "entity_id", "complete_till"]
    return late[columns].sort_values("complete_till", ascending=False).reset_index(drop=True)

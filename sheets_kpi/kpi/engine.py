"""`compute(inputs, config, now)`: every table the reports need, from frames only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi import dynamics, matrix, retention
from sheets_kpi.kpi.facts import daily_facts
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.periods import Period, today
from sheets_kpi.kpi.plan_fact import (
    achievement,
    kpi_catalogue,
    kpi_facts,
    resolve_plans,
    still_needed,
)
from sheets_kpi.kpi.scoring import bonus_amount, competition_rank, contributions, scores

ISSUE_COLUMNS = ["severity", "source", "where", "value", "message"]
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
    "num",
    "den",
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
    zone = config.timezone
    period = Period.of(today(now, zone))
    people, issues = _roster(inputs, config)
    daily = daily_facts(inputs, config, now)
    catalogue = kpi_catalogue(config, config.locale)
    table = _score_period(daily, people, catalogue, inputs.plans, period, config)
    previous = _score_period(
        daily, people, catalogue, inputs.plans, period.previous_same_point(), config
    )
    pace = _at_pace(table, period, people, config)
    managers = _managers(table, previous, pace, people)
    table = table.merge(managers[["manager_id", "bonus"]], on="manager_id", how="left")
    table["forecast_fact"] = pace["fact"].to_numpy()
    kpi = _kpi_frame(table, people, period)
    window_start = now - pd.DateOffset(months=config.analytics.window_months)
    closed = matrix.closed_deals(inputs.leads, people, window_start, now)
    return Results(
        period=period,
        daily=daily,
        kpi=kpi,
        managers=managers,
        weekly=dynamics.weekly(daily, people, catalogue, period.today),
        matrix=matrix.seniority_matrix(closed),
        matrix_by_manager=matrix.matrix_by_manager(closed),
        retention=retention.retention(inputs.leads, inputs.clients, window_start, now),
        open_violations=_open_violations(inputs),
        overdue_tasks=_overdue_tasks(inputs, now),
        issues=pd.concat(
            [issues, _plan_issues(kpi), _activity_issues(inputs, daily, people)], ignore_index=True
        ),
    )


def _roster(inputs: Inputs, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    roster = inputs.roster[inputs.roster["active"]].drop_duplicates("manager_id", keep="last")
    known = {d.id for d in config.departments}
    stray = roster[~roster["department"].isin(known)]
    issues = pd.DataFrame(
        {
            "severity": "warning",
            "source": "roster",
            "where": stray["manager_id"].astype(str),
            "value": stray["department"].astype(str),
            "message": "department is not configured; the manager is left out of KPIs",
        },
        columns=ISSUE_COLUMNS,
    )
    return roster[roster["department"].isin(known)].reset_index(drop=True), issues


def _score_period(
    daily: pd.DataFrame,
    people: pd.DataFrame,
    catalogue: pd.DataFrame,
    plans: pd.DataFrame,
    period: Period,
    config: Config,
) -> pd.DataFrame:
    table = kpi_facts(daily, people, catalogue, period.start, period.today)
    table["plan"] = resolve_plans(table, plans, period.label)
    return _achieve(table, people, config)


def _achieve(table: pd.DataFrame, people: pd.DataFrame, config: Config) -> pd.DataFrame:
    table["achievement"] = achievement(table["fact"], table["plan"], table["direction"])
    table["contribution"] = contributions(table)
    table["still_needed"] = still_needed(table["fact"], table["plan"], table["direction"])
    score = scores(table)
    per_manager = people[["manager_id", "department", "bonus_base"]].assign(
        score=lambda f: f["manager_id"].map(score)
    )
    per_manager["rank"] = competition_rank(per_manager["score"], per_manager["department"])
    bonuses = [
        bonus_amount(
            row.score,
            row.rank,
            _base(row.bonus_base, row.department, config),
            config.department(row.department).bonus,
        )
        for row in per_manager.itertuples()
    ]
    per_manager["bonus_total"] = [b for b, _ in bonuses]
    per_manager["prize"] = [p for _, p in bonuses]
    return table.merge(
        per_manager[["manager_id", "score", "rank", "bonus_total", "prize"]],
        on="manager_id",
        how="left",
    )


def _base(override: float, department: str, config: Config) -> float:
    return config.department(department).bonus.base if np.isnan(override) else float(override)


def _at_pace(
    table: pd.DataFrame, period: Period, people: pd.DataFrame, config: Config
) -> pd.DataFrame:
    """Count and sum KPIs run on at today's pace to the end of the month."""
    scale = period.days / period.elapsed_days
    pace = table[
        [
            "manager_id",
            "department",
            "kpi",
            "metric",
            "kpi_title",
            "unit",
            "direction",
            "weight",
            "cap",
            "ratio",
            "plan",
        ]
    ].copy()
    pace["fact"] = np.where(table["ratio"], table["fact"], table["fact"] * scale)
    return _achieve(pace, people, config)


def _managers(
    table: pd.DataFrame, previous: pd.DataFrame, pace: pd.DataFrame, people: pd.DataFrame
) -> pd.DataFrame:
    first = table.drop_duplicates("manager_id").set_index("manager_id")
    top = table.dropna(subset=["contribution"]).sort_values("contribution", ascending=False)
    top = top.drop_duplicates("manager_id").set_index("manager_id")["kpi_title"]
    prev_rank = previous.drop_duplicates("manager_id").set_index("manager_id")["rank"]
    at_pace = pace.drop_duplicates("manager_id").set_index("manager_id")["bonus_total"]
    out = people[["manager_id", "name", "department", "seniority"]].rename(
        columns={"name": "manager"}
    )
    ids = out["manager_id"]
    out["score"] = ids.map(first["score"])
    out["rank"] = ids.map(first["rank"])
    out["rank_change"] = ids.map(prev_rank) - out["rank"]
    out["ranked_count"] = out.groupby("department")["rank"].transform("count")
    out["bonus"] = ids.map(first["bonus_total"]).fillna(0.0)
    out["bonus_at_pace"] = ids.map(at_pace).fillna(0.0)
    out["prize"] = ids.map(first["prize"]).fillna(0.0)
    out["top_kpi"] = ids.map(top)
    out = out.sort_values(["department", "rank", "manager"], na_position="last")
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


def _plan_issues(kpi: pd.DataFrame) -> pd.DataFrame:
    missing = kpi[kpi["plan"].isna()]
    return pd.DataFrame(
        {
            "severity": "warning",
            "source": "plans",
            "where": missing["period"]
            + " / "
            + missing["manager"].astype(str)
            + " / "
            + missing["kpi"],
            "value": "",
            "message": "no plan: the KPI is shown but left out of the score",
        },
        columns=ISSUE_COLUMNS,
    )


def _activity_issues(inputs: Inputs, daily: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    rostered = set(inputs.roster["manager_id"])
    active = set(daily["manager_id"]) - rostered - {0}
    names = inputs.users.set_index("user_id")["name"] if not inputs.users.empty else pd.Series()
    rows = [
        {
            "severity": "warning",
            "source": "amoCRM",
            "where": f"user {uid}",
            "value": names.get(uid, ""),
            "message": "amoCRM user with activity is not in the roster",
        }
        for uid in sorted(active)
    ]
    if not inputs.users.empty:
        gone = sorted(rostered - set(inputs.users["user_id"]))
        rows += [
            {
                "severity": "warning",
                "source": "roster",
                "where": f"amo_user_id {uid}",
                "value": str(uid),
                "message": "no such amoCRM user any more",
            }
            for uid in gone
        ]
    return pd.DataFrame(rows, columns=ISSUE_COLUMNS)


def _open_violations(inputs: Inputs) -> pd.DataFrame:
    open_rows = inputs.deal_violations[inputs.deal_violations["resolved_at"].isna()]
    leads = inputs.leads.set_index("lead_id")
    return (
        pd.DataFrame(
            {
                "manager_id": open_rows["lead_id"].map(leads["responsible_user_id"]),
                "lead_id": open_rows["lead_id"],
                "lead_name": open_rows["lead_id"].map(leads["name"]),
                "rule": open_rows["rule"],
                "first_seen_at": open_rows["first_seen_at"],
            }
        )
        .dropna(subset=["manager_id"])
        .reset_index(drop=True)
    )


def _overdue_tasks(inputs: Inputs, now: pd.Timestamp) -> pd.DataFrame:
    tasks = inputs.tasks
    late = tasks[~tasks["is_completed"] & (tasks["complete_till"] < now)]
    return (
        late.rename(columns={"responsible_user_id": "manager_id"})[
            ["manager_id", "task_id", "entity_type", "entity_id", "complete_till"]
        ]
        .sort_values("complete_till", ascending=False)
        .reset_index(drop=True)
    )

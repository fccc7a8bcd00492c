"""Invariants of the engine over generated worlds (hypothesis)."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheets_kpi.config import BonusConfig
from sheets_kpi.kpi.scoring import bonus_amount
from tests.kpi_fixtures import A, B, C, call, config, plans, roster, run, task

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAYS = [f"2026-11-{d:02d}" for d in range(1, 21)]
KPIS = {
    "outgoing": "calls_outgoing",
    "missed": "calls_missed_share",
    "overdue_share": "tasks_overdue_share",
}

events = st.lists(
    st.tuples(
        st.sampled_from([A, B, C]),
        st.sampled_from(DAYS),
        st.sampled_from(["in", "out"]),
        st.booleans(),
    ),
    max_size=40,
)
task_events = st.lists(
    st.tuples(st.sampled_from([A, B, C]), st.sampled_from(DAYS), st.booleans()), max_size=20
)
plan_values = st.fixed_dictionaries(
    {
        "outgoing": st.integers(0, 10),
        "missed": st.sampled_from([0.0, 0.1, 0.3]),
        "overdue_share": st.sampled_from([0.0, 0.2, 0.5]),
    }
)


def world(calls, tasks, plan):
    return run(
        cfg=config(
            KPIS,
            directions={"missed": "lower", "overdue_share": "lower"},
            bonus={"base": 1000, "prizes": {1: 100}},
        ),
        roster=roster(A, B, C),
        calls=[
            call(
                i,
                f"{day} 10:00",
                who,
                direction,
                duration=0 if missed else 60,
                status=6 if missed else 4,
            )
            for i, (who, day, direction, missed) in enumerate(calls)
        ],
        tasks=[
            task(i, who, f"{day} 10:00", completed=None if late else f"{day} 09:00")
            for i, (who, day, late) in enumerate(tasks)
        ],
        plans=plans(plan),
    )


@SETTINGS
@given(events, task_events, plan_values)
def test_weekly_num_and_den_sum_to_the_monthly_ones(calls, tasks, plan) -> None:
    results = world(calls, tasks, plan)
    daily = results.daily[results.daily["date"] >= pd.Timestamp("2026-11-01")]
    weekly = results.weekly[
        results.weekly["manager_id"].notna()
        & (results.weekly["week_start"] >= pd.Timestamp("2026-11-02"))
    ]
    first_days = daily[daily["date"] < pd.Timestamp("2026-11-02")]
    monthly = daily.groupby("manager_id")[["num"]].sum()
    from_weeks = weekly.groupby("manager_id")[["num"]].sum()
    from_weeks = from_weeks.add(first_days.groupby("manager_id")[["num"]].sum(), fill_value=0)
    assert from_weeks.reindex(monthly.index).fillna(0)["num"].tolist() == monthly["num"].tolist()


@SETTINGS
@given(events, task_events, plan_values)
def test_score_rank_bonus_and_contributions(calls, tasks, plan) -> None:
    results = world(calls, tasks, plan)
    managers = results.managers.dropna(subset=["score"])
    assert managers["score"].between(0, 1.5).all()
    ordered = managers.sort_values("score", ascending=False)
    assert ordered["rank"].is_monotonic_increasing
    contributions = results.kpi.groupby("manager_id")["contribution"].sum(min_count=1)
    for manager in managers.itertuples():
        assert abs(contributions[manager.manager_id] - manager.score) < 1e-9


@SETTINGS
@given(st.floats(0, 3), st.floats(0, 3), st.integers(1, 5))
def test_bonus_never_falls_as_the_score_rises(low, high, rank) -> None:
    bonus = BonusConfig(base=50000, gate=0.7, accelerator=1.5, cap=1.5, prizes={1: 10000, 2: 5000})
    low, high = sorted((low, high))
    assert bonus_amount(low, rank, 50000, bonus)[0] <= bonus_amount(high, rank, 50000, bonus)[0]

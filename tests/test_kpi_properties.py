"""Invariants of the engine over generated worlds (hypothesis)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheets_kpi.config import BonusConfig
from sheets_kpi.kpi.bonus import multiplier, prize, round_roubles
from sheets_kpi.kpi.plan_fact import achievement
from tests.kpi_fixtures import (
    QUALIFIED,
    A,
    B,
    C,
    call,
    config,
    lead,
    move,
    plans,
    roster,
    run,
    task,
)

pytestmark = pytest.mark.slow

WORLDS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(max_examples=200, deadline=None)
# 26 Oct (Mon) … 20 Nov: the week straddling October/November and three November weeks
DAYS = [f"2026-10-{d}" for d in range(26, 32)] + [f"2026-11-{d:02d}" for d in range(1, 21)]
KPIS = {
    "outgoing": "calls_outgoing",
    "missed": "calls_missed_share",
    "overdue_share": "tasks_overdue_share",
    "handoffs": "stage_reached(handoff)",
}
people = st.sampled_from([A, B, C])
calls = st.lists(
    st.tuples(people, st.sampled_from(DAYS), st.sampled_from(["in", "out"]), st.booleans()),
    max_size=30,
)
tasks = st.lists(st.tuples(people, st.sampled_from(DAYS), st.booleans()), max_size=15)
moves = st.lists(st.tuples(st.integers(1, 4), people, st.sampled_from(DAYS)), max_size=15)
plan_values = st.fixed_dictionaries(
    {
        "outgoing": st.integers(0, 10),
        "missed": st.sampled_from([0.0, 0.1, 0.3]),
        "overdue_share": st.sampled_from([0.0, 0.2, 0.5]),
        "handoffs": st.integers(0, 3),
    }
)
caps = st.sampled_from([1.0, 1.2, 1.5, 2.0])


def world(calls, tasks, moves, plan, cap=1.5):
    return run(
        cfg=config(
            KPIS,
            cap=cap,
            directions={"missed": "lower", "overdue_share": "lower"},
            bonus={"base": 1000, "prizes": {1: 100}},
        ),
        roster=roster(A, B, C),
        calls=[
            call(i, f"{day} 10:00", who, way, duration=0 if lost else 60, status=6 if lost else 4)
            for i, (who, day, way, lost) in enumerate(calls)
        ],
        tasks=[
            task(i, who, f"{day} 10:00", completed=None if late else f"{day} 09:00")
            for i, (who, day, late) in enumerate(tasks)
        ],
        leads=[lead(i, A) for i in range(1, 5)],
        stage_changes=[
            move(lead_id, QUALIFIED, f"{day} {10 + i % 10}:00", who)
            for i, (lead_id, who, day) in enumerate(moves)
        ],
        plans=plans(plan),
    )


@WORLDS
@given(calls, tasks, moves, plan_values)
def test_weekly_sums_of_num_and_den_equal_the_monthly_ones(calls, tasks, moves, plan) -> None:
    results = world(calls, tasks, moves, plan)
    weekly = results.weekly[results.weekly["manager_id"].notna()]
    november = results.daily[results.daily["date"] >= pd.Timestamp("2026-11-01")]
    sunday = november[november["date"] == pd.Timestamp("2026-11-01")]  # in the week of 26 Oct
    for kpi, metric in (
        ("outgoing", "calls_outgoing"),
        ("missed", "calls_missed_share"),
        ("overdue_share", "tasks_overdue_share"),
    ):
        weeks = weekly[(weekly["kpi"] == kpi) & (weekly["week_start"] >= "2026-11-02")]
        for column in ("num", "den"):
            from_weeks = weeks.groupby("manager_id")[column].sum().astype(float)
            first_day = sunday[sunday["metric"] == metric].groupby("manager_id")[column].sum()
            monthly = results.kpi.set_index("manager_id").query("kpi == @kpi")[column].fillna(0)
            total = from_weeks.add(first_day, fill_value=0).reindex(monthly.index).fillna(0)
            assert total.tolist() == monthly.tolist(), (kpi, column)
    # once per lead: each week's total and the month's are the distinct leads that entered then
    totals = results.weekly[
        results.weekly["manager_id"].isna() & (results.weekly["kpi"] == "handoffs")
    ]
    for monday, value in zip(totals["week_start"], totals["fact"], strict=True):
        days = {(monday + pd.Timedelta(days=i)).strftime("%Y-%m-%d") for i in range(7)}
        assert value == len({lead_id for lead_id, _, day in moves if day in days})
    handoffs = results.kpi[results.kpi["kpi"] == "handoffs"]["fact"].sum()
    assert handoffs == len({lead_id for lead_id, _, day in moves if day >= "2026-11-01"})


@WORLDS
@given(calls, tasks, moves, plan_values, caps)
def test_score_rank_and_contributions(calls, tasks, moves, plan, cap) -> None:
    results = world(calls, tasks, moves, plan, cap)
    scored = results.managers.dropna(subset=["score"])
    assert scored["score"].between(0, cap).all()
    assert results.managers.loc[results.managers["score"].isna(), "rank"].isna().all()
    ordered = scored.sort_values("score", ascending=False)
    assert ordered["rank"].is_monotonic_increasing  # a higher score never ranks lower
    for score, group in scored.groupby("score"):
        assert group["rank"].nunique() == 1  # equal scores share a rank
        assert group["rank"].iloc[0] == 1 + (scored["score"] > score).sum()  # 1, 2, 2, 4
    contributions = results.kpi.groupby("manager_id")["contribution"].sum(min_count=1)
    for manager in scored.itertuples():
        assert abs(contributions[manager.manager_id] - manager.score) < 1e-8


BONUS = BonusConfig(base=50000, gate=0.7, accelerator=1.5, cap=1.5, prizes={1: 10000, 2: 5000})


@FAST
@given(st.floats(0, 3), st.floats(0, 3), st.integers(1, 5))
def test_bonus_never_falls_as_the_score_rises(low, high, rank) -> None:
    low, high = sorted((low, high))

    def pay(score: float) -> float:
        return float(round_roubles(50000 * multiplier(score, BONUS) + prize(score, rank, BONUS)))

    assert pay(low) <= pay(high)
    assert 0 <= pay(high) <= 50000 * 1.5 + 10000


@FAST
@given(st.floats(0, 100), st.floats(0, 100), st.floats(0, 50), st.sampled_from(["higher", "lower"]))
def test_achievement_moves_with_the_fact_in_the_kpi_direction(f1, f2, plan, direction) -> None:
    low, high = sorted((f1, f2))
    a = achievement(pd.Series([low, high]), pd.Series([plan, plan]), pd.Series([direction] * 2))
    assert (a >= 0).all()
    assert a[0] <= a[1] if direction == "higher" else a[0] >= a[1]

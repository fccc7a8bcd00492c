"""The engine end to end on small worlds: plans, ranking, rank change, bonus, pace, analytics."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sheets_kpi.config import RulesConfig
from sheets_kpi.kpi.inputs import Inputs, frame
from sheets_kpi.kpi.rules import evaluate_deal_rules
from tests.kpi_fixtures import (
    LOST,
    NEW,
    PROPOSAL,
    STATUSES,
    WON,
    A,
    B,
    C,
    call,
    config,
    lead,
    plans,
    roster,
    row,
    run,
    task,
    ts,
)

OUT = {"outgoing": "calls_outgoing"}


def outgoing(counts: dict[int, int], day: str = "2026-11-03") -> list[dict]:
    calls, note = [], 0
    for manager, count in counts.items():
        for _ in range(count):
            note += 1
            calls.append(call(note, f"{day} 10:00", manager, "out"))
    return calls


def test_manager_plan_overrides_the_department_default() -> None:
    results = run(
        cfg=config(OUT),
        calls=outgoing({A: 10, B: 10}),
        plans=plans({"outgoing": 20}) + plans({"outgoing": 8}, manager=A),
    )
    assert (row(results, A, "outgoing")["plan"], row(results, B, "outgoing")["plan"]) == (8, 20)
    assert row(results, A, "outgoing")["achievement"] == 10 / 8
    assert row(results, B, "outgoing")["achievement"] == 0.5


def test_plans_of_another_period_do_not_apply_and_missing_plans_are_issues() -> None:
    results = run(
        cfg=config(OUT), calls=outgoing({A: 3}), plans=plans({"outgoing": 20}, period="2026-10")
    )
    kpi = row(results, A, "outgoing")
    assert math.isnan(kpi["plan"]) and math.isnan(kpi["achievement"])
    assert kpi["fact"] == 3  # the fact is still shown
    messages = results.issues[results.issues["source"] == "plans"]
    assert len(messages) == 3  # A, B and C all lack the November plan
    assert "2026-11 / Анна / outgoing" in messages["where"].tolist()


def test_ranking_ties_and_unranked_through_the_engine() -> None:
    cfg = config({"outgoing": "calls_outgoing", "quality": "score_avg(call_quality)"})
    results = run(
        cfg=cfg,
        roster=roster(A, B, C, 4),
        calls=outgoing({A: 10, B: 10, C: 5}),
        plans=plans({"outgoing": 10}),
    )
    managers = results.managers.set_index("manager_id")
    # quality has no plan → left out; A and B score 1.0, C 0.5, manager 4 has 0 calls → 0
    assert managers.loc[[A, B, C, 4], "score"].tolist() == [1.0, 1.0, 0.5, 0.0]
    assert managers.loc[[A, B, C, 4], "rank"].tolist() == [1, 1, 3, 4]
    assert managers.loc[A, "ranked_count"] == 4


def test_manager_without_any_scorable_kpi_is_unranked() -> None:
    results = run(
        cfg=config({"missed": "calls_missed_share"}, directions={"missed": "lower"}),
        calls=[
            call(1, "2026-11-03 10:00", A, "in", status=6, duration=0),
            call(2, "2026-11-03 11:00", A, "in"),
        ],
        plans=plans({"missed": 0.2}),
    )
    managers = results.managers.set_index("manager_id")
    # A: 1 missed of 2 = 0.5 → max(0, 2 − 0.5/0.2) = 0; B had no incoming calls at all
    assert managers.loc[A, "score"] == 0.0 and managers.loc[A, "rank"] == 1
    assert math.isnan(managers.loc[B, "score"]) and math.isnan(managers.loc[B, "rank"])


def test_rank_change_against_the_same_point_of_the_previous_month() -> None:
    calls = outgoing({A: 2, B: 6}, day="2026-10-10") + outgoing({A: 9, B: 3}, day="2026-11-10")
    calls += outgoing({A: 50}, day="2026-10-25")  # after Oct 20: not the same point
    for index, item in enumerate(calls):
        item["note_id"] = index
    results = run(
        cfg=config(OUT),
        roster=roster(A, B),
        calls=calls,
        plans=plans({"outgoing": 10}) + plans({"outgoing": 10}, period="2026-10"),
    )
    managers = results.managers.set_index("manager_id")
    # October 1–20: B 6 > A 2 → B 1st, A 2nd; November: A 9 > B 3 → A up one, B down one
    assert managers.loc[A, "rank_change"] == 1 and managers.loc[B, "rank_change"] == -1


def test_bonus_with_prizes_gate_and_base_override() -> None:
    cfg = config(
        OUT,
        bonus={
            "base": 10000,
            "gate": 0.7,
            "accelerator": 1.5,
            "cap": 1.5,
            "prizes": {1: 1000, 2: 500},
        },
    )
    people = roster(A, B) + roster(C, bonus_base=20000)
    results = run(
        cfg=cfg, roster=people, calls=outgoing({A: 12, B: 6, C: 8}), plans=plans({"outgoing": 10})
    )
    managers = results.managers.set_index("manager_id")
    # A: s = 1.2 → 10 000·1.3 + 1 000 = 14 000
    # C: s = 0.8, rank 2 → 20 000·0.8 + 500 = 16 500 (own base)
    # B: s = 0.6 < gate → 0, and no prize
    assert managers.loc[[A, C, B], "bonus"].tolist() == [14000, 16500, 0]
    assert managers.loc[[A, C, B], "prize"].tolist() == [1000, 500, 0]


def test_pace_forecast_scales_counts_not_ratios() -> None:
    cfg = config(
        {"outgoing": "calls_outgoing", "missed": "calls_missed_share"},
        bonus={"base": 10000},
        directions={"missed": "lower"},
    )
    calls = outgoing({A: 4}) + [
        call(90, "2026-11-03 12:00", A, "in", status=6, duration=0),
        call(91, "2026-11-03 13:00", A, "in"),
    ]
    results = run(
        now=ts("2026-11-10 12:00"),
        cfg=cfg,
        roster=roster(A),
        calls=calls,
        plans=plans({"outgoing": 12, "missed": 0.5}),
    )
    # 10 of 30 days elapsed: 4 calls → 12 at pace; the missed share stays 0.5
    assert row(results, A, "outgoing")["forecast_fact"] == pytest.approx(12)
    assert row(results, A, "missed")["forecast_fact"] == 0.5
    manager = results.managers.set_index("manager_id").loc[A]
    # now: (4/12 + 1.0) / 2 = 0.6667 < gate → 0; at pace: (1 + 1) / 2 = 1.0 → 10 000
    assert (manager["bonus"], manager["bonus_at_pace"]) == (0, 10000)


def test_explain_contributions_sum_to_score_and_still_needed() -> None:
    cfg = config(
        {"outgoing": "calls_outgoing", "control": "violations(control)"},
        directions={"control": "lower"},
        weights={"outgoing": 3, "control": 1},
    )
    results = run(
        cfg=cfg,
        roster=roster(A),
        calls=outgoing({A: 7}),
        violations=[
            {"date": f"2026-11-0{d}", "manager_id": A, "type": "control", "ref": str(d)}
            for d in range(1, 6)
        ],
        plans=plans({"outgoing": 10, "control": 3}),
    )
    out, control = row(results, A, "outgoing"), row(results, A, "control")
    # outgoing 7/10 = 0.7 → 3·0.7/4 = 0.525; control 2 − 5/3 = 0.3333 → 1·0.3333/4 = 0.0833
    assert out["contribution"] == pytest.approx(0.525)
    assert control["contribution"] == pytest.approx(1 / 12)
    assert out["score"] == pytest.approx(0.525 + 1 / 12)
    assert (out["still_needed"], control["still_needed"]) == (3, -2)  # "+3", "−2 нарушения"


def test_manager_joining_mid_month_is_scored_on_their_own_activity() -> None:
    results = run(
        cfg=config(OUT),
        roster=roster(A, B),
        calls=outgoing({A: 10}, day="2026-11-02") + [call(50, "2026-11-18 10:00", B, "out")],
        plans=plans({"outgoing": 10}),
    )
    assert row(results, B, "outgoing")["fact"] == 1


def test_weekly_dynamics_sum_to_the_month_and_have_a_department_total() -> None:
    calls = outgoing({A: 2}, day="2026-11-02") + outgoing({A: 3, B: 1}, day="2026-11-10")
    for index, item in enumerate(calls):
        item["note_id"] = index
    results = run(cfg=config(OUT), roster=roster(A, B), calls=calls)
    weekly = results.weekly
    mine = weekly[weekly["manager_id"] == A]
    assert mine["fact"].sum() == row(results, A, "outgoing")["fact"] == 5
    total = weekly[weekly["manager_id"].isna()].set_index("week_start")["fact"]
    assert total[pd.Timestamp("2026-11-09")] == 4  # week of Nov 9: A 3 + B 1


def test_matrix_types_clients_as_new_or_repeat() -> None:
    leads = [
        lead(
            1,
            A,
            status=WON,
            price=100,
            created="2026-07-01 10:00",
            closed="2026-07-10 10:00",
            contact=7,
        ),
        lead(
            2,
            A,
            status=WON,
            price=300,
            created="2026-08-01 10:00",
            closed="2026-08-11 10:00",
            contact=7,
        ),  # contact 7 had a win before this lead was created: repeat
        lead(
            3, B, status=LOST, created="2026-08-01 10:00", closed="2026-08-05 10:00", contact=8
        ),  # new
        lead(
            4,
            B,
            status=WON,
            price=50,
            created="2026-07-05 10:00",
            closed="2026-07-20 10:00",
            company=9,
        ),  # new
    ]
    people = roster(A) + roster(B, seniority="junior")
    results = run(cfg=config(OUT), roster=people, leads=leads)
    cells = results.matrix.set_index(["seniority", "client_type"])
    assert cells.loc[("senior", "new"), ["won", "lost", "n"]].tolist() == [1, 0, 1]
    assert cells.loc[("senior", "repeat"), "mean_won_price"] == 300
    assert cells.loc[("junior", "new"), ["won", "lost", "win_rate"]].tolist() == [1, 1, 0.5]
    assert cells.loc[("junior", "new"), "median_cycle_days"] == pytest.approx((4 + 15) / 2)


def test_retention_counts_once_and_again_buyers() -> None:
    leads = [
        lead(1, A, status=WON, closed="2026-07-01 10:00", contact=7),
        lead(2, A, status=WON, closed="2026-07-11 10:00", contact=7),
        lead(3, A, status=WON, closed="2026-07-31 10:00", contact=7),
        lead(4, A, status=WON, closed="2026-08-01 10:00", contact=8, company=9),
    ]
    clients = [
        {"client_type": "contact", "client_id": 7, "responsible_user_id": B},
        {"client_type": "company", "client_id": 9, "responsible_user_id": C},
    ]
    results = run(cfg=config(OUT), leads=leads, clients=clients)
    table = results.retention.set_index("scope")
    # clients: contact 7 (3 purchases, gaps 10 and 20 days) and company 9 (1 purchase)
    assert table.loc["all", ["clients", "once_share", "repeat_share"]].tolist() == [2, 0.5, 0.5]
    assert table.loc["all", "median_days_between"] == 15
    assert table.loc[str(B), "repeat_share"] == 1.0 and table.loc[str(C), "once_share"] == 1.0


def test_activity_of_users_outside_the_roster_is_reported() -> None:
    results = run(
        cfg=config(OUT),
        roster=roster(A),
        calls=outgoing({A: 1, 77: 2}),
        users=[
            {"user_id": A, "name": "Анна", "is_active": True},
            {"user_id": 77, "name": "Гость", "is_active": True},
        ],
    )
    issue = results.issues[results.issues["where"] == "user 77"].iloc[0]
    assert (issue["value"], issue["message"]) == (
        "Гость",
        "amoCRM user with activity is not in the roster",
    )


def test_deal_rules() -> None:
    leads = frame(
        "leads",
        [
            lead(1, A, status=NEW),  # no task, stale (created Oct 1, no moves)
            lead(2, A, status=PROPOSAL, price=0, fields={}),  # zero price at КП, missing Источник
            lead(3, A, status=WON, closed="2026-11-01 10:00"),  # closed: never checked
        ],
    )
    tasks = frame("tasks", [task(1, A, "2026-11-25 10:00", lead_id=2)])
    changes = frame(
        "stage_changes",
        [
            {
                "event_id": "e",
                "lead_id": 2,
                "created_at": ts("2026-11-19 10:00"),
                "created_by": A,
                "pipeline_id": 10,
                "status_id": PROPOSAL,
            }
        ],
    )
    rules = config().rules
    found = evaluate_deal_rules(
        leads, tasks, frame("statuses", STATUSES), changes, rules, ts("2026-11-20 12:00")
    )
    assert sorted(map(tuple, found.to_numpy().tolist())) == [
        (1, "no_next_task"),
        (1, "stale_stage"),
        (2, "required_fields"),
        (2, "zero_price_after"),
    ]
    off = RulesConfig(no_next_task=False, stale_stage_days=None)
    assert evaluate_deal_rules(
        leads, tasks, frame("statuses", STATUSES), changes, off, ts("2026-11-20 12:00")
    ).empty


def test_inputs_reject_unknown_frames() -> None:
    with pytest.raises(TypeError, match="unknown input frames"):
        Inputs.build(deals=[])

"""One hand-computed case (or more) per metric of SPEC §7.1; the period is November 2026."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.kpi_fixtures import (
    LOST,
    NEW,
    PROPOSAL,
    QUALIFIED,
    UPSELL,
    UPSELL_TALK,
    WON,
    A,
    B,
    C,
    call,
    config,
    fact,
    lead,
    move,
    run,
    task,
    ts,
)


def test_stage_reached_counts_a_lead_once_per_period_even_moved_back_and_forth() -> None:
    results = run(
        leads=[lead(1, A), lead(2, A)],
        stage_changes=[
            move(1, QUALIFIED, "2026-11-03 10:00", A),  # counted
            move(1, NEW, "2026-11-04 10:00", A),
            move(1, QUALIFIED, "2026-11-05 10:00", A),  # same lead, same month: not again
            move(2, QUALIFIED, "2026-10-30 10:00", A),  # October
            move(2, QUALIFIED, "2026-11-10 10:00", A),  # and November: 1 in each month
        ],
    )
    assert fact(results, A, "handoffs") == 2


def test_stage_reached_is_attributed_to_the_mover_or_to_the_responsible() -> None:
    results = run(
        leads=[lead(1, B), lead(2, B), lead(3, B)],
        stage_changes=[
            move(1, PROPOSAL, "2026-11-03 10:00", A),  # A moved it: A's
            move(2, PROPOSAL, "2026-11-03 10:00", 0),  # a robot: the responsible B's
            move(3, PROPOSAL, "2026-11-03 10:00", 999),  # not in the roster: B's
        ],
    )
    assert (fact(results, A, "proposals"), fact(results, B, "proposals")) == (1, 2)


def test_won_amount_goes_to_whoever_was_responsible_when_it_was_won() -> None:
    results = run(
        leads=[
            lead(1, C, status=WON, price=100_000, closed="2026-11-10 10:00"),
            lead(2, B, status=WON, price=40_000, closed="2026-11-12 10:00"),
        ],
        stage_changes=[move(1, WON, "2026-11-10 10:00", B), move(2, WON, "2026-11-12 10:00", B)],
        responsible_changes=[
            {
                "event_id": "r1",
                "lead_id": 1,
                "created_at": ts("2026-11-05 10:00"),
                "before_user_id": A,
                "after_user_id": B,
            },  # B from the 5th
            {
                "event_id": "r2",
                "lead_id": 1,
                "created_at": ts("2026-11-20 09:00"),
                "before_user_id": B,
                "after_user_id": C,
            },  # C only after the win
        ],
    )
    # B: 100 000 (lead 1, B at the time) + 40 000 (lead 2, no history: current) = 140 000
    assert fact(results, B, "sales_rub") == 140_000
    assert fact(results, C, "sales_rub") == 0
    assert fact(results, B, "won") == 2


def test_won_before_the_first_recorded_handover_belongs_to_the_previous_owner() -> None:
    results = run(
        leads=[lead(1, B, status=WON, price=5_000, closed="2026-11-02 10:00")],
        stage_changes=[move(1, WON, "2026-11-02 10:00", A)],
        responsible_changes=[
            {
                "event_id": "r",
                "lead_id": 1,
                "created_at": ts("2026-11-15"),
                "before_user_id": A,
                "after_user_id": B,
            }
        ],
    )
    assert (fact(results, A, "sales_rub"), fact(results, B, "sales_rub")) == (5_000, 0)


def test_won_amount_upsell_counts_only_upsell_pipelines() -> None:
    results = run(
        leads=[
            lead(1, A, status=WON, pipeline=UPSELL, price=30_000, closed="2026-11-03 10:00"),
            lead(2, A, status=WON, price=70_000, closed="2026-11-04 10:00"),
        ],
        stage_changes=[
            move(1, WON, "2026-11-03 10:00", A, pipeline=UPSELL, before=UPSELL_TALK),
            move(2, WON, "2026-11-04 10:00", A),
        ],
    )
    assert fact(results, A, "upsell_rub") == 30_000
    assert fact(results, A, "sales_rub") == 100_000


def test_won_lead_without_events_falls_back_to_closed_at() -> None:
    results = run(
        leads=[
            lead(1, A, status=WON, price=9_000, closed="2026-11-05 10:00"),
            lead(2, A, status=LOST, price=9_000, closed="2026-11-05 10:00"),
        ]
    )
    assert fact(results, A, "sales_rub") == 9_000


def test_missed_share_counts_failed_status_or_zero_duration() -> None:
    results = run(
        calls=[
            call(1, "2026-11-03 10:00", A, "in", status=6, duration=0),  # missed (status 6)
            call(2, "2026-11-03 11:00", A, "in", status=4, duration=0),  # missed (duration 0)
            call(3, "2026-11-03 12:00", A, "in", status=4, duration=90),
            call(4, "2026-11-04 12:00", A, "in", status=None, duration=30),  # no status: answered
            call(5, "2026-11-04 13:00", A, "out", duration=0),  # outgoing: not in the share
        ]
    )
    assert fact(results, A, "missed") == 2 / 4


def test_missed_share_without_incoming_calls_is_empty_not_zero() -> None:
    results = run(calls=[call(1, "2026-11-03 10:00", A, "out")])
    assert math.isnan(fact(results, A, "missed"))


def test_callback_minutes_uses_the_next_outgoing_call_by_anyone_and_caps_at_the_window() -> None:
    results = run(
        calls=[
            call(1, "2026-11-03 10:00", A, "in", phone="111", status=6, duration=0),
            call(2, "2026-11-03 10:30", B, "out", phone="111"),  # B calls back: 30 min, A's fact
            call(3, "2026-11-03 11:00", A, "in", phone="222", status=7, duration=0),  # never
            call(4, "2026-11-03 09:00", A, "out", phone="222"),  # before the miss: not a callback
        ]
    )
    # (30 + 24·60) / 2 = 735 minutes
    assert fact(results, A, "callback") == 735
    assert math.isnan(fact(results, B, "callback"))


def test_callback_within_the_window_counts_its_real_minutes() -> None:
    results = run(
        cfg=config(),
        calls=[
            call(1, "2026-11-03 10:00", A, "in", phone="1", status=6, duration=0),
            call(2, "2026-11-04 09:00", A, "out", phone="1"),
        ],
    )
    assert fact(results, A, "callback") == 23 * 60


def test_calls_outgoing() -> None:
    results = run(
        calls=[
            call(1, "2026-11-03 10:00", A, "out"),
            call(2, "2026-11-04 10:00", A, "out"),
            call(3, "2026-11-04 10:00", A, "in"),
            call(4, "2026-10-31 10:00", A, "out"),
        ]
    )  # October
    assert fact(results, A, "outgoing") == 2


def test_tasks_overdue_and_their_share() -> None:
    results = run(
        tasks=[
            task(1, A, "2026-11-05 12:00", completed="2026-11-06 12:00"),  # done late: overdue
            task(2, A, "2026-11-05 12:00", completed="2026-11-05 11:00"),  # on time
            task(3, A, "2026-11-10 12:00"),  # open past its deadline: overdue
            task(4, A, "2026-11-25 12:00"),  # not due yet: neither
            task(5, A, "2026-10-25 12:00"),  # October deadline: not this period
            task(6, A, "2026-11-07 12:00", done=True),  # done, completion time unknown: on time
        ]
    )
    assert fact(results, A, "overdue") == 2
    assert fact(results, A, "overdue_share") == 2 / 4


def test_tasks_completed_in_the_period() -> None:
    results = run(
        tasks=[
            task(1, A, "2026-11-30 12:00", completed="2026-11-02 12:00"),
            task(2, A, "2026-11-01 12:00", completed="2026-10-31 12:00"),
            task(3, A, "2026-11-01 12:00", completed="2026-11-19 12:00"),
        ]
    )
    assert fact(results, A, "completed") == 2


def test_deal_violations_add_automatic_and_manual() -> None:
    results = run(
        leads=[lead(1, A), lead(2, A)],
        deal_violations=[
            {
                "lead_id": 1,
                "rule": "no_next_task",
                "first_seen_at": ts("2026-11-02 10:00"),
                "resolved_at": ts("2026-11-03 10:00"),
            },
            {
                "lead_id": 2,
                "rule": "stale_stage",
                "first_seen_at": ts("2026-10-20 10:00"),
                "resolved_at": pd.NaT,
            },  # first seen in October: October's
        ],
        violations=[
            {"date": "2026-11-05", "manager_id": A, "type": "deal", "ref": "x"},
            {"date": "2026-11-05", "manager_id": A, "type": "control", "ref": "y"},
        ],
    )
    assert fact(results, A, "deal_violations") == 2
    assert fact(results, A, "control") == 1


def test_deals_correct_share_over_leads_active_in_the_period() -> None:
    results = run(
        leads=[
            lead(1, A),
            lead(2, A),
            lead(3, A, status=WON, closed="2026-10-15 10:00"),
            lead(4, A, created="2026-11-10 10:00"),
        ],
        deal_violations=[
            {
                "lead_id": 2,
                "rule": "no_next_task",
                "first_seen_at": ts("2026-11-02 10:00"),
                "resolved_at": pd.NaT,
            }
        ],
    )
    # active in November: 1, 2, 4 (3 closed in October); 2 broke a rule → 2 / 3
    assert fact(results, A, "clean") == pytest.approx(2 / 3)


def test_score_average_and_nps() -> None:
    results = run(
        scores=[
            {"date": "2026-11-03", "manager_id": A, "kind": "call_quality", "score": 80},
            {"date": "2026-11-04", "manager_id": A, "kind": "call_quality", "score": 90},
            {"date": "2026-11-04", "manager_id": A, "kind": "nps", "score": 10},
            {"date": "2026-11-04", "manager_id": A, "kind": "nps", "score": 9},
            {"date": "2026-11-04", "manager_id": A, "kind": "nps", "score": 8},
            {"date": "2026-11-04", "manager_id": A, "kind": "nps", "score": 5},
        ]
    )
    assert fact(results, A, "quality") == 85  # (80 + 90) / 2
    assert fact(results, A, "nps") == 25  # (2 promoters − 1 detractor) / 4 × 100


def test_appeals_lost() -> None:
    results = run(
        appeals=[
            {"date": "2026-11-03", "manager_id": A, "ref": "1", "outcome": "lost"},
            {"date": "2026-11-03", "manager_id": A, "ref": "2", "outcome": "won"},
            {"date": "2026-11-03", "manager_id": A, "ref": "3", "outcome": "pending"},
        ]
    )
    assert fact(results, A, "appeals") == 1


def test_local_day_boundary_in_moscow() -> None:
    # 2026-10-31 21:30 UTC is 2026-11-01 00:30 in Moscow: a November call
    results = run(
        calls=[call(1, "2026-10-31 21:30", A, "out"), call(2, "2026-10-31 20:59", A, "out")]
    )
    assert fact(results, A, "outgoing") == 1


def test_local_day_boundary_in_another_zone() -> None:
    # 2026-10-31 14:30 UTC is 2026-11-01 00:30 in Vladivostok (UTC+10)
    results = run(
        cfg=config(timezone="Asia/Vladivostok"),
        calls=[call(1, "2026-10-31 14:30", A, "out"), call(2, "2026-10-31 13:59", A, "out")],
    )
    assert fact(results, A, "outgoing") == 1


def test_facts_only_count_up_to_now() -> None:
    results = run(
        now=ts("2026-11-03 12:00"),
        calls=[call(1, "2026-11-02 10:00", A, "out"), call(2, "2026-11-05 10:00", A, "out")],
    )
    assert fact(results, A, "outgoing") == 1

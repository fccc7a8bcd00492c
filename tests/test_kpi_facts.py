"""One hand-computed case (or more) per metric of SPEC §7.1; the period is November 2026.

`now` is 2026-11-20 12:00 UTC (15:00 in Moscow) unless a test says otherwise.
"""

from __future__ import annotations

import math

import pytest

from sheets_kpi.kpi.appeals import lead_ref
from sheets_kpi.kpi.facts import BUILDERS
from sheets_kpi.kpi.metrics import METRICS
from sheets_kpi.sheets.input_tabs import KINDS, VIOLATION_TYPES
from tests.kpi_fixtures import (
    LOST,
    NEW,
    NOW,
    PROPOSAL,
    QUALIFIED,
    SALES,
    UPSELL,
    UPSELL_TALK,
    WON,
    A,
    B,
    C,
    call,
    config,
    daily,
    fact,
    handover,
    lead,
    move,
    run,
    task,
    ts,
    violation,
    week,
)

# --- the registry -------------------------------------------------------------------------


def test_every_registered_metric_has_a_builder_and_every_builder_a_metric() -> None:
    assert set(BUILDERS) == set(METRICS)


def test_score_avg_and_violations_take_exactly_the_words_their_tabs_read() -> None:
    assert set(METRICS["score_avg"].allowed) == set(KINDS.values())
    assert set(METRICS["violations"].allowed) == set(VIOLATION_TYPES.values())


# --- stage_reached ------------------------------------------------------------------------


def test_stage_reached_counts_a_lead_once_per_period_even_moved_back_and_forth() -> None:
    results = run(
        leads=[lead(1, A), lead(2, A)],
        stage_changes=[
            move(1, QUALIFIED, "2026-11-03 10:00", A),  # counted, dated 3 Nov
            move(1, NEW, "2026-11-04 10:00", A),
            move(1, QUALIFIED, "2026-11-05 10:00", A),  # same lead, same month: not again
            move(2, QUALIFIED, "2026-10-30 10:00", A),  # October's
            move(2, QUALIFIED, "2026-11-10 10:00", A),  # and November's: once in each month
        ],
    )
    assert fact(results, A, "handoffs") == 2  # lead 1 + lead 2
    assert daily(results, A, "stage_reached(handoff)") == {
        "2026-10-30": (1, pytest.approx(math.nan, nan_ok=True)),
        "2026-11-03": (1, pytest.approx(math.nan, nan_ok=True)),
        "2026-11-10": (1, pytest.approx(math.nan, nan_ok=True)),
    }


def test_stage_reached_weekly_counts_a_lead_once_per_week() -> None:
    results = run(
        leads=[lead(1, A)],
        stage_changes=[
            move(1, QUALIFIED, "2026-11-03 10:00", A),  # week of 2 Nov
            move(1, NEW, "2026-11-04 10:00", A),
            move(1, QUALIFIED, "2026-11-05 10:00", A),  # same week: not again
            move(1, NEW, "2026-11-09 10:00", A),
            move(1, QUALIFIED, "2026-11-10 10:00", A),  # week of 9 Nov: again
        ],
    )
    assert fact(results, A, "handoffs") == 1  # once in the month
    assert week(results, A, "handoffs", "2026-11-02") == 1
    assert week(results, A, "handoffs", "2026-11-09") == 1


def test_week_straddling_two_months_counts_the_lead_once() -> None:
    # Mon 26 Oct – Sun 1 Nov: entered on 30 Oct and again on 1 Nov (Moscow dates)
    results = run(
        leads=[lead(1, A)],
        stage_changes=[
            move(1, QUALIFIED, "2026-10-30 10:00", A),
            move(1, NEW, "2026-10-31 10:00", A),
            move(1, QUALIFIED, "2026-11-01 10:00", A),
        ],
    )
    assert week(results, A, "handoffs", "2026-10-26") == 1  # the week: once
    assert fact(results, A, "handoffs") == 1  # November: once (its own first entry)


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


def test_robot_move_goes_to_whoever_was_responsible_at_that_moment() -> None:
    results = run(
        leads=[lead(1, C)],  # C owns it now
        stage_changes=[move(1, PROPOSAL, "2026-11-06 10:00", 0)],
        responsible_changes=[
            handover(1, "2026-11-02 10:00", C, A),  # A from the 2nd
            handover(1, "2026-11-12 10:00", A, C),  # back to C on the 12th
        ],
    )
    assert (fact(results, A, "proposals"), fact(results, C, "proposals")) == (1, 0)


def test_stage_group_of_several_statuses_counts_a_lead_once() -> None:
    cfg = config(
        {"handoffs": "stage_reached(handoff)"},
        stages={"handoff": ["Квалифицирован", "КП отправлено"]},
    )
    results = run(
        cfg=cfg,
        leads=[lead(1, A)],
        stage_changes=[
            move(1, QUALIFIED, "2026-11-03 10:00", A),
            move(1, PROPOSAL, "2026-11-04 10:00", A),  # the same stage group: once
        ],
    )
    assert fact(results, A, "handoffs") == 1


def test_stage_by_pipeline_and_status_id_and_deleted_leads() -> None:
    cfg = config(
        {"handoffs": "stage_reached(handoff)"},
        stages={"handoff": [{"pipeline_id": SALES, "status_id": QUALIFIED}]},
    )
    deleted = lead(2, A) | {"is_deleted": True}
    results = run(
        cfg=cfg,
        leads=[lead(1, A), deleted],
        stage_changes=[
            move(1, QUALIFIED, "2026-11-03 10:00", A),
            move(2, QUALIFIED, "2026-11-03 10:00", A),  # deleted lead: not counted
            move(1, QUALIFIED, "2026-11-04 10:00", A, pipeline=UPSELL),  # other pipeline
        ],
    )
    assert fact(results, A, "handoffs") == 1


# --- won_amount / won_count ---------------------------------------------------------------


def test_won_amount_goes_to_whoever_was_responsible_when_it_was_won() -> None:
    results = run(
        leads=[
            lead(1, C, status=WON, price=100_000, closed="2026-11-10 10:00"),
            lead(2, B, status=WON, price=40_000, closed="2026-11-12 10:00"),
        ],
        stage_changes=[move(1, WON, "2026-11-10 10:00", B), move(2, WON, "2026-11-12 10:00", B)],
        responsible_changes=[
            handover(1, "2026-11-05 10:00", A, B),  # B from the 5th
            handover(1, "2026-11-20 09:00", B, C),  # C only after the win
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
        responsible_changes=[handover(1, "2026-11-15 10:00", A, B)],
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
    assert fact(results, A, "upsell_rub") == 30_000  # the upsell pipeline only
    assert fact(results, A, "sales_rub") == 100_000  # 30 000 + 70 000: no filter


def test_won_amount_filtered_by_pipeline_id() -> None:
    results = run(
        cfg=config({"sales": f"won_amount({SALES})"}),
        leads=[
            lead(1, A, status=WON, pipeline=UPSELL, price=30_000, closed="2026-11-03 10:00"),
            lead(2, A, status=WON, price=70_000, closed="2026-11-04 10:00"),
        ],
    )
    assert fact(results, A, "sales") == 70_000


def test_won_lead_without_events_falls_back_to_closed_at() -> None:
    results = run(
        leads=[
            lead(1, A, status=WON, price=9_000, closed="2026-11-05 10:00"),
            lead(2, A, status=LOST, price=9_000, closed="2026-11-05 10:00"),  # lost: no
            lead(3, A, status=WON, price=9_000, closed="2026-10-31 20:00"),  # 23:00 MSK: Oct
        ]
    )
    assert fact(results, A, "sales_rub") == 9_000


def test_reopened_deals_count_once_on_the_final_win_or_not_at_all() -> None:
    results = run(
        leads=[
            lead(1, A, status=WON, price=10_000, closed="2026-11-12 10:00"),
            lead(2, A, status=PROPOSAL, price=20_000),  # won, then reopened: not a sale
        ],
        stage_changes=[
            move(1, WON, "2026-10-20 10:00", A),  # won in October …
            move(1, PROPOSAL, "2026-10-25 10:00", A),  # … reopened …
            move(1, WON, "2026-11-12 10:00", A),  # … and won again: November's, once
            move(2, WON, "2026-11-05 10:00", A),
            move(2, PROPOSAL, "2026-11-06 10:00", A),
        ],
    )
    assert fact(results, A, "sales_rub") == 10_000
    assert fact(results, A, "won") == 1
    assert "2026-10-20" not in daily(results, A, "won_amount")


# --- calls --------------------------------------------------------------------------------


def test_missed_share_counts_failed_status_or_zero_duration() -> None:
    results = run(
        calls=[
            call(1, "2026-11-03 10:00", A, "in", status=6, duration=0),  # missed (status 6)
            call(2, "2026-11-03 11:00", A, "in", status=4, duration=0),  # missed (duration 0)
            call(3, "2026-11-03 12:00", A, "in", status=2, duration=15),  # missed (status 2)
            call(4, "2026-11-03 12:00", A, "in", status=4, duration=90),  # answered
            call(5, "2026-11-04 12:00", A, "in", status=None, duration=30),  # answered
            call(6, "2026-11-04 13:00", A, "out", duration=0),  # outgoing: not in the share
        ]
    )
    assert fact(results, A, "missed") == 3 / 5
    assert daily(results, A, "calls_missed_share") == {
        "2026-11-03": (3, 4),
        "2026-11-04": (0, 1),
    }


def test_missed_share_without_incoming_calls_is_empty_not_zero() -> None:
    results = run(calls=[call(1, "2026-11-03 10:00", A, "out")])
    assert math.isnan(fact(results, A, "missed"))


def test_callback_minutes_uses_the_next_outgoing_call_by_anyone_and_caps_at_the_window() -> None:
    results = run(
        calls=[
            call(1, "2026-11-03 10:00", A, "in", phone="111", status=6, duration=0),
            call(2, "2026-11-03 10:30", B, "out", phone="111"),  # B calls back: 30 min, A's
            call(3, "2026-11-03 11:00", A, "in", phone="222", status=7, duration=0),  # never
            call(4, "2026-11-03 09:00", A, "out", phone="222"),  # before the miss: not one
        ]
    )
    # (30 + 24·60) / 2 = 735 minutes; B's fact is empty (B missed nothing)
    assert fact(results, A, "callback") == 735
    assert math.isnan(fact(results, B, "callback"))


def test_callback_within_the_window_counts_its_real_minutes() -> None:
    results = run(
        calls=[
            call(1, "2026-11-03 10:00", A, "in", phone="1", status=6, duration=0),
            call(2, "2026-11-04 09:00", A, "out", phone="1"),  # 23 h later
        ],
    )
    assert fact(results, A, "callback") == 23 * 60


def test_callback_after_the_window_counts_as_the_window() -> None:
    results = run(
        cfg=config(callback_window_hours=2),
        calls=[
            call(1, "2026-11-03 10:00", A, "in", phone="1", status=6, duration=0),
            call(2, "2026-11-03 13:00", A, "out", phone="1"),  # 180 min > 120
        ],
    )
    assert fact(results, A, "callback") == 120


def test_callback_to_the_same_contact_on_another_number() -> None:
    results = run(
        calls=[
            call(1, "2026-11-03 10:00", A, "in", phone="111", status=6, duration=0, contact=5),
            call(2, "2026-11-03 10:40", A, "out", phone="999", contact=5),  # contact: 40 min
            call(3, "2026-11-03 11:30", A, "out", phone="111"),  # phone: 90 min, later
        ],
    )
    assert fact(results, A, "callback") == 40


def test_missed_call_not_yet_called_back_counts_the_minutes_so_far() -> None:
    results = run(
        now=ts("2026-11-20 12:00"),
        calls=[call(1, "2026-11-20 11:15", A, "in", phone="1", status=6, duration=0)],
    )
    assert fact(results, A, "callback") == 45  # 11:15 → 12:00, the window is not over


def test_a_missed_call_not_yet_called_back_counts_whole_minutes_one_called_back_exact_ones():
    """11:15 → 12:00:40 is 45 whole minutes, the same all through that minute; a call called
    back 12 min 30 s after the miss counts 12.5."""
    waiting = [call(1, "2026-11-20 11:15", A, "in", phone="1", status=6, duration=0)]
    for now in ("2026-11-20 12:00:01", "2026-11-20 12:00:40", "2026-11-20 12:00:59"):
        assert fact(run(now=ts(now), calls=waiting), A, "callback") == 45
    back = [*waiting, call(2, "2026-11-20 11:27:30", A, "out", phone="1")]
    assert fact(run(now=ts("2026-11-20 12:00:40"), calls=back), A, "callback") == 12.5


def test_missed_call_with_no_phone_or_contact_is_left_out_of_callback() -> None:
    results = run(
        calls=[
            call(1, "2026-11-03 10:00", A, "in", phone="", status=6, duration=0),
            call(2, "2026-11-03 11:00", A, "in", phone="7", status=6, duration=0),
            call(3, "2026-11-03 11:10", A, "out", phone="7"),
        ],
    )
    assert fact(results, A, "callback") == 10  # only call 2: 10 minutes
    assert fact(results, A, "missed") == 1.0  # both are still missed: 2 / 2


def test_calls_outgoing() -> None:
    results = run(
        calls=[
            call(1, "2026-11-03 10:00", A, "out"),
            call(2, "2026-11-04 10:00", A, "out"),
            call(3, "2026-11-04 10:00", A, "in"),  # incoming
            call(4, "2026-10-31 10:00", A, "out"),  # October
            call(5, "2026-11-04 10:00", B, "out"),  # B's
        ]
    )
    assert (fact(results, A, "outgoing"), fact(results, B, "outgoing")) == (2, 1)


# --- tasks --------------------------------------------------------------------------------


def test_tasks_overdue_and_their_share() -> None:
    results = run(
        tasks=[
            task(1, A, "2026-11-05 12:00", completed="2026-11-06 12:00"),  # done late: overdue
            task(2, A, "2026-11-05 12:00", completed="2026-11-05 11:00"),  # on time
            task(3, A, "2026-11-10 12:00"),  # open past its deadline: overdue
            task(4, A, "2026-11-25 12:00"),  # not due yet: neither
            task(5, A, "2026-10-25 12:00"),  # October deadline: not this period
            task(6, A, "2026-11-07 12:00", done=True),  # done, time unknown: on time
        ]
    )
    assert fact(results, A, "overdue") == 2  # tasks 1 and 3
    assert fact(results, A, "overdue_share") == 2 / 4  # of tasks 1, 2, 3, 6


@pytest.mark.parametrize(("now", "overdue"), [("2026-11-20 08:00", 0), ("2026-11-20 10:00", 1)])
def test_a_task_due_today_counts_once_its_deadline_has_passed(now, overdue) -> None:
    results = run(now=ts(now), tasks=[task(1, A, "2026-11-20 09:00")])
    assert fact(results, A, "overdue") == overdue


def test_tasks_completed_in_the_period() -> None:
    results = run(
        tasks=[
            task(1, A, "2026-11-30 12:00", completed="2026-11-02 12:00"),  # counted
            task(2, A, "2026-11-01 12:00", completed="2026-10-31 12:00"),  # October
            task(3, A, "2026-11-01 12:00", completed="2026-11-19 12:00"),  # counted (late)
            task(4, A, "2026-11-01 12:00", completed="2026-11-19 12:00", done=False),  # reopened
        ]
    )
    assert fact(results, A, "completed") == 2


# --- deal rules as facts ------------------------------------------------------------------


def test_deal_violations_add_automatic_and_manual() -> None:
    results = run(
        leads=[lead(1, A), lead(2, A)],
        deal_violations=[
            violation(1, "no_next_task", "2026-11-02 10:00", "2026-11-03 10:00"),
            violation(2, "stale_stage", "2026-10-20 10:00"),  # first seen in October
        ],
        violations=[
            {"date": "2026-11-05", "manager_id": A, "type": "deal", "ref": "x"},
            {"date": "2026-11-05", "manager_id": A, "type": "control", "ref": "y"},
        ],
    )
    assert fact(results, A, "deal_violations") == 2  # 1 automatic + 1 manual
    assert fact(results, A, "control") == 1


def test_automatic_violation_belongs_to_the_owner_when_first_seen() -> None:
    results = run(
        leads=[lead(1, B)],
        deal_violations=[violation(1, "no_next_task", "2026-11-04 10:00")],
        responsible_changes=[handover(1, "2026-11-10 10:00", A, B)],  # A until the 10th
    )
    assert (fact(results, A, "deal_violations"), fact(results, B, "deal_violations")) == (1, 0)


def test_deals_correct_share_over_leads_active_in_the_period() -> None:
    results = run(
        leads=[
            lead(1, A),
            lead(2, A),
            lead(3, A, status=WON, closed="2026-10-15 10:00"),  # closed in October
            lead(4, A, created="2026-11-10 10:00"),
            lead(5, A, status=LOST, closed="2026-11-02 10:00"),  # open 1–2 Nov: active
            lead(6, A, created="2026-09-01 10:00"),
        ],
        deal_violations=[
            violation(2, "no_next_task", "2026-11-02 10:00"),  # in November
            violation(6, "stale_stage", "2026-09-10 10:00", "2026-10-01 10:00"),  # resolved
        ],
    )
    # active in November: 1, 2, 4, 5, 6; lead 2 broke a rule → 4 / 5
    assert fact(results, A, "clean") == pytest.approx(4 / 5)


def test_deals_correct_share_counts_a_violation_still_open_from_before() -> None:
    results = run(
        leads=[lead(1, A), lead(2, A)],
        deal_violations=[violation(1, "stale_stage", "2026-10-10 10:00")],  # still open
    )
    assert fact(results, A, "clean") == pytest.approx(1 / 2)


def test_deals_correct_share_counts_a_violation_first_seen_at_the_computing_instant() -> None:
    """The current period runs up to and including `now`: a rule broken at that very second (a
    whole-second `now`, as with --now or a pinned clock) spoils the lead like any other."""
    results = run(
        now=NOW,
        leads=[lead(1, A), lead(2, A)],
        deal_violations=[violation(1, "no_next_task", "2026-11-20 12:00")],  # = NOW
    )
    assert fact(results, A, "clean") == pytest.approx(1 / 2)


# The deal rules were first evaluated on 10 Nov 09:00 UTC (12:00 in Moscow).
FIRST = [{"first_at": ts("2026-11-10 09:00")}]
RULE_KPIS = {"deal_violations": "deal_violations", "clean": "deals_correct_share"}
NAN = pytest.approx(math.nan, nan_ok=True)
NOW_S = "2026-11-20 12:00"  # NOW


def backlog(lead_id: int, rule: str, first: str, resolved: str | None = None) -> dict:
    return violation(lead_id, rule, first, resolved) | {"backlog": True}


def test_deal_violations_are_counted_from_the_first_evaluations_day() -> None:
    results = run(
        cfg=config(RULE_KPIS),
        leads=[lead(i, A) for i in range(1, 5)],
        rule_evaluation=FIRST,
        deal_violations=[
            violation(1, "stale_stage", "2026-11-05 10:00"),  # began before that day: unmeasured
            violation(2, "no_next_task", "2026-11-10 06:00"),  # began that day, before 09:00
            backlog(3, "required_fields", "2026-11-10 09:00"),  # open then, start unknown
            violation(4, "no_next_task", "2026-11-15 10:00"),  # seen by a later evaluation
        ],
        violations=[{"date": "2026-11-03", "manager_id": A, "type": "deal", "ref": "x"}],
    )
    # automatic: leads 2 and 4; manual rows are typed facts and count whenever dated
    assert fact(results, A, "deal_violations") == 3
    assert daily(results, A, "deal_violations") == {
        "2026-11-03": (1.0, NAN),
        "2026-11-10": (1.0, NAN),
        "2026-11-15": (1.0, NAN),
    }
    # Динамика: no value (not 0) in weeks that ended before 10 Nov, the manual row's included
    assert math.isnan(week(results, A, "deal_violations", "2026-11-02"))
    assert math.isnan(week(results, None, "deal_violations", "2026-11-02"))
    assert week(results, A, "deal_violations", "2026-11-09") == 2  # leads 2 and 4 (Sun 15th)
    assert week(results, A, "deal_violations", "2026-11-16") == 0
    # without a recorded first evaluation (tests, a store that never evaluated) all count
    unknown = run(
        cfg=config(RULE_KPIS),
        leads=[lead(i, A) for i in range(1, 5)],
        deal_violations=[violation(1, "stale_stage", "2026-11-05 10:00"), backlog(3, "x", NOW_S)],
    )
    assert fact(unknown, A, "deal_violations") == 1  # backlog counts in no period regardless
    assert week(unknown, A, "deal_violations", "2026-11-02") == 1


def test_deals_correct_share_is_measured_from_the_first_evaluation() -> None:
    results = run(
        cfg=config(RULE_KPIS),
        rule_evaluation=FIRST,
        leads=[
            lead(1, A),  # open since October, clean
            lead(2, A, status=LOST, closed="2026-11-05 10:00"),  # closed before: unknown, out
            lead(3, A),
            lead(4, A),
        ],
        deal_violations=[
            backlog(3, "required_fields", "2026-11-10 09:00"),
            violation(4, "stale_stage", "2026-10-20 10:00", "2026-11-12 10:00"),  # reconstructed
        ],
    )
    assert fact(results, A, "clean") == pytest.approx(1 / 3)  # leads 1, 3 and 4; only 1 clean
    assert daily(results, A, "deals_correct_share") == {
        "2026-11-10": (1.0, 3.0)
    }  # dated from that day
    assert all(
        d >= "2026-11-01" for d in daily(results, A, "deals_correct_share")
    )  # no October: not 100 %
    assert math.isnan(week(results, A, "clean", "2026-11-02"))
    assert math.isnan(week(results, A, "clean", "2026-10-26"))
    assert week(results, A, "clean", "2026-11-09") == pytest.approx(1 / 3)
    assert week(results, A, "clean", "2026-11-16") == pytest.approx(2 / 3)  # 4 resolved on 12th


def test_deals_correct_share_at_the_first_evaluation_itself() -> None:
    """The first cycle: rules evaluated at `now`, a backlog violation seen at that instant."""
    results = run(
        cfg=config(RULE_KPIS),
        rule_evaluation=[{"first_at": NOW}],
        leads=[lead(1, A), lead(2, A)],
        deal_violations=[backlog(1, "no_next_task", NOW_S)],
    )
    assert fact(results, A, "clean") == pytest.approx(1 / 2)
    assert daily(results, A, "deals_correct_share") == {"2026-11-20": (1.0, 2.0)}
    assert fact(results, A, "deal_violations") == 0  # the backlog is no day's violation


def test_deals_correct_share_follows_the_lead_to_its_owner_now() -> None:
    results = run(
        leads=[lead(1, B), lead(2, A)],
        responsible_changes=[handover(1, "2026-11-15 10:00", A, B)],
    )
    # lead 1 is B's now (the period is not over): A 1 lead, B 1 lead, both clean
    assert (fact(results, A, "clean"), fact(results, B, "clean")) == (1.0, 1.0)


# --- Sheets inputs ------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([7, 8, 8], 0),  # passives only
        ([0, 6], -100),  # detractors only
        ([9, 10], 100),
        ([6, 7, 9], 0),  # (1 − 1) / 3
    ],
)
def test_nps_edges(answers, expected) -> None:
    results = run(
        scores=[{"date": "2026-11-04", "manager_id": A, "kind": "nps", "score": s} for s in answers]
    )
    assert fact(results, A, "nps") == pytest.approx(expected)


def test_violations_by_type_and_appeals_lost() -> None:
    results = run(
        cfg=config(
            {
                "control": "violations(control)",
                "regulation": "violations(regulation)",
                "appeals": "appeals_lost",
            }
        ),
        violations=[
            {"date": "2026-11-05", "manager_id": A, "type": "control", "ref": "1"},
            {"date": "2026-11-06", "manager_id": A, "type": "control", "ref": "2"},
            {"date": "2026-11-06", "manager_id": A, "type": "regulation", "ref": "3"},
            {"date": "2026-10-06", "manager_id": A, "type": "regulation", "ref": "4"},  # Oct
        ],
        appeals=[
            {"date": "2026-11-03", "manager_id": A, "ref": "1", "outcome": "lost"},
            {"date": "2026-11-03", "manager_id": A, "ref": "2", "outcome": "won"},
            {"date": "2026-11-03", "manager_id": A, "ref": "3", "outcome": "pending"},
        ],
    )
    # appeal 2 was won: violation 2 is cancelled; appeal 1 lost confirms 1, 3 is pending
    assert [fact(results, A, k) for k in ("control", "regulation", "appeals")] == [1, 1, 1]


APPEAL_KPIS = {
    "deal_violations": "deal_violations",
    "clean": "deals_correct_share",
    "control": "violations(control)",
    "regulation": "violations(regulation)",
    "appeals": "appeals_lost",
}


def appeal(row: int, day: str, ref: str, outcome: str, manager: int = A) -> dict:
    return {
        "date": day,
        "manager_id": manager,
        "ref": ref,
        "outcome": outcome,
        "row": row,
        "tab": "Апелляции",
    }


def test_a_won_appeal_cancels_the_violation_its_ref_names() -> None:
    manual = [
        ("2026-11-03", A, "deal", "Н-1"),
        ("2026-11-04", A, "control", "Н-2"),
        ("2026-11-05", A, "control", "Н-3"),
        ("2026-11-05", B, "control", "Н-4"),
        ("2026-11-05", A, "regulation", "Н-5"),
    ]
    results = run(
        cfg=config(APPEAL_KPIS),
        leads=[lead(i, A) for i in (10, 11, 12, 13)],
        deal_violations=[
            violation(10, "no_next_task", "2026-11-06 10:00"),
            violation(11, "stale_stage", "2026-11-07 10:00"),
            violation(12, "no_next_task", "2026-11-12 10:00"),
        ],
        violations=[{"date": d, "manager_id": m, "type": t, "ref": r} for d, m, t, r in manual],
        appeals=[
            appeal(2, "2026-11-08", "н-1 ", "won"),  # case and spaces ignored: cancels Н-1
            appeal(3, "2026-11-08", "Н-2", "lost"),  # confirms Н-2
            appeal(4, "2026-11-08", "Н-3", "pending"),  # leaves Н-3
            appeal(5, "2026-11-09", "#10", "won"),  # lead 10's automatic violation
            appeal(6, "2026-11-06", "https://x.amocrm.ru/leads/detail/11", "won"),  # too early
            appeal(7, "2026-11-09", "Н-4", "won"),  # Н-4 is Борис's, not Анна's
            appeal(8, "2026-11-09", "", "lost"),  # names nothing, still a lost appeal
            appeal(9, "2026-11-08", "Н-5", "won"),
            appeal(10, "2026-11-10", "Н-5", "lost"),  # re-examined and lost: the latest decides
        ],
    )
    # deal: Н-1 and lead 10 cancelled → leads 11 and 12
    assert fact(results, A, "deal_violations") == 2
    # clean deals: lead 10's violation no longer counts → 10 and 13 clean of 10–13
    assert fact(results, A, "clean") == pytest.approx(2 / 4)
    assert fact(results, A, "control") == 2  # Н-2 (lost) and Н-3 (pending)
    assert fact(results, B, "control") == 1  # Н-4 stands
    assert fact(results, A, "regulation") == 1  # Н-5: the later appeal was lost
    assert fact(results, A, "appeals") == 3  # rows 3, 8 and 10
    issues = results.issues[results.issues["source"] == "Апелляции"]
    assert issues[["severity", "where", "value"]].values.tolist() == [
        ["warning", "row 6, column ref", "https://x.amocrm.ru/leads/detail/11"],
        ["warning", "row 7, column ref", "Н-4"],
        ["warning", "row 8, column ref", ""],
    ]
    assert issues["message"].tolist() == [
        "lead 11 has no automatic deal violation first seen by the appeal's date; "
        "the appeal cancels nothing",
        "ref is a violation of another manager (id 2), not of manager 1; "
        "the appeal cancels nothing",
        "ref is empty: name the violation (its ref on the violations tab or the lead id); "
        "the appeal cancels nothing",
    ]


@pytest.mark.parametrize(
    ("ref", "lead_id"),
    [
        ("4521", 4521),
        ("#4521", 4521),
        ("# 4521", 4521),
        ("https://example.amocrm.ru/leads/detail/4521", 4521),
        ("https://example.amocrm.ru/leads/detail/4521?tab=notes", 4521),
        ("Н-1", None),
        ("4521 и 4522", None),
        ("", None),
    ],
)
def test_an_appeal_names_a_lead_by_id_or_amocrm_link(ref, lead_id) -> None:
    assert lead_ref(ref) == lead_id


# --- local dates --------------------------------------------------------------------------


def test_local_day_boundary_in_moscow() -> None:
    # 2026-10-31 21:30 UTC is 2026-11-01 00:30 in Moscow (UTC+3): a November call
    results = run(
        calls=[call(1, "2026-10-31 21:30", A, "out"), call(2, "2026-10-31 20:59", A, "out")]
    )
    assert fact(results, A, "outgoing") == 1
    assert "2026-11-01" in daily(results, A, "calls_outgoing")


def test_local_day_boundary_in_vladivostok() -> None:
    # 2026-10-31 14:30 UTC is 2026-11-01 00:30 in Vladivostok (UTC+10)
    results = run(
        cfg=config(timezone="Asia/Vladivostok"),
        calls=[call(1, "2026-10-31 14:30", A, "out"), call(2, "2026-10-31 13:59", A, "out")],
    )
    assert fact(results, A, "outgoing") == 1


def test_local_day_boundary_behind_utc_on_a_dst_night() -> None:
    # New York leaves DST at 06:00 UTC on 1 Nov 2026: 03:30 UTC is 31 Oct 23:30 EDT (October),
    # 04:30 UTC is 1 Nov 00:30 EDT (November), 07:00 UTC is 1 Nov 02:00 EST (November)
    results = run(
        now=ts("2026-11-20 12:00"),
        cfg=config(timezone="America/New_York"),
        calls=[
            call(1, "2026-11-01 03:30", A, "out"),
            call(2, "2026-11-01 04:30", A, "out"),
            call(3, "2026-11-01 07:00", A, "out"),
        ],
    )
    assert fact(results, A, "outgoing") == 2
    assert daily(results, A, "calls_outgoing") == {
        "2026-10-31": (1, pytest.approx(math.nan, nan_ok=True)),
        "2026-11-01": (2, pytest.approx(math.nan, nan_ok=True)),
    }


def test_facts_only_count_up_to_now() -> None:
    results = run(
        now=ts("2026-11-03 12:00"),
        calls=[call(1, "2026-11-02 10:00", A, "out"), call(2, "2026-11-05 10:00", A, "out")],
    )
    assert fact(results, A, "outgoing") == 1

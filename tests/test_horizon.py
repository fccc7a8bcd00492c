"""When the numbers next move with the clock alone (kpi/horizon.py), hand-checked instants.

`now` is 2026-11-18 10:00 UTC, 13:00 in Moscow: the next local midnight is 21:00 UTC.
"""

from __future__ import annotations

import pandas as pd

from sheets_kpi.kpi.horizon import next_change
from sheets_kpi.kpi.inputs import Inputs
from tests.kpi_fixtures import WON, A, call, config, lead, move, task, ts

NOW = ts("2026-11-18 10:00")
MIDNIGHT = ts("2026-11-18 21:00")


def at(**frames: list[dict]) -> pd.Timestamp:
    return next_change(Inputs.build(**frames), config(), NOW)


def test_with_nothing_else_the_numbers_hold_until_the_next_local_midnight() -> None:
    assert at() == MIDNIGHT
    moscow_dec = next_change(Inputs.build(), config(), ts("2026-12-31 20:59"))
    assert moscow_dec == ts("2026-12-31 21:00")  # a new year, a new period, at that instant


def test_a_task_falling_due_moves_the_overdue_counts_at_its_deadline() -> None:
    assert at(tasks=[task(1, A, "2026-11-18 12:30")]) == ts("2026-11-18 12:30")
    assert at(tasks=[task(1, A, "2026-11-18 09:00")]) == MIDNIGHT  # already due: no move


def test_a_missed_call_waiting_for_its_callback_moves_at_each_whole_minute() -> None:
    """Its minutes are whole minutes waited: 60 at 10:00, 61 from 10:01; a call missed at
    09:00:30 has waited 59 whole minutes until 10:00:30."""
    missed = call(1, "2026-11-18 09:00", A, "in", duration=0)
    assert at(calls=[missed]) == ts("2026-11-18 10:01")
    half = call(5, "2026-11-18 09:00:30", A, "in", duration=0)
    assert at(calls=[missed, half]) == ts("2026-11-18 10:00:30")
    short = config(callback_window_hours=0.01)  # 36 s: the window comes before a minute
    recent = call(6, "2026-11-18 09:59:50", A, "in", duration=0)
    assert next_change(Inputs.build(calls=[recent]), short, NOW) == ts("2026-11-18 10:00:26")
    called_back = call(2, "2026-11-18 09:20", A, "out")
    assert at(calls=[missed, called_back]) == MIDNIGHT
    old = call(3, "2026-11-17 09:00", A, "in", duration=0)  # past the 24 h window: capped
    assert at(calls=[old]) == MIDNIGHT
    without = config(kpis={"won": "won_count"})  # no KPI measures callbacks
    assert next_change(Inputs.build(calls=[missed]), without, NOW) == MIDNIGHT


def test_an_open_lead_goes_stale_fourteen_days_after_its_last_stage_move() -> None:
    created = lead(7, A, created="2026-11-04 12:00")
    assert at(leads=[created]) == ts("2026-11-18 12:00")
    moved = move(7, 101, "2026-11-10 08:00", A)
    assert at(leads=[created], stage_changes=[moved]) == MIDNIGHT  # stale on 24 Nov
    won = lead(7, A, status=WON, created="2026-11-04 12:00", closed="2026-11-06 10:00")
    assert at(leads=[won]) == MIDNIGHT  # won: no rule looks at it


def test_a_deal_leaves_the_six_month_analytics_window_six_months_after_it_closed() -> None:
    won = lead(8, A, status=WON, created="2026-05-01 09:00", closed="2026-05-18 14:00")
    assert at(leads=[won]) == ts("2026-11-18 14:00")
    gone = lead(9, A, status=WON, created="2026-05-01 09:00", closed="2026-05-18 09:00")
    assert at(leads=[gone]) == MIDNIGHT  # left the window an hour ago


def test_at_a_month_end_a_deal_whose_exit_months_cannot_place_keeps_the_numbers_moving() -> None:
    # 31 Aug − 6 months is 28 Feb: a deal of 28 Feb 12:00 is inside at 31 Aug 10:00 and leaves
    # at 12:00, after its "closed + 6 months" (28 Aug); the horizon does not guess: now.
    won = lead(8, A, status=WON, created="2026-02-01 09:00", closed="2026-02-28 12:00")
    now = ts("2026-08-31 10:00")
    assert next_change(Inputs.build(leads=[won]), config(), now) == now


def test_activity_dated_after_now_counts_from_its_instant() -> None:
    early = call(4, "2026-11-18 11:00", A, "out")  # a telephony clock ahead of ours
    assert at(calls=[early]) == ts("2026-11-18 11:00")

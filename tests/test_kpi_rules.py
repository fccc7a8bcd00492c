"""Deal rules (SPEC §7.2) on the current lead state; now = 2026-11-20 12:00 UTC."""

from __future__ import annotations

import pandas as pd
import pytest

from sheets_kpi.config import RulesConfig
from sheets_kpi.kpi.inputs import frame
from sheets_kpi.kpi.rules import evaluate_deal_rules, onsets
from tests.kpi_fixtures import (
    LOST,
    NEW,
    PROPOSAL,
    QUALIFIED,
    SALES,
    STATUSES,
    UPSELL,
    UPSELL_TALK,
    WON,
    A,
    lead,
    move,
    task,
    ts,
)

NOW = ts("2026-11-20 12:00")
ONLY = {"no_next_task": False, "stale_stage_days": None}


def found(leads, rules: dict, tasks=(), moves=()) -> list[tuple[int, str]]:
    result = evaluate_deal_rules(
        frame("leads", leads),
        frame("tasks", list(tasks)),
        frame("statuses", STATUSES),
        frame("stage_changes", list(moves)),
        RulesConfig.model_validate(rules),
        NOW,
    )
    return [tuple(x) for x in result.itertuples(index=False)]


def test_no_next_task() -> None:
    leads = [lead(i, A) for i in range(1, 6)]
    tasks = [
        task(1, A, "2026-11-25 10:00", lead_id=2),  # open task: fine
        task(2, A, "2026-11-10 10:00", lead_id=3),  # open and overdue: still a next task
        task(3, A, "2026-11-10 10:00", completed="2026-11-10 09:00", lead_id=4),  # done: no
        task(4, A, "2026-11-25 10:00", lead_id=5) | {"entity_type": "contacts"},  # not the lead
    ]
    rules = {"no_next_task": True, "stale_stage_days": None}
    assert found(leads, rules, tasks) == [
        (1, "no_next_task"),
        (4, "no_next_task"),
        (5, "no_next_task"),
    ]


@pytest.mark.parametrize(
    ("last_move", "stale"),
    [
        ("2026-11-05 12:00", True),  # 15 days > 14
        ("2026-11-06 12:00", False),  # exactly 14 days: not longer than N
        ("2026-11-19 12:00", False),
        (None, True),  # no move at all: since creation on 1 Oct
    ],
)
def test_stale_stage_counts_from_the_last_status_change(last_move, stale) -> None:
    moves = [move(1, QUALIFIED, "2026-10-02 10:00", A)]
    if last_move:
        moves.append(move(1, PROPOSAL, last_move, A))
    else:
        moves = []
    rules = {"no_next_task": False, "stale_stage_days": 14}
    assert found([lead(1, A, status=PROPOSAL)], rules, moves=moves) == (
        [(1, "stale_stage")] if stale else []
    )


def test_required_fields_at_or_after_the_stage() -> None:
    leads = [
        lead(1, A, status=PROPOSAL, fields={}),  # at the stage, missing: flagged
        lead(2, A, status=PROPOSAL, fields={"источник": "Сайт"}),  # name, any case: fine
        lead(3, A, status=QUALIFIED, fields={}),  # before the stage: not yet required
        lead(4, A, status=PROPOSAL, fields={"Источник": ""}),  # empty value: missing
        lead(5, A, status=PROPOSAL, fields={"Источник": "Сайт"}),  # but no field 777
    ]
    rules = ONLY | {"required_fields": {"КП отправлено": ["Источник"]}}
    assert found(leads[:4], rules) == [(1, "required_fields"), (4, "required_fields")]
    by_id = ONLY | {"required_fields": {"КП отправлено": ["Источник", 777]}}
    assert found(
        [leads[4], lead(6, A, status=PROPOSAL, fields={"Источник": 1, "777": "x"})], by_id
    ) == [(5, "required_fields")]


def test_required_fields_apply_in_later_stages_too() -> None:
    statuses = [
        *STATUSES,
        {
            "pipeline_id": SALES,
            "pipeline_name": "Продажи",
            "status_id": 103,
            "status_name": "Договор",
            "sort": 25,
        },
    ]
    result = evaluate_deal_rules(
        frame("leads", [lead(1, A, status=103, fields={})]),
        frame("tasks", []),
        frame("statuses", statuses),
        frame("stage_changes", []),
        RulesConfig.model_validate(ONLY | {"required_fields": {"КП отправлено": ["Источник"]}}),
        NOW,
    )
    assert result.values.tolist() == [[1, "required_fields"]]  # Договор (25) is past КП (20)


def test_zero_price_after_a_stage() -> None:
    leads = [
        lead(1, A, status=PROPOSAL, price=0),  # at the stage, price 0: flagged
        lead(2, A, status=PROPOSAL, price=50_000),
        lead(3, A, status=QUALIFIED, price=0),  # before the stage
        lead(4, A, status=PROPOSAL) | {"price": float("nan")},  # no price at all: flagged
        lead(5, A, status=UPSELL_TALK, pipeline=UPSELL, price=0),  # no such stage there
    ]
    rules = ONLY | {"zero_price_after": ["КП отправлено"]}
    assert found(leads, rules) == [(1, "zero_price_after"), (4, "zero_price_after")]


def test_stage_given_by_ids() -> None:
    rules = ONLY | {"zero_price_after": [{"pipeline_id": SALES, "status_id": QUALIFIED}]}
    leads = [lead(1, A, status=QUALIFIED), lead(2, A, status=NEW), lead(3, A, status=PROPOSAL)]
    assert found(leads, rules) == [(1, "zero_price_after"), (3, "zero_price_after")]


def test_closed_and_deleted_leads_are_never_checked() -> None:
    leads = [
        lead(1, A, status=WON, closed="2026-11-01 10:00", price=0, fields={}),
        lead(2, A, status=LOST, closed="2026-11-01 10:00", price=0, fields={}),
        lead(3, A, status=PROPOSAL, price=0, fields={}) | {"is_deleted": True},
    ]
    rules = {
        "no_next_task": True,
        "stale_stage_days": 1,
        "required_fields": {"КП отправлено": ["Источник"]},
        "zero_price_after": ["КП отправлено"],
    }
    assert found(leads, rules) == []


def test_all_rules_together_sorted_and_typed() -> None:
    rules = {
        "no_next_task": True,
        "stale_stage_days": 14,
        "required_fields": {"КП отправлено": ["Источник"]},
        "zero_price_after": ["КП отправлено"],
    }
    leads = [lead(2, A, status=PROPOSAL, price=0, fields={}), lead(1, A, status=NEW)]
    tasks = [task(1, A, "2026-11-25 10:00", lead_id=2)]
    moves = [move(2, PROPOSAL, "2026-11-19 10:00", A)]
    result = evaluate_deal_rules(
        frame("leads", leads),
        frame("tasks", tasks),
        frame("statuses", STATUSES),
        frame("stage_changes", moves),
        RulesConfig.model_validate(rules),
        NOW,
    )
    assert result.values.tolist() == [
        [1, "no_next_task"],
        [1, "stale_stage"],  # created 1 Oct, never moved
        [2, "required_fields"],
        [2, "zero_price_after"],
    ]
    assert result["lead_id"].dtype == "int64"
    off = found(leads, {"no_next_task": False, "stale_stage_days": None})
    assert off == []
    assert isinstance(result, pd.DataFrame)


# --- the first evaluation: when did what is already broken begin -------------------------

CONTRACT = 103  # "Договор", sort 25: past КП отправлено (20)
WITH_CONTRACT = [
    *STATUSES,
    {
        "pipeline_id": SALES,
        "pipeline_name": "Продажи",
        "status_id": CONTRACT,
        "status_name": "Договор",
        "sort": 25,
    },
]
YOUNG, OLD = "2026-10-01 09:00", "2026-08-01 09:00"  # the history starts on 1 Sep


def test_onsets_of_what_the_first_evaluation_finds() -> None:
    """now 20 Nov 12:00 UTC; the synced stage history starts 1 Sep (lead 99's move)."""
    leads = [
        lead(1, A, status=PROPOSAL),
        lead(2, A, created=YOUNG),
        lead(3, A, created=OLD),
        lead(4, A),
        lead(5, A),
        lead(6, A, status=QUALIFIED),
        lead(7, A, created=YOUNG),
        lead(8, A, status=PROPOSAL),
        lead(9, A, status=PROPOSAL),
        lead(10, A, status=PROPOSAL, created=YOUNG),
        lead(11, A, status=CONTRACT, created=OLD),
        lead(12, A, status=PROPOSAL),
        lead(13, A, status=PROPOSAL, fields={}),
    ]
    moves = [
        move(99, NEW, "2026-09-01 00:00", A),
        move(1, PROPOSAL, "2026-11-01 09:00", A, before=QUALIFIED),
        move(6, QUALIFIED, "2026-11-12 08:00", A, before=NEW),
        move(8, QUALIFIED, "2026-10-05 10:00", A, before=NEW),
        move(8, PROPOSAL, "2026-11-03 10:00", A, before=QUALIFIED),
        move(9, PROPOSAL, "2026-10-10 10:00", A, before=QUALIFIED),
        move(9, WON, "2026-10-20 10:00", A, before=PROPOSAL),  # won: closed, no rule then
        move(9, PROPOSAL, "2026-11-02 11:00", A, before=WON),  # reopened
        move(11, CONTRACT, "2026-11-04 10:00", A, before=PROPOSAL),  # inside since before 1 Sep
        move(12, QUALIFIED, "2026-11-06 10:00", A, before=PROPOSAL),  # history lags the lead
    ]
    tasks = [
        task(1, A, "2026-11-05 10:00", completed="2026-11-05 10:00", lead_id=4),
        task(2, A, "2026-11-10 10:00", completed="2026-11-10 15:00", lead_id=4),
        task(3, A, "2026-11-10 10:00", done=True, lead_id=5),  # done, no known completion
    ]
    cases = [
        (1, "stale_stage", "2026-11-15 09:00"),  # entered 1 Nov + 14 days
        (2, "stale_stage", "2026-10-15 09:00"),  # never moved, created after 1 Sep: + 14 days
        (3, "stale_stage", None),  # never moved, but created before the history: unknown
        (4, "no_next_task", "2026-11-10 15:00"),  # its last task's completion
        (5, "no_next_task", None),  # a task done at an unknown time
        (6, "no_next_task", "2026-11-12 08:00"),  # no task ever: entered its status
        (7, "no_next_task", YOUNG),  # no task, never moved, young: since creation
        (8, "zero_price_after", "2026-11-03 10:00"),  # reached КП on 3 Nov
        (9, "zero_price_after", "2026-11-02 11:00"),  # its stay began when it was reopened
        (10, "zero_price_after", YOUNG),  # created at КП, never moved
        (11, "zero_price_after", None),  # past КП since before the history
        (12, "zero_price_after", None),  # the last recorded move left КП: cannot say
        (13, "required_fields", None),  # no field history
    ]
    found = pd.DataFrame(
        {"lead_id": [c[0] for c in cases], "rule": [c[1] for c in cases]}, index=range(13)
    )
    rules = RulesConfig.model_validate(
        {
            "no_next_task": True,
            "stale_stage_days": 14,
            "required_fields": {"КП отправлено": ["Источник"]},
            "zero_price_after": ["КП отправлено"],
        }
    )
    got = onsets(
        found,
        frame("leads", leads),
        frame("tasks", tasks),
        frame("statuses", WITH_CONTRACT),
        frame("stage_changes", moves),
        rules,
        NOW,
    )
    assert got.dtype == "datetime64[ns, UTC]"
    expected = [None if at is None else ts(at) for _, _, at in cases]
    assert [None if pd.isna(at) else at for at in got] == expected


def test_onsets_without_any_stage_history_know_nothing_but_task_completions() -> None:
    found = pd.DataFrame({"lead_id": [1, 2], "rule": ["stale_stage", "no_next_task"]})
    got = onsets(
        found,
        frame("leads", [lead(1, A), lead(2, A)]),
        frame("tasks", [task(1, A, "2026-11-01 10:00", completed="2026-11-02 10:00", lead_id=2)]),
        frame("statuses", STATUSES),
        frame("stage_changes", []),
        RulesConfig.model_validate({"no_next_task": True, "stale_stage_days": 14}),
        NOW,
    )
    assert pd.isna(got.iloc[0]) and got.iloc[1] == ts("2026-11-02 10:00")

"""Deal rules (SPEC §7.2) on the current lead state; now = 2026-11-20 12:00 UTC."""

from __future__ import annotations

import pandas as pd
import pytest

from sheets_kpi.config import RulesConfig
from sheets_kpi.kpi.inputs import frame
from sheets_kpi.kpi.rules import evaluate_deal_rules
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

"""`serve` keeps the draft statement lines between cycles (`kpi.kept_statements.KeptStatements`):
every cycle's statements are exactly those assembled afresh from the same store, whatever
changed in between, and lines are built again only when what they are made of moved. On the
month-close world of tests/test_close.py (Анна, Борис in "team"; grace 5 days)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from sheets_kpi.closing import Approval, assemble, close_periods, decisions_frame
from sheets_kpi.config import Config
from sheets_kpi.cycle import Kept
from sheets_kpi.kpi.close import Closing, Statement
from sheets_kpi.kpi.engine import compute
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.kept_months import same_frame
from sheets_kpi.kpi.kept_statements import KeptStatements
from sheets_kpi.sheets.inputs import CloseAction
from sheets_kpi.store.db import Store
from tests.kpi_fixtures import A, B
from tests.small_world import small_world
from tests.test_close import CFG, WINS, action, moscow, reopened, sheet_frames, world

#: The months a cycle shows: six ended ones and the current one, "team" alone in each.
SHOWN = 7


def cycle(
    store: Store,
    kept: KeptStatements,
    now: datetime,
    inputs: Inputs | None = None,
    actions: tuple[CloseAction, ...] = (),
    approvals: tuple[Approval, ...] = (),
    cfg: Config = CFG,
) -> Closing:
    """One cycle's month close with `kept`, checked against the statements assembled afresh
    from what the store holds after it."""
    inputs = inputs if inputs is not None else world()
    results = compute(inputs, cfg, pd.Timestamp(now))
    closing = close_periods(
        cfg, store, results, sheet_frames(inputs), actions, now, 1, approvals, kept
    )
    fresh = assemble(cfg, results, now, store.snapshots(), decisions_frame(store))
    assert_same(closing.statements, fresh.statements)
    return closing


def assert_same(kept: list[Statement], fresh: list[Statement]) -> None:
    assert [(s.period, s.status) for s in kept] == [(s.period, s.status) for s in fresh]
    for mine, theirs in zip(kept, fresh, strict=True):
        pd.testing.assert_frame_equal(mine.rows, theirs.rows, check_exact=True)


def repriced(price: float) -> Inputs:
    """The world after Анна's lead 1 (won 10 November for 60 000) was synced again repriced."""
    leads = [w[0] | {"price": price} if w[0]["lead_id"] == 1 else w[0] for w in WINS]
    return world(leads, [w[1] for w in WINS])


def decide(store: Store, amount: float, target: str) -> None:
    """An accepted adjustment of October's statement for Анна, paid with `target`'s."""
    store.decide(
        {
            "period": "2026-10",
            "department": "team",
            "manager_id": A,
            "action": "accept",
            "amount": amount,
            "target_period": target,
            "decided_by": "Иванова",
            "decided_at": 0,
            "comment": "",
        }
    )


def bonus(statement: Statement | None, column: str = "bonus") -> dict[int, float]:
    assert statement is not None
    rows = statement.rows
    return dict(zip(rows["manager_id"], rows[column], strict=True))


def test_a_quiet_cycle_takes_every_statement_from_the_last(store: Store) -> None:
    kept = KeptStatements()
    cycle(store, kept, moscow("2026-12-02 10:00"))
    assert kept.reused == 0
    cycle(store, kept, moscow("2026-12-02 10:15"))
    assert kept.reused == SHOWN
    again = cycle(store, kept, moscow("2026-12-02 10:30"))
    assert kept.reused == SHOWN  # and keeps the lines it handed out
    assert bonus(again.last) == {A: 13000, B: 9000}


def test_a_late_edit_in_an_ended_month_builds_that_month_again(store: Store) -> None:
    kept = KeptStatements()
    cycle(store, kept, moscow("2026-12-02 10:00"))
    closing = cycle(store, kept, moscow("2026-12-02 10:15"), repriced(50000.0))
    assert kept.reused == SHOWN - 1
    # Анна: 90 000 of 100 000 → 0.9 × 10 000 + 3 000
    assert bonus(closing.statement("2026-11")) == {A: 12000, B: 9000}


def test_an_approval_shows_the_snapshot_and_takes_the_other_months(store: Store) -> None:
    kept = KeptStatements()
    cycle(store, kept, moscow("2026-12-02 10:00"))
    approval = (Approval("2026-11", None, "Иванова"),)
    closing = cycle(store, kept, moscow("2026-12-02 10:15"), approvals=approval)
    assert closing.approved == ["2026-11 / team"]
    assert kept.reused == SHOWN - 1  # assembled again after the approval, November not kept
    last = closing.last
    assert last.status == "approved" and set(last.rows["approved_by"]) == {"Иванова"}
    cycle(store, kept, moscow("2026-12-02 10:30"))
    assert kept.reused == SHOWN - 1


def test_an_adjustment_decided_for_an_ended_month_builds_it_again(store: Store) -> None:
    kept = KeptStatements()
    cycle(store, kept, moscow("2026-12-02 10:00"))
    decide(store, -500.0, target="2026-11")
    closing = cycle(store, kept, moscow("2026-12-02 10:15"))
    assert kept.reused == 0  # the decisions are compared whole
    assert bonus(closing.statement("2026-11")) == {A: 12500, B: 9000}
    cycle(store, kept, moscow("2026-12-02 10:30"))
    assert kept.reused == SHOWN


def test_an_adjustment_accepted_in_the_close_tab_builds_its_statement_again(
    store: Store,
) -> None:
    kept = KeptStatements()
    cycle(store, kept, moscow("2026-12-02 10:00"), approvals=(Approval("2026-11", None, "И"),))
    cycle(store, kept, moscow("2026-12-03 12:00"), reopened(2))
    closing = cycle(store, kept, moscow("2026-12-03 12:15"), reopened(2), (action("accept", A),))
    assert kept.reused == 0
    assert bonus(closing.current, "carried") == {A: -13000, B: 0}


def test_a_deduction_carried_from_the_month_before_builds_the_next_again(store: Store) -> None:
    """Only what November carries moves: December's standing and decisions stay the same."""
    kept = KeptStatements()
    decide(store, -15000.0, target="2026-11")
    january = moscow("2027-01-02 10:00")
    first = cycle(store, kept, january)
    assert bonus(first.statement("2026-12"), "adjustment") == {A: -2000, B: 0}
    later = january + timedelta(minutes=15)
    december = [
        next(f for f in compute(inputs, CFG, pd.Timestamp(at)).past if f.period.label == "2026-12")
        for inputs, at in ((world(), january), (repriced(50000.0), later))
    ]
    assert same_frame(december[0].managers, december[1].managers)
    second = cycle(store, kept, later, repriced(50000.0))
    assert kept.reused == SHOWN - 3  # November, and the carry on to December and January
    assert bonus(second.statement("2026-12"), "adjustment") == {A: -3000, B: 0}


def test_the_day_the_grace_days_end_builds_the_month_again(store: Store) -> None:
    kept = KeptStatements()
    assert cycle(store, kept, moscow("2026-12-05 23:50")).last.status == "draft"
    closing = cycle(store, kept, moscow("2026-12-06 00:10"))
    assert kept.reused == SHOWN - 1
    assert closing.last.status == "closed"
    assert set(closing.last.rows["department_status"]) == {"closed"}


def test_at_a_month_boundary_the_month_just_ended_is_built_again(store: Store) -> None:
    kept = KeptStatements()
    before = cycle(store, kept, moscow("2026-11-30 23:50"))
    assert before.current.period.label == "2026-11"
    after = cycle(store, kept, moscow("2026-12-01 00:10"))
    # Of the five months still shown June now starts the chain (carrying nothing is given
    # otherwise); November ended, December is new.
    assert kept.reused == SHOWN - 3
    assert (after.last.period.label, after.last.status) == ("2026-11", "draft")
    assert bonus(after.last) == bonus(before.current)


def test_a_config_change_builds_every_statement_again(store: Store) -> None:
    team = CFG.departments[0]
    richer = team.model_copy(update={"bonus": team.bonus.model_copy(update={"base": 20000})})
    changed = CFG.model_copy(update={"departments": [richer]})
    kept = KeptStatements()
    cycle(store, kept, moscow("2026-12-02 10:00"))
    cycle(store, kept, moscow("2026-12-02 10:15"), cfg=CFG.model_copy())
    assert kept.reused == SHOWN  # an equal config of another object
    cycle(store, kept, moscow("2026-12-02 10:30"), cfg=changed)
    assert kept.reused == 0


def test_what_the_caller_does_with_its_frames_does_not_reach_the_kept_ones(store: Store) -> None:
    def standing() -> pd.DataFrame:
        return pd.DataFrame({"manager_id": [A], "bonus": [1.0]})

    def carried() -> pd.Series:
        return pd.Series([-1.0], index=pd.Index([A], name="manager_id"), name="carried")

    kept, decisions = KeptStatements(), decisions_frame(store)
    built = pd.DataFrame({"manager_id": [A], "bonus": [13000.0]})
    given = standing(), carried()
    kept.start(CFG, decisions)
    mine = kept.month("2026-11", *given).draft("team", "draft", built.copy)
    mine["bonus"] = -1.0
    given[0].loc[0, "bonus"] = 2.0
    given[1].iloc[0] = -2.0
    decisions.loc[0, "amount"] = 1.0
    kept.start(CFG, decisions_frame(store))
    month = kept.month("2026-11", standing(), carried())
    again = month.draft("team", "draft", lambda: pytest.fail("built again"))
    assert kept.reused == 1
    assert same_frame(again, built)


def test_a_quiet_serve_cycle_takes_the_statements_and_the_nightly_one_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_world(tmp_path) as world_:
        kept = Kept()
        world_.serve_cycle(0, kept)
        assert kept.statements.reused == 0
        world_.serve_cycle(15, kept)
        assert kept.statements.reused == SHOWN * len(world_.config.departments)
        monkeypatch.setattr(kept.statements, "start", lambda _: pytest.fail("asked at night"))
        world_.serve_cycle(30, kept, reconcile=True)  # assembled afresh

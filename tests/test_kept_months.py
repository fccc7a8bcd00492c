"""`serve` keeps the ended months' figures between cycles (`kpi.kept_months.KeptMonths`): the
numbers are those of a compute without it, exactly, whatever changed in between; a month is
handed out again only when all it is made of is the same."""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sheets_kpi.config import Config
from sheets_kpi.cycle import Kept, run_cycle
from sheets_kpi.emulators.amocrm import generate_agency, serve
from sheets_kpi.kpi.engine import Results, compute
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.kept_months import KeptMonths, same_frame
from sheets_kpi.sheets.init_tabs import YES_NO, roster_rows
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import amocrm_frames
from tests.conftest import NOW, instant, shipped_config
from tests.small_world import small_world

WON = 142
#: A working day afternoon in Moscow (Wednesday 2026-11-18 13:13): missed calls wait.
AT = pd.Timestamp(NOW, unit="s", tz="UTC")
PLANS = {"count": 10.0, "rub": 150_000.0, "share": 0.3, "score": 70.0, "minutes": 60.0}


@dataclasses.dataclass(frozen=True, eq=False)
class World:
    """Seven months of a generated account as the store gives them, and the sheet inputs as
    rows: each `inputs()` builds new frames, as a cycle parses the tabs again."""

    config: Config
    amocrm: dict[str, pd.DataFrame]
    sheet: dict[str, list[dict[str, Any]]]

    def inputs(self, **changed: pd.DataFrame | list[dict[str, Any]]) -> Inputs:
        frames = {name: [dict(r) for r in rows] for name, rows in self.sheet.items()}
        return Inputs.build(**{**self.amocrm, **frames, **changed})

    def manager(self, department: str) -> int:
        return next(
            int(r["manager_id"]) for r in self.sheet["roster"] if r["department"] == department
        )


@pytest.fixture(scope="module")
def world() -> World:
    account = generate_agency(managers=6, months=7, seed=3, now=NOW)
    server = serve(account, rps=100_000)
    try:
        config = shipped_config(base_url=server.url, requests_per_second=100_000)
        config = config.model_copy(
            update={"amocrm": config.amocrm.model_copy(update={"backfill_days": 240})}
        )
        with Store(":memory:") as store:
            sync(make_client(config.amocrm), store, config.amocrm, now=instant(NOW))
            amocrm = amocrm_frames(store)
    finally:
        server.stop()
    yes = YES_NO[config.locale][0]
    roster = [
        {
            "manager_id": row["amo_user_id"],
            "name": row["name"],
            "department": row["department"],
            "seniority": row["seniority"],
            "active": row["active"] == yes,
            "bonus_base": float("nan"),
        }
        for row in roster_rows(amocrm["users"], config)
    ]
    months = [str(p) for p in pd.period_range("2026-04", "2026-10", freq="M")]
    plans = [
        {"period": month, "department": dept.id, "kpi": kpi.id, "plan": PLANS[kpi.unit]}
        for month in months
        for dept in config.departments
        for kpi in dept.kpis
    ]
    scores = [
        {"date": day, "manager_id": row["manager_id"], "kind": kind, "score": 60 + (i * 7) % 40}
        for i, day in enumerate(pd.date_range("2026-04-01", "2026-11-18", freq="3D"))
        for row in roster
        for kind in ("call_quality", "nps")
    ]
    world = World(config, amocrm, {"roster": roster, "plans": plans, "scores": scores})
    assert len({r["department"] for r in roster}) >= 3
    assert world.amocrm["calls"]["created_at"].min() < pd.Timestamp("2026-05-01", tz="UTC")
    return world


def assert_identical(got: Results, want: Results) -> None:
    """Every frame of the results, and of every ended month, exactly equal."""
    for field in dataclasses.fields(want):
        mine, theirs = getattr(got, field.name), getattr(want, field.name)
        if isinstance(theirs, pd.DataFrame):
            pd.testing.assert_frame_equal(mine, theirs, check_exact=True)
        elif field.name == "past":
            assert [f.period for f in mine] == [f.period for f in theirs]
            for one, other in zip(mine, theirs, strict=True):
                for part in ("kpi", "managers", "wins"):
                    a, b = getattr(one, part), getattr(other, part)
                    pd.testing.assert_frame_equal(a, b, check_exact=True)
                    assert same_frame(a, b)
        else:
            assert mine == theirs


def twice(
    world: World,
    later: pd.Timestamp,
    change: Callable[[World], Inputs] = World.inputs,
    config: Config | None = None,
    first: pd.Timestamp = AT,
    settled: frozenset[str] = frozenset(),
) -> tuple[KeptMonths, Results, Results]:
    """A compute at `first` that keeps its months, then one at `later` with the inputs of
    `change` (and `config`) from the kept months; checked against a compute without them.
    Returns the memo, the first and the second results."""
    memo, before = _first(world, first)
    kept = copy.deepcopy(memo)
    config = config or world.config
    inputs = change(world)
    again = compute(inputs, config, later, settled=settled, kept=kept)
    assert_identical(again, compute(inputs, config, later, settled=settled))
    return kept, before, again


@functools.cache
def _first(world: World, at: pd.Timestamp) -> tuple[KeptMonths, Results]:
    """The first compute at `at`, made once: each test goes on from a copy of its memo."""
    kept = KeptMonths()
    results = compute(world.inputs(), world.config, at, kept=kept)
    assert kept.reused == 0
    return kept, results


def month(results: Results, label: str) -> pd.DataFrame:
    return next(f.kpi for f in results.past if f.period.label == label)


def test_a_quiet_compute_takes_every_ended_month_from_the_last_one(world: World) -> None:
    kept, before, again = twice(world, AT + pd.Timedelta(minutes=15))
    assert kept.reused == 6
    assert [f.period.label for f in again.past][::5] == ["2026-10", "2026-05"]
    assert not before.daily.equals(again.daily)  # the clock moved today's numbers
    assert again.past[0].kpi["bonus"].sum() > 0  # months with money in them
    third = compute(world.inputs(), world.config, AT + pd.Timedelta(minutes=30), kept=kept)
    assert kept.reused == 6
    assert_identical(third, compute(world.inputs(), world.config, AT + pd.Timedelta(minutes=30)))


def test_what_the_caller_does_with_its_figures_does_not_reach_the_kept_ones(world: World) -> None:
    kept = KeptMonths()
    first = compute(world.inputs(), world.config, AT, kept=kept)
    first.past[0].kpi["fact"] = -1.0
    first.past[0].managers.loc[:, "bonus"] = 10**9
    later = AT + pd.Timedelta(minutes=15)
    assert_identical(
        compute(world.inputs(), world.config, later, kept=kept),
        compute(world.inputs(), world.config, later),
    )
    assert kept.reused == 6


def with_missed_call(world: World, at: str, phone: str) -> pd.DataFrame:
    """The calls with one more, missed by a leadgen manager at `at` (UTC) and never returned."""
    missed = {
        **world.amocrm["calls"].iloc[0].to_dict(),
        "note_id": 10**9,
        "created_at": pd.Timestamp(at, tz="UTC"),
        "direction": "in",
        "user_id": world.manager("leadgen"),
        "phone": phone,
        "duration": 0,
        "call_status": 1,
    }
    return pd.concat([world.amocrm["calls"], pd.DataFrame([missed])], ignore_index=True)


def test_a_late_synced_call_dated_last_month_computes_that_month_again(world: World) -> None:
    calls = with_missed_call(world, "2026-10-15 09:00", "70000000001")
    kept, before, again = twice(
        world, AT + pd.Timedelta(minutes=15), lambda w: w.inputs(calls=calls)
    )
    assert kept.reused == 5
    assert not month(before, "2026-10").equals(month(again, "2026-10"))


def test_a_late_synced_win_dated_last_month_computes_that_month_again(world: World) -> None:
    seller = world.manager("sales")
    leads = world.amocrm["leads"]
    won = {
        **leads.iloc[0].to_dict(),
        "lead_id": 10**9,
        "price": 987_654.0,
        "responsible_user_id": seller,
        "status_id": WON,
        "created_at": pd.Timestamp("2026-09-18 10:00", tz="UTC"),
        "updated_at": pd.Timestamp("2026-09-20 10:00", tz="UTC"),
        "closed_at": pd.Timestamp("2026-09-20 10:00", tz="UTC"),
        "is_deleted": False,
    }
    leads = pd.concat([leads, pd.DataFrame([won])], ignore_index=True)
    kept, before, again = twice(
        world, AT + pd.Timedelta(minutes=15), lambda w: w.inputs(leads=leads)
    )
    assert kept.reused == 5
    wins = [next(f.wins for f in r.past if f.period.label == "2026-09") for r in (before, again)]
    assert 10**9 not in set(wins[0]["lead_id"]) and 10**9 in set(wins[1]["lead_id"])


def test_a_missed_call_still_waiting_on_the_months_last_day_is_compared_not_assumed(
    world: World,
) -> None:
    """At 00:10 on 1 November a call missed at 23:40 on 31 October (Moscow) is still waiting:
    October's callback minutes grow with the clock, so October is computed again."""
    calls = with_missed_call(world, "2026-10-31 20:40", "70000000002")
    first = pd.Timestamp("2026-10-31 21:10", tz="UTC")
    kept, before, again = twice(
        world, first + pd.Timedelta(minutes=15), lambda w: w.inputs(calls=calls), first=first
    )
    assert kept.reused == 5
    october = month(again, "2026-10")
    caller = october["manager_id"] == world.manager("leadgen")
    minutes = october[caller & (october["kpi"] == "callback_minutes")]
    assert not month(before, "2026-10").equals(october)
    assert minutes["num"].iloc[0] > month(before, "2026-10").loc[minutes.index, "num"].iloc[0]


def test_a_plan_edited_for_last_month_computes_the_months_again(world: World) -> None:
    def edited(w: World) -> Inputs:
        plans = [dict(r) for r in w.sheet["plans"]]
        row = next(r for r in plans if r["period"] == "2026-10")
        row["plan"] = row["plan"] * 2
        return w.inputs(plans=plans)

    kept, before, again = twice(world, AT + pd.Timedelta(minutes=15), edited)
    assert kept.reused == 0
    assert not month(before, "2026-10").equals(month(again, "2026-10"))


@pytest.mark.parametrize(
    "edit",
    [
        {"bonus_base": 55_555.0},
        {"active": False},
        {"name": "Новое имя"},
        {"department": "quality"},
    ],
)
def test_a_roster_change_computes_the_months_again(world: World, edit: dict[str, Any]) -> None:
    def edited(w: World) -> Inputs:
        roster = [dict(r) for r in w.sheet["roster"]]
        roster[0].update(edit)
        return w.inputs(roster=roster)

    kept, _, _ = twice(world, AT + pd.Timedelta(minutes=15), edited)
    assert kept.reused == 0


def test_a_new_first_rule_evaluation_computes_the_months_again(world: World) -> None:
    """The day the deal-rule metrics are measured from (`measured`) changed."""
    first = pd.DataFrame({"first_at": [pd.Timestamp("2026-08-10 09:00", tz="UTC")]})
    kept, _, _ = twice(
        world, AT + pd.Timedelta(minutes=15), lambda w: w.inputs(rule_evaluation=first)
    )
    assert kept.reused == 0


def test_a_config_change_computes_the_months_again(world: World) -> None:
    dept = world.config.departments[0]
    bonus = dept.bonus.model_copy(update={"base": dept.bonus.base + 1000})
    departments = [dept.model_copy(update={"bonus": bonus}), *world.config.departments[1:]]
    config = world.config.model_copy(update={"departments": departments})
    kept, _, _ = twice(world, AT + pd.Timedelta(minutes=15), config=config)
    assert kept.reused == 0
    same = world.config.model_copy()  # an equal config, another object
    kept, _, _ = twice(world, AT + pd.Timedelta(minutes=15), config=same)
    assert kept.reused == 6


def test_across_a_month_boundary_the_month_just_ended_is_computed(world: World) -> None:
    last_evening = pd.Timestamp("2026-11-30 20:50", tz="UTC")  # 23:50 in Moscow
    kept, before, again = twice(world, last_evening + pd.Timedelta(minutes=15), first=last_evening)
    assert [f.period.label for f in before.past][::5] == ["2026-10", "2026-05"]
    assert [f.period.label for f in again.past][::5] == ["2026-11", "2026-06"]
    assert kept.reused == 5  # October back to June kept, November new, May gone


def test_a_settled_month_is_not_computed_and_not_kept(world: World) -> None:
    later = AT + pd.Timedelta(minutes=15)
    kept, _, again = twice(world, later, settled=frozenset({"2026-09"}))
    assert kept.reused == 5
    assert next(f for f in again.past if f.period.label == "2026-09").kpi.empty
    third = compute(world.inputs(), world.config, later + pd.Timedelta(minutes=15), kept=kept)
    assert kept.reused == 5  # September computed again once watched again
    assert_identical(third, compute(world.inputs(), world.config, later + pd.Timedelta(minutes=15)))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"x": pd.Series([None], dtype=object)}, {"x": pd.Series([np.nan], dtype=object)}),
        ({"x": pd.Series([1], dtype=object)}, {"x": pd.Series([True], dtype=object)}),
        ({"x": pd.array([0.0, None], dtype="Float64")}, {"x": pd.array([-0.0, None], "Float64")}),
        ({"x": [1, "a"]}, {"x": [1.0, "a"]}),
        ({"x": [0.0]}, {"x": [-0.0]}),
        ({"x": [1.0]}, {"x": [1.0 + 1e-15]}),
        ({"x": [1]}, {"x": [1.0]}),
        ({"x": [1], "y": [2]}, {"y": [2], "x": [1]}),
        ({"x": ["a", "b"]}, {"x": ["a", "c"]}),
    ],
)
def test_frames_that_equals_holds_alike_may_still_differ(left: dict, right: dict) -> None:
    assert not same_frame(pd.DataFrame(left), pd.DataFrame(right))


def test_same_frame_holds_equal_tables_equal() -> None:
    rows = {
        "x": pd.Series(["a", None, 1], dtype=object),
        "y": [1.5, float("nan"), -0.0],
        "z": pd.array([1, None, 3], dtype="Int64"),
        "w": pd.array([1.5, None, -0.0], dtype="Float64"),
        "s": ["a", "b", "c"],
    }
    assert same_frame(pd.DataFrame(rows), pd.DataFrame(rows))
    assert not same_frame(pd.DataFrame(rows), pd.DataFrame(rows, index=[1, 2, 3]))


def test_a_quiet_serve_cycle_takes_all_six_ended_months_from_the_last(tmp_path: Path) -> None:
    with small_world(tmp_path) as world:
        kept = Kept()
        months = kept.months
        amo = make_client(world.config.amocrm)

        def cycle(minutes: int) -> None:
            at = world.now + timedelta(minutes=minutes)
            report = run_cycle(world.config, world.store, amo, world.gateway(), at, kept=kept)
            assert report.status == "ok" and report.kept_from is None  # it computed

        cycle(0)
        assert months.reused == 0
        cycle(15)  # a working-hours afternoon: a missed call still waits, so it computes
        assert months.reused == 6

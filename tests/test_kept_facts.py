"""`serve` keeps the fact rows of the builders that do not read the clock
(`kpi.kept_facts.KeptFacts`): the numbers are those of a compute without it, exactly, whatever
changed in between; rows are handed out again only when all they are made of is the same, and
every builder that reads the clock is named in `facts.CLOCKED`."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sheets_kpi.config import Config
from sheets_kpi.cycle import Kept, run_cycle
from sheets_kpi.kpi.engine import Results, compute
from sheets_kpi.kpi.fact_base import Context
from sheets_kpi.kpi.facts import BUILDERS, CLOCKED, configured_metrics
from sheets_kpi.kpi.kept_facts import KeptFacts
from sheets_kpi.kpi.kept_months import same_frame
from sheets_kpi.kpi.metrics import parse_metric
from sheets_kpi.sources.amocrm import make_client
from tests.small_world import small_world
from tests.test_kept_months import AT, World, assert_identical, with_missed_call
from tests.test_kept_months import world as world  # the generated account (a fixture)


def kept_parts(config: Config) -> int:
    """How many parts a compute may take from the last one: the metrics whose builder does not
    read the clock, at the month grain, and those counted once per week again at the week's."""
    metrics = [parse_metric(m)[0] for m in configured_metrics(config)]
    steady = [m for m in metrics if m.name not in CLOCKED]
    return len(steady) + sum(m.distinct for m in steady)


def checked(world: World, facts: KeptFacts, at: pd.Timestamp, **change: Any) -> Results:
    """A compute at `at` with `facts`, checked against one without it."""
    config = change.pop("config", world.config)
    inputs = world.inputs(**change)
    got = compute(inputs, config, at, facts=facts)
    want = compute(inputs, config, at)
    assert_identical(got, want)
    assert same_frame(got.daily, want.daily)
    return got


def test_a_serve_day_gives_the_numbers_of_a_compute_without_kept_facts(world: World) -> None:
    facts, whole = KeptFacts(), kept_parts(world.config)
    assert whole >= 8
    first = checked(world, facts, AT)
    assert facts.reused == 0
    again = checked(world, facts, AT + pd.Timedelta(minutes=15))
    assert facts.reused == whole
    assert not first.daily.equals(again.daily)  # the clocked metrics moved with the clock
    checked(world, facts, AT + pd.Timedelta(minutes=30))
    assert facts.reused == whole
    checked(world, facts, AT + pd.Timedelta(hours=20))  # Thursday morning, the same week
    assert facts.reused == whole
    checked(world, facts, AT + pd.Timedelta(days=7))  # next week: the week grain starts later
    assert facts.reused == whole - sum(
        parse_metric(m)[0].distinct and parse_metric(m)[0].name not in CLOCKED
        for m in configured_metrics(world.config)
    )
    checked(world, facts, pd.Timestamp("2026-12-01 07:00", tz="UTC"))  # a new month
    assert facts.reused == 0


def changes(world: World) -> Iterator[tuple[str, dict[str, Any]]]:
    plans = [dict(r) for r in world.sheet["plans"]]
    plans[0]["plan"] = plans[0]["plan"] * 2
    roster = [dict(r) for r in world.sheet["roster"]]
    roster[0]["active"] = False
    dept = world.config.departments[0]
    bonus = dept.bonus.model_copy(update={"base": dept.bonus.base + 1000})
    departments = [dept.model_copy(update={"bonus": bonus}), *world.config.departments[1:]]
    yield "a new call", {"calls": with_missed_call(world, "2026-11-18 09:00", "70000000003")}
    yield "a plan edit", {"plans": plans}
    yield "a roster change", {"roster": roster}
    yield (
        "a config change",
        {"config": world.config.model_copy(update={"departments": departments})},
    )


@pytest.mark.parametrize(
    "name", ["a new call", "a plan edit", "a roster change", "a config change"]
)
def test_a_change_builds_every_part_again(world: World, name: str) -> None:
    change = dict(changes(world))[name]
    facts = KeptFacts()
    checked(world, facts, AT)
    checked(world, facts, AT + pd.Timedelta(minutes=15), **change)
    assert facts.reused == 0
    checked(world, facts, AT + pd.Timedelta(minutes=30), **change)  # and keeps the new ones
    assert facts.reused == kept_parts(change.get("config", world.config))


def test_an_equal_config_of_another_object_takes_the_parts(world: World) -> None:
    facts = KeptFacts()
    checked(world, facts, AT)
    checked(world, facts, AT + pd.Timedelta(minutes=15), config=world.config.model_copy())
    assert facts.reused == kept_parts(world.config)


def test_a_new_frame_equal_to_the_last_is_compared_and_taken(world: World) -> None:
    """The amoCRM frames are the very frames of the last compute (as `serve` hands them out
    again); new sheet frames, and here new calls, are equal ones."""
    facts = KeptFacts()
    first = world.inputs()
    assert first.calls is world.amocrm["calls"] and first.leads is world.amocrm["leads"]
    checked(world, facts, AT)
    checked(world, facts, AT + pd.Timedelta(minutes=15), calls=world.amocrm["calls"].copy())
    assert facts.reused == kept_parts(world.config)


def test_what_the_caller_does_with_its_rows_does_not_reach_the_kept_ones(world: World) -> None:
    facts, inputs = KeptFacts(), world.inputs()
    context = Context(world.config, AT, pd.Timestamp("2026-05-01"), "month", frozenset())
    facts.start(inputs)
    built = BUILDERS["calls_outgoing"](inputs, context, None)
    mine = facts.part("calls_outgoing", context, lambda: built.copy())
    mine["num"] = -1.0
    facts.start(inputs)
    later = Context(world.config, AT + pd.Timedelta(hours=1), context.since, "month", frozenset())
    again = facts.part("calls_outgoing", later, lambda: pytest.fail("built again"))
    assert facts.reused == 1
    assert same_frame(again, built)


def test_every_builder_that_reads_the_clock_is_clocked(world: World) -> None:
    """Two instants of one local day with data between them: the rows of every builder not in
    CLOCKED are the same at both, and every clocked one's move (CLOCKED is not too wide)."""
    morning, afternoon = AT - pd.Timedelta(hours=4), AT
    task = {
        **world.amocrm["tasks"].iloc[0].to_dict(),
        "task_id": 10**9,
        "responsible_user_id": world.manager("sales"),
        "complete_till": AT - pd.Timedelta(hours=2),
        "is_completed": False,
        "completed_at": pd.NaT,
    }
    inputs = world.inputs(
        calls=with_missed_call(world, str(AT.tz_localize(None) - pd.Timedelta(hours=3)), "7000004"),
        tasks=pd.concat([world.amocrm["tasks"], pd.DataFrame([task])], ignore_index=True),
    )
    roster = frozenset(inputs.roster["manager_id"])
    args = {parse_metric(m)[0].name: parse_metric(m)[1] for m in configured_metrics(world.config)}
    for name, builder in BUILDERS.items():
        for grain in ("month", "week"):
            at = [
                builder(
                    inputs,
                    Context(world.config, t, pd.Timestamp("2026-05-01"), grain, roster),
                    args.get(name),
                )
                for t in (morning, afternoon)
            ]
            assert same_frame(*at) is (name not in CLOCKED), (name, grain)


def _reads_the_clock(function: Callable[..., Any], seen: set[Any]) -> bool:
    """The function, or one of ours it calls, reads `context.now` or `context.today` or passes
    on a `now`."""
    if function in seen or not getattr(function, "__module__", "").startswith("sheets_kpi"):
        return False
    seen.add(function)
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("now", "today")
            and isinstance(node.value, ast.Name)
            and node.value.id == "context"
        ):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called = function.__globals__.get(node.func.id)
            if inspect.isfunction(called) and _reads_the_clock(called, seen):
                return True
    return False


def test_the_source_of_every_builder_agrees_with_clocked() -> None:
    found = {name for name, builder in BUILDERS.items() if _reads_the_clock(builder, set())}
    assert found == CLOCKED


def test_a_quiet_serve_cycle_takes_the_steady_parts_and_the_nightly_one_builds(
    tmp_path: Path,
) -> None:
    with small_world(tmp_path) as world:
        kept = Kept()
        amo = make_client(world.config.amocrm)

        def cycle(minutes: int, reconcile: bool = False) -> None:
            at = world.now + timedelta(minutes=minutes)
            report = run_cycle(
                world.config, world.store, amo, world.gateway(), at, reconcile, kept=kept
            )
            assert report.status == "ok" and report.kept_from is None  # it computed

        cycle(0)
        assert kept.facts.reused == 0
        cycle(15)
        assert kept.facts.reused == kept_parts(world.config)
        cycle(30, reconcile=True)  # not asked: what it would take stays as it was
        assert kept.facts.reused == kept_parts(world.config)

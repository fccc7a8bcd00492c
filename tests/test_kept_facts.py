"""`serve` keeps the fact rows of the builders that do not read the clock
(`kpi.kept_facts.KeptFacts`): the numbers are those of a compute without it, exactly, whatever
changed in between; rows are handed out again only when all they are made of is the same, and
every builder that reads the clock is named in `facts.CLOCKED`."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sheets_kpi.config import Config
from sheets_kpi.cycle import Kept
from sheets_kpi.kpi import lead_facts
from sheets_kpi.kpi.engine import Results, compute
from sheets_kpi.kpi.fact_base import Context
from sheets_kpi.kpi.facts import BUILDERS, CLOCKED, STAGED, configured_metrics
from sheets_kpi.kpi.kept_facts import KeptFacts
from sheets_kpi.kpi.kept_months import same_frame
from sheets_kpi.kpi.metrics import parse_metric
from tests.small_world import small_world
from tests.test_kept_months import AT, World, assert_identical, with_missed_call
from tests.test_kept_months import world as world  # the generated account (a fixture)


def kept_parts(config: Config, reading: frozenset[str] | None = None) -> int:
    """How many parts a compute may take from the last one: the metrics whose builder does not
    read the clock, at the month grain, and those counted once per week again at the week's;
    with `reading`, only those of the builders named."""
    metrics = [parse_metric(m)[0] for m in configured_metrics(config)]
    steady = [
        m
        for m in metrics
        if (m.name not in CLOCKED or m.name in STAGED) and (reading is None or m.name in reading)
    ]
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


#: The builders that read the calls frame.
CALLS = frozenset({"calls_missed_share", "callback_minutes", "calls_outgoing"})
#: The builders that read the handovers: all through `lead_facts._owner`, none directly.
OWNERS = frozenset({"stage_reached", "won_amount", "won_count", "deal_violations"})


def changes(world: World) -> Iterator[tuple[str, dict[str, Any], frozenset[str] | None]]:
    """Each change, with the builders whose parts it builds again (None: every one)."""
    plans = [dict(r) for r in world.sheet["plans"]]
    plans[0]["plan"] = plans[0]["plan"] * 2
    roster = [dict(r) for r in world.sheet["roster"]]
    roster[0]["active"] = False
    dept = world.config.departments[0]
    bonus = dept.bonus.model_copy(update={"base": dept.bonus.base + 1000})
    departments = [dept.model_copy(update={"bonus": bonus}), *world.config.departments[1:]]
    calls = with_missed_call(world, "2026-11-18 09:00", "70000000003")
    yield "a new call", {"calls": calls}, CALLS
    yield "a plan edit", {"plans": plans}, frozenset()  # plans are read by the KPIs alone
    yield "a manager made inactive", {"roster": roster}, frozenset()  # still in the roster
    yield "a manager left", {"roster": world.sheet["roster"][1:]}, None
    yield (
        "a config change",
        {"config": world.config.model_copy(update={"departments": departments})},
        None,
    )


@pytest.mark.parametrize(
    "name",
    [
        "a new call",
        "a plan edit",
        "a manager made inactive",
        "a manager left",
        "a config change",
    ],
)
def test_a_change_builds_the_parts_made_of_it_again(world: World, name: str) -> None:
    change, rebuilt = {n: (c, r) for n, c, r in changes(world)}[name]
    config = change.get("config", world.config)
    facts = KeptFacts()
    checked(world, facts, AT)
    checked(world, facts, AT + pd.Timedelta(minutes=15), **change)
    assert facts.reused == (
        0 if rebuilt is None else kept_parts(config) - kept_parts(config, rebuilt)
    )
    checked(world, facts, AT + pd.Timedelta(minutes=30), **change)  # and keeps the new ones
    assert facts.reused == kept_parts(config)


def deal_rows(world: World, *first_seen: str) -> list[dict[str, Any]]:
    """Open automatic deal violations first seen at `first_seen` (UTC), each on another lead
    of a manager on the roster."""
    leads = world.amocrm["leads"]
    roster = [r["manager_id"] for r in world.sheet["roster"]]
    owned = leads.loc[~leads["is_deleted"] & leads["responsible_user_id"].isin(roster), "lead_id"]
    return [
        {
            "lead_id": int(lead),
            "rule": "no_next_task",
            "first_seen_at": pd.Timestamp(at, tz="UTC"),
            "resolved_at": pd.NaT,
            "backlog": False,
        }
        for lead, at in zip(owned, first_seen, strict=False)
    ]


def metric_rows(results: Results, metric: str) -> pd.DataFrame:
    daily = results.daily
    return daily[daily["metric"] == metric].reset_index(drop=True)


@pytest.mark.parametrize("appealed", [False, True])
def test_rules_firing_build_again_only_the_parts_that_read_deal_violations(
    world: World, appealed: bool
) -> None:
    """As the clock moves the deal rules fire, and only the builders that read the automatic
    violations are built again: that of the deal violations, and with appeals on the tab that
    of the manual ones too (which violation a won appeal cancels depends on the automatic
    ones); without appeals the manual violations are read alone."""
    manager = world.manager("sales")
    sheet: dict[str, Any] = {
        "violations": [
            {"date": pd.Timestamp("2026-11-10"), "manager_id": manager, "type": t, "ref": t}
            for t in ("control", "regulation")
        ],
        "appeals": [
            {"date": pd.Timestamp("2026-11-12"), "manager_id": manager, "ref": "control"}
            | {"outcome": "won"}
        ]
        if appealed
        else [],
    }
    facts = KeptFacts()
    first = checked(world, facts, AT, deal_violations=deal_rows(world, "2026-11-16 08:00"), **sheet)
    fired = deal_rows(world, "2026-11-16 08:00", "2026-11-18 10:20")
    again = checked(world, facts, AT + pd.Timedelta(minutes=15), deal_violations=fired, **sheet)
    reading = frozenset({"deal_violations", "violations"} if appealed else {"deal_violations"})
    assert facts.reused == kept_parts(world.config) - kept_parts(world.config, reading)
    assert len(metric_rows(again, "deal_violations")) > len(metric_rows(first, "deal_violations"))
    checked(world, facts, AT + pd.Timedelta(minutes=30), deal_violations=fired, **sheet)
    assert facts.reused == kept_parts(world.config)


def test_a_frame_read_only_through_a_helper_builds_its_readers_again(world: World) -> None:
    """The lead builders read the handovers only through `lead_facts._owner`: a handover just
    before a win moves the sale to another manager, and every builder that asks for owners is
    built again."""
    inputs = world.inputs()
    roster = frozenset(inputs.roster["manager_id"])
    context = Context(world.config, AT, pd.Timestamp("2026-05-01"), "month", roster)
    won = lead_facts.wins(inputs, context, None)
    win = won[won["manager_id"].isin(roster) & (won["price"] > 0)].iloc[-1]
    handover = {
        "event_id": "handover",
        "lead_id": win["lead_id"],
        "created_at": win["moment"] - pd.Timedelta(minutes=1),
        "before_user_id": win["manager_id"],
        "after_user_id": next(m for m in sorted(roster) if m != win["manager_id"]),
    }
    handovers = pd.concat(
        [world.amocrm["responsible_changes"], pd.DataFrame([handover])], ignore_index=True
    )
    facts = KeptFacts()
    first = checked(world, facts, AT)
    again = checked(world, facts, AT + pd.Timedelta(minutes=15), responsible_changes=handovers)
    assert facts.reused == kept_parts(world.config) - kept_parts(world.config, OWNERS)
    assert not same_frame(metric_rows(first, "won_amount"), metric_rows(again, "won_amount"))


def test_each_compute_compares_with_the_one_before_it(world: World) -> None:
    """Changes one after another, then taken back: each compute builds the parts that read a
    frame changed since the compute before it (not since the one a kept part was built in),
    and hands out the others, kept over several computes."""
    calls = with_missed_call(world, "2026-11-18 09:00", "70000000003")
    fired = deal_rows(world, "2026-11-18 10:20")
    steps: list[tuple[dict[str, Any], frozenset[str]]] = [
        ({"calls": calls}, CALLS),
        ({"calls": calls, "deal_violations": fired}, frozenset({"deal_violations"})),
        ({}, CALLS | {"deal_violations"}),  # as in the first compute again
        ({}, frozenset()),
    ]
    facts, config = KeptFacts(), world.config
    checked(world, facts, AT)
    for minutes, (change, rebuilt) in enumerate(steps, start=1):
        checked(world, facts, AT + pd.Timedelta(minutes=15 * minutes), **change)
        assert facts.reused == kept_parts(config) - kept_parts(config, rebuilt), change.keys()


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
    mine = facts.part("calls_outgoing", context, BUILDERS["calls_outgoing"], None)
    mine["num"] = -1.0
    facts.start(inputs)
    later = Context(world.config, AT + pd.Timedelta(hours=1), context.since, "month", frozenset())
    again = facts.part("calls_outgoing", later, lambda *_: pytest.fail("built again"), None)
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


def test_a_staged_builder_is_its_steady_part_and_the_clocks_step() -> None:
    """The part kept of a staged builder does not read the clock; the builder is clocked and
    reads nothing but its steady part and the clock's step on it."""
    for name, (steady, at_now) in STAGED.items():
        assert name in CLOCKED and not _reads_the_clock(steady, set())
        called = {
            node.func.id
            for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(BUILDERS[name]))))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert called == {steady.__name__, at_now.__name__}


def test_a_quiet_serve_cycle_takes_the_steady_parts_and_the_nightly_one_builds(
    tmp_path: Path,
) -> None:
    with small_world(tmp_path) as world:
        kept = Kept()
        world.serve_cycle(0, kept)
        assert kept.facts.reused == 0
        world.serve_cycle(15, kept)
        assert kept.facts.reused == kept_parts(world.config)
        world.serve_cycle(30, kept, reconcile=True)  # not asked: what it would take stays as it was
        assert kept.facts.reused == kept_parts(world.config)


def test_an_open_missed_calls_minutes_move_with_the_clock_from_its_kept_callbacks(
    world: World,
) -> None:
    """A missed call not called back: its minutes grow from cycle to cycle, up to the window
    and past it, as a compute without kept facts gives them, while the steady part (the
    minutes to each callback) is handed out again."""
    calls = with_missed_call(world, str(AT.tz_localize(None) - pd.Timedelta(hours=1)), "7000005")
    facts, whole = KeptFacts(), kept_parts(world.config)
    minutes = []
    for later in (0, 10, 60 * 22, 60 * 30):  # 1 h, 1 h 10 min, 23 h, 31 h after the miss
        got = checked(world, facts, AT + pd.Timedelta(minutes=later), calls=calls)
        assert facts.reused == (0 if later == 0 else whole)
        daily = got.daily[
            (got.daily["metric"] == "callback_minutes")
            & (got.daily["manager_id"] == world.manager("leadgen"))
        ]
        minutes.append(daily["num"].sum())
    assert minutes[0] < minutes[1] < minutes[2] < minutes[3]

"""The engine end to end on small worlds: plans, score, ranking, bonus, pace, explain, issues.

November 2026, now = 20 Nov 12:00 UTC; department "team"; plans per test.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sheets_kpi.config import PlansConfig, UpsellConfig
from sheets_kpi.kpi.engine import KPI_COLUMNS, MANAGER_COLUMNS
from sheets_kpi.kpi.issues import Issue, issues_frame
from tests.kpi_fixtures import (
    QUALIFIED,
    A,
    B,
    C,
    call,
    config,
    lead,
    move,
    plans,
    roster,
    row,
    run,
    task,
    ts,
    violation,
    week,
)

OUT = {"outgoing": "calls_outgoing"}
QUALITY = "score_avg(call_quality)"
D = 4


def outgoing(counts: dict[int, int], day: str = "2026-11-03") -> list[dict]:
    return [
        call(0, f"{day} 10:00", manager, "out")
        for manager, count in counts.items()
        for _ in range(count)
    ]


def numbered(calls: list[dict]) -> list[dict]:
    return [item | {"note_id": index} for index, item in enumerate(calls)]


def managers(results) -> pd.DataFrame:
    return results.managers.set_index("manager_id")


def control_violations(count: int, manager: int = A) -> list[dict]:
    return [
        {"date": "2026-11-05", "manager_id": manager, "type": "control", "ref": str(i)}
        for i in range(count)
    ]


CONTROL = {"control": "violations(control)"}
LOWER = {"control": "lower"}

# --- plans --------------------------------------------------------------------------------


def test_manager_plan_overrides_the_department_default() -> None:
    results = run(
        cfg=config(OUT),
        calls=numbered(outgoing({A: 10, B: 10})),
        plans=plans({"outgoing": 20}) + plans({"outgoing": 8}, manager=A),
    )
    assert (row(results, A, "outgoing")["plan"], row(results, B, "outgoing")["plan"]) == (8, 20)
    assert row(results, A, "outgoing")["achievement"] == 10 / 8  # 1.25
    assert row(results, B, "outgoing")["achievement"] == 0.5  # 10 / 20


def test_no_plan_shows_the_fact_leaves_the_kpi_out_and_is_an_issue() -> None:
    results = run(
        cfg=config(OUT),
        calls=numbered(outgoing({A: 3})),
        plans=plans({"outgoing": 20}, period="2026-12") + plans({"outgoing": 5}, manager=B),
    )  # a later month's plan never applies
    kpi = row(results, A, "outgoing")
    assert math.isnan(kpi["plan"]) and math.isnan(kpi["achievement"])
    assert kpi["fact"] == 3  # the fact is still shown
    assert math.isnan(managers(results).loc[A, "score"])  # nothing left to score
    where = results.issues.loc[results.issues["source"] == "plans", "where"].tolist()
    assert where == ["2026-11 / Анна / outgoing", "2026-11 / Вера / outgoing"]  # B has one


def test_a_month_without_plan_rows_carries_over_the_latest_earlier_plan() -> None:
    earlier = (
        plans({"outgoing": 8}, period="2026-09", manager=A)
        + plans({"outgoing": 30}, period="2026-09")
        + plans({"outgoing": 20}, period="2026-10")
    )
    results = run(cfg=config(OUT), calls=numbered(outgoing({A: 4, B: 10})), plans=earlier)
    # A's own September plan comes before the department's October default; B has only that.
    assert (row(results, A, "outgoing")["plan"], row(results, B, "outgoing")["plan"]) == (8, 20)
    assert row(results, B, "outgoing")["achievement"] == 0.5  # 10 / 20
    assert row(results, A, "outgoing")["plan_from"] == "2026-09"
    info = results.issues[results.issues["severity"] == "info"]
    assert info["where"].tolist() == ["2026-11 / team / outgoing", "2026-11 / team / outgoing"]
    assert info["value"].tolist() == ["2026-09", "2026-10"]
    assert info["message"].str.startswith("plan carried over from 2026-").all()


def test_a_plan_row_of_the_month_wins_over_any_carried_plan() -> None:
    typed = plans({"outgoing": 8}, period="2026-10", manager=A) + plans({"outgoing": 20})
    results = run(cfg=config(OUT), calls=numbered(outgoing({A: 4})), plans=typed)
    assert row(results, A, "outgoing")["plan"] == 20  # November's default, not A's October
    assert results.issues[results.issues["severity"] == "info"].empty


def test_carry_over_off_leaves_a_month_without_plans_unscored() -> None:
    cfg = config(OUT).model_copy(update={"plans": PlansConfig(carry_over=False)})
    results = run(
        cfg=cfg, calls=numbered(outgoing({A: 4})), plans=plans({"outgoing": 20}, "2026-10")
    )
    assert math.isnan(row(results, A, "outgoing")["plan"])
    assert math.isnan(managers(results).loc[A, "score"])


def test_issue_frames_have_the_issue_columns_as_objects_empty_or_not() -> None:
    for frame in (issues_frame([]), issues_frame([Issue("error", "amoCRM", "sync", "", "down")])):
        shown = ["severity", "source", "where", "value", "message"]
        assert list(frame.columns) == [*shown, "key", "args"]
        assert all(dtype == "object" for dtype in frame.dtypes)


def test_a_kpi_nobody_has_a_plan_for_is_one_department_issue() -> None:
    results = run(cfg=config(OUT), calls=numbered(outgoing({A: 3})))
    issues = results.issues[results.issues["source"] == "plans"]
    assert issues["where"].tolist() == ["2026-11 / team / outgoing"]


def test_score_renormalises_over_kpis_with_a_plan() -> None:
    cfg = config(
        {"outgoing": "calls_outgoing", "completed": "tasks_completed"},
        weights={"outgoing": 3, "completed": 1},
    )
    results = run(
        cfg=cfg,
        roster=roster(A),
        calls=numbered(outgoing({A: 8})),
        plans=plans({"outgoing": 10}),  # tasks_completed has no plan
    )
    # only outgoing is scorable: 3·0.8 / 3 = 0.8
    assert managers(results).loc[A, "score"] == pytest.approx(0.8)
    assert math.isnan(row(results, A, "completed")["contribution"])


@pytest.mark.parametrize(
    ("count", "plan", "expected"),
    [
        (0, 0, 1.0),  # lower, plan 0, fact 0 → 100 %
        (1, 0, 0.0),  # lower, plan 0, any violation → 0 %
        (0, 4, 2.0),  # zero fact → 200 %
        (4, 4, 1.0),  # f = p
        (8, 4, 0.0),  # f = 2p → 0 %
        (6, 4, 0.5),  # 2 − 6/4
    ],
)
def test_lower_is_better_through_the_engine(count, plan, expected) -> None:
    results = run(
        cfg=config(CONTROL, directions=LOWER),
        roster=roster(A),
        violations=control_violations(count),
        plans=plans({"control": plan}),
    )
    assert row(results, A, "control")["achievement"] == expected
    # a single KPI: score = min(a, cap 1.5)
    assert managers(results).loc[A, "score"] == min(expected, 1.5)


def test_zero_fact_is_scored_zero_not_left_out() -> None:
    results = run(
        cfg=config(OUT),
        roster=roster(A, B),
        calls=numbered(outgoing({A: 5})),
        plans=plans({"outgoing": 10}),
    )
    assert managers(results).loc[B, ["score", "rank"]].tolist() == [0.0, 2]


# --- ranking ------------------------------------------------------------------------------


def test_ties_rank_one_two_two_four() -> None:
    results = run(
        cfg=config(OUT),
        roster=roster(A, B, C, D),
        calls=numbered(outgoing({A: 12, B: 10, C: 10, D: 5})),
        plans=plans({"outgoing": 10}),
    )
    table = managers(results)
    # scores 1.2, 1.0, 1.0, 0.5 → ranks 1, 2, 2, 4
    assert table.loc[[A, B, C, D], "rank"].tolist() == [1, 2, 2, 4]
    assert table.loc[A, "ranked_count"] == 4
    assert results.managers["manager_id"].tolist() == [A, B, C, D]  # listed by rank


def test_manager_without_any_scorable_kpi_is_unranked() -> None:
    results = run(
        cfg=config({"missed": "calls_missed_share"}, directions={"missed": "lower"}),
        calls=[
            call(1, "2026-11-03 10:00", A, "in", status=6, duration=0),
            call(2, "2026-11-03 11:00", A, "in"),
        ],
        plans=plans({"missed": 0.2}),
    )
    table = managers(results)
    # A: 1 missed of 2 = 0.5 → max(0, 2 − 0.5/0.2) = 0; B and C had no incoming calls at all
    assert table.loc[A, ["score", "rank", "ranked_count"]].tolist() == [0.0, 1, 1]
    assert math.isnan(table.loc[B, "score"]) and math.isnan(table.loc[B, "rank"])
    assert results.managers["manager_id"].tolist()[0] == A  # unranked listed last


def test_department_cap_limits_each_kpi() -> None:
    results = run(
        cfg=config(OUT, cap=1.2),
        roster=roster(A),
        calls=numbered(outgoing({A: 30})),
        plans=plans({"outgoing": 10}),
    )
    # achievement 3.0, capped at 1.2
    assert row(results, A, "outgoing")["achievement"] == 3.0
    assert managers(results).loc[A, "score"] == 1.2


def test_rank_change_against_the_same_point_of_the_previous_month() -> None:
    calls = outgoing({A: 2, B: 6}, day="2026-10-10") + outgoing({A: 9, B: 3}, day="2026-11-10")
    calls += outgoing({A: 50}, day="2026-10-25")  # after 20 Oct: not the same point
    results = run(
        cfg=config(OUT),
        roster=roster(A, B, C),
        calls=numbered(calls),
        plans=plans({"outgoing": 10}) + plans({"outgoing": 10}, period="2026-10"),
    )
    table = managers(results)
    # 1–20 Oct: B 6 (1st), A 2 (2nd); C did nothing then (joined since, say): no previous rank,
    # and C does not count in October's ranking. November: A 9, B 3, C 0.
    assert table.loc[[A, B], "previous_rank"].tolist() == [2, 1]
    assert table.loc[[A, B], "rank_change"].tolist() == [1, -1]
    assert math.isnan(table.loc[C, "previous_rank"]) and math.isnan(table.loc[C, "rank_change"])
    assert table.loc[A, "previous_score"] == pytest.approx(0.2)  # 2 / 10


def test_no_previous_rank_gives_no_rank_change() -> None:
    results = run(
        cfg=config(OUT),
        roster=roster(A),
        calls=numbered(outgoing({A: 5})),
        plans=plans({"outgoing": 10}),
    )  # no October plan → no October score
    assert math.isnan(managers(results).loc[A, "rank_change"])


# --- bonus --------------------------------------------------------------------------------

BONUS = {"base": 10000, "gate": 0.7, "accelerator": 1.5, "cap": 1.5, "prizes": {1: 1000, 2: 500}}


@pytest.mark.parametrize(
    ("calls", "bonus", "prize"),
    [
        (7, 10000 * 0.7 + 1000, 1000),  # s = 0.7 = gate exactly: m = 0.7, prize paid
        (6, 0, 0),  # s = 0.6 < gate: nothing, not even the rank-1 prize
        (10, 10000 + 1000, 1000),  # s = 1: m = 1
        (12, 10000 * 1.3 + 1000, 1000),  # s = 1.2: accelerator 1 + 1.5·0.2 = 1.3
        (15, 10000 * 1.5 + 1000, 1000),  # s = 1.5: 1 + 0.75 = 1.75 → bonus cap 1.5
    ],
)
def test_bonus_branches_through_the_engine(calls, bonus, prize) -> None:
    results = run(
        cfg=config(OUT, bonus=BONUS, cap=2.0),
        roster=roster(A),
        calls=numbered(outgoing({A: calls})),
        plans=plans({"outgoing": 10}),
    )
    assert managers(results).loc[A, ["bonus", "prize"]].tolist() == [bonus, prize]


def test_gate_reached_by_a_weighted_sum_is_not_lost_to_float_noise() -> None:
    cfg = config(
        {"outgoing": "calls_outgoing", "completed": "tasks_completed"},
        bonus=BONUS,
        weights={"outgoing": 3, "completed": 3},
    )
    results = run(
        cfg=cfg,
        roster=roster(A),
        tasks=[task(i, A, "2026-11-30 10:00", completed="2026-11-02 10:00") for i in range(14)],
        plans=plans({"outgoing": 10, "completed": 10}),
    )
    # 3·0/6 + 3·1.4/6 = 0.7, which floats make 0.6999999999999998: still at the gate
    assert managers(results).loc[A, "score"] == 0.7
    assert managers(results).loc[A, "bonus"] == 10000 * 0.7 + 1000


def test_bonus_with_prizes_gate_and_base_override() -> None:
    people = roster(A, B) + roster(C, bonus_base=20000)
    results = run(
        cfg=config(OUT, bonus=BONUS),
        roster=people,
        calls=numbered(outgoing({A: 12, B: 6, C: 8})),
        plans=plans({"outgoing": 10}),
    )
    table = managers(results)
    # A: s = 1.2 → 10 000·1.3 + 1 000 = 14 000
    # C: s = 0.8, rank 2 → 20 000·0.8 + 500 = 16 500 (own base)
    # B: s = 0.6 < gate → 0, and no prize for rank 3 anyway
    assert table.loc[[A, C, B], "bonus"].tolist() == [14000, 16500, 0]
    assert table.loc[[A, C, B], "prize"].tolist() == [1000, 500, 0]
    assert row(results, C, "outgoing")["bonus"] == 16500  # repeated on every KPI row


def test_tied_managers_share_the_prize_of_their_rank() -> None:
    results = run(
        cfg=config(OUT, bonus=BONUS),
        roster=roster(A, B),
        calls=numbered(outgoing({A: 9, B: 9})),
        plans=plans({"outgoing": 10}),
    )
    # both rank 1: 10 000·0.9 + 1 000 = 10 000 each
    assert managers(results).loc[[A, B], "bonus"].tolist() == [10000, 10000]


# --- explain and pace ---------------------------------------------------------------------


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
        calls=numbered(calls),
        plans=plans({"outgoing": 12, "missed": 0.5}),
    )
    # 10 of 30 days elapsed: 4 calls → 12 at pace; the missed share stays 0.5
    assert row(results, A, "outgoing")["forecast_fact"] == pytest.approx(12)
    assert row(results, A, "missed")["forecast_fact"] == 0.5
    manager = managers(results).loc[A]
    # now: (4/12 + 1.0) / 2 = 0.667 < gate → 0; at pace: (1 + 1) / 2 = 1.0 → 10 000
    assert (manager["bonus"], manager["bonus_at_pace"]) == (0, 10000)
    assert manager["score_at_pace"] == 1.0


def test_a_lower_is_better_count_below_plan_is_not_done_while_its_pace_breaks_the_plan() -> None:
    """The audit's case: on 16 Nov (16 of 30 days) 35 violations against a plan of 64."""
    cfg = config(
        {"deal_violations": "deal_violations", "overdue": "tasks_overdue", "quality": QUALITY},
        directions={"deal_violations": "lower", "overdue": "lower"},
    )
    deal = [
        {"date": f"2026-11-{1 + i % 16:02d}", "manager_id": A, "type": "deal", "ref": str(i)}
        for i in range(35)
    ]
    late = [task(i, A, "2026-11-02 10:00") for i in range(3)]  # 3 overdue, none done
    scores = [{"date": "2026-11-03", "manager_id": A, "kind": "call_quality", "score": 80}]
    results = run(
        now=ts("2026-11-16 12:00"),
        cfg=cfg,
        roster=roster(A),
        violations=deal,
        tasks=late,
        scores=scores,
        plans=plans({"deal_violations": 64, "overdue": 6, "quality": 90}),
    )
    violations, overdue, quality = (
        row(results, A, k) for k in ("deal_violations", "overdue", "quality")
    )
    assert violations["forecast_fact"] == pytest.approx(65.625)  # 35 · 30 / 16
    assert violations["plan_to_date"] == pytest.approx(34.1333, abs=1e-4)  # 64 · 16 / 30
    assert violations["still_needed"] == -1  # 35 − 34.13, whole: "1 over the plan to date"
    # the score still measures against the monthly plan (SPEC §7.3): 2 − 35/64
    assert violations["achievement"] == pytest.approx(2 - 35 / 64)
    # 3 overdue tasks of 6 allowed: to date 6 · 16/30 = 3.2, pace 5.6 ≤ 6: within, not "done"
    assert overdue["plan_to_date"] == pytest.approx(3.2)
    assert (overdue["still_needed"], overdue["forecast_fact"]) == (0, pytest.approx(5.625))
    # a mean score is no flow: not extrapolated, no plan to date, still needed as before
    assert (quality["forecast_fact"], quality["still_needed"]) == (80, 10)
    assert math.isnan(quality["plan_to_date"])


def test_explain_contributions_sum_to_score_and_still_needed() -> None:
    cfg = config(
        {"outgoing": "calls_outgoing", "control": "violations(control)"},
        directions=LOWER,
        weights={"outgoing": 3, "control": 1},
    )
    results = run(
        cfg=cfg,
        roster=roster(A),
        calls=numbered(outgoing({A: 7})),
        violations=control_violations(5),
        plans=plans({"outgoing": 10, "control": 3}),
    )
    out, control = row(results, A, "outgoing"), row(results, A, "control")
    # outgoing 7/10 = 0.7 → 3·0.7/4 = 0.525; control 2 − 5/3 = 0.3333 → 1·0.3333/4 = 0.0833
    assert out["contribution"] == pytest.approx(0.525)
    assert control["contribution"] == pytest.approx(1 / 12)
    assert out["score"] == pytest.approx(0.525 + 1 / 12)
    assert (out["still_needed"], control["still_needed"]) == (3, -2)  # "+3", "−2 нарушения"
    assert managers(results).loc[A, "top_kpi"] == "outgoing"  # no title configured: the id


def test_manager_joining_mid_month_is_scored_on_their_own_activity() -> None:
    results = run(
        cfg=config(OUT),
        roster=roster(A, B),
        calls=numbered(outgoing({A: 10}, day="2026-11-02") + outgoing({B: 4}, day="2026-11-18")),
        plans=plans({"outgoing": 10}) + plans({"outgoing": 5}, manager=B),
    )
    # B joined on the 18th with a reduced plan of 5: 4 / 5 = 0.8
    assert row(results, B, "outgoing")["achievement"] == pytest.approx(0.8)
    assert managers(results).loc[B, "rank"] == 2


# --- roster and issues --------------------------------------------------------------------


def test_inactive_and_unconfigured_roster_rows_are_left_out() -> None:
    people = roster(A) + [
        roster(B)[0] | {"active": False},
        roster(C)[0] | {"department": "marketing"},
    ]
    results = run(cfg=config(OUT), roster=people, calls=numbered(outgoing({A: 1, B: 1, C: 1})))
    assert results.managers["manager_id"].tolist() == [A]
    stray = results.issues[results.issues["source"] == "roster"]
    assert stray[["where", "value"]].values.tolist() == [["amo_user_id 3", "marketing"]]
    # B and C are roster members, so their activity is not "unknown"
    assert not results.issues["message"].str.contains("not in the roster").any()


def test_user_issues_activity_outside_the_roster_and_gone_users() -> None:
    results = run(
        cfg=config(OUT),
        roster=roster(A, B, C),
        calls=numbered(outgoing({A: 1, 77: 2})),
        users=[
            {"user_id": A, "name": "Анна", "is_active": True},
            {"user_id": B, "name": "Борис", "is_active": False},
            {"user_id": 77, "name": "Гость", "is_active": True, "group_name": "Продажи"},
        ],
    )
    issues = results.issues.set_index("where")
    assert issues.loc["user 77", ["value", "message"]].tolist() == [
        "Гость",
        "amoCRM user with activity is not in the roster",
    ]
    assert issues.loc["amo_user_id 2", "message"] == "the amoCRM user is deactivated"
    assert issues.loc["amo_user_id 3", "message"] == "no such amoCRM user any more"


def test_a_stage_mover_outside_the_roster_is_reported_and_a_groupless_one_told_why() -> None:
    """Moving a lead credits no fact to the mover (stage_reached counts for the owner), yet it is
    activity: someone working in amoCRM whom the roster does not know."""
    results = run(
        cfg=config(OUT),
        roster=roster(A),
        leads=[lead(1, A)],
        stage_changes=[move(1, QUALIFIED, "2026-11-10 10:00", by=88)],
        users=[
            {"user_id": A, "name": "Анна", "is_active": True, "group_name": "Продажи"},
            {"user_id": 88, "name": "Без отдела", "is_active": True, "group_name": None},
        ],
    )
    issue = results.issues.set_index("where").loc["user 88"]
    assert issue["value"] == "Без отдела"
    assert issue["message"].startswith("amoCRM user with activity is not in the roster; the user")
    assert "in no group in amoCRM" in issue["message"]


def test_stage_names_that_match_nothing_are_config_issues() -> None:
    cfg = config(OUT, stages={"handoff": ["Квалифицирован", "Квалифицированн"]})
    results = run(cfg=cfg)
    issues = results.issues[results.issues["source"] == "config.yaml"]
    assert issues[["where", "value"]].values.tolist() == [
        ["amocrm.stages.handoff", "Квалифицированн"]
    ]


def test_unknown_upsell_pipeline_and_won_filter_are_config_issues() -> None:
    cfg = config({"extra": "won_amount(bonus)", "upsell": "won_amount(upsell)"})
    upsell = UpsellConfig(pipelines=["Апсейл"])
    cfg = cfg.model_copy(update={"amocrm": cfg.amocrm.model_copy(update={"upsell": upsell})})
    issues = run(cfg=cfg).issues
    issues = issues[issues["source"] == "config.yaml"]
    assert issues[["where", "value"]].values.tolist() == [
        ["amocrm.upsell.pipelines", "Апсейл"],
        ["departments.team.kpis.extra", "bonus"],
    ]


# --- dynamics and lists -------------------------------------------------------------------


def test_weekly_dynamics_grid_and_department_total_from_sums() -> None:
    calls = (
        [call(0, "2026-11-10 10:00", A, "in", status=6, duration=0)]  # A: 1 of 1 missed
        + [call(0, "2026-11-10 11:00", B, "in") for _ in range(3)]  # B: 0 of 3 missed
        + outgoing({A: 2}, day="2026-11-02")
    )
    cfg = config({"outgoing": "calls_outgoing", "missed": "calls_missed_share"})
    results = run(cfg=cfg, roster=roster(A, B), calls=numbered(calls))
    weekly = results.weekly
    assert len(weekly) == 12 * 2 * 3  # 12 weeks × 2 KPIs × (A, B, total)
    assert weekly["week_start"].min() == pd.Timestamp("2026-08-31")  # 11 weeks before 16 Nov
    assert week(results, A, "outgoing", "2026-11-02") == 2
    assert week(results, A, "outgoing", "2026-11-09") == 0  # no activity: 0, not missing
    assert math.isnan(week(results, A, "missed", "2026-11-02"))  # no calls: empty ratio
    # department: (1 + 0) / (1 + 3) = 0.25, not the mean of 1.0 and 0.0
    assert week(results, None, "missed", "2026-11-09") == 0.25


def test_open_violations_and_overdue_tasks_lists() -> None:
    results = run(
        cfg=config(OUT),
        leads=[lead(1, A), lead(2, B) | {"is_deleted": True}],
        deal_violations=[
            violation(1, "no_next_task", "2026-11-02 10:00"),
            violation(1, "stale_stage", "2026-11-01 10:00", "2026-11-03 10:00"),  # resolved
            violation(2, "no_next_task", "2026-11-02 10:00"),  # lead deleted
        ],
        tasks=[
            task(1, A, "2026-11-10 10:00"),
            task(2, A, "2026-11-25 10:00"),
            task(3, B, "2026-11-11 10:00", completed="2026-11-12 10:00"),
        ],
    )
    assert results.open_violations[["manager_id", "lead_id", "rule"]].values.tolist() == [
        [A, 1, "no_next_task"]
    ]
    assert results.overdue_tasks[["manager_id", "task_id"]].values.tolist() == [[A, 1]]


def test_english_titles_and_the_result_columns() -> None:
    cfg = config(OUT, locale="en")
    results = run(cfg=cfg, calls=numbered(outgoing({A: 1})), plans=plans({"outgoing": 1}))
    assert list(results.kpi.columns) == KPI_COLUMNS
    assert list(results.managers.columns) == MANAGER_COLUMNS
    first = results.kpi.iloc[0]
    assert (first["period"], first["period_start"], first["period_end"]) == (
        "2026-11",
        pd.Timestamp("2026-11-01"),
        pd.Timestamp("2026-11-30"),
    )
    assert results.period.label == "2026-11"

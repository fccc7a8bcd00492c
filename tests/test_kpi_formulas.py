"""SPEC §7.3–§7.6 formulas, one hand-computed row per branch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sheets_kpi.config import BonusConfig
from sheets_kpi.kpi.bonus import bonuses, multiplier, prize, round_roubles
from sheets_kpi.kpi.explain import pace_fact, still_needed, with_plan_to_date
from sheets_kpi.kpi.matrix import wilson
from sheets_kpi.kpi.periods import Period
from sheets_kpi.kpi.plan_fact import achievement
from sheets_kpi.kpi.scoring import competition_rank, contributions, scores
from tests.kpi_fixtures import config

NAN = float("nan")


def same(got: float, expected: float) -> bool:
    return (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("fact", "plan", "direction", "expected"),
    [
        (15, 20, "higher", 0.75),  # 15 / 20
        (20, 20, "higher", 1.0),  # f = p
        (30, 20, "higher", 1.5),  # 30 / 20; the cap applies in the score, not here
        (40, 20, "higher", 2.0),  # f = 2p, higher: 200 %
        (0, 20, "higher", 0.0),  # zero fact
        (-20, 30, "higher", 0.0),  # a negative NPS never gives a negative achievement
        (5, 0, "higher", 1.0),  # plan 0, higher: a fact ≥ 0 meets a zero target (choice)
        (0, 0, "higher", 1.0),
        (-100, 0, "higher", 0.0),  # …an NPS of −100 does not
        (0.95, 0.9, "higher", 0.95 / 0.9),  # share KPI: 1.0556
        (10, 10, "lower", 1.0),  # f = p → 100 %
        (0, 10, "lower", 2.0),  # f = 0 → 200 %
        (20, 10, "lower", 0.0),  # f = 2p → 0 %
        (25, 10, "lower", 0.0),  # beyond 2p: max(0, 2 − 2.5) = 0
        (5, 10, "lower", 1.5),  # 2 − 5/10
        (12, 10, "lower", 0.8),  # 2 − 12/10
        (0, 0, "lower", 1.0),  # p = 0, f = 0 → 1
        (1, 0, "lower", 0.0),  # p = 0, f > 0 → 0
        (0.1, 0.15, "lower", 2 - 0.1 / 0.15),  # missed-call share: 1.3333
        (12.5, 15, "lower", 2 - 12.5 / 15),  # callback minutes: 1.1667
        (7, NAN, "higher", NAN),  # no plan → empty
        (7, NAN, "lower", NAN),
        (NAN, 0.2, "lower", NAN),  # share with zero denominator → empty
        (NAN, 0, "lower", NAN),  # …even with plan 0
    ],
)
def test_achievement(fact, plan, direction, expected) -> None:
    got = achievement(
        pd.Series([fact], dtype=float), pd.Series([plan], dtype=float), pd.Series([direction])
    ).iloc[0]
    assert same(got, expected)


@pytest.mark.parametrize(
    ("fact", "plan", "direction", "unit", "expected"),
    [
        (17, 20, "higher", "count", 3),  # "+3 КП"
        (20, 20, "higher", "count", 0),  # met
        (25, 20, "higher", "count", 0),  # over-achieved: nothing needed
        (5, 3, "lower", "count", -2),  # "−2 нарушения"
        (3, 3, "lower", "count", 0),
        (1, 3, "lower", "count", 0),
        (4, 7.5, "higher", "count", 4),  # 3.5 more calls means 4 whole calls
        (9, 7.5, "lower", "count", -2),  # 1.5 too many violations: 2 fewer
        (80_000, 100_000, "higher", "rub", 20_000),  # money is not rounded
        (0.25, 0.2, "lower", "share", -0.05),  # 5 p.p. fewer missed calls
        (87.5, 90, "higher", "score", 2.5),
        (5, NAN, "higher", "count", NAN),  # no plan
        (NAN, 0.2, "lower", "share", NAN),  # no fact
    ],
)
def test_still_needed(fact, plan, direction, unit, expected) -> None:
    got = still_needed(
        pd.Series([fact], dtype=float),
        pd.Series([plan], dtype=float),
        pd.Series([direction]),
        pd.Series([unit]),
    ).iloc[0]
    assert same(got, expected)


def kpi_table(rows: list[tuple[int, float, float]], cap: float = 1.5) -> pd.DataFrame:
    return pd.DataFrame(
        [{"manager_id": m, "weight": w, "achievement": a, "cap": cap} for m, w, a in rows]
    )


def test_score_is_weighted_capped_mean() -> None:
    # (40·min(0.8, 1.5) + 20·min(2.0, 1.5) + 40·1.0) / 100 = (32 + 30 + 40) / 100 = 1.02
    table = kpi_table([(1, 40, 0.8), (1, 20, 2.0), (1, 40, 1.0)])
    assert scores(table)[1] == pytest.approx(1.02)


def test_score_renormalises_over_kpis_with_an_achievement() -> None:
    # the 50-weight KPI has no plan: (30·1.2 + 20·0.5) / 50 = (36 + 10) / 50 = 0.92
    table = kpi_table([(1, 30, 1.2), (1, 50, NAN), (1, 20, 0.5)])
    assert scores(table)[1] == pytest.approx(0.92)


def test_score_cap_is_per_department() -> None:
    # cap 1.2: (50·min(3.0, 1.2) + 50·1.0) / 100 = (60 + 50) / 100 = 1.1
    assert scores(kpi_table([(1, 50, 3.0), (1, 50, 1.0)], cap=1.2))[1] == pytest.approx(1.1)


def test_score_of_all_kpis_at_the_cap_is_the_cap() -> None:
    # every achievement ≥ 1.5 → every term is w·1.5 → score 1.5 exactly
    assert scores(kpi_table([(1, 10, 9.0), (1, 30, 1.5)]))[1] == 1.5


def test_no_scorable_kpi_gives_no_score() -> None:
    assert math.isnan(scores(kpi_table([(1, 50, NAN), (1, 50, NAN)]))[1])


def test_contributions_sum_to_the_score() -> None:
    table = kpi_table([(1, 40, 0.8), (1, 20, 2.0), (1, 40, NAN), (2, 10, 1.0)])
    contribution = contributions(table)
    # manager 1: Σw = 60 → 40·0.8/60 = 0.5333, 20·min(2, 1.5)/60 = 0.5, no plan → empty
    assert contribution.tolist()[:2] == pytest.approx([32 / 60, 30 / 60])
    assert math.isnan(contribution.iloc[2])
    assert contribution.iloc[3] == 1.0  # manager 2: 10·1.0/10
    assert contribution[:3].sum() == pytest.approx(scores(table)[1])


@pytest.mark.parametrize(
    ("values", "ranks"),
    [
        ([1.2, 1.0, 1.0, 0.8], [1, 2, 2, 4]),  # standard competition ranking
        ([0.9, 0.9, 0.9], [1, 1, 1]),
        ([0.5, NAN, 0.7], [2, NAN, 1]),  # no score → unranked, and not counted
        ([0.1 + 0.2, 0.3], [1, 1]),  # 0.30000000000000004 ties with 0.3
        ([0.0, 0.0, 1.0], [2, 2, 1]),  # a zero score is still ranked
    ],
)
def test_competition_rank(values, ranks) -> None:
    got = competition_rank(pd.Series(values), pd.Series(["sales"] * len(values)))
    assert all(same(g, r) for g, r in zip(got.tolist(), ranks, strict=True))


def test_ranks_are_per_department() -> None:
    got = competition_rank(pd.Series([1.0, 0.5, 0.7]), pd.Series(["a", "b", "b"])).tolist()
    assert got == [1, 2, 1]


BONUS = BonusConfig(
    base=50000, gate=0.7, accelerator=1.5, cap=1.5, prizes={1: 10000, 2: 5000, 3: 3000}
)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.69, 0.0),  # below the gate
        (0.7, 0.7),  # exactly at the gate: s
        (0.85, 0.85),  # gate ≤ s ≤ 1: s
        (1.0, 1.0),
        (1.2, 1.3),  # 1 + 1.5·0.2
        (4 / 3, 1.5),  # 1 + 1.5·(1/3) = 1.5: just at the cap
        (1.4, 1.5),  # 1 + 1.5·0.4 = 1.6 → cap 1.5
        (0.0, 0.0),
        (NAN, 0.0),  # unranked, no score
    ],
)
def test_multiplier(score, expected) -> None:
    assert float(multiplier(score, BONUS)) == pytest.approx(expected)


def test_multiplier_with_a_gentler_accelerator_and_cap() -> None:
    gentle = BonusConfig(base=1, gate=0.5, accelerator=0.5, cap=1.2)
    # 1 + 0.5·(1.3 − 1) = 1.15 (< cap 1.2); 1 + 0.5·(1.6 − 1) = 1.3 → 1.2; 0.5 = gate → 0.5
    assert multiplier(np.array([1.3, 1.6, 0.5, 0.49]), gentle).tolist() == pytest.approx(
        [1.15, 1.2, 0.5, 0.0]
    )


@pytest.mark.parametrize(
    ("score", "rank", "expected"),
    [
        (0.85, 2, 5000),  # rank 2 prize
        (0.69, 1, 0),  # rank 1 but below the gate: no prize
        (0.7, 1, 10000),  # exactly the gate: prize
        (1.0, 4, 0),  # no prize configured for rank 4
        (1.0, NAN, 0),  # unranked
    ],
)
def test_prize_only_at_or_above_the_gate(score, rank, expected) -> None:
    assert float(prize(score, rank, BONUS)) == expected


def test_bonuses_with_base_override_rounding_and_ties() -> None:
    cfg = config(bonus={"base": 50000, "prizes": {1: 10000, 2: 5000, 3: 3000}})
    managers = pd.DataFrame(
        {
            "department": ["team"] * 6,
            "score": [1.2, 0.85, 0.85, 0.77777, 0.69, NAN],
            "rank": [1, 2, 2, 4, 5, NAN],
            "bonus_base": [NAN, NAN, 40000, NAN, NAN, NAN],
        }
    )
    got = bonuses(managers, cfg)
    # 50 000·1.3 + 10 000 = 75 000
    # 50 000·0.85 + 5 000 = 47 500; tie at rank 2 shares the rank-2 prize
    # own base 40 000·0.85 + 5 000 = 39 000
    # 50 000·0.77777 = 38 888.5 → 38 889 (half up, once)
    # below the gate, unranked: 0
    assert got["bonus"].tolist() == [75000, 47500, 39000, 38889, 0, 0]
    assert got["prize"].tolist() == [10000, 5000, 5000, 0, 0, 0]


def test_rounding_happens_once_on_the_total() -> None:
    # 0.4 + 0.4 would round to 0 + 0 separately, but the total 0.8 rounds to 1
    assert round_roubles(0.4 + 0.4) == 1
    assert round_roubles(2.5) == 3 and round_roubles(2.4999) == 2


@pytest.mark.parametrize(
    ("fact", "expected"),
    [
        (1_000_300, 10005),  # s = 1.0003: m = 1 + 1.5 · 0.0003 = 1.00045 → 10004.5 → 10005
        (700_050, 7001),  # s = 0.70005 (just over the gate): m = s → 7000.5 → 7001
    ],
)
def test_a_true_half_rouble_rounds_up_despite_float_arithmetic(fact, expected) -> None:
    score = fact / 1_000_000  # plan 1 000 000
    amount = 10_000 * multiplier(score, BONUS)  # base 10 000; floats give …4.4999… and …0.4999…
    assert float(amount) < expected - 0.5 + 1e-6
    assert round_roubles(amount) == expected


@pytest.mark.parametrize(
    ("won", "n", "low", "high"),
    [
        (5, 10, 0.2366, 0.7634),  # textbook Wilson interval for 5/10
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (1, 1, 0.2065, 1.0),
        (0, 0, NAN, NAN),  # no deals → no interval
    ],
)
def test_wilson_interval(won, n, low, high) -> None:
    lo, hi = wilson(pd.Series([won]), pd.Series([n]))
    assert same(lo.iloc[0], low) or lo.iloc[0] == pytest.approx(low, abs=1e-4)
    assert same(hi.iloc[0], high) or hi.iloc[0] == pytest.approx(high, abs=1e-4)
    if won == 0 < n:
        assert lo.iloc[0] == 0.0  # exactly, not 1e-17
    if won == n > 0:
        assert hi.iloc[0] == 1.0


@pytest.mark.parametrize(
    ("today", "elapsed", "previous"),
    [
        ("2026-11-20", 20, ("2026-10-01", "2026-10-20")),  # same day of month
        ("2026-11-01", 1, ("2026-10-01", "2026-10-01")),
        ("2026-11-30", 30, ("2026-10-01", "2026-10-31")),  # last day vs last day
        ("2026-03-30", 30, ("2026-02-01", "2026-02-28")),  # clamped to February's length
        ("2028-03-29", 29, ("2028-02-01", "2028-02-29")),  # leap year: 29 Feb
        ("2027-01-15", 15, ("2026-12-01", "2026-12-15")),  # across the year
    ],
)
def test_period_and_the_same_point_of_the_previous_one(today, elapsed, previous) -> None:
    period = Period.of(pd.Timestamp(today))
    assert period.elapsed_days == elapsed
    before = period.previous_same_point()
    assert (before.start, before.today) == tuple(pd.Timestamp(d) for d in previous)


def test_pace_scales_counts_and_sums_not_ratios() -> None:
    period = Period.of(pd.Timestamp("2026-11-10"))  # 10 of 30 days → × 3
    table = pd.DataFrame({"fact": [4.0, 0.5, 120_000.0, NAN], "ratio": [False, True, False, True]})
    assert same_list(pace_fact(table, period).tolist(), [12.0, 0.5, 360_000.0, NAN])


@pytest.mark.parametrize(
    ("today", "fact", "plan", "direction", "ratio", "to_date", "needed"),
    [
        # the audit's case: 16 of 30 days, 35 violations against 64. To date 64·16/30 = 34.13;
        # the pace 35·30/16 = 65.6 breaks 64, so 1 over the plan to date (not "done")
        ("2026-11-16", 35, 64, "lower", False, 64 * 16 / 30, -1),
        ("2026-11-16", 34, 64, "lower", False, 64 * 16 / 30, 0),  # pace 63.75 ≤ 64: within
        ("2026-11-10", 10, 30, "lower", False, 10, 0),  # exactly to date: the pace is the plan
        ("2026-11-10", 11, 30, "lower", False, 10, -1),
        # over the month's plan already: counted against the month, as before
        ("2026-11-10", 40, 30, "lower", False, NAN, -10),
        ("2026-11-10", 0, 0, "lower", False, 0, 0),  # plan 0, none yet: within it so far
        ("2026-11-10", 2, 0, "lower", False, NAN, -2),
        ("2026-11-10", 4, 12, "higher", False, NAN, 8),  # higher is better: as before
        ("2026-11-10", 0.3, 0.2, "lower", True, NAN, -0.1),  # a share is no flow: as before
        ("2026-11-30", 60, 64, "lower", False, NAN, 0),  # the last day: the month's plan holds
        ("2026-11-10", 5, NAN, "lower", False, NAN, NAN),  # no plan
    ],
)
def test_plan_to_date_of_lower_is_better_flows(
    today, fact, plan, direction, ratio, to_date, needed
) -> None:
    table = pd.DataFrame(
        {
            "fact": [float(fact)],
            "plan": [float(plan)],
            "direction": [direction],
            "unit": ["share" if ratio else "count"],
            "ratio": [ratio],
        }
    )
    table["still_needed"] = still_needed(
        table["fact"], table["plan"], table["direction"], table["unit"]
    )
    out = with_plan_to_date(table, Period.of(pd.Timestamp(today)))
    assert same(out["plan_to_date"].iloc[0], to_date)
    assert same(out["still_needed"].iloc[0], needed)


def same_list(got: list[float], expected: list[float]) -> bool:
    return all(same(g, e) for g, e in zip(got, expected, strict=True))

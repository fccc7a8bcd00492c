"""SPEC §7.3–§7.5 formulas, one hand-computed row per branch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sheets_kpi.config import BonusConfig
from sheets_kpi.kpi.matrix import wilson
from sheets_kpi.kpi.plan_fact import achievement, still_needed
from sheets_kpi.kpi.scoring import (
    bonus_amount,
    competition_rank,
    contributions,
    multiplier,
    scores,
)

NAN = float("nan")


@pytest.mark.parametrize(
    ("fact", "plan", "direction", "expected"),
    [
        (15, 20, "higher", 0.75),  # 15 / 20
        (20, 20, "higher", 1.0),  # f = p
        (30, 20, "higher", 1.5),  # 30 / 20, capping happens in the score
        (0, 20, "higher", 0.0),  # zero fact
        (-20, 30, "higher", 0.0),  # a negative NPS never gives a negative achievement
        (5, 0, "higher", 1.0),  # plan 0, higher: any fact meets it (documented choice)
        (0, 0, "higher", 1.0),
        (0.95, 0.9, "higher", 0.95 / 0.9),  # share KPI
        (10, 10, "lower", 1.0),  # f = p → 100 %
        (0, 10, "lower", 2.0),  # f = 0 → 200 %
        (20, 10, "lower", 0.0),  # f = 2p → 0 %
        (25, 10, "lower", 0.0),  # beyond 2p clamps at 0
        (5, 10, "lower", 1.5),  # 2 − 5/10
        (12, 10, "lower", 0.8),  # 2 − 12/10
        (0, 0, "lower", 1.0),  # p = 0, f = 0 → 1
        (1, 0, "lower", 0.0),  # p = 0, f > 0 → 0
        (0.1, 0.15, "lower", 2 - 0.1 / 0.15),  # missed-call share
        (12.5, 15, "lower", 2 - 12.5 / 15),  # callback minutes
        (7, NAN, "higher", NAN),  # no plan
        (NAN, 0.2, "lower", NAN),  # share with zero denominator
    ],
)
def test_achievement(fact, plan, direction, expected) -> None:
    got = achievement(
        pd.Series([fact], dtype=float), pd.Series([plan], dtype=float), pd.Series([direction])
    ).iloc[0]
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("fact", "plan", "direction", "expected"),
    [
        (17, 20, "higher", 3),  # "+3 КП"
        (20, 20, "higher", 0),
        (25, 20, "higher", 0),
        (5, 3, "lower", -2),  # "−2 нарушения"
        (3, 3, "lower", 0),
        (1, 3, "lower", 0),
        (5, NAN, "higher", NAN),
    ],
)
def test_still_needed(fact, plan, direction, expected) -> None:
    got = still_needed(
        pd.Series([fact], dtype=float), pd.Series([plan], dtype=float), pd.Series([direction])
    ).iloc[0]
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def kpi_table(rows: list[tuple[int, float, float]], cap: float = 1.5) -> pd.DataFrame:
    return pd.DataFrame(
        [{"manager_id": m, "weight": w, "achievement": a, "cap": cap} for m, w, a in rows]
    )


def test_score_is_weighted_capped_mean() -> None:
    # (40·min(0.8, 1.5) + 20·min(2.0, 1.5) + 40·1.0) / 100 = (32 + 30 + 40) / 100 = 1.02
    table = kpi_table([(1, 40, 0.8), (1, 20, 2.0), (1, 40, 1.0)])
    assert scores(table)[1] == pytest.approx(1.02)


def test_score_renormalises_over_kpis_with_a_plan() -> None:
    # the 50-weight KPI has no plan: (30·1.2 + 20·0.5) / 50 = (36 + 10) / 50 = 0.92
    table = kpi_table([(1, 30, 1.2), (1, 50, NAN), (1, 20, 0.5)])
    assert scores(table)[1] == pytest.approx(0.92)


def test_score_cap_per_department() -> None:
    # cap 1.2: (50·1.2 + 50·1.0) / 100 = 1.1
    assert scores(kpi_table([(1, 50, 3.0), (1, 50, 1.0)], cap=1.2))[1] == pytest.approx(1.1)


def test_no_scorable_kpi_gives_no_score() -> None:
    assert math.isnan(scores(kpi_table([(1, 50, NAN), (1, 50, NAN)]))[1])


def test_contributions_sum_to_the_score() -> None:
    table = kpi_table([(1, 40, 0.8), (1, 20, 2.0), (1, 40, NAN), (2, 10, 1.0)])
    contribution = contributions(table)
    # manager 1: Σw = 60 → 40·0.8/60 = 0.5333…, 20·1.5/60 = 0.5, no plan → empty
    assert contribution.tolist()[:2] == pytest.approx([32 / 60, 30 / 60])
    assert math.isnan(contribution.iloc[2])
    assert contribution.iloc[3] == 1.0
    assert contribution[:3].sum() == pytest.approx(scores(table)[1])


@pytest.mark.parametrize(
    ("values", "ranks"),
    [
        ([1.2, 1.0, 1.0, 0.8], [1, 2, 2, 4]),  # standard competition ranking
        ([0.9, 0.9, 0.9], [1, 1, 1]),
        ([0.5, NAN, 0.7], [2, NAN, 1]),  # no score → unranked
        ([1 / 3 * 3, 1.0], [1, 1]),  # float noise does not break a tie
    ],
)
def test_competition_rank(values, ranks) -> None:
    got = competition_rank(pd.Series(values), pd.Series(["sales"] * len(values))).tolist()
    assert [None if math.isnan(g) else g for g in got] == [
        None if math.isnan(r) else r for r in ranks
    ]


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
        (0.7, 0.7),  # exactly at the gate
        (0.85, 0.85),
        (1.0, 1.0),
        (1.2, 1.3),  # 1 + 1.5·0.2
        (1.4, 1.5),  # 1 + 1.5·0.4 = 1.6 → cap 1.5
        (NAN, 0.0),
    ],
)
def test_multiplier(score, expected) -> None:
    assert multiplier(score, BONUS) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("score", "rank", "base", "expected"),
    [
        (0.85, 2, 50000, (47500.0, 5000.0)),  # 50 000·0.85 + 5 000
        (0.69, 1, 50000, (0.0, 0.0)),  # below gate: no bonus, no prize even for rank 1
        (1.2, 1, 50000, (75000.0, 10000.0)),  # 50 000·1.3 + 10 000
        (1.0, 4, 50000, (50000.0, 0.0)),  # no prize for rank 4
        (0.9, 3, 40000, (39000.0, 3000.0)),  # per-manager base 40 000·0.9 + 3 000
        (0.77777, NAN, 50000, (38889.0, 0.0)),  # 38 888.5 rounds half up, once, at the end
        (NAN, NAN, 50000, (0.0, 0.0)),
    ],
)
def test_bonus(score, rank, base, expected) -> None:
    assert bonus_amount(score, rank, base, BONUS) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("won", "n", "low", "high"),
    [
        (5, 10, 0.2366, 0.7634),  # textbook Wilson interval for 5/10
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (0, 0, NAN, NAN),
    ],
)
def test_wilson_interval(won, n, low, high) -> None:
    lo, hi = wilson(pd.Series([won]), pd.Series([n]))
    if math.isnan(low):
        assert np.isnan(lo.iloc[0]) and np.isnan(hi.iloc[0])
    else:
        assert (lo.iloc[0], hi.iloc[0]) == pytest.approx((low, high), abs=1e-4)

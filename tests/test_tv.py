"""The office screen's tab (SPEC §13) on the month-close world of tests/test_close.py."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from sheets_kpi.closing import assemble
from sheets_kpi.config import TvConfig
from sheets_kpi.kpi.engine import compute
from sheets_kpi.tabs.tv import achievements, progress, tv_tab
from tests.test_close import CFG, moscow, world

NOW = moscow("2026-12-01 15:00")


def tab(cfg=CFG, now: datetime = NOW):
    results = compute(world(), cfg, pd.Timestamp(now))
    return tv_tab(results, assemble(cfg, results, now), cfg.departments[0], cfg, now)


def test_the_tv_tab_fits_a_screen_and_shows_no_money_by_default() -> None:
    layout = tab()
    assert layout.title == "ТВ — team"
    assert layout.rows[0][0] == "team · 2026-12" and layout.rows[1][0] == "данные на 15:00"
    header = layout.rows[3]
    assert header == ["Место", "Изменение", "Менеджер", "Балл", "sales_rub"]
    assert all(len(row) <= 8 for row in layout.rows)
    assert "Бонус" not in header
    # December: nothing won yet against the carried 100 000 plan
    assert [row[2] for row in layout.rows[4:6]] == ["Анна", "Борис"]
    assert layout.rows[4][4] == "░░░░░░░░░░ 0 %"
    assert layout.rows[6][2] == "Среднее по отделу"
    winners = layout.rows[layout.rows.index(["Победители 2026-11"]) + 1 :]
    assert [(row[0], row[2]) for row in winners] == [(1, "Анна"), (2, "Борис")]
    assert {b.font_size for b in layout.formats} >= {16, 22}


def test_money_and_the_top_n_are_options() -> None:
    cfg = CFG.model_copy(update={"tv": TvConfig(show_money=True, top=1)})
    layout = tab(cfg, moscow("2026-11-30 20:00"))
    header = layout.rows[3]
    assert header[-1] == "Бонус"
    body = layout.rows[4:]
    assert body[0][2] == "Анна" and body[0][-1] == 13000  # 10 000 × 1.0 + 3 000
    assert body[1][2] == "Среднее по отделу"  # Борис is below the top 1


def test_the_time_alone_does_not_count_as_a_change() -> None:
    assert tab().digest() == tab(now=NOW.replace(minute=15)).digest()


@pytest.mark.parametrize(
    ("achievement", "bar"),
    [
        (None, ""),
        (0.0, "░░░░░░░░░░ 0 %"),
        (0.62, "██████░░░░ 62 %"),
        (1.0, "██████████ 100 %"),
        (1.8, "██████████ 180 %"),
    ],
)
def test_progress_bar(achievement, bar) -> None:
    assert progress(achievement) == bar


@pytest.mark.parametrize(
    "achievement",
    [
        [0.5, None, 1.2, None, 0.7, 0.9],  # manager 2's first known value is the later row
        [None] * 6,  # nothing known: no rows, no columns
    ],
)
def test_achievements_are_what_a_first_value_pivot_gives(achievement: list) -> None:
    kpis = pd.DataFrame(
        {
            "manager_id": [1, 2, 1, 2, 2, 3],
            "kpi": ["a", "a", "b", "a", "b", "b"],
            "achievement": pd.Series(achievement, dtype=float),
        }
    )
    for frame in (kpis, kpis.iloc[:0]):
        pivot = frame.pivot_table(
            index="manager_id", columns="kpi", values="achievement", aggfunc="first"
        )
        pd.testing.assert_frame_equal(achievements(frame), pivot, check_exact=True)

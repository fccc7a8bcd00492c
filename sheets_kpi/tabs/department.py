"""A department's summary, ranking and weekly dynamics tabs (SPEC §8.2), for supervisors and
the office panel."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import pandas as pd

from sheets_kpi.config import Config, DepartmentConfig, KpiConfig
from sheets_kpi.kpi.engine import Results
from sheets_kpi.locale import label
from sheets_kpi.sheets.layout import LineChart, TabLayout
from sheets_kpi.tabs.columns import (
    PATTERNS,
    PERCENT,
    RUB,
    SCORE,
    Column,
    Grid,
    Table,
    cell_value,
    with_money,
)


def summary_tab(results: Results, dept: DepartmentConfig, config: Config) -> TabLayout:
    """A row per manager: fact, plan and achievement of each KPI, score and bonus; then the
    department's total (ratios from the summed numerators and denominators)."""
    loc = config.locale
    kpis = results.kpi[results.kpi["department"] == dept.id]
    columns = [Column(label(loc, "manager"))]
    for kpi in dept.kpis:
        pattern = PATTERNS[kpi.unit]
        columns += [
            Column(f"{kpi.title_in(loc)}: {label(loc, 'fact')}", pattern),
            Column(label(loc, "plan"), pattern),
            Column("%", PERCENT, achievement=True),
        ]
    columns += [Column(label(loc, "score"), SCORE), Column(label(loc, "bonus"), RUB)]
    managers = results.managers[results.managers["department"] == dept.id]
    # fact, plan and % of each (manager, KPI), read in one pass rather than a lookup per cell
    cells = {
        (manager_id, kpi): (cell_value(fact), cell_value(plan), cell_value(achieved))
        for manager_id, kpi, fact, plan, achieved in zip(
            kpis["manager_id"],
            kpis["kpi"],
            kpis["fact"],
            kpis["plan"],
            kpis["achievement"],
            strict=True,
        )
    }
    rows = []
    for manager in managers.itertuples():
        row: list[Any] = [manager.manager]
        for kpi in dept.kpis:
            row += cells.get((manager.manager_id, kpi.id), (None, None, None))
        rows.append([*row, cell_value(manager.score), cell_value(manager.bonus)])
    total: list[Any] = [label(loc, "total")]
    for kpi in dept.kpis:
        part = kpis[kpis["kpi"] == kpi.id]
        ratio = part["den"].notna().any()
        fact = (
            part["num"].sum() / part["den"].sum()
            if ratio and part["den"].sum() > 0
            else (None if ratio else part["num"].sum())
        )
        plan = None if ratio or kpi.unit == "share" else part["plan"].sum(min_count=1)
        total += [cell_value(fact), cell_value(plan), None]
    total += [None, cell_value(managers["bonus"].sum())]
    grid = Grid()
    grid.table(with_money(Table(columns, rows, total=total), config.privacy.money_in_shared_tabs))
    return grid.layout(
        label(loc, "tab.summary", department=dept.title_in(loc)), gate=dept.bonus.gate
    )


def ranking_tab(results: Results, dept: DepartmentConfig, config: Config) -> TabLayout:
    """With `tv.top` only the top N are listed: nobody's rank below it is on a shared board."""
    loc = config.locale
    managers = on_board(results.managers[results.managers["department"] == dept.id], config)
    grid = Grid()
    table = with_money(
        Table(
            [
                Column(label(loc, "rank"), "0"),
                Column(label(loc, "change"), "0"),
                Column(label(loc, "manager")),
                Column(label(loc, "score"), SCORE),
                Column(label(loc, "top_kpi")),
                Column(label(loc, "prize"), RUB),
            ],
            [
                [
                    cell_value(m.rank),
                    cell_value(m.rank_change),
                    m.manager,
                    cell_value(m.score),
                    cell_value(m.top_kpi),
                    cell_value(m.prize),
                ]
                for m in managers.itertuples()
            ],
        ),
        config.privacy.money_in_shared_tabs,
    )
    grid.table(table)
    return grid.layout(label(loc, "tab.ranking", department=dept.title_in(loc)))


def dynamics_tab(results: Results, dept: DepartmentConfig, config: Config) -> TabLayout:
    """The department's weekly facts, with a line chart of up to three amount or count KPIs."""
    loc = config.locale
    weekly = results.weekly[
        (results.weekly["department"] == dept.id) & results.weekly["manager_id"].isna()
    ]
    money = config.privacy.money_in_shared_tabs
    kpis = [k for k in dept.kpis if money or k.unit != "rub"]
    ids = [k.id for k in kpis]
    titles = {k.id: k.title_in(loc) for k in kpis}
    grid = Grid()
    units = {k.id: k.unit for k in kpis}
    facts = zip(weekly["week_start"], weekly["kpi"], weekly["fact"], strict=True)
    grid.table(week_table(facts, ids, titles, units, loc, results.period.today))
    title = label(loc, "tab.dynamics", department=dept.title_in(loc))
    end = len(grid.rows)
    counts = tuple(1 + i for i, k in enumerate(kpis) if k.unit in ("count", "rub"))[:3]
    series = counts or (1,)
    chart = (
        LineChart(title, 0, series, 0, end, 0, len(kpis) + 2, secondary(series, kpis))
        if end > 1 and kpis
        else None
    )
    return grid.layout(title, chart=chart)


def on_board(managers: pd.DataFrame, config: Config) -> pd.DataFrame:
    """A department's managers as a shared board lists them: everyone, or with `tv.top` those
    ranked N or better (a tie at N stays; the unranked and everyone below are not listed)."""
    return managers[managers["rank"] <= config.tv.top] if config.tv.top else managers


def secondary(series: tuple[int, ...], kpis: list[KpiConfig]) -> tuple[int, ...]:
    """The series drawn on the right axis: the non-rouble ones, when roubles are drawn too
    (a count of 12 on a scale of 1 200 000 ₽ is a flat line at 0)."""
    units = {1 + i: k.unit for i, k in enumerate(kpis)}
    if not any(units[col] == "rub" for col in series):
        return ()
    return tuple(col for col in series if units[col] != "rub")


def week_table(
    weekly: Iterable[tuple[pd.Timestamp, str, float]],
    kpis: list[str],
    titles: dict[str, str],
    units: dict[str, str],
    loc: str,
    today: pd.Timestamp,
) -> Table:
    """A row per ISO week (its Monday), a column per KPI, from the (week_start, kpi, fact) rows
    of `weekly`; the week holding `today` (a local date), not over yet, is marked
    "2026-11-16 (идёт)"."""
    facts: dict[pd.Timestamp, dict[str, float]] = {}  # week → KPI → its first known fact
    for week, kpi, fact in weekly:
        if not pd.isna(fact):
            facts.setdefault(week, {}).setdefault(kpi, fact)
    return Table(
        [Column(label(loc, "week")), *[Column(titles[k], PATTERNS[units[k]]) for k in kpis]],
        [
            [week_label(week, today, loc), *[cell_value(facts[week].get(k)) for k in kpis]]
            for week in sorted(facts)
        ],
    )


@lru_cache(maxsize=1024)
def week_label(week: pd.Timestamp, today: pd.Timestamp, loc: str) -> str:
    """The week's Monday; with the in-progress mark while `today` is in it (Sunday included).
    Cached: every manager's tab labels the same weeks."""
    shown = week.strftime("%Y-%m-%d")
    if week <= today.normalize() < week + pd.Timedelta(days=7):
        return label(loc, "week_in_progress", week=shown)
    return shown

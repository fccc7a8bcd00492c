"""`ТВ — <Отдел>` (SPEC §13): the office screen's tab — at most 8 columns in large type for a
1920×1080 screen, the period and the time of the data, the leaderboard with a progress bar per
headline KPI, the department average, last period's winners; money only with `tv.show_money`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pandas as pd

from sheets_kpi.config import Config, DepartmentConfig
from sheets_kpi.kpi.close import Closing
from sheets_kpi.kpi.engine import Results
from sheets_kpi.locale import label
from sheets_kpi.sheets.layout import Block, TabLayout
from sheets_kpi.tabs.columns import RUB, SCORE, Column, Grid, Table, cell_value
from sheets_kpi.tabs.department import on_board

MAX_COLUMNS = 8
#: Characters of a progress bar; a full bar is 100 % of the plan.
BAR = 10
TITLE_SIZE, BODY_SIZE = 22, 16
WINNERS = 3


def shows_money(config: Config) -> bool:
    """The office screen shows roubles only when both `tv.show_money` and the shared tabs'
    privacy allow it."""
    return config.tv.show_money and config.privacy.money_in_shared_tabs


def winners_shown(config: Config) -> int:
    """Last period's podium, never longer than the `tv.top` a board lists."""
    return min(WINNERS, config.tv.top or WINNERS)


def tv_tab(
    results: Results, closing: Closing, dept: DepartmentConfig, config: Config, now: datetime
) -> TabLayout:
    loc = config.locale
    money = shows_money(config)
    headline = sorted(dept.kpis, key=lambda k: -k.weight)[: MAX_COLUMNS - 4 - money]
    everyone = results.managers[results.managers["department"] == dept.id]
    managers = on_board(everyone, config)
    kpis = results.kpi[results.kpi["department"] == dept.id]
    grid = Grid()
    as_of = now.astimezone(config.zone).strftime("%H:%M")
    grid.add(
        [f"{dept.title_in(loc)} · {results.period.label}"],
        [label(loc, "tv.as_of", time=as_of)],
    )
    columns = [
        Column(label(loc, "rank")),
        Column(label(loc, "change")),
        Column(label(loc, "manager")),
        Column(label(loc, "score"), SCORE),
        *[Column(kpi.title_in(loc)) for kpi in headline],
        *([Column(label(loc, "bonus"), RUB)] if money else []),
    ]
    achieved = achievements(kpis)
    by_manager = achieved.to_dict("index")  # a dictionary per manager: no row lookups
    rows = []
    for m in managers.itertuples():
        mine = by_manager.get(m.manager_id, {})
        rows.append(
            [
                cell_value(m.rank),
                _change(m.rank_change),
                m.manager,
                cell_value(m.score),
                *[progress(mine.get(kpi.id)) for kpi in headline],
                *([cell_value(m.bonus)] if money else []),
            ]
        )
    # The department's average is everyone's, also when only the top N are listed.
    mean = achieved.reindex(everyone["manager_id"]).mean()
    total = [
        "",
        "",
        label(loc, "tv.average"),
        cell_value(everyone["score"].mean()),
        *[progress(mean.get(kpi.id)) for kpi in headline],
        *([cell_value(everyone["bonus"].mean())] if money else []),
    ]
    grid.add([])
    grid.table(Table(columns, rows, total=total, bold_header=True))
    last = closing.last.rows
    shown = winners_shown(config)
    winners = last[(last["department"] == dept.id) & (last["rank"] <= shown)]
    grid.add([], [label(loc, "tv.winners", period=closing.last.period.label)])
    for w in winners.sort_values(["rank", "manager"]).itertuples():
        grid.add([cell_value(w.rank), "", w.manager, cell_value(w.score)])
        grid.formats.append(Block(len(grid.rows) - 1, 3, len(grid.rows), 4, SCORE))
    # Large type everywhere: the body size first, then bold blocks carrying it along (a
    # block's text format replaces the one before it), then the title.
    body = Block(1, 0, len(grid.rows), MAX_COLUMNS, font_size=BODY_SIZE)
    sized = [replace(b, font_size=BODY_SIZE) if b.bold else b for b in grid.formats]
    title_block = Block(0, 0, 1, MAX_COLUMNS, bold=True, font_size=TITLE_SIZE)
    grid.formats = [body, *sized, title_block]
    title = label(loc, "tab.tv", department=dept.title_in(loc))
    # The time alone moving is no reason to rewrite the tab: it says when the numbers last moved.
    return grid.layout(title, frozen_rows=0, widths=_widths(len(columns)), volatile_cells=((1, 0),))


def achievements(kpis: pd.DataFrame) -> pd.DataFrame:
    """Each manager's (rows) known achievement per KPI (columns): the frame `pivot_table` with
    `aggfunc="first"` gives, at a fraction of its cost (the TV tab and page ask per department)."""
    return kpis.groupby(["manager_id", "kpi"])["achievement"].first().dropna().unstack("kpi")


def progress(achievement: Any) -> str:
    """'██████░░░░ 62 %': a bar of block characters, full at 100 % of the plan (text, so it
    stays RAW); empty without a plan."""
    if achievement is None or pd.isna(achievement):
        return ""
    filled = min(BAR, max(0, round(float(achievement) * BAR)))
    return "█" * filled + "░" * (BAR - filled) + f" {float(achievement) * 100:.0f} %"


def _change(change: Any) -> str:
    if change is None or pd.isna(change) or change == 0:
        return "—" if change == 0 else ""
    return f"▲{int(change)}" if change > 0 else f"▼{-int(change)}"


def _widths(count: int) -> dict[int, int]:
    """Wide enough for large type on a 1920 px screen: the name and the bars get the room."""
    widths = {0: 90, 1: 90, 2: 340, 3: 130}
    return widths | {col: 270 for col in range(4, count)}

"""The analytics tabs (SPEC §8.3): the seniority × new/repeat win-rate matrix and retention."""

from __future__ import annotations

from typing import Any

from sheets_kpi.config import Config
from sheets_kpi.kpi.engine import Results
from sheets_kpi.locale import label
from sheets_kpi.sheets.layout import TabLayout
from sheets_kpi.tabs.columns import DAYS, RUB, SHARE, Column, Grid, Table, cell_value, with_money

#: The matrix cell's figures after its seniority and client type, with their patterns.
MATRIX_FIGURES = {
    "won": "",
    "lost": "",
    "n": "",
    "win_rate": SHARE,
    "ci_low": SHARE,
    "ci_high": SHARE,
    "mean_won_price": RUB,
    "median_cycle_days": DAYS,
}


def matrix_tab(results: Results, config: Config) -> TabLayout:
    """The department-wide matrix, a line saying whose deals it counts, then the same cells per
    manager."""
    loc = config.locale
    figures = [Column(label(loc, key), pattern) for key, pattern in MATRIX_FIGURES.items()]
    kinds = [Column(label(loc, "seniority")), Column(label(loc, "client_type"))]
    money = config.privacy.money_in_shared_tabs
    grid = Grid()
    grid.table(
        with_money(
            Table([*kinds, *figures], [_cell(cell, loc) for cell in results.matrix.itertuples()]),
            money,
        )
    )
    grid.add([label(loc, "sellers_note", departments=_sellers(config))], [])
    grid.table(
        with_money(
            Table(
                [Column(label(loc, "manager")), *kinds, *figures],
                [
                    [cell.manager, *_cell(cell, loc)]
                    for cell in results.matrix_by_manager.itertuples()
                ],
                bold_header=True,
            ),
            money,
        )
    )
    return grid.layout(label(loc, "tab.matrix"))


def _cell(cell: Any, loc: str) -> list[Any]:
    seniority = (
        label(loc, cell.seniority) if cell.seniority in ("junior", "senior") else cell.seniority
    )
    return [
        seniority,
        label(loc, cell.client_type),
        *[cell_value(getattr(cell, key)) for key in MATRIX_FIGURES],
    ]


def clients_tab(results: Results, config: Config) -> TabLayout:
    """Retention for the whole agency, then per manager; a line under it says whose sales it
    counts, as the matrix does."""
    loc = config.locale
    names = results.managers.set_index("manager_id")["manager"]
    grid = Grid()
    grid.table(
        Table(
            [
                Column(label(loc, "scope")),
                Column(label(loc, "clients")),
                Column(label(loc, "once_share"), SHARE),
                Column(label(loc, "repeat_share"), SHARE),
                Column(label(loc, "median_days_between"), DAYS),
            ],
            [
                [
                    label(loc, "all")
                    if item.scope == "all"
                    else names.get(int(item.scope), item.scope),
                    item.clients,
                    cell_value(item.once_share),
                    cell_value(item.repeat_share),
                    cell_value(item.median_days_between),
                ]
                for item in results.retention.itertuples()
            ],
        )
    )
    grid.add([], [label(loc, "sellers_note", departments=_sellers(config))])
    return grid.layout(label(loc, "tab.clients"))


def _sellers(config: Config) -> str:
    return ", ".join(
        config.department(d).title_in(config.locale) for d in config.seller_departments
    )

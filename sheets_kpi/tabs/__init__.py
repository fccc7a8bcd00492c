"""Engine results → the output tabs of SPEC §8 as declarative layouts, in the configured locale.

One module per group of tabs: `manager` (§8.1), `department` (§8.2), `analytics` (§8.3), `data`
(§8.4), `run` (§8.5); `columns` declares tables by column so formats follow from positions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.close import Closing
from sheets_kpi.kpi.engine import Results
from sheets_kpi.sheets import parse
from sheets_kpi.sheets.input_tabs import TABS
from sheets_kpi.sheets.layout import TabLayout
from sheets_kpi.tabs.analytics import clients_tab, matrix_tab
from sheets_kpi.tabs.data import data_bonus_tab, data_daily_tab, data_kpi_tab, data_managers_tab
from sheets_kpi.tabs.department import dynamics_tab, ranking_tab, summary_tab
from sheets_kpi.tabs.manager import KeptTabs, ManagerRows, tab_of
from sheets_kpi.tabs.run import ISSUE_KEYS, issues_tab, log_tab
from sheets_kpi.tabs.statement import discrepancies_tab, statement_tab
from sheets_kpi.tabs.tv import tv_tab

MAX_TITLE = 100  # Sheets' limit for a tab title


@dataclass
class Output:
    """Layouts for the main spreadsheet, for managers' personal spreadsheets and for the data
    spreadsheet (`google.data_spreadsheet`)."""

    main: list[TabLayout]
    personal: dict[str, list[TabLayout]]
    data: dict[str, list[TabLayout]] = field(default_factory=dict)

    def elsewhere(self) -> dict[str, list[TabLayout]]:
        """Every other spreadsheet's tabs by id, written the way personal spreadsheets are (one
        metadata read and one batch each); the data spreadsheet first."""
        out = {key: list(layouts) for key, layouts in self.data.items()}
        for key, layouts in self.personal.items():
            out.setdefault(key, []).extend(layouts)
        return out

    def replace(self, layout: TabLayout) -> None:
        """Put `layout` where the main spreadsheet's tab of the same title is."""
        titles = [tab.title for tab in self.main]
        self.main[titles.index(layout.title)] = layout


def build_layouts(
    results: Results,
    config: Config,
    roster: pd.DataFrame,
    closing: Closing,
    now: datetime,
    kept: KeptTabs | None = None,
) -> Output:
    """Every output tab; the data-issues tab is empty until the cycle knows all the issues,
    those of tabs it may not write included (`Output.replace`). `kept` (`serve`'s) hands out a
    manager tab of the last cycle again when its view is the same."""
    loc = config.locale
    shared: list[TabLayout] = [
        statement_tab(closing.last, config),
        discrepancies_tab(closing, config),
    ]
    for dept in config.departments:
        shared += [
            summary_tab(results, dept, config),
            ranking_tab(results, dept, config),
            dynamics_tab(results, dept, config),
            tv_tab(results, closing, dept, config, now),
        ]
    data_tabs = [
        data_kpi_tab(closing, config),
        data_bonus_tab(closing, config),
        data_daily_tab(results, roster),
        data_managers_tab(roster),
    ]
    data_id = config.google.data_spreadsheet
    data = {data_id: data_tabs} if data_id and data_id != config.google.spreadsheet_id else {}
    shared += [
        matrix_tab(results, config),
        clients_tab(results, config),
        *([] if data else data_tabs),
        issues_tab(pd.DataFrame(columns=list(ISSUE_KEYS)), loc),
        log_tab(loc),
    ]
    # A manager called "Журнал" or "Планы" must not take another tab's title.
    reserved = {layout.title for layout in shared} | {t for tab in TABS for t in (tab.ru, tab.en)}
    titles = manager_titles(results.managers, reserved)
    main: list[TabLayout] = []
    personal: dict[str, list[TabLayout]] = {}
    sheets_by_manager = roster.set_index("manager_id")["personal_spreadsheet"].to_dict()
    rows = ManagerRows(results, closing)
    targets: list[str | None] = []
    managers = []
    for manager in results.managers.itertuples():
        target = _personal(sheets_by_manager.get(manager.manager_id))
        own = bool(target) and target not in (config.google.spreadsheet_id, data_id)
        targets.append(target if own else None)  # None: a shared one typed in by mistake too
        managers.append((manager, titles[manager.manager_id], own))
    if kept is None:
        layouts = [tab_of(rows.view(*manager), config) for manager in managers]
    else:
        layouts = kept.tabs(managers, rows, config)
    for target, layout in zip(targets, layouts, strict=True):
        if target:
            personal.setdefault(target, []).append(layout)
        else:
            main.append(layout)
    main += shared
    return Output(main, personal, data)


def _personal(cell: object) -> str:
    """The roster's spreadsheet id (the reader checked it); anything else keeps the main one."""
    try:
        return parse.spreadsheet_id(cell) if cell else ""
    except parse.ParseError:
        return ""


def manager_titles(managers: pd.DataFrame, reserved: Iterable[str] = ()) -> dict[int, str]:
    """Tab titles must be unique ignoring case and at most 100 characters: a name shared (in
    any case, also with a `reserved` title) gets the amoCRM id, kept whole when a long name is
    shortened."""
    folded = managers["manager"].str[:MAX_TITLE].str.casefold()
    counts = folded.value_counts()
    taken = {title.casefold() for title in reserved}
    titles = {}
    for row, key in zip(managers.itertuples(), folded, strict=True):
        suffix = f" ({row.manager_id})" if counts[key] > 1 or key in taken else ""
        titles[row.manager_id] = row.manager[: MAX_TITLE - len(suffix)] + suffix
    return titles


__all__ = ["Output", "build_layouts", "manager_titles"]

"""What the run could not use and what it did: `Проблемы данных` and `Журнал` (SPEC §8.5)."""

from __future__ import annotations

import pandas as pd

from sheets_kpi.kpi.issues import ISSUE_COLUMNS, shown_message
from sheets_kpi.locale import Locale, label
from sheets_kpi.sheets.input_tabs import TABS
from sheets_kpi.sheets.layout import TabLayout
from sheets_kpi.tabs.columns import cell_value

ISSUE_KEYS = (*ISSUE_COLUMNS, "first_seen")
LOG_KEYS = (
    "started",
    "duration",
    "amocrm_requests",
    "entities",
    "sheets_requests",
    "rows_written",
    "status",
    "error",
)


#: An issue's source that names an input tab by its key (`roster`), shown as the tab's title.
_TAB_TITLES = {spec.key: spec for spec in TABS}


def shown_source(source: object, loc: Locale) -> object:
    spec = _TAB_TITLES.get(source) if isinstance(source, str) else None
    return spec.title(loc) if spec else source


def issues_tab(issues: pd.DataFrame, loc: Locale) -> TabLayout:
    shown = {"message": shown_message, "source": lambda row, loc: shown_source(row.source, loc)}
    rows = [[label(loc, key) for key in ISSUE_KEYS]]
    rows += [
        [
            cell_value(shown[key](row, loc) if key in shown else getattr(row, key))
            for key in ISSUE_KEYS
        ]
        for row in issues.itertuples(index=False)
    ]
    return TabLayout(label(loc, "tab.issues"), rows)


def log_tab(loc: str) -> TabLayout:
    """Only the header: the cycle appends a row per run."""
    return TabLayout(
        label(loc, "tab.log"), [[label(loc, key) for key in LOG_KEYS]], append_only=True
    )

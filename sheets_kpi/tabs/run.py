"""What the run could not use and what it did: `Проблемы данных` and `Журнал` (SPEC §8.5)."""

from __future__ import annotations

import pandas as pd

from sheets_kpi.kpi.issues import ISSUE_COLUMNS, shown_message
from sheets_kpi.locale import Locale, label
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


def issues_tab(issues: pd.DataFrame, loc: Locale) -> TabLayout:
    rows = [[label(loc, key) for key in ISSUE_KEYS]]
    rows += [
        [
            cell_value(shown_message(row, loc) if key == "message" else getattr(row, key))
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

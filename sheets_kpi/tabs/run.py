"""What the run could not use and what it did: `Проблемы данных` and `Журнал` (SPEC §8.5)."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from sheets_kpi.kpi.issues import ISSUE_COLUMNS, shown_message
from sheets_kpi.locale import LABELS, Locale, label
from sheets_kpi.sheets import parse
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


#: What each value in a place may hold, so that `row 5, column plan` is not read as `row {row}`.
_VALUES = {"row": r"\d+", "user": r"\d+", "letter": r"[A-Z]+", "column": r"\w+", "period": r"\S+"}


def _pattern(text: str) -> re.Pattern[str]:
    """`row {row}` → a pattern with a named group per value."""
    parts = re.split(r"\{(\w+)\}", text)  # literal, name, literal, …
    return re.compile(
        "".join(
            f"(?P<{part}>{_VALUES[part]})" if index % 2 else re.escape(part)
            for index, part in enumerate(parts)
        )
    )


_PLACES = {key: _pattern(text) for key, text in LABELS["en"].items() if key.startswith("where.")}


def shown_where(row: Any, loc: Locale) -> object:
    """An issue's place in `loc`: its English text (`kpi.issues.place`, the key of
    `first_seen`) read back into its values, a column key as the header the source tab shows;
    a place made otherwise (a config path, `2026-11 / sales / calls`) as it is."""
    where = row.where
    if loc == "en" or not isinstance(where, str):
        return where
    for key, pattern in _PLACES.items():
        found = pattern.fullmatch(where)
        if found:
            values = found.groupdict()
            if "column" in values:
                values["column"] = _header(row.source, values["column"])
            return label(loc, key, **values)
    return where


def _header(source: object, column: str) -> str:
    """The header of column `column` in the input tab `source` names (its key or its title)."""
    name = parse.normalise(source)
    for spec in TABS:
        if name in {parse.normalise(n) for n in (spec.key, spec.ru, spec.en)}:
            return spec.header(column, str(source))
    return column


def issues_tab(issues: pd.DataFrame, loc: Locale) -> TabLayout:
    shown = {
        "message": shown_message,
        "source": lambda row, loc: shown_source(row.source, loc),
        "where": shown_where,
    }
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

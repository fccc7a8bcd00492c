"""The tidy `data_*` tabs for Power BI (SPEC §8.4): fixed English columns whatever the locale,
one header row, no merges, no formats but date cells."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.close import STATEMENT_COLUMNS, Closing
from sheets_kpi.kpi.engine import KPI_COLUMNS, Results
from sheets_kpi.sheets.layout import Block, TabLayout
from sheets_kpi.tabs.columns import cell_value, serial

#: The data tabs do not change with the locale (SPEC §11): KPI titles are the configured ones.
DATA_LOCALE = "ru"
#: SPEC §8.4's stable column order: the engine's KPI table up to the bonus, the timestamp, and
#: where the row stands (SPEC §12: current / draft / approved, the approved version).
DATA_KPI = [*KPI_COLUMNS[: KPI_COLUMNS.index("bonus") + 1], "computed_at", "status", "version"]
#: What each statement pays (SPEC §12): its lines without the carry bookkeeping, and the status.
DATA_BONUS = [
    *(c for c in STATEMENT_COLUMNS if c not in ("earned", "carried")),
    "status",
    "approved_at",
]
#: Date cells (serial numbers with a date format), so Power BI types the columns as dates.
DATE = "yyyy-mm-dd"
DATE_TIME = "yyyy-mm-dd hh:mm:ss"
DATA_DAILY = ["date", "manager_id", "manager", "department", "metric", "num", "den", "value"]
DATA_MANAGERS = [
    "manager_id",
    "name",
    "department",
    "seniority",
    "email",
    "personal_spreadsheet",
    "active",
    "bonus_base",
]


def data_kpi_tab(closing: Closing, config: Config) -> TabLayout:
    """Every period shown: approved ones from their snapshot, the last draft, the current one.
    `kpi_title` is the configured `title` whatever the locale: a BI report must not change
    when someone switches the sheet labels to English."""
    titles = {(d.id, k.id): k.title_in(DATA_LOCALE) for d in config.departments for k in d.kpis}
    kpi = closing.kpi
    frame = kpi.assign(
        kpi_title=[
            titles.get(key, title)
            for key, title in zip(
                zip(kpi["department"], kpi["kpi"], strict=True), kpi["kpi_title"], strict=True
            )
        ],
        computed_at=kpi["computed_at"].dt.tz_convert("UTC").dt.tz_localize(None),
    )
    return _tidy(
        "data_kpi",
        frame,
        DATA_KPI,
        dates={"period_start": DATE, "period_end": DATE, "computed_at": DATE_TIME},
        volatile=["computed_at"],  # only the open periods' stamps move, every cycle
    )


def data_bonus_tab(closing: Closing, config: Config) -> TabLayout:
    """A row per manager and period shown: what the statement pays and its status."""
    rows = closing.bonus_history()
    frame = rows.assign(
        status=np.where(rows["department_status"] == "approved", "approved", "draft"),
        approved_at=rows["approved_utc"],  # UTC, as computed_at in data_kpi
    )
    frame.loc[frame["period"] == closing.current.period.label, "status"] = "current"
    return _tidy("data_bonus", frame, DATA_BONUS, dates={"approved_at": DATE_TIME})


def data_daily_tab(results: Results, roster: pd.DataFrame) -> TabLayout:
    """The current and previous month (Sheets is not a warehouse; the store keeps it all)."""
    start = results.period.previous_same_point().start
    daily = results.daily[results.daily["date"] >= start]
    people = roster.set_index("manager_id")
    frame = daily.assign(
        manager=daily["manager_id"].map(people["name"]),
        department=daily["manager_id"].map(people["department"]),
        value=np.where(
            daily["den"].notna(), daily["num"] / daily["den"].where(daily["den"] > 0), daily["num"]
        ),
    )
    frame = frame[frame["manager"].notna()]
    return _tidy("data_daily", frame, DATA_DAILY, dates={"date": DATE})


def data_managers_tab(roster: pd.DataFrame) -> TabLayout:
    return _tidy("data_managers", roster, DATA_MANAGERS)


def _cells(values: pd.Series, convert: Callable[[Any], Any]) -> np.ndarray:
    """A column's cells, each distinct value converted once (a data tab repeats its dates,
    names and metrics on every row); missing values are empty cells."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    converted = np.empty(len(distinct) + 1, dtype=object)  # the last one, None, for code -1
    for at, value in enumerate(distinct):
        converted[at] = convert(value)
    return converted[codes]


def _tidy(
    title: str,
    frame: pd.DataFrame,
    columns: list[str],
    dates: dict[str, str] | None = None,
    volatile: Iterable[str] = (),
) -> TabLayout:
    """One header row and a row per record; `dates` columns become date cells with their
    pattern; `volatile` columns (timestamps) do not count as a change."""
    dates = dates or {}
    # Filled column by column and listed at once: data_daily has a row per manager, metric
    # and day, and a Python list per row built cell by cell costs more than the values.
    table = np.empty((len(frame), len(columns)), dtype=object)
    for at, name in enumerate(columns):
        table[:, at] = _cells(frame[name], serial if name in dates else cell_value)
    rows = [columns, *table.tolist()]
    formats = [
        Block(1, columns.index(name), max(len(rows), 2), columns.index(name) + 1, pattern)
        for name, pattern in dates.items()
    ]
    return TabLayout(
        title, rows, formats=formats, volatile_columns=tuple(columns.index(c) for c in volatile)
    )

"""The tidy `data_*` tabs for Power BI (SPEC §8.4): fixed English columns whatever the locale,
one header row, no merges or formats."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.engine import KPI_COLUMNS, Results
from sheets_kpi.sheets.layout import TabLayout
from sheets_kpi.tabs.columns import cell_value

#: The data tabs do not change with the locale (SPEC §11): KPI titles are the configured ones.
DATA_LOCALE = "ru"
#: SPEC §8.4's stable column order: the engine's KPI table up to the bonus, then the timestamp.
DATA_KPI = [*KPI_COLUMNS[: KPI_COLUMNS.index("bonus") + 1], "computed_at"]
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


def data_kpi_tab(results: Results, config: Config, now: datetime) -> TabLayout:
    """`kpi_title` is the configured `title` whatever the locale: a BI report must not change
    when someone switches the sheet labels to English."""
    titles = {(d.id, k.id): k.title_in(DATA_LOCALE) for d in config.departments for k in d.kpis}
    kpi = results.kpi
    frame = kpi.assign(
        kpi_title=[titles[key] for key in zip(kpi["department"], kpi["kpi"], strict=True)],
        computed_at=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return _tidy("data_kpi", frame, DATA_KPI, volatile=["computed_at"])


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
    return _tidy("data_daily", frame, DATA_DAILY)


def data_managers_tab(roster: pd.DataFrame) -> TabLayout:
    return _tidy("data_managers", roster, DATA_MANAGERS)


def _tidy(
    title: str, frame: pd.DataFrame, columns: list[str], volatile: Iterable[str] = ()
) -> TabLayout:
    rows = [columns] + [
        [cell_value(v) for v in row] for row in frame[columns].itertuples(index=False)
    ]
    return TabLayout(title, rows, volatile_columns=tuple(columns.index(c) for c in volatile))

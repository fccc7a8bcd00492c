"""Engine results → the output tabs of SPEC §8 as declarative layouts, in the configured locale."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from sheets_kpi.config import Config, DepartmentConfig
from sheets_kpi.kpi.engine import KPI_COLUMNS, Results
from sheets_kpi.kpi.issues import ISSUE_COLUMNS
from sheets_kpi.locale import label
from sheets_kpi.sheets.inputs import TABS
from sheets_kpi.sheets.layout import Block, LineChart, TabLayout

MAX_TITLE = 100  # Sheets' limit for a tab title
#: Three decimals, so a score just under the bonus gate (0.698 against 0.7) never reads "0.70".
SCORE_FORMAT = "0.000"
PATTERNS = {"rub": '#,##0 "₽"', "share": "0.0%", "minutes": "0.0", "score": "0.00", "count": "0"}
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


@dataclass
class Output:
    """Layouts for the main spreadsheet and for managers' personal spreadsheets."""

    main: list[TabLayout]
    personal: dict[str, list[TabLayout]]


def build_layouts(
    results: Results, issues: pd.DataFrame, config: Config, now: datetime, roster: pd.DataFrame
) -> Output:
    loc = config.locale
    shared: list[TabLayout] = []
    for dept in config.departments:
        shared += [
            summary_tab(results, dept, config),
            ranking_tab(results, dept, config),
            dynamics_tab(results, dept, config),
        ]
    shared += [
        matrix_tab(results, loc),
        clients_tab(results, loc),
        data_kpi_tab(results, config, now),
        data_daily_tab(results, roster),
        data_managers_tab(roster),
        issues_tab(issues, loc),
        log_tab(loc),
    ]
    # A manager called "Журнал" or "Планы" must not take another tab's title.
    reserved = {layout.title for layout in shared} | {t for tab in TABS for t in (tab.ru, tab.en)}
    titles = manager_titles(results.managers, reserved)
    main: list[TabLayout] = []
    personal: dict[str, list[TabLayout]] = {}
    sheets_by_manager = roster.set_index("manager_id")["personal_spreadsheet"].to_dict()
    for manager in results.managers.itertuples():
        layout = manager_tab(results, manager, titles[manager.manager_id], config)
        target = _spreadsheet_id(str(sheets_by_manager.get(manager.manager_id) or "").strip())
        if target and target != config.google.spreadsheet_id:
            personal.setdefault(target, []).append(layout)
        else:  # no personal spreadsheet, or the main one typed in by mistake
            main.append(layout)
    main += shared
    return Output(main, personal)


def _spreadsheet_id(text: str) -> str:
    return text.split("/d/")[1].split("/")[0] if "/d/" in text else text


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


def dept_title(dept: DepartmentConfig, loc: str) -> str:
    return (dept.title_en if loc == "en" else dept.title) or dept.title or dept.id


def _value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value


def needed_text(unit: str, needed: float, loc: str) -> str:
    if needed is None or np.isnan(needed):
        return ""
    if needed == 0:
        return label(loc, "done")
    shown = _human(unit, abs(needed), loc)
    return label(loc, "more" if needed > 0 else "less", value=shown)


def _human(unit: str, value: float, loc: str) -> str:
    if unit == "rub":
        return f"{value:,.0f} ₽".replace(",", " ")
    if unit == "share":
        return label(loc, "points", value=f"{value * 100:.1f}")
    if unit in ("minutes", "score"):
        return f"{value:.1f}"
    return f"{value:g}"


def manager_tab(results: Results, manager: Any, title: str, config: Config) -> TabLayout:
    loc = config.locale
    dept = config.department(manager.department)
    rank = (
        label(loc, "rank_of", rank=int(manager.rank), count=int(manager.ranked_count))
        if not pd.isna(manager.rank)
        else label(loc, "unranked")
    )
    rows: list[list[Any]] = [
        [label(loc, "manager"), manager.manager],
        [label(loc, "department"), dept_title(dept, loc)],
        [label(loc, "period"), results.period.label],
        [label(loc, "score"), _value(manager.score)],
        [label(loc, "rank"), rank],
        [label(loc, "bonus_now"), _value(manager.bonus)],
        [label(loc, "bonus_at_pace"), _value(manager.bonus_at_pace)],
        [],
    ]
    formats = [Block(3, 1, 4, 2, SCORE_FORMAT), Block(5, 1, 7, 2, PATTERNS["rub"])]
    head = len(rows)
    rows.append(
        [
            label(loc, k)
            for k in (
                "kpi",
                "plan",
                "fact",
                "achievement",
                "weight",
                "contribution",
                "still_needed",
                "forecast",
            )
        ]
    )
    kpis = results.kpi[results.kpi["manager_id"] == manager.manager_id]
    for item in kpis.itertuples():
        index = len(rows)
        rows.append(
            [
                item.kpi_title,
                _value(item.plan),
                _value(item.fact),
                _value(item.achievement),
                item.weight,
                _value(item.contribution),
                needed_text(item.unit, item.still_needed, loc),
                _value(item.forecast_fact),
            ]
        )
        pattern = PATTERNS[item.unit]
        formats += [Block(index, 1, index + 1, 3, pattern), Block(index, 7, index + 1, 8, pattern)]
    end = len(rows)
    formats += [
        Block(head, 0, head + 1, 8, bold=True),
        Block(head + 1, 3, end, 4, "0%"),
        Block(head + 1, 5, end, 6, "0.00"),
    ]
    achievement = [Block(head + 1, 3, end, 4)]
    rows += [[], [label(loc, "weeks_title")]]
    weekly = results.weekly[results.weekly["manager_id"] == manager.manager_id]
    titles = dict(zip(kpis["kpi"], kpis["kpi_title"], strict=True))
    first = len(rows) + 1  # below the week table's header
    rows += _week_table(weekly, list(titles), titles, loc)
    formats += [
        Block(first, 1 + i, len(rows), 2 + i, PATTERNS[unit]) for i, unit in enumerate(kpis["unit"])
    ]
    rows += [
        [],
        [label(loc, "violations_title")],
        [label(loc, "lead"), label(loc, "rule"), label(loc, "since"), label(loc, "link")],
    ]
    base = config.amocrm.base_url
    for v in results.open_violations[
        results.open_violations["manager_id"] == manager.manager_id
    ].itertuples():
        rows.append(
            [
                _value(v.lead_name) or str(v.lead_id),
                v.rule,
                _value(v.first_seen_at),
                f"{base}/leads/detail/{v.lead_id}",
            ]
        )
    rows += [
        [],
        [label(loc, "overdue_title")],
        [label(loc, "task"), label(loc, "deadline"), label(loc, "link")],
    ]
    overdue = results.overdue_tasks[results.overdue_tasks["manager_id"] == manager.manager_id]
    for task in overdue.head(20).itertuples():
        link = (
            f"{base}/{task.entity_type}/detail/{task.entity_id}"
            if not pd.isna(task.entity_id)
            else ""
        )
        rows.append([task.task_id, _value(task.complete_till), link])
    return TabLayout(
        title, rows, frozen_rows=1, formats=formats, achievement=achievement, gate=dept.bonus.gate
    )


def _week_table(
    weekly: pd.DataFrame, kpis: list[str], titles: dict[str, str], loc: str
) -> list[list[Any]]:
    table = weekly.pivot_table(index="week_start", columns="kpi", values="fact", aggfunc="first")
    rows: list[list[Any]] = [[label(loc, "week"), *[titles[k] for k in kpis]]]
    for week, values in table.iterrows():
        rows.append([week.strftime("%Y-%m-%d"), *[_value(values.get(k)) for k in kpis]])
    return rows


def summary_tab(results: Results, dept: DepartmentConfig, config: Config) -> TabLayout:
    loc = config.locale
    kpis = results.kpi[results.kpi["department"] == dept.id]
    order = [k.id for k in dept.kpis]
    titles = {k.id: (k.title_en if loc == "en" else k.title) or k.id for k in dept.kpis}
    header = [label(loc, "manager")]
    for kpi_id in order:
        header += [f"{titles[kpi_id]}: {label(loc, 'fact')}", label(loc, "plan"), "%"]
    header += [label(loc, "score"), label(loc, "bonus")]
    rows: list[list[Any]] = [header]
    managers = results.managers[results.managers["department"] == dept.id]
    for manager in managers.itertuples():
        mine = kpis[kpis["manager_id"] == manager.manager_id].set_index("kpi")
        row: list[Any] = [manager.manager]
        for kpi_id in order:
            item = mine.loc[kpi_id] if kpi_id in mine.index else None
            row += (
                [_value(item["fact"]), _value(item["plan"]), _value(item["achievement"])]
                if item is not None
                else [None, None, None]
            )
        rows.append([*row, _value(manager.score), _value(manager.bonus)])
    total: list[Any] = [label(loc, "total")]
    units = {k.id: k.unit for k in dept.kpis}
    for kpi_id in order:
        part = kpis[kpis["kpi"] == kpi_id]
        ratio = part["den"].notna().any()
        fact = (
            part["num"].sum() / part["den"].sum()
            if ratio and part["den"].sum() > 0
            else (None if ratio else part["num"].sum())
        )
        plan = None if ratio or units[kpi_id] in ("share",) else part["plan"].sum(min_count=1)
        total += [_value(fact), _value(plan), None]
    rows.append([*total, None, _value(managers["bonus"].sum())])
    end = len(rows)
    formats = [Block(end - 1, 0, end, len(header), bold=True)]
    achievement = []
    for index, kpi_id in enumerate(order):
        col = 1 + index * 3
        formats += [
            Block(1, col, end, col + 2, PATTERNS[units[kpi_id]]),
            Block(1, col + 2, end, col + 3, "0%"),
        ]
        achievement.append(Block(1, col + 2, end - 1, col + 3))
    formats += [
        Block(1, len(header) - 2, end, len(header) - 1, SCORE_FORMAT),
        Block(1, len(header) - 1, end, len(header), PATTERNS["rub"]),
    ]
    return TabLayout(
        label(loc, "tab.summary", department=dept_title(dept, loc)),
        rows,
        formats=formats,
        achievement=achievement,
        gate=dept.bonus.gate,
    )


def ranking_tab(results: Results, dept: DepartmentConfig, config: Config) -> TabLayout:
    loc = config.locale
    rows: list[list[Any]] = [
        [label(loc, k) for k in ("rank", "change", "manager", "score", "top_kpi", "prize")]
    ]
    managers = results.managers[results.managers["department"] == dept.id]
    for m in managers.itertuples():
        rows.append(
            [
                _value(m.rank),
                _value(m.rank_change),
                m.manager,
                _value(m.score),
                _value(m.top_kpi),
                _value(m.prize),
            ]
        )
    end = len(rows)
    return TabLayout(
        label(loc, "tab.ranking", department=dept_title(dept, loc)),
        rows,
        formats=[
            Block(1, 0, end, 2, "0"),
            Block(1, 3, end, 4, SCORE_FORMAT),
            Block(1, 5, end, 6, PATTERNS["rub"]),
        ],
    )


def dynamics_tab(results: Results, dept: DepartmentConfig, config: Config) -> TabLayout:
    loc = config.locale
    weekly = results.weekly[
        (results.weekly["department"] == dept.id) & results.weekly["manager_id"].isna()
    ]
    titles = {k.id: (k.title_en if loc == "en" else k.title) or k.id for k in dept.kpis}
    rows = _week_table(weekly, [k.id for k in dept.kpis], titles, loc)
    end = len(rows)
    counts = tuple(1 + i for i, k in enumerate(dept.kpis) if k.unit in ("count", "rub"))[:3]
    chart = (
        LineChart(
            label(loc, "tab.dynamics", department=dept_title(dept, loc)),
            0,
            counts or (1,),
            0,
            end,
            0,
            len(dept.kpis) + 2,
        )
        if end > 1
        else None
    )
    formats = [Block(1, 1 + i, end, 2 + i, PATTERNS[k.unit]) for i, k in enumerate(dept.kpis)]
    return TabLayout(
        label(loc, "tab.dynamics", department=dept_title(dept, loc)),
        rows,
        formats=formats,
        chart=chart,
    )


def matrix_tab(results: Results, loc: str) -> TabLayout:
    keys = [
        "seniority",
        "client_type",
        "won",
        "lost",
        "n",
        "win_rate",
        "ci_low",
        "ci_high",
        "mean_won_price",
        "median_cycle_days",
    ]
    rows: list[list[Any]] = [[label(loc, k) for k in keys]]
    for cell in results.matrix.itertuples():
        rows.append(
            [
                label(loc, cell.seniority)
                if cell.seniority in ("junior", "senior")
                else cell.seniority,
                label(loc, cell.client_type),
                *[_value(getattr(cell, k)) for k in keys[2:]],
            ]
        )
    top = len(rows)
    rows += [
        [],
        [
            label(loc, k)
            for k in (
                "manager",
                "seniority",
                "client_type",
                "won",
                "lost",
                "n",
                "win_rate",
                "ci_low",
                "ci_high",
                "mean_won_price",
                "median_cycle_days",
            )
        ],
    ]
    for cell in results.matrix_by_manager.itertuples():
        rows.append(
            [
                cell.manager,
                label(loc, cell.seniority)
                if cell.seniority in ("junior", "senior")
                else cell.seniority,
                label(loc, cell.client_type),
                *[_value(getattr(cell, k)) for k in keys[2:]],
            ]
        )
    end = len(rows)
    return TabLayout(
        label(loc, "tab.matrix"),
        rows,
        formats=[
            Block(1, 5, top, 8, "0.0%"),
            Block(1, 8, top, 9, PATTERNS["rub"]),
            Block(1, 9, top, 10, "0.0"),
            Block(top + 1, 0, top + 2, 11, bold=True),
            Block(top + 2, 6, end, 9, "0.0%"),
            Block(top + 2, 9, end, 10, PATTERNS["rub"]),
            Block(top + 2, 10, end, 11, "0.0"),
        ],
    )


def clients_tab(results: Results, loc: str) -> TabLayout:
    names = results.managers.set_index("manager_id")["manager"]
    rows: list[list[Any]] = [
        [
            label(loc, k)
            for k in ("scope", "clients", "once_share", "repeat_share", "median_days_between")
        ]
    ]
    for item in results.retention.itertuples():
        scope = label(loc, "all") if item.scope == "all" else names.get(int(item.scope), item.scope)
        rows.append(
            [
                scope,
                item.clients,
                _value(item.once_share),
                _value(item.repeat_share),
                _value(item.median_days_between),
            ]
        )
    end = len(rows)
    return TabLayout(
        label(loc, "tab.clients"),
        rows,
        formats=[Block(1, 2, end, 4, "0.0%"), Block(1, 4, end, 5, "0.0")],
    )


def _tidy(
    title: str, frame: pd.DataFrame, columns: list[str], volatile: Iterable[str] = ()
) -> TabLayout:
    rows = [columns] + [[_value(v) for v in row] for row in frame[columns].itertuples(index=False)]
    return TabLayout(title, rows, volatile_columns=tuple(columns.index(c) for c in volatile))


def data_kpi_tab(results: Results, config: Config, now: datetime) -> TabLayout:
    """`kpi_title` is the configured `title` whatever the locale: a BI report must not change
    when someone switches the sheet labels to English (SPEC §11)."""
    titles = {(d.id, k.id): k.title or k.id for d in config.departments for k in d.kpis}
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


def issues_tab(issues: pd.DataFrame, loc: str) -> TabLayout:
    keys = [*ISSUE_COLUMNS, "first_seen"]
    rows: list[list[Any]] = [[label(loc, k) for k in keys]]
    rows += [[_value(v) for v in row] for row in issues[keys].itertuples(index=False)]
    return TabLayout(label(loc, "tab.issues"), rows)


def log_tab(loc: str) -> TabLayout:
    return TabLayout(
        label(loc, "tab.log"),
        [
            [
                label(loc, k)
                for k in (
                    "started",
                    "duration",
                    "amocrm_requests",
                    "entities",
                    "sheets_requests",
                    "rows_written",
                    "status",
                    "error",
                )
            ]
        ],
        append_only=True,
    )

"""Human tab content that the end-to-end tests do not pin: wording per locale, matrix columns."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from sheets_kpi.closing import assemble
from sheets_kpi.config import Config
from sheets_kpi.kpi.issues import Issue, issues_frame
from sheets_kpi.locale import label
from sheets_kpi.sheets.layout import Block, TabLayout
from sheets_kpi.tabs import data as data_tabs
from sheets_kpi.tabs import manager_titles
from sheets_kpi.tabs.analytics import clients_tab, matrix_tab
from sheets_kpi.tabs.department import dynamics_tab, ranking_tab, summary_tab, week_label
from sheets_kpi.tabs.manager import manager_tab, needed_text
from sheets_kpi.tabs.run import issues_tab
from tests.kpi_fixtures import A, config, run, task


@pytest.mark.parametrize(
    ("unit", "needed", "loc", "text"),
    [
        ("count", 3, "ru", "ещё 3"),
        ("count", -2, "ru", "на 2 меньше"),
        ("rub", 270000, "ru", "ещё 270 000 ₽"),
        ("share", 0.05, "ru", "ещё 5.0 п.п."),
        ("share", 0.05, "en", "5.0 pp more"),
        ("share", -0.021, "en", "2.1 pp fewer"),
        ("minutes", -4.25, "en", "4.2 fewer"),
        ("count", 0, "en", "done"),
        ("count", float("nan"), "en", ""),
    ],
)
def test_what_is_still_needed_reads_naturally_in_each_locale(unit, needed, loc, text) -> None:
    assert needed_text(unit, needed, loc) == text


@pytest.mark.parametrize(
    ("needed", "to_date", "loc", "text"),
    [
        (-1, 64 * 16 / 30, "ru", "1 сверх плана на сегодня (34)"),  # 34.13: 34 are allowed
        (0, 64 * 16 / 30, "ru", "в пределах плана на сегодня (34)"),  # never "выполнено"
        (0, 10.0, "en", "within the plan to date (10)"),
        (-3, 2.0, "en", "3 over the plan to date (2)"),
    ],
)
def test_a_lower_is_better_count_in_a_running_month_reads_against_the_plan_to_date(
    needed, to_date, loc, text
) -> None:
    assert needed_text("count", needed, loc, to_date) == text


@pytest.fixture
def matrix_results() -> SimpleNamespace:
    cell = {
        "client_type": "new",
        "won": 1,
        "lost": 1,
        "n": 2,
        "win_rate": 0.5,
        "ci_low": 0.0945,
        "ci_high": 0.9055,
        "mean_won_price": 1000.0,
        "median_cycle_days": 9.5,
    }
    return SimpleNamespace(
        matrix=pd.DataFrame([{"seniority": "senior", **cell}]),
        matrix_by_manager=pd.DataFrame(
            [{"manager_id": 7, "manager": "Анна", "seniority": "senior", **cell}]
        ),
    )


def test_the_matrix_per_manager_has_the_same_columns_as_the_matrix(matrix_results) -> None:
    rows = matrix_tab(matrix_results, tabs_config("en")).rows
    second = next(i for i, row in enumerate(rows) if row and row[0] == "Manager")
    assert rows[0][2:] == rows[second][3:]  # the per-manager table adds the manager column
    assert rows[second][-2:] == ["Mean won price", "Median cycle, days"]
    assert rows[second + 1] == ["Анна", "Senior", "New", 1, 1, 2, 0.5, 0.0945, 0.9055, 1000.0, 9.5]


def test_the_matrix_says_whose_deals_it_counts(matrix_results) -> None:
    cfg = tabs_config()
    rows = matrix_tab(matrix_results, cfg).rows
    assert rows[2] == ["Сделки продавцов: Продажи (analytics.seller_departments)"]


def test_manager_tab_titles_are_unique_ignoring_case_and_fit_the_limit() -> None:
    long = "Д" * 120
    managers = pd.DataFrame(
        {
            "manager_id": [1, 2, 3, 4, 5],
            "manager": ["Anna Ivanova", "anna ivanova", "Борис", long + "а", long + "б"],
        }
    )
    titles = manager_titles(managers)
    assert titles[1] == "Anna Ivanova (1)" and titles[2] == "anna ivanova (2)"
    assert titles[3] == "Борис"
    assert titles[4] == "Д" * 96 + " (4)" and titles[5] == "Д" * 96 + " (5)"
    assert all(len(t) <= 100 for t in titles.values())


def test_a_manager_named_like_another_tab_gets_the_id() -> None:
    managers = pd.DataFrame({"manager_id": [1, 2], "manager": ["журнал", "Анна"]})
    assert manager_titles(managers, {"Журнал", "Планы"}) == {1: "журнал (1)", 2: "Анна"}


RUB, SHARE, COUNT = '#,##0 "₽"', "0.0%", "0"


def tabs_config(locale: str = "ru", title_en: str | None = None) -> Config:
    """Three KPIs of different units, the first with a Russian title (and maybe an English one)."""
    cfg = config(
        {"sales_rub": "won_amount", "missed": "calls_missed_share", "won": "won_count"},
        locale=locale,
    )
    dept = cfg.departments[0]
    units = {"sales_rub": "rub", "missed": "share", "won": "count"}
    kpis = [kpi.model_copy(update={"unit": units[kpi.id]}) for kpi in dept.kpis]
    kpis[0] = kpis[0].model_copy(update={"title": "Продажи", "title_en": title_en})
    department = dept.model_copy(update={"kpis": kpis, "title": "Продажи", "title_en": None})
    return cfg.model_copy(update={"departments": [department]})


def pattern_at(layout: TabLayout, row: int, col: int) -> str:
    hits = [
        b.pattern
        for b in layout.formats
        if b.pattern and b.row0 <= row < b.row1 and b.col0 <= col < b.col1
    ]
    return hits[-1] if hits else ""


def columns(layout: TabLayout, header: int = 0, body: int | None = None) -> list[tuple]:
    """(header label, pattern of the body cell below it, coloured by achievement) per column."""
    row = header + 1 if body is None else body
    coloured = {
        col for b in layout.achievement for col in range(b.col0, b.col1) if b.row0 <= row < b.row1
    }
    return [
        (title, pattern_at(layout, row, col), col in coloured)
        for col, title in enumerate(layout.rows[header])
    ]


def header_row(layout: TabLayout, first: str, after: int = 0) -> int:
    return next(i for i, row in enumerate(layout.rows) if i >= after and row and row[0] == first)


def test_the_manager_tab_formats_follow_each_column_and_each_kpis_unit() -> None:
    cfg = tabs_config()
    results = run(cfg=cfg)
    manager = next(results.managers.itertuples())
    layout = manager_tab(
        results,
        manager,
        "Анна",
        cfg,
        assemble(cfg, results, datetime(2026, 11, 20, 12, tzinfo=UTC)),
    )
    assert [(r[0], pattern_at(layout, i, 1)) for i, r in enumerate(layout.rows[:2])] == [
        ("Менеджер", ""),
        ("Отдел", ""),
    ]
    past = header_row(layout, "Период")
    assert columns(layout, past) == [
        ("Период", "", False),
        ("Статус", "", False),
        ("Балл", "0.000", False),
        ("Место", "", False),
        ("Бонус", RUB, False),
        ("Расчёт", "", False),
    ]
    top = header_row(layout, "Период", after=past + 1)
    assert [(layout.rows[i][0], pattern_at(layout, i, 1)) for i in range(top, top + 5)] == [
        ("Период", ""),
        ("Балл", "0.000"),
        ("Место", ""),
        ("Бонус сейчас", RUB),
        ("Бонус при текущем темпе", RUB),
    ]
    head = header_row(layout, "Показатель")
    by_unit = {RUB: head + 1, SHARE: head + 2, COUNT: head + 3}  # the KPIs in config order
    for pattern, row in by_unit.items():
        assert columns(layout, head, row) == [
            ("Показатель", "", False),
            ("План", pattern, False),
            ("Факт", pattern, False),
            ("Выполнение", "0%", True),
            ("Вес", "", False),
            ("Вклад в балл", "0.00", False),
            ("Осталось до 100 %", "", False),
            ("Прогноз по темпу", pattern, False),
        ]
    weeks = header_row(layout, "Неделя")
    assert columns(layout, weeks) == [
        ("Неделя", "", False),
        ("Продажи", RUB, False),
        ("missed", SHARE, False),
        ("won", COUNT, False),
    ]


def test_the_summary_formats_each_kpis_fact_plan_and_achievement_and_bolds_the_total() -> None:
    cfg = tabs_config()
    layout = summary_tab(run(cfg=cfg), cfg.departments[0], cfg)
    assert layout.title == "Итоги — Продажи"
    assert columns(layout) == [
        ("Менеджер", "", False),
        ("Продажи: Факт", RUB, False),
        ("План", RUB, False),
        ("%", "0%", True),
        ("missed: Факт", SHARE, False),
        ("План", SHARE, False),
        ("%", "0%", True),
        ("won: Факт", COUNT, False),
        ("План", COUNT, False),
        ("%", "0%", True),
        ("Балл", "0.000", False),
        ("Бонус", RUB, False),
    ]
    total = len(layout.rows) - 1
    assert layout.rows[total][0] == "Итого по отделу"
    assert [title for title, _, coloured in columns(layout, body=total) if coloured] == []
    assert [b for b in layout.formats if b.bold] == [Block(total, 0, total + 1, 12, bold=True)]
    assert pattern_at(layout, total, 1) == RUB and pattern_at(layout, total, 11) == RUB


def test_ranking_dynamics_and_clients_columns() -> None:
    cfg = tabs_config()
    results = run(cfg=cfg)
    dept = cfg.departments[0]
    assert columns(ranking_tab(results, dept, cfg)) == [
        ("Место", COUNT, False),
        ("Изменение", COUNT, False),
        ("Менеджер", "", False),
        ("Балл", "0.000", False),
        ("Главный вклад", "", False),
        ("Приз", RUB, False),
    ]
    dynamics = dynamics_tab(results, dept, cfg)
    assert columns(dynamics) == [
        ("Неделя", "", False),
        ("Продажи", RUB, False),
        ("missed", SHARE, False),
        ("won", COUNT, False),
    ]
    assert dynamics.chart is not None and dynamics.chart.series_cols == (1, 3)
    assert dynamics.chart.right_cols == (3,)  # the count beside roubles: on the right axis
    weeks = [row[0] for row in dynamics.rows[1:]]
    assert weeks[-2:] == ["2026-11-09", "2026-11-16 (идёт)"]  # now: Friday 2026-11-20
    retention = SimpleNamespace(
        managers=pd.DataFrame({"manager_id": [7], "manager": ["Анна"]}),
        retention=pd.DataFrame(
            [
                {"scope": scope, "clients": 4, "once_share": 0.75, "repeat_share": 0.25}
                | {"median_days_between": 31.0}
                for scope in ("all", "7")
            ]
        ),
    )
    clients = clients_tab(retention, cfg)
    assert [row[0] for row in clients.rows[1:3]] == ["Все", "Анна"]
    # like the matrix, it says whose sales it counts
    assert clients.rows[3:] == [[], ["Сделки продавцов: Продажи (analytics.seller_departments)"]]
    assert columns(clients) == [
        ("Кто", "", False),
        ("Клиентов", "", False),
        ("Купили один раз", SHARE, False),
        ("Купили повторно", SHARE, False),
        ("Медиана между покупками, дн.", "0.0", False),
    ]


def test_both_matrix_tables_format_their_rates_prices_and_days(matrix_results) -> None:
    layout = matrix_tab(matrix_results, tabs_config())
    figures = [SHARE] * 3 + [RUB, "0.0"]
    assert [p for _, p, _ in columns(layout)] == ["", "", "", "", "", *figures]
    second = header_row(layout, "Менеджер")
    assert [p for _, p, _ in columns(layout, second)] == ["", "", "", "", "", "", *figures]
    assert [b for b in layout.formats if b.bold] == [Block(second, 0, second + 1, 11, bold=True)]


def test_the_data_tabs_carry_no_formats_but_date_cells() -> None:
    cfg = tabs_config()
    results = run(cfg=cfg)
    roster = pd.DataFrame({k: [] for k in data_tabs.DATA_MANAGERS}, columns=data_tabs.DATA_MANAGERS)
    closing = assemble(cfg, results, datetime(2026, 11, 20, 15, tzinfo=UTC))
    for layout, dates in (
        (data_tabs.data_kpi_tab(closing, cfg), ["period_start", "period_end", "computed_at"]),
        (data_tabs.data_bonus_tab(closing, cfg), ["approved_at"]),
        (data_tabs.data_daily_tab(results, roster), ["date"]),
        (data_tabs.data_managers_tab(roster), []),
    ):
        header = layout.rows[0]
        shown = [(header[b.col0], b.pattern) for b in layout.formats]
        assert shown == [(d, "yyyy-mm-dd hh:mm:ss" if "_at" in d else "yyyy-mm-dd") for d in dates]
        assert layout.achievement == [], layout.title


@pytest.mark.parametrize(
    ("locale", "title_en", "shown"),
    [
        ("ru", None, "Продажи"),
        ("ru", "Sales", "Продажи"),
        ("en", None, "Продажи"),
        ("en", "Sales", "Sales"),
    ],
)
def test_one_title_rule_for_kpis_in_every_tab_and_data_kpi_keeps_the_configured_title(
    locale, title_en, shown
) -> None:
    cfg = tabs_config(locale, title_en)
    results = run(cfg=cfg)
    dept = cfg.departments[0]
    fact = label(locale, "fact")
    assert summary_tab(results, dept, cfg).rows[0][1] == f"{shown}: {fact}"
    assert dynamics_tab(results, dept, cfg).rows[0][1] == shown
    manager = next(results.managers.itertuples())
    closing = assemble(cfg, results, datetime(2026, 11, 20, tzinfo=UTC))
    layout = manager_tab(results, manager, "Анна", cfg, closing)
    assert layout.rows[header_row(layout, label(locale, "kpi")) + 1][0] == shown
    data_kpi = data_tabs.data_kpi_tab(closing, cfg)
    titles = {row[6]: row[7] for row in data_kpi.rows[1:]}
    assert titles["sales_rub"] == "Продажи" and titles["won"] == "won"
    assert dept.title_in(locale) == "Продажи"  # no title_en: the configured title


def test_the_manager_tab_names_rules_in_the_locale_and_overdue_tasks_by_their_text() -> None:
    cfg = tabs_config()
    tasks = [
        task(7, A, "2026-11-19 10:00", lead_id=11, text="Перезвонить клиенту\nпро скидку"),
        task(8, A, "2026-11-18 10:00", lead_id=12),  # no text in amoCRM
    ]
    results = run(cfg=cfg, tasks=tasks)
    results = dataclasses.replace(
        results,
        open_violations=pd.DataFrame(
            {
                "manager_id": [A, A],
                "lead_id": [11, 12],
                "lead_name": ["Окна", "Двери"],
                "rule": ["stale_stage", "no_next_task"],
                "first_seen_at": [pd.Timestamp("2026-11-10", tz="UTC")] * 2,
            }
        ),
    )
    manager = next(m for m in results.managers.itertuples() if m.manager_id == A)
    closing = assemble(cfg, results, datetime(2026, 11, 20, 12, tzinfo=UTC))
    layout = manager_tab(results, manager, "Анна", cfg, closing)
    rules = header_row(layout, "Сделка")
    assert [row[1] for row in layout.rows[rules + 1 : rules + 3]] == [
        "сделка застряла на этапе",
        "нет следующей задачи",
    ]
    tasks_at = header_row(layout, "Задача")
    base = cfg.amocrm.base_url
    assert [(row[0], row[2]) for row in layout.rows[tasks_at + 1 : tasks_at + 3]] == [
        ("Перезвонить клиенту", f"{base}/leads/detail/11"),
        ("задача № 8", f"{base}/leads/detail/12"),
    ]


@pytest.mark.parametrize(
    ("loc", "text"),
    [
        ("ru", "вкладки нет: запустите `sheets-kpi init`"),
        ("en", "the tab is missing: run `sheets-kpi init`"),
    ],
)
def test_data_issues_are_said_in_the_locale_and_their_message_stays_english(loc, text) -> None:
    said = Issue.said("error", "Планы", "tab", "", "tab_missing")
    plain = Issue("error", "amoCRM", "sync", "", "connection refused")
    frame = issues_frame([said, plain]).assign(first_seen="2026-11-20 15:00")
    assert frame["message"].tolist() == [
        "the tab is missing: run `sheets-kpi init`",
        "connection refused",
    ]
    assert [row[4] for row in issues_tab(frame, loc).rows[1:]] == [text, "connection refused"]


@pytest.mark.parametrize(
    ("source", "where", "ru"),
    [
        ("Планы", "row 5, column plan", "строка 5, столбец «План»"),
        ("Сотрудники", "row 12, column amo_user_id", "строка 12, столбец «ID amoCRM»"),
        ("Plans", "row 5, column plan", "строка 5, столбец «Plan»"),  # an English-titled tab
        ("Апелляции", "column ref", "столбец «Ссылка»"),
        ("Сотрудники", "header, column C", "заголовок, столбец C"),
        ("Сотрудники", "header", "заголовок"),
        ("Оценки", "tab", "вкладка"),
        ("Планы", "row 7", "строка 7"),
        ("close", "row 7", "строка 7"),
        ("close", "2026-11 / all", "2026-11 / все отделы"),
        ("roster", "amo_user_id 1001", "ID amoCRM 1001"),
        ("amoCRM", "user 77", "пользователь amoCRM 77"),
        ("amoCRM", "sync", "синхронизация"),
        ("close", "2026-11 / sales", "2026-11 / sales"),  # names, not words: as they are
        ("plans", "2026-11 / sales / calls", "2026-11 / sales / calls"),
        ("config.yaml", "amocrm.stages.won", "amocrm.stages.won"),
        ("amoCRM", "leads 42", "leads 42"),
    ],
)
def test_an_issue_place_is_said_in_the_locale_and_stays_english_in_en(source, where, ru) -> None:
    frame = issues_frame([Issue("error", source, where, "", "x")]).assign(first_seen="")
    assert issues_tab(frame, "ru").rows[1][2] == ru
    assert issues_tab(frame, "en").rows[1][2] == where


def test_a_locale_switch_keeps_when_an_issue_was_first_seen() -> None:
    """The store keys `first_seen` by the English place and message, which the locale does not
    change: only the tab shows them in its words."""
    from sheets_kpi.cycle import _issues
    from sheets_kpi.kpi.issues import place
    from sheets_kpi.store.db import Store

    said = Issue.said("error", "Планы", place("cell", row=5, column="plan"), "-4", "negative_plan")
    frame = issues_frame([said])
    zone = ZoneInfo("Europe/Moscow")
    with Store(":memory:") as store:
        first = _issues(store, [frame], datetime(2026, 11, 20, 12, 0, tzinfo=UTC), zone)
        later = _issues(store, [frame], datetime(2026, 11, 21, 12, 0, tzinfo=UTC), zone)
    assert said.where == "row 5, column plan"
    assert later["first_seen"].tolist() == first["first_seen"].tolist() == ["2026-11-20 15:00"]
    assert issues_tab(later, "ru").rows[1][2:] == [
        "строка 5, столбец «План»",
        "-4",
        "план не может быть отрицательным; строка пропущена",
        "2026-11-20 15:00",
    ]
    assert issues_tab(later, "en").rows[1][2:] == [
        "row 5, column plan",
        "-4",
        "a plan cannot be negative; the row is skipped",
        "2026-11-20 15:00",
    ]


def test_every_issue_key_and_rule_has_a_text_in_both_locales() -> None:
    from sheets_kpi.locale import LABELS

    keyed = {k for k in LABELS["ru"] if k.startswith(("issue.", "rule.", "task_"))}
    assert keyed == {k for k in LABELS["en"] if k.startswith(("issue.", "rule.", "task_"))}
    assert {"rule.stale_stage", "rule.no_next_task", "issue.unknown_manager"} <= keyed


@pytest.mark.parametrize(
    ("today", "loc", "shown"),
    [
        ("2026-11-16", "ru", "2026-11-16 (идёт)"),  # Monday: the week has just begun
        ("2026-11-22", "en", "2026-11-16 (in progress)"),  # Sunday: not over until midnight
        ("2026-11-23", "ru", "2026-11-16"),  # the next Monday: the week is whole
        ("2026-11-15", "ru", "2026-11-16"),
    ],
)
def test_the_week_in_progress_is_marked(today, loc, shown) -> None:
    assert week_label(pd.Timestamp("2026-11-16"), pd.Timestamp(today), loc) == shown

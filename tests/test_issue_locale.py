"""Every data issue is said in the configured locale, its English message unchanged (SPEC §8.5)."""

from __future__ import annotations

import re

import pandas as pd

from sheets_kpi.cycle import _foreign_tab_issues
from sheets_kpi.kpi.issues import Issue, issues_frame, place
from sheets_kpi.sheets.inputs import parse_inputs
from sheets_kpi.tabs.run import issues_tab
from tests.conftest import shipped_config
from tests.kpi_fixtures import A, B, C, config, lead, roster, run, violation

ROSTER = [
    ["ID amoCRM", "Имя", "Отдел", "Опыт", "Активен", "База бонуса", "Email", "Личная таблица"],
    [1001, "Анна", "sales", "мидл", "может быть", "много", "почта.example.com", "not-a-sheet"],
    [1002, "Борис", "sales", "", "", -5, "", ""],
    [1003, "Вера", "sales", "junior", "", True, "", ""],
    [True, "Глеб", "sales", "junior", "", "", "", ""],
]
SCORES = [["Дата", "Менеджер", "Вид", "Оценка"], [True, 1001, "nps", 9], [5, 1001, "nps", 9]]


def _parsed() -> pd.DataFrame:
    """Optional roster cells dropped, a true/false id, dates typed as true/false or a number."""
    grids = {"roster": ROSTER, "scores": SCORES}
    issues = parse_inputs(grids, shipped_config()).issues
    return issues[~issues["where"].isin(["tab", "header"])]  # the tabs not given here


def _engine() -> pd.DataFrame:
    """An unconfigured department, a gone and a deactivated user, the four unmatched appeals."""
    people = roster(A, B, C) + [roster(4)[0] | {"department": "marketing"}]
    results = run(
        cfg=config({"outgoing": "calls_outgoing"}),
        roster=people,
        users=[
            {"user_id": A, "name": "Анна", "is_active": True},
            {"user_id": B, "name": "Борис", "is_active": False},
            {"user_id": 4, "name": "Гость", "is_active": True},
        ],
        leads=[lead(11, A)],
        deal_violations=[violation(11, "stale_stage", "2026-11-07 10:00")],
        violations=[{"date": "2026-11-03", "manager_id": B, "type": "control", "ref": "Н-4"}],
        appeals=[
            _appeal(6, "2026-11-06", "#11"),  # before the lead's violation was seen
            _appeal(7, "2026-11-09", "Н-4"),  # Борис's violation
            _appeal(8, "2026-11-09", ""),
            _appeal(9, "2026-11-09", "Н-9"),
        ],
    )
    return results.issues


def _appeal(row: int, day: str, ref: str) -> dict:
    return {"date": day, "manager_id": A, "ref": ref, "outcome": "won", "row": row}


def _cycle() -> pd.DataFrame:
    """The cycle's and the release's issues, said as `cycle._sync` and `release` say them."""
    sid = "own-book-0123456789ab"
    made = [
        Issue.said("error", "amoCRM", place("sync"), "", "sync_failed", error="connection refused"),
        Issue.said(
            "warning", "amoCRM", "leads 42", "", "item_skipped", problems="price: not a number"
        ),
        Issue.said(
            "warning",
            "Сотрудники",
            place("column", column="personal_spreadsheet"),
            sid,
            "released",
            title=repr("Анна"),
            day="2026-11-18",
        ),
    ]
    return pd.concat([issues_frame(made), _foreign_tab_issues(["Матрица"])], ignore_index=True)


def _all() -> pd.DataFrame:
    return pd.concat([_parsed(), _engine(), _cycle()], ignore_index=True).assign(first_seen="")


#: Names, not words: they stay as they are in a ru text.
_NAMES = re.compile(r"amoCRM|sheets-kpi|https?://\S+|\S+@\S+|«[^»]*»|`[^`]*`")


def test_the_ru_data_issues_tab_has_no_english_sentence_left() -> None:
    issues = _all()
    assert set(issues["key"]) >= {
        "bonus_base_not_number",
        "bonus_base_not_number_flag",
        "bonus_base_negative",
        "active_not_boolean",
        "email_not_email",
        "personal_spreadsheet_not_spreadsheet",
        "seniority_unknown_choice",
        "seniority_empty",
        "not_number_flag",
        "not_date_flag",
        "not_date_serial",
        "department_not_configured",
        "user_gone",
        "user_deactivated",
        "appeal_no_ref",
        "appeal_other_manager",
        "appeal_too_early",
        "appeal_no_match",
        "released",
        "sync_failed",
        "item_skipped",
        "foreign_tab",
    }
    ru = issues_tab(issues, "ru").rows[1:]
    en = issues_tab(issues, "en").rows[1:]
    assert [row[4] for row in en] == issues["message"].tolist()  # en: the English as made
    for row, args in zip(ru, issues["args"], strict=True):
        text = _NAMES.sub("", row[4])
        for _, value in args:  # values (a typed cell, amoCRM's own error) stay as they are
            text = text.replace(value, "")
        assert not re.search(r"[A-Za-z]{4,}", text), row


def test_some_issues_in_ru_and_en_and_the_english_message_kept() -> None:
    issues = _all().set_index("key", drop=False)
    ru = {row[4] for row in issues_tab(issues, "ru").rows[1:]}
    expected = {
        "bonus_base_not_number": (
            "ожидается число, а не 'много'; используется база отдела",
            "expected a number, got 'много'; the department's base is used",
        ),
        "user_gone": ("такого пользователя amoCRM больше нет", "no such amoCRM user any more"),
        "appeal_other_manager": (
            "ссылка на нарушение другого менеджера (id 2), а не менеджера 1; "
            "апелляция ничего не отменяет",
            "ref is a violation of another manager (id 2), not of manager 1; "
            "the appeal cancels nothing",
        ),
        "sync_failed": (
            "не удалось прочитать amoCRM, KPI посчитаны по сохранённым данным: connection refused",
            "connection refused",
        ),
        "foreign_tab": (
            "вкладку с таким названием создал не sheets-kpi, поэтому она не тронута и эти данные "
            "не записаны; переименуйте или удалите её",
            "a tab with this title was not created by sheets-kpi, so it is left alone and this "
            "output is not written; rename or delete that tab",
        ),
    }
    for key, (said_ru, said_en) in expected.items():
        assert issues.loc[key, "message"] == said_en
        assert said_ru in ru
    assert issues.loc["released", "message"] == (  # the text before keys: first_seen keeps
        "no roster row names this spreadsheet any more: sheets-kpi stopped updating its tab "
        "'Анна' on 2026-11-18 and renamed it with that date (unless the spreadsheet could not "
        "be reached); delete it if it is not wanted"
    )
    assert issues.loc["item_skipped", "message"] == (
        "price: not a number; this item is skipped and the store keeps what it had of it"
    )

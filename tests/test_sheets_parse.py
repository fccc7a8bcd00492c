"""What supervisors type, and what the reader makes of it: a value or one exact data issue."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from sheets_kpi.locale import label
from sheets_kpi.sheets import parse
from sheets_kpi.sheets.input_tabs import TABS
from sheets_kpi.sheets.inputs import parse_inputs
from sheets_kpi.sheets.parse import ParseError
from tests.conftest import shipped_config

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4,5", 4.5),
        ("4.5", 4.5),
        (4.5, 4.5),
        (12, 12.0),
        ("95%", 0.95),
        ("12,5 %", 0.125),
        (f"1{NBSP}234{NBSP}567", 1234567.0),
        (f"1{NNBSP}500{NNBSP}000,50", 1500000.5),
        ("1 234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("1.234,5", 1234.5),
        ("-3", -3.0),
        ("−3", -3.0),  # a typographic minus
        ("150 000 ₽", 150000.0),
        ("1.234.567", 1234567.0),  # dots between groups of three: thousands
        ("1,234,567", 1234567.0),
        ("-1.000.000", -1000000.0),
        (" 7 ", 7.0),
    ],
)
def test_numbers(text, expected) -> None:
    assert parse.number(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("десять", "expected a number, got 'десять'"),
        ("1,2,3", "expected a number, got '1,2,3'"),
        (True, "expected a number, got true/false"),
        ("nan", "expected a number, got 'nan'"),
        ("", "expected a number, got ''"),
    ],
)
def test_not_numbers(text, message) -> None:
    with pytest.raises(ParseError) as caught:
        parse.number(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90%", 0.9), ("0.9", 0.9), (90, 0.9), (1, 1.0), ("5%", 0.05), ("1,5", 0.015), ("100%", 1)],
)
def test_shares(text, expected) -> None:
    assert parse.share(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["110%", 150, "-5%"])
def test_a_share_above_100_percent_or_negative_is_refused(text) -> None:
    with pytest.raises(ParseError, match="a share is between 0 and 100 %"):
        parse.share(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-03", dt.date(2026, 11, 3)),
        ("03.11.2026", dt.date(2026, 11, 3)),
        ("3.11.26", dt.date(2026, 11, 3)),
        (46329, dt.date(2026, 11, 3)),  # a Sheets serial day (1899-12-30 + 46329)
        (46329.75, dt.date(2026, 11, 3)),  # with a time of day
        ("03.11.2026 14:30", dt.date(2026, 11, 3)),
        ("2026-11-03T10:00:00", dt.date(2026, 11, 3)),  # ISO date-times: the date as written
        ("2026-11-03T23:30:00+03:00", dt.date(2026, 11, 3)),
        ("2026-11-03T10:00:00.250Z", dt.date(2026, 11, 3)),
        ("2026-11-03 10:00", dt.date(2026, 11, 3)),
    ],
)
def test_dates(value, expected) -> None:
    assert parse.date(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31.02.2026", "expected a date like 2026-11-03 or 03.11.2026, got '31.02.2026'"),
        ("вчера", "expected a date like 2026-11-03 or 03.11.2026, got 'вчера'"),
        (-5, "expected a date, got the number -5"),
        (15, "expected a date, got the number 15"),  # not 1900-01-14
        ("03.11.1926", "a date before 2000-01-01 is taken for a typo, got '03.11.1926'"),
        ("1999-12-31", "a date before 2000-01-01 is taken for a typo, got '1999-12-31'"),
    ],
)
def test_not_dates(value, message) -> None:
    with pytest.raises(ParseError) as caught:
        parse.date(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11", "2026-11"),
        ("11.2026", "2026-11"),
        ("ноябрь 2026", "2026-11"),
        ("Ноября 2026 г.", "2026-11"),
        ("November 2026", "2026-11"),
        ("мая 2026", "2026-05"),
        ("Декабрь  2026", "2026-12"),
        ("2026-11-15", "2026-11"),
        (46329, "2026-11"),
        (46329.75, "2026-11"),  # a date and time
        (11.2026, "2026-11"),  # 11.2026 typed into a cell Sheets made a number
        (1.2027, "2027-01"),
        (11.202, "2020-11"),  # 11.2020: the number lost its trailing zero
        (2026.11, "2026-11"),
        (2026.1, "2026-10"),
    ],
)
def test_periods(value, expected) -> None:
    assert parse.period(value) == expected


@pytest.mark.parametrize("value", ["осень", 11, 2026, 13.2026, 2026.13, 36525])
def test_bad_period(value) -> None:
    with pytest.raises(ParseError, match=r"expected a month like 2026-11, 11\.2026 or ноябрь 2026"):
        parse.period(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("да", True), ("Нет", False), ("", True), (False, False), ("✓", True), ("no", False)],
)
def test_booleans(value, expected) -> None:
    assert parse.boolean(value) is expected


ROSTER_HEAD = ["ID amoCRM", "Имя", "Отдел", "Опыт", "Активен", "База бонуса"]
ROSTER = [
    ROSTER_HEAD,
    [1001, "Анна Петрова", "Продажи", "сеньор", "да", ""],
    [1002, "Борис Козлов", "sales", "junior", "", "40 000"],
    [1003, "Вера  Попова", "Лидогенерация", "Junior", "нет", ""],
    [1004, "Глеб Орлов", "Продажи", "senior", "", ""],
    [1005, "Глеб Орлов", "accounts", "senior", "", ""],
]


def read(**grids) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    grids.setdefault("roster", ROSTER)
    for key in ("plans", "scores", "violations", "appeals", "close"):
        grids.setdefault(key, [["x"]])
    parsed = parse_inputs(grids, shipped_config())
    issues = parsed.issues[~parsed.issues["message"].str.startswith("missing column")]
    return parsed.frames, issues


def one_issue(issues: pd.DataFrame) -> tuple[str, str, str, str]:
    assert len(issues) == 1, issues.to_string()
    row = issues.iloc[0]
    return row["source"], row["where"], row["value"], row["message"]


PLAN_HEAD = ["Период", "Менеджер", "Отдел", "Показатель", "План"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            ["2026-11", "", "Продажи", "sales_rub", f"1{NBSP}500{NBSP}000"],
            ("2026-11", None, "sales", "sales_rub", 1500000.0),
        ),
        (
            ["ноябрь 2026", 1001, "", "КП отправлено", "20"],
            ("2026-11", 1001, "sales", "proposals", 20.0),
        ),  # the KPI by its title
        (
            ["11.2026", "анна  петрова", "", "proposals", 20],
            ("2026-11", 1001, "sales", "proposals", 20.0),
        ),  # a name, case and spaces ignored
        (
            ["2026-11", "1002", "", "deals_correct_share", "90%"],
            ("2026-11", 1002, "sales", "deals_correct_share", 0.9),
        ),
        (
            ["2026-11", 1002, "", "deals_correct_share", 90],
            ("2026-11", 1002, "sales", "deals_correct_share", 0.9),
        ),  # a share typed as 90
        (
            ["2026-11", 1003, "", "callback_minutes", "12,5"],
            ("2026-11", 1003, "leadgen", "callback_minutes", 12.5),
        ),
        (["2026-11", "", "sales", "sales_rub", 0], ("2026-11", None, "sales", "sales_rub", 0.0)),
    ],
)
def test_plan_rows_that_parse(row, expected) -> None:
    frames, issues = read(plans=[PLAN_HEAD, row])
    assert issues.empty, issues.to_string()
    plan = frames["plans"].iloc[0]
    got = (
        plan["period"],
        None if pd.isna(plan["manager_id"]) else int(plan["manager_id"]),
        plan["department"],
        plan["kpi"],
        plan["plan"],
    )
    assert got == expected


@pytest.mark.parametrize(
    ("row", "issue"),
    [
        (
            ["2026-13", 1001, "", "proposals", 5],
            (
                "row 2, column period",
                "2026-13",
                "month must be 1..12, got '2026-13'; the row is skipped",
            ),
        ),
        (
            ["2026-11", "Дмитрий", "", "proposals", 5],
            (
                "row 2, column manager",
                "Дмитрий",
                "unknown manager 'Дмитрий': not in the roster by id or exact name; "
                "the row is skipped",
            ),
        ),
        (
            ["2026-11", "Глеб Орлов", "", "proposals", 5],
            (
                "row 2, column manager",
                "Глеб Орлов",
                "'Глеб Орлов' matches several managers (ids 1004, 1005); use the id; the row is "
                "skipped",
            ),
        ),
        (
            ["2026-11", 9999, "", "proposals", 5],
            (
                "row 2, column manager",
                "9999",
                "unknown manager '9999': not in the roster by id or exact name; the row is skipped",
            ),
        ),
        (
            ["2026-11", 1001, "", "звонки", 5],
            (
                "row 2, column kpi",
                "звонки",
                "unknown KPI of sales 'звонки'; expected one of call_quality, deals_correct_share, "
                "proposals, sales_rub, tasks_overdue_share; the row is skipped",
            ),
        ),
        (
            ["2026-11", 1001, "", "proposals", "двадцать"],
            (
                "row 2, column plan",
                "двадцать",
                "expected a number, got 'двадцать'; the row is skipped",
            ),
        ),
        (
            ["2026-11", 1001, "", "proposals", -4],
            ("row 2, column plan", "-4", "a plan cannot be negative; the row is skipped"),
        ),
        (
            ["2026-11", 1001, "", "proposals", ""],
            ("row 2, column plan", "", "is empty; the row is skipped"),
        ),
        (
            ["2026-11", "", "", "proposals", 5],
            ("row 2, column department", "", "is empty; the row is skipped"),
        ),
        (
            ["2026-11", "", "Маркетинг", "proposals", 5],
            (
                "row 2, column department",
                "Маркетинг",
                "unknown department 'Маркетинг'; expected one of accounts, leadgen, quality, "
                "sales; "
                "the row is skipped",
            ),
        ),
    ],
)
def test_plan_rows_that_become_issues(row, issue) -> None:
    frames, issues = read(plans=[PLAN_HEAD, row])
    assert frames["plans"].empty
    assert one_issue(issues) == ("Планы", *issue)


def test_duplicate_plans_last_wins_with_an_issue() -> None:
    frames, issues = read(
        plans=[
            PLAN_HEAD,
            ["2026-11", 1001, "", "proposals", 10],
            [],
            ["11.2026", 1001, "", "proposals", 12],
        ]
    )
    assert frames["plans"]["plan"].tolist() == [12.0]
    assert one_issue(issues) == (
        "Планы",
        "row 4",
        "12.0",
        "duplicate plan for proposals in 2026-11 (also row 2); the last row wins",
    )


def test_blank_and_comment_rows_are_skipped_silently() -> None:
    frames, issues = read(
        plans=[
            PLAN_HEAD,
            [],
            ["", "", "", "", ""],
            ["# пример", "", "", "", ""],
            [None, "  "],
            ["2026-11", 1001, "", "proposals", 3],
        ]
    )
    assert len(frames["plans"]) == 1 and issues.empty


def test_the_example_row_is_a_comment_whatever_the_column_order() -> None:
    head = ["Показатель", "План", "Отдел", "Менеджер", "Период"]
    frames, issues = read(
        plans=[
            head,
            ["sales_rub", 1500000, "sales", "", "# 2026-11"],  # init's example, columns moved
            ["proposals", 3, "", 1001, "2026-11"],
        ]
    )
    assert frames["plans"]["kpi"].tolist() == ["proposals"] and issues.empty


EMPTIED = (
    "the tab is empty, its header too: nothing is read from it; undo the clearing or run "
    "`sheets-kpi init` to write the header again"
)


@pytest.mark.parametrize("grid", [[], [[]], [["", None], [" "]]])
def test_an_emptied_input_tab_is_a_tab_level_issue(grid) -> None:
    _, issues = read(close=grid)
    assert one_issue(issues) == ("Закрытие", "tab", "", EMPTIED)
    _, issues = read(scores=grid)  # a tab the numbers depend on: the output is kept too
    assert one_issue(issues) == (
        "Оценки",
        "tab",
        "",
        f"{EMPTIED}; no manager tab is changed or removed and the last good output is kept",
    )


def test_an_emptied_roster_says_once_that_the_last_good_output_is_kept() -> None:
    _, issues = read(roster=[])
    assert issues["severity"].tolist() == ["error"]
    assert issues["message"].iloc[0].startswith("the tab is empty, its header too")
    assert issues["message"].iloc[0].endswith("the last good output is kept")


def test_a_reference_or_a_formula_error_first_is_not_a_comment() -> None:
    head = ["Ссылка", "Дата", "Менеджер", "Тип"]
    frames, issues = read(
        violations=[head, ["#4521", "2026-11-03", 1001, "control"], ["#N/A", "#N/A", 1001, "deal"]]
    )
    assert frames["violations"]["ref"].tolist() == ["#4521"]
    assert one_issue(issues) == (
        "Нарушения",
        "row 3, column date",
        "#N/A",
        "expected a date like 2026-11-03 or 03.11.2026, got '#N/A'; the row is skipped",
    )


def test_columns_are_found_by_header_in_any_order_case_and_locale() -> None:
    head = ["  PLAN ", "kpi", "Manager", "period", "Комментарий"]
    frames, issues = read(plans=[head, [7, "proposals", 1001, "2026-11", "любой текст"]])
    assert issues.empty and frames["plans"]["plan"].tolist() == [7.0]


def test_missing_column_skips_the_tab_with_one_issue() -> None:
    parsed = parse_inputs(
        {"roster": ROSTER, "plans": [["Период", "Менеджер", "План"], ["2026-11", 1001, 5]]},
        shipped_config(),
    )
    issue = parsed.issues[parsed.issues["source"] == "Планы"].iloc[0]
    assert issue["message"] == (
        "missing column(s): Показатель; the tab is skipped; no manager tab is changed or "
        "removed and the last good output is kept"
    )
    assert "plans" in parsed.unreadable


def test_a_duplicate_header_column_is_a_warning_and_the_first_is_read() -> None:
    frames, issues = read(plans=[[*PLAN_HEAD, "План"], ["2026-11", 1001, "", "proposals", 3, 9]])
    assert frames["plans"]["plan"].tolist() == [3.0]
    assert one_issue(issues) == (
        "Планы",
        "header, column F",
        "План",
        "the same column as E; only E is read",
    )


def test_missing_tab_is_one_issue() -> None:
    parsed = parse_inputs({"roster": ROSTER}, shipped_config())
    messages = parsed.issues.set_index("source")["message"]
    assert messages["Планы"] == (
        "the tab is missing: run `sheets-kpi init`; no manager tab is changed or removed and "
        "the last good output is kept"
    )
    assert messages["Закрытие"] == "the tab is missing: run `sheets-kpi init`"
    assert parsed.unreadable == ("plans", "scores", "violations", "appeals")


def test_a_readable_set_of_tabs_loses_nothing() -> None:
    grids = {spec.key: [[column.ru for column in spec.columns]] for spec in TABS}
    parsed = parse_inputs({**grids, "roster": ROSTER}, shipped_config())
    assert parsed.unreadable == ()  # headers alone: a new month with no rows yet is not a loss


@pytest.mark.parametrize(
    ("row", "issue"),
    [
        (
            ["x1001", "Имя", "sales", "junior", "", ""],
            (
                "row 2, column amo_user_id",
                "x1001",
                "expected a number, got 'x1001'; the row is skipped",
            ),
        ),
        (
            [1001.5, "Имя", "sales", "junior", "", ""],
            (
                "row 2, column amo_user_id",
                "1001.5",
                "must be a whole amoCRM user id; the row is skipped",
            ),
        ),
        (
            [1010, "", "sales", "junior", "", ""],
            ("row 2, column name", "", "is empty; the row is skipped"),
        ),
    ],
)
def test_roster_rows_that_become_issues(row, issue) -> None:
    frames, issues = read(roster=[ROSTER_HEAD, row])
    assert frames["roster"].empty
    assert one_issue(issues[issues["where"] != "tab"]) == ("Сотрудники", *issue)
    assert issues[issues["where"] == "tab"]["message"].tolist() == [  # no one left: output kept
        "no manager can be read from this tab; "
        "no manager tab is changed or removed and the last good output is kept"
    ]


ROSTER_WIDE = [*ROSTER_HEAD, "Email", "Личная таблица"]
SHEET_ID = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("active", "может быть", "expected да/нет (yes/no), got 'может быть'; counted as active"),
        ("bonus_base", "-1000", "must be >= 0; the department's base is used"),
        ("bonus_base", "много", "expected a number, got 'много'; the department's base is used"),
        ("email", "почта.example.com", "expected an e-mail address like name@example.com"),
        ("personal_spreadsheet", "not-a-spreadsheet", "expected a spreadsheet link"),
        ("personal_spreadsheet", f"../../drive/v3/files/{SHEET_ID}", "expected a spreadsheet"),
        ("personal_spreadsheet", f"{SHEET_ID}#", "expected a spreadsheet link"),
        ("personal_spreadsheet", f"{SHEET_ID}/values", "expected a spreadsheet link"),
    ],
)
def test_a_bad_optional_roster_cell_is_dropped_with_a_warning_and_the_person_stays(
    column, value, message
) -> None:
    row = [1010, "Имя", "sales", "junior", "", "", "", ""]
    row[{"active": 4, "bonus_base": 5, "email": 6, "personal_spreadsheet": 7}[column]] = value
    frames, issues = read(roster=[ROSTER_WIDE, row])
    person = frames["roster"].set_index("manager_id").loc[1010]
    assert bool(person["active"]) and math.isnan(person["bonus_base"])
    assert person["email"] == "" and person["personal_spreadsheet"] == ""
    assert issues["severity"].tolist() == ["warning"]
    source, where, shown, text = one_issue(issues)
    assert (source, where, shown) == ("Сотрудники", f"row 2, column {column}", value)
    assert text.startswith(message)


@pytest.mark.parametrize(
    "cell",
    [
        SHEET_ID,
        f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=0",
        f"https://docs.google.com/spreadsheets/d/{SHEET_ID}",
        f" https://docs.google.com/spreadsheets/u/0/d/{SHEET_ID}/edit?usp=sharing ",
    ],
)
def test_a_personal_spreadsheet_is_read_as_its_id(cell) -> None:
    row = [1010, "Имя", "sales", "junior", "", "", "a@example.com", cell]
    frames, issues = read(roster=[ROSTER_WIDE, row])
    assert issues.empty, issues.to_string()
    assert frames["roster"]["personal_spreadsheet"].tolist() == [SHEET_ID]


@pytest.mark.parametrize(
    ("seniority", "message"),
    [
        ("мидл", "unknown seniority 'мидл'; expected one of junior, senior"),
        ("", "is empty"),
    ],
)
def test_a_bad_seniority_is_a_warning_and_the_manager_is_still_scored(seniority, message) -> None:
    frames, issues = read(roster=[ROSTER_HEAD, [1010, "Имя", "sales", seniority, "", ""]])
    assert frames["roster"][["manager_id", "seniority"]].values.tolist() == [[1010, "junior"]]
    assert one_issue(issues) == (
        "Сотрудники",
        "row 2, column seniority",
        seniority,
        f"{message}; counted as junior in the matrix",
    )


def test_roster_values() -> None:
    frames, issues = read()
    roster = frames["roster"].set_index("manager_id")
    assert roster.loc[1002, "bonus_base"] == 40000
    assert math.isnan(roster.loc[1001, "bonus_base"])
    assert roster.loc[1003, ["department", "seniority", "active"]].tolist() == [
        "leadgen",
        "junior",
        False,
    ]
    assert issues.empty


def test_duplicate_roster_user_last_wins() -> None:
    frames, issues = read(
        roster=[
            ROSTER_HEAD,
            [1001, "Анна", "sales", "junior", "", ""],
            [1001, "Анна П.", "sales", "senior", "", ""],
        ]
    )
    assert frames["roster"]["name"].tolist() == ["Анна П."]
    assert one_issue(issues)[3] == "the same amoCRM user as row 2; the last row wins"


SCORE_HEAD = ["Дата", "Менеджер", "Вид", "Оценка"]


@pytest.mark.parametrize(
    ("row", "issue"),
    [
        (
            [46329, 1001, "nps", 11],
            (
                "row 2, column score",
                "11",
                "an NPS answer is a whole number 0..10; the row is skipped",
            ),
        ),
        (
            [46329, 1001, "nps", 7.5],
            (
                "row 2, column score",
                "7.5",
                "an NPS answer is a whole number 0..10; the row is skipped",
            ),
        ),
        (
            [46329, 1001, "call_quality", 120],
            ("row 2, column score", "120", "call quality is scored 0..100; the row is skipped"),
        ),
        (
            [46329, 1001, "оценка", 50],
            (
                "row 2, column kind",
                "оценка",
                "unknown score kind 'оценка'; expected one of call_quality, nps; "
                "the row is skipped",
            ),
        ),
        (
            ["завтра", 1001, "nps", 9],
            (
                "row 2, column date",
                "завтра",
                "expected a date like 2026-11-03 or 03.11.2026, got 'завтра'; the row is skipped",
            ),
        ),
    ],
)
def test_score_rows_that_become_issues(row, issue) -> None:
    frames, issues = read(scores=[SCORE_HEAD, row])
    assert frames["scores"].empty
    assert one_issue(issues) == ("Оценки", *issue)


def test_score_rows_that_parse() -> None:
    frames, issues = read(
        scores=[
            SCORE_HEAD,
            ["03.11.2026", "Анна Петрова", "Качество звонков", "85,5"],
            [46329, 1002, "NPS", 9],
            ["03.11.2026", 1002, "call_quality", "85%"],  # 85 % of the 0..100 scale
            ["03.11.2026", 1002, "call_quality", 0.9],  # "90%" in a percent cell reads 0.9
        ]
    )
    assert issues.empty
    assert frames["scores"][["kind", "score"]].values.tolist() == [
        ["call_quality", 85.5],
        ["nps", 9.0],
        ["call_quality", 85.0],
        ["call_quality", 90.0],
    ]
    assert frames["scores"]["date"].tolist() == [pd.Timestamp("2026-11-03")] * 4


def test_violations_and_appeals() -> None:
    frames, issues = read(
        violations=[
            ["Дата", "Менеджер", "Тип", "Ссылка"],
            ["2026-11-03", 1001, "Контроль", "#1"],
            ["2026-11-03", 1001, "опоздание", "#2"],
        ],
        appeals=[["Дата", "Менеджер", "Ссылка", "Итог"], ["2026-11-04", 1001, "#1", "проиграна"]],
    )
    assert frames["violations"]["type"].tolist() == ["control"]
    assert frames["appeals"]["outcome"].tolist() == ["lost"]
    assert one_issue(issues) == (
        "Нарушения",
        "row 3, column type",
        "опоздание",
        "unknown violation type 'опоздание'; expected one of control, "
        "deal, regulation; the row is skipped",
    )


def test_an_appeal_keeps_its_row_and_tab_and_a_numeric_ref_reads_as_typed() -> None:
    """The engine tells an appeal naming no violation by row (it knows the automatic ones)."""
    frames, _ = read(
        appeals=[
            ["Итог", "Ссылка", "Менеджер", "Дата"],
            ["выиграна", 4521.0, 1001, "2026-11-04"],  # a lead id in a number cell
            ["# comment", "", "", ""],
            ["pending", " Н-1 ", 1001, "2026-11-05"],
        ],
    )
    appeals = frames["appeals"]
    assert appeals[["ref", "outcome", "row", "tab"]].values.tolist() == [
        ["4521", "won", 2, "Апелляции"],
        ["Н-1", "pending", 4, "Апелляции"],
    ]


@pytest.mark.parametrize(
    ("tab", "head", "row"),
    [
        ("scores", SCORE_HEAD, ["2099-11-03", 1001, "NPS", 9]),
        ("violations", ["Дата", "Менеджер", "Тип"], ["21.11.2026", 1001, "контроль"]),
        ("appeals", ["Дата", "Менеджер", "Ссылка", "Итог"], ["2027-01-01", 1001, "7", "won"]),
    ],
)
def test_a_row_dated_after_today_waits_for_that_day(tab, head, row) -> None:
    grids = {"roster": ROSTER, tab: [head, row]}
    for key in ("plans", "scores", "violations", "appeals", "close"):
        grids.setdefault(key, [["x"]])
    parsed = parse_inputs(grids, shipped_config(), today=dt.date(2026, 11, 20))
    assert parsed.frames[tab].empty
    issues = parsed.issues[~parsed.issues["message"].str.startswith("missing column")]
    assert one_issue(issues)[1:] == (
        "row 2, column date",
        row[0],
        "the date is after today (2026-11-20): a typo, or a row that counts from that day; "
        "the row is skipped",
    )
    on_the_day = parse_inputs(grids, shipped_config(), today=dt.date(2099, 12, 31))
    assert len(on_the_day.frames[tab]) == 1


def test_row_and_tab_issues_are_shown_in_the_locale() -> None:
    from sheets_kpi.kpi.issues import Issue, issues_frame
    from sheets_kpi.tabs.run import issues_tab

    plans = [["Период", "Менеджер", "KPI", "План"], ["2026-11", "Анна Петрова", "sales_rub", -5]]
    scores = [["Дата", "Менеджер", "Вид", "Оценка"], ["вчера", "Анна Петрова", "nps", 9]]
    parsed = parse_inputs({"roster": ROSTER, "plans": plans, "scores": scores}, shipped_config())
    stray = Issue("warning", "roster", "amo_user_id 7", "7", "not in the roster")
    frame = pd.concat([parsed.issues, issues_frame([stray])]).assign(first_seen="")
    shown = {(row[1], row[2], row[4]) for row in issues_tab(frame, "ru").rows[1:]}
    assert (
        "Планы",
        "строка 2, столбец «План»",
        "план не может быть отрицательным; строка пропущена",
    ) in shown
    assert (
        "Оценки",
        "строка 2, столбец «Дата»",
        "ожидается дата вида 2026-11-03 или 03.11.2026, а не 'вчера'; строка пропущена",
    ) in shown
    assert ("Апелляции", "вкладка", label("ru", "issue.tab_missing_kept")) in shown
    assert ("Сотрудники", "ID amoCRM 7", "not in the roster") in shown
    english = set(frame["message"])
    assert "a plan cannot be negative; the row is skipped" in english
    # the place stays English in the issue: it is the key of `first_seen`, whatever the locale
    assert {"row 2, column plan", "row 2, column date", "tab"} <= set(frame["where"])
    in_english = {(row[1], row[2]) for row in issues_tab(frame, "en").rows[1:]}
    assert {("Планы", "row 2, column plan"), ("Managers", "amo_user_id 7")} <= in_english


CLOSE_HEAD = ["Период", "Отдел", "Менеджер", "Действие", "Кто"]


def test_the_close_tab_rows_that_become_issues_are_said_in_the_locale() -> None:
    from sheets_kpi.tabs.run import issues_tab

    _, issues = read(
        close=[
            CLOSE_HEAD,
            ["2026-10", "sales", "", "взломать", "Иванова"],
            ["2026-10", "", "Анна Петрова", "утвердить", "Иванова"],
            ["2026-10", "", "", "принять", "Иванова"],
            ["2026-10", "", "", "reject", "Иванова"],
            ["2026-10", "склад", "", "утвердить", "Иванова"],
        ]
    )
    frame = issues.assign(first_seen="")
    shown = {loc: [row[2:5] for row in issues_tab(frame, loc).rows[1:]] for loc in ("ru", "en")}
    assert shown["ru"] == [
        [
            "строка 2, столбец «Действие»",
            "взломать",
            "неизвестное значение 'взломать'; допустимые значения: accept, approve, reject; "
            "строка пропущена",
        ],
        [
            "строка 3, столбец «Менеджер»",
            "Анна Петрова",
            "период утверждается для всего отдела: оставьте менеджера пустым; строка пропущена",
        ],
        [
            "строка 4, столбец «Менеджер»",
            "",
            "чтобы принять корректировку, укажите менеджера; строка пропущена",
        ],
        [
            "строка 5, столбец «Менеджер»",
            "",
            "чтобы отклонить корректировку, укажите менеджера; строка пропущена",
        ],
        [
            "строка 6, столбец «Отдел»",
            "склад",
            "неизвестное значение 'склад'; допустимые значения: accounts, leadgen, quality, "
            "sales; строка пропущена",
        ],
    ]
    assert [row[2] for row in shown["en"]] == [
        "unknown close action 'взломать'; expected one of accept, approve, reject; the row is "
        "skipped",
        "a period is approved for a whole department; leave the manager empty; the row is skipped",
        "accept needs the manager; the row is skipped",
        "reject needs the manager; the row is skipped",
        "unknown department 'склад'; expected one of accounts, leadgen, quality, sales; the row "
        "is skipped",
    ]
    assert [row[0] for row in shown["en"]] == [f"row {n}, column {c}" for n, c in [
        (2, "action"), (3, "manager"), (4, "manager"), (5, "manager"), (6, "department")
    ]]  # fmt: skip


def test_duplicate_rows_and_a_future_date_are_said_in_the_locale() -> None:
    from sheets_kpi.tabs.run import issues_tab

    parsed = parse_inputs(
        {
            "roster": [*ROSTER, [1002, "Борис Козлов", "sales", "junior", "", ""]],
            "plans": [PLAN_HEAD, ["2026-11", 1001, "", "proposals", 10], ["11.2026", 1001, "",
                      "proposals", 12]],
            "scores": [SCORE_HEAD, ["2026-11-21", 1001, "NPS", 9]],
        },
        shipped_config(),
        today=dt.date(2026, 11, 20),
    )  # fmt: skip
    issues = parsed.issues[parsed.issues["source"].isin(["Сотрудники", "Планы", "Оценки"])]
    shown = [row[1:5] for row in issues_tab(issues.assign(first_seen=""), "ru").rows[1:]]
    assert shown == [
        [
            "Сотрудники",
            "строка 7, столбец «ID amoCRM»",
            "1002",
            "тот же пользователь amoCRM, что и в строке 3; действует последняя строка",
        ],
        [
            "Планы",
            "строка 3",
            "12.0",
            "план proposals на 2026-11 задан дважды (ещё в строке 2); действует последняя строка",
        ],
        [
            "Оценки",
            "строка 2, столбец «Дата»",
            "2026-11-21",
            "дата позже сегодняшней (2026-11-20): опечатка или строка, которая считается с этого "
            "дня; строка пропущена",
        ],
    ]

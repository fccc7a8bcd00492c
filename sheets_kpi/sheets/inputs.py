"""Input tabs' cells → the engine's frames and data issues (SPEC §6).

`parse_inputs` is pure: it takes the cells of one `values.batchGet` and returns the engine's
frames plus one data issue per unusable row; everything usable is kept.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.inputs import frame
from sheets_kpi.kpi.issues import Issue, issues_frame, place
from sheets_kpi.sheets import parse
from sheets_kpi.sheets.input_tabs import (
    ACTIONS,
    KINDS,
    OUTCOMES,
    SENIORITY,
    TABS,
    VIOLATION_TYPES,
    InputTab,
)
from sheets_kpi.sheets.parse import ParseError
from sheets_kpi.sheets.render import column_letter


class _RowIssue(Exception):
    def __init__(
        self, column: str, value: Any, message: str, key: str = "", args: dict | None = None
    ) -> None:
        super().__init__(message)
        self.column, self.value, self.message = column, value, message
        self.key, self.values = key, args or {}


class _Tab:
    """One tab's rows as dicts keyed by column key, with its issue sink."""

    def __init__(
        self, spec: InputTab, title: str, grid: list[list[Any]], issues: list[Issue]
    ) -> None:
        self.spec, self.title, self.issues = spec, title, issues
        self.positions: dict[str, int] = {}
        header = grid[0] if grid else []
        for index, name in enumerate(header):
            for column in spec.columns:
                if parse.normalise(name) not in column.names():
                    continue
                if column.key not in self.positions:
                    self.positions[column.key] = index
                elif self.positions[column.key] != index:  # a copy-pasted column, say
                    first = column_letter(self.positions[column.key])
                    self.said(
                        "warning",
                        place("header_column", letter=column_letter(index)),
                        name,
                        "duplicate_column",
                        first=first,
                    )
        self.rows = grid[1:]
        self.row = 0  # the sheet row number `each` is building
        self.missing = [c for c in spec.columns if c.required and c.key not in self.positions]
        self.emptied = not any(any(not parse.is_blank(v) for v in row) for row in grid)
        if self.missing and not self.emptied:  # an emptied tab gets its own issue
            names = ", ".join(spec.header(c.key, title) for c in self.missing)
            self.said("error", place("header"), "", "missing_columns", names=names)

    def issue(self, severity: str, where: str, value: Any, message: str) -> None:
        shown = "" if value is None else str(value)
        self.issues.append(Issue(severity, self.title, where, shown, message))

    def said(self, severity: str, where: str, value: Any, key: str, **args: object) -> None:
        """An issue in the locale's words: `issue.<key>` of `sheets_kpi.locale`."""
        shown = "" if value is None else str(value)
        self.issues.append(Issue.said(severity, self.title, where, shown, key, **args))

    def records(self) -> list[tuple[int, dict[str, Any]]]:
        """(sheet row number, {column key: cell}) of the non-blank, non-comment rows."""
        if self.missing:
            return []
        out = []
        lead = self.spec.columns[0].key  # where init's example row has its `# `
        for offset, row in enumerate(self.rows, start=2):
            cells = {key: row[i] if i < len(row) else None for key, i in self.positions.items()}
            filled = [v for v in row if not parse.is_blank(v)]
            if not filled or is_comment(filled[0]) or is_comment(cells.get(lead) or ""):
                continue
            out.append((offset, cells))
        return out

    def warn(self, column: str, value: Any, key: str, **args: object) -> None:
        """A problem in the row being built that does not stop the row from being used."""
        self.said("warning", place("cell", row=self.row, column=column), value, key, **args)

    def each(self, build: Callable[[dict[str, Any]], dict[str, Any]]) -> list[tuple[int, dict]]:
        rows = []
        for number, cells in self.records():
            self.row = number
            try:
                rows.append((number, build(cells)))
            except _RowIssue as problem:
                where = place("cell", row=number, column=problem.column)
                if problem.key:  # its locale text says the row is skipped
                    self.said("error", where, problem.value, problem.key, **problem.values)
                    continue
                self.issue("error", where, problem.value, f"{problem.message}; the row is skipped")
        return rows


def roster_cells(
    title: str, grid: list[list[Any]]
) -> tuple[dict[str, int], list[tuple[int, dict[str, Any]]]]:
    """The roster's column positions by key and its (sheet row, cells by key) rows, read as
    the cycle reads them (`init --personal` writes into single cells of it)."""
    tab = _Tab(TABS[0], title, grid, [])
    return tab.positions, tab.records()


def is_comment(first: Any) -> bool:
    """`# ...` (a hash and a space, as in init's example rows) or a lone `#`; not a reference
    like `#4521` nor a formula error like `#N/A`, which must still be read."""
    text = str(first).strip()
    return text == "#" or text.startswith("# ")


def field(
    cells: dict[str, Any], key: str, parser: Callable[[Any], Any], required: bool = True
) -> Any:
    value = cells.get(key)
    if parse.is_blank(value):
        if required:
            raise _RowIssue(key, value, "is empty", "cell_empty")
        return None
    try:
        return parser(value)
    except ParseError as err:
        raise _RowIssue(key, value, str(err), err.key, err.values) from None


class CloseAction(NamedTuple):
    """A row of the close tab: approve a period (all departments when `department` is None), or
    accept / reject the proposed adjustment of one manager. `key` tells rows apart across
    cycles, so each accept or reject is acted on once."""

    row: int
    period: str
    department: str | None
    manager_id: int | None
    action: str
    who: str
    comment: str
    key: str


class ParsedInputs(NamedTuple):
    frames: dict[str, pd.DataFrame]
    issues: pd.DataFrame
    actions: tuple[CloseAction, ...] = ()
    #: Input tabs nothing could be read from whose loss must not reach the output: the cycle
    #: keeps the last good output and writes only the data issues.
    unreadable: tuple[str, ...] = ()


def parse_inputs(
    grids: dict[str, list[list[Any]]],
    config: Config,
    titles: dict[str, str] | None = None,
    today: dt.date | None = None,
) -> ParsedInputs:
    """`grids` maps input tab key → its cells (row 1 = header), missing tabs absent;
    `titles` the tabs' actual titles (either locale) for the issues' `source`; with `today`
    (the cycle's local date) a score, violation or appeal dated later is not used yet."""
    issues: list[Issue] = []
    tabs = {}
    for spec in TABS:
        title = (titles or {}).get(spec.key) or spec.title(config.locale)
        tabs[spec.key] = tab = _Tab(spec, title, grids.get(spec.key, []), issues)
        if spec.key not in grids:
            tab.said("error", place("tab"), "", "tab_missing")
        elif tab.emptied:
            tab.said("error", place("tab"), "", "tab_emptied")
    roster = _roster(tabs["roster"], config)
    unreadable = tuple(
        key
        for key, tab in tabs.items()
        if key in KEPT_WHEN_LOST
        and (key not in grids or tab.missing or tab.emptied or (key == "roster" and not roster))
    )
    for key in unreadable:
        _keep_last_good(tabs[key], issues)
    people = _People(roster)
    frames = {
        "roster": frame("roster", roster),
        "plans": frame("plans", _plans(tabs["plans"], config, people)),
        "scores": frame("scores", _scores(tabs["scores"], config, people, today)),
        "violations": frame(
            "violations",
            _simple(tabs["violations"], people, "type", VIOLATION_TYPES, "violation type", today),
        ),
        "appeals": frame(
            "appeals",
            _simple(tabs["appeals"], people, "outcome", OUTCOMES, "appeal outcome", today),
        ),
    }
    actions = tuple(_close(tabs["close"], config, people))
    return ParsedInputs(frames, issues_frame(issues), actions, unreadable)


KEEP_LAST_GOOD = "no manager tab is changed or removed and the last good output is kept"
#: The input tabs every number depends on: one that is lost (missing, renamed, emptied, its
#: header broken; for the roster also no manager readable) keeps the last good output. The
#: close tab is not among them: without it nothing is approved, and no number changes.
KEPT_WHEN_LOST = ("roster", "plans", "scores", "violations", "appeals")


def _keep_last_good(tab: _Tab, issues: list[Issue]) -> None:
    """One error on an input tab that is lost: its tab-level error says the output is kept,
    or one is added that says so."""
    for index, issue in enumerate(issues):
        if issue.source == tab.title and issue.where in (place("tab"), place("header")):
            key = f"{issue.key}_kept" if issue.key else ""  # its locale text says so too
            issues[index] = replace(issue, message=f"{issue.message}; {KEEP_LAST_GOOD}", key=key)
            return
    tab.said("error", place("tab"), "", "no_manager_kept")


def _departments(config: Config) -> dict[str, str]:
    names: dict[str, str] = {}
    for dept in config.departments:
        for spelling in (dept.id, dept.title, dept.title_en):
            if spelling:
                names[parse.normalise(spelling)] = dept.id
    return names


def _roster(tab: _Tab, config: Config) -> list[dict]:
    departments = _departments(config)

    def build(cells: dict[str, Any]) -> dict[str, Any]:
        user_id = field(cells, "amo_user_id", parse.number)
        if user_id != int(user_id) or user_id <= 0:
            raise _RowIssue(
                "amo_user_id", cells["amo_user_id"], "must be a whole amoCRM user id", "not_user_id"
            )
        base = optional(tab, cells, "bonus_base", _bonus_base)
        active = optional(tab, cells, "active", parse.boolean)
        return {
            "manager_id": int(user_id),
            "name": str(field(cells, "name", str)).strip(),
            "department": field(
                cells, "department", lambda v: parse.choice(v, departments, "department")
            ),
            "seniority": _seniority(tab, cells),
            "email": optional(tab, cells, "email", _email) or "",
            "personal_spreadsheet": optional(
                tab, cells, "personal_spreadsheet", parse.spreadsheet_id
            )
            or "",
            "active": active is not False,
            "bonus_base": float("nan") if base is None else base,
        }

    rows = tab.each(build)
    seen: dict[int, int] = {}
    for number, row in rows:
        if row["manager_id"] in seen:
            tab.said(
                "warning",
                place("cell", row=number, column="amo_user_id"),
                row["manager_id"],
                "duplicate_user",
                first=seen[row["manager_id"]],
            )
        seen[row["manager_id"]] = number
    return list({row["manager_id"]: row for _, row in rows}.values())


def optional(tab: _Tab, cells: dict[str, Any], key: str, parser: Callable[[Any], Any]) -> Any:
    """An optional cell: blank → None; a bad value is dropped with a warning saying what is
    used instead (`issue.<column>_<reason>`: the department's base, active, empty, the main
    spreadsheet), and the row is kept (one bad cell must not cost anyone their tab)."""
    value = cells.get(key)
    if parse.is_blank(value):
        return None
    try:
        return parser(value)
    except ParseError as err:
        tab.warn(key, value, f"{key}_{err.key}", **err.values)
        return None


def _bonus_base(value: Any) -> float:
    base = parse.number(value)
    if base < 0:
        raise ParseError("must be >= 0", "negative")
    return base


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _email(value: Any) -> str:
    text = str(value).strip()
    if not _EMAIL.fullmatch(text):
        raise ParseError("expected an e-mail address like name@example.com", "not_email")
    return text


def _seniority(tab: _Tab, cells: dict[str, Any]) -> str:
    """Only the Матрица uses seniority: a blank or unknown one must not cost anyone a bonus."""
    value = cells.get("seniority")
    try:
        return parse.choice(value, SENIORITY, "seniority")
    except ParseError as err:
        if parse.is_blank(value):
            tab.warn("seniority", value, "seniority_empty")
        else:
            tab.warn("seniority", value, f"seniority_{err.key}", **err.values)
        return "junior"


class _People:
    """Find a manager by amoCRM id or exact name (case and spaces ignored)."""

    def __init__(self, roster: list[dict]) -> None:
        self.ids = {row["manager_id"]: row for row in roster}
        self.by_name: dict[str, list[dict]] = {}
        for row in roster:
            self.by_name.setdefault(parse.normalise(row["name"]), []).append(row)

    def find(self, value: Any) -> dict:
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and int(value) in self.ids
        ):
            return self.ids[int(value)]
        text = str(value).strip()
        if text.isdigit() and int(text) in self.ids:
            return self.ids[int(text)]
        matches = self.by_name.get(parse.normalise(text), [])
        if len(matches) > 1:
            ids = ", ".join(str(m["manager_id"]) for m in matches)
            raise ParseError(
                f"{text!r} matches several managers (ids {ids}); use the id",
                "ambiguous_manager",
                name=repr(text),
                ids=ids,
            )
        if not matches:
            raise ParseError(
                f"unknown manager {text!r}: not in the roster by id or exact name",
                "unknown_manager",
                name=repr(text),
            )
        return matches[0]


def _plans(tab: _Tab, config: Config, people: _People) -> list[dict]:
    departments = _departments(config)
    units = {(d.id, k.id): k.unit for d in config.departments for k in d.kpis}

    def build(cells: dict[str, Any]) -> dict[str, Any]:
        month = field(cells, "period", parse.period)
        manager = field(cells, "manager", people.find, required=False)
        department = (
            manager["department"]
            if manager
            else field(cells, "department", lambda v: parse.choice(v, departments, "department"))
        )
        kpi = field(cells, "kpi", lambda v: _kpi(v, department, config))
        parser = parse.share if units[(department, kpi)] == "share" else parse.number
        plan = field(cells, "plan", parser)
        if plan < 0:
            raise _RowIssue("plan", cells["plan"], "a plan cannot be negative", "negative_plan")
        return {
            "period": month,
            "manager_id": manager["manager_id"] if manager else None,
            "department": department,
            "kpi": kpi,
            "plan": plan,
        }

    rows = tab.each(build)
    latest: dict[tuple, tuple[int, dict]] = {}
    for number, row in rows:
        key = (row["period"], row["manager_id"], row["department"], row["kpi"])
        if key in latest:
            tab.said(
                "warning",
                place("row", row=number),
                row["plan"],
                "duplicate_plan",
                kpi=row["kpi"],
                period=row["period"],
                first=latest[key][0],
            )
        latest[key] = (number, row)
    return [row for _, row in latest.values()]


def _kpi(value: Any, department: str, config: Config) -> str:
    dept = config.department(department)
    options = {}
    for kpi in dept.kpis:
        for spelling in (kpi.id, kpi.title, kpi.title_en):
            if spelling:
                options[parse.normalise(spelling)] = kpi.id
    return parse.choice(value, options, f"KPI of {department}")


def _dated(cells: dict[str, Any], today: dt.date | None) -> dt.date:
    """The row's date; one after `today` is a typo or not yet due (a score is of a call that
    happened), so the row waits for that day."""
    day = field(cells, "date", parse.date)
    if today is not None and day > today:
        raise _RowIssue(
            "date",
            cells["date"],
            f"the date is after today ({today}): a typo, or a row that counts from that day",
            "after_today",
            {"today": today},
        )
    return day


def _scores(tab: _Tab, config: Config, people: _People, today: dt.date | None) -> list[dict]:
    low, high = config.analytics.call_quality_scale

    def build(cells: dict[str, Any]) -> dict[str, Any]:
        day = _dated(cells, today)
        manager = field(cells, "manager", people.find)
        kind = field(cells, "kind", lambda v: parse.choice(v, KINDS, "score kind"))
        score = field(cells, "score", parse.number)
        if kind == "call_quality" and high > 1 and 0 < score < 1:
            # "85%" typed (text, or a percent cell Sheets stores as 0.85): 85 % of the scale
            score = low + score * (high - low)
        if kind == "nps" and (score != int(score) or not 0 <= score <= 10):
            raise _RowIssue(
                "score", cells["score"], "an NPS answer is a whole number 0..10", "nps_range"
            )
        if kind == "call_quality" and not low <= score <= high:
            raise _RowIssue(
                "score",
                cells["score"],
                f"call quality is scored {low:g}..{high:g}",
                "call_quality_range",
                {"low": f"{low:g}", "high": f"{high:g}"},
            )
        return {
            "date": pd.Timestamp(day),
            "manager_id": manager["manager_id"],
            "kind": kind,
            "score": score,
            "ref": str(cells.get("ref") or ""),
        }

    return [row for _, row in tab.each(build)]


def _simple(
    tab: _Tab,
    people: _People,
    key: str,
    options: dict[str, str],
    what: str,
    today: dt.date | None,
) -> list[dict]:
    """Violations and appeals rows; each keeps its sheet row and tab, so that an appeal naming
    no violation (known only once the engine has the automatic ones) can be told by row."""

    def build(cells: dict[str, Any]) -> dict[str, Any]:
        return {
            "date": pd.Timestamp(_dated(cells, today)),
            "manager_id": field(cells, "manager", people.find)["manager_id"],
            key: field(cells, key, lambda v: parse.choice(v, options, what)),
            "ref": _ref(cells.get("ref")),
            "row": tab.row,
            "tab": tab.title,
        }

    return [row for _, row in tab.each(build)]


def _ref(value: Any) -> str:
    """A reference as typed: a whole number typed in a number cell reads as `4521`, not
    `4521.0`; a blank is empty."""
    if parse.is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _close(tab: _Tab, config: Config, people: _People) -> list[CloseAction]:
    departments = _departments(config)

    def build(cells: dict[str, Any]) -> dict[str, Any]:
        manager = field(cells, "manager", people.find, required=False)
        department = field(
            cells,
            "department",
            lambda v: parse.choice(v, departments, "department"),
            required=False,
        )
        action = field(cells, "action", lambda v: parse.choice(v, ACTIONS, "close action"))
        if action != "approve" and manager is None:
            raise _RowIssue(
                "manager",
                cells.get("manager"),
                f"{action} needs the manager",
                f"{action}_needs_manager",
            )
        if action == "approve" and manager is not None:
            raise _RowIssue(
                "manager",
                cells.get("manager"),
                "a period is approved for a whole department; leave the manager empty",
                "approve_with_manager",
            )
        return {
            "period": field(cells, "period", parse.period),
            "department": department or (manager["department"] if manager else None),
            "manager_id": manager["manager_id"] if manager else None,
            "action": action,
            "who": str(field(cells, "who", str)).strip(),
            "comment": str(cells.get("comment") or "").strip(),
        }

    seen: dict[tuple, int] = {}
    actions = []
    for number, row in tab.each(build):
        same = tuple(row.values())
        seen[same] = seen.get(same, 0) + 1
        key = "|".join(map(str, (*same, seen[same])))
        actions.append(CloseAction(number, key=key, **row))
    return actions

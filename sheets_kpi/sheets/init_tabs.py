"""`sheets-kpi init`: create or upgrade the input tabs without touching a supervisor's rows.

Missing tabs are created with a header, a frozen header row, drop-downs, number ranges and an
example row (a `# ` comment the reader skips). Existing tabs only gain missing header columns
(with their drop-downs). The roster gains amoCRM users that are not listed yet. Nothing to do
→ no write request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.sheets import parse
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.input_tabs import TABS, InputTab, find_title
from sheets_kpi.sheets.parse import ParseError
from sheets_kpi.sheets.render import cell, locale_free, sheet_id_for
from sheets_kpi.sheets.writer import DEFAULT_TAB_TITLES, untouched

#: The words of the example rows: a person, their e-mail and the note.
EXAMPLE_WORDS = {
    "ru": ("Иван Петров", "ivan@example.com", "пример"),
    "en": ("John Smith", "john@example.com", "example"),
}
YES_NO = {"ru": ("да", "нет"), "en": ("yes", "no")}


@dataclass
class InitReport:
    created: list[str] = field(default_factory=list)
    #: The empty default tab of a new spreadsheet (`Sheet1`), removed once other tabs exist.
    removed: list[str] = field(default_factory=list)
    columns_added: dict[str, list[str]] = field(default_factory=dict)
    managers_added: int = 0
    #: Active amoCRM users left out because their group is no configured department.
    users_skipped: list[str] = field(default_factory=list)
    requests: int = 0


def roster_rows(
    users: pd.DataFrame, config: Config, skipped: list[str] | None = None
) -> list[dict[str, Any]]:
    """amoCRM users whose group is a configured department, as roster rows.

    Seniority from the amoCRM rank: master → senior, newbie and candidate → junior.
    """
    departments = {}
    for dept in config.departments:
        for spelling in (dept.id, dept.title, dept.title_en):
            if spelling:
                departments[parse.normalise(spelling)] = dept.id
    yes, no = YES_NO.get(config.locale, YES_NO["ru"])
    rows = []
    for user in users.itertuples():
        department = departments.get(parse.normalise(user.group_name))
        if not department:
            if skipped is not None and user.is_active:
                skipped.append(str(user.name))
            continue
        rows.append(
            {
                "amo_user_id": int(user.user_id),
                "name": user.name,
                "department": department,
                "seniority": "senior" if user.rank == "master" else "junior",
                "email": user.email or "",
                "personal_spreadsheet": "",
                "active": yes if user.is_active else no,
                "bonus_base": "",
            }
        )
    return rows


def example_rows(locale: str, month: str) -> dict[str, list[Any]]:
    """A `# ` example row per input tab (the reader skips it), dated in `month` (YYYY-MM)."""
    person, email, note = EXAMPLE_WORDS.get(locale, EXAMPLE_WORDS["ru"])
    yes = YES_NO.get(locale, YES_NO["ru"])[0]
    return {
        "roster": ["# 123456", person, "sales", "junior", email, "", yes, ""],
        "plans": [f"# {month}", "", "sales", "sales_rub", 1500000],
        "scores": [f"# {month}-03", person, "call_quality", 85, "", note],
        "violations": [f"# {month}-03", person, "control", "N-1", note],
        # an appeal names its violation: that violation's ref, or an automatic one's lead id
        "appeals": [f"# {month}-04", person, "N-1", "pending"],
        "close": [f"# {month}", "sales", "", "approve", person, note],
    }


def init_inputs(
    gateway: SheetsGateway, config: Config, users: pd.DataFrame, now: datetime
) -> InitReport:
    """Two reads (metadata, one batchGet) and at most one batchUpdate; none when up to date.

    Example rows are dated in the month of `now` in the configured time zone.
    """
    report = InitReport()
    metadata = gateway.metadata(fresh=True)
    sheets = {s["properties"]["title"]: s for s in metadata["sheets"]}
    taken = {s["properties"]["sheetId"] for s in sheets.values()}
    inputs = {title for spec in TABS if (title := find_title(spec, list(sheets)))}
    candidates = [t for t in sheets if t in DEFAULT_TAB_TITLES and t not in inputs]
    grids, others = gateway.read_grids_and(candidates)
    people = roster_rows(users, config, report.users_skipped)
    examples = example_rows(config.locale, now.astimezone(config.zone).strftime("%Y-%m"))
    requests: list[dict[str, Any]] = []
    for spec in TABS:
        title = find_title(spec, list(sheets))
        headers = _headers(spec, config.locale)
        grid = grids.get(spec.key, []) if title else []
        if not grid:  # a new tab, or one that exists but is still empty
            body = [[r[c.key] for c in spec.columns] for r in people if spec.key == "roster"]
            if not body:
                body = [examples[spec.key]]
            if title is None:
                title = spec.title(config.locale)
                sheet_id = sheet_id_for(title, taken)
                taken.add(sheet_id)
                requests.append(_add_sheet(sheet_id, title, len(spec.columns), len(body)))
                report.created.append(title)
            else:
                sheet = sheets[title]
                sheet_id = sheet["properties"]["sheetId"]
                requests += _grow(sheet, len(body) + 1, len(spec.columns))
                report.columns_added[title] = list(headers.values())
            requests.append(_cells(sheet_id, 0, 0, [list(headers.values()), *body]))
            requests += _decorate(spec, sheet_id, config)
            report.managers_added += len(people) if spec.key == "roster" else 0
            continue
        sheet = sheets[title]
        sheet_id = sheet["properties"]["sheetId"]
        # Missing columns go after the widest row, never over a supervisor's unlabelled notes.
        width = max(len(row) for row in grid)
        header = [*grid[0], *[None] * (width - len(grid[0]))]
        present = {parse.normalise(h) for h in header}
        missing = [c for c in spec.columns if not (c.names() & present)]
        names = [headers[c.key] for c in missing]
        new = _new_roster_rows(header + names, grid, people, spec) if spec.key == "roster" else []
        if missing or new:
            requests += _grow(sheet, len(grid) + len(new), width + len(names))
        if missing:
            requests.append(_cells(sheet_id, 0, width, [names]))
            placed = {c.key: width + i for i, c in enumerate(missing)}
            requests += _validations(placed, sheet_id, config)
            report.columns_added[title] = names
        if new:
            requests.append(_cells(sheet_id, len(grid), 0, new))
            report.managers_added += len(new)
    for title in candidates:
        sheet = sheets[title]
        if (report.created or len(sheets) > 1) and untouched(sheet, others.get(title, [])):
            requests.append({"deleteSheet": {"sheetId": sheet["properties"]["sheetId"]}})
            report.removed.append(title)
    if requests:
        gateway.update({"requests": requests})
        report.requests = 1
    return report


def _headers(spec: InputTab, locale: str) -> dict[str, str]:
    return {c.key: (c.en if locale == "en" else c.ru) for c in spec.columns}


def _new_roster_rows(
    header: list[Any], grid: list[list[Any]], people: list[dict[str, Any]], spec: InputTab
) -> list[list[Any]]:
    """Rows for the users not listed yet, each value under its column wherever it is."""
    names = [parse.normalise(h) for h in header]
    positions = {
        c.key: next((i for i, h in enumerate(names) if h in c.names()), None) for c in spec.columns
    }
    id_col = positions["amo_user_id"]
    listed = {_user_id(row[id_col]) for row in grid[1:] if id_col is not None and len(row) > id_col}
    rows = []
    for person in people:
        if person["amo_user_id"] in listed:
            continue
        row: list[Any] = [None] * len(header)
        for key, index in positions.items():
            if index is not None:
                row[index] = person[key]
        rows.append(row)
    return rows


def _user_id(value: Any) -> int | None:
    try:
        return int(parse.number(value))
    except (ParseError, ValueError, OverflowError):
        return None


def _cells(sheet_id: int, row: int, col: int, values: list[list[Any]]) -> dict[str, Any]:
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": col},
            "rows": [{"values": [cell(v) for v in r]} for r in values],
            "fields": "userEnteredValue",
        }
    }


def _grow(sheet: dict[str, Any], rows: int, cols: int) -> list[dict[str, Any]]:
    grid = sheet["properties"]["gridProperties"]
    sheet_id = sheet["properties"]["sheetId"]
    out = []
    if rows > grid["rowCount"]:
        out.append(
            {
                "appendDimension": {
                    "sheetId": sheet_id,
                    "dimension": "ROWS",
                    "length": rows - grid["rowCount"] + 100,
                }
            }
        )
    if cols > grid["columnCount"]:
        out.append(
            {
                "appendDimension": {
                    "sheetId": sheet_id,
                    "dimension": "COLUMNS",
                    "length": cols - grid["columnCount"],
                }
            }
        )
    return out


def _add_sheet(sheet_id: int, title: str, width: int, rows: int) -> dict[str, Any]:
    return {
        "addSheet": {
            "properties": {
                "sheetId": sheet_id,
                "title": title,
                "gridProperties": {"rowCount": max(1000, rows + 100), "columnCount": width},
            }
        }
    }


def _decorate(spec: InputTab, sheet_id: int, config: Config) -> list[dict[str, Any]]:
    """Frozen bold header, drop-downs and the score range."""
    placed = {column.key: index for index, column in enumerate(spec.columns)}
    return [*_header_format(sheet_id), *_validations(placed, sheet_id, config)]


def _header_format(sheet_id: int) -> list[dict[str, Any]]:
    return [
        {
            "updateSheetProperties": {
                "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": 1}},
                "fields": "gridProperties.frozenRowCount",
            }
        },
        {
            "repeatCell": {
                "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1},
                "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                "fields": "userEnteredFormat(textFormat)",
            }
        },
    ]


def _validations(placed: dict[str, int], sheet_id: int, config: Config) -> list[dict[str, Any]]:
    """Drop-downs and the score range for the columns at `placed` (column key → index).

    Advisory (`strict` off): a supervisor can still type something else, and the reader reports it.
    """
    requests: list[dict[str, Any]] = []
    choices = {
        "department": [d.id for d in config.departments],
        "seniority": ["junior", "senior"],
        "kind": ["call_quality", "nps"],
        "type": ["deal", "control", "regulation"],
        "outcome": ["won", "lost", "pending"],
        "action": ["approve", "accept", "reject"],
        "active": list(YES_NO.get(config.locale, YES_NO["ru"])),
    }
    low, high = config.analytics.call_quality_scale
    hint = (
        f"call_quality {low:g}–{high:g}, nps 0–10"
        if config.locale == "en"
        else f"call_quality (качество звонков) {low:g}–{high:g}, nps 0–10"
    )
    for key, index in placed.items():
        rule: dict[str, Any] | None = None
        if key in choices:
            rule = {
                "condition": {
                    "type": "ONE_OF_LIST",
                    "values": [{"userEnteredValue": v} for v in choices[key]],
                },
                "showCustomUi": True,
                "strict": False,
            }
        elif key == "score":
            bounds = (min(low, 0), max(high, 10))
            rule = {
                "condition": {
                    "type": "NUMBER_BETWEEN",
                    "values": [{"userEnteredValue": _number(v)} for v in bounds],
                },
                "strict": False,
                "inputMessage": hint,
            }
        if rule:
            requests.append(
                {
                    "setDataValidation": {
                        "range": {
                            "sheetId": sheet_id,
                            "startRowIndex": 1,
                            "startColumnIndex": index,
                            "endColumnIndex": index + 1,
                        },
                        "rule": rule,
                    }
                }
            )
    return requests


def _number(value: float) -> str:
    """A condition value every spreadsheet locale parses alike (`100`, or `=11/2` for 5.5)."""
    text = locale_free(value)
    return f"={text}" if "/" in text else text

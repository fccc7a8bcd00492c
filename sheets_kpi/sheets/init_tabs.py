"""`sheets-kpi init`: create or upgrade the input tabs without touching a supervisor's rows.

Missing tabs are created with a header, a frozen header row, drop-downs, number ranges and an
example row (a `#` comment the reader skips). Existing tabs only gain missing header columns.
The roster gains amoCRM users that are not listed yet. Nothing to do → no write request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.sheets import parse
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.inputs import TABS, InputTab, find_title
from sheets_kpi.sheets.layout import cell, sheet_id_for

EXAMPLES = {
    "plans": ["# 2026-11", "", "sales", "sales_rub", 1500000],
    "scores": ["# 2026-11-03", "Иван Петров", "call_quality", 85, "", "пример"],
    "violations": ["# 2026-11-03", "Иван Петров", "control", "", "пример"],
    "appeals": ["# 2026-11-04", "Иван Петров", "", "pending"],
}


@dataclass
class InitReport:
    created: list[str] = field(default_factory=list)
    columns_added: dict[str, list[str]] = field(default_factory=dict)
    managers_added: int = 0
    requests: int = 0


def roster_rows(users: pd.DataFrame, config: Config) -> list[dict[str, Any]]:
    """amoCRM users whose group is a configured department, as roster rows."""
    departments = {}
    for dept in config.departments:
        for spelling in (dept.id, dept.title, dept.title_en):
            if spelling:
                departments[parse.normalise(spelling)] = dept.id
    rows = []
    for user in users.itertuples():
        department = departments.get(parse.normalise(user.group_name))
        if department:
            rows.append(
                {
                    "amo_user_id": int(user.user_id),
                    "name": user.name,
                    "department": department,
                    "seniority": "senior" if user.rank == "master" else "junior",
                    "email": user.email or "",
                    "personal_spreadsheet": "",
                    "active": "да" if user.is_active else "нет",
                    "bonus_base": "",
                }
            )
    return rows


def init_inputs(gateway: SheetsGateway, config: Config, users: pd.DataFrame) -> InitReport:
    report = InitReport()
    metadata = gateway.metadata(fresh=True)
    sheets = {s["properties"]["title"]: s for s in metadata["sheets"]}
    taken = {s["properties"]["sheetId"] for s in sheets.values()}
    grids = gateway.read_grids()
    requests: list[dict[str, Any]] = []
    for spec in TABS:
        title = find_title(spec, list(sheets))
        headers = _headers(spec, config.locale)
        if title is None:
            title = spec.title(config.locale)
            sheet_id = sheet_id_for(title, taken)
            taken.add(sheet_id)
            body = (
                [[row[c.key] for c in spec.columns] for row in roster_rows(users, config)]
                if spec.key == "roster"
                else [EXAMPLES.get(spec.key, [])]
            )
            requests += _create(spec, title, sheet_id, headers, body, config)
            report.created.append(title)
            report.managers_added += len(body) if spec.key == "roster" else 0
            continue
        sheet = sheets[title]
        sheet_id = sheet["properties"]["sheetId"]
        grid = grids.get(spec.key, [])
        header = grid[0] if grid else []
        present = {parse.normalise(h) for h in header}
        missing = [c for c in spec.columns if not (c.names() & present)]
        if missing:
            names = [headers[c.key] for c in missing]
            requests += _grow(sheet, len(grid), len(header) + len(missing))
            requests.append(_cells(sheet_id, 0, len(header), [names]))
            report.columns_added[title] = names
        if spec.key == "roster":
            new = _new_roster_rows(grid, users, config, spec, missing)
            if new:
                requests += _grow(sheet, len(grid) + len(new), max(len(header), len(spec.columns)))
                requests.append(_cells(sheet_id, max(len(grid), 1), 0, new))
                report.managers_added += len(new)
    if requests:
        gateway.update({"requests": requests})
        report.requests = 1
    return report


def _headers(spec: InputTab, locale: str) -> dict[str, str]:
    return {c.key: (c.en if locale == "en" else c.ru) for c in spec.columns}


def _new_roster_rows(
    grid: list[list[Any]], users: pd.DataFrame, config: Config, spec: InputTab, missing: list
) -> list[list[Any]]:
    if not grid or missing:
        return []
    header = [parse.normalise(h) for h in grid[0]]
    id_col = next((i for i, h in enumerate(header) if h in spec.columns[0].names()), None)
    if id_col is None:
        return []
    listed = {str(row[id_col]).strip().split(".")[0] for row in grid[1:] if len(row) > id_col}
    positions = {
        c.key: next((i for i, h in enumerate(header) if h in c.names()), None) for c in spec.columns
    }
    width = len(grid[0])
    rows = []
    for user in roster_rows(users, config):
        if str(user["amo_user_id"]) in listed:
            continue
        row: list[Any] = [None] * width
        for key, index in positions.items():
            if index is not None:
                row[index] = user[key]
        rows.append(row)
    return rows


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


def _create(
    spec: InputTab,
    title: str,
    sheet_id: int,
    headers: dict[str, str],
    body: list[list[Any]],
    config: Config,
) -> list[dict[str, Any]]:
    width = len(spec.columns)
    requests: list[dict[str, Any]] = [
        {
            "addSheet": {
                "properties": {
                    "sheetId": sheet_id,
                    "title": title,
                    "gridProperties": {
                        "rowCount": max(1000, len(body) + 100),
                        "columnCount": width,
                        "frozenRowCount": 1,
                    },
                }
            }
        },
        _cells(sheet_id, 0, 0, [[headers[c.key] for c in spec.columns], *body]),
        {
            "repeatCell": {
                "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1},
                "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                "fields": "userEnteredFormat(textFormat)",
            }
        },
    ]
    choices = {
        "department": [d.id for d in config.departments],
        "seniority": ["junior", "senior"],
        "kind": ["call_quality", "nps"],
        "type": ["deal", "control", "regulation"],
        "outcome": ["won", "lost", "pending"],
        "active": ["да", "нет"],
    }
    top = max(config.analytics.call_quality_scale[1], 10)
    for index, column in enumerate(spec.columns):
        rule: dict[str, Any] | None = None
        if column.key in choices:
            rule = {
                "condition": {
                    "type": "ONE_OF_LIST",
                    "values": [{"userEnteredValue": v} for v in choices[column.key]],
                },
                "showCustomUi": True,
                "strict": False,
            }
        elif column.key == "score":
            rule = {
                "condition": {
                    "type": "NUMBER_BETWEEN",
                    "values": [{"userEnteredValue": "0"}, {"userEnteredValue": f"{top:g}"}],
                },
                "strict": False,
                "inputMessage": "call_quality 0–100, nps 0–10",
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

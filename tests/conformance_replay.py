"""Replay gspread's recorded real Google traffic against the Sheets emulator (SHEETS_API.md §5).

Ids differ between the recording and the emulator, so every id the emulator hands out is mapped
to the recorded one as replies come in, and later requests are rewritten with it. Responses are
compared semantically: same status, same JSON shape (keys at every level, minus presentation
keys the emulator does not model) and the same values where they are deterministic (ranges,
cell values, counts, titles, grid sizes, error statuses).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

CASSETTES = Path(__file__).parent / "conformance" / "gspread-cassettes"
HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
ID_KEYS = {"spreadsheetId", "id", "sheetId", "protectedRangeId", "namedRangeId", "chartId"}
#: Presentation or account details the emulator does not model.
IGNORED_KEYS = {
    "spreadsheetTheme",
    "defaultFormat",
    "createdTime",
    "modifiedTime",
    "kind",
    "incompleteSearch",
    "details",
    "errors",
    "timeZone",
    "locale",
    "autoRecalc",
    "userEnteredFormat",
    "effectiveFormat",
    "backgroundColorStyle",
    "pixelSize",
    "columnMetadata",
    "rowMetadata",
    "tabColorStyle",
    "tabColor",
    "editors",
    "requestingUserCanEdit",
    "namedRanges",
    "message",
    "textFormatRuns",
    "formattedValue",
    "effectiveValue",
}
EXACT_KEYS = {
    "range",
    "values",
    "majorDimension",
    "updatedRange",
    "updatedRows",
    "updatedColumns",
    "updatedCells",
    "clearedRange",
    "clearedRanges",
    "tableRange",
    "title",
    "rowCount",
    "columnCount",
    "frozenRowCount",
    "status",
    "code",
    "totalUpdatedRows",
    "totalUpdatedColumns",
    "totalUpdatedCells",
    "name",
}


@dataclass
class Replay:
    base: str
    ids: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    exchanges: int = 0

    def rewrite(self, text: str) -> str:
        for recorded, ours in sorted(self.ids.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(recorded, ours)
        return text

    def learn(self, recorded: Any, ours: Any) -> None:
        if isinstance(recorded, dict) and isinstance(ours, dict):
            for key, value in recorded.items():
                if key in ID_KEYS and key in ours and not isinstance(value, dict | list):
                    if (
                        str(value) != str(ours[key])
                        and str(value) not in self.ids
                        and len(str(value)) >= 5
                    ):
                        self.ids[str(value)] = str(ours[key])
                elif key in ours:
                    self.learn(value, ours[key])
        elif isinstance(recorded, list) and isinstance(ours, list):
            for a, b in zip(recorded, ours, strict=False):
                self.learn(a, b)


def compare(recorded: Any, ours: Any, path: str, problems: list[str]) -> None:
    if isinstance(recorded, dict) and isinstance(ours, dict):
        mine = {k for k in ours if k not in IGNORED_KEYS}
        theirs = {k for k in recorded if k not in IGNORED_KEYS}
        if mine != theirs:
            problems.append(
                f"{path}: keys {sorted(theirs - mine)} missing, {sorted(mine - theirs)} extra"
            )
        for key in mine & theirs:
            if key in EXACT_KEYS and recorded[key] != ours[key]:
                problems.append(f"{path}.{key}: recorded {recorded[key]!r}, got {ours[key]!r}")
            else:
                compare(recorded[key], ours[key], f"{path}.{key}", problems)
    elif isinstance(recorded, list) and isinstance(ours, list):
        if len(recorded) != len(ours):
            problems.append(f"{path}: {len(recorded)} items recorded, {len(ours)} returned")
        for index, (a, b) in enumerate(zip(recorded, ours, strict=False)):
            compare(a, b, f"{path}[{index}]", problems)


def replay(name: str, base: str) -> Replay:
    run = Replay(base)
    data = json.loads((CASSETTES / name).read_text(encoding="utf-8"))
    session = requests.Session()
    for number, interaction in enumerate(data["interactions"]):
        request, response = interaction["request"], interaction["response"]
        uri = request["uri"]
        for host in HOSTS:
            if uri.startswith(host):
                uri = base + run.rewrite(uri[len(host) :])
        body = request.get("body")
        body = run.rewrite(body) if isinstance(body, str) and body else None
        got = session.request(
            request["method"],
            uri,
            data=body.encode() if body else None,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        run.exchanges += 1
        where = f"#{number} {request['method']} {urlsplit(uri).path}"
        if got.status_code != response["status"]["code"]:
            run.problems.append(
                f"{where}: status {got.status_code}, recorded "
                f"{response['status']['code']}: {got.text[:200]}"
            )
            continue
        text = response["body"]["string"]
        if not text.strip() or "json" not in got.headers.get("Content-Type", "json"):
            continue
        recorded, ours = json.loads(text), got.json()
        run.learn(recorded, ours)
        compare(recorded, ours, where, run.problems)
    return run

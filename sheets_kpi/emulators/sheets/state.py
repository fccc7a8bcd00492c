"""Spreadsheets held by the Sheets emulator: sheets, typed cells, metadata, persistence."""

from __future__ import annotations

import copy
import json
import random
import string
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sheets_kpi.emulators.sheets import a1, cells

DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
MAX_CELLS = 10_000_000


class ApiError(Exception):
    """An error the real API would answer with `{"error": {code, message, status}}`."""

    def __init__(self, code: int, message: str, status: str, details: list | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.details = code, message, status, details


def invalid(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


def proto3(value: Any) -> Any:
    """Drop unset members the way the API's JSON does: false, empty, and a GridRange's sheetId 0."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = proto3(item)
            if item is False or item is None or item == {} or item == []:
                continue
            if key in ("sheetId", "index") and item == 0:
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [proto3(item) for item in value]
    return value


@dataclass
class Sheet:
    properties: dict[str, Any]
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def sheet_id(self) -> int:
        return self.properties["sheetId"]

    @property
    def title(self) -> str:
        return self.properties["title"]

    @property
    def rows(self) -> int:
        return self.properties["gridProperties"]["rowCount"]

    @property
    def cols(self) -> int:
        return self.properties["gridProperties"]["columnCount"]

    def to_api(self) -> dict[str, Any]:
        """The `Sheet` object of spreadsheets.get, omitting empty members like proto3 JSON.

        Formats, validation and widths are kept under `_` keys: stored, not echoed.
        """
        properties = proto3(self.properties)
        properties.setdefault("index", self.properties["index"])
        properties["sheetId"] = self.sheet_id
        out: dict[str, Any] = {"properties": properties}
        for key, value in self.extras.items():
            if value and not key.startswith("_"):
                out[key] = proto3(value)
        return out


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    properties: dict[str, Any]
    sheets: list[Sheet]
    named_ranges: list[dict] = field(default_factory=list)
    developer_metadata: list[dict] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    modified: float = field(default_factory=time.time)

    def to_api(self) -> dict[str, Any]:
        out = {
            "spreadsheetId": self.spreadsheet_id,
            "properties": copy.deepcopy(self.properties),
            "sheets": [sheet.to_api() for sheet in self.sheets],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit",
        }
        if self.named_ranges:
            out["namedRanges"] = copy.deepcopy(self.named_ranges)
        if self.developer_metadata:
            out["developerMetadata"] = copy.deepcopy(self.developer_metadata)
        return out

    def sheet_by_title(self, title: str | None) -> Sheet:
        if title is None:
            visible = [s for s in self.sheets if not s.properties.get("hidden")]
            return (visible or self.sheets)[0]
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        raise invalid(f"Unable to parse range: {a1.quote_title(title)}")

    def sheet_by_id(self, sheet_id: int, request: str) -> Sheet:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise invalid(f"Invalid {request}: No grid with id: {sheet_id}")

    def resolve(self, text: str, clip: bool = True) -> tuple[Sheet, int, int, int, int]:
        """A1 text → (sheet, row0, col0, row1, col1) bounded by the grid."""
        try:
            title, area_text = a1.split_sheet(text)
            sheet = self.sheet_by_title(title)
            area = a1.parse_area(area_text) if area_text else a1.Area(None, None, None, None)
        except a1.RangeError:
            raise invalid(f"Unable to parse range: {text}") from None
        row0 = area.row0 or 0
        col0 = area.col0 or 0
        row1 = area.row1 if area.row1 is not None else sheet.rows
        col1 = area.col1 if area.col1 is not None else sheet.cols
        if (
            row0 >= sheet.rows
            or col0 >= sheet.cols
            or (not clip and (row1 > sheet.rows or col1 > sheet.cols))
        ):
            raise invalid(
                f"Range ({a1.quote_title(sheet.title)}!{area_text or ''}) exceeds grid limits. "
                f"Max rows: {sheet.rows}, max columns: {sheet.cols}"
            )
        return sheet, row0, col0, min(row1, sheet.rows), min(col1, sheet.cols)


class SheetsState:
    """All spreadsheets; mutations go through `lock` and are persisted when a file is set."""

    def __init__(self, path: str | Path | None = None, seed: int | None = None) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.lock = threading.RLock()
        self.path = Path(path) if path else None
        self.rng = random.Random(seed)
        if self.path and self.path.exists():
            self._load(json.loads(self.path.read_text(encoding="utf-8")))

    def create_spreadsheet(self, title: str, spreadsheet_id: str | None = None) -> Spreadsheet:
        spreadsheet_id = spreadsheet_id or "".join(
            self.rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(44)
        )
        sheet = Sheet(
            {
                "sheetId": 0,
                "title": "Sheet1",
                "index": 0,
                "sheetType": "GRID",
                "gridProperties": {"rowCount": DEFAULT_ROWS, "columnCount": DEFAULT_COLS},
            }
        )
        book = Spreadsheet(
            spreadsheet_id,
            {"title": title, "locale": "en_US", "autoRecalc": "ON_CHANGE", "timeZone": "Etc/GMT"},
            [sheet],
        )
        with self.lock:
            self.spreadsheets[spreadsheet_id] = book
            self.save()
        return book

    def get(self, spreadsheet_id: str) -> Spreadsheet:
        book = self.spreadsheets.get(spreadsheet_id)
        if book is None:
            raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
        return book

    def new_id(self) -> int:
        return self.rng.randrange(1, 2**31 - 1)

    def save(self) -> None:
        if not self.path:
            return
        data = {sid: _dump(book) for sid, book in self.spreadsheets.items()}
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)

    def _load(self, data: dict[str, Any]) -> None:
        for sid, raw in data.items():
            sheets = [
                Sheet(
                    s["properties"],
                    {
                        tuple(map(int, k.split(","))): cells.from_json(v)
                        for k, v in s["cells"].items()
                    },
                    s["extras"],
                )
                for s in raw["sheets"]
            ]
            self.spreadsheets[sid] = Spreadsheet(
                sid,
                raw["properties"],
                sheets,
                raw.get("namedRanges", []),
                raw.get("developerMetadata", []),
                raw.get("created", 0),
                raw.get("modified", 0),
            )


def _dump(book: Spreadsheet) -> dict[str, Any]:
    return {
        "properties": book.properties,
        "namedRanges": book.named_ranges,
        "developerMetadata": book.developer_metadata,
        "created": book.created,
        "modified": book.modified,
        "sheets": [
            {
                "properties": s.properties,
                "extras": s.extras,
                "cells": {f"{r},{c}": cells.to_json(v) for (r, c), v in s.cells.items()},
            }
            for s in book.sheets
        ],
    }

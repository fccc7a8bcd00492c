"""Spreadsheets held by the Sheets emulator: sheets, typed cells, per-cell metadata, persistence.

The model is deliberately plain so tests can look inside: `sheet.cells[(row, col)]` is the stored
value (see cells.py), `sheet.formats`, `sheet.notes` and `sheet.validations` hold the cell's
userEnteredFormat, note and data-validation rule, `sheet.rows`/`sheet.columns` hold
DimensionProperties overrides, and `sheet.extras` holds the sheet's arrays as the API returns
them (protectedRanges, conditionalFormats, charts, merges, basicFilter, developerMetadata…).
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import random
import string
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sheets_kpi.emulators.sheets import a1, cells
from sheets_kpi.emulators.sheets.errors import ApiError, invalid, not_found, permission_denied

DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
DEFAULT_CALLER = "sheets-kpi@emulator.iam.gserviceaccount.com"
Coord = tuple[int, int]
#: Per-cell maps shifted, copied and cleared together with the values. Their entries are
#: replaced, never changed in place, so a working copy can share them (Spreadsheet.draft).
CELL_MAPS = ("cells", "formats", "notes", "validations")


@dataclass
class Sheet:
    properties: dict[str, Any]
    cells: dict[Coord, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    formats: dict[Coord, dict[str, Any]] = field(default_factory=dict)
    notes: dict[Coord, str] = field(default_factory=dict)
    validations: dict[Coord, dict[str, Any]] = field(default_factory=dict)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    columns: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def sheet_id(self) -> int:
        return self.properties["sheetId"]

    @property
    def title(self) -> str:
        return self.properties["title"]

    @property
    def grid(self) -> dict[str, Any]:
        return self.properties.setdefault("gridProperties", {})

    @property
    def row_count(self) -> int:
        return self.grid.get("rowCount", 0)

    @property
    def column_count(self) -> int:
        return self.grid.get("columnCount", 0)

    def number_format(self, coord: Coord) -> dict[str, Any] | None:
        return self.formats.get(coord, {}).get("numberFormat")

    def drop_outside(self) -> None:
        """Forget everything beyond the grid (after a shrink)."""
        rows, cols = self.row_count, self.column_count
        for name in CELL_MAPS:
            mapping = getattr(self, name)
            for coord in [c for c in mapping if c[0] >= rows or c[1] >= cols]:
                del mapping[coord]
        self.rows = {i: v for i, v in self.rows.items() if i < rows}
        self.columns = {i: v for i, v in self.columns.items() if i < cols}


#: The Sheet members a working copy takes over from the stored sheet one by one.
SHEET_MEMBERS = tuple(f.name for f in dataclasses.fields(Sheet))


def copied(value: Any) -> Any:
    """A deep copy; a pickle round trip is the same, and several times faster."""
    return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))


class _Draft(Sheet):
    """A stored sheet inside a working copy: each member is copied the first time a request
    uses it, so a request pays for the sheets it touches, not for the whole spreadsheet.
    The per-cell maps are copied shallow (their entries are never changed in place)."""

    def __init__(self, stored: Sheet) -> None:  # the members come lazily, from __getattr__
        self._stored = stored

    def __getattr__(self, name: str) -> Any:
        if name not in SHEET_MEMBERS:
            raise AttributeError(name)
        stored = getattr(self.__dict__["_stored"], name)
        value = dict(stored) if name in CELL_MAPS else copied(stored)
        setattr(self, name, value)
        return value

    def settled(self) -> Sheet:
        """A plain sheet again: the members used (maybe changed), the stored ones otherwise."""
        mine = self.__dict__
        return Sheet(
            **{
                name: mine[name] if name in mine else getattr(self._stored, name)
                for name in SHEET_MEMBERS
            }
        )


@dataclass
class Target:
    """A resolved A1 range: the sheet and a rectangle inside its grid (0-based, end-exclusive)."""

    sheet: Sheet
    row0: int
    col0: int
    row1: int
    col1: int

    @property
    def a1(self) -> str:
        return a1.format_range(self.sheet.title, self.row0, self.col0, self.row1, self.col1)


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    properties: dict[str, Any]
    sheets: list[Sheet]
    named_ranges: list[dict[str, Any]] = field(default_factory=list)
    developer_metadata: list[dict[str, Any]] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    modified: float = field(default_factory=time.time)
    shared: bool = True
    parents: list[str] = field(default_factory=list)
    #: Drive permissions granted through permissions.create (not the caller's own access).
    permissions: list[dict[str, Any]] = field(default_factory=list)
    #: Shared as Viewer: reads work, every write answers 403 as Google does.
    read_only: bool = False

    @property
    def locale(self) -> str:
        return self.properties.get("locale", "en_US")

    def sheet_by_title(self, title: str) -> Sheet | None:
        exact = next((s for s in self.sheets if s.title == title), None)
        return exact or next((s for s in self.sheets if s.title.lower() == title.lower()), None)

    def draft(self) -> Spreadsheet:
        """A working copy for one request (all or nothing): the spreadsheet's own members are
        copied, each sheet only once the request uses it; `settle` it to keep it."""
        work = dataclasses.replace(self, sheets=[])
        for f in dataclasses.fields(self):
            if f.name != "sheets":
                setattr(work, f.name, copied(getattr(self, f.name)))
        work.sheets = [_Draft(sheet) for sheet in self.sheets]
        return work

    def settle(self) -> None:
        """The working copy's sheets become plain sheets: it is now the stored spreadsheet."""
        self.sheets = [s.settled() if isinstance(s, _Draft) else s for s in self.sheets]

    def first_visible(self) -> Sheet:
        return next((s for s in self.sheets if not s.properties.get("hidden")), self.sheets[0])

    def sheet_by_id(self, sheet_id: Any, where: str) -> Sheet:
        for sheet in self.sheets:  # properties, not .sheet_id: a batch looks up thousands
            if sheet.properties["sheetId"] == sheet_id:
                return sheet
        raise invalid(f"Invalid {where}: No grid with id: {sheet_id}")

    def named_range(self, name: str) -> dict[str, Any] | None:
        return next((n for n in self.named_ranges if n["name"].lower() == name.lower()), None)

    def resolve(self, text: str) -> Target:
        """A1 text → sheet and rectangle; open ends stop at the grid, starts must be inside it."""
        try:
            ref = a1.split(text)
        except a1.RangeError:
            raise invalid(f"Unable to parse range: {text}") from None
        named = (
            self.named_range(ref.area or ref.title or "") if not ref.quoted or ref.area else None
        )
        if named and (ref.area is None or not _is_a1(ref.area)):
            return self._named(named)
        sheet = self.first_visible() if ref.title is None else self.sheet_by_title(ref.title)
        if sheet is None:
            raise invalid(f"Unable to parse range: {text}")
        try:
            area = a1.parse_area(ref.area) if ref.area else a1.Area(None, None, None, None)
        except a1.RangeError:
            raise invalid(f"Unable to parse range: {text}") from None
        row0, col0 = area.row0 or 0, area.col0 or 0
        if row0 >= sheet.row_count or col0 >= sheet.column_count:
            label = text if ref.title is not None else f"{a1.quote_title(sheet.title)}!{text}"
            raise exceeds(label, sheet)
        row1 = sheet.row_count if area.row1 is None else min(area.row1, sheet.row_count)
        col1 = sheet.column_count if area.col1 is None else min(area.col1, sheet.column_count)
        return Target(sheet, row0, col0, row1, col1)

    def _named(self, named: dict[str, Any]) -> Target:
        grid = named["range"]
        sheet = self.sheet_by_id(grid.get("sheetId", 0), "range")
        return Target(sheet, *bounds(sheet, grid))


def _is_a1(text: str) -> bool:
    try:
        a1.parse_area(text)
    except a1.RangeError:
        return False
    return True


def exceeds(label: str, sheet: Sheet) -> ApiError:
    return invalid(
        f"Range ({label}) exceeds grid limits. "
        f"Max rows: {sheet.row_count}, max columns: {sheet.column_count}"
    )


def bounds(sheet: Sheet, grid: dict[str, Any]) -> tuple[int, int, int, int]:
    """A GridRange's rectangle; missing indexes mean the grid edge."""
    return (
        grid.get("startRowIndex") or 0,
        grid.get("startColumnIndex") or 0,
        sheet.row_count if grid.get("endRowIndex") is None else grid["endRowIndex"],
        sheet.column_count if grid.get("endColumnIndex") is None else grid["endColumnIndex"],
    )


class SheetsState:
    """All spreadsheets; mutations hold `lock` and are persisted when a file is set.

    `caller` is the account the emulator pretends the requests come from: it is added to
    protected-range editors as Google adds the requester.
    """

    def __init__(
        self, path: str | Path | None = None, seed: int | None = None, caller: str = DEFAULT_CALLER
    ) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.lock = threading.RLock()
        self.path = Path(path) if path else None
        self.rng = random.Random(seed)
        self.caller = caller
        #: Drive folders files may be created in, by id: True for a shared drive's folder.
        self.folders: dict[str, bool] = {}
        #: The caller has Drive storage of its own (a person). False is a service account, as
        #: in production: it may create files only in a shared drive (storageQuotaExceeded).
        self.drive_storage = True
        #: False: the caller's Cloud project has the Sheets API off (every v4 call is a 403).
        self.api_enabled = True
        if self.path and self.path.exists():
            self._load(json.loads(self.path.read_text(encoding="utf-8")))

    def create_spreadsheet(
        self,
        title: str,
        spreadsheet_id: str | None = None,
        *,
        shared: bool = True,
        read_only: bool = False,
        locale: str = "en_US",
        time_zone: str = "Etc/GMT",
    ) -> Spreadsheet:
        """A new spreadsheet as Drive creates it: one 1000x26 `Sheet1`."""
        sheet = Sheet(
            {
                "sheetId": 0,
                "title": "Sheet1",
                "index": 0,
                "sheetType": "GRID",
                "gridProperties": {"rowCount": DEFAULT_ROWS, "columnCount": DEFAULT_COLS},
            }
        )
        properties = {
            "title": title,
            "locale": locale,
            "autoRecalc": "ON_CHANGE",
            "timeZone": time_zone,
        }
        with self.lock:
            book = Spreadsheet(spreadsheet_id or self.new_file_id(), properties, [sheet])
            book.shared = shared
            book.read_only = read_only
            self.spreadsheets[book.spreadsheet_id] = book
            self.save()
        return book

    def get(self, spreadsheet_id: str) -> Spreadsheet:
        """The spreadsheet, or the 404/403 the caller would get."""
        book = self.spreadsheets.get(spreadsheet_id)
        if book is None:
            raise not_found()
        if not book.shared:
            raise permission_denied()
        return book

    def new_id(self) -> int:
        return self.rng.randrange(1, 2**31 - 1)

    def new_file_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "1" + "".join(self.rng.choice(alphabet) for _ in range(43))

    def reset(self) -> None:
        with self.lock:
            self.spreadsheets.clear()
            self.save()

    def save(self) -> None:
        """Write the state file atomically (temp file + rename)."""
        if not self.path:
            return
        with self.lock:
            data = {sid: _dump(book) for sid, book in self.spreadsheets.items()}
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)

    def _load(self, data: dict[str, Any]) -> None:
        for sid, raw in data.items():
            sheets = [_load_sheet(s) for s in raw["sheets"]]
            self.spreadsheets[sid] = Spreadsheet(
                sid,
                raw["properties"],
                sheets,
                raw.get("namedRanges", []),
                raw.get("developerMetadata", []),
                raw.get("created", 0),
                raw.get("modified", 0),
                raw.get("shared", True),
                raw.get("parents", []),
                raw.get("permissions", []),
                raw.get("readOnly", False),
            )


def _coords(mapping: dict[Coord, Any], convert: Any = None) -> dict[str, Any]:
    return {f"{r},{c}": (convert(v) if convert else v) for (r, c), v in mapping.items()}


def _uncoords(mapping: dict[str, Any], convert: Any = None) -> dict[Coord, Any]:
    out: dict[Coord, Any] = {}
    for key, value in mapping.items():
        row, col = key.split(",")
        out[(int(row), int(col))] = convert(value) if convert else value
    return out


def _dump(book: Spreadsheet) -> dict[str, Any]:
    return {
        "properties": book.properties,
        "namedRanges": book.named_ranges,
        "developerMetadata": book.developer_metadata,
        "created": book.created,
        "modified": book.modified,
        "shared": book.shared,
        "parents": book.parents,
        "permissions": book.permissions,
        "readOnly": book.read_only,
        "sheets": [
            {
                "properties": s.properties,
                "extras": s.extras,
                "cells": _coords(s.cells, cells.to_json),
                "formats": _coords(s.formats),
                "notes": _coords(s.notes),
                "validations": _coords(s.validations),
                "rows": {str(k): v for k, v in s.rows.items()},
                "columns": {str(k): v for k, v in s.columns.items()},
            }
            for s in book.sheets
        ],
    }


def _load_sheet(data: dict[str, Any]) -> Sheet:
    return Sheet(
        data["properties"],
        _uncoords(data["cells"], cells.from_json),
        data.get("extras", {}),
        _uncoords(data.get("formats", {})),
        _uncoords(data.get("notes", {})),
        _uncoords(data.get("validations", {})),
        {int(k): v for k, v in data.get("rows", {}).items()},
        {int(k): v for k, v in data.get("columns", {}).items()},
    )

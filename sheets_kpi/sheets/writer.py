"""Write output tabs with at most one `spreadsheets.batchUpdate` per spreadsheet.

Only tabs carrying our owner marker are ever changed or removed; a tab with the same title that
the tool did not create is left alone and reported. Unchanged tabs (same content hash) cost
nothing. A body above MAX_BATCH_BYTES is split into several batches; each batch is
all-or-nothing; a tab's old hash goes in the first one that touches the tab and its new hash in
the last, so a write cut short leaves no hash and the next cycle rewrites the tab. A tab of ours
that a user renamed is released (our markers removed), never deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gspread.exceptions import APIError

from sheets_kpi.errors import SheetsError
from sheets_kpi.sheets import parse
from sheets_kpi.sheets.layout import TabLayout
from sheets_kpi.sheets.render import (
    HASH_KEY,
    MARKER,
    TITLE_KEY,
    cleanup_requests,
    content_requests,
    encode,
    forget_requests,
    marker_request,
    metadata_of,
    sheet_id_for,
    stamp_requests,
)

log = logging.getLogger(__name__)
#: Google rejects bodies above 10 MiB ("Request payload size exceeds the limit: 10485760
#: bytes"); split below that.
MAX_BATCH_BYTES = 9_000_000

#: Requests that must share a batch (a new tab and its owner marker; a hash swap).
Unit = list[dict[str, Any]]
#: The tab a new spreadsheet comes with, as Google titles it in the spreadsheet's locale.
DEFAULT_TAB_TITLES = frozenset(
    {"Sheet1", "Лист1", "Лист 1", "Аркуш1", "Tabelle1", "Feuille 1", "Hoja 1", "Foglio1"}
)


@dataclass
class WriteReport:
    batches: int = 0
    rows_written: int = 0
    tabs_written: list[str] = field(default_factory=list)
    tabs_created: list[str] = field(default_factory=list)
    tabs_removed: list[str] = field(default_factory=list)
    #: Our tabs a user renamed: no longer ours, left as they are.
    tabs_released: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    #: The empty default tab (`Sheet1`) of a spreadsheet, removed beside our first tabs.
    defaults_removed: list[str] = field(default_factory=list)


def owned(sheet: dict[str, Any]) -> bool:
    return bool(metadata_of(sheet, MARKER))


def tabs_by_title(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Tabs by case-folded title: Sheets titles are unique ignoring case (`итоги — продажи`
    is the tab `Итоги — Продажи`)."""
    return {s["properties"]["title"].casefold(): s for s in metadata.get("sheets", [])}


def untouched(sheet: dict[str, Any], grid: list[list[Any]]) -> bool:
    """A default tab nobody used: no value, chart, rule, protection or marker of anyone's."""
    filled = any(not parse.is_blank(v) for row in grid for v in row)
    kept = ("charts", "conditionalFormats", "protectedRanges", "developerMetadata", "merges")
    return not filled and not any(sheet.get(key) for key in kept)


def grid_values(sheet: dict[str, Any]) -> list[list[Any]]:
    """The values a metadata read with grid data (`sheets.data`) holds for a tab."""
    return [
        [value.get("userEnteredValue") for value in row.get("values") or []]
        for data in sheet.get("data") or []
        for row in data.get("rowData") or []
    ]


def _unused_defaults(sheets: dict[str, dict[str, Any]], staying: int) -> list[dict[str, Any]]:
    """Default tabs read with their values and found empty, while `staying` other tabs remain."""
    found = [
        sheet
        for sheet in sheets.values()
        if sheet["properties"]["title"] in DEFAULT_TAB_TITLES
        and "data" in sheet  # read with grid data: emptiness is known, not guessed
        and not owned(sheet)
        and untouched(sheet, grid_values(sheet))
    ]
    return found if staying > len(found) else []


def digest_of(sheet: dict[str, Any]) -> str | None:
    hashes = metadata_of(sheet, HASH_KEY)
    return str(hashes[0].get("metadataValue", "")) if len(hashes) == 1 else None


def plan_writes(
    metadata: dict[str, Any],
    layouts: list[TabLayout],
    editors: list[str],
    force: bool = False,
    prune: bool = True,
    drop_default: bool = False,
) -> tuple[list[Unit], WriteReport]:
    """The requests that bring the spreadsheet to `layouts`, in order, as units (pure).

    `force` rewrites tabs whose hash says unchanged: a supervisor may edit a protected tab, and
    the nightly cycle puts it right. Without `prune` our other tabs stay (a preview tab is
    written beside the live ones). With `drop_default`, an empty default tab (`metadata` read
    with grid data) goes in the same batch, so a manager's spreadsheet opens on our tab.
    """
    report = WriteReport()
    sheets = tabs_by_title(metadata)
    taken = {s["properties"]["sheetId"] for s in sheets.values()}
    wanted = {layout.title.casefold() for layout in layouts}
    units: list[Unit] = []
    for layout in layouts:
        digest = layout.digest(editors)
        sheet = sheets.get(layout.title.casefold())
        if sheet is not None and not owned(sheet):
            report.conflicts.append(layout.title)
            continue
        if sheet is not None and sheet["properties"]["title"] != layout.title:
            units.append([rename_request(sheet["properties"]["sheetId"], layout.title)])
        if sheet is not None and digest_of(sheet) == digest and not force:
            report.unchanged.append(layout.title)
            continue
        if sheet is None:
            sheet_id = sheet_id_for(layout.title, taken)
            taken.add(sheet_id)
            rows, cols = layout.grid_size()
            grid = {"rowCount": rows, "columnCount": cols}
            add = {
                "properties": {"sheetId": sheet_id, "title": layout.title, "gridProperties": grid}
            }
            units.append([{"addSheet": add}, marker_request(sheet_id, MARKER, "owner")])
            report.tabs_created.append(layout.title)
            existing_rows = 0
        else:
            sheet_id = sheet["properties"]["sheetId"]
            # The old hash goes first: a write cut short leaves no hash, so the next cycle
            # rewrites the tab instead of trusting a half-written one.
            forget = forget_requests(sheet, (HASH_KEY, TITLE_KEY))
            units += [forget] if forget else []
            units += [[r] for r in cleanup_requests(sheet)]
            existing_rows = sheet["properties"]["gridProperties"]["rowCount"]
        units += [[r] for r in content_requests(layout, sheet_id, editors, existing_rows)]
        units.append(stamp_requests(sheet_id, digest, layout.title))
        report.tabs_written.append(layout.title)
        report.rows_written += layout.frozen_rows if layout.append_only else len(layout.rows)
    # Removals go last: a spreadsheet may never be left without any tab, even for a moment.
    for folded, sheet in sheets.items() if prune else ():
        if not owned(sheet) or folded in wanted:
            continue
        title = sheet["properties"]["title"]
        written_as = [str(m.get("metadataValue")) for m in metadata_of(sheet, TITLE_KEY)]
        if written_as and title not in written_as:  # renamed by a user, e.g. an archive copy
            units.append(forget_requests(sheet, (MARKER, HASH_KEY, TITLE_KEY)))
            report.tabs_released.append(title)
        else:
            units.append([{"deleteSheet": {"sheetId": sheet["properties"]["sheetId"]}}])
            report.tabs_removed.append(title)
    if drop_default:
        staying = len(sheets) + len(report.tabs_created) - len(report.tabs_removed)
        for sheet in _unused_defaults(sheets, staying):
            units.append([{"deleteSheet": {"sheetId": sheet["properties"]["sheetId"]}}])
            report.defaults_removed.append(sheet["properties"]["title"])
    return units, report


def rename_request(sheet_id: int, title: str) -> dict[str, Any]:
    """Our tab renamed by a user only in case: its title back, keeping it and its settings."""
    return {
        "updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "title": title},
            "fields": "title",
        }
    }


def write_tabs(
    send: Callable[[dict[str, Any]], Any],
    metadata: dict[str, Any],
    layouts: list[TabLayout],
    editors: list[str],
    force: bool = False,
    prune: bool = True,
    drop_default: bool = False,
) -> WriteReport:
    """Apply `plan_writes` in one batch (more only when the payload is huge)."""
    units, report = plan_writes(metadata, layouts, editors, force, prune, drop_default)
    if report.conflicts:
        log.warning(
            "tabs not created by sheets-kpi were left alone: %s", ", ".join(report.conflicts)
        )
    for chunk in batches(units):
        try:
            send({"requests": chunk})
        except APIError as err:
            raise SheetsError(f"Google Sheets rejected the output batch: {err}") from err
        report.batches += 1
    return report


def batches(units: list[Unit]) -> list[list[dict[str, Any]]]:
    """Whole units in order, a new batch when the body would pass MAX_BATCH_BYTES."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for unit in units:
        length = sum(len(encode(r)) + 1 for r in unit)
        if current and size + length > MAX_BATCH_BYTES:
            chunks.append(current)
            current, size = [], 0
        current += unit
        size += length
    if current:
        chunks.append(current)
    return chunks

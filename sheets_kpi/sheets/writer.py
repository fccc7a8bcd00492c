"""Write output tabs with at most one `spreadsheets.batchUpdate` per spreadsheet.

Only tabs carrying our marker are ever changed or removed; a tab with the same title that the
tool did not create is left alone and reported. Unchanged tabs cost nothing. When a body must be
split, it is split between tabs, never inside one: each batch is all-or-nothing, so a tab is
either rebuilt with its new marker or left as it was (never left without its marker, which would
make it look foreign forever).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gspread.exceptions import APIError

from sheets_kpi.errors import SheetsError
from sheets_kpi.sheets.layout import (
    MARKER,
    TabLayout,
    cleanup_requests,
    content_requests,
    marker_request,
    sheet_id_for,
)

log = logging.getLogger(__name__)
#: Split a batch above this many bytes of JSON (the API accepts more; 2 MB is Google's advice
#: for latency, 9 MB keeps well under request limits).
MAX_BATCH_BYTES = 9_000_000


@dataclass
class WriteReport:
    batches: int = 0
    rows_written: int = 0
    tabs_written: list[str] = field(default_factory=list)
    tabs_created: list[str] = field(default_factory=list)
    tabs_removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def marker_of(sheet: dict[str, Any]) -> str | None:
    for item in sheet.get("developerMetadata", []):
        if item.get("metadataKey") == MARKER:
            return str(item.get("metadataValue", ""))
    return None


def plan_writes(
    metadata: dict[str, Any], layouts: list[TabLayout], editors: list[str]
) -> tuple[list[list[dict[str, Any]]], WriteReport]:
    """The requests that bring the spreadsheet to `layouts`, grouped by tab (pure)."""
    report = WriteReport()
    sheets = {s["properties"]["title"]: s for s in metadata.get("sheets", [])}
    taken = {s["properties"]["sheetId"] for s in sheets.values()}
    wanted = {layout.title for layout in layouts}
    groups: list[list[dict[str, Any]]] = []
    for layout in layouts:
        requests: list[dict[str, Any]] = []
        digest = layout.digest(editors)
        sheet = sheets.get(layout.title)
        if sheet is not None and marker_of(sheet) is None:
            report.conflicts.append(layout.title)
            continue
        if sheet is not None and marker_of(sheet) == digest:
            report.unchanged.append(layout.title)
            continue
        if sheet is None:
            sheet_id = sheet_id_for(layout.title, taken)
            taken.add(sheet_id)
            requests.append(
                {
                    "addSheet": {
                        "properties": {
                            "sheetId": sheet_id,
                            "title": layout.title,
                            "gridProperties": dict(
                                zip(("rowCount", "columnCount"), layout.grid_size(), strict=True)
                            ),
                        }
                    }
                }
            )
            report.tabs_created.append(layout.title)
            existing_rows = 0
        else:
            sheet_id = sheet["properties"]["sheetId"]
            requests += cleanup_requests(sheet)
            existing_rows = sheet["properties"]["gridProperties"]["rowCount"]
        requests += content_requests(layout, sheet_id, editors, existing_rows)
        requests.append(marker_request(sheet_id, digest))
        groups.append(requests)
        report.tabs_written.append(layout.title)
        report.rows_written += layout.frozen_rows if layout.append_only else len(layout.rows)
    # Removals go last: a spreadsheet may never be left without any tab, even for a moment.
    for title, sheet in sheets.items():
        if marker_of(sheet) is not None and title not in wanted:
            groups.append([{"deleteSheet": {"sheetId": sheet["properties"]["sheetId"]}}])
            report.tabs_removed.append(title)
    return groups, report


def write_tabs(
    send: Callable[[dict[str, Any]], Any],
    metadata: dict[str, Any],
    layouts: list[TabLayout],
    editors: list[str],
) -> WriteReport:
    """Apply `plan_writes` in one batch (more only when the payload is huge)."""
    groups, report = plan_writes(metadata, layouts, editors)
    if report.conflicts:
        log.warning(
            "tabs not created by sheets-kpi were left alone: %s", ", ".join(report.conflicts)
        )
    for chunk in _chunks(groups):
        try:
            send({"requests": chunk})
        except APIError as err:
            raise SheetsError(f"Google Sheets rejected the output batch: {err}") from err
        report.batches += 1
    return report


def _chunks(groups: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Whole groups per batch, a new batch when the JSON would pass MAX_BATCH_BYTES."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for group in groups:
        length = len(json.dumps(group))
        if current and size + length > MAX_BATCH_BYTES:
            chunks.append(current)
            current, size = [], 0
        current += group
        size += length
    if current:
        chunks.append(current)
    return chunks

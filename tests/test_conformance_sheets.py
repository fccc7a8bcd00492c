"""Sheets emulator fidelity: gspread's recorded real Google exchanges, replayed (§5).

Every cassette in tests/conformance/gspread-cassettes (copied from burnash/gspread, MIT) is
replayed unless listed below with the reason. The harness is tests/conformance_replay.py.

| cassette | why it is skipped |
|---|---|
| ClientTest.test_access_private_spreadsheet | needs another account's private file; the emulator has no sharing model |
| ClientTest.test_copy, ClientTest.test_import_csv | Drive copy and CSV upload: not used by the product |
| ClientTest.test_openall, ClientTest.test_open_all_has_metadata | list the recording account's 32 other files |
| CellTest.test_merge_cells, WorksheetTest.test_get_merge_cells_and_unmerge_cells | merge geometry (splitting and joining merges) not modelled; the product never merges |
| CellTest.test_numeric_value | USER_ENTERED keeps a typed number's display format (`2,000,000.01`); the product writes RAW |
| WorksheetTest.test_get_all_values_date_time_render_options | `dateTimeRenderOption=FORMATTED_STRING`; the product reads SERIAL_NUMBER |
| WorksheetTest.test_append_row_with_empty_value, …_and_table_range, test_insert_row, test_insert_cols | table detection around empty cells and inserted rows; the product appends below a dense table (covered by test_append_row) |
| WorksheetTest.test_auto_resize_columns, test_format, test_get_notes, test_get_notes_2nd_sheet, test_worksheet_notes | `includeGridData` / `sheets.data` (cell formats and notes) is not modelled |
| WorksheetTest.test_basic_filters | basic filter ranges defaulted by the server; not used by the product |
| WorksheetTest.test_copy_cut_range, test_group_columns, test_group_rows, test_sort | request kinds the product does not send (copyPaste, addDimensionGroup, sortRange) |
| WorksheetTest.test_get_values_merge_cells_with_named_range | reading a named range by name |
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import serve
from tests.conformance_replay import CASSETTES, replay

SKIPPED = {
    "ClientTest.test_access_private_spreadsheet": "no sharing model",
    "ClientTest.test_copy": "Drive copy not used",
    "ClientTest.test_import_csv": "CSV upload not used",
    "ClientTest.test_openall": "lists the recording account's files",
    "ClientTest.test_open_all_has_metadata": "lists the recording account's files",
    "CellTest.test_merge_cells": "merge geometry not modelled",
    "WorksheetTest.test_get_merge_cells_and_unmerge_cells": "merge geometry not modelled",
    "CellTest.test_numeric_value": "USER_ENTERED display formats",
    "WorksheetTest.test_get_all_values_date_time_render_options": "FORMATTED_STRING dates",
    "WorksheetTest.test_append_row_with_empty_value": "sparse table detection",
    "WorksheetTest.test_append_row_with_empty_value_and_table_range": "sparse table detection",
    "WorksheetTest.test_insert_row": "table detection after inserted rows",
    "WorksheetTest.test_insert_cols": "table detection after inserted columns",
    "WorksheetTest.test_auto_resize_columns": "grid data not modelled",
    "WorksheetTest.test_format": "grid data not modelled",
    "WorksheetTest.test_get_notes": "grid data not modelled",
    "WorksheetTest.test_get_notes_2nd_sheet": "grid data not modelled",
    "WorksheetTest.test_worksheet_notes": "grid data not modelled",
    "WorksheetTest.test_basic_filters": "server-defaulted filter ranges",
    "WorksheetTest.test_copy_cut_range": "copyPaste not used",
    "WorksheetTest.test_group_columns": "addDimensionGroup not used",
    "WorksheetTest.test_group_rows": "addDimensionGroup not used",
    "WorksheetTest.test_sort": "sortRange not used",
    "WorksheetTest.test_get_values_merge_cells_with_named_range": "named-range reads not used",
}
ALL = sorted(p.stem for p in CASSETTES.glob("*.json") if p.name != "index.json")


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    server = serve()
    yield server
    server.stop()


def test_coverage_is_what_the_table_says() -> None:
    assert len(ALL) == 124
    assert set(SKIPPED) <= set(ALL)
    assert len(ALL) - len(SKIPPED) == 100  # replayed


@pytest.mark.parametrize("cassette", [c for c in ALL if c not in SKIPPED])
def test_recorded_exchange_replays_identically(emulator: EmulatorServer, cassette: str) -> None:
    requests.post(f"{emulator.url}/_emulator/reset", timeout=10)
    run = replay(f"{cassette}.json", emulator.url)
    assert run.exchanges > 0
    assert run.problems == []

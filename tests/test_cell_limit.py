"""Google's 50 000-character cell limit: the emulator refuses as Google does, the product cuts
every written string to fit, with a visible marker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import SheetsState, serve
from sheets_kpi.sheets.layout import MAX_CELL_CHARS, fit_cell
from sheets_kpi.sheets.render import cell

BOOK = "limits-book"
LIMIT_MESSAGE = "Your input contains more than the maximum of 50000 characters in a single cell."


def test_a_string_within_the_limit_is_written_whole() -> None:
    text = "я" * MAX_CELL_CHARS
    assert fit_cell(text) == text
    assert cell(text) == {"userEnteredValue": {"stringValue": text}}


@pytest.mark.parametrize("length", [MAX_CELL_CHARS + 1, 60_000, 1_000_000])
def test_a_longer_string_is_cut_to_the_limit_with_a_marker(length: int) -> None:
    text = "Сделка " + "x" * (length - 7)
    shown = cell(text)["userEnteredValue"]["stringValue"]
    assert len(shown) == MAX_CELL_CHARS
    kept = len(shown) - len(shown.split(" … [cut: ")[-1]) - len(" … [cut: ")
    assert shown.endswith(f" … [cut: {length} characters, the first {kept} shown]")
    assert shown.startswith("Сделка xxx") and text.startswith(shown[:kept])


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    state = SheetsState(seed=1)
    state.create_spreadsheet("KPI", BOOK)
    running = serve(state=state)
    yield running
    running.stop()


def _values(server: EmulatorServer, text: str) -> requests.Response:
    return requests.put(
        f"{server.url}/v4/spreadsheets/{BOOK}/values/Sheet1!A1",
        params={"valueInputOption": "RAW"},
        json={"values": [["ok", text]]},
        timeout=10,
    )


def _update_cells(server: EmulatorServer, text: str) -> requests.Response:
    row = {"values": [{"userEnteredValue": {"stringValue": "ok"}}, cell_data(text)]}
    body = {
        "requests": [
            {
                "updateCells": {
                    "start": {"sheetId": 0, "rowIndex": 0, "columnIndex": 0},
                    "rows": [row],
                    "fields": "userEnteredValue",
                }
            }
        ]
    }
    return requests.post(f"{server.url}/v4/spreadsheets/{BOOK}:batchUpdate", json=body, timeout=10)


def cell_data(text: str) -> dict:
    return {"userEnteredValue": {"stringValue": text}}


@pytest.mark.parametrize("write", [_values, _update_cells], ids=["values.update", "updateCells"])
def test_the_emulator_refuses_a_cell_over_the_limit_and_applies_nothing(server, write) -> None:
    assert write(server, "x" * MAX_CELL_CHARS).status_code == 200
    refused = write(server, "y" * (MAX_CELL_CHARS + 1))
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": 400,
        "message": LIMIT_MESSAGE,
        "status": "INVALID_ARGUMENT",
    }
    got = requests.get(f"{server.url}/v4/spreadsheets/{BOOK}/values/Sheet1!A1:B1", timeout=10)
    assert got.json()["values"] == [["ok", "x" * MAX_CELL_CHARS]]  # the whole request refused

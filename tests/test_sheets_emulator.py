"""The Sheets emulator's own rules: A1, atomic batches, errors, quotas, persistence, export."""

from __future__ import annotations

import gspread
import openpyxl
import pytest
import requests

from sheets_kpi.emulators.sheets import SheetsState, serve
from sheets_kpi.emulators.sheets.a1 import Area, RangeError, Reference, format_range, parse_area, split
from sheets_kpi.sheets.client import EndpointSession


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("A1", Area(0, 0, 1, 1)),
        ("D4:A1", Area(0, 0, 4, 4)),  # reversed corners are normalised
        ("A:C", Area(None, 0, None, 3)),
        ("2:3", Area(1, None, 3, None)),
        ("A5:A", Area(4, 0, None, 1)),
        ("B2:2", Area(1, 1, 2, None)),
        ("AA10", Area(9, 26, 10, 27)),
    ],
)
def test_a1_areas(text, area) -> None:
    assert parse_area(text) == area


@pytest.mark.parametrize("text", ["A0", "1A", ":", "A1:", "Z1B"])
def test_bad_a1(text) -> None:
    with pytest.raises(RangeError):
        parse_area(text)


def test_sheet_names_quoting() -> None:
    assert split("'It''s mine'!B2") == Reference("It's mine", True, "B2")
    assert split("Лист1") == Reference("Лист1", False, None)
    assert format_range("Sheet1", 0, 0, 1, 1) == "Sheet1!A1"
    assert format_range("D3", 0, 0, 2, 2) == "'D3'!A1:B2"
    assert format_range("Мой лист", 0, 0, 2, 2) == "'Мой лист'!A1:B2"


@pytest.fixture
def book(tmp_path):
    state = SheetsState(tmp_path / "state.json", seed=1)
    state.create_spreadsheet("KPI", "book")
    server = serve(state=state)
    client = gspread.Client(auth=None, session=EndpointSession(server.url))
    yield server, state, client.open_by_key("book")
    server.stop()


def test_values_are_trimmed_and_typed(book) -> None:
    _, _, sheet = book
    ws = sheet.sheet1
    ws.update([["a", "", "c"], [], [1.5, True]], "A1")
    assert ws.get_values("A1:D5") == [["a", "", "c"], [""] * 3, ["1.5", "TRUE", ""]]
    raw = sheet.values_get("Sheet1!A1:D5", params={"valueRenderOption": "UNFORMATTED_VALUE"})
    assert raw == {
        "range": "Sheet1!A1:D5",
        "majorDimension": "ROWS",
        "values": [["a", "", "c"], [], [1.5, True]],
    }
    assert sheet.values_get("Sheet1!F1:F2") == {"range": "Sheet1!F1:F2", "majorDimension": "ROWS"}


def test_a_batch_update_is_all_or_nothing(book) -> None:
    _, state, sheet = book
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sheet.batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "New"}}},
                    {"deleteSheet": {"sheetId": 12345}},
                ]
            }
        )
    assert caught.value.code == 400
    assert "Invalid requests[1].deleteSheet" in str(caught.value)
    assert [s.title for s in state.get("book").sheets] == ["Sheet1"]


def test_error_bodies_look_like_googles(book) -> None:
    server, _, _ = book
    missing = requests.get(f"{server.url}/v4/spreadsheets/nope", timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}
    }
    beyond = requests.get(f"{server.url}/v4/spreadsheets/book/values/Sheet1!A1001", timeout=5)
    assert beyond.json()["error"]["message"] == (
        "Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"
    )
    no_option = requests.put(
        f"{server.url}/v4/spreadsheets/book/values/Sheet1!A1", timeout=5, json={"values": [[1]]}
    )
    assert no_option.json()["error"]["message"] == (
        "'valueInputOption' is required but not specified"
    )


def test_quota_answers_resource_exhausted(book) -> None:
    server, _, _ = book
    requests.post(f"{server.url}/_emulator/quota", json={"read_per_minute": 1}, timeout=5)
    requests.get(f"{server.url}/v4/spreadsheets/book", timeout=5)
    over = requests.get(f"{server.url}/v4/spreadsheets/book", timeout=5)
    assert over.status_code == 429
    error = over.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"


def test_state_persists_and_exports_to_xlsx(book, tmp_path) -> None:
    server, _, sheet = book
    sheet.sheet1.update([["Имя", "Сумма"], ['=IMPORTXML("x")', 42]], "A1")
    again = SheetsState(tmp_path / "state.json")
    assert again.get("book").sheets[0].cells[(1, 1)] == 42
    export = requests.get(f"{server.url}/_emulator/export/book.xlsx", timeout=5)
    path = tmp_path / "book.xlsx"
    path.write_bytes(export.content)
    cells = list(openpyxl.load_workbook(path)["Sheet1"].values)
    assert cells == [("Имя", "Сумма"), ('=IMPORTXML("x")', 42)]

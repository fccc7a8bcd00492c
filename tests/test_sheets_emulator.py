"""The Sheets emulator's own rules, then real gspread 6.2.1 driving it over HTTP.

gspread reaches the emulator through a `requests.Session` that rewrites Google's hosts
(SHEETS_API.md §2.3), so nothing inside gspread is patched.
"""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gspread
import openpyxl
import pytest
import requests

from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import SheetsState, build_app, export_xlsx, schema, serve
from sheets_kpi.emulators.sheets.a1 import (
    Area,
    RangeError,
    Reference,
    format_range,
    parse_area,
    quote_title,
    split,
)
from sheets_kpi.emulators.sheets.cells import Formula, render, user_entered
from sheets_kpi.emulators.sheets.errors import ApiError
from sheets_kpi.emulators.sheets.formats import mask_paths, quantise
from sheets_kpi.emulators.sheets.numfmt import number_text
from sheets_kpi.emulators.sheets.numfmt import render as render_number
from sheets_kpi.emulators.sheets.pretty import dumps
from sheets_kpi.emulators.sheets.state import SHEET_MEMBERS, Sheet

GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")


class RedirectSession(requests.Session):
    """Send gspread's Google URLs to the emulator (the seam of SHEETS_API.md §2.3)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        text = url.decode() if isinstance(url, bytes) else url
        for host in GOOGLE_HOSTS:
            if text.startswith(host):
                text = self.base + text[len(host) :]
        return super().request(method, text, *args, **kwargs)


# A1 notation and grid resolution ----------------------------------------------------------


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
        ("zz1", Area(0, 701, 1, 702)),
    ],
)
def test_a1_areas(text: str, area: Area) -> None:
    assert parse_area(text) == area


@pytest.mark.parametrize("text", ["A0", "1A", ":", "A1:", "Z1B", "AAAA1", "A00"])
def test_bad_a1(text: str) -> None:
    with pytest.raises(RangeError):
        parse_area(text)


def test_sheet_names_quote_and_unquote() -> None:
    assert split("'It''s mine'!B2") == Reference("It's mine", True, "B2")
    assert split("'My Tab'") == Reference("My Tab", True, None)
    assert split("Лист1") == Reference("Лист1", False, None)
    assert split("A1:B2") == Reference(None, False, "A1:B2")
    assert [quote_title(t) for t in ("Sheet1", "D3", "R1C1", "Мой лист", "It's")] == [
        "Sheet1",
        "'D3'",
        "'R1C1'",
        "'Мой лист'",
        "'It''s'",
    ]
    assert format_range("Sheet1", 0, 0, 1, 1) == "Sheet1!A1"


@pytest.fixture
def book_state() -> SheetsState:
    state = SheetsState(seed=1)
    state.create_spreadsheet("KPI", "book")
    return state


@pytest.mark.parametrize(
    ("text", "resolved"),
    [
        ("'Sheet1'", "Sheet1!A1:Z1000"),
        ("Sheet1!A:A", "Sheet1!A1:A1000"),
        ("Sheet1!A2:C", "Sheet1!A2:C1000"),
        ("Sheet1!1:1", "Sheet1!A1:Z1"),
        ("A1:AZ5", "Sheet1!A1:Z5"),  # a bounded end beyond the grid is clipped on reads
        ("sheet1!b2", "Sheet1!B2"),
    ],
)
def test_ranges_resolve_against_the_grid(book_state: SheetsState, text: str, resolved: str) -> None:
    assert book_state.get("book").resolve(text).a1 == resolved


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Sheet1!A1001",
            "Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26",
        ),
        ("AA1", "Range (Sheet1!AA1) exceeds grid limits. Max rows: 1000, max columns: 26"),
        ("Nope!A1", "Unable to parse range: Nope!A1"),
        ("'Sheet1'!A1:", "Unable to parse range: 'Sheet1'!A1:"),
    ],
)
def test_bad_ranges_fail_like_the_api(book_state: SheetsState, text: str, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        book_state.get("book").resolve(text)
    assert (caught.value.code, caught.value.message) == (400, message)


# Values: input options and rendering -------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "formatted", "unformatted", "formula"),
    [
        ("=4/2", "2", 2, "=4/2"),
        ("= 1 / 1024", "0.0009765625", 0.0009765625, "= 1 / 1024"),
        ("2020-01-01", "2020-01-01", 43831, 43831),
        ("2,000,000.01", "2,000,000.01", 2000000.01, 2000000.01),
        ("0042", "42", 42, 42),
        ("12%", "12%", 0.12, 0.12),
        ("TRUE", "TRUE", True, True),
        ("'123", "123", "123", "123"),
        ('=IMPORTXML("x")', "#NAME?", "#NAME?", '=IMPORTXML("x")'),
        ("text", "text", "text", "text"),
    ],
)
def test_user_entered_parses_like_the_ui(
    typed: str, formatted: str, unformatted: Any, formula: Any
) -> None:
    value, number_format = user_entered(typed)
    assert render(value, "FORMATTED_VALUE", number_format) == formatted
    assert render(value, "UNFORMATTED_VALUE", number_format) == unformatted
    assert render(value, "FORMULA", number_format) == formula


def test_dates_render_as_strings_on_request() -> None:
    value, number_format = user_entered("1999-01-02")
    assert render(value, "UNFORMATTED_VALUE", number_format, "FORMATTED_STRING") == "1999-01-02"
    assert user_entered("31.01.2024", "ru_RU") == (45322, {"type": "DATE", "pattern": "dd.mm.yyyy"})
    assert user_entered("1,5", "ru_RU")[0] == 1.5


@pytest.mark.parametrize(
    ("value", "pattern", "locale", "shown"),
    [
        (12345.6, '#,##0 "₽"', "ru_RU", "12\u00a0346 ₽"),
        (0.853, "0.0%", "en_US", "85.3%"),
        (-5, "0.0", "en_US", "-5.0"),
        (1234.5, "[$$]#,##0.00", "en_US", "$1,234.50"),
    ],
)
def test_number_formats(value: float, pattern: str, locale: str, shown: str) -> None:
    assert render_number(value, {"type": "NUMBER", "pattern": pattern}, locale) == shown


def test_automatic_number_text_and_colours() -> None:
    assert [number_text(v) for v in (1 / 3, 53, 1e20, 2.5)] == [
        "0.3333333333",
        "53",
        "1.00E+20",
        "2.5",
    ]
    assert number_text(2.5, "ru_RU") == "2,5"
    assert [quantise(v) for v in (0.5, 1.0, 0.2)] == [0.49803922, 1, 0.2]
    assert mask_paths("userEnteredFormat(backgroundColor,textFormat/bold),note") == [
        ["userEnteredFormat", "backgroundColor"],
        ["userEnteredFormat", "textFormat", "bold"],
        ["note"],
    ]


# gspread over HTTP ----------------------------------------------------------------------------


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[tuple[EmulatorServer, SheetsState]]:
    state = SheetsState(tmp_path / "state.json", seed=1)
    state.create_spreadsheet("KPI", "book")
    server = serve(state=state)
    yield server, state
    server.stop()


@pytest.fixture
def book(emulator: tuple[EmulatorServer, SheetsState]) -> gspread.Spreadsheet:
    server, _ = emulator
    return gspread.Client(auth=None, session=RedirectSession(server.url)).open_by_key("book")


def test_open_by_key_and_worksheets(book: gspread.Spreadsheet) -> None:
    assert book.title == "KPI"
    added = book.add_worksheet("Менеджер 1", rows=10, cols=5)
    assert [w.title for w in book.worksheets()] == ["Sheet1", "Менеджер 1"]
    assert (added.row_count, added.col_count, added.index) == (10, 5, 1)
    with pytest.raises(gspread.exceptions.APIError) as caught:
        book.add_worksheet("менеджер 1", rows=1, cols=1)
    assert caught.value.error["message"] == (
        'Invalid requests[0].addSheet: A sheet with the name "менеджер 1" already exists. '
        "Please enter another name."
    )
    book.del_worksheet(added)
    assert [w.title for w in book.worksheets()] == ["Sheet1"]


def test_raw_keeps_text_and_user_entered_parses(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.update([['=IMPORTXML("x")', "2024-01-31", 7]], "A1")
    ws.update([["=1+2", "2024-01-31"]], "A2", value_input_option="USER_ENTERED")
    assert ws.get("A1:C2", value_render_option="FORMULA") == [
        ['=IMPORTXML("x")', "2024-01-31", 7],
        ["=1+2", 45322],
    ]
    assert ws.get("A1:C2") == [['=IMPORTXML("x")', "2024-01-31", "7"], ["3", "2024-01-31"]]
    assert ws.get("B2", value_render_option="UNFORMATTED_VALUE") == [[45322]]


def test_reads_are_trimmed_and_batched(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.update([["a", "", "c"], [], [1.5, True]], "A1")
    raw = book.values_get("Sheet1!A1:D5", params={"valueRenderOption": "UNFORMATTED_VALUE"})
    assert raw == {
        "range": "Sheet1!A1:D5",
        "majorDimension": "ROWS",
        "values": [["a", "", "c"], [], [1.5, True]],
    }
    assert book.values_get("Sheet1!F1:F2") == {"range": "Sheet1!F1:F2", "majorDimension": "ROWS"}
    got = ws.batch_get(["A1:B1", "C:C"], major_dimension="COLUMNS")
    assert [r.range for r in got] == ["Sheet1!A1:B1", "Sheet1!C1:C1000"]
    assert [list(r) for r in got] == [[["a"]], [["c"]]]


def test_values_batch_update_append_and_clears(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.batch_update([{"range": "A1", "values": [["h1", "h2"]]}, {"range": "D5", "values": [[1]]}])
    ws.batch_clear(["D5"])
    reply = ws.append_rows([["r1", 1], ["r2", 2]], insert_data_option="INSERT_ROWS")
    assert reply["tableRange"] == "Sheet1!A1:B1"
    assert reply["updates"]["updatedRange"] == "Sheet1!A2:B3"
    assert ws.get_all_values()[:3] == [["h1", "h2"], ["r1", "1"], ["r2", "2"]]
    assert (
        book.fetch_sheet_metadata()["sheets"][0]["properties"]["gridProperties"]["rowCount"] == 1002
    )
    assert ws.clear()["clearedRange"] == "Sheet1!A1:Z1002"
    assert ws.get_all_values() == [[]]


def test_bounded_writes_must_fit(book: gspread.Spreadsheet) -> None:
    with pytest.raises(gspread.exceptions.APIError) as caught:
        book.values_update(
            "Sheet1!A1:B2", params={"valueInputOption": "RAW"}, body={"values": [[1], [2], [3]]}
        )
    assert caught.value.error["message"] == (
        "Requested writing within range [Sheet1!A1:B2], but tried writing to row [3]"
    )
    with pytest.raises(gspread.exceptions.APIError) as caught:
        book.values_update(
            "Sheet1!A1000", params={"valueInputOption": "RAW"}, body={"values": [[1], [2]]}
        )
    assert "exceeds grid limits. Max rows: 1000, max columns: 26" in caught.value.error["message"]


def test_a_batch_update_is_all_or_nothing(
    book: gspread.Spreadsheet, emulator: tuple[EmulatorServer, SheetsState]
) -> None:
    _, state = emulator
    with pytest.raises(gspread.exceptions.APIError) as caught:
        book.batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "New"}}},
                    {"deleteSheet": {"sheetId": 12345}},
                ]
            }
        )
    assert caught.value.code == 400
    assert (
        caught.value.error["message"] == "Invalid requests[1].deleteSheet: No sheet with id: 12345"
    )
    assert [s.title for s in state.get("book").sheets] == ["Sheet1"]


def test_a_failed_batch_leaves_every_member_of_the_sheets_it_changed_as_it_was(
    book: gspread.Spreadsheet, emulator: tuple[EmulatorServer, SheetsState]
) -> None:
    """The working copy takes a sheet's members as the batch first uses them; a failure late
    in the batch must still leave all of them, on every sheet it touched, unchanged."""
    _, state = emulator
    other = book.add_worksheet("Other", rows=10, cols=5)
    ws = book.sheet1
    ws.update([["a", 1], ["b", 2]], "A1:B2")
    ws.format("A1:B2", {"textFormat": {"bold": True}})
    ws.define_named_range("A1:B2", "scores")
    stored = state.get("book")
    before = {s.title: {m: repr(getattr(s, m)) for m in SHEET_MEMBERS} for s in stored.sheets}
    named = repr(stored.named_ranges)
    changes = [
        {"updateCells": {"range": {"sheetId": 0, "endRowIndex": 3}, "fields": "*"}},
        {
            "repeatCell": {
                "range": {"sheetId": other.id},
                "cell": {"userEnteredFormat": {"numberFormat": {"type": "PERCENT"}}},
                "fields": "userEnteredFormat.numberFormat",
            }
        },
        {"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "endIndex": 2}}},
        {"addProtectedRange": {"protectedRange": {"range": {"sheetId": other.id}}}},
        {
            "updateDimensionProperties": {
                "range": {"sheetId": other.id, "dimension": "COLUMNS", "endIndex": 2},
                "properties": {"pixelSize": 40},
                "fields": "pixelSize",
            }
        },
        {"updateSheetProperties": {"properties": {"title": "Renamed"}, "fields": "title"}},
        {"deleteSheet": {"sheetId": 12345}},
    ]
    with pytest.raises(gspread.exceptions.APIError):
        book.batch_update({"requests": changes})
    with pytest.raises(gspread.exceptions.APIError):
        book.values_batch_update(
            {
                "valueInputOption": "USER_ENTERED",
                "data": [{"range": "Other!A1", "values": [["5%"]]}, {"range": "Nowhere!A1"}],
            }
        )
    stored = state.get("book")
    after = {s.title: {m: repr(getattr(s, m)) for m in SHEET_MEMBERS} for s in stored.sheets}
    assert after == before
    assert repr(stored.named_ranges) == named
    assert all(type(s) is Sheet for s in stored.sheets)


def test_cells_given_one_format_by_a_repeat_cell_keep_their_own_afterwards(
    book: gspread.Spreadsheet, emulator: tuple[EmulatorServer, SheetsState]
) -> None:
    """repeatCell works a format out once for many cells; a later change to one stays there."""
    _, state = emulator
    ws = book.sheet1
    ws.format("A1:A3", {"textFormat": {"bold": True}})
    ws.update([["50%"]], "A2", value_input_option="USER_ENTERED")
    ws.format("A3", {"horizontalAlignment": "CENTER"})
    formats = state.get("book").sheets[0].formats
    assert formats[(0, 0)] == {"textFormat": {"bold": True}}
    assert formats[(1, 0)] == {
        "textFormat": {"bold": True},
        "numberFormat": {"type": "PERCENT", "pattern": "0%"},
    }
    assert formats[(2, 0)] == {"textFormat": {"bold": True}, "horizontalAlignment": "CENTER"}


def test_protection_formats_and_structure_land_in_metadata(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.add_protected_range("A1:B2", editor_users_emails=["boss@example.com"])
    ws.format("A1:B1", {"textFormat": {"bold": True}, "backgroundColor": {"red": 0.5}})
    ws.freeze(rows=1)
    ws.merge_cells("A3:B3")
    sheet = book.fetch_sheet_metadata()["sheets"][0]
    (protected,) = sheet["protectedRanges"]
    assert protected["editors"] == {
        "users": ["sheets-kpi@emulator.iam.gserviceaccount.com", "boss@example.com"]
    }
    assert protected["range"] == {
        "startRowIndex": 0,
        "endRowIndex": 2,
        "startColumnIndex": 0,
        "endColumnIndex": 2,
    }
    assert sheet["properties"]["gridProperties"]["frozenRowCount"] == 1
    assert sheet["merges"] == [
        {"startRowIndex": 2, "endRowIndex": 3, "startColumnIndex": 0, "endColumnIndex": 2}
    ]
    cell = book.fetch_sheet_metadata(
        {"ranges": "Sheet1!B1", "fields": "sheets.data.rowData.values.userEnteredFormat"}
    )
    assert cell["sheets"][0]["data"][0]["rowData"][0]["values"][0]["userEnteredFormat"] == {
        "textFormat": {"bold": True},
        "backgroundColor": {"red": 0.49803922},
        "backgroundColorStyle": {"rgbColor": {"red": 0.49803922}},
    }


def test_number_formats_show_in_formatted_reads(book: gspread.Spreadsheet) -> None:
    ws = book.sheet1
    ws.update([[1234567.891, 0.853]], "A1")
    ws.format("A1", {"numberFormat": {"type": "NUMBER", "pattern": '#,##0 "₽"'}})
    ws.format("B1", {"numberFormat": {"type": "PERCENT", "pattern": "0.0%"}})
    assert ws.get("A1:B1") == [["1,234,568 ₽", "85.3%"]]
    assert ws.get("A1:B1", value_render_option="UNFORMATTED_VALUE") == [[1234567.891, 0.853]]


def test_quota_answers_resource_exhausted(
    book: gspread.Spreadsheet, emulator: tuple[EmulatorServer, SheetsState]
) -> None:
    server, _ = emulator
    requests.post(f"{server.url}/_emulator/quota", json={"read_per_minute": 1}, timeout=5)
    book.fetch_sheet_metadata()
    with pytest.raises(gspread.exceptions.APIError) as caught:
        book.fetch_sheet_metadata()
    error = caught.value.response.json()["error"]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert error["message"] == (
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per "
        "user' of service 'sheets.googleapis.com' for consumer 'project_number:0'."
    )
    assert error["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert error["details"][0]["metadata"]["quota_limit"] == "ReadRequestsPerMinutePerUser"
    written = book.values_update("A1", params={"valueInputOption": "RAW"}, body={"values": [[1]]})
    assert written["updatedCells"] == 1  # writes have their own bucket


def test_auth_when_required(book_state: SheetsState) -> None:
    server = EmulatorServer(build_app(book_state, require_auth=True)).start()
    try:
        bare = requests.get(f"{server.url}/v4/spreadsheets/book", timeout=5)
        assert bare.status_code == 401
        assert bare.json()["error"]["status"] == "UNAUTHENTICATED"
        signed = requests.get(
            f"{server.url}/v4/spreadsheets/book", headers={"Authorization": "Bearer x"}, timeout=5
        )
        assert signed.status_code == 200
    finally:
        server.stop()


def test_error_bodies_look_like_googles(emulator: tuple[EmulatorServer, SheetsState]) -> None:
    server, _ = emulator
    missing = requests.get(f"{server.url}/v4/spreadsheets/nope", timeout=5)
    assert (missing.status_code, missing.json()) == (
        404,
        {
            "error": {
                "code": 404,
                "message": "Requested entity was not found.",
                "status": "NOT_FOUND",
            }
        },
    )
    no_option = requests.put(
        f"{server.url}/v4/spreadsheets/book/values/Sheet1!A1", json={"values": [[1]]}, timeout=5
    )
    assert (
        no_option.json()["error"]["message"] == "'valueInputOption' is required but not specified"
    )
    unknown = requests.put(
        f"{server.url}/v4/spreadsheets/book/values/A1?valueInputOption=RAW",
        json={"values": [[1]], "headerValues": 1},
        timeout=5,
    )
    assert unknown.json()["error"]["message"] == (
        'Invalid JSON payload received. Unknown name "headerValues": Cannot find field.'
    )
    misspelt = requests.post(
        f"{server.url}/v4/spreadsheets/book:batchUpdate",
        json={"requests": [{"updateSheetProperties": {"properties": {"headerValues": 1}}}]},
        timeout=5,
    )
    assert misspelt.json()["error"]["message"] == (  # the text Google sends (discovery schema)
        'Invalid JSON payload received. Unknown name "headerValues" at '
        "'requests[0].update_sheet_properties.properties': Cannot find field."
    )


def test_the_request_log_counts_calls_by_kind(
    book: gspread.Spreadsheet, emulator: tuple[EmulatorServer, SheetsState]
) -> None:
    server, _ = emulator
    server.reset_stats()
    book.values_batch_get(["Sheet1!A1", "Sheet1!B2"])
    book.values_batch_update(
        {"valueInputOption": "RAW", "data": [{"range": "A1", "values": [[1]]}]}
    )
    book.batch_update(
        {"requests": [{"appendDimension": {"sheetId": 0, "dimension": "ROWS", "length": 1}}]}
    )
    assert server.stats()["operations"] == {
        "values.batchGet": 1,
        "values.batchUpdate": 1,
        "spreadsheets.batchUpdate": 1,
    }


def test_planned_faults_hit_the_next_matching_requests(
    emulator: tuple[EmulatorServer, SheetsState],
) -> None:
    server, state = emulator
    plan = {"next": ["503", "reset"], "operation": "values.update"}
    assert requests.post(f"{server.url}/_emulator/faults", json=plan, timeout=5).ok
    assert requests.get(f"{server.url}/v4/spreadsheets/book", timeout=5).status_code == 200
    url = f"{server.url}/v4/spreadsheets/book/values/A1?valueInputOption=RAW"
    unavailable = requests.put(url, json={"values": [[1]]}, timeout=5)
    assert unavailable.json()["error"]["status"] == "UNAVAILABLE"
    with pytest.raises(requests.ConnectionError):  # applied, but the answer is lost
        requests.put(url, json={"values": [[2]]}, timeout=5)
    assert state.get("book").sheets[0].cells[(0, 0)] == 2
    assert requests.put(url, json={"values": [[3]]}, timeout=5).ok
    bad = requests.post(f"{server.url}/_emulator/faults", json={"next": ["418"]}, timeout=5)
    assert bad.status_code == 400


def test_latency_is_added(book_state: SheetsState) -> None:
    server = serve(state=book_state, latency_ms=60)
    try:
        started = time.monotonic()
        requests.get(f"{server.url}/v4/spreadsheets/book", timeout=5)
        assert time.monotonic() - started >= 0.06
    finally:
        server.stop()


def test_drive_subset(emulator: tuple[EmulatorServer, SheetsState]) -> None:
    server, _ = emulator
    gc = gspread.Client(auth=None, session=RedirectSession(server.url))
    made = gc.create("Итоги")
    made.sheet1.update([["a", 1]], "A1")
    assert {f["name"] for f in gc.list_spreadsheet_files()} == {"KPI", "Итоги"}
    assert [f["id"] for f in gc.list_spreadsheet_files("Итоги")] == [made.id]
    twin = gc.copy(made.id)
    assert (twin.title, twin.sheet1.get_all_values()) == ("Copy of Итоги", [["a", "1"]])
    assert gc.export(made.id, gspread.utils.ExportFormat.CSV) == b"a,1"
    gc.del_spreadsheet(made.id)
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gc.open_by_key(made.id)


def test_state_persists_and_exports_to_xlsx(
    book: gspread.Spreadsheet, emulator: tuple[EmulatorServer, SheetsState], tmp_path: Path
) -> None:
    server, state = emulator
    ws = book.sheet1
    ws.update([["Имя", "Сумма"], ['=IMPORTXML("x")', 42]], "A1")
    ws.format("B2", {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}})
    ws.freeze(rows=1)
    again = SheetsState(tmp_path / "state.json")
    restored = again.get("book").sheets[0]
    assert restored.cells[(1, 1)] == 42 and restored.grid["frozenRowCount"] == 1
    assert restored.number_format((1, 1)) == {"type": "NUMBER", "pattern": "#,##0.00"}
    for source in (
        requests.get(f"{server.url}/_emulator/export/book.xlsx", timeout=5).content,
        export_xlsx(state, "book", tmp_path / "direct.xlsx").read_bytes(),
    ):
        path = tmp_path / "book.xlsx"
        path.write_bytes(source)
        sheet = openpyxl.load_workbook(path)["Sheet1"]
        assert list(sheet.values) == [("Имя", "Сумма"), ('=IMPORTXML("x")', 42)]
        assert (sheet.freeze_panes, sheet["B2"].number_format) == ("A2", "#,##0.00")


def test_formulas_survive_persistence(tmp_path: Path) -> None:
    state = SheetsState(tmp_path / "s.json")
    book = state.create_spreadsheet("F", "f")
    book.sheets[0].cells[(0, 0)] = Formula("=1+1", 2)
    state.save()
    assert SheetsState(tmp_path / "s.json").get("f").sheets[0].cells[(0, 0)] == Formula("=1+1", 2)


def test_repeat_cell_resets_whole_members_only_inside_its_range(
    emulator: tuple[EmulatorServer, SheetsState], book: gspread.Spreadsheet
) -> None:
    _, state = emulator
    ws = book.sheet1
    ws.update([[1, 2], [3, 4]], "A1")
    ws.format("A1:B2", {"numberFormat": {"type": "NUMBER", "pattern": "0.0"}})
    ws.update_note("A1", "keep")
    reset = {"range": {"sheetId": ws.id, "endRowIndex": 1}, "fields": "userEnteredFormat"}
    book.batch_update({"requests": [{"repeatCell": reset | {"cell": {"userEnteredFormat": {}}}}]})
    sheet = state.get("book").sheets[0]
    assert sorted(sheet.formats) == [(1, 0), (1, 1)]
    assert sheet.notes == {(0, 0): "keep"} and len(sheet.cells) == 4
    everything = {"range": {"sheetId": ws.id, "startRowIndex": 1}, "fields": "*", "cell": {}}
    book.batch_update({"requests": [{"repeatCell": everything}]})
    sheet = state.get("book").sheets[0]  # every write swaps in a new copy of the book
    assert (sheet.formats, sorted(sheet.cells)) == ({}, [(0, 0), (0, 1)])


def test_xlsx_export_puts_right_axis_series_on_a_secondary_axis(tmp_path: Path) -> None:
    state = SheetsState()
    book = state.create_spreadsheet("C", "c")
    sheet = book.sheets[0]
    for row, values in enumerate([("Неделя", "Сумма", "Сделки"), ("2026-11-02", 10.0, 1)]):
        for col, value in enumerate(values):
            sheet.cells[(row, col)] = value

    def column(col: int) -> dict:
        grid = {"sheetId": sheet.sheet_id, "startRowIndex": 0, "endRowIndex": 2}
        return {
            "sourceRange": {
                "sources": [grid | {"startColumnIndex": col, "endColumnIndex": col + 1}]
            }
        }

    anchor = {"sheetId": sheet.sheet_id, "rowIndex": 0, "columnIndex": 4}
    sheet.extras["charts"] = [
        {
            "chartId": 1,
            "spec": {
                "title": "Динамика",
                "basicChart": {
                    "chartType": "LINE",
                    "headerCount": 1,
                    "domains": [{"domain": column(0)}],
                    "series": [
                        {"series": column(1), "targetAxis": "LEFT_AXIS"},
                        {"series": column(2), "targetAxis": "RIGHT_AXIS"},
                    ],
                },
            },
            "position": {"overlayPosition": {"anchorCell": anchor}},
        }
    ]
    path = export_xlsx(state, "c", tmp_path / "c.xlsx")
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/charts/chart1.xml").decode()
    left, right = xml.split("</lineChart>")[:2]  # two line charts sharing the category axis
    assert "!$B$2" in left and "!$C$2" not in left and "!$C$2" in right
    assert '<axId val="200"' in right and '<crosses val="max"' in xml
    assert '<smooth val="0"' in xml and "Динамика" in xml


@pytest.mark.parametrize(
    "value",
    [
        {
            "a": [1.5, -0.0, 1e300, 10**30, True, False, None, 'é\n"\u2028\x00', [], {}, [[]]],
            "n": [float("nan"), float("inf"), float("-inf")],
            1: 2,
            None: 3,
            False: 4,
            2.5: 5,
            "x": {"y": {"z": (1, 2), "w": [{"q": 1.0}]}},
        },
        [],
        {},
        "text",
        7,
    ],
)
def test_response_text_is_what_json_dumps_writes_with_indent_2(value: Any) -> None:
    assert dumps(value) == json.dumps(value, ensure_ascii=False, indent=2)


def test_a_metadata_read_is_sent_as_json_dumps_writes_it(
    book: gspread.Spreadsheet, emulator: tuple[EmulatorServer, SheetsState]
) -> None:
    book.sheet1.update([["a", 1.25]], "A1")
    book.sheet1.format("A1:B2", {"backgroundColor": {"red": 0.5}})
    book.sheet1.add_protected_range("A1:B2")
    server, _ = emulator
    url = f"{server.url}/v4/spreadsheets/book"
    response = requests.get(url, params={"includeGridData": "true"}, timeout=10)
    assert response.text == json.dumps(response.json(), ensure_ascii=False, indent=2)


@pytest.mark.parametrize(
    ("cell", "checked"),
    [
        ({}, {}),
        ({"userEnteredValue": {"stringValue": "=IMPORTXML(1)"}}, None),
        ({"userEnteredValue": {"numberValue": 2.5}}, None),
        ({"userEnteredValue": {"boolValue": False}}, None),
        ({"userEnteredValue": {"numberValue": "5"}}, {"userEnteredValue": {"numberValue": 5.0}}),
        ({"user_entered_value": {"string_value": "x"}}, {"userEnteredValue": {"stringValue": "x"}}),
    ],
)
def test_cells_of_an_update_are_checked_alike_by_the_quick_path(cell, checked) -> None:
    body = {"requests": [{"updateCells": {"rows": [{"values": [cell]}], "fields": "*"}}]}
    out = schema.validate(json.loads(json.dumps(body)))
    assert out["requests"][0]["updateCells"]["rows"][0]["values"][0] == (checked or cell)


@pytest.mark.parametrize(
    "value", [{"numberValue": True}, {"boolValue": 1}, {"stringValue": 5}, {"nope": 1}]
)
def test_a_mistyped_cell_value_is_refused_by_the_quick_path_too(value) -> None:
    body = {"requests": [{"updateCells": {"rows": [{"values": [{"userEnteredValue": value}]}]}}]}
    with pytest.raises(ApiError):
        schema.validate(body)

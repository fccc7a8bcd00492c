"""`sheets-kpi init --personal` against the Sheets emulator's Drive part, through gspread and
google-auth as in production (SPEC §13): created in a shared-drive folder, shared, written to
the roster in one values write; without a folder, listed and adopted once shared."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from gspread.exceptions import APIError

from sheets_kpi.cli import main
from sheets_kpi.config import Config
from sheets_kpi.emulators.amocrm import DEMO_TOKEN
from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import SheetsState
from sheets_kpi.emulators.sheets import serve as serve_sheets
from sheets_kpi.errors import SheetsError
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.init_personal import FILES, init_personal, personal_gateway
from sheets_kpi.sheets.layout import TabLayout
from sheets_kpi.sheets.render import MARKER
from tests.conftest import ROOT, shipped_config

BOOK = "personal-main-book"
FOLDER = "0AsharedDriveFolder01"
HEADER = ["ID amoCRM", "Имя", "Отдел", "Опыт", "Email", "Личная таблица", "Активен", "База бонуса"]
HAS_ONE = "1ExistingPersonalSheet0000000000000000000"
ROSTER = [
    HEADER,
    [101, "Анна", "sales", "senior", "anna@example.com", "", "да", 50000],
    [102, "Борис", "sales", "junior", "", "", "да", ""],  # no e-mail: nothing to do
    [103, "Вера", "sales", "", "vera@example.com", HAS_ONE, "да", ""],  # has one already
    [104, "Глеб", "sales", "", "gleb@example.com", "", "нет", "заметка"],
]
ANNA, GLEB = "KPI — Анна (anna@example.com)", "KPI — Глеб (gleb@example.com)"


@dataclass
class Drive:
    state: SheetsState
    server: EmulatorServer
    config: Config

    def with_google(self, **google: object) -> Config:
        return self.config.model_copy(
            update={"google": self.config.google.model_copy(update=google)}
        )

    def roster(self) -> list[list]:
        book = SheetsGateway(self.config.google).client.open_by_key(BOOK)
        return book.worksheet("Сотрудники").get_values(value_render_option="UNFORMATTED_VALUE")

    def calls(self) -> Counter:
        return Counter(e["operation"] for e in self.server.stats()["requests"])  # type: ignore[index,union-attr]

    def titled(self, title: str):
        return next(b for b in self.state.spreadsheets.values() if b.properties["title"] == title)


def tab_of(book, title: str):
    return next(tab for tab in book.sheets if tab.title == title)


def owned(tab) -> bool:
    return any(m["metadataKey"] == MARKER for m in tab.extras.get("developerMetadata", []))


@pytest.fixture
def drive() -> Iterator[Drive]:
    state = SheetsState(seed=4)
    state.create_spreadsheet("KPI", BOOK)
    state.drive_storage = False  # a service account, as in production
    server = serve_sheets(state=state)
    config = shipped_config()
    google = config.google.model_copy(
        update={
            "spreadsheet": BOOK,
            "endpoint": server.url,
            "supervisors": ["boss@example.com", "deputy@example.com"],
        }
    )
    config = config.model_copy(update={"google": google})
    book = SheetsGateway(google).client.open_by_key(BOOK)
    book.add_worksheet("Сотрудники", rows=20, cols=8).update(ROSTER, "A1", raw=True)
    server.reset_stats()
    yield Drive(state, server, config)
    server.stop()


def test_in_a_shared_drive_folder_each_gets_one_created_shared_and_written(drive) -> None:
    drive.state.folders[FOLDER] = True
    config = drive.with_google(personal_folder=FOLDER)
    report = init_personal(personal_gateway(config), config)
    assert (report.created, report.adopted, report.to_create, report.problems) == (
        [ANNA, GLEB],
        [],
        [],
        [],
    )
    anna, gleb = drive.titled(ANNA), drive.titled(GLEB)
    assert anna.parents == [FOLDER] and gleb.parents == [FOLDER]
    assert [(p["emailAddress"], p["role"]) for p in anna.permissions] == [
        ("anna@example.com", "reader"),
        ("boss@example.com", "writer"),
        ("deputy@example.com", "writer"),
    ]
    assert drive.calls() == Counter(
        {
            "spreadsheets.get": 1,
            "values.batchGet": 1,
            "drive.files.list": 1,
            "drive.files.create": 2,
            "spreadsheets.batchUpdate": 2,  # each one's Sheet1 swapped for the manager's tab
            "drive.permissions.create": 6,
            "values.batchUpdate": 1,  # both ids in one write
        }
    )
    assert [tab.title for tab in anna.sheets] == ["Анна"] and owned(tab_of(anna, "Анна"))
    assert [tab.title for tab in gleb.sheets] == ["Глеб"]
    expected = [row[:] for row in ROSTER]
    expected[1][5], expected[4][5] = anna.spreadsheet_id, gleb.spreadsheet_id
    assert drive.roster() == expected  # those two cells and nothing else
    again = init_personal(personal_gateway(config), config)
    assert (again.created, again.adopted, again.to_create) == ([], [], [])
    assert len(drive.state.spreadsheets) == 3


def test_a_spreadsheet_already_in_the_folder_is_adopted_not_created_twice(drive) -> None:
    drive.state.folders[FOLDER] = True
    drive.state.create_spreadsheet(ANNA).parents = [FOLDER]  # a run cut short before its write
    config = drive.with_google(personal_folder=FOLDER)
    report = init_personal(personal_gateway(config), config)
    assert (report.created, report.adopted) == ([GLEB], [ANNA])
    assert drive.roster()[1][5] == drive.titled(ANNA).spreadsheet_id
    # not created here: its tabs are its owner's, even an empty Sheet1
    assert [tab.title for tab in drive.titled(ANNA).sheets] == ["Sheet1"]
    assert [tab.title for tab in drive.titled(GLEB).sheets] == ["Глеб"]


@pytest.mark.parametrize("title", ["Анна", "Анна (101)"])
def test_the_first_cycle_builds_the_managers_tab_where_sheet1_was_in_one_batch(
    drive, title
) -> None:
    """The cycle's title for the manager is the roster's name, or with the amoCRM id when two
    share it: the tab made at creation is built in place, or replaced in the same batch."""
    drive.state.folders[FOLDER] = True
    config = drive.with_google(personal_folder=FOLDER)
    init_personal(personal_gateway(config), config)
    drive.server.reset_stats()
    layout = TabLayout(title, [["KPI", "План", "Факт"], ["Сделки", 10, 7]])
    report = SheetsGateway(config.google).write([layout], drive.titled(ANNA).spreadsheet_id)
    anna = drive.titled(ANNA)  # the emulator swaps in a changed copy at each write
    assert [tab.title for tab in anna.sheets] == [title]
    assert report.tabs_removed == ([] if title == "Анна" else ["Анна"])
    # built in place, its few values ride in the structure's batch; a new tab's go apart
    values = {} if title == "Анна" else {"values.batchUpdate": 1}
    assert drive.calls() == Counter(
        {"spreadsheets.get": 1, "spreadsheets.batchUpdate": 1, **values}
    )
    assert tab_of(anna, title).cells[(1, 2)] == 7


def test_a_refused_swap_is_told_and_the_spreadsheet_is_still_shared_and_written(drive) -> None:
    drive.state.folders[FOLDER] = True
    config = drive.with_google(personal_folder=FOLDER)
    roster = SheetsGateway(config.google).client.open_by_key(BOOK).worksheet("Сотрудники")
    roster.update([["sheet1"]], "B2")  # a name Google refuses beside the default `Sheet1`
    report = init_personal(personal_gateway(config), config)
    [problem] = report.problems
    assert "keeps its empty Sheet1" in problem and '"sheet1" already exists' in problem
    made = drive.titled("KPI — sheet1 (anna@example.com)")
    assert [tab.title for tab in made.sheets] == ["Sheet1"] and len(made.permissions) == 3
    assert drive.roster()[1][5] == made.spreadsheet_id


def test_a_folder_outside_a_shared_drive_is_refused_for_want_of_storage(drive) -> None:
    drive.state.folders[FOLDER] = False  # a folder in someone's My Drive
    config = drive.with_google(personal_folder=FOLDER)
    with pytest.raises(SheetsError, match=r"google\.personal_folder must be a folder in a shared"):
        init_personal(personal_gateway(config), config)
    assert "values.batchUpdate" not in drive.calls() and drive.roster() == ROSTER


def test_the_emulator_answers_the_storage_quota_error_as_google_does(drive) -> None:
    http = SheetsGateway(drive.config.google).http
    body = {"name": "x", "mimeType": "application/vnd.google-apps.spreadsheet"}
    with pytest.raises(APIError) as err:
        http.request("post", FILES, params={"supportsAllDrives": "true"}, json=body)
    message = "The user's Drive storage quota has been exceeded."
    assert err.value.response.status_code == 403
    assert err.value.response.json() == {
        "error": {
            "code": 403,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": "storageQuotaExceeded"}],
        }
    }
    drive.state.folders[FOLDER] = True  # a shared drive's folder is unseen without the flag
    with pytest.raises(APIError) as hidden:
        http.request("post", FILES, json={**body, "parents": [FOLDER]})
    assert hidden.value.response.status_code == 404


def test_without_a_folder_it_lists_what_to_create_and_adopts_it_once_shared(drive) -> None:
    report = init_personal(personal_gateway(drive.config), drive.config)
    assert [(w.row, w.title, w.email) for w in report.to_create] == [
        (2, ANNA, "anna@example.com"),
        (5, GLEB, "gleb@example.com"),
    ]
    assert "drive.files.create" not in drive.calls() and drive.roster() == ROSTER
    made = drive.state.create_spreadsheet(ANNA)  # a supervisor made it and shared it
    drive.state.create_spreadsheet("KPI — someone else")
    again = init_personal(personal_gateway(drive.config), drive.config)
    assert again.adopted == [ANNA] and [w.title for w in again.to_create] == [GLEB]
    assert drive.roster()[1][5] == made.spreadsheet_id and drive.roster()[4][5] == ""


def test_the_command_prints_the_titles_and_whom_to_share_with(drive, tmp_path, capsys) -> None:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["amocrm"]["auth"] = {"long_lived_token": DEMO_TOKEN}
    data["google"].update(drive.config.google.model_dump(mode="json", exclude_none=True))
    data["store"] = str(tmp_path / "s.db")
    path = Path(tmp_path / "config.yaml")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["--config", str(path), "init", "--personal"]) == 0
    out = capsys.readouterr().out
    assert "sheets-kpi@emulator.iam.gserviceaccount.com as Editor" in out
    assert f"  {ANNA}  (viewer: anna@example.com)" in out and GLEB in out
    drive.state.folders[FOLDER] = True
    data["google"]["personal_folder"] = FOLDER
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["--config", str(path), "init", "--personal"]) == 0
    assert f"created and shared: {ANNA}" in capsys.readouterr().out


def test_doctor_opens_the_data_spreadsheet_like_the_main_one(drive) -> None:
    from sheets_kpi.doctor import Doctor

    data = drive.state.create_spreadsheet("KPI data").spreadsheet_id
    doctor = Doctor(drive.with_google(data_spreadsheet=data))
    assert doctor.data_spreadsheet() == "'KPI data' opens"
    missing = "1NoSuchSpreadsheet00000000000000000000000"
    with pytest.raises(SheetsError, match="was not found"):
        Doctor(drive.with_google(data_spreadsheet=missing)).data_spreadsheet()

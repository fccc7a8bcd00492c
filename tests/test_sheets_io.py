"""The Sheets layer over HTTP with real gspread against the emulator: request counts and safety."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
import requests

from sheets_kpi.config import GoogleConfig
from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import SheetsState, serve
from sheets_kpi.errors import SheetsError
from sheets_kpi.sheets.client import CountingHTTPClient, EndpointSession
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.init_tabs import init_inputs
from sheets_kpi.sheets.layout import Block, LineChart, TabLayout
from tests.conftest import shipped_config

BOOK = "book-under-test"


@pytest.fixture
def emulator() -> Iterator[tuple[EmulatorServer, SheetsState]]:
    state = SheetsState(seed=1)
    state.create_spreadsheet("KPI", BOOK)
    server = serve(state=state)
    yield server, state
    server.stop()


def gateway_for(server: EmulatorServer) -> SheetsGateway:
    return SheetsGateway(
        GoogleConfig(spreadsheet=BOOK, endpoint=server.url, supervisors=["boss@example.com"])
    )


def manager_tabs(count: int, deal: str = "Сделка") -> list[TabLayout]:
    return [
        TabLayout(
            f"Менеджер {i}",
            [["KPI", "План", "Факт", "%"], [deal, 100, 50 + i, 0.5], ["Звонки", 10, 12, 1.2]],
            formats=[Block(1, 3, 3, 4, "0%")],
            achievement=[Block(1, 3, 3, 4)],
            chart=LineChart("t", 0, (1, 2), 0, 3, 5, 0),
        )
        for i in range(count)
    ]


def calls(server: EmulatorServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in server.stats()["requests"]:
        path = entry["path"]
        kind = (
            "batchUpdate"
            if path.endswith(":batchUpdate") and "/values" not in path
            else "values.batchUpdate"
            if path.endswith("values:batchUpdate")
            else "values.batchGet"
            if path.endswith("values:batchGet")
            else "values.append"
            if path.endswith(":append")
            else f"{entry['method']} {path.rsplit('/', 1)[-1]}"
        )
        counts[kind] = counts.get(kind, 0) + 1
    return counts


@pytest.mark.parametrize("managers", [8, 48])
def test_a_full_write_is_one_metadata_read_and_one_batch_whatever_the_size(emulator, managers):
    server, state = emulator
    gateway = gateway_for(server)
    server.reset_stats()
    report = gateway.write(manager_tabs(managers))
    assert calls(server) == {f"GET {BOOK}": 1, "batchUpdate": 1}
    assert len(report.tabs_created) == managers
    assert len(state.get(BOOK).sheets) == managers + 1


def test_unchanged_output_is_not_rewritten(emulator) -> None:
    server, _ = emulator
    gateway_for(server).write(manager_tabs(3))
    gateway = gateway_for(server)
    server.reset_stats()
    report = gateway.write(manager_tabs(3))
    assert report.unchanged == [f"Менеджер {i}" for i in range(3)]
    assert calls(server) == {f"GET {BOOK}": 1}


def test_formula_like_text_is_written_raw_and_reads_back_as_text(emulator) -> None:
    server, _ = emulator
    gateway = gateway_for(server)
    gateway.write(manager_tabs(1, deal='=IMPORTXML("x")'))
    grid = (
        gateway.client.open_by_key(BOOK)
        .worksheet("Менеджер 0")
        .get("A2", value_render_option="FORMULA")
    )
    assert grid == [['=IMPORTXML("x")']]


def test_a_shrinking_table_leaves_no_stale_cells(emulator) -> None:
    server, state = emulator
    gateway = gateway_for(server)
    gateway.write([TabLayout("data_kpi", [["a", "b"], [1, 2], [3, 4], [5, 6]])])
    gateway.write([TabLayout("data_kpi", [["a"], [7]])])
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "data_kpi")
    assert sheet.cells == {(0, 0): "a", (1, 0): 7}


def test_tabs_no_longer_needed_are_removed_and_foreign_tabs_never_touched(emulator) -> None:
    server, state = emulator
    gateway = gateway_for(server)
    ours = gateway.client.open_by_key(BOOK)
    foreign = ours.add_worksheet("Менеджер 1", 5, 5)
    foreign.update([["заметки руководителя"]], "A1")
    report = gateway_for(server).write(manager_tabs(3))
    assert report.conflicts == ["Менеджер 1"]
    assert foreign.get("A1") == [["заметки руководителя"]]
    report = gateway_for(server).write(manager_tabs(1))
    assert report.tabs_removed == ["Менеджер 2"]
    titles = [s.title for s in state.get(BOOK).sheets]
    assert titles == ["Sheet1", "Менеджер 1", "Менеджер 0"]


def test_output_tabs_are_protected_for_the_service_account_and_supervisors(emulator) -> None:
    server, state = emulator
    gateway_for(server).write(manager_tabs(1))
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "Менеджер 0")
    (protected,) = sheet.extras["protectedRanges"]
    assert protected["editors"]["users"] == [
        "sheets-kpi@emulator.iam.gserviceaccount.com",
        "boss@example.com",
    ]
    assert len(sheet.extras["conditionalFormats"]) == 3
    assert len(sheet.extras["charts"]) == 1


def test_quota_429_is_retried_with_bounded_backoff(emulator, monkeypatch) -> None:
    server, _ = emulator
    requests.post(
        f"{server.url}/_emulator/quota",
        timeout=5,
        json={"read_per_minute": 1, "write_per_minute": 1},
    )
    waits: list[float] = []

    def minute_passes(seconds: float) -> None:
        waits.append(seconds)
        requests.post(f"{server.url}/_emulator/quota", timeout=5, json={})

    monkeypatch.setattr(CountingHTTPClient, "sleep", staticmethod(minute_passes))
    gateway = gateway_for(server)
    gateway.metadata()
    gateway.metadata(fresh=True)  # the second read in the minute is over quota
    assert len(waits) == 1
    assert [e["status"] for e in server.stats()["requests"]].count(429) == 1


def test_retries_stop(emulator, monkeypatch) -> None:
    server, _ = emulator
    requests.post(f"{server.url}/_emulator/quota", timeout=5, json={"read_per_minute": 1})
    monkeypatch.setattr(CountingHTTPClient, "sleep", staticmethod(lambda s: None))
    gateway = gateway_for(server)
    gateway.metadata()
    with pytest.raises(SheetsError, match="quota exhausted"):
        gateway.metadata(fresh=True)
    assert gateway.counts() == (1 + gateway.http.max_attempts, 0)


def test_missing_spreadsheet_says_what_to_check(emulator) -> None:
    server, _ = emulator
    gateway = SheetsGateway(GoogleConfig(spreadsheet="nope", endpoint=server.url))
    with pytest.raises(SheetsError, match="spreadsheet 'nope' was not found"):
        gateway.metadata()


def test_endpoint_mode_sends_no_credentials(emulator) -> None:
    server, _ = emulator
    gateway = gateway_for(server)
    seen: list[str | None] = []
    gateway.client.http_client.session.hooks["response"].append(
        lambda response, *a, **k: seen.append(response.request.headers.get("Authorization"))
    )
    gateway.metadata()
    assert isinstance(gateway.client.http_client.session, EndpointSession)
    assert seen == [None]


def test_init_creates_inputs_reads_them_in_one_batch_get_and_is_idempotent(emulator) -> None:
    server, _ = emulator
    config = shipped_config()
    config = config.model_copy(
        update={
            "google": config.google.model_copy(update={"spreadsheet": BOOK, "endpoint": server.url})
        }
    )
    users = pd.DataFrame(
        [
            {
                "user_id": 7,
                "name": "Анна",
                "email": "a@x",
                "group_name": "Продажи",
                "is_active": True,
                "rank": "master",
            },
            {
                "user_id": 8,
                "name": "Админ",
                "email": "",
                "group_name": None,
                "is_active": True,
                "rank": None,
            },
        ]
    )
    gateway = SheetsGateway(config.google)
    report = init_inputs(gateway, config, users)
    assert report.created == ["Сотрудники", "Планы", "Оценки", "Нарушения", "Апелляции"]
    assert report.managers_added == 1
    server.reset_stats()
    frames, issues = SheetsGateway(config.google).read_inputs(config)
    assert calls(server) == {f"GET {BOOK}": 1, "values.batchGet": 1}
    assert frames["roster"]["name"].tolist() == ["Анна"]
    assert issues.empty, issues.to_string()

    sheet = gateway.client.open_by_key(BOOK).worksheet("Сотрудники")
    sheet.update([["Анна Петрова"]], "B2")  # a supervisor's edit
    users.loc[len(users)] = {
        "user_id": 9,
        "name": "Борис",
        "email": "",
        "group_name": "Sales",
        "is_active": True,
        "rank": "newbie",
    }
    second = init_inputs(SheetsGateway(config.google), config, users)
    assert (second.created, second.managers_added) == ([], 1)
    assert sheet.get("A2:D3") == [
        ["7", "Анна Петрова", "sales", "senior"],
        ["9", "Борис", "sales", "junior"],
    ]
    server.reset_stats()
    third = init_inputs(SheetsGateway(config.google), config, users)
    assert third.requests == 0
    assert "batchUpdate" not in calls(server)


def test_the_run_log_keeps_the_last_rows_trimming_in_bulk(emulator) -> None:
    server, state = emulator
    gateway = gateway_for(server)
    gateway.write([TabLayout("Журнал", [["started", "status"]], append_only=True)])
    for number in range(1, 106):
        gateway.append_log_row("Журнал", [number, "ok"], keep=5)
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "Журнал")
    # 105 runs: the 100 surplus rows went in one deleteDimension, the last 5 stay
    assert sorted({r for r, _ in sheet.cells}) == [0, 1, 2, 3, 4, 5]
    assert [sheet.cells[(r, 0)] for r in range(1, 6)] == [101, 102, 103, 104, 105]

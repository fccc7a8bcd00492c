"""The Sheets layer over HTTP with real gspread against the emulator: request counts and safety."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator

import pandas as pd
import pytest
import requests
from gspread.exceptions import APIError

from sheets_kpi.config import GoogleConfig
from sheets_kpi.cycle import read_inputs
from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import SheetsState, serve
from sheets_kpi.errors import SheetsError
from sheets_kpi.retry import SHEETS_RETRY
from sheets_kpi.sheets import gateway as gateway_module
from sheets_kpi.sheets import writer
from sheets_kpi.sheets.client import CountingHTTPClient, EndpointSession, make_client
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.init_tabs import init_inputs
from sheets_kpi.sheets.layout import Block, LineChart, TabLayout
from sheets_kpi.store.db import Store
from tests.conftest import NOW_AT, shipped_config

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
    assert calls(server) == {f"GET {BOOK}": 1, "batchUpdate": 1, "values.batchUpdate": 1}
    assert len(report.tabs_created) == managers
    assert len(state.get(BOOK).sheets) == managers + 1


def test_bodies_go_gzipped_and_the_log_counts_the_bytes_sent(emulator) -> None:
    server, state = emulator
    gateway = gateway_for(server)
    server.reset_stats()
    gateway.write(manager_tabs(20))
    posts = [e for e in server.stats()["requests"] if e["method"] == "POST"]
    plain = len(writer.encode({"valueInputOption": "RAW", "data": []}))
    assert len(posts) == 2 and all(e["status"] == 200 for e in posts)
    assert sum(e["bytes"] for e in posts) < 10_000  # 20 tabs of structure and values
    assert state.get(BOOK).sheet_by_title("Менеджер 19").cells[(1, 0)] == "Сделка"
    # An uncompressed body is still taken (a client without gzip).
    raw = requests.post(
        f"{server.url}/v4/spreadsheets/{BOOK}/values:batchUpdate",
        data=writer.encode({"valueInputOption": "RAW", "data": []}),
        headers={"Content-Type": "application/json"},
    )
    assert raw.status_code == 200 and server.stats()["requests"][-1]["bytes"] == plain


def test_with_gzip_requests_off_the_bodies_go_as_plain_json(emulator) -> None:
    server, state = emulator
    config = GoogleConfig(spreadsheet=BOOK, endpoint=server.url, gzip_requests=False)
    server.reset_stats()
    SheetsGateway(config).write(manager_tabs(20))
    posts = [e for e in server.stats()["requests"] if e["method"] == "POST"]
    assert len(posts) == 2 and all(e["bytes"] == e["inflated"] for e in posts)
    assert sum(e["bytes"] for e in posts) > 50_000  # the same 20 tabs as JSON
    assert state.get(BOOK).sheet_by_title("Менеджер 19").cells[(1, 0)] == "Сделка"


def test_unchanged_output_is_not_rewritten(emulator) -> None:
    server, _ = emulator
    gateway = gateway_for(server)  # its ledger says what each tab holds
    gateway.write(manager_tabs(3))
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


def test_counts_beside_roubles_are_charted_on_the_right_axis(emulator) -> None:
    server, state = emulator
    chart = LineChart("Динамика", 0, (1, 2), 0, 3, 0, 4, right_cols=(2,))
    rows = [
        ["Неделя", "Продажи", "Сделки"],
        ["2026-11-02", 1_200_000, 12],
        ["2026-11-09", 900_000, 9],
    ]
    gateway_for(server).write([TabLayout("Динамика — Продажи", rows, chart=chart)])
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "Динамика — Продажи")
    (stored,) = sheet.extras["charts"]
    series = stored["spec"]["basicChart"]["series"]
    assert [s["targetAxis"] for s in series] == ["LEFT_AXIS", "RIGHT_AXIS"]


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
    assert gateway.counts() == (1 + gateway.http.retry.max_attempts, 0)


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
    report = init_inputs(gateway, config, users, NOW_AT)
    assert report.created == [
        "Сотрудники",
        "Планы",
        "Оценки",
        "Нарушения",
        "Апелляции",
        "Закрытие",
    ]
    assert report.managers_added == 1
    server.reset_stats()
    frames, issues, *_ = read_inputs(SheetsGateway(config.google), config)
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
    second = init_inputs(SheetsGateway(config.google), config, users, NOW_AT)
    assert (second.created, second.managers_added) == ([], 1)
    assert sheet.get("A2:D3") == [
        ["7", "Анна Петрова", "sales", "senior"],
        ["9", "Борис", "sales", "junior"],
    ]
    server.reset_stats()
    third = init_inputs(SheetsGateway(config.google), config, users, NOW_AT)
    assert third.requests == 0
    assert "batchUpdate" not in calls(server)


def test_the_run_log_keeps_the_last_rows_trimming_in_bulk(emulator, tmp_path, monkeypatch):
    server, state = emulator
    monkeypatch.setattr(gateway_module, "LOG_KEEP", 5)
    monkeypatch.setattr(gateway_module, "LOG_ROOM", 10)
    with Store(tmp_path / "store.db") as store:
        gateway = gateway_for(server)
        log_tab = TabLayout("Журнал", [["started", "status"]], append_only=True)
        writes = []
        for run in range(1, 112):
            gateway.reset_counts()
            gateway.attach(store, run)
            gateway.write([log_tab], hold=True)
            assert gateway.flush("Журнал", [(run, [run, "ok"])]) is None
            writes.append(gateway.counts()[1])
        gateway.flush("Журнал", [(111, [111, "ok"])])  # a retry rewrites the row in its place
        sheet = next(s for s in state.get(BOOK).sheets if s.title == "Журнал")
        # growing by 10 rows, then once 100 surplus rows: they went in one deleteDimension
        assert sorted({r for r, _ in sheet.cells}) == [0, 1, 2, 3, 4, 5]
        assert [sheet.cells[(r, 0)] for r in range(1, 6)] == [107, 108, 109, 110, 111]
        assert writes.count(1) >= 99  # most cycles: the row alone, one values.batchUpdate


def test_a_rewrite_removes_a_users_merges(emulator) -> None:
    server, state = emulator
    gateway = gateway_for(server)
    gateway.write([TabLayout("data_kpi", [["a", "b"], [1, 2]])])
    sheet = gateway.client.open_by_key(BOOK).worksheet("data_kpi")
    sheet.merge_cells("A2:B2")  # Power BI cannot read a merged data tab

    def merges() -> list:
        return next(s for s in state.get(BOOK).sheets if s.title == "data_kpi").extras["merges"]

    assert merges()
    gateway.write([TabLayout("data_kpi", [["a", "b"], [1, 3]])], force=True)  # the nightly one
    assert not merges()


def test_an_output_tab_a_user_renamed_is_theirs_and_kept(emulator) -> None:
    server, state = emulator
    gateway = gateway_for(server)
    layouts = [TabLayout("Итоги", [["a"]]), TabLayout("data_kpi", [["b"]])]
    gateway.write(layouts)
    gateway.client.open_by_key(BOOK).worksheet("Итоги").update_title("Итоги (октябрь)")
    report = gateway.write(layouts)
    assert (report.tabs_released, report.tabs_created) == (["Итоги (октябрь)"], ["Итоги"])
    assert report.tabs_removed == []
    again = gateway.write(layouts[1:])  # "Итоги" is no longer produced: ours goes, theirs stays
    assert again.tabs_removed == ["Итоги"]
    assert "Итоги (октябрь)" in [s.title for s in state.get(BOOK).sheets]


def test_titles_are_matched_ignoring_case_as_sheets_does(emulator) -> None:
    server, state = emulator
    gateway = gateway_for(server)
    gateway.write([TabLayout("Итоги", [["a"]]), TabLayout("data_kpi", [["b"]])])
    book = gateway.client.open_by_key(BOOK)
    book.worksheet("Итоги").update_title("итоги")  # a supervisor's rename, only in case
    book.add_worksheet("РЕЙТИНГ", rows=2, cols=2)  # their own tab
    layouts = [TabLayout(t, [["c"]]) for t in ("Итоги", "data_kpi", "Рейтинг")]
    report = gateway.write(layouts)
    assert report.conflicts == ["Рейтинг"]
    titles = [s.title for s in state.get(BOOK).sheets]
    assert "Итоги" in titles and "РЕЙТИНГ" in titles and "итоги" not in titles
    assert "Рейтинг" not in titles


def test_the_run_log_is_never_appended_to_a_tab_the_tool_did_not_create(emulator, tmp_path):
    server, state = emulator
    gateway = gateway_for(server)
    book = gateway.client.open_by_key(BOOK)
    book.add_worksheet("Журнал", rows=3, cols=2).update([["мой журнал звонков"]], "A1")
    report = gateway.write([TabLayout("Журнал", [["started", "status"]], append_only=True)])
    assert report.conflicts == ["Журнал"]
    with Store(tmp_path / "store.db") as store:
        gateway.attach(store, 1)
        assert "not created by sheets-kpi" in (gateway.flush("Журнал", [(1, [1, "ok"])]) or "")
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "Журнал")
    assert sheet.cells == {(0, 0): "мой журнал звонков"}


def test_the_retry_policy_is_a_parameter(emulator, monkeypatch) -> None:
    server, _ = emulator
    requests.post(f"{server.url}/_emulator/quota", timeout=5, json={"read_per_minute": 1})
    waits: list[float] = []
    monkeypatch.setattr(CountingHTTPClient, "sleep", staticmethod(waits.append))
    google = GoogleConfig(spreadsheet=BOOK, endpoint=server.url)
    few_short_retries = dataclasses.replace(SHEETS_RETRY, max_attempts=3, backoff_cap=0.5)
    gateway = SheetsGateway(google, make_client(google, retry=few_short_retries))
    gateway.metadata()
    with pytest.raises(SheetsError, match="quota exhausted"):
        gateway.metadata(fresh=True)
    assert gateway.counts() == (1 + 3, 0)
    assert len(waits) == 2 and all(0 <= w <= 0.5 for w in waits)


def test_a_dropped_connection_is_retried_for_reads_only(emulator, monkeypatch) -> None:
    server, _ = emulator
    monkeypatch.setattr(CountingHTTPClient, "sleep", staticmethod(lambda s: None))
    gateway = gateway_for(server)
    plan = {"next": ["reset"] * 2, "operation": "spreadsheets.get"}
    assert requests.post(f"{server.url}/_emulator/faults", json=plan, timeout=5).ok
    gateway.metadata()
    assert gateway.counts() == (3, 0)
    plan = {"next": ["reset"], "operation": "spreadsheets.batchUpdate"}
    assert requests.post(f"{server.url}/_emulator/faults", json=plan, timeout=5).ok
    with pytest.raises(SheetsError, match="cannot reach Google Sheets"):
        gateway.update({"requests": [TITLE_AS_IS]})
    assert gateway.counts() == (3, 1)


TITLE_AS_IS = {"updateSpreadsheetProperties": {"properties": {"title": "KPI"}, "fields": "title"}}


def test_a_refused_connection_is_named_at_once_not_retried(monkeypatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = SheetsGateway(GoogleConfig(spreadsheet=BOOK, endpoint=f"http://127.0.0.1:{port}"))
    with pytest.raises(SheetsError) as caught:
        gateway.metadata()
    assert str(caught.value) == (
        f"cannot reach Google Sheets: 127.0.0.1:{port} refused the connection; check "
        "google.endpoint"
    )
    assert gateway.counts() == (1, 0)


def test_a_missing_key_file_says_how_to_make_one(tmp_path) -> None:
    google = GoogleConfig(spreadsheet=BOOK, credentials=tmp_path / "key.json")
    with pytest.raises(SheetsError) as caught:
        make_client(google)
    message = str(caught.value)
    assert message.startswith(f"google.credentials: {tmp_path / 'key.json'} does not exist.")
    assert "Add key → JSON" in message and "client_email as Editor" in message


def test_no_access_names_the_service_account_to_share_with(tmp_path) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"client_email": "kpi@proj.iam.gserviceaccount.com"}))
    response = requests.Response()
    response.status_code = 403
    response._content = (
        b'{"error": {"code": 403, "message": "The caller does not have permission"}}'
    )
    google = GoogleConfig(spreadsheet="SID", credentials=key, supervisors=["boss@example.com"])
    gateway = SheetsGateway(google, client=_FakeClient(APIError(response)))
    with pytest.raises(SheetsError) as caught:
        gateway.metadata()
    assert str(caught.value) == (
        "no access to spreadsheet 'SID': share it as Editor with kpi@proj.iam.gserviceaccount.com"
    )


class _FakeClient:
    """A client whose every call fails with `error` (no HTTP, no credentials)."""

    def __init__(self, error: Exception) -> None:
        def fail(*args: object, **kwargs: object) -> None:
            raise error

        self.http_client = type("Http", (), {"fetch_sheet_metadata": staticmethod(fail)})()


def test_achievement_rules_reach_the_sheet_as_custom_formulas(emulator) -> None:
    server, state = emulator
    gateway_for(server).write(manager_tabs(1))
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "Менеджер 0")
    formulas = [
        rule["booleanRule"]["condition"]["values"][0]["userEnteredValue"]
        for rule in sheet.extras["conditionalFormats"]
    ]
    assert formulas == [
        "=ISNUMBER(D2)*(D2<7/10)=1",
        "=ISNUMBER(D2)*(D2<1)=1",
        "=ISNUMBER(D2)*(D2>=1)=1",
    ]


def test_init_removes_a_new_spreadsheets_empty_default_tab_in_its_one_write(emulator) -> None:
    server, state = emulator
    config = _config_for(server)
    assert [s.title for s in state.get(BOOK).sheets] == ["Sheet1"]
    server.reset_stats()
    report = init_inputs(SheetsGateway(config.google), config, _users(), NOW_AT)
    assert report.removed == ["Sheet1"]
    assert calls(server) == {f"GET {BOOK}": 1, "values.batchGet": 1, "batchUpdate": 1}
    titles = [s.title for s in state.get(BOOK).sheets]
    assert "Sheet1" not in titles and titles[0] == "Сотрудники"


@pytest.mark.parametrize("use", ["value", "chart"])
def test_init_keeps_a_default_tab_someone_used(emulator, use) -> None:
    server, state = emulator
    config = _config_for(server)
    book = SheetsGateway(config.google).client.open_by_key(BOOK)
    if use == "value":
        book.worksheet("Sheet1").update([["мои заметки"]], "C7")
    else:
        chart = {"spec": {"basicChart": {"chartType": "LINE"}}, "position": {"newSheet": False}}
        book.batch_update({"requests": [{"addChart": {"chart": chart}}]})
    report = init_inputs(SheetsGateway(config.google), config, _users(), NOW_AT)
    assert report.removed == []
    assert "Sheet1" in [s.title for s in state.get(BOOK).sheets]


def test_init_removes_a_russian_spreadsheets_default_tab_once(
    emulator,
) -> None:
    server, state = emulator
    config = _config_for(server)
    state.get(BOOK).properties["locale"] = "ru_RU"
    book = SheetsGateway(config.google).client.open_by_key(BOOK)
    book.worksheet("Sheet1").update_title("Лист1")
    report = init_inputs(SheetsGateway(config.google), config, _users(), NOW_AT)
    assert report.removed == ["Лист1"]
    again = init_inputs(SheetsGateway(config.google), config, _users(), NOW_AT)
    assert (again.removed, again.requests) == ([], 0)


def test_init_upgrades_a_supervisors_own_roster_in_one_pass(emulator) -> None:
    server, state = emulator
    config = _config_for(server)
    book = SheetsGateway(config.google).client.open_by_key(BOOK)
    roster = book.add_worksheet("Сотрудники", 10, 3)
    roster.update([["Имя", "id amocrm"], ["Анна Петрова", 7], ["", ""], ["Гость", "n/a"]], "A1")
    book.add_worksheet("Планы", 10, 5)  # created by hand, still empty
    report = init_inputs(SheetsGateway(config.google), config, _users(), NOW_AT)
    assert report.created == ["Оценки", "Нарушения", "Апелляции", "Закрытие"]
    assert report.columns_added["Сотрудники"] == [
        "Отдел",
        "Опыт",
        "Email",
        "Личная таблица",
        "Активен",
        "База бонуса",
    ]
    assert report.columns_added["Планы"][0] == "Период"
    assert (report.managers_added, report.users_skipped) == (1, ["Админ"])
    assert roster.get_all_values()[:5] == [
        ["Имя", "id amocrm", "Отдел", "Опыт", "Email", "Личная таблица", "Активен", "База бонуса"],
        ["Анна Петрова", "7", "", "", "", "", "", ""],
        ["", "", "", "", "", "", "", ""],
        ["Гость", "n/a", "", "", "", "", "", ""],
        ["Борис", "9", "sales", "junior", "", "", "да", ""],
    ]
    validations = next(s for s in state.get(BOOK).sheets if s.title == "Сотрудники").validations
    department = validations[(1, 2)]["condition"]  # the added Отдел column gets its drop-down
    assert [v["userEnteredValue"] for v in department["values"]] == [
        "leadgen",
        "sales",
        "accounts",
        "quality",
    ]
    assert (1, 0) not in validations and (1, 1) not in validations
    server.reset_stats()
    again = init_inputs(SheetsGateway(config.google), config, _users(), NOW_AT)
    assert (again.created, again.columns_added, again.managers_added) == ([], {}, 0)
    assert "batchUpdate" not in calls(server)
    _, issues, *_ = read_inputs(SheetsGateway(config.google), config)
    assert issues[issues["source"] == "Сотрудники"]["where"].tolist() == [
        "row 2, column department",
        "row 4, column amo_user_id",
    ]


def test_init_adds_columns_after_a_supervisors_unlabelled_notes(emulator) -> None:
    server, _ = emulator
    config = _config_for(server)
    book = SheetsGateway(config.google).client.open_by_key(BOOK)
    plans = book.add_worksheet("Планы", 10, 6)
    plans.update([["Период", "Менеджер", "Показатель"], ["2026-11", 7, "sales_rub", "заметка"]])
    report = init_inputs(SheetsGateway(config.google), config, _users(), NOW_AT)
    assert report.columns_added["Планы"] == ["Отдел", "План"]
    assert plans.get_all_values()[:2] == [
        ["Период", "Менеджер", "Показатель", "", "Отдел", "План"],
        ["2026-11", "7", "sales_rub", "заметка", "", ""],
    ]


def test_issues_name_the_tab_as_it_is_titled(emulator) -> None:
    server, _ = emulator
    config = _config_for(server)
    book = SheetsGateway(config.google).client.open_by_key(BOOK)
    book.add_worksheet("plans", 5, 5).update(
        [["period", "manager", "kpi", "plan"], ["2026-13", "", "", ""]], "A1"
    )
    _, issues, *_ = read_inputs(SheetsGateway(config.google), config)
    assert ("plans", "row 2, column period") in set(
        zip(issues["source"], issues["where"], strict=True)
    )


def _config_for(server: EmulatorServer):
    config = shipped_config()
    google = config.google.model_copy(update={"spreadsheet": BOOK, "endpoint": server.url})
    return config.model_copy(update={"google": google})


def _users() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (7, "Анна", "a@x", "Продажи", True, "master"),
            (8, "Админ", "", None, True, None),
            (9, "Борис", "", "sales", True, "candidate"),
        ],
        columns=["user_id", "name", "email", "group_name", "is_active", "rank"],
    )


def test_a_write_cut_short_is_completed_by_the_next_cycle(emulator, monkeypatch) -> None:
    server, state = emulator
    monkeypatch.setattr(writer, "MAX_BATCH_BYTES", 3_000)
    monkeypatch.setattr(CountingHTTPClient, "sleep", staticmethod(lambda s: None))
    requests.post(f"{server.url}/_emulator/quota", timeout=5, json={"write_per_minute": 1})
    gateway = gateway_for(server)
    with pytest.raises(SheetsError, match="quota exhausted"):
        gateway.write(manager_tabs(4))  # the first batch lands, the second does not
    requests.post(f"{server.url}/_emulator/quota", timeout=5, json={})
    report = gateway.write(manager_tabs(4))
    assert report.conflicts == [] and len(report.tabs_written) == 4
    assert len(report.tabs_created) < 4  # some tabs were made by the interrupted write
    again = gateway.write(manager_tabs(4))
    assert again.unchanged == [f"Менеджер {i}" for i in range(4)]
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "Менеджер 3")
    assert sheet.cells[(2, 2)] == 12 and len(sheet.extras["protectedRanges"]) == 1


def test_values_a_failed_write_did_not_bring_are_sent_by_the_next(emulator) -> None:
    server, state = emulator
    gateway = gateway_for(server)
    gateway.write([TabLayout("data_kpi", [["a", "b"], [1, 2]])])
    plan = {"next": ["reset"], "operation": "values.batchUpdate"}
    requests.post(f"{server.url}/_emulator/faults", timeout=5, json=plan)
    with pytest.raises(SheetsError, match="output values"):
        gateway.write([TabLayout("data_kpi", [["a", "b"], [1, 3]])])

    def cell() -> object:
        return next(s for s in state.get(BOOK).sheets if s.title == "data_kpi").cells[(1, 1)]

    assert cell() == 3  # applied, but no answer came: the ledger does not know it …
    server.reset_stats()
    report = gateway.write([TabLayout("data_kpi", [["a", "b"], [1, 3]])])
    assert (cell(), report.blocks_written) == (3, 1)  # … so the block goes again
    assert calls(server) == {"values.batchUpdate": 1}  # the metadata holds: no structure moved
    server.reset_stats()
    assert gateway.write([TabLayout("data_kpi", [["a", "b"], [1, 3]])]).blocks_written == 0
    assert calls(server) == {}


def test_a_tab_one_row_longer_goes_in_one_batch_its_values_as_raw_typed_cells(emulator) -> None:
    """A structure change with few values (a list grown by a row): one batchUpdate, whose cells
    are typed as a RAW write types them, and the ledger knows them afterwards."""
    server, state = emulator
    gateway = gateway_for(server)
    gateway.write(manager_tabs(3))
    longer = manager_tabs(3)
    longer[1].rows = [*longer[1].rows, ['=IMPORTXML("x")', True, 2.5, ""]]
    server.reset_stats()
    report = gateway.write(longer)
    assert report.structure_written == ["Менеджер 1"] and report.blocks_written == 1
    assert calls(server) == {f"GET {BOOK}": 1, "batchUpdate": 1}
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "Менеджер 1")
    assert [sheet.cells.get((3, col)) for col in range(4)] == ['=IMPORTXML("x")', True, 2.5, None]
    formula = gateway.client.open_by_key(BOOK).worksheet("Менеджер 1")
    assert formula.get("A4", value_render_option="FORMULA") == [['=IMPORTXML("x")']]
    server.reset_stats()
    assert gateway.write(longer).blocks_written == 0
    assert calls(server) == {f"GET {BOOK}": 1}


def test_values_in_a_batch_that_got_no_answer_are_sent_again(emulator) -> None:
    server, state = emulator
    gateway = gateway_for(server)
    gateway.write([TabLayout("data_kpi", [["a", "b"], [1, 2]])])
    longer = TabLayout("data_kpi", [["a", "b"], [1, 2], [3, 4]])
    plan = {"next": ["reset"], "operation": "spreadsheets.batchUpdate"}
    requests.post(f"{server.url}/_emulator/faults", timeout=5, json=plan)
    with pytest.raises(SheetsError):
        gateway.write([longer])  # applied, but no answer came: the ledger does not know it …
    server.reset_stats()
    report = gateway.write([longer])
    assert (report.structure_written, report.blocks_written) == ([], 1)  # … so the block goes
    assert calls(server) == {f"GET {BOOK}": 1, "values.batchUpdate": 1}
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "data_kpi")
    assert sheet.cells == {(0, 0): "a", (0, 1): "b", (1, 0): 1, (1, 1): 2, (2, 0): 3, (2, 1): 4}


def _data_tab(*moved: int, stamp: str = "10:00") -> TabLayout:
    """A data tab of three blocks (1 200 rows) with a volatile stamp column; the `moved` rows
    have a new value."""
    rows: list[list[object]] = [["day", "value", "computed_at"]]
    rows += [[i, 7 if i in moved else i * 2, stamp] for i in range(1, 1201)]
    return TabLayout("data_kpi", rows, volatile_columns=(2,))


def test_only_the_rows_that_moved_in_a_block_are_sent_and_the_tab_holds_every_cell(emulator):
    """Row 700 moves, and every stamp with it: one row is written, the stamps of the others
    stay as they were, as they do in a block that did not change."""
    server, state = emulator
    gateway = gateway_for(server)
    gateway.write([_data_tab()])
    server.reset_stats()
    report = gateway.write([_data_tab(700, stamp="10:15")])
    assert (report.blocks_written, report.rows_written) == (1, 1)
    assert calls(server) == {f"GET {BOOK}": 1, "values.batchUpdate": 1}
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "data_kpi")
    assert [sheet.cells[(700, col)] for col in range(3)] == [700, 7, "10:15"]
    assert [sheet.cells[(699, col)] for col in range(3)] == [699, 1398, "10:00"]
    assert gateway.write([_data_tab(700, stamp="10:30")]).blocks_written == 0


def test_a_block_the_last_write_did_not_bring_is_sent_whole(emulator, monkeypatch) -> None:
    """A write of the block was refused, so the ledger no longer vouches for what the tab
    holds there, nor for its rows' hashes: the whole block goes."""
    server, state = emulator
    monkeypatch.setattr(CountingHTTPClient, "sleep", staticmethod(lambda s: None))
    gateway = gateway_for(server)
    gateway.write([_data_tab()])
    plan = {"next": ["500"] * 10, "operation": "values.batchUpdate"}
    requests.post(f"{server.url}/_emulator/faults", timeout=5, json=plan)
    with pytest.raises(SheetsError, match="output values"):
        gateway.write([_data_tab(700)])
    requests.post(f"{server.url}/_emulator/faults", timeout=5, json={})
    report = gateway.write([_data_tab(700, 701)])
    assert (report.blocks_written, report.rows_written) == (1, 500)
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "data_kpi")
    assert [sheet.cells[(row, 1)] for row in (699, 700, 701)] == [1398, 7, 7]


def test_a_new_process_sends_only_the_rows_that_moved_from_the_ledger_in_the_store(
    emulator, tmp_path
) -> None:
    """`run` is a process per cycle: the rows' hashes it compares with are the store's."""
    server, state = emulator
    with Store(tmp_path / "store.db") as store:
        first = gateway_for(server)
        first.attach(store, 1)
        first.write([_data_tab()])
        later = gateway_for(server)
        later.attach(store, 2)
        report = later.write([_data_tab(3, 1100, stamp="10:15")])
    assert (report.blocks_written, report.rows_written) == (2, 2)
    sheet = next(s for s in state.get(BOOK).sheets if s.title == "data_kpi")
    assert [sheet.cells[(row, 1)] for row in (3, 4, 1100)] == [7, 8, 7]

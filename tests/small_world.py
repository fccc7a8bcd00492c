"""A small account and spreadsheet for whole-cycle tests that need seconds, not minutes: three
managers, one month, synced and initialised once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sheets_kpi.config import Config
from sheets_kpi.cycle import CycleReport, Kept, run_cycle
from sheets_kpi.emulators.amocrm import AmoState, generate_agency
from sheets_kpi.emulators.amocrm import serve as serve_amocrm
from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import SheetsState
from sheets_kpi.emulators.sheets import serve as serve_sheets
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.init_tabs import init_inputs
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import amocrm_frames
from tests.conftest import NOW, NOW_AT, emulated_config


@dataclass
class SmallWorld:
    account: AmoState
    amo_server: EmulatorServer
    sheets: SheetsState
    sheets_server: EmulatorServer
    config: Config
    store: Store
    book: str
    now: datetime = NOW_AT

    def gateway(self) -> SheetsGateway:
        return SheetsGateway(self.config.google)

    def cycle(self, now: datetime | None = None) -> CycleReport:
        return run_cycle(
            self.config,
            self.store,
            make_client(self.config.amocrm),
            self.gateway(),
            now or self.now,
        )

    def serve_cycle(self, minutes: int, kept: Kept, reconcile: bool = False) -> None:
        """A `serve` cycle `minutes` after `now` with its `kept` state; it must compute."""
        at = self.now + timedelta(minutes=minutes)
        amo = make_client(self.config.amocrm)
        report = run_cycle(self.config, self.store, amo, self.gateway(), at, reconcile, kept=kept)
        assert report.status == "ok" and report.kept_from is None  # it computed

    def worksheet(self, title: str, book: str | None = None):
        return self.gateway().client.open_by_key(book or self.book).worksheet(title)

    def tab(self, title: str, book: str | None = None) -> list[list]:
        return self.worksheet(title, book).get_values(value_render_option="UNFORMATTED_VALUE")

    def titles(self, book: str | None = None) -> list[str]:
        return [sheet.title for sheet in self.sheets.get(book or self.book).sheets]


@contextmanager
def small_world(folder: Path, book: str = "small-book", managers: int = 3) -> Iterator[SmallWorld]:
    account = generate_agency(managers=managers, months=1, seed=5, now=NOW)
    account.set_now(NOW)  # amoCRM's clock is the world's: edits are stamped at its instant
    amo_server = serve_amocrm(account, rps=1000)
    sheets = SheetsState()
    sheets.create_spreadsheet("KPI", book)
    sheets_server = serve_sheets(state=sheets)
    config = emulated_config(folder / "store.db", book, amo_server.url, sheets_server.url, 30)
    store = Store(config.store)
    try:
        sync(make_client(config.amocrm), store, config.amocrm, now=NOW_AT)
        init_inputs(SheetsGateway(config.google), config, amocrm_frames(store)["users"], NOW_AT)
        yield SmallWorld(account, amo_server, sheets, sheets_server, config, store, book)
    finally:
        store.close()
        amo_server.stop()
        sheets_server.stop()

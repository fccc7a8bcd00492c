"""Shared fixtures: emulators on port 0, the shipped config pointed at them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sheets_kpi.config import Config, load_config
from sheets_kpi.emulators.amocrm import DEMO_TOKEN, AmoState, generate_agency, serve
from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.store.db import Store

ROOT = Path(__file__).resolve().parents[1]
#: A fixed instant (2026-11-18 10:13 UTC) so generated accounts are identical run to run.
NOW = 1_795_000_000


def instant(seconds: int) -> datetime:
    """The tz-aware instant the product's `now` arguments take, from epoch seconds."""
    return datetime.fromtimestamp(seconds, UTC)


NOW_AT = instant(NOW)


@pytest.fixture(autouse=True)
def _collector_as_usual() -> Iterator[None]:
    """A worker's cycle freezes what is left (`worker.settle_memory`); each test starts with the
    collector as usual."""
    yield
    gc.unfreeze()


@pytest.fixture
def store() -> Iterator[Store]:
    """A throwaway in-memory store, closed when the test ends (Python 3.13's sqlite3 warns of a
    connection left to the garbage collector, and the warning lands in whichever test runs then)."""
    with Store(":memory:") as opened:
        yield opened


@pytest.fixture(scope="session")
def agency() -> AmoState:
    return generate_agency(managers=8, months=2, seed=7, now=NOW)


@pytest.fixture
def amo_server(agency: AmoState) -> Iterator[EmulatorServer]:
    server = serve(AmoState(agency.snapshot()), rps=1000)
    yield server
    server.stop()


def shipped_config(**amocrm: object) -> Config:
    config = load_config(ROOT / "config.yaml", env={"AMO_TOKEN": DEMO_TOKEN})
    return config.model_copy(update={"amocrm": config.amocrm.model_copy(update=amocrm)})


def emulated_config(
    store: Path, book: str, amo_url: str, sheets_url: str, backfill_days: int
) -> Config:
    """The shipped config on both emulators, its store at `store`."""
    config = shipped_config(base_url=amo_url, requests_per_second=50, backfill_days=backfill_days)
    google = config.google.model_copy(update={"spreadsheet": book, "endpoint": sheets_url})
    return config.model_copy(update={"store": store, "google": google})

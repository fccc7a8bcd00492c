"""A local amoCRM API v4 emulator for the demo, the tests and staging (SPEC §10)."""

from __future__ import annotations

import logging
import random
import threading
from pathlib import Path

from sheets_kpi.emulators.amocrm.generate import generate_agency, live_tick
from sheets_kpi.emulators.amocrm.handlers import AmoApp, Faults
from sheets_kpi.emulators.amocrm.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REDIRECT_URI,
    DEMO_TOKEN,
    AmoState,
)
from sheets_kpi.emulators.server import EmulatorServer

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_REDIRECT_URI",
    "DEMO_TOKEN",
    "AmoApp",
    "AmoState",
    "Faults",
    "generate_agency",
    "serve",
]

log = logging.getLogger(__name__)


def serve(
    state: AmoState,
    port: int = 0,
    rps: float = 7,
    faults: Faults | None = None,
    live_every_seconds: float | None = None,
) -> EmulatorServer:
    """Start the emulator in a background thread; `live_every_seconds` keeps adding activity."""
    server = EmulatorServer(AmoApp(state, rps=rps, faults=faults), port=port).start()
    if live_every_seconds:
        rng = random.Random(0)
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(live_every_seconds):
                live_tick(state, rng)

        threading.Thread(target=tick, daemon=True).start()
        original_stop = server.stop

        def stop_all() -> None:
            stop.set()
            original_stop()

        server.stop = stop_all  # type: ignore[method-assign]
    return server


def load_or_generate(data: str | None, managers: int, months: int, seed: int) -> AmoState:
    if data:
        return AmoState.load(Path(data))
    return generate_agency(managers=managers, months=months, seed=seed)

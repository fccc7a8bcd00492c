"""A local amoCRM API v4 emulator for the demo, the tests and staging (SPEC §10).

`state.py` holds the account, `mutations.py` changes it (writing events), `handlers.py` and
`routes.py` speak HTTP, `generate.py` builds a believable agency. Coverage: docs/emulator-amocrm.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sheets_kpi.clock import epoch
from sheets_kpi.emulators.amocrm.generate import generate_agency, live_tick
from sheets_kpi.emulators.amocrm.limits import Faults
from sheets_kpi.emulators.amocrm.routes import AmoApp
from sheets_kpi.emulators.amocrm.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REDIRECT_URI,
    DEMO_TOKEN,
    AmoState,
)
from sheets_kpi.emulators.server import App, EmulatorServer

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_REDIRECT_URI",
    "DEMO_TOKEN",
    "AmoApp",
    "AmoServer",
    "AmoState",
    "Faults",
    "build_app",
    "generate_agency",
    "live_tick",
    "load_or_generate",
    "serve",
]

#: How often `--live` adds activity when no interval is given.
LIVE_EVERY_SECONDS = 5.0


def build_app(
    state: AmoState,
    rps: float = 7,
    faults: Faults | None = None,
    retry_after: float | None = 1,
    block_after: int | None = None,
    next_on_full_page: bool = True,
) -> App:
    """The emulator as an `App`; `POST /_emulator/reset` returns to `state` as it is now.

    `next_on_full_page=False` turns off amoCRM's habit of linking past a full last page.
    """
    return AmoApp(state, rps, faults, next_on_full_page, retry_after, block_after)


class AmoServer(EmulatorServer):
    """An `EmulatorServer` that may also keep adding activity (`--live`) until stopped."""

    def __init__(self, app: AmoApp, port: int, host: str) -> None:
        super().__init__(app, host=host, port=port)
        self.state = app.state
        self._live_stop = threading.Event()

    def live(self, every_seconds: float) -> None:
        def tick() -> None:
            # time.sleep, not Event.wait(timeout): the latter never returns under libfaketime.
            while not self._live_stop.is_set():
                time.sleep(every_seconds)
                if not self._live_stop.is_set():
                    live_tick(self.state, self.state.now())

        threading.Thread(target=tick, name="amocrm-live", daemon=True).start()

    def stop(self) -> None:
        self._live_stop.set()
        super().stop()


def serve(
    source: AmoState | int = 0,
    /,
    data: str | Path | Mapping[str, Any] | None = None,
    generate: Mapping[str, int] | None = None,
    faults: Faults | Mapping[str, Any] | str | None = None,
    rps: float = 7,
    live: bool = False,
    *,
    port: int = 0,
    live_every_seconds: float | None = None,
    host: str = "127.0.0.1",
) -> AmoServer:
    """Start the emulator in a background thread and return it (`.url`, `.state`, `.stop()`).

    `source` is the port (`serve(8081, generate={"managers": 12})`) or an `AmoState` to serve
    (`serve(state, port=8081)`). Without a state the account is the snapshot `data` (a path or
    a dict), else `generate_agency(**generate)`, else empty. `faults` is a `Faults`, the JSON of
    `POST /_emulator/faults` or the `--faults` string. `live` adds activity every
    `live_every_seconds` (default 5; giving the interval alone also turns it on).
    """
    if isinstance(source, AmoState):
        state = source
    else:
        state, port = _account(data, generate), port or source
    if isinstance(faults, str):
        faults = Faults.parse(faults)
    elif isinstance(faults, Mapping):
        faults = Faults.from_json(faults)
    server = AmoServer(AmoApp(state, rps=rps, faults=faults), port, host)
    server.start()
    if live or live_every_seconds:
        server.live(live_every_seconds or LIVE_EVERY_SECONDS)
    return server


def _account(
    data: str | Path | Mapping[str, Any] | None, generate: Mapping[str, int] | None
) -> AmoState:
    if isinstance(data, Mapping):
        return AmoState(dict(data))
    if data is not None:
        return AmoState.load(data)
    if generate is not None:
        return generate_agency(**generate)
    return AmoState()


def load_or_generate(
    data: str | None, managers: int, months: int, seed: int, now: datetime
) -> AmoState:
    """The CLI's `--data FILE` or `--generate agency --managers N --months M --seed S`, the
    activity ending at `now`."""
    generate = {"managers": managers, "months": months, "seed": seed, "now": epoch(now)}
    return _account(data, None if data else generate)

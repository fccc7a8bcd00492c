"""A local Google Sheets API v4 (+ Drive v3 subset) emulator that gspread cannot tell apart.

    state = SheetsState()                       # or SheetsState("state.json") to persist
    state.create_spreadsheet("KPI", "my-id")    # a spreadsheet with a chosen id
    server = serve(port=0, state=state)         # EmulatorServer; server.url → point gspread here
    ...
    server.stop()

Coverage and conformance figures: docs/emulator-sheets.md.
"""

from __future__ import annotations

from pathlib import Path

from sheets_kpi.emulators.server import App, EmulatorServer
from sheets_kpi.emulators.sheets.routes import SheetsApp
from sheets_kpi.emulators.sheets.state import SheetsState
from sheets_kpi.emulators.sheets.xlsx import export_xlsx

__all__ = ["SheetsApp", "SheetsState", "build_app", "export_xlsx", "serve"]


def build_app(
    state: SheetsState,
    quota_per_minute: int | None = None,
    latency_ms: int = 0,
    require_auth: bool = False,
) -> App:
    """The emulator as an App for EmulatorServer.

    `quota_per_minute` limits reads and writes separately (429 RESOURCE_EXHAUSTED beyond it);
    `require_auth` answers 401 UNAUTHENTICATED to requests without an Authorization header
    (any Bearer token is accepted). Off by default: the product's emulator client sends none.
    """
    return SheetsApp(state, quota_per_minute, latency_ms, require_auth)


def serve(
    port: int = 0,
    state_file: str | Path | None = None,
    latency_ms: int = 0,
    quota_per_minute: int | None = None,
    *,
    state: SheetsState | None = None,
    require_auth: bool = False,
    host: str = "127.0.0.1",
) -> EmulatorServer:
    """Start the emulator in a background thread; the returned server's `url` is ready."""
    if state is None:
        state = SheetsState(state_file)
    app = build_app(state, quota_per_minute, latency_ms, require_auth)
    return EmulatorServer(app, host=host, port=port).start()

"""A local Google Sheets API v4 (+ Drive v3 subset) emulator that gspread cannot tell apart."""

from __future__ import annotations

from pathlib import Path

from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets.handlers import SheetsApp
from sheets_kpi.emulators.sheets.state import SheetsState
from sheets_kpi.emulators.sheets.xlsx import export_xlsx

__all__ = ["SheetsApp", "SheetsState", "export_xlsx", "serve"]


def serve(
    port: int = 0,
    state: SheetsState | None = None,
    state_file: str | Path | None = None,
    latency_ms: int = 0,
    quota_per_minute: int | None = None,
) -> EmulatorServer:
    state = state or SheetsState(state_file)
    app = SheetsApp(state, quota_per_minute=quota_per_minute, latency_ms=latency_ms)
    return EmulatorServer(app, port=port).start()

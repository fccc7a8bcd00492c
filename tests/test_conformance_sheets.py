"""Sheets emulator fidelity: gspread's recorded real Google exchanges, replayed strictly (§5).

Every cassette in tests/conformance/gspread-cassettes (copied from burnash/gspread, MIT; see its
README) is replayed episode by episode against a fresh emulator: same status codes, same JSON
keys at every level, equal values and error messages (harness: tests/conformance_replay.py).

Skipped, with the reason:

| cassette | why |
|---|---|
| ClientTest.test_openall | lists and opens 31 other spreadsheets the recording account owned |
| ClientTest.test_open_all_has_metadata | same: the recording account's other 31 spreadsheets |

Known, explained differences (`ALLOWANCES`): the Drive v2 upload behind `import_csv` answers
with a ~40-member v2 File resource of which the emulator returns `kind, id, title, mimeType`,
and the converted file took the recording account's time zone (America/Los_Angeles).
`SETUP` prepares what a cassette assumes exists before it starts (another account's file).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import SheetsState, serve
from tests.conformance_replay import CASSETTES, Allowance, replay

#: The service account the cassettes were recorded with; Google adds it to protected ranges.
RECORDING_ACCOUNT = "telegram-budgeter@telegram-budgeter.iam.gserviceaccount.com"
SKIPPED = {
    "ClientTest.test_openall": "lists the recording account's 31 other spreadsheets",
    "ClientTest.test_open_all_has_metadata": "lists the recording account's 31 other spreadsheets",
}
SETUP = {
    # A spreadsheet that exists but is not shared with the caller → 403 PERMISSION_DENIED.
    "ClientTest.test_access_private_spreadsheet": [
        ("1jIKzPs8LsiZZdLdeMEP-5ZIHw6RkjiOmj1LrJN706Yc", False)
    ],
}
ALLOWANCES = {
    "ClientTest.test_import_csv": (
        Allowance(
            r"PUT /upload/drive/v2/files/\S+\.(?!(id|kind|title|mimeType)$)\w+$",
            "v2 File members beyond kind/id/title/mimeType are not emulated",
        ),
        Allowance(
            r"\.properties\.timeZone$",
            "the v2 conversion applied the recording account's default time zone",
        ),
    ),
}
ALL = sorted(p.stem for p in CASSETTES.glob("*.json") if p.name != "index.json")
REPLAYED = [c for c in ALL if c not in SKIPPED]


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[EmulatorServer, SheetsState]]:
    state = SheetsState(seed=7, caller=RECORDING_ACCOUNT)
    server = serve(state=state)
    yield server, state
    server.stop()


def test_coverage_is_what_the_docstring_says() -> None:
    assert len(ALL) == 124
    assert set(SKIPPED) | set(SETUP) | set(ALLOWANCES) <= set(ALL)
    assert (len(REPLAYED), len(SKIPPED)) == (122, 2)


@pytest.mark.parametrize("cassette", ALL)
def test_recorded_exchange_replays_identically(
    emulator: tuple[EmulatorServer, SheetsState], cassette: str
) -> None:
    """One test per cassette; pytest's summary counts them (passed = replayed)."""
    if cassette in SKIPPED:
        pytest.skip(SKIPPED[cassette])
    server, state = emulator

    def reset() -> None:
        requests.post(f"{server.url}/_emulator/reset", timeout=10).raise_for_status()
        for spreadsheet_id, shared in SETUP.get(cassette, []):
            state.create_spreadsheet("Not yours", spreadsheet_id, shared=shared)

    run = replay(cassette, server.url, reset, ALLOWANCES.get(cassette, ()))
    assert run.exchanges > 0
    assert run.problems == []

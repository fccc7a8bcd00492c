"""One cycle's conversation with Google Sheets: one metadata read, one batchGet, and writes only
for what changed — structure in a `spreadsheets.batchUpdate`, values and the run-log row in one
`values.batchUpdate`, or all in the one `spreadsheets.batchUpdate` when the values are few.

Built on gspread's HTTP client (which carries our bounded retries and request counts).
"""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from gspread.exceptions import APIError
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL, SPREADSHEET_VALUES_BATCH_UPDATE_URL

from sheets_kpi.config import GoogleConfig
from sheets_kpi.errors import SheetsError
from sheets_kpi.sheets.client import CountingHTTPClient, make_client, service_account_email
from sheets_kpi.sheets.failures import explain
from sheets_kpi.sheets.input_tabs import TABS, find_title
from sheets_kpi.sheets.layout import KeptHashes, TabLayout, fit_cell
from sheets_kpi.sheets.render import (
    LOG_BASE_KEY,
    cell_rows,
    encode,
    forget_requests,
    marker_request,
    metadata_of,
)
from sheets_kpi.sheets.writer import (
    Ledger,
    Plan,
    ValueUnit,
    WriteReport,
    Written,
    batches,
    fits,
    landed,
    owned,
    plan_writes,
    tabs_by_title,
    value_batches,
)

log = logging.getLogger(__name__)
#: Run-log rows kept; once 100 more have accumulated the oldest go in one deleteDimension.
LOG_KEEP = 200
#: Empty rows the log tab grows by, so 99 cycles out of 100 only write their row.
LOG_ROOM = 100
#: Cells a write's values may hold and still go at the end of its structure's batch: as
#: `updateCells` objects they are about twice the JSON of RAW arrays, but a cycle that grows a
#: tab by a row then sends one request instead of two.
TOGETHER_CELLS = 100_000
#: zlib's usual level: 6 MB of table JSON to under 0.5 MB in about 0.1 s (9 saves 4 % more in
#: three times the time).
GZIP_LEVEL = 6
METADATA_FIELDS = (
    "spreadsheetId,properties.title,sheets(properties,developerMetadata,"
    "protectedRanges,conditionalFormats,charts)"
)


class LedgerStore(Protocol):
    """Where the ledger of written blocks lives between cycles (the store): title → (sheet id,
    structure hash, block hashes, row hashes)."""

    def sheet_ledger(
        self, spreadsheet_id: str
    ) -> dict[str, tuple[int, str, tuple[str, ...], bytes]]: ...

    def save_sheet_ledger(
        self, spreadsheet_id: str, ledger: Mapping[str, tuple[int, str, Sequence[str], bytes]]
    ) -> None: ...


@dataclass
class _LogPlace:
    """Run `n`'s log row is row `2 + n - base` (1-based) of the tab `sheet_id`."""

    title: str
    sheet_id: int
    base: int
    rows: int
    markers: list[dict[str, Any]] = field(default_factory=list)


class SheetsGateway:
    """The cycle's Sheets calls, with the metadata read cached per spreadsheet until a write.

    `attach(store, run_id)` (the cycle does it) keeps the ledger of written blocks in the store
    and places the run-log row by the run id; a gateway alone keeps its ledger in memory.
    """

    def __init__(self, google: GoogleConfig, client: Any = None) -> None:
        self.google = google
        self.client = client or make_client(google)
        self.http: CountingHTTPClient = self.client.http_client
        self.service_account = service_account_email(google)
        self.editors = [e for e in [self.service_account, *google.supervisors] if e]
        self._metadata: dict[str, dict[str, Any]] = {}
        #: The last metadata read per spreadsheet, kept after writes: which tabs are not ours
        #: does not change by our own writes.
        self._last_read: dict[str, dict[str, Any]] = {}
        self._ledgers: dict[str, Ledger] = {}
        self._store: LedgerStore | None = None
        self.run_id: int | None = None
        #: What `write(hold=True)` planned for the main spreadsheet, sent by `flush` (with
        #: whether the plan prunes).
        self._held: list[tuple[Plan, bool]] = []
        self._log: _LogPlace | None = None
        #: The hashes of the tabs last written: `serve`'s next cycle does not work out again
        #: those of the tabs that did not move.
        self._hashes = KeptHashes()

    def attach(self, store: LedgerStore, run_id: int) -> None:
        """Keep the ledger in `store`; the run-log row of `run_id` goes at its own place."""
        if store is not self._store:
            self._ledgers.clear()
        self._store, self.run_id = store, run_id

    def ledger(self, spreadsheet_id: str) -> Ledger:
        if spreadsheet_id not in self._ledgers:
            stored = self._store.sheet_ledger(spreadsheet_id) if self._store else {}
            self._ledgers[spreadsheet_id] = {t: Written(*entry) for t, entry in stored.items()}
        return self._ledgers[spreadsheet_id]

    def counts(self) -> tuple[int, int]:
        return self.http.reads, self.http.writes

    def reset_counts(self) -> None:
        """A new cycle's counts. A metadata read made just before it (`run` checks the input
        tabs) is used by the cycle and counted in it; `end_cycle` drops it."""
        self.http.reads, self.http.writes = len(self._metadata), 0
        self._held.clear()
        self._log = None

    def end_cycle(self) -> None:
        """The next cycle reads the metadata afresh: users add and rename tabs."""
        self._metadata.clear()
        self._last_read.clear()

    def metadata(self, spreadsheet_id: str | None = None, fresh: bool = False) -> dict[str, Any]:
        """Tabs, markers, rules and protections, read once per cycle and spreadsheet."""
        spreadsheet_id = spreadsheet_id or self.google.spreadsheet_id
        if fresh or spreadsheet_id not in self._metadata:
            self._metadata[spreadsheet_id] = self._call(
                spreadsheet_id,
                self.http.fetch_sheet_metadata,
                spreadsheet_id,
                params={"fields": METADATA_FIELDS},
            )
            self._last_read[spreadsheet_id] = self._metadata[spreadsheet_id]
        return self._metadata[spreadsheet_id]

    def titles(self, spreadsheet_id: str | None = None) -> list[str]:
        return [s["properties"]["title"] for s in self.metadata(spreadsheet_id)["sheets"]]

    def foreign_tabs(self, titles: list[str], spreadsheet_id: str | None = None) -> list[str]:
        """Those of `titles` that exist as tabs the tool did not create (never overwritten)."""
        tabs = tabs_by_title(self.metadata(spreadsheet_id))
        return [t for t in titles if t.casefold() in tabs and not owned(tabs[t.casefold()])]

    def input_titles(self) -> dict[str, str]:
        """Input tab key → the title it has in this spreadsheet (either locale)."""
        existing = self.titles()
        return {spec.key: title for spec in TABS if (title := find_title(spec, existing))}

    def read_grids(self) -> dict[str, list[list[Any]]]:
        """Every input tab that exists, in one values.batchGet, as typed cells."""
        return self.read_grids_and()[0]

    def read_grids_and(
        self, others: Sequence[str] = ()
    ) -> tuple[dict[str, list[list[Any]]], dict[str, list[list[Any]]]]:
        """The input tabs' cells by key and the `others` tabs' cells by title, in the same
        single values.batchGet (`init` looks at a stray default tab in it)."""
        found = self.input_titles()
        titles = [*found.values(), *others]
        if not titles:
            return {}, {}
        ranges = ["'" + title.replace("'", "''") + "'" for title in titles]
        payload = self._call(
            self.google.spreadsheet_id,
            self.http.values_batch_get,
            self.google.spreadsheet_id,
            ranges,
            params={
                "valueRenderOption": "UNFORMATTED_VALUE",
                "dateTimeRenderOption": "SERIAL_NUMBER",
            },
        )
        values = [r.get("values", []) for r in payload.get("valueRanges", [])]
        grids = dict(zip(found, values[: len(found)], strict=True))
        return grids, dict(zip(others, values[len(found) :], strict=True))

    def write(
        self,
        layouts: list[TabLayout],
        spreadsheet_id: str | None = None,
        force: bool = False,
        prune: bool = True,
        hold: bool = False,
    ) -> WriteReport:
        """Bring the spreadsheet to `layouts`; with `prune`, our tabs not among them go. It is
        sent now unless `hold` (the main spreadsheet only): then `flush` sends it with the
        run-log row."""
        spreadsheet_id = spreadsheet_id or self.google.spreadsheet_id
        metadata = self.metadata(spreadsheet_id)
        ledger = self.ledger(spreadsheet_id)
        plan = plan_writes(metadata, layouts, self.editors, force, prune, ledger, self._hashes)
        hold = hold and spreadsheet_id == self.google.spreadsheet_id
        log_tab = next((t for t in layouts if t.append_only), None)
        if hold and log_tab is not None and self.run_id is not None:
            sheet = tabs_by_title(metadata).get(log_tab.title.casefold())
            written = plan.ledger.get(log_tab.title)
            if written is not None:  # a log tab of ours: its room is made in the same batch
                rows = 1 if sheet is None else _rows_of(sheet)  # a new tab: the header only
                self._log = _place(log_tab.title, written.sheet_id, sheet, rows)
                plan.structure += self._log_room(self.run_id)
        log.debug(
            "%s: structure of %s; %d blocks of values in %s",
            spreadsheet_id,
            ", ".join(plan.report.structure_written) or "no tab",
            plan.report.blocks_written,
            ", ".join(sorted({unit.title for unit in plan.values})) or "no tab",
        )
        if plan.report.conflicts:
            log.warning(
                "tabs not created by sheets-kpi were left alone: %s",
                ", ".join(plan.report.conflicts),
            )
        if hold:
            self._held.append((plan, prune))
        else:
            self._send(spreadsheet_id, [(plan, prune)], [])
        return plan.report

    def flush(
        self, log_title: str | None = None, rows: Sequence[tuple[int, list[Any]]] = ()
    ) -> str | None:
        """What `write(hold=True)` held back and the run-log `rows` (run id, cells), sent as
        `_send` says. A run's row has a fixed place (from its id), so a retry rewrites it
        instead of adding another. Returns why the log rows could not be placed (None: they
        were written); a failure to write the output raises."""
        held, self._held = self._held, []
        log_rows: list[tuple[int, list[Any]]] = []
        problem = None
        if log_title is not None and rows:
            try:
                log_rows = self._log_rows(log_title, rows)
            except SheetsError as err:
                problem = str(err)
        self._send(self.google.spreadsheet_id, held, log_rows)
        return problem

    def update(self, body: dict[str, Any], spreadsheet_id: str | None = None) -> Any:
        """One spreadsheets.batchUpdate sent as compact UTF-8 JSON (the size the writer
        measured); the cached metadata is stale afterwards."""
        return self._batch_update(spreadsheet_id or self.google.spreadsheet_id, encode(body))

    def _batch_update(self, spreadsheet_id: str, data: bytes) -> Any:
        self._metadata.pop(spreadsheet_id, None)
        return self._post(spreadsheet_id, SPREADSHEET_BATCH_UPDATE_URL, data)

    def _post(self, spreadsheet_id: str, url: str, data: bytes) -> Any:
        """An encoded body (`encode`), gzipped (Google's frontends take `Content-Encoding:
        gzip`, as Google's own Java and .NET clients send every body): a table's JSON shrinks
        about tenfold on the wire. The payload limit is still measured on the JSON itself.
        `google.gzip_requests: false` sends the plain JSON."""
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        if self.google.gzip_requests:
            data = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return self._call(
            spreadsheet_id,
            self.http.request,
            "post",
            url % spreadsheet_id,
            data=data,
            headers=headers,
        )

    def _send(
        self,
        spreadsheet_id: str,
        held: list[tuple[Plan, bool]],
        log_rows: list[tuple[int, list[Any]]],
    ) -> None:
        """The plans' structure in one `spreadsheets.batchUpdate`, then their values and the
        log rows (row index, cells) in one `values.batchUpdate` (either split only past the
        payload limit). When some tab's structure changed but none is new and the values are
        few (a list one row longer), the values ride at the end of the structure's batch as
        `updateCells`, typed as RAW writes them: one request instead of two. The ledger
        records what landed."""
        structure = [unit for plan, _ in held for unit in plan.structure]
        units = [unit for plan, _ in held for unit in plan.values]
        created = any(plan.report.tabs_created for plan, _ in held)  # a first write: big
        together = bool(structure) and not created and _cells(units, log_rows) <= TOGETHER_CELLS
        if together:
            structure.append(
                [
                    cell_rows(u.sheet_id, row, piece["values"])
                    for u in units
                    for row, piece in zip(u.starts, u.data, strict=True)
                ]
                + [cell_rows(self._log_sheet(), row, [cells]) for row, cells in log_rows]
            )
        whole = encode({"requests": [r for unit in structure for r in unit]})
        bodies = (
            [whole]
            if fits(whole)
            else [encode({"requests": chunk}) for chunk in batches(structure)]
        )
        try:
            for data in bodies if structure else []:
                self._batch_update(spreadsheet_id, data)
        except SheetsError:
            if spreadsheet_id == self.google.spreadsheet_id:  # the log tab's room may not
                self._log = None  # have been made: the row is placed again from the metadata
            raise
        ledger = self.ledger(spreadsheet_id)
        for plan, prune in held:
            if prune:  # tabs no longer produced are gone
                for title in set(ledger) - set(plan.ledger):
                    del ledger[title]
            ledger.update(plan.ledger)
        if together:
            landed(ledger, units)
            self._save(spreadsheet_id)
            return
        self._save(spreadsheet_id)
        self._send_values(spreadsheet_id, units, [self._log_range(r, c) for r, c in log_rows])

    def _send_values(
        self, spreadsheet_id: str, units: list[ValueUnit], extra: list[dict[str, Any]]
    ) -> None:
        """RAW values in as few `values.batchUpdate` requests as the payload limit allows,
        `extra` in the last; each accepted request is recorded in the ledger."""
        ledger = self.ledger(spreadsheet_id)
        whole = _values_body([d for unit in units for d in unit.data] + extra)
        chunks = [units] if fits(whole) else value_batches(units)
        for number, chunk in enumerate(chunks):
            data = [d for unit in chunk for d in unit.data]
            data += extra if number == len(chunks) - 1 else []
            if not data:  # blocks of a new tab with nothing in them
                landed(ledger, chunk)
                continue
            body = whole if len(chunks) == 1 else _values_body(data)
            try:
                self._post(spreadsheet_id, SPREADSHEET_VALUES_BATCH_UPDATE_URL, body)
            except SheetsError as err:
                raise SheetsError(f"Google Sheets rejected the output values: {err}") from err
            landed(ledger, chunk)
            self._save(spreadsheet_id)

    def _save(self, spreadsheet_id: str) -> None:
        if self._store is not None:
            ledger = self.ledger(spreadsheet_id)
            self._store.save_sheet_ledger(
                spreadsheet_id,
                {t: (w.sheet_id, w.structure, w.blocks, w.rows) for t, w in ledger.items()},
            )

    def _log_rows(
        self, title: str, rows: Sequence[tuple[int, list[Any]]]
    ) -> list[tuple[int, list[Any]]]:
        """The log rows as (row index, cells). When this cycle's write did not make room for
        them (it wrote no log tab), the tab is grown or trimmed here, in a request of its own
        when needed."""
        if self._log is None or self._log.title != title:
            spreadsheet_id = self.google.spreadsheet_id
            known = self._last_read.get(spreadsheet_id) or self.metadata(spreadsheet_id)
            sheet = tabs_by_title(known).get(title.casefold())
            if sheet is None:
                raise SheetsError(f"there is no run log tab {title!r} yet; a cycle creates it")
            if not owned(sheet):
                raise SheetsError(
                    f"the tab {title!r} was not created by sheets-kpi, so the run log row is "
                    "not written there; rename or delete that tab"
                )
            self._log = _place(title, sheet["properties"]["sheetId"], sheet, _rows_of(sheet))
            room = self._log_room(max(run for run, _ in rows))
            if room:
                self.update({"requests": [r for unit in room for r in unit]})
        place = self._log
        return [
            (1 + run - place.base, [fit_cell(v) if isinstance(v, str) else v for v in row])
            for run, row in rows
            if place.base <= run < place.base + place.rows - 1
        ]

    def _log_sheet(self) -> int:
        assert self._log is not None  # log rows are placed only once it is
        return self._log.sheet_id

    def _log_range(self, row: int, cells: list[Any]) -> dict[str, Any]:
        assert self._log is not None
        quoted = "'" + self._log.title.replace("'", "''") + "'"
        return {"range": f"{quoted}!A{row + 1}", "values": [cells]}

    def _log_room(self, run_id: int) -> list[list[dict[str, Any]]]:
        """Requests giving run `run_id` its row in the log tab: a base on a tab without one
        (the next row past its grid), LOG_ROOM more rows when it is full, and the oldest rows
        removed once LOG_KEEP + 100 have accumulated."""
        place = self._log
        assert place is not None
        fresh = place.base <= 0
        if fresh:
            place.base = run_id - max(place.rows - 1, 0)
        if not fresh and 2 + run_id - place.base <= place.rows:
            return []
        requests: list[dict[str, Any]] = []
        surplus = run_id - place.base + 1 - LOG_KEEP
        if surplus >= 100:
            requests.append(
                {
                    "deleteDimension": {
                        "range": {
                            "sheetId": place.sheet_id,
                            "dimension": "ROWS",
                            "startIndex": 1,
                            "endIndex": 1 + surplus,
                        }
                    }
                }
            )
            place.base += surplus
        place.rows = 1 + run_id - place.base + LOG_ROOM
        grid = {"sheetId": place.sheet_id, "gridProperties": {"rowCount": place.rows}}
        requests.append(
            {"updateSheetProperties": {"properties": grid, "fields": "gridProperties.rowCount"}}
        )
        requests += forget_requests({"developerMetadata": place.markers}, (LOG_BASE_KEY,))
        requests.append(marker_request(place.sheet_id, LOG_BASE_KEY, str(place.base)))
        place.markers = []
        return [requests]

    def _call(self, spreadsheet_id: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        if not _SAFE_ID.fullmatch(spreadsheet_id):  # never a path or a query in Google's URLs
            raise SheetsError(f"{spreadsheet_id!r} is not a spreadsheet id; nothing was sent")
        try:
            response = method(*args, **kwargs)
        except APIError as err:
            raise SheetsError(explain(err, spreadsheet_id, self.service_account)) from err
        except requests.RequestException as err:
            raise SheetsError(
                f"cannot reach Google Sheets ({err}); the next cycle retries"
            ) from err
        return response.json() if hasattr(response, "json") else response


#: The characters of a spreadsheet id: whatever else a caller passes, no request is built from it.
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def _values_body(data: list[dict[str, Any]]) -> bytes:
    return encode({"valueInputOption": "RAW", "data": data})


def _cells(units: list[ValueUnit], log_rows: list[tuple[int, list[Any]]]) -> int:
    held = sum(len(row) for unit in units for data in unit.data for row in data["values"])
    return held + sum(len(cells) for _, cells in log_rows)


def _rows_of(sheet: dict[str, Any]) -> int:
    return int(sheet["properties"]["gridProperties"]["rowCount"])


def _place(title: str, sheet_id: int, sheet: dict[str, Any] | None, rows: int) -> _LogPlace:
    """Where the log tab's rows go, from its base marker (none yet: base 0)."""
    markers = metadata_of(sheet, LOG_BASE_KEY) if sheet is not None else []
    try:
        base = int(markers[0]["metadataValue"]) if len(markers) == 1 else 0
    except (KeyError, ValueError):
        base = 0
    return _LogPlace(title, sheet_id, base, rows, markers)

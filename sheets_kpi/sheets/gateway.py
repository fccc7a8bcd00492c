"""One cycle's conversation with Google Sheets: one metadata read, one batchGet, one batch write.

Built on gspread's HTTP client (which carries our bounded retries and request counts).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import requests
from gspread.exceptions import APIError
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL

from sheets_kpi.config import GoogleConfig
from sheets_kpi.errors import SheetsError
from sheets_kpi.sheets.client import CountingHTTPClient, make_client, service_account_email
from sheets_kpi.sheets.failures import explain
from sheets_kpi.sheets.input_tabs import TABS, find_title
from sheets_kpi.sheets.layout import TabLayout
from sheets_kpi.sheets.render import encode, fit_cell
from sheets_kpi.sheets.writer import WriteReport, owned, tabs_by_title, write_tabs

log = logging.getLogger(__name__)
METADATA_FIELDS = (
    "spreadsheetId,properties.title,sheets(properties,developerMetadata,"
    "protectedRanges,conditionalFormats,charts)"
)
#: A manager's own spreadsheet holds only our few tabs and maybe the default `Sheet1`: its
#: values come with the metadata, so an empty `Sheet1` can go in the same batch as our tabs.
PERSONAL_FIELDS = METADATA_FIELDS[:-1] + ",merges,data.rowData.values.userEnteredValue)"


class SheetsGateway:
    """The cycle's Sheets calls, with the metadata read cached per spreadsheet until a write."""

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

    def counts(self) -> tuple[int, int]:
        return self.http.reads, self.http.writes

    def reset_counts(self) -> None:
        self.http.reads = self.http.writes = 0
        self._metadata.clear()
        self._last_read.clear()

    def metadata(self, spreadsheet_id: str | None = None, fresh: bool = False) -> dict[str, Any]:
        """Tabs, markers, rules and protections, read once per cycle and spreadsheet."""
        spreadsheet_id = spreadsheet_id or self.google.spreadsheet_id
        personal = spreadsheet_id != self.google.spreadsheet_id
        if fresh or spreadsheet_id not in self._metadata:
            self._metadata[spreadsheet_id] = self._call(
                spreadsheet_id,
                self.http.fetch_sheet_metadata,
                spreadsheet_id,
                params={"fields": PERSONAL_FIELDS if personal else METADATA_FIELDS},
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
    ) -> WriteReport:
        """Bring the spreadsheet to `layouts`; with `prune`, our tabs not among them go."""
        spreadsheet_id = spreadsheet_id or self.google.spreadsheet_id
        metadata = self.metadata(spreadsheet_id)
        return write_tabs(
            lambda body: self.update(body, spreadsheet_id),
            metadata,
            layouts,
            self.editors,
            force,
            prune,
            drop_default=spreadsheet_id != self.google.spreadsheet_id,
        )

    def update(self, body: dict[str, Any], spreadsheet_id: str | None = None) -> Any:
        """One spreadsheets.batchUpdate sent as compact UTF-8 JSON (the size the writer
        measured); the cached metadata is stale afterwards."""
        spreadsheet_id = spreadsheet_id or self.google.spreadsheet_id
        self._metadata.pop(spreadsheet_id, None)
        return self._call(
            spreadsheet_id,
            self.http.request,
            "post",
            SPREADSHEET_BATCH_UPDATE_URL % spreadsheet_id,
            data=encode(body),
            headers={"Content-Type": "application/json; charset=UTF-8"},
        )

    def append_log_row(self, title: str, row: list[Any], keep: int = 200) -> None:
        self.append_log_rows(title, [row], keep)

    def append_log_rows(self, title: str, rows: list[list[Any]], keep: int = 200) -> None:
        """One values.append (RAW) below the log table; every 100 extra rows, trim to `keep`.

        Trimming in bulk keeps a cycle at one write request 99 times out of 100.
        """
        spreadsheet_id = self.google.spreadsheet_id
        known = self._last_read.get(spreadsheet_id) or self.metadata(spreadsheet_id)
        sheet = tabs_by_title(known).get(title.casefold())
        if sheet is not None and not owned(sheet):
            raise SheetsError(
                f"the tab {title!r} was not created by sheets-kpi, so the run log row is not "
                "written there; rename or delete that tab"
            )
        rng = "'" + title.replace("'", "''") + "'!A1"
        reply = self._call(
            spreadsheet_id,
            self.http.values_append,
            spreadsheet_id,
            rng,
            params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
            body={"values": [[fit_cell(v) if isinstance(v, str) else v for v in r] for r in rows]},
        )
        last_row = int(
            "".join(
                ch for ch in reply["updates"]["updatedRange"].rsplit(":", 1)[-1] if ch.isdigit()
            )
            or 0
        )
        surplus = last_row - 1 - keep
        if surplus >= 100:
            sheet_id = next(
                s["properties"]["sheetId"]
                for s in self.metadata()["sheets"]
                if s["properties"]["title"] == title
            )
            self.update(
                {
                    "requests": [
                        {
                            "deleteDimension": {
                                "range": {
                                    "sheetId": sheet_id,
                                    "dimension": "ROWS",
                                    "startIndex": 1,
                                    "endIndex": 1 + surplus,
                                }
                            }
                        }
                    ]
                }
            )

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

"""A personal spreadsheet the roster no longer names: its tab is released, never deleted.

When a roster row's `personal_spreadsheet` is cleared or changed, or the manager leaves the
roster, the manager's tab is written elsewhere (the main spreadsheet, the new one). The tab left
behind is not deleted: it may be that spreadsheet's only tab (Google refuses to delete the
last one) and the person may want it. It is released instead, in one batchUpdate: renamed
`<title> (released YYYY-MM-DD)` in the configured locale (a tab written there again later
does not collide with it), its protections and the markers that make it ours removed, so it
is never written again. A warning in the data issues names it for a week. A spreadsheet that
cannot be reached is not tried again (logged): nothing more can be written there either.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sheets_kpi.clock import epoch
from sheets_kpi.config import Config
from sheets_kpi.errors import SheetsKpiError
from sheets_kpi.kpi.issues import Issue, place
from sheets_kpi.locale import label
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.input_tabs import TABS
from sheets_kpi.sheets.render import HASH_KEY, MARKER, TITLE_KEY, forget_requests
from sheets_kpi.sheets.writer import owned
from sheets_kpi.store.db import Store
from sheets_kpi.tabs import MAX_TITLE, Output

log = logging.getLogger(__name__)

#: How long the data issues say that a personal spreadsheet's tab was released.
NOTICE = timedelta(days=7)


def release_stale(
    config: Config, store: Store, sheets: SheetsGateway, output: Output, now: datetime
) -> list[Issue]:
    """Release the tabs of personal spreadsheets no longer in `output`, and record the ones
    that are; the issues say what was released."""
    roster = next(spec for spec in TABS if spec.key == "roster").title(config.locale)
    current = {sid: ", ".join(tab.title for tab in tabs) for sid, tabs in output.personal.items()}
    issues = []
    for sid, (title, released) in store.personal_sheets().items():
        if sid in current:
            continue
        if released is None:
            try:
                _release(config, sheets, sid, now)
            except SheetsKpiError as err:
                log.warning("personal spreadsheet %s: its tab cannot be released: %s", sid, err)
            store.release_personal_sheet(sid, now)
            released = epoch(now)
        if epoch(now) - released < NOTICE.total_seconds():
            day = datetime.fromtimestamp(released, config.zone).date().isoformat()
            where = place("column", column="personal_spreadsheet")
            issues.append(
                Issue.said("warning", roster, where, sid, "released", title=repr(title), day=day)
            )
    store.record_personal_sheets(current)
    return issues


def _release(config: Config, sheets: SheetsGateway, spreadsheet_id: str, now: datetime) -> None:
    day = now.astimezone(config.zone).date().isoformat()
    requests: list[dict[str, Any]] = []
    for sheet in sheets.metadata(spreadsheet_id, fresh=True)["sheets"]:
        if not owned(sheet):
            continue
        properties = sheet["properties"]
        title = label(config.locale, "tab.released", title=properties["title"], date=day)
        if len(title) > MAX_TITLE:  # the date and the word stay, the name is shortened
            cut = len(title) - MAX_TITLE
            title = label(config.locale, "tab.released", title=properties["title"][:-cut], date=day)
        requests.append(
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": properties["sheetId"], "title": title},
                    "fields": "title",
                }
            }
        )
        requests += [
            {"deleteProtectedRange": {"protectedRangeId": p["protectedRangeId"]}}
            for p in sheet.get("protectedRanges", [])
        ]
        requests += forget_requests(sheet, (MARKER, HASH_KEY, TITLE_KEY))
    if requests:
        sheets.update({"requests": requests}, spreadsheet_id)

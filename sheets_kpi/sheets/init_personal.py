"""`sheets-kpi init --personal` (SPEC §13): a personal spreadsheet for every roster row with an
e-mail and none yet.

Service accounts have no Drive storage of their own, so Google lets one create files only in a
shared drive: with `google.personal_folder` (a shared drive's folder) each spreadsheet is created
there, shared read-only with the manager and as writer with `google.supervisors`. Without a
folder nothing is created: the titles to create and whom to share them with are listed, and a
spreadsheet of such a title shared with the service account is adopted on the next run. Either
way the ids go into the roster's personal_spreadsheet cells in one values write, those cells
only. Spreadsheets are matched by title, so a second run creates nothing twice.

A spreadsheet Drive creates comes with an empty default tab (`Sheet1`); one created here swaps
it for the manager's tab before anyone is given access, so it never opens on an empty tab. An
adopted spreadsheet's tabs are its owner's and stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests
from gspread.exceptions import APIError

from sheets_kpi.config import Config
from sheets_kpi.errors import SheetsError
from sheets_kpi.locale import label
from sheets_kpi.sheets import parse
from sheets_kpi.sheets.client import SCOPES, make_client
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.input_tabs import TABS
from sheets_kpi.sheets.inputs import roster_cells
from sheets_kpi.sheets.render import MARKER, column_letter, marker_request, sheet_id_for
from sheets_kpi.tabs import MAX_TITLE

FILES = "https://www.googleapis.com/drive/v3/files"
SPREADSHEET = "application/vnd.google-apps.spreadsheet"
#: Creating and sharing: only the files the tool itself creates.
CREATE_SCOPES = (*SCOPES, "https://www.googleapis.com/auth/drive.file")
#: Adopting what a person created: `drive.file` cannot see it; names and ids only, no content.
ADOPT_SCOPES = (*SCOPES, "https://www.googleapis.com/auth/drive.metadata.readonly")
_ALL_DRIVES = {"supportsAllDrives": "true"}
#: The id of the one tab a spreadsheet Drive creates has (`Sheet1`, 1000×26).
DEFAULT_SHEET_ID = 0


@dataclass(frozen=True)
class Wanted:
    """A roster row that needs a personal spreadsheet."""

    row: int  # the sheet row number
    name: str
    email: str
    title: str


@dataclass
class PersonalReport:
    created: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    #: Without a folder: to be created and shared by hand, then adopted by the next run.
    to_create: list[Wanted] = field(default_factory=list)
    #: What failed (a share refused, the quota error): told, the rest goes on.
    problems: list[str] = field(default_factory=list)


def personal_gateway(config: Config) -> SheetsGateway:
    """A gateway whose credentials also carry the Drive scope this command needs."""
    scopes = CREATE_SCOPES if config.google.personal_folder else ADOPT_SCOPES
    return SheetsGateway(config.google, make_client(config.google, scopes=scopes))


def init_personal(sheets: SheetsGateway, config: Config) -> PersonalReport:
    report = PersonalReport()
    roster, column, wanted = rows_wanting(sheets, config)
    if not wanted:
        return report
    folder = config.google.personal_folder
    found = existing(sheets, folder)
    ids: dict[int, str] = {}
    try:
        for item in wanted:
            if item.title in found:
                ids[item.row] = found[item.title]
                report.adopted.append(item.title)
            elif folder:
                ids[item.row] = create(sheets, item.title, folder)
                report.created.append(item.title)
                report.problems += own_tab(sheets, ids[item.row], item.name)
                report.problems += share(sheets, ids[item.row], item.email, config)
            else:
                report.to_create.append(item)
    finally:  # what was created is written down even when a later row failed
        write_ids(sheets, roster, column, ids)
    return report


def rows_wanting(sheets: SheetsGateway, config: Config) -> tuple[str, str, list[Wanted]]:
    """(roster title, personal_spreadsheet column letter, the rows with an e-mail and no
    spreadsheet), from one values.batchGet of the input tabs."""
    spec = TABS[0]
    title = sheets.input_titles().get(spec.key)
    if title is None:
        raise SheetsError(
            f"there is no {spec.title(config.locale)!r} tab: run `sheets-kpi init` first"
        )
    positions, records = roster_cells(title, sheets.read_grids()[spec.key])
    if "personal_spreadsheet" not in positions or "email" not in positions:
        raise SheetsError(
            f"the {title!r} tab has no Email or personal spreadsheet column: run `sheets-kpi "
            "init`, which adds the missing columns"
        )
    wanted = []
    for row, cells in records:
        email = str(cells.get("email") or "").strip()
        if "@" not in email or not parse.is_blank(cells.get("personal_spreadsheet")):
            continue
        name = str(cells.get("name") or "").strip() or email
        wanted.append(
            Wanted(row, name, email, label(config.locale, "personal.title", name=name, email=email))
        )
    return title, column_letter(positions["personal_spreadsheet"]), wanted


def existing(sheets: SheetsGateway, folder: str | None) -> dict[str, str]:
    """Spreadsheets the service account can see (in the folder, when there is one), by title;
    of two with one title, the newest."""
    query = f"mimeType = '{SPREADSHEET}' and trashed = false"
    if folder:
        query += f" and '{folder}' in parents"
    params = {
        "q": query,
        "fields": "nextPageToken,files(id,name)",
        "pageSize": "1000",
        "orderBy": "modifiedTime desc",
        "includeItemsFromAllDrives": "true",
        "corpora": "allDrives",
        **_ALL_DRIVES,
    }
    found: dict[str, str] = {}
    while True:
        page = _drive(sheets, "get", FILES, params=params)
        for item in page.get("files", []):
            found.setdefault(item["name"], item["id"])
        if not page.get("nextPageToken"):
            return found
        params = {**params, "pageToken": page["nextPageToken"]}


def create(sheets: SheetsGateway, title: str, folder: str) -> str:
    body = {"name": title, "mimeType": SPREADSHEET, "parents": [folder]}
    reply = _drive(sheets, "post", FILES, params={**_ALL_DRIVES, "fields": "id"}, json=body)
    return str(reply["id"])


def own_tab(sheets: SheetsGateway, file_id: str, name: str) -> list[str]:
    """The new spreadsheet's default tab gives way to the manager's, in one batchUpdate: ours
    (owner marker) and empty, so the first cycle builds it in place, or, should the cycle title
    it otherwise, adds its own and removes this one. Added before the default one is deleted:
    Google refuses to delete a spreadsheet's only tab. A refusal is reported; the spreadsheet
    then keeps its `Sheet1`."""
    sheet_id = sheet_id_for(name[:MAX_TITLE], {DEFAULT_SHEET_ID})
    requests = [
        {"addSheet": {"properties": {"sheetId": sheet_id, "title": name[:MAX_TITLE]}}},
        marker_request(sheet_id, MARKER, "owner"),
        {"deleteSheet": {"sheetId": DEFAULT_SHEET_ID}},
    ]
    try:
        sheets.update({"requests": requests}, file_id)
    except SheetsError as err:
        return [f"the new spreadsheet {file_id} keeps its empty Sheet1 (delete it by hand): {err}"]
    return []


def share(sheets: SheetsGateway, file_id: str, manager: str, config: Config) -> list[str]:
    """Reader for the manager, writer for each supervisor; a refused one is reported."""
    problems = []
    grants = [(manager, "reader"), *[(email, "writer") for email in config.google.supervisors]]
    for email, role in grants:
        body = {"type": "user", "role": role, "emailAddress": email}
        try:
            _drive(sheets, "post", f"{FILES}/{file_id}/permissions", params=_ALL_DRIVES, json=body)
        except SheetsError as err:
            problems.append(f"sharing {file_id} with {email} as {role}: {err}")
    return problems


def write_ids(sheets: SheetsGateway, roster: str, column: str, ids: dict[int, str]) -> None:
    """One values.batchUpdate (RAW) of the personal_spreadsheet cells, nothing else."""
    if not ids:
        return
    quoted = "'" + roster.replace("'", "''") + "'"
    data = [{"range": f"{quoted}!{column}{row}", "values": [[ids[row]]]} for row in sorted(ids)]
    body = {"valueInputOption": "RAW", "data": data}
    try:
        sheets.http.values_batch_update(sheets.google.spreadsheet_id, body)
    except (APIError, requests.RequestException) as err:
        written = ", ".join(f"row {row}: {ids[row]}" for row in sorted(ids))
        raise SheetsError(
            f"the new spreadsheets could not be written to the {roster!r} tab ({err}); type "
            f"them into its personal spreadsheet column by hand: {written}"
        ) from err


def _drive(sheets: SheetsGateway, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = sheets.http.request(method, url, **kwargs)
    except APIError as err:
        raise SheetsError(_explain(err, sheets)) from err
    except requests.RequestException as err:
        raise SheetsError(f"cannot reach Google Drive ({err})") from err
    return dict(response.json())


def _explain(err: APIError, sheets: SheetsGateway) -> str:
    reasons = {e.get("reason") for e in err.error.get("errors", []) if isinstance(e, dict)}
    who = sheets.service_account or "the service account"
    if "storageQuotaExceeded" in reasons:
        return (
            "Google refused for want of Drive storage: a service account has none of its own, "
            "so google.personal_folder must be a folder in a shared drive, with "
            f"{who} a Content manager of it"
        )
    if err.code == 404:
        return (
            f"Drive answered not found: share the google.personal_folder folder with {who} "
            "(Content manager) and check its id"
        )
    if err.code == 403:
        return (
            f"Drive refused ({err.error.get('message', err)}): enable the Google Drive API for "
            f"the service account's project and give {who} access"
        )
    return f"Google Drive answered HTTP {err.code}: {err.error.get('message', err)}"

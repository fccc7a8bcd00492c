"""The Drive v3 subset gspread uses on spreadsheets: create, list, get, copy, delete, export,
comments, and the v2 CSV upload behind `import_csv` (SHEETS_API.md §1.3, §3.3); and what
`init --personal` uses: create in a shared-drive folder, permissions.create, and the storage-quota
refusal a service account gets outside a shared drive.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import re
import string
import time
from typing import Any

from sheets_kpi.emulators.sheets import cells, metadata, values
from sheets_kpi.emulators.sheets.errors import ApiError, invalid
from sheets_kpi.emulators.sheets.state import SheetsState, Spreadsheet, Target

SPREADSHEET = "application/vnd.google-apps.spreadsheet"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
_CLAUSE = re.compile(
    r"""(?P<field>mimeType|name)\s*(?P<op>=|!=|contains)\s*(?P<q>["'])(?P<value>(?:\\.|(?!(?P=q)).)*)(?P=q)"""
    r"""|(?P<q2>["'])(?P<parent>[^"']+)(?P=q2)\s+in\s+parents"""
    r"""|trashed\s*=\s*(?P<trashed>true|false)""",
    re.IGNORECASE,
)


def file_not_found(file_id: str) -> ApiError:
    """Drive's 404 keeps the older body: no `status`, an `errors` list instead."""
    message = f"File not found: {file_id}."
    reason = {
        "message": message,
        "domain": "global",
        "reason": "notFound",
        "location": "fileId",
        "locationType": "parameter",
    }
    return ApiError(404, message, "", errors=[reason])


def stamp(moment: float) -> str:
    """RFC 3339 with milliseconds, as Drive returns createdTime/modifiedTime."""
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def resource(book: Spreadsheet) -> dict[str, Any]:
    """Every member we know of a Drive File; responses keep what `fields` asks for."""
    return {
        "kind": "drive#file",
        "id": book.spreadsheet_id,
        "name": book.properties["title"],
        "mimeType": SPREADSHEET,
        "parents": book.parents,
        "createdTime": stamp(book.created),
        "modifiedTime": stamp(book.modified),
        "trashed": False,
    }


def select(item: dict[str, Any], fields: str | None, default: tuple[str, ...]) -> dict[str, Any]:
    """Drive returns `kind,id,name,mimeType` unless `fields` says otherwise."""
    if not fields:
        return {k: item[k] for k in default if k in item}
    return metadata.apply_mask(item, fields, keep_empty=True)


DEFAULT_FILE = ("kind", "id", "name", "mimeType")


def storage_quota_exceeded() -> ApiError:
    """What Google answers a service account (no Drive storage of its own) creating a file
    outside a shared drive."""
    message = "The user's Drive storage quota has been exceeded."
    reason = {"message": message, "domain": "global", "reason": "storageQuotaExceeded"}
    return ApiError(403, message, "", errors=[reason])


def create(state: SheetsState, body: dict[str, Any], all_drives: bool = False) -> Spreadsheet:
    """A spreadsheet in `parents`: a known folder, seen in a shared drive only with
    supportsAllDrives=true; without one, a service account (`state.drive_storage` false)
    is refused for want of storage."""
    mime = body.get("mimeType") or SPREADSHEET
    if mime != SPREADSHEET:
        raise invalid(f"The emulator only creates spreadsheets, not {mime}.")
    parents = list(body.get("parents") or [])
    for parent in parents:
        if parent not in state.folders or (state.folders[parent] and not all_drives):
            raise file_not_found(parent)
    if not state.drive_storage and not any(state.folders[p] for p in parents):
        raise storage_quota_exceeded()
    book = state.create_spreadsheet(body.get("name") or "Untitled spreadsheet")
    book.parents = parents
    return book


ROLES = ("owner", "organizer", "fileOrganizer", "writer", "commenter", "reader")
TYPES = ("user", "group", "domain", "anyone")


def _bad_permission(message: str, reason: str, location: str) -> ApiError:
    detail = {"message": message, "domain": "global", "reason": reason}
    return ApiError(400, message, "", errors=[{**detail, "location": location}])


def add_permission(state: SheetsState, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    """permissions.create: a user or group needs an e-mail; the same grantee again keeps one
    permission (the later role), as Drive does."""
    kind, role = body.get("type"), body.get("role")
    for name, value, allowed in (("type", kind, TYPES), ("role", role, ROLES)):
        if not value:
            raise _bad_permission(f"The permission {name} field is required.", "required", name)
        if value not in allowed:
            raise _bad_permission(
                f"The value of the parameter '{name}' is invalid.", "invalidParameter", name
            )
    email = str(body.get("emailAddress") or "").strip()
    if kind in ("user", "group") and "@" not in email:
        raise _bad_permission(
            "The permission emailAddress field is required.", "required", "emailAddress"
        )
    for permission in book.permissions:
        if (
            permission["type"] == kind
            and permission.get("emailAddress", "").lower() == email.lower()
        ):
            permission["role"] = role
            return permission
    permission = {
        "kind": "drive#permission",
        "id": "".join(state.rng.choice(string.digits) for _ in range(20)),
        "type": kind,
        "role": role,
        **({"emailAddress": email} if email else {}),
    }
    book.permissions.append(permission)
    return permission


DEFAULT_PERMISSION = ("kind", "id", "type", "role")


def listing(state: SheetsState, query: str, page_size: int, token: str | None) -> dict[str, Any]:
    """files.list over spreadsheets: `q` by mimeType, name, parents; newest first; paged."""
    books = [b for b in state.spreadsheets.values() if b.shared and _matches(b, query)]
    books.sort(key=lambda b: b.modified, reverse=True)
    start = int(token or 0)
    page = books[start : start + page_size]
    out: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False}
    if start + page_size < len(books):
        out["nextPageToken"] = str(start + page_size)
    out["files"] = [resource(b) for b in page]
    return out


def _matches(book: Spreadsheet, query: str) -> bool:
    for clause in _CLAUSE.finditer(query):
        if clause["parent"]:
            if clause["parent"] not in book.parents:
                return False
            continue
        if clause["trashed"]:
            if clause["trashed"].lower() == "true":
                return False
            continue
        wanted = re.sub(r"\\(.)", r"\1", clause["value"])
        actual = SPREADSHEET if clause["field"].lower() == "mimetype" else book.properties["title"]
        op = clause["op"].lower()
        if op == "contains":
            ok = wanted.lower() in actual.lower()
        else:
            ok = (actual == wanted) == (op == "=")
        if not ok:
            return False
    return True


def copy_file(state: SheetsState, book: Spreadsheet, body: dict[str, Any]) -> Spreadsheet:
    """files.copy: a new spreadsheet with the same sheets, cells and metadata."""
    twin = copy.deepcopy(book)
    twin.spreadsheet_id = state.new_file_id()
    twin.properties["title"] = body.get("name") or f"Copy of {book.properties['title']}"
    twin.created = twin.modified = time.time()
    state.spreadsheets[twin.spreadsheet_id] = twin
    return twin


def export_csv(book: Spreadsheet) -> bytes:
    """The first sheet as Drive exports it: formatted values, trailing empties trimmed."""
    sheet = book.sheets[0]
    rows = values.value_range(
        Target(sheet, 0, 0, sheet.row_count, sheet.column_count),
        "ROWS",
        "FORMATTED_VALUE",
        "SERIAL_NUMBER",
        book.locale,
    ).get("values", [])
    width = max((len(r) for r in rows), default=0)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row + [""] * (width - len(row)))
    return buffer.getvalue().removesuffix("\r\n").encode()


def import_csv(book: Spreadsheet, data: bytes) -> dict[str, Any]:
    """The v2 `convert=True` upload: the first sheet is replaced and takes the file's title."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    sheet = book.sheets[0]
    for name in ("cells", "formats", "notes", "validations"):
        getattr(sheet, name).clear()
    del book.sheets[1:]
    sheet.properties["title"] = book.properties["title"]
    height, width = len(rows), max((len(r) for r in rows), default=0)
    sheet.grid["rowCount"] = max(sheet.row_count, height)
    sheet.grid["columnCount"] = max(sheet.column_count, width)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            if text != "":
                sheet.cells[(r, c)] = cells.user_entered(text, book.locale)[0]
    book.modified = time.time()
    return {
        "kind": "drive#file",
        "id": book.spreadsheet_id,
        "title": book.properties["title"],
        "mimeType": SPREADSHEET,
        "createdDate": stamp(book.created),
        "modifiedDate": stamp(book.modified),
    }

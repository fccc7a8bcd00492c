"""Export an emulated spreadsheet to .xlsx (openpyxl), so the demo leaves a file to open.

Kept: typed values (a formula exports its value), number formats, dates as dates, bold and
background colour, merges, frozen panes, column widths, hidden tabs. Text that Excel would
take for a formula (`=IMPORTXML(…)`) stays text.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from sheets_kpi.emulators.sheets import cells, numfmt
from sheets_kpi.emulators.sheets.state import Sheet, Spreadsheet, bounds

if TYPE_CHECKING:
    from sheets_kpi.emulators.sheets.state import SheetsState

_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")
_PIXELS_PER_WIDTH = 7.0


def export_bytes(book: Spreadsheet) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for sheet in book.sheets:
        if sheet.properties.get("sheetType", "GRID") != "GRID":
            continue
        target = workbook.create_sheet(_title(sheet.title, used))
        _fill(target, sheet)
    if not workbook.worksheets:
        workbook.create_sheet("Sheet1")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _title(title: str, used: set[str]) -> str:
    """Excel titles: at most 31 characters, none of []:*?/\\, unique ignoring case."""
    base = _BAD_TITLE.sub("_", title)[:31] or "Sheet"
    candidate, number = base, 2
    while candidate.lower() in used:
        suffix = f" ({number})"
        candidate, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(candidate.lower())
    return candidate


def _fill(target: Any, sheet: Sheet) -> None:
    for (row, col), value in sorted(sheet.cells.items()):
        number_format = sheet.number_format((row, col))
        shown = cells.effective(value)
        if cells.is_date(number_format) and isinstance(shown, int | float):
            shown = numfmt.moment(shown)
        cell = target.cell(row=row + 1, column=col + 1, value=shown)
        if isinstance(shown, str) and shown.startswith(("=", "+", "-", "@")):
            cell.data_type = "s"
        if number_format and number_format.get("pattern"):
            cell.number_format = number_format["pattern"]
    for (row, col), fmt in sheet.formats.items():
        cell = target.cell(row=row + 1, column=col + 1)
        if (fmt.get("textFormat") or {}).get("bold"):
            cell.font = Font(bold=True)
        colour = fmt.get("backgroundColor")
        if colour:
            rgb = "".join(f"{round(colour.get(c, 0) * 255):02X}" for c in ("red", "green", "blue"))
            cell.fill = PatternFill("solid", fgColor=rgb)
    for merge in sheet.extras.get("merges", []):
        r0, c0, r1, c1 = bounds(sheet, merge)
        target.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1, end_column=c1)
    grid = sheet.grid
    rows, cols = grid.get("frozenRowCount") or 0, grid.get("frozenColumnCount") or 0
    if rows or cols:
        target.freeze_panes = f"{get_column_letter(cols + 1)}{rows + 1}"
    for index, props in sheet.columns.items():
        if "pixelSize" in props:
            width = props["pixelSize"] / _PIXELS_PER_WIDTH
            target.column_dimensions[get_column_letter(index + 1)].width = width
    if sheet.properties.get("hidden"):
        target.sheet_state = "hidden"


def export_xlsx(
    source: SheetsState | Spreadsheet, spreadsheet_id: str | Path, path: str | Path | None = None
) -> Path:
    """`export_xlsx(state, spreadsheet_id, path)`; `export_xlsx(spreadsheet, path)` also works."""
    if isinstance(source, Spreadsheet):
        book, path = source, spreadsheet_id
    else:
        with source.lock:
            book = source.get(str(spreadsheet_id))
    if path is None:
        raise TypeError("export_xlsx needs a destination path")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(export_bytes(book))
    return path

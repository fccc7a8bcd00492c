"""Export an emulated spreadsheet to .xlsx (values, frozen panes) so the demo leaves a file."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from sheets_kpi.emulators.sheets import cells
from sheets_kpi.emulators.sheets.state import Spreadsheet

_FORMULA_START = ("=", "+", "-", "@")


def export_bytes(book: Spreadsheet) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in book.sheets:
        target = workbook.create_sheet(sheet.title[:31])
        for (row, col), value in sorted(sheet.cells.items()):
            shown = cells.render(value, "UNFORMATTED_VALUE")
            cell = target.cell(row=row + 1, column=col + 1, value=shown)
            if isinstance(shown, str) and shown.startswith(_FORMULA_START):
                cell.data_type = "s"  # text stays text in Excel too (formula injection)
        frozen = sheet.properties["gridProperties"].get("frozenRowCount", 0)
        if frozen:
            target.freeze_panes = f"A{frozen + 1}"
        for index in range(1, min(sheet.cols, 30) + 1):
            target.column_dimensions[get_column_letter(index)].width = 18
    if not workbook.worksheets:
        workbook.create_sheet("Sheet1")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_xlsx(book: Spreadsheet, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(export_bytes(book))
    return path

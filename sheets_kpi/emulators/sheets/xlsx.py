"""Export an emulated spreadsheet to .xlsx (openpyxl), so the demo leaves a file to open.

Kept: typed values (a formula exports its value), number formats, dates as dates, bold and
background colour, merges, frozen panes, column widths (the 100 px default included), hidden
tabs, custom-formula conditional formats (same formula and fill; the first rule that matches
wins, as in Sheets) and line charts over cell ranges (title, domain, series, a secondary axis,
anchor and size). Text that Excel would take for a formula (`=IMPORTXML(…)`) stays text.
Not kept: charts on their own chart sheets, other chart types and other rule kinds.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from sheets_kpi.emulators.sheets import cells, numfmt
from sheets_kpi.emulators.sheets.state import Sheet, Spreadsheet, bounds

if TYPE_CHECKING:
    from sheets_kpi.emulators.sheets.state import SheetsState

_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")
_PIXELS_PER_WIDTH = 7.0
#: Sheets' default column width; Excel's own default is narrower.
_DEFAULT_COLUMN_PIXELS = 100
#: Chart sizes: pixels at 96 dpi → openpyxl's centimetres.
_CM_PER_PIXEL = 2.54 / 96


def export_bytes(book: Spreadsheet) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    targets: dict[int, Any] = {}
    for sheet in book.sheets:
        if sheet.properties.get("sheetType", "GRID") != "GRID":
            continue
        target = workbook.create_sheet(_title(sheet.title, used))
        targets[sheet.sheet_id] = target
        _fill(target, sheet)
        _rules(target, sheet)
    for sheet in book.sheets:
        if sheet.sheet_id in targets:
            for chart in sheet.extras.get("charts", []):
                _chart(targets[sheet.sheet_id], chart, targets)
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
            cell.fill = _solid(colour)
    for merge in sheet.extras.get("merges", []):
        r0, c0, r1, c1 = bounds(sheet, merge)
        target.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1, end_column=c1)
    grid = sheet.grid
    rows, cols = grid.get("frozenRowCount") or 0, grid.get("frozenColumnCount") or 0
    if rows or cols:
        target.freeze_panes = f"{get_column_letter(cols + 1)}{rows + 1}"
    target.sheet_format.defaultColWidth = _DEFAULT_COLUMN_PIXELS / _PIXELS_PER_WIDTH
    for index, props in sheet.columns.items():
        if "pixelSize" in props:
            width = props["pixelSize"] / _PIXELS_PER_WIDTH
            target.column_dimensions[get_column_letter(index + 1)].width = width
    if sheet.properties.get("hidden"):
        target.sheet_state = "hidden"


def _solid(colour: dict[str, Any]) -> PatternFill:
    rgb = "".join(f"{round(colour.get(c, 0) * 255):02X}" for c in ("red", "green", "blue"))
    return PatternFill("solid", fgColor=rgb, bgColor=rgb)


def _rules(target: Any, sheet: Sheet) -> None:
    """Custom-formula rules, in order; `stopIfTrue` because Sheets applies only the first match.

    Sheets' relative references (`D17` in a rule on D17:D20) mean the same in Excel, where
    they are relative to the top-left cell of the rule's range.
    """
    for rule in sheet.extras.get("conditionalFormats", []):
        boolean = rule.get("booleanRule") or {}
        condition = boolean.get("condition") or {}
        values = condition.get("values") or [{}]
        formula = str(values[0].get("userEnteredValue", ""))
        if condition.get("type") != "CUSTOM_FORMULA" or not formula.startswith("="):
            continue
        fmt = boolean.get("format") or {}
        colour = fmt.get("backgroundColor")
        bold = (fmt.get("textFormat") or {}).get("bold")
        fill = _solid(colour) if colour else None
        font = Font(bold=True) if bold else None
        for grid in rule.get("ranges", []):
            r0, c0, r1, c1 = bounds(sheet, grid)
            if r1 <= r0 or c1 <= c0:
                continue
            area = f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1)}{r1}"
            target.conditional_formatting.add(
                area, FormulaRule(formula=[formula[1:]], fill=fill, font=font, stopIfTrue=True)
            )


def _chart(target: Any, chart: dict[str, Any], targets: dict[int, Any]) -> None:
    """A LINE basicChart whose ranges are one column each; series on RIGHT_AXIS get a second
    value axis on the right, as in Sheets."""
    spec = chart.get("spec") or {}
    basic = spec.get("basicChart") or {}
    anchor = ((chart.get("position") or {}).get("overlayPosition") or {}).get("anchorCell")
    if basic.get("chartType") != "LINE" or anchor is None:
        return
    header = basic.get("headerCount") or 0
    left, right = LineChart(), LineChart()
    for item in basic.get("series", []):
        reference = _reference(item.get("series"), targets)
        if reference is not None:
            side = right if item.get("targetAxis") == "RIGHT_AXIS" else left
            side.add_data(reference, titles_from_data=header > 0)
            side.series[-1].smooth = False  # Sheets draws straight segments
    domains = basic.get("domains") or [{}]
    categories = _reference(domains[0].get("domain"), targets, skip=header)
    for part in (left, right):
        if categories is not None:
            part.set_categories(categories)
        part.x_axis.delete = False
        part.y_axis.delete = False
    if not left.series and not right.series:
        return
    if spec.get("title"):
        left.title = spec["title"]
    legend = basic.get("legendPosition")
    positions = {"BOTTOM_LEGEND": "b", "TOP_LEGEND": "t", "LEFT_LEGEND": "l", "RIGHT_LEGEND": "r"}
    if legend == "NO_LEGEND":
        left.legend = None
    elif legend in positions:
        left.legend.position = positions[legend]
    if right.series:
        right.y_axis.axId = 200
        right.y_axis.crosses = "max"
        right.y_axis.majorGridlines = None
        if not left.series:
            left, right = right, LineChart()
        else:
            left += right
    overlay = chart["position"]["overlayPosition"]
    left.width = overlay.get("widthPixels", 600) * _CM_PER_PIXEL
    left.height = overlay.get("heightPixels", 371) * _CM_PER_PIXEL
    row = (anchor.get("rowIndex") or 0) + 1
    col = (anchor.get("columnIndex") or 0) + 1
    target.add_chart(left, f"{get_column_letter(col)}{row}")


def _reference(
    data: dict[str, Any] | None, targets: dict[int, Any], skip: int = 0
) -> Reference | None:
    """The first source of a ChartData as an openpyxl Reference (its header rows skipped)."""
    sources = ((data or {}).get("sourceRange") or {}).get("sources") or []
    if not sources:
        return None
    grid = sources[0]
    target = targets.get(grid.get("sheetId", 0))
    if target is None or grid.get("endRowIndex") is None or grid.get("endColumnIndex") is None:
        return None
    row0 = (grid.get("startRowIndex") or 0) + skip
    col0 = grid.get("startColumnIndex") or 0
    if row0 >= grid["endRowIndex"]:
        return None
    return Reference(
        target,
        min_col=col0 + 1,
        max_col=grid["endColumnIndex"],
        min_row=row0 + 1,
        max_row=grid["endRowIndex"],
    )


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

"""spreadsheets.batchUpdate: requests applied in order, replies mirror requests (§3.8).

The handler runs this on a copy of the spreadsheet and keeps it only if every request succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sheets_kpi.emulators.sheets import cells
from sheets_kpi.emulators.sheets.state import (
    DEFAULT_COLS,
    DEFAULT_ROWS,
    Sheet,
    SheetsState,
    Spreadsheet,
    invalid,
    proto3,
)

Reply = dict[str, Any] | None


def apply(state: SheetsState, book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    replies = []
    for index, request in enumerate(body.get("requests") or []):
        if not isinstance(request, dict) or len(request) != 1:
            raise invalid(f"Invalid requests[{index}]: exactly one request kind is required")
        ((kind, payload),) = request.items()
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{kind}" at '
                f"'requests[{index}]': Cannot find field."
            )
        where = f"requests[{index}].{kind}"
        try:
            reply = handler(state, book, payload or {}, where)
        except KeyError as err:
            raise invalid(f"Invalid {where}: missing field {err}") from None
        replies.append({kind: reply} if reply is not None else {})
    book.modified = time.time()
    return {"spreadsheetId": book.spreadsheet_id, "replies": replies}


def _grid(
    book: Spreadsheet, grid_range: dict[str, Any], where: str
) -> tuple[Sheet, int, int, int, int]:
    sheet = book.sheet_by_id(grid_range.get("sheetId", 0), where)
    return (
        sheet,
        grid_range.get("startRowIndex", 0),
        grid_range.get("startColumnIndex", 0),
        grid_range.get("endRowIndex", sheet.rows),
        grid_range.get("endColumnIndex", sheet.cols),
    )


def _mask_update(target: dict[str, Any], source: dict[str, Any], fields: str) -> None:
    """Copy the fields named by a mask (`a.b`, `a/b`, `a(b,c)`, `*`) from source to target."""
    if fields.strip() == "*":
        target.update(source)
        return
    for path in mask_paths(fields):
        src, dst = source, target
        for part in path[:-1]:
            src = src.get(part, {}) if isinstance(src, dict) else {}
            dst = dst.setdefault(part, {})
        if isinstance(src, dict) and path[-1] in src:
            dst[path[-1]] = src[path[-1]]
        else:
            dst.pop(path[-1], None)


def mask_paths(mask: str) -> list[list[str]]:
    paths, prefix, token, stack = [], [], "", []
    for ch in mask + ",":
        if ch in ",()":
            if token:
                paths.append([*prefix, *token.replace("/", ".").split(".")])
            if ch == "(":
                stack.append(len(prefix))
                prefix = paths.pop()
            elif ch == ")":
                prefix = prefix[: stack.pop()]
            token = ""
        else:
            token += ch.strip()
    return paths


def add_sheet(state, book, payload, where) -> Reply:
    props = dict(payload.get("properties") or {})
    title = props.get("title") or f"Sheet{len(book.sheets) + 1}"
    if any(s.title == title for s in book.sheets):
        raise invalid(
            f'Invalid {where}: A sheet with the name "{title}" already exists. '
            "Please enter another name."
        )
    sheet_id = props.get("sheetId")
    if sheet_id is None:
        sheet_id = state.new_id()
    if any(s.sheet_id == sheet_id for s in book.sheets):
        raise invalid(f"Invalid {where}: Sheet with id {sheet_id} already exists")
    grid = {
        "rowCount": DEFAULT_ROWS,
        "columnCount": DEFAULT_COLS,
        **(props.get("gridProperties") or {}),
    }
    index = props.get("index", len(book.sheets))
    properties = {
        **props,
        "sheetId": sheet_id,
        "title": title,
        "index": index,
        "sheetType": props.get("sheetType", "GRID"),
        "gridProperties": grid,
    }
    book.sheets.insert(index, Sheet(properties))
    _reindex(book)
    return {"properties": properties}


def _reindex(book: Spreadsheet) -> None:
    for index, sheet in enumerate(book.sheets):
        sheet.properties["index"] = index


def delete_sheet(state, book, payload, where) -> Reply:
    sheet = book.sheet_by_id(payload["sheetId"], where)
    if len(book.sheets) == 1:
        raise invalid(f"Invalid {where}: You can't remove all the sheets in a document.")
    book.sheets.remove(sheet)
    _reindex(book)
    return None


def update_sheet_properties(state, book, payload, where) -> Reply:
    props = payload["properties"]
    sheet = book.sheet_by_id(props.get("sheetId", 0), where)
    if "fields" not in payload:
        raise invalid(f"Invalid {where}: Must specify at least one field.")
    _mask_update(sheet.properties, props, payload["fields"])
    if "index" in payload["fields"] or payload["fields"].strip() == "*":
        book.sheets.remove(sheet)
        book.sheets.insert(min(sheet.properties.get("index", 0), len(book.sheets)), sheet)
        _reindex(book)
    grid = sheet.properties["gridProperties"]
    if grid.get("frozenRowCount", 0) > grid["rowCount"]:
        raise invalid(f"Invalid {where}: frozen rows exceed the grid")
    if sheet.properties.get("hidden") and all(s.properties.get("hidden") for s in book.sheets):
        raise invalid(f"Invalid {where}: You can't hide all the sheets in a document.")
    for key in ("frozenRowCount", "frozenColumnCount"):
        if not grid.get(key):
            grid.pop(key, None)
    sheet.cells = {
        k: v
        for k, v in sheet.cells.items()
        if k[0] < grid["rowCount"] and k[1] < grid["columnCount"]
    }
    return None


def update_spreadsheet_properties(state, book, payload, where) -> Reply:
    _mask_update(book.properties, payload["properties"], payload["fields"])
    return None


def update_cells(state, book, payload, where) -> Reply:
    if "range" in payload:
        sheet, r0, c0, _, _ = _grid(book, payload["range"], where)
    else:
        start = payload["start"]
        sheet = book.sheet_by_id(start.get("sheetId", 0), where)
        r0, c0 = start.get("rowIndex", 0), start.get("columnIndex", 0)
    fields = payload.get("fields", "*")
    for i, row in enumerate(payload.get("rows") or []):
        for j, cell in enumerate(row.get("values") or []):
            r, c = r0 + i, c0 + j
            if r >= sheet.rows or c >= sheet.cols:
                raise invalid(
                    f"Invalid {where}: GridCoordinate.rowIndex[{r}] is after last row "
                    f"in grid[{sheet.sheet_id}]"
                )
            if fields == "*" or "userEnteredValue" in fields:
                value = cells.from_extended(cell.get("userEnteredValue") or {})
                if value is None:
                    sheet.cells.pop((r, c), None)
                else:
                    sheet.cells[(r, c)] = value
    return None


def _store(key: str) -> Callable[..., Reply]:
    """Requests whose effect we only keep as metadata (formats, validation, widths)."""

    def handler(state, book, payload, where) -> Reply:
        grid_range = payload.get("range") or payload.get("dimensions") or {}
        sheet = book.sheet_by_id(grid_range.get("sheetId", 0), where)
        sheet.extras.setdefault(key, []).append(payload)
        return None

    return handler


def add_protected_range(state, book, payload, where) -> Reply:
    protected = dict(payload["protectedRange"])
    sheet = book.sheet_by_id(protected.get("range", {}).get("sheetId", 0), where)
    protected["protectedRangeId"] = state.new_id()
    protected["requestingUserCanEdit"] = True
    protected = {k: v for k, v in protected.items() if v is not None}
    sheet.extras.setdefault("protectedRanges", []).append(protected)
    return {"protectedRange": proto3({**protected, "editors": {}})}


def _find(book: Spreadsheet, key: str, id_key: str, wanted: int, where: str) -> tuple[Sheet, int]:
    for sheet in book.sheets:
        for index, item in enumerate(sheet.extras.get(key, [])):
            if item.get(id_key) == wanted:
                return sheet, index
    raise invalid(f"Invalid {where}: No {id_key} with id: {wanted}")


def delete_protected_range(state, book, payload, where) -> Reply:
    sheet, index = _find(
        book, "protectedRanges", "protectedRangeId", payload["protectedRangeId"], where
    )
    del sheet.extras["protectedRanges"][index]
    return None


def add_conditional_format_rule(state, book, payload, where) -> Reply:
    rule = payload["rule"]
    sheet = book.sheet_by_id(rule["ranges"][0].get("sheetId", 0), where)
    rules = sheet.extras.setdefault("conditionalFormats", [])
    rules.insert(payload.get("index", len(rules)), rule)
    return None


def delete_conditional_format_rule(state, book, payload, where) -> Reply:
    sheet = book.sheet_by_id(payload.get("sheetId", 0), where)
    rules = sheet.extras.get("conditionalFormats", [])
    index = payload.get("index", 0)
    if index >= len(rules):
        raise invalid(
            f"Invalid {where}: No conditional format on sheet {sheet.sheet_id} at index {index}"
        )
    return {"rule": rules.pop(index)}


def add_chart(state, book, payload, where) -> Reply:
    chart = dict(payload["chart"])
    chart.setdefault("chartId", state.new_id())
    anchor = chart.get("position", {}).get("overlayPosition", {}).get("anchorCell", {})
    sheet = book.sheet_by_id(anchor.get("sheetId", 0), where)
    sheet.extras.setdefault("charts", []).append(chart)
    return {"chart": chart}


def delete_embedded_object(state, book, payload, where) -> Reply:
    sheet, index = _find(book, "charts", "chartId", payload["objectId"], where)
    del sheet.extras["charts"][index]
    return None


def create_developer_metadata(state, book, payload, where) -> Reply:
    metadata = {**payload["developerMetadata"], "metadataId": state.new_id()}
    location = metadata.get("location", {})
    if "sheetId" in location:
        sheet = book.sheet_by_id(location["sheetId"], where)
        metadata["location"] = {"locationType": "SHEET", "sheetId": sheet.sheet_id}
        sheet.extras.setdefault("developerMetadata", []).append(metadata)
    else:
        metadata["location"] = {"locationType": "SPREADSHEET", "spreadsheet": True}
        book.developer_metadata.append(metadata)
    return {"developerMetadata": metadata}


def delete_developer_metadata(state, book, payload, where) -> Reply:
    lookup = payload["dataFilter"]["developerMetadataLookup"]
    wanted = lookup.get("metadataId")
    key = lookup.get("metadataKey")
    deleted = []
    for holder in [book.developer_metadata] + [
        s.extras.setdefault("developerMetadata", []) for s in book.sheets
    ]:
        for item in list(holder):
            if (wanted is not None and item["metadataId"] == wanted) or (
                wanted is None and item.get("metadataKey") == key
            ):
                holder.remove(item)
                deleted.append(item)
    return {"deletedDeveloperMetadata": deleted}


def _dimension(payload: dict, where: str, book: Spreadsheet) -> tuple[Sheet, str, int, int]:
    dim = payload["range"]
    sheet = book.sheet_by_id(dim.get("sheetId", 0), where)
    return sheet, dim["dimension"], dim.get("startIndex", 0), dim["endIndex"]


def append_dimension(state, book, payload, where) -> Reply:
    sheet = book.sheet_by_id(payload.get("sheetId", 0), where)
    key = "rowCount" if payload["dimension"] == "ROWS" else "columnCount"
    sheet.properties["gridProperties"][key] += payload["length"]
    return None


def delete_dimension(state, book, payload, where) -> Reply:
    sheet, dimension, start, end = _dimension(payload, where, book)
    axis, key = (0, "rowCount") if dimension == "ROWS" else (1, "columnCount")
    count = end - start
    moved = {}
    for coord, value in sheet.cells.items():
        if start <= coord[axis] < end:
            continue
        if coord[axis] >= end:
            coord = (coord[0] - count, coord[1]) if axis == 0 else (coord[0], coord[1] - count)
        moved[coord] = value
    sheet.cells = moved
    sheet.properties["gridProperties"][key] -= count
    return None


def insert_dimension(state, book, payload, where) -> Reply:
    sheet, dimension, start, end = _dimension(payload, where, book)
    axis, key = (0, "rowCount") if dimension == "ROWS" else (1, "columnCount")
    count = end - start
    sheet.cells = {
        (
            (r + count, c)
            if axis == 0 and r >= start
            else (r, c + count)
            if axis == 1 and c >= start
            else (r, c)
        ): v
        for (r, c), v in sheet.cells.items()
    }
    sheet.properties["gridProperties"][key] += count
    return None


def merge_cells(state, book, payload, where) -> Reply:
    sheet, *_ = _grid(book, payload["range"], where)
    sheet.extras.setdefault("merges", []).append(payload["range"])
    return None


def unmerge_cells(state, book, payload, where) -> Reply:
    sheet, *_ = _grid(book, payload["range"], where)
    sheet.extras["merges"] = [m for m in sheet.extras.get("merges", []) if m != payload["range"]]
    return None


def set_basic_filter(state, book, payload, where) -> Reply:
    sheet, *_ = _grid(book, payload["filter"]["range"], where)
    sheet.extras["basicFilter"] = payload["filter"]
    return None


def clear_basic_filter(state, book, payload, where) -> Reply:
    book.sheet_by_id(payload.get("sheetId", 0), where).extras.pop("basicFilter", None)
    return None


def add_named_range(state, book, payload, where) -> Reply:
    named = {**payload["namedRange"]}
    named.setdefault("namedRangeId", str(state.new_id()))
    book.named_ranges.append(named)
    return {"namedRange": proto3(named)}


def delete_named_range(state, book, payload, where) -> Reply:
    book.named_ranges = [
        n for n in book.named_ranges if n["namedRangeId"] != payload["namedRangeId"]
    ]
    return None


def update_named_range(state, book, payload, where) -> Reply:
    named = payload["namedRange"]
    for item in book.named_ranges:
        if item["namedRangeId"] == named["namedRangeId"]:
            _mask_update(item, named, payload.get("fields", "*"))
            return None
    raise invalid(f"Invalid {where}: No named range with id {named['namedRangeId']}")


_HANDLERS: dict[str, Callable[..., Reply]] = {
    "addSheet": add_sheet,
    "deleteSheet": delete_sheet,
    "updateSheetProperties": update_sheet_properties,
    "updateSpreadsheetProperties": update_spreadsheet_properties,
    "updateCells": update_cells,
    "repeatCell": _store("_formats"),
    "updateBorders": _store("_borders"),
    "setDataValidation": _store("_dataValidation"),
    "updateDimensionProperties": _store("_dimensionProperties"),
    "autoResizeDimensions": _store("_autoResize"),
    "addProtectedRange": add_protected_range,
    "deleteProtectedRange": delete_protected_range,
    "addConditionalFormatRule": add_conditional_format_rule,
    "deleteConditionalFormatRule": delete_conditional_format_rule,
    "addChart": add_chart,
    "deleteEmbeddedObject": delete_embedded_object,
    "createDeveloperMetadata": create_developer_metadata,
    "deleteDeveloperMetadata": delete_developer_metadata,
    "appendDimension": append_dimension,
    "deleteDimension": delete_dimension,
    "insertDimension": insert_dimension,
    "mergeCells": merge_cells,
    "unmergeCells": unmerge_cells,
    "setBasicFilter": set_basic_filter,
    "clearBasicFilter": clear_basic_filter,
    "addNamedRange": add_named_range,
    "deleteNamedRange": delete_named_range,
    "updateNamedRange": update_named_range,
}

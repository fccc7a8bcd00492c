"""batchUpdate requests for objects anchored on sheets: protected and named ranges, conditional
formats, charts, filters, developer metadata and dimension groups.

Objects are stored the way spreadsheets.get returns them: unset members dropped, a GridRange's
`sheetId` omitted when it is 0, server-assigned ids filled in.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sheets_kpi.emulators.sheets import a1, formats
from sheets_kpi.emulators.sheets.batch import Ctx, Reply, add_sheet, handles
from sheets_kpi.emulators.sheets.state import Sheet, bounds

_NAME = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.\\]*$")


def clean(value: Any) -> Any:
    """Drop null and false members and empty lists, recursively, as the API's JSON does."""
    if isinstance(value, dict):
        return {
            k: clean(v) for k, v in value.items() if v is not None and v is not False and v != []
        }
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def grid_range(ctx: Ctx, value: dict[str, Any] | None) -> tuple[Sheet, dict[str, Any]]:
    """A GridRange checked against the grid and stored without a 0 sheetId."""
    value = clean(value or {})
    sheet, *_ = ctx.rect(value)
    if not value.get("sheetId"):
        value.pop("sheetId", None)
    return sheet, value


def _find(ctx: Ctx, key: str, id_key: str, wanted: Any, what: str) -> tuple[Sheet, int]:
    for sheet in ctx.book.sheets:
        for index, item in enumerate(sheet.extras.get(key, [])):
            if item.get(id_key) == wanted:
                return sheet, index
    raise ctx.fail(f"No {what} with id: {wanted}")


@handles("addProtectedRange")
def add_protected_range(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """The requester always becomes an editor (observed); the reply echoes editors as sent."""
    protected = clean(payload.get("protectedRange") or {})
    if "namedRangeId" in protected:
        named = _named(ctx, protected["namedRangeId"])
        sheet = ctx.sheet(named["range"].get("sheetId"))
    else:
        sheet, protected["range"] = grid_range(ctx, protected.get("range"))
    if protected.get("protectedRangeId") is None:
        protected["protectedRangeId"] = ctx.state.new_id()
    requested = protected.get("editors") or {}
    protected["requestingUserCanEdit"] = True
    stored = copy.deepcopy(protected)
    users = [ctx.state.caller, *[u for u in requested.get("users", []) if u != ctx.state.caller]]
    stored["editors"] = {**requested, "users": users}
    ordered = ("protectedRangeId", "range", "namedRangeId", "description", "warningOnly")
    sheet.extras.setdefault("protectedRanges", []).append(_order(stored, ordered))
    return {"protectedRange": _order({**protected, "editors": requested}, ordered)}


def _order(value: dict[str, Any], first: tuple[str, ...]) -> dict[str, Any]:
    return {**{k: value[k] for k in first if k in value}, **value}


@handles("updateProtectedRange")
def update_protected_range(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    changes = payload.get("protectedRange") or {}
    sheet, index = _find(
        ctx,
        "protectedRanges",
        "protectedRangeId",
        changes.get("protectedRangeId"),
        "protected range",
    )
    current = sheet.extras["protectedRanges"][index]
    formats.mask_update(current, clean(changes), payload.get("fields") or "*")
    if "range" in current:
        moved_to, current["range"] = grid_range(ctx, current["range"])
        if moved_to is not sheet:
            sheet.extras["protectedRanges"].remove(current)
            moved_to.extras.setdefault("protectedRanges", []).append(current)
    current["requestingUserCanEdit"] = True
    return None


@handles("deleteProtectedRange")
def delete_protected_range(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    wanted = payload.get("protectedRangeId")
    sheet, index = _find(ctx, "protectedRanges", "protectedRangeId", wanted, "protected range")
    del sheet.extras["protectedRanges"][index]
    return None


@handles("addConditionalFormatRule")
def add_conditional_format_rule(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """Inserted at `index` (0 when omitted, as proto3 defaults it); all ranges on one sheet."""
    rule = formats.normalise(clean(payload.get("rule") or {}))
    ranges = rule.get("ranges") or []
    if not ranges:
        raise ctx.fail("At least one range must be specified.")
    checked = [grid_range(ctx, r) for r in ranges]
    sheet = checked[0][0]
    if any(s is not sheet for s, _ in checked):
        raise ctx.fail("All ranges must be on the same sheet.")
    rule["ranges"] = [r for _, r in checked]
    rules = sheet.extras.setdefault("conditionalFormats", [])
    index = payload.get("index") or 0
    if index > len(rules):
        raise ctx.fail(f"index ({index}) must be less than or equal to {len(rules)}")
    rules.insert(index, rule)
    return None


@handles("updateConditionalFormatRule")
def update_conditional_format_rule(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    sheet = ctx.sheet(payload.get("sheetId"))
    rules = sheet.extras.get("conditionalFormats", [])
    index = payload.get("index") or 0
    if index >= len(rules):
        raise ctx.fail(f"No conditional format on sheet {sheet.sheet_id} at index {index}")
    old = rules.pop(index)
    new = formats.normalise(clean(payload["rule"])) if payload.get("rule") else old
    rules.insert(payload.get("newIndex", index) or 0, new)
    return {"oldRule": old, "newRule": new, "oldIndex": index, "newIndex": rules.index(new)}


@handles("deleteConditionalFormatRule")
def delete_conditional_format_rule(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    sheet = ctx.sheet(payload.get("sheetId"))
    rules = sheet.extras.get("conditionalFormats", [])
    index = payload.get("index") or 0
    if index >= len(rules):
        raise ctx.fail(f"No conditional format on sheet {sheet.sheet_id} at index {index}")
    return {"rule": rules.pop(index)}


@handles("addChart")
def add_chart(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """Overlay charts default to 600x371 px; `newSheet` puts the chart on its own OBJECT sheet."""
    chart = clean(payload.get("chart") or {})
    if chart.get("chartId") is None:
        chart["chartId"] = ctx.state.new_id()
    position = chart.setdefault("position", {"newSheet": True})
    if position.get("newSheet"):
        reply = add_sheet(ctx, {"properties": {"sheetType": "OBJECT", "title": _chart_title(ctx)}})
        sheet_id = (reply or {})["properties"]["sheetId"]
        chart["position"] = {"sheetId": sheet_id}
        sheet = ctx.sheet(sheet_id)
    elif "sheetId" in position:
        sheet = ctx.sheet(position["sheetId"])
    else:
        overlay = position.setdefault("overlayPosition", {})
        anchor = overlay.setdefault("anchorCell", {})
        sheet = ctx.sheet(anchor.get("sheetId"))
        anchor["sheetId"] = sheet.sheet_id
        overlay.setdefault("widthPixels", 600)
        overlay.setdefault("heightPixels", 371)
    sheet.extras.setdefault("charts", []).append(chart)
    return {"chart": copy.deepcopy(chart)}


def _chart_title(ctx: Ctx) -> str:
    number = 1
    while ctx.book.sheet_by_title(f"Chart{number}"):
        number += 1
    return f"Chart{number}"


@handles("updateChartSpec")
def update_chart_spec(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    sheet, index = _find(ctx, "charts", "chartId", payload.get("chartId"), "chart")
    sheet.extras["charts"][index]["spec"] = clean(payload.get("spec") or {})
    return None


@handles("deleteEmbeddedObject")
def delete_embedded_object(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    sheet, index = _find(ctx, "charts", "chartId", payload.get("objectId"), "object")
    del sheet.extras["charts"][index]
    return None


def _named(ctx: Ctx, named_range_id: Any) -> dict[str, Any]:
    for named in ctx.book.named_ranges:
        if named["namedRangeId"] == str(named_range_id):
            return named
    raise ctx.fail(f"No named range with id: {named_range_id}")


def _check_name(ctx: Ctx, name: str, own_id: str | None = None) -> None:
    if not _NAME.match(name) or a1.quote_title(name) != name or name.upper() in ("TRUE", "FALSE"):
        raise ctx.fail(f"Invalid name: {name}")
    other = ctx.book.named_range(name)
    if other is not None and other["namedRangeId"] != own_id:
        raise ctx.fail(f'A named range with the name "{name}" already exists.')


@handles("addNamedRange")
def add_named_range(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    named = clean(payload.get("namedRange") or {})
    _check_name(ctx, named.get("name") or "")
    _, named["range"] = grid_range(ctx, named.get("range"))
    named["namedRangeId"] = str(named.get("namedRangeId") or ctx.state.new_id())
    named = _order(named, ("namedRangeId", "name", "range"))
    ctx.book.named_ranges.append(named)
    return {"namedRange": copy.deepcopy(named)}


@handles("updateNamedRange")
def update_named_range(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    changes = clean(payload.get("namedRange") or {})
    named = _named(ctx, changes.get("namedRangeId"))
    formats.mask_update(named, changes, payload.get("fields") or "*")
    _check_name(ctx, named.get("name") or "", named["namedRangeId"])
    _, named["range"] = grid_range(ctx, named.get("range"))
    return None


@handles("deleteNamedRange")
def delete_named_range(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    named = _named(ctx, payload.get("namedRangeId"))
    ctx.book.named_ranges.remove(named)
    return None


@handles("setBasicFilter")
def set_basic_filter(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """The filter range is stored with every edge spelled out (the API fills open ends)."""
    basic = clean(payload.get("filter") or {})
    sheet, given = grid_range(ctx, basic.get("range"))
    r0, c0, r1, c1 = bounds(sheet, given)
    spelled: dict[str, Any] = {} if not sheet.sheet_id else {"sheetId": sheet.sheet_id}
    spelled.update(startRowIndex=r0, endRowIndex=r1, startColumnIndex=c0, endColumnIndex=c1)
    sheet.extras["basicFilter"] = {**basic, "range": spelled}
    return None


@handles("clearBasicFilter")
def clear_basic_filter(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    ctx.sheet(payload.get("sheetId")).extras.pop("basicFilter", None)
    return None


@handles("createDeveloperMetadata")
def create_developer_metadata(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    metadata_ = clean(payload.get("developerMetadata") or {})
    if metadata_.get("metadataId") is None:
        metadata_["metadataId"] = ctx.state.new_id()
    location = metadata_.get("location") or {}
    if "sheetId" in location:
        sheet = ctx.sheet(location["sheetId"])
        metadata_["location"] = {"locationType": "SHEET", "sheetId": sheet.sheet_id}
        sheet.extras.setdefault("developerMetadata", []).append(metadata_)
    elif location.get("spreadsheet"):
        metadata_["location"] = {"locationType": "SPREADSHEET", "spreadsheet": True}
        ctx.book.developer_metadata.append(metadata_)
    else:
        raise ctx.fail("Only spreadsheet and sheet locations are supported by the emulator.")
    return {"developerMetadata": copy.deepcopy(metadata_)}


@handles("deleteDeveloperMetadata")
def delete_developer_metadata(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    lookup = (payload.get("dataFilter") or {}).get("developerMetadataLookup") or {}
    keys = ("metadataId", "metadataKey", "metadataValue", "visibility")
    wanted = {k: lookup[k] for k in keys if lookup.get(k) is not None}
    if not wanted:
        raise ctx.fail("A developer metadata lookup must specify at least one criterion.")
    deleted = []
    holders = [ctx.book.developer_metadata] + [
        s.extras.get("developerMetadata", []) for s in ctx.book.sheets
    ]
    for holder in holders:
        for item in list(holder):
            if all(item.get(k) == v for k, v in wanted.items()):
                holder.remove(item)
                deleted.append(item)
    return {"deletedDeveloperMetadata": deleted} if deleted else {}


@handles("addDimensionGroup")
def add_dimension_group(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """Groups nest: a group inside another is one level deeper."""
    sheet, axis, start, end = ctx.span(payload["range"])
    key = "rowGroups" if axis == 0 else "columnGroups"
    groups = sheet.extras.setdefault(key, [])
    dimension = "ROWS" if axis == 0 else "COLUMNS"
    depth = 1 + sum(
        1 for g in groups if g["range"]["startIndex"] <= start and end <= g["range"]["endIndex"]
    )
    span = {"dimension": dimension, "startIndex": start, "endIndex": end}
    if sheet.sheet_id:
        span = {"sheetId": sheet.sheet_id, **span}
    groups.append({"range": span, "depth": depth})
    groups.sort(key=lambda g: (g["depth"], g["range"]["startIndex"]))
    sheet.grid[("row" if axis == 0 else "column") + "GroupControlAfter"] = True
    return {"dimensionGroups": copy.deepcopy(groups)}


@handles("deleteDimensionGroup")
def delete_dimension_group(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    sheet, axis, start, end = ctx.span(payload["range"])
    key = "rowGroups" if axis == 0 else "columnGroups"
    groups = sheet.extras.get(key, [])
    match = [
        g for g in groups if (g["range"]["startIndex"], g["range"]["endIndex"]) == (start, end)
    ]
    if not match:
        raise ctx.fail("No dimension group spans exactly that range.")
    groups.remove(max(match, key=lambda g: g["depth"]))
    return {"dimensionGroups": copy.deepcopy(groups)} if groups else {}

"""Field masks and CellData updates: what `fields` means for updateCells, repeatCell and friends.

A mask (`a.b`, `a/b`, `a(b,c)`, `*`) names the members a request replaces; a named member absent
from the request is cleared. Colours are stored as the API stores them: quantised to 8 bits per
channel and mirrored between the deprecated `…Color` and the `…ColorStyle` members.
"""

from __future__ import annotations

import copy
import functools
import math
import struct
from typing import Any

from sheets_kpi.emulators.sheets import cells
from sheets_kpi.emulators.sheets.state import Coord, Sheet, copied

COLOR_PAIRS = {
    "backgroundColor": "backgroundColorStyle",
    "foregroundColor": "foregroundColorStyle",
    "tabColor": "tabColorStyle",
    "color": "colorStyle",
}
PARTNER = {**COLOR_PAIRS, **{v: k for k, v in COLOR_PAIRS.items()}}
CHANNELS = ("red", "green", "blue")


def mask_paths(mask: str) -> list[list[str]]:
    """`a.b,c(d,e/f)` → [[a, b], [c, d], [c, e, f]]."""
    paths: list[list[str]] = []
    prefix: list[str] = []
    stack: list[int] = []
    token = ""
    for ch in mask + ",":
        if ch in ",()":
            if token:
                paths.append([*prefix, *token.replace("/", ".").split(".")])
            if ch == "(":
                stack.append(len(prefix))
                prefix = paths.pop() if token else prefix
            elif ch == ")" and stack:
                prefix = prefix[: stack.pop()]
            token = ""
        elif not ch.isspace():
            token += ch
    return paths


@functools.lru_cache(maxsize=256)
def _cached_paths(mask: str) -> tuple[tuple[str, ...], ...]:
    """A request applies one mask to many cells: parse it once."""
    return tuple(tuple(path) for path in mask_paths(mask))


def mask_update(target: dict[str, Any], source: dict[str, Any], fields: str) -> None:
    """Copy the masked members from source to target; a masked member missing in source is unset."""
    if fields.strip() == "*":
        target.clear()
        target.update(copy.deepcopy(source))
        coloured = has_colour(source)
    else:
        coloured = False
        for path in _cached_paths(fields):
            src: Any = source
            dst = target
            for part in path[:-1]:
                src = src.get(part, {}) if isinstance(src, dict) else {}
                dst = dst.setdefault(part, {})
            last = path[-1]
            dst.pop(PARTNER.get(last, ""), None)
            value = strip_nulls(src.get(last)) if isinstance(src, dict) else None
            if value is None or (value == {} and last.endswith("ColorStyle")):
                dst.pop(last, None)
            else:
                dst[last] = value
                coloured = coloured or last in PARTNER or has_colour(value)
    if coloured:  # stored cells are already normalised; only new colours need it
        normalise(target)


def has_colour(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k in PARTNER or k == "rgbColor" or has_colour(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_colour(v) for v in value)
    return False


def strip_nulls(value: Any) -> Any:
    """JSON null means unset: a copy without null members."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def normalise(value: Any) -> Any:
    """Quantise colours and mirror each colour into its partner member, in place."""
    if isinstance(value, dict):
        for key in list(value):
            normalise(value[key])
        if value and all(k in CHANNELS or k == "alpha" for k in value):
            for channel in CHANNELS:
                if channel in value:
                    value[channel] = quantise(value[channel])
                    if not value[channel]:
                        del value[channel]
        for plain, style in COLOR_PAIRS.items():
            if plain in value and style not in value:
                value[style] = {"rgbColor": copy.deepcopy(value[plain])}
            elif style in value and plain not in value and "rgbColor" in value[style]:
                value[plain] = copy.deepcopy(value[style]["rgbColor"])
    elif isinstance(value, list):
        for item in value:
            normalise(item)
    return value


def quantise(channel: float) -> float | int:
    """8 bits per channel (truncated), printed as the shortest float32 text: 0.5 → 0.49803922."""
    level = math.floor(float(channel) * 255 + 1e-6) / 255
    if level in (0.0, 1.0):
        return int(level)
    single = struct.unpack("f", struct.pack("f", level))[0]
    for digits in range(1, 10):
        text = f"{single:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            return float(text)
    return single


#: The CellData members kept per cell, and the Sheet map each lives in.
MEMBERS = {
    "userEnteredValue": "cells",
    "userEnteredFormat": "formats",
    "note": "notes",
    "dataValidation": "validations",
}


@functools.lru_cache(maxsize=256)
def masked_members(fields: str) -> tuple[str, ...]:
    """The stored CellData members a mask can change: a cell's others stay as they are."""
    if fields.strip() == "*":
        return tuple(MEMBERS)
    named = {path[0] for path in _cached_paths(fields)}
    return tuple(m for m in MEMBERS if m in named)


def cleared_stores(sheet: Sheet, source: dict[str, Any], fields: str) -> list[dict] | None:
    """The per-cell stores a mask empties when it names only whole members that `source`
    leaves empty (`userEnteredFormat` ← {}), else None."""
    paths = _cached_paths(fields) if fields.strip() != "*" else tuple((m,) for m in MEMBERS)
    if not all(len(p) == 1 and p[0] in MEMBERS for p in paths):
        return None
    if any(_prune(strip_nulls(source.get(p[0]))) not in (None, "") for p in paths):
        return None
    return [getattr(sheet, MEMBERS[p[0]]) for p in paths]


def cell_view(
    sheet: Sheet, coord: Coord, members: tuple[str, ...] = tuple(MEMBERS)
) -> dict[str, Any]:
    """The stored `members` of one CellData."""
    view: dict[str, Any] = {}
    if "userEnteredValue" in members and coord in sheet.cells:
        view["userEnteredValue"] = cells.extended(sheet.cells[coord])
    if "userEnteredFormat" in members and coord in sheet.formats:
        view["userEnteredFormat"] = copied(sheet.formats[coord])
    if "note" in members and coord in sheet.notes:
        view["note"] = sheet.notes[coord]
    if "dataValidation" in members and coord in sheet.validations:
        view["dataValidation"] = copied(sheet.validations[coord])
    return view


def update_cell(
    sheet: Sheet, coord: Coord, source: dict[str, Any], fields: str, locale: str
) -> None:
    """Apply one CellData under a mask (updateCells, repeatCell); members the mask does not
    name are left alone."""
    members = masked_members(fields)
    view = cell_view(sheet, coord, members)
    mask_update(view, source, fields)
    if "userEnteredValue" in members:
        value = view.get("userEnteredValue")
        stored = cells.from_extended(value, locale) if value else None
        cells.check_length(stored)
        put(sheet.cells, coord, stored)
    if "userEnteredFormat" in members:
        put(sheet.formats, coord, _prune(view.get("userEnteredFormat")))
    if "note" in members:
        put(sheet.notes, coord, view.get("note") or None)
    if "dataValidation" in members:
        put(sheet.validations, coord, view.get("dataValidation") or None)


def updated_format(
    current: dict[str, Any] | None, source: dict[str, Any], fields: str
) -> dict[str, Any] | None:
    """A cell's userEnteredFormat after a mask naming only userEnteredFormat members: it
    depends on nothing else, so repeatCell works it out once per distinct format."""
    view = {"userEnteredFormat": copied(current)} if current else {}
    mask_update(view, source, fields)
    return _prune(view.get("userEnteredFormat"))


def _prune(value: Any) -> Any:
    """Drop empty members so an emptied format leaves no trace."""
    if isinstance(value, dict):
        out = {k: p for k, v in value.items() if (p := _prune(v)) not in (None, {}, [])}
        return out or None
    return value


def put(mapping: dict[Coord, Any], coord: Coord, value: Any) -> None:
    """Store a per-cell entry; None removes it."""
    if value is None:
        mapping.pop(coord, None)
    else:
        mapping[coord] = value

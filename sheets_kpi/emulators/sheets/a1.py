"""A1 notation as the Sheets API reads and writes it (SHEETS_API.md §3.2).

Pure text handling: which sheet a range names and which rectangle, with open ends left open.
Resolving against a grid (clipping, limits, named ranges) is `state.Spreadsheet.resolve`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_AREA = re.compile(r"^(?P<c0>[A-Za-z]{1,3})?(?P<r0>\d+)?(?::(?P<c1>[A-Za-z]{1,3})?(?P<r1>\d+)?)?$")
_BARE_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}\d+|[A-Za-z]{1,3}|\d+|R\d*C\d*)$", re.IGNORECASE)


class RangeError(ValueError):
    """The text is not a range ("Unable to parse range: …")."""


@dataclass(frozen=True)
class Area:
    """0-based, end-exclusive; None = open (to the grid edge)."""

    row0: int | None
    col0: int | None
    row1: int | None
    col1: int | None


@dataclass(frozen=True)
class Reference:
    """A parsed range: sheet title (None = first visible), whether it was quoted, area text."""

    title: str | None
    quoted: bool
    area: str | None


def column_index(letters: str) -> int:
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index - 1


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def split(text: str) -> Reference:
    """Separate the sheet part (quoted with '' escapes, or bare) from the area part."""
    if text.startswith("'"):
        index, title = 1, ""
        while index < len(text):
            if text[index] == "'":
                if text[index + 1 : index + 2] == "'":
                    title, index = title + "'", index + 2
                    continue
                rest = text[index + 1 :]
                if rest == "":
                    return Reference(title, True, None)
                if rest.startswith("!") and len(rest) > 1:
                    return Reference(title, True, rest[1:])
                raise RangeError(text)
            title, index = title + text[index], index + 1
        raise RangeError(text)
    if "!" in text:
        title, _, area = text.rpartition("!")
        if not title or not area:
            raise RangeError(text)
        return Reference(title, False, area)
    if text and _AREA.match(text):
        return Reference(None, False, text)
    if not text:
        raise RangeError(text)
    return Reference(text, False, None)


def parse_area(text: str) -> Area:
    """`A1`, `A1:B2`, `A:C`, `2:3`, `A5:A`, `B2:2`; reversed corners are normalised."""
    match = _AREA.match(text)
    if not match or not text:
        raise RangeError(text)
    c0, r0, c1, r1 = match["c0"], match["r0"], match["c1"], match["r1"]
    if ":" not in text:
        if not (c0 and r0):
            raise RangeError(text)
        c1, r1 = c0, r0
    if not (c0 or r0) or not (c1 or r1) or (c1 and not c0) or "0" in (_int(r0), _int(r1)):
        raise RangeError(text)
    if c0 and c1:
        low, high = sorted((column_index(c0), column_index(c1)))
        col0, col1 = low, high + 1
    else:
        col0, col1 = (column_index(c0) if c0 else None), None
    if r0 and r1:
        low, high = sorted((int(r0), int(r1)))
        row0, row1 = low - 1, high
    else:
        row0, row1 = (int(r0) - 1 if r0 else None), (int(r1) if r1 else None)
    return Area(row0, col0, row1, col1)


def _int(digits: str | None) -> str | None:
    return None if digits is None else str(int(digits))


def quote_title(title: str) -> str:
    """Bare when it cannot be mistaken for a cell reference, else single-quoted with '' escapes."""
    if _BARE_TITLE.match(title) and not _CELL_LIKE.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def cell_name(row: int, col: int) -> str:
    return f"{column_letters(col)}{row + 1}"


def format_area(row0: int, col0: int, row1: int, col1: int) -> str:
    start, end = cell_name(row0, col0), cell_name(row1 - 1, col1 - 1)
    return start if start == end else f"{start}:{end}"


def format_range(title: str, row0: int, col0: int, row1: int, col1: int) -> str:
    return f"{quote_title(title)}!{format_area(row0, col0, row1, col1)}"

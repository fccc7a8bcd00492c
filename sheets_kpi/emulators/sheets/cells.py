"""Cell values: RAW vs USER_ENTERED input and the three render options (SHEETS_API.md §3.5).

A stored value is a plain `str`, `int`, `float` or `bool` (RAW keeps JSON as sent, so
`=IMPORTXML("x")` stays text) or a `Formula` (USER_ENTERED `=…`). USER_ENTERED may also pick a
number format (`2,000,000.01` → `#,##0.00`, `2020-01-01` → a date), which the sheet keeps in the
cell's userEnteredFormat like the UI does.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
import re
from dataclasses import dataclass
from typing import Any

from sheets_kpi.emulators.sheets import numfmt
from sheets_kpi.emulators.sheets.errors import invalid

_NUMBER = {
    ".": re.compile(r"^[+-]?(?P<int>\d{1,3}(,\d{3})+|\d+)?(?P<frac>\.\d+)?$"),
    ",": re.compile(r"^[+-]?(?P<int>\d{1,3}([ \u00a0.]\d{3})+|\d+)?(?P<frac>,\d+)?$"),
}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_DOT_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
ERROR_NAME = "#NAME?"


@dataclass(frozen=True)
class Formula:
    """A USER_ENTERED formula with the value it evaluated to (never changed once stored)."""

    text: str
    value: Any


Parsed = tuple[Any, dict[str, Any] | None]


#: Google refuses a cell holding more characters than this (SHEETS_API §3.10), whole request.
MAX_CELL_CHARS = 50_000


def check_length(value: Any) -> None:
    """A text (or formula) cell over Google's limit fails the request, as on the real API."""
    text = value.text if isinstance(value, Formula) else value
    if isinstance(text, str) and len(text) > MAX_CELL_CHARS:
        raise invalid(
            f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a "
            "single cell."
        )


def user_entered(value: Any, locale: str = "en_US") -> Parsed:
    """Parse as if typed into the UI: formulas, numbers, percents, booleans, dates."""
    if not isinstance(value, str):
        return value, None
    if value.startswith("'"):
        return value[1:], None
    if value.startswith("="):
        return Formula(value, evaluate(value[1:])), None
    text = value.strip()
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE", None
    point = numfmt.SEPARATORS.get(locale, numfmt.SEPARATORS["en_US"])[0]
    percent = text.endswith("%")
    number = _number(text[:-1].strip() if percent else text, point)
    if number is not None:
        return _numeric(number, text, percent, point)
    moment = _moment(text, locale)
    if moment is None:
        return value, None
    return _tidy(numfmt.serial(moment)), _date_format(text, locale)


def _numeric(number: float, text: str, percent: bool, point: str) -> Parsed:
    decimals = len(text.rstrip("%").partition(point)[2])
    if percent:
        pattern = "0" + ("." + "0" * decimals if decimals else "") + "%"
        return _tidy(number / 100), {"type": "PERCENT", "pattern": pattern}
    grouped = len(re.sub(r"[\d+\-]", "", text.partition(point)[0])) > 0
    if grouped:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return _tidy(number), {"type": "NUMBER", "pattern": pattern}
    return _tidy(number), None


def _number(text: str, point: str) -> float | None:
    match = _NUMBER[point].match(text)
    if not match or not (match["int"] or match["frac"]):
        return None
    digits = re.sub(r"[, \u00a0.]", "", match["int"] or "0")
    sign = "-" if text.startswith("-") else ""
    fraction = (match["frac"] or "")[1:]
    return float(f"{sign}{digits}.{fraction or 0}")


def _tidy(number: float) -> int | float:
    return int(number) if float(number).is_integer() and abs(number) < 2**53 else number


def _moment(text: str, locale: str) -> dt.datetime | None:
    try:
        if match := _ISO_DATE.match(text):
            parts = [int(p) if p else 0 for p in match.groups()]
            return dt.datetime(*parts)  # type: ignore[arg-type]
        if (match := _US_DATE.match(text)) and locale.startswith("en_US"):
            return dt.datetime(int(match[3]), int(match[1]), int(match[2]))
        if (match := _DOT_DATE.match(text)) and not locale.startswith("en_US"):
            return dt.datetime(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None
    return None


def _date_format(text: str, locale: str) -> dict[str, Any]:
    if match := _ISO_DATE.match(text):
        if match[4] is None:
            return {"type": "DATE", "pattern": "yyyy-mm-dd"}
        seconds = ":ss" if match[6] is not None else ""
        return {"type": "DATE_TIME", "pattern": f"yyyy-mm-dd h:mm{seconds}"}
    if _US_DATE.match(text):
        return {"type": "DATE", "pattern": "M/d/yyyy"}
    return {"type": "DATE", "pattern": "dd.mm.yyyy"}


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def evaluate(expression: str) -> Any:
    """Literal arithmetic only; anything else is #NAME? (the product never relies on formulas)."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.operand))
        raise ValueError(expression)

    try:
        result = walk(ast.parse(expression.strip().replace("^", "**"), mode="eval").body)
    except (ValueError, SyntaxError, ZeroDivisionError, TypeError, OverflowError):
        return ERROR_NAME
    return _tidy(result)


def effective(value: Any) -> Any:
    """What the cell shows: a formula's result, else the value itself."""
    return value.value if isinstance(value, Formula) else value


def is_date(number_format: dict[str, Any] | None) -> bool:
    return bool(number_format) and number_format.get("type") in numfmt.DATE_TYPES


def render(
    value: Any,
    option: str,
    number_format: dict[str, Any] | None = None,
    date_option: str = "SERIAL_NUMBER",
    locale: str = "en_US",
) -> Any:
    """FORMATTED_VALUE (text), UNFORMATTED_VALUE (typed) or FORMULA, as values.get returns it."""
    if isinstance(value, Formula) and option == "FORMULA":
        return value.text
    shown = effective(value)
    if isinstance(shown, bool):
        return ("TRUE" if shown else "FALSE") if option == "FORMATTED_VALUE" else shown
    if isinstance(shown, int | float):
        formatted = option == "FORMATTED_VALUE" or (
            date_option == "FORMATTED_STRING" and is_date(number_format)
        )
        return numfmt.render(shown, number_format, locale) if formatted else _tidy(shown)
    return shown


def extended(value: Any) -> dict[str, Any]:
    """ExtendedValue JSON of a stored value (userEnteredValue)."""
    if isinstance(value, Formula):
        return {"formulaValue": value.text}
    return _typed(value)


def effective_extended(value: Any) -> dict[str, Any]:
    """ExtendedValue JSON of what the cell evaluates to (effectiveValue)."""
    shown = effective(value)
    if shown == ERROR_NAME and isinstance(value, Formula):
        return {"errorValue": {"type": "NAME", "message": "Unknown function."}}
    return _typed(shown)


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": value}
    return {"stringValue": value}


def from_extended(value: dict[str, Any], locale: str = "en_US") -> Any:
    """CellData.userEnteredValue (updateCells): stringValue stays text, formulaValue is parsed."""
    if "formulaValue" in value:
        return user_entered(str(value["formulaValue"]), locale)[0]
    for key in ("stringValue", "numberValue", "boolValue"):
        if key in value:
            return value[key]
    return None


def to_json(value: Any) -> Any:
    """A stored value as JSON for the state file."""
    return {"formula": value.text, "value": value.value} if isinstance(value, Formula) else value


def from_json(data: Any) -> Any:
    if isinstance(data, dict) and "formula" in data:
        return Formula(data["formula"], data["value"])
    return data

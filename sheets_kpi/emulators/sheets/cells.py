"""Cell values: RAW vs USER_ENTERED input, and the three render options (SHEETS_API.md §3.5)."""

from __future__ import annotations

import ast
import datetime as dt
import operator
import re
from dataclasses import dataclass
from typing import Any

EPOCH = dt.date(1899, 12, 30)
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


@dataclass
class Formula:
    """A USER_ENTERED formula with the value it evaluated to."""

    text: str
    value: Any


@dataclass
class Dated:
    """A USER_ENTERED date: a serial number that renders as the text typed."""

    serial: float
    text: str


def raw(value: Any) -> Any:
    """RAW: stored as-is, so `=IMPORTXML(...)` stays text."""
    return value


def user_entered(value: Any) -> Any:
    """Parse as if typed into the UI (en_US): numbers, booleans, ISO dates, formulas."""
    if not isinstance(value, str):
        return value
    if value.startswith("'"):
        return value[1:]
    if value.startswith("="):
        return Formula(value, _evaluate(value[1:]))
    stripped = value.strip()
    if _NUMBER.match(stripped):
        number = float(stripped.replace(",", ""))
        return int(number) if number.is_integer() and "." not in stripped else number
    if stripped.upper() in ("TRUE", "FALSE"):
        return stripped.upper() == "TRUE"
    if match := _ISO_DATE.match(stripped):
        try:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return value
        return Dated(float((day - EPOCH).days), stripped)
    return value


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _evaluate(expression: str) -> Any:
    """Literal arithmetic only; anything else renders as #NAME? (we never rely on formulas)."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.operand))
        raise ValueError(expression)

    try:
        result = walk(ast.parse(expression.strip(), mode="eval").body)
    except (ValueError, SyntaxError, ZeroDivisionError, TypeError):
        return "#NAME?"
    return int(result) if isinstance(result, float) and result.is_integer() else result


def render(cell: Any, option: str) -> Any:
    """FORMATTED_VALUE (text), UNFORMATTED_VALUE (typed) or FORMULA."""
    if isinstance(cell, Formula):
        if option == "FORMULA":
            return cell.text
        cell = cell.value
    if isinstance(cell, Dated):
        return cell.text if option == "FORMATTED_VALUE" else _number(cell.serial)
    if option != "FORMATTED_VALUE":
        return cell
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    return str(cell)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def to_json(cell: Any) -> Any:
    if isinstance(cell, Formula):
        return {"formula": cell.text, "value": cell.value}
    if isinstance(cell, Dated):
        return {"serial": cell.serial, "text": cell.text}
    return cell


def from_json(data: Any) -> Any:
    if isinstance(data, dict) and "formula" in data:
        return Formula(data["formula"], data["value"])
    if isinstance(data, dict) and "serial" in data:
        return Dated(data["serial"], data["text"])
    return data


def from_extended(value: dict[str, Any]) -> Any:
    """CellData.userEnteredValue (updateCells): stringValue stays text, formulaValue is parsed."""
    if "formulaValue" in value:
        return user_entered(value["formulaValue"])
    for key in ("stringValue", "numberValue", "boolValue"):
        if key in value:
            return value[key]
    return None

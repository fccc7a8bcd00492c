"""Number formats: how FORMATTED_VALUE shows a number, per pattern and spreadsheet locale.

A subset of the Sheets pattern language (developers.google.com/sheets/api/guides/formats):
`0 # , . %`, quoted text, `\\x`, `[$₽-419]`, `;` sections, and the date tokens
`yyyy yy mmmm mmm mm m dddd ddd dd d hh h ss am/pm`. Dates are serial days since 1899-12-30.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

EPOCH = dt.datetime(1899, 12, 30)
DATE_TYPES = ("DATE", "TIME", "DATE_TIME")
#: decimal point and grouping separator by spreadsheet locale; en_US for any other.
SEPARATORS = {
    "en_US": (".", ","),
    "en_GB": (".", ","),
    "ru_RU": (",", "\u00a0"),
    "de_DE": (",", "."),
    "fr_FR": (",", "\u202f"),
}
_DATE_TOKEN = re.compile(
    r"yyyy|yy|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|\.0+|\"[^\"]*\"|\\.|.",
    re.IGNORECASE,
)


def serial(moment: dt.datetime) -> float:
    delta = moment - EPOCH
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


def moment(value: float) -> dt.datetime:
    """The date-time of a serial, rounded to the millisecond as Sheets displays it."""
    return EPOCH + dt.timedelta(milliseconds=round(value * 86_400_000))


def number_text(value: float, locale: str = "en_US") -> str:
    """Automatic format: up to 10 significant digits, plain notation from 1e-10 to 1e15."""
    point, _ = SEPARATORS.get(locale, SEPARATORS["en_US"])
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return str(int(value))
    if abs(value) >= 1e15 or abs(value) < 1e-10:
        mantissa, exponent = f"{value:.2E}".split("E")
        return f"{mantissa.replace('.', point)}E{exponent[0]}{int(exponent[1:]):02d}"
    rounded = Decimal(repr(value))
    digits = 10 - rounded.adjusted() - 1
    text = f"{rounded.quantize(Decimal(1).scaleb(-max(digits, 0)), ROUND_HALF_UP):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", point)


def render(value: Any, number_format: dict[str, Any] | None, locale: str = "en_US") -> str:
    """FORMATTED_VALUE of a number under a cell's numberFormat."""
    if not number_format:
        return number_text(value, locale)
    kind, pattern = number_format.get("type", "NUMBER"), number_format.get("pattern", "")
    if kind == "TEXT":
        return number_text(value, locale)
    if kind in DATE_TYPES:
        return _date(value, pattern or _DEFAULT_DATE[kind])
    if not pattern:
        return number_text(value * 100, locale) + "%" if kind == "PERCENT" else number_text(value)
    return _number(float(value), pattern, locale)


_DEFAULT_DATE = {"DATE": "yyyy-mm-dd", "TIME": "h:mm:ss am/pm", "DATE_TIME": "yyyy-mm-dd h:mm:ss"}


def _sections(pattern: str) -> list[str]:
    parts, current, quoted = [], "", False
    for ch in pattern:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def _number(value: float, pattern: str, locale: str) -> str:
    sections = _sections(pattern)
    section, sign = sections[0], "-" if value < 0 else ""
    if value < 0 and len(sections) > 1:
        section, sign = sections[1], ""
    elif value == 0 and len(sections) > 2:
        section = sections[2]
    value = abs(value)
    prefix, body, suffix = _split_literals(section)
    if "%" in section.replace('"%"', ""):
        value *= 100
    integer_part, _, fraction_part = body.partition(".")
    scale = len(integer_part) - len(integer_part.rstrip(","))
    value /= 1000**scale
    integer_part = integer_part.rstrip(",")
    grouped = "," in integer_part
    most = sum(fraction_part.count(c) for c in "0#?")
    least = fraction_part.count("0")
    text = f"{Decimal(repr(value)).quantize(Decimal(1).scaleb(-most), ROUND_HALF_UP):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(least, "0")
    whole = whole.lstrip("0").rjust(integer_part.count("0"), "0")
    point, group = SEPARATORS.get(locale, SEPARATORS["en_US"])
    if grouped:
        whole = f"{int(whole or 0):,}".replace(",", group) if whole else ""
    out = whole + (point + fraction if fraction else "")
    return sign + prefix + out + suffix


def _split_literals(section: str) -> tuple[str, str, str]:
    """(text before the digits, the digit placeholders, text after), literals unquoted."""
    tokens = re.findall(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.|[0#?.,]+|.', section)
    first = next((i for i, t in enumerate(tokens) if t[0] in "0#?.,"), len(tokens))
    last = max((i for i, t in enumerate(tokens) if t[0] in "0#?.,"), default=first)
    body = "".join(tokens[first : last + 1]) if first < len(tokens) else ""
    return _literal(tokens[:first]), body, _literal(tokens[last + 1 :])


def _literal(tokens: list[str]) -> str:
    out = ""
    for token in tokens:
        if token.startswith('"'):
            out += token[1:-1]
        elif token.startswith("\\"):
            out += token[1:]
        elif token.startswith("[$"):
            out += token[2:-1].split("-")[0]
        elif token.startswith("_"):
            out += " "
        elif not token.startswith(("[", "*")):
            out += token
    return out


def _date(value: float, pattern: str) -> str:
    when = moment(float(value))
    tokens = _DATE_TOKEN.findall(pattern)
    fields = [i for i, t in enumerate(tokens) if t[0].lower() in "ymdhs"]
    hours12 = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    out = []
    for index, token in enumerate(tokens):
        minutes = False
        if token.lower() in ("m", "mm"):
            at = fields.index(index)
            before = tokens[fields[at - 1]].lower() if at else ""
            after = tokens[fields[at + 1]].lower() if at + 1 < len(fields) else ""
            minutes = before.startswith("h") or after.startswith("s")
        out.append(_date_token(token, token.lower(), when, hours12, minutes))
    return "".join(out)


def _date_token(token: str, low: str, when: dt.datetime, hours12: bool, minutes: bool) -> str:
    hour = (when.hour % 12 or 12) if hours12 else when.hour
    simple = {
        "yyyy": f"{when.year:04d}",
        "yy": f"{when.year % 100:02d}",
        "mmmmm": when.strftime("%B")[0],
        "mmmm": when.strftime("%B"),
        "mmm": when.strftime("%b"),
        "dddd": when.strftime("%A"),
        "ddd": when.strftime("%a"),
        "dd": f"{when.day:02d}",
        "d": str(when.day),
        "hh": f"{hour:02d}",
        "h": str(hour),
        "ss": f"{when.second:02d}",
        "s": str(when.second),
        "am/pm": "AM" if when.hour < 12 else "PM",
        "a/p": "A" if when.hour < 12 else "P",
    }
    if low in ("mm", "m"):
        number = when.minute if minutes else when.month
        return f"{number:02d}" if low == "mm" else str(number)
    if low in simple:
        return simple[low]
    if low.startswith(".0"):
        return "." + f"{when.microsecond:06d}"[: len(low) - 1]
    if token.startswith('"'):
        return token[1:-1]
    if token.startswith("\\"):
        return token[1:]
    return token

"""Cell parsers for what supervisors type (SPEC §6); each raises ParseError with the reason."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

EPOCH = dt.date(1899, 12, 30)
#: 2000-01-01: a smaller number in a date or month column is a typo, not a date.
FIRST_PLAUSIBLE_SERIAL = 36526
FIRST_PLAUSIBLE_DATE = EPOCH + dt.timedelta(days=FIRST_PLAUSIBLE_SERIAL)
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007']")
MONTHS = {
    name: number
    for names in (
        "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь",
        "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
        "january february march april may june july august september october november december",
    )
    for number, name in enumerate(names.split(), start=1)
}
#: `1.234.567` or `1,234,567`: the same separator repeated between groups of three digits.
_GROUPED = re.compile(r"-?\d{1,3}([.,])\d{3}(?:\1\d{3})+")
TRUE = {"да", "yes", "true", "1", "✓", "✔", "x", "y", "д", "истина", "активен", "active"}
FALSE = {"нет", "no", "false", "0", "н", "n", "ложь", "-", "неактивен", "inactive"}


class ParseError(ValueError):
    """Why a cell cannot be used; the reader turns it into a data issue. With `key` (and its
    values), the issue is shown in the configured locale (`kpi.issues.Issue.said`)."""

    def __init__(self, message: str, key: str = "", **args: object) -> None:
        super().__init__(message)
        self.key, self.values = key, args


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def number(value: Any) -> float:
    """`4,5`, `4.5`, `1 234,5` (spaces or NBSP as thousands), `95%` → 0.95, `-3`."""
    if isinstance(value, bool):
        raise ParseError("expected a number, got true/false", "not_number_flag")
    if isinstance(value, int | float):
        return float(value)
    text = _SPACES.sub("", str(value))
    percent = text.endswith("%")
    text = text.rstrip("%").replace("−", "-").replace("₽", "").replace("руб.", "")
    if match := _GROUPED.fullmatch(text):
        text = text.replace(match[1], "")
    elif "," in text and "." in text:
        text = (
            text.replace(",", "")
            if text.rfind(".") > text.rfind(",")
            else text.replace(".", "").replace(",", ".")
        )
    elif text.count(",") == 1:
        text = text.replace(",", ".")
    try:
        result = float(text)
    except ValueError:
        raise ParseError(
            f"expected a number, got {value!r}", "not_number", got=repr(value)
        ) from None
    if result != result or result in (float("inf"), float("-inf")):
        raise ParseError(f"expected a number, got {value!r}", "not_number", got=repr(value))
    return result / 100 if percent else result


def share(value: Any) -> float:
    """A share column: `95%`, `0.95` and `95` all mean 0.95 (a bare number above 1 is a
    percent; `1,5` is 1.5 %). A share is at most 100 %."""
    result = number(value)
    typed_percent = isinstance(value, str) and value.strip().endswith("%")
    if result > 1 and not typed_percent:
        result /= 100
    if not 0 <= result <= 1:
        raise ParseError(
            f"a share is between 0 and 100 %, got {value!r}", "share_range", got=repr(value)
        )
    return result


def date(value: Any) -> dt.date:
    """ISO `2026-11-03` (or an ISO date-time: its date as written), `03.11.2026`, `3.11.26`, or
    a Sheets serial number; one before 2000 is a typo (`03.11.1926`)."""
    day = _date(value)
    if day < FIRST_PLAUSIBLE_DATE:
        raise _typo(f"a date before {FIRST_PLAUSIBLE_DATE}", value)
    return day


def _date(value: Any) -> dt.date:
    if isinstance(value, bool):
        raise ParseError("expected a date, got true/false", "not_date_flag")
    if isinstance(value, int | float):
        if not FIRST_PLAUSIBLE_SERIAL <= value <= 2958465:  # 15 would be 1900-01-14
            raise ParseError(
                f"expected a date, got the number {value!r}", "not_date_serial", got=repr(value)
            )
        return EPOCH + dt.timedelta(days=int(value))
    text = str(value).strip()
    for pattern in (
        "%Y-%m-%d",
        "%d.%m.%Y",
        "%d.%m.%y",
        "%d/%m/%Y",
        "%Y-%m-%d %H:%M:%S",
        "%d.%m.%Y %H:%M",
    ):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", text):
        try:  # an ISO date-time (`2026-12-01T10:00:00`, with seconds' fractions or an offset)
            return dt.datetime.fromisoformat(text).date()
        except ValueError:
            pass
    raise ParseError(
        f"expected a date like 2026-11-03 or 03.11.2026, got {value!r}", "not_date", got=repr(value)
    )


#: Google's spreadsheet ids: letters, digits, `-` and `_` (44 of them today; 20 is a floor).
SPREADSHEET_ID = re.compile(r"[A-Za-z0-9_-]{20,100}")
_SPREADSHEET_URL = re.compile(
    r"https://docs\.google\.com/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]{20,100})(?:[/?#].*)?"
)


def spreadsheet_id(value: Any) -> str:
    """A spreadsheet id, bare or in its `https://docs.google.com/spreadsheets/d/<id>/...` link;
    anything else (a path, a Drive link, an id with `#` or `/`) is refused before any request
    is built from it."""
    text = str(value).strip()
    if SPREADSHEET_ID.fullmatch(text):
        return text
    match = _SPREADSHEET_URL.fullmatch(text)
    if match:
        return match.group(1)
    raise ParseError(
        "expected a spreadsheet link https://docs.google.com/spreadsheets/d/<id>/edit or its id "
        "(20 or more letters, digits, - and _)",
        "not_spreadsheet",
    )


def period(value: Any) -> str:
    """`2026-11`, `11.2026`, `ноябрь 2026`, `November 2026`, or any date in the month."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _numeric_period(value)
    text = " ".join(str(value).strip().lower().split())
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        year, month = int(match[1]), int(match[2])
    elif match := re.fullmatch(r"(\d{1,2})[./](\d{4})", text):
        year, month = int(match[2]), int(match[1])
    elif (match := re.fullmatch(r"([a-zа-яё]+)\s+(\d{4})(?:\s*г\.?)?", text)) and match[
        1
    ] in MONTHS:
        year, month = int(match[2]), MONTHS[match[1]]
    else:
        try:
            day = date(value)
        except ParseError:
            raise _not_month(value) from None
        year, month = day.year, day.month
    if not 1 <= month <= 12:
        raise ParseError(f"month must be 1..12, got {value!r}", "month_range", got=repr(value))
    if year < FIRST_PLAUSIBLE_DATE.year:
        raise _typo(f"a month before {FIRST_PLAUSIBLE_DATE.year}", value)
    return f"{year:04d}-{month:02d}"


def _typo(what: str, value: Any) -> ParseError:
    """A date or month before 2000: a mistyped year, not history."""
    return ParseError(
        f"{what} is taken for a typo, got {value!r}",
        "date_typo",
        first=FIRST_PLAUSIBLE_DATE.year,
        got=repr(value),
    )


def _not_month(value: Any) -> ParseError:
    return ParseError(
        f"expected a month like 2026-11, 11.2026 or ноябрь 2026, got {value!r}",
        "not_month",
        got=repr(value),
    )


def _numeric_period(value: float) -> str:
    """A number cell: `11.2026` or `2026.11` typed where Sheets made it a number, else a date."""
    whole, fraction = int(value), value - int(value)
    if fraction and 1 <= whole <= 12:
        year, month = round(fraction * 10_000), whole
    elif fraction and 1900 <= whole <= 2100:
        year, month = whole, round(fraction * 100)
    elif value >= FIRST_PLAUSIBLE_SERIAL:
        day = date(value)
        year, month = day.year, day.month
    else:
        raise _not_month(value)
    if not (1900 <= year <= 2100 and 1 <= month <= 12):
        raise _not_month(value)
    return f"{year:04d}-{month:02d}"


def boolean(value: Any, default: bool = True) -> bool:
    if is_blank(value):
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ParseError(f"expected да/нет (yes/no), got {value!r}", "not_boolean", got=repr(value))


def choice(value: Any, options: dict[str, str], what: str) -> str:
    """Map any accepted spelling (case and spaces ignored) to its canonical value."""
    key = normalise(value)
    if key in options:
        return options[key]
    allowed = ", ".join(sorted(set(options.values())))
    raise ParseError(
        f"unknown {what} {value!r}; expected one of {allowed}",
        "unknown_choice",
        what=what,
        got=repr(value),
        allowed=allowed,
    )


def normalise(value: Any) -> str:
    return re.sub(r"[\s_\u00a0]+", "", str(value or "")).lower().replace("ё", "е")

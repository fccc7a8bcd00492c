"""Tolerant models of the amoCRM objects we store: extra fields pass, bad items are skipped."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)


class AmoModel(BaseModel):
    # A name sent as a number (`12345`) is that text, not a reason to skip the item.
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class User(AmoModel):
    id: int
    name: str = ""
    email: str | None = None
    rights: dict[str, Any] = {}
    rank: str | None = None


class Pipeline(AmoModel):
    id: int
    name: str = ""
    sort: int = 0
    is_archive: bool = False


#: Custom field types whose values amoCRM sends as numbers in strings ("150000"), as epoch
#: seconds (a `date` is the second its day starts in the account's zone) and as flags.
NUMERIC_FIELDS = frozenset({"numeric", "price", "monetary"})
DATE_FIELDS = frozenset({"date", "date_time", "birthday"})
FLAG_FIELDS = frozenset({"checkbox"})


class CustomField(AmoModel):
    """One entry of `custom_fields_values`: the field and its values, each `{"value": …}`
    (plus `enum_id`/`enum_code` for lists and phones)."""

    field_id: int | None = None
    field_name: str | None = None
    field_code: str | None = None
    field_type: str | None = None
    values: list[dict[str, Any]] | None = None

    def first(self) -> object:
        """The first value as the field's type means it, or None when the field has none."""
        for value in self.values or []:
            if isinstance(value, dict):
                return typed_value(self.field_type, value.get("value"))
        return None


def typed_value(field_type: str | None, value: object) -> object:
    """A custom field value read by its field's type: a number for `numeric` (sent as a string),
    a UTC `datetime` for `date` (sent as epoch seconds; an ISO date of older answers is read
    too), a bool for `checkbox`, text as it is. An empty value is None: amoCRM drops a field
    that is cleared, so a value that is there, "0" or false included, was filled in. A value the
    type cannot read (a numeric "n/a") stays as sent: it is there, so it counts as filled."""
    if value is None or value == "":
        return None
    if field_type in NUMERIC_FIELDS and isinstance(value, str):
        try:
            return float(value.replace(" ", "").replace(",", "."))
        except ValueError:
            return value
    if field_type in DATE_FIELDS:
        return _instant(value)
    if field_type in FLAG_FIELDS and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return value


def _instant(value: object) -> object:
    if isinstance(value, bool):
        return value
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(int(value), UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    return value


def custom_fields(raw: object) -> dict[str, object]:
    """Field name and field id (as text) → the field's first value, typed; a field without a
    value is absent, and a malformed entry is skipped."""
    fields: dict[str, object] = {}
    for entry in raw if isinstance(raw, list) else []:
        try:
            field = CustomField.model_validate(entry)
        except ValidationError:
            continue
        value = field.first()
        if value is None:
            continue
        for key in (field.field_name, field.field_id):
            if key not in (None, ""):
                fields[str(key)] = value
    return fields


class Lead(AmoModel):
    id: int
    name: str | None = None
    price: float | None = 0
    responsible_user_id: int | None = None
    status_id: int | None = None
    pipeline_id: int | None = None
    created_at: int
    updated_at: int
    closed_at: int | None = None
    is_deleted: bool = False
    custom_fields_values: list[CustomField] | None = None


class Contact(AmoModel):
    id: int
    name: str | None = None
    responsible_user_id: int | None = None
    created_at: int
    updated_at: int
    is_deleted: bool = False
    custom_fields_values: list[CustomField] | None = None


class Company(Contact):
    pass


class Task(AmoModel):
    id: int
    responsible_user_id: int | None = None
    entity_type: str | None = None
    entity_id: int | None = None
    is_completed: bool = False
    complete_till: int | None = None
    created_at: int
    updated_at: int


class Note(AmoModel):
    id: int
    entity_id: int
    note_type: str
    responsible_user_id: int | None = None
    created_by: int | None = None
    created_at: int
    updated_at: int
    params: dict[str, Any] | None = None


class Event(AmoModel):
    id: str
    type: str
    entity_id: int
    entity_type: str
    created_by: int = 0
    created_at: int
    value_after: list[dict[str, Any]] | None = None
    value_before: list[dict[str, Any]] | None = None


M = TypeVar("M", bound=AmoModel)


def parse_items(
    model: type[M], items: list[dict], entity: str, skipped: list[Skipped] | None = None
) -> list[tuple[M, dict]]:
    """Validate each item; log and skip the malformed ones so one bad record never costs a page
    (each also added to `skipped`, for the data issues)."""
    parsed: list[tuple[M, dict]] = []
    for item in items:
        try:
            parsed.append((model.model_validate(item), item))
        except ValidationError as err:
            item_id = item.get("id") if isinstance(item, dict) else None
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()[:3]
            )
            log.warning("skipped amoCRM %s id=%s: %s", entity, item_id, problems)
            if skipped is not None:
                skipped.append(Skipped(entity, item_id, problems))
    return parsed


@dataclass(frozen=True)
class Skipped:
    """An amoCRM item that could not be read: which one, and its first problems."""

    entity: str
    item_id: object
    problems: str

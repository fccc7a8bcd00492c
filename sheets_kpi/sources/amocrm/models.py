"""Tolerant models of the amoCRM objects we store: extra fields pass, bad items are skipped."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)


class AmoModel(BaseModel):
    model_config = ConfigDict(extra="allow")


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
    custom_fields_values: list[dict[str, Any]] | None = None


class Contact(AmoModel):
    id: int
    name: str | None = None
    responsible_user_id: int | None = None
    created_at: int
    updated_at: int
    is_deleted: bool = False
    custom_fields_values: list[dict[str, Any]] | None = None


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


def parse_items(model: type[M], items: list[dict], entity: str) -> list[tuple[M, dict]]:
    """Validate each item; log and skip the malformed ones so one bad record never costs a page."""
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
    return parsed

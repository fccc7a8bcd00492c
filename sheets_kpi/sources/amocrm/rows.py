"""amoCRM items → store rows: one normaliser per table; every row also keeps the item's raw
JSON and the instant of the sync that stored it (`stored`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sheets_kpi.sources.amocrm import models
from sheets_kpi.sources.amocrm.client import embedded
from sheets_kpi.text import phone_digits

Row = dict[str, Any]


def int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def raw_json(raw: dict) -> str:
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))


def stored(row: Row, raw: dict, synced_at: int) -> Row:
    """A normalised row with what every table also keeps: the raw JSON and when it was synced."""
    return {**row, "raw": raw_json(raw), "synced_at": synced_at}


def user_row(user: models.User, raw: dict) -> Row:
    groups = embedded(raw, "groups")
    group = groups[0] if groups and isinstance(groups[0], dict) else {}
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "group_id": group.get("id", user.rights.get("group_id")),
        "group_name": group.get("name"),
        "is_active": int(bool(user.rights.get("is_active", True))),
        "rank": user.rank or raw.get("user_rank"),
    }


def pipeline_row(pipeline: models.Pipeline, raw: dict) -> Row:
    return {
        "id": pipeline.id,
        "name": pipeline.name,
        "sort": pipeline.sort,
        "is_archive": int(pipeline.is_archive),
    }


def _linked_id(raw: dict, key: str, prefer_main: bool = False) -> int | None:
    linked = [x for x in embedded(raw, key) if isinstance(x, dict)]
    if prefer_main:
        linked.sort(key=lambda x: not x.get("is_main"))
    return linked[0].get("id") if linked else None


def lead_row(lead: models.Lead, raw: dict) -> Row:
    return {
        "id": lead.id,
        "name": lead.name,
        "price": lead.price or 0,
        "responsible_user_id": lead.responsible_user_id,
        "status_id": lead.status_id,
        "pipeline_id": lead.pipeline_id,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "closed_at": lead.closed_at,
        "is_deleted": int(lead.is_deleted),
        "contact_id": _linked_id(raw, "contacts", prefer_main=True),
        "company_id": _linked_id(raw, "companies"),
    }


def client_row(client: models.Contact, raw: dict) -> Row:
    phones = [
        phone_digits(value.get("value"))
        for field in client.custom_fields_values or []
        if field.field_code == "PHONE"
        for value in field.values or []
        if isinstance(value, dict)
    ]
    return {
        "id": client.id,
        "name": client.name,
        "responsible_user_id": client.responsible_user_id,
        "created_at": client.created_at,
        "updated_at": client.updated_at,
        "is_deleted": int(client.is_deleted),
        "phones": ",".join(p for p in phones if p),
    }


def task_row(task: models.Task, raw: dict) -> Row:
    return {
        "id": task.id,
        "responsible_user_id": task.responsible_user_id,
        "entity_type": task.entity_type,
        "entity_id": task.entity_id,
        "is_completed": int(task.is_completed),
        "complete_till": task.complete_till,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


def note_row(entity_type: str) -> Callable[[models.Note, dict], Row]:
    def row(note: models.Note, raw: dict) -> Row:
        return {
            "entity_type": entity_type,
            "id": note.id,
            "entity_id": note.entity_id,
            "note_type": note.note_type,
            "responsible_user_id": note.responsible_user_id,
            "created_by": note.created_by,
            "created_at": note.created_at,
            "updated_at": note.updated_at,
        }

    return row


def event_row(event: models.Event, raw: dict) -> Row:
    return {
        "id": event.id,
        "type": event.type,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "created_by": event.created_by,
        "created_at": event.created_at,
    }

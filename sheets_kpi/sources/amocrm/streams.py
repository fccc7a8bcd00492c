"""The amoCRM lists the sync walks, each declared by name: where it lives, how it is ordered
and filtered, and which normaliser turns an item into a store row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sheets_kpi.sources.amocrm import models, rows
from sheets_kpi.sources.amocrm.client import EVENTS_PAGE_LIMIT, PAGE_LIMIT
from sheets_kpi.sources.amocrm.rows import Row

#: Event types some frame reads (stage moves, ownership, task completion) and the deletions the
#: sync applies. Not `lead_added` (a lead's creation is its `created_at`) nor `incoming_call` /
#: `outgoing_call`: calls, their direction and who made them come from the call notes
#: (`store/frames.py` "calls"), so those events were a cost read by nothing.
EVENT_TYPES = (
    "lead_status_changed",
    "entity_responsible_changed",
    "task_completed",
    "lead_deleted",
    "lead_restored",
    "task_deleted",
)
CALL_NOTE_TYPES = ("call_in", "call_out")


@dataclass(frozen=True)
class Stream:
    """One incremental list: where it lives, how it is ordered and how an item becomes a row."""

    name: str
    path: str
    key: str
    table: str
    cursor_field: str
    model: type[models.AmoModel]
    normalise: Callable[[Any, dict], Row]
    params: tuple[tuple[str, str], ...] = ()
    limit: int = PAGE_LIMIT
    #: None: ordered by `cursor_field` (walked by timestamp, cursor safe after every page).
    #: A field: the API orders this list by it only, so the walk goes by offsets in that stable
    #: order and the cursor moves once the walk is complete.
    order_field: str | None = None
    #: The event that says an item was deleted: a deletion during an offset walk shifts an
    #: unread item into a page already read, so such a walk is read again.
    deleted_event: str | None = None


def notes_stream(entity_type: str) -> Stream:
    return Stream(
        name=f"notes:{entity_type}",
        path=f"/api/v4/{entity_type}/notes",
        key="notes",
        table="notes",
        cursor_field="updated_at",
        model=models.Note,
        normalise=rows.note_row(entity_type),
        params=tuple(("filter[note_type][]", t) for t in CALL_NOTE_TYPES),
    )


STREAMS: tuple[Stream, ...] = (
    Stream(
        name="leads",
        path="/api/v4/leads",
        key="leads",
        table="leads",
        cursor_field="updated_at",
        model=models.Lead,
        normalise=rows.lead_row,
        params=(("with", "contacts"),),
    ),
    Stream(
        name="contacts",
        path="/api/v4/contacts",
        key="contacts",
        table="contacts",
        cursor_field="updated_at",
        model=models.Contact,
        normalise=rows.client_row,
    ),
    Stream(
        name="companies",
        path="/api/v4/companies",
        key="companies",
        table="companies",
        cursor_field="updated_at",
        model=models.Company,
        normalise=rows.client_row,
    ),
    Stream(
        name="tasks",
        path="/api/v4/tasks",
        key="tasks",
        table="tasks",
        cursor_field="updated_at",
        model=models.Task,
        normalise=rows.task_row,
        order_field="id",  # the API orders tasks by created_at, complete_till or id only
        deleted_event="task_deleted",
    ),
    notes_stream("leads"),
    notes_stream("contacts"),
    notes_stream("companies"),
    Stream(
        name="events",
        path="/api/v4/events",
        key="events",
        table="events",
        cursor_field="created_at",
        model=models.Event,
        normalise=rows.event_row,
        params=tuple(("filter[type][]", t) for t in EVENT_TYPES),
        limit=EVENTS_PAGE_LIMIT,
    ),
)

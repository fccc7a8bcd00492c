"""The emulated amoCRM account: entities, list queries, a controllable clock and mutations.

Mutations behave like amoCRM: they bump `updated_at` and write the matching event, so an
incremental sync sees exactly what a real account would show.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

from sheets_kpi.emulators.amocrm import query as q
from sheets_kpi.emulators.amocrm.tokens import OAuthClient, TokenBook

Item = dict[str, Any]

DEMO_TOKEN = "demo-long-lived-token"
DEMO_CLIENT_ID = "00000000-0000-4000-8000-00000000d3e0"
DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_REDIRECT_URI = "http://localhost/amo/callback"
WON, LOST = 142, 143
NOTE_ENTITIES = ("leads", "contacts", "companies")
#: Which filters each list accepts, and how they match.
_ID_FILTERS = ("id", "responsible_user_id", "pipeline_id", "created_by", "updated_by", "task_type")
_RANGE_FILTERS = ("created_at", "updated_at", "closed_at", "complete_till", "closest_task_at")


class AmoState:
    """An account snapshot plus everything the emulator needs to answer like amoCRM."""

    def __init__(self, snapshot: dict[str, Any] | None = None) -> None:
        snapshot = copy.deepcopy(snapshot or {})
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.fixed_now: int | None = snapshot.get("now")
        self.account: Item = snapshot.get("account") or {
            "id": 1,
            "name": "Emulated account",
            "subdomain": "emulated",
        }
        self.groups: list[Item] = snapshot.get("groups", [])
        self.users: dict[int, Item] = {u["id"]: u for u in snapshot.get("users", [])}
        self.pipelines: dict[int, Item] = {p["id"]: p for p in snapshot.get("pipelines", [])}
        self.custom_fields: dict[str, list[Item]] = snapshot.get("custom_fields", {})
        self.entities: dict[str, dict[int, Item]] = {
            kind: {item["id"]: item for item in snapshot.get(kind, [])}
            for kind in ("leads", "contacts", "companies", "tasks")
        }
        notes = snapshot.get("notes", {})
        self.notes: dict[str, dict[int, Item]] = {
            kind: {n["id"]: n for n in notes.get(kind, [])} for kind in NOTE_ENTITIES
        }
        self.events: list[Item] = sorted(snapshot.get("events", []), key=lambda e: e["id"])
        self.tokens = TokenBook()
        self.tokens.add_long_lived(DEMO_TOKEN, 2**31)
        for token, expires in (snapshot.get("tokens") or {}).get("long_lived", {}).items():
            self.tokens.add_long_lived(token, int(expires))
        self.tokens.clients[DEMO_CLIENT_ID] = OAuthClient(
            DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI
        )
        self._version = 0
        self._events_sorted = True
        self._cache: dict[tuple, list[Item]] = {}
        self._ids = itertools.count(self._max_id() + 1)
        self._event_seq = itertools.count(len(self.events) + 1)

    @classmethod
    def load(cls, path: str | Path) -> AmoState:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "account": self.account,
                "groups": self.groups,
                "users": list(self.users.values()),
                "pipelines": list(self.pipelines.values()),
                "custom_fields": self.custom_fields,
                **{kind: list(items.values()) for kind, items in self.entities.items()},
                "notes": {kind: list(items.values()) for kind, items in self.notes.items()},
                "events": self._sorted_events(),
                "tokens": {
                    "long_lived": {
                        t: e for t, e in self.tokens.long_lived.items() if t != DEMO_TOKEN
                    }
                },
            }

    def now(self) -> int:
        base = self.fixed_now if self.fixed_now is not None else time.time()
        return int(base + self.clock_offset)

    def advance(self, seconds: float) -> None:
        self.clock_offset += seconds

    # --- queries -------------------------------------------------------------------------

    def select(self, kind: str, query: list[tuple[str, str]], note_entity: str = "") -> list[Item]:
        """Filtered and ordered items of a list; cached until the next mutation."""
        key = (
            kind,
            note_entity,
            self._version,
            tuple(sorted((k, v) for k, v in query if k not in ("page", "limit"))),
        )
        with self.lock:
            if key not in self._cache:
                if len(self._cache) > 256:
                    self._cache.clear()
                self._cache[key] = self._select(kind, query, note_entity)
            return self._cache[key]

    def _select(self, kind: str, query: list[tuple[str, str]], note_entity: str) -> list[Item]:
        filters = q.parse_brackets(query, "filter")
        with_ = {w.strip() for w in ",".join(v for k, v in query if k == "with").split(",")}
        if kind == "events":
            items = self._sorted_events()
            predicates = _event_predicates(filters)
            default_order = ("created_at", "desc")
        else:
            items = list(
                (self.notes[note_entity] if kind == "notes" else self.entities[kind]).values()
            )
            predicates = _entity_predicates(kind, filters)
            default_order = ("id", "asc")
            deleted = "only_deleted" in with_
            items = [i for i in items if bool(i.get("is_deleted")) == deleted]
        selected = [item for item in items if all(p(item) for p in predicates)]
        field, descending = q.order_key(query, default_order)
        selected.sort(key=lambda i: (i.get(field) or 0, str(i["id"])), reverse=descending)
        return selected

    def get(self, kind: str, item_id: int) -> Item | None:
        item = self.entities[kind].get(item_id)
        return None if item is None or item.get("is_deleted") else item

    # --- mutations -----------------------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, kind: str, item: Item) -> Item:
        with self.lock:
            self.entities[kind][item["id"]] = item
            self._changed()
        return item

    def add_note(self, entity: str, note: Item) -> Item:
        with self.lock:
            self.notes[entity][note["id"]] = note
            self._changed()
        return note

    def add_event(
        self,
        type_: str,
        entity_type: str,
        entity_id: int,
        created_by: int,
        value_after: list | None = None,
        value_before: list | None = None,
        at: int | None = None,
    ) -> Item:
        at = self.now() if at is None else at
        event = {
            "id": f"{at:010x}{next(self._event_seq):016x}",
            "type": type_,
            "entity_id": entity_id,
            "entity_type": entity_type,
            "created_by": created_by,
            "created_at": at,
            "value_after": value_after or [],
            "value_before": value_before or [],
            "account_id": self.account["id"],
        }
        with self.lock:
            self._events_sorted &= not self.events or self.events[-1]["id"] < event["id"]
            self.events.append(event)
            self._changed()
        return event

    def move_lead(
        self,
        lead_id: int,
        status_id: int,
        by: int,
        pipeline_id: int | None = None,
        at: int | None = None,
    ) -> Item:
        at = self.now() if at is None else at
        lead = self.entities["leads"][lead_id]
        before = {"id": lead["status_id"], "pipeline_id": lead["pipeline_id"]}
        lead["pipeline_id"] = pipeline_id or lead["pipeline_id"]
        lead["status_id"] = status_id
        lead["updated_at"] = at
        lead["updated_by"] = by
        if status_id in (WON, LOST):
            lead["closed_at"] = at
        self.add_event(
            "lead_status_changed",
            "lead",
            lead_id,
            by,
            [{"lead_status": {"id": status_id, "pipeline_id": lead["pipeline_id"]}}],
            [{"lead_status": before}],
            at,
        )
        return lead

    def change_responsible(
        self, lead_id: int, user_id: int, by: int, at: int | None = None
    ) -> None:
        at = self.now() if at is None else at
        lead = self.entities["leads"][lead_id]
        before = lead["responsible_user_id"]
        lead["responsible_user_id"] = user_id
        lead["updated_at"] = at
        self.add_event(
            "entity_responsible_changed",
            "lead",
            lead_id,
            by,
            [{"responsible_user": {"id": user_id}}],
            [{"responsible_user": {"id": before}}],
            at,
        )

    def complete_task(self, task_id: int, by: int, at: int | None = None) -> None:
        at = self.now() if at is None else at
        task = self.entities["tasks"][task_id]
        task["is_completed"] = True
        task["updated_at"] = at
        self.add_event("task_completed", "task", task_id, by, at=at)

    def add_call(
        self,
        entity: str,
        entity_id: int,
        user_id: int,
        direction: str,
        phone: str,
        duration: int,
        call_status: int,
        at: int | None = None,
    ) -> Item:
        """Log a call like POST /api/v4/calls: a call note plus the matching feed event."""
        at = self.now() if at is None else at
        note = {
            "id": self.next_id(),
            "entity_id": entity_id,
            "created_by": user_id,
            "updated_by": user_id,
            "created_at": at,
            "updated_at": at,
            "responsible_user_id": user_id,
            "group_id": 0,
            "note_type": "call_in" if direction == "in" else "call_out",
            "account_id": self.account["id"],
            "params": {
                "uniq": f"call-{entity_id}-{at}-{user_id}",
                "duration": duration,
                "source": "Emulated PBX",
                "link": "",
                "phone": phone,
                "call_result": "",
                "call_status": call_status,
                "call_responsible": user_id,
            },
        }
        self.add_note(entity, note)
        self.add_event(
            "incoming_call" if direction == "in" else "outgoing_call",
            entity.rstrip("s").replace("companie", "company"),
            entity_id,
            user_id,
            [{"note": {"id": note["id"]}}],
            at=at,
        )
        return note

    def delete_lead(self, lead_id: int, by: int) -> None:
        lead = self.entities["leads"][lead_id]
        lead["is_deleted"] = True
        lead["updated_at"] = self.now()
        self.add_event("lead_deleted", "lead", lead_id, by)

    def _sorted_events(self) -> list[Item]:
        """Events are appended out of order while generating; sort once, on first read."""
        with self.lock:
            if not self._events_sorted:
                self.events.sort(key=lambda e: e["id"])
                self._events_sorted = True
            return self.events

    def _changed(self) -> None:
        self._version += 1

    def _max_id(self) -> int:
        ids = [0, *self.users, *self.pipelines]
        for items in (*self.entities.values(), *self.notes.values()):
            ids.extend(items)
        return max(ids)


def _entity_predicates(kind: str, filters: dict[str, Any]) -> list[q.Predicate]:
    predicates: list[q.Predicate] = []
    for name, value in filters.items():
        if name in _ID_FILTERS:
            predicates.append(q.member(name, value))
        elif name in _RANGE_FILTERS:
            predicates.append(q.ranged(name, value))
        elif name == "statuses":
            pairs = {(int(s["pipeline_id"]), int(s["status_id"])) for s in q_list(value)}
            predicates.append(lambda i, p=pairs: (i.get("pipeline_id"), i.get("status_id")) in p)
        elif name == "note_type":
            predicates.append(q.member("note_type", value, str))
        elif name == "is_completed":
            wanted = str(value) in ("1", "true")
            predicates.append(lambda i, w=wanted: bool(i.get("is_completed")) == w)
        elif name == "entity_type" and kind == "tasks":
            predicates.append(q.member("entity_type", value, str))
        elif name == "entity_id":
            predicates.append(q.member("entity_id", value))
        elif name == "name":
            names = set(q.as_list(value))
            predicates.append(lambda i, n=names: i.get("name") in n)
    return predicates


def _event_predicates(filters: dict[str, Any]) -> list[q.Predicate]:
    predicates: list[q.Predicate] = []
    entities = q.as_list(filters["entity"]) if "entity" in filters else []
    if "entity_id" in filters:
        ids = q.as_list(filters["entity_id"])
        if len(entities) != 1:
            raise q.BadQuery("filter[entity_id] requires exactly one filter[entity]")
        if len(ids) > 10:
            raise q.BadQuery("filter[entity_id] accepts at most 10 ids")
        predicates.append(q.member("entity_id", ids))
    if entities:
        predicates.append(q.member("entity_type", entities, str))
    if "type" in filters:
        predicates.append(q.member("type", filters["type"], str))
    if "created_by" in filters:
        if len(q.as_list(filters["created_by"])) > 10:
            raise q.BadQuery("filter[created_by] accepts at most 10 users")
        predicates.append(q.member("created_by", filters["created_by"]))
    if "created_at" in filters:
        predicates.append(q.ranged("created_at", filters["created_at"]))
    if "id" in filters:
        predicates.append(q.member("id", filters["id"], str))
    for side in ("value_after", "value_before"):
        spec = filters.get(side)
        if isinstance(spec, dict) and "leads_statuses" in spec:
            pairs = {
                (int(s["pipeline_id"]), int(s["status_id"])) for s in q_list(spec["leads_statuses"])
            }
            predicates.append(
                lambda e, s=side, p=pairs: any(
                    (
                        v.get("lead_status", {}).get("pipeline_id"),
                        v.get("lead_status", {}).get("id"),
                    )
                    in p
                    for v in e.get(s) or []
                )
            )
        if isinstance(spec, dict) and "responsible_user_id" in spec:
            users = {int(u) for u in q.as_list(spec["responsible_user_id"])}
            predicates.append(
                lambda e, s=side, u=users: any(
                    v.get("responsible_user", {}).get("id") in u for v in e.get(s) or []
                )
            )
    return predicates


def q_list(value: Any) -> list[dict]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]

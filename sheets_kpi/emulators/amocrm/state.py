"""The emulated amoCRM account: entities, list queries, a controllable clock and snapshots.

The HTTP layer never holds data and this module never sees HTTP (moto's models/responses split).
Mutations live in `mutations.py`; they write the matching events, as amoCRM does.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import json
import pickle
import threading
import time
from pathlib import Path
from typing import Any

from sheets_kpi.emulators.amocrm import query as q
from sheets_kpi.emulators.amocrm.mutations import Mutations
from sheets_kpi.emulators.amocrm.tokens import (
    LONG_LIVED_LIFETIME,
    OAuthClient,
    TokenBook,
    amo_claims,
    jwt_like,
)

Item = dict[str, Any]

DEMO_CLIENT_ID = "00000000-0000-4000-8000-00000000d3e0"
DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_REDIRECT_URI = "http://localhost/amo/callback"
DEMO_TOKEN_EXPIRES = 2**31
_DEFAULT_ACCOUNT = {"id": 1, "name": "Emulated account", "subdomain": "emulated"}
#: The demo's long-lived token, a fixed constant (README, tests, `sheets-kpi demo`): JWT-shaped
#: like a real one, issued 2020-01-01 by the demo integration, zero signature, and no
#: `api_domain`, so a client that routes by that claim stays on the host it was given.
DEMO_TOKEN = jwt_like(
    amo_claims(
        DEMO_CLIENT_ID,
        1_577_836_800,
        DEMO_TOKEN_EXPIRES,
        None,
        int(_DEFAULT_ACCOUNT["id"]),
        None,
        jti="d3e0" * 20,
    ),
    signature=bytes(256),
)
ENTITY_KINDS = ("leads", "contacts", "companies", "tasks")
NOTE_ENTITIES = ("leads", "contacts", "companies")
#: Lists that take amoCRM's full-text `query=` (`q.search`).
SEARCHABLE = ("leads", "contacts", "companies")
_CACHE_SIZE = 64
#: Lists whose documented `order[...]` fields are known (AMOCRM_API §4.2); another field is
#: ignored and the default order applies. Other lists accept any field.
ORDERABLE = {"tasks": {"created_at", "complete_till", "id"}}


class AmoState(Mutations):
    """An account snapshot plus everything the emulator needs to answer like amoCRM."""

    def __init__(self, snapshot: dict[str, Any] | None = None, first_id: int = 1) -> None:
        self.lock = threading.RLock()
        self._checkpoint: bytes | None = None
        self._first_id = first_id
        self._load(copy.deepcopy(snapshot or {}))

    def _load(self, snapshot: dict[str, Any]) -> None:
        self.clock_offset = 0.0
        self.fixed_now: int | None = snapshot.get("now")
        self.account: Item = snapshot.get("account") or dict(_DEFAULT_ACCOUNT)
        self.groups: list[Item] = snapshot.get("groups", [])
        self.users: dict[int, Item] = {u["id"]: u for u in snapshot.get("users", [])}
        self.pipelines: dict[int, Item] = {p["id"]: p for p in snapshot.get("pipelines", [])}
        self.custom_fields: dict[str, list[Item]] = snapshot.get("custom_fields", {})
        self.loss_reasons: list[Item] = snapshot.get("loss_reasons", [])
        self.entities: dict[str, dict[int, Item]] = {
            kind: {item["id"]: item for item in snapshot.get(kind, [])} for kind in ENTITY_KINDS
        }
        notes = snapshot.get("notes", {})
        self.notes: dict[str, dict[int, Item]] = {
            kind: {n["id"]: n for n in notes.get(kind, [])} for kind in NOTE_ENTITIES
        }
        self.events: list[Item] = sorted(snapshot.get("events", []), key=lambda e: e["id"])
        self.tokens = TokenBook(account_id=self.account["id"], integration_id=DEMO_CLIENT_ID)
        self.tokens.add_long_lived(DEMO_TOKEN, DEMO_TOKEN_EXPIRES)
        self.tokens.clients[DEMO_CLIENT_ID] = OAuthClient(
            DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI
        )
        self.tokens.load(snapshot.get("tokens") or {})
        self._version = 0
        self._events_sorted = True
        self._events_by_id: dict[str, Item] | None = None
        self._cache: dict[tuple[Any, ...], list[Item]] = {}
        self._card_leads: dict[tuple[str, int], list[int]] | None = None
        self._ids = itertools.count(max(self._first_id, self._max_id() + 1))
        self._event_seq = itertools.count(len(self.events) + 1)

    # --- snapshots ---------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> AmoState:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.snapshot(), ensure_ascii=False), encoding="utf-8")

    def snapshot(self) -> dict[str, Any]:
        """The account as the `--data` JSON of docs/amocrm-snapshot.md (shared, not copied)."""
        with self.lock:
            snapshot: dict[str, Any] = {
                "account": self.account,
                "groups": self.groups,
                "users": list(self.users.values()),
                "pipelines": list(self.pipelines.values()),
                "custom_fields": self.custom_fields,
                "loss_reasons": self.loss_reasons,
                **{kind: list(items.values()) for kind, items in self.entities.items()},
                "notes": {kind: list(items.values()) for kind, items in self.notes.items()},
                "events": self._sorted_events(),
                "tokens": self.tokens.snapshot(skip={DEMO_TOKEN, DEMO_CLIENT_ID}),
            }
            if self.fixed_now is not None:
                snapshot["now"] = self.fixed_now
            return snapshot

    def checkpoint(self) -> None:
        """Remember the account as it is now; `reset()` returns to it."""
        with self.lock:
            self._checkpoint = pickle.dumps(self.snapshot(), protocol=pickle.HIGHEST_PROTOCOL)

    def reset(self) -> None:
        """Back to the last checkpoint (or empty): data, tokens and clock."""
        with self.lock:
            self._load(pickle.loads(self._checkpoint) if self._checkpoint else {})

    # --- clock and tokens --------------------------------------------------------------

    def now(self) -> int:
        base = self.fixed_now if self.fixed_now is not None else time.time()
        return int(base + self.clock_offset)

    def advance(self, seconds: float) -> None:
        self.clock_offset += seconds

    def set_now(self, at: int | None) -> None:
        """Pin the clock at `at` (it stays there until moved), or back to real time with None."""
        self.fixed_now, self.clock_offset = at, 0.0

    def mint_code(self, client_id: str = DEMO_CLIENT_ID, user_id: int | None = None) -> str:
        """The `code` an admin's consent redirect would carry, valid for 20 emulated minutes."""
        with self.lock:
            return self.tokens.mint_code(client_id, self.now(), user_id)

    def mint_long_lived(
        self, lifetime: int = LONG_LIVED_LIFETIME, user_id: int | None = None
    ) -> str:
        """A private-integration token; with `user_id` it has that user's (maybe lesser) rights."""
        with self.lock:
            self.tokens.account_id = self.account["id"]
            return self.tokens.mint_long_lived(self.now(), lifetime, user_id)

    def is_admin(self, token: str) -> bool:
        user = self.users.get(self.tokens.owners.get(token, -1))
        return user is None or bool((user.get("rights") or {}).get("is_admin"))

    # --- queries -----------------------------------------------------------------------

    def select(self, kind: str, query: q.Query, note_entity: str = "") -> list[Item]:
        """Filtered and ordered items of a list; cached until the next mutation.

        A walk by timestamp (`filter[F][from]=t` with `order[F]=asc`) asks a new `t` on every
        page: the list without that bound is cached once and cut at `t` by bisection.
        """
        query = list(query)
        field, descending = q.order_key(query, ("", "asc"))
        bound = f"filter[{field}][from]"
        lows = [v for k, v in query if k == bound]
        ordered = field and not descending and field in ORDERABLE.get(kind, {field})
        if not (ordered and len(lows) == 1 and lows[0].lstrip("-").isdigit()):
            return self._cached(kind, query, note_entity)
        whole = self._cached(kind, [(k, v) for k, v in query if k != bound], note_entity)
        start = bisect.bisect_left(
            whole,
            (1, int(lows[0])),
            key=lambda i: (1, i[field]) if isinstance(i.get(field), int) else (0, 0),
        )
        return whole[start:]

    def _cached(self, kind: str, query: q.Query, note_entity: str) -> list[Item]:
        params = tuple(sorted((k, v) for k, v in query if k not in ("page", "limit")))
        key = (kind, note_entity, self._version, params)
        with self.lock:
            if key not in self._cache:
                if len(self._cache) > _CACHE_SIZE:
                    self._cache.clear()
                self._cache[key] = self._select(kind, query, note_entity)
            return self._cache[key]

    def _select(self, kind: str, query: q.Query, note_entity: str) -> list[Item]:
        filters = q.parse_brackets(query, "filter")
        if kind == "events":
            items = self._sorted_events()
            predicates = q.event_predicates(filters)
            default_order = ("created_at", "desc")
        else:
            source = self.notes[note_entity] if kind == "notes" else self.entities[kind]
            deleted = "only_deleted" in q.with_values(query)
            items = [i for i in source.values() if bool(i.get("is_deleted")) == deleted]
            predicates = q.entity_predicates(kind, filters)
            text = next((v.strip() for k, v in query if k == "query"), "")
            if text and kind in SEARCHABLE:
                predicates.append(q.search(text))
            default_order = ("id", "asc")
        selected = [item for item in items if all(p(item) for p in predicates)]
        field, descending = q.order_key(query, default_order)
        if field not in ORDERABLE.get(kind, {field}):  # not an order this list offers: ignored
            field, descending = default_order[0], default_order[1] == "desc"
        q.sort_items(selected, field, descending)
        return selected

    def get(self, kind: str, item_id: int) -> Item | None:
        """One entity, or None when unknown or deleted (the API answers 204 for both)."""
        item = self.entities[kind].get(item_id)
        return None if item is None or item.get("is_deleted") else item

    def leads_of(self, kind: str, card_id: int) -> list[int]:
        """Ids of the leads (not deleted) of a contact or a company: amoCRM stores the link on
        the lead only."""
        with self.lock:
            if self._card_leads is None:
                index: dict[tuple[str, int], list[int]] = {}
                for lead in self.select("leads", []):
                    embedded = lead.get("_embedded") or {}
                    for other in ("contacts", "companies"):
                        for card in embedded.get(other) or []:
                            index.setdefault((other, card["id"]), []).append(lead["id"])
                self._card_leads = index
            return self._card_leads.get((kind, card_id), [])

    def get_note(self, entity: str, note_id: int) -> Item | None:
        return self.notes[entity].get(note_id)

    def get_event(self, event_id: str) -> Item | None:
        with self.lock:
            if self._events_by_id is None:
                self._events_by_id = {e["id"]: e for e in self.events}
            return self._events_by_id.get(event_id)

    def group_of(self, user_id: int | None) -> int:
        user = self.users.get(user_id or 0) or {}
        return int((user.get("rights") or {}).get("group_id") or 0)

    def _sorted_events(self) -> list[Item]:
        """Events may be appended out of order while generating; sort once, on first read."""
        with self.lock:
            if not self._events_sorted:
                self.events.sort(key=lambda e: e["id"])
                self._events_sorted = True
            return self.events

    def _changed(self) -> None:
        self._version += 1
        self._events_by_id = None
        self._card_leads = None

    def _max_id(self) -> int:
        """Entities and notes share one id sequence, so a task id never equals a lead id."""
        ids = [0]
        for items in (*self.entities.values(), *self.notes.values()):
            ids.extend(items)
        return max(ids)

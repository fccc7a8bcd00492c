"""Changes to the emulated account, each with the event amoCRM would write and a fresh `updated_at`.

That pairing is what lets an incremental sync be tested end to end: whatever a mutation touches
shows up both in `filter[updated_at]` lists and in the events feed (AMOCRM_API.md checklist).
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from sheets_kpi.text import phone_digits

Item = dict[str, Any]

WON, LOST = 142, 143
_LOW128 = (1 << 128) - 1
_TO_CROCKFORD = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghjkmnpqrstvwxyz"
)
_LOW40 = (1 << 40) - 1
_SCRAMBLE = 0x9E3779B97F4A7C15
CALL_RESULTS = {
    1: "Оставил сообщение",
    2: "Перезвонить позже",
    3: "Нет на месте",
    4: "Разговор состоялся",
    5: "Неверный номер",
    6: "Не дозвонился",
    7: "Номер занят",
}
SINGULAR = {"leads": "lead", "contacts": "contact", "companies": "company", "tasks": "task"}


def ulid_like(at: int, sequence: int) -> str:
    """A lowercase ULID (26 Crockford base32 chars) whose order is (time, sequence)."""
    value = (at * 1000) << 80 | (sequence & _LOW40) << 40 | (sequence * _SCRAMBLE) & _LOW40
    return base64.b32encode(value.to_bytes(20, "big")).decode()[6:].translate(_TO_CROCKFORD)


class Mutations:
    """Mixed into `AmoState`; every method takes `at` (default: the emulator clock)."""

    lock: threading.RLock
    account: Item
    users: dict[int, Item]
    entities: dict[str, dict[int, Item]]
    notes: dict[str, dict[int, Item]]
    events: list[Item]
    _ids: Iterator[int]
    _event_seq: Iterator[int]
    _events_sorted: bool
    now: Callable[[], int]
    group_of: Callable[[int | None], int]
    _changed: Callable[[], None]

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, kind: str, item: Item) -> Item:
        """Insert an entity as is, without an event (snapshots, generated history)."""
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
        value_after: list[Item] | None = None,
        value_before: list[Item] | None = None,
        at: int | None = None,
    ) -> Item:
        at = self.now() if at is None else at
        with self.lock:
            event = {
                "id": ulid_like(at, next(self._event_seq)),
                "type": type_,
                "entity_id": entity_id,
                "entity_type": entity_type,
                "created_by": created_by,
                "created_at": at,
                "value_after": value_after or [],
                "value_before": value_before or [],
                "account_id": self.account["id"],
            }
            self._events_sorted &= not self.events or self.events[-1]["id"] < event["id"]
            self.events.append(event)
            self._changed()
        return event

    def add_lead(
        self,
        name: str,
        responsible_user_id: int,
        pipeline_id: int,
        status_id: int,
        price: int = 0,
        by: int | None = None,
        at: int | None = None,
        contact_id: int | None = None,
        company_id: int | None = None,
        custom_fields_values: list[Item] | None = None,
    ) -> Item:
        """A new lead plus its `lead_added` event; `by` defaults to the responsible user.

        The event names the note amoCRM writes on a new lead (`value_after: [{"note": {"id"}}]`),
        a system note no notes list shows.
        """
        at = self.now() if at is None else at
        by = responsible_user_id if by is None else by
        with self.lock:
            lead = self.add(
                "leads",
                {
                    "id": self.next_id(),
                    "name": name,
                    "price": price,
                    "responsible_user_id": responsible_user_id,
                    "group_id": self.group_of(responsible_user_id),
                    "status_id": status_id,
                    "pipeline_id": pipeline_id,
                    "loss_reason_id": None,
                    "created_by": by,
                    "updated_by": by,
                    "created_at": at,
                    "updated_at": at,
                    "closed_at": None,
                    "closest_task_at": None,
                    "is_deleted": False,
                    "custom_fields_values": custom_fields_values or None,
                    "score": None,
                    "account_id": self.account["id"],
                    "labor_cost": None,
                    "_embedded": {
                        "tags": [],
                        "contacts": [{"id": contact_id, "is_main": True}] if contact_id else [],
                        "companies": [{"id": company_id}] if company_id else [],
                    },
                },
            )
            note = {"note": {"id": self.next_id()}}
            self.add_event("lead_added", "lead", lead["id"], by, [note], at=at)
        return lead

    def add_task(
        self,
        entity_type: str,
        entity_id: int | None,
        responsible_user_id: int,
        complete_till: int,
        text: str = "Связаться с клиентом",
        task_type_id: int = 1,
        at: int | None = None,
        emit: bool = True,
    ) -> Item:
        """A task on a lead/contact/company (plural `entity_type`); `emit=False`: no event."""
        at = self.now() if at is None else at
        with self.lock:
            task = self.add(
                "tasks",
                {
                    "id": self.next_id(),
                    "created_by": responsible_user_id,
                    "updated_by": responsible_user_id,
                    "created_at": at,
                    "updated_at": at,
                    "responsible_user_id": responsible_user_id,
                    "group_id": self.group_of(responsible_user_id),
                    "entity_id": entity_id,
                    "entity_type": entity_type,
                    "duration": 0,
                    "is_completed": False,
                    "task_type_id": task_type_id,
                    "text": text,
                    "result": [],
                    "complete_till": complete_till,
                    "account_id": self.account["id"],
                },
            )
            if emit:
                self.add_event("task_added", "task", task["id"], responsible_user_id, at=at)
        return task

    def move_lead_status(
        self,
        lead_id: int,
        status_id: int,
        by: int,
        pipeline_id: int | None = None,
        at: int | None = None,
        loss_reason_id: int | None = None,
    ) -> Item:
        """Change a lead's stage; entering 142/143 sets `closed_at`, leaving them clears it."""
        at = self.now() if at is None else at
        with self.lock:
            lead = self.entities["leads"][lead_id]
            before = {"id": lead["status_id"], "pipeline_id": lead["pipeline_id"]}
            lead["pipeline_id"] = pipeline_id or lead["pipeline_id"]
            lead["status_id"] = status_id
            lead["updated_at"], lead["updated_by"] = at, by
            lead["closed_at"] = at if status_id in (WON, LOST) else None
            lead["loss_reason_id"] = loss_reason_id if status_id == LOST else None
            after = {"id": status_id, "pipeline_id": lead["pipeline_id"]}
            self.add_event(
                "lead_status_changed",
                "lead",
                lead_id,
                by,
                [{"lead_status": after}],
                [{"lead_status": before}],
                at,
            )
        return lead

    #: The name the client tests and the demo call it by.
    move_lead = move_lead_status

    def change_responsible(
        self, lead_id: int, user_id: int, by: int, at: int | None = None
    ) -> Item:
        at = self.now() if at is None else at
        with self.lock:
            lead = self.entities["leads"][lead_id]
            before = lead["responsible_user_id"]
            lead["responsible_user_id"], lead["group_id"] = user_id, self.group_of(user_id)
            lead["updated_at"], lead["updated_by"] = at, by
            self.add_event(
                "entity_responsible_changed",
                "lead",
                lead_id,
                by,
                [{"responsible_user": {"id": user_id}}],
                [{"responsible_user": {"id": before}}],
                at,
            )
        return lead

    def complete_task(
        self, task_id: int, by: int, at: int | None = None, result: str = "Выполнено"
    ) -> Item:
        """Close a task; its completion time lives only in the `task_completed` event."""
        at = self.now() if at is None else at
        with self.lock:
            task = self.entities["tasks"][task_id]
            task["is_completed"], task["result"] = True, {"text": result}
            task["updated_at"], task["updated_by"] = at, by
            self.add_event("task_completed", "task", task_id, by, at=at)
        return task

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
        source: str = "Emulated PBX",
        *,
        names_caller: bool = True,
        responsible: int | None = None,
        uniq: str | None = None,
    ) -> Item:
        """Log a call like POST /api/v4/calls: a `call_in`/`call_out` note plus its feed event.

        `user_id` made the call (out) or took it (in). A telephony that `names_caller` puts them
        in `params.call_responsible`; one that does not leaves it out, and then, as real
        accounts show, an outgoing note's `responsible_user_id` is someone else (`responsible`:
        the card's owner, say) while `created_by` is the caller. A call that was not answered
        has no recording: `link` is null.
        """
        at = self.now() if at is None else at
        incoming = direction in ("in", "inbound")
        with self.lock:
            note_id = self.next_id()
            uniq = uniq or str(uuid.UUID(int=(note_id * _SCRAMBLE ^ at << 64) & _LOW128, version=4))
            owner = user_id if responsible is None else responsible
            params: Item = {
                "uniq": uniq,
                "duration": duration,
                "source": source,
                "link": f"https://records.example.test/{uniq}.mp3"
                if duration and call_status == 4
                else None,
                "phone": phone,
                "call_result": CALL_RESULTS.get(call_status, ""),
                "call_status": call_status,
            }
            if names_caller:
                params["call_responsible"] = user_id
            note = self.add_note(
                entity,
                {
                    "id": note_id,
                    "entity_id": entity_id,
                    "created_by": user_id,
                    "updated_by": user_id,
                    "created_at": at,
                    "updated_at": at,
                    "responsible_user_id": owner,
                    "group_id": self.group_of(owner),
                    "note_type": "call_in" if incoming else "call_out",
                    "account_id": self.account["id"],
                    "params": params,
                },
            )
            self.add_event(
                "incoming_call" if incoming else "outgoing_call",
                SINGULAR[entity],
                entity_id,
                user_id,
                [{"note": {"id": note_id}}],
                at=at,
            )
        return note

    def delete_lead(self, lead_id: int, by: int, at: int | None = None) -> Item:
        """Hide a lead from lists and `GET /leads/{id}`; it stays under `with=only_deleted`."""
        return self._set_deleted("leads", lead_id, by, at, deleted=True)

    def restore_lead(self, lead_id: int, by: int, at: int | None = None) -> Item:
        return self._set_deleted("leads", lead_id, by, at, deleted=False)

    def delete_task(self, task_id: int, by: int, at: int | None = None) -> Item:
        """A deleted task vanishes from lists; only its `task_deleted` event tells."""
        return self._set_deleted("tasks", task_id, by, at, deleted=True)

    def _set_deleted(self, kind: str, item_id: int, by: int, at: int | None, deleted: bool) -> Item:
        at = self.now() if at is None else at
        with self.lock:
            item = self.entities[kind][item_id]
            item["is_deleted"] = deleted
            item["updated_at"], item["updated_by"] = at, by
            event = f"{SINGULAR[kind]}_{'deleted' if deleted else 'restored'}"
            self.add_event(event, SINGULAR[kind], item_id, by, at=at)
        return item

    def log_calls(self, calls: list[Item], by: int) -> tuple[list[Item], list[Item]]:
        """POST /api/v4/calls: attach each call by phone (lead → contact/company card rule).

        A refused call is `{"request_id", "errors": [{"code", "path", "detail"}]}`, the shape of
        amoCRM's validation errors.
        """
        added, errors = [], []
        with self.lock:
            for index, call in enumerate(calls):
                call = call if isinstance(call, dict) else {}
                request_id = str(call.get("request_id", index))
                problem, target = self._check_call(call)
                if target is None:
                    code, path, detail = problem
                    errors.append(
                        {
                            "request_id": request_id,
                            "errors": [{"code": code, "path": path, "detail": detail}],
                        }
                    )
                    continue
                user = int(
                    call.get("call_responsible")
                    or call.get("responsible_user_id")
                    or call.get("created_by")
                    or by
                )
                note = self.add_call(
                    target[0],
                    target[1],
                    user,
                    str(call["direction"]),
                    str(call["phone"]),
                    int(call["duration"]),
                    int(call.get("call_status") or 4),
                    at=int(call["created_at"]) if call.get("created_at") else None,
                    source=str(call["source"]),
                    names_caller="call_responsible" in call,
                    uniq=str(call["uniq"]) if call.get("uniq") else None,
                )
                added.append(
                    {
                        "id": note["id"],
                        "entity_id": target[1],
                        "entity_type": target[0],
                        "account_id": self.account["id"],
                        "request_id": request_id,
                    }
                )
        return added, errors

    def _check_call(self, call: Item) -> tuple[tuple[str, str, str], tuple[str, int] | None]:
        """((code, path, why not), None) for a call amoCRM would refuse, else where it goes."""
        missing = [k for k in ("direction", "duration", "source", "phone") if k not in call]
        if missing:
            return ("NotBlank", missing[0], "This value should not be blank."), None
        for key in (
            "duration",
            "call_status",
            "created_at",
            "responsible_user_id",
            "created_by",
            "call_responsible",
        ):
            try:
                int(call.get(key) or 0)
            except (TypeError, ValueError):
                return ("InvalidType", key, "This value should be of type int."), None
        if call["direction"] not in ("inbound", "outbound"):
            choice = "The value you selected is not a valid choice."
            return ("NotSupportedChoice", "direction", choice), None
        target = self._call_target(str(call["phone"]))
        if target is None:
            return ("NotFound", "phone", "no contact or company with this phone"), None
        return ("", "", ""), target

    def _call_target(self, phone: str) -> tuple[str, int] | None:
        """A single active lead of the caller's card wins; else the card itself; else nothing."""
        wanted = phone_digits(phone)
        if not wanted:
            return None
        for kind in ("contacts", "companies"):
            for card in self.entities[kind].values():
                if card.get("is_deleted") or wanted not in _phones(card):
                    continue
                active = [
                    lead["id"]
                    for lead in self.entities["leads"].values()
                    if not lead.get("is_deleted")
                    and lead.get("status_id") not in (WON, LOST)
                    and any(
                        link.get("id") == card["id"]
                        for link in (lead.get("_embedded") or {}).get(kind) or []
                    )
                ]
                return ("leads", active[0]) if len(active) == 1 else (kind, card["id"])
        return None


def _phones(card: Item) -> set[str]:
    return {
        phone_digits(value.get("value"))
        for field in card.get("custom_fields_values") or []
        if field.get("field_code") == "PHONE"
        for value in field.get("values") or []
    }

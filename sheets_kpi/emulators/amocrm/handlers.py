"""amoCRM API v4 endpoints over the account state: HAL pages, dictionaries, 204s, item shapes.

Each method mirrors one endpoint of AMOCRM_API.md §5; `routes.py` picks the method by URL and
wraps it in auth, the rate limit and faults. docs/emulator-amocrm.md maps both to the facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sheets_kpi.emulators.amocrm import query as q
from sheets_kpi.emulators.amocrm.state import AmoState
from sheets_kpi.emulators.server import Request, Response

Item = dict[str, Any]
HAL = "application/hal+json"
PROBLEM = "application/problem+json"
DEFAULT_LIMIT, MAX_LIMIT, EVENTS_MAX_LIMIT, EVENTS_QUIRK_LIMIT = 50, 250, 100, 50
TASK_TYPES = [
    {"id": 1, "name": "Связаться", "color": None, "icon_id": None, "code": "FOLLOW_UP"},
    {"id": 2, "name": "Встреча", "color": None, "icon_id": None, "code": "MEETING"},
]
#: `GET /api/v4/account` extras by their `with=` name (docs: crm_platform/account-info).
ACCOUNT_WITH = {
    "amojo_id": "00000000-0000-4000-8000-0000000a0a0a",
    "uuid": "00000000-0000-4000-8000-0000000a0a0b",
    "version": 16,
    "drive_url": "https://drive-b.amocrm.ru",
    "is_api_filter_enabled": True,
}
ACCOUNT_EMBEDDED_WITH = {
    "amojo_rights": {"can_direct": True, "can_create_groups": True},
}
DATETIME_SETTINGS = {
    "date_pattern": "{{date}} {{time}}",
    "short_date_pattern": "{{date}}",
    "short_time_pattern": "{{time}}",
    "date_format": "d.m.Y",
    "time_format": "H:i",
    "timezone": "Europe/Moscow",
    "timezone_offset": "+03:00",
}
#: amoCRM's 404 detail for an unknown pipeline, unlike the 204 of other unknown ids.
PIPELINE_NOT_FOUND = "Pipeline not found"
#: `with=<entity>_name` on events adds `_embedded.entity` for that entity type.
_NAMED = {"lead": "leads", "contact": "contacts", "company": "companies"}
EVENT_TYPE_NAMES = {
    "lead_added": "Новая сделка",
    "lead_deleted": "Сделка удалена",
    "lead_restored": "Сделка восстановлена",
    "lead_status_changed": "Изменение этапа продажи",
    "entity_responsible_changed": "Ответственный изменен",
    "incoming_call": "Входящий звонок",
    "outgoing_call": "Исходящий звонок",
    "task_added": "Новая задача",
    "task_completed": "Задача завершена",
    "task_deleted": "Задача удалена",
}
EVENT_TYPE_NAMES_EN = {
    "lead_added": "New lead",
    "lead_deleted": "Lead deleted",
    "lead_restored": "Lead restored",
    "lead_status_changed": "Lead status changed",
    "entity_responsible_changed": "Responsible changed",
    "incoming_call": "Incoming call",
    "outgoing_call": "Outgoing call",
    "task_added": "New task",
    "task_completed": "Task completed",
    "task_deleted": "Task deleted",
}
#: `with=entity_names`: how the account names its leads (amoCRM's defaults).
ENTITY_NAMES = {
    "leads": {
        "ru": {
            "gender": "f",
            "plural_form": {
                "dative": "сделкам",
                "default": "сделки",
                "genitive": "сделок",
                "accusative": "сделки",
                "instrumental": "сделками",
                "prepositional": "сделках",
            },
            "singular_form": {
                "dative": "сделке",
                "default": "сделка",
                "genitive": "сделки",
                "accusative": "сделку",
                "instrumental": "сделкой",
                "prepositional": "сделке",
            },
        },
        "en": {
            "singular_form": {"default": "lead"},
            "plural_form": {"default": "leads"},
            "gender": "f",
        },
        "es": {
            "singular_form": {"default": "acuerdo"},
            "plural_form": {"default": "acuerdos"},
            "gender": "m",
        },
    }
}


def json_response(status: int, payload: Any, content_type: str = HAL) -> Response:
    return Response.json(status, payload, content_type)


def problem(status: int, title: str, detail: str, type_: str = "") -> Response:
    body = {
        "title": title,
        "type": type_ or f"https://httpstatus.es/{status}",
        "status": status,
        "detail": detail,
    }
    return json_response(status, body, PROBLEM)


@dataclass
class Api:
    """The GET (and POST /calls) endpoints; `next_on_full_page` keeps amoCRM's extra next link."""

    state: AmoState
    next_on_full_page: bool = True

    def account(self, request: Request, token: str) -> Response:
        with_ = q.with_values(request.query)
        body = dict(self.state.account)
        body["current_user_id"] = self.state.tokens.owners.get(
            token, body.get("current_user_id", 0)
        )
        body.update({k: v for k, v in ACCOUNT_WITH.items() if k in with_})
        if "entity_names" in with_:
            body["entity_names"] = ENTITY_NAMES
        embedded: Item = {k: v for k, v in ACCOUNT_EMBEDDED_WITH.items() if k in with_}
        if "users_groups" in with_:
            embedded["users_groups"] = self.state.groups
        if "task_types" in with_:
            embedded["task_types"] = TASK_TYPES
        if "datetime_settings" in with_:
            embedded["datetime_settings"] = DATETIME_SETTINGS
        body["_embedded"] = embedded
        body["_links"] = {"self": {"href": f"{request.base_url}/api/v4/account"}}
        return json_response(200, body)

    def users(self, request: Request) -> Response:
        users = sorted(self.state.users.values(), key=lambda u: u["id"])
        return self.page(request, "users", users, lambda u: self._user(u, request), totals=True)

    def user(self, request: Request, user_id: str) -> Response:
        user = self.state.users.get(int(user_id))
        return json_response(200, self._user(user, request)) if user else Response(204)

    def pipelines(self, request: Request) -> Response:
        items = [_pipeline(request, p) for p in self.state.pipelines.values()]
        return dictionary(request, "pipelines", items)

    def pipeline(self, request: Request, pipeline_id: str) -> Response:
        pipeline = self.state.pipelines.get(int(pipeline_id))
        if pipeline is None:
            return problem(404, "Not Found", PIPELINE_NOT_FOUND)
        return json_response(200, _pipeline(request, pipeline))

    def statuses(self, request: Request, pipeline_id: str, status_id: str = "") -> Response:
        pipeline = self.state.pipelines.get(int(pipeline_id))
        if pipeline is None:
            return problem(404, "Not Found", PIPELINE_NOT_FOUND)
        statuses = _pipeline(request, pipeline)["_embedded"]["statuses"]
        if not status_id:
            return dictionary(request, "statuses", statuses)
        status = next((s for s in statuses if str(s["id"]) == status_id), None)
        return json_response(200, status) if status else Response(204)

    def loss_reasons(self, request: Request) -> Response:
        return dictionary(
            request, "loss_reasons", [_loss_reason(request, r) for r in self._reasons]
        )

    def custom_fields(self, request: Request, entity: str) -> Response:
        """Field definitions: paged, with `_total_items` and `_page_count` (docs:
        crm_platform/custom-fields)."""
        fields = self.state.custom_fields.get(entity, [])
        return self.page(
            request,
            "custom_fields",
            fields,
            lambda f: _self(request, f"{entity}/custom_fields/{f['id']}", f),
            totals=True,
        )

    def entities(self, request: Request, kind: str) -> Response:
        items = self.state.select(kind, request.query)
        return self.page(request, kind, items, lambda i: self._entity(kind, i, request))

    def entity(self, request: Request, kind: str, item_id: str) -> Response:
        item = self.state.get(kind, int(item_id))
        if item is None:
            return Response(204)
        return json_response(200, self._entity(kind, item, request))

    def notes(self, request: Request, entity: str, entity_id: str = "") -> Response:
        query = request.query + ([("filter[entity_id]", entity_id)] if entity_id else [])
        items = self.state.select("notes", query, entity)
        return self.page(request, "notes", items, lambda n: _note(request, entity, n))

    def note(self, request: Request, entity: str, note_id: str) -> Response:
        note = self.state.get_note(entity, int(note_id))
        if note is None:
            return Response(204)
        return json_response(200, _note(request, entity, note))

    def card_note(self, request: Request, entity: str, entity_id: str, note_id: str) -> Response:
        """A note by the path its `_links.self` names, `/{entity}/{entity_id}/notes/{id}`."""
        note = self.state.get_note(entity, int(note_id))
        if note is None or str(note.get("entity_id")) != entity_id:
            return Response(204)
        return json_response(200, _note(request, entity, note))

    def events(self, request: Request) -> Response:
        items = self.state.select("events", request.query)
        return self.page(request, "events", items, lambda e: self._event(e, request))

    def event(self, request: Request, event_id: str) -> Response:
        event = self.state.get_event(event_id)
        return json_response(200, self._event(event, request)) if event else Response(204)

    def event_types(self, request: Request) -> Response:
        lang = request.first("language_code", "ru")
        names = EVENT_TYPE_NAMES if lang == "ru" else EVENT_TYPE_NAMES_EN
        items = [{"key": k, "type": i, "lang": v} for i, (k, v) in enumerate(names.items(), 1)]
        return dictionary(request, "events_types", items)

    def calls(self, request: Request, token: str) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, list) or not body:
            return problem(400, "Bad Request", "Request data can not be empty")
        by = self.state.tokens.owners.get(token, self.state.account.get("current_user_id", 0))
        added, errors = self.state.log_calls(body, by)
        if not added:
            return json_response(
                400,
                {
                    "title": "Bad Request",
                    "type": "https://httpstatus.es/400",
                    "status": 400,
                    "detail": "Request validation failed",
                    "validation-errors": errors,
                },
                PROBLEM,
            )
        calls = [
            {
                **c,
                "_embedded": {
                    "entity": _self(
                        request, f"{c['entity_type']}/{c['entity_id']}", {"id": c["entity_id"]}
                    )
                },
            }
            for c in added
        ]
        payload = {"_total_items": len(calls), "_embedded": {"calls": calls, "errors": errors}}
        return json_response(200, payload)

    def page(
        self,
        request: Request,
        key: str,
        items: list[Item],
        render: Callable[[Item], Item],
        totals: bool = False,
    ) -> Response:
        """One HAL page; past the end (or nothing at all) is 204 with an empty body. `totals`
        adds `_total_items` and `_page_count`, which users and custom fields pages carry."""
        page = max(1, _int(request.first("page"), 1))
        asked = _int(request.first("limit"), DEFAULT_LIMIT)
        quirk = key == "events" and asked > EVENTS_MAX_LIMIT
        limit = EVENTS_QUIRK_LIMIT if quirk else max(1, min(asked, MAX_LIMIT))
        chunk = items[(page - 1) * limit : page * limit]
        if not chunk:
            return Response(204)
        more = len(items) > page * limit or (self.next_on_full_page and len(chunk) == limit)
        links = {"self": {"href": _href(request, page, limit)}}
        if more and not quirk:
            links["next"] = {"href": _href(request, page + 1, limit)}
        if page > 1:
            links["prev"] = {"href": _href(request, page - 1, limit)}
        body: Item = {"_page": page, "_links": links}
        if totals:
            body = {"_total_items": len(items), **body, "_page_count": -(-len(items) // limit)}
        body["_embedded"] = {key: [render(i) for i in chunk]}
        return json_response(200, body)

    def _entity(self, kind: str, item: Item, request: Request) -> Item:
        """Links to linked cards: a lead's and a company's contacts only under `with=contacts`,
        the leads of a contact or a company only under `with=leads`, the companies always;
        `with=customers` on a contact lists none (customers are not emulated)."""
        out = _self(request, f"{kind}/{item['id']}", item)
        if kind == "tasks":
            return out
        with_ = q.with_values(request.query)
        stored = item.get("_embedded") or {}
        linked = [] if kind == "companies" else ["companies"]
        if kind in ("leads", "companies") and "contacts" in with_:
            linked.append("contacts")
        embedded: Item = {"tags": stored.get("tags") or []}
        if kind == "contacts" and "customers" in with_:
            embedded["customers"] = []
        for other in linked:
            cards = stored.get(other) or []
            embedded[other] = [_self(request, f"{other}/{card['id']}", card) for card in cards]
        if kind in ("contacts", "companies") and "leads" in with_:
            embedded["leads"] = [
                _self(request, f"leads/{lead_id}", {"id": lead_id})
                for lead_id in self.state.leads_of(kind, item["id"])
            ]
        if kind == "leads" and "loss_reason" in with_:
            reason = item.get("loss_reason_id")
            embedded["loss_reason"] = [
                _loss_reason(request, r) for r in self._reasons if r["id"] == reason
            ]
        out["_embedded"] = embedded
        return out

    @property
    def _reasons(self) -> list[Item]:
        return self.state.loss_reasons

    def _user(self, user: Item, request: Request) -> Item:
        with_ = q.with_values(request.query)
        out = {k: v for k, v in user.items() if k not in ("rank", "_embedded")}
        embedded: Item = {}
        if "role" in with_:
            embedded["roles"] = []
        if "group" in with_:  # {id, name}: no uuid here, unlike the account's users_groups
            group_id = (user.get("rights") or {}).get("group_id")
            embedded["groups"] = [
                {"id": g["id"], "name": g["name"]} for g in self.state.groups if g["id"] == group_id
            ]
        if "user_rank" in with_:
            out["rank"] = user.get("rank")
        if embedded:
            out["_embedded"] = embedded
        return _self(request, f"users/{user['id']}", out)

    def _event(self, event: Item, request: Request) -> Item:
        """Every event links its entity (`_embedded.entity {id, _links}`), asked or not;
        `with=<entity>_name` adds the name."""
        out = _self(request, f"events/{event['id']}", event)
        kind = _NAMED.get(event["entity_type"]) or f"{event['entity_type']}s"
        entity: Item = {"id": event["entity_id"]}
        if f"{event['entity_type']}_name" in q.with_values(request.query):
            entity["name"] = (self.state.entities[kind].get(event["entity_id"]) or {}).get("name")
        out["_embedded"] = {"entity": _self(request, f"{kind}/{event['entity_id']}", entity)}
        return out


def dictionary(request: Request, key: str, items: list[Item]) -> Response:
    """A non-paged list (pipelines, custom fields, loss reasons): `_total_items`, never 204."""
    body = {
        "_total_items": len(items),
        "_links": {"self": {"href": f"{request.base_url}{request.path}"}},
        "_embedded": {key: items},
    }
    return json_response(200, body)


def _pipeline(request: Request, pipeline: Item) -> Item:
    """A pipeline with its statuses, each linking itself (`…/pipelines/{id}/statuses/{id}`)."""
    path = f"leads/pipelines/{pipeline['id']}"
    statuses = (pipeline.get("_embedded") or {}).get("statuses") or []
    out = _self(request, path, pipeline)
    out["_embedded"] = {
        **(pipeline.get("_embedded") or {}),
        "statuses": [_self(request, f"{path}/statuses/{s['id']}", s) for s in statuses],
    }
    return out


def _loss_reason(request: Request, reason: Item) -> Item:
    return _self(request, f"leads/loss_reasons/{reason['id']}", reason)


def _note(request: Request, entity: str, note: Item) -> Item:
    """A note links itself under its card (`/leads/{entity_id}/notes/{id}`); `is_pinned` only
    under `with=is_pinned`."""
    out = _self(request, f"{entity}/{note['entity_id']}/notes/{note['id']}", note)
    if "is_pinned" in q.with_values(request.query):
        out["is_pinned"] = bool(note.get("is_pinned"))
    return out


def _self(request: Request, path: str, item: Item) -> Item:
    return {**item, "_links": {"self": {"href": f"{request.base_url}/api/v4/{path}"}}}


def _href(request: Request, page: int, limit: int) -> str:
    query = [(k, v) for k, v in request.query if k != "page"]
    if not any(k == "limit" for k, _ in query):
        query.append(("limit", str(limit)))
    return (
        f"{request.base_url}{request.path}?{urlencode([*query, ('page', str(page))], safe='[],')}"
    )


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default

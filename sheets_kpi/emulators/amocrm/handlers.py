"""HTTP ↔ state for the amoCRM emulator: routes, HAL pages, 204s, real error bodies, limits.

Each handler mirrors one amoCRM API v4 endpoint (see docs/emulator-amocrm.md).
"""

from __future__ import annotations

import collections
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sheets_kpi.emulators.amocrm import query as q
from sheets_kpi.emulators.amocrm.state import AmoState
from sheets_kpi.emulators.server import Request, Response

HAL = "application/hal+json"
PROBLEM = "application/problem+json"
DEFAULT_LIMIT, MAX_LIMIT, EVENTS_MAX_LIMIT, EVENTS_QUIRK_LIMIT = 50, 250, 100, 50


@dataclass
class Faults:
    """Seeded fault plan: probabilities of 429 / 500 / 502 / connection reset / slow answers."""

    rates: dict[str, float] = field(default_factory=dict)
    retry_after: float = 1.0
    slow_seconds: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> Faults:
        """`429=0.05,500=0.02,reset=0.01,slow=0.05`"""
        rates = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            if name not in ("429", "500", "502", "503", "reset", "slow"):
                raise ValueError(
                    f"unknown fault {name!r}; expected 429, 500, 502, 503, reset, slow"
                )
            rates[name] = float(value)
        return cls(rates, seed=seed)

    def draw(self) -> str | None:
        roll = self._rng.random()
        for name, rate in self.rates.items():
            if roll < rate:
                return name
            roll -= rate
        return None


class AmoApp:
    """The emulator application: `app(request) -> response`."""

    def __init__(
        self,
        state: AmoState,
        rps: float = 7,
        faults: Faults | None = None,
        next_on_full_page: bool = True,
    ) -> None:
        self.state = state
        self.rps = rps
        self.faults = faults or Faults()
        self.next_on_full_page = next_on_full_page
        self._recent: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if request.path.startswith("/_emulator/"):
            return self._control(request)
        if request.path == "/oauth2/access_token" and request.method == "POST":
            return self._token(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not self.state.tokens.valid_bearer(token, self.state.now()):
            return _problem(
                401, "Unauthorized", "Неверный логин или пароль", "https://httpstatus.es/401"
            )
        if self._over_limit(token):
            response = _problem(
                429, "Too Many Requests", "Превышен лимит запросов", "https://httpstatus.es/429"
            )
            response.headers["Retry-After"] = "1"
            return response
        fault = self.faults.draw()
        if fault in ("429", "500", "502", "503"):
            response = _problem(
                int(fault),
                "Internal Server Error" if fault != "429" else "Too Many Requests",
                "An unknown error occurred.",
                f"https://httpstatus.es/{fault}",
            )
            if fault == "429":
                response.headers["Retry-After"] = f"{self.faults.retry_after:g}"
            return response
        if fault == "reset":
            return Response(0, drop_connection=True)
        try:
            response = self._route(request)
        except q.BadQuery as err:
            response = _problem(400, "Bad Request", str(err), "https://httpstatus.es/400")
        if fault == "slow":
            response.delay_seconds = self.faults.slow_seconds
        response.headers.setdefault("X-Request-Id", uuid.uuid4().hex)
        return response

    def _over_limit(self, token: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = self._recent[token]
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= self.rps:
                return True
            recent.append(now)
            return False

    def _route(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if request.method != "GET":
            return _problem(
                405, "Method Not Allowed", "Only GET is emulated", "https://httpstatus.es/405"
            )
        if path == "/api/v4/account":
            return self._account(request)
        if path == "/api/v4/leads/pipelines":
            return self._pipelines(request)
        if match := re.fullmatch(r"/api/v4/(leads|contacts|companies)/custom_fields", path):
            fields = self.state.custom_fields.get(match[1], [])
            return _dictionary(request, "custom_fields", fields)
        if path == "/api/v4/users":
            users = sorted(self.state.users.values(), key=lambda u: u["id"])
            return self._page(request, "users", [self._user(u, request) for u in users])
        if match := re.fullmatch(r"/api/v4/(leads|contacts|companies|tasks|events)", path):
            kind = match[1]
            items = self.state.select(kind, request.query)
            return self._page(request, kind, items, render=lambda i: self._render(kind, i, request))
        if match := re.fullmatch(r"/api/v4/(leads|contacts|companies)/notes", path):
            items = self.state.select("notes", request.query, match[1])
            return self._page(request, "notes", items)
        if match := re.fullmatch(r"/api/v4/(leads|contacts|companies)/(\d+)/notes", path):
            query = [*request.query, ("filter[entity_id]", match[2])]
            return self._page(request, "notes", self.state.select("notes", query, match[1]))
        if match := re.fullmatch(r"/api/v4/(leads|contacts|companies|tasks)/(\d+)", path):
            item = self.state.get(match[1], int(match[2]))
            if item is None:
                return Response(204)
            return _json(200, self._render(match[1], item, request))
        return _problem(404, "Not Found", f"No route for {path}", "https://httpstatus.es/404")

    def _page(self, request: Request, key: str, items: list[dict], render: Any = None) -> Response:
        page = max(1, _int(request.first("page"), 1))
        asked = _int(request.first("limit"), DEFAULT_LIMIT)
        quirk = key == "events" and asked > EVENTS_MAX_LIMIT
        limit = EVENTS_QUIRK_LIMIT if quirk else max(1, min(asked, MAX_LIMIT))
        chunk = items[(page - 1) * limit : page * limit]
        if not chunk:
            return Response(204)
        more = len(items) > page * limit or (self.next_on_full_page and len(chunk) == limit)
        links = {"self": {"href": _href(request, page)}}
        if more and not quirk:
            links["next"] = {"href": _href(request, page + 1)}
        if page > 1:
            links["prev"] = {"href": _href(request, page - 1)}
        rendered = [render(i) if render else _with_self(request, key, i) for i in chunk]
        return _json(200, {"_page": page, "_links": links, "_embedded": {key: rendered}})

    def _render(self, kind: str, item: dict, request: Request) -> dict:
        out = _with_self(request, kind, item)
        if kind == "leads":
            with_ = set(",".join(v for k, v in request.query if k == "with").split(","))
            embedded = dict(out.get("_embedded") or {})
            if "contacts" not in with_:
                embedded.pop("contacts", None)
            out["_embedded"] = embedded
        return out

    def _user(self, user: dict, request: Request) -> dict:
        with_ = set(",".join(v for k, v in request.query if k == "with").split(","))
        out = {k: v for k, v in user.items() if k not in ("rank",)}
        embedded: dict[str, Any] = {"roles": []}
        if "group" in with_:
            group_id = user.get("rights", {}).get("group_id")
            embedded["groups"] = [g for g in self.state.groups if g["id"] == group_id]
        if "user_rank" in with_:
            out["rank"] = user.get("rank")
        out["_embedded"] = embedded
        return _with_self(request, "users", out)

    def _account(self, request: Request) -> Response:
        with_ = set(",".join(v for k, v in request.query if k == "with").split(","))
        body = dict(self.state.account)
        embedded: dict[str, Any] = {}
        if "users_groups" in with_:
            embedded["users_groups"] = self.state.groups
        if "task_types" in with_:
            embedded["task_types"] = [
                {"id": 1, "name": "Связаться", "color": None, "icon_id": None, "code": "FOLLOW_UP"},
                {"id": 2, "name": "Встреча", "color": None, "icon_id": None, "code": "MEETING"},
            ]
        if "datetime_settings" in with_:
            embedded["datetime_settings"] = {
                "date_format": "d.m.Y",
                "time_format": "H:i",
                "timezone": "Europe/Moscow",
                "timezone_offset": "+03:00",
            }
        body["_embedded"] = embedded
        body["_links"] = {"self": {"href": f"{request.base_url}/api/v4/account"}}
        return _json(200, body)

    def _pipelines(self, request: Request) -> Response:
        return _dictionary(request, "pipelines", list(self.state.pipelines.values()))

    def _token(self, request: Request) -> Response:
        if "json" in request.headers.get("content-type", ""):
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                body = {}
        else:
            body = dict(parse_qsl(request.body.decode()))
        with self.state.lock:
            status, payload = self.state.tokens.grant(body, self.state.now())
        return _json(status, payload, content_type="application/json" if status == 200 else PROBLEM)

    def _control(self, request: Request) -> Response:
        body = request.json() if request.body else {}
        if request.path == "/_emulator/clock" and request.method == "POST":
            if "now" in body:
                self.state.fixed_now, self.state.clock_offset = int(body["now"]), 0.0
            self.state.advance(float(body.get("advance", 0)))
            return _json(200, {"now": self.state.now()})
        if request.path == "/_emulator/faults" and request.method == "POST":
            self.faults = Faults(
                {k: float(v) for k, v in body.items() if k != "retry_after"},
                retry_after=float(body.get("retry_after", 1)),
                seed=int(body.get("seed", 0)),
            )
            return _json(200, {"faults": self.faults.rates})
        if request.path == "/_emulator/snapshot":
            return _json(200, self.state.snapshot())
        return _problem(404, "Not Found", request.path, "https://httpstatus.es/404")


def _dictionary(request: Request, key: str, items: list[dict]) -> Response:
    body = {
        "_total_items": len(items),
        "_links": {"self": {"href": f"{request.base_url}{request.path}"}},
        "_embedded": {key: items},
    }
    return _json(200, body)


def _with_self(request: Request, kind: str, item: dict) -> dict:
    href = f"{request.base_url}{request.path.rstrip('/')}"
    if not href.endswith(f"/{item['id']}"):
        href = f"{href}/{item['id']}"
    return {**item, "_links": {"self": {"href": href}}}


def _href(request: Request, page: int) -> str:
    query = [(k, v) for k, v in request.query if k != "page"] + [("page", str(page))]
    return f"{request.base_url}{request.path}?{urlencode(query)}"


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _json(status: int, payload: Any, content_type: str = HAL) -> Response:
    return Response.json(status, payload, content_type)


def _problem(status: int, title: str, detail: str, type_: str) -> Response:
    return _json(
        status, {"title": title, "type": type_, "status": status, "detail": detail}, PROBLEM
    )

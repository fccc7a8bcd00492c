"""The emulator as an `App`: URL table, auth, rate limit, faults, request ids and control plane.

Order per API request, as amoCRM appears to do it: bearer check (401), rate limit (429, or the
HTML 403 block), then the seeded fault plan, then the endpoint. The control plane under
`/_emulator/` is never limited nor faulted.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sheets_kpi.emulators.amocrm.handlers import PROBLEM, Api, json_response, problem
from sheets_kpi.emulators.amocrm.limits import Faults, RateLimiter
from sheets_kpi.emulators.amocrm.query import BadQuery
from sheets_kpi.emulators.amocrm.state import DEMO_CLIENT_ID, AmoState
from sheets_kpi.emulators.amocrm.tokens import CODE_LIFETIME
from sheets_kpi.emulators.server import Request, Response

log = logging.getLogger(__name__)

_E = r"(leads|contacts|companies)"
_ID = r"(\d+)"
#: (method, path pattern, Api method, passes the bearer token)
ROUTES: list[tuple[str, re.Pattern[str], str, bool]] = [
    (method, re.compile(f"/api/v4/{pattern}"), name, token)
    for method, pattern, name, token in (
        ("GET", "account", "account", True),
        ("GET", "users", "users", False),
        ("GET", f"users/{_ID}", "user", False),
        ("GET", "leads/pipelines", "pipelines", False),
        ("GET", f"leads/pipelines/{_ID}", "pipeline", False),
        ("GET", f"leads/pipelines/{_ID}/statuses", "statuses", False),
        ("GET", f"leads/pipelines/{_ID}/statuses/{_ID}", "statuses", False),
        ("GET", "leads/loss_reasons", "loss_reasons", False),
        ("GET", f"{_E}/custom_fields", "custom_fields", False),
        ("GET", f"{_E}/notes", "notes", False),
        ("GET", f"{_E}/notes/{_ID}", "note", False),
        ("GET", f"{_E}/{_ID}/notes", "notes", False),
        ("GET", f"{_E}/{_ID}/notes/{_ID}", "card_note", False),
        ("GET", "events", "events", False),
        ("GET", "events/types", "event_types", False),
        ("GET", "events/([0-9a-z]+)", "event", False),
        ("GET", "(leads|contacts|companies|tasks)", "entities", False),
        ("GET", f"(leads|contacts|companies|tasks)/{_ID}", "entity", False),
        ("POST", "calls", "calls", True),
    )
]
UNAUTHORIZED = ("Unauthorized", "Неверный логин или пароль")
NGINX_403 = (
    b"<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
    b"<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class AmoApp:
    """The emulator application: `app(request) -> response`."""

    def __init__(
        self,
        state: AmoState,
        rps: float = 7,
        faults: Faults | None = None,
        next_on_full_page: bool = True,
        retry_after: float | None = 1,
        block_after: int | None = None,
    ) -> None:
        self.state = state
        self.api = Api(state, next_on_full_page)
        self.limiter = RateLimiter(rps, retry_after, block_after)
        self.faults = faults or Faults()
        self._initial_faults = self.faults.describe()
        self.state.checkpoint()

    def __call__(self, request: Request) -> Response:
        try:
            response = self._handle(request)
        except Exception:
            log.exception("amoCRM emulator failed on %s %s", request.method, request.path)
            response = problem(500, "Internal Server Error", "An unknown error occurred.")
        response.headers.setdefault("X-Request-Id", uuid.uuid4().hex)
        return response

    def _handle(self, request: Request) -> Response:
        if request.path.startswith("/_emulator/"):
            return self._control(request)
        if request.path == "/oauth2/access_token" and request.method == "POST":
            if self.limiter.any_blocked():
                return Response(403, NGINX_403, {"Content-Type": "text/html"})
            return self._token(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        with self.state.lock:
            valid = self.state.tokens.valid_bearer(token, self.state.now())
        if not valid:
            return problem(401, *UNAUTHORIZED)
        verdict = self.limiter.check(token)
        if verdict == "403":
            return Response(403, NGINX_403, {"Content-Type": "text/html"})
        if verdict == "429":
            return self._too_many(self.limiter.retry_after)
        fault = self.faults.draw()
        if fault == "429":
            return self._too_many(self.faults.retry_after)
        if fault in ("500", "502", "503"):
            return problem(int(fault), "Internal Server Error", "An unknown error occurred.")
        if fault == "reset":
            return Response(0, drop_connection=True)
        if fault == "echo_auth":
            echoed = request.headers.get("authorization", "")
            return problem(400, "Bad Request", f"rejected headers: Authorization: {echoed}")
        try:
            with self.state.lock:
                response = self._route(request, token)
        except BadQuery as err:
            response = problem(400, "Bad Request", str(err))
        if fault == "slow":
            response.delay_seconds = self.faults.slow_seconds
        if fault == "drip":
            response.drip_seconds = self.faults.drip_seconds
        response.truncate = fault == "truncate"
        return response

    def _route(self, request: Request, token: str) -> Response:
        path = request.path.rstrip("/")
        allowed = False
        for method, pattern, name, with_token in ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            allowed = True
            if method != request.method:
                continue
            if name in ("users", "user") and not self.state.is_admin(token):
                return problem(403, "Forbidden", "Метод доступен только администраторам аккаунта")
            handler: Callable[..., Response] = getattr(self.api, name)
            args = [a for a in match.groups() if a is not None]
            return handler(request, token, *args) if with_token else handler(request, *args)
        if allowed:
            return problem(405, "Method Not Allowed", f"{request.method} is not emulated here")
        return problem(404, "Not Found", f"No route for {path}")

    def _code(self, body: dict[str, Any]) -> Response:
        """The `code` an admin's consent would send to the client's redirect URI."""
        client_id = str(body.get("client_id", DEMO_CLIENT_ID))
        if client_id not in self.state.tokens.clients:
            raise ValueError(f"no OAuth client {client_id}: POST /_emulator/oauth/clients first")
        user_id = body.get("user_id")
        if user_id is not None and int(user_id) not in self.state.users:
            raise ValueError(f"no user {user_id} in the account")
        code = self.state.mint_code(client_id, None if user_id is None else int(user_id))
        return json_response(200, {"code": code, "expires_in": CODE_LIFETIME}, "application/json")

    def _too_many(self, retry_after: float | None) -> Response:
        """As Kommo documents it: the wait in the body's `retry_after`, no Retry-After header."""
        body: dict[str, Any] = {
            "title": "Too Many Requests",
            "type": "https://httpstatus.es/429",
            "status": 429,
            "detail": "You have sent too many requests in a given amount of time. "
            "Please try again later.",
        }
        if retry_after is not None:
            body["retry_after"] = retry_after
        return json_response(429, body, PROBLEM)

    def _token(self, request: Request) -> Response:
        body: Any
        if "json" in request.headers.get("content-type", ""):
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                body = {}
        else:
            body = dict(parse_qsl(request.body.decode(errors="replace")))
        if not isinstance(body, dict):
            body = {}
        with self.state.lock:
            self.state.tokens.api_domain = urlsplit(request.base_url).netloc
            self.state.tokens.account_id = self.state.account["id"]
            status, payload = self.state.tokens.grant(body, self.state.now())
        return json_response(status, payload, "application/json" if status == 200 else PROBLEM)

    def _control(self, request: Request) -> Response:
        """The test control plane under `/_emulator/` (docs/emulator-amocrm.md)."""
        try:
            body = request.json() if request.body else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            with self.state.lock:
                return self._control_action(request.method, request.path, body)
        except (ValueError, TypeError) as err:
            return json_response(400, {"error": str(err)}, "application/json")

    def _control_action(self, method: str, path: str, body: dict[str, Any]) -> Response:
        state = self.state
        if path == "/_emulator/clock":
            with state.lock:
                if method == "POST" and "now" in body:
                    state.set_now(None if body["now"] is None else int(body["now"]))
                if method == "POST":
                    state.advance(float(body.get("advance", 0)))
                return json_response(
                    200,
                    {"now": state.now(), "pinned": state.fixed_now is not None},
                    "application/json",
                )
        if path == "/_emulator/faults":
            if method == "POST":
                self.faults = Faults.from_json(body)
            return json_response(200, {"faults": self.faults.describe()}, "application/json")
        if path == "/_emulator/limits":
            limiter = self.limiter
            if method == "POST":
                limiter.rps = float(body.get("rps", limiter.rps))
                limiter.retry_after = body.get("retry_after", limiter.retry_after)
                limiter.block_after = body.get("block_after", limiter.block_after)
                limiter.block_seconds = float(body.get("block_seconds", limiter.block_seconds))
                limiter.reset()
            settings = {
                k: getattr(limiter, k)
                for k in ("rps", "retry_after", "block_after", "block_seconds")
            }
            return json_response(200, settings, "application/json")
        if path == "/_emulator/reset" and method == "POST":
            state.reset()
            self.faults = Faults.from_json(self._initial_faults)
            self.limiter.reset()
            return json_response(200, {"reset": True, "now": state.now()}, "application/json")
        if path == "/_emulator/oauth/clients":
            if method == "POST":
                client = state.tokens.register(
                    body.get("redirect_uri", ""),
                    body.get("client_id", ""),
                    body.get("client_secret", ""),
                )
                return json_response(200, vars(client), "application/json")
            clients = [vars(c) for c in state.tokens.clients.values()]
            return json_response(200, {"clients": clients}, "application/json")
        if path == "/_emulator/oauth/code" and method == "POST":
            return self._code(body)
        if path == "/_emulator/snapshot" and method == "GET":
            return json_response(200, state.snapshot(), "application/json")
        return json_response(
            404, {"error": f"no control endpoint {method} {path}"}, "application/json"
        )

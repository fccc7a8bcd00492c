"""The only caller of the amoCRM API: rate limit, auth header, retries, page walks."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

import requests

from sheets_kpi.deadline import CycleDeadline, RequestDeadline, RequestTooSlow
from sheets_kpi.errors import FatalSourceError, RetriableSourceError
from sheets_kpi.retry import (
    AMOCRM_RETRY,
    MAX_SERVER_WAIT,
    RetryPolicy,
    requested_wait,
    unreachable,
)

log = logging.getLogger(__name__)

#: amoCRM caps list pages at 250 items, and the events feed at 100 (a larger limit silently
#: returns 50 and no next link).
PAGE_LIMIT = 250
EVENTS_PAGE_LIMIT = 100


class Auth(Protocol):
    def header(self) -> str: ...

    def on_unauthorized(self) -> None: ...


#: Pace at 95 % of the allowed rate: arrival jitter at exactly the limit costs a 429 and a
#: one-second Retry-After, far more than the 5 % given up.
PACING_HEADROOM = 0.95


class RateLimiter:
    """At most `rate` requests in any second (amoCRM's limit, as its trailing-second counter
    applies it), shared by every thread of the process. Up to `rate` requests go at once, so a
    quiet cycle's few requests are not spread over a second and more; any further one waits
    until the request `rate` before it is a second old, with headroom."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        burst = max(1, math.floor(rate))
        self._window = max(1.0, burst / rate) / PACING_HEADROOM
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque(maxlen=burst)  # the last `burst` requests' times
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            at = now
            if len(self._sent) == self._sent.maxlen:
                at = max(now, self._sent[0] + self._window)
            self._sent.append(at)
        if at > now:
            self._sleep(at - now)


class AmoClient:
    """GET amoCRM API v4 resources; 204 means an empty answer, not an error.

    Failures are retried by `retry` (AMOCRM_RETRY by default). Every request is a GET, so a
    dropped connection, a timeout and an answer cut off half-way are all retried. `timeout` is
    both the socket timeout and the wall-clock deadline of each request (`RequestDeadline`);
    a `cycle` deadline, when given, is checked before each request.
    """

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        session: requests.Session | None = None,
        requests_per_second: float = 7,
        retry: RetryPolicy = AMOCRM_RETRY,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        cycle: CycleDeadline | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        RequestDeadline(timeout, "amoCRM").install(self.session)
        self.cycle = cycle
        self.requests_made = 0
        self._auth = auth
        self._limiter = RateLimiter(requests_per_second, sleep=sleep)
        self._retry = retry
        self._timeout = timeout
        self._sleep = sleep
        self._rng = rng or random.Random()

    def get(self, path: str, params: list[tuple[str, str]] | None = None) -> dict | None:
        """One resource or page; retries transient failures, refreshes auth once after a 401."""
        url = f"{self.base_url}{path}"
        refreshed = False
        retries = 0
        while True:
            if self.cycle is not None:
                self.cycle.check("amoCRM")
            self._limiter.acquire()
            self.requests_made += 1
            try:
                response = self.session.get(
                    url,
                    params=params,
                    headers={
                        "Authorization": self._auth.header(),
                        "Accept": "application/hal+json",
                    },
                    timeout=self._timeout,
                )
            except requests.ConnectionError as err:
                unreachable = _unreachable(err, self.base_url)
                if unreachable:  # the same answer on every retry: say so now
                    raise FatalSourceError(unreachable) from None
                retries = self._backoff(
                    retries, None, f"connection error ({type(err).__name__})", path
                )
                continue
            except (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as err:  # reset, or an answer cut off half-way
                retries = self._backoff(
                    retries, None, f"connection error ({type(err).__name__})", path
                )
                continue
            except RequestTooSlow as err:
                retries = self._backoff(retries, None, str(err), path)
                continue
            except requests.Timeout:
                retries = self._backoff(retries, None, "timeout", path)
                continue
            status = response.status_code
            log.debug("HTTP GET %s -> %d", path, status)
            if status == 204:
                return None
            if status == 200:
                try:
                    return response.json()
                except ValueError:
                    retries = self._backoff(retries, response, "a malformed JSON answer", path)
                    continue
            if status == 401 and not refreshed:
                refreshed = True
                self._auth.on_unauthorized()
                continue
            if self._retry.retriable(status):
                retries = self._backoff(retries, response, f"HTTP {status}", path)
                continue
            raise FatalSourceError(_fatal_message(response, path))

    def pages(
        self, path: str, key: str, params: list[tuple[str, str]], limit: int = PAGE_LIMIT
    ) -> Iterator[list[dict]]:
        """Walk a list by `_links.next` until a 204, an empty page or no next link; a next link
        back to a page already read raises instead of ending the walk as if it were complete."""
        query: list[tuple[str, str]] = [*params, ("limit", str(limit)), ("page", "1")]
        seen: set[tuple[tuple[str, str], ...]] = set()
        while True:
            fingerprint = tuple(sorted(query))
            if fingerprint in seen:  # a partial read must not move a cursor or mark users gone
                raise RetriableSourceError(
                    f"amoCRM's next link on {path} leads back to a page already read; the walk "
                    "is stopped with nothing marked deleted and no cursor moved past it, and the "
                    "next cycle reads it again"
                )
            seen.add(fingerprint)
            payload = self.get(path, query)
            items = embedded(payload, key)
            if not items:
                return
            yield items
            next_href = next_link(payload)
            if not next_href:
                return
            query = parse_qsl(urlsplit(next_href).query, keep_blank_values=True)

    def _backoff(
        self, retries: int, response: requests.Response | None, reason: str, path: str
    ) -> int:
        if self._retry.exhausted(retries + 1):
            raise RetriableSourceError(
                f"amoCRM kept failing on {path} ({reason}) after {retries + 1} attempts; "
                "the next cycle will resume from the saved cursor"
            )
        asked = asked_wait(response)
        if asked is not None and asked > MAX_SERVER_WAIT:  # retrying sooner risks a block
            raise RetriableSourceError(
                f"amoCRM asked to wait {asked:.0f} s before the next request ({reason} on "
                f"{path}); this cycle stops reading amoCRM and the next one resumes from the "
                "saved cursor"
            )
        delay = self._retry.delay(retries, self._rng, asked)
        log.warning("amoCRM %s on %s; retry %d in %.1f s", reason, path, retries + 1, delay)
        self._sleep(delay)
        return retries + 1


def _unreachable(err: requests.ConnectionError, base_url: str) -> str | None:
    """What to do when amoCRM's host cannot be found or refuses connections (a wrong
    `amocrm.base_url`, not a passing fault); None for a connection that broke on the way."""
    why = unreachable(err)
    host = urlsplit(base_url).netloc
    if why == "dns":
        return (
            f"cannot reach amoCRM: the host {host} does not resolve (DNS); check amocrm.base_url "
            "(https://<subdomain>.amocrm.ru or .kommo.com) and the machine's DNS"
        )
    if why == "refused":
        return (
            f"cannot reach amoCRM: {host} refused the connection; check amocrm.base_url "
            "(scheme and port) and any proxy or firewall in between"
        )
    return None


def asked_wait(response: requests.Response | None) -> float | None:
    """The wait amoCRM asked for: its 429 body's `retry_after` (seconds), or a Retry-After."""
    if response is None:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    in_body = body.get("retry_after") if isinstance(body, dict) else None
    return requested_wait(response.headers.get("Retry-After"), time.time(), in_body)


def embedded(payload: dict | None, key: str) -> list[dict]:
    """The items of a list answer (`_embedded.<key>`); none for a 204 or an empty page."""
    return ((payload or {}).get("_embedded") or {}).get(key) or []


def next_link(payload: dict | None) -> str | None:
    """The `_links.next.href` of a list answer, when there is a next page."""
    return ((payload or {}).get("_links") or {}).get("next", {}).get("href")


def _validation(problem: dict) -> str:
    """The first of amoCRM's `validation-errors` (which field, what is wrong), if any."""
    for request in problem.get("validation-errors") or []:
        for error in (request.get("errors") if isinstance(request, dict) else None) or []:
            if isinstance(error, dict):
                return f" ({error.get('path', '?')}: {error.get('detail') or error.get('code')})"
    return ""


def _fatal_message(response: requests.Response, path: str) -> str:
    status = response.status_code
    content_type = response.headers.get("Content-Type", "")
    problem: dict = {}
    if "json" in content_type:
        try:
            problem = response.json()
        except ValueError:
            problem = {}
    if status == 401:
        return (
            f"amoCRM still answers 401 Unauthorized on {path} after a token refresh: "
            "run `sheets-kpi auth` (OAuth) or replace the long-lived token"
        )
    if status == 403 and not problem:
        return (
            "amoCRM blocked this account or IP (HTTP 403 with an HTML page): stop the worker, "
            "lower amocrm.requests_per_second and contact amoCRM support to lift the block"
        )
    if status == 402:
        return (
            f"amoCRM answers 402 Payment Required on {path}: the account's subscription or "
            "trial has ended; once it is paid in amoCRM the next cycle resumes from the saved "
            "cursors"
        )
    detail = problem.get("detail") or problem.get("title") or response.text[:200]
    detail += _validation(problem)
    if status == 403:
        return (
            f"amoCRM denied access to {path} (HTTP 403: {detail}): "
            "use a token of an account administrator"
        )
    return f"amoCRM rejected GET {path} with HTTP {status}: {detail}"

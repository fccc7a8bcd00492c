"""When the HTTP clients ask again and how long they wait first: one set of rules, two services.

Each client keeps its own transport, error messages and logging and asks these pure functions;
what differs between amoCRM and Google Sheets is a field of `AMOCRM_RETRY` or `SHEETS_RETRY`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

#: The longest wait a client sleeps before one retry; obeying an hour-long wait would hold the
#: worker past the cycles it should run. Google Sheets: a longer Retry-After is cut to this (its
#: quotas refill every minute). amoCRM: a longer wait ends the sync for this cycle instead, since
#: asking again sooner is how an integration gets blocked (`sources/amocrm/client.py`).
MAX_SERVER_WAIT = 120.0

#: Retry-After's delta-seconds; decimals are accepted too.
_SECONDS = re.compile(r"\d+(?:\.\d+)?", re.ASCII)


@dataclass(frozen=True)
class RetryPolicy:
    """How many times one service is asked and how long the client waits between attempts."""

    retriable_statuses: frozenset[int]
    #: The first request included.
    max_attempts: int
    #: The longest backoff before the first retry; it doubles for every retry after that.
    backoff_base: float
    #: No backoff is longer than this.
    backoff_cap: float
    #: The share of the backoff always waited: 0 spreads retries over the whole interval (many
    #: clients sharing one quota), 0.5 keeps at least half of it.
    jitter_floor: float

    def retriable(self, status: int) -> bool:
        return status in self.retriable_statuses

    def exhausted(self, attempts: int) -> bool:
        """No retry is left once `attempts` requests (the first included) have failed."""
        return attempts >= self.max_attempts

    def delay(self, retry: int, rng: random.Random, server_wait: float | None = None) -> float:
        """Seconds to sleep before retry `retry` (0 for the first): the wait the server asked for
        (`server_wait()`), else exponential backoff, capped, with jitter so that clients failing
        together do not come back together."""
        if server_wait is not None:
            return server_wait
        backoff = min(self.backoff_cap, self.backoff_base * 2**retry)
        return backoff * rng.uniform(self.jitter_floor, 1.0)


def server_wait(retry_after: str | None, now: float) -> float | None:
    """The wait a server asked for, at most MAX_SERVER_WAIT; None when it named none or one that
    cannot be read, so the backoff applies. `now` is the real clock (`time.time()`) that an
    HTTP-date is measured from."""
    seconds = requested_wait(retry_after, now)
    return None if seconds is None else min(seconds, MAX_SERVER_WAIT)


def requested_wait(retry_after: str | None, now: float, in_body: object = None) -> float | None:
    """The wait a server asked for, uncapped: a number of seconds in the body (amoCRM puts it in
    a 429's `retry_after`) or else the Retry-After header; None when neither can be read."""
    if isinstance(in_body, int | float) and not isinstance(in_body, bool) and 0 <= in_body < 1e6:
        return float(in_body)
    return _retry_after_seconds(retry_after, now) if retry_after else None


def _retry_after_seconds(value: str, now: float) -> float | None:
    """Retry-After as seconds: delta-seconds, or an HTTP-date (a date already past is 0)."""
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        date = parsedate_to_datetime(value)
    except ValueError:
        return None
    if date.tzinfo is None:  # an HTTP-date is in GMT, whether it says so or not
        date = date.replace(tzinfo=UTC)
    return max(0.0, date.timestamp() - now)


def dropped_connection_retriable(method: str) -> bool:
    """A dropped connection or a timeout is retried for a read only: a write may have reached
    the server and been applied, and sending it again could apply it twice."""
    return method.upper() == "GET"


def unreachable(err: requests.ConnectionError) -> Literal["dns", "refused"] | None:
    """Why a connection never started, when asking again only repeats the answer: the host name
    does not resolve, or nothing listens on the port (a wrong URL, not a passing fault). None
    for a connection that broke on the way, which is worth a retry."""
    reason = getattr(err.args[0] if err.args else None, "reason", None)
    if isinstance(reason, NameResolutionError):
        return "dns"
    if isinstance(reason, NewConnectionError) and "refused" in str(reason).lower():
        return "refused"
    return None


AMOCRM_RETRY = RetryPolicy(
    retriable_statuses=frozenset({429, 500, 502, 503, 504}),
    max_attempts=6,  # `amocrm.max_retries` (default 5) + 1
    backoff_base=0.5,
    backoff_cap=30.0,
    jitter_floor=0.5,
)

SHEETS_RETRY = RetryPolicy(
    retriable_statuses=frozenset({408, 429, 500, 502, 503, 504}),
    max_attempts=5,
    backoff_base=2.0,
    backoff_cap=32.0,
    jitter_floor=0.0,
)

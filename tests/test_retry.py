"""The retry policy's pure functions: statuses, attempts, backoff, the server's wait, methods."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from sheets_kpi.retry import (
    AMOCRM_RETRY,
    MAX_SERVER_WAIT,
    SHEETS_RETRY,
    RetryPolicy,
    dropped_connection_retriable,
    server_wait,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Draws(random.Random):
    """Every draw of `random()` is `value`: 0 gives the shortest jittered wait, 1 the longest."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def delays(policy: RetryPolicy, rng: random.Random, retries: int = 7) -> list[float]:
    return [policy.delay(n, rng) for n in range(retries)]


@pytest.mark.parametrize(
    ("policy", "longest", "shortest"),
    [
        (AMOCRM_RETRY, [0.5, 1, 2, 4, 8, 16, 30], [0.25, 0.5, 1, 2, 4, 8, 15]),
        (SHEETS_RETRY, [2, 4, 8, 16, 32, 32, 32], [0, 0, 0, 0, 0, 0, 0]),
    ],
)
def test_backoff_doubles_up_to_the_cap_and_jitter_stays_above_the_floor(
    policy: RetryPolicy, longest: list[float], shortest: list[float]
) -> None:
    assert delays(policy, Draws(1.0)) == longest
    assert delays(policy, Draws(0.0)) == shortest


@pytest.mark.parametrize("policy", [AMOCRM_RETRY, SHEETS_RETRY])
def test_a_seeded_rng_gives_the_same_delays_within_the_bounds(policy: RetryPolicy) -> None:
    seeded = delays(policy, random.Random(42))
    assert seeded == delays(policy, random.Random(42))
    assert seeded != delays(policy, random.Random(43))
    bounds = zip(delays(policy, Draws(0.0)), delays(policy, Draws(1.0)), strict=True)
    assert all(low <= got <= high for got, (low, high) in zip(seeded, bounds, strict=True))


def test_no_backoff_outgrows_the_cap() -> None:
    assert AMOCRM_RETRY.delay(20, Draws(1.0)) == AMOCRM_RETRY.backoff_cap


def test_the_servers_wait_replaces_the_backoff_and_draws_nothing() -> None:
    rng = random.Random(1)
    assert AMOCRM_RETRY.delay(3, rng, server_wait=0.0) == 0.0
    assert SHEETS_RETRY.delay(0, rng, server_wait=7.5) == 7.5
    assert rng.random() == random.Random(1).random()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (" 7 ", 7.0),
        ("120", 120.0),
        ("3600", MAX_SERVER_WAIT),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        ("Friday, 20-Nov-26 12:00:45 GMT", 45.0),  # RFC 850
        ("Fri Nov 20 12:01:00 2026", 60.0),  # asctime, no zone: GMT
        (format_datetime(NOW - timedelta(minutes=5), usegmt=True), 0.0),
        (format_datetime(NOW + timedelta(hours=1), usegmt=True), MAX_SERVER_WAIT),
    ],
)
def test_retry_after_in_seconds_or_as_a_date_is_capped(header: str, seconds: float) -> None:
    assert server_wait(header, now=NOW.timestamp()) == seconds


@pytest.mark.parametrize(
    "header", [None, "", "soon", "-1", "1e3", "inf", "nan", "²", "5 seconds", "Fri, 99 Nov 2026"]
)
def test_an_unreadable_retry_after_leaves_the_backoff_to_decide(header: str | None) -> None:
    assert server_wait(header, now=NOW.timestamp()) is None


@pytest.mark.parametrize(
    ("status", "amocrm", "sheets"),
    [
        (408, False, True),
        (429, True, True),
        (500, True, True),
        (502, True, True),
        (503, True, True),
        (504, True, True),
        (400, False, False),
        (401, False, False),
        (403, False, False),
        (404, False, False),
        (501, False, False),
    ],
)
def test_which_statuses_are_retried(status: int, amocrm: bool, sheets: bool) -> None:
    assert (AMOCRM_RETRY.retriable(status), SHEETS_RETRY.retriable(status)) == (amocrm, sheets)


@pytest.mark.parametrize(("policy", "attempts"), [(AMOCRM_RETRY, 6), (SHEETS_RETRY, 5)])
def test_attempts_run_out_at_max_attempts(policy: RetryPolicy, attempts: int) -> None:
    assert not policy.exhausted(attempts - 1)
    assert policy.exhausted(attempts)


@pytest.mark.parametrize(
    ("method", "retried"),
    [("GET", True), ("get", True), ("POST", False), ("PUT", False), ("PATCH", False)],
)
def test_a_dropped_connection_is_retried_for_a_get_only(method: str, retried: bool) -> None:
    assert dropped_connection_retriable(method) is retried

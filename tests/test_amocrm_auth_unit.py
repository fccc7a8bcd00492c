"""Pieces of the amoCRM client that need no server: token file, limiter, redaction."""

from __future__ import annotations

import json
import stat

from sheets_kpi.logs import redact
from sheets_kpi.sources.amocrm.auth import TokenFile, TokenPair
from sheets_kpi.sources.amocrm.client import RateLimiter


def test_token_file_is_written_atomically_with_mode_0600(tmp_path) -> None:
    path = tmp_path / "tokens" / "amo.json"
    TokenFile(path).save(TokenPair("access-1", "refresh-1", 1000.0))
    TokenFile(path).save(TokenPair("access-2", "refresh-2", 2000.0))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["refresh_token"] == "refresh-2"
    assert [p.name for p in path.parent.iterdir()] == ["amo.json"]
    assert TokenFile(path).load() == TokenPair("access-2", "refresh-2", 2000.0)


def _paced(rate: float, times: list[float]) -> list[float]:
    """The moments requests go at when asked for at `times` (seconds)."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(rate, clock=lambda: now[0], sleep=sleep)
    sent = []
    for at in times:
        now[0] = max(now[0], at)
        limiter.acquire()
        sent.append(round(now[0], 6))
    return sent


def test_rate_limiter_lets_a_burst_up_to_the_rate_go_at_once() -> None:
    """A quiet cycle's few requests go without waiting; the fifth at 4 per second waits until
    the first is a second old, with 5 % headroom (1 / 0.95 s), and so on."""
    window = round(1 / 0.95, 6)
    assert _paced(4, [0.0] * 9) == [0.0] * 4 + [window] * 4 + [round(2 / 0.95, 6)]


def test_rate_limiter_counts_only_the_trailing_second() -> None:
    """At 2 per second, after a burst of two: the request asked for at 0.5 s waits until the
    first is a second old (with headroom); the one at 1.2 s goes at once, the request two
    before it being old enough; a late one never waits."""
    window = round(1 / 0.95, 6)
    assert _paced(2, [0.0, 0.0, 0.5, 1.2, 3.0]) == [0.0, 0.0, window, 1.2, 3.0]


def test_rate_limiter_below_one_per_second_and_fractional_rates() -> None:
    """2.5 per second never puts 3 requests in a second (2 per window); 0.5 per second sends
    one every 2 s."""
    assert _paced(2.5, [0.0] * 3) == [0.0, 0.0, round(1 / 0.95, 6)]
    assert _paced(0.5, [0.0] * 3) == [0.0, round(2 / 0.95, 6), round(4 / 0.95, 6)]


def test_secrets_are_redacted() -> None:
    line = 'Authorization: Bearer eyJhbGciOi.abc.def refresh_token="def50200aaaabbbb"'
    assert redact(line) == 'Authorization: Bearer *** refresh_token="***"'


def test_the_refresh_lock_is_exclusive_between_holders(tmp_path) -> None:
    """Two refreshes never overlap: the second waits on the lock file until the first is done
    (filelock, so on Windows too); one holder per use, whichever thread it is in."""
    import threading
    import time

    from sheets_kpi.sources.amocrm.auth import _file_lock

    token_file = tmp_path / "tokens" / "amo_tokens.json"
    entered = threading.Event()

    def second() -> None:
        with _file_lock(token_file):
            entered.set()

    with _file_lock(token_file):
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.3)  # a plain sleep: a timed join never returns under libfaketime
        assert not entered.is_set()
    waiter.join()
    assert entered.is_set()
    assert (tmp_path / "tokens" / "amo_tokens.json.lock").exists()

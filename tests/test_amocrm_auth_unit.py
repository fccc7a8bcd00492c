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


def test_rate_limiter_spaces_requests() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    limiter = RateLimiter(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.acquire()
    assert slept == [round(1 / 3.8, 6)] * 4  # 4 per second with 5 % headroom


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

"""The instant a command works at, in one shape: a tz-aware `datetime`.

Only the edges read the wall clock (`wall_clock()`, called by the CLI and the worker) or take
an instant from `--now` (`parse_instant`); everything below receives `now` as an argument, so a
report can be reproduced at any instant. `epoch` is the one conversion to the seconds the store,
amoCRM's filters and the emulator speak.
"""

from __future__ import annotations

from datetime import UTC, datetime

EXAMPLE = "2026-11-30T20:00:00+03:00"


def wall_clock() -> datetime:
    return datetime.now(UTC)


def parse_instant(text: str) -> datetime:
    """ISO-8601 with a UTC offset (`2026-11-30T20:00:00+03:00`, `…Z`): an instant, not a local
    time that would depend on the machine's zone."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected an ISO-8601 instant like {EXAMPLE}, got {text!r}") from None
    if instant.tzinfo is None:
        raise ValueError(
            f"{text!r} has no UTC offset, so it could be any of 24 instants: "
            f"add one, e.g. {text.strip()}+03:00 for Moscow or {text.strip()}Z for UTC"
        )
    return instant


def epoch(now: datetime) -> int:
    """Whole seconds since 1970; a naive `datetime` (the machine's zone, silently) is refused."""
    if now.tzinfo is None:
        raise TypeError(f"a tz-aware instant is needed, got the naive {now.isoformat()}")
    return int(now.timestamp())

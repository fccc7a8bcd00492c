"""Progress of long steps (the first backfill, writing tabs) with counts, rate and ETA.

amoCRM gives no totals for its lists, so a stream's total is estimated from how far its cursor
has moved through the backfill window: 1 200 items at 25 % of the window is "~4 800". On a
terminal one line is rewritten in place; otherwise (CI, a service's journal, `--log-json`) a
log record is written at each tenth, so logs get a few lines and no carriage returns. A step
that ends before `after` seconds says nothing: a 15-minute sync stays quiet.
Durations use time.monotonic: they are not the wall clock the computations read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

log = logging.getLogger(__name__)

#: The shortest interval between two rewrites of the terminal line.
REDRAW_SECONDS = 0.2


def count(value: float) -> str:
    """12 345 → "12 345": digits grouped by spaces, as both locales read them."""
    return f"{round(value):,}".replace(",", " ")


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return (
        f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
    )


@dataclass
class _Step:
    started: float
    tenth: int = -1
    shown: bool = False
    drawn: float = 0.0


class Progress:
    """Called as `progress(name, fraction, items, total=None)`: `fraction` 0..1 of the step,
    `items` done so far, `total` when known (else estimated from the fraction)."""

    def __init__(
        self,
        stream: TextIO,
        as_json: bool = False,
        after: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._tty = not as_json and bool(getattr(stream, "isatty", lambda: False)())
        self._after = after
        self._clock = clock
        self._steps: dict[str, _Step] = {}

    def __call__(self, name: str, fraction: float, items: int, total: int | None = None) -> None:
        now = self._clock()
        step = self._steps.setdefault(name, _Step(now))
        elapsed = now - step.started
        done = fraction >= 1
        if elapsed < self._after and not (done and step.shown):
            if done:
                del self._steps[name]
            return
        line = describe(name, fraction, items, total, elapsed)
        if self._tty:
            if done or now - step.drawn >= REDRAW_SECONDS:
                step.drawn = now
                end = "\n" if done else ""
                print(f"\r{line}\033[K", end=end, file=self._stream, flush=True)
        elif done or int(fraction * 10) > step.tenth:
            step.tenth = int(fraction * 10)
            log.info("%s", line)
        step.shown = True
        if done:
            del self._steps[name]


def describe(name: str, fraction: float, items: int, total: int | None, elapsed: float) -> str:
    """ "leads: 1 200 of ~4 800 (25 %), 30/s, ETA 2 min 00 s"; when done, the count and time."""
    rate = f"{count(items / elapsed)}/s" if elapsed > 0 else ""
    if fraction >= 1:
        return f"{name}: {count(items)} in {duration(elapsed)}" + (f" ({rate})" if rate else "")
    if not items and not fraction:
        return f"{name}: started" + (f", {count(total)} to do" if total else "")
    if total is not None:
        of = f"{count(items)} of {count(total)}"
    elif fraction > 0:
        of = f"{count(items)} of ~{count(items / fraction)}"
    else:
        of = count(items)
    parts = [f"{of} ({fraction:.0%})"]
    if rate:
        parts.append(rate)
    if fraction > 0 and elapsed > 0:
        parts.append(f"ETA {duration(elapsed / fraction * (1 - fraction))}")
    return f"{name}: {', '.join(parts)}"

"""What makes the emulator hard to talk to on purpose: the rate limit and seeded faults.

amoCRM answers 429 above 7 requests per second and, on repeated abuse, blocks with an nginx HTML
403 (AMOCRM_API.md §3); the fault plan adds the 5xx, resets and slow answers a client must survive.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

FAULT_NAMES = ("429", "500", "502", "503", "reset", "slow", "truncate", "echo_auth", "drip")


class RateLimiter:
    """At most `rps` requests per token in any trailing second; optional block on abuse."""

    def __init__(
        self,
        rps: float = 7,
        retry_after: float | None = 1,
        block_after: int | None = None,
        block_seconds: float = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rps = rps
        self.retry_after = retry_after
        self.block_after = block_after
        self.block_seconds = block_seconds
        self._clock = clock
        self._recent: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._strikes: dict[str, int] = collections.defaultdict(int)
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def any_blocked(self) -> bool:
        """A block is per account and IP: while any token is blocked, so is the token endpoint."""
        now = self._clock()
        with self._lock:
            return any(until > now for until in self._blocked_until.values())

    def check(self, token: str) -> str | None:
        """None to serve the request, "429" when over the limit, "403" while blocked."""
        now = self._clock()
        with self._lock:
            if self._blocked_until.get(token, 0) > now:
                return "403"
            recent = self._recent[token]
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= self.rps:
                self._strikes[token] += 1
                if self.block_after and self._strikes[token] >= self.block_after:
                    self._blocked_until[token] = now + self.block_seconds
                return "429"
            self._strikes[token] = 0
            recent.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._recent.clear()
            self._strikes.clear()
            self._blocked_until.clear()


@dataclass
class Faults:
    """Seeded fault plan: probabilities of 429 / 500 / 502 / 503 / connection reset / slow /
    truncate (the connection closes half-way through the body) / echo_auth (a 400 whose body
    echoes the request's Authorization header, as a misconfigured proxy does) / drip (the body
    sent one byte every `drip_seconds`, so no socket timeout ever fires)."""

    rates: dict[str, float] = field(default_factory=dict)
    retry_after: float = 1.0
    slow_seconds: float = 1.0
    drip_seconds: float = 1.5
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.rates) - set(FAULT_NAMES))
        if unknown:
            raise ValueError(f"unknown fault {unknown[0]!r}; expected {', '.join(FAULT_NAMES)}")
        if any(not 0 <= rate <= 1 for rate in self.rates.values()):
            raise ValueError("fault rates must be between 0 and 1")
        if sum(self.rates.values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> Faults:
        """`429=0.05,500=0.02,reset=0.01,slow=0.05` (the `--faults` flag)."""
        rates = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            try:
                rates[name.strip()] = float(value)
            except ValueError as err:
                raise ValueError(f"fault {name!r} needs a rate like {name}=0.05") from err
        return cls(rates, seed=seed)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Faults:
        """`{"429": 0.05, "500": 0.02, "reset": 0.01, "slow": 0.05, "retry_after": 1, "seed": 0}`"""
        settings = {"retry_after", "slow_seconds", "drip_seconds", "seed"}
        rates = {str(k): float(v) for k, v in body.items() if k not in settings}
        return cls(
            rates,
            retry_after=float(body.get("retry_after", 1)),
            slow_seconds=float(body.get("slow_seconds", 1)),
            drip_seconds=float(body.get("drip_seconds", 1.5)),
            seed=int(body.get("seed", 0)),
        )

    def describe(self) -> dict[str, object]:
        return {
            **self.rates,
            "retry_after": self.retry_after,
            "slow_seconds": self.slow_seconds,
            "drip_seconds": self.drip_seconds,
            "seed": self.seed,
        }

    def draw(self) -> str | None:
        """The fault for the next request, or None; the same seed gives the same sequence."""
        with self._lock:
            roll = self._rng.random()
        for name in FAULT_NAMES:
            rate = self.rates.get(name, 0.0)
            if roll < rate:
                return name
            roll -= rate
        return None

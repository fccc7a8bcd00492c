"""`sheets-kpi serve`: a cycle every N minutes, the nightly reconcile, one worker at a time.

schedule does not catch job exceptions, so every job is wrapped; the nightly run is decided in the
configured time zone (schedule's own `at(tz=...)` would need pytz) by the regular job itself.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

import schedule
from filelock import FileLock, Timeout

from sheets_kpi.clock import wall_clock
from sheets_kpi.deadline import CycleDeadline
from sheets_kpi.errors import SheetsKpiError

log = logging.getLogger(__name__)

#: cycle(now, reconcile, stop) runs one cycle at the instant `now`, checking `stop` between steps,
#: and says whether amoCRM was read completely (if not, the nightly reconcile is tried again next
#: cycle).
Cycle = Callable[[datetime, bool, threading.Event], bool]


class WorkerLock:
    """An exclusive lock file next to the store, so a second worker refuses to start; the
    holder's pid is in a file beside it (`….lock` → `….pid`) for the refusal to name.

    `filelock` takes the lock the platform's way (flock on Linux and macOS, msvcrt on Windows),
    and the operating system drops it when the process dies, so a crash leaves no stale lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pid_path = path.with_suffix(".pid")
        # one holder per instance, whichever thread releases it
        self._lock = FileLock(path, timeout=0, mode=0o600, thread_local=False)

    def __enter__(self) -> WorkerLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except Timeout:
            raise SheetsKpiError(
                f"another sheets-kpi worker (pid {self._holder()}) holds {self.path}; "
                "stop it first or point this one at another store"
            ) from None
        except OSError as err:
            raise SheetsKpiError(
                f"{self.path}: cannot open the store's lock file ({err}); "
                "check the `store` path in the config"
            ) from err
        try:
            self.pid_path.write_text(str(os.getpid()), encoding="ascii")
        except OSError as err:  # only the refusal's message would miss it
            log.warning("cannot write %s: %s", self.pid_path, err)
        return self

    def _holder(self) -> str:
        try:
            return self.pid_path.read_text(encoding="ascii").strip() or "?"
        except OSError:
            return "?"

    def __exit__(self, *exc: object) -> None:
        self.pid_path.unlink(missing_ok=True)  # before the release: the next holder writes its own
        self._lock.release()


class Worker:
    def __init__(
        self,
        cycle: Cycle,
        every_minutes: float,
        reconcile_at: str,
        zone: ZoneInfo,
        lock: WorkerLock,
        now: Callable[[], datetime] = wall_clock,
        deadline: CycleDeadline | None = None,
    ) -> None:
        self._cycle = cycle
        self._deadline = deadline
        self._every = every_minutes
        self._reconcile_at = datetime.strptime(reconcile_at, "%H:%M").time()
        self._zone = zone
        self._lock = lock
        self._now = now
        self._last_reconcile: date | None = None
        self.stop = threading.Event()
        self.cycles = 0

    def run(self) -> int:
        """Loop until SIGTERM/SIGINT; the first signal lets the current step finish."""
        with self._lock:
            previous = {
                sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
            }
            try:
                scheduler = schedule.Scheduler()
                scheduler.every(self._every * 60).seconds.do(self._job)
                local = self._now().astimezone(self._zone)
                if local.time() >= self._reconcile_at:
                    self._last_reconcile = local.date()
                self._job()
                while not self.stop.is_set():
                    scheduler.run_pending()
                    idle = scheduler.idle_seconds
                    # A plain sleep (at most a second, then `stop` is checked): a timed
                    # Event.wait never returns under libfaketime, which staging runs use.
                    time.sleep(max(0.05, min(idle if idle is not None else 1.0, 1.0)))
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        log.info("worker stopped after %d cycle(s)", self.cycles)
        return 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            raise SystemExit(1)
        log.info(
            "%s received: finishing the current step, then stopping", signal.Signals(signum).name
        )
        self.stop.set()

    def _job(self) -> None:
        if self.stop.is_set():
            return
        now = self._now()  # one reading of the clock per cycle: the nightly decision and the
        local = now.astimezone(self._zone)  # cycle's numbers are taken at the same instant
        reconcile = local.time() >= self._reconcile_at and self._last_reconcile != local.date()
        if self._deadline is not None:  # the clients check it before each request
            self._deadline.arm()
        try:
            if self._cycle(now, reconcile, self.stop) and reconcile:
                self._last_reconcile = local.date()
        except Exception:
            log.exception("cycle failed; the next one will retry")
        finally:
            if self._deadline is not None:
                self._deadline.disarm()
        self.cycles += 1
        settle_memory()


def settle_memory() -> None:
    """Between cycles, a full garbage collection, then what is left frozen out of the next
    ones: `serve` keeps the last cycle's frames, layouts and hashes (about two million objects
    at 200 managers), and Python's collector would walk them all, a second or more, inside the
    next cycle. Frozen objects are still freed when their last reference goes; only cycles
    among them wait for this collection, once per cycle."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()

"""The scheduled worker: the nightly reconcile in the configured zone, failures, the lock."""

from __future__ import annotations

import gc
import stat
import threading
import weakref
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sheets_kpi.errors import SheetsKpiError
from sheets_kpi.worker import Worker, WorkerLock, settle_memory

MOSCOW = ZoneInfo("Europe/Moscow")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def run_worker(
    tmp_path,
    start: datetime,
    steps: list[timedelta],
    fail_at: frozenset[int] = frozenset(),
    unsynced_at: frozenset[int] = frozenset(),
):
    """Run cycles until `steps` are used up; each cycle then moves the clock by the next step.

    Cycle k raises when k is in `fail_at`, and reports amoCRM unread when k is in `unsynced_at`.
    """
    clock = Clock(start)
    seen: list[tuple[str, bool]] = []

    def cycle(now: datetime, reconcile: bool, stop: threading.Event) -> bool:
        assert now == clock.now  # the worker's one reading of the clock, passed down
        seen.append((now.astimezone(MOSCOW).strftime("%d %H:%M"), reconcile))
        index = len(seen) - 1
        if index < len(steps):
            clock.now += steps[index]
        else:
            stop.set()
        if index in fail_at:
            raise SheetsKpiError("the spreadsheet is gone")
        return index not in unsynced_at

    worker = Worker(
        cycle,
        every_minutes=0.0005,
        reconcile_at="03:00",
        zone=MOSCOW,
        lock=WorkerLock(tmp_path / "store.db.lock"),
        now=clock,
    )
    assert worker.run() == 0
    return seen


def moscow(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=MOSCOW).astimezone(UTC)


def test_the_nightly_reconcile_runs_once_a_night_in_the_configured_zone(tmp_path) -> None:
    seen = run_worker(tmp_path, moscow(10, 1), [timedelta(hours=3)] * 9)
    assert seen == [
        ("10 01:00", False),
        ("10 04:00", True),  # the first cycle at or after 03:00 Moscow time
        ("10 07:00", False),
        ("10 10:00", False),
        ("10 13:00", False),
        ("10 16:00", False),
        ("10 19:00", False),
        ("10 22:00", False),
        ("11 01:00", False),
        ("11 04:00", True),
    ]


def test_a_worker_started_after_the_hour_waits_for_the_next_night(tmp_path) -> None:
    seen = run_worker(tmp_path, moscow(10, 10), [timedelta(hours=9)] * 2)
    assert seen == [("10 10:00", False), ("10 19:00", False), ("11 04:00", True)]


@pytest.mark.parametrize("failure", ["fail_at", "unsynced_at"])
def test_a_failed_reconcile_is_retried_by_the_next_cycle_and_the_worker_goes_on(
    tmp_path, failure
) -> None:
    steps = [timedelta(hours=1)] * 3
    seen = run_worker(tmp_path, moscow(10, 2), steps, **{failure: frozenset({1})})
    assert seen == [
        ("10 02:00", False),
        ("10 03:00", True),
        ("10 04:00", True),
        ("10 05:00", False),
    ]


def test_a_second_worker_on_the_same_store_refuses_to_start(tmp_path) -> None:
    with WorkerLock(tmp_path / "store.db.lock"), pytest.raises(SheetsKpiError, match="holds"):
        run_worker(tmp_path, moscow(10, 2), [])


def test_the_lock_names_a_holder_in_another_process_and_dies_with_it(tmp_path) -> None:
    import os
    import subprocess
    import sys

    path = tmp_path / "store.db.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib\n"
            "from sheets_kpi.worker import WorkerLock\n"
            "lock = WorkerLock(pathlib.Path(sys.argv[1])).__enter__()\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(SheetsKpiError, match=f"pid {holder.pid}\\) holds"):
            WorkerLock(path).__enter__()
    finally:
        holder.kill()  # no release: the operating system drops the lock with the process
        holder.wait(timeout=10)
        holder.stdin.close()
        holder.stdout.close()
    with WorkerLock(path) as lock:
        assert lock.pid_path.read_text() == str(os.getpid())
    assert not lock.pid_path.exists()


def test_the_lock_file_is_created_private(tmp_path) -> None:
    path = tmp_path / "store.db.lock"
    with WorkerLock(path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_between_cycles_cyclic_garbage_is_collected_and_the_rest_frozen() -> None:
    class Node:
        pass

    node = Node()
    node.me = node  # a cycle: only the collector frees it
    gone = weakref.ref(node)
    del node
    settle_memory()
    assert gone() is None
    assert gc.get_freeze_count() > 0

"""Progress lines: counts, an estimated total, rate and ETA; one rewritten line on a terminal,
a record per tenth in logs, and nothing for a step quicker than the quiet time."""

from __future__ import annotations

import io
import logging

from sheets_kpi.progress import Progress, describe


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_total_is_estimated_from_the_cursor_position() -> None:
    assert describe("leads", 0.25, 1200, None, 10.0) == (
        "leads: 1 200 of ~4 800 (25%), 120/s, ETA 30 s"
    )
    assert describe("personal spreadsheets", 0.5, 4, 8, 70.0) == (
        "personal spreadsheets: 4 of 8 (50%), 0/s, ETA 1 min 10 s"
    )
    assert describe("leads", 1.0, 4812, None, 41.0) == "leads: 4 812 in 41 s (117/s)"


def test_logs_get_one_record_per_tenth_and_no_carriage_return(caplog) -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress(stream, clock=clock)
    with caplog.at_level(logging.INFO, logger="sheets_kpi.progress"):
        progress("events", 0.0, 0)
        for page in range(1, 101):
            clock.now += 0.5
            progress("events", page / 100, page * 100)
    lines = [r.getMessage() for r in caplog.records]
    assert (
        len(lines) == 11
        and lines[0] == "events: started"
        and lines[-1] == "events: 10 000 in 50 s (200/s)"
    )
    assert "events: 1 000 of ~10 000 (10%), 200/s, ETA 45 s" in lines
    assert stream.getvalue() == ""


def test_a_terminal_gets_one_line_rewritten_in_place() -> None:
    clock, stream = Clock(), Terminal()
    progress = Progress(stream, clock=clock)
    progress("leads", 0.0, 0)
    for page in range(1, 11):
        clock.now += 1
        progress("leads", page / 10, page * 250)
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\rleads: 2 500 in 10 s (250/s)\033[K\n")
    assert "\rleads: 1 250 of ~2 500 (50%)" in text


def test_a_quick_step_says_nothing_and_a_slow_one_says_when_it_is_done(caplog) -> None:
    clock = Clock()
    progress = Progress(io.StringIO(), after=2.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="sheets_kpi.progress"):
        progress("tasks", 0.0, 0)
        clock.now += 1
        progress("tasks", 1.0, 40)
        assert caplog.records == []
        progress("tabs", 0.0, 0, 23)
        clock.now += 3
        progress("tabs", 1.0, 23, 23)
    assert [r.getMessage() for r in caplog.records] == ["tabs: 23 in 3 s (8/s)"]

"""`sheets-kpi demo` tells the progress of its backfill and of its cycles by `run`'s rules: one
line rewritten on a terminal, a record per tenth in logs and with `--log-json`."""

from __future__ import annotations

import json

import pytest

from sheets_kpi import cli
from sheets_kpi.cli import main
from sheets_kpi.demo import run_demo
from sheets_kpi.progress import Progress
from tests.conftest import NOW_AT
from tests.test_progress import Terminal

pytestmark = pytest.mark.slow

AT = ["--now", NOW_AT.isoformat()]
SMALL = ["--managers", "4", "--months", "1", "--cycles", "2"]


def test_a_terminal_gets_the_backfill_and_each_cycles_steps_on_one_rewritten_line(
    tmp_path,
) -> None:
    terminal = Terminal()
    summary = run_demo(
        None, 4, 1, 2, tmp_path / "demo", NOW_AT, echo=lambda _: None, progress=Progress(terminal)
    )
    assert [c["status"] for c in summary["cycles"]] == ["ok", "ok"]
    text = terminal.getvalue()
    assert text.endswith("\n")
    steps = text[:-1].split("\n")  # a finished step ends its line, nothing else does
    assert all(s.startswith("\r") and s.endswith("\033[K") for s in steps)
    finished = [s.rsplit("\r", 1)[-1].removesuffix("\033[K") for s in steps]
    names = [line.split(":")[0] for line in finished]
    assert names.index("leads") < names.index("tabs")  # the backfill, then the first cycle
    assert names.count("tabs") == 2  # each cycle writes its tabs
    assert all(" in " in line for line in finished)


def test_with_log_json_the_steps_are_records_in_the_one_json_stream(
    tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(cli, "QUIET_SECONDS", 0.0)  # every step, however quick, is shown
    assert main([*AT, "--log-json", "demo", *SMALL, "--out", str(tmp_path / "demo")]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "\r" not in err
    messages = [json.loads(line)["message"] for line in err.splitlines()]
    assert "leads: started" in messages  # the backfill
    assert sum(m.startswith("tabs: started, ") for m in messages) == 2  # each cycle's write
    assert sum(m.startswith("tabs: ") and " in " in m for m in messages) == 2

"""The command line: exit codes, sync with its summary, the emulator in the foreground."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import requests
import yaml

from sheets_kpi.cli import main
from sheets_kpi.clock import epoch
from sheets_kpi.config import load_config
from sheets_kpi.emulators.amocrm import DEMO_TOKEN
from sheets_kpi.worker import WorkerLock
from tests.conftest import NOW_AT, ROOT

#: Every command in these tests runs at the conftest instant, never at the wall clock.
AT = ["--now", NOW_AT.isoformat()]


@pytest.fixture
def pointed(tmp_path, monkeypatch, amo_server) -> Iterator[Path]:
    """The shipped config pointed at the amoCRM emulator and a fresh, empty Sheets emulator
    spreadsheet, with the store in `tmp_path`."""
    from sheets_kpi.emulators.sheets import SheetsState
    from sheets_kpi.emulators.sheets import serve as serve_sheets

    state = SheetsState()
    state.create_spreadsheet("KPI", "cli-book")
    sheets = serve_sheets(state=state)
    monkeypatch.setenv("AMO_TOKEN", DEMO_TOKEN)
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["amocrm"].update(base_url=amo_server.url, requests_per_second=50)
    data["google"].update(spreadsheet="cli-book", endpoint=sheets.url)
    data["store"] = str(tmp_path / "s.db")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    yield path
    sheets.stop()


def write_config(tmp_path, **amocrm) -> str:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["amocrm"].update(amocrm)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_config_error_exits_2_with_the_path(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AMO_TOKEN", DEMO_TOKEN)
    config = write_config(tmp_path, requests_per_second=-1)
    for argv in (
        [*AT, "--config", config, "sync"],
        ["sync", *AT, "--config", config, "--log-json"],
    ):
        assert main(argv) == 2
        assert "amocrm.requests_per_second: must be > 0, got -1" in capsys.readouterr().err


def test_sync_prints_progress_and_a_one_line_summary(tmp_path, capsys, monkeypatch, amo_server):
    monkeypatch.setenv("AMO_TOKEN", DEMO_TOKEN)
    config = write_config(
        tmp_path, base_url=amo_server.url, requests_per_second=50, backfill_days=3650
    )
    assert main([*AT, "--config", config, "sync"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("synced: ") and "amoCRM requests" in out
    assert "events: started" in err and re.search(r"events: [\d ]+ in \d+ s", err)
    assert main([*AT, "--config", config, "status"]) == 0
    assert "cursors" in capsys.readouterr().out


def test_sync_with_a_bad_token_exits_1_saying_what_to_do(
    tmp_path, capsys, monkeypatch, amo_server
) -> None:
    monkeypatch.setenv("AMO_TOKEN", "revoked")
    config = write_config(tmp_path, base_url=amo_server.url)
    assert main([*AT, "--config", config, "sync"]) == 1
    assert "Keys and scopes" in capsys.readouterr().err


def test_sync_and_run_refuse_while_another_worker_holds_the_store(
    tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("AMO_TOKEN", DEMO_TOKEN)
    config = write_config(tmp_path)
    store = load_config(config).store
    with WorkerLock(Path(str(store) + ".lock")):
        for command in ("sync", "run"):
            assert main([*AT, "--config", config, command]) == 1
            assert f"another sheets-kpi worker (pid {os.getpid()}) holds" in (
                capsys.readouterr().err
            )


def test_bad_paths_and_intervals_say_what_to_fix(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AMO_TOKEN", DEMO_TOKEN)
    config = write_config(tmp_path)
    data = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    (tmp_path / "file").write_text("")
    data["store"] = str(tmp_path / "file" / "x.db")  # a folder that is a file
    Path(config).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main([*AT, "--config", config, "sync"]) == 1
    assert "check the `store` path in the config" in capsys.readouterr().err
    for minutes in ("0", "-1", "nan"):
        with pytest.raises(SystemExit) as exit_:
            main(["--config", config, "serve", "--every-minutes", minutes])
        assert exit_.value.code == 2
        assert "expected minutes > 0" in capsys.readouterr().err


def test_emulate_amocrm_serves_a_snapshot_file(tmp_path, agency) -> None:
    snapshot = tmp_path / "account.json"
    snapshot.write_text(json.dumps(agency.snapshot(), ensure_ascii=False), encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sheets_kpi",
            "emulate",
            "amocrm",
            "--port",
            "0",
            "--data",
            str(snapshot),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        url = line.split(" on ")[1].split()[0]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            response = requests.get(
                f"{url}/api/v4/leads/pipelines",
                timeout=5,
                headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
            )
            if response.ok:
                break
        assert response.json()["_total_items"] == 2
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


@pytest.mark.slow
def test_demo_runs_offline_and_leaves_its_results(tmp_path, capsys) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "notes.txt").write_text("mine")  # the demo's folder may hold other files
    (out / "summary.json").write_text("{}")  # an earlier demo's: replaced
    code = main(
        [
            "--config",
            str(ROOT / "config.yaml"),
            "demo",
            "--managers",
            "6",
            "--months",
            "1",
            "--cycles",
            "2",
            "--out",
            str(out),
            *AT,
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [c["status"] for c in summary["cycles"]] == ["ok", "ok"]
    assert set(summary["cycles"][0]) == {
        "status",
        "seconds",
        "amocrm_requests",
        "sheets_read_requests",
        "sheets_write_requests",
    }
    assert (out / "kpi.xlsx").stat().st_size > 0
    assert (out / "notes.txt").read_text() == "mine"
    printed = capsys.readouterr().out
    assert "Продажи" in printed and "bonus" in printed


def test_doctor_reports_one_line_per_check(pointed, capsys, monkeypatch, amo_server) -> None:
    path = pointed
    assert main([*AT, "--config", str(path), "init"]) == 0
    capsys.readouterr()
    assert main([*AT, "--config", str(path), "doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["ok"] * 13
    assert "ok   clock        2026-11-18 14:06 Europe/Moscow: period 2026-11, day 18 of 30" in lines
    monkeypatch.setenv("AMO_TOKEN", "wrong")
    assert main([*AT, "--config", str(path), "doctor"]) == 1
    failing = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    assert failing and "Keys and scopes" in failing[0]


def test_now_takes_an_instant_with_its_offset_and_serve_refuses_it(tmp_path, capsys) -> None:
    config = write_config(tmp_path)
    for value, message in (
        ("30.11.2026", "expected an ISO-8601 instant like 2026-11-30T20:00:00+03:00"),
        ("2026-11-30T20:00", "has no UTC offset"),
    ):
        with pytest.raises(SystemExit) as exit_:
            main(["--config", config, "run", "--now", value])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err
    for argv in (["serve"], ["auth"], ["emulate", "sheets"]):
        assert main([*AT, "--config", config, *argv]) == 2
        assert "--now is not for" in capsys.readouterr().err


def test_status_tells_how_long_before_now_each_stamp_was(tmp_path, capsys, monkeypatch) -> None:
    from sheets_kpi.store.db import Store

    monkeypatch.setenv("AMO_TOKEN", DEMO_TOKEN)
    config = write_config(tmp_path)
    with Store(load_config(config).store) as store:
        store.set_cursor("leads", epoch(NOW_AT) - 3 * 3600)
        store.start_run(NOW_AT - timedelta(minutes=5))
    assert main([*AT, "--config", config, "status"]) == 0
    out = capsys.readouterr().out
    assert "leads              2026-11-18 08:06:40 UTC (3 h ago)" in out
    assert "2026-11-18 11:01:40 UTC (5 min ago) running" in out


@pytest.mark.slow
def test_a_demo_at_a_given_instant_is_the_same_every_time(tmp_path) -> None:
    def data_kpi(out: Path) -> list[tuple]:
        book = openpyxl.load_workbook(out / "kpi.xlsx", read_only=True)
        return list(book["data_kpi"].iter_rows(values_only=True))

    tables = []
    for name in ("one", "two"):
        argv = ["--config", str(ROOT / "config.yaml"), "demo", "--managers", "4", "--months"]
        assert main([*argv, "1", "--out", str(tmp_path / name), *AT]) == 0
        tables.append(data_kpi(tmp_path / name))
    assert tables[0] == tables[1]
    header = tables[0][0]
    status, computed = header.index("status"), header.index("computed_at")
    # the demo approves last month, so it is there from its snapshot beside the current one
    assert {(row[0], row[status]) for row in tables[0][1:]} == {
        ("2026-10", "approved"),
        ("2026-11", "current"),
    }
    assert {row[computed] for row in tables[0][1:]} == {datetime(2026, 11, 18, 11, 6, 40)}


def test_logging_follows_the_current_stderr(monkeypatch) -> None:
    """A test runner replaces and closes stderr between tests: records go to the current one."""
    import io
    import logging

    from sheets_kpi.logs import setup_logging

    first, current = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    setup_logging()
    first.close()
    monkeypatch.setattr(sys, "stderr", current)
    logging.getLogger("sheets_kpi.test").info("token Bearer abcdef123456 refreshed")
    assert current.getvalue().endswith("INFO token Bearer *** refreshed\n")


def test_the_shipped_default_config_is_the_repository_config() -> None:
    from sheets_kpi.defaults import config_text

    assert config_text() == (ROOT / "config.yaml").read_text(encoding="utf-8")


@pytest.mark.slow
def test_demo_runs_from_any_folder_on_the_shipped_config(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config.yaml here
    monkeypatch.delenv("AMO_TOKEN", raising=False)
    assert main([*AT, "demo", "--managers", "4", "--months", "1"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
    assert (tmp_path / "demo" / "kpi.xlsx").stat().st_size > 0
    assert "Продажи" in capsys.readouterr().out


def test_demo_to_a_folder_it_cannot_write_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("")
    assert main([*AT, "demo", "--out", str(tmp_path / "a-file" / "demo")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the demo there" in err
    assert main([*AT, "--config", str(tmp_path / "missing.yaml"), "demo"]) == 2
    assert "cannot read the config file" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()  # a config error leaves no empty demo folder


def test_init_config_writes_the_starting_config_and_never_overwrites(
    tmp_path, capsys, monkeypatch
) -> None:
    from sheets_kpi.defaults import config_text

    monkeypatch.chdir(tmp_path)
    assert main(["init-config"]) == 0
    assert "wrote config.yaml" in capsys.readouterr().out
    written = tmp_path / "config.yaml"
    assert written.read_text(encoding="utf-8") == config_text()
    assert "# " in config_text().splitlines()[0]  # commented
    assert load_config(written, env={"AMO_TOKEN": "t"}).google.spreadsheet_id
    written.write_text("mine", encoding="utf-8")
    assert main(["init-config"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert written.read_text(encoding="utf-8") == "mine"
    (tmp_path / "etc").mkdir()
    assert main(["init-config", "etc"]) == 0
    assert (tmp_path / "etc" / "config.yaml").read_text(encoding="utf-8") == config_text()


def test_a_command_without_a_config_names_init_config(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*AT, "status"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sheets-kpi init-config" in err
    assert main([*AT, "doctor"]) == 1
    assert "sheets-kpi init-config" in capsys.readouterr().out


def test_version_is_the_installed_one(capsys) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"sheets-kpi {version('sheets-kpi')}\n"


def _parsers(parser):
    import argparse

    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_option_has_help_and_shows_its_default() -> None:
    import argparse

    from sheets_kpi.cli import _parser

    for parser in _parsers(_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            assert action.help, f"{parser.prog} {action.dest}: no help"
            has_default = action.default not in (None, False, argparse.SUPPRESS)
            if has_default and not isinstance(action.default, bool):
                text = formatter._get_help_string(action) % {"default": action.default}
                assert "default" in text, f"{parser.prog} {action.dest}: default not shown"


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--cycles", "0"],
        ["demo", "--managers", "-3"],
        ["demo", "--months", "0"],
        ["demo", "--months", "three"],
        ["emulate", "amocrm", "--generate", "agency", "--port", "70000"],
        ["emulate", "amocrm", "--generate", "agency", "--rps", "0"],
        ["emulate", "sheets", "--latency-ms", "-1"],
        ["serve", "--every-minutes", "0"],
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, *AT])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error: argument" in err and "--help" in err


def test_status_needs_no_amocrm_credentials(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("AMO_TOKEN", raising=False)
    config = write_config(tmp_path)
    assert main([*AT, "--config", config, "status"]) == 0
    assert "no store yet" in capsys.readouterr().out
    assert main([*AT, "--config", config, "sync"]) == 2  # a command that uses amoCRM needs it
    err = capsys.readouterr().err
    assert "the environment variable AMO_TOKEN is not set" in err  # no word masked as a secret


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_log_json_emits_only_json_lines(tmp_path, capsys, monkeypatch, amo_server) -> None:
    monkeypatch.setenv("AMO_TOKEN", DEMO_TOKEN)
    config = write_config(
        tmp_path, base_url=amo_server.url, requests_per_second=50, backfill_days=3650
    )
    assert main([*AT, "--config", config, "--log-json", "sync"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    records = _json_lines(err)
    assert any(r["message"].startswith("synced: ") for r in records)
    assert any(r["message"] == "events: started" for r in records)  # the progress, as records
    assert main([*AT, "--config", config, "status", "--log-json"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and any(r["message"] == "cursors" for r in _json_lines(err))
    broken = write_config(tmp_path, requests_per_second=-1)
    assert main([*AT, "--config", broken, "--log-json", "sync"]) == 2
    out, err = capsys.readouterr()
    [record] = _json_lines(err)
    assert out == "" and record["level"] == "error" and "config error" in record["message"]


def test_run_and_serve_without_the_input_tabs_say_run_init_first(
    pointed, capsys, amo_server
) -> None:
    from sheets_kpi.cli import _worker_parts, serve_cycle

    path = pointed
    assert main([*AT, "--config", str(path), "run"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run `sheets-kpi init` first" in err
    assert "Сотрудники" in err
    assert requests.get(f"{amo_server.url}/_emulator/stats").json()["requests"] == []
    config = load_config(path)
    store, amo, gateway = _worker_parts(config)
    assert serve_cycle(config, store, amo, gateway)(NOW_AT, False, None) is False
    logged = capsys.readouterr().err  # main's logging writes to the current stderr
    assert "cycle skipped" in logged and "sheets-kpi init" in logged
    store.close()


def test_doctor_flags_the_shipped_examples_without_trying_them(
    tmp_path, capsys, monkeypatch
) -> None:
    import shutil

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMO_TOKEN", "a-token")
    assert main(["init-config"]) == 0
    shutil.copy(ROOT / "credentials.example.json", tmp_path / "credentials.json")
    capsys.readouterr()
    assert main([*AT, "doctor"]) == 1
    lines = {line[5:17].strip(): line for line in capsys.readouterr().out.splitlines()}
    assert lines["placeholders"].startswith("FAIL")
    for example in ("example.amocrm.ru", "sheets-kpi-demo", "boss@example.com"):
        assert example in lines["placeholders"]
    assert "not checked: set amocrm.base_url first" in lines["amoCRM"]
    assert "copy of credentials.example.json" in lines["credentials"]
    assert "not checked: set google.spreadsheet first" in lines["spreadsheet"]


def test_close_approves_a_month_once_and_run_period_previews_it(
    pointed, capsys, amo_server
) -> None:
    path = pointed
    config = ["--config", str(path), *AT]
    assert main([*config, "init"]) == 0
    assert main([*config, "close", "2026-10", "--department", "sales", "--by", "Иванова"]) == 0
    out = capsys.readouterr().out
    assert "2026-10 / sales: approved 2026-11-18 14:06 by Иванова" in out
    assert main([*config, "close", "10.2026", "--department", "sales"]) == 0
    assert "2026-10 / sales: already approved 2026-11-18 14:06 by Иванова" in (
        capsys.readouterr().out
    )
    assert main([*config, "close", "2026-11"]) == 1  # November has not ended on the 18th
    captured = capsys.readouterr()
    assert "2026-11 / sales: not approved" in captured.out
    assert (  # in the config's locale (ru), as the data-issues tab says it
        "sheets-kpi: 2026-11 / все отделы: период ещё не закончился (он заканчивается "
        "2026-11-30); утвердите его после"
    ) in captured.err.splitlines()
    assert main([*config, "run", "--period", "2026-10", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "2026-10 / sales: the approved statement still holds"
    assert main([*config, "run", "--period", "2026-10"]) == 0
    assert "Пересчёт 2026-10" in capsys.readouterr().out
    assert main([*config, "run", "--period", "2027-01"]) == 1
    assert "2027-01 has not begun" in capsys.readouterr().err
    assert main([*config, "close", "soon"]) == 2
    assert main([*config, "status"]) == 0
    assert "2026-10 sales" in capsys.readouterr().out


def test_run_reconcile_is_the_nightly_cycle_of_serve(tmp_path, capsys, monkeypatch) -> None:
    """`run --reconcile` (for cron) asks run_cycle for what serve's nightly cycle asks."""
    import sheets_kpi.cli as cli
    import sheets_kpi.cycle as cycle
    from sheets_kpi.cycle import CycleReport

    asked: list[bool] = []

    def run_cycle(config, store, amo, sheets, now, reconcile=False, **_) -> CycleReport:
        asked.append(reconcile)
        return CycleReport(run_id=1)

    monkeypatch.setenv("AMO_TOKEN", DEMO_TOKEN)
    monkeypatch.setattr(cycle, "run_cycle", run_cycle)
    monkeypatch.setattr(cli, "_require_input_tabs", lambda config, sheets: None)
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["google"]["endpoint"] = "http://127.0.0.1:9"  # an emulator's: no key file needed
    config = str(tmp_path / "config.yaml")
    Path(config).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main([*AT, "--config", config, "run", "--reconcile"]) == 0
    assert main([*AT, "--config", config, "run"]) == 0
    assert asked == [True, False]
    assert main([*AT, "--config", config, "run", "--reconcile", "--period", "2026-10"]) == 2
    assert "not with --period" in capsys.readouterr().err

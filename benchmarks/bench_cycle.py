"""Whole cycles against both emulators, each in its own process; Sheets requests, bytes and time.

    python benchmarks/bench_cycle.py --managers 48 --months 6 --now 2026-11-24T15:00:00+03:00
    python benchmarks/bench_cycle.py --managers 8 --months 2 --now ... --json out.json
    python benchmarks/bench_cycle.py --managers 48 --months 6 --now ... --latency-ms 150

The amoCRM emulator (a generated agency, its clock pinned) and the Sheets emulator run in their
own processes; the product runs as `sheets-kpi run --now …` processes, after an unmeasured
`sync` and `init`. Measured: a first cycle (empty output), a changed cycle five minutes later
(one more won deal in amoCRM) and a quiet cycle fifteen minutes after that (the same data, only
the clock moved). `serve_quiet` is that quiet cycle again, fifteen minutes later, inside a
`serve` process that ran a cycle before it: the amoCRM frames are kept between cycles there, and
its seconds are the cycle's own (the process's start and imports are not in them). Beside them
the careful peer pattern: the same tabs, computed by the same code, written with two requests
per tab (a `spreadsheets.batchUpdate` adding and formatting the tab, a RAW `values.update` of
its cells) into a second spreadsheet. Requests and body bytes come
from the Sheets emulator's request log (`bytes_sent` as they came over the wire, gzipped for
sheets-kpi, plain JSON for the peer as gspread sends it; `json_bytes` the JSON once inflated);
seconds and peak RSS are the measured process's own. `--latency-ms` adds a round trip to every
Sheets answer (loopback has none; Google's is about 100-300 ms), which is where a request count
shows in time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import yaml

from sheets_kpi.emulators.amocrm import DEMO_TOKEN as TOKEN
from sheets_kpi.sheets.render import grid_properties

ROOT = Path(__file__).resolve().parent.parent
#: The fastest the config allows: amoCRM's own rate limit is not what is measured.
AMO_RPS = 50
FIGURES = ("reads", "writes", "bytes_sent", "json_bytes", "batches", "seconds", "peak_rss_mb")
BATCH_OPERATIONS = {"spreadsheets.batchUpdate", "values.batchUpdate"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--managers", type=int, default=8)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--now", required=True, help="ISO-8601 instant of the first cycle")
    parser.add_argument("--json", metavar="OUT", help="write the figures to this file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="a round trip added to every Sheets answer (0: loopback; Google's is about 100-300)",
    )
    parser.add_argument("--serve-amocrm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--peer", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--serve-product", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now)
    if now.tzinfo is None:
        parser.error("--now needs a UTC offset, e.g. 2026-11-24T15:00:00+03:00")
    if args.serve_amocrm:
        return serve_amocrm(args.managers, args.months, args.seed, now)
    if args.peer:
        return peer_write(Path(args.peer), now)
    if args.serve_product:
        return serve_product(Path(args.serve_product))
    figures = bench(args.managers, args.months, now, args.seed, args.latency_ms)
    print(table(figures, args.managers, args.months, args.latency_ms))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


def bench(
    managers: int, months: int, now: datetime, seed: int, latency_ms: int = 0
) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="bench-cycle-") as folder:
        work = Path(folder)
        amo = _start(
            [
                _python(),
                __file__,
                "--serve-amocrm",
                f"--managers={managers}",
                f"--months={months}",
                f"--now={now.isoformat()}",
                f"--seed={seed}",
            ]
        )
        sheets = _start(
            [
                _python(),
                "-m",
                "sheets_kpi",
                "emulate",
                "sheets",
                "--port",
                "0",
                "--spreadsheet",
                "bench",
                "--latency-ms",
                str(latency_ms),
            ]
        )
        try:
            amo_url, sheets_url = _url(amo), _url(sheets)
            config = _write_config(work, amo_url, sheets_url, months)
            for command in ("sync", "init"):
                _product(config, command, now)
            shutil.copy(work / "store.db", work / "peer.db")
            figures = {}
            _reset(sheets_url)
            figures["first"] = _measured(sheets_url, config, "run", now)
            _send(amo, f"win {int((now + timedelta(minutes=4)).timestamp())}")
            changed = now + timedelta(minutes=5)
            _send(amo, f"now {int(changed.timestamp())}")
            figures["changed"] = _measured(sheets_url, config, "run", changed)
            quiet = changed + timedelta(minutes=15)
            _send(amo, f"now {int(quiet.timestamp())}")
            figures["quiet"] = _measured(sheets_url, config, "run", quiet)
            figures["serve_quiet"] = _measured_in_serve(amo, sheets_url, config, quiet)
            peer = _write_config(work, amo_url, sheets_url, months, store="peer.db")
            figures["peer_first"] = _measured(sheets_url, peer, None, now)
            return figures
        finally:
            for process in (amo, sheets):
                process.terminate()
                process.wait()


def _python() -> str:
    return sys.executable


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "AMO_TOKEN": TOKEN,
    }


def _start(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env()
    )


def _url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    if " on http" not in line:
        raise SystemExit(f"an emulator did not start: {line!r}")
    return line.split(" on ", 1)[1].split()[0]


def _send(process: subprocess.Popen[str], command: str) -> str:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(command + "\n")
    process.stdin.flush()
    reply = process.stdout.readline()
    if not reply.startswith("ok"):
        raise SystemExit(f"{command!r} → {reply!r}")
    return reply


def _write_config(
    work: Path, amo_url: str, sheets_url: str, months: int, store: str = "store.db"
) -> Path:
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["store"] = str(work / store)
    config["amocrm"].update(
        base_url=amo_url,
        auth={"long_lived_token": TOKEN},
        requests_per_second=AMO_RPS,
        backfill_days=months * 31 + 1,
    )
    config["google"].update(spreadsheet="bench", endpoint=sheets_url)
    path = work / f"{Path(store).stem}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _product(config: Path, command: str, now: datetime) -> None:
    done = subprocess.run(
        [_python(), "-m", "sheets_kpi", command, "--config", str(config), "--now", now.isoformat()],
        env=_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"sheets-kpi {command} failed:\n{done.stdout}\n{done.stderr}")


def _measured(
    sheets_url: str, config: Path, command: str | None, now: datetime
) -> dict[str, float]:
    """One process (`sheets-kpi COMMAND`, or the peer when None) with its own time and RSS."""
    _reset(sheets_url)
    if command is None:
        argv = [_python(), __file__, "--peer", str(config), "--now", now.isoformat()]
    else:
        argv = [
            _python(),
            "-m",
            "sheets_kpi",
            command,
            "--config",
            str(config),
            "--now",
            now.isoformat(),
        ]
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:4])} failed ({process.returncode}):\n{stderr}")
    return {
        **_logged(sheets_url),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # kilobytes on Linux
    }


def _measured_in_serve(
    amo: subprocess.Popen[str], sheets_url: str, config: Path, at: datetime
) -> dict[str, float]:
    """A `serve` process's cycle at `at` (unmeasured: it reads the frames), then its quiet
    cycle fifteen minutes later, measured."""
    product = _start([_python(), __file__, "--serve-product", str(config), f"--now={at}"])
    try:
        _send(product, f"cycle {at.isoformat()}")
        later = at + timedelta(minutes=15)
        _send(amo, f"now {int(later.timestamp())}")
        _reset(sheets_url)
        _, seconds, rss = _send(product, f"cycle {later.isoformat()}").split()
    finally:
        assert product.stdin is not None
        product.stdin.close()
        product.wait()
    return {**_logged(sheets_url), "seconds": float(seconds), "peak_rss_mb": float(rss)}


def _logged(sheets_url: str) -> dict[str, float]:
    """Requests and bytes from the Sheets emulator's log since the last `_reset`."""
    log = requests.get(f"{sheets_url}/_emulator/stats", timeout=60).json()["requests"]
    writes = [e for e in log if e["method"] != "GET"]
    return {
        "reads": len(log) - len(writes),
        "writes": len(writes),
        "bytes_sent": sum(e["bytes"] for e in log),
        "json_bytes": sum(e["inflated"] for e in log),  # the bodies before gzip
        "batches": sum(e["operation"] in BATCH_OPERATIONS for e in writes),
    }


def _reset(sheets_url: str) -> None:
    requests.delete(f"{sheets_url}/_emulator/stats", timeout=60).raise_for_status()


def table(
    figures: dict[str, dict[str, float]], managers: int, months: int, latency_ms: int = 0
) -> str:
    peer, first = figures["peer_first"], figures["first"]
    lines = [
        f"{managers} managers × {months} months, {latency_ms} ms per Sheets answer",
        f"{'cycle':<12}{'reads':>6}{'writes':>7}{'MB sent':>9}{'MB json':>9}{'batches':>8}"
        f"{'s':>7}{'RSS MB':>8}",
    ]
    for name, row in figures.items():
        lines.append(
            f"{name:<12}{row['reads']:>6}{row['writes']:>7}{row['bytes_sent'] / 1e6:>9.2f}"
            f"{row['json_bytes'] / 1e6:>9.2f}{row['batches']:>8}{row['seconds']:>7.2f}"
            f"{row['peak_rss_mb']:>8.0f}"
        )
    ratio = {k: peer[k] / first[k] if first[k] else float("inf") for k in FIGURES}
    lines.append(
        f"{'peer/first':<12}{ratio['reads']:>6.1f}{ratio['writes']:>7.1f}"
        f"{ratio['bytes_sent']:>9.2f}{ratio['json_bytes']:>9.2f}{ratio['batches']:>8.1f}{ratio['seconds']:>7.2f}"
        f"{ratio['peak_rss_mb']:>8.2f}"
    )
    return "\n".join(lines)


def serve_amocrm(managers: int, months: int, seed: int, now: datetime) -> int:
    """The amoCRM emulator; on stdin `now TS` moves its clock, `win TS` wins an open deal."""
    from sheets_kpi.clock import epoch
    from sheets_kpi.emulators import amocrm
    from sheets_kpi.emulators.amocrm.mutations import LOST, WON

    account = amocrm.generate_agency(managers, months, seed, now=epoch(now))
    account.set_now(epoch(now))
    server = amocrm.serve(account, rps=AMO_RPS * 10)
    print(f"amocrm emulator on {server.url}", flush=True)
    for line in sys.stdin:
        verb, _, value = line.strip().partition(" ")
        if verb == "now":
            account.set_now(int(value))
        elif verb == "win":
            lead = next(
                lead
                for lead in account.entities["leads"].values()
                if lead["status_id"] not in (WON, LOST) and not lead["is_deleted"]
            )
            account.move_lead_status(lead["id"], WON, lead["responsible_user_id"], at=int(value))
        else:
            print(f"unknown command {line!r}", flush=True)
            continue
        print("ok", flush=True)
    server.stop()
    return 0


def serve_product(config_path: Path) -> int:
    """`serve`'s cycle, run on stdin's `cycle ISO`; says `ok SECONDS PEAK_RSS_MB` for each."""
    import resource

    from sheets_kpi.cli import _worker_parts, serve_cycle
    from sheets_kpi.config import load_config
    from sheets_kpi.worker import settle_memory

    config = load_config(config_path, env={**os.environ})
    store, amo, sheets = _worker_parts(config)
    cycle = serve_cycle(config, store, amo, sheets)
    with store:
        for line in sys.stdin:
            started = time.perf_counter()
            cycle(datetime.fromisoformat(line.split()[1]), False, threading.Event())
            seconds = time.perf_counter() - started
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
            print(f"ok {seconds:.2f} {rss:.1f}", flush=True)
            settle_memory()  # as the worker does between cycles
    return 0


def peer_write(config_path: Path, now: datetime) -> int:
    """The careful peer: the product's tabs, two writes per tab, into a new spreadsheet."""
    from sheets_kpi.closing import close_periods
    from sheets_kpi.config import load_config
    from sheets_kpi.cycle import compute_results, read_inputs
    from sheets_kpi.sheets.gateway import SheetsGateway
    from sheets_kpi.sheets.render import achievement_rules
    from sheets_kpi.store.db import Store
    from sheets_kpi.tabs import build_layouts

    config = load_config(config_path, env={**os.environ})
    gateway = SheetsGateway(config.google)
    inputs = read_inputs(gateway, config)
    with Store(config.store) as store:
        results = compute_results(config, store, inputs.frames, now)
        closing = close_periods(config, store, results, inputs.frames, inputs.actions, now, 0, ())
    output = build_layouts(results, config, inputs.frames["roster"], closing, now)
    http = gateway.http
    book = http.request("post", f"{config.google.endpoint}/v4/spreadsheets", json={}).json()
    book_id = book["spreadsheetId"]
    for sheet_id, layout in enumerate(output.main, start=1):
        grid = grid_properties(layout)
        structure: list[dict[str, Any]] = [
            {
                "addSheet": {
                    "properties": {
                        "sheetId": sheet_id,
                        "title": layout.title,
                        "gridProperties": grid,
                    }
                }
            },
        ]
        for block in layout.formats:
            if block.pattern:
                structure.append(
                    {
                        "repeatCell": {
                            "range": block.grid(sheet_id),
                            "cell": {
                                "userEnteredFormat": {
                                    "numberFormat": {
                                        "type": "PERCENT" if "%" in block.pattern else "NUMBER",
                                        "pattern": block.pattern,
                                    }
                                }
                            },
                            "fields": "userEnteredFormat.numberFormat",
                        }
                    }
                )
        for block in layout.achievement:
            structure += achievement_rules(block, sheet_id, layout.gate)
        http.batch_update(book_id, {"requests": structure})
        values = [["" if v is None else _plain(v) for v in row] for row in layout.rows]
        http.values_update(
            book_id,
            "'" + layout.title.replace("'", "''") + "'!A1",
            params={"valueInputOption": "RAW"},
            body={"values": values},
        )
    return 0


def _plain(value: Any) -> Any:
    from sheets_kpi.sheets.layout import plain_value

    value = plain_value(value)
    return "" if value is None else value if isinstance(value, int | float | bool) else str(value)


if __name__ == "__main__":
    sys.exit(main())

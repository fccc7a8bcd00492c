"""`sheets-kpi demo`: the whole pipeline, offline, against both emulators with a generated agency.

It plays every role: amoCRM (the generated account), the supervisor (plans, scores, violations
and appeals typed into the input tabs) and the worker (init, then cycles).
"""

from __future__ import annotations

import json
import os
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from sheets_kpi.clock import epoch
from sheets_kpi.closing import assemble, decisions_frame
from sheets_kpi.config import Config, load_config, parse_config
from sheets_kpi.cycle import CycleReport, compute_results, read_inputs, run_cycle
from sheets_kpi.emulators import amocrm as amo_emulator
from sheets_kpi.emulators import sheets as sheets_emulator
from sheets_kpi.emulators.amocrm.generate import live_tick
from sheets_kpi.errors import UsageError
from sheets_kpi.progress import Progress
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.init_tabs import init_inputs
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import amocrm_frames

#: The demo pulls from a local emulator, so it may go faster than amoCRM's 7 requests/s.
DEMO_RPS = 50
#: What a demo leaves in its folder (the store first); a new demo replaces exactly these.
DEMO_FILES = (
    "sheets_kpi.db",
    "sheets_kpi.db-wal",
    "sheets_kpi.db-shm",
    "sheets_kpi.db.tv.json",
    "sheets_state.json",
    "kpi.xlsx",
    "summary.json",
)


def run_demo(
    config_path: str | Path | None,
    managers: int,
    months: int,
    cycles: int,
    out: str | Path,
    now: datetime,
    seed: int = 1,
    echo: Any = print,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Everything happens at the instant `now`: the agency's activity ends there, the amoCRM
    emulator's clock is pinned to it and every cycle computes at it, so a demo at a given
    instant is the same every time. Without `config_path` it runs on the shipped default
    config, so it needs no file in the working folder. `progress` hears of the backfill and
    of each cycle's steps, as `run`'s does."""
    out = Path(out)
    env = {**os.environ, "AMO_TOKEN": amo_emulator.DEMO_TOKEN}
    base = _demo_config(config_path, out, env)  # before `out` is made: a bad config leaves none
    _prepare(out)
    echo(
        f"generating an agency: {managers} managers, {months} months of activity up to "
        f"{now.astimezone(base.zone):%Y-%m-%d %H:%M} {base.timezone}"
    )
    account = amo_emulator.generate_agency(managers, months, seed, now=epoch(now))
    account.set_now(epoch(now))
    amo_server = amo_emulator.serve(account, rps=DEMO_RPS)
    sheets_state = sheets_emulator.SheetsState(out / "sheets_state.json", seed=seed)
    sheets_state.create_spreadsheet("sheets-kpi demo", base.google.spreadsheet_id)
    sheets_server = sheets_emulator.serve(state=sheets_state)
    try:
        config = _pointed(base, amo_server.url, sheets_server.url, out, months)
        with Store(config.store) as store:
            amo = make_client(config.amocrm)
            gateway = SheetsGateway(config.google)
            echo("amoCRM → store: first sync (backfill)")
            echo(sync(amo, store, config.amocrm, now, progress=progress).summary())
            init = init_inputs(gateway, config, amocrm_frames(store)["users"], now)
            echo(f"input tabs created: {', '.join(init.created)}; roster: {init.managers_added}")
            last_month = _type_supervisor_inputs(
                gateway, config, store, now, months, random.Random(seed)
            )
            reports: list[CycleReport] = []
            for number in range(1, max(cycles, 2) + 1):
                if number == 2:  # after the approval: a late change the supervisor must see
                    reopened = _reopen_an_approved_win(account, store, now)
                    if reopened is not None:
                        echo(f"amoCRM: lead {reopened} reopened after {last_month} was approved")
                elif number > 2:
                    for _ in range(5):
                        live_tick(account, random.Random(number))
                report = run_cycle(config, store, amo, gateway, now, progress=progress)
                reports.append(report)
                echo(
                    f"cycle {number}: {report.status} in {report.seconds:.1f} s, amoCRM "
                    f"{report.amocrm_requests} requests, Sheets {report.sheets_read_requests} "
                    f"read / {report.sheets_write_requests} write, {report.rows_written} rows"
                    + (f" — {report.error}" if report.error else "")
                    + (f"; approved {', '.join(report.approved)}" if report.approved else "")
                )
            path = sheets_emulator.export_xlsx(
                sheets_state.get(config.google.spreadsheet_id), out / "kpi.xlsx"
            )
            summary = {"cycles": [r.summary() for r in reports]}
            (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
            _print_leaderboards(store, gateway, config, now, echo)
            echo(f"\nspreadsheet exported to {path}; run summary in {out / 'summary.json'}")
            return summary
    finally:
        amo_server.stop()
        sheets_server.stop()


def _demo_config(config_path: str | Path | None, out: Path, env: dict[str, str]) -> Config:
    if config_path is not None:
        return load_config(config_path, env=env)
    from sheets_kpi.defaults import config_text

    return parse_config(config_text(), name="config.yaml (shipped default)", base_dir=out, env=env)


def _prepare(out: Path) -> None:
    """A fresh start in `out`, without touching anything else there; a folder the demo cannot
    write to is said in one line before anything starts."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in DEMO_FILES:
            (out / name).unlink(missing_ok=True)
        probe = out / DEMO_FILES[-1]
        probe.write_text("{}", encoding="utf-8")
        probe.unlink()
    except OSError as err:
        raise UsageError(
            f"--out {out}: cannot write the demo there ({err.strerror or err}); "
            "name a folder you can write to"
        ) from None


def _pointed(config: Config, amo_url: str, sheets_url: str, out: Path, months: int) -> Config:
    amocrm = config.amocrm.model_copy(
        update={
            "base_url": amo_url,
            "requests_per_second": DEMO_RPS,
            "backfill_days": months * 31 + 1,
        }
    )
    google = config.google.model_copy(update={"endpoint": sheets_url})
    return config.model_copy(
        update={"amocrm": amocrm, "google": google, "store": out / DEMO_FILES[0]}
    )


def _type_supervisor_inputs(
    gateway: SheetsGateway,
    config: Config,
    store: Store,
    now: datetime,
    months: int,
    rng: random.Random,
) -> str:
    """Scores, violations and appeals over the generated months; plans for the ended months
    with activity at last month's level (the current month carries them over); the last
    month's approval in the close tab. Returns that month."""
    frames = read_inputs(gateway, config).frames
    roster = frames["roster"]
    today = now.astimezone(config.zone)
    rows: dict[str, list[list[Any]]] = {"plans": [], "scores": [], "violations": [], "appeals": []}
    for manager in roster.itertuples():
        for days_ago in range(0, 3 * 31, 3):
            day = (today - timedelta(days=days_ago)).strftime("%Y-%m-%d")
            if manager.department in ("leadgen", "sales"):
                rows["scores"].append(
                    [day, manager.manager_id, "call_quality", rng.randint(55, 98)]
                )
            if manager.department == "accounts":
                rows["scores"].append([day, manager.manager_id, "nps", rng.randint(6, 10)])
            if manager.department == "quality" and rng.random() < 0.4:
                ref = f"Н-{len(rows['violations']) + 1}"
                kind = rng.choice(["control", "regulation"])
                rows["violations"].append([day, manager.manager_id, kind, ref, ""])
                if rng.random() < 0.5:  # appealed: an appeal names the violation by its ref
                    outcome = rng.choice(["won", "lost", "pending"])
                    rows["appeals"].append([day, manager.manager_id, ref, outcome])
    _append(gateway, config, "scores", rows["scores"])
    _append(gateway, config, "violations", rows["violations"])
    _append(gateway, config, "appeals", rows["appeals"])
    frames = read_inputs(gateway, config, now).frames
    results = compute_results(config, store, frames, now)
    last = results.past[0]
    for dept in config.departments:
        kpis = last.kpi[last.kpi["department"] == dept.id]
        for kpi in dept.kpis:
            facts = kpis.loc[kpis["kpi"] == kpi.id, "fact"].dropna()
            typical = float(facts.median()) if len(facts) else 0.0
            factor = 1.1 if kpi.direction == "higher" else 0.9
            # a plan of 1 against an NPS of 60 reads as 6 000 %: a score falls back to 50
            fallback = 0 if kpi.direction == "lower" else 50 if kpi.unit == "score" else 1
            plan = typical * factor if typical > 0 else fallback
            if kpi.unit == "share":
                plan = min(plan, 1.0)
            if kpi.unit in ("count", "rub") and plan > 0:
                plan = max(1, round(plan, -3 if kpi.unit == "rub" else 0))
            for ended in results.past[:months]:
                rows["plans"].append([ended.period.label, "", dept.id, kpi.id, round(plan, 3)])
    _append(gateway, config, "plans", rows["plans"])
    who = "Руководитель (демо)" if config.locale == "ru" else "Supervisor (demo)"
    action = "утвердить" if config.locale == "ru" else "approve"
    _append(gateway, config, "close", [[last.period.label, "", "", action, who, "demo"]])
    return last.period.label


def _reopen_an_approved_win(account: Any, store: Store, now: datetime) -> int | None:
    """Move the priciest win of an approved statement back to the stage it was won from."""
    wins = [win for snapshot in store.snapshots() for win in snapshot.payload["wins"]]
    if not wins:
        return None
    lead_id = int(max(wins, key=lambda win: (win["price"] or 0, win["lead_id"]))["lead_id"])
    changes = amocrm_frames(store)["stage_changes"]
    won = changes[(changes["lead_id"] == lead_id) & (changes["status_id"] == 142)]
    before = won.sort_values("created_at").iloc[-1]
    account.move_lead_status(
        lead_id,
        int(before["before_status_id"]),
        by=int(before["created_by"] or 0),
        pipeline_id=int(before["before_pipeline_id"]),
        at=epoch(now),
    )
    return lead_id


def _append(gateway: SheetsGateway, config: Config, key: str, rows: list[list[Any]]) -> None:
    if not rows:
        return
    from sheets_kpi.sheets.input_tabs import TABS

    spec = next(t for t in TABS if t.key == key)
    title = spec.title(config.locale)
    gateway.http.values_append(
        config.google.spreadsheet_id,
        f"'{title}'!A1",
        params={"valueInputOption": "RAW"},
        body={"values": rows},
    )


def _print_leaderboards(
    store: Store, gateway: SheetsGateway, config: Config, now: datetime, echo: Any
) -> None:
    """Last month's statement and the current month, department by department."""
    parsed = read_inputs(gateway, config, now)
    results = compute_results(config, store, parsed.frames, now)
    closing = assemble(config, results, now, store.snapshots(), decisions_frame(store))
    last, current = closing.last, closing.current
    for dept in config.departments:
        echo(f"\n{dept.title_in(config.locale)}")
        for shown in (last, current):
            lines = shown.rows[shown.rows["department"] == dept.id]
            status = lines["department_status"].iloc[0] if len(lines) else shown.status
            echo(f"  {shown.period.label} ({status})")
            for m in lines.sort_values(["rank", "manager"], na_position="last").itertuples():
                rank = "—" if pd.isna(m.rank) else f"{int(m.rank)}."
                score = "—" if pd.isna(m.score) else f"{m.score:.3f}"
                echo(
                    f"    {rank:>3} {m.manager:<24} score {score:>6}   bonus "
                    f"{m.bonus:>9,.0f} ₽".replace(",", " ")
                )

"""One cycle: sync → read inputs → compute → write, recorded in the store's run log.

A failing sync does not stop the cycle: the output is recomputed from what the store already
holds and the run is marked failed with the reason. A failing Sheets read stops before anything
is written, so supervisors' inputs and the last good output stay as they are.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from sheets_kpi.clock import epoch
from sheets_kpi.config import Config
from sheets_kpi.errors import SheetsKpiError, SourceError, Stopped
from sheets_kpi.kpi.engine import Results, compute
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.issues import Issue, issues_frame
from sheets_kpi.kpi.rules import evaluate_deal_rules
from sheets_kpi.locale import label
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sources.amocrm.client import AmoClient
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import amocrm_frames, frame
from sheets_kpi.tabs import Output, build_layouts

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    run_id: int = 0
    status: str = "ok"
    seconds: float = 0.0
    amocrm_requests: int = 0
    entities_new: int = 0
    entities_updated: int = 0
    sheets_read_requests: int = 0
    sheets_write_requests: int = 0
    rows_written: int = 0
    issues: int = 0
    error: str | None = None
    synced: bool = True  # amoCRM was read completely (a nightly reconcile counts as done)

    def summary(self) -> dict[str, object]:
        return {
            "status": self.status,
            "seconds": self.seconds,
            "amocrm_requests": self.amocrm_requests,
            "sheets_read_requests": self.sheets_read_requests,
            "sheets_write_requests": self.sheets_write_requests,
        }


def run_cycle(
    config: Config,
    store: Store,
    amo: AmoClient,
    sheets: SheetsGateway,
    now: datetime,
    reconcile: bool = False,
    stop: threading.Event | None = None,
) -> CycleReport:
    """One cycle computed at the instant `now` (the caller's clock: the worker's or `--now`)."""
    started = time.monotonic()
    report = CycleReport(run_id=store.start_run(now))
    sheets.reset_counts()
    amo_before = amo.requests_made
    sync_issue: list[Issue] = []
    try:
        _sync(config, store, amo, now, reconcile, report, sync_issue, stop)
        _check(stop)
        inputs, input_issues = sheets.read_inputs(config)
        _check(stop)
        results = compute_results(config, store, inputs, now)
        parts = [input_issues, results.issues, issues_frame(sync_issue)]
        issues = _issues(store, parts, now, config.zone)
        _check(stop)
        output = build_layouts(results, issues, config, now, inputs["roster"])
        foreign = _foreign_tabs(sheets, output)
        if foreign:  # rare: rebuild so the data-issues tab names the tabs we could not write
            issues = _issues(store, [*parts, _foreign_tab_issues(foreign)], now, config.zone)
            output = build_layouts(results, issues, config, now, inputs["roster"])
        report.issues = len(issues)
        written = sheets.write(output.main, force=reconcile)  # nightly: undo edits by hand
        for spreadsheet_id, layouts in output.personal.items():
            try:
                personal = sheets.write(layouts, spreadsheet_id, force=reconcile)
                written.rows_written += personal.rows_written
            except SheetsKpiError as err:  # one manager's own spreadsheet must not stop the rest
                report.status = "failed"
                report.error = f"personal spreadsheet {spreadsheet_id}: {err}"
                log.error("%s", report.error)
        report.rows_written = written.rows_written
    except Stopped as err:
        report.status, report.error = "stopped", str(err)
        log.info("cycle stopped: %s", err)
    except SheetsKpiError as err:
        report.status, report.error = "failed", str(err)
        log.error("cycle failed: %s", err)
    except BaseException as err:  # Ctrl+C, a second SIGTERM, a bug: never logged as "ok"
        report.status, report.error = "failed", f"interrupted: {type(err).__name__}: {err}"
        raise
    finally:
        report.amocrm_requests = amo.requests_made - amo_before
        report.seconds = round(time.monotonic() - started, 2)
        _finish(config, store, sheets, report, now)
    return report


def _sync(
    config: Config,
    store: Store,
    amo: AmoClient,
    now: datetime,
    reconcile: bool,
    report: CycleReport,
    issues: list[Issue],
    stop: threading.Event | None,
) -> None:
    try:
        result = sync(
            amo,
            store,
            config.amocrm,
            now,
            reconcile_days=config.schedule.reconcile_days if reconcile else None,
            stop=stop,
        )
        report.entities_new, report.entities_updated = result.new, result.updated
    except Stopped:
        report.synced = False  # a reconcile cut short is not done
        raise
    except SourceError as err:
        report.status, report.error, report.synced = "failed", f"amoCRM sync: {err}", False
        log.error("amoCRM sync failed; computing from the stored data: %s", err)
        issues.append(Issue("error", "amoCRM", "sync", "", str(err)))


def compute_results(
    config: Config, store: Store, inputs: dict[str, pd.DataFrame], now: datetime
) -> Results:
    """Deal rules are evaluated (and their first-seen dates recorded) before the engine runs."""
    frames = amocrm_frames(store)
    moment = pd.Timestamp(now)
    current = evaluate_deal_rules(
        frames["leads"],
        frames["tasks"],
        frames["statuses"],
        frames["stage_changes"],
        config.rules,
        moment,
    )
    store.record_violations(
        {(int(lead), rule) for lead, rule in current.itertuples(index=False)}, now
    )
    frames["deal_violations"] = frame(store, "deal_violations")
    return compute(Inputs.build(**frames, **inputs), config, moment)


def _foreign_tabs(sheets: SheetsGateway, output: Output) -> list[str]:
    """Output titles taken by tabs we did not create, personal spreadsheets included (their
    metadata is read here instead of in the write; one that cannot be read fails its write)."""
    found = sheets.foreign_tabs([layout.title for layout in output.main])
    for spreadsheet_id, layouts in output.personal.items():
        try:
            taken = sheets.foreign_tabs([layout.title for layout in layouts], spreadsheet_id)
        except SheetsKpiError:
            continue
        found += [f"{title} ({spreadsheet_id})" for title in taken]
    return found


def _foreign_tab_issues(titles: list[str]) -> pd.DataFrame:
    message = (
        "a tab with this title was not created by sheets-kpi, so it is left alone and this "
        "output is not written; rename or delete that tab"
    )
    return issues_frame(Issue("error", "Sheets", title, "", message) for title in titles)


def _issues(store: Store, parts: list[pd.DataFrame], now: datetime, zone: ZoneInfo) -> pd.DataFrame:
    """All data issues, each with when it was first reported (local time of the config)."""
    issues = pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)
    keys = (
        issues["source"].astype(str)
        + "|"
        + issues["where"].astype(str)
        + "|"
        + issues["message"].astype(str)
    ).tolist()
    seen = store.first_seen(keys, now)
    issues["first_seen"] = [
        datetime.fromtimestamp(seen[k], zone).strftime("%Y-%m-%d %H:%M") for k in keys
    ]
    return issues


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Stopped("stopped on request between steps")


def _finish(
    config: Config, store: Store, sheets: SheetsGateway, report: CycleReport, now: datetime
) -> None:
    reads, writes = sheets.counts()
    row = [
        now.astimezone(config.zone).strftime("%Y-%m-%d %H:%M:%S"),
        report.seconds,
        report.amocrm_requests,
        f"{report.entities_new} / {report.entities_updated}",
        f"{reads}r / {writes + 1}w",
        report.rows_written,
        report.status,
        report.error or "",
    ]
    try:
        sheets.append_log_row(label(config.locale, "tab.log"), row)
    except SheetsKpiError as err:
        log.warning("could not append to the run log tab: %s", err)
    report.sheets_read_requests, report.sheets_write_requests = sheets.counts()
    store.finish_run(
        report.run_id,
        finished_at=epoch(now) + round(report.seconds),
        status=report.status,
        amocrm_requests=report.amocrm_requests,
        entities_new=report.entities_new,
        entities_updated=report.entities_updated,
        sheets_read_requests=report.sheets_read_requests,
        sheets_write_requests=report.sheets_write_requests,
        rows_written=report.rows_written,
        issues=report.issues,
        error=report.error,
    )

"""One cycle: sync → read inputs → compute → write, recorded in the store's run log.

A failing sync does not stop the cycle: the output is recomputed from what the store already
holds and the run is marked failed with the reason. A failing Sheets read stops before anything
is written, so supervisors' inputs and the last good output stay as they are.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from sheets_kpi.clock import epoch
from sheets_kpi.closing import Approval, close_periods, settled_months
from sheets_kpi.config import Config
from sheets_kpi.deadline import CycleOverrun
from sheets_kpi.errors import SheetsKpiError, SourceError, Stopped
from sheets_kpi.kpi.engine import Results, compute
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.issues import ISSUE_COLUMNS, Issue, issues_frame, place, shown_message
from sheets_kpi.kpi.kept_facts import KeptFacts
from sheets_kpi.kpi.kept_months import KeptMonths
from sheets_kpi.kpi.kept_statements import KeptStatements
from sheets_kpi.kpi.rules import evaluate_deal_rules, onsets
from sheets_kpi.locale import label
from sheets_kpi.progress import Progress
from sheets_kpi.redaction import redact, redact_optional
from sheets_kpi.release import release_stale
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.inputs import ParsedInputs, parse_inputs
from sheets_kpi.sources.amocrm.client import AmoClient
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import KeptFrames, amocrm_frames, frame
from sheets_kpi.tabs import Output, build_layouts
from sheets_kpi.tabs.manager import KeptTabs
from sheets_kpi.tabs.run import issues_tab, shown_where
from sheets_kpi.tv.snapshot import publish
from sheets_kpi.unchanged import fingerprint, kept_output

log = logging.getLogger(__name__)


@dataclass
class Kept:
    """What `serve` keeps between cycles: the amoCRM frames, the ended months, the fact rows
    that do not move with the clock, the draft statement lines and the manager tabs. Each hands
    out again only what the same inputs made, so a cycle computes with them exactly what it
    computes without."""

    frames: KeptFrames = field(default_factory=KeptFrames)
    months: KeptMonths = field(default_factory=KeptMonths)
    facts: KeptFacts = field(default_factory=KeptFacts)
    statements: KeptStatements = field(default_factory=KeptStatements)
    tabs: KeptTabs = field(default_factory=KeptTabs)


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
    synced: bool = False  # amoCRM was read completely (a nightly reconcile counts as done)
    approved: list[str] = field(default_factory=list)  # "period / department" approved now
    close_notes: list[str] = field(default_factory=list)  # why an approval or decision failed
    kept_from: int | None = None  # nothing changed: the output of this run stands

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
    approvals: tuple[Approval, ...] = (),
    progress: Progress | None = None,
    kept: Kept | None = None,
) -> CycleReport:
    """One cycle computed at the instant `now` (the caller's clock: the worker's or `--now`);
    `approvals` (from `sheets-kpi close`) join those typed into the close tab; `progress` hears
    of the sync per stream and of the writes; `kept` is what `serve` keeps between cycles."""
    started = time.monotonic()
    report = CycleReport(run_id=store.start_run(now))
    sheets.reset_counts()
    sheets.attach(store, report.run_id)
    amo_before = amo.requests_made
    source = ""  # the fingerprint of what the output is computed from (amoCRM read whole)
    holds_until: int | None = None  # when this cycle's output stops holding (`kpi.horizon`)
    try:
        synced = _sync(config, store, amo, now, reconcile, stop, progress)
        report.entities_new, report.entities_updated = synced.new, synced.updated
        report.synced = synced.complete
        if synced.error:
            report.status, report.error = "failed", f"amoCRM sync: {synced.error}"
        _check(stop)
        grids = sheets.read_grids()
        inputs = read_inputs(sheets, config, now, grids)
        _check(stop)
        if inputs.unreadable:  # the last good output stays; only the issues say why
            issues = _issues(store, [inputs.issues, issues_frame(synced.issues)], now, config.zone)
            report.issues = len(issues)
            written = sheets.write([issues_tab(issues, config.locale)], prune=False, hold=True)
            report.rows_written = written.rows_written
            report.status = "failed"
            unread = (
                f"input tab(s) {', '.join(inputs.unreadable)} could not be read; the last good "
                "output is kept (see the data issues)"
            )
            report.error = f"{report.error}; {unread}" if report.error else unread
            return report
        if synced.complete:
            source = fingerprint(config, grids, sheets.metadata())
        if source and not (synced.new or synced.updated or reconcile or approvals):
            standing = kept_output(store, source, now)
            if standing is not None:  # nothing new and no number moved: only the run-log row
                report.kept_from, report.issues = standing
                log.info("nothing changed since run #%d: its output stands", standing[0])
                return report
        store.forget_output_state()
        amocrm = kept.frames.frames(store) if kept is not None else None
        results = compute_results(  # the nightly cycle computes everything afresh
            config, store, inputs.frames, now, amocrm=amocrm, kept=None if reconcile else kept
        )
        statements = kept.statements if kept is not None and not reconcile else None
        closing = close_periods(
            config,
            store,
            results,
            inputs.frames,
            inputs.actions,
            now,
            report.run_id,
            approvals,
            statements,
        )
        report.approved = closing.approved
        report.close_notes = [  # in the locale, as the data-issues tab says them
            f"{shown_where(issue, config.locale)}: {shown_message(issue, config.locale)}"
            for issue in closing.issues
            if issue.source == "close"
        ]
        publish(config, results, closing, now)  # the TV page: the numbers the tabs get
        _check(stop)
        tabs = kept.tabs if kept is not None else None
        output = build_layouts(results, config, inputs.frames["roster"], closing, now, tabs)
        foreign = _foreign_tab_issues(_foreign_tabs(sheets, output))
        released = release_stale(config, store, sheets, output, now)
        parts = [
            inputs.issues,
            results.issues,
            issues_frame(closing.issues),
            issues_frame(synced.issues),
            foreign,
            issues_frame(released),
        ]
        issues = _issues(store, parts, now, config.zone)
        output.replace(issues_tab(issues, config.locale))
        report.issues = len(issues)
        # Nightly `reconcile` rewrites everything: it undoes edits by hand. The values go with
        # the run-log row, in `_finish`.
        tell = progress or _silent
        tell("tabs", 0.0, 0, len(output.main))
        written = sheets.write(output.main, force=reconcile, hold=True)
        tell("tabs", 1.0, len(output.main), len(output.main))
        others = output.elsewhere()
        for done, (spreadsheet_id, layouts) in enumerate(others.items()):
            tell("other spreadsheets", done / len(others), done, len(others))
            try:
                other = sheets.write(layouts, spreadsheet_id, force=reconcile)
                written.rows_written += other.rows_written
            except SheetsKpiError as err:  # one manager's own spreadsheet must not stop the rest
                report.status = "failed"
                what = "data" if spreadsheet_id in output.data else "personal"
                report.error = f"{what} spreadsheet {spreadsheet_id}: {err}"
                log.error("%s", report.error)
        if others:
            tell("other spreadsheets", 1.0, len(others), len(others))
        report.rows_written = written.rows_written
        if not released:  # a release notice shows for a week: computed every cycle
            holds_until = epoch(results.changes_at)
    except Stopped as err:
        report.status, report.error = "stopped", str(err)
        log.info("cycle stopped: %s", err)
    except (SheetsKpiError, CycleOverrun) as err:
        report.status, report.error = "failed", str(err)
        log.error("cycle failed: %s", err)
    except BaseException as err:  # Ctrl+C, a second SIGTERM, a bug: never logged as "ok"
        report.status, report.error = "failed", f"interrupted: {type(err).__name__}: {err}"
        raise
    finally:
        report.amocrm_requests = amo.requests_made - amo_before
        report.seconds = round(time.monotonic() - started, 2)
        try:
            _finish(config, store, sheets, report, now)
        except CycleOverrun as err:  # the run-log request was the first past the limit: it
            report.status, report.error = "failed", str(err)  # was not sent, and now can be
            _finish(config, store, sheets, report, now)
    if source and holds_until is not None and report.status == "ok":
        store.save_output_state(source, holds_until, report.run_id, report.issues)
    return report


@dataclass(frozen=True)
class SyncOutcome:
    """What the sync step did; a failed sync is not fatal: the cycle computes from the store."""

    new: int = 0
    updated: int = 0
    complete: bool = False  # amoCRM was read completely (a nightly reconcile counts as done)
    error: str | None = None
    issues: tuple[Issue, ...] = ()


def _sync(
    config: Config,
    store: Store,
    amo: AmoClient,
    now: datetime,
    reconcile: bool,
    stop: threading.Event | None,
    progress: Progress | None = None,
) -> SyncOutcome:
    """Raises `Stopped` when asked to stop mid-sync (the pages read so far are kept)."""
    try:
        result = sync(
            amo,
            store,
            config.amocrm,
            now,
            reconcile_days=config.schedule.reconcile_days if reconcile else None,
            stop=stop,
            progress=progress,
        )
    except SourceError as err:
        log.error("amoCRM sync failed; computing from the stored data: %s", err)
        return SyncOutcome(
            error=str(err),
            issues=(Issue.said("error", "amoCRM", place("sync"), "", "sync_failed", error=err),),
        )
    skipped = tuple(
        Issue.said(
            "warning",
            "amoCRM",
            f"{item.entity} {item.item_id}",
            "",
            "item_skipped",
            problems=item.problems,
        )
        for item in result.skipped
    )
    return SyncOutcome(result.new, result.updated, complete=True, issues=skipped)


def read_inputs(
    sheets: SheetsGateway,
    config: Config,
    now: datetime | None = None,
    grids: dict[str, list[list[Any]]] | None = None,
) -> ParsedInputs:
    """The input tabs in one metadata read and one batchGet (or the `grids` already read),
    parsed (pure) into the engine's frames and the data issues; with `now`, rows dated after
    its day wait for it."""
    today = now.astimezone(config.zone).date() if now is not None else None
    grids = sheets.read_grids() if grids is None else grids
    return parse_inputs(grids, config, sheets.input_titles(), today)


def track_violations(
    config: Config, store: Store, frames: dict[str, pd.DataFrame], now: datetime
) -> pd.DataFrame:
    """Evaluate the deal rules at `now`: a (lead, rule) seen for the first time is opened in the
    store, one no longer broken is resolved; at the first evaluation each is dated when the
    lead's history says it began (`kpi.rules.onsets`). Returns the store's violations after
    that."""
    args = [frames[k] for k in ("leads", "tasks", "statuses", "stage_changes")]
    current = evaluate_deal_rules(*args, config.rules, pd.Timestamp(now))
    keys = [(int(lead), rule) for lead, rule in current.itertuples(index=False)]
    began = None
    if store.rules_first_evaluated() is None:
        starts = onsets(current, *args, config.rules, pd.Timestamp(now))
        began = {key: None if pd.isna(at) else at for key, at in zip(keys, starts, strict=True)}
    store.record_violations(set(keys), now, began)
    return frame(store, "deal_violations")


def compute_results(
    config: Config,
    store: Store,
    inputs: dict[str, pd.DataFrame],
    now: datetime,
    months_back: int | None = None,
    amocrm: dict[str, pd.DataFrame] | None = None,
    kept: Kept | None = None,
) -> Results:
    """Violations are tracked first, then the pure engine runs on the store's frames (or the
    `amocrm` frames already read from it) and the parsed inputs; by default the months
    approved and no longer watched are not computed, and the ended months and fact rows that
    `kept` holds are not computed again where their inputs are the same."""
    frames = amocrm_frames(store) if amocrm is None else amocrm
    frames["deal_violations"] = track_violations(config, store, frames, now)
    frames["rule_evaluation"] = frame(store, "rule_evaluation")
    settled = settled_months(config, store, now) if months_back is None else frozenset()
    built = Inputs.build(**frames, **inputs)
    months, facts = (kept.months, kept.facts) if kept is not None else (None, None)
    return compute(built, config, pd.Timestamp(now), months_back, settled, months, facts)


def _foreign_tabs(sheets: SheetsGateway, output: Output) -> list[str]:
    """Output titles taken by tabs we did not create, the other spreadsheets included (their
    metadata is read here instead of in the write; one that cannot be read fails its write)."""
    found = sheets.foreign_tabs([layout.title for layout in output.main])
    for spreadsheet_id, layouts in output.elsewhere().items():
        try:
            taken = sheets.foreign_tabs([layout.title for layout in layouts], spreadsheet_id)
        except SheetsKpiError:
            continue
        found += [f"{title} ({spreadsheet_id})" for title in taken]
    return found


def _foreign_tab_issues(titles: list[str]) -> pd.DataFrame:
    return issues_frame(Issue.said("error", "Sheets", title, "", "foreign_tab") for title in titles)


def _issues(store: Store, parts: list[pd.DataFrame], now: datetime, zone: ZoneInfo) -> pd.DataFrame:
    """All data issues, each with when it was first reported (local time of the config)."""
    issues = pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)
    for column in ISSUE_COLUMNS:  # an echoed token must not reach the tab nor the store's keys
        issues[column] = [redact(v) if isinstance(v, str) else v for v in issues[column]]
    if "args" in issues:  # nor through the values a message in the locale is made from
        issues["args"] = [
            tuple((name, redact(str(value))) for name, value in args) if args else args
            for args in issues["args"]
        ]
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


def _log_row(config: Config, sheets: SheetsGateway, report: CycleReport, now: datetime) -> list:
    """The run's row; its own request is counted in (`writes + 1`)."""
    reads, writes = sheets.counts()
    return [
        now.astimezone(config.zone).strftime("%Y-%m-%d %H:%M:%S"),
        report.seconds,
        report.amocrm_requests,
        f"{report.entities_new} / {report.entities_updated}",
        f"{reads}r / {writes + 1}w",
        report.rows_written,
        report.status,
        report.error or "",
    ]


def _silent(name: str, fraction: float, items: int, total: int | None = None) -> None:
    """No progress is shown (a caller without a terminal or log to show it on)."""


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Stopped("stopped on request between steps")


def _finish(
    config: Config, store: Store, sheets: SheetsGateway, report: CycleReport, now: datetime
) -> None:
    report.error = redact_optional(report.error)
    report.close_notes = [redact(note) for note in report.close_notes]
    title = label(config.locale, "tab.log")
    killed = [  # runs a kill -9 ended before their row: told now, in the same request
        (
            run_id,
            [
                datetime.fromtimestamp(started, config.zone).strftime("%Y-%m-%d %H:%M:%S"),
                *[""] * 5,
                "killed",
                f"run #{run_id} was stopped (killed or crashed) before it finished",
            ],
        )
        for run_id, started in store.killed
    ]
    problem = None
    try:  # the output's values and the run-log row: one values.batchUpdate
        problem = sheets.flush(
            title, [*killed, (report.run_id, _log_row(config, sheets, report, now))]
        )
    except SheetsKpiError as err:
        if report.status == "ok":
            report.status = "failed"
        report.error = redact(f"{report.error}; {err}" if report.error else str(err))
        log.error("writing the output values failed: %s", err)
        try:  # the row alone, so the log tells why
            problem = sheets.flush(title, [(report.run_id, _log_row(config, sheets, report, now))])
        except SheetsKpiError as again:
            problem = str(again)
    if problem:
        log.warning("could not write the run log row: %s", problem)
    sheets.end_cycle()
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

"""Month close inside a cycle (SPEC §12): approvals and adjustment decisions (the close tab or
`sheets-kpi close`) become immutable snapshots and decisions in the store, and every statement
shown — approved ones read from their snapshot — is assembled here for the tabs."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from sheets_kpi.clock import epoch
from sheets_kpi.config import Config
from sheets_kpi.kpi.close import (
    DISCREPANCY_COLUMNS,
    STATEMENT_COLUMNS,
    Closing,
    Statement,
    discrepancies,
    inflow,
    period_status,
)
from sheets_kpi.kpi.close import statement as statement_rows
from sheets_kpi.kpi.engine import KPI_COLUMNS, STANDING_COLUMNS, PeriodFigures, Results
from sheets_kpi.kpi.facts import WIN_COLUMNS
from sheets_kpi.kpi.issues import Issue, place
from sheets_kpi.kpi.kept_statements import KeptStatements
from sheets_kpi.kpi.periods import Period, today
from sheets_kpi.sheets.inputs import CloseAction
from sheets_kpi.store.db import Snapshot, Store

#: Input frames an approval keeps with the statement (rows dated in the period).
KEPT_INPUTS = ("scores", "violations", "appeals")
DECISION_COLUMNS = [
    "period",
    "department",
    "manager_id",
    "action",
    "amount",
    "target_period",
    "decided_by",
    "decided_at",
    "comment",
]


@dataclass(frozen=True)
class Approval:
    """Approve `period` for one department, or all when `department` is None."""

    period: str
    department: str | None
    who: str
    comment: str = ""


def close_periods(
    config: Config,
    store: Store,
    results: Results,
    inputs: dict[str, pd.DataFrame],
    actions: tuple[CloseAction, ...],
    now: datetime,
    run_id: int,
    approvals: tuple[Approval, ...] = (),
    kept: KeptStatements | None = None,
) -> Closing:
    """Act on new decisions and approvals, then assemble every statement and discrepancy; the
    draft lines `kept` holds are not built again where they are made of the same."""
    issues: list[Issue] = []
    figures = {f.period.label: f for f in results.past}
    # The store is read once, and again only after this cycle changed it.
    snapshots, decisions = store.snapshots(), decisions_frame(store)
    found = _all_discrepancies(config, snapshots, decisions, results, figures)
    decided = _decide(store, actions, found, results, snapshots, now, issues)
    if decided:
        decisions = decisions_frame(store)
    statements = _statements(config, results, snapshots, decisions, kept)
    typed = [Approval(a.period, a.department, a.who, a.comment) for a in actions]
    requests = [r for r, a in zip(typed, actions, strict=True) if a.action == "approve"]
    approved = _approve(
        config,
        store,
        statements,
        figures,
        inputs,
        [*requests, *approvals],
        {(s.period, s.department) for s in snapshots},
        now,
        run_id,
        issues,
    )
    if approved:
        snapshots = store.snapshots()
        statements = _statements(config, results, snapshots, decisions, kept)
    if approved or decided:
        found = _all_discrepancies(config, snapshots, decisions, results, figures)
    keys = [
        "|".join(map(str, ("discrepancy", *row)))
        for row in found[["period", "department", "manager_id", "kpi", "field", "now"]].itertuples(
            index=False
        )
    ]
    seen = store.first_seen(keys, now)
    found["first_seen"] = [
        datetime.fromtimestamp(seen[k], config.zone).strftime("%Y-%m-%d %H:%M") for k in keys
    ]
    issues += _overdue_approval(config, statements[0])
    return Closing(
        statements=statements,
        discrepancies=found,
        kpi=_kpi_history(results, snapshots, statements[0], now),
        issues=issues,
        approved=approved,
    )


def settled_months(config: Config, store: Store, now: datetime) -> frozenset[str]:
    """Ended months approved in every department and older than the `close.watch_months`
    compared with their snapshots: nothing of them is computed again (they show as approved)."""
    period = Period.of(today(pd.Timestamp(now), config.timezone))
    watched = {month.label for month in period.ended(config.close.watch_months)}
    departments = {dept.id for dept in config.departments}
    approved: dict[str, set[str]] = {}
    for month, department in store.approved_months():
        approved.setdefault(month, set()).add(department)
    return frozenset(
        month for month, done in approved.items() if departments <= done and month not in watched
    )


def config_hash(config: Config) -> str:
    """What the numbers depend on, hashed: KPIs, bonuses, stages, rules, zone, plan carry-over."""
    relevant = config.model_dump(
        mode="json",
        include={"timezone", "departments", "rules", "plans", "amocrm"},
        exclude={"amocrm": {"auth", "base_url", "requests_per_second", "timeout_seconds"}},
    )
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def decisions_frame(store: Store) -> pd.DataFrame:
    names, rows = store.decisions()
    return pd.DataFrame(rows, columns=names).reindex(columns=DECISION_COLUMNS)


def assemble(
    config: Config,
    results: Results,
    now: datetime,
    snapshots: tuple[Snapshot, ...] | list[Snapshot] = (),
    decisions: pd.DataFrame | None = None,
) -> Closing:
    """The statements and data_kpi history from snapshots and decisions (pure; none given:
    every ended month is a draft)."""
    statements = _statements(config, results, snapshots, decisions)
    return Closing(
        statements=statements,
        discrepancies=pd.DataFrame(columns=[*DISCREPANCY_COLUMNS, "first_seen"]),
        kpi=_kpi_history(results, snapshots, statements[0], now),
    )


def _statements(
    config: Config,
    results: Results,
    snapshots: tuple[Snapshot, ...] | list[Snapshot],
    decisions: pd.DataFrame | None,
    kept: KeptStatements | None = None,
) -> list[Statement]:
    """Oldest first, each statement's uncovered deduction carried into the next; returned
    the last ended month first, the current one last. Without `kept`, every line is built."""
    figures = {f.period.label: f for f in results.past}
    approved = {(s.period, s.department): s for s in snapshots}
    decisions = decisions if decisions is not None else pd.DataFrame(columns=DECISION_COLUMNS)
    kept = kept if kept is not None else KeptStatements()
    kept.start(config, decisions)
    current = results.managers[STANDING_COLUMNS]
    chain = [*sorted(figures), results.period.label]
    carried = pd.Series(dtype=float)
    built: list[Statement] = []
    for label in chain:
        period = figures[label].period if label in figures else results.period
        standing = figures[label].managers if label in figures else current
        month = kept.month(label, standing, carried)
        parts, statuses = [], []
        for dept in config.departments:
            snapshot = approved.get((label, dept.id))
            status = period_status(
                period, results.period.today, snapshot is not None, config.close.grace_days
            )
            if snapshot is not None:
                rows = _frame(snapshot.payload["statement"], STATEMENT_COLUMNS).assign(
                    approved_by=snapshot.approved_by,
                    approved_at=_local(snapshot.approved_at, config),
                    approved_utc=pd.Timestamp(snapshot.approved_at, unit="s"),
                    version=snapshot.version,
                    department_status=status,
                )
            else:
                build = functools.partial(
                    _draft, label, standing, dept.id, config, decisions, carried, status
                )
                rows = month.draft(dept.id, status, build)
            parts.append(rows)
            statuses.append(status)
        rows = pd.concat(parts, ignore_index=True)
        carried = rows.set_index("manager_id")["carried"].astype(float)
        carried = carried[carried < 0]
        order = ("current", "closed", "draft", "approved")
        built.append(Statement(period, min(statuses, key=order.index), rows))
    return [*reversed(built[:-1]), built[-1]]


def _draft(
    period: str,
    standing: pd.DataFrame,
    department: str,
    config: Config,
    decisions: pd.DataFrame,
    carried: pd.Series,
    status: str,
) -> pd.DataFrame:
    """A department's draft lines: its managers' standing with the adjustments it takes."""
    mine = standing[standing["department"].to_numpy() == department]
    adjustment = inflow(period, department, decisions, carried)
    return statement_rows(period, mine, config, adjustment).assign(
        approved_by="",
        approved_at="",
        approved_utc=pd.NaT,
        version=0,
        department_status=status,
    )


def _approve(
    config: Config,
    store: Store,
    statements: list[Statement],
    figures: dict[str, PeriodFigures],
    inputs: dict[str, pd.DataFrame],
    requests: list[Approval],
    approved: set[tuple[str, str]],
    now: datetime,
    run_id: int,
    issues: list[Issue],
) -> list[str]:
    done: list[str] = []
    by_label = {s.period.label: s for s in statements}
    for request in requests:
        shown = by_label.get(request.period)
        refused = _refusal(shown, len(figures))
        if refused or shown is None:
            where = (
                f"{request.period} / {request.department}"
                if request.department
                else place("all_departments", period=request.period)
            )
            key, args = refused or ("not_closable", {"months": str(len(figures))})
            issues.append(Issue.said("error", "close", where, request.period, key, **args))
            continue
        for dept in config.departments:
            if request.department not in (None, dept.id) or (request.period, dept.id) in approved:
                continue
            snapshot = _snapshot(config, shown, figures[request.period], inputs, dept.id)
            store.approve(
                Snapshot(
                    period=request.period,
                    department=dept.id,
                    version=1,
                    approved_at=epoch(now),
                    approved_by=request.who,
                    run_id=run_id,
                    config_hash=config_hash(config),
                    payload=snapshot,
                )
            )
            approved.add((request.period, dept.id))
            done.append(f"{request.period} / {dept.id}")
    return done


def _refusal(shown: Statement | None, months: int) -> tuple[str, dict[str, str]] | None:
    """Why a period cannot be approved, as a locale key and its values (None if it can)."""
    if shown is None:
        return "not_closable", {"months": str(months)}
    if shown.status == "current":
        return "not_ended", {"end": shown.period.end.strftime("%Y-%m-%d")}
    return None


def _snapshot(
    config: Config,
    shown: Statement,
    figures: PeriodFigures,
    inputs: dict[str, pd.DataFrame],
    department: str,
) -> dict[str, Any]:
    """Everything an approved statement pays from: its lines, the KPI rows (plans included),
    the input rows dated in the period and the won leads behind the money."""
    lines = shown.rows[shown.rows["department"] == department]
    ids = set(lines["manager_id"])
    period = figures.period
    kept = {
        name: _records(
            inputs[name][
                inputs[name]["manager_id"].isin(ids)
                & inputs[name]["date"].between(period.start, period.end)
            ]
        )
        for name in KEPT_INPUTS
    }
    plans = inputs["plans"]
    kept["plans"] = _records(
        plans[(plans["period"] <= period.label) & (plans["department"] == department)]
    )
    return {
        "statement": _records(lines[STATEMENT_COLUMNS]),
        "kpi": _records(figures.kpi[figures.kpi["department"] == department]),
        "wins": _records(figures.wins[figures.wins["manager_id"].isin(ids)]),
        "inputs": kept,
    }


def _decide(
    store: Store,
    actions: tuple[CloseAction, ...],
    found: pd.DataFrame,
    results: Results,
    snapshots: list[Snapshot],
    now: datetime,
    issues: list[Issue],
) -> bool:
    """Accept or reject a proposed adjustment, once per close-tab row; True if any was."""
    decided = False
    done = store.close_actions()
    approved = {(s.period, s.department) for s in snapshots}
    for action in actions:
        if action.action == "approve":
            continue
        where = place("row", row=action.row)
        nothing = Issue.said(
            "info",
            "close",
            where,
            action.period,
            f"nothing_to_{action.action}",
            period=action.period,
        )
        if action.key in done:  # the one other outcome kept is `nothing` (its English text)
            if done[action.key] != "applied":
                issues.append(nothing)
            continue
        open_rows = found[
            (found["period"] == action.period)
            & (found["manager_id"] == action.manager_id)
            & (found["kpi"] == "bonus")
            & (found["status"].isin(["proposed", "rejected"]))
        ]
        if open_rows.empty:
            store.mark_close_action(action.key, nothing.message, now)
            issues.append(nothing)
            continue
        row = open_rows.iloc[0]
        target = _next_open(action.period, row["department"], approved, results.period.label)
        store.decide(
            {
                "period": action.period,
                "department": row["department"],
                "manager_id": int(row["manager_id"]),
                "action": action.action,
                "amount": float(row["bonus_difference"]),
                "target_period": target,
                "decided_by": action.who,
                "decided_at": epoch(now),
                "comment": action.comment,
            }
        )
        store.mark_close_action(action.key, "applied", now)
        decided = True
    return decided


def _next_open(period: str, department: str, approved: set[tuple[str, str]], current: str) -> str:
    """The first statement after `period` not yet approved: where an adjustment is paid."""
    month = pd.Period(period, "M") + 1
    while (str(month), department) in approved and str(month) < current:
        month += 1
    return str(month)


def _all_discrepancies(
    config: Config,
    snapshots: list[Snapshot],
    decisions: pd.DataFrame,
    results: Results,
    figures: dict[str, PeriodFigures],
) -> pd.DataFrame:
    """Every approved period of the last `close.watch_months` against itself computed now."""
    watched = {p.period.label for p in results.past[: config.close.watch_months]}
    parts = [
        _differences(snapshot, figures[snapshot.period], results.leads, decisions)
        for snapshot in snapshots
        if snapshot.period in watched
    ]
    if not parts:
        return pd.DataFrame(columns=DISCREPANCY_COLUMNS)
    return pd.concat(parts, ignore_index=True)[DISCREPANCY_COLUMNS]


def approved_differences(
    config: Config, store: Store, figures: PeriodFigures, results: Results
) -> dict[str, pd.DataFrame]:
    """For `run --period --dry-run`: each approved department of the period against `figures`."""
    decisions = decisions_frame(store)
    return {
        snapshot.department: _differences(snapshot, figures, results.leads, decisions)
        for snapshot in store.snapshots()
        if snapshot.period == figures.period.label
    }


def _differences(
    snapshot: Snapshot, now: PeriodFigures, leads: pd.DataFrame, decisions: pd.DataFrame
) -> pd.DataFrame:
    dept = snapshot.department
    mine = decisions[(decisions["period"] == snapshot.period) & (decisions["department"] == dept)]
    found = discrepancies(
        _frame(snapshot.payload["kpi"], KPI_COLUMNS),
        _frame(snapshot.payload["statement"], STATEMENT_COLUMNS),
        _frame(snapshot.payload["wins"], WIN_COLUMNS),
        now.kpi[now.kpi["department"] == dept],
        now.managers[now.managers["department"] == dept],
        now.wins,
        leads,
        mine,
    )
    return found.assign(period=snapshot.period, department=dept)


def _kpi_history(
    results: Results,
    snapshots: tuple[Snapshot, ...] | list[Snapshot],
    last: Statement,
    now: datetime,
) -> pd.DataFrame:
    """data_kpi rows: every approved period from its snapshot, the last month while it is a
    draft, and the current month."""
    stamp = pd.Timestamp(now).tz_convert("UTC")
    parts = [results.kpi.assign(status="current", version=0, computed_at=stamp)]
    approved = set()
    for snapshot in snapshots:
        approved.add((snapshot.period, snapshot.department))
        parts.append(
            _frame(snapshot.payload["kpi"], KPI_COLUMNS).assign(
                status="approved",
                version=snapshot.version,
                computed_at=pd.Timestamp(snapshot.approved_at, unit="s", tz="UTC"),
            )
        )
    draft = next(f for f in results.past if f.period == last.period).kpi
    waiting = ~draft["department"].map(lambda d: (last.period.label, d) in approved)
    parts.append(draft[waiting].assign(status="draft", version=0, computed_at=stamp))
    out = pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True)
    for column in ("period_start", "period_end"):
        out[column] = pd.to_datetime(out[column])
    return out.sort_values(["period", "department", "manager_id"], kind="stable").reset_index(
        drop=True
    )


def _overdue_approval(config: Config, last: Statement) -> list[Issue]:
    waiting = last.rows[last.rows["department_status"] == "closed"]["department"].unique()
    days = config.close.grace_days
    return [
        Issue.said(
            "warning",
            "close",
            f"{last.period.label} / {dept}",
            "",
            "not_approved",
            days=days,
            period=last.period.label,
        )
        for dept in sorted(waiting)
    ]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON records: dates as ISO text, missing values as null."""
    return json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))


def _frame(records: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Records back as a frame with at least `columns`; none (a department without managers)
    give an empty frame of untyped columns, which joins with any other."""
    if not records:
        return pd.DataFrame(columns=columns, dtype=object)
    return pd.DataFrame.from_records(records).reindex(columns=columns)


def _local(stamp: int, config: Config) -> str:
    return datetime.fromtimestamp(stamp, config.zone).strftime("%Y-%m-%d %H:%M")


__all__ = ["KPI_COLUMNS", "Approval", "Closing", "Statement", "close_periods", "config_hash"]

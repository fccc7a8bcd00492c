"""`sheets-kpi run --period YYYY-MM [--dry-run]` (SPEC §12): any period computed from the store
and the input tabs into a preview tab, or its differences against the approved statement;
live tabs, snapshots and decisions are never touched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from sheets_kpi.closing import approved_differences, decisions_frame
from sheets_kpi.config import Config
from sheets_kpi.cycle import compute_results, read_inputs
from sheets_kpi.errors import SheetsKpiError
from sheets_kpi.kpi.close import Statement, inflow, statement
from sheets_kpi.kpi.engine import STANDING_COLUMNS, PeriodFigures
from sheets_kpi.kpi.periods import Period, today
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.store.db import Store
from sheets_kpi.tabs.statement import recompute_tab


@dataclass
class Recomputed:
    period: str
    title: str = ""
    #: Per approved department: its discrepancies (empty: the approved numbers still hold).
    differences: dict[str, pd.DataFrame] | None = None


def recompute(
    config: Config,
    store: Store,
    sheets: SheetsGateway,
    label: str,
    now: datetime,
    dry_run: bool = False,
) -> Recomputed:
    """The period as of its end (or as of `now` while it is open), with today's data."""
    current = Period.of(today(pd.Timestamp(now), config.timezone))
    if label > current.label:
        raise SheetsKpiError(f"{label} has not begun (it is {current.label} now)")
    back = (pd.Period(current.label, "M") - pd.Period(label, "M")).n
    inputs = read_inputs(sheets, config, now)
    results = compute_results(config, store, inputs.frames, now, months_back=max(back, 1))
    if back == 0:
        figures = PeriodFigures(results.period, results.kpi, results.managers, results.wins)
    else:
        figures = next(f for f in results.past if f.period.label == label)
    if dry_run:
        return Recomputed(label, differences=approved_differences(config, store, figures, results))
    decisions = decisions_frame(store)
    parts = [
        statement(
            label,
            figures.managers.loc[figures.managers["department"] == dept.id, STANDING_COLUMNS],
            config,
            inflow(label, dept.id, decisions, pd.Series(dtype=float)),
        )
        for dept in config.departments
    ]
    rows = pd.concat(parts, ignore_index=True).assign(
        department_status="recompute", approved_by="", approved_at=""
    )
    layout = recompute_tab(Statement(figures.period, "recompute", rows), figures, config)
    sheets.write([layout], prune=False)
    return Recomputed(label, title=layout.title)

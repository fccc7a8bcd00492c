"""Month close, pure (SPEC §12): the status of a period, a statement with its adjustments, and
the discrepancies between an approved statement and the same period computed again now."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.bonus import multiplier
from sheets_kpi.kpi.issues import Issue
from sheets_kpi.kpi.periods import Period
from sheets_kpi.kpi.stages import WON

#: A statement row: what a manager is paid for a period and how it came about.
STATEMENT_COLUMNS = [
    "period",
    "department",
    "manager_id",
    "manager",
    "score",
    "rank",
    "multiplier",
    "base",
    "prize",
    "earned",
    "adjustment",
    "carried",
    "bonus",
]
DISCREPANCY_COLUMNS = [
    "period",
    "department",
    "manager_id",
    "manager",
    "kpi",
    "kpi_title",
    "field",
    "unit",
    "approved",
    "now",
    "bonus_difference",
    "status",
    "leads",
]
#: Differences smaller than this are float noise, not a change.
TOLERANCE = 1e-9


@dataclass
class Statement:
    """One period's statement lines (`STATEMENT_COLUMNS` plus `department_status`,
    `approved_by`, `approved_at` (local text), `approved_utc`, `version`) and the period's
    status (the least closed of its departments)."""

    period: Period
    status: str
    rows: pd.DataFrame


@dataclass
class Closing:
    """What the tabs show of closed and closing periods."""

    #: The ended months computed (the last one first), then the current one.
    statements: list[Statement]
    discrepancies: pd.DataFrame
    #: data_kpi rows of the periods shown: every approved one, the last draft, the current.
    kpi: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)
    #: What `sheets-kpi close` asked for and what came of it.
    approved: list[str] = field(default_factory=list)

    def statement(self, label: str) -> Statement | None:
        return next((s for s in self.statements if s.period.label == label), None)

    @property
    def last(self) -> Statement:
        """The statement of the month before the current one."""
        return self.statements[0]

    @property
    def current(self) -> Statement:
        return self.statements[-1]

    def bonus_history(self) -> pd.DataFrame:
        """data_bonus rows: every approved statement, the last draft and the current one."""
        shown = [s.rows for s in self.statements if s is self.last or s is self.current]
        shown += [s.rows[s.rows["department_status"] == "approved"] for s in self.statements]
        rows = pd.concat(shown, ignore_index=True)
        return rows.drop_duplicates(["period", "manager_id"]).sort_values(
            ["period", "department", "rank", "manager"], na_position="last", kind="stable"
        )


def period_status(period: Period, today: pd.Timestamp, approved: bool, grace_days: int) -> str:
    """`current` (holds today), `draft` (ended within the grace days), `closed` (ended, grace
    over, not approved: still a draft, now overdue) or `approved`."""
    if approved:
        return "approved"
    if today <= period.end:
        return "current"
    return "draft" if (today - period.end).days <= grace_days else "closed"


def statement(
    period: str, standing: pd.DataFrame, config: Config, adjustment: pd.Series
) -> pd.DataFrame:
    """Each manager's statement line from their standing (score, rank, prize, earned bonus).

    `adjustment` (by manager_id) is what accepted adjustments and an earlier statement's
    uncovered deduction add: the bonus never goes below 0 and what a deduction could not take
    is `carried` (negative) to the next statement.
    """
    department = standing["department"]
    bases = {dept.id: dept.bonus.base for dept in config.departments}
    # Built in one go from arrays: a statement is assembled per period and department every
    # cycle, and column-by-column pandas assignments cost more than the arithmetic.
    score, mine_of = standing["score"].to_numpy(), department.to_numpy()
    factor = np.full(len(standing), np.nan)
    for dept in config.departments:
        mine = mine_of == dept.id
        factor[mine] = multiplier(score[mine], dept.bonus)
    added = standing["manager_id"].map(adjustment).fillna(0.0).astype(float)
    total = standing["bonus"].astype(float).to_numpy() + added.to_numpy()
    unknown = np.isnan(total)  # as Series.clip: a missing amount stays missing
    out = pd.DataFrame(
        {
            "department": department,
            "manager_id": standing["manager_id"],
            "manager": standing["manager"],
            "score": standing["score"],
            "rank": standing["rank"],
            "multiplier": factor,
            "base": standing["bonus_base"].astype(float).fillna(department.map(bases)),
            "prize": standing["prize"],
            "earned": standing["bonus"],
            "adjustment": added,
            "carried": np.where(unknown | (total <= 0.0), total, 0.0),
            "bonus": np.where(unknown | (total >= 0.0), total, 0.0),
        }
    )
    out["period"] = period
    return out[STATEMENT_COLUMNS].reset_index(drop=True)


def inflow(period: str, department: str, decisions: pd.DataFrame, carried: pd.Series) -> pd.Series:
    """Adjustments a statement takes, by manager: accepted ones addressed to it plus what the
    previous statement carried."""
    if decisions.empty:  # the usual case: filtering and aligning nothing costs the most
        return carried
    accepted = decisions[
        (decisions["action"] == "accept")
        & (decisions["target_period"] == period)
        & (decisions["department"] == department)
    ]
    own = accepted.groupby("manager_id")["amount"].sum()
    return own.add(carried, fill_value=0.0)


def discrepancies(
    approved_kpi: pd.DataFrame,
    approved_statement: pd.DataFrame,
    approved_wins: pd.DataFrame,
    now_kpi: pd.DataFrame,
    now_standing: pd.DataFrame,
    now_wins: pd.DataFrame,
    leads: pd.DataFrame,
    decisions: pd.DataFrame,
) -> pd.DataFrame:
    """One department's approved period against the same period computed now.

    A row per KPI whose fact or plan moved, one `rank` row where rank or prize moved, and one
    `bonus` row per manager whose earned bonus moved: its `bonus_difference` is what is still
    open after the accepted adjustments, and its status says what the supervisor decided.
    """
    keys = ["manager_id", "kpi"]
    pair = approved_kpi.merge(now_kpi, on=keys, how="outer", suffixes=("_approved", "_now"))
    rows: list[dict] = []
    for measure in ("fact", "plan"):
        before, after = pair[f"{measure}_approved"], pair[f"{measure}_now"]
        moved = _differs(before, after)
        for item in pair[moved].itertuples():
            metric = _first(item.metric_approved, item.metric_now)
            rows.append(
                {
                    "manager_id": item.manager_id,
                    "kpi": item.kpi,
                    "kpi_title": _first(item.kpi_title_approved, item.kpi_title_now),
                    "unit": _first(item.unit_approved, item.unit_now),
                    "field": measure,
                    "approved": getattr(item, f"{measure}_approved"),
                    "now": getattr(item, f"{measure}_now"),
                    "leads": _changed_leads(approved_wins, now_wins, leads, item.manager_id, metric)
                    if measure == "fact"
                    else [],
                }
            )
    columns = ["manager_id", "rank", "prize", "earned"]
    people = approved_statement[columns].merge(
        now_standing.rename(columns={"bonus": "earned"})[columns],
        on="manager_id",
        how="outer",
        suffixes=("_approved", "_now"),
    )
    settled = _decided(decisions, "accept").groupby("manager_id")["amount"].sum()
    for item in people.itertuples():
        rank_moved = _differs(pd.Series([item.rank_approved]), pd.Series([item.rank_now])).iloc[0]
        if rank_moved or _money(item.prize_now) != _money(item.prize_approved):
            rows.append(
                {
                    "manager_id": item.manager_id,
                    "kpi": "rank",
                    "field": "rank",
                    "unit": "count",
                    "approved": item.rank_approved,
                    "now": item.rank_now,
                    "leads": [],
                }
            )
        difference = _money(item.earned_now) - _money(item.earned_approved)
        open_amount = difference - float(settled.get(item.manager_id, 0.0))
        if difference or any(r["manager_id"] == item.manager_id for r in rows):
            rows.append(
                {
                    "manager_id": item.manager_id,
                    "kpi": "bonus",
                    "field": "bonus",
                    "unit": "rub",
                    "approved": _money(item.earned_approved),
                    "now": _money(item.earned_now),
                    "bonus_difference": open_amount,
                    "status": _status(decisions, item.manager_id, difference, open_amount),
                    "leads": [],
                }
            )
    out = pd.DataFrame(rows, columns=[c for c in DISCREPANCY_COLUMNS if c != "period"])
    names = _names(approved_statement, now_standing)
    out["manager"] = out["manager_id"].map(names)
    return out.sort_values(["manager", "manager_id"], kind="stable").reset_index(drop=True)


def _status(decisions: pd.DataFrame, manager_id: Any, difference: float, open_: float) -> str:
    """`proposed`, `rejected` (the same amount was turned down), `accepted` (nothing left
    open after an acceptance) or `no_effect` (a KPI moved but not the money)."""
    if open_:
        rejected = _decided(decisions, "reject")
        mine = rejected[rejected["manager_id"] == manager_id]
        if not mine.empty and float(mine["amount"].iloc[-1]) == open_:
            return "rejected"
        return "proposed"
    return "accepted" if difference else "no_effect"


def _decided(decisions: pd.DataFrame, action: str) -> pd.DataFrame:
    return decisions[decisions["action"] == action]


def _changed_leads(
    approved_wins: pd.DataFrame,
    now_wins: pd.DataFrame,
    leads: pd.DataFrame,
    manager_id: Any,
    metric: Any,
) -> list[dict]:
    """The won leads behind a money KPI that differ: reopened, deleted, won again later,
    repriced, moved to or from another manager, or new."""
    if metric is None:
        return []
    before = approved_wins[
        (approved_wins["manager_id"] == manager_id) & (approved_wins["metric"] == metric)
    ].set_index("lead_id")
    after_all = now_wins[now_wins["metric"] == metric].drop_duplicates("lead_id")
    after_all = after_all.set_index("lead_id")
    after = after_all[after_all["manager_id"] == manager_id]
    state = leads.drop_duplicates("lead_id", keep="last").set_index("lead_id")
    changed = []
    for lead_id, won in before.iterrows():
        if lead_id in after.index:
            price = _money(after.at[lead_id, "price"])
            if abs(price - float(won["price"])) > TOLERANCE:
                changed.append(_lead(lead_id, won, "repriced", float(won["price"]), price))
        elif lead_id in after_all.index:
            changed.append(
                _lead(lead_id, won, "reassigned", to=after_all.at[lead_id, "manager_id"])
            )
        elif lead_id in state.index and bool(state.at[lead_id, "is_deleted"]):
            changed.append(_lead(lead_id, won, "deleted"))
        elif lead_id in state.index and state.at[lead_id, "status_id"] == WON:
            changed.append(_lead(lead_id, won, "won_again"))
        else:
            changed.append(_lead(lead_id, won, "reopened"))
    for lead_id, won in after.iterrows():
        if lead_id not in before.index:
            changed.append(_lead(lead_id, won, "new", price=float(won["price"])))
    return changed


def _lead(lead_id: Any, won: pd.Series, change: str, *values: float, **extra: Any) -> dict:
    item = {"lead_id": int(lead_id), "name": str(won.get("lead_name") or ""), "change": change}
    if values:
        item["price_before"], item["price_now"] = values
    return item | extra


def _names(*frames: pd.DataFrame) -> pd.Series:
    both = pd.concat([f[["manager_id", "manager"]] for f in frames], ignore_index=True)
    return (
        both.dropna().drop_duplicates("manager_id", keep="last").set_index("manager_id")["manager"]
    )


def _differs(before: pd.Series, after: pd.Series) -> pd.Series:
    b, a = before.astype(float), after.astype(float)
    return (b.isna() != a.isna()) | ((b - a).abs() > TOLERANCE)


def _money(value: Any) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None and not pd.isna(v)), None)

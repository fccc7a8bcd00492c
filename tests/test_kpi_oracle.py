"""An independent oracle for the KPI engine on a generated agency synced into a store.

The engine is vectorised pandas, where a wrong join or a UTC date hides easily behind small
hand-made fixtures. Here the current month's facts are recomputed in plain Python loops over the
raw store rows, following SPEC §7.1 and docs/kpi.md ("Choices"), and must match the engine to
the rouble. Every department gets the checked metrics, so every manager is checked on each. A few
awkward moves the generator never makes (work near local midnight, handover after a win, re-win,
reopened win, zero-second "answered" call, late task) are added so the oracle can disagree.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from sheets_kpi.config import Config, KpiConfig
from sheets_kpi.emulators.amocrm import AmoState, generate_agency, serve
from sheets_kpi.emulators.amocrm.structure import NEGOTIATION, SALES, SALES_PIPELINE
from sheets_kpi.kpi.engine import compute
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.sheets.init_tabs import YES_NO, roster_rows
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import amocrm_frames
from tests.conftest import NOW, instant, shipped_config

pytestmark = pytest.mark.slow

WON, HOUR, DAY = 142, 3600, 86400
CHECKED = ["won_amount", "won_count", "calls_outgoing", "calls_missed_share"]
CHECKED += ["tasks_overdue", "tasks_completed"]
RATIOS = {"calls_missed_share"}  # num/den; the others are plain counts or sums
#: (manager_id, metric) → (num, den, fact); den and fact None where the engine has NaN.
Facts = dict[tuple[int, str], tuple[float, float | None, float | None]]


def add_edge_cases(state: AmoState, month_start: int) -> None:
    """Two sellers' ordinary but awkward moves around the local start of the month."""
    a, b = sorted(u for u in state.users if state.group_of(u) == SALES)[:2]
    night, eve = month_start + HOUR // 2, month_start - HOUR // 2  # 00:30 Nov 1, 23:30 Oct 31
    contact = min(state.entities["contacts"])

    def lead(price: int, won_at: int) -> int:
        """A lead of `a`, won at `won_at`."""
        new = state.add_lead("Edge", a, SALES_PIPELINE, NEGOTIATION, price, at=won_at - DAY)
        state.move_lead_status(new["id"], WON, a, at=won_at)
        return new["id"]

    state.change_responsible(lead(100_000, night), b, a, at=night + DAY)  # still a's sale
    lead(200_000, eve)  # October's
    rewon = lead(400_000, month_start - 10 * DAY)
    state.move_lead_status(rewon, NEGOTIATION, a, at=month_start - 9 * DAY)
    state.move_lead_status(rewon, WON, b, at=month_start + 4 * DAY)  # November's, a's
    state.move_lead_status(lead(800_000, night + DAY), NEGOTIATION, a, at=night + 2 * DAY)
    state.add_call("contacts", contact, a, "in", "+79990001122", 0, 4, night)  # 0 s: missed
    for at in (night, eve):  # November's, October's
        state.add_call("contacts", contact, a, "out", "+79990001122", 60, 4, at)
    tasks = [(night, night + DAY), (night, None), (night + HOUR, night), (NOW + HOUR, None)]
    for deadline, done in tasks:  # late, not done, on time at 00:30, not due yet
        task = state.add_task("contacts", contact, a, deadline, at=deadline - DAY)
        if done:
            state.complete_task(task["id"], a, at=done)


def with_checked_metrics(config: Config) -> Config:
    """The shipped config, each department extended with the checked metrics it lacks."""
    departments = []
    for dept in config.departments:
        have = {kpi.metric for kpi in dept.kpis}
        extra = [KpiConfig(id=f"oracle_{m}", metric=m, weight=1) for m in CHECKED if m not in have]
        departments.append(dept.model_copy(update={"kpis": [*dept.kpis, *extra]}))
    return config.model_copy(update={"departments": departments})


def roster(users: pd.DataFrame, config: Config) -> list[dict]:
    """Every amoCRM user of a configured department, as the roster tab would list them."""
    yes, nan = YES_NO[config.locale][0], float("nan")
    return [
        row | {"manager_id": row["amo_user_id"], "active": row["active"] == yes, "bonus_base": nan}
        for row in roster_rows(users, config)
    ]


def engine_facts(results) -> Facts:
    def known(value: float) -> float | None:
        return None if pd.isna(value) else float(value)

    kpi = results.kpi[results.kpi["metric"].isin(CHECKED)]
    return {
        (int(r.manager_id), r.metric): (float(r.num), known(r.den), known(r.fact))
        for r in kpi.itertuples()
    }


class Month:
    """The current plan month as local dates, from its 1st up to today."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.today = self.day(NOW)
        self.first = self.today.replace(day=1)
        self.start = int(datetime.combine(self.first, time(), self.zone).timestamp())

    def day(self, instant: int) -> date:
        return datetime.fromtimestamp(instant, self.zone).date()

    def holds(self, instant: int | None) -> bool:
        return instant is not None and self.first <= self.day(instant) <= self.today


def oracle_wins(store: Store, month: Month, facts: Counter) -> None:
    """Leads won now, dated on their last entry into 142 (choice 5), to the owner then (7)."""
    entries: dict[int, int] = {}
    handovers: dict[int, list] = defaultdict(list)
    for lead_id, kind, at, raw in store.query(
        "SELECT entity_id, type, created_at, raw FROM events WHERE entity_type = 'lead' "
        "ORDER BY created_at"
    ):
        event = json.loads(raw)
        if kind == "lead_status_changed" and event["value_after"][0]["lead_status"]["id"] == WON:
            entries[lead_id] = at
        elif kind == "entity_responsible_changed":
            before = event["value_before"][0]["responsible_user"]["id"]
            after = event["value_after"][0]["responsible_user"]["id"]
            handovers[lead_id].append((at, before, after))
    for lead_id, price, owner, status, closed, deleted in store.query(
        "SELECT id, price, responsible_user_id, status_id, closed_at, is_deleted FROM leads"
    ):
        moment = entries.get(lead_id, closed)
        if status != WON or deleted or not month.holds(moment):
            continue
        if history := handovers[lead_id]:
            earlier = [after for at, _, after in history if at <= moment]
            owner = earlier[-1] if earlier else history[0][1]
        facts[owner, "won_amount"] += price or 0
        facts[owner, "won_count"] += 1


def oracle_calls(store: Store, config: Config, month: Month, facts: Counter) -> None:
    """Outgoing calls by caller; missed incoming / incoming by whom the call was routed to.

    Whose call it is follows docs/kpi.md: the telephony's `call_responsible`; without it (the
    agency's office SIP line sends none, and files an outgoing call under the card's owner) the
    note's creator for an outgoing call and its responsible user for an incoming one.
    """
    for kind, responsible, author, at, raw in store.query(
        "SELECT note_type, responsible_user_id, created_by, created_at, raw FROM notes "
        "WHERE note_type IN ('call_in', 'call_out')"
    ):
        if not month.holds(at):
            continue
        params = json.loads(raw).get("params") or {}
        named = params.get("call_responsible")
        if isinstance(named, int) and named > 0:
            user = named
        elif kind == "call_out" and author:
            user = author
        else:
            user = responsible if responsible is not None else author
        if kind == "call_out":
            facts[user, "calls_outgoing"] += 1
            continue
        failed = params.get("call_status") in config.amocrm.missed_call_statuses
        facts[user, "calls_missed_share"] += failed or not params.get("duration")
        facts[user, "calls_missed_share/den"] += 1


def oracle_tasks(store: Store, month: Month, facts: Counter) -> None:
    """Overdue: due this month by now, done late or not done; completed: done this month."""
    completions = "SELECT entity_id, created_at FROM events WHERE type = 'task_completed'"
    done_at = dict(store.query(completions + " ORDER BY created_at"))  # the latest one stands
    for task_id, user, deadline, completed in store.query(
        "SELECT id, responsible_user_id, complete_till, is_completed FROM tasks "
        "WHERE is_deleted = 0"
    ):
        finished = done_at.get(task_id)
        if month.holds(deadline) and deadline <= NOW:
            late = finished is not None and finished > deadline  # no event: on time (9)
            facts[user, "tasks_overdue"] += not completed or late
        facts[user, "tasks_completed"] += bool(completed and month.holds(finished))


def oracle_facts(store: Store, config: Config, managers: set[int]) -> Facts:
    month, counts = Month(config.timezone), Counter()
    oracle_wins(store, month, counts)
    oracle_calls(store, config, month, counts)
    oracle_tasks(store, month, counts)
    return {(m, metric): as_engine_shows(counts, m, metric) for m in managers for metric in CHECKED}


def as_engine_shows(counts: Counter, manager: int, metric: str) -> tuple:
    """(num, den, fact): a sum has no den; a ratio with nothing to divide has no fact."""
    num, den = float(counts[manager, metric]), float(counts[manager, metric + "/den"])
    if metric not in RATIOS:
        return num, None, num
    return num, den or None, num / den if den else None


@pytest.fixture(scope="module")
def both() -> tuple[Facts, Facts]:
    """(engine facts, oracle facts) of the current month for every active roster member."""
    account = generate_agency(managers=8, months=2, seed=5, now=NOW)
    add_edge_cases(account, Month(shipped_config().timezone).start)
    server = serve(account, rps=1000)
    with Store(":memory:") as store:
        try:
            config = with_checked_metrics(
                shipped_config(base_url=server.url, requests_per_second=1000)
            )
            sync(make_client(config.amocrm), store, config.amocrm, now=instant(NOW))
        finally:
            server.stop()
        frames = amocrm_frames(store)
        people = roster(frames["users"], config)
        now = pd.Timestamp(NOW, unit="s", tz="UTC")
        results = compute(Inputs.build(**frames, roster=people), config, now)
        active = {row["manager_id"] for row in people if row["active"]}
        return engine_facts(results), oracle_facts(store, config, active)


def test_every_active_roster_member_has_every_checked_metric(both) -> None:
    engine, oracle = both
    assert len({manager for manager, _ in oracle}) >= 8
    assert sorted(engine) == sorted(oracle)


@pytest.mark.parametrize("metric", CHECKED)
def test_engine_fact_equals_the_oracle(both, metric: str) -> None:
    engine, oracle = both
    mine = {m: engine[m, metric] for m, name in engine if name == metric}
    theirs = {m: oracle[m, metric] for m, name in oracle if name == metric}
    assert sum(num for num, _, _ in theirs.values()) > 0, "the oracle checks nothing"
    assert mine == theirs

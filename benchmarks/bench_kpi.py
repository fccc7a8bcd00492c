"""KPI engine on 1,000,000 events over 200 managers and 12 months: compute time and peak RSS.

    python benchmarks/bench_kpi.py [--events 1000000] [--managers 200]

Target on a 2-core machine: ≤ 10 s and ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sheets_kpi.config import load_config
from sheets_kpi.kpi.engine import compute
from sheets_kpi.kpi.inputs import Inputs

ROOT = Path(__file__).resolve().parents[1]
NOW = pd.Timestamp("2026-11-20 12:00", tz="UTC")
DEPARTMENTS = ["leadgen", "sales", "accounts", "quality"]


def dataset(events: int, managers: int, seed: int = 1) -> Inputs:
    rng = np.random.default_rng(seed)
    start = (NOW - pd.DateOffset(months=12)).value // 10**9
    span = NOW.value // 10**9 - start
    ids = np.arange(1, managers + 1)

    def instants(n: int) -> pd.Series:
        return pd.to_datetime(start + rng.integers(0, span, n), unit="s", utc=True)

    n_calls, n_moves, n_tasks, n_handover = (int(events * s) for s in (0.55, 0.25, 0.15, 0.05))
    n_leads = n_moves // 3
    statuses = pd.DataFrame(
        {
            "pipeline_id": [1] * 6 + [2] * 3,
            "pipeline_name": ["Продажи"] * 6 + ["Допродажи"] * 3,
            "status_id": [10, 11, 12, 13, 142, 143, 20, 142, 143],
            "status_name": [
                "Первичный контакт",
                "Квалифицирован",
                "КП отправлено",
                "Переговоры",
                "Успешно",
                "Закрыто",
                "Обсуждение",
                "Успешно",
                "Закрыто",
            ],
            "sort": [10, 20, 30, 40, 50, 60, 10, 20, 30],
        }
    )
    created = instants(n_leads)
    status = rng.choice([10, 11, 12, 13, 142, 143], n_leads)
    leads = pd.DataFrame(
        {
            "lead_id": np.arange(n_leads),
            "name": "Сделка",
            "price": rng.integers(0, 500, n_leads) * 1000.0,
            "responsible_user_id": pd.array(rng.choice(ids, n_leads), dtype="Int64"),
            "pipeline_id": pd.array(rng.choice([1, 2], n_leads, p=[0.85, 0.15]), dtype="Int64"),
            "status_id": pd.array(status, dtype="Int64"),
            "created_at": created,
            "updated_at": created,
            "closed_at": created.where(np.isin(status, [142, 143])) + pd.Timedelta(days=7),
            "is_deleted": False,
            "contact_id": pd.array(rng.integers(0, n_leads // 2, n_leads), dtype="Int64"),
            "company_id": pd.array([pd.NA] * n_leads, dtype="Int64"),
            "custom_fields": [{"Источник": "Сайт"}] * n_leads,
        }
    )
    moves = pd.DataFrame(
        {
            "event_id": np.arange(n_moves).astype(str),
            "lead_id": rng.integers(0, n_leads, n_moves),
            "created_at": instants(n_moves),
            "created_by": pd.array(rng.choice(np.append(ids, 0), n_moves), dtype="Int64"),
            "pipeline_id": pd.array(np.ones(n_moves, dtype=int), dtype="Int64"),
            "status_id": pd.array(rng.choice([11, 12, 13, 142, 143], n_moves), dtype="Int64"),
            "before_pipeline_id": pd.array(np.ones(n_moves, dtype=int), dtype="Int64"),
            "before_status_id": pd.array(np.full(n_moves, 10), dtype="Int64"),
        }
    )
    handovers = pd.DataFrame(
        {
            "event_id": np.arange(n_handover).astype(str),
            "lead_id": rng.integers(0, n_leads, n_handover),
            "created_at": instants(n_handover),
            "before_user_id": pd.array(rng.choice(ids, n_handover), dtype="Int64"),
            "after_user_id": pd.array(rng.choice(ids, n_handover), dtype="Int64"),
        }
    )
    incoming = rng.random(n_calls) < 0.4
    missed = incoming & (rng.random(n_calls) < 0.15)
    calls = pd.DataFrame(
        {
            "note_id": np.arange(n_calls),
            "created_at": instants(n_calls),
            "direction": np.where(incoming, "in", "out").astype(object),
            "user_id": pd.array(rng.choice(ids, n_calls), dtype="Int64"),
            "entity_type": "contacts",
            "entity_id": pd.array(rng.integers(0, 50000, n_calls), dtype="Int64"),
            "contact_id": pd.array(rng.integers(0, 50000, n_calls), dtype="Int64"),
            "phone": rng.integers(0, 50000, n_calls).astype(str).astype(object),
            "duration": np.where(missed, 0, rng.integers(10, 900, n_calls)),
            "call_status": pd.array(np.where(missed, 6, 4), dtype="Int64"),
        }
    )
    deadline = instants(n_tasks)
    done = rng.random(n_tasks) < 0.85
    tasks = pd.DataFrame(
        {
            "task_id": np.arange(n_tasks),
            "responsible_user_id": pd.array(rng.choice(ids, n_tasks), dtype="Int64"),
            "entity_type": "leads",
            "entity_id": pd.array(rng.integers(0, n_leads, n_tasks), dtype="Int64"),
            "created_at": deadline - pd.Timedelta(days=2),
            "complete_till": deadline,
            "is_completed": done,
            "completed_at": (
                deadline + pd.to_timedelta(rng.integers(-40, 8, n_tasks), unit="h")
            ).where(done),
        }
    )
    roster = pd.DataFrame(
        {
            "manager_id": ids,
            "name": [f"Менеджер {i}" for i in ids],
            "department": [DEPARTMENTS[i % 4] for i in ids],
            "seniority": np.where(ids % 3 == 0, "junior", "senior"),
            "email": "",
            "personal_spreadsheet": "",
            "active": True,
            "bonus_base": np.nan,
        }
    )
    days = pd.to_datetime(rng.integers(start, NOW.value // 10**9, 20000), unit="s").normalize()
    scores = pd.DataFrame(
        {
            "date": days,
            "manager_id": rng.choice(ids, 20000),
            "kind": rng.choice(["call_quality", "nps"], 20000),
            "score": rng.integers(0, 11, 20000) * 10.0,
            "ref": "",
        }
    )
    plans = pd.DataFrame(
        [
            {
                "period": "2026-11",
                "manager_id": pd.NA,
                "department": d.id,
                "kpi": k.id,
                "plan": 10.0,
            }
            for d in CONFIG.departments
            for k in d.kpis
        ]
    )
    plans["manager_id"] = plans["manager_id"].astype("Int64")
    return Inputs.build(
        statuses=statuses,
        leads=leads,
        stage_changes=moves,
        responsible_changes=handovers,
        calls=calls,
        tasks=tasks,
        roster=roster,
        scores=scores,
        plans=plans,
    )


CONFIG = load_config(ROOT / "config.yaml", env={"AMO_TOKEN": "benchmark"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--managers", type=int, default=200)
    args = parser.parse_args()
    started = time.perf_counter()
    inputs = dataset(args.events, args.managers)
    built = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    results = compute(inputs, CONFIG, NOW)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"dataset: {args.events:,} events, {args.managers} managers, 12 months "
        f"(built in {built:.1f} s, RSS {rss_before:.0f} MB)"
    )
    print(
        f"compute: {seconds:.2f} s; daily facts {len(results.daily):,} rows; "
        f"kpi rows {len(results.kpi):,}"
    )
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()

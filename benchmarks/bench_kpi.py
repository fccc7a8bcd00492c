"""KPI engine on 1,000,000 events over 200 managers and 12 months: compute time and peak RSS.

    .venv/bin/python benchmarks/bench_kpi.py [--events 1000000] [--managers 200] [--profile]

The dataset is built directly as `Inputs` frames with numpy (no emulator). Target on a 2-core
machine: compute ≤ 10 s and peak RSS ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sheets_kpi.config import load_config
from sheets_kpi.kpi.engine import compute
from sheets_kpi.kpi.inputs import Inputs

ROOT = Path(__file__).resolve().parents[1]
CONFIG = load_config(ROOT / "config.yaml", env={"AMO_TOKEN": "benchmark"})
NOW = pd.Timestamp("2026-11-20 12:00", tz="UTC")
DEPARTMENTS = ["leadgen", "sales", "accounts", "quality"]
#: Share of the events per kind; leads are a third of the stage changes.
MIX = {
    "calls": 0.45,
    "stage_changes": 0.25,
    "tasks": 0.15,
    "responsible_changes": 0.05,
    "deal_violations": 0.05,
    "scores": 0.03,
    "violations": 0.015,
    "appeals": 0.005,
}
STATUSES = pd.DataFrame(
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


def dataset(events: int, managers: int, seed: int = 1) -> Inputs:
    rng = np.random.default_rng(seed)
    n = {kind: int(events * share) for kind, share in MIX.items()}
    start = (NOW - pd.DateOffset(months=12)).value
    ids = np.arange(1, managers + 1)

    def instants(size: int) -> pd.Series:
        return pd.Series(pd.to_datetime(rng.integers(start, NOW.value, size), utc=True))

    def users(size: int) -> pd.arrays.IntegerArray:
        return pd.array(rng.choice(ids, size), dtype="Int64")

    def days(size: int) -> pd.Series:
        return instants(size).dt.tz_convert(CONFIG.timezone).dt.tz_localize(None).dt.normalize()

    n_leads = n["stage_changes"] // 3
    created = instants(n_leads)
    status = rng.choice([10, 11, 12, 13, 142, 143], n_leads)
    closed = np.isin(status, [142, 143])
    leads = pd.DataFrame(
        {
            "lead_id": np.arange(n_leads),
            "name": "Сделка",
            "price": rng.integers(0, 500, n_leads) * 1000.0,
            "responsible_user_id": users(n_leads),
            "pipeline_id": pd.array(np.where(rng.random(n_leads) < 0.85, 1, 2), dtype="Int64"),
            "status_id": pd.array(status, dtype="Int64"),
            "created_at": created,
            "updated_at": created,
            "closed_at": (created + pd.to_timedelta(rng.integers(1, 60, n_leads), unit="D"))
            .where(closed)
            .clip(upper=NOW),
            "is_deleted": rng.random(n_leads) < 0.01,
            "contact_id": pd.array(rng.integers(0, n_leads // 2, n_leads), dtype="Int64"),
            "company_id": pd.array(
                np.where(rng.random(n_leads) < 0.3, rng.integers(0, n_leads // 8, n_leads), -1),
                dtype="Int64",
            ),
            "custom_fields": [{"Источник": "Сайт"}] * n_leads,
        }
    )
    leads["company_id"] = leads["company_id"].mask(leads["company_id"] < 0)
    k = n["stage_changes"]
    moves = pd.DataFrame(
        {
            "event_id": np.arange(k).astype(str).astype(object),
            "lead_id": rng.integers(0, n_leads, k),
            "created_at": instants(k),
            "created_by": pd.array(rng.choice(np.append(ids, 0), k), dtype="Int64"),
            "pipeline_id": pd.array(np.ones(k, dtype=int), dtype="Int64"),
            "status_id": pd.array(rng.choice([11, 12, 13, 142, 143], k), dtype="Int64"),
            "before_pipeline_id": pd.array(np.ones(k, dtype=int), dtype="Int64"),
            "before_status_id": pd.array(np.full(k, 10), dtype="Int64"),
        }
    )
    k = n["responsible_changes"]
    handovers = pd.DataFrame(
        {
            "event_id": np.arange(k).astype(str).astype(object),
            "lead_id": rng.integers(0, n_leads, k),
            "created_at": instants(k),
            "before_user_id": users(k),
            "after_user_id": users(k),
        }
    )
    k = n["calls"]
    incoming = rng.random(k) < 0.4
    missed = incoming & (rng.random(k) < 0.15)
    calls = pd.DataFrame(
        {
            "note_id": np.arange(k),
            "created_at": instants(k),
            "direction": np.where(incoming, "in", "out").astype(object),
            "user_id": users(k),
            "entity_type": "contacts",
            "entity_id": pd.array(rng.integers(0, 50000, k), dtype="Int64"),
            "contact_id": pd.array(rng.integers(0, 50000, k), dtype="Int64"),
            "phone": rng.integers(0, 50000, k).astype(str).astype(object),
            "duration": np.where(missed, 0, rng.integers(10, 900, k)),
            "call_status": pd.array(np.where(missed, 6, 4), dtype="Int64"),
        }
    )
    k = n["tasks"]
    deadline = instants(k)
    done = rng.random(k) < 0.85
    tasks = pd.DataFrame(
        {
            "task_id": np.arange(k),
            "responsible_user_id": users(k),
            "entity_type": "leads",
            "entity_id": pd.array(rng.integers(0, n_leads, k), dtype="Int64"),
            "created_at": deadline - pd.Timedelta(days=2),
            "complete_till": deadline,
            "is_completed": done,
            "completed_at": (deadline + pd.to_timedelta(rng.integers(-40, 8, k), unit="h"))
            .where(done)
            .clip(upper=NOW),
        }
    )
    k = n["deal_violations"]
    seen = instants(k)
    deal_violations = pd.DataFrame(
        {
            "lead_id": rng.integers(0, n_leads, k),
            "rule": rng.choice(["no_next_task", "stale_stage", "zero_price_after"], k),
            "first_seen_at": seen,
            "resolved_at": (seen + pd.to_timedelta(rng.integers(1, 240, k), unit="h"))
            .where(rng.random(k) < 0.8)
            .clip(upper=NOW),
            "backlog": False,
        }
    ).astype({"rule": object})
    roster = pd.DataFrame(
        {
            "manager_id": ids,
            "name": [f"Менеджер {i}" for i in ids],
            "department": [DEPARTMENTS[i % 4] for i in ids],
            "seniority": np.where(ids % 3 == 0, "junior", "senior").astype(object),
            "email": "",
            "personal_spreadsheet": "",
            "active": True,
            "bonus_base": np.where(ids % 10 == 0, 60000.0, np.nan),
        }
    ).astype({"name": object, "department": object, "email": object})
    k = n["scores"]
    kinds = rng.choice(["call_quality", "nps"], k)
    scores = pd.DataFrame(
        {
            "date": days(k),
            "manager_id": rng.choice(ids, k),
            "kind": kinds.astype(object),
            "score": np.where(kinds == "nps", rng.integers(0, 11, k), rng.integers(40, 101, k)),
            "ref": "",
        }
    ).astype({"score": float, "ref": object})
    k = n["violations"]
    violations = pd.DataFrame(
        {
            "date": days(k),
            "manager_id": rng.choice(ids, k),
            "type": rng.choice(["deal", "control", "regulation"], k).astype(object),
            "ref": "",
        }
    ).astype({"ref": object})
    k = n["appeals"]
    appeals = pd.DataFrame(
        {
            "date": days(k),
            "manager_id": rng.choice(ids, k),
            "ref": "",
            "outcome": rng.choice(["won", "lost", "pending"], k).astype(object),
            "row": pd.array(np.arange(2, k + 2), dtype="Int64"),
            "tab": "Апелляции",
        }
    ).astype({"ref": object, "tab": object})
    plans = pd.DataFrame(
        [
            {"period": p, "manager_id": pd.NA, "department": d.id, "kpi": kpi.id, "plan": 10.0}
            for p in ("2026-10", "2026-11")
            for d in CONFIG.departments
            for kpi in d.kpis
        ]
    ).astype({"manager_id": "Int64", "period": object, "department": object, "kpi": object})
    return Inputs.build(
        statuses=STATUSES,
        leads=leads,
        stage_changes=moves,
        responsible_changes=handovers,
        calls=calls,
        tasks=tasks,
        deal_violations=deal_violations,
        roster=roster,
        scores=scores,
        violations=violations,
        appeals=appeals,
        plans=plans,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--managers", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    args = parser.parse_args()
    started = time.perf_counter()
    inputs = dataset(args.events, args.managers)
    built = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    results = compute(inputs, CONFIG, NOW)
    seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = {kind: len(getattr(inputs, kind)) for kind in MIX}
    print(f"dataset: {sum(counts.values()):,} events over {args.managers} managers, 12 months")
    print("  " + ", ".join(f"{kind} {count:,}" for kind, count in counts.items()))
    print(f"  leads {len(inputs.leads):,}; built in {built:.1f} s, RSS then {rss_before:.0f} MB")
    print(
        f"compute: {seconds:.2f} s (daily facts {len(results.daily):,} rows, "
        f"kpi rows {len(results.kpi):,}, weekly rows {len(results.weekly):,})"
    )
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()

"""Backfill a generated agency through the real client at amoCRM's 7 requests per second.

Prints, per stream, the requests made against the minimum ⌈items/limit⌉, the wall time against
requests/7 rps, and peak memory. A walk by timestamp re-reads the item at each page's last
timestamp (so an edit mid-walk cannot shift another item out of the sync): about one request in
a hundred extra on the 100-per-page events, usually none on the 250-per-page lists; and one
events request after a multi-page tasks walk checks for deletions (counted under events). Usage:

    python benchmarks/bench_sync.py --managers 48 --months 6 [--rps 7] [--now ISO-8601]
"""

from __future__ import annotations

import argparse
import math
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

from sheets_kpi.clock import epoch, parse_instant, wall_clock
from sheets_kpi.config import AmoConfig
from sheets_kpi.emulators.amocrm import DEMO_TOKEN, generate_agency, serve
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.sources.amocrm.streams import STREAMS
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import Store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--managers", type=int, default=48)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rps", type=float, default=7)
    parser.add_argument(
        "--now", type=parse_instant, default=None, help="the instant the agency ends at"
    )
    args = parser.parse_args()
    now = args.now or wall_clock()

    started = time.perf_counter()
    state = generate_agency(args.managers, args.months, args.seed, now=epoch(now))
    state.set_now(epoch(now))
    generated = time.perf_counter() - started
    server = serve(state, rps=args.rps)
    settings = AmoConfig(
        base_url=server.url,
        auth={"long_lived_token": DEMO_TOKEN},
        requests_per_second=args.rps,
        backfill_days=args.months * 31 + 1,
    )
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "bench.db") as store:
        client = make_client(settings)
        started = time.perf_counter()
        report = sync(client, store, settings, now)
        wall = time.perf_counter() - started
        counts = store.counts()
    server.stop()

    made = Counter(entry["path"] for entry in server.stats()["requests"])
    print(f"agency: {args.managers} managers, {args.months} months, generated in {generated:.1f} s")
    print(f"{'stream':<18}{'items':>9}{'requests':>10}{'minimum':>9}")
    minimum_total = 2  # users (one page) and pipelines (a dictionary)
    for stream in STREAMS:
        note_entity = stream.path.split("/")[3] if stream.table == "notes" else ""
        items = len(state.select(stream.table, list(stream.params), note_entity))
        minimum = max(1, math.ceil(items / stream.limit))
        minimum_total += minimum
        print(f"{stream.name:<18}{items:>9}{made[stream.path]:>10}{minimum:>9}")
    dictionaries = made["/api/v4/users"] + made["/api/v4/leads/pipelines"]
    print(f"{'users+pipelines':<18}{'':>9}{dictionaries:>10}{2:>9}")
    detail = ", ".join(f"{table} {count}" for table, count in counts.items())
    print(f"entities synced: {sum(counts.values())} ({detail})")
    print(f"requests: {report.requests} made, {minimum_total} minimum")
    print(
        f"wall time: {wall:.1f} s; requests/{args.rps:g} rps = {report.requests / args.rps:.1f} s"
    )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

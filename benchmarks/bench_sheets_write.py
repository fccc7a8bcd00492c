"""Write N managers' worth of output tabs to the Sheets emulator; print requests and wall time.

    python benchmarks/bench_sheets_write.py 8 48

Each manager gets a KPI tab; every run also writes the 12 department tabs and the analytics and
data tabs, roughly what a real cycle writes. The claim under test: a full write is one metadata
read, one batchUpdate (structure) and one values.batchUpdate whatever N is, one changed manager
costs the read and one values.batchUpdate, and an unchanged rewrite is the read alone (none when
the metadata is still cached). Counts come from the emulator's request log.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

from sheets_kpi.config import GoogleConfig
from sheets_kpi.emulators.sheets import SheetsState, serve
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sheets.layout import Block, LineChart, TabLayout
from sheets_kpi.sheets.render import encode
from sheets_kpi.sheets.writer import plan_writes


def layouts(managers: int, changed: int | None = None) -> list[TabLayout]:
    kpi_rows = [["KPI", "План", "Факт", "%", "Вес", "Вклад"]] + [
        [f"KPI {k}", 100, 50 + k, 0.5 + k / 10, 10, 0.05] for k in range(6)
    ]
    tabs = [
        TabLayout(
            f"Менеджер {i}",
            kpi_rows + [[f"неделя {w}", w + (i == changed)] for w in range(12)],
            formats=[Block(1, 3, 7, 4, "0%")],
            achievement=[Block(1, 3, 7, 4)],
        )
        for i in range(managers)
    ]
    tabs += [
        TabLayout(
            f"Отдел {d} {kind}",
            [["Менеджер", "Балл"]] + [[f"Менеджер {i}", 1.0] for i in range(managers)],
            chart=LineChart("x", 0, (1,), 0, managers + 1, 0, 3) if kind == "dyn" else None,
        )
        for d in range(4)
        for kind in ("sum", "rank", "dyn")
    ]
    tabs.append(
        TabLayout(
            "data_kpi",
            [["manager_id", "kpi", "fact"]]
            + [[i, f"kpi{k}", k] for i in range(managers) for k in range(6)],
        )
    )
    return tabs


def timed(server, gateway: SheetsGateway, tabs: list[TabLayout]) -> tuple[str, float]:
    server.reset_stats()
    started = time.perf_counter()
    gateway.write(tabs)
    seconds = time.perf_counter() - started
    kinds = Counter(e["operation"] for e in server.stats()["requests"])
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())), seconds


def main(sizes: list[int]) -> None:
    for managers in sizes:
        state = SheetsState(seed=1)
        state.create_spreadsheet("bench", "bench")
        server = serve(state=state)
        gateway = SheetsGateway(GoogleConfig(spreadsheet="bench", endpoint=server.url))
        tabs = layouts(managers)
        plan = plan_writes({"sheets": []}, tabs, gateway.editors)
        report = plan.report
        size = len(encode({"requests": [r for g in plan.structure for r in g]})) + sum(
            len(encode(d)) for unit in plan.values for d in unit.data
        )
        print(
            f"{managers:>3} managers: {len(tabs)} tabs, {report.rows_written} rows, {size:,} B body"
        )
        for label, batch in [
            ("first write", tabs),
            ("one manager changed", layouts(managers, changed=0)),
            ("unchanged", layouts(managers, changed=0)),
        ]:
            counts, seconds = timed(server, gateway, batch)
            print(f"    {label:<20} {counts:<40} {seconds:.2f} s")
        server.stop()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [8, 48])

"""`serve` keeps the manager tabs between cycles (`tabs.manager.KeptTabs`): a tab is built again
only when its view differs, and the kept tabs are exactly the tabs built afresh. On the
month-close world of tests/test_close.py (Анна, Борис); Анна has her own spreadsheet, so her tab
shows her neighbours too."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pandas as pd

from sheets_kpi.closing import assemble
from sheets_kpi.config import Config
from sheets_kpi.cycle import Kept, run_cycle
from sheets_kpi.kpi.engine import Results, compute
from sheets_kpi.sheets.layout import TabLayout
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.tabs import build_layouts
from sheets_kpi.tabs.manager import KeptTabs
from tests.kpi_fixtures import A, B
from tests.small_world import small_world
from tests.test_close import CFG, moscow, world

AT = pd.Timestamp(moscow("2026-11-20 15:00"))
OWN = "1AnnasOwnSpreadsheet000000000000000000000"


def tabs(results: Results, cfg: Config, kept: KeptTabs | None = None) -> list[TabLayout]:
    roster = world().roster.copy()
    roster["personal_spreadsheet"] = [OWN if m == A else "" for m in roster["manager_id"]]
    output = build_layouts(results, cfg, roster, assemble(cfg, results, AT), AT, kept)
    return output.main + output.personal[OWN]


def results_at(at: pd.Timestamp = AT, cfg: Config = CFG) -> Results:
    return compute(world(), cfg, at)


def with_fact(results: Results, manager_id: int, fact: float) -> Results:
    kpi = results.kpi.copy()
    kpi.loc[kpi["manager_id"] == manager_id, "fact"] = fact
    return dataclasses.replace(results, kpi=kpi)


def test_a_quiet_cycle_hands_out_every_manager_tab_again() -> None:
    kept = KeptTabs()
    first = tabs(results_at(), CFG, kept)
    assert kept.reused == 0
    later = results_at(AT + timedelta(minutes=15))
    again = tabs(later, CFG, kept)
    assert kept.reused == 2
    assert again == tabs(later, CFG)
    built = {layout.title: layout for layout in first}
    assert all(built[title] is tab for tab in again if (title := tab.title) in ("Анна", "Борис"))


def test_only_the_tab_whose_rows_moved_is_built_again_and_it_is_the_fresh_one() -> None:
    kept = KeptTabs()
    results = results_at()
    tabs(results, CFG, kept)
    moved = with_fact(results, B, 12_345.0)
    assert tabs(moved, CFG, kept) == tabs(moved, CFG)
    assert kept.reused == 1  # Анна's tab
    back = with_fact(results, A, 777.0)  # Борис back to the first cycle's: only the last is kept
    assert tabs(back, CFG, kept) == tabs(back, CFG)
    assert kept.reused == 0


def test_a_value_of_another_type_is_a_change() -> None:
    kept = KeptTabs()
    results = results_at()
    results = dataclasses.replace(results, kpi=results.kpi.astype({"fact": object}))
    tabs(results, CFG, kept)
    kpi = results.kpi.copy()
    boris = kpi["manager_id"] == B
    kpi.loc[boris, "fact"] = [int(fact) for fact in kpi.loc[boris, "fact"]]  # 80000, not 80000.0
    tabs(dataclasses.replace(results, kpi=kpi), CFG, kept)
    assert kept.reused == 1


def test_a_text_that_becomes_a_number_of_the_same_digits_is_a_change() -> None:
    kept = KeptTabs()
    results = results_at()
    kpi = results.kpi.astype({"kpi_title": object})
    kpi.loc[kpi["manager_id"] == B, "kpi_title"] = "7"
    tabs(dataclasses.replace(results, kpi=kpi), CFG, kept)
    kpi = kpi.copy()
    kpi.loc[kpi["manager_id"] == B, "kpi_title"] = 7
    moved = dataclasses.replace(results, kpi=kpi)
    boris = next(tab for tab in tabs(moved, CFG, kept) if tab.title == "Борис")
    assert 7 in [row[0] for row in boris.rows if row]
    assert tabs(moved, CFG) == tabs(moved, CFG, KeptTabs())


def test_another_config_builds_every_tab_again() -> None:
    kept = KeptTabs()
    tabs(results_at(), CFG, kept)
    english = CFG.model_copy(update={"locale": "en"})
    assert tabs(results_at(cfg=english), english, kept) == tabs(results_at(cfg=english), english)
    assert kept.reused == 0


def test_a_serve_cycle_writes_what_a_cycle_without_kept_tabs_would(tmp_path: Path) -> None:
    with small_world(tmp_path) as world:
        kept = Kept()
        amo = make_client(world.config.amocrm)
        later = world.now + timedelta(minutes=15)  # a missed call still waits: it computes
        for at in (world.now, later):
            assert run_cycle(world.config, world.store, amo, world.gateway(), at, kept=kept)
        assert kept.tabs.reused > 0
        world.store.forget_output_state()  # else the same instant keeps the last output
        fresh = run_cycle(world.config, world.store, amo, world.gateway(), later)
        assert fresh.status == "ok" and fresh.kept_from is None
        assert fresh.rows_written == 0  # the kept tabs are the ones it builds

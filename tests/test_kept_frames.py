"""`serve` keeps the amoCRM frames between cycles (`store.frames.KeptFrames`): the same numbers
as frames read afresh, and a fresh read whenever the store may hold something else."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from sheets_kpi import cycle
from sheets_kpi.cycle import Kept, compute_results, read_inputs, run_cycle
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.store import frames
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import KeptFrames, amocrm_frames
from tests.small_world import small_world


def test_kept_frames_give_the_numbers_of_frames_read_afresh(tmp_path: Path) -> None:
    with small_world(tmp_path) as world:
        inputs = read_inputs(world.gateway(), world.config, world.now).frames
        kept = KeptFrames()
        first = kept.frames(world.store)
        compute_results(world.config, world.store, inputs, world.now, amocrm=dict(first))
        later = world.now + timedelta(minutes=15)
        again = kept.frames(world.store)
        assert all(again[name] is first[name] for name in first)  # not read again
        from_kept = compute_results(world.config, world.store, inputs, later, amocrm=dict(again))
        afresh = compute_results(world.config, world.store, inputs, later)
        for field in dataclasses.fields(afresh):
            value = getattr(afresh, field.name)
            if isinstance(value, pd.DataFrame):
                pd.testing.assert_frame_equal(getattr(from_kept, field.name), value)
        recorded = ("deal_violations", "rule_evaluation")  # each cycle reads them after recording
        for name, read in amocrm_frames(world.store).items():  # the engine changed none of them
            if name not in recorded:
                pd.testing.assert_frame_equal(again[name], read)


def test_frames_are_read_again_when_anything_may_have_changed(tmp_path: Path) -> None:
    with small_world(tmp_path) as world:
        kept = KeptFrames()
        first = kept.frames(world.store)
        lead = int(first["leads"]["lead_id"].iloc[0])
        world.store.mark_deleted("leads", lead, True, at=0)
        second = kept.frames(world.store)
        assert second["leads"] is not first["leads"]
        assert bool(second["leads"].set_index("lead_id").loc[lead, "is_deleted"])
        world.store.mark_deleted("leads", lead, True, at=0)  # an overlap re-read: no change
        users = world.store.query("SELECT id FROM users")
        world.store.mark_absent("users", [user for (user,) in users])  # the same list again
        assert kept.frames(world.store)["leads"] is second["leads"]

        other = sqlite3.connect(world.config.store)  # e.g. `sheets-kpi sync` run by hand
        with other:
            other.execute(
                "UPDATE users SET name = 'Renamed' WHERE id = ?",
                (int(first["users"]["user_id"].iloc[0]),),
            )
        other.close()
        third = kept.frames(world.store)
        assert "Renamed" in third["users"]["name"].tolist()


def test_a_change_of_amocrm_data_ends_the_kept_output_even_in_a_cycle_cut_short(
    tmp_path: Path,
) -> None:
    with small_world(tmp_path) as world:
        world.store.save_output_state("fingerprint", 2**40, run_id=1, issues=0)
        world.store.upsert("users", [])  # nothing written: it stands
        assert world.store.output_state() is not None
        world.store.mark_deleted("leads", 10**9, True, at=0)  # a tombstone, as a sync page
        assert world.store.output_state() is None


def test_a_serve_cycle_with_nothing_new_computes_from_the_kept_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = []

    def counted(store: Store) -> dict[str, pd.DataFrame]:
        reads.append(store)
        return amocrm_frames(store)

    monkeypatch.setattr(frames, "amocrm_frames", counted)
    monkeypatch.setattr(cycle, "amocrm_frames", counted)
    with small_world(tmp_path) as world:
        kept = Kept()
        amo = make_client(world.config.amocrm)
        assert run_cycle(world.config, world.store, amo, world.gateway(), world.now, kept=kept)
        tomorrow = world.now + timedelta(days=1)  # a new day: the cycle computes again
        report = run_cycle(world.config, world.store, amo, world.gateway(), tomorrow, kept=kept)
        assert report.status == "ok" and report.kept_from is None
        assert len(reads) == 1

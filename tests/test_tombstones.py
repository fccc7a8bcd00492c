"""Leads deleted before the store first saw them count nowhere: a fresh backfill and a
long-running store give the same numbers."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from sheets_kpi.emulators.amocrm import AmoState, generate_agency
from sheets_kpi.emulators.amocrm import serve as serve_amocrm
from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.kpi.engine import Results, compute
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.sources.amocrm.sync import sync
from sheets_kpi.store.db import TOMBSTONE, Store
from sheets_kpi.store.frames import amocrm_frames
from tests.conftest import NOW, instant, shipped_config


@pytest.fixture
def account() -> Iterator[tuple[AmoState, EmulatorServer]]:
    state = generate_agency(managers=4, months=1, seed=9, now=NOW)
    state.set_now(NOW)
    server = serve_amocrm(state, rps=1000)
    yield state, server
    server.stop()


def _sync(server: EmulatorServer, store: Store, at: int) -> None:
    settings = shipped_config(base_url=server.url, requests_per_second=50, backfill_days=40).amocrm
    sync(make_client(settings), store, settings, now=instant(at))


def _results(store: Store, at: int) -> Results:
    """Every rostered user in sales, nothing typed in the other input tabs."""
    frames = amocrm_frames(store)
    roster = [
        {
            "manager_id": int(u),
            "name": n,
            "department": "sales",
            "seniority": "senior",
            "active": True,
        }
        for u, n in zip(frames["users"]["user_id"], frames["users"]["name"], strict=True)
    ]
    config = shipped_config(base_url="http://x")
    return compute(Inputs.build(**frames, roster=roster), config, pd.Timestamp(instant(at)))


def _proposals(results: Results, manager: int) -> float:
    kpi = results.kpi
    row = kpi[(kpi["manager_id"] == manager) & (kpi["kpi"] == "proposals")]
    return float(row["fact"].fillna(0).iloc[0])


def test_a_fresh_backfill_and_a_long_running_store_count_the_same(account, tmp_path) -> None:
    state, server = account
    with Store(tmp_path / "running.db") as running:
        _sync(server, running, NOW)
        before = _results(running, NOW + 3600)
        statuses = amocrm_frames(running)["statuses"]
        sent = statuses[statuses["status_name"] == "КП отправлено"].iloc[0]
        pipeline, proposal = int(sent["pipeline_id"]), int(sent["status_id"])
        first = int(
            statuses[statuses["pipeline_id"] == pipeline].sort_values("sort")["status_id"].iloc[0]
        )
        manager = int(before.kpi.loc[before.kpi["kpi"] == "proposals", "manager_id"].iloc[0])

        def proposed(at: int) -> int:
            lead = state.add_lead("hostile", manager, pipeline, first, at=at)
            state.move_lead_status(lead["id"], proposal, by=manager, at=at + 20)
            return int(lead["id"])

        seen = [proposed(NOW + 60), proposed(NOW + 70)]
        _sync(server, running, NOW + 300)  # the long-running store reads these two
        for lead_id in seen:
            state.delete_lead(lead_id, by=manager, at=NOW + 400)
        never_seen = proposed(NOW + 500)  # deleted before any store saw it
        state.delete_lead(never_seen, by=manager, at=NOW + 560)
        restored = proposed(NOW + 600)  # deleted before first sight, then restored: it counts
        state.delete_lead(restored, by=manager, at=NOW + 640)
        state.restore_lead(restored, by=manager, at=NOW + 660)

        _sync(server, running, NOW + 900)
        with Store(tmp_path / "fresh.db") as fresh:
            _sync(server, fresh, NOW + 900)

            at = NOW + 3600
            long_running, backfilled = _results(running, at), _results(fresh, at)
            assert (
                _proposals(backfilled, manager) == _proposals(before, manager) + 1
            )  # the restored one
            pd.testing.assert_frame_equal(long_running.kpi, backfilled.kpi)
            pd.testing.assert_frame_equal(long_running.daily, backfilled.daily)
            tombstones = fresh.query("SELECT id FROM leads WHERE raw = ?", (TOMBSTONE,))
            assert sorted(row[0] for row in tombstones) == sorted([*seen, never_seen])
            assert running.query("SELECT id FROM leads WHERE raw = ?", (TOMBSTONE,)) == [
                (never_seen,)
            ]


def test_a_restore_removes_the_tombstone_and_a_deletion_of_a_known_lead_keeps_its_data(
    tmp_path,
) -> None:
    with Store(tmp_path / "s.db") as store:
        store.upsert(
            "leads", [{"id": 7, "name": "known", "is_deleted": 0, "raw": "{}", "synced_at": NOW}]
        )
        store.mark_deleted("leads", 7, True, NOW)
        store.mark_deleted("leads", 8, True, NOW)  # never seen: a tombstone
        assert store.query("SELECT id, name, is_deleted, raw FROM leads ORDER BY id") == [
            (7, "known", 1, "{}"),
            (8, None, 1, TOMBSTONE),
        ]
        store.mark_deleted("leads", 7, False, NOW)
        store.mark_deleted("leads", 8, False, NOW)  # read again when amoCRM lists it
        store.mark_deleted("leads", 9, False, NOW)  # a restore of an unknown lead stores nothing
        assert store.query("SELECT id, is_deleted FROM leads ORDER BY id") == [(7, 0)]

"""The store: upserts by id, forward-only cursors, violation bookkeeping, migrations."""

from __future__ import annotations

import json
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from sheets_kpi.config import RulesConfig
from sheets_kpi.cycle import track_violations
from sheets_kpi.errors import StoreError
from sheets_kpi.kpi.inputs import frame
from sheets_kpi.kpi.rules import evaluate_deal_rules
from sheets_kpi.sources.amocrm import models
from sheets_kpi.sources.amocrm.rows import note_row, stored
from sheets_kpi.store.db import Store, UpsertCount
from sheets_kpi.store.frames import amocrm_frames
from sheets_kpi.store.schema import MIGRATIONS
from tests import kpi_fixtures as k
from tests.conftest import NOW_AT, instant


def lead(lead_id: int, updated_at: int, price: float = 0) -> dict:
    return {
        "id": lead_id,
        "name": f"Deal {lead_id}",
        "price": price,
        "responsible_user_id": 1,
        "status_id": 10,
        "pipeline_id": 1,
        "created_at": 1,
        "updated_at": updated_at,
        "closed_at": None,
        "is_deleted": 0,
        "contact_id": None,
        "company_id": None,
        "raw": "{}",
        "synced_at": 0,
    }


def test_upsert_counts_new_and_updated_and_keeps_latest_values(store: Store) -> None:
    assert store.upsert("leads", [lead(1, 100), lead(2, 100)]) == UpsertCount(new=2, updated=0)
    assert store.upsert("leads", [lead(2, 200, price=5), lead(3, 200)]) == UpsertCount(1, 1)
    assert store.query("SELECT id, price, updated_at FROM leads ORDER BY id") == [
        (1, 0.0, 100),
        (2, 5.0, 200),
        (3, 0.0, 200),
    ]
    re_read = [lead(2, 200, price=5) | {"synced_at": 99}, lead(3, 200)]
    assert store.upsert("leads", re_read) == UpsertCount(0, 0)  # an overlap re-read changes nothing


def test_cursor_only_moves_forward(store: Store) -> None:
    assert store.cursor("leads") is None
    store.set_cursor("leads", 500)
    store.set_cursor("leads", 400)
    assert store.cursor("leads") == 500


def test_transaction_rolls_back_page_and_cursor_together(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert("leads", [lead(1, 100)])
        store.set_cursor("leads", 100)
        raise RuntimeError("crash mid-page")
    assert store.counts()["leads"] == 0
    assert store.cursor("leads") is None


def test_violations_open_once_and_resolve_when_gone(store: Store) -> None:
    store.record_violations({(1, "no_next_task"), (2, "stale_stage")}, now=instant(100))
    store.record_violations({(1, "no_next_task")}, now=instant(200))
    store.record_violations({(1, "no_next_task"), (2, "stale_stage")}, now=instant(300))
    rows = store.query(
        "SELECT lead_id, rule, first_seen_at, resolved_at FROM deal_violation "
        "ORDER BY lead_id, first_seen_at"
    )
    assert rows == [
        (1, "no_next_task", 100, None),
        (2, "stale_stage", 100, 200),
        (2, "stale_stage", 300, None),
    ]


def test_the_first_evaluation_dates_violations_when_they_began_and_the_rest_is_backlog(
    store: Store,
) -> None:
    store.record_violations({(1, "no_next_task")}, now=instant(50))  # no leads: no evaluation
    assert store.rules_first_evaluated() is None
    store.record_violations(set(), now=instant(60))  # resolves lead 1's
    store.upsert("leads", [lead(1, 1), lead(2, 1), lead(3, 1)])
    began = {(1, "no_next_task"): instant(70), (2, "stale_stage"): None}  # 3: not given either
    current = {(1, "no_next_task"), (2, "stale_stage"), (3, "required_fields")}
    store.record_violations(current, now=instant(100), began=began)
    assert store.rules_first_evaluated() == 100
    store.record_violations(current | {(1, "stale_stage")}, now=instant(200))
    assert store.rules_first_evaluated() == 100  # the first one stays
    rows = store.query(
        "SELECT lead_id, rule, first_seen_at, resolved_at, backlog FROM deal_violation "
        "ORDER BY lead_id, rule, first_seen_at"
    )
    assert rows == [
        (1, "no_next_task", 50, 60, 0),
        (1, "no_next_task", 70, None, 0),  # dated when it began, before the evaluation
        (1, "stale_stage", 200, None, 0),  # seen by a later evaluation: first seen then
        (2, "stale_stage", 100, None, 1),  # open at the first evaluation, start unknown
        (3, "required_fields", 100, None, 1),
    ]
    frames = amocrm_frames(store)
    flags = frames["deal_violations"].sort_values(["lead_id", "rule", "first_seen_at"])["backlog"]
    assert flags.tolist() == [False, False, False, True, True]
    assert frames["rule_evaluation"]["first_at"].tolist() == [pd.Timestamp(100, unit="s", tz="UTC")]


def test_a_store_from_before_first_evaluations_learns_it_from_its_earliest_violation(
    tmp_path,
) -> None:
    """Migration 4: the violations recorded at the store's first evaluation (all first seen
    then, the old way) become backlog; later ones keep counting."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        conn.executescript(script)
    conn.executescript(
        "PRAGMA user_version = 3;"
        "INSERT INTO deal_violation VALUES (1, 'stale_stage', 100, NULL);"
        "INSERT INTO deal_violation VALUES (2, 'no_next_task', 100, 150);"
        "INSERT INTO deal_violation VALUES (2, 'no_next_task', 300, NULL);"
    )
    conn.close()
    with Store(path) as store:
        assert store.rules_first_evaluated() == 100
        rows = store.query(
            "SELECT lead_id, first_seen_at, backlog FROM deal_violation ORDER BY 2, 1"
        )
    assert rows == [(1, 100, 1), (2, 100, 1), (2, 300, 0)]
    empty = tmp_path / "empty.db"
    conn = sqlite3.connect(empty)
    for script in MIGRATIONS[:3]:
        conn.executescript(script)
    conn.executescript("PRAGMA user_version = 3;")
    conn.close()
    with Store(empty) as store:
        assert store.rules_first_evaluated() is None  # the next evaluation is the first


def test_runs_are_logged_newest_first(tmp_path) -> None:
    with Store(tmp_path / "s.db") as store:
        first = store.start_run(instant(10))
        store.finish_run(first, status="ok", finished_at=12, amocrm_requests=3)
        second = store.start_run(instant(20))
        assert [r["id"] for r in store.runs()] == [second, first]
        assert store.runs()[1]["amocrm_requests"] == 3


def test_store_is_wal_and_reopens(tmp_path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.upsert("leads", [lead(1, 1)])
    with Store(path) as store:
        assert store.counts()["leads"] == 1
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(tmp_path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer sheets-kpi"):
        Store(path)


def test_lead_custom_fields_are_keyed_by_name_and_by_id(store: Store) -> None:
    fields = [
        {"field_id": 501, "field_name": "Бюджет клиента", "values": [{"value": "100000"}]},
        {"field_id": 502, "field_name": "Источник", "values": [{"value": ""}]},
    ]
    row = lead(1, 100) | {"raw": json.dumps({"custom_fields_values": fields})}
    store.upsert("leads", [row])
    custom = amocrm_frames(store)["leads"].loc[0, "custom_fields"]
    assert custom == {"Бюджет клиента": "100000", "501": "100000"}


def _field(field_id: int, name: str, kind: str, *values: object) -> dict:
    return {
        "field_id": field_id,
        "field_name": name,
        "field_code": None,
        "field_type": kind,
        "values": [{"value": v} for v in values],
    }


def test_custom_field_values_are_read_by_their_fields_type(store: Store) -> None:
    """As real accounts send them (tests/conformance/amocrm/02, 29): a numeric field's value
    is a string, a date is the epoch second its day starts in the account's zone."""
    fields = [
        _field(1, "Бюджет клиента", "numeric", "150000.5"),
        _field(2, "Скидка", "numeric", "0"),  # zero is a value someone entered: filled
        _field(3, "Пусто", "numeric", ""),  # amoCRM drops a cleared field; empty is no value
        _field(4, "На доступ", "date", 1642626000),  # 2022-01-20 00:00 Moscow
        _field(5, "Дата из старых ответов", "date", "2020-05-08"),
        _field(6, "Договор подписан", "checkbox", False),  # unticked, but there: filled
        _field(7, "Промокод", "text", "null"),  # the text a web form wrote: a value
        _field(8, "Кривое число", "numeric", "n/a"),  # unreadable, but there: kept as sent
        _field(9, "Город", "text"),  # no values at all
        {"field_id": "x", "values": "nope"},  # malformed: skipped, the lead is kept
    ]
    row = lead(1, 100) | {"raw": json.dumps({"custom_fields_values": fields})}
    store.upsert("leads", [row])
    custom = amocrm_frames(store)["leads"].loc[0, "custom_fields"]
    by_name = {k: v for k, v in custom.items() if not k.isdigit()}
    assert by_name == {
        "Бюджет клиента": 150000.5,
        "Скидка": 0.0,
        "На доступ": instant(1642626000),
        "Дата из старых ответов": instant(1588896000),
        "Договор подписан": False,
        "Промокод": "null",
        "Кривое число": "n/a",
    }
    assert custom["4"] == instant(1642626000) and "3" not in custom and "9" not in custom
    statuses = pd.DataFrame(
        {"pipeline_id": [1], "pipeline_name": ["P"], "status_id": [10], "status_name": ["Новая"]}
    ).assign(sort=pd.array([10], dtype="Int64"))
    frames = amocrm_frames(store)

    def broken(*required: str) -> list:
        rules = RulesConfig.model_validate(
            {
                "no_next_task": False,
                "stale_stage_days": None,
                "required_fields": {"Новая": required},
            }
        )
        found = evaluate_deal_rules(
            frames["leads"],
            frames["tasks"],
            statuses,
            frames["stage_changes"],
            rules,
            pd.Timestamp(instant(200)),
        )
        return found.values.tolist()

    assert broken("Скидка", "Договор подписан", "На доступ", "Кривое число") == []
    assert broken("Пусто") == broken("Город") == [[1, "required_fields"]]


def test_a_task_completed_twice_is_dated_by_its_last_completion(store: Store) -> None:
    task = {
        "id": 7,
        "responsible_user_id": 1,
        "entity_type": "leads",
        "entity_id": 1,
        "is_completed": 1,
        "complete_till": 200,
        "created_at": 1,
        "updated_at": 500,
        "raw": "{}",
        "synced_at": 0,
    }
    store.upsert("tasks", [task])
    done = {"type": "task_completed", "entity_type": "task", "entity_id": 7, "created_by": 1}
    store.upsert(
        "events",
        [  # completed, reopened, completed again after the deadline
            done | {"id": "e1", "created_at": 100, "raw": "{}", "synced_at": 0},
            done | {"id": "e2", "created_at": 400, "raw": "{}", "synced_at": 0},
        ],
    )
    completed = amocrm_frames(store)["tasks"].loc[0, "completed_at"]
    assert completed == pd.Timestamp(400, unit="s", tz="UTC")


def test_a_run_left_running_by_a_killed_worker_is_marked_killed(store: Store) -> None:
    first = store.start_run(instant(100))  # the worker was killed -9 before finishing it
    second = store.start_run(instant(200))
    statuses = {run["id"]: run["status"] for run in store.runs()}
    assert statuses == {first: "killed", second: "running"}


CONFORMANCE = Path(__file__).parent / "conformance" / "amocrm"


def call_note(note_id: int, note_type: str, responsible: int, creator: int, **params) -> dict:
    return {
        "entity_type": "leads",
        "id": note_id,
        "entity_id": 1,
        "note_type": note_type,
        "responsible_user_id": responsible,
        "created_by": creator,
        "created_at": 100,
        "updated_at": 100,
        "raw": json.dumps({"params": {"duration": 30, "call_status": 4, **params}}),
        "synced_at": 0,
    }


def test_a_call_belongs_to_its_caller_or_to_whom_it_was_routed(store: Store) -> None:
    store.upsert(
        "notes",
        [
            call_note(1, "call_out", responsible=7, creator=8),  # the lead's owner ≠ the caller
            call_note(2, "call_in", responsible=7, creator=8),  # routed to 7
            call_note(3, "call_out", responsible=7, creator=8, call_responsible=9),
            call_note(4, "call_in", responsible=7, creator=0, call_responsible="9"),
            call_note(5, "call_out", responsible=7, creator=0),  # made by amoCRM itself
            call_note(6, "call_out", responsible=7, creator=8, call_responsible="Иван"),
        ],
    )
    calls = amocrm_frames(store)["calls"].set_index("note_id")["user_id"]
    assert calls.to_dict() == {1: 8, 2: 7, 3: 9, 4: 9, 5: 7, 6: 8}


def test_recorded_call_notes_credit_the_manager_who_called(store: Store) -> None:
    """A real telephony account: no call_responsible, the note's responsible user is the lead's
    owner (658302) and the caller is the note's creator (3821476)."""
    recorded = json.loads(
        (CONFORMANCE / "07_leads_notes_items_recorded.json").read_text(encoding="utf-8")
    )
    notes = (
        recorded["body"]
        if isinstance(recorded["body"], list)
        else recorded["body"]["_embedded"]["notes"]
    )
    parsed = models.parse_items(models.Note, notes, "notes")
    store.upsert("notes", [stored(note_row("leads")(m, raw), raw, 0) for m, raw in parsed])
    calls = amocrm_frames(store)["calls"]
    by_direction = calls.groupby("direction")["user_id"].unique().to_dict()
    assert {k: list(v) for k, v in by_direction.items()} == {"in": [658302], "out": [3821476]}
    assert len(calls) == 6


def test_the_cycle_dates_the_first_evaluations_violations_from_the_leads_history(
    store: Store,
) -> None:
    """track_violations: at the first evaluation, the stale lead is dated when it went stale
    (moved 1 Nov + 14 days), the one without history is backlog; later ones are first seen."""
    config = k.config({"calls": "calls_outgoing"})
    store.upsert("leads", [lead(1, 1), lead(2, 1)])
    frames = {
        "leads": frame(
            "leads", [k.lead(1, k.A, status=k.QUALIFIED), k.lead(2, k.A, status=k.QUALIFIED)]
        ),
        "tasks": frame(
            "tasks",
            [k.task(i, k.A, "2026-11-30 10:00", lead_id=i) for i in (1, 2)],  # next tasks
        ),
        "statuses": frame("statuses", k.STATUSES),
        "stage_changes": frame(
            "stage_changes", [k.move(1, k.QUALIFIED, "2026-11-01 09:00", k.A, before=k.NEW)]
        ),
    }
    first = k.ts("2026-11-20 12:00")
    # lead 2 never moved and was created (1 Oct) before the history (1 Nov): start unknown
    violations = track_violations(config, store, frames, first.to_pydatetime())
    assert store.rules_first_evaluated() == int(first.timestamp())
    got = violations.sort_values("lead_id")[["lead_id", "rule", "first_seen_at", "backlog"]]
    assert got.values.tolist() == [
        [1, "stale_stage", k.ts("2026-11-15 09:00"), False],
        [2, "stale_stage", first, True],
    ]
    frames["tasks"] = frame("tasks", [k.task(2, k.A, "2026-11-30 10:00", lead_id=2)])
    later = k.ts("2026-11-20 12:15")  # lead 1's task was deleted: no next task from now on
    violations = track_violations(config, store, frames, later.to_pydatetime())
    new = violations[violations["rule"] == "no_next_task"]
    assert new[["lead_id", "first_seen_at", "backlog"]].values.tolist() == [[1, later, False]]


def test_a_new_store_is_created_private(tmp_path) -> None:
    path = tmp_path / "data" / "kpi.db"
    with Store(path) as store:
        store.start_run(NOW_AT)
        for name in ("kpi.db", "kpi.db-wal", "kpi.db-shm"):
            file = path.with_name(name)
            if file.exists():
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, name


def test_a_tasks_text_comes_from_its_raw_json(store: Store) -> None:
    row = {
        "responsible_user_id": 5,
        "entity_type": "leads",
        "entity_id": 9,
        "is_completed": 0,
        "complete_till": 200,
        "created_at": 1,
        "updated_at": 5,
        "synced_at": 0,
    }
    store.upsert(
        "tasks",
        [row | {"id": 1, "raw": '{"text": "Позвонить"}'}, row | {"id": 2, "raw": "{}"}],
    )
    assert amocrm_frames(store)["tasks"]["text"].tolist() == ["Позвонить", ""]

"""The values the frames read from raw JSON, kept as columns (`schema.DERIVED`): the upsert
writes them, migration 9 fills them for a store written before it, and either way the frames
are what reading the raw JSON gave."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import amocrm_frames
from sheets_kpi.store.schema import MIGRATIONS

Row = dict[str, Any]


def note(note_id: int, note_type: str, responsible: int | None, creator: int, **params) -> Row:
    return {
        "entity_type": "leads",
        "id": note_id,
        "entity_id": 1,
        "note_type": note_type,
        "responsible_user_id": responsible,
        "created_by": creator,
        "created_at": 100,
        "updated_at": 100,
        "raw": json.dumps({"params": params}, ensure_ascii=False),
        "synced_at": 0,
    }


#: note id → (note, the caller the frame names): call_responsible when it is a user id as an
#: integer or its exact text, else the creator of an outgoing call, whom an incoming one was
#: routed to, and failing those the other one.
CALLS: dict[int, tuple[Row, int]] = {
    1: (note(1, "call_out", 7, 8, call_responsible=9, phone="+7 (916) 123-45-67"), 9),
    2: (note(2, "call_in", 7, 8, call_responsible="9", phone=79161234567), 9),
    3: (note(3, "call_out", 7, 8, call_responsible=0, duration=None), 8),
    4: (note(4, "call_in", 7, 8, call_responsible="0", call_status="4"), 7),
    5: (note(5, "call_out", 7, 8, call_responsible="Иван", duration="45"), 8),
    6: (note(6, "call_in", 7, 8, call_responsible="09", duration=12.5), 7),
    7: (note(7, "call_out", 7, 8, call_responsible=9.5), 8),
    8: (note(8, "call_in", 7, 8, call_responsible=-3), 7),
    9: (note(9, "call_out", 7, 0), 7),  # made by amoCRM itself: the lead's owner
    10: (note(10, "call_in", None, 8), 8),  # routed to no one: its creator
    11: (note(11, "call_in", 7, 8, call_responsible=None, phone=None), 7),
}


def event(event_id: str, kind: str, raw: object) -> Row:
    return {
        "id": event_id,
        "type": kind,
        "entity_type": "lead",
        "entity_id": 1,
        "created_by": 5,
        "created_at": 100,
        "raw": json.dumps(raw),
        "synced_at": 0,
    }


def status(pipeline: object, status_id: object) -> list[dict]:
    return [{"lead_status": {"pipeline_id": pipeline, "id": status_id}}]


def owner(user: object) -> list[dict]:
    return [{"responsible_user": {"id": user}}]


EVENTS = [
    event(
        "s1", "lead_status_changed", {"value_before": status(1, 10), "value_after": status(1, 11)}
    ),
    event("s2", "lead_status_changed", {"value_after": status("2", "x")}),  # no before, odd ids
    event("s3", "lead_status_changed", {"value_after": []}),
    event("r1", "entity_responsible_changed", {"value_before": owner(7), "value_after": owner(8)}),
    event("r2", "entity_responsible_changed", {"value_after": owner("robot")}),
]


def task(task_id: int, raw: object) -> Row:
    return {
        "id": task_id,
        "responsible_user_id": 5,
        "entity_type": "leads",
        "entity_id": 1,
        "is_completed": 0,
        "complete_till": 200,
        "created_at": 1,
        "updated_at": 5,
        "raw": json.dumps(raw, ensure_ascii=False),
        "synced_at": 0,
    }


TASKS = [task(1, {"text": "Позвонить"}), task(2, {}), task(3, {"text": None}), task(4, {"text": 5})]


def lead(lead_id: int, raw: object) -> Row:
    return {
        "id": lead_id,
        "name": f"Deal {lead_id}",
        "price": 0,
        "responsible_user_id": 1,
        "status_id": 10,
        "pipeline_id": 1,
        "created_at": 1,
        "updated_at": 1,
        "closed_at": None,
        "is_deleted": 0,
        "contact_id": None,
        "company_id": None,
        "raw": json.dumps(raw, ensure_ascii=False),
        "synced_at": 0,
    }


def field(field_id: object, name: object, kind: str, *values: object) -> dict:
    return {
        "field_id": field_id,
        "field_name": name,
        "field_type": kind,
        "values": [{"value": v} for v in values],
    }


SOURCE = field(1, "Источник", "select", "Сайт")
LEADS = [
    lead(1, {"custom_fields_values": [SOURCE, field(2, "Бюджет", "numeric", "1 500,5")]}),
    lead(2, {"custom_fields_values": [SOURCE, field(3, "Дата", "date", 1642626000)]}),
    # two fields of one name: the later wins; a malformed entry and an empty one are skipped
    lead(
        3,
        {
            "custom_fields_values": [
                field(4, "Город", "text", "Омск"),
                {"values": "x"},
                field(5, "Город", "text", "Тула"),
                field(6, "Пусто", "text", ""),
            ]
        },
    ),
    lead(4, {"custom_fields_values": []}),
    lead(5, {"custom_fields_values": None}),
    lead(6, {}),
    lead(7, {"custom_fields_values": [field("8", 12, "text", "число в имени")]}),
]


def fill(store: Store) -> None:
    store.upsert("notes", [row for row, _ in CALLS.values()])
    store.upsert("events", EVENTS)
    store.upsert("tasks", TASKS)
    store.upsert("leads", LEADS)


def old_store(path: Path) -> None:
    """A store of schema 8 holding the rows as that version wrote them: no derived columns."""
    with closing(sqlite3.connect(path)) as conn:
        for script in MIGRATIONS[:8]:
            conn.executescript(script)
        conn.execute("PRAGMA user_version = 8")
        for table, rows in (
            ("notes", [row for row, _ in CALLS.values()]),
            ("events", EVENTS),
            ("tasks", TASKS),
            ("leads", LEADS),
        ):
            names = list(rows[0])
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) "
                f"VALUES ({', '.join('?' for _ in names)})",
                [tuple(row[n] for n in names) for row in rows],
            )
        conn.commit()


def test_the_frames_read_the_columns_the_upsert_derived(store: Store) -> None:
    fill(store)
    frames = amocrm_frames(store)
    calls = frames["calls"].set_index("note_id")
    assert calls["user_id"].to_dict() == {note_id: caller for note_id, (_, caller) in CALLS.items()}
    assert calls.loc[[1, 2, 3, 4], "direction"].tolist() == ["out", "in", "out", "in"]
    assert calls.loc[1, "phone"] == calls.loc[2, "phone"] == "9161234567"
    assert calls.loc[[3, 5, 6, 9], "duration"].tolist() == [0, 45, 12, 0]
    assert calls.loc[4, "call_status"] == 4
    stages = frames["stage_changes"].set_index("event_id")
    assert stages.loc[
        "s1", ["pipeline_id", "status_id", "before_pipeline_id", "before_status_id"]
    ].tolist() == [1, 11, 1, 10]
    assert stages.loc["s2", ["pipeline_id", "status_id"]].tolist() == [2, pd.NA]
    assert stages.loc["s3"].isna()[["pipeline_id", "status_id", "before_status_id"]].all()
    owners = frames["responsible_changes"].set_index("event_id")
    assert owners.loc["r1", ["before_user_id", "after_user_id"]].tolist() == [7, 8]
    assert owners.loc["r2"].isna()[["before_user_id", "after_user_id"]].all()
    assert frames["tasks"].set_index("task_id")["text"].to_dict() == {
        1: "Позвонить",
        2: "",
        3: "",
        4: 5,
    }
    fields = frames["leads"].set_index("lead_id")["custom_fields"].to_dict()
    assert fields[1] == {"Источник": "Сайт", "1": "Сайт", "Бюджет": 1500.5, "2": 1500.5}
    assert fields[2]["3"] == pd.Timestamp(1642626000, unit="s", tz="UTC")
    assert list(fields[3].items()) == [("Город", "Тула"), ("4", "Омск"), ("5", "Тула")]
    assert fields[4] == fields[5] == fields[6] == {}
    assert fields[7] == {"12": "число в имени", "8": "число в имени"}


def test_a_store_from_before_the_columns_gives_the_same_frames(
    tmp_path: Path, store: Store
) -> None:
    """Migration 9 derives the columns of the rows already stored, as the upsert does."""
    old_store(tmp_path / "old.db")
    fill(store)
    with Store(tmp_path / "old.db") as migrated:
        assert migrated.query("PRAGMA user_version")[0][0] == len(MIGRATIONS)
        before, after = amocrm_frames(migrated), amocrm_frames(store)
    for name in ("calls", "stage_changes", "responsible_changes", "tasks", "leads"):
        pd.testing.assert_frame_equal(before[name], after[name], check_exact=True)


def test_a_changed_item_changes_its_derived_columns(store: Store) -> None:
    fill(store)
    row, _ = CALLS[1]
    again = row | {"raw": json.dumps({"params": {"call_responsible": 4, "duration": 60}})}
    assert store.upsert("notes", [again]).updated == 1
    assert store.query("SELECT call_responsible, phone, duration FROM notes WHERE id = 1") == [
        (4, "", 60)
    ]
    assert store.upsert("leads", [lead(1, {})]).updated == 1
    assert store.query("SELECT custom_fields FROM leads WHERE id = 1") == [(None,)]

"""Store → pandas: the single SQL-to-frame boundary, producing the engine's amoCRM inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd

from sheets_kpi.kpi.inputs import SCHEMAS, UTC, conform
from sheets_kpi.sources.amocrm.models import custom_fields
from sheets_kpi.store.db import Store
from sheets_kpi.store.schema import FIELD_SEPARATOR

#: Who made an outgoing call or should have taken an incoming one (docs/kpi.md "Calls"): the
#: telephony's `call_responsible` when it names a user id; otherwise, as real accounts send it,
#: the note's creator for an outgoing call (its `responsible_user_id` is the lead's owner, who may
#: be someone else) and the note's responsible user for an incoming one.
CALLER = """coalesce(
               CASE WHEN CAST(n.call_responsible AS INTEGER) > 0
                     AND CAST(n.call_responsible AS INTEGER) || '' = n.call_responsible || ''
                    THEN CAST(n.call_responsible AS INTEGER) END,
               CASE n.note_type WHEN 'call_out' THEN nullif(n.created_by, 0)
                    ELSE n.responsible_user_id END,
               n.responsible_user_id, nullif(n.created_by, 0))"""

SQL = {
    "users": """
        SELECT id AS user_id, name, email, group_id, group_name, is_active, rank FROM users
        WHERE is_deleted = 0""",
    "statuses": """
        SELECT s.pipeline_id, p.name AS pipeline_name, s.status_id, s.name AS status_name, s.sort
        FROM statuses s JOIN pipelines p ON p.id = s.pipeline_id""",
    "leads": """
        SELECT id AS lead_id, name, price, responsible_user_id, pipeline_id, status_id, created_at,
               updated_at, closed_at, is_deleted, contact_id, company_id, custom_fields
        FROM leads""",
    "clients": """
        SELECT 'contact' AS client_type, id AS client_id, responsible_user_id FROM contacts
        UNION ALL
        SELECT 'company', id, responsible_user_id FROM companies""",
    "stage_changes": """
        SELECT id AS event_id, entity_id AS lead_id, created_at, created_by,
               after_pipeline_id AS pipeline_id, after_status_id AS status_id,
               before_pipeline_id, before_status_id
        FROM events WHERE type = 'lead_status_changed' AND entity_type = 'lead'""",
    "responsible_changes": """
        SELECT id AS event_id, entity_id AS lead_id, created_at, before_user_id, after_user_id
        FROM events WHERE type = 'entity_responsible_changed' AND entity_type = 'lead'""",
    "calls": f"""
        SELECT n.id AS note_id, n.created_at,
               CASE n.note_type WHEN 'call_in' THEN 'in' ELSE 'out' END AS direction,
               {CALLER} AS user_id,
               n.entity_type, n.entity_id,
               CASE n.entity_type WHEN 'contacts' THEN n.entity_id
                    WHEN 'leads' THEN l.contact_id END AS contact_id,
               n.phone, coalesce(n.duration, 0) AS duration, n.call_status
        FROM notes n LEFT JOIN leads l ON n.entity_type = 'leads' AND l.id = n.entity_id
        WHERE n.note_type IN ('call_in', 'call_out')""",
    "tasks": """
        SELECT t.id AS task_id, t.responsible_user_id, t.entity_type, t.entity_id, t.created_at,
               t.complete_till, t.is_completed, c.completed_at,
               coalesce(t.text, '') AS text
        FROM tasks t LEFT JOIN (
            SELECT entity_id, max(created_at) AS completed_at FROM events
            WHERE type = 'task_completed' GROUP BY entity_id) c ON c.entity_id = t.id
        WHERE t.is_deleted = 0""",
    "deal_violations": """
        SELECT lead_id, rule, first_seen_at, resolved_at, backlog FROM deal_violation""",
    "rule_evaluation": "SELECT first_at FROM rule_evaluation",
}


def amocrm_frames(store: Store) -> dict[str, pd.DataFrame]:
    """Every amoCRM input frame of docs/architecture.md, conformed to `kpi.inputs.SCHEMAS`."""
    return {name: frame(store, name) for name in SQL}


class KeptFrames:
    """`serve` keeps the amoCRM frames between cycles: reading them again is the largest part of
    a quiet cycle. They are read again once this connection changed amoCRM data (the store's
    `generation`) or another process wrote to the store (SQLite's `data_version`)."""

    def __init__(self) -> None:
        self._key: tuple[int, int] | None = None
        self._frames: dict[str, pd.DataFrame] = {}

    def frames(self, store: Store) -> dict[str, pd.DataFrame]:
        """The frames as the store holds them now. The engine only reads its frames, so one set
        serves many cycles; the dict is the caller's own."""
        key = (store.generation, store.query("PRAGMA data_version")[0][0])
        if key != self._key:
            self._frames, self._key = amocrm_frames(store), key
        return dict(self._frames)


def frame(store: Store, name: str) -> pd.DataFrame:
    """One frame of SQL, decoded and conformed; the cycle re-reads `deal_violations` and
    `rule_evaluation` after recording them."""
    columns, rows = store.select(SQL[name])
    data = pd.DataFrame.from_records(rows, columns=columns)
    for column, dtype in SCHEMAS[name].items():
        if dtype == UTC:  # the store keeps epoch seconds
            data[column] = pd.to_datetime(data[column], unit="s", utc=True)
        elif dtype == "Int64":  # an id in amoCRM's JSON that is no number is unknown
            data[column] = pd.to_numeric(data[column], errors="coerce")
    if name == "leads":
        entries: dict[str, dict[str, object]] = {}
        data["custom_fields"] = _decoded(
            data["custom_fields"], lambda value: _custom_fields(value, entries)
        )
    return conform(name, data)


def _decoded(values: pd.Series, decode: Callable[[Any], Any]) -> list[Any]:
    """Each distinct value decoded once: many leads carry the same fields (the decoded values
    are shared, and only read)."""
    seen: dict[Any, Any] = {}
    return [seen[v] if v in seen else seen.setdefault(v, decode(v)) for v in values]


def _custom_fields(entries: object, decoded: dict[str, dict[str, object]]) -> dict[str, object]:
    """Field name and field id → first value, typed by the field's type (`numeric` a number,
    `date` a UTC datetime: `models.typed_value`), so rules may name a field either way.

    A missing or empty field is simply absent. `entries` is the store's `custom_fields` column
    (`schema.field_entries`); each distinct entry is read once (`decoded`), and a later entry
    wins a name two share, as in one pass over them all.
    """
    fields: dict[str, object] = {}
    if isinstance(entries, str) and entries:
        for entry in entries.split(FIELD_SEPARATOR):
            if entry not in decoded:
                decoded[entry] = custom_fields([json.loads(entry)])
            fields.update(decoded[entry])
    return fields

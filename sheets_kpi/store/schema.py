"""Ordered schema migrations; `PRAGMA user_version` records how many have been applied."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sheets_kpi.text import phone_digits

ENTITY_TABLES = ("users", "pipelines", "leads", "contacts", "companies", "tasks", "notes", "events")

#: Separates the entries of a lead's `custom_fields` column (JSON text escapes it).
FIELD_SEPARATOR = "\x1e"

#: What the frames read from an item's raw JSON, kept in columns of its row so a cycle does not
#: parse every item again: table → column → its SQL expression over `raw`. `Store.upsert` writes
#: them with every row; the migration adding a column (`derived_columns`) computes it for the rows
#: stored before. A changed expression needs a migration that computes its column again.
DERIVED: dict[str, dict[str, str]] = {
    "notes": {
        "call_responsible": "json_extract(raw, '$.params.call_responsible')",
        "phone": "phone_digits(json_extract(raw, '$.params.phone'))",
        "duration": "json_extract(raw, '$.params.duration')",
        "call_status": "json_extract(raw, '$.params.call_status')",
    },
    "events": {
        "after_pipeline_id": "json_extract(raw, '$.value_after[0].lead_status.pipeline_id')",
        "after_status_id": "json_extract(raw, '$.value_after[0].lead_status.id')",
        "before_pipeline_id": "json_extract(raw, '$.value_before[0].lead_status.pipeline_id')",
        "before_status_id": "json_extract(raw, '$.value_before[0].lead_status.id')",
        "before_user_id": "json_extract(raw, '$.value_before[0].responsible_user.id')",
        "after_user_id": "json_extract(raw, '$.value_after[0].responsible_user.id')",
    },
    "tasks": {"text": "json_extract(raw, '$.text')"},
    "leads": {"custom_fields": "field_entries(raw)"},
}


def field_entries(raw: str) -> str | None:
    """A lead's `custom_fields_values`, each entry its own JSON text, joined by FIELD_SEPARATOR:
    the frame decodes each distinct entry once (many leads share a source, a stage's fields).
    None when the lead has no list of them. The store's SQL function `field_entries(raw)`."""
    item = json.loads(raw)
    entries = item.get("custom_fields_values") if isinstance(item, dict) else None
    if not isinstance(entries, list) or not entries:
        return None
    return FIELD_SEPARATOR.join(
        json.dumps(entry, ensure_ascii=False, separators=(",", ":")) for entry in entries
    )


#: The Python functions DERIVED calls, which the store gives SQLite on opening.
FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "field_entries": field_entries,
    "phone_digits": phone_digits,
}


def derived_columns(added: dict[str, tuple[str, ...]]) -> str:
    """A migration adding these DERIVED columns and computing them for the rows already stored.
    Untyped: each keeps what its expression gives (a number, text or JSON text), as reading
    `raw` did."""
    alters = [f"ALTER TABLE {table} ADD COLUMN {c};" for table, cs in added.items() for c in cs]
    updates = [
        f"UPDATE {table} SET {', '.join(f'{c} = {DERIVED[table][c]}' for c in columns)};"
        for table, columns in added.items()
    ]
    return "\n".join([*alters, *updates])


MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY, name TEXT, email TEXT, group_id INTEGER, group_name TEXT,
        is_active INTEGER, rank TEXT, raw TEXT NOT NULL, synced_at INTEGER NOT NULL);
    CREATE TABLE pipelines (
        id INTEGER PRIMARY KEY, name TEXT, sort INTEGER, is_archive INTEGER,
        raw TEXT NOT NULL, synced_at INTEGER NOT NULL);
    CREATE TABLE statuses (
        pipeline_id INTEGER NOT NULL, status_id INTEGER NOT NULL, name TEXT, sort INTEGER,
        PRIMARY KEY (pipeline_id, status_id));
    CREATE TABLE leads (
        id INTEGER PRIMARY KEY, name TEXT, price REAL, responsible_user_id INTEGER,
        status_id INTEGER, pipeline_id INTEGER, created_at INTEGER, updated_at INTEGER,
        closed_at INTEGER, is_deleted INTEGER NOT NULL DEFAULT 0, contact_id INTEGER,
        company_id INTEGER, raw TEXT NOT NULL, synced_at INTEGER NOT NULL);
    CREATE INDEX leads_updated ON leads (updated_at);
    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY, name TEXT, responsible_user_id INTEGER, created_at INTEGER,
        updated_at INTEGER, is_deleted INTEGER NOT NULL DEFAULT 0, phones TEXT,
        raw TEXT NOT NULL, synced_at INTEGER NOT NULL);
    CREATE TABLE companies (
        id INTEGER PRIMARY KEY, name TEXT, responsible_user_id INTEGER, created_at INTEGER,
        updated_at INTEGER, is_deleted INTEGER NOT NULL DEFAULT 0, phones TEXT,
        raw TEXT NOT NULL, synced_at INTEGER NOT NULL);
    CREATE TABLE tasks (
        id INTEGER PRIMARY KEY, responsible_user_id INTEGER, entity_type TEXT, entity_id INTEGER,
        is_completed INTEGER, complete_till INTEGER, created_at INTEGER, updated_at INTEGER,
        raw TEXT NOT NULL, synced_at INTEGER NOT NULL);
    CREATE TABLE notes (
        entity_type TEXT NOT NULL, id INTEGER NOT NULL, entity_id INTEGER, note_type TEXT,
        responsible_user_id INTEGER, created_by INTEGER, created_at INTEGER, updated_at INTEGER,
        raw TEXT NOT NULL, synced_at INTEGER NOT NULL, PRIMARY KEY (entity_type, id));
    CREATE TABLE events (
        id TEXT PRIMARY KEY, type TEXT NOT NULL, entity_type TEXT, entity_id INTEGER,
        created_by INTEGER, created_at INTEGER NOT NULL, raw TEXT NOT NULL,
        synced_at INTEGER NOT NULL);
    CREATE INDEX events_type_created ON events (type, created_at);
    CREATE TABLE sync_cursor (entity TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE run (
        id INTEGER PRIMARY KEY AUTOINCREMENT, started_at INTEGER NOT NULL, finished_at INTEGER,
        status TEXT NOT NULL, amocrm_requests INTEGER DEFAULT 0, entities_new INTEGER DEFAULT 0,
        entities_updated INTEGER DEFAULT 0, sheets_read_requests INTEGER DEFAULT 0,
        sheets_write_requests INTEGER DEFAULT 0, rows_written INTEGER DEFAULT 0,
        issues INTEGER DEFAULT 0, error TEXT);
    CREATE TABLE deal_violation (
        lead_id INTEGER NOT NULL, rule TEXT NOT NULL, first_seen_at INTEGER NOT NULL,
        resolved_at INTEGER, PRIMARY KEY (lead_id, rule, first_seen_at));
    """,
    """
    CREATE TABLE issue_seen (key TEXT PRIMARY KEY, first_seen INTEGER NOT NULL);
    """,
    """
    ALTER TABLE tasks ADD COLUMN is_deleted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN is_deleted INTEGER NOT NULL DEFAULT 0;
    """,
    # Deal rules' first evaluation, and the violations already open then whose start the
    # history does not give (backlog: counted in no period). A store from before this knows
    # its first evaluation from its earliest violation; those recorded at it become backlog.
    """
    ALTER TABLE deal_violation ADD COLUMN backlog INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE rule_evaluation (
        id INTEGER PRIMARY KEY CHECK (id = 1), first_at INTEGER NOT NULL);
    INSERT INTO rule_evaluation (id, first_at)
        SELECT 1, first_seen_at FROM deal_violation ORDER BY first_seen_at LIMIT 1;
    UPDATE deal_violation SET backlog = 1
        WHERE first_seen_at = (SELECT first_at FROM rule_evaluation);
    """,
    """
    CREATE TABLE statement (
        period TEXT NOT NULL, department TEXT NOT NULL, version INTEGER NOT NULL,
        approved_at INTEGER NOT NULL, approved_by TEXT NOT NULL, run_id INTEGER,
        config_hash TEXT NOT NULL, payload TEXT NOT NULL,
        PRIMARY KEY (period, department, version));
    CREATE TRIGGER statement_never_changes BEFORE UPDATE ON statement
        BEGIN SELECT RAISE(ABORT, 'an approved statement is immutable'); END;
    CREATE TRIGGER statement_never_deleted BEFORE DELETE ON statement
        BEGIN SELECT RAISE(ABORT, 'an approved statement is immutable'); END;
    CREATE TABLE adjustment (
        id INTEGER PRIMARY KEY AUTOINCREMENT, period TEXT NOT NULL, department TEXT NOT NULL,
        manager_id INTEGER NOT NULL, action TEXT NOT NULL, amount REAL NOT NULL,
        target_period TEXT NOT NULL, decided_by TEXT NOT NULL, decided_at INTEGER NOT NULL,
        comment TEXT NOT NULL DEFAULT '');
    CREATE TABLE close_action (
        key TEXT PRIMARY KEY, seen_at INTEGER NOT NULL, outcome TEXT NOT NULL);
    """,
    # The personal spreadsheets written to and the tab each holds, so that one the roster no
    # longer names can be released (sheets_kpi/release.py).
    """
    CREATE TABLE personal_sheet (
        spreadsheet_id TEXT PRIMARY KEY, title TEXT NOT NULL, released_at INTEGER);
    """,
    # What each output tab of ours holds, block by block (sheets/writer.py's ledger): only
    # blocks whose hash differs are sent again.
    """
    CREATE TABLE sheet_written (
        spreadsheet_id TEXT NOT NULL, title TEXT NOT NULL, sheet_id INTEGER NOT NULL,
        structure TEXT NOT NULL, blocks TEXT NOT NULL, PRIMARY KEY (spreadsheet_id, title));
    """,
    # The last output written completely: what it was computed from and until when it holds
    # (sheets_kpi/unchanged.py), so a cycle with nothing new need not compute it again.
    """
    CREATE TABLE output_state (
        id INTEGER PRIMARY KEY CHECK (id = 1), fingerprint TEXT NOT NULL,
        valid_until INTEGER NOT NULL, run_id INTEGER NOT NULL, issues INTEGER NOT NULL);
    """,
    # The values the frames read from the raw JSON, as columns (DERIVED).
    derived_columns(
        {
            "notes": ("call_responsible", "phone", "duration", "call_status"),
            "events": (
                "after_pipeline_id",
                "after_status_id",
                "before_pipeline_id",
                "before_status_id",
                "before_user_id",
                "after_user_id",
            ),
            "tasks": ("text",),
            "leads": ("custom_fields",),
        }
    ),
    # An 8-byte hash of each row a tab holds, beside its block hashes: of a changed block only
    # the rows that differ are sent, in any process.
    "ALTER TABLE sheet_written ADD COLUMN rows BLOB NOT NULL DEFAULT x''",
)

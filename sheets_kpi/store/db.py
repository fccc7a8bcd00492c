"""The SQLite store, the only module that talks SQL: entities, cursors, run log, violations."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sheets_kpi.clock import epoch
from sheets_kpi.errors import StoreError
from sheets_kpi.redaction import redact
from sheets_kpi.store.schema import DERIVED, ENTITY_TABLES, FUNCTIONS, MIGRATIONS

_PRIMARY_KEYS = {"notes": ("entity_type", "id"), "statuses": ("pipeline_id", "status_id")}
#: The `raw` of a row standing for an item deleted before it was ever read (`mark_deleted`).
TOMBSTONE = '{"tombstone": true}'


@dataclass(frozen=True)
class Snapshot:
    """One department's approved statement for a period: what was paid and everything it was
    computed from (`payload`: KPI rows, statement rows, input rows, won leads)."""

    period: str
    department: str
    version: int
    approved_at: int
    approved_by: str
    run_id: int | None
    config_hash: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class UpsertCount:
    new: int = 0
    updated: int = 0

    def __add__(self, other: UpsertCount) -> UpsertCount:
        return UpsertCount(self.new + other.new, self.updated + other.updated)


class Store:
    """Open (and migrate) the store; `":memory:"` gives a throwaway one for tests."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                _create_private(Path(self.path))
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (sqlite3.Error, OSError) as err:
            raise self._unopened(err) from err
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=10000")
            for name, function in FUNCTIONS.items():
                self._conn.create_function(name, 1, function, deterministic=True)
            self._migrate()
        except BaseException as err:
            self._conn.close()  # a store refused (newer schema, not a database) leaves nothing open
            if isinstance(err, sqlite3.Error):
                raise self._unopened(err) from err
            raise
        self._lock = threading.RLock()
        self._depth = 0
        self.killed: list[tuple[int, int]] = []
        #: Bumped whenever this connection changes amoCRM data (`_entities_changed`).
        self.generation = 0

    def _unopened(self, err: Exception) -> StoreError:
        return StoreError(
            f"{self.path}: cannot open the store ({err}); check the `store` path in the config"
        )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; nested calls join the outer transaction."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def select(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
        """Rows with their column labels, for building frames."""
        with self._lock:
            cursor = self._conn.execute(sql, params)
            return [d[0] for d in cursor.description], cursor.fetchall()

    def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.query(f"PRAGMA table_info({table})")]

    def upsert(self, table: str, rows: list[dict[str, Any]]) -> UpsertCount:
        """Insert or replace rows by primary key, with the columns derived from their raw JSON
        (`schema.DERIVED`); count new ids and rows whose content changed (an overlap re-read of
        an unchanged entity counts as neither)."""
        if not rows:
            return UpsertCount()
        keys = _PRIMARY_KEYS.get(table, ("id",))
        names = list(rows[0])
        compared = [n for n in names if n not in keys and n != "synced_at"]
        stored = self._stored(table, keys, compared, rows)
        derived = DERIVED.get(table, {}) if "raw" in names else {}
        values = ", ".join(f"? AS {n}" for n in names)
        written = [*names, *derived]
        updates = ", ".join(f"{n}=excluded.{n}" for n in written if n not in keys)
        sql = (  # `WHERE true`: SQLite's upsert after a SELECT
            f"INSERT INTO {table} ({', '.join(written)}) "
            f"SELECT {', '.join([*names, *derived.values()])} FROM (SELECT {values}) WHERE true "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )
        before = [stored.get(tuple(row[k] for k in keys)) for row in rows]
        new = before.count(None)
        changed = sum(
            1
            for row, old in zip(rows, before, strict=True)
            if old is not None and old != tuple(row[n] for n in compared)
        )
        with self.transaction():
            self._conn.executemany(sql, [tuple(row[n] for n in names) for row in rows])
            if new or changed:
                self._entities_changed()
        return UpsertCount(new=new, updated=changed)

    def _stored(
        self, table: str, keys: tuple[str, ...], compared: list[str], rows: list[dict]
    ) -> dict[tuple, tuple]:
        """Primary key → the compared columns, for those of `rows` that already exist."""
        width = len(keys)
        wanted = [tuple(row[k] for k in keys) for row in rows]
        tuple_marks = "(" + ", ".join("?" for _ in keys) + ")"
        found: list[tuple] = []
        for start in range(0, len(wanted), 400):
            chunk = wanted[start : start + 400]
            found += self.query(
                f"SELECT {', '.join([*keys, *compared])} FROM {table} "
                f"WHERE ({', '.join(keys)}) IN (VALUES {', '.join(tuple_marks for _ in chunk)})",
                [value for key in chunk for value in key],
            )
        return {tuple(r[:width]): tuple(r[width:]) for r in found}

    def mark_deleted(self, table: str, item_id: int, deleted: bool, at: int) -> None:
        """Mark an item deleted or restored (the last event wins).

        An item deleted before the store ever saw it gets a tombstone (a row with no data but
        its id, `raw` = TOMBSTONE), so its events count nowhere, as they would in a store that
        had seen it; a restore removes the tombstone and the item arrives with its next read.
        """
        with self.transaction():
            before = self._conn.total_changes
            if deleted:
                self._conn.execute(
                    f"INSERT INTO {table} (id, is_deleted, raw, synced_at) VALUES (?, 1, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET is_deleted = 1 WHERE is_deleted = 0",
                    (item_id, TOMBSTONE, at),
                )
            else:
                self._conn.execute(
                    f"DELETE FROM {table} WHERE id = ? AND raw = ?", (item_id, TOMBSTONE)
                )
                self._conn.execute(
                    f"UPDATE {table} SET is_deleted = 0 WHERE id = ? AND is_deleted != 0",
                    (item_id,),
                )
            if self._conn.total_changes != before:
                self._entities_changed()

    def mark_absent(self, table: str, present: list[int]) -> None:
        """Mark deleted the rows whose id is not in `present`, a complete (and short) list."""
        marks = ", ".join("?" for _ in present)
        with self.transaction():
            done = self._conn.execute(
                f"UPDATE {table} SET is_deleted = (id NOT IN ({marks})) "
                f"WHERE is_deleted != (id NOT IN ({marks}))",
                [*present, *present],
            )
            if done.rowcount:
                self._entities_changed()

    def _entities_changed(self) -> None:
        """amoCRM data changed (inside the caller's transaction): frames read before are behind
        (`generation`), and a kept output no longer stands, even if the cycle that changed it
        was cut short before it computed anything."""
        self.generation += 1
        self._conn.execute("DELETE FROM output_state")

    def cursor(self, entity: str) -> int | None:
        rows = self.query("SELECT value FROM sync_cursor WHERE entity = ?", (entity,))
        return rows[0][0] if rows else None

    def set_cursor(self, entity: str, value: int) -> None:
        """Move a cursor forward only; call it inside the transaction that stored the page."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO sync_cursor (entity, value) VALUES (?, ?) ON CONFLICT (entity) "
                "DO UPDATE SET value = max(value, excluded.value)",
                (entity, value),
            )

    def cursors(self) -> dict[str, int]:
        return dict(self.query("SELECT entity, value FROM sync_cursor ORDER BY entity"))

    def counts(self) -> dict[str, int]:
        return {table: self.query(f"SELECT count(*) FROM {table}")[0][0] for table in ENTITY_TABLES}

    def start_run(self, now: datetime) -> int:
        """A new run; one still `running` is from a worker that was killed (runs hold the lock).
        Those marked killed now are kept in `killed` (id, started_at) for this run's log."""
        with self.transaction():
            self.killed = [
                (int(run_id), int(started))
                for run_id, started in self.query(
                    "SELECT id, started_at FROM run WHERE status = 'running' ORDER BY id"
                )
            ]
            self._conn.execute("UPDATE run SET status = 'killed' WHERE status = 'running'")
            cur = self._conn.execute(
                "INSERT INTO run (started_at, status) VALUES (?, 'running')", (epoch(now),)
            )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, **fields: Any) -> None:
        if isinstance(fields.get("error"), str):  # the last guard: a stored error holds no secret
            fields["error"] = redact(fields["error"])
        names = ", ".join(f"{name} = ?" for name in fields)
        with self.transaction():
            self._conn.execute(f"UPDATE run SET {names} WHERE id = ?", (*fields.values(), run_id))

    def runs(self, limit: int = 200) -> list[dict[str, Any]]:
        names = self.columns("run")
        rows = self.query(f"SELECT * FROM run ORDER BY id DESC LIMIT {int(limit)}")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def rules_first_evaluated(self) -> int | None:
        """When the deal rules were first evaluated over stored leads (epoch seconds)."""
        rows = self.query("SELECT first_at FROM rule_evaluation")
        return rows[0][0] if rows else None

    def record_violations(
        self,
        current: set[tuple[int, str]],
        now: datetime,
        began: Mapping[tuple[int, str], datetime | None] | None = None,
    ) -> None:
        """Open a violation the first time a (lead, rule) is seen; resolve it once it is gone.

        `began` (the first evaluation's reconstruction) dates a new violation when it began;
        one it gives no instant for (None, or absent) is backlog: opened now, counted in no
        period. The first call over a store holding leads records when rules were first
        evaluated."""
        at = epoch(now)
        with self.transaction():
            open_rows = set(
                self.query("SELECT lead_id, rule FROM deal_violation WHERE resolved_at IS NULL")
            )
            new = sorted(current - open_rows)
            starts = {key: (began or {}).get(key) for key in new}
            self._conn.executemany(
                "INSERT OR IGNORE INTO deal_violation (lead_id, rule, first_seen_at, backlog) "
                "VALUES (?, ?, ?, ?)",
                [
                    (lead, rule, at, int(began is not None))
                    if (start := starts[(lead, rule)]) is None
                    else (lead, rule, min(epoch(start), at), 0)
                    for lead, rule in new
                ],
            )
            self._conn.execute(
                "INSERT OR IGNORE INTO rule_evaluation (id, first_at) "
                "SELECT 1, ? WHERE EXISTS (SELECT 1 FROM leads)",
                (at,),
            )
            self._conn.executemany(
                "UPDATE deal_violation SET resolved_at = ? WHERE lead_id = ? AND rule = ? "
                "AND resolved_at IS NULL",
                [(at, lead, rule) for lead, rule in sorted(open_rows - current)],
            )

    def first_seen(self, keys: list[str], now: datetime) -> dict[str, int]:
        """When each data issue was first reported (new keys are stamped `now`)."""
        at = epoch(now)
        with self.transaction():
            self._conn.executemany(
                "INSERT OR IGNORE INTO issue_seen (key, first_seen) VALUES (?, ?)",
                [(key, at) for key in keys],
            )
        found: dict[str, int] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            found.update(
                self.query(f"SELECT key, first_seen FROM issue_seen WHERE key IN ({marks})", chunk)
            )
        return found

    def personal_sheets(self) -> dict[str, tuple[str, int | None]]:
        """Personal spreadsheet id → (the tab written there, when it was released or None)."""
        rows = self.query("SELECT spreadsheet_id, title, released_at FROM personal_sheet")
        return {sid: (title, released) for sid, title, released in rows}

    def record_personal_sheets(self, titles: Mapping[str, str]) -> None:
        """The personal spreadsheets this cycle writes (one named again is no longer released)."""
        with self.transaction():
            self._conn.executemany(
                "INSERT INTO personal_sheet (spreadsheet_id, title) VALUES (?, ?) ON CONFLICT "
                "(spreadsheet_id) DO UPDATE SET title = excluded.title, released_at = NULL",
                list(titles.items()),
            )

    def release_personal_sheet(self, spreadsheet_id: str, now: datetime) -> None:
        with self.transaction():
            self._conn.execute(
                "UPDATE personal_sheet SET released_at = ? WHERE spreadsheet_id = ?",
                (epoch(now), spreadsheet_id),
            )

    def approve(self, snapshot: Snapshot) -> None:
        """Store an approved statement; the table refuses any later change (SQL triggers)."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO statement (period, department, version, approved_at, approved_by, "
                "run_id, config_hash, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    snapshot.period,
                    snapshot.department,
                    snapshot.version,
                    snapshot.approved_at,
                    snapshot.approved_by,
                    snapshot.run_id,
                    snapshot.config_hash,
                    json.dumps(snapshot.payload, ensure_ascii=False, sort_keys=True),
                ),
            )

    def approved_months(self) -> list[tuple[str, str]]:
        """(period, department) of every approved statement, without their payloads."""
        return self.query("SELECT DISTINCT period, department FROM statement")

    def snapshots(self) -> list[Snapshot]:
        """Every approved statement, the latest version of each (period, department) only."""
        rows = self.query(
            "SELECT period, department, version, approved_at, approved_by, run_id, config_hash, "
            "payload FROM statement s WHERE version = (SELECT max(version) FROM statement "
            "WHERE period = s.period AND department = s.department) ORDER BY period, department"
        )
        return [
            Snapshot(
                period=row[0],
                department=row[1],
                version=row[2],
                approved_at=row[3],
                approved_by=row[4],
                run_id=row[5],
                config_hash=row[6],
                payload=json.loads(row[7]),
            )
            for row in rows
        ]

    def decide(self, decision: dict[str, Any]) -> None:
        """Record a supervisor's answer to a proposed adjustment (accept or reject)."""
        names = list(decision)
        with self.transaction():
            self._conn.execute(
                f"INSERT INTO adjustment ({', '.join(names)}) "
                f"VALUES ({', '.join('?' for _ in names)})",
                [decision[name] for name in names],
            )

    def decisions(self) -> tuple[list[str], list[tuple]]:
        return self.select("SELECT * FROM adjustment ORDER BY id")

    def close_actions(self) -> dict[str, str]:
        """Rows of the close tab already acted on: key → what came of them."""
        return dict(self.query("SELECT key, outcome FROM close_action"))

    def mark_close_action(self, key: str, outcome: str, now: datetime) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO close_action (key, seen_at, outcome) VALUES (?, ?, ?)",
                (key, epoch(now), outcome),
            )

    def sheet_ledger(
        self, spreadsheet_id: str
    ) -> dict[str, tuple[int, str, tuple[str, ...], bytes]]:
        """What each output tab in the spreadsheet holds, as last confirmed by Google: title →
        (sheet id, structure hash, a hash per block of rows, 8 bytes of hash per row)."""
        rows = self.query(
            "SELECT title, sheet_id, structure, blocks, rows FROM sheet_written "
            "WHERE spreadsheet_id = ?",
            (spreadsheet_id,),
        )
        return {
            title: (int(sheet_id), structure, tuple(blocks.split(",")) if blocks else (), hashes)
            for title, sheet_id, structure, blocks, hashes in rows
        }

    def save_sheet_ledger(
        self, spreadsheet_id: str, ledger: Mapping[str, tuple[int, str, Sequence[str], bytes]]
    ) -> None:
        with self.transaction():
            self._conn.execute(
                "DELETE FROM sheet_written WHERE spreadsheet_id = ?", (spreadsheet_id,)
            )
            self._conn.executemany(
                "INSERT INTO sheet_written "
                "(spreadsheet_id, title, sheet_id, structure, blocks, rows) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (spreadsheet_id, title, sheet_id, structure, ",".join(blocks), hashes)
                    for title, (sheet_id, structure, blocks, hashes) in ledger.items()
                ],
            )

    def output_state(self) -> tuple[str, int, int, int] | None:
        """The last complete output: (fingerprint, valid until, run id, data issues)."""
        rows = self.query("SELECT fingerprint, valid_until, run_id, issues FROM output_state")
        return rows[0] if rows else None

    def save_output_state(
        self, fingerprint: str, valid_until: int, run_id: int, issues: int
    ) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO output_state "
                "(id, fingerprint, valid_until, run_id, issues) VALUES (1, ?, ?, ?, ?)",
                (fingerprint, valid_until, run_id, issues),
            )

    def forget_output_state(self) -> None:
        """A cycle that computes again: until it ends well, no output is known complete."""
        with self.transaction():
            self._conn.execute("DELETE FROM output_state")

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        _known(self.path, version)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self._conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")


def schema_version(path: str | Path) -> int:
    """The schema version of an existing store, looked at without creating, migrating or
    writing anything (`doctor` looks; the commands that use the store change it). Opened
    read-write, so SQLite removes its -wal and -shm files again on close."""
    uri = Path(path).absolute().as_uri() + "?mode=rw"  # rw, not rwc: a missing file stays so
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise StoreError(
            f"{path}: cannot open the store ({err}); check the `store` path in the config"
        ) from err
    _known(str(path), version)
    return version


def _known(path: str, version: int) -> None:
    """A store of a schema this sheets-kpi does not know is neither read nor migrated."""
    if version > len(MIGRATIONS):
        raise StoreError(
            f"{path}: the store was written by a newer sheets-kpi (schema {version}); "
            "upgrade sheets-kpi"
        )


def _create_private(path: Path) -> None:
    """A new store is created 0600: it holds customers' names and phone numbers. SQLite gives
    its -wal and -shm files the database's mode."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))

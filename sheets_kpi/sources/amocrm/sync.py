"""Incremental sync of amoCRM into the store: one cursor per stream, advanced with each page."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sheets_kpi.clock import epoch
from sheets_kpi.config import AmoConfig
from sheets_kpi.errors import Stopped
from sheets_kpi.sources.amocrm import models
from sheets_kpi.sources.amocrm.client import AmoClient, embedded, next_link
from sheets_kpi.sources.amocrm.rows import Row, int_or_zero, pipeline_row, stored, user_row
from sheets_kpi.sources.amocrm.streams import STREAMS, Stream
from sheets_kpi.store.db import Store, UpsertCount

log = logging.getLogger(__name__)

#: A deletion this long before the sync start may still fall inside its walk (clock skew).
DELETION_MARGIN = 600
#: Deleted items vanish from lists; these events mark them in the store (last one wins).
DELETIONS = {
    "lead_deleted": ("leads", True),
    "lead_restored": ("leads", False),
    "task_deleted": ("tasks", True),
}
#: progress(stream, fraction of the time range covered 0..1, items so far)
Progress = Callable[[str, float, int], None]


@dataclass
class SyncReport:
    requests: int = 0
    new: int = 0
    updated: int = 0
    seconds: float = 0.0
    backfill: bool = False
    per_stream: dict[str, UpsertCount] = field(default_factory=dict)
    skipped: list[models.Skipped] = field(default_factory=list)  # items that could not be read

    def summary(self) -> str:
        return (
            f"synced: {self.requests} amoCRM requests, {self.new} new and {self.updated} updated "
            f"entities in {self.seconds:.1f} s"
        )


def sync(
    client: AmoClient,
    store: Store,
    settings: AmoConfig,
    now: datetime,
    reconcile_days: int | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> SyncReport:
    """Pull everything changed since the cursors up to `now`; `reconcile_days` re-reads that
    many days.

    A set `stop` ends the sync after the page in hand (its cursor is saved) with `Stopped`.
    """
    started = time.monotonic()
    requests_before = client.requests_made
    at = epoch(now)
    report = SyncReport()
    for name, count in sync_dictionaries(client, store, now).items():
        report.per_stream[name] = count
    for stream in STREAMS:
        cursor = store.cursor(stream.name)
        report.backfill |= cursor is None
        start = _start(cursor, at, settings, reconcile_days)
        report.per_stream[stream.name] = _sync_stream(
            client, store, stream, start, at, progress, stop, report.skipped
        )
    total = sum(report.per_stream.values(), UpsertCount())
    report.new, report.updated = total.new, total.updated
    report.requests = client.requests_made - requests_before
    report.seconds = time.monotonic() - started
    log.debug(report.summary())  # the commands print it, and serve logs its cycle's line
    return report


def _start(cursor: int | None, now: int, settings: AmoConfig, reconcile_days: int | None) -> int:
    if cursor is None:
        return now - settings.backfill_days * 86400
    start = cursor - settings.overlap_minutes * 60
    if reconcile_days:
        start = min(start, now - reconcile_days * 86400)
    return start


def _sync_stream(
    client: AmoClient,
    store: Store,
    stream: Stream,
    start: int,
    now: int,
    progress: Progress | None,
    stop: threading.Event | None = None,
    skipped: list[models.Skipped] | None = None,
) -> UpsertCount:
    count = UpsertCount()
    seen = 0
    highest = start
    if progress:  # the clock of the rate and ETA starts with the walk
        progress(stream.name, 0.0, 0)
    for page, safe in _walk(client, stream, start, now):
        rows = [
            stored(stream.normalise(m, raw), raw, now)
            for m, raw in models.parse_items(stream.model, page, stream.key, skipped)
        ]
        highest = max(highest, *(int_or_zero(item.get(stream.cursor_field)) for item in page))
        with store.transaction():
            count += store.upsert(stream.table, rows)
            _after_page(store, stream, rows)
            if safe is not None:
                # Capped at the sync start: an item stamped in the future (clock skew) must not
                # push the cursor past changes that happen between now and then.
                store.set_cursor(stream.name, min(now, safe))
        seen += len(page)
        if stop is not None and stop.is_set():
            raise Stopped(f"stopped on request during the {stream.name} sync; its cursor is saved")
        if progress:
            span = max(1, now - start)
            progress(stream.name, min(1.0, max(0.0, (highest - start) / span)), seen)
    store.set_cursor(stream.name, min(now, highest))  # the walk is complete
    if progress:
        progress(stream.name, 1.0, seen)
    return count


def _walk(
    client: AmoClient, stream: Stream, start: int, now: int
) -> Iterator[tuple[list[dict], int | None]]:
    """Pages from `start`, each with the cursor value it makes safe (None: not before the end).

    Pages are offsets, so an item edited mid-walk moves to the end of an `updated_at` order and
    shifts an unread one into a page already read (AMOCRM_API §8.6). Each page is therefore
    asked for from the last timestamp seen (inclusive: the tie is read twice, upserts make that
    harmless); the next offset is used only while a whole page shares one timestamp. A list
    ordered by a stable field (tasks by id) does not shift on edits and is walked by offsets; a
    deletion does shift it, so a walk during which items were deleted is read once more. If the
    API ignores the order, the walk restarts by offsets from `start`.
    """
    if stream.order_field:
        pages = 0
        for offset_page in _offset_walk(client, stream, start, stream.order_field):
            pages += 1
            yield offset_page
        if pages > 1 and _deleted_since(client, stream, now - DELETION_MARGIN):
            log.info("%s were deleted during the walk; reading it once more", stream.name)
            yield from _offset_walk(client, stream, start, stream.order_field)
        return
    field = stream.cursor_field
    since, page = start, 1
    while True:
        paging = [("limit", str(stream.limit)), ("page", str(page))]
        payload = client.get(stream.path, [*_query(stream, since, field), *paging])
        items = embedded(payload, stream.key)
        if not items:
            return
        stamps = [int_or_zero(item.get(field)) for item in items]
        if stamps != sorted(stamps) or stamps[0] < since:
            log.warning(
                "amoCRM ignored order[%s] on %s; re-reading it page by page", field, stream.path
            )
            yield from _offset_walk(client, stream, start, field)
            return
        yield items, stamps[-1]
        if not next_link(payload):
            return
        since, page = (since, page + 1) if stamps[-1] == since else (stamps[-1], 1)


def _offset_walk(
    client: AmoClient, stream: Stream, start: int, order: str
) -> Iterator[tuple[list[dict], None]]:
    for items in client.pages(stream.path, stream.key, _query(stream, start, order), stream.limit):
        yield items, None


def _deleted_since(client: AmoClient, stream: Stream, since: int) -> bool:
    """One request: was any item of the stream deleted since `since`?"""
    if not stream.deleted_event:
        return False
    params = [
        ("filter[type]", stream.deleted_event),
        ("filter[created_at][from]", str(since)),
        ("limit", "1"),
    ]
    payload = client.get("/api/v4/events", params)
    return bool(embedded(payload, "events"))


def _query(stream: Stream, since: int, order: str) -> list[tuple[str, str]]:
    return [
        *stream.params,
        (f"filter[{stream.cursor_field}][from]", str(since)),
        (f"order[{order}]", "asc"),
    ]


def _after_page(store: Store, stream: Stream, rows: list[Row]) -> None:
    if stream.table != "events":
        return
    for row in sorted(rows, key=lambda r: (r["created_at"] or 0, r["id"])):
        if row["type"] in DELETIONS and row["entity_id"] is not None:
            table, deleted = DELETIONS[row["type"]]
            store.mark_deleted(table, row["entity_id"], deleted, row["synced_at"])


def sync_dictionaries(client: AmoClient, store: Store, now: datetime) -> dict[str, UpsertCount]:
    """Users and pipelines are small: re-read them whole every cycle (which also tells which
    users were removed)."""
    at = epoch(now)
    users: list[Row] = []
    for page in client.pages("/api/v4/users", "users", [("with", "group,role,user_rank")]):
        users += [
            stored(user_row(m, raw), raw, at)
            for m, raw in models.parse_items(models.User, page, "users")
        ]
    items = embedded(client.get("/api/v4/leads/pipelines"), "pipelines")
    pipelines = models.parse_items(models.Pipeline, items, "pipelines")
    statuses = [
        {"pipeline_id": p.id, "status_id": s["id"], "name": s.get("name"), "sort": s.get("sort")}
        for p, raw in pipelines
        for s in embedded(raw, "statuses")
        if isinstance(s, dict) and "id" in s
    ]
    with store.transaction():
        user_count = store.upsert("users", users)
        if users:  # the whole list was read: a user missing from it was removed from amoCRM
            store.mark_absent("users", [row["id"] for row in users])
        pipeline_count = store.upsert(
            "pipelines", [stored(pipeline_row(m, raw), raw, at) for m, raw in pipelines]
        )
        store.upsert("statuses", statuses)
    return {"users": user_count, "pipelines": pipeline_count}

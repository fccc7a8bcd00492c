"""The TV page's data between processes: each cycle writes its payload to a JSON file next to
the store, and `sheets-kpi tv` (or `serve --tv`) serves whatever the last cycle wrote. The page
then needs no store lock, no Sheets read and no computing of its own."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sheets_kpi.config import Config
from sheets_kpi.kpi.close import Closing
from sheets_kpi.kpi.engine import Results
from sheets_kpi.tv.payload import tv_payload

log = logging.getLogger(__name__)


def snapshot_path(store: Path) -> Path:
    """`sheets_kpi.db` → `sheets_kpi.db.tv.json`, beside the store as its lock file is."""
    return Path(str(store) + ".tv.json")


def publish(config: Config, results: Results, closing: Closing, now: datetime) -> None:
    """The cycle's figures for the TV page; a file that cannot be written is a warning, never
    a failed cycle (the spreadsheet matters more than the screen)."""
    path = snapshot_path(config.store)
    try:
        write_snapshot(path, tv_payload(results, closing, config, now))
    except OSError as err:
        log.warning("could not write the TV page's data to %s: %s", path, err)


def write_snapshot(path: Path, payload: dict[str, Any]) -> None:
    """Written whole to a temporary file and renamed over the old one, so a reader never sees
    half a file."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, path)


@dataclass(frozen=True)
class Snapshot:
    """The file's bytes and their version: a digest, so it changes exactly when a cycle wrote
    something different (a new cycle has a new "data as of" time, so every cycle does)."""

    body: bytes
    version: str


class SnapshotFile:
    """Reads the file again only when its size or modification time changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._last: Snapshot | None = None
        self._lock = threading.Lock()  # the server answers each request in its own thread

    def read(self) -> Snapshot | None:
        """None until a cycle has written the file."""
        with self._lock:
            return self._read()

    def _read(self) -> Snapshot | None:
        try:
            stat = self.path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            if key != self._seen:
                body = self.path.read_bytes()
                self._last = Snapshot(body, hashlib.sha256(body).hexdigest()[:16])
                self._seen = key
        except FileNotFoundError:
            self._seen = self._last = None
        return self._last

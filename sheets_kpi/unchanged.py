"""Whether a cycle may keep the last output instead of computing it again.

It may when nothing the output is computed from changed and the clock has not reached the
instant its numbers move (`kpi.horizon`). Any change of amoCRM data ends the kept output in the
store itself (`Store._entities_changed`); the fingerprint covers the rest: the input tabs'
cells, the main spreadsheet's tabs and markers (a tab someone deleted or renamed is written
again), the config and the code. Only an output written completely is kept; the nightly
reconcile always computes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sheets_kpi.clock import epoch
from sheets_kpi.config import Config
from sheets_kpi.sheets.layout import RENDER_VERSION
from sheets_kpi.store.db import Store


def fingerprint(config: Config, grids: dict[str, list[list[Any]]], metadata: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    parts = (
        _code_version(),
        config.model_dump_json(),
        json.dumps(grids, sort_keys=True, default=str, ensure_ascii=False),
        json.dumps(metadata, sort_keys=True, default=str, ensure_ascii=False),
    )
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def kept_output(store: Store, source: str, now: datetime) -> tuple[int, int] | None:
    """(run id, data issues) of the last complete output when it was computed from the same
    `source` (its fingerprint) and still holds at `now`."""
    state = store.output_state()
    if state is None:
        return None
    saved, valid_until, run_id, issues = state
    return (run_id, issues) if saved == source and epoch(now) < valid_until else None


def _code_version() -> str:
    try:
        installed = version("sheets-kpi")
    except PackageNotFoundError:
        installed = "source"
    return f"{installed}/{RENDER_VERSION}"

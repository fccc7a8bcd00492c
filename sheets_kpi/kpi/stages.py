"""Resolve configured stage references (names or ids) against the account's pipelines.

A name matches that status in every pipeline (case- and space-insensitive), so one config
serves an account with several funnels; an id pair matches exactly one status.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from sheets_kpi.config import StageId, StageRef

WON, LOST = 142, 143
_SHIFT = 1_000_000_000


def _norm(text: object) -> str:
    return " ".join(str(text).split()).casefold()


def resolve(refs: list[StageRef], statuses: pd.DataFrame) -> set[tuple[int, int]]:
    """(pipeline_id, status_id) pairs the references point to."""
    pairs = {(ref.pipeline_id, ref.status_id) for ref in refs if isinstance(ref, StageId)}
    names = {_norm(ref) for ref in refs if isinstance(ref, str)}
    if names and not statuses.empty:
        matched = statuses[statuses["status_name"].map(_norm).isin(names)]
        pairs.update(
            zip(matched["pipeline_id"].astype(int), matched["status_id"].astype(int), strict=True)
        )
    return pairs


def unresolved(refs: list[StageRef], statuses: pd.DataFrame) -> list[str]:
    """References that match no status: a KPI or rule built on them would silently be zero."""
    known_names = set(statuses["status_name"].map(_norm)) if not statuses.empty else set()
    known_ids = set(zip(statuses["pipeline_id"], statuses["status_id"], strict=True))
    missing = []
    for ref in refs:
        if isinstance(ref, StageId):
            if (ref.pipeline_id, ref.status_id) not in known_ids:
                missing.append(f"{{pipeline_id: {ref.pipeline_id}, status_id: {ref.status_id}}}")
        elif _norm(ref) not in known_names:
            missing.append(ref)
    return missing


def pipelines(refs: list[str | int], statuses: pd.DataFrame) -> set[int]:
    """Pipeline ids from names or ids (the upsell filter)."""
    ids = {int(ref) for ref in refs if isinstance(ref, int)}
    names = {_norm(ref) for ref in refs if isinstance(ref, str)}
    if names and not statuses.empty:
        matched = statuses["pipeline_name"].map(_norm).isin(names)
        ids.update(statuses.loc[matched, "pipeline_id"].astype(int))
    return ids


def pair_key(pipeline: pd.Series, status: pd.Series) -> pd.Series:
    """One integer per (pipeline, status), for fast `isin` on large frames (missing → 0)."""
    return pipeline.fillna(0).astype("int64") * _SHIFT + status.fillna(0).astype("int64")


def pair_keys(pairs: Iterable[tuple[int, int]]) -> list[int]:
    return [p * _SHIFT + s for p, s in pairs]

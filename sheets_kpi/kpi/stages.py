"""Resolve configured stage references (names or ids) against the account's pipelines."""

from __future__ import annotations

import pandas as pd

from sheets_kpi.config import StageId, StageRef

WON, LOST = 142, 143


def resolve(refs: list[StageRef], statuses: pd.DataFrame) -> set[tuple[int, int]]:
    """(pipeline_id, status_id) pairs; a name matches that status in every pipeline."""
    pairs: set[tuple[int, int]] = set()
    names = {ref.strip().casefold() for ref in refs if isinstance(ref, str)}
    for ref in refs:
        if isinstance(ref, StageId):
            pairs.add((ref.pipeline_id, ref.status_id))
    if names and not statuses.empty:
        matched = statuses[
            statuses["status_name"].astype(str).str.strip().str.casefold().isin(names)
        ]
        pairs.update(
            zip(matched["pipeline_id"].astype(int), matched["status_id"].astype(int), strict=True)
        )
    return pairs


def pipelines(refs: list[str | int], statuses: pd.DataFrame) -> set[int]:
    """Pipeline ids from names or ids (the upsell filter)."""
    wanted_names = {str(r).strip().casefold() for r in refs if isinstance(r, str)}
    ids = {int(r) for r in refs if isinstance(r, int)}
    if wanted_names and not statuses.empty:
        names = statuses["pipeline_name"].astype(str).str.strip().str.casefold()
        ids.update(statuses.loc[names.isin(wanted_names), "pipeline_id"].astype(int))
    return ids


def pair_key(pipeline: pd.Series, status: pd.Series) -> pd.Series:
    """One integer per (pipeline, status), for fast `isin` on large frames."""
    return pipeline.astype("int64") * 1_000_000_000 + status.astype("int64")


def pair_keys(pairs: set[tuple[int, int]]) -> list[int]:
    return [p * 1_000_000_000 + s for p, s in pairs]

"""`serve` keeps each metric's fact rows between cycles: building them again is the largest part
of a quiet cycle's compute, and most builders give the same rows for the same data whatever the
time of day.

A builder's rows are made of the input frames and of its `Context`. Those of a builder that does
not read the clock (`facts.CLOCKED` names those that do) are made of the frames and the context
but its `now`, so they are handed out again when every input frame and every other field of the
context are exactly equal to what they were made of (frames compared whole, never assumed: any
late-synced call may move any day). Anything else, and every clocked builder: built.

A frame is the same when it is the very frame of the last compute (the engine only reads its
frames, and `serve` hands the amoCRM ones out again while the store has not changed:
`store.frames.KeptFrames`), else when it is equal as `kept_months.same_frame` tells.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from sheets_kpi.kpi.fact_base import Context
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.kept_months import same_frame
from sheets_kpi.kpi.periods import Grain


@dataclass(frozen=True)
class _Part:
    context: Context
    rows: pd.DataFrame

    def made_in(self, context: Context) -> bool:
        """Built in a context equal to `context` but for the clock."""
        kept = self.context
        return (
            (kept.config is context.config or kept.config == context.config)
            and kept.since == context.since
            and kept.grain == context.grain
            and kept.roster_ids == context.roster_ids
        )


class KeptFacts:
    """The rows of the non-clocked builders in the last compute, with the frames they were
    built from. Only the parts of the last compute are kept: one set of rows per metric and
    grain at most."""

    def __init__(self) -> None:
        self._frames: dict[str, pd.DataFrame] = {}
        self._parts: dict[tuple[str, Grain], _Part] = {}
        self._last: dict[tuple[str, Grain], _Part] = {}
        #: How many parts the compute since the last `start` handed out again instead of building.
        self.reused = 0

    def start(self, inputs: Inputs) -> None:
        """A compute on `inputs` starts: the parts of the last one stay on hand only when its
        frames were exactly these; after it, only its own parts are kept."""
        frames = {f.name: getattr(inputs, f.name) for f in dataclasses.fields(inputs)}
        same = bool(self._frames) and all(
            frame is self._frames[name] or same_frame(frame, self._frames[name])
            for name, frame in frames.items()
        )
        self._last = self._parts if same else {}
        self._frames, self._parts, self.reused = frames, {}, 0

    def part(
        self, metric: str, context: Context, build: Callable[[], pd.DataFrame]
    ) -> pd.DataFrame:
        """The rows of `metric` in `context`: the kept ones when built in the same context but
        for the clock from the same frames (see `start`), else `build()`. The caller gets its
        own copy."""
        key = (metric, context.grain)
        old = self._last.get(key)
        if old is not None and old.made_in(context):
            self.reused += 1
            self._parts[key] = old
            return old.rows.copy()
        rows = build()
        self._parts[key] = _Part(context, rows.copy())
        return rows

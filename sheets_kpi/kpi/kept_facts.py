"""`serve` keeps each metric's fact rows between cycles: building them again is the largest part
of a quiet cycle's compute, and most builders give the same rows for the same data whatever the
time of day.

A builder's rows are made of the input frames it reads and of its `Context`. Those of a builder
that does not read the clock (`facts.CLOCKED` names those that do) are made of these frames and
the context but its `now`, so they are handed out again when every frame the builder read and
every other field of the context are exactly equal to what they were made of (frames compared
whole, never assumed: any late-synced call may move any day). Anything else, and every clocked
builder: built. Which frames a builder reads is noted while it builds, not declared: it is handed
inputs that note each frame asked of them, by it or by the helpers it passes them to. Rows are
made of the frames read alone, so a frame that changed and was not read changes nothing: the
automatic deal violations (`deal_violations`) grow as the rules fire with the clock, and only
the builders that read them are built again for that.

A frame is the same when it is the very frame of the last compute (the engine only reads its
frames, and `serve` hands the amoCRM ones out again while the store has not changed:
`store.frames.KeptFrames`), else when it is equal as `kept_months.same_frame` tells; each is
compared at most once a compute, and only when a kept part asks. Rows handed out again are kept
once more: the frames they read were those of the last compute, so comparing with this one's
frames in the next compute still compares with what they were made of.
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

_FRAMES = frozenset(f.name for f in dataclasses.fields(Inputs))


class _Reading(Inputs):
    """The very frames of a compute's inputs (not copies), noting the names of those read."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        super().__init__(**frames)
        self.read: set[str] = set()

    def __getattribute__(self, name: str) -> object:
        if name in _FRAMES:
            object.__getattribute__(self, "read").add(name)
        return object.__getattribute__(self, name)


@dataclass(frozen=True)
class _Part:
    context: Context
    rows: pd.DataFrame
    #: The frames the builder read: the rows are made of these alone.
    read: frozenset[str]

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
    """The rows of the non-clocked builders in the last compute, with the frames they read.
    Only the parts of the last compute are kept: one set of rows per metric and grain at most."""

    def __init__(self) -> None:
        self._frames: dict[str, pd.DataFrame] = {}
        self._last_frames: dict[str, pd.DataFrame] = {}
        self._same: dict[str, bool] = {}
        self._parts: dict[tuple[str, Grain], _Part] = {}
        self._last: dict[tuple[str, Grain], _Part] = {}
        #: How many parts the compute since the last `start` handed out again instead of building.
        self.reused = 0

    def start(self, inputs: Inputs) -> None:
        """A compute on `inputs` starts: the parts of the last one stay on hand, each to be
        handed out again when the frames it read are those of the last compute; after it,
        only its own parts are kept."""
        self._last_frames = self._frames
        self._frames = {name: getattr(inputs, name) for name in _FRAMES}
        self._last, self._parts, self._same, self.reused = self._parts, {}, {}, 0

    def part(
        self,
        metric: str,
        context: Context,
        builder: Callable[[Inputs, Context, str | None], pd.DataFrame],
        arg: str | None,
    ) -> pd.DataFrame:
        """The rows of `metric` in `context`: the kept ones when built in the same context but
        for the clock and the frames they read are those of the last compute (see `start`),
        else those `builder` builds with `arg` from this compute's frames, noting the ones it
        reads. The caller gets its own copy."""
        key = (metric, context.grain)
        old = self._last.get(key)
        if old is not None and old.made_in(context) and all(map(self._unchanged, old.read)):
            self.reused += 1
            self._parts[key] = old
            return old.rows.copy()
        reading = _Reading(self._frames)
        rows = builder(reading, context, arg)
        self._parts[key] = _Part(context, rows.copy(), frozenset(reading.read))
        return rows

    def _unchanged(self, name: str) -> bool:
        """The frame `name` of this compute is that of the last one."""
        same = self._same.get(name)
        if same is None:
            this, last = self._frames[name], self._last_frames[name]
            same = self._same[name] = this is last or same_frame(this, last)
        return same

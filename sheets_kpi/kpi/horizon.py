"""When the numbers computed at `now` can next change with the clock alone.

With the same amoCRM data, inputs and config, the engine's output still moves with the clock:
a new local day (periods, weeks, pace, grace days, rows dated after today), a task falling due,
an open lead going stale, a deal leaving the analytics window, and each whole minute a missed
call waits for its callback. A cycle may keep the last output until the earliest of these
(`sheets_kpi/unchanged.py`); each clock-driven rule of the engine has its instant here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.activity_facts import callback_gaps, minutes_since, waited
from sheets_kpi.kpi.facts import configured_metrics
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.periods import to_utc, today
from sheets_kpi.kpi.rules import stale_at, still_open


def next_change(inputs: Inputs, config: Config, now: pd.Timestamp) -> pd.Timestamp:
    """The first instant after `now` at which the output may differ (`now` itself when one
    cannot be placed)."""
    callbacks = "callback_minutes" in configured_metrics(config)
    midnight = to_utc([today(now, config.timezone) + pd.Timedelta(days=1)], config.timezone)[0]
    moments = [
        midnight,
        _first_after(inputs.tasks["complete_till"], now),
        *(_first_after(inputs.leads[c], now) for c in ("created_at", "closed_at")),
        _first_after(inputs.stage_changes["created_at"], now),
        _first_after(inputs.calls["created_at"], now),
        _window_exit(inputs, config, now),
        _next_callback_minute(inputs, config, now) if callbacks else None,
    ]
    if config.rules.stale_stage_days:
        opened = still_open(inputs.leads)
        stale = stale_at(opened, inputs.stage_changes, config.rules.stale_stage_days)
        moments.append(_first_after(stale, now))
    return min(m for m in moments if m is not None)


def _next_callback_minute(inputs: Inputs, config: Config, now: pd.Timestamp) -> pd.Timestamp | None:
    """When the first missed call waiting for its callback has waited one more whole minute,
    or reaches the window."""
    window = config.amocrm.callback_window_hours * 60
    recent = inputs.calls[inputs.calls["created_at"] > now - pd.Timedelta(minutes=window)]
    lost, best = callback_gaps(recent, config)
    elapsed = minutes_since(lost["created_at"], now)
    waiting = (best > elapsed) & (elapsed < window)
    if not waiting.any():
        return None
    minutes = np.minimum(waited(elapsed[waiting]) + 1, window)
    created = lost["created_at"].to_numpy(dtype="datetime64[ns]")[waiting]
    return pd.Timestamp((created + (minutes * 60e9).astype("timedelta64[ns]")).min(), tz="UTC")


def _window_exit(inputs: Inputs, config: Config, now: pd.Timestamp) -> pd.Timestamp | None:
    """When the first deal closed inside the analytics window (matrix, retention) leaves it.

    `t - months` never passes `c` before `t = c + months`, so that is never late; near a month
    end it can be behind `now` for a deal still inside (months clip at the end): then `now`."""
    months = pd.DateOffset(months=config.analytics.window_months)
    closed = inputs.leads["closed_at"]
    exits = closed[closed >= now - months] + months
    if exits.empty:
        return None
    return now if (exits <= now).any() else pd.Timestamp(exits.min())


def _first_after(instants: pd.Series, now: pd.Timestamp) -> pd.Timestamp | None:
    later = instants[instants > now]
    return None if later.empty else pd.Timestamp(later.min())

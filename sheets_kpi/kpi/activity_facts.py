"""Calls, tasks and the Sheets inputs as daily facts (SPEC §7.1, §4.4)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.appeals import standing_violations
from sheets_kpi.kpi.fact_base import Context, rows
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.periods import local_date


def missed(calls: pd.DataFrame, config: Config) -> pd.Series:
    """Incoming calls whose status is a failure code or that lasted 0 seconds (§4.4)."""
    failed = calls["call_status"].isin(config.amocrm.missed_call_statuses)
    return (calls["direction"] == "in") & (failed | (calls["duration"].fillna(0) == 0))


def _calls(inputs: Inputs, context: Context) -> pd.DataFrame:
    return inputs.calls[inputs.calls["created_at"] >= context.since_utc]


def calls_missed_share(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    calls = _calls(inputs, context)
    incoming = calls[calls["direction"] == "in"]
    lost = missed(incoming, context.config).astype(float)
    return rows(local_date(incoming["created_at"], context.zone), incoming["user_id"], lost, 1.0)


def callback_minutes(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    """Minutes from each missed call to the next outgoing call to the same phone or contact.

    By anyone; capped at the window. A missed call not (yet) called back counts the whole
    minutes elapsed so far, up to the window, so a fresh miss is not charged the whole window
    at once and its minutes move once a minute, as they show, not at every instant. Calls with
    neither a phone nor a contact cannot be called back and are left out.
    """
    return callback_minutes_at(callbacks(inputs, context, arg), context)


def callbacks(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    """The part of `callback_minutes` the clock does not move: each missed call that can be
    called back, its local date, manager and the minutes to its callback (inf: none yet)."""
    lost, best = callback_gaps(_calls(inputs, context), context.config)
    return pd.DataFrame(
        {
            "created_at": lost["created_at"],
            "date": local_date(lost["created_at"], context.zone),
            "user_id": lost["user_id"],
            "best": best,
        }
    )


def callback_minutes_at(callbacks: pd.DataFrame, context: Context) -> pd.DataFrame:
    """`callback_minutes` at `context.now` from its `callbacks`: a call not called back counts
    the whole minutes elapsed so far (`waited`), all capped at the window."""
    elapsed = minutes_since(callbacks["created_at"], context.now)
    best = callbacks["best"].to_numpy()
    window = context.config.amocrm.callback_window_hours * 60
    minutes = np.minimum(np.where(best <= elapsed, best, waited(elapsed)), window)
    return rows(callbacks["date"], callbacks["user_id"], minutes, 1.0)


def minutes_since(instants: pd.Series, now: pd.Timestamp) -> np.ndarray:
    """The minutes from each instant to `now`."""
    return (now - instants).dt.total_seconds().to_numpy() / 60


def waited(elapsed: np.ndarray) -> np.ndarray:
    """The whole minutes a call not called back has waited (none before it was made)."""
    return np.floor(np.maximum(elapsed, 0.0))


def callback_gaps(calls: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, np.ndarray]:
    """The missed calls that can be called back (a phone or a contact) and the minutes to
    their callback (inf: none yet)."""
    lost = calls[missed(calls, config)]
    outgoing = calls[calls["direction"] == "out"]
    best = np.full(len(lost), np.inf)
    reachable = np.zeros(len(lost), dtype=bool)
    for key in ("phone", "contact_id"):
        has_key = _has(lost[key]).to_numpy()
        reachable |= has_key
        best = np.fmin(
            best, _next_call(lost[has_key], outgoing[_has(outgoing[key])], key, len(lost), has_key)
        )
    return lost[reachable], best[reachable]


def _has(key: pd.Series) -> pd.Series:
    """A phone or contact given: not missing, nor empty text (a number never is, and turning
    every contact id into text only to see that costs more than the rest of the check)."""
    if pd.api.types.is_numeric_dtype(key.dtype):
        return key.notna()
    return key.notna() & (key.astype(str) != "")


def _next_call(
    lost: pd.DataFrame, outgoing: pd.DataFrame, key: str, size: int, where: np.ndarray
) -> np.ndarray:
    """Minutes to the next outgoing call on `key`, placed back at `where`; inf when none."""
    out = np.full(size, np.inf)
    if lost.empty or outgoing.empty:
        return out
    kind: Literal["int64", "object"] = "int64" if key == "contact_id" else "object"
    left = pd.DataFrame(
        {
            "k": lost[key].astype(kind).to_numpy(),
            "at": lost["created_at"].to_numpy(dtype="datetime64[ns]"),
            "i": range(len(lost)),
        }
    ).sort_values("at", kind="stable")
    right = pd.DataFrame(
        {
            "k": outgoing[key].astype(kind).to_numpy(),
            "back": outgoing["created_at"].to_numpy(dtype="datetime64[ns]"),
        }
    ).sort_values("back", kind="stable")
    joined = pd.merge_asof(
        left,
        right,
        left_on="at",
        right_on="back",
        by="k",
        direction="forward",
        allow_exact_matches=False,
    )
    minutes = (joined["back"] - joined["at"]).dt.total_seconds().fillna(np.inf).to_numpy() / 60
    placed = np.full(len(lost), np.inf)
    placed[joined["i"].to_numpy()] = minutes
    out[where] = placed
    return out


def calls_outgoing(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    calls = _calls(inputs, context)
    out = calls[calls["direction"] == "out"]
    return rows(local_date(out["created_at"], context.zone), out["user_id"])


def _due(inputs: Inputs, context: Context) -> pd.DataFrame:
    """Tasks whose deadline has passed (by `now`), flagged overdue when done late or not done.

    A task not yet due is neither on time nor overdue. Done with no known completion time
    (no `task_completed` event synced) counts as on time.
    """
    tasks = inputs.tasks
    tasks = tasks[
        (tasks["complete_till"] >= context.since_utc) & (tasks["complete_till"] <= context.now)
    ]
    late = tasks["completed_at"].notna() & (tasks["completed_at"] > tasks["complete_till"])
    return tasks.assign(overdue=(late | ~tasks["is_completed"]).astype(float))


def tasks_overdue(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    due = _due(inputs, context)
    due = due[due["overdue"] > 0]
    return rows(local_date(due["complete_till"], context.zone), due["responsible_user_id"])


def tasks_overdue_share(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    due = _due(inputs, context)
    return rows(
        local_date(due["complete_till"], context.zone),
        due["responsible_user_id"],
        due["overdue"],
        1.0,
    )


def tasks_completed(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    """Tasks still marked done, dated on their completion."""
    tasks = inputs.tasks
    done = tasks[tasks["is_completed"] & (tasks["completed_at"] >= context.since_utc)]
    return rows(local_date(done["completed_at"], context.zone), done["responsible_user_id"])


def score_avg(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    scores = inputs.scores[inputs.scores["kind"] == arg]
    return rows(scores["date"], scores["manager_id"], scores["score"], 1.0)


def nps(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    """+100 per promoter (9–10), −100 per detractor (0–6), 0 per passive; den 1 per answer."""
    scores = inputs.scores[inputs.scores["kind"] == "nps"]
    points = np.select([scores["score"] >= 9, scores["score"] <= 6], [100.0, -100.0], 0.0)
    return rows(scores["date"], scores["manager_id"], points, 1.0)


def violations(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    """Manual violations of the type; one cancelled by a won appeal counts nowhere."""
    found = standing_violations(inputs, context.zone)
    found = found[found["type"] == arg]
    return rows(found["date"], found["manager_id"])


def appeals_lost(inputs: Inputs, context: Context, arg: str | None) -> pd.DataFrame:
    """Every lost appeal, whether or not its ref names a violation (that is a data issue)."""
    lost = inputs.appeals[inputs.appeals["outcome"] == "lost"]
    return rows(lost["date"], lost["manager_id"])

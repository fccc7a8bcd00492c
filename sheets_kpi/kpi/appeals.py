"""Appeals (SPEC §6): each names the violation it contests by `ref`; a won appeal cancels it.

An appeal's ref is the `ref` of a manual violation of the same manager (Violations tab), else
the id of a lead with automatic deal violations (`4521`, `#4521` or the lead's amoCRM link, as
the manager tab shows it): those of its violations first seen by the appeal's date. The latest
appeal against a violation decides: `won` cancels it (it counts nowhere), `lost` confirms it
(and counts in `appeals_lost`, as every lost appeal does), `pending` leaves it. An appeal whose
ref matches nothing is a data issue; it cancels nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.issues import Issue, issues_frame, place
from sheets_kpi.kpi.periods import local_date

_LEAD = re.compile(r"#?\s*(\d+)|.*/leads/detail/(\d+)\D*")


def _key(ref: object) -> str:
    return " ".join(str(ref).split()).casefold() if isinstance(ref, str) else ""


def lead_ref(ref: object) -> int | None:
    """The lead id an appeal's ref names: `4521`, `#4521` or a link to the lead in amoCRM."""
    match = _LEAD.fullmatch(str(ref).strip()) if isinstance(ref, str) else None
    return int(match[1] or match[2]) if match else None


@dataclass(frozen=True)
class Resolution:
    """Which violations won appeals cancel, and the appeals that name no violation."""

    manual_cancelled: pd.Series  # aligned with inputs.violations
    auto_cancelled: pd.Series  # aligned with inputs.deal_violations
    #: (position in inputs.appeals, why: its `issue.<key>` in `sheets_kpi.locale` and values)
    unmatched: list[tuple[int, str, dict[str, object]]]


_last: list[tuple[tuple[object, ...], Resolution]] = []


def resolve(inputs: Inputs, zone: str) -> Resolution:
    """The appeals' targets; the fact builders ask for it several times per compute, so the
    last answer is kept while the same frames (by identity) are asked about."""
    key = (inputs.appeals, inputs.violations, inputs.deal_violations, zone)
    if _last and all(a is b for a, b in zip(_last[0][0], key, strict=True)):
        return _last[0][1]
    found = _resolve(inputs, zone)
    _last[:] = [(key, found)]
    return found


def _resolve(inputs: Inputs, zone: str) -> Resolution:
    appeals = inputs.appeals.reset_index(drop=True)
    appeals = appeals.assign(
        appeal=np.arange(len(appeals)),
        key=appeals["ref"].map(_key),
        order=appeals["row"].astype("float64").fillna(pd.Series(np.arange(len(appeals)))),
    )
    manual = inputs.violations.assign(
        target=np.arange(len(inputs.violations)), key=inputs.violations["ref"].map(_key)
    )
    manual = manual[manual["key"] != ""]
    to_manual = appeals[appeals["key"] != ""].merge(
        manual[["key", "manager_id", "target"]], on=["key", "manager_id"]
    )
    rest = appeals[~appeals["appeal"].isin(to_manual["appeal"])]
    rest = rest.assign(lead_id=rest["ref"].map(lead_ref).astype("Int64")).dropna(subset=["lead_id"])
    auto = inputs.deal_violations
    auto = pd.DataFrame(
        {
            "lead_id": auto["lead_id"].to_numpy(),
            "day": local_date(auto["first_seen_at"], zone).to_numpy(),
            "target": np.arange(len(auto)),
        }
    )
    to_auto = rest.astype({"lead_id": "int64"}).merge(auto, on="lead_id")
    to_auto = to_auto[to_auto["day"] <= to_auto["date"]]
    matched = set(to_manual["appeal"]) | set(to_auto["appeal"])
    left = appeals[~appeals["appeal"].isin(matched)]
    owners = manual.groupby("key")["manager_id"].agg(lambda ids: sorted(set(ids))).to_dict()
    leads = set(auto["lead_id"].tolist())
    unmatched = [
        (position, *_why(key, manager, ref, owners, leads))
        for position, key, manager, ref in zip(
            left["appeal"].tolist(), left["key"], left["manager_id"], left["ref"], strict=True
        )
    ]
    return Resolution(
        _cancelled(to_manual, inputs.violations.index),
        _cancelled(to_auto, inputs.deal_violations.index),
        unmatched,
    )


def _cancelled(hits: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Violations whose latest appeal (by date, then sheet row) was won."""
    last = hits.sort_values(["date", "order"], kind="stable").drop_duplicates("target", keep="last")
    won = np.zeros(len(index), dtype=bool)
    won[last.loc[last["outcome"] == "won", "target"].to_numpy(dtype="int64")] = True
    return pd.Series(won, index=index)


def _why(
    key: str, manager: int, ref: object, owners: Mapping, leads: set[int]
) -> tuple[str, dict[str, object]]:
    if not key:
        return "appeal_no_ref", {}
    if key in owners:
        ids = ", ".join(str(i) for i in owners[key])
        return "appeal_other_manager", {"ids": ids, "manager": manager}
    lead = lead_ref(ref)
    if lead is not None and lead in leads:
        return "appeal_too_early", {"lead": lead}
    return "appeal_no_match", {}


def standing_violations(inputs: Inputs, zone: str) -> pd.DataFrame:
    """Manual violations, less those a won appeal cancelled."""
    if inputs.appeals.empty:
        return inputs.violations
    return inputs.violations[~resolve(inputs, zone).manual_cancelled]


def standing_deal_violations(inputs: Inputs, zone: str) -> pd.DataFrame:
    """Automatic deal violations, less those a won appeal cancelled."""
    if inputs.appeals.empty:
        return inputs.deal_violations
    return inputs.deal_violations[~resolve(inputs, zone).auto_cancelled]


def appeal_issues(inputs: Inputs, config: Config) -> pd.DataFrame:
    """One warning per appeal whose ref names no violation (it still counts if lost)."""
    unmatched = resolve(inputs, config.timezone).unmatched
    appeals = inputs.appeals.iloc[[position for position, *_ in unmatched]]
    return issues_frame(
        Issue.said(
            "warning",
            tab if isinstance(tab, str) and tab else "appeals",
            place("column", column="ref") if pd.isna(row) else place("cell", row=row, column="ref"),
            ref if isinstance(ref, str) else "",
            key,
            **args,
        )
        for (_, key, args), row, tab, ref in zip(
            unmatched, appeals["row"], appeals["tab"], appeals["ref"], strict=True
        )
    )

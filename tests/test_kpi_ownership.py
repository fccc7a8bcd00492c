"""Who owned a lead at an instant, from the handover history (kpi.ownership)."""

from __future__ import annotations

import pandas as pd

from sheets_kpi.kpi.ownership import responsible_at

UTC = "datetime64[ns, UTC]"


def at(*stamps: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(stamps), utc=True), dtype=UTC)


def leads(*rows: tuple[int, int | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "responsible_user_id": pd.Series([r[1] for r in rows], dtype="Int64"),
        }
    )


def handovers(*rows: tuple[int, str | None, int | None, int | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "created_at": pd.Series(pd.to_datetime([r[1] for r in rows], utc=True), dtype=UTC),
            "before_user_id": pd.Series([r[2] for r in rows], dtype="Int64"),
            "after_user_id": pd.Series([r[3] for r in rows], dtype="Int64"),
        }
    )


def owners(found: pd.Series) -> list[object]:
    return [None if pd.isna(v) else int(v) for v in found]


def test_the_last_handover_at_or_before_the_moment_and_before_the_first_one() -> None:
    history = handovers((1, "2026-11-10", 5, 6), (1, "2026-11-20", 6, 7), (2, "2026-11-15", 8, 9))
    ids = pd.Series([1, 1, 1, 1, 2, 2], index=[10, 11, 12, 13, 14, 15])
    moments = at("2026-11-01", "2026-11-10", "2026-11-15", "2026-11-25", "2026-11-14", "2026-11-16")
    found = responsible_at(leads((1, 99), (2, 98)), history, ids, moments.set_axis(ids.index))
    assert owners(found) == [5, 6, 6, 7, 8, 9]
    assert found.index.tolist() == [10, 11, 12, 13, 14, 15]
    assert str(found.dtype) == "Int64"


def test_handovers_at_the_same_instant_count_in_the_order_recorded() -> None:
    history = handovers((1, "2026-11-10", 5, 6), (1, "2026-11-10", 6, 7))
    found = responsible_at(
        leads((1, 99)), history, pd.Series([1, 1]), at("2026-11-10", "2026-11-09")
    )
    assert owners(found) == [7, 5]  # at the instant: the last one; before it: the first one's


def test_a_missing_user_falls_back_to_the_next_handover_then_to_the_lead() -> None:
    history = handovers((1, "2026-11-10", None, None), (1, "2026-11-20", 4, None))
    history = pd.concat([history, handovers((2, None, 5, 6))], ignore_index=True)
    ids = pd.Series([1, 1, 2, 3])
    found = responsible_at(
        leads((1, 99), (2, 98), (2, 97)),
        history,
        ids,
        at("2026-11-12", "2026-11-25", "2026-11-12", "2026-11-12"),
    )
    # lead 2's only handover has no time; lead 3 is not among the leads
    assert owners(found) == [4, 99, 98, None]


def test_no_history_and_no_leads() -> None:
    empty = handovers()
    assert owners(responsible_at(leads((1, None)), empty, pd.Series([1]), at("2026-11-01"))) == [
        None
    ]
    found = responsible_at(leads(), empty, pd.Series([], dtype="int64"), at())
    assert found.empty and str(found.dtype) == "Int64"

"""Explain my number (SPEC §7.6): what is still needed, and where the month is heading.

Reports localise the text ("+3 КП", "−2 нарушения"); the engine keeps machine values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_kpi.kpi.periods import Period


def still_needed(
    fact: pd.Series, plan: pd.Series, direction: pd.Series, unit: pd.Series
) -> pd.Series:
    """Signed change of the fact that reaches 100 %: +more (higher), −less (lower), 0 when met.

    Counts move in whole units (3.2 more calls means 4); empty without a plan or a fact.
    """
    gap = (plan - fact).to_numpy(dtype=float)
    lower = (direction == "lower").to_numpy()
    needed = np.where(lower, np.minimum(gap, 0.0), np.maximum(gap, 0.0))
    whole = (unit == "count").to_numpy()
    needed = np.where(whole, np.sign(needed) * np.ceil(np.abs(needed) - 1e-9), needed)
    return pd.Series(needed + 0.0, index=fact.index).where(fact.notna() & plan.notna())


def pace_fact(table: pd.DataFrame, period: Period) -> pd.Series:
    """Counts and sums run on at today's pace to the month's end; ratios are already rates."""
    scale = period.days / period.elapsed_days
    return table["fact"].where(table["ratio"], table["fact"] * scale)


def top_kpi(table: pd.DataFrame) -> pd.Series:
    """Per manager, the title of the KPI contributing most to the score."""
    ranked = table.dropna(subset=["contribution"]).sort_values(
        ["contribution", "weight"], ascending=False, kind="stable"
    )
    return ranked.drop_duplicates("manager_id").set_index("manager_id")["kpi_title"]

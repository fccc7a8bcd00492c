"""Human tab content that the end-to-end tests do not pin: wording per locale, matrix columns."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from sheets_kpi.reports import manager_titles, matrix_tab, needed_text


@pytest.mark.parametrize(
    ("unit", "needed", "loc", "text"),
    [
        ("count", 3, "ru", "ещё 3"),
        ("count", -2, "ru", "на 2 меньше"),
        ("rub", 270000, "ru", "ещё 270 000 ₽"),
        ("share", 0.05, "ru", "ещё 5.0 п.п."),
        ("share", 0.05, "en", "5.0 pp more"),
        ("share", -0.021, "en", "2.1 pp fewer"),
        ("minutes", -4.25, "en", "4.2 fewer"),
        ("count", 0, "en", "done"),
        ("count", float("nan"), "en", ""),
    ],
)
def test_what_is_still_needed_reads_naturally_in_each_locale(unit, needed, loc, text) -> None:
    assert needed_text(unit, needed, loc) == text


def test_the_matrix_per_manager_has_the_same_columns_as_the_matrix() -> None:
    cell = {
        "client_type": "new",
        "won": 1,
        "lost": 1,
        "n": 2,
        "win_rate": 0.5,
        "ci_low": 0.0945,
        "ci_high": 0.9055,
        "mean_won_price": 1000.0,
        "median_cycle_days": 9.5,
    }
    results = SimpleNamespace(
        matrix=pd.DataFrame([{"seniority": "senior", **cell}]),
        matrix_by_manager=pd.DataFrame(
            [{"manager_id": 7, "manager": "Анна", "seniority": "senior", **cell}]
        ),
    )
    rows = matrix_tab(results, "en").rows
    assert rows[0][2:] == rows[3][3:]  # the per-manager table adds the manager column
    assert rows[3][-2:] == ["Mean won price", "Median cycle, days"]
    assert rows[4] == ["Анна", "Senior", "New", 1, 1, 2, 0.5, 0.0945, 0.9055, 1000.0, 9.5]


def test_manager_tab_titles_are_unique_ignoring_case_and_fit_the_limit() -> None:
    long = "Д" * 120
    managers = pd.DataFrame(
        {
            "manager_id": [1, 2, 3, 4, 5],
            "manager": ["Anna Ivanova", "anna ivanova", "Борис", long + "а", long + "б"],
        }
    )
    titles = manager_titles(managers)
    assert titles[1] == "Anna Ivanova (1)" and titles[2] == "anna ivanova (2)"
    assert titles[3] == "Борис"
    assert titles[4] == "Д" * 96 + " (4)" and titles[5] == "Д" * 96 + " (5)"
    assert all(len(t) <= 100 for t in titles.values())


def test_a_manager_named_like_another_tab_gets_the_id() -> None:
    managers = pd.DataFrame({"manager_id": [1, 2], "manager": ["журнал", "Анна"]})
    assert manager_titles(managers, {"Журнал", "Планы"}) == {1: "журнал (1)", 2: "Анна"}

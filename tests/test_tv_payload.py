"""The TV page's data (SPEC §13) on the month-close world of tests/test_close.py, with October
added so there are last period's winners and rank changes to show.

Plan 100 000 ₽ of sales_rub for October and November, base 10 000 ₽, gate 0.7, prizes
3 000 / 1 000. Now: 20 November 15:00 in Moscow (12:00 UTC).
- October: Борис wins lead 5 (80 000) on 5 Oct, Анна lead 6 (20 000) on 8 Oct: Борис is
  October's winner (0.8, 8 000 + 3 000), Анна second (0.2, under the gate: 0). On 20 October he
  led too, so November's ranks are compared with that: Анна ▲1, Борис ▼1.
- November: Анна wins lead 1 (60 000) on 10 Nov and lead 2 (40 000) today at 10:00 UTC
  (13:00 Moscow): score 1.0, bonus 13 000. Борис wins lead 3 (80 000) on 15 Nov: 0.8, 9 000.
- Average of the department: (1.0 + 0.8) / 2 = 0.9; of achievement the same, 90 %.
"""

from __future__ import annotations

import json

import pandas as pd

from sheets_kpi.closing import assemble
from sheets_kpi.config import TvConfig
from sheets_kpi.kpi.engine import compute
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.tv.payload import SLIDE_SECONDS, tv_payload
from tests.kpi_fixtures import STATUSES, A, B, roster
from tests.test_close import CFG, PLANS, WINS, moscow, won

NOW = moscow("2026-11-20 15:00")
OCTOBER = (won(5, B, 80000, "2026-10-05 10:00"), won(6, A, 20000, "2026-10-08 10:00"))


def payload(cfg=CFG, wins=(*WINS, *OCTOBER)) -> dict:
    inputs = Inputs.build(
        statuses=STATUSES,
        roster=roster(A, B),
        plans=[*PLANS, {**PLANS[0], "period": "2026-10"}],
        leads=[w[0] for w in wins],
        stage_changes=[w[1] for w in wins],
    )
    results = compute(inputs, cfg, pd.Timestamp(NOW))
    return tv_payload(results, assemble(cfg, results, NOW), cfg, NOW)


def test_the_page_data_of_a_department_without_money() -> None:
    data = payload()
    assert (data["locale"], data["period"], data["as_of"]) == ("ru", "2026-11", "данные на 15:00")
    assert data["slide_seconds"] == SLIDE_SECONDS and data["show_money"] is False
    assert data["words"]["columns"]["manager"] == "Менеджер"
    [team] = data["departments"]
    assert (team["id"], team["title"]) == ("team", "team · 2026-11")
    assert team["leaderboard"] == [
        {"rank": "1", "change": "▲1", "manager": "Анна", "score": "1.000", "bar": 1.0},
        {"rank": "2", "change": "▼1", "manager": "Борис", "score": "0.800", "bar": 0.8},
    ]
    assert team["average"] == {"manager": "Среднее по отделу", "score": "0.900", "bar": 0.9}
    assert team["progress"] == [
        {
            "kpi": "sales_rub",
            "percent": "90 %",
            "bar": 0.9,
            "best": "лучший: Анна, 100 %",
        }
    ]
    assert team["winners"] == {
        "title": "Победители 2026-10",
        "rows": [
            {"rank": "1", "manager": "Борис", "score": "0.800"},
            {"rank": "2", "manager": "Анна", "score": "0.200"},
        ],
    }
    # only lead 2 was won today (10, 15 November and October are not today)
    assert team["wins_today"] == [
        {
            "id": "2",
            "manager": "Анна",
            "lead": "Сделка 2",
            "department": "team",
            "text": "Анна: победа — Сделка 2",
        }
    ]
    assert team["rank_changes"] == [
        {"change": "▲1", "text": "Анна: место 1 (было 2)"},
        {"change": "▼1", "text": "Борис: место 2 (было 1)"},
    ]
    text = json.dumps(data, ensure_ascii=False)
    assert "₽" not in text and "bonus" not in text and "Бонус" not in text
    assert "price" not in text and "80000" not in text and "80 000" not in text


def test_money_and_the_top_n_are_options() -> None:
    data = payload(CFG.model_copy(update={"tv": TvConfig(show_money=True, top=1)}))
    assert data["words"]["columns"]["bonus"] == "Бонус"
    [team] = data["departments"]
    assert [(m["manager"], m["bonus"]) for m in team["leaderboard"]] == [("Анна", "13 000 ₽")]
    # the whole department's average, as the TV tab has it: (1.0 + 0.8) / 2, (13 000 + 9 000) / 2
    assert team["average"]["score"] == "0.900"
    assert team["average"]["bonus"] == "11 000 ₽"
    # nobody's rank below the top 1, but everyone's wins
    assert [r["text"] for r in team["rank_changes"]] == ["Анна: место 1 (было 2)"]
    assert [(w["manager"], w["price"]) for w in team["wins_today"]] == [("Анна", "40 000 ₽")]
    # October's podium cut to the top 1: Борис 10 000 × 0.8 + 3 000
    assert [(w["manager"], w["bonus"]) for w in team["winners"]["rows"]] == [("Борис", "11 000 ₽")]


def test_english_words() -> None:
    data = payload(CFG.model_copy(update={"locale": "en"}))
    assert data["as_of"] == "data as of 15:00"
    assert data["words"]["leaderboard"] == "Leaderboard"
    [team] = data["departments"]
    assert team["average"]["manager"] == "Department average"
    assert team["winners"]["title"] == "Winners 2026-10"
    assert team["wins_today"][0]["text"] == "Анна won Сделка 2"
    assert team["rank_changes"][1]["text"] == "Борис: rank 2 (was 1)"


def test_a_day_without_wins_after_a_month_without_activity() -> None:
    data = payload(wins=WINS[:1])  # lead 1 on 10 November only
    [team] = data["departments"]
    assert team["wins_today"] == []
    assert team["rank_changes"] == []  # no activity in October: no rank to compare with
    assert [m["change"] for m in team["leaderboard"]] == ["", ""]

"""Privacy of money and boards that do not shame (SPEC §13), on the month-close world of
tests/test_close.py: a plan of 100 000 ₽; in November Анна won 60 000 + 40 000 and Борис 80 000.

By hand, on 2026-11-30: Анна 100 % (score 1.000, rank 1, bonus 10 000 × 1.0 + prize 3 000 =
13 000 ₽), Борис 80 % (score 0.800, rank 2); the department average score is 0.900.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from sheets_kpi.closing import assemble
from sheets_kpi.config import Config, PrivacyConfig, TvConfig, parse_config
from sheets_kpi.errors import ConfigError
from sheets_kpi.kpi.engine import compute
from sheets_kpi.sheets.layout import TabLayout
from sheets_kpi.tabs import Output, build_layouts
from sheets_kpi.tabs.columns import RUB
from sheets_kpi.tabs.manager import neighbour_places, neighbours_table
from tests.kpi_fixtures import A, B
from tests.test_close import CFG, moscow, world

NOVEMBER_END = moscow("2026-11-30 20:00")
DECEMBER = moscow("2026-12-01 15:00")  # November ended: its statement is the last one
OWN = "1AnnasOwnSpreadsheet000000000000000000000"
DATA = "1AnalystsDataSpreadsheet0000000000000000"


def configured(money: bool = True, top: int | None = None, show: bool = False, **google) -> Config:
    """CFG with the KPI in roubles, so its fact and plan are money too."""
    dept = CFG.departments[0]
    kpis = [dept.kpis[0].model_copy(update={"unit": "rub", "title": "Продажи"})]
    return CFG.model_copy(
        update={
            "departments": [dept.model_copy(update={"kpis": kpis, "title": "Продажи"})],
            "privacy": PrivacyConfig(money_in_shared_tabs=money),
            "tv": TvConfig(top=top, show_money=show),
            "google": CFG.google.model_copy(update=google),
        }
    )


def output(cfg: Config, now: datetime, personal: dict[int, str] | None = None) -> Output:
    inputs = world()
    roster = inputs.roster.copy()
    roster["personal_spreadsheet"] = [(personal or {}).get(m, "") for m in roster["manager_id"]]
    results = compute(inputs, cfg, pd.Timestamp(now))
    return build_layouts(results, cfg, roster, assemble(cfg, results, now), now)


def tab(layouts: list[TabLayout], title: str) -> TabLayout:
    return next(layout for layout in layouts if layout.title == title)


def money_in(layout: TabLayout) -> list[Any]:
    """What on the tab shows roubles: a rouble-formatted block or a text with ₽."""
    blocks = [b for b in layout.formats if b.pattern == RUB]
    texts = [v for row in layout.rows for v in row if isinstance(v, str) and "₽" in v]
    return blocks + texts


@pytest.mark.parametrize("now", [NOVEMBER_END, DECEMBER])
def test_no_shared_tab_shows_roubles_when_money_stays_out_of_shared_tabs(now) -> None:
    shared = output(configured(money=False, show=True), now).main
    human = [layout for layout in shared if not layout.title.startswith("data_")]
    assert len(human) > 8  # summary, ranking, dynamics, TV, statement, managers, ...
    assert {layout.title: money_in(layout) for layout in human if money_in(layout)} == {}


def test_the_default_keeps_the_money_where_it_was() -> None:
    shared = output(configured(), NOVEMBER_END).main
    assert money_in(tab(shared, "Итоги — Продажи"))
    assert money_in(tab(shared, "Рейтинг — Продажи"))
    assert money_in(tab(shared, "Анна"))


def test_the_summary_and_ranking_keep_percent_score_and_rank() -> None:
    shared = output(configured(money=False), NOVEMBER_END).main
    summary = tab(shared, "Итоги — Продажи").rows
    assert summary[0] == ["Менеджер", "%", "Балл"]
    assert summary[1:3] == [["Анна", 1.0, 1.0], ["Борис", 0.8, 0.8]]
    assert summary[3] == ["Итого по отделу", None, None]
    ranking = tab(shared, "Рейтинг — Продажи").rows
    assert ranking[0] == ["Место", "Изменение", "Менеджер", "Балл", "Главный вклад"]
    assert [row[:4] for row in ranking[1:]] == [[1, None, "Анна", 1.0], [2, None, "Борис", 0.8]]


def test_the_statement_overview_keeps_score_rank_and_multiplier() -> None:
    statement = tab(output(configured(money=False), DECEMBER).main, "Ведомость 2026-11").rows
    header = statement[1]
    assert header == [
        "Отдел",
        "Менеджер",
        "Балл",
        "Место",
        "Множитель",
        "Статус",
        "Утвердил",
        "Утверждено",
    ]
    assert statement[2][:5] == ["Продажи", "Анна", 1.0, 1, 1.0]


def test_a_manager_tab_in_the_main_spreadsheet_is_shared_so_it_has_no_money() -> None:
    anna = tab(output(configured(money=False), NOVEMBER_END).main, "Анна").rows
    labels = [row[0] for row in anna if row]
    assert "Бонус сейчас" not in labels and "Бонус при текущем темпе" not in labels
    kpi = next(i for i, row in enumerate(anna) if row and row[0] == "Показатель")
    # plan, fact, what is left and the forecast are roubles; the achievement stays
    assert anna[kpi + 1][:5] == ["Продажи", None, None, 1.0, 1]
    assert "Ваше место в отделе" not in labels  # the neighbours are for her eyes only


def test_the_personal_spreadsheet_has_her_money_and_her_neighbours_without_theirs() -> None:
    out = output(configured(money=False), NOVEMBER_END, personal={A: OWN})
    assert [layout.title for layout in out.personal[OWN]] == ["Анна"]
    assert "Анна" not in [layout.title for layout in out.main]
    anna = out.personal[OWN][0]
    fields = {row[0]: row[1] for row in anna.rows if len(row) == 2}
    assert fields["Бонус сейчас"] == 13000
    start = next(i for i, row in enumerate(anna.rows) if row == ["Ваше место в отделе"])
    assert anna.rows[start + 1 : start + 4] == [
        ["Место", "Менеджер", "Балл"],
        [1, "Анна", 1.0],
        [2, "Борис", 0.8],
    ]
    boris = tab(out.main, "Борис")  # no personal spreadsheet: his tab is shared
    assert money_in(boris) == []


def neighbours(rank_of_viewer: float | None, count: int = 7) -> list[list[Any]]:
    managers = pd.DataFrame(
        {
            "manager_id": list(range(1, count + 1)),
            "manager": [f"M{i}" for i in range(1, count + 1)],
            "department": "team",
            "rank": [float(i) for i in range(1, count)] + [float("nan")],  # the last: unranked
            "score": [1 - i / 10 for i in range(1, count)] + [float("nan")],
        }
    )
    viewer = count if rank_of_viewer is None else int(rank_of_viewer)
    me = SimpleNamespace(manager_id=viewer, department="team")
    return neighbours_table(neighbour_places(managers, me), "ru").rows


def test_the_neighbours_are_two_places_above_and_two_below() -> None:
    assert [row[0] for row in neighbours(4)] == [2, 3, 4, 5, 6]
    assert [row[0] for row in neighbours(1)] == [1, 2, 3]  # nobody above the first
    assert [row[0] for row in neighbours(6)] == [4, 5, 6]
    assert [row[0] for row in neighbours(None)] == [5, 6]  # unranked: the last places
    assert neighbours(3)[0] == [1, "M1", 0.9]


def test_with_a_top_n_shared_boards_list_nobody_below_it() -> None:
    shared = output(configured(money=False, top=1), NOVEMBER_END).main
    ranking = tab(shared, "Рейтинг — Продажи").rows
    assert [row[2] for row in ranking[1:]] == ["Анна"]
    tv = tab(shared, "ТВ — Продажи").rows
    assert [row[2] for row in tv[4:6]] == ["Анна", "Среднее по отделу"]
    assert tv[5][3] == pytest.approx(0.9)  # the department's average is everyone's
    assert "Борис" not in [v for row in tv for v in row]


def test_the_tv_shows_no_money_when_shared_tabs_have_none_even_if_asked() -> None:
    tv = tab(output(configured(money=False, show=True), NOVEMBER_END).main, "ТВ — Продажи")
    assert "Бонус" not in tv.rows[3]
    with_money = tab(output(configured(show=True), NOVEMBER_END).main, "ТВ — Продажи")
    assert with_money.rows[3][-1] == "Бонус" and with_money.rows[4][-1] == 13000


def test_the_data_tabs_move_to_their_own_spreadsheet() -> None:
    out = output(configured(data_spreadsheet=DATA), NOVEMBER_END, personal={B: OWN})
    data = ["data_kpi", "data_bonus", "data_daily", "data_managers"]
    assert [layout.title for layout in out.data[DATA]] == data
    assert not [layout.title for layout in out.main if layout.title.startswith("data_")]
    assert {k: [t.title for t in v] for k, v in out.elsewhere().items()} == {
        DATA: data,
        OWN: ["Борис"],
    }


def test_the_data_spreadsheet_is_the_main_one_or_unset_keeps_the_data_tabs_there() -> None:
    for google in ({}, {"data_spreadsheet": CFG.google.spreadsheet_id}):
        out = output(configured(**google), NOVEMBER_END)
        assert out.data == {} and tab(out.main, "data_kpi")


BASE = """
amocrm: {base_url: "https://x.amocrm.ru", auth: {long_lived_token: t}}
departments: [{id: team, kpis: [{id: won, metric: won_count, weight: 1}]}]
google:
  spreadsheet: s
"""


def test_the_data_spreadsheet_is_checked_like_a_personal_one() -> None:
    link = f"https://docs.google.com/spreadsheets/d/{DATA}/edit#gid=0"
    assert parse_config(BASE + f"  data_spreadsheet: '{link}'").google.data_spreadsheet == DATA
    with pytest.raises(ConfigError) as err:
        parse_config(BASE + "  data_spreadsheet: ../other")
    assert str(err.value) == (
        "config.yaml: google.data_spreadsheet: expected a spreadsheet link "
        "https://docs.google.com/spreadsheets/d/<id>/edit or its id (20 or more letters, digits, "
        "- and _), got '../other'"
    )


def test_the_personal_folder_is_a_drive_folder_id_or_its_link() -> None:
    folder = "0AbCdEfGhIjKlMnOpQrStUv"
    link = f"https://drive.google.com/drive/folders/{folder}?usp=sharing"
    assert parse_config(BASE + f"  personal_folder: '{link}'").google.personal_folder == folder
    with pytest.raises(ConfigError, match=r"google\.personal_folder: expected a Drive folder"):
        parse_config(BASE + "  personal_folder: 'a b'")

"""Month close (SPEC §12) on a hand-computed world, with pinned clocks around 30 November.

Department "team", one KPI: sales_rub = won_amount, plan 100 000 ₽ for 2026-11 (carried over
to December), base 10 000 ₽, gate 0.7, prizes 3 000 / 1 000. Moscow is UTC+3.
- Анна (A) wins lead 1 (60 000) on 10 Nov and lead 2 (40 000) on 20 Nov: 100 000, score 1.0,
  bonus 10 000 × 1.0 + 3 000 = 13 000, rank 1.
- Борис (B) wins lead 3 (80 000) on 15 Nov: score 0.8, 10 000 × 0.8 + 1 000 = 9 000, rank 2.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from sheets_kpi.closing import Approval, assemble, close_periods, settled_months
from sheets_kpi.kpi.close import period_status
from sheets_kpi.kpi.engine import Results, compute
from sheets_kpi.kpi.inputs import Inputs
from sheets_kpi.kpi.periods import Period
from sheets_kpi.sheets.inputs import CloseAction
from sheets_kpi.store.db import Store
from sheets_kpi.tabs.data import data_bonus_tab
from sheets_kpi.tabs.statement import bonus_words, discrepancies_tab, statement_tab
from tests.kpi_fixtures import PROPOSAL, STATUSES, WON, A, B, config, lead, move, roster

CFG = config(
    {"sales_rub": "won_amount"},
    bonus={"base": 10000, "gate": 0.7, "prizes": {1: 3000, 2: 1000}},
)
PLANS = [{"period": "2026-11", "manager_id": None, "department": "team", "kpi": "sales_rub",
          "plan": 100000}]  # fmt: skip


def moscow(text: str) -> datetime:
    """An instant from Moscow wall time 'YYYY-MM-DD HH:MM'."""
    return pd.Timestamp(text, tz="Europe/Moscow").to_pydatetime()


def won(lead_id: int, manager: int, price: float, at: str) -> tuple[dict, dict]:
    return (
        lead(lead_id, manager, status=WON, price=price, created="2026-10-01 09:00", closed=at),
        move(lead_id, WON, at, manager, before=PROPOSAL),
    )


WINS = [won(1, A, 60000, "2026-11-10 10:00"), won(2, A, 40000, "2026-11-20 10:00"),
        won(3, B, 80000, "2026-11-15 10:00")]  # fmt: skip


def world(leads: list[dict] | None = None, moves: list[dict] | None = None) -> Inputs:
    return Inputs.build(
        statuses=STATUSES,
        roster=roster(A, B),
        plans=PLANS,
        leads=leads if leads is not None else [w[0] for w in WINS],
        stage_changes=moves if moves is not None else [w[1] for w in WINS],
    )


def results_at(now: datetime, inputs: Inputs | None = None) -> Results:
    return compute(inputs or world(), CFG, pd.Timestamp(now))


def by_manager(rows: pd.DataFrame, column: str) -> dict[int, float]:
    return dict(zip(rows["manager_id"], rows[column], strict=True))


def sheet_frames(inputs: Inputs) -> dict[str, pd.DataFrame]:
    return {name: getattr(inputs, name) for name in ("plans", "scores", "violations", "appeals")}


def close(store: Store, now: datetime, inputs: Inputs, actions=(), approvals=()):
    results = results_at(now, inputs)
    return results, close_periods(
        CFG, store, results, sheet_frames(inputs), tuple(actions), now, 1, tuple(approvals)
    )


def action(kind: str, manager: int, period: str = "2026-11", who: str = "Иванова") -> CloseAction:
    return CloseAction(2, period, "team", manager, kind, who, "", f"{period}|{manager}|{kind}|1")


# --- the instant a period is cut --------------------------------------------------------


def test_at_30_november_23_59_november_is_the_current_period() -> None:
    results = results_at(moscow("2026-11-30 23:59"))
    assert results.period.label == "2026-11"
    assert by_manager(results.managers, "bonus") == {A: 13000, B: 9000}
    closing = assemble(CFG, results, moscow("2026-11-30 23:59"))
    assert closing.current.period.label == "2026-11" and closing.last.period.label == "2026-10"


def test_at_1_december_00_01_november_is_a_draft_with_the_same_numbers() -> None:
    now = moscow("2026-12-01 00:01")
    results = results_at(now)
    assert results.period.label == "2026-12"
    closing = assemble(CFG, results, now)
    last = closing.last
    assert (last.period.label, last.status) == ("2026-11", "draft")
    assert by_manager(last.rows, "bonus") == {A: 13000, B: 9000}
    assert by_manager(last.rows, "rank") == {A: 1, B: 2}
    # December: November's plan carried over, nothing won yet: achievement 0, bonus 0
    december = results.kpi.set_index("manager_id")
    assert december.loc[A, "plan"] == 100000 and december.loc[A, "plan_from"] == "2026-11"
    assert by_manager(closing.current.rows, "bonus") == {A: 0, B: 0}


def test_a_win_half_a_minute_after_midnight_counts_in_december_not_november() -> None:
    late = won(4, B, 50000, "2026-11-30 21:00:30")  # 1 Dec 00:00:30 in Moscow
    inputs = world([*(w[0] for w in WINS), late[0]], [*(w[1] for w in WINS), late[1]])
    results = results_at(moscow("2026-12-01 00:01"), inputs)
    assert by_manager(results.past[0].managers, "bonus") == {A: 13000, B: 9000}
    assert by_manager(results.kpi, "fact") == {A: 0, B: 50000}


@pytest.mark.parametrize(
    ("day", "status"),
    [
        ("2026-11-30", "current"),
        ("2026-12-01", "draft"),
        ("2026-12-05", "draft"),  # the 5th grace day
        ("2026-12-06", "closed"),  # grace over, not approved: still a draft, now overdue
    ],
)
def test_the_status_of_november_by_day(day: str, status: str) -> None:
    november = Period.month("2026-11")
    assert period_status(november, pd.Timestamp(day), False, grace_days=5) == status
    assert period_status(november, pd.Timestamp(day), True, grace_days=5) == "approved"


def test_an_unapproved_november_after_the_grace_days_is_a_warning(store: Store, tmp_path) -> None:
    _, closing = close(store, moscow("2026-12-06 10:00"), world())
    (issue,) = [i for i in closing.issues if i.source == "close"]
    assert issue.where == "2026-11 / team" and "not approved" in issue.message
    assert closing.last.status == "closed"


# --- approval ---------------------------------------------------------------------------


def reopened(lead_id: int, at: str = "2026-12-03 09:00") -> Inputs:
    """The world after lead `lead_id` left won on 3 December."""
    leads = [
        w[0] | {"status_id": PROPOSAL, "closed_at": pd.NaT} if w[0]["lead_id"] == lead_id else w[0]
        for w in WINS
    ]
    moves = [w[1] for w in WINS] + [move(lead_id, PROPOSAL, at, A, before=WON)]
    return world(leads, moves)


def approve(store: Store) -> None:
    _, closing = close(
        store, moscow("2026-12-02 10:00"), world(), approvals=[Approval("2026-11", None, "Иванова")]
    )
    assert closing.approved == ["2026-11 / team"]


def test_approval_freezes_the_statement_and_a_reopened_win_becomes_a_discrepancy(
    store: Store,
) -> None:
    approve(store)
    (snapshot,) = store.snapshots()
    assert (snapshot.period, snapshot.department, snapshot.approved_by) == (
        "2026-11",
        "team",
        "Иванова",
    )
    assert {w["lead_id"] for w in snapshot.payload["wins"]} == {1, 2, 3}
    _, closing = close(store, moscow("2026-12-03 12:00"), reopened(2))
    last = closing.last
    assert last.status == "approved"
    assert by_manager(last.rows, "bonus") == {A: 13000, B: 9000}  # what was paid stays
    found = closing.discrepancies.set_index(["manager_id", "field"])
    # A: 60 000 of 100 000 → score 0.6 below the gate: 0; B moves up: 8 000 + 3 000 = 11 000
    assert (found.loc[(A, "fact"), "approved"], found.loc[(A, "fact"), "now"]) == (100000, 60000)
    assert found.loc[(A, "fact"), "leads"][0] | {"name": ""} == {
        "lead_id": 2,
        "name": "",
        "change": "reopened",
    }
    assert found.loc[(A, "bonus"), "bonus_difference"] == -13000
    assert found.loc[(B, "bonus"), "bonus_difference"] == 2000
    assert (found.loc[(A, "rank"), "now"], found.loc[(B, "rank"), "now"]) == (2, 1)
    assert set(found["status"].dropna()) == {"proposed"}
    assert closing.discrepancies["first_seen"].eq("2026-12-03 12:00").all()


def test_a_deleted_and_a_repriced_win_are_named_in_the_discrepancy(store: Store) -> None:
    approve(store)
    leads = [w[0] for w in WINS]
    leads[0] = leads[0] | {"price": 50000.0}  # lead 1 repriced 60 000 → 50 000
    leads[2] = leads[2] | {"is_deleted": True}  # lead 3 deleted
    _, closing = close(store, moscow("2026-12-03 12:00"), world(leads, [w[1] for w in WINS]))
    found = closing.discrepancies.set_index(["manager_id", "field"])
    (repriced,) = found.loc[(A, "fact"), "leads"]
    assert (repriced["change"], repriced["price_before"], repriced["price_now"]) == (
        "repriced",
        60000,
        50000,
    )
    assert found.loc[(B, "fact"), "leads"][0]["change"] == "deleted"
    # A: 90 000 → 0.9 × 10 000 + 3 000 = 12 000 (−1 000); B: 0 → below the gate (−9 000)
    assert found.loc[(A, "bonus"), "bonus_difference"] == -1000
    assert found.loc[(B, "bonus"), "bonus_difference"] == -9000


def test_an_accepted_deduction_lands_on_december_and_what_it_cannot_take_carries_on(
    store: Store,
) -> None:
    approve(store)
    actions = [action("accept", A), action("reject", B)]
    _, closing = close(store, moscow("2026-12-03 12:00"), reopened(2), actions)
    found = closing.discrepancies.set_index(["manager_id", "field"])
    assert found.loc[(A, "bonus"), ["bonus_difference", "status"]].tolist() == [0, "accepted"]
    assert found.loc[(B, "bonus"), ["bonus_difference", "status"]].tolist() == [2000, "rejected"]
    december = closing.current.rows.set_index("manager_id")
    # December earns nothing yet: the −13 000 takes the bonus to 0 and −13 000 carries on
    assert december.loc[A, ["adjustment", "bonus", "carried"]].tolist() == [-13000, 0, -13000]
    assert december.loc[B, ["adjustment", "bonus"]].tolist() == [0, 0]
    # A later cycle does not act on the same rows again
    close(store, moscow("2026-12-03 12:15"), reopened(2), actions)
    assert len(store.decisions()[1]) == 2
    january = close(store, moscow("2027-01-02 10:00"), reopened(2))[1]
    assert january.last.period.label == "2026-12"
    assert by_manager(january.last.rows, "carried") == {A: -13000, B: 0}
    assert by_manager(january.current.rows, "adjustment") == {A: -13000, B: 0}


def test_an_accepted_extra_payment_is_added_to_the_next_statement(store: Store) -> None:
    approve(store)
    _, closing = close(store, moscow("2026-12-03 12:00"), reopened(2), [action("accept", B)])
    december = closing.current.rows.set_index("manager_id")
    assert december.loc[B, ["adjustment", "bonus", "carried"]].tolist() == [2000, 2000, 0]


def test_approving_the_open_month_or_twice_changes_nothing(store: Store) -> None:
    approve(store)
    now = moscow("2026-12-03 12:00")
    _, closing = close(
        store,
        now,
        reopened(2),
        approvals=[Approval("2026-12", None, "x"), Approval("2026-11", None, "y")],
    )
    assert closing.approved == []
    assert [s.approved_by for s in store.snapshots()] == ["Иванова"]
    (refused,) = [i for i in closing.issues if i.source == "close"]
    assert "has not ended" in refused.message and "2026-12-31" in refused.message


def test_an_approved_statement_cannot_be_changed_in_the_store(store: Store) -> None:
    approve(store)
    with pytest.raises(Exception, match="immutable"):
        store.query("UPDATE statement SET approved_by = 'someone else'")
    with pytest.raises(Exception, match="immutable"):
        store.query("DELETE FROM statement")


def test_accepting_when_nothing_is_open_is_said_and_remembered(store: Store) -> None:
    approve(store)
    _, closing = close(store, moscow("2026-12-03 12:00"), world(), [action("accept", A)])
    (said,) = [i for i in closing.issues if i.source == "close"]
    assert said.message.startswith("nothing to accept")
    # the discrepancy that appears later is not accepted by the old row
    _, later = close(store, moscow("2026-12-04 12:00"), reopened(2), [action("accept", A)])
    found = later.discrepancies.set_index(["manager_id", "field"])
    assert found.loc[(A, "bonus"), "status"] == "proposed"


NOTHING_RU = (
    "нечего {}: у этого менеджера нет открытого расхождения за 2026-11; строка прочитана один "
    "раз и остаётся как есть"
)
OVERDUE_RU = (
    "период закончился более 5 дн. назад и не утверждён: проверьте ведомость и утвердите её во "
    "вкладке «Закрытие» (или `sheets-kpi close 2026-11`)"
)


def test_every_close_issue_is_said_in_the_locale_the_first_time_and_after(store: Store) -> None:
    from sheets_kpi.kpi.issues import issues_frame
    from sheets_kpi.tabs.run import issues_tab

    actions = [action("accept", A), action("reject", B)]
    refused = [Approval("2026-01", None, "Иванова"), Approval("2026-12", "team", "Иванова")]
    _, first = close(store, moscow("2026-12-06 10:00"), world(), actions, refused)
    _, later = close(store, moscow("2026-12-06 10:15"), world(), actions)  # the rows were read
    shown = {
        (name, loc): [
            row[1:5]
            for row in issues_tab(issues_frame(c.issues).assign(first_seen=""), loc).rows[1:]
        ]
        for name, c in (("first", first), ("later", later))
        for loc in ("ru", "en")
    }
    accept = ["Закрытие", "строка 2", "2026-11", NOTHING_RU.format("принимать")]
    reject = ["Закрытие", "строка 2", "2026-11", NOTHING_RU.format("отклонять")]
    overdue = ["Закрытие", "2026-11 / team", "", OVERDUE_RU]
    assert shown["first", "ru"] == [
        accept,
        reject,
        [
            "Закрытие",
            "2026-01 / все отделы",
            "2026-01",
            "утвердить можно только один из 6 последних завершённых месяцев",
        ],
        [
            "Закрытие",
            "2026-12 / team",
            "2026-12",
            "период ещё не закончился (он заканчивается 2026-12-31); утвердите его после",
        ],
        overdue,
    ]
    assert shown["later", "ru"] == [accept, reject, overdue]
    nothing = (
        "nothing to accept: no open discrepancy for this manager in 2026-11; the row was read "
        "once and is kept as it is"
    )
    assert shown["later", "en"][0] == ["Close", "row 2", "2026-11", nothing]
    assert shown["first", "en"][2][1] == "2026-01 / all"
    # the English text is what the store remembers and keys `first_seen` by, both times
    assert later.issues[0].message == nothing == first.issues[0].message


# --- what people read -------------------------------------------------------------------


def test_the_statement_tab_says_the_bonus_in_words(store: Store) -> None:
    approve(store)
    _, closing = close(store, moscow("2026-12-03 12:00"), reopened(2))
    layout = statement_tab(closing.last, CFG)
    assert layout.title == "Ведомость 2026-11"
    assert layout.rows[0][0].startswith("Период 2026-11: утверждено.")
    header = layout.rows[1]
    lines = {row[1]: dict(zip(header, row, strict=True)) for row in layout.rows[2:]}
    assert lines["Анна"]["Расчёт"] == "10 000 × 1.000 + приз 3 000 = 13 000"
    assert lines["Борис"]["Статус"] == "утверждено" and lines["Борис"]["Утвердил"] == "Иванова"
    shown = discrepancies_tab(closing, CFG)
    assert shown.title == "Расхождения"
    texts = [row[9] for row in shown.rows[2:] if row[9]]
    assert texts == ["#2 Сделка 2: снята с «Успешно» — http://x/leads/detail/2"]


@pytest.mark.parametrize(
    ("score", "rank", "prize", "adjustment", "carried", "bonus", "words"),
    [
        (0.67, 3, 0, 0, 0, 0, "балл 0.670 ниже порога 0.70 = 0"),
        (0.921, 1, 15000, 0, 0, 61050, "50 000 × 0.921 + приз 15 000 = 61 050"),
        (0.921, 2, 0, 3000, 0, 49050, "50 000 × 0.921 + доплата 3 000 = 49 050"),
        (
            0.67,
            3,
            0,
            -5000,
            -5000,
            0,
            "балл 0.670 ниже порога 0.70 − удержание 5 000 = 0; "
            "5 000 удержания переходит в следующую ведомость",
        ),
    ],
)
def test_bonus_words(score, rank, prize, adjustment, carried, bonus, words) -> None:
    from types import SimpleNamespace

    cfg = config({"sales_rub": "won_amount"}, bonus={"base": 50000, "gate": 0.7})
    line = SimpleNamespace(
        department="team",
        score=score,
        rank=rank,
        base=50000,
        multiplier=score if score >= 0.7 else 0,
        prize=prize,
        adjustment=adjustment,
        carried=carried,
        bonus=bonus,
    )
    assert bonus_words(line, cfg) == words


def test_data_tabs_hold_the_approved_month_and_the_current_one(store: Store) -> None:
    from sheets_kpi.tabs.data import data_kpi_tab

    approve(store)
    _, closing = close(store, moscow("2026-12-03 12:00"), reopened(2))
    kpi = data_kpi_tab(closing, CFG)
    header = kpi.rows[0]
    status = header.index("status")
    assert {(r[0], r[status], r[status + 1]) for r in kpi.rows[1:]} == {
        ("2026-11", "approved", 1),
        ("2026-12", "current", 0),
    }
    november = [r for r in kpi.rows[1:] if r[0] == "2026-11"]
    assert {r[header.index("fact")] for r in november} == {100000, 80000}  # as approved
    assert november[0][1] == 46327.0  # 2026-11-01 as a date cell
    bonus = data_bonus_tab(closing, CFG)
    header = bonus.rows[0]
    rows = {(r[0], r[2]): dict(zip(header, r, strict=True)) for r in bonus.rows[1:]}
    assert rows[("2026-11", A)]["bonus"] == 13000 and rows[("2026-11", A)]["status"] == "approved"
    assert rows[("2026-12", A)]["status"] == "current"
    # 2 Dec 10:00 Moscow = 07:00 UTC, as a date-time cell
    expected = datetime(2026, 12, 2, 7, tzinfo=UTC).replace(tzinfo=None) - datetime(1899, 12, 30)
    assert rows[("2026-11", A)]["approved_at"] == pytest.approx(expected.total_seconds() / 86400)


def test_one_department_approved_and_the_other_still_a_draft(store: Store) -> None:
    team = CFG.departments[0]
    other = team.model_copy(update={"id": "other", "title": "Другой"})
    cfg = CFG.model_copy(update={"departments": [team, other]})
    people = roster(A, B)
    people[1]["department"] = "other"
    plans = [*PLANS, PLANS[0] | {"department": "other"}]
    inputs = Inputs.build(
        statuses=STATUSES,
        roster=people,
        plans=plans,
        leads=[w[0] for w in WINS],
        stage_changes=[w[1] for w in WINS],
    )
    now = moscow("2026-12-02 10:00")
    results = compute(inputs, cfg, pd.Timestamp(now))
    closing = close_periods(
        cfg, store, results, sheet_frames(inputs), (), now, 1, (Approval("2026-11", "team", "И"),)
    )
    assert closing.approved == ["2026-11 / team"]
    rows = closing.last.rows.set_index("manager_id")
    assert rows.loc[A, "department_status"] == "approved" and rows.loc[A, "approved_by"] == "И"
    assert rows.loc[B, "department_status"] == "draft" and rows.loc[B, "approved_by"] == ""
    # B alone in "other": 80 000 of 100 000, rank 1 there: 8 000 + 3 000
    assert by_manager(closing.last.rows, "bonus") == {A: 13000, B: 11000}
    assert closing.last.status == "draft"  # the least closed department's
    statuses = {(r[0], r[2], r[11]) for r in data_bonus_tab(closing, cfg).rows[1:]}
    assert ("2026-11", A, "approved") in statuses and ("2026-11", B, "draft") in statuses


def test_an_approved_month_no_longer_watched_is_shown_from_its_snapshot(store: Store) -> None:
    approve(store)  # November; watched are the last 3 ended months
    march = moscow("2027-03-10 12:00")
    assert settled_months(CFG, store, moscow("2027-02-10 12:00")) == frozenset()  # still watched
    assert settled_months(CFG, store, march) == {"2026-11"}
    inputs = reopened(2)  # what was paid must not follow this
    results = compute(inputs, CFG, pd.Timestamp(march), settled=settled_months(CFG, store, march))
    november = next(f for f in results.past if f.period.label == "2026-11")
    assert november.kpi.empty and november.managers.empty  # nothing computed for it
    closing = close_periods(CFG, store, results, sheet_frames(inputs), (), march, 1)
    shown = next(s for s in closing.statements if s.period.label == "2026-11")
    assert shown.status == "approved"
    assert by_manager(shown.rows, "bonus") == {A: 13000, B: 9000}
    assert closing.discrepancies.empty  # not watched any more
    history = closing.kpi[closing.kpi["period"] == "2026-11"]
    assert set(history["status"]) == {"approved"} and set(history["fact"]) == {100000, 80000}


def test_a_department_without_managers_is_approved_and_watched(store: Store) -> None:
    empty = Inputs.build(statuses=STATUSES, roster=[], plans=PLANS)
    _, closing = close(
        store, moscow("2026-12-02 10:00"), empty, approvals=[Approval("2026-11", None, "Иванова")]
    )
    assert closing.approved == ["2026-11 / team"]
    (snapshot,) = store.snapshots()
    assert snapshot.payload["kpi"] == [] and snapshot.payload["statement"] == []
    _, again = close(store, moscow("2026-12-03 12:00"), empty)  # compared with its snapshot
    assert again.last.status == "approved"
    assert again.discrepancies.empty

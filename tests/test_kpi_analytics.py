"""Who sells to whom (SPEC §7.8) and client retention (SPEC §7.9); now = 2026-11-20 12:00 UTC,
window = the last 6 months (from 2026-05-20 12:00 UTC)."""

from __future__ import annotations

import math

import pytest

from tests.kpi_fixtures import LOST, WON, A, B, C, config, handover, lead, roster, run

OUT = {"outgoing": "calls_outgoing"}


def won(lead_id, who, created, closed, price=100, **keys) -> dict:
    return lead(lead_id, who, status=WON, price=price, created=created, closed=closed, **keys)


def lost(lead_id, who, created, closed, **keys) -> dict:
    return lead(lead_id, who, status=LOST, created=created, closed=closed, **keys)


def matrix(results):
    return results.matrix.set_index(["seniority", "client_type"])


def test_matrix_types_clients_as_new_or_repeat() -> None:
    leads = [
        won(1, A, "2026-07-01 10:00", "2026-07-10 10:00", price=100, contact=7),
        # contact 7 had a win (10 Jul) before this lead was created (1 Aug): repeat
        won(2, A, "2026-08-01 10:00", "2026-08-11 10:00", price=300, contact=7),
        lost(3, B, "2026-08-01 10:00", "2026-08-05 10:00", contact=8),  # new
        won(4, B, "2026-07-05 10:00", "2026-07-20 10:00", price=50, company=9),  # new
    ]
    people = roster(A) + roster(B, seniority="junior")
    results = run(cfg=config(OUT), roster=people, leads=leads)
    cells = matrix(results)
    assert cells.loc[("senior", "new"), ["won", "lost", "n"]].tolist() == [1, 0, 1]
    assert cells.loc[("senior", "repeat"), "mean_won_price"] == 300
    assert cells.loc[("junior", "new"), ["won", "lost", "win_rate"]].tolist() == [1, 1, 0.5]
    # cycles: lead 3 4 days, lead 4 15 days → median 9.5
    assert cells.loc[("junior", "new"), "median_cycle_days"] == pytest.approx(9.5)
    # Wilson 95 % for 1 of 2: 0.0945 … 0.9055
    low, high = cells.loc[("junior", "new"), ["ci_low", "ci_high"]]
    assert (low, high) == pytest.approx((0.0945, 0.9055), abs=1e-4)


def test_repeat_through_the_company_and_only_for_wins_before_creation() -> None:
    leads = [
        won(1, A, "2026-06-01 10:00", "2026-06-10 10:00", company=9, contact=1),
        # another contact of company 9, created after the company's win: repeat
        won(2, A, "2026-07-01 10:00", "2026-07-10 10:00", company=9, contact=2),
        # contact 3's first win (lead 4, 20 Jul) came after lead 3 was created (1 Jul): new
        lost(3, A, "2026-07-01 10:00", "2026-08-01 10:00", contact=3),
        won(4, A, "2026-07-02 10:00", "2026-07-20 10:00", contact=3),
    ]
    results = run(cfg=config(OUT), roster=roster(A), leads=leads)
    cells = matrix(results)
    assert cells.loc[("senior", "repeat"), ["won", "lost"]].tolist() == [1, 0]  # lead 2
    assert cells.loc[("senior", "new"), ["won", "lost"]].tolist() == [2, 1]  # leads 1, 3, 4


def test_seller_is_the_owner_when_the_lead_closed() -> None:
    leads = [won(1, B, "2026-07-01 10:00", "2026-07-10 10:00")]  # B owns it now
    people = roster(A) + roster(B, seniority="junior")
    results = run(
        cfg=config(OUT),
        roster=people,
        leads=leads,
        responsible_changes=[handover(1, "2026-08-01 10:00", A, B)],  # after the close
    )
    assert results.matrix["seniority"].tolist() == ["senior"]  # A's, a senior
    assert results.matrix_by_manager["manager_id"].tolist() == [A]


def test_matrix_leaves_out_old_deleted_open_and_non_roster_deals() -> None:
    leads = [
        won(1, A, "2026-04-01 10:00", "2026-05-01 10:00"),  # closed before the window
        won(2, A, "2026-07-01 10:00", "2026-07-10 10:00") | {"is_deleted": True},
        lead(3, A),  # open
        won(4, 99, "2026-07-01 10:00", "2026-07-10 10:00"),  # seller not in the roster
        lost(5, A, "2026-07-01 10:00", "2026-07-03 10:00"),  # the only one counted
    ]
    results = run(cfg=config(OUT), roster=roster(A), leads=leads)
    assert results.matrix[["won", "lost", "n"]].values.tolist() == [[0, 1, 1]]
    assert math.isnan(results.matrix["mean_won_price"].iloc[0])  # no wins: no mean price


def test_matrix_keeps_the_deals_of_a_manager_who_has_left() -> None:
    leads = [won(1, A, "2026-07-01 10:00", "2026-07-10 10:00")]
    gone = [row | {"active": False} for row in roster(A)]  # left in October, still on the roster
    results = run(cfg=config(OUT), roster=gone, leads=leads)
    assert results.matrix[["seniority", "won", "n"]].values.tolist() == [["senior", 1, 1]]
    assert results.managers.empty  # not scored any more


def test_matrix_by_manager() -> None:
    leads = [
        won(1, A, "2026-07-01 10:00", "2026-07-10 10:00"),
        lost(2, A, "2026-07-01 10:00", "2026-07-10 10:00"),
        lost(3, A, "2026-07-01 10:00", "2026-07-10 10:00"),
        won(4, C, "2026-07-01 10:00", "2026-07-10 10:00"),
    ]
    results = run(cfg=config(OUT), leads=leads)
    table = results.matrix_by_manager.set_index("manager_id")
    assert table.loc[A, ["won", "lost", "n"]].tolist() == [1, 2, 3]
    assert table.loc[A, "win_rate"] == pytest.approx(1 / 3)
    assert table.loc[C, "manager"] == "Вера"


def test_retention_counts_once_and_again_buyers() -> None:
    leads = [
        won(1, A, "2026-06-01 10:00", "2026-07-01 10:00", contact=7),
        won(2, A, "2026-06-01 10:00", "2026-07-11 10:00", contact=7),
        won(3, A, "2026-06-01 10:00", "2026-07-31 10:00", contact=7),
        won(4, A, "2026-06-01 10:00", "2026-08-01 10:00", contact=8, company=9),  # company 9
    ]
    clients = [
        {"client_type": "contact", "client_id": 7, "responsible_user_id": B},
        {"client_type": "company", "client_id": 9, "responsible_user_id": C},
    ]
    results = run(cfg=config(OUT), leads=leads, clients=clients)
    table = results.retention.set_index("scope")
    # clients: contact 7 (3 purchases, gaps 10 and 20 days) and company 9 (1 purchase)
    assert table.loc["all", ["clients", "once_share", "repeat_share"]].tolist() == [2, 0.5, 0.5]
    assert table.loc["all", "median_days_between"] == 15  # median of 10 and 20
    assert table.loc[str(B), "repeat_share"] == 1.0 and table.loc[str(C), "once_share"] == 1.0


def test_retention_window_and_owner_fallback() -> None:
    leads = [
        won(1, A, "2026-03-01 10:00", "2026-04-01 10:00", contact=7),  # before the window
        won(2, A, "2026-06-01 10:00", "2026-07-01 10:00", contact=7),
        lost(3, A, "2026-06-01 10:00", "2026-07-05 10:00", contact=7),  # not a purchase
    ]
    results = run(cfg=config(OUT), leads=leads)  # no clients frame: owner = last seller A
    table = results.retention.set_index("scope")
    assert table.loc["all", ["clients", "once_share"]].tolist() == [1, 1.0]
    assert math.isnan(table.loc["all", "median_days_between"])
    assert table.loc[str(A), "clients"] == 1


def test_the_matrix_counts_sellers_only() -> None:
    """A lead generator closing a lead as lost disqualified it; that is no lost sale."""
    cfg = config(OUT)
    sales = cfg.departments[0].model_copy(update={"id": "sales"})
    leadgen = cfg.departments[0].model_copy(update={"id": "leadgen"})
    cfg = cfg.model_copy(update={"departments": [sales, leadgen]})
    people = [row | {"department": "sales"} for row in roster(A)]
    people += [row | {"department": "leadgen"} for row in roster(B)]
    leads = [
        won(1, A, "2026-07-01 10:00", "2026-07-10 10:00"),
        lost(2, A, "2026-07-01 10:00", "2026-07-10 10:00"),
        lost(3, B, "2026-07-01 10:00", "2026-07-02 10:00"),  # disqualified by lead generation
        lost(4, B, "2026-07-01 10:00", "2026-07-02 10:00"),
    ]
    results = run(cfg=cfg, roster=people, leads=leads)
    assert results.matrix[["won", "lost", "n"]].values.tolist() == [[1, 1, 2]]
    assert results.matrix_by_manager["manager_id"].tolist() == [A]
    everyone = cfg.model_copy(
        update={
            "analytics": cfg.analytics.model_copy(
                update={"seller_departments": ["sales", "leadgen"]}
            )
        }
    )
    results = run(cfg=everyone, roster=people, leads=leads)
    assert results.matrix[["won", "lost", "n"]].values.tolist() == [[1, 3, 4]]


def _sales_and_leadgen() -> tuple:
    cfg = config(OUT)
    sales = cfg.departments[0].model_copy(update={"id": "sales"})
    leadgen = cfg.departments[0].model_copy(update={"id": "leadgen"})
    cfg = cfg.model_copy(update={"departments": [sales, leadgen]})
    people = [row | {"department": "sales"} for row in roster(A, C)]
    people += [row | {"department": "leadgen"} for row in roster(B)]
    return cfg, people


def test_retention_counts_sellers_purchases_only() -> None:
    """Клиенты counts the sales of `analytics.seller_departments`, as the Матрица does."""
    cfg, people = _sales_and_leadgen()
    leads = [
        won(1, A, "2026-06-01 10:00", "2026-07-01 10:00", contact=7),
        won(2, A, "2026-06-01 10:00", "2026-07-21 10:00", contact=7),  # 20 days later
        won(3, B, "2026-06-01 10:00", "2026-08-01 10:00", contact=7),  # lead generator's win
        won(4, B, "2026-06-01 10:00", "2026-08-01 10:00", contact=8),  # only a leadgen win
        # C sold it on 1 Sep, then handed it to lead generator B: still C's sale
        won(5, B, "2026-06-01 10:00", "2026-09-01 10:00", contact=9),
    ]
    changes = [handover(5, "2026-09-05 10:00", C, B)]
    clients = [
        {"client_type": "contact", "client_id": 7, "responsible_user_id": A},
        {"client_type": "contact", "client_id": 9, "responsible_user_id": B},  # not a seller
    ]
    results = run(cfg=cfg, roster=people, leads=leads, clients=clients, responsible_changes=changes)
    table = results.retention.set_index("scope")
    # contact 7: leads 1 and 2 (lead 3 was B's); contact 8: none; contact 9: lead 5 (C's)
    assert table.loc["all", ["clients", "once_share", "repeat_share"]].tolist() == [2, 0.5, 0.5]
    assert table.loc["all", "median_days_between"] == 20  # lead 3's gap of 11 days is not one
    # contact 9's responsible user is lead generator B: its account manager is its seller, C
    assert sorted(table.index) == [str(A), str(C), "all"]
    assert table.loc[str(C), "clients"] == 1
    everyone = cfg.model_copy(
        update={
            "analytics": cfg.analytics.model_copy(
                update={"seller_departments": ["sales", "leadgen"]}
            )
        }
    )
    table = run(
        cfg=everyone, roster=people, leads=leads, clients=clients, responsible_changes=changes
    ).retention.set_index("scope")
    assert table.loc["all", "clients"] == 3  # contacts 7, 8 and 9
    assert table.loc[str(B), "clients"] == 2  # 8 (B sold it) and 9 (B is responsible)

"""Month close tabs (SPEC §12): `Ведомость YYYY-MM` (what each manager is paid and how),
`Расхождения` (approved numbers against the same period computed now) and the
`Пересчёт YYYY-MM` preview."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.close import Closing, Statement
from sheets_kpi.kpi.engine import PeriodFigures
from sheets_kpi.locale import label
from sheets_kpi.sheets.layout import TabLayout
from sheets_kpi.tabs.columns import (
    BY_UNIT,
    PERCENT,
    RUB,
    SCORE,
    Column,
    Grid,
    Table,
    cell_value,
    with_money,
)

MULTIPLIER = "0.000"


def statement_tab(shown: Statement, config: Config, status: str | None = None) -> TabLayout:
    """A line per manager, department by department: score, rank, multiplier, base, prize,
    adjustment, bonus, status, who approved it and when, and the bonus in words."""
    loc = config.locale
    status = status or ("approved" if shown.status == "approved" else "draft")
    grid = Grid()
    note = label(
        loc,
        "statement_note",
        period=shown.period.label,
        status=label(loc, f"status.{status}"),
        hint=label(loc, f"hint.{status}"),
    )
    grid.add([note])
    table = Table(
        [
            Column(label(loc, "department")),
            Column(label(loc, "manager")),
            Column(label(loc, "score"), SCORE),
            Column(label(loc, "rank")),
            Column(label(loc, "multiplier"), MULTIPLIER),
            Column(label(loc, "base"), RUB),
            Column(label(loc, "prize"), RUB),
            Column(label(loc, "adjustment"), RUB),
            Column(label(loc, "bonus"), RUB),
            Column(label(loc, "status")),
            Column(label(loc, "approved_by")),
            Column(label(loc, "approved_at")),
            Column(label(loc, "in_words"), money=True),
        ],
        [],
        bold_header=True,
    )
    for dept in config.departments:
        lines = shown.rows[shown.rows["department"] == dept.id]
        for line in lines.itertuples():
            line_status = status if status == "recompute" else _word(line.department_status)
            table.rows.append(
                [
                    dept.title_in(loc),
                    line.manager,
                    cell_value(line.score),
                    cell_value(line.rank),
                    cell_value(line.multiplier),
                    cell_value(line.base),
                    cell_value(line.prize),
                    cell_value(line.adjustment),
                    cell_value(line.bonus),
                    label(loc, f"status.{line_status}"),
                    line.approved_by or None,
                    line.approved_at or None,
                    bonus_words(line, config),
                ]
            )
    grid.table(with_money(table, config.privacy.money_in_shared_tabs))
    key = "tab.recompute" if status == "recompute" else "tab.statement"
    return grid.layout(label(loc, key, period=shown.period.label), frozen_rows=2)


def _word(department_status: str) -> str:
    return "approved" if department_status == "approved" else "draft"


def bonus_words(line: Any, config: Config) -> str:
    """ "50 000 × 0.921 + приз 15 000", "балл 0.670 ниже порога 0.70", with adjustments."""
    loc = config.locale
    gate = config.department(line.department).bonus.gate
    if pd.isna(line.score):
        words = label(loc, "words.no_score")
    elif line.score < gate:
        words = label(loc, "words.below_gate", score=f"{line.score:.3f}", gate=f"{gate:.2f}")
    else:
        words = f"{rub(line.base)} × {line.multiplier:.3f}"
        if line.prize:
            words += " + " + label(loc, "words.prize", amount=rub(line.prize))
    if line.adjustment > 0:
        words += " + " + label(loc, "words.extra", amount=rub(line.adjustment))
    elif line.adjustment < 0:
        words += " − " + label(loc, "words.hold", amount=rub(-line.adjustment))
    words += f" = {rub(line.bonus)}"
    if line.carried < 0:
        words += "; " + label(loc, "words.carried", amount=rub(-line.carried))
    return words


def rub(amount: float) -> str:
    return f"{amount:,.0f}".replace(",", " ")


def discrepancies_tab(closing: Closing, config: Config) -> TabLayout:
    """A row per moved KPI, rank and bonus of an approved period, with the deals behind it."""
    loc = config.locale
    base_url = config.amocrm.base_url
    found = closing.discrepancies
    grid = Grid()
    if found.empty:
        grid.add([label(loc, "no_discrepancies")])
    else:
        grid.add([])
    table = Table(
        [
            Column(label(loc, "period")),
            Column(label(loc, "department")),
            Column(label(loc, "manager")),
            Column(label(loc, "kpi")),
            Column(label(loc, "approved_value"), BY_UNIT),
            Column(label(loc, "value_now"), BY_UNIT),
            Column(label(loc, "bonus_difference"), RUB),
            Column(label(loc, "proposal"), money=True),
            Column(label(loc, "status")),
            Column(label(loc, "leads"), money=True),
            Column(label(loc, "first_seen")),
        ],
        [],
        units=list(found["unit"]),
        bold_header=True,
    )
    for row in found.itertuples():
        dept = config.department(row.department)
        difference = row.bonus_difference if row.field == "bonus" else None
        table.rows.append(
            [
                row.period,
                dept.title_in(loc),
                row.manager,
                _what(row, loc),
                cell_value(row.approved),
                cell_value(row.now),
                cell_value(difference),
                _proposal(difference, loc),
                label(loc, f"decision.{row.status}") if row.field == "bonus" else None,
                "\n".join(_lead_text(lead, base_url, loc) for lead in row.leads) or None,
                row.first_seen,
            ]
        )
    grid.table(with_money(table, config.privacy.money_in_shared_tabs))
    return grid.layout(label(loc, "tab.discrepancies"), frozen_rows=2)


def _what(row: Any, loc: str) -> str:
    if row.field == "plan":
        return label(loc, "field.plan", kpi=row.kpi_title)
    if row.field in ("rank", "bonus"):
        return label(loc, f"field.{row.field}")
    return str(row.kpi_title)


def _proposal(difference: float | None, loc: str) -> str | None:
    if difference is None or pd.isna(difference) or difference == 0:
        return None
    key = "words.extra" if difference > 0 else "words.hold"
    return label(loc, key, amount=f"{rub(abs(difference))} ₽")


def _lead_text(lead: dict, base_url: str, loc: str) -> str:
    change = lead["change"]
    values = {
        "before": rub(lead.get("price_before", 0)),
        "now": rub(lead.get("price_now", 0)),
        "to": lead.get("to", ""),
        "amount": rub(lead.get("price", 0)),
    }
    name = f" {lead['name']}" if lead.get("name") else ""
    what = label(loc, f"change.{change}", **values)
    return f"#{lead['lead_id']}{name}: {what} — {base_url}/leads/detail/{lead['lead_id']}"


def recompute_tab(shown: Statement, figures: PeriodFigures, config: Config) -> TabLayout:
    """`run --period`: the statement as computed now and every manager's KPI rows below it."""
    layout = statement_tab(shown, config, status="recompute")
    loc = config.locale
    grid = Grid(rows=layout.rows, formats=layout.formats, achievement=layout.achievement)
    grid.add([])
    kpi = figures.kpi
    grid.table(
        with_money(
            Table(
                [
                    Column(label(loc, "manager")),
                    Column(label(loc, "kpi")),
                    Column(label(loc, "plan"), BY_UNIT),
                    Column(label(loc, "fact"), BY_UNIT),
                    Column(label(loc, "achievement"), PERCENT, achievement=True),
                    Column(label(loc, "contribution"), "0.00"),
                ],
                [
                    [
                        item.manager,
                        item.kpi_title,
                        cell_value(item.plan),
                        cell_value(item.fact),
                        cell_value(item.achievement),
                        cell_value(item.contribution),
                    ]
                    for item in kpi.itertuples()
                ],
                units=list(kpi["unit"]),
                bold_header=True,
            ),
            config.privacy.money_in_shared_tabs,
        )
    )
    return grid.layout(layout.title, frozen_rows=2)

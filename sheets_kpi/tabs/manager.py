"""A manager's own tab (SPEC §8.1): headline, KPI table, weekly dynamics, open violations and
overdue tasks with their amoCRM links."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.close import Closing
from sheets_kpi.kpi.engine import Results
from sheets_kpi.locale import label, rule_label
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
from sheets_kpi.tabs.department import week_table
from sheets_kpi.tabs.statement import bonus_words

#: Overdue tasks listed on the tab; the rest are in amoCRM.
OVERDUE_SHOWN = 20
#: Characters of a task's text shown; amoCRM keeps the whole of it.
TASK_TEXT_SHOWN = 100
#: Places above and below the manager's own in the block of neighbours.
NEIGHBOURS = 2
OBJECT = np.dtype(object)


class ManagerRows:
    """The rows of every frame a manager tab shows, split by manager in one pass over each
    frame (the first time a tab asks): a tab per manager then takes its own rows instead of
    filtering each frame again, as named tuples rather than a small frame each (200 tabs
    would build hundreds of frames). When `serve` builds only a few tabs again (`KeptTabs`),
    only their managers' rows are split (`only`)."""

    def __init__(self, results: Results, closing: Closing) -> None:
        self._results, self._closing = results, closing
        self._frames = {
            "kpi": results.kpi,
            "weekly": results.weekly,
            "violations": results.open_violations,
            "overdue": results.overdue_tasks,
            "current": closing.current.rows,
            **{f"past {i}": shown.rows for i, shown in enumerate(closing.statements)},
        }
        self._totals: dict[tuple[str, str], dict[int, Any]] = {}
        self._tuples: dict[str, dict[int, list[Any]]] = {}
        self._keys = ["managers", *self._frames]
        self._digests: dict[str, dict[int, tuple[tuple[Any, ...], bytes]]] = {}
        self._only: frozenset[int] | None = None

    def only(self, manager_ids: Iterable[int]) -> None:
        """Split the frames for these managers alone from now on."""
        self._only, self._tuples = frozenset(int(m) for m in manager_ids), {}

    def total(self, key: str, column: str, manager_id: int) -> Any:
        """The sum of `column` over `key`'s rows of the manager (0 without any), each manager's
        part summed as a column of its own would be."""
        if (key, column) not in self._totals:
            frame = self._frames[key]
            parts = frame[column].groupby(frame["manager_id"], sort=False)
            self._totals[key, column] = {int(k): part.sum() for k, part in parts}
        return self._totals[key, column].get(int(manager_id), 0)

    def tuples(self, key: str, manager_id: int) -> list[Any]:
        """`key`'s rows of the manager, in the frame's order, as named tuples of one type per
        frame (not one per tab)."""
        if key not in self._tuples:
            frame = self._frames[key]
            mine = frame["manager_id"].notna()
            if self._only is not None:
                mine &= frame["manager_id"].isin(self._only)
            # A text column (pandas' string dtype) iterates cell by cell through its array; as
            # an object column it gives the same str (NaN when missing) many times faster.
            text = {
                name: object
                for name, kind in frame.dtypes.items()
                if isinstance(kind, pd.StringDtype)
            }
            split: dict[int, list[Any]] = {}
            for item in frame[mine.to_numpy()].astype(text).itertuples(index=False):
                split.setdefault(int(item.manager_id), []).append(item)
            self._tuples[key] = split
        return self._tuples[key].get(int(manager_id), [])

    def view(self, manager: Any, title: str, personal: bool = False) -> ManagerView:
        """What `manager`'s tab shows."""
        own = manager.manager_id
        past = []
        for number, shown in enumerate(self._closing.statements[:-1]):
            line = self.tuples(f"past {number}", own)
            past.append((shown.period.label, line[0] if line else None))
        return ManagerView(
            manager=manager,
            title=title,
            personal=personal,
            period=self._results.period.label,
            today=self._results.period.today,
            past=tuple(past),
            adjustment=float(self.total("current", "adjustment", own)),
            kpis=self.tuples("kpi", own),
            weekly=self.tuples("weekly", own),
            violations=self.tuples("violations", own),
            overdue=self.tuples("overdue", own)[:OVERDUE_SHOWN],
            neighbours=neighbour_places(self._results.managers, manager) if personal else [],
        )

    def key(self, manager: Any, title: str, personal: bool = False) -> tuple[Any, ...]:
        """What `view` is made of, as values that compare exactly: every row by `row_hashes`."""
        managers = self._results.managers
        frames = tuple(
            (key, *self._digests_of(key).get(manager.manager_id, ())) for key in self._keys
        )
        places = neighbour_places(managers, manager) if personal else []
        return (
            title,
            personal,
            self._results.period.label,
            self._results.period.today,
            tuple(shown.period.label for shown in self._closing.statements),
            repr(places),  # repr: a NaN score is equal to itself
            frames,
        )

    def _digests_of(self, key: str) -> dict[int, tuple[tuple[Any, ...], bytes]]:
        """Each manager's rows of `key` (`managers`: of `results.managers`) as the kinds of its
        frame's columns and the rows' hashes."""
        if key not in self._digests:
            frame = self._results.managers if key == "managers" else self._frames[key]
            hashes, by_repr = row_hashes(frame)
            kinds = (tuple(frame.dtypes.items()), by_repr)
            known = frame["manager_id"].notna().to_numpy()
            ids = frame["manager_id"][known].to_numpy(dtype="int64")
            order = np.argsort(ids, kind="stable")  # each manager's rows in the frame's order
            ids, hashes = ids[order], hashes[known][order]
            edges = np.flatnonzero(np.diff(ids)) + 1
            parts = zip(np.split(ids, edges), np.split(hashes, edges), strict=True)
            self._digests[key] = {int(i[0]): (kinds, h.tobytes()) for i, h in parts if len(i)}
        return self._digests[key]


def row_hashes(frame: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]]:
    """A 64-bit hash of each row's cells, and the columns hashed by repr. pandas hashes an
    object cell by its text, so in an object column of anything but text the text is the cell's
    repr: 1, 1.0, True, "1" and None differ as they do on the tab (and, as the columns hashed so
    are named, a "1" of a text column differs from a 1 hashed by repr)."""
    shown = {
        name: frame[name].map(repr)
        for name, kind in frame.dtypes.items()
        if kind == OBJECT and pd.api.types.infer_dtype(frame[name], skipna=False) != "string"
    }
    hashes = pd.util.hash_pandas_object(frame.assign(**shown), index=False).to_numpy()
    return hashes, tuple(shown)


@dataclass(frozen=True)
class ManagerView:
    """What a manager tab shows, taken out of the results and the month close: the tab is made
    of its view and the config alone (`tab_of`), so `serve` keeps a tab whose view is the same
    as last cycle's (`KeptTabs`)."""

    manager: Any  # the manager's row of `results.managers`
    title: str
    personal: bool  # in the manager's own spreadsheet
    period: str  # the current month's label
    today: pd.Timestamp
    #: Each ended month of the statements, the last one first: its label and the manager's
    #: line of it (None: not on it).
    past: tuple[tuple[str, Any], ...]
    adjustment: float  # the current month's adjustments to the manager's bonus
    kpis: list[Any]
    weekly: list[Any]
    violations: list[Any]
    overdue: list[Any]
    neighbours: list[Any]  # only in the manager's own spreadsheet


def manager_tab(
    results: Results,
    manager: Any,
    title: str,
    config: Config,
    closing: Closing,
    personal: bool = False,
) -> TabLayout:
    """The tab of `manager` (`ManagerRows.view`, then `tab_of`)."""
    return tab_of(ManagerRows(results, closing).view(manager, title, personal), config)


def tab_of(view: ManagerView, config: Config) -> TabLayout:
    """The last statement and a strip of past months above the current month.

    In the manager's `personal` spreadsheet, only they see it: their money whatever
    `privacy.money_in_shared_tabs` says, and their place among the ±2 around them. In the main
    spreadsheet everyone sees every tab, so it is a shared tab."""
    loc = config.locale
    manager = view.manager
    money = view.personal or config.privacy.money_in_shared_tabs
    dept = config.department(manager.department)
    rank = (
        label(loc, "rank_of", rank=int(manager.rank), count=int(manager.ranked_count))
        if not pd.isna(manager.rank)
        else label(loc, "unranked")
    )
    grid = Grid()
    grid.fields(
        [
            (label(loc, "manager"), manager.manager, ""),
            (label(loc, "department"), dept.title_in(loc), ""),
        ]
    )
    grid.add([], [label(loc, "past_title")])
    grid.table(with_money(past_table(view.past, config), money))
    grid.add([])
    adjustment = view.adjustment
    grid.fields(
        [
            (label(loc, "period"), view.period, ""),
            (label(loc, "score"), cell_value(manager.score), SCORE),
            (label(loc, "rank"), rank, ""),
        ]
        + (
            [
                (label(loc, "bonus_now"), cell_value(manager.bonus), RUB),
                (label(loc, "bonus_at_pace"), cell_value(manager.bonus_at_pace), RUB),
            ]
            if money
            else []
        )
        + ([(label(loc, "adjustment_now"), adjustment, RUB)] if adjustment and money else [])
    )
    if view.personal:
        grid.add([], [label(loc, "neighbours_title")])
        grid.table(neighbours_table(view.neighbours, loc))
    grid.add([])
    kpis = view.kpis
    grid.table(
        with_money(
            Table(
                [
                    Column(label(loc, "kpi")),
                    Column(label(loc, "plan"), BY_UNIT),
                    Column(label(loc, "fact"), BY_UNIT),
                    Column(label(loc, "achievement"), PERCENT, achievement=True),
                    Column(label(loc, "weight")),
                    Column(label(loc, "contribution"), "0.00"),
                    Column(label(loc, "still_needed")),
                    Column(label(loc, "forecast"), BY_UNIT),
                ],
                [
                    [
                        item.kpi_title,
                        cell_value(item.plan),
                        cell_value(item.fact),
                        cell_value(item.achievement),
                        item.weight,
                        cell_value(item.contribution),
                        needed_text(item.unit, item.still_needed, loc, item.plan_to_date)
                        if money or item.unit != "rub"
                        else "",
                        cell_value(item.forecast_fact),
                    ]
                    for item in kpis
                ],
                units=[item.unit for item in kpis],
                bold_header=True,
            ),
            money,
        )
    )
    grid.add([], [label(loc, "weeks_title")])
    weekly = [(w.week_start, w.kpi, w.fact) for w in view.weekly]
    titles = {item.kpi: item.kpi_title for item in kpis}
    units = {item.kpi: item.unit for item in kpis}
    weeks = week_table(weekly, list(titles), titles, units, loc, view.today)
    grid.table(with_money(weeks, money))
    base = config.amocrm.base_url
    grid.add([], [label(loc, "violations_title")])
    grid.table(
        Table(
            [Column(label(loc, key)) for key in ("lead", "rule", "since", "link")],
            [
                [
                    cell_value(v.lead_name) or str(v.lead_id),
                    rule_label(loc, v.rule),
                    cell_value(v.first_seen_at),
                    f"{base}/leads/detail/{v.lead_id}",
                ]
                for v in view.violations
            ],
        )
    )
    grid.add([], [label(loc, "overdue_title")])
    grid.table(
        Table(
            [Column(label(loc, key)) for key in ("task", "deadline", "link")],
            [
                [
                    task_text(task.text, task.task_id, loc),
                    cell_value(task.complete_till),
                    f"{base}/{task.entity_type}/detail/{task.entity_id}"
                    if not pd.isna(task.entity_id)
                    else "",
                ]
                for task in view.overdue
            ],
        )
    )
    return grid.layout(view.title, frozen_rows=1, gate=dept.bonus.gate)


def task_text(text: object, task_id: int, loc: str) -> str:
    """What the task says in amoCRM (its first line, at most 100 characters); a task without
    text by its number."""
    line = (
        str(text).strip().splitlines()[0].strip() if isinstance(text, str) and text.strip() else ""
    )
    if not line:
        return label(loc, "task_number", id=task_id)
    return line if len(line) <= TASK_TEXT_SHOWN else line[: TASK_TEXT_SHOWN - 1] + "…"


def past_table(past: tuple[tuple[str, Any], ...], config: Config) -> Table:
    """The ended months, the last one first: the statement block and the 6-month strip (an
    older month neither approved nor scored, e.g. before the plans began, is left out)."""
    loc = config.locale
    rows: list[list[Any]] = []
    for period, item in past:
        if item is None:
            continue
        status = "approved" if item.department_status == "approved" else "draft"
        if rows and status == "draft" and pd.isna(item.score):
            continue
        rows.append(
            [
                period,
                label(loc, f"status.{status}"),
                cell_value(item.score),
                cell_value(item.rank),
                cell_value(item.bonus),
                bonus_words(item, config),
            ]
        )
    return Table(
        [
            Column(label(loc, "period")),
            Column(label(loc, "status")),
            Column(label(loc, "score"), SCORE),
            Column(label(loc, "rank")),
            Column(label(loc, "bonus"), RUB),
            Column(label(loc, "in_words"), money=True),
        ],
        rows,
        bold_header=True,
    )


def neighbour_places(managers: pd.DataFrame, manager: Any) -> list[Any]:
    """Rank, manager and score of the places from two above to two below the manager's own in
    the department (no one's money); an unranked manager sees the last two places."""
    ranked = managers[
        (managers["department"] == manager.department) & managers["rank"].notna()
    ].reset_index(drop=True)
    own = ranked.index[ranked["manager_id"] == manager.manager_id]
    at = int(own[0]) if len(own) else len(ranked)
    around = ranked.iloc[max(0, at - NEIGHBOURS) : at + NEIGHBOURS + 1]
    return [(m.rank, m.manager, m.score) for m in around.itertuples()]


def neighbours_table(places: list[Any], loc: str) -> Table:
    return Table(
        [
            Column(label(loc, "rank")),
            Column(label(loc, "manager")),
            Column(label(loc, "score"), SCORE),
        ],
        [[cell_value(rank), name, cell_value(score)] for rank, name, score in places],
        bold_header=True,
    )


def needed_text(unit: str, needed: float, loc: str, to_date: float = np.nan) -> str:
    """ "ещё 4", "на 3.5 п.п. меньше", "выполнено": what is left to reach the plan, in words.

    With a plan to date (a lower-is-better count while the month runs): "1 сверх плана на
    сегодня (34)" or "в пределах плана на сегодня (34)", never "выполнено"."""
    if needed is None or np.isnan(needed):
        return ""
    if to_date is not None and not np.isnan(to_date):
        allowed = np.floor(to_date + 1e-9) if unit == "count" else to_date
        shown = _human(unit, float(allowed), loc)
        if needed == 0:
            return label(loc, "within_to_date", plan=shown)
        return label(loc, "over_to_date", value=_human(unit, abs(needed), loc), plan=shown)
    if needed == 0:
        return label(loc, "done")
    shown = _human(unit, abs(needed), loc)
    return label(loc, "more" if needed > 0 else "less", value=shown)


def _human(unit: str, value: float, loc: str) -> str:
    if unit == "rub":
        return f"{value:,.0f} ₽".replace(",", " ")
    if unit == "share":
        return label(loc, "points", value=f"{value * 100:.1f}")
    if unit in ("minutes", "score"):
        return f"{value:.1f}"
    return f"{value:g}"


class KeptTabs:
    """`serve` keeps each manager tab with what it was made of between cycles: a quiet cycle
    changes few of them (a callback's minutes, a rank), and building them all again is a large
    part of it. A tab is handed out again only when its view (`ManagerRows.key`) and the config
    are exactly what it was made of. Only the tabs of the last cycle are kept."""

    def __init__(self) -> None:
        self._config: Config | None = None
        self._tabs: dict[str, tuple[tuple[Any, ...], TabLayout]] = {}
        #: How many tabs the last `tabs` call handed out again instead of building.
        self.reused = 0

    def tabs(
        self, managers: list[tuple[Any, str, bool]], rows: ManagerRows, config: Config
    ) -> list[TabLayout]:
        """The tab of each (manager, title, personal) (`tab_of`), the kept one where it is made
        of the same; only the others' rows are split."""
        kept = self._tabs if self._config is config or self._config == config else {}
        keys = [rows.key(*manager) for manager in managers]
        found = [
            kept[title][1] if title in kept and kept[title][0] == key else None
            for (_, title, _), key in zip(managers, keys, strict=True)
        ]
        rows.only(m.manager_id for (m, _, _), t in zip(managers, found, strict=True) if t is None)
        out = [
            tab if tab is not None else tab_of(rows.view(*manager), config)
            for manager, tab in zip(managers, found, strict=True)
        ]
        self._config, self.reused = config, sum(tab is not None for tab in found)
        self._tabs = {
            title: (key, tab) for (_, title, _), key, tab in zip(managers, keys, out, strict=True)
        }
        return out

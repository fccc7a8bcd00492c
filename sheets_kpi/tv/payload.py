"""What the TV page shows, computed from the cycle's own `Results` and `Closing` (pure): every
text already in the locale and formatted, so the page only lays it out. Money and `tv.top`
follow the `ТВ` tab's rules (tabs/tv.py): no roubles unless `tv.show_money` and the shared tabs'
privacy both allow them, nobody's rank below the top N, the average over the whole department."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from sheets_kpi.config import Config, DepartmentConfig
from sheets_kpi.kpi.close import Closing
from sheets_kpi.kpi.engine import Results
from sheets_kpi.locale import Locale, label
from sheets_kpi.tabs.department import on_board
from sheets_kpi.tabs.statement import rub
from sheets_kpi.tabs.tv import MAX_COLUMNS, achievements, shows_money, winners_shown

#: Seconds each slide stays on the screen (the ad-hoc TV boards' usual 10–60 s).
SLIDE_SECONDS = 15
#: The headline KPIs, the heaviest first: as many as the TV tab has columns for after rank,
#: change, manager and score (and as many as a slide shows in large type).
HEADLINE = MAX_COLUMNS - 4
#: The page's fixed words, by the key the page reads them with (`tv.page.<key>` in the locale).
PAGE_WORDS = ("leaderboard", "progress", "wins_today", "no_wins_today", "new_win")


def tv_payload(results: Results, closing: Closing, config: Config, now: datetime) -> dict[str, Any]:
    """The page's data at the cycle's instant `now`: one entry per department with its
    leaderboard, KPI progress, last period's winners and today's ticker."""
    loc = config.locale
    words = {key: label(loc, f"tv.page.{key}") for key in PAGE_WORDS}
    keys = ("rank", "change", "manager", "score", *(("bonus",) if shows_money(config) else ()))
    columns = {key: label(loc, key) for key in keys}
    return {
        "locale": loc,
        "period": results.period.label,
        "as_of": label(loc, "tv.as_of", time=now.astimezone(config.zone).strftime("%H:%M")),
        "slide_seconds": SLIDE_SECONDS,
        "show_money": shows_money(config),
        "words": words | {"columns": columns},
        "departments": [_department(results, closing, dept, config) for dept in config.departments],
    }


def _department(
    results: Results, closing: Closing, dept: DepartmentConfig, config: Config
) -> dict[str, Any]:
    loc, money = config.locale, shows_money(config)
    everyone = results.managers[results.managers["department"] == dept.id]
    shown = on_board(everyone, config)
    achieved = achievements(results.kpi[results.kpi["department"] == dept.id])
    title = dept.title_in(loc)
    leaderboard = [
        {
            "rank": _whole(m.rank),
            "change": _change(m.rank_change),
            "manager": m.manager,
            "score": _score(m.score),
            "bar": _bar(m.score),
            **({"bonus": _rub(m.bonus)} if money else {}),
        }
        for m in shown.itertuples()
    ]
    average = {
        "manager": label(loc, "tv.average"),
        "score": _score(everyone["score"].mean()),
        "bar": _bar(everyone["score"].mean()),
        **({"bonus": _rub(everyone["bonus"].mean())} if money else {}),
    }
    return {
        "id": dept.id,
        "title": f"{title} · {results.period.label}",
        "leaderboard": leaderboard,
        "average": average,
        "progress": _progress(achieved.reindex(everyone["manager_id"]), shown, dept, loc),
        "winners": _winners(closing, dept, config),
        "wins_today": _wins_today(results, everyone, title, loc, money),
        "rank_changes": _rank_changes(shown, loc),
    }


def _progress(
    achieved: pd.DataFrame, shown: pd.DataFrame, dept: DepartmentConfig, loc: Locale
) -> list[dict[str, Any]]:
    """Each headline KPI: the department average of achievement and its leader among those
    the board lists."""
    names = dict(zip(shown["manager_id"], shown["manager"], strict=True))
    rows = []
    for kpi in sorted(dept.kpis, key=lambda k: -k.weight)[:HEADLINE]:
        column = achieved[kpi.id].dropna() if kpi.id in achieved else pd.Series(dtype=float)
        mean = column.mean() if len(column) else None
        rows.append(
            {
                "kpi": kpi.title_in(loc),
                "percent": _percent(mean),
                "bar": _bar(mean),
                "best": _best(column[column.index.isin(names)], names, loc),
            }
        )
    return rows


def _best(achieved: pd.Series, names: dict[Any, str], loc: Locale) -> str:
    if achieved.empty:
        return ""
    return label(
        loc, "tv.page.best", manager=names[achieved.idxmax()], percent=_percent(achieved.max())
    )


def _winners(closing: Closing, dept: DepartmentConfig, config: Config) -> dict[str, Any]:
    loc, money = config.locale, shows_money(config)
    last = closing.last
    rows = last.rows[
        (last.rows["department"] == dept.id) & (last.rows["rank"] <= winners_shown(config))
    ]
    return {
        "title": label(loc, "tv.winners", period=last.period.label),
        "rows": [
            {
                "rank": _whole(w.rank),
                "manager": w.manager,
                "score": _score(w.score),
                **({"bonus": _rub(w.bonus)} if money else {}),
            }
            for w in rows.sort_values(["rank", "manager"]).itertuples()
        ],
    }


def _wins_today(
    results: Results, everyone: pd.DataFrame, title: str, loc: Locale, money: bool
) -> list[dict[str, Any]]:
    """Deals the department's managers won today, the latest first; a lead counted by several
    win metrics is one win. `id` is the lead's, so the page knows a win it has not seen."""
    names = dict(zip(everyone["manager_id"], everyone["manager"], strict=True))
    wins = results.wins
    today = wins[(wins["date"] == results.period.today) & wins["manager_id"].isin(names)]
    today = today.sort_values(["won_at", "lead_id"], ascending=False).drop_duplicates("lead_id")
    return [
        {
            "id": _whole(w.lead_id),
            "manager": names[w.manager_id],
            "lead": str(w.lead_name),
            "department": title,
            "text": label(loc, "tv.page.win", manager=names[w.manager_id], lead=w.lead_name),
            **({"price": _rub(w.price)} if money else {}),
        }
        for w in today.itertuples()
    ]


def _rank_changes(shown: pd.DataFrame, loc: Locale) -> list[dict[str, Any]]:
    """Who moved against the same point of last month, the biggest move first."""
    moved = shown[shown["rank_change"].notna() & (shown["rank_change"] != 0)]
    moved = moved.assign(size=moved["rank_change"].abs()).sort_values(
        ["size", "manager"], ascending=[False, True]
    )
    return [
        {
            "change": _change(m.rank_change),
            "text": label(
                loc,
                "tv.page.moved",
                manager=m.manager,
                rank=_whole(m.rank),
                before=_whole(m.previous_rank),
            ),
        }
        for m in moved.itertuples()
    ]


def _whole(number: Any) -> str:
    """A rank or an id as text; '—' for none (an unranked manager)."""
    return "—" if pd.isna(number) else str(int(number))


def _change(change: Any) -> str:
    """'▲2' up two places, '▼1' down one, '—' same place, '' nothing to compare with."""
    if pd.isna(change):
        return ""
    if change == 0:
        return "—"
    return f"▲{int(change)}" if change > 0 else f"▼{-int(change)}"


def _score(score: Any) -> str:
    """Three decimals as the tabs have it: 0.698 under a 0.7 gate never reads 0.70."""
    return "—" if pd.isna(score) else f"{float(score):.3f}"


def _percent(achievement: Any) -> str:
    return (
        "—" if achievement is None or pd.isna(achievement) else f"{float(achievement) * 100:.0f} %"
    )


def _bar(share: Any) -> float:
    """A bar's filled share, 0 to 1 (full at 100 % of the plan)."""
    if share is None or pd.isna(share):
        return 0.0
    return round(min(1.0, max(0.0, float(share))), 4)


def _rub(amount: Any) -> str:
    return f"{rub(0.0 if pd.isna(amount) else float(amount))} ₽"

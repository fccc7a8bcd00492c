"""Small hand-checkable worlds for KPI tests."""

from __future__ import annotations

import pandas as pd

from sheets_kpi.config import Config
from sheets_kpi.kpi.engine import Results, compute
from sheets_kpi.kpi.inputs import Inputs

A, B, C = 1, 2, 3
SALES, UPSELL = 10, 20
NEW, QUALIFIED, PROPOSAL, WON, LOST = 100, 101, 102, 142, 143
UPSELL_TALK = 200

ALL_METRICS = {
    "handoffs": "stage_reached(handoff)",
    "proposals": "stage_reached(proposal)",
    "sales_rub": "won_amount",
    "upsell_rub": "won_amount(upsell)",
    "won": "won_count",
    "missed": "calls_missed_share",
    "callback": "callback_minutes",
    "outgoing": "calls_outgoing",
    "overdue": "tasks_overdue",
    "overdue_share": "tasks_overdue_share",
    "completed": "tasks_completed",
    "deal_violations": "deal_violations",
    "clean": "deals_correct_share",
    "quality": "score_avg(call_quality)",
    "nps": "nps",
    "control": "violations(control)",
    "appeals": "appeals_lost",
}


def config(
    kpis: dict[str, str] | None = None,
    timezone: str = "Europe/Moscow",
    bonus: dict | None = None,
    cap: float = 1.5,
    directions: dict | None = None,
    weights: dict | None = None,
    stages: dict | None = None,
    callback_window_hours: float = 24,
    locale: str = "ru",
) -> Config:
    kpis = kpis or ALL_METRICS
    return Config.model_validate(
        {
            "timezone": timezone,
            "locale": locale,
            "amocrm": {
                "base_url": "http://x",
                "auth": {"long_lived_token": "t"},
                "stages": stages or {"handoff": ["Квалифицирован"], "proposal": ["КП отправлено"]},
                "callback_window_hours": callback_window_hours,
                "upsell": {"pipelines": ["Допродажи"]},
            },
            "google": {"spreadsheet": "s"},
            "departments": [
                {
                    "id": "team",
                    "cap": cap,
                    "bonus": bonus or {"base": 10000},
                    "kpis": [
                        {
                            "id": kpi,
                            "metric": metric,
                            "direction": (directions or {}).get(kpi, "higher"),
                            "weight": (weights or {}).get(kpi, 1),
                        }
                        for kpi, metric in kpis.items()
                    ],
                }
            ],
            "rules": {
                "no_next_task": True,
                "required_fields": {"КП отправлено": ["Источник"]},
                "stale_stage_days": 14,
                "zero_price_after": ["КП отправлено"],
            },
        }
    )


STATUSES = [
    {
        "pipeline_id": SALES,
        "pipeline_name": "Продажи",
        "status_id": s,
        "status_name": n,
        "sort": i * 10,
    }
    for i, (s, n) in enumerate(
        [
            (NEW, "Первичный контакт"),
            (QUALIFIED, "Квалифицирован"),
            (PROPOSAL, "КП отправлено"),
            (WON, "Успешно"),
            (LOST, "Закрыто"),
        ]
    )
] + [
    {
        "pipeline_id": UPSELL,
        "pipeline_name": "Допродажи",
        "status_id": s,
        "status_name": n,
        "sort": i * 10,
    }
    for i, (s, n) in enumerate([(UPSELL_TALK, "Обсуждение"), (WON, "Успешно"), (LOST, "Закрыто")])
]


def roster(*ids: int, seniority: str = "senior", bonus_base: float = float("nan")) -> list[dict]:
    names = {A: "Анна", B: "Борис", C: "Вера"}
    return [
        {
            "manager_id": i,
            "name": names.get(i, f"M{i}"),
            "department": "team",
            "seniority": seniority,
            "active": True,
            "bonus_base": bonus_base,
        }
        for i in ids
    ]


def ts(text: str) -> pd.Timestamp:
    """A UTC instant from 'YYYY-MM-DD HH:MM' (UTC)."""
    return pd.Timestamp(text, tz="UTC")


def lead(
    lead_id: int,
    responsible: int,
    status: int = NEW,
    pipeline: int = SALES,
    price: float = 0,
    created: str = "2026-10-01 09:00",
    closed: str | None = None,
    contact: int | None = None,
    company: int | None = None,
    fields: dict | None = None,
) -> dict:
    return {
        "lead_id": lead_id,
        "name": f"Сделка {lead_id}",
        "price": price,
        "responsible_user_id": responsible,
        "pipeline_id": pipeline,
        "status_id": status,
        "created_at": ts(created),
        "updated_at": ts(created),
        "closed_at": ts(closed) if closed else pd.NaT,
        "is_deleted": False,
        "contact_id": contact,
        "company_id": company,
        "custom_fields": fields if fields is not None else {"Источник": "Сайт"},
    }


def move(
    lead_id: int, status: int, at: str, by: int, pipeline: int = SALES, before: int | None = None
) -> dict:
    return {
        "event_id": f"e{lead_id}-{status}-{at}",
        "lead_id": lead_id,
        "created_at": ts(at),
        "created_by": by,
        "pipeline_id": pipeline,
        "status_id": status,
        "before_pipeline_id": pipeline,
        "before_status_id": before,
    }


def call(
    note_id: int,
    at: str,
    user: int,
    direction: str,
    phone: str = "9990001122",
    duration: int = 60,
    status: int | None = 4,
    contact: int | None = None,
) -> dict:
    return {
        "note_id": note_id,
        "created_at": ts(at),
        "direction": direction,
        "user_id": user,
        "entity_type": "contacts",
        "entity_id": contact or 1,
        "contact_id": contact,
        "phone": phone,
        "duration": duration,
        "call_status": status,
    }


def task(
    task_id: int,
    user: int,
    deadline: str,
    completed: str | None = None,
    done: bool | None = None,
    lead_id: int | None = None,
    text: str = "",
) -> dict:
    return {
        "task_id": task_id,
        "responsible_user_id": user,
        "entity_type": "leads",
        "entity_id": lead_id,
        "created_at": ts("2026-10-01 08:00"),
        "complete_till": ts(deadline),
        "is_completed": bool(completed) if done is None else done,
        "completed_at": ts(completed) if completed else pd.NaT,
        "text": text,
    }


def handover(lead_id: int, at: str, before: int, after: int) -> dict:
    return {
        "event_id": f"r{lead_id}-{at}",
        "lead_id": lead_id,
        "created_at": ts(at),
        "before_user_id": before,
        "after_user_id": after,
    }


def violation(lead_id: int, rule: str, first: str, resolved: str | None = None) -> dict:
    return {
        "lead_id": lead_id,
        "rule": rule,
        "first_seen_at": ts(first),
        "resolved_at": ts(resolved) if resolved else pd.NaT,
    }


def plans(
    values: dict[str, float], period: str = "2026-11", manager: int | None = None
) -> list[dict]:
    return [
        {"period": period, "manager_id": manager, "department": "team", "kpi": kpi, "plan": plan}
        for kpi, plan in values.items()
    ]


NOW = ts("2026-11-20 12:00")


def run(now: pd.Timestamp = NOW, cfg: Config | None = None, **frames) -> Results:
    frames.setdefault("statuses", STATUSES)
    frames.setdefault("roster", roster(A, B, C))
    return compute(Inputs.build(**frames), cfg or config(), now)


def daily(results: Results, manager: int, metric: str) -> dict[str, tuple[float, float]]:
    """{local date: (num, den)} of one manager's metric in the daily table."""
    rows = results.daily[
        (results.daily["manager_id"] == manager) & (results.daily["metric"] == metric)
    ]
    return {
        d.strftime("%Y-%m-%d"): (n, e)
        for d, n, e in zip(rows["date"], rows["num"], rows["den"], strict=True)
    }


def week(results: Results, manager: int | None, kpi: str, monday: str) -> float:
    """The weekly dynamics value (manager None: the department total)."""
    table = results.weekly
    mine = table["manager_id"].isna() if manager is None else table["manager_id"] == manager
    hit = table[mine & (table["kpi"] == kpi) & (table["week_start"] == pd.Timestamp(monday))]
    return float(hit["fact"].iloc[0])


def fact(results: Results, manager: int, kpi: str) -> float:
    row = results.kpi[(results.kpi["manager_id"] == manager) & (results.kpi["kpi"] == kpi)]
    return float(row["fact"].iloc[0])


def row(results: Results, manager: int, kpi: str) -> pd.Series:
    table = results.kpi
    return table[(table["manager_id"] == manager) & (table["kpi"] == kpi)].iloc[0]

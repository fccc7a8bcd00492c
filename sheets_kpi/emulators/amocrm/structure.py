"""The agency's fixed parts: account, departments and people, pipelines, fields (SPEC §1).

Names of departments, pipelines and stages are the ones config.yaml refers to.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from sheets_kpi.emulators.amocrm.mutations import LOST, WON
from sheets_kpi.emulators.amocrm.state import AmoState
from sheets_kpi.emulators.amocrm.workhours import DAY


def _words(text: str) -> list[str]:
    return text.split()


ACCOUNT_ID = 29085955
ADMIN = 1000
#: Leads, contacts, companies, tasks and notes count from here, as in a long-lived account.
FIRST_ENTITY_ID = 20_000_001
SALES_PIPELINE, UPSELL_PIPELINE = 5001, 5002
UNSORTED, FIRST_CONTACT, QUALIFIED, PROPOSAL, NEGOTIATION = 50011, 50012, 50013, 50014, 50015
UPSELL_NEW, UPSELL_TALK, UPSELL_INVOICE = 50021, 50022, 50023
SOURCE_FIELD, PHONE_FIELD, EMAIL_FIELD = 70001, 60001, 60002
#: Lead fields a web form or a manager fills in on some leads, one of each value shape amoCRM
#: sends: `numeric` as a string, `date` as epoch seconds, `text` and `url` as strings.
BUDGET_FIELD, CONTRACT_DATE_FIELD, CAMPAIGN_FIELD, PAGE_FIELD = 70002, 70003, 70004, 70005
POSITION_FIELD = 60003
LEADGEN, SALES, ACCOUNTS, QUALITY = 101, 102, 103, 104
DEPARTMENTS = [
    (LEADGEN, "Лидогенерация", 0.35),
    (SALES, "Продажи", 0.35),
    (ACCOUNTS, "Аккаунт-менеджмент", 0.20),
    (QUALITY, "Отдел качества", 0.10),
]
SOURCES = ["Сайт", "Входящий звонок", "Рекомендация", "Выставка", "Реклама"]
SERVICES = ["Контекстная реклама", "SEO-продвижение", "SMM", "Разработка сайта", "Таргет"]
LOSS_REASONS = ["Дорого", "Выбрали конкурента", "Нет бюджета", "Пропал клиент"]
FEMALE = _words("Анна Мария Елена Ольга Дарья Юлия Ксения Светлана Алина Вера Ирина Наталья")
MALE = _words("Иван Олег Павел Сергей Никита Артём Дмитрий Максим Егор Глеб Антон Роман")
LAST = _words(
    "Петров Смирнов Кузнецов Попов Соколов Лебедев Козлов Новиков Морозов Волков Зайцев "
    "Павлов Семёнов Голубев Виноградов Богданов Орлов Никитин Фёдоров Михайлов"
)
COMPANIES = _words(
    "Вектор Альфа-Строй Север ТехноПарк Горизонт Меридиан Орбита Сфера Капитал Прогресс "
    "Восход Лидер Гранит Импульс Атлант Феникс Ресурс Омега Диалог Палитра"
)


@dataclass
class Staff:
    """Who works where: user ids per group and the seniors; `names` are distinct full names."""

    names: list[str]
    by_group: dict[int, list[int]] = field(default_factory=dict)
    senior: set[int] = field(default_factory=set)


def people(rng: random.Random) -> list[str]:
    """Distinct full names, so a roster never has two managers with the same name."""
    names = [f"{first} {last}а" for first, last in itertools.product(FEMALE, LAST)]
    names += [f"{first} {last}" for first, last in itertools.product(MALE, LAST)]
    rng.shuffle(names)
    return names


def split(managers: int) -> list[int]:
    """Headcount per department: 35/35/20/10 %, at least one each from four people on."""
    if managers < 4:
        return [max(1, managers - 1), 1 if managers > 1 else 0, 0, 0]
    counts = [max(1, round(managers * share)) for _, _, share in DEPARTMENTS]
    while sum(counts) > managers:
        counts[counts.index(max(counts))] -= 1
    counts[0] += managers - sum(counts)
    return counts


def build(state: AmoState, rng: random.Random, now: int, managers: int) -> Staff:
    """Account, departments with their people, pipelines, fields and loss reasons."""
    staff = Staff(people(rng))
    state.account = {
        "id": ACCOUNT_ID,
        "name": "Агентство «Пример»",
        "subdomain": "example",
        "created_at": now - 900 * DAY,
        "created_by": ADMIN,
        "updated_at": now - 30 * DAY,
        "updated_by": ADMIN,
        "current_user_id": ADMIN,
        "country": "RU",
        "currency": "RUB",
        "currency_symbol": "₽",
        "customers_mode": "disabled",
        "is_unsorted_on": True,
        "is_loss_reason_enabled": True,
        "is_helpbot_enabled": False,
        "is_technical_account": False,
        "contact_name_display_order": 1,
    }
    state.groups = [{"id": 0, "name": "Отдел продаж", "uuid": None}] + [
        {"id": gid, "name": name, "uuid": None} for gid, name, _ in DEPARTMENTS
    ]
    state.users[ADMIN] = _user(ADMIN, "Администратор", None, True, "master")
    user_ids = itertools.count(ADMIN + 1)
    for (gid, _, _), count in zip(DEPARTMENTS, split(managers), strict=True):
        staff.by_group[gid] = []
        for index in range(count):
            uid = next(user_ids)
            senior = index % 3 != 1 and rng.random() > 0.2
            name = staff.names[uid % len(staff.names)]
            state.users[uid] = _user(uid, name, gid, False, "master" if senior else "newbie")
            staff.by_group[gid].append(uid)
            if senior:
                staff.senior.add(uid)
    state.pipelines = {
        SALES_PIPELINE: _pipeline(
            SALES_PIPELINE,
            "Продажи",
            [
                (UNSORTED, "Неразобранное", 1),
                (FIRST_CONTACT, "Первичный контакт", 0),
                (QUALIFIED, "Квалифицирован", 0),
                (PROPOSAL, "КП отправлено", 0),
                (NEGOTIATION, "Переговоры", 0),
            ],
        ),
        UPSELL_PIPELINE: _pipeline(
            UPSELL_PIPELINE,
            "Допродажи",
            [
                (UPSELL_NEW, "Новая заявка", 1),
                (UPSELL_TALK, "Обсуждение", 0),
                (UPSELL_INVOICE, "Счёт выставлен", 0),
            ],
        ),
    }
    for user in state.users.values():  # a manager sees every pipeline's incoming leads
        if not user["rights"]["is_admin"]:
            user["rights"]["status_rights"] = [
                {
                    "entity_type": "leads",
                    "pipeline_id": pid,
                    "status_id": unsorted,
                    "rights": {"view": "A", "edit": "A", "delete": "D"},
                }
                for pid, unsorted in ((SALES_PIPELINE, UNSORTED), (UPSELL_PIPELINE, UPSELL_NEW))
            ]
    enums = [{"id": 80000 + i, "value": v, "sort": 10 * i} for i, v in enumerate(SOURCES)]
    source = _field(SOURCE_FIELD, "Источник", None, "select", "leads", enums)
    source["required_statuses"] = [{"status_id": PROPOSAL, "pipeline_id": SALES_PIPELINE}]
    state.custom_fields = {
        "leads": [
            source,
            _field(BUDGET_FIELD, "Бюджет клиента", None, "numeric", "leads", []),
            _field(CONTRACT_DATE_FIELD, "Дата договора", None, "date", "leads", []),
            _field(CAMPAIGN_FIELD, "utm_campaign", None, "text", "leads", []),
            _field(PAGE_FIELD, "Страница заявки", None, "url", "leads", []),
        ],
        "contacts": [
            _field(PHONE_FIELD, "Телефон", "PHONE", "multitext", "contacts", []),
            _field(EMAIL_FIELD, "Email", "EMAIL", "multitext", "contacts", []),
            _field(POSITION_FIELD, "Должность", None, "text", "contacts", []),
        ],
        "companies": [_field(PHONE_FIELD, "Телефон", "PHONE", "multitext", "companies", [])],
    }
    state.loss_reasons = [
        {
            "id": 90001 + i,
            "name": name,
            "sort": 10 * i,
            "created_at": now - 900 * DAY,
            "updated_at": now - 900 * DAY,
        }
        for i, name in enumerate(LOSS_REASONS)
    ]
    return staff


def _field(fid: int, name: str, code: str | None, kind: str, entity: str, enums: list) -> dict:
    return {
        "id": fid,
        "name": name,
        "code": code,
        "sort": 10,
        "type": kind,
        "entity_type": entity,
        "is_predefined": code is not None,
        "is_deletable": code is None,
        "is_api_only": False,
        "enums": enums or None,
        "group_id": None,
        "required_statuses": None,
        "settings": None,
        "remind": None,
    }


def _user(uid: int, name: str, group: int | None, admin: bool, rank: str) -> dict:
    """A user as `/api/v4/users` lists them; the admin is in the default group, which amoCRM
    sends as `group_id: null`."""
    scope = "A" if admin else "G"
    entity = {"view": scope, "edit": scope, "add": "A", "delete": "A" if admin else "D"}
    return {
        "id": uid,
        "name": name,
        "email": f"user{uid}@example.com",
        "lang": "ru",
        "rank": rank,
        "rights": {
            "leads": {**entity, "export": "A" if admin else "D"},
            "contacts": {**entity, "export": "A" if admin else "D"},
            "companies": {**entity, "export": "A" if admin else "D"},
            "tasks": {"edit": scope, "delete": "A" if admin else "D"},
            "mail_access": True,
            "catalog_access": admin,
            "files_access": admin,
            "status_rights": None if admin else [],
            "catalog_rights": None,
            "custom_fields_rights": None,
            "oper_day_reports_view_access": admin,
            "oper_day_user_tracking": False,
            "is_admin": admin,
            "is_free": False,
            "is_active": True,
            "group_id": group,
            "role_id": None,
        },
    }


def _pipeline(pid: int, name: str, statuses: list[tuple[int, str, int]]) -> dict:
    rows = [*statuses, (WON, "Успешно реализовано", 0), (LOST, "Закрыто и не реализовано", 0)]
    colors = ["#c1c1c1", "#99ccff", "#ffff99", "#ffcc66", "#ff8f92", "#CCFF66", "#D5D8DB"]
    colors = colors[: len(statuses)] + colors[-2:]
    return {
        "id": pid,
        "name": name,
        "sort": 1 if pid == SALES_PIPELINE else 2,
        "is_main": pid == SALES_PIPELINE,
        "is_unsorted_on": True,
        "is_archive": False,
        "account_id": ACCOUNT_ID,
        "_embedded": {
            "statuses": [
                {
                    "id": sid,
                    "name": sname,
                    "sort": 10000 if sid == WON else 11000 if sid == LOST else 10 * (i + 1),
                    "is_editable": kind == 0 and sid not in (WON, LOST),
                    "pipeline_id": pid,
                    "color": colors[i],
                    "type": kind,
                    "account_id": ACCOUNT_ID,
                }
                for i, (sid, sname, kind) in enumerate(rows)
            ]
        },
    }

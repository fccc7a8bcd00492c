"""A believable, seeded agency for the amoCRM emulator (SPEC §1, §10).

Leadgen qualifies inbound leads and hands them to sales; sales send proposals, negotiate, win or
lose; account managers sell again to won clients in the «Допродажи» pipeline; quality reviews
calls. Calls have misses that are mostly called back, tasks sometimes go overdue, some deals miss
fields. Everything is driven by one `random.Random(seed)`, so a seed gives the same account.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sheets_kpi.emulators.amocrm.state import LOST, WON, AmoState

MSK = 3 * 3600
DAY = 86400
SALES_PIPELINE, UPSELL_PIPELINE = 5001, 5002
UNSORTED, FIRST_CONTACT, QUALIFIED, PROPOSAL, NEGOTIATION = 50011, 50012, 50013, 50014, 50015
UPSELL_NEW, UPSELL_TALK, UPSELL_INVOICE = 50021, 50022, 50023
SOURCE_FIELD = 70001
SOURCES = ["Сайт", "Звонок", "Рекомендация", "Выставка"]
DEPARTMENTS = [
    (101, "Лидогенерация", 0.35),
    (102, "Продажи", 0.35),
    (103, "Аккаунт-менеджмент", 0.20),
    (104, "Отдел качества", 0.10),
]
FIRST = [
    "Анна",
    "Иван",
    "Мария",
    "Олег",
    "Елена",
    "Павел",
    "Ольга",
    "Сергей",
    "Дарья",
    "Никита",
    "Юлия",
    "Артём",
    "Ксения",
    "Дмитрий",
    "Светлана",
    "Максим",
    "Алина",
    "Егор",
    "Вера",
    "Глеб",
]
LAST = [
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Соколов",
    "Лебедев",
    "Козлов",
    "Новиков",
    "Морозов",
    "Волков",
    "Зайцев",
    "Павлов",
    "Семёнов",
    "Голубев",
    "Виноградов",
    "Богданов",
]
COMPANIES = [
    "Вектор",
    "Альфа-Строй",
    "Север",
    "ТехноПарк",
    "Горизонт",
    "Меридиан",
    "Орбита",
    "Сфера",
    "Капитал",
    "Прогресс",
    "Восход",
    "Лидер",
]


def _feminine(first: str, last: str) -> str:
    female = first in {
        "Анна",
        "Мария",
        "Елена",
        "Ольга",
        "Дарья",
        "Юлия",
        "Ксения",
        "Светлана",
        "Алина",
        "Вера",
    }
    return f"{first} {last}{'а' if female else ''}"


@dataclass
class _World:
    rng: random.Random
    now: int
    state: AmoState
    staff: dict[int, list[int]] = field(default_factory=dict)
    clients: list[dict[str, Any]] = field(default_factory=list)
    won_clients: list[dict[str, Any]] = field(default_factory=list)


def generate_agency(
    managers: int = 12, months: int = 3, seed: int = 1, now: int | None = None
) -> AmoState:
    """An account with `managers` people over the last `months` months up to `now`."""
    import time

    now = int(time.time()) if now is None else now
    world = _World(random.Random(seed), now, AmoState({"now": now}))
    world.state.fixed_now = None
    world.state.clock_offset = 0
    _structure(world, managers)
    start = now - months * 30 * DAY
    day = start - (start + MSK) % DAY
    while day < now:
        if _weekday(day) < 5:
            _business_day(world, day)
        day += DAY
    return world.state


def _weekday(day_start: int) -> int:
    return ((day_start + MSK) // DAY + 3) % 7


def _structure(world: _World, managers: int) -> None:
    state, rng = world.state, world.rng
    state.account = {
        "id": 29085955,
        "name": "Агентство «Пример»",
        "subdomain": "example",
        "currency": "RUB",
        "current_user_id": 1000,
        "created_at": world.now - 900 * DAY,
    }
    state.groups = [{"id": 0, "name": "Отдел продаж", "uuid": None}] + [
        {"id": gid, "name": name, "uuid": None} for gid, name, _ in DEPARTMENTS
    ]
    counts = _split(managers)
    state.users[1000] = _user(1000, "Администратор", "admin@example.com", 0, True, "master")
    user_id = 1001
    for (gid, _, _), count in zip(DEPARTMENTS, counts, strict=True):
        world.staff[gid] = []
        for index in range(count):
            name = _feminine(rng.choice(FIRST), rng.choice(LAST))
            rank = "newbie" if index % 3 == 1 or rng.random() < 0.2 else "master"
            state.users[user_id] = _user(
                user_id, name, f"user{user_id}@example.com", gid, False, rank
            )
            world.staff[gid].append(user_id)
            user_id += 1
    state.pipelines = {
        SALES_PIPELINE: _pipeline(
            SALES_PIPELINE,
            "Продажи",
            True,
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
            False,
            [
                (UPSELL_NEW, "Новая заявка", 1),
                (UPSELL_TALK, "Обсуждение", 0),
                (UPSELL_INVOICE, "Счёт выставлен", 0),
            ],
        ),
    }
    state.custom_fields = {
        "leads": [
            {
                "id": SOURCE_FIELD,
                "name": "Источник",
                "code": None,
                "type": "select",
                "entity_type": "leads",
                "enums": [{"id": 80000 + i, "value": v, "sort": i} for i, v in enumerate(SOURCES)],
            }
        ]
    }


def _split(managers: int) -> list[int]:
    if managers < 4:
        return [max(1, managers - 1), 1 if managers > 1 else 0, 0, 0][:4]
    counts = [max(1, round(managers * share)) for _, _, share in DEPARTMENTS]
    counts[0] += managers - sum(counts)
    return counts


def _user(uid: int, name: str, email: str, group: int, admin: bool, rank: str) -> dict:
    return {
        "id": uid,
        "name": name,
        "email": email,
        "lang": "ru",
        "rank": rank,
        "rights": {
            "leads": {"view": "A", "edit": "A", "add": "A", "delete": "D", "export": "D"},
            "is_admin": admin,
            "is_free": False,
            "is_active": True,
            "group_id": group,
            "role_id": None,
        },
    }


def _pipeline(pid: int, name: str, main: bool, statuses: list[tuple[int, str, int]]) -> dict:
    rows = [*statuses, (WON, "Успешно реализовано", 0), (LOST, "Закрыто и не реализовано", 0)]
    return {
        "id": pid,
        "name": name,
        "sort": 1 if main else 2,
        "is_main": main,
        "is_unsorted_on": True,
        "is_archive": False,
        "account_id": 29085955,
        "_embedded": {
            "statuses": [
                {
                    "id": sid,
                    "name": sname,
                    "sort": 10 * (i + 1),
                    "is_editable": kind == 0,
                    "pipeline_id": pid,
                    "color": "#99ccff",
                    "type": kind,
                    "account_id": 29085955,
                }
                for i, (sid, sname, kind) in enumerate(rows)
            ]
        },
    }


def _at(world: _World, day: int, hour_from: float = 9, hour_to: float = 19) -> int:
    return day + int(world.rng.uniform(hour_from, hour_to) * 3600)


def _later(world: _World, at: int, min_hours: float, max_hours: float) -> int:
    """A working-hours instant some hours after `at` (skipping nights)."""
    moment = at + int(world.rng.uniform(min_hours, max_hours) * 3600)
    local_hour = ((moment + MSK) % DAY) / 3600
    if local_hour >= 19:
        moment += int((24 - local_hour + 9.5) * 3600)
    elif local_hour < 9:
        moment += int((9.5 - local_hour) * 3600)
    return moment


def _business_day(world: _World, day: int) -> None:
    rng = world.rng
    for user in world.staff[101]:
        for _ in range(rng.randint(1, 4)):
            _inbound_lead(world, user, _at(world, day))
    for group in (101, 102, 103):
        for user in world.staff[group]:
            _calls(world, user, day)
    for user in world.staff[103]:
        if world.won_clients and rng.random() < 0.35:
            _upsell_lead(world, user, rng.choice(world.won_clients), _at(world, day))
    for user in world.staff[104]:
        for _ in range(rng.randint(2, 5)):
            _task(
                world,
                user,
                "contacts",
                rng.choice(world.clients)["contact"] if world.clients else None,
                _at(world, day),
                done_rate=0.92,
            )


def _client(world: _World, at: int) -> dict[str, Any]:
    rng, state = world.rng, world.state
    if world.won_clients and rng.random() < 0.15:
        return rng.choice(world.won_clients)
    phone = f"+79{rng.randint(0, 999_999_999):09d}"
    contact_id = state.next_id()
    name = _feminine(rng.choice(FIRST), rng.choice(LAST))
    contact = {
        "id": contact_id,
        "name": name,
        "first_name": name.split()[0],
        "last_name": name.split()[1],
        "responsible_user_id": None,
        "group_id": 0,
        "created_by": 0,
        "updated_by": 0,
        "created_at": at,
        "updated_at": at,
        "is_deleted": False,
        "account_id": 29085955,
        "custom_fields_values": [
            {
                "field_id": 60001,
                "field_name": "Телефон",
                "field_code": "PHONE",
                "field_type": "multitext",
                "values": [{"value": phone, "enum_code": "WORK"}],
            }
        ],
    }
    client: dict[str, Any] = {
        "contact": contact_id,
        "phone": phone,
        "company": None,
        "account_manager": None,
    }
    if rng.random() < 0.4:
        company_id = state.next_id()
        state.add(
            "companies",
            {
                **contact,
                "id": company_id,
                "name": f"ООО «{rng.choice(COMPANIES)}-{company_id % 1000}»",
            },
        )
        client["company"] = company_id
    state.add("contacts", contact)
    world.clients.append(client)
    return client


def _new_lead(
    world: _World, client: dict, user: int, pipeline: int, status: int, at: int, price: int
) -> dict:
    rng, state = world.rng, world.state
    lead_id = state.next_id()
    fields = (
        []
        if rng.random() < 0.15
        else [
            {
                "field_id": SOURCE_FIELD,
                "field_name": "Источник",
                "field_code": None,
                "field_type": "select",
                "values": [{"value": rng.choice(SOURCES), "enum_id": 80000 + rng.randrange(4)}],
            }
        ]
    )
    embedded: dict[str, Any] = {
        "tags": [],
        "contacts": [{"id": client["contact"], "is_main": True}],
        "companies": [{"id": client["company"]}] if client["company"] else [],
    }
    lead = state.add(
        "leads",
        {
            "id": lead_id,
            "name": f"Сделка #{lead_id}",
            "price": price,
            "responsible_user_id": user,
            "group_id": 0,
            "status_id": status,
            "pipeline_id": pipeline,
            "loss_reason_id": None,
            "created_by": user,
            "updated_by": user,
            "created_at": at,
            "updated_at": at,
            "closed_at": None,
            "closest_task_at": None,
            "is_deleted": False,
            "custom_fields_values": fields or None,
            "score": None,
            "account_id": 29085955,
            "_embedded": embedded,
        },
    )
    state.add_event("lead_added", "lead", lead_id, user, at=at)
    return lead


def _step(world: _World, lead: dict, status: int, by: int, at: int) -> bool:
    """Move a lead if `at` is already in the past; robots make ~10 % of the moves."""
    if at > world.now:
        return False
    author = 0 if world.rng.random() < 0.1 else by
    world.state.move_lead(lead["id"], status, author, at=at)
    return True


def _inbound_lead(world: _World, user: int, at: int) -> None:
    rng = world.rng
    if at > world.now:
        return
    client = _client(world, at)
    price = 0 if rng.random() < 0.05 else rng.randrange(20, 500) * 1000
    lead = _new_lead(world, client, user, SALES_PIPELINE, FIRST_CONTACT, at, price)
    _task(world, user, "leads", lead["id"], at, done_rate=0.85)
    at = _later(world, at, 2, 40)
    if rng.random() > 0.62:
        if rng.random() < 0.6:
            _step(world, lead, LOST, user, at)
        return
    if not _step(world, lead, QUALIFIED, user, at) or not world.staff[102]:
        return
    seller = rng.choice(world.staff[102])
    if at + 60 > world.now:
        return
    world.state.change_responsible(lead["id"], seller, user, at=at + 60)
    _task(world, seller, "leads", lead["id"], at + 60, done_rate=0.8)
    at = _later(world, at, 8, 100)
    if rng.random() > 0.75 or not _step(world, lead, PROPOSAL, seller, at):
        return
    if rng.random() < 0.1:
        at = _later(world, at, 2, 20)
        if not _step(world, lead, QUALIFIED, seller, at):
            return
        at = _later(world, at, 2, 20)
        if not _step(world, lead, PROPOSAL, seller, at):
            return
    _task(world, seller, "leads", lead["id"], at, done_rate=0.8)
    at = _later(world, at, 16, 120)
    if rng.random() < 0.85 and _step(world, lead, NEGOTIATION, seller, at):
        at = _later(world, at, 16, 200)
    won = rng.random() < 0.45
    if _step(world, lead, WON if won else LOST, seller, at) and won:
        _won_client(world, client)


def _won_client(world: _World, client: dict) -> None:
    if client["account_manager"] is None and world.staff[103]:
        client["account_manager"] = world.rng.choice(world.staff[103])
        for kind, key in (("contacts", "contact"), ("companies", "company")):
            if client[key]:
                world.state.entities[kind][client[key]]["responsible_user_id"] = client[
                    "account_manager"
                ]
    if client not in world.won_clients:
        world.won_clients.append(client)


def _upsell_lead(world: _World, user: int, client: dict, at: int) -> None:
    rng = world.rng
    if at > world.now:
        return
    owner = client["account_manager"] or user
    lead = _new_lead(
        world, client, owner, UPSELL_PIPELINE, UPSELL_TALK, at, rng.randrange(10, 200) * 1000
    )
    _task(world, owner, "leads", lead["id"], at, done_rate=0.85)
    at = _later(world, at, 8, 120)
    if rng.random() < 0.7 and _step(world, lead, UPSELL_INVOICE, owner, at):
        at = _later(world, at, 8, 120)
        _step(world, lead, WON if rng.random() < 0.55 else LOST, owner, at)


def _task(
    world: _World, user: int, entity_type: str, entity_id: int | None, at: int, done_rate: float
) -> None:
    rng, state = world.rng, world.state
    if at > world.now or (entity_type == "leads" and rng.random() < 0.08):
        return
    deadline = _later(world, at, 4, 72)
    task_id = state.next_id()
    state.add(
        "tasks",
        {
            "id": task_id,
            "created_by": user,
            "updated_by": user,
            "created_at": at,
            "updated_at": at,
            "responsible_user_id": user,
            "group_id": 0,
            "entity_id": entity_id,
            "entity_type": entity_type,
            "duration": 0,
            "is_completed": False,
            "task_type_id": 1 if rng.random() < 0.8 else 2,
            "text": "Связаться с клиентом" if entity_type == "leads" else "Прослушать звонок",
            "result": {},
            "complete_till": deadline,
            "account_id": 29085955,
        },
    )
    if rng.random() < done_rate:
        late = rng.random() < 0.15
        done = (
            _later(world, deadline, 1, 30)
            if late
            else at + int((deadline - at) * rng.uniform(0.1, 0.95))
        )
        if done <= world.now:
            state.complete_task(task_id, user, at=done)


def _calls(world: _World, user: int, day: int) -> None:
    rng, state = world.rng, world.state
    if not world.clients:
        return
    for _ in range(rng.randint(1, 3)):
        client = rng.choice(world.clients[-200:])
        at = _at(world, day)
        if at > world.now:
            continue
        missed = rng.random() < 0.15
        status, duration = (rng.choice([6, 7]), 0) if missed else (4, rng.randint(30, 900))
        contact = client["contact"]
        state.add_call("contacts", contact, user, "in", client["phone"], duration, status, at)
        if missed and rng.random() < 0.85:
            back = _later(world, at, 0.05, 6 if rng.random() < 0.9 else 30)
            if back <= world.now:
                state.add_call(
                    "contacts", contact, user, "out", client["phone"], rng.randint(30, 600), 4, back
                )
    for _ in range(rng.randint(1, 4)):
        client = rng.choice(world.clients[-300:])
        at = _at(world, day)
        if at <= world.now:
            answered = rng.random() < 0.7
            state.add_call(
                "contacts",
                client["contact"],
                user,
                "out",
                client["phone"],
                rng.randint(20, 900) if answered else 0,
                4 if answered else rng.choice([3, 6, 7]),
                at,
            )


def live_tick(state: AmoState, rng: random.Random) -> None:
    """A little new activity for `--live`: a call, sometimes a stage move."""
    users = [u for u, user in state.users.items() if user["rights"].get("group_id") in (101, 102)]
    contacts = list(state.entities["contacts"].values())[-100:]
    if not users or not contacts:
        return
    contact = rng.choice(contacts)
    phone = contact["custom_fields_values"][0]["values"][0]["value"]
    missed = rng.random() < 0.15
    state.add_call(
        "contacts",
        contact["id"],
        rng.choice(users),
        "in",
        phone,
        0 if missed else rng.randint(30, 600),
        6 if missed else 4,
    )
    open_leads = [
        lead
        for lead in list(state.entities["leads"].values())[-300:]
        if lead["status_id"] in (FIRST_CONTACT, QUALIFIED, PROPOSAL, NEGOTIATION)
    ]
    if open_leads and rng.random() < 0.5:
        lead = rng.choice(open_leads)
        following = {
            FIRST_CONTACT: QUALIFIED,
            QUALIFIED: PROPOSAL,
            PROPOSAL: NEGOTIATION,
            NEGOTIATION: WON,
        }[lead["status_id"]]
        state.move_lead(lead["id"], following, lead["responsible_user_id"])

"""A believable, seeded agency for the amoCRM emulator (SPEC §1, §10).

Leadgen picks up inbound requests, qualifies them and hands the good ones to sales; sales send
proposals, negotiate, win or lose (seniors and repeat clients win more often); account managers
sell again to won clients in «Допродажи»; quality reviews calls. Calls have misses that are mostly
called back, tasks sometimes go overdue, some deals miss fields or have no price. Everything is
driven by one `random.Random(seed)`, so a seed and a `now` always give the same account.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from sheets_kpi.emulators.amocrm.mutations import LOST, WON
from sheets_kpi.emulators.amocrm.state import AmoState
from sheets_kpi.emulators.amocrm.structure import (
    ACCOUNT_ID,
    ACCOUNTS,
    ADMIN,
    BUDGET_FIELD,
    CAMPAIGN_FIELD,
    COMPANIES,
    CONTRACT_DATE_FIELD,
    EMAIL_FIELD,
    FIRST_CONTACT,
    FIRST_ENTITY_ID,
    LEADGEN,
    LOSS_REASONS,
    NEGOTIATION,
    PAGE_FIELD,
    PHONE_FIELD,
    POSITION_FIELD,
    PROPOSAL,
    QUALIFIED,
    QUALITY,
    SALES,
    SALES_PIPELINE,
    SERVICES,
    SOURCE_FIELD,
    SOURCES,
    UNSORTED,
    UPSELL_INVOICE,
    UPSELL_PIPELINE,
    UPSELL_TALK,
    Staff,
    build,
)
from sheets_kpi.emulators.amocrm.workhours import DAY, HOUR, MSK, after_work, weekday

#: The office line the SIP telephony reports as a call's `source`.
OFFICE_LINE = "+74951234567"
REPEAT_TAG = {"id": 9001, "name": "Повторный клиент", "color": None}
CAMPAIGNS = ["brand", "poisk_obshie", "retarget", "lookalike"]
PAGES = ["kontekst", "seo", "smm", "sites", "target"]
POSITIONS = ["Директор", "Маркетолог", "Менеджер по закупкам", "Бухгалтер"]
SERVICE_MESSAGE = {"text": "Сообщение отправлено.", "service": "Уведомления в Telegram"}
CALL_SUMMARIES = ["Обсудили КП", "Перезвонить после обеда", "Клиент думает", "Отправил договор"]


@dataclass
class _Client:
    contact: int
    phone: str
    company: int | None
    won_at: int | None = None
    account_manager: int | None = None
    #: the client's current lead and when it closes (None while open), for attaching calls
    lead: tuple[int, int | None] | None = None


@dataclass
class _World:
    rng: random.Random
    now: int
    state: AmoState
    staff: Staff
    clients: list[_Client] = field(default_factory=list)
    won: list[_Client] = field(default_factory=list)


def generate_agency(
    managers: int = 12, months: int = 3, seed: int = 1, now: int | None = None
) -> AmoState:
    """An account with `managers` people and `months` months of activity ending at `now`."""
    now = int(time.time()) if now is None else now
    rng = random.Random(seed)
    state = AmoState(first_id=FIRST_ENTITY_ID)
    world = _World(rng, now, state, build(state, rng, now, max(1, managers)))
    start = now - months * 30 * DAY
    day = start - (start + MSK) % DAY
    while day < now:
        if weekday(day) < 5:
            _business_day(world, day)
        day += DAY
    return state


def _at(world: _World, day: int) -> int:
    """A moment of the Moscow working day (9–19, lunch 13–14) whose local midnight is `day`."""
    hours = world.rng.uniform(9, 18)
    return day + int((hours + (hours >= 13)) * HOUR)


def _later(world: _World, at: int, min_hours: float, max_hours: float) -> int:
    """`at` plus a random amount of *working* time: people act in office hours only."""
    return after_work(at, world.rng.uniform(min_hours, max_hours) * HOUR)


def _business_day(world: _World, day: int) -> None:
    rng = world.rng
    for user in world.staff.by_group[LEADGEN]:
        for _ in range(rng.randint(1, 4)):
            _inbound_lead(world, user, _at(world, day))
    for group, calls_in, calls_out in ((LEADGEN, 4, 5), (SALES, 3, 5), (ACCOUNTS, 2, 3)):
        for user in world.staff.by_group[group]:
            _calls(world, user, day, rng.randint(1, calls_in), rng.randint(1, calls_out))
    for user in world.staff.by_group[ACCOUNTS]:
        if rng.random() < 0.35:
            _upsell_lead(world, user, _at(world, day))
    for user in world.staff.by_group[QUALITY]:
        for _ in range(rng.randint(2, 5)):
            _review(world, user, _at(world, day))


def _client(world: _World, at: int) -> _Client:
    """A returning won client (about one lead in six) or a new contact, sometimes with a company."""
    rng, state = world.rng, world.state
    if world.won and rng.random() < 0.15:
        returning = [c for c in world.won[-300:] if c.won_at is not None and c.won_at < at]
        if returning:
            return rng.choice(returning)
    phone = f"+79{rng.randint(0, 999_999_999):09d}"
    name = rng.choice(world.staff.names)
    contact_id, company_id = state.next_id(), None
    extra = random.Random(contact_id)  # its own stream: the account's story stays the same
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
        "closest_task_at": None,
        "is_deleted": False,
        "is_unsorted": False,
        "account_id": ACCOUNT_ID,
        "custom_fields_values": [_multitext(PHONE_FIELD, "Телефон", "PHONE", phone)],
        "_embedded": {"tags": [], "companies": []},
    }
    if rng.random() < 0.7:
        email = f"client{contact_id}@example.org"
        contact["custom_fields_values"].append(_multitext(EMAIL_FIELD, "Email", "EMAIL", email))
    if extra.random() < 0.4:
        position = extra.choice(POSITIONS)
        contact["custom_fields_values"].append(
            _scalar(POSITION_FIELD, "Должность", "text", position)
        )
    if rng.random() < 0.4:
        company_id = state.next_id()
        office = f"+7495{rng.randint(0, 9_999_999):07d}"
        state.add(
            "companies",
            {
                "id": company_id,
                "name": f"ООО «{rng.choice(COMPANIES)}-{company_id % 1000}»",
                "responsible_user_id": None,
                "group_id": 0,
                "created_by": 0,
                "updated_by": 0,
                "created_at": at,
                "updated_at": at,
                "closest_task_at": None,
                "is_deleted": False,
                "account_id": ACCOUNT_ID,
                "custom_fields_values": [_multitext(PHONE_FIELD, "Телефон", "PHONE", office)],
                "_embedded": {"tags": [], "contacts": [{"id": contact_id, "is_main": True}]},
            },
        )
        contact["_embedded"]["companies"] = [{"id": company_id}]
    state.add("contacts", contact)
    client = _Client(contact_id, phone, company_id)
    world.clients.append(client)
    return client


def _multitext(fid: int, name: str, code: str, value: str) -> dict:
    return {
        "field_id": fid,
        "field_name": name,
        "field_code": code,
        "field_type": "multitext",
        "values": [{"value": value, "enum_id": fid * 10 + 1, "enum_code": "WORK"}],
    }


def _scalar(fid: int, name: str, kind: str, value: str | int) -> dict:
    return {
        "field_id": fid,
        "field_name": name,
        "field_code": None,
        "field_type": kind,
        "values": [{"value": value}],
    }


def _lead_fields(lead: dict, at: int) -> list[dict]:
    """What forms and managers fill in besides the source, in amoCRM's value shapes: a numeric
    field as a string, a date as the epoch second of a Moscow midnight, text and a URL."""
    extra = random.Random(lead["id"])  # its own stream: the account's story stays the same
    fields = []
    if extra.random() < 0.4:
        budget = str(extra.randrange(50, 900) * 1000)
        fields.append(_scalar(BUDGET_FIELD, "Бюджет клиента", "numeric", budget))
    if extra.random() < 0.2:
        midnight = at - (at + MSK) % DAY + extra.randint(3, 30) * DAY
        fields.append(_scalar(CONTRACT_DATE_FIELD, "Дата договора", "date", midnight))
    if extra.random() < 0.5:
        fields.append(_scalar(CAMPAIGN_FIELD, "utm_campaign", "text", extra.choice(CAMPAIGNS)))
    if extra.random() < 0.4:
        page = f"https://example.org/services/{extra.choice(PAGES)}"
        fields.append(_scalar(PAGE_FIELD, "Страница заявки", "url", page))
    return fields


def _own(world: _World, client: _Client, user: int, at: int) -> None:
    """Make `user` responsible for the client's cards, as amoCRM users do when taking a client."""
    for kind, card_id in (("contacts", client.contact), ("companies", client.company)):
        card = world.state.entities[kind].get(card_id or 0)
        if card is not None and at >= card["updated_at"]:
            card["responsible_user_id"], card["group_id"] = user, world.state.group_of(user)
            card["updated_at"], card["updated_by"] = at, user


def _new_lead(
    world: _World, client: _Client, user: int, pipeline: int, status: int, at: int, price: int
) -> dict:
    rng, state = world.rng, world.state
    fields = None
    if rng.random() > 0.15:
        source = rng.randrange(len(SOURCES))
        value = {"value": SOURCES[source], "enum_id": 80000 + source}
        fields = [
            {
                "field_id": SOURCE_FIELD,
                "field_name": "Источник",
                "field_code": None,
                "field_type": "select",
                "values": [value],
            }
        ]
    company = state.entities["companies"].get(client.company or 0)
    contact = state.entities["contacts"][client.contact]
    title = company["name"] if company else contact["name"]
    creator = 0 if status == UNSORTED else user
    lead = state.add_lead(
        f"{title}: {rng.choice(SERVICES)}",
        user,
        pipeline,
        status,
        price,
        by=creator,
        at=at,
        contact_id=client.contact,
        company_id=client.company,
        custom_fields_values=fields,
    )
    lead["custom_fields_values"] = (fields or []) + _lead_fields(lead, at) or None
    if client.won_at is not None:
        lead["_embedded"]["tags"] = [dict(REPEAT_TAG)]
    if status == UNSORTED and at + 3 <= world.now:  # the web form's notification bot
        _note(state, lead, "service_message", 0, at + 3, dict(SERVICE_MESSAGE))
    if client.account_manager is None:
        _own(world, client, user, at)
    client.lead = (lead["id"], None)
    return lead


def _step(world: _World, lead: dict, status: int, by: int, at: int) -> bool:
    """Move a lead if `at` is already in the past; robots make ~10 % of the moves."""
    if at > world.now:
        return False
    author = 0 if world.rng.random() < 0.1 else by
    reason = None
    if status == LOST and world.rng.random() < 0.8:
        reason = world.state.loss_reasons[world.rng.randrange(len(LOSS_REASONS))]["id"]
    world.state.move_lead_status(lead["id"], status, author, at=at, loss_reason_id=reason)
    return True


def _close(world: _World, client: _Client, lead: dict, at: int) -> None:
    if client.lead and client.lead[0] == lead["id"]:
        client.lead = (lead["id"], at)


def _inbound_lead(world: _World, user: int, at: int) -> None:
    """Leadgen → sales funnel of SPEC §1, with misses, returns to earlier stages and robots."""
    rng = world.rng
    if at > world.now:
        return
    client = _client(world, at)
    price = 0 if rng.random() < 0.05 else rng.randrange(20, 500) * 1000
    repeat = client.won_at is not None
    unsorted = rng.random() < 0.3
    lead = _new_lead(
        world, client, user, SALES_PIPELINE, UNSORTED if unsorted else FIRST_CONTACT, at, price
    )
    if unsorted:
        at = _later(world, at, 0.1, 2)
        if not _step(world, lead, FIRST_CONTACT, user, at):
            return
    _task(world, user, lead["id"], at, done_rate=0.85)
    at = _later(world, at, 1, 16)
    qualify = 0.6 + 0.1 * (user in world.staff.senior) + 0.15 * repeat
    if rng.random() > qualify:
        if rng.random() < 0.6 and _step(world, lead, LOST, user, at):
            _close(world, client, lead, at)
            gone = _later(world, at, 8, 24)
            if rng.random() < 0.03 and gone <= world.now:
                world.state.delete_lead(lead["id"], user, at=gone)
        return
    if not _step(world, lead, QUALIFIED, user, at) or not world.staff.by_group[SALES]:
        return
    handoff = at + 60
    if handoff > world.now:
        return
    seller = rng.choice(world.staff.by_group[SALES])
    world.state.change_responsible(lead["id"], seller, user, at=handoff)
    _task(world, seller, lead["id"], handoff, done_rate=0.8)
    at = _later(world, handoff, 4, 40)
    if rng.random() > 0.75 or not _step(world, lead, PROPOSAL, seller, at):
        return
    if rng.random() < 0.1:
        at = _later(world, at, 1, 8)
        if not _step(world, lead, QUALIFIED, seller, at):
            return
        at = _later(world, at, 1, 8)
        if not _step(world, lead, PROPOSAL, seller, at):
            return
    _task(world, seller, lead["id"], at, done_rate=0.8)
    at = _later(world, at, 8, 48)
    if rng.random() < 0.85 and _step(world, lead, NEGOTIATION, seller, at):
        at = _later(world, at, 8, 80)
    won = rng.random() < 0.35 + 0.15 * (seller in world.staff.senior) + 0.15 * repeat
    if _step(world, lead, WON if won else LOST, seller, at):
        _close(world, client, lead, at)
        if won:
            _won_client(world, client, at)


def _won_client(world: _World, client: _Client, at: int) -> None:
    """The first win hands the client to an account manager; later wins make it a repeat client."""
    if client.won_at is None:
        client.won_at = at
        world.won.append(client)
    if client.account_manager is None and world.staff.by_group[ACCOUNTS]:
        client.account_manager = world.rng.choice(world.staff.by_group[ACCOUNTS])
        if at + 300 <= world.now:
            _own(world, client, client.account_manager, at + 300)


def _upsell_lead(world: _World, user: int, at: int) -> None:
    rng = world.rng
    if at > world.now:
        return
    mine = [c for c in world.won[-400:] if c.won_at and c.won_at < at and c.account_manager == user]
    if not mine:
        return
    client = rng.choice(mine)
    lead = _new_lead(
        world, client, user, UPSELL_PIPELINE, UPSELL_TALK, at, rng.randrange(10, 200) * 1000
    )
    _task(world, user, lead["id"], at, done_rate=0.85)
    at = _later(world, at, 4, 48)
    if rng.random() < 0.7 and _step(world, lead, UPSELL_INVOICE, user, at):
        at = _later(world, at, 4, 48)
        won = rng.random() < 0.55
        if _step(world, lead, WON if won else LOST, user, at):
            _close(world, client, lead, at)


def _review(world: _World, user: int, at: int) -> None:
    """Quality control: listen to a recent call of a lead and score it; nearly always done."""
    recent = [c.lead[0] for c in world.clients[-60:] if c.lead]
    if recent:
        text = world.rng.choice(["Прослушать звонок", "Проверить сделку по регламенту"])
        _task(world, user, world.rng.choice(recent), at, done_rate=0.92, text=text)


def _task(
    world: _World, user: int, lead_id: int, at: int, done_rate: float, text: str = ""
) -> None:
    """A task with a deadline; most are done before it, some late, some never (overdue)."""
    rng, state = world.rng, world.state
    if at > world.now or rng.random() < 0.08:
        return
    meeting = rng.random() < 0.2
    span = rng.uniform(2, 27) * HOUR
    task = state.add_task(
        "leads",
        lead_id,
        user,
        after_work(at, span),
        text or ("Встреча с клиентом" if meeting else "Связаться с клиентом"),
        2 if meeting else 1,
        at=at,
        emit=False,
    )
    if rng.random() < done_rate:
        if rng.random() < 0.15:
            done = _later(world, task["complete_till"], 0.5, 12)
        else:
            done = after_work(at, span * rng.uniform(0.1, 0.95))
        if done <= world.now:
            state.complete_task(task["id"], user, at=done, result="Сделано")


def _calls(world: _World, user: int, day: int, incoming: int, outgoing: int) -> None:
    """Calls of one manager's day: 10–20 % of incoming missed, most called back within hours."""
    rng = world.rng
    pool = world.clients[-250:]
    if not pool:
        return
    for _ in range(incoming):
        client, at = rng.choice(pool), _at(world, day)
        if at > world.now:
            continue
        missed = rng.random() < 0.15
        if missed:
            _call(world, client, user, "in", 0, rng.choice([6, 7]), at)
        else:
            _call(world, client, user, "in", rng.randint(30, 900), 4, at)
        if missed and rng.random() < 0.85:
            back = _later(world, at, 0.1, 4 if rng.random() < 0.9 else 12)
            if back <= world.now:
                _call(world, client, user, "out", rng.randint(30, 600), 4, back)
    for _ in range(outgoing):
        client, at = rng.choice(pool), _at(world, day)
        if at <= world.now:
            answered = rng.random() < 0.7
            duration = rng.randint(20, 900) if answered else 0
            _call(
                world, client, user, "out", duration, 4 if answered else rng.choice([3, 6, 7]), at
            )


def _call(
    world: _World, client: _Client, user: int, direction: str, duration: int, status: int, at: int
) -> None:
    """Attach the call like amoCRM does: to the client's open lead if any, else to the contact;
    after some answered outgoing calls the manager writes a line about it."""
    entity, entity_id = "contacts", client.contact
    if client.lead is not None:
        lead_id, closed_at = client.lead
        created_at = world.state.entities["leads"][lead_id]["created_at"]
        if created_at <= at and (closed_at is None or closed_at > at):
            entity, entity_id = "leads", lead_id
    note = _log_call(
        world.state, entity, entity_id, user, direction, client.phone, duration, status, at
    )
    written = at + 60 + note["id"] % 240
    if direction == "out" and status == 4 and note["id"] % 3 == 0 and written <= world.now:
        card = world.state.entities[entity][entity_id]
        text = CALL_SUMMARIES[note["id"] // 3 % len(CALL_SUMMARIES)]
        _note(world.state, card, "common", user, written, {"text": text}, entity, user)


def _log_call(
    state: AmoState,
    entity: str,
    entity_id: int,
    user: int,
    direction: str,
    phone: str,
    duration: int,
    status: int,
    at: int,
) -> dict:
    """The agency has two telephonies, one per desk: «Emulated PBX» (even user ids) names the
    caller in `call_responsible` and dials `+7…`; the office SIP line (odd ids) does not, writes
    numbers without `+`, and files an outgoing call under the card's owner as responsible, the
    caller being only its `created_by` (as the recorded real account in
    tests/conformance/amocrm/07_leads_notes_items_recorded.json does)."""
    if user % 2 == 0:
        return state.add_call(entity, entity_id, user, direction, phone, duration, status, at)
    owner = (state.entities[entity].get(entity_id) or {}).get("responsible_user_id") or ADMIN
    return state.add_call(
        entity,
        entity_id,
        user,
        direction,
        phone.lstrip("+"),
        duration,
        status,
        at,
        source=OFFICE_LINE,
        names_caller=False,
        responsible=owner if direction == "out" else user,
        uniq=f"{at}.{(at * 7919 + user) % 1_000_000:06d}",  # an Asterisk-style call id
    )


def _note(
    state: AmoState,
    card: dict,
    note_type: str,
    by: int,
    at: int,
    params: dict,
    entity: str = "leads",
    responsible: int | None = None,
) -> None:
    """A note that is no call (`common`, `service_message`): amoCRM lists them among the calls
    of a card; the sync asks for call notes only."""
    owner = card.get("responsible_user_id") if responsible is None else responsible
    state.add_note(
        entity,
        {
            "id": state.next_id(),
            "entity_id": card["id"],
            "created_by": by,
            "updated_by": by,
            "created_at": at,
            "updated_at": at,
            "responsible_user_id": owner,
            "group_id": state.group_of(owner),
            "note_type": note_type,
            "params": params,
            "account_id": state.account["id"],
        },
    )


def live_tick(state: AmoState, now: int | random.Random | None = None) -> None:
    """A little new activity at `now` for `--live`: calls, a stage move, a task, maybe a lead.

    Works on any account (generated or loaded). The demo passes its own `random.Random` instead
    of a time; then the activity is stamped with the emulator clock.
    """
    if isinstance(now, random.Random):
        rng, at = now, state.now()
    else:
        at = state.now() if now is None else now
        rng = random.Random(f"{at}:{len(state.events)}")
    with state.lock:
        callers = [
            uid
            for uid, user in state.users.items()
            if not (user.get("rights") or {}).get("is_admin") and state.group_of(uid) != QUALITY
        ]
        recent = list(state.entities["contacts"].values())[-200:]
        phones = {c["id"]: phone for c in recent if (phone := _phone(c))}
        if callers and phones:
            _live_calls(state, rng, at, rng.choice(callers), phones)
            _live_lead(state, rng, at, rng.choice(callers), rng.choice(sorted(phones)))
        _live_stage(state, rng, at)
        _live_task(state, rng, at)


def _live_calls(
    state: AmoState, rng: random.Random, at: int, user: int, phones: dict[int, str]
) -> None:
    """An answered or missed incoming call; a missed one a few minutes ago is called back now."""
    contact_id = rng.choice(sorted(phones))
    phone = phones[contact_id]
    if rng.random() < 0.15:
        missed_at = at - rng.randint(60, 240)
        _log_call(state, "contacts", contact_id, user, "in", phone, 0, 6, missed_at)
        _log_call(state, "contacts", contact_id, user, "out", phone, rng.randint(20, 600), 4, at)
    else:
        _log_call(state, "contacts", contact_id, user, "in", phone, rng.randint(30, 600), 4, at)


def _live_lead(state: AmoState, rng: random.Random, at: int, user: int, contact_id: int) -> None:
    main = next((p for p in state.pipelines.values() if p.get("is_main")), None)
    stages = _open_stages(main) if main else []
    if not stages or rng.random() > 0.3:
        return
    first = stages[0]
    name = f"{state.entities['contacts'][contact_id].get('name')}: {rng.choice(SERVICES)}"
    state.add_lead(
        name, user, main["id"], first, rng.randrange(20, 500) * 1000, at=at, contact_id=contact_id
    )


def _open_stages(pipeline: dict) -> list[int]:
    """Statuses a manager moves a lead through, in order (no «unsorted», no 142/143)."""
    statuses = sorted(pipeline["_embedded"]["statuses"], key=lambda s: s["sort"])
    return [s["id"] for s in statuses if s["id"] not in (WON, LOST) and s.get("type") != 1]


def _phone(card: dict) -> str:
    for field_value in card.get("custom_fields_values") or []:
        if field_value.get("field_code") == "PHONE" and field_value.get("values"):
            return str(field_value["values"][0].get("value") or "")
    return ""


def _live_stage(state: AmoState, rng: random.Random, at: int) -> None:
    order = {p["id"]: _open_stages(p) for p in state.pipelines.values()}
    open_leads = [
        lead
        for lead in list(state.entities["leads"].values())[-300:]
        if not lead.get("is_deleted") and lead["status_id"] in order.get(lead["pipeline_id"], [])
    ]
    if not open_leads or rng.random() > 0.6:
        return
    lead = rng.choice(open_leads)
    stages = order[lead["pipeline_id"]]
    position = stages.index(lead["status_id"])
    following = stages[position + 1] if position + 1 < len(stages) else rng.choice([WON, LOST])
    state.move_lead_status(lead["id"], following, lead["responsible_user_id"], at=at)
    state.add_task(
        "leads", lead["id"], lead["responsible_user_id"], at + rng.randint(2, 48) * HOUR, at=at
    )


def _live_task(state: AmoState, rng: random.Random, at: int) -> None:
    open_tasks = [t for t in list(state.entities["tasks"].values())[-500:] if not t["is_completed"]]
    if open_tasks and rng.random() < 0.5:
        task = rng.choice(open_tasks)
        state.complete_task(task["id"], task["responsible_user_id"], at=at)

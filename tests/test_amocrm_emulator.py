"""The amoCRM emulator answers over real HTTP the way AMOCRM_API.md says amoCRM does."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sheets_kpi.emulators.amocrm import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REDIRECT_URI,
    DEMO_TOKEN,
    AmoServer,
    AmoState,
    Faults,
    build_app,
    generate_agency,
    live_tick,
    serve,
)
from sheets_kpi.emulators.amocrm.structure import (
    ACCOUNTS,
    LEADGEN,
    QUALIFIED,
    SALES,
    SALES_PIPELINE,
    UPSELL_PIPELINE,
)
from sheets_kpi.emulators.server import EmulatorServer
from tests.conftest import NOW

AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}
REVOKED = {
    "hint": "Token has been revoked",
    "title": "Некорректный запрос",
    "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
    "status": 401,
    "detail": "В запросе отсутствует ряд параметров или параметры невалидны",
}
UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "https://httpstatus.es/401",
    "status": 401,
    "detail": "Неверный логин или пароль",
}
MSK = 3 * 3600
CONFORMANCE = Path(__file__).parent / "conformance" / "amocrm"


def get(server, path: str, params=None, token: str = DEMO_TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(f"{server.url}{path}", params=params, headers=headers, timeout=10)


def control(server, path: str, body: dict | None = None) -> dict:
    if body is None:
        return requests.get(f"{server.url}/_emulator/{path}", timeout=10).json()
    return requests.post(f"{server.url}/_emulator/{path}", json=body, timeout=10).json()


def ids(response: requests.Response, key: str) -> list:
    return [item["id"] for item in response.json()["_embedded"][key]]


def leads_state(count: int) -> AmoState:
    leads = [
        {
            "id": i,
            "name": f"Deal {i}",
            "price": 1000 * (i % 7),
            "responsible_user_id": 1 + i % 3,
            "status_id": 10 + i % 2,
            "pipeline_id": 1,
            "created_at": NOW - 10_000 + i,
            "updated_at": NOW - 5_000 + i,
            "is_deleted": False,
        }
        for i in range(1, count + 1)
    ]
    return AmoState({"leads": leads})


@pytest.fixture(scope="module")
def served(agency: AmoState) -> Iterator[AmoServer]:
    """The session agency behind a module-wide server; tests here only read from it."""
    server = serve(AmoState(agency.snapshot()), rps=10_000)
    yield server
    server.stop()


@pytest.fixture
def small() -> Iterator[AmoServer]:
    server = serve(leads_state(600), rps=10_000)
    yield server
    server.stop()


# --- HAL lists, pagination, 204 ----------------------------------------------------------


@pytest.mark.parametrize(("count", "sizes"), [(600, [250, 250, 100]), (500, [250, 250])])
def test_next_links_walk_across_the_250_boundary(count, sizes) -> None:
    server = serve(leads_state(count), rps=10_000)
    try:
        url = f"{server.url}/api/v4/leads?limit=250&with=contacts&filter[pipeline_id][]=1"
        walked, statuses = [], []
        while url:
            response = requests.get(url, headers=AUTH, timeout=10)
            statuses.append(response.status_code)
            if response.status_code == 204:
                assert response.content == b""
                break
            body = response.json()
            walked.append(len(body["_embedded"]["leads"]))
            url = body["_links"].get("next", {}).get("href")
            if url:
                assert url.startswith(f"{server.url}/api/v4/leads?")
                assert "limit=250" in url and "with=contacts" in url
                assert "filter[pipeline_id][]=1" in url and f"page={len(walked) + 1}" in url
        assert walked == sizes
        # A full last page still carries `next`; the page after it is a 204 (AMOCRM_API.md §4.4).
        assert statuses[-1] == (204 if count % 250 == 0 else 200)
    finally:
        server.stop()


def test_the_extra_next_link_can_be_switched_off() -> None:
    server = EmulatorServer(build_app(leads_state(500), rps=10_000, next_on_full_page=False))
    server.start()
    try:
        last = get(server, "/api/v4/leads", {"limit": 250, "page": 2}).json()
        assert len(last["_embedded"]["leads"]) == 250 and "next" not in last["_links"]
    finally:
        server.stop()


def test_limit_defaults_to_50_and_is_clamped_to_250(small) -> None:
    body = get(small, "/api/v4/leads").json()
    assert body["_page"] == 1 and len(body["_embedded"]["leads"]) == 50
    assert len(ids(get(small, "/api/v4/leads", {"limit": 1000}), "leads")) == 250
    second = get(small, "/api/v4/leads", {"limit": 10, "page": 2}).json()
    assert ids_of(second) == list(range(11, 21))
    assert "prev" in second["_links"]


def ids_of(body: dict) -> list:
    return [item["id"] for item in body["_embedded"]["leads"]]


def test_links_use_the_host_the_client_called() -> None:
    server = serve(leads_state(3), rps=10_000)
    try:
        port = server.url.rsplit(":", 1)[1]
        body = requests.get(
            f"http://localhost:{port}/api/v4/leads", params={"limit": 2}, headers=AUTH, timeout=10
        ).json()
        assert body["_links"]["next"]["href"].startswith(f"http://localhost:{port}/api/v4/leads?")
        lead = body["_embedded"]["leads"][0]
        assert lead["_links"]["self"]["href"] == f"http://localhost:{port}/api/v4/leads/1"
    finally:
        server.stop()


def test_empty_lists_and_unknown_ids_are_204_with_an_empty_body(served) -> None:
    for path, params in (
        ("/api/v4/leads", {"filter[id]": 1}),
        ("/api/v4/leads", {"page": 10_000}),
        ("/api/v4/events", {"filter[type]": "no_such_type"}),
        ("/api/v4/leads/1", None),
        ("/api/v4/contacts/1", None),
        ("/api/v4/tasks/1", None),
        ("/api/v4/leads/notes/1", None),
        ("/api/v4/events/01aaaaaaaaaaaaaaaaaaaaaaaa", None),
    ):
        response = get(served, path, params)
        assert (response.status_code, response.content) == (204, b""), path
        assert response.headers["X-Request-Id"]


def test_an_unknown_pipeline_is_404_with_amocrms_body(served, agency) -> None:
    recorded = json.loads(
        (CONFORMANCE / "20_error_404_pipeline_not_found_issue92.json").read_text(encoding="utf-8")
    )
    for path in ("leads/pipelines/0", "leads/pipelines/0/statuses", "leads/pipelines/9/statuses/1"):
        response = get(served, f"/api/v4/{path}")
        assert (response.status_code, response.json()) == (404, recorded["body"]), path
        assert response.headers["Content-Type"].startswith(recorded["content_type"])
    known = next(iter(agency.pipelines))
    unknown_status = get(served, f"/api/v4/leads/pipelines/{known}/statuses/1")
    assert (unknown_status.status_code, unknown_status.content) == (204, b"")


def test_success_and_error_content_types_and_request_ids(served) -> None:
    ok = get(served, "/api/v4/account")
    assert ok.headers["Content-Type"].startswith("application/hal+json")
    bad = get(served, "/api/v4/leads", token="garbage")
    assert bad.status_code == 401 and bad.json() == UNAUTHORIZED
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    assert ok.headers["X-Request-Id"] != bad.headers["X-Request-Id"]
    missing = get(served, "/api/v4/nothing")
    assert missing.status_code == 404 and missing.json()["status"] == 404


def test_events_limit_above_100_gives_50_items_and_no_next(served) -> None:
    quirk = get(served, "/api/v4/events", {"limit": 250}).json()
    assert len(quirk["_embedded"]["events"]) == 50 and "next" not in quirk["_links"]
    full = get(served, "/api/v4/events", {"limit": 100}).json()
    assert len(full["_embedded"]["events"]) == 100 and "next" in full["_links"]


# --- filters and ordering ----------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"filter[type]": "incoming_call,lead_added"},
        [("filter[type][]", "incoming_call"), ("filter[type][]", "lead_added")],
        [("filter[type][0]", "incoming_call"), ("filter[type][1]", "lead_added")],
    ],
)
def test_three_spellings_of_an_array_filter_select_the_same_events(served, agency, params) -> None:
    wanted = {e["id"] for e in agency.events if e["type"] in ("incoming_call", "lead_added")}
    got = set()
    url, query = f"{served.url}/api/v4/events", [*_pairs(params), ("limit", "100")]
    while url:
        response = requests.get(url, params=query, headers=AUTH, timeout=10)
        if response.status_code == 204:
            break
        got |= {e["id"] for e in response.json()["_embedded"]["events"]}
        url, query = response.json()["_links"].get("next", {}).get("href"), None
    assert got == wanted


def _pairs(params) -> list:
    return list(params.items()) if isinstance(params, dict) else list(params)


def test_range_filters_are_inclusive_and_a_bare_value_means_from(small) -> None:
    low, high = NOW - 5_000 + 100, NOW - 5_000 + 120
    ranged = {"filter[updated_at][from]": low, "filter[updated_at][to]": high, "limit": 250}
    assert ids(get(small, "/api/v4/leads", ranged), "leads") == list(range(100, 121))
    comma = {"filter[updated_at]": f"{low},{high}", "limit": 250}
    assert ids(get(small, "/api/v4/leads", comma), "leads") == list(range(100, 121))
    bare = {"filter[updated_at]": NOW - 5_000 + 590, "limit": 250}
    assert ids(get(small, "/api/v4/leads", bare), "leads") == list(range(590, 601))
    assert get(small, "/api/v4/leads", {"filter[updated_at][from]": "soon"}).status_code == 400


def test_lead_filters_by_owner_pipeline_and_status_pair(small) -> None:
    for spelling in (
        "filter[responsible_user_id]",
        "filter[responsible_user_id][]",
        "filter[responsible_user_id][0]",
    ):
        got = ids(get(small, "/api/v4/leads", {spelling: 2, "limit": 250}), "leads")
        assert got == [i for i in range(1, 601) if i % 3 == 1]
    pair = {
        "filter[statuses][0][pipeline_id]": 1,
        "filter[statuses][0][status_id]": 11,
        "limit": 250,
    }
    assert all(i % 2 == 1 for i in ids(get(small, "/api/v4/leads", pair), "leads"))
    several = {"filter[id][]": [3, 5, 700]}
    assert ids(get(small, "/api/v4/leads", several), "leads") == [3, 5]


def test_order_asc_and_desc_by_any_field(small, served, agency) -> None:
    desc = ids(get(small, "/api/v4/leads", {"order[updated_at]": "desc", "limit": 3}), "leads")
    assert desc == [600, 599, 598]
    by_id = ids(get(small, "/api/v4/leads", {"order[id]": "asc", "limit": 3}), "leads")
    assert by_id == [1, 2, 3]
    newest = get(served, "/api/v4/events", {"limit": 5}).json()["_embedded"]["events"]
    assert newest[0]["created_at"] == max(e["created_at"] for e in agency.events)
    oldest = get(served, "/api/v4/events", {"limit": 5, "order[created_at]": "asc"}).json()
    times = [e["created_at"] for e in oldest["_embedded"]["events"]]
    assert times == sorted(times) and times[0] == min(e["created_at"] for e in agency.events)
    by_id = get(served, "/api/v4/events", {"limit": 5, "order[id]": "desc"}).json()
    assert [e["id"] for e in by_id["_embedded"]["events"]] == sorted(
        (e["id"] for e in agency.events), reverse=True
    )[:5]


def test_task_filters(served, agency) -> None:
    tasks = list(agency.entities["tasks"].values())
    user = tasks[0]["responsible_user_id"]
    params = {
        "filter[is_completed]": 0,
        "filter[responsible_user_id][]": user,
        "filter[entity_type]": "leads",
        "filter[task_type][]": 1,
        "limit": 250,
    }
    expected = sorted(
        t["id"]
        for t in tasks
        if not t["is_completed"] and t["responsible_user_id"] == user and t["task_type_id"] == 1
    )
    assert ids(get(served, "/api/v4/tasks", params), "tasks") == expected
    assert get(served, "/api/v4/tasks", {"filter[entity_id]": 5}).status_code == 400


def test_notes_filter_by_type_and_link_to_their_own_path(served, agency) -> None:
    params = [("filter[note_type][]", "call_in"), ("limit", "250")]
    notes = get(served, "/api/v4/contacts/notes", params).json()["_embedded"]["notes"]
    assert {n["note_type"] for n in notes} == {"call_in"}
    basic = {"uniq", "duration", "source", "link", "phone", "call_result", "call_status"}
    assert all(set(n["params"]) - {"call_responsible"} == basic for n in notes)
    named = [n for n in notes if "call_responsible" in n["params"]]
    assert named and len(named) < len(notes)  # one of the agency's telephonies names no caller
    note = notes[0]
    by_card = get(served, f"/api/v4/contacts/{note['entity_id']}/notes").json()
    first = by_card["_embedded"]["notes"][0]
    own = f"{served.url}/api/v4/contacts/{note['entity_id']}/notes/{first['id']}"
    assert first["_links"]["self"]["href"] == own  # as amoCRM links them, and served there
    assert get(served, own.removeprefix(served.url)).json()["id"] == first["id"]
    assert get(served, f"/api/v4/contacts/notes/{note['id']}").json()["id"] == note["id"]
    assert get(served, f"/api/v4/contacts/1/notes/{note['id']}").status_code == 204


def test_event_filters_and_their_limits(served, agency) -> None:
    lead_event = next(e for e in agency.events if e["type"] == "lead_status_changed")
    by_entity = {
        "filter[entity]": "lead",
        "filter[entity_id][]": lead_event["entity_id"],
        "with": "lead_name",
    }
    events = get(served, "/api/v4/events", by_entity).json()["_embedded"]["events"]
    expected = [e for e in agency.events if e["entity_type"] == "lead"]
    assert {e["id"] for e in events} == {
        e["id"] for e in expected if e["entity_id"] == lead_event["entity_id"]
    }
    assert events[0]["_embedded"]["entity"]["id"] == lead_event["entity_id"]
    status = lead_event["value_after"][0]["lead_status"]
    moved_in = {
        "filter[type]": "lead_status_changed",
        "filter[value_after][leads_statuses][0][pipeline_id]": status["pipeline_id"],
        "filter[value_after][leads_statuses][0][status_id]": status["id"],
        "limit": 100,
    }
    got = get(served, "/api/v4/events", moved_in).json()["_embedded"]["events"]
    assert all(e["value_after"][0]["lead_status"] == status for e in got)
    for bad in (
        {"filter[entity_id]": 5},
        {"filter[entity]": "lead,contact", "filter[entity_id]": 5},
        {"filter[entity]": "lead", "filter[entity_id]": ",".join(map(str, range(11)))},
        {"filter[created_by]": ",".join(map(str, range(11)))},
    ):
        response = get(served, "/api/v4/events", bad)
        assert response.status_code == 400, bad
        assert response.headers["Content-Type"].startswith("application/problem+json")


def test_event_shapes(served) -> None:
    def first(kind: str) -> dict:
        body = get(served, "/api/v4/events", {"filter[type]": kind, "limit": 1}).json()
        return body["_embedded"]["events"][0]

    moved = first("lead_status_changed")
    assert isinstance(moved["id"], str) and len(moved["id"]) == 26
    assert moved["entity_type"] == "lead"
    assert set(moved["value_after"][0]["lead_status"]) == {"id", "pipeline_id"}
    handed = first("entity_responsible_changed")
    assert set(handed["value_before"][0]) == {"responsible_user"}
    call = first("incoming_call")
    assert set(call["value_after"][0]["note"]) == {"id"} and call["value_before"] == []
    assert first("task_completed")["entity_type"] == "task"


# --- entities ------------------------------------------------------------------------------


def test_account_users_and_pipelines(served) -> None:
    account = get(served, "/api/v4/account", {"with": "users_groups,task_types,datetime_settings"})
    embedded = account.json()["_embedded"]
    assert {g["name"] for g in embedded["users_groups"]} >= {
        "Лидогенерация",
        "Продажи",
        "Аккаунт-менеджмент",
        "Отдел качества",
    }
    assert embedded["datetime_settings"]["timezone"] == "Europe/Moscow"
    assert [t["id"] for t in embedded["task_types"]] == [1, 2]
    users = get(served, "/api/v4/users", {"with": "group,role,user_rank", "limit": 250}).json()
    manager = next(u for u in users["_embedded"]["users"] if u["rights"]["group_id"] == SALES)
    assert manager["_embedded"]["groups"] == [{"id": SALES, "name": "Продажи"}]  # no uuid here
    assert manager["rank"] in ("newbie", "master") and manager["_embedded"]["roles"] == []
    plain = get(served, "/api/v4/users", {"limit": 1}).json()["_embedded"]["users"][0]
    assert "rank" not in plain and "_embedded" not in plain
    pipelines = get(served, "/api/v4/leads/pipelines").json()
    assert pipelines["_total_items"] == 2
    names = {p["name"]: p for p in pipelines["_embedded"]["pipelines"]}
    statuses = {s["name"]: s for s in names["Продажи"]["_embedded"]["statuses"]}
    assert statuses["Неразобранное"]["type"] == 1
    assert {"Квалифицирован", "КП отправлено", "Переговоры"} <= set(statuses)
    for pipeline in names.values():
        assert {142, 143} <= {s["id"] for s in pipeline["_embedded"]["statuses"]}
    fields = get(served, "/api/v4/leads/custom_fields").json()["_embedded"]["custom_fields"]
    assert [(f["name"], f["type"]) for f in fields] == [
        ("Источник", "select"),
        ("Бюджет клиента", "numeric"),
        ("Дата договора", "date"),
        ("utm_campaign", "text"),
        ("Страница заявки", "url"),
    ]


def test_users_need_an_admin_token(served) -> None:
    state: AmoState = served.state
    manager = next(u for u, user in state.users.items() if not user["rights"]["is_admin"])
    token = state.mint_long_lived(user_id=manager)
    denied = get(served, "/api/v4/users", token=token)
    assert denied.status_code == 403
    assert denied.headers["Content-Type"].startswith("application/problem+json")
    assert get(served, "/api/v4/leads", {"limit": 1}, token=token).status_code == 200


def test_leads_embed_contacts_only_when_asked_and_companies_always(served, agency) -> None:
    company_lead = next(
        lead for lead in agency.entities["leads"].values() if lead["_embedded"]["companies"]
    )
    with_contacts = get(served, f"/api/v4/leads/{company_lead['id']}", {"with": "contacts"}).json()
    contact = with_contacts["_embedded"]["contacts"][0]
    assert contact["is_main"] is True and contact["_links"]["self"]["href"].endswith(
        f"/api/v4/contacts/{contact['id']}"
    )
    plain = get(served, f"/api/v4/leads/{company_lead['id']}").json()
    assert "contacts" not in plain["_embedded"] and plain["_embedded"]["companies"]
    lost = next(lead for lead in agency.entities["leads"].values() if lead["loss_reason_id"])
    reason = get(served, f"/api/v4/leads/{lost['id']}", {"with": "loss_reason"}).json()
    assert reason["_embedded"]["loss_reason"][0]["id"] == lost["loss_reason_id"]
    phones = get(served, "/api/v4/companies", {"limit": 1}).json()["_embedded"]["companies"][0]
    assert phones["custom_fields_values"][0]["field_code"] == "PHONE"


def _multitext(code: str, value: str) -> dict:
    return {"field_code": code, "field_type": "multitext", "values": [{"value": value}]}


def linked_cards() -> AmoState:
    """Two contacts, a company and three leads (one deleted) linked to them."""
    contacts = [
        {
            "id": 1,
            "name": "Анна Петрова",
            "custom_fields_values": [
                _multitext("PHONE", "+79161234567"),
                _multitext("EMAIL", "Anna.P@Example.org"),
            ],
        },
        {"id": 2, "name": "Борис", "custom_fields_values": None},
    ]
    company = {
        "id": 3,
        "name": "ООО «Ромашка»",
        "custom_fields_values": [],
        "_embedded": {"contacts": [{"id": 1, "is_main": True}]},
    }
    leads = [
        {
            "id": 10 + i,
            "name": name,
            "_embedded": {
                "contacts": [{"id": c, "is_main": True}],
                "companies": [{"id": 3}] if c == 1 else [],
            },
        }
        for i, (name, c) in enumerate([("Окна для Ромашки", 1), ("Двери", 2), ("Крыша", 1)])
    ]
    leads[2]["is_deleted"] = True
    return AmoState({"contacts": contacts, "companies": [company], "leads": leads})


def test_query_matches_names_and_custom_field_values_case_insensitively() -> None:
    server = serve(linked_cards(), rps=10_000)
    try:
        for path, text, expected in (
            ("/api/v4/leads", "РОМАШК", [10]),
            ("/api/v4/companies", "ромашка", [3]),
            ("/api/v4/contacts", "anna.p@example", [1]),
            ("/api/v4/contacts", "9161234", [1]),
            ("/api/v4/contacts", "  борис ", [2]),
            ("/api/v4/contacts", "", [1, 2]),
        ):
            assert ids(get(server, path, {"query": text}), path.rsplit("/", 1)[1]) == expected
        nothing = get(server, "/api/v4/leads", {"query": "Крыша"})  # only the deleted lead
        assert (nothing.status_code, nothing.content) == (204, b"")
        both = get(server, "/api/v4/contacts", {"query": "о", "filter[id]": 2})
        assert ids(both, "contacts") == [2]
    finally:
        server.stop()


def test_contacts_embed_their_leads_under_with_leads() -> None:
    server = serve(linked_cards(), rps=10_000)
    try:
        listed = get(server, "/api/v4/contacts", {"with": "leads"}).json()["_embedded"]["contacts"]
        assert [[lead["id"] for lead in c["_embedded"]["leads"]] for c in listed] == [[10], [11]]
        one = get(server, "/api/v4/contacts/1", {"with": "leads"}).json()
        assert one["_embedded"]["leads"] == [
            {"id": 10, "_links": {"self": {"href": f"{server.url}/api/v4/leads/10"}}}
        ]
        assert "leads" not in get(server, "/api/v4/contacts/1").json()["_embedded"]
        server.state.restore_lead(12, by=0)
        again = get(server, "/api/v4/contacts/1", {"with": "leads"}).json()
        assert [lead["id"] for lead in again["_embedded"]["leads"]] == [10, 12]
    finally:
        server.stop()


def test_companies_embed_their_leads_under_with_leads_and_contacts_under_with_contacts() -> None:
    server = serve(linked_cards(), rps=10_000)
    try:
        one = get(server, "/api/v4/companies/3", {"with": "leads"}).json()
        assert one["_embedded"]["leads"] == [
            {"id": 10, "_links": {"self": {"href": f"{server.url}/api/v4/leads/10"}}}
        ]
        assert "contacts" not in one["_embedded"]
        plain = get(server, "/api/v4/companies", {}).json()["_embedded"]["companies"][0]
        assert plain["_embedded"] == {"tags": []}  # as amoCRM lists companies (docs 27)
        both = get(server, "/api/v4/companies/3", {"with": "leads,contacts"}).json()["_embedded"]
        assert [c["id"] for c in both["contacts"]] == [1] and [x["id"] for x in both["leads"]] == [
            10
        ]
        server.state.restore_lead(12, by=0)
        again = get(server, "/api/v4/companies", {"with": "leads"}).json()["_embedded"]
        assert [lead["id"] for lead in again["companies"][0]["_embedded"]["leads"]] == [10, 12]
    finally:
        server.stop()


# --- OAuth2 and tokens ---------------------------------------------------------------------


def token_post(server, form: bool = False, **fields) -> requests.Response:
    body = {
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "redirect_uri": DEMO_REDIRECT_URI,
        **fields,
    }
    url = f"{server.url}/oauth2/access_token"
    if form:
        return requests.post(url, data=body, timeout=10)
    return requests.post(url, json=body, timeout=10)


def b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def claims(jwt: str) -> dict:
    return json.loads(b64url(jwt.split(".")[1]))


AMO_CLAIMS = {
    "aud",
    "jti",
    "iat",
    "nbf",
    "exp",
    "sub",
    "grant_type",
    "account_id",
    "base_domain",
    "version",
    "scopes",
}


def test_the_demo_token_is_a_fixed_jwt_without_api_domain() -> None:
    header, _, signature = DEMO_TOKEN.split(".")
    assert json.loads(b64url(header)) == {"typ": "JWT", "alg": "RS256", "jti": "d3e0" * 20}
    assert claims(DEMO_TOKEN) == {
        "aud": DEMO_CLIENT_ID,
        "jti": "d3e0" * 20,
        "iat": 1_577_836_800,
        "nbf": 1_577_836_800,
        "exp": 2**31,
        "sub": "0",
        "grant_type": "",
        "account_id": 1,
        "base_domain": "amocrm.ru",
        "version": 2,
        "scopes": ["push_notifications", "files", "crm", "files_delete", "notifications"],
    }
    assert b64url(signature) == bytes(256)


def test_minted_tokens_carry_amocrms_claims_and_a_random_signature() -> None:
    server = serve(generate_agency(managers=4, months=1, seed=3, now=NOW), rps=10_000)
    state: AmoState = server.state
    try:
        user = next(iter(state.users))
        code = state.mint_code(user_id=user)
        access = token_post(server, grant_type="authorization_code", code=code).json()
        token = access["access_token"]
        header, _, signature = token.split(".")
        assert json.loads(b64url(header))["jti"] == claims(token)["jti"]
        assert len(b64url(signature)) == 256
        payload = claims(token)
        assert set(payload) == AMO_CLAIMS | {"api_domain"}
        assert (payload["aud"], payload["sub"], payload["account_id"]) == (
            DEMO_CLIENT_ID,
            str(user),
            state.account["id"],
        )
        assert payload["iat"] == payload["nbf"] == access["server_time"]
        long_lived = claims(state.mint_long_lived(lifetime=3600))
        assert set(long_lived) == AMO_CLAIMS | {"api_domain"}
        assert (long_lived["aud"], long_lived["exp"]) == (DEMO_CLIENT_ID, state.now() + 3600)
        assert long_lived["jti"] != payload["jti"]
    finally:
        server.stop()


def test_code_exchange_refresh_rotation_and_expiry_on_the_emulator_clock() -> None:
    server = serve(leads_state(2), rps=10_000)
    state: AmoState = server.state
    try:
        code = state.mint_code()
        first = token_post(server, form=True, grant_type="authorization_code", code=code)
        assert first.status_code == 200
        pair = first.json()
        assert set(pair) == {
            "token_type",
            "expires_in",
            "server_time",
            "access_token",
            "refresh_token",
        }
        assert (pair["token_type"], pair["expires_in"]) == ("Bearer", 86400)
        payload = claims(pair["access_token"])
        assert payload["exp"] == pair["server_time"] + 86400
        assert payload["api_domain"] == server.url.removeprefix("http://")
        again = token_post(server, grant_type="authorization_code", code=code)
        assert again.status_code == 400
        assert get(server, "/api/v4/leads/1", token=pair["access_token"]).status_code == 200

        rotated = token_post(
            server, grant_type="refresh_token", refresh_token=pair["refresh_token"]
        )
        assert rotated.status_code == 200
        new = rotated.json()
        assert new["refresh_token"] != pair["refresh_token"]
        reused = token_post(server, grant_type="refresh_token", refresh_token=pair["refresh_token"])
        assert (reused.status_code, reused.json()) == (401, REVOKED)

        control(server, "clock", {"advance": 86400 + 1})
        expired = get(server, "/api/v4/leads/1", token=new["access_token"])
        assert (expired.status_code, expired.json()) == (401, UNAUTHORIZED)
        fresh = token_post(server, grant_type="refresh_token", refresh_token=new["refresh_token"])
        assert get(server, "/api/v4/leads/1", token=fresh.json()["access_token"]).ok
    finally:
        server.stop()


def test_bad_client_old_codes_and_dead_refresh_tokens_are_refused() -> None:
    server = serve(leads_state(1), rps=10_000)
    state: AmoState = server.state
    try:
        wrong = token_post(server, client_secret="nope", grant_type="authorization_code")
        assert (wrong.status_code, wrong.json()["title"]) == (401, "Некорректный клиент")
        code = state.mint_code()
        state.advance(20 * 60 + 1)
        late = token_post(server, grant_type="authorization_code", code=code)
        assert late.status_code == 400 and late.json()["status"] == 400
        pair = token_post(server, grant_type="authorization_code", code=state.mint_code()).json()
        state.advance(91 * 86400)
        stale = token_post(server, grant_type="refresh_token", refresh_token=pair["refresh_token"])
        assert (stale.status_code, stale.json()) == (401, REVOKED)
    finally:
        server.stop()


def test_the_control_plane_registers_clients_and_mints_codes_to_exchange() -> None:
    server = serve(generate_agency(managers=4, months=1, seed=3, now=NOW), rps=10_000)
    state: AmoState = server.state
    try:
        minted = control(server, "oauth/code", {})
        assert set(minted) == {"code", "expires_in"} and minted["expires_in"] == 20 * 60
        pair = token_post(server, grant_type="authorization_code", code=minted["code"])
        assert pair.status_code == 200 and claims(pair.json()["access_token"])["sub"] == "0"

        client = control(server, "oauth/clients", {"redirect_uri": "https://example.com/cb"})
        assert set(client) == {"client_id", "client_secret", "redirect_uri"}
        listed = control(server, "oauth/clients")["clients"]
        assert [c["client_id"] for c in listed] == [DEMO_CLIENT_ID, client["client_id"]]
        manager = next(u for u, user in state.users.items() if not user["rights"]["is_admin"])
        code = control(server, "oauth/code", {"client_id": client["client_id"], "user_id": manager})
        stranger = token_post(server, grant_type="authorization_code", code=code["code"])
        assert stranger.status_code == 400  # the code belongs to the other client
        own = token_post(server, **client, grant_type="authorization_code", code=code["code"])
        token = own.json()["access_token"]
        assert claims(token)["aud"] == client["client_id"]
        assert get(server, "/api/v4/users", token=token).status_code == 403

        for path, body in (
            ("oauth/code", {"client_id": "nobody"}),
            ("oauth/code", {"user_id": 999_999}),
            ("oauth/clients", {"client_id": "no-redirect"}),
        ):
            refused = requests.post(f"{server.url}/_emulator/{path}", json=body, timeout=10)
            assert refused.status_code == 400 and refused.json()["error"], body
    finally:
        server.stop()


def test_long_lived_tokens_expire_and_can_be_revoked() -> None:
    server = serve(leads_state(1), rps=10_000)
    state: AmoState = server.state
    try:
        short = state.mint_long_lived(lifetime=60)
        kept = state.mint_long_lived()
        assert claims(kept)["exp"] > state.now()
        assert get(server, "/api/v4/leads/1", token=short).ok
        control(server, "clock", {"advance": 61})
        assert get(server, "/api/v4/leads/1", token=short).status_code == 401
        assert get(server, "/api/v4/leads/1", token=kept).ok
        state.tokens.revoke(kept)
        assert get(server, "/api/v4/leads/1", token=kept).status_code == 401
    finally:
        server.stop()


# --- rate limit and faults -----------------------------------------------------------------


def test_rate_limit_429_with_retry_after_in_the_body_and_the_control_plane_is_free() -> None:
    server = serve(leads_state(1), rps=3)
    try:
        for _ in range(5):
            control(server, "clock")
        statuses = [get(server, "/api/v4/leads/1").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = get(server, "/api/v4/leads/1")
        assert limited.json()["retry_after"] == 1 and "Retry-After" not in limited.headers
        assert limited.headers["Content-Type"].startswith("application/problem+json")
        time.sleep(1.05)
        assert get(server, "/api/v4/leads/1").ok
        other = server.state.mint_long_lived()
        assert get(server, "/api/v4/leads/1", token=other).ok  # the limit is per token
    finally:
        server.stop()


def test_repeated_abuse_is_blocked_with_an_nginx_html_403() -> None:
    server = serve(leads_state(1), rps=1)
    try:
        control(server, "limits", {"block_after": 2, "block_seconds": 60, "retry_after": None})
        statuses = [get(server, "/api/v4/leads/1").status_code for _ in range(5)]
        assert statuses == [200, 429, 429, 403, 403]
        blocked = get(server, "/api/v4/leads/1")
        assert blocked.headers["Content-Type"] == "text/html" and b"nginx" in blocked.content
    finally:
        server.stop()


def outcomes(server, count: int) -> list[str]:
    result = []
    for _ in range(count):
        try:
            result.append(str(get(server, "/api/v4/leads/1").status_code))
        except requests.ConnectionError:
            result.append("reset")
    return result


def test_fault_injection_is_deterministic_for_a_seed() -> None:
    plan = {"429": 0.1, "500": 0.2, "502": 0.05, "reset": 0.1, "seed": 42}
    one = serve(leads_state(1), rps=10_000, faults=plan)
    two = serve(leads_state(1), rps=10_000, faults=Faults.from_json(plan))
    try:
        first = outcomes(one, 40)
        assert first == outcomes(two, 40)
        assert {"200", "429", "500", "reset"} <= set(first)
        control(one, "faults", plan)
        assert outcomes(one, 40) == first
        control(one, "faults", {})
        assert set(outcomes(one, 10)) == {"200"}
    finally:
        one.stop()
        two.stop()
    with pytest.raises(ValueError, match="unknown fault"):
        Faults.parse("404=0.1")


def test_slow_faults_delay_the_answer() -> None:
    server = serve(leads_state(1), rps=10_000, faults="slow=1")
    try:
        control(server, "faults", {"slow": 1.0, "slow_seconds": 0.3})
        started = time.monotonic()
        assert get(server, "/api/v4/leads/1").ok
        assert time.monotonic() - started >= 0.3
    finally:
        server.stop()


# --- mutations, control plane, snapshots ---------------------------------------------------


def test_mutations_write_events_and_bump_updated_at() -> None:
    state = generate_agency(managers=4, months=1, seed=2, now=NOW)
    server = serve(state, rps=10_000)
    try:
        control(server, "clock", {"now": NOW + 3600})
        lead = next(
            lead
            for lead in state.entities["leads"].values()
            if lead["status_id"] not in (142, 143) and not lead["is_deleted"]
        )
        user, status = lead["responsible_user_id"], lead["status_id"]
        state.move_lead_status(lead["id"], 142, user)
        state.change_responsible(lead["id"], 1001, user)
        task = state.add_task("leads", lead["id"], user, NOW + 7200)
        state.complete_task(task["id"], user)
        note = state.add_call("leads", lead["id"], user, "in", "+79990001122", 0, 6)
        since = {"filter[updated_at][from]": NOW + 3600, "order[updated_at]": "asc"}
        assert ids(get(server, "/api/v4/leads", since), "leads") == [lead["id"]]
        assert get(server, f"/api/v4/leads/{lead['id']}").json()["closed_at"] == NOW + 3600
        new = get(server, "/api/v4/events", {"filter[created_at][from]": NOW + 3600}).json()
        types = Counter(e["type"] for e in new["_embedded"]["events"])
        assert types == {
            "lead_status_changed": 1,
            "entity_responsible_changed": 1,
            "task_added": 1,
            "task_completed": 1,
            "incoming_call": 1,
        }
        call = next(e for e in new["_embedded"]["events"] if e["type"] == "incoming_call")
        assert call["value_after"] == [{"note": {"id": note["id"]}}]
        state.delete_lead(lead["id"], user)
        assert get(server, f"/api/v4/leads/{lead['id']}").status_code == 204
        deleted = get(server, "/api/v4/leads", {"with": "only_deleted", "filter[id]": lead["id"]})
        assert deleted.json()["_embedded"]["leads"][0]["is_deleted"] is True
        state.restore_lead(lead["id"], user)
        assert get(server, f"/api/v4/leads/{lead['id']}").json()["is_deleted"] is False
        gone = {"filter[type][]": ["lead_deleted", "lead_restored"], "filter[entity]": "lead"}
        assert len(ids(get(server, "/api/v4/events", gone), "events")) >= 2
        control(server, "reset", {})
        assert get(server, f"/api/v4/leads/{lead['id']}").json()["status_id"] == status
        assert state.now() != NOW + 3600
    finally:
        server.stop()


def test_post_calls_attach_by_phone_to_the_single_open_lead() -> None:
    state = generate_agency(managers=4, months=1, seed=2, now=NOW)
    server = serve(state, rps=10_000)
    try:
        lead = next(
            lead
            for lead in state.entities["leads"].values()
            if lead["status_id"] not in (142, 143)
            and lead["_embedded"]["contacts"]
            and not lead["is_deleted"]
        )
        contact = state.entities["contacts"][lead["_embedded"]["contacts"][0]["id"]]
        others = [
            other
            for other in state.entities["leads"].values()
            if other is not lead
            and other["status_id"] not in (142, 143)
            and other["_embedded"]["contacts"][0]["id"] == contact["id"]
        ]
        for other in others:
            state.move_lead_status(other["id"], 143, 1001)
        phone = contact["custom_fields_values"][0]["values"][0]["value"]
        calls = [
            {"direction": "inbound", "phone": "8" + phone[-10:], "duration": 30, "source": "pbx"},
            {"direction": "outbound", "phone": "+70000000000", "duration": 5, "source": "pbx"},
        ]
        response = requests.post(f"{server.url}/api/v4/calls", json=calls, headers=AUTH, timeout=10)
        body = response.json()["_embedded"]
        assert [(c["entity_type"], c["entity_id"]) for c in body["calls"]] == [
            ("leads", lead["id"])
        ]
        assert len(body["errors"]) == 1
        note = state.notes["leads"][body["calls"][0]["id"]]
        assert note["note_type"] == "call_in" and note["params"]["duration"] == 30
        url = f"{server.url}/api/v4/calls"
        refused = requests.post(url, json=calls[1:], headers=AUTH, timeout=10)
        assert refused.status_code == 400 and refused.json()["validation-errors"]
        garbage = requests.post(url, data=b"{nope", headers=AUTH, timeout=10)
        assert garbage.status_code == 400
        typo = [{**calls[0], "duration": "long"}]
        assert requests.post(url, json=typo, headers=AUTH, timeout=10).status_code == 400
    finally:
        server.stop()


def test_clock_control_and_snapshot_endpoint(small) -> None:
    pinned = control(small, "clock", {"now": NOW})
    assert pinned == {"now": NOW, "pinned": True}
    assert control(small, "clock", {"advance": 90})["now"] == NOW + 90
    assert control(small, "clock", {"now": None})["pinned"] is False
    snapshot = control(small, "snapshot")
    assert len(snapshot["leads"]) == 600 and set(snapshot) >= {
        "account",
        "users",
        "groups",
        "pipelines",
        "leads",
        "contacts",
        "companies",
        "tasks",
        "notes",
        "events",
        "custom_fields",
        "tokens",
    }
    bad = requests.post(f"{small.url}/_emulator/faults", json={"404": 0.1}, timeout=10)
    assert bad.status_code == 400


def test_snapshot_round_trips_through_a_file(tmp_path, agency: AmoState) -> None:
    path = tmp_path / "account.json"
    agency.save(path)
    loaded = AmoState.load(path)
    assert json.dumps(loaded.snapshot(), sort_keys=True) == json.dumps(
        agency.snapshot(), sort_keys=True
    )
    server = serve(0, path, rps=10_000)
    try:
        assert len(ids(get(server, "/api/v4/leads", {"limit": 5}), "leads")) == 5
    finally:
        server.stop()


def test_serve_by_port_with_a_generated_agency() -> None:
    server = serve(0, generate={"managers": 4, "months": 1, "seed": 3, "now": NOW}, rps=10_000)
    try:
        assert get(server, "/api/v4/users").json()["_embedded"]["users"]
    finally:
        server.stop()


def test_live_tick_adds_activity_that_an_incremental_sync_sees() -> None:
    state = generate_agency(managers=6, months=1, seed=5, now=NOW)
    twin = AmoState(state.snapshot())
    before = len(state.events)
    for minute in range(1, 11):
        live_tick(state, NOW + 60 * minute)
        live_tick(twin, NOW + 60 * minute)
    assert len(state.events) > before
    assert json.dumps(state.snapshot(), sort_keys=True) == json.dumps(
        twin.snapshot(), sort_keys=True
    )
    fresh = [e for e in state.events if e["created_at"] > NOW]
    assert {"incoming_call", "lead_status_changed"} <= {e["type"] for e in fresh}
    assert any(lead["updated_at"] > NOW for lead in state.entities["leads"].values())


def test_a_live_server_keeps_adding_activity() -> None:
    state = generate_agency(managers=4, months=1, seed=6, now=NOW)
    before = len(state.events)
    server = serve(state, rps=10_000, live_every_seconds=0.05)
    try:
        deadline = time.monotonic() + 5
        while len(state.events) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(state.events) > before
    finally:
        server.stop()


# --- the generated agency ------------------------------------------------------------------


def test_generator_is_deterministic_for_a_seed() -> None:
    one = generate_agency(managers=6, months=1, seed=3, now=NOW).snapshot()
    two = generate_agency(managers=6, months=1, seed=3, now=NOW).snapshot()
    other = generate_agency(managers=6, months=1, seed=4, now=NOW).snapshot()
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    assert json.dumps(one, sort_keys=True) != json.dumps(other, sort_keys=True)


def test_twelve_managers_over_three_months_generate_in_under_three_seconds() -> None:
    started = time.perf_counter()
    state = generate_agency(managers=12, months=3, seed=1, now=NOW)
    assert time.perf_counter() - started < 3
    assert len(state.events) > 5000 and len(state.entities["leads"]) > 500


@pytest.mark.parametrize(("managers", "split"), [(4, [1, 1, 1, 1]), (20, [7, 7, 4, 2])])
def test_every_department_is_staffed_in_proportion(managers, split) -> None:
    state = generate_agency(managers=managers, months=1, seed=1, now=NOW)
    groups = Counter(u["rights"]["group_id"] for u in state.users.values())
    assert [groups[g] for g in (101, 102, 103, 104)] == split
    # the admin is in the default group, which amoCRM sends as `group_id: null`
    assert groups[None] == 1 and state.users[1000]["rights"]["is_admin"]
    assert len({u["name"] for u in state.users.values()}) == len(state.users)


def test_generated_agency_is_believable(agency: AmoState) -> None:
    users = agency.users
    assert {users[u]["rank"] for u in users if users[u]["rights"]["group_id"] in (101, 102)} == {
        "newbie",
        "master",
    }
    notes = [n for kind in agency.notes.values() for n in kind.values()]
    incoming = [n for n in notes if n["note_type"] == "call_in"]
    missed = [n for n in incoming if n["params"]["call_status"] in (6, 7)]
    assert all(n["params"]["duration"] == 0 for n in missed)
    assert 0.10 <= len(missed) / len(incoming) <= 0.20
    outgoing = [n for n in notes if n["note_type"] == "call_out"]
    called_back = [
        n
        for n in missed
        if any(
            o["params"]["phone"] == n["params"]["phone"]
            and 0 < o["created_at"] - n["created_at"] <= 24 * 3600
            for o in outgoing
        )
    ]
    assert len(called_back) / len(missed) > 0.7
    tasks = list(agency.entities["tasks"].values())
    done_at = {
        e["entity_id"]: e["created_at"] for e in agency.events if e["type"] == "task_completed"
    }
    late = [t for t in tasks if t["id"] in done_at and done_at[t["id"]] > t["complete_till"]]
    still_open = [t for t in tasks if not t["is_completed"] and t["complete_till"] < NOW]
    assert late and still_open and len(done_at) > len(tasks) / 2
    leads = list(agency.entities["leads"].values())
    won = Counter(
        lead["_embedded"]["contacts"][0]["id"] for lead in leads if lead["status_id"] == 142
    )
    assert any(count >= 2 for count in won.values())
    assert any(not lead["custom_fields_values"] for lead in leads)
    assert any(lead["price"] == 0 for lead in leads)
    assert all(lead["closed_at"] for lead in leads if lead["status_id"] in (142, 143))
    upsell = [lead for lead in leads if lead["pipeline_id"] == UPSELL_PIPELINE]
    assert upsell and {
        users[lead["responsible_user_id"]]["rights"]["group_id"] for lead in upsell
    } == {ACCOUNTS}


def test_generated_funnel_hands_leads_from_leadgen_to_sales(agency: AmoState) -> None:
    group = {uid: user["rights"]["group_id"] for uid, user in agency.users.items()}
    qualified = [
        e
        for e in agency.events
        if e["type"] == "lead_status_changed"
        and e["value_after"][0]["lead_status"] == {"id": QUALIFIED, "pipeline_id": SALES_PIPELINE}
    ]
    authors = Counter(group.get(e["created_by"], "robot") for e in qualified)
    assert authors[LEADGEN] > authors[SALES] > 0 and authors["robot"] > 0
    handed = [e for e in agency.events if e["type"] == "entity_responsible_changed"]
    assert handed and all(
        group[e["value_before"][0]["responsible_user"]["id"]] == LEADGEN
        and group[e["value_after"][0]["responsible_user"]["id"]] == SALES
        for e in handed
    )
    starts = NOW - 2 * 31 * 86400
    assert all(starts < event["created_at"] <= NOW for event in agency.events)
    hours = Counter(((e["created_at"] + MSK) % 86400) // 3600 for e in agency.events)
    assert sum(hours[h] for h in range(9, 20)) / len(agency.events) > 0.97


@pytest.mark.parametrize(
    "method, path", [("DELETE", "/_emulator/stats"), ("POST", "/_emulator/stats/reset")]
)
def test_the_request_log_is_read_and_emptied_over_http(
    small: AmoServer, method: str, path: str
) -> None:
    get(small, "/api/v4/leads")
    log = requests.get(small.url + "/_emulator/stats", timeout=5).json()
    assert [(e["method"], e["path"], e["status"]) for e in log["requests"]][-1] == (
        "GET",
        "/api/v4/leads",
        200,
    )
    assert requests.request(method, small.url + path, timeout=5).status_code == 204
    assert requests.get(small.url + "/_emulator/stats", timeout=5).json()["requests"] == []


def test_a_timestamp_bound_with_its_order_gives_exactly_the_filtered_list() -> None:
    state = leads_state(300)
    for lead in state.entities["leads"].values():  # ties, and one lead without a timestamp
        lead["updated_at"] = NOW - 1000 + (lead["id"] // 3) * 10
    state.entities["leads"][5]["updated_at"] = None
    server = serve(state, rps=10_000)
    try:
        for since in (0, NOW - 1000, NOW - 500, NOW - 495, NOW - 1, NOW + 1):
            params = {"filter[updated_at][from]": since, "order[updated_at]": "asc", "limit": 250}
            found = []
            for page in (1, 2):
                response = get(server, "/api/v4/leads", params | {"page": page})
                found += ids(response, "leads") if response.status_code == 200 else []
            leads = state.entities["leads"].values()
            expected = sorted(
                (lead["updated_at"], lead["id"])
                for lead in leads
                if isinstance(lead["updated_at"], int) and lead["updated_at"] >= since
            )
            assert found == [lead_id for _, lead_id in expected], since
    finally:
        server.stop()

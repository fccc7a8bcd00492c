"""The amoCRM emulator answers like AMOCRM_API.md says amoCRM does."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import requests

from sheets_kpi.emulators.amocrm import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REDIRECT_URI,
    DEMO_TOKEN,
    AmoState,
    Faults,
    generate_agency,
    serve,
)
from sheets_kpi.emulators.amocrm.query import parse_brackets
from tests.conftest import NOW

AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}


def get(server, path: str, params=None, headers=AUTH) -> requests.Response:
    return requests.get(f"{server.url}{path}", params=params, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "query",
    [
        [("filter[type]", "a,b")],
        [("filter[type][]", "a"), ("filter[type][]", "b")],
        [("filter[type][0]", "a"), ("filter[type][1]", "b")],
    ],
)
def test_three_spellings_of_an_array_filter_mean_the_same(query) -> None:
    parsed = parse_brackets(query, "filter")["type"]
    assert parsed in ("a,b", ["a", "b"])


def test_nested_status_filter_parses_to_pairs() -> None:
    query = [("filter[statuses][0][pipeline_id]", "1"), ("filter[statuses][0][status_id]", "2")]
    assert parse_brackets(query, "filter") == {"statuses": [{"pipeline_id": "1", "status_id": "2"}]}


def test_lists_filter_order_and_page(amo_server, agency: AmoState) -> None:
    user = next(u for u, v in agency.users.items() if v["rights"]["group_id"] == 101)
    expected = sorted(
        lead["id"]
        for lead in agency.entities["leads"].values()
        if lead["responsible_user_id"] == user
    )
    for spelling in (
        "filter[responsible_user_id]",
        "filter[responsible_user_id][]",
        "filter[responsible_user_id][0]",
    ):
        body = get(amo_server, "/api/v4/leads", {spelling: user, "limit": 250}).json()
        assert sorted(i["id"] for i in body["_embedded"]["leads"]) == expected
    times = sorted(e["created_at"] for e in agency.events)
    low, high = times[100], times[120]
    body = get(
        amo_server,
        "/api/v4/events",
        {
            "filter[created_at][from]": low,
            "filter[created_at][to]": high,
            "order[created_at]": "asc",
            "limit": 100,
        },
    ).json()
    got = [e["created_at"] for e in body["_embedded"]["events"]]
    assert got == sorted(got) and got[0] == low and got[-1] == high
    newest_first = get(amo_server, "/api/v4/events", {"limit": 5}).json()["_embedded"]["events"]
    assert newest_first[0]["created_at"] == times[-1]


def test_hal_envelope_links_are_absolute_and_keep_the_query(amo_server) -> None:
    body = get(amo_server, "/api/v4/leads", {"limit": 10, "with": "contacts"}).json()
    assert body["_page"] == 1
    assert body["_links"]["next"]["href"].startswith(amo_server.url + "/api/v4/leads?")
    assert "with=contacts" in body["_links"]["next"]["href"]
    lead = body["_embedded"]["leads"][0]
    assert lead["_embedded"]["contacts"][0]["is_main"] is True
    assert lead["_links"]["self"]["href"] == f"{amo_server.url}/api/v4/leads/{lead['id']}"
    without = get(amo_server, "/api/v4/leads", {"limit": 1}).json()["_embedded"]["leads"][0]
    assert "contacts" not in without["_embedded"]


def test_empty_list_is_204_with_empty_body(amo_server) -> None:
    response = get(amo_server, "/api/v4/leads", {"filter[id]": 1})
    assert (response.status_code, response.content) == (204, b"")


def test_errors_are_problem_json(amo_server) -> None:
    response = get(amo_server, "/api/v4/leads", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["detail"] == "Неверный логин или пароль"
    bad = get(amo_server, "/api/v4/events", {"filter[entity_id]": 5})
    assert bad.status_code == 400
    assert "X-Request-Id" in get(amo_server, "/api/v4/account").headers


def test_pipelines_are_a_dictionary_with_system_statuses(amo_server) -> None:
    body = get(amo_server, "/api/v4/leads/pipelines").json()
    assert body["_total_items"] == 2
    for pipeline in body["_embedded"]["pipelines"]:
        ids = {s["id"] for s in pipeline["_embedded"]["statuses"]}
        assert {142, 143} <= ids


def test_users_with_group_and_rank(amo_server) -> None:
    body = get(amo_server, "/api/v4/users", {"with": "group,user_rank"}).json()
    user = body["_embedded"]["users"][1]
    assert user["_embedded"]["groups"][0]["id"] == user["rights"]["group_id"]
    assert user["rank"] in ("newbie", "master")


def test_authorization_code_is_single_use_and_form_bodies_work(amo_server) -> None:
    state: AmoState = amo_server.app.state
    code = state.tokens.mint_code(DEMO_CLIENT_ID, state.now())
    form = {
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
    }
    first = requests.post(f"{amo_server.url}/oauth2/access_token", data=form, timeout=10)
    assert first.status_code == 200
    assert set(first.json()) == {
        "token_type",
        "expires_in",
        "server_time",
        "access_token",
        "refresh_token",
    }
    again = requests.post(f"{amo_server.url}/oauth2/access_token", data=form, timeout=10)
    assert again.status_code == 400
    wrong = requests.post(
        f"{amo_server.url}/oauth2/access_token", timeout=10, json={**form, "client_secret": "x"}
    )
    assert wrong.json()["title"] == "Некорректный клиент"


def test_rate_limit_answers_429_with_retry_after() -> None:
    server = serve(AmoState(), rps=2)
    try:
        statuses = [get(server, "/api/v4/account").status_code for _ in range(4)]
        assert statuses[:2] == [200, 200] and 429 in statuses
        limited = get(server, "/api/v4/account")
        assert limited.headers.get("Retry-After") == "1"
    finally:
        server.stop()


def test_faults_are_deterministic_for_a_seed() -> None:
    plan_a = Faults.parse("429=0.2,500=0.2,reset=0.1", seed=5)
    plan_b = Faults.parse("429=0.2,500=0.2,reset=0.1", seed=5)
    assert [plan_a.draw() for _ in range(50)] == [plan_b.draw() for _ in range(50)]
    assert {plan_a.draw() for _ in range(200)} == {"429", "500", "reset", None}
    with pytest.raises(ValueError, match="unknown fault"):
        Faults.parse("404=0.1")


def test_stats_log_every_request(amo_server) -> None:
    amo_server.reset_stats()
    get(amo_server, "/api/v4/leads", {"limit": 1})
    log = requests.get(f"{amo_server.url}/_emulator/stats", timeout=10).json()
    assert log["requests"] == [
        {"method": "GET", "path": "/api/v4/leads", "query": "limit=1", "status": 200}
    ]


def test_generator_is_deterministic_for_a_seed() -> None:
    one = generate_agency(managers=6, months=1, seed=3, now=NOW).snapshot()
    two = generate_agency(managers=6, months=1, seed=3, now=NOW).snapshot()
    other = generate_agency(managers=6, months=1, seed=4, now=NOW).snapshot()
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    assert json.dumps(one, sort_keys=True) != json.dumps(other, sort_keys=True)


def test_generated_agency_is_believable(agency: AmoState) -> None:
    groups = Counter(u["rights"]["group_id"] for u in agency.users.values())
    assert all(groups[g] >= 1 for g in (101, 102, 103, 104))
    ranks = {u["rank"] for u in agency.users.values() if u["rights"]["group_id"] in (101, 102)}
    assert ranks == {"newbie", "master"}
    incoming = [n for n in agency.notes["contacts"].values() if n["note_type"] == "call_in"]
    missed = [
        n for n in incoming if n["params"]["call_status"] in (6, 7) or n["params"]["duration"] == 0
    ]
    assert 0.10 <= len(missed) / len(incoming) <= 0.20
    tasks = list(agency.entities["tasks"].values())
    completed_at = {
        e["entity_id"]: e["created_at"] for e in agency.events if e["type"] == "task_completed"
    }
    late = [
        t for t in tasks if t["id"] in completed_at and completed_at[t["id"]] > t["complete_till"]
    ]
    still_open = [t for t in tasks if not t["is_completed"] and t["complete_till"] < NOW]
    assert late and still_open
    won = Counter(
        lead["_embedded"]["contacts"][0]["id"]
        for lead in agency.entities["leads"].values()
        if lead["status_id"] == 142
    )
    assert any(count >= 2 for count in won.values())
    assert any(not lead.get("custom_fields_values") for lead in agency.entities["leads"].values())
    types = Counter(e["type"] for e in agency.events)
    assert {
        "lead_status_changed",
        "entity_responsible_changed",
        "incoming_call",
        "outgoing_call",
        "task_completed",
    } <= set(types)


def test_snapshot_round_trips_through_a_file(tmp_path, agency: AmoState) -> None:
    path = tmp_path / "account.json"
    path.write_text(json.dumps(agency.snapshot(), ensure_ascii=False), encoding="utf-8")
    loaded = AmoState.load(path)
    assert json.dumps(loaded.snapshot(), sort_keys=True) == json.dumps(
        agency.snapshot(), sort_keys=True
    )

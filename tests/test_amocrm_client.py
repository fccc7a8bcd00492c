"""The real amoCRM client and sync, over HTTP, against the emulator."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from sheets_kpi.config import AmoConfig, OAuthConfig
from sheets_kpi.emulators.amocrm import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REDIRECT_URI,
    DEMO_TOKEN,
    AmoState,
    Faults,
    build_app,
    serve,
)
from sheets_kpi.emulators.server import EmulatorServer, Request, Response
from sheets_kpi.errors import AuthError, FatalSourceError, RetriableSourceError, Stopped
from sheets_kpi.retry import AMOCRM_RETRY, MAX_SERVER_WAIT
from sheets_kpi.sources.amocrm import make_client
from sheets_kpi.sources.amocrm.auth import LongLivedToken, OAuth2
from sheets_kpi.sources.amocrm.client import AmoClient, asked_wait
from sheets_kpi.sources.amocrm.streams import EVENT_TYPES, STREAMS
from sheets_kpi.sources.amocrm.sync import _sync_stream, sync, sync_dictionaries
from sheets_kpi.store.db import Store
from sheets_kpi.store.frames import amocrm_frames
from tests.conftest import NOW, NOW_AT, instant, shipped_config

CONFORMANCE = Path(__file__).parent / "conformance" / "amocrm"


def no_sleep(seconds: float) -> None:
    """Retries in these tests are about counts, not waiting."""


def leads_state(count: int) -> AmoState:
    leads = [
        {
            "id": i,
            "name": f"Deal {i}",
            "price": 1000,
            "responsible_user_id": 1,
            "status_id": 10,
            "pipeline_id": 1,
            "created_at": NOW - 1000 + i,
            "updated_at": NOW - 1000 + i,
            "is_deleted": False,
        }
        for i in range(1, count + 1)
    ]
    return AmoState({"leads": leads})


def client_for(server, **kwargs) -> AmoClient:
    kwargs.setdefault("requests_per_second", 1000)
    kwargs.setdefault("sleep", no_sleep)
    return AmoClient(server.url, LongLivedToken(DEMO_TOKEN), **kwargs)


@pytest.mark.parametrize(
    ("count", "pages", "requests_made"),
    [(600, [250, 250, 100], 3), (500, [250, 250], 3), (0, [], 1)],
)
def test_pages_cross_the_250_boundary_and_stop_on_204(count, pages, requests_made) -> None:
    server = serve(leads_state(count), rps=1000)
    try:
        client = client_for(server)
        walked = [len(page) for page in client.pages("/api/v4/leads", "leads", [])]
        assert walked == pages
        assert client.requests_made == requests_made
        statuses = [r["status"] for r in server.stats()["requests"]]
        assert statuses[-1] == (204 if count % 250 == 0 else 200)
    finally:
        server.stop()


def test_unknown_id_is_204_and_reads_as_none() -> None:
    server = serve(leads_state(3), rps=1000)
    try:
        client = client_for(server)
        assert client.get("/api/v4/leads/2")["id"] == 2
        assert client.get("/api/v4/leads/999") is None
    finally:
        server.stop()


def test_429_is_retried_after_retry_after() -> None:
    server = serve(leads_state(5), rps=3)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    try:
        client = client_for(server, sleep=sleep)
        results = [client.get(f"/api/v4/leads/{i}")["id"] for i in range(1, 6)]
        assert results == [1, 2, 3, 4, 5]
        assert 1.0 in slept
        assert [r["status"] for r in server.stats()["requests"]].count(429) >= 1
    finally:
        server.stop()


def test_a_wait_beyond_the_cap_is_honoured_by_leaving_amocrm_to_the_next_cycle() -> None:
    """Kommo's 429 says `retry_after: 300` in the body: asking again before that is how an
    integration gets blocked, so the client stops at once and the next cycle resumes."""
    server = serve(leads_state(1), rps=1000, faults=Faults({"429": 1.0}, retry_after=300))
    slept: list[float] = []
    try:
        client = client_for(server, sleep=slept.append)
        with pytest.raises(RetriableSourceError, match=r"amoCRM asked to wait 300 s"):
            client.get("/api/v4/leads/1")
        assert client.requests_made == 1
        assert [s for s in slept if s > 1] == []
    finally:
        server.stop()


def test_the_recorded_429_body_is_read_for_its_wait() -> None:
    recorded = json.loads(
        (CONFORMANCE / "40_error_429_kommo_docs.json").read_text(encoding="utf-8")
    )
    response = requests.Response()
    response.status_code = 429
    response._content = json.dumps(recorded["body"]).encode()
    assert asked_wait(response) == 300
    response._content = b"<html>Too Many Requests</html>"  # some 429s are not JSON
    response.headers["Retry-After"] = "2"
    assert asked_wait(response) == 2
    assert MAX_SERVER_WAIT < 300


def test_max_retries_in_the_config_counts_retries_and_retry_after_0_is_no_wait() -> None:
    server = serve(leads_state(1), rps=1000, faults=Faults({"429": 1.0}, retry_after=0))
    try:
        settings = shipped_config(base_url=server.url, requests_per_second=1000, max_retries=2)
        client = make_client(settings.amocrm)
        started = time.monotonic()
        with pytest.raises(RetriableSourceError, match="after 3 attempts"):
            client.get("/api/v4/leads/1")
        assert client.requests_made == 3
        assert time.monotonic() - started < 0.25  # a backoff would have slept 0.25 s at least
    finally:
        server.stop()


def test_5xx_and_connection_resets_are_retried_to_the_same_result() -> None:
    faults = Faults({"500": 0.3, "502": 0.1, "reset": 0.1, "truncate": 0.1}, seed=3)
    server = serve(leads_state(600), rps=1000, faults=faults)
    try:
        client = client_for(server, retry=dataclasses.replace(AMOCRM_RETRY, max_attempts=11))
        ids = [lead["id"] for page in client.pages("/api/v4/leads", "leads", []) for lead in page]
        assert ids == list(range(1, 601))
        assert client.requests_made > 3
    finally:
        server.stop()


def test_retries_are_bounded() -> None:
    server = serve(leads_state(1), rps=1000, faults=Faults({"503": 1.0}))
    try:
        client = client_for(server, retry=dataclasses.replace(AMOCRM_RETRY, max_attempts=4))
        with pytest.raises(RetriableSourceError, match="after 4 attempts"):
            client.get("/api/v4/leads")
        assert client.requests_made == 4
    finally:
        server.stop()


def test_events_limit_above_100_gives_50_and_no_next(agency: AmoState) -> None:
    server = serve(AmoState(agency.snapshot()), rps=1000)
    try:
        body = requests.get(
            f"{server.url}/api/v4/events",
            params={"limit": 250},
            headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
            timeout=10,
        ).json()
        assert len(body["_embedded"]["events"]) == 50
        assert "next" not in body["_links"]
    finally:
        server.stop()


def oauth_client(server, state: AmoState, tmp_path) -> tuple[AmoClient, OAuth2, OAuthConfig]:
    settings = OAuthConfig(
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        redirect_uri=DEMO_REDIRECT_URI,
        token_file=tmp_path / "amo.json",
    )
    session = requests.Session()
    auth = OAuth2(server.url, settings, session)
    auth.exchange_code(state.tokens.mint_code(DEMO_CLIENT_ID, state.now()))
    client = AmoClient(server.url, auth, session=session, requests_per_second=1000, sleep=no_sleep)
    return client, auth, settings


def token_post(server, refresh_token: str) -> requests.Response:
    return requests.post(
        f"{server.url}/oauth2/access_token",
        timeout=10,
        json={
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "redirect_uri": DEMO_REDIRECT_URI,
        },
    )


def test_expired_access_token_is_refreshed_and_rotation_persisted(tmp_path) -> None:
    state = leads_state(2)
    server = serve(state, rps=1000)
    try:
        client, _, settings = oauth_client(server, state, tmp_path)
        first = json.loads(settings.token_file.read_text())
        assert client.get("/api/v4/leads/1")["id"] == 1
        state.advance(86400 + 1)
        assert client.get("/api/v4/leads/1")["id"] == 1
        second = json.loads(settings.token_file.read_text())
        assert second["refresh_token"] != first["refresh_token"]
        assert (settings.token_file.stat().st_mode & 0o777) == 0o600
        reused = token_post(server, first["refresh_token"])
        assert reused.status_code == 401
        assert reused.json()["hint"] == "Token has been revoked"
        statuses = [r["status"] for r in server.stats()["requests"] if r["path"] != "/_emulator"]
        assert statuses.count(401) == 2
    finally:
        server.stop()


def test_rejected_refresh_stops_with_one_clear_message(tmp_path) -> None:
    state = leads_state(1)
    server = serve(state, rps=1000)
    try:
        client, _, settings = oauth_client(server, state, tmp_path)
        stolen = json.loads(settings.token_file.read_text())["refresh_token"]
        assert token_post(server, stolen).status_code == 200
        state.advance(86400 + 1)
        with pytest.raises(AuthError, match=r"refused the refresh token .* `sheets-kpi auth`"):
            client.get("/api/v4/leads/1")
    finally:
        server.stop()


def test_a_blocked_token_endpoint_is_not_mistaken_for_a_revoked_refresh_token(tmp_path) -> None:
    state = leads_state(1)
    server = serve(state, rps=1)
    try:
        client, _, settings = oauth_client(server, state, tmp_path)
        limits = {"block_after": 1, "block_seconds": 3600, "retry_after": None}
        requests.post(f"{server.url}/_emulator/limits", json=limits, timeout=10)
        abuser = state.tokens.mint_long_lived(state.now())
        statuses = [
            requests.get(
                f"{server.url}/api/v4/leads/1",
                headers={"Authorization": f"Bearer {abuser}"},
                timeout=10,
            ).status_code
            for _ in range(3)
        ]
        assert statuses[-1] == 403  # the account is blocked now
        saved = settings.token_file.read_text()
        state.advance(86400 + 1)  # the access token expired: a refresh is due
        with pytest.raises(AuthError, match=r"blocked the token request .* amoCRM support"):
            client.get("/api/v4/leads/1")
        assert settings.token_file.read_text() == saved  # the pair is kept for after the block
    finally:
        server.stop()


def test_expired_long_lived_token_says_how_to_replace_it() -> None:
    state = leads_state(1)
    token = state.tokens.mint_long_lived(state.now(), lifetime=60)
    server = serve(state, rps=1000)
    try:
        state.advance(120)
        client = AmoClient(server.url, LongLivedToken(token), sleep=no_sleep)
        with pytest.raises(AuthError, match="Keys and scopes"):
            client.get("/api/v4/leads/1")
    finally:
        server.stop()


def store_ids(store: Store, table: str) -> list:
    return [row[0] for row in store.query(f"SELECT id FROM {table} ORDER BY id")]


def emulator_ids(state: AmoState, kind: str) -> list:
    if kind == "events":  # the types something reads: not lead_added nor the call events
        return sorted(e["id"] for e in state.events if e["type"] in EVENT_TYPES)
    if kind == "notes":  # the sync reads call notes only; the cards also carry other notes
        return sorted(
            n["id"]
            for notes in state.notes.values()
            for n in notes.values()
            if n["note_type"] in ("call_in", "call_out")
        )
    return sorted(i for i, item in state.entities[kind].items() if not item.get("is_deleted"))


def fresh_sync_of(amo_server) -> tuple[AmoState, AmoConfig, AmoClient]:
    """The emulator's account, its settings and a client to fill the (empty) `store` fixture."""
    settings = shipped_config(base_url=amo_server.url, requests_per_second=1000).amocrm
    return amo_server.app.state, settings, client_for(amo_server)


def test_full_sync_matches_the_emulator_exactly(store: Store, amo_server) -> None:
    state, settings, client = fresh_sync_of(amo_server)
    report = sync(client, store, settings, now=NOW_AT)
    assert report.backfill
    for kind in ("leads", "contacts", "companies", "tasks", "events"):
        assert store_ids(store, kind) == emulator_ids(state, kind), kind
    assert sorted(store_ids(store, "notes")) == emulator_ids(state, "notes")
    assert report.new == sum(store.counts().values())


def test_a_full_sync_through_faults_ends_with_exactly_the_emulators_data(
    store: Store, agency
) -> None:
    # Seeded so that this short sync meets each kind of failure.
    rates = {"429": 0.05, "500": 0.05, "reset": 0.03, "truncate": 0.03, "slow": 0.02}
    faults = Faults(rates, seed=2)
    faults.slow_seconds = 0.01
    server = serve(AmoState(agency.snapshot()), rps=1000, faults=faults)
    try:
        state, settings, client = fresh_sync_of(server)
        sync(client, store, settings, now=NOW_AT)
        for kind in ("leads", "contacts", "companies", "tasks", "events"):
            assert store_ids(store, kind) == emulator_ids(state, kind), kind
        assert sorted(store_ids(store, "notes")) == emulator_ids(state, "notes")
        assert any(r["status"] in (429, 500) for r in server.stats()["requests"])
    finally:
        server.stop()


def after_page(
    monkeypatch, path: str, number: int, happen: Callable[[], None]
) -> Callable[[], int]:
    """Something happens just after the `number`-th page of `path` is answered, mid-sync.

    Returns a count of the pages of `path` asked for so far.
    """
    real_get = AmoClient.get
    pages = 0

    def get(self, asked: str, params=None):
        nonlocal pages
        answer = real_get(self, asked, params)
        pages += asked == path
        if pages == number:
            happen()
        return answer

    monkeypatch.setattr(AmoClient, "get", get)
    return lambda: pages


def crash() -> None:
    raise ConnectionError("worker killed mid-sync")


def test_crash_after_page_k_resumes_without_loss_or_duplicates(
    store: Store, amo_server, monkeypatch
) -> None:
    state, settings, client = fresh_sync_of(amo_server)
    after_page(monkeypatch, "/api/v4/events", 3, crash)
    with pytest.raises(ConnectionError):
        sync(client, store, settings, now=NOW_AT)
    assert 0 < len(store_ids(store, "events")) < len(state.events)
    assert store.cursor("events") is not None
    monkeypatch.undo()
    sync(client, store, settings, now=NOW_AT)
    assert store_ids(store, "events") == emulator_ids(state, "events")
    assert store_ids(store, "leads") == emulator_ids(state, "leads")


def test_an_item_edited_mid_walk_shifts_no_other_item_out_of_the_sync(
    store: Store, monkeypatch
) -> None:
    state = leads_state(600)
    server = serve(state, rps=10_000)
    try:
        settings = shipped_config(base_url=server.url, requests_per_second=1000).amocrm

        def edit_an_early_lead() -> None:  # a manager edits it while the sync walks the list
            state.entities["leads"][10]["updated_at"] = NOW - 30
            state._changed()

        after_page(monkeypatch, "/api/v4/leads", 1, edit_an_early_lead)
        sync(client_for(server), store, settings, now=NOW_AT)
        assert store_ids(store, "leads") == emulator_ids(state, "leads")
        assert store.query("SELECT updated_at FROM leads WHERE id = 10") == [(NOW - 30,)]
    finally:
        server.stop()


def test_tasks_deleted_during_the_walk_shift_no_other_task_out_of_the_sync(
    store: Store, amo_server, monkeypatch
) -> None:
    state, settings, client = fresh_sync_of(amo_server)
    first_page = sorted(state.entities["tasks"])[:5]

    def delete_five_of_page_one() -> None:
        for task_id in first_page:
            state.delete_task(task_id, by=0, at=NOW)

    task_pages = after_page(monkeypatch, "/api/v4/tasks", 2, delete_five_of_page_one)
    sync(client, store, settings, now=NOW_AT)
    live = [row[0] for row in store.query("SELECT id FROM tasks WHERE is_deleted = 0 ORDER BY id")]
    assert live == emulator_ids(state, "tasks")  # none shifted out, the five marked deleted
    assert task_pages() > 2 * 2  # the walk was read once more


def test_a_list_whose_order_the_api_ignores_is_read_whole_before_the_cursor_moves(
    store: Store,
    amo_server,
) -> None:
    state = amo_server.app.state
    # tasks are ordered by created_at, complete_till or id only: order[updated_at] is ignored
    by_updated_at = next(s for s in STREAMS if s.name == "tasks")
    stream = dataclasses.replace(by_updated_at, order_field=None)
    client = client_for(amo_server)
    _sync_stream(client, store, stream, start=0, now=NOW, progress=None)
    assert store_ids(store, "tasks") == emulator_ids(state, "tasks")
    newest = max(t["updated_at"] for t in state.entities["tasks"].values())
    assert store.cursor("tasks") == min(NOW, newest)


def test_a_stop_ends_the_sync_after_the_page_in_hand_with_its_cursor_saved(
    store: Store, amo_server, monkeypatch
) -> None:
    state, settings, client = fresh_sync_of(amo_server)
    stop = threading.Event()
    after_page(monkeypatch, "/api/v4/leads", 1, stop.set)  # SIGTERM with the first page in hand
    with pytest.raises(Stopped, match="during the leads sync"):
        sync(client, store, settings, now=NOW_AT, stop=stop)
    assert len(store_ids(store, "leads")) > 0 and store.cursor("leads") is not None
    monkeypatch.undo()
    sync(client, store, settings, now=NOW_AT)
    assert store_ids(store, "leads") == emulator_ids(state, "leads")


def test_incremental_sync_fetches_only_what_changed(store: Store, amo_server) -> None:
    state, settings, client = fresh_sync_of(amo_server)
    sync(client, store, settings, now=NOW_AT)
    overlap = settings.overlap_minutes * 60
    reread = sum(  # what the overlap window legitimately reads again
        len(
            [
                i
                for i in state.select(s.table, list(s.params), s.path.split("/")[3])
                if i.get(s.cursor_field, 0) >= store.cursor(s.name) - overlap
            ]
        )
        for s in STREAMS
        if store.cursor(s.name) is not None
    )
    lead = next(i for i in state.entities["leads"].values() if i["status_id"] not in (142, 143))
    user = lead["responsible_user_id"]
    later = max(e["created_at"] for e in state.events) + 3600
    state.move_lead(lead["id"], 143, user, at=later)
    state.add_call("contacts", 999_999, user, "in", "+79990001122", 0, 6, at=later)
    amo_server.reset_stats()
    report = sync(client, store, settings, now=instant(later + 60))
    assert report.new == 2  # the call note and the status event (not the call's own event)
    streamed = sum(report.per_stream[stream.name].updated for stream in STREAMS)
    assert streamed <= reread + 1  # the overlap window, plus the moved lead
    assert report.requests == 2 + len(STREAMS)  # users, pipelines, one page per stream
    assert store.query("SELECT status_id FROM leads WHERE id = ?", (lead["id"],)) == [(143,)]
    event_query = next(
        r["query"] for r in amo_server.stats()["requests"] if r["path"] == "/api/v4/events"
    )
    assert "filter[created_at][from]" in event_query


def test_deletions_and_restores_follow_the_events_in_order(store: Store, amo_server) -> None:
    state, settings, client = fresh_sync_of(amo_server)
    sync(client, store, settings, now=NOW_AT)
    lead = next(i for i in state.entities["leads"].values() if not i.get("is_deleted"))
    task = next(i for i in state.entities["tasks"].values() if not i.get("is_completed"))
    later = max(e["created_at"] for e in state.events) + 3600
    state.delete_lead(lead["id"], lead["responsible_user_id"], at=later)
    state.restore_lead(lead["id"], lead["responsible_user_id"], at=later + 60)
    state.delete_task(task["id"], task["responsible_user_id"], at=later + 120)
    sync(client, store, settings, now=instant(later + 600))
    assert store.query("SELECT is_deleted FROM leads WHERE id = ?", (lead["id"],)) == [(0,)]
    assert store.query("SELECT is_deleted FROM tasks WHERE id = ?", (task["id"],)) == [(1,)]
    assert task["id"] not in set(amocrm_frames(store)["tasks"]["task_id"])


def test_malformed_item_is_skipped_alone(store: Store, caplog) -> None:
    state = leads_state(3)
    state.entities["leads"][2]["created_at"] = "yesterday"
    server = serve(state, rps=1000)
    try:
        settings = shipped_config(base_url=server.url).amocrm
        with caplog.at_level(logging.WARNING):
            sync(client_for(server), store, settings, now=NOW_AT)
        assert store_ids(store, "leads") == [1, 3]
        assert "skipped amoCRM leads id=2" in caplog.text
    finally:
        server.stop()


def test_a_user_removed_from_amocrm_leaves_the_users_frame_but_not_the_store(
    store: Store, amo_server
) -> None:
    state, settings, client = fresh_sync_of(amo_server)
    sync(client, store, settings, now=NOW_AT)
    gone = max(state.users)
    removed = state.users.pop(gone)
    state._changed()
    sync(client, store, settings, now=NOW_AT)
    assert gone not in set(amocrm_frames(store)["users"]["user_id"])
    assert store.query("SELECT is_deleted FROM users WHERE id = ?", (gone,)) == [(1,)]
    state.users[gone] = removed  # back again, e.g. restored by an admin
    state._changed()
    sync(client, store, settings, now=NOW_AT)
    assert gone in set(amocrm_frames(store)["users"]["user_id"])


def test_a_next_link_back_to_a_read_page_fails_the_sync_and_marks_no_user_deleted(
    store: Store, agency
) -> None:
    """The users list is read whole, and a user missing from it is marked deleted: a walk that
    ended quietly at a looping link would mark the users of the unread pages deleted."""
    emulator = build_app(AmoState(agency.snapshot()), rps=1000)
    looping = threading.Event()

    def answer(request: Request) -> Response:
        response = emulator(request)
        if looping.is_set() and request.path == "/api/v4/users" and response.status == 200:
            payload = json.loads(response.body)
            payload["_embedded"]["users"] = payload["_embedded"]["users"][:3]
            payload["_links"]["next"] = {"href": f"{request.path}?{urlencode(request.query)}"}
            return Response.json(200, payload)
        return response

    server = EmulatorServer(answer).start()
    try:
        client = client_for(server)
        sync_dictionaries(client, store, NOW_AT)
        looping.set()
        with pytest.raises(RetriableSourceError, match="leads back to a page already read"):
            sync_dictionaries(client, store, NOW_AT)
        assert store.query("SELECT count(*) FROM users WHERE is_deleted = 1") == [(0,)]
    finally:
        server.stop()


def test_a_host_that_does_not_resolve_or_refuses_fails_at_once_naming_it() -> None:
    """A wrong base_url answers the same on every retry: one request, and what to check."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    for base_url, says in (
        (f"http://127.0.0.1:{port}", f"127.0.0.1:{port} refused the connection"),
        ("http://no-such-account.invalid", "the host no-such-account.invalid does not resolve"),
    ):
        client = AmoClient(base_url, LongLivedToken(DEMO_TOKEN), sleep=no_sleep)
        with pytest.raises(FatalSourceError, match=says):
            client.get("/api/v4/account")
        assert client.requests_made == 1


def test_a_wrong_client_secret_is_named_as_such_not_as_a_revoked_token(tmp_path) -> None:
    state = leads_state(1)
    server = serve(state, rps=1000)
    try:
        _, _, settings = oauth_client(server, state, tmp_path)
        kept = settings.token_file.read_text()
        wrong = settings.model_copy(update={"client_secret": "not-the-secret"})
        broken = AmoClient(
            server.url, OAuth2(server.url, wrong, requests.Session()), sleep=no_sleep
        )
        state.advance(86400 + 1)  # the access token expired: a refresh is needed
        with pytest.raises(AuthError, match="client_id or client_secret is wrong"):
            broken.get("/api/v4/leads/1")
        assert settings.token_file.read_text() == kept
    finally:
        server.stop()

"""`sheets-kpi doctor` against the emulators: each check one line with its fix, and a host that
cannot answer costs one request and well under 3 s."""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import yaml

from sheets_kpi.cli import main
from sheets_kpi.doctor import Check, run_checks
from sheets_kpi.emulators.amocrm import DEMO_TOKEN
from sheets_kpi.emulators.sheets import SheetsState
from sheets_kpi.emulators.sheets import serve as serve_sheets
from sheets_kpi.store.db import Store
from sheets_kpi.store.schema import MIGRATIONS
from tests.conftest import NOW_AT, ROOT


@pytest.fixture
def sheets() -> Iterator[tuple[SheetsState, str]]:
    state = SheetsState()
    state.create_spreadsheet("KPI", "doctor-book")
    server = serve_sheets(state=state)
    yield state, server.url
    server.stop()


def config_file(tmp_path: Path, amocrm: dict, google: dict, **top: object) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["amocrm"].update(requests_per_second=50, **amocrm)
    data["google"].update(spreadsheet="doctor-book", **google)
    data["store"] = str(tmp_path / "s.db")
    for key, value in top.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def checks(path: Path) -> dict[str, Check]:
    return {check.name: check for check in run_checks(path, NOW_AT)}


def closed_port() -> int:
    """A port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def token(monkeypatch) -> None:
    monkeypatch.setenv("AMO_TOKEN", DEMO_TOKEN)


def test_a_healthy_setup_passes_every_check(tmp_path, amo_server, sheets) -> None:
    _, url = sheets
    path = config_file(tmp_path, {"base_url": amo_server.url}, {"endpoint": url})
    assert main(["--now", NOW_AT.isoformat(), "--config", str(path), "init"]) == 0
    found = checks(path)
    assert [c.name for c in found.values() if not c.ok] == []
    assert "all 4 configured stage references exist" in found["stages"].detail
    assert "required field(s) exist" in found["fields"].detail
    assert "may edit the spreadsheet" in found["editor"].detail
    assert "all 6 input tabs are there" in found["input tabs"].detail


@pytest.mark.parametrize("host", ["sheets-kpi-nowhere.invalid", "127.0.0.1:{port}"])
def test_an_unreachable_host_is_named_at_once_and_not_retried(tmp_path, host) -> None:
    host = host.format(port=closed_port())
    path = config_file(tmp_path, {"base_url": f"http://{host}"}, {"endpoint": f"http://{host}"})
    started = time.monotonic()
    found = checks(path)
    assert time.monotonic() - started < 3
    why = "does not resolve (DNS)" if host.endswith(".invalid") else "refused the connection"
    for name in ("amoCRM", "spreadsheet"):
        assert not found[name].ok and host in found[name].detail and why in found[name].detail
    assert found["stages"].skipped and "amoCRM failed" in found["stages"].detail
    assert found["editor"].skipped and found["input tabs"].skipped
    assert "retry" not in found["amoCRM"].detail


def test_a_disabled_sheets_api_is_told_apart_from_a_missing_share(
    tmp_path, amo_server, sheets
) -> None:
    state, url = sheets
    path = config_file(tmp_path, {"base_url": amo_server.url}, {"endpoint": url})
    state.api_enabled = False
    disabled = checks(path)["spreadsheet"].detail
    assert "Google Sheets API is not enabled" in disabled
    assert "sheets.googleapis.com/overview?project=" in disabled and "share" not in disabled
    state.api_enabled = True
    state.spreadsheets["doctor-book"].shared = False
    unshared = checks(path)["spreadsheet"].detail
    assert "share it as Editor" in unshared and "not enabled" not in unshared


def test_a_viewer_share_fails_the_editor_check(tmp_path, amo_server, sheets) -> None:
    state, url = sheets
    state.spreadsheets["doctor-book"].read_only = True
    found = checks(config_file(tmp_path, {"base_url": amo_server.url}, {"endpoint": url}))
    assert found["spreadsheet"].ok
    assert not found["editor"].ok and "(Viewer)" in found["editor"].detail
    assert "as Editor" in found["editor"].detail


def test_missing_input_tabs_name_init(tmp_path, amo_server, sheets) -> None:
    _, url = sheets
    found = checks(config_file(tmp_path, {"base_url": amo_server.url}, {"endpoint": url}))
    detail = found["input tabs"].detail
    assert not found["input tabs"].ok and "Сотрудники" in detail and "sheets-kpi init" in detail


def test_names_that_match_nothing_in_amocrm_list_the_closest(tmp_path, amo_server, sheets) -> None:
    _, url = sheets
    amocrm = {
        "base_url": amo_server.url,
        "stages": {"handoff": ["Квалифецирован"], "proposal": ["КП отправлено"]},
        "upsell": {"pipelines": ["Допродажа"]},
    }
    path = config_file(
        tmp_path,
        amocrm,
        {"endpoint": url},
        rules={"required_fields": {"КП отправлено": ["Истоник"]}},
    )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["departments"][1]["kpis"][0]["metric"] = "won_amount(999)"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    found = checks(path)
    assert (
        "amocrm.stages.handoff: Квалифецирован (closest: Квалифицирован" in found["stages"].detail
    )
    assert "Допродажа (closest: Допродажи" in found["pipelines"].detail
    assert "Истоник (closest: Источник" in found["fields"].detail
    metrics = found["metrics"].detail
    assert "departments.sales.kpis.sales_rub: won_amount(999)" in metrics
    assert "departments.leadgen.kpis.handoffs: stage_reached(handoff)" in metrics


def test_oauth_before_the_first_auth_says_run_auth(tmp_path, amo_server) -> None:
    oauth = {
        "client_id": "id",
        "client_secret": "secret",
        "redirect_uri": "https://example.com/cb",
        "token_file": str(tmp_path / "tokens.json"),
    }
    path = config_file(tmp_path, {"base_url": amo_server.url, "auth": {"oauth": oauth}}, {})
    detail = checks(path)["amoCRM"].detail
    assert "run `sheets-kpi auth` once" in detail and "again" not in detail


def test_a_401_from_sheets_is_a_sentence(tmp_path, amo_server) -> None:
    state = SheetsState()
    state.create_spreadsheet("KPI", "doctor-book")
    server = serve_sheets(state=state, require_auth=True)
    try:
        found = checks(
            config_file(tmp_path, {"base_url": amo_server.url}, {"endpoint": server.url})
        )
    finally:
        server.stop()
    detail = found["spreadsheet"].detail
    assert "did not accept the credentials (HTTP 401)" in detail and "APIError" not in detail


def test_auth_with_a_kommo_account_links_the_kommo_consent_page(
    tmp_path, capsys, monkeypatch
) -> None:
    oauth = {"client_id": "cid", "client_secret": "s", "redirect_uri": "https://example.com/cb"}
    path = config_file(
        tmp_path, {"base_url": "https://team.kommo.com", "auth": {"oauth": oauth}}, {}
    )
    monkeypatch.setattr("builtins.input", lambda prompt: "")
    assert main(["--config", str(path), "auth"]) == 2
    out = capsys.readouterr().out
    assert "https://www.kommo.com/oauth?client_id=cid" in out and "amocrm.ru" not in out


def store_probe(tmp_path: Path, store: Path) -> Check:
    """The store check alone, for the config's store at `store`."""
    path = config_file(tmp_path, {}, {}, store=str(store))
    return next(c for c in run_checks(path, NOW_AT) if c.name == "store")


@pytest.mark.parametrize("where", ["s.db", "new/folder/s.db"])
def test_the_store_check_creates_no_store(tmp_path, where) -> None:
    before = sorted(tmp_path.iterdir())
    check = store_probe(tmp_path, tmp_path / where)
    assert check.ok and "does not exist yet: the first `sync` or `run` creates it" in check.detail
    assert ("and its folder" in check.detail) == ("/" in where)
    assert sorted(tmp_path.iterdir()) == sorted([*before, tmp_path / "config.yaml"])


def test_the_store_check_opens_an_existing_store_and_leaves_it_as_it_was(tmp_path) -> None:
    store = tmp_path / "data" / "s.db"
    Store(store).close()
    before = store.read_bytes()
    check = store_probe(tmp_path, store)
    assert check.ok and check.detail == f"{store} opens and is writable"
    assert store.read_bytes() == before and sorted(p.name for p in store.parent.iterdir()) == [
        "s.db"
    ]  # no -wal or -shm left behind


def test_a_store_of_an_older_schema_is_not_migrated_by_the_check(tmp_path) -> None:
    store = tmp_path / "s.db"
    with sqlite3.connect(store) as conn:
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    check = store_probe(tmp_path, store)
    assert check.ok and f"updates its schema (1 → {len(MIGRATIONS)})" in check.detail
    with closing(sqlite3.connect(store)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


@pytest.mark.parametrize("kind", ["not a database", "newer", "under a file"])
def test_a_store_that_cannot_serve_fails_the_check_with_its_fix(tmp_path, kind) -> None:
    store = tmp_path / "s.db"
    if kind == "not a database":
        store.write_text("notes, not a store\n" * 100)
    elif kind == "newer":
        with sqlite3.connect(store) as conn:
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
        conn.close()
    else:
        (tmp_path / "a-file").write_text("")
        store = tmp_path / "a-file" / "s.db"
    check = store_probe(tmp_path, store)
    expected = {
        "not a database": "cannot open the store (file is not a database)",
        "newer": "written by a newer sheets-kpi",
        "under a file": "is not a folder the store s.db can be created in",
    }
    assert not check.ok and expected[kind] in check.detail
    assert not (tmp_path / "a-file").is_dir()

"""Secrets never leave: every way a token could reach a log line, stderr, the store or a tab."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from sheets_kpi import redaction
from sheets_kpi.cli import main
from sheets_kpi.config import GoogleConfig
from sheets_kpi.emulators.amocrm import AmoState, generate_agency
from sheets_kpi.emulators.amocrm import serve as serve_amocrm
from sheets_kpi.emulators.server import EmulatorServer
from sheets_kpi.emulators.sheets import SheetsState
from sheets_kpi.emulators.sheets import serve as serve_sheets
from sheets_kpi.logs import setup_logging
from sheets_kpi.redaction import redact
from sheets_kpi.sheets.gateway import SheetsGateway
from sheets_kpi.sources.amocrm.auth import TokenFile
from sheets_kpi.store.db import Store
from tests.conftest import NOW, NOW_AT, ROOT

BOOK = "secrets-book-0123456789"
#: A long-lived token of no known shape: only the remembered value can find it.
OPAQUE_TOKEN = "opaque-token-7f3a9c2e1b5d"
REFRESH = "def50200" + "ab12" * 40
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXBhcnQ"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


@pytest.fixture(autouse=True)
def _fresh_secrets() -> Iterator[None]:
    redaction.forget_all()
    yield
    redaction.forget_all()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("rejected: Authorization: Bearer abc.def-123456", "abc.def-123456"),
        ('{"refresh_token": "r-0123456789xyz"}', "r-0123456789xyz"),
        ('{\\"access_token\\": \\"a-0123456789xyz\\"}', "a-0123456789xyz"),
        ("client_secret=c-0123456789", "c-0123456789"),
        (f"token {JWT} expired", JWT),
        (f"bad value {REFRESH!r}", REFRESH),
        (f"key: {PEM} tail", "MIIEvQIBADAN"),
        ("cut: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA", "MIIEowIBAAKC"),
        ("token ya29.a0AfH6SMBx-Kq0123456789 refused", "ya29.a0AfH6SMBx"),
    ],
)
def test_secret_shapes_are_redacted(text: str, secret: str) -> None:
    assert secret not in redact(text)
    assert "***" in redact(text)


def test_known_values_are_redacted_whatever_their_shape() -> None:
    assert redact(f"echo {OPAQUE_TOKEN}!") == f"echo {OPAQUE_TOKEN}!"
    redaction.remember(OPAQUE_TOKEN, "short")
    assert redact(f"echo {OPAQUE_TOKEN}!") == "echo ***!"
    assert redact("a short word") == "a short word"  # under 8 characters: never a known secret


def test_ordinary_messages_and_spreadsheet_ids_are_left_alone() -> None:
    text = (
        "personal spreadsheet 1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms: HTTP 404, "
        "Сотрудники row 4, column bonus_base: must be a number, got '-1000'"
    )
    assert redact(text) == text


def test_a_malformed_token_file_names_the_field_never_its_value(tmp_path) -> None:
    path = tmp_path / "amo_tokens.json"
    path.write_text(
        json.dumps({"access_token": JWT, "refresh_token": REFRESH, "expires_at": REFRESH[:40]})
    )
    with pytest.raises(Exception) as caught:
        TokenFile(path).load()
    assert str(caught.value) == (
        f"{path}: the token file has a missing or malformed expires_at; "
        "run `sheets-kpi auth` to authorise the integration again"
    )
    assert redact(f"x {REFRESH[:40]} y") == "x *** y"  # its values are remembered anyway


def test_log_lines_and_tracebacks_are_redacted(capsys) -> None:
    setup_logging()
    redaction.remember(OPAQUE_TOKEN)
    try:
        raise ValueError(f"echoed {OPAQUE_TOKEN}")
    except ValueError:
        logging.getLogger("sheets_kpi.test").exception("failed with %s", OPAQUE_TOKEN)
    err = capsys.readouterr().err
    assert OPAQUE_TOKEN not in err and err.count("***") == 2


@dataclass
class World:
    amo: EmulatorServer
    sheets: SheetsState
    sheets_server: EmulatorServer
    folder: Path

    def config(self, auth: dict) -> str:
        data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
        data["amocrm"].update(base_url=self.amo.url, requests_per_second=50, max_retries=0)
        data["amocrm"]["auth"] = auth
        data["google"].update(spreadsheet=BOOK, endpoint=self.sheets_server.url)
        data["store"] = str(self.folder / "store.db")
        path = self.folder / "config.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return str(path)

    def everything(self) -> str:
        """Every cell of every tab, and every byte of the store's files."""
        gateway = SheetsGateway(self._google())
        book = gateway.client.open_by_key(BOOK)
        cells = [json.dumps(ws.get_values(), ensure_ascii=False) for ws in book.worksheets()]
        stored = [
            p.read_bytes().decode("utf-8", "replace")
            for p in self.folder.iterdir()
            if p.name.startswith("store.db")
        ]
        return "\n".join(cells + stored)

    def _google(self) -> GoogleConfig:
        return GoogleConfig(spreadsheet=BOOK, endpoint=self.sheets_server.url)


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    account: AmoState = generate_agency(managers=3, months=1, seed=5, now=NOW)
    account.set_now(NOW)
    account.tokens.add_long_lived(OPAQUE_TOKEN, NOW + 10**8)
    amo = serve_amocrm(account, rps=1000)
    sheets = SheetsState(seed=1)
    sheets.create_spreadsheet("KPI", BOOK)
    sheets_server = serve_sheets(state=sheets)
    yield World(amo, sheets, sheets_server, tmp_path)
    amo.stop()
    sheets_server.stop()


AT = ["--now", NOW_AT.isoformat()]


@pytest.mark.e2e
def test_an_error_body_echoing_the_authorization_header_leaks_nowhere(world, capsys) -> None:
    config = world.config({"long_lived_token": OPAQUE_TOKEN})
    assert main([*AT, "--config", config, "init"]) == 0
    requests.post(f"{world.amo.url}/_emulator/faults", json={"echo_auth": 1}, timeout=10)
    assert main([*AT, "--config", config, "run"]) == 1
    err = capsys.readouterr().err
    assert "rejected headers: Authorization: Bearer ***" in err  # the reason is still told
    everywhere = world.everything()
    assert "rejected headers: Authorization: Bearer ***" in everywhere  # Журнал, issues, store
    assert OPAQUE_TOKEN not in err + everywhere


@pytest.mark.e2e
def test_a_malformed_token_file_leaks_its_refresh_token_nowhere(world, capsys) -> None:
    # the input tabs first (with a token that works), or `run` stops before amoCRM
    assert main([*AT, "--config", world.config({"long_lived_token": OPAQUE_TOKEN}), "init"]) == 0
    tokens = world.folder / "amo_tokens.json"
    tokens.write_text(
        json.dumps({"access_token": JWT, "refresh_token": REFRESH, "expires_at": REFRESH})
    )
    oauth = {
        "client_id": "client-1",
        "client_secret": "client-secret-0042",
        "redirect_uri": "https://example.com/cb",
        "token_file": str(tokens),
    }
    config = world.config({"oauth": oauth})
    assert main([*AT, "--config", config, "run"]) == 1
    err = capsys.readouterr().err
    assert "malformed expires_at" in err
    everywhere = world.everything()
    assert "malformed expires_at" in everywhere
    for secret in (REFRESH, JWT, "client-secret-0042"):
        assert secret not in err + everywhere


@pytest.mark.e2e
def test_a_config_error_on_a_secret_field_prints_no_value(world, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AMO_SECRET", "s3cr3t-from-the-environment")
    config = world.config({"oauth": {"client_secret": "${AMO_SECRET}", "client_id": "x"}})
    assert main([*AT, "--config", config, "run"]) == 2
    err = capsys.readouterr().err
    assert "amocrm.auth.oauth.redirect_uri: is required" in err
    assert "s3cr3t" not in err


@pytest.mark.e2e
def test_status_redacts_an_error_stored_before_redaction_existed(world, capsys) -> None:
    config = world.config({"long_lived_token": OPAQUE_TOKEN})
    with Store(world.folder / "store.db") as store:
        run = store.start_run(NOW_AT)
    # as an older version stored it
    with closing(sqlite3.connect(world.folder / "store.db")) as conn, conn:
        conn.execute(
            "UPDATE run SET status = 'failed', error = ? WHERE id = ?",
            (f"amoCRM said: Authorization: Bearer {OPAQUE_TOKEN}", run),
        )
    assert main([*AT, "--config", config, "status"]) == 0
    out = capsys.readouterr().out
    assert "error: amoCRM said: Authorization: Bearer ***" in out and OPAQUE_TOKEN not in out

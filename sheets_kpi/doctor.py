"""`sheets-kpi doctor`: each check prints one line, and a failing one says what to do."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from sheets_kpi.config import Config, load_config
from sheets_kpi.errors import SheetsKpiError
from sheets_kpi.kpi.periods import Period, today


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name:<12} {self.detail}"


def run_checks(config_path: str | Path, now: datetime) -> list[Check]:
    """Stop after the config check fails: nothing else can be checked without it."""
    try:
        config = load_config(config_path)
    except SheetsKpiError as err:
        return [Check("config", False, f"{err}")]
    left = placeholders(config)
    checks = [
        Check("config", True, f"{config_path} is valid"),
        _clock(config, now),
        _placeholder_check(left),
    ]
    for name, probe in _probes(config, left):
        try:
            detail = probe()
            checks.append(Check(name, True, detail))
        except SheetsKpiError as err:
            checks.append(Check(name, False, str(err)))
        except Exception as err:  # doctor reports anything unexpected as a failure
            checks.append(Check(name, False, f"{type(err).__name__}: {err}"))
    return checks


def _clock(config: Config, now: datetime) -> Check:
    """The instant and plan month a cycle would compute at (with `--now`, the chosen one)."""
    period = Period.of(today(pd.Timestamp(now), config.timezone))
    local = now.astimezone(config.zone)
    return Check(
        "clock",
        True,
        f"{local:%Y-%m-%d %H:%M} {config.timezone}: period {period.label}, "
        f"day {period.elapsed_days} of {period.days}",
    )


#: The examples the shipped config.yaml holds: (yaml path, example, what to put instead).
PLACEHOLDERS = (
    ("amocrm.base_url", "example.amocrm.ru", "your account's address, https://SUBDOMAIN.amocrm.ru"),
    ("google.spreadsheet", "sheets-kpi-demo", "your spreadsheet's URL or id"),
    ("google.supervisors", "boss@example.com", "the emails of the people who edit the inputs"),
)


def placeholders(config: Config) -> dict[str, str]:
    """Yaml path → the shipped example still in it. The Google ones only count for the real
    Google (`google.endpoint` unset): against an emulator any id will do."""
    values = {
        "amocrm.base_url": config.amocrm.base_url,
        "google.spreadsheet": config.google.spreadsheet_id,
        "google.supervisors": " ".join(config.google.supervisors),
    }
    left = {}
    for key, example, _ in PLACEHOLDERS:
        if key.startswith("google.") and config.google.endpoint:
            continue
        if example in values[key]:
            left[key] = example
    return left


def _placeholder_check(left: dict[str, str]) -> Check:
    if not left:
        return Check("placeholders", True, "none of the shipped examples is left in the config")
    instead = {key: what for key, _, what in PLACEHOLDERS}
    return Check(
        "placeholders",
        False,
        "still the shipped examples: "
        + "; ".join(f"{key} is {example}: set {instead[key]}" for key, example in left.items()),
    )


def _skipped(key: str) -> Callable[[], str]:
    def probe() -> str:
        raise SheetsKpiError(f"not checked: set {key} first (it is the shipped example)")

    return probe


def _probes(config: Config, left: dict[str, str]) -> Iterator[tuple[str, Callable[[], str]]]:
    yield "store", lambda: _check_store(config)
    if "amocrm.base_url" in left:  # a made-up host: not worth the retries
        yield "amoCRM", _skipped("amocrm.base_url")
    else:
        yield "amoCRM", lambda: _check_amocrm(config)
        yield "amoCRM users", lambda: _check_amocrm_users(config)
    if not config.google.endpoint:
        yield "credentials", lambda: _check_credentials(config)
    if "google.spreadsheet" in left:
        yield "spreadsheet", _skipped("google.spreadsheet")
    else:
        yield "spreadsheet", lambda: _check_spreadsheet(config)
    if config.google.data_spreadsheet:
        yield "data spreadsheet", lambda: _check_data_spreadsheet(config)


def _check_store(config: Config) -> str:
    from sheets_kpi.store.db import Store

    Store(config.store).close()
    folder = Path(config.store).parent
    if not os.access(folder, os.W_OK):
        raise SheetsKpiError(f"{folder} is not writable: give the worker's user write access")
    return f"{config.store} opens and is writable"


def _check_amocrm(config: Config) -> str:
    from sheets_kpi.sources.amocrm import make_client

    client = make_client(config.amocrm)
    account = client.get("/api/v4/account") or {}
    return f"{config.amocrm.base_url} answers; account {account.get('name', '?')!r}"


def _check_amocrm_users(config: Config) -> str:
    from sheets_kpi.sources.amocrm import make_client

    client = make_client(config.amocrm)
    payload = client.get("/api/v4/users", [("limit", "1")]) or {}
    count = len((payload.get("_embedded") or {}).get("users") or [])
    return f"the token may list users ({count} on the first page)"


def _check_credentials(config: Config) -> str:
    path = Path(config.google.credentials)
    if not path.exists():
        raise SheetsKpiError(
            f"{path} does not exist: create a service-account JSON key in Google Cloud Console "
            "(README, Real setup step 2) and save it there"
        )
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise SheetsKpiError(f"{path} is not valid JSON ({err}): download the key again") from err
    if key.get("type") != "service_account" or "client_email" not in key:
        raise SheetsKpiError(f"{path} is not a service-account key (type must be service_account)")
    if "REPLACE_WITH" in str(key.get("private_key")) or "your-project-id" in key["client_email"]:
        raise SheetsKpiError(
            f"{path} is a copy of credentials.example.json, not a real key: create a "
            "service-account JSON key in Google Cloud Console (README, Real setup step 2)"
        )
    return f"service account {key['client_email']} (share the spreadsheet with it)"


def _check_data_spreadsheet(config: Config) -> str:
    """`google.data_spreadsheet` needs the same Editor share as the main one."""
    google = config.google.model_copy(update={"spreadsheet": config.google.data_spreadsheet})
    return _check_spreadsheet(config.model_copy(update={"google": google}))


def _check_spreadsheet(config: Config) -> str:
    from sheets_kpi.sheets.client import open_spreadsheet

    spreadsheet = open_spreadsheet(config.google)
    titles = [ws.title for ws in spreadsheet.worksheets()]
    return f"{spreadsheet.title!r} opens; {len(titles)} tab(s)"

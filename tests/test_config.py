"""config.yaml: every broken config gets one exact, path-named message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sheets_kpi.config import load_config, parse_config
from sheets_kpi.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
ENV = {"AMO_TOKEN": "token"}
Mutation = Callable[[dict], None]


def shipped() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def message(mutate: Mutation) -> str:
    data = shipped()
    mutate(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_dump(data, allow_unicode=True), env=ENV)
    return str(caught.value)


def setter(path: str, value: object) -> Mutation:
    """`departments.1.kpis.2.weight` = value."""

    def mutate(data: dict) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node = data
        for part in parents:
            node = node[part]
        node[last] = value

    return mutate


def deleter(path: str) -> Mutation:
    def mutate(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part) if part.isdigit() else part]
        del node[last]

    return mutate


CASES: list[tuple[str, Mutation, str]] = [
    (
        "negative weight",
        setter("departments.1.kpis.2.weight", -1),
        "config.yaml: departments[1].kpis[2].weight: must be > 0, got -1",
    ),
    (
        "unknown top-level key",
        setter("timezon", "Europe/Moscow"),
        "config.yaml: timezon: unknown key (check the spelling)",
    ),
    (
        "typo in a nested key",
        setter("amocrm.requests_per_secnd", 5),
        "config.yaml: amocrm.requests_per_secnd: unknown key (check the spelling)",
    ),
    (
        "both auth modes",
        setter("amocrm.auth.oauth", {"client_id": "a", "client_secret": "b", "redirect_uri": "c"}),
        "config.yaml: amocrm.auth: set exactly one of long_lived_token or oauth",
    ),
    (
        "no auth mode",
        setter("amocrm.auth", {}),
        "config.yaml: amocrm.auth: set exactly one of long_lived_token or oauth, got {}",
    ),
    (
        "oauth without secret",
        setter("amocrm.auth", {"oauth": {"client_id": "a", "redirect_uri": "c"}}),
        "config.yaml: amocrm.auth.oauth.client_secret: is required",
    ),
    (
        "unknown time zone",
        setter("timezone", "Mars/Olympus"),
        "config.yaml: timezone: unknown time zone; expected an IANA name like Europe/Moscow, "
        "got 'Mars/Olympus'",
    ),
    (
        "unknown locale",
        setter("locale", "de"),
        "config.yaml: locale: must be one of ru or en, got 'de'",
    ),
    (
        "unknown metric",
        setter("departments.0.kpis.0.metric", "handoffz"),
        "config.yaml: departments[0].kpis[0].metric: unknown metric; expected one of "
        "stage_reached, won_amount, won_count, calls_missed_share, callback_minutes, "
        "calls_outgoing, tasks_overdue, tasks_overdue_share, tasks_completed, deal_violations, "
        "deals_correct_share, score_avg, nps, violations, appeals_lost, got 'handoffz'",
    ),
    (
        "metric without its argument",
        setter("departments.0.kpis.0.metric", "stage_reached"),
        "config.yaml: departments[0].kpis[0].metric: stage_reached needs an argument, "
        "e.g. stage_reached(x), got 'stage_reached'",
    ),
    (
        "metric with a stray argument",
        setter("departments.0.kpis.3.metric", "nps(x)"),
        "config.yaml: departments[0].kpis[3].metric: nps takes no argument, got 'nps(x)'",
    ),
    (
        "stage not defined",
        setter("departments.0.kpis.0.metric", "stage_reached(meeting)"),
        "config.yaml: departments[0].kpis[0].metric: stage 'meeting' is not defined under "
        "amocrm.stages",
    ),
    (
        "duplicate kpi id",
        setter("departments.3.kpis.1.id", "tasks_completed"),
        "config.yaml: departments[3].kpis: kpi ids must be unique, repeated: ['tasks_completed']",
    ),
    (
        "duplicate department id",
        setter("departments.1.id", "leadgen"),
        "config.yaml: departments: department ids must be unique, repeated: ['leadgen']",
    ),
    (
        "base_url not a URL",
        setter("amocrm.base_url", "example.amocrm.ru"),
        "config.yaml: amocrm.base_url: must be an http(s) URL such as https://example.amocrm.ru, "
        "got 'example.amocrm.ru'",
    ),
    (
        "gate above 1",
        setter("departments.0.bonus.gate", 1.2),
        "config.yaml: departments[0].bonus.gate: must be <= 1, got 1.2",
    ),
    (
        "bonus cap below 1",
        setter("departments.0.bonus.cap", 0.5),
        "config.yaml: departments[0].bonus.cap: must be >= 1, got 0.5",
    ),
    (
        "prize for rank 0",
        setter("departments.0.bonus.prizes", {0: 100}),
        "config.yaml: departments[0].bonus.prizes: ranks start at 1 and prizes are >= 0, "
        "got ranks [0]",
    ),
    (
        "bad schedule time",
        setter("schedule.full_recompute_at", "25:00"),
        "config.yaml: schedule.full_recompute_at: must be a time HH:MM (00:00-23:59), got '25:00'",
    ),
    (
        "text where a number belongs",
        setter("amocrm.backfill_days", "half a year"),
        "config.yaml: amocrm.backfill_days: must be a whole number, got 'half a year'",
    ),
    (
        "empty kpi list",
        setter("departments.2.kpis", []),
        "config.yaml: departments[2].kpis: must have at least 1 item(s), got []",
    ),
    (
        "supervisor not an e-mail",
        setter("google.supervisors", ["boss"]),
        "config.yaml: google.supervisors: must be e-mail addresses, got ['boss']",
    ),
    (
        "call status out of range",
        setter("amocrm.missed_call_statuses", [6, 9]),
        "config.yaml: amocrm.missed_call_statuses: call_status codes are 1..8, got [9]",
    ),
    ("missing google section", deleter("google"), "config.yaml: google: is required"),
    (
        "unknown direction",
        setter("departments.0.kpis.2.direction", "down"),
        "config.yaml: departments[0].kpis[2].direction: must be one of higher or lower, got 'down'",
    ),
    (
        "kpi id with capitals",
        setter("departments.0.kpis.0.id", "Handoffs"),
        "config.yaml: departments[0].kpis[0].id: must be snake_case (a-z, 0-9, _), got 'Handoffs'",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_config_has_an_exact_message(mutate: Mutation, expected: str) -> None:
    assert message(mutate) == expected


def test_missing_environment_variable_names_it_and_the_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config((ROOT / "config.yaml").read_text(encoding="utf-8"), env={})
    assert str(caught.value) == (
        "config.yaml: amocrm.auth.long_lived_token: environment variable AMO_TOKEN is not set"
    )


def test_yaml_syntax_error_names_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("timezone: [Europe/Moscow\nlocale: ru\n", env=ENV)
    assert str(caught.value).startswith("config.yaml: not valid YAML at line 2, column 7:")


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="expected a mapping of settings at the top level"):
        parse_config("- a\n- b\n", env=ENV)


def test_unreadable_file(tmp_path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert (
        str(caught.value) == f"{tmp_path / 'nope.yaml'}: cannot read the config file "
        "(No such file or directory)"
    )


def test_shipped_config_loads_and_resolves_paths_against_its_folder(tmp_path) -> None:
    config = load_config(ROOT / "config.yaml", env=ENV)
    assert config.store == ROOT / "sheets_kpi.db"
    assert config.google.credentials == ROOT / "credentials.json"
    assert [d.id for d in config.departments] == ["leadgen", "sales", "accounts", "quality"]
    data = shipped()
    data["amocrm"]["auth"] = {
        "oauth": {
            "client_id": "a",
            "client_secret": "${SECRET}",
            "redirect_uri": "https://x/${HOST}/cb",
        }
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    oauth = load_config(tmp_path / "c.yaml", env={"SECRET": "s3", "HOST": "h"}).amocrm.auth.oauth
    assert (oauth.client_secret, oauth.redirect_uri) == ("s3", "https://x/h/cb")
    assert oauth.token_file == tmp_path / "amo_tokens.json"


def test_spreadsheet_id_is_taken_from_a_url() -> None:
    config = load_config(ROOT / "config.yaml", env=ENV)
    google = config.google.model_copy(
        update={"spreadsheet": "https://docs.google.com/spreadsheets/d/1AbC-d_9/edit#gid=0"}
    )
    assert google.spreadsheet_id == "1AbC-d_9"

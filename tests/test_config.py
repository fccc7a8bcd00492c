"""config.yaml (SPEC §3): every broken config gets one exact, path-named message.

Each message reads `config.yaml: <yaml path>: <what is wrong / expected form>, got <value>`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sheets_kpi.config import load_config, parse_config
from sheets_kpi.errors import ConfigError
from sheets_kpi.kpi.metrics import METRICS

ROOT = Path(__file__).resolve().parents[1]
ENV = {"AMO_TOKEN": "token"}
Mutation = Callable[[dict], None]

#: The smallest config that loads; everything else has a default.
MINIMAL = """\
amocrm:
  base_url: https://example.amocrm.ru
  auth: {long_lived_token: t}
google: {spreadsheet: s}
departments:
  - id: sales
    kpis: [{id: won, metric: won_amount, weight: 1}]
"""


def shipped() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def error_of(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env=ENV if env is None else env)
    return str(caught.value)


def dump(data: dict) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def setter(path: str, value: object) -> Mutation:
    """`departments.1.kpis.2.weight` = value (digits index lists)."""

    def mutate(data: dict) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node = data
        for part in parents:
            node = node[part]
        node[last] = value

    return mutate


def deleter(path: str) -> Mutation:
    def mutate(data: dict) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node = data
        for part in parents:
            node = node[part]
        del node[last]

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(data: dict) -> None:
        for mutation in mutations:
            mutation(data)

    return mutate


OAUTH = {"client_id": "a", "client_secret": "b", "redirect_uri": "https://example.com/cb"}
METRIC_NAMES = (
    "stage_reached, won_amount, won_count, calls_missed_share, callback_minutes, calls_outgoing, "
    "tasks_overdue, tasks_overdue_share, tasks_completed, deal_violations, deals_correct_share, "
    "score_avg, nps, violations, appeals_lost"
)
STAGE_FORM = "must be a status name or {pipeline_id: <id>, status_id: <id>}"

#: (id, mutation of the shipped config.yaml, exact message)
CASES: list[tuple[str, Mutation, str]] = [
    (
        "negative weight (the SPEC's own example)",
        setter("departments.1.kpis.2.weight", -1),
        "config.yaml: departments[1].kpis[2].weight: must be > 0, got -1",
    ),
    (
        "zero weight",
        setter("departments.0.kpis.0.weight", 0),
        "config.yaml: departments[0].kpis[0].weight: must be > 0, got 0",
    ),
    (
        "unknown top-level key",
        setter("timezon", "Europe/Moscow"),
        "config.yaml: timezon: unknown key; did you mean timezone?",
    ),
    (
        "typo in a nested key",
        setter("amocrm.requests_per_secnd", 5),
        "config.yaml: amocrm.requests_per_secnd: unknown key; did you mean requests_per_second?",
    ),
    (
        "unknown key with nothing close",
        setter("google.colour", "blue"),
        "config.yaml: google.colour: unknown key; expected one of spreadsheet, credentials, "
        "endpoint, supervisors, data_spreadsheet, personal_folder, timeout_seconds, "
        "gzip_requests",
    ),
    (
        "both auth modes",
        setter("amocrm.auth.oauth", OAUTH),
        "config.yaml: amocrm.auth: set exactly one of long_lived_token or oauth, got both",
    ),
    (
        "no auth mode",
        setter("amocrm.auth", {}),
        "config.yaml: amocrm.auth: set exactly one of long_lived_token or oauth, got neither",
    ),
    (
        "auth left empty",
        setter("amocrm.auth", None),
        "config.yaml: amocrm.auth: must be a mapping, got null",
    ),
    (
        "empty long-lived token",
        setter("amocrm.auth.long_lived_token", ""),
        "config.yaml: amocrm.auth.long_lived_token: must not be empty, got (a secret, not shown)",
    ),
    (
        "oauth without secret",
        setter("amocrm.auth", {"oauth": {"client_id": "a", "redirect_uri": "c"}}),
        "config.yaml: amocrm.auth.oauth.client_secret: is required",
    ),
    (
        "oauth with an empty client_id",
        setter("amocrm.auth", {"oauth": {**OAUTH, "client_id": ""}}),
        "config.yaml: amocrm.auth.oauth.client_id: must not be empty, got ''",
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
        "period other than month",
        setter("period", "week"),
        "config.yaml: period: must be month, got 'week'",
    ),
    (
        "unknown metric",
        setter("departments.0.kpis.0.metric", "handoffz"),
        f"config.yaml: departments[0].kpis[0].metric: unknown metric; expected one of "
        f"{METRIC_NAMES}, got 'handoffz'",
    ),
    (
        "metric without its argument",
        setter("departments.0.kpis.0.metric", "stage_reached"),
        "config.yaml: departments[0].kpis[0].metric: stage_reached needs an argument: a stage "
        "key from amocrm.stages, e.g. stage_reached(handoff), got 'stage_reached'",
    ),
    (
        "metric with a stray argument",
        setter("departments.2.kpis.1.metric", "nps(x)"),
        "config.yaml: departments[2].kpis[1].metric: nps takes no argument; write just nps, "
        "got 'nps(x)'",
    ),
    (
        "metric with spaces in the argument",
        setter("departments.0.kpis.1.metric", "score_avg( call_quality )"),
        "config.yaml: departments[0].kpis[1].metric: must be written score_avg(argument) "
        "without spaces, got 'score_avg( call_quality )'",
    ),
    (
        "score_avg of a score kind the scores tab does not have",
        setter("departments.0.kpis.1.metric", "score_avg(calls)"),
        "config.yaml: departments[0].kpis[1].metric: calls is not a score kind; expected one of "
        "call_quality, nps, got 'score_avg(calls)'",
    ),
    (
        "a seller department that is not configured",
        setter("analytics.seller_departments", ["sales", "marketing"]),
        "config.yaml: analytics.seller_departments[1]: no such department; expected one of "
        "leadgen, sales, accounts, quality, got 'marketing'",
    ),
    (
        "violations of a type the violations tab does not have",
        setter("departments.0.kpis.1.metric", "violations(fraud)"),
        "config.yaml: departments[0].kpis[1].metric: fraud is not a violation type; expected "
        "one of deal, control, regulation, got 'violations(fraud)'",
    ),
    (
        "stage_reached with a stage not in amocrm.stages",
        setter("departments.1.kpis.1.metric", "stage_reached(meeting)"),
        "config.yaml: departments[1].kpis[1].metric: stage meeting is not defined under "
        "amocrm.stages (handoff, proposal), got 'stage_reached(meeting)'",
    ),
    (
        "duplicate kpi id",
        setter("departments.3.kpis.2.id", "tasks_completed"),
        "config.yaml: departments[3].kpis[2].id: must be unique in the department; "
        "departments[3].kpis[0] has it too, got 'tasks_completed'",
    ),
    (
        "duplicate department id",
        setter("departments.2.id", "leadgen"),
        "config.yaml: departments[2].id: must be unique; departments[0] has it too, got 'leadgen'",
    ),
    (
        "base_url without a scheme",
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
        setter("departments.0.bonus.prizes", {0: 100, 1: 50}),
        "config.yaml: departments[0].bonus.prizes: ranks start at 1, got rank 0",
    ),
    (
        "negative prize",
        setter("departments.1.bonus.prizes.2", -5),
        "config.yaml: departments[1].bonus.prizes.2: must be a prize amount >= 0, got -5",
    ),
    (
        "prize rank that is not a number",
        setter("departments.0.bonus.prizes", {"first": 100}),
        "config.yaml: departments[0].bonus.prizes: key must be a whole number, got 'first'",
    ),
    (
        "schedule time 25:00",
        setter("schedule.full_recompute_at", "25:00"),
        "config.yaml: schedule.full_recompute_at: must be a time HH:MM (00:00-23:59), got '25:00'",
    ),
    (
        "text where a number belongs",
        setter("amocrm.backfill_days", "half a year"),
        "config.yaml: amocrm.backfill_days: must be a whole number, got 'half a year'",
    ),
    (
        "fraction where a whole number belongs",
        setter("amocrm.backfill_days", 1.5),
        "config.yaml: amocrm.backfill_days: must be a whole number, got 1.5",
    ),
    (
        "null where a number belongs",
        setter("departments.0.kpis.0.weight", None),
        "config.yaml: departments[0].kpis[0].weight: must be a number, got null",
    ),
    (
        "text where true/false belongs",
        setter("rules.no_next_task", "sometimes"),
        "config.yaml: rules.no_next_task: must be true or false, got 'sometimes'",
    ),
    (
        "empty kpi list",
        setter("departments.2.kpis", []),
        "config.yaml: departments[2].kpis: must not be empty, got []",
    ),
    (
        "supervisor not an e-mail",
        setter("google.supervisors", ["boss@example.com", "boss"]),
        "config.yaml: google.supervisors[1]: must be an e-mail address like boss@example.com, "
        "got 'boss'",
    ),
    (
        "missed call status out of range",
        setter("amocrm.missed_call_statuses", [6, 9]),
        "config.yaml: amocrm.missed_call_statuses[1]: must be an amoCRM call_status code from "
        "1 to 8, got 9",
    ),
    ("missing google section", deleter("google"), "config.yaml: google: is required"),
    (
        "unknown kpi direction",
        setter("departments.0.kpis.2.direction", "down"),
        "config.yaml: departments[0].kpis[2].direction: must be one of higher or lower, got 'down'",
    ),
    (
        "kpi id with capitals",
        setter("departments.0.kpis.0.id", "Handoffs"),
        "config.yaml: departments[0].kpis[0].id: must be snake_case (a-z, 0-9, _), got 'Handoffs'",
    ),
    (
        "stage given as a bare number: one line, not one per union member",
        setter("amocrm.stages.handoff", [142]),
        f"config.yaml: amocrm.stages.handoff[0]: {STAGE_FORM}, got 142",
    ),
    (
        "stage named like a union tag keeps its name in the path",
        setter("amocrm.stages.str", [142]),
        f"config.yaml: amocrm.stages.str[0]: {STAGE_FORM}, got 142",
    ),
    (
        "stage id mapping with a bad status_id",
        setter("amocrm.stages.proposal", [{"pipeline_id": 1, "status_id": "won"}]),
        "config.yaml: amocrm.stages.proposal[0].status_id: must be a whole number, got 'won'",
    ),
    (
        "stage id mapping with a typo",
        setter("rules.zero_price_after", [{"pipeline_id": 1, "statusid": 2}]),
        "config.yaml: rules.zero_price_after[0].status_id: is required\n"
        "config.yaml: rules.zero_price_after[0].statusid: unknown key; did you mean status_id?",
    ),
    (
        "required field neither name nor id, under a key with a space",
        setter("rules.required_fields", {"КП отправлено": ["Источник", 1.5]}),
        'config.yaml: rules.required_fields["КП отправлено"][1]: must be text or a whole number, '
        "got 1.5",
    ),
    (
        "call quality scale with three numbers",
        setter("analytics.call_quality_scale", [0, 10, 100]),
        "config.yaml: analytics.call_quality_scale: must have at most 2 items, got [0, 10, 100]",
    ),
    (
        "call quality scale with one number",
        setter("analytics.call_quality_scale", [100]),
        "config.yaml: analytics.call_quality_scale: must have at least 2 items, got [100]",
    ),
    (
        "call quality scale upside down",
        setter("analytics.call_quality_scale", [100, 0]),
        "config.yaml: analytics.call_quality_scale: must be [lowest, highest] with lowest < "
        "highest, e.g. [0, 100], got [100, 0]",
    ),
    (
        "long bad value is cut to 80 characters",
        setter("google.spreadsheet", ["x" * 100]),
        f"config.yaml: google.spreadsheet: must be text, got ['{'x' * 75}...",
    ),
    (
        "two problems give two lines",
        both(setter("locale", "de"), setter("schedule.every_minutes", 0)),
        "config.yaml: locale: must be one of ru or en, got 'de'\n"
        "config.yaml: schedule.every_minutes: must be >= 1, got 0",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_config_has_an_exact_message(mutate: Mutation, expected: str) -> None:
    data = shipped()
    mutate(data)
    assert error_of(dump(data)) == expected


#: (id, whole YAML text, exact message)
TEXT_CASES: list[tuple[str, str, str]] = [
    (
        "YAML syntax error names line and column",
        "timezone: [Europe/Moscow\nlocale: ru\n",
        "config.yaml: not valid YAML at line 2, column 7: expected ',' or ']', but got ':'",
    ),
    (
        "tab indentation",
        MINIMAL + "rules:\n\tno_next_task: true\n",
        "config.yaml: not valid YAML at line 9, column 1: found character '\\t' that cannot "
        "start any token; indent with spaces, not tabs",
    ),
    (
        "top level is a list",
        "- timezone: Europe/Moscow\n",
        "config.yaml: (top level): must be a mapping of settings (key: value lines), "
        "got [{'timezone': 'Europe/Moscow'}]",
    ),
    (
        "top level is a bare word",
        "Europe/Moscow\n",
        "config.yaml: (top level): must be a mapping of settings (key: value lines), "
        "got 'Europe/Moscow'",
    ),
    (
        "empty file",
        "# nothing yet\n",
        "config.yaml: (top level): must be a mapping of settings (key: value lines), "
        "got an empty file",
    ),
    (
        "no departments",
        MINIMAL.split("departments:")[0],
        "config.yaml: departments: is required",
    ),
    (
        "departments written as a mapping",
        MINIMAL.split("departments:")[0] + "departments: {sales: {}}\n",
        "config.yaml: departments: must be a list, got {'sales': {}}",
    ),
    (
        "stage_reached with no stages defined at all",
        MINIMAL.replace("metric: won_amount", "metric: stage_reached(handoff)"),
        "config.yaml: departments[0].kpis[0].metric: stage handoff is not defined under "
        "amocrm.stages (none are defined), got 'stage_reached(handoff)'",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES]
)
def test_broken_config_text_has_an_exact_message(text: str, expected: str) -> None:
    assert error_of(text) == expected


#: metric -> every way its argument may be written, as (metric text, argument).
ACCEPTED: dict[str, list[tuple[str, str | None]]] = {
    "stage_reached": [("stage_reached(handoff)", "handoff")],
    "won_amount": [("won_amount", None), ("won_amount(upsell)", "upsell"), ("won_amount(7)", "7")],
    "won_count": [("won_count", None), ("won_count(upsell)", "upsell")],
    "calls_missed_share": [("calls_missed_share", None)],
    "callback_minutes": [("callback_minutes", None)],
    "calls_outgoing": [("calls_outgoing", None)],
    "tasks_overdue": [("tasks_overdue", None)],
    "tasks_overdue_share": [("tasks_overdue_share", None)],
    "tasks_completed": [("tasks_completed", None)],
    "deal_violations": [("deal_violations", None)],
    "deals_correct_share": [("deals_correct_share", None)],
    "score_avg": [("score_avg(call_quality)", "call_quality"), ("score_avg(nps)", "nps")],
    "nps": [("nps", None)],
    "violations": [("violations(control)", "control"), ("violations(regulation)", "regulation")],
    "appeals_lost": [("appeals_lost", None)],
}
#: (metric text breaking its metric's argument rule, exact message after the YAML path)
REJECTED = [
    (
        "stage_reached",
        "stage_reached needs an argument: a stage key from amocrm.stages, "
        "e.g. stage_reached(handoff)",
    ),
    ("won_amount()", "must be written won_amount or won_amount(argument) without spaces"),
    ("won_count(up sell)", "must be written won_count or won_count(argument) without spaces"),
    (
        "calls_missed_share(in)",
        "calls_missed_share takes no argument; write just calls_missed_share",
    ),
    ("callback_minutes(24)", "callback_minutes takes no argument; write just callback_minutes"),
    ("calls_outgoing(all)", "calls_outgoing takes no argument; write just calls_outgoing"),
    ("tasks_overdue(x)", "tasks_overdue takes no argument; write just tasks_overdue"),
    (
        "tasks_overdue_share(x)",
        "tasks_overdue_share takes no argument; write just tasks_overdue_share",
    ),
    ("tasks_completed(x)", "tasks_completed takes no argument; write just tasks_completed"),
    ("deal_violations(deal)", "deal_violations takes no argument; write just deal_violations"),
    (
        "deals_correct_share(x)",
        "deals_correct_share takes no argument; write just deals_correct_share",
    ),
    ("score_avg", "score_avg needs an argument: a score kind, e.g. score_avg(call_quality)"),
    (
        "score_avg(Call_Quality)",
        "Call_Quality is not a score kind; expected one of call_quality, nps",
    ),
    ("nps(10)", "nps takes no argument; write just nps"),
    ("violations", "violations needs an argument: a violation type, e.g. violations(control)"),
    ("appeals_lost(lost)", "appeals_lost takes no argument; write just appeals_lost"),
]


def test_every_metric_has_its_argument_rule_tested() -> None:
    rejected = {text.split("(")[0] for text, _ in REJECTED}
    assert set(ACCEPTED) == rejected == set(METRICS)


@pytest.mark.parametrize(
    ("name", "text", "arg"),
    [(name, text, arg) for name, forms in ACCEPTED.items() for text, arg in forms],
    ids=[text for forms in ACCEPTED.values() for text, _ in forms],
)
def test_metric_written_by_its_argument_rule_loads(name: str, text: str, arg: str | None) -> None:
    data = shipped()
    setter("departments.0.kpis.0.metric", text)(data)
    kpi = parse_config(dump(data), env=ENV).departments[0].kpis[0]
    assert (kpi.metric, kpi.metric_name, kpi.metric_arg) == (text, name, arg)


@pytest.mark.parametrize(("text", "message"), REJECTED, ids=[text for text, _ in REJECTED])
def test_metric_breaking_its_argument_rule_is_refused(text: str, message: str) -> None:
    data = shipped()
    setter("departments.0.kpis.0.metric", text)(data)
    assert error_of(dump(data)) == (
        f"config.yaml: departments[0].kpis[0].metric: {message}, got {text!r}"
    )


def test_missing_environment_variable_names_it_and_the_path() -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert error_of(text, env={}) == (
        "config.yaml: amocrm.auth.long_lived_token: the environment variable AMO_TOKEN is not "
        "set; export it or write the value instead, got '${AMO_TOKEN}'"
    )


def test_missing_variable_inside_a_longer_string() -> None:
    data = shipped()
    data["amocrm"]["auth"] = {"oauth": {**OAUTH, "token_file": "${STATE}/amo_tokens.json"}}
    assert error_of(dump(data), env={}) == (
        "config.yaml: amocrm.auth.oauth.token_file: the environment variable STATE is not "
        "set; export it or write the value instead, got '${STATE}/amo_tokens.json'"
    )


ENV_ONLY_IN = (
    "${VAR} is replaced from the environment only in amocrm.auth.long_lived_token, "
    "amocrm.auth.oauth.client_id, amocrm.auth.oauth.client_secret, amocrm.auth.oauth.token_file, "
    "google.credentials, store; write this value itself"
)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("amocrm.requests_per_second", "${SECRET}"),
        ("amocrm.base_url", "https://${AMO_SUBDOMAIN}.amocrm.ru"),
        ("departments.0.title", "${SECRET}"),
        ("departments.0.kpis.0.title", "Звонки ${SECRET}"),
        ("google.spreadsheet", "${SECRET}"),
    ],
)
def test_environment_variables_are_refused_outside_secrets_and_paths(path, value) -> None:
    data = shipped()
    setter(path, value)(data)
    message = error_of(dump(data), env={**ENV, "SECRET": "s3cr3t-value", "AMO_SUBDOMAIN": "acme"})
    shown = path.replace(".0.", "[0].").replace("departments.0", "departments[0]")
    assert message == f"config.yaml: {shown}: {ENV_ONLY_IN}"
    assert "s3cr3t" not in message


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("amocrm.auth.long_lived_token", ["s3cr3t-from-env-123"]),
        ("amocrm.auth.long_lived_token", 123456789),
    ],
)
def test_an_error_on_a_secret_field_never_shows_its_value(path, value) -> None:
    data = shipped()
    setter(path, value)(data)
    message = error_of(dump(data), env={})
    assert message.startswith("config.yaml: amocrm.auth.long_lived_token: must be text")
    assert message.endswith("got (a secret, not shown)")
    assert "s3cr3t" not in message and "123456789" not in message


def test_an_interpolated_secret_in_a_bad_oauth_section_is_not_shown() -> None:
    data = shipped()
    data["amocrm"]["auth"] = {"oauth": {**OAUTH, "client_secret": "${SECRET}", "extra": 1}}
    message = error_of(dump(data), env={"SECRET": "s3cr3t-from-env-123"})
    assert "s3cr3t" not in message and "amocrm.auth.oauth.extra: unknown key" in message


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, env=ENV)
    assert (
        str(caught.value) == f"{missing}: cannot read the config file (No such file or directory)"
    )


def test_messages_name_the_file_they_came_from(tmp_path: Path) -> None:
    path = tmp_path / "prod.yaml"
    path.write_text(MINIMAL + "locale: de\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV)
    assert str(caught.value) == "prod.yaml: locale: must be one of ru or en, got 'de'"


def test_shipped_config_loads_with_the_token_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("AMO_TOKEN", "from-env")
    config = load_config(ROOT / "config.yaml")
    assert config.amocrm.auth.long_lived_token == "from-env"
    assert config.amocrm.auth.oauth is None
    assert [d.id for d in config.departments] == ["leadgen", "sales", "accounts", "quality"]
    assert config.department("sales").kpis[0].weight == 40
    assert config.departments[1].kpis[1].metric_name == "stage_reached"
    assert config.departments[1].kpis[1].metric_arg == "proposal"
    assert config.amocrm.stages["handoff"] == ["Квалифицирован"]
    assert config.zone.key == "Europe/Moscow"
    assert config.schedule.full_recompute_at == "03:00"


def test_minimal_config_takes_the_defaults() -> None:
    config = parse_config(MINIMAL, env={})
    assert config.locale == "ru"
    assert config.amocrm.requests_per_second == 7
    assert config.amocrm.missed_call_statuses == [1, 2, 3, 5, 6, 7]
    assert config.departments[0].bonus.gate == 0.7
    assert config.store == Path("sheets_kpi.db")  # no base_dir: left as written


def test_env_interpolation_inside_a_longer_string() -> None:
    data = shipped()
    data["store"] = "${STATE}/kpi.db"
    data["amocrm"]["auth"] = {
        "oauth": {**OAUTH, "client_id": "${CLIENT}", "client_secret": "${SECRET}"}
    }
    env = {"STATE": "/var/lib/kpi", "SECRET": "s3", "CLIENT": "c-1"}
    config = parse_config(dump(data), env=env)
    assert config.store == Path("/var/lib/kpi/kpi.db")
    oauth = config.amocrm.auth.oauth
    assert oauth is not None
    assert (oauth.client_id, oauth.client_secret) == ("c-1", "s3")


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    data = shipped()
    data["store"] = "./data/kpi.db"
    data["google"]["credentials"] = "secrets/sa.json"
    data["amocrm"]["auth"] = {"oauth": {**OAUTH, "token_file": "./amo_tokens.json"}}
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "config.yaml").write_text(dump(data), encoding="utf-8")
    config = load_config(folder / "config.yaml", env={})
    assert config.store == folder / "data/kpi.db"
    assert config.google.credentials == folder / "secrets/sa.json"
    assert config.amocrm.auth.oauth is not None
    assert config.amocrm.auth.oauth.token_file == folder / "amo_tokens.json"


def test_default_and_absolute_paths(tmp_path: Path) -> None:
    data = shipped()
    data["store"] = str(tmp_path / "abs.db")
    del data["google"]["credentials"]
    data["amocrm"]["auth"] = {"oauth": OAUTH}
    (tmp_path / "config.yaml").write_text(dump(data), encoding="utf-8")
    config = load_config(tmp_path / "config.yaml", env={})
    assert config.store == tmp_path / "abs.db"
    assert config.google.credentials == tmp_path / "credentials.json"
    assert config.amocrm.auth.oauth is not None
    assert config.amocrm.auth.oauth.token_file == tmp_path / "amo_tokens.json"


@pytest.mark.parametrize(
    ("spreadsheet", "expected"),
    [
        ("https://docs.google.com/spreadsheets/d/1AbC-d_9/edit#gid=0", "1AbC-d_9"),
        ("https://docs.google.com/spreadsheets/d/1AbC-d_9", "1AbC-d_9"),
        ("1AbC-d_9", "1AbC-d_9"),
    ],
)
def test_spreadsheet_id_is_taken_from_a_url(spreadsheet: str, expected: str) -> None:
    data = shipped()
    data["google"]["spreadsheet"] = spreadsheet
    assert parse_config(dump(data), env=ENV).google.spreadsheet_id == expected

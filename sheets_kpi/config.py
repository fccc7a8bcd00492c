"""Load and validate config.yaml: pydantic models, ${ENV} interpolation, path-named errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sheets_kpi.errors import ConfigError

_ID = r"^[a-z][a-z0-9_]*$"
_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_METRIC_PATTERN = re.compile(r"^(?P<name>[a-z_]+)(?:\((?P<arg>[A-Za-z0-9_]+)\))?$")

#: metric name -> whether it takes an argument (None = optional).
METRICS: dict[str, bool | None] = {
    "stage_reached": True,
    "won_amount": None,
    "won_count": None,
    "calls_missed_share": False,
    "callback_minutes": False,
    "calls_outgoing": False,
    "tasks_overdue": False,
    "tasks_overdue_share": False,
    "tasks_completed": False,
    "deal_violations": False,
    "deals_correct_share": False,
    "score_avg": True,
    "nps": False,
    "violations": True,
    "appeals_lost": False,
}


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageId(Model):
    pipeline_id: int
    status_id: int


StageRef = str | StageId


class OAuthConfig(Model):
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    redirect_uri: str = Field(min_length=1)
    token_file: Path = Path("amo_tokens.json")


class AmoAuth(Model):
    long_lived_token: str | None = None
    oauth: OAuthConfig | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AmoAuth:
        if (self.long_lived_token is None) == (self.oauth is None):
            raise ValueError("set exactly one of long_lived_token or oauth")
        return self


class UpsellConfig(Model):
    pipelines: list[str | int] = Field(default_factory=list)


class AmoConfig(Model):
    base_url: str
    auth: AmoAuth
    requests_per_second: float = Field(default=7, gt=0, le=50)
    backfill_days: int = Field(default=180, ge=1, le=3650)
    overlap_minutes: int = Field(default=5, ge=0, le=1440)
    max_retries: int = Field(default=5, ge=0, le=20)
    timeout_seconds: float = Field(default=30, gt=0)
    stages: dict[str, list[StageRef]] = Field(default_factory=dict)
    missed_call_statuses: list[int] = Field(default_factory=lambda: [1, 2, 3, 5, 6, 7])
    callback_window_hours: float = Field(default=24, gt=0)
    upsell: UpsellConfig = Field(default_factory=UpsellConfig)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://example.amocrm.ru")
        return value.rstrip("/")

    @field_validator("missed_call_statuses")
    @classmethod
    def _known_statuses(cls, value: list[int]) -> list[int]:
        bad = [code for code in value if not 1 <= code <= 8]
        if bad:
            raise ValueError(f"call_status codes are 1..8, got {bad}")
        return value


class GoogleConfig(Model):
    spreadsheet: str = Field(min_length=1)
    credentials: Path = Path("credentials.json")
    endpoint: str | None = None
    supervisors: list[str] = Field(default_factory=list)

    @property
    def spreadsheet_id(self) -> str:
        match = re.search(r"/spreadsheets/d/([A-Za-z0-9_-]+)", self.spreadsheet)
        return match.group(1) if match else self.spreadsheet

    @field_validator("supervisors")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        bad = [email for email in value if "@" not in email]
        if bad:
            raise ValueError(f"must be e-mail addresses, got {bad}")
        return value


class KpiConfig(Model):
    id: str = Field(pattern=_ID)
    metric: str
    title: str | None = None
    title_en: str | None = None
    unit: Literal["count", "rub", "share", "minutes", "score"] = "count"
    direction: Literal["higher", "lower"] = "higher"
    weight: float = Field(gt=0)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        match = _METRIC_PATTERN.match(value.strip())
        if not match or match["name"] not in METRICS:
            known = ", ".join(METRICS)
            raise ValueError(f"unknown metric; expected one of {known}")
        takes_arg = METRICS[match["name"]]
        if takes_arg is True and not match["arg"]:
            raise ValueError(f"{match['name']} needs an argument, e.g. {match['name']}(x)")
        if takes_arg is False and match["arg"]:
            raise ValueError(f"{match['name']} takes no argument")
        return value.strip()

    @property
    def metric_name(self) -> str:
        return _METRIC_PATTERN.match(self.metric)["name"]  # type: ignore[index]

    @property
    def metric_arg(self) -> str | None:
        return _METRIC_PATTERN.match(self.metric)["arg"]  # type: ignore[index]


class BonusConfig(Model):
    base: float = Field(default=0, ge=0)
    gate: float = Field(default=0.7, ge=0, le=1)
    accelerator: float = Field(default=1.5, ge=0)
    cap: float = Field(default=1.5, ge=1)
    prizes: dict[int, float] = Field(default_factory=dict)

    @field_validator("prizes")
    @classmethod
    def _ranks_positive(cls, value: dict[int, float]) -> dict[int, float]:
        bad = [rank for rank, prize in value.items() if rank < 1 or prize < 0]
        if bad:
            raise ValueError(f"ranks start at 1 and prizes are >= 0, got ranks {bad}")
        return value


class DepartmentConfig(Model):
    id: str = Field(pattern=_ID)
    title: str | None = None
    title_en: str | None = None
    cap: float = Field(default=1.5, ge=1)
    kpis: list[KpiConfig] = Field(min_length=1)
    bonus: BonusConfig = Field(default_factory=BonusConfig)

    @field_validator("kpis")
    @classmethod
    def _unique_ids(cls, value: list[KpiConfig]) -> list[KpiConfig]:
        ids = [kpi.id for kpi in value]
        dupes = sorted({kpi_id for kpi_id in ids if ids.count(kpi_id) > 1})
        if dupes:
            raise ValueError(f"kpi ids must be unique, repeated: {dupes}")
        return value


class RulesConfig(Model):
    no_next_task: bool = True
    required_fields: dict[str, list[str | int]] = Field(default_factory=dict)
    stale_stage_days: int | None = Field(default=14, ge=1)
    zero_price_after: list[StageRef] = Field(default_factory=list)


class ScheduleConfig(Model):
    every_minutes: int = Field(default=15, ge=1, le=1440)
    full_recompute_at: str = Field(default="03:00", pattern=_TIME)
    reconcile_days: int = Field(default=7, ge=0, le=365)


class AnalyticsConfig(Model):
    window_months: int = Field(default=6, ge=1, le=60)
    call_quality_scale: tuple[float, float] = (0, 100)


class Config(Model):
    timezone: str = "Europe/Moscow"
    locale: Literal["ru", "en"] = "ru"
    period: Literal["month"] = "month"
    store: Path = Path("sheets_kpi.db")
    amocrm: AmoConfig
    google: GoogleConfig
    departments: list[DepartmentConfig] = Field(min_length=1)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "unknown time zone; expected an IANA name like Europe/Moscow"
            ) from None
        return value

    @field_validator("departments")
    @classmethod
    def _unique_departments(cls, value: list[DepartmentConfig]) -> list[DepartmentConfig]:
        ids = [dept.id for dept in value]
        dupes = sorted({dept_id for dept_id in ids if ids.count(dept_id) > 1})
        if dupes:
            raise ValueError(f"department ids must be unique, repeated: {dupes}")
        return value

    @model_validator(mode="after")
    def _stages_defined(self) -> Config:
        for d_index, dept in enumerate(self.departments):
            for k_index, kpi in enumerate(dept.kpis):
                if kpi.metric_name == "stage_reached" and kpi.metric_arg not in self.amocrm.stages:
                    raise ValueError(
                        f"departments[{d_index}].kpis[{k_index}].metric: stage "
                        f"{kpi.metric_arg!r} is not defined under amocrm.stages"
                    )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def department(self, department_id: str) -> DepartmentConfig:
        return next(d for d in self.departments if d.id == department_id)


def load_config(path: str | Path, env: dict[str, str] | None = None) -> Config:
    """Read, interpolate and validate a config file; relative paths resolve against its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config file ({err.strerror})") from err
    return parse_config(text, name=path.name, base_dir=path.parent, env=env)


def parse_config(
    text: str,
    name: str = "config.yaml",
    base_dir: Path | None = None,
    env: dict[str, str] | None = None,
) -> Config:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ConfigError(f"{name}: not valid YAML{where}: {problem}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: expected a mapping of settings at the top level")
    data = _interpolate(data, os.environ if env is None else env, name, ())
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError("\n".join(_describe(name, error) for error in err.errors())) from None
    return _resolve_paths(config, base_dir) if base_dir else config


def _interpolate(value: Any, env: Any, name: str, loc: tuple[str | int, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, env, name, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, name, (*loc, i)) for i, v in enumerate(value)]
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match[1] not in env:
                raise ConfigError(
                    f"{name}: {_path(loc)}: environment variable {match[1]} is not set"
                )
            return env[match[1]]

        return _ENV_PATTERN.sub(replace, value)
    return value


def _path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


_MESSAGES = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "too_short": "must have at least {min_length} item(s)",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "must match {pattern}",
}
_PATTERNS = {
    _ID: "must be snake_case (a-z, 0-9, _)",
    _TIME: "must be a time HH:MM (00:00-23:59)",
}


def _describe(name: str, error: Any) -> str:
    loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
    kind = error["type"]
    ctx = {k: _plain(v) for k, v in (error.get("ctx") or {}).items()}
    if kind == "extra_forbidden":
        return f"{name}: {_path(loc)}: unknown key (check the spelling)"
    if kind == "literal_error":
        message = f"must be one of {ctx.get('expected', '')}".replace("'", "")
    elif kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
        if re.match(r"^[a-z_]+(\[\d+\]|\.[a-z_]+)+: ", message):
            return f"{name}: {message}"
    elif kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERNS:
        message = _PATTERNS[ctx["pattern"]]
    elif kind in _MESSAGES:
        message = _MESSAGES[kind].format(**ctx)
    else:
        message = error["msg"][:1].lower() + error["msg"][1:]
    shown = repr(error.get("input"))
    if kind == "missing" or "got " in message or len(shown) > 80:
        return f"{name}: {_path(loc)}: {message}"
    return f"{name}: {_path(loc)}: {message}, got {shown}"


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and (
        part in {"str", "int", "StageId", "float"} or part.startswith(("function-", "list["))
    )


def _resolve_paths(config: Config, base_dir: Path) -> Config:
    def under(path: Path) -> Path:
        return path if path.is_absolute() else base_dir / path

    google = config.google.model_copy(update={"credentials": under(config.google.credentials)})
    amocrm = config.amocrm
    if amocrm.auth.oauth:
        oauth = amocrm.auth.oauth.model_copy(
            update={"token_file": under(amocrm.auth.oauth.token_file)}
        )
        amocrm = amocrm.model_copy(update={"auth": amocrm.auth.model_copy(update={"oauth": oauth})})
    return config.model_copy(
        update={"store": under(config.store), "google": google, "amocrm": amocrm}
    )

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
from pydantic_core import PydanticCustomError

from sheets_kpi import redaction
from sheets_kpi.config_errors import (
    ENV_PATHS,
    ID_PATTERN,
    TIME_PATTERN,
    describe_all,
    show,
    yaml_path,
)
from sheets_kpi.errors import ConfigError
from sheets_kpi.kpi.metrics import parse_metric
from sheets_kpi.sheets.parse import ParseError, spreadsheet_id

_ID = ID_PATTERN
_TIME = TIME_PATTERN
_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FOLDER = re.compile(
    r"(?:https://drive\.google\.com/drive/(?:u/\d+/)?folders/)?([A-Za-z0-9_-]{10,200})(?:[/?#].*)?"
)


def _error(message: str, *at: str | int, ref: tuple[str | int, ...] = ()) -> PydanticCustomError:
    """A validator error about the item `at` below the validated value.

    The message reads `<what is wrong / expected form>`; ", got <value at `at`>" is appended
    unless the message already says what it got. `{ref}` in the message becomes the full YAML
    path of `ref`, which is relative to the validated value like `at`.
    """
    return PydanticCustomError("config", "{message}", {"message": message, "at": at, "ref": ref})


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
    long_lived_token: str | None = Field(default=None, min_length=1)
    oauth: OAuthConfig | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AmoAuth:
        if (self.long_lived_token is None) == (self.oauth is None):
            got = "neither" if self.oauth is None else "both"
            raise _error(f"set exactly one of long_lived_token or oauth, got {got}")
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
        for index, code in enumerate(value):
            if not 1 <= code <= 8:
                raise _error("must be an amoCRM call_status code from 1 to 8", index)
        return value


class GoogleConfig(Model):
    spreadsheet: str = Field(min_length=1)
    credentials: Path = Path("credentials.json")
    endpoint: str | None = None
    supervisors: list[str] = Field(default_factory=list)
    #: The data_* tabs in a spreadsheet of their own (shared with analysts); None: the main one.
    data_spreadsheet: str | None = None
    #: The shared-drive folder `init --personal` creates personal spreadsheets in.
    personal_folder: str | None = None
    timeout_seconds: float = Field(default=120, gt=0, le=600)
    #: Write bodies gzipped (Content-Encoding: gzip); false sends them as plain JSON.
    gzip_requests: bool = True

    @property
    def spreadsheet_id(self) -> str:
        match = re.search(r"/spreadsheets/d/([A-Za-z0-9_-]+)", self.spreadsheet)
        return match.group(1) if match else self.spreadsheet

    @field_validator("supervisors")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for index, email in enumerate(value):
            if not _EMAIL.match(email):
                raise _error("must be an e-mail address like boss@example.com", index)
        return value

    @field_validator("data_spreadsheet")
    @classmethod
    def _spreadsheet(cls, value: str | None) -> str | None:
        """Checked like a roster's personal spreadsheet: no request is built from anything else."""
        if value is None:
            return None
        try:
            return spreadsheet_id(value)
        except ParseError as err:
            raise _error(str(err)) from None

    @field_validator("personal_folder")
    @classmethod
    def _folder(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _FOLDER.fullmatch(value.strip())
        if not match:
            raise _error(
                "expected a Drive folder link https://drive.google.com/drive/folders/<id> or its "
                "id (letters, digits, - and _)"
            )
        return match.group(1)


class Titled(Model):
    """Something configured that people see under a title."""

    id: str = Field(pattern=_ID)
    title: str | None = None
    title_en: str | None = None

    def title_in(self, locale: str) -> str:
        """The one title rule: `title_en` in English, else `title`, else the id."""
        return (self.title_en if locale == "en" else None) or self.title or self.id


class KpiConfig(Titled):
    metric: str
    unit: Literal["count", "rub", "share", "minutes", "score"] = "count"
    direction: Literal["higher", "lower"] = "higher"
    weight: float = Field(gt=0)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        try:
            parse_metric(value)
        except ValueError as err:
            raise _error(str(err)) from None
        return value.strip()

    @property
    def metric_name(self) -> str:
        return parse_metric(self.metric)[0].name

    @property
    def metric_arg(self) -> str | None:
        return parse_metric(self.metric)[1]


class BonusConfig(Model):
    base: float = Field(default=0, ge=0)
    gate: float = Field(default=0.7, ge=0, le=1)
    accelerator: float = Field(default=1.5, ge=0)
    cap: float = Field(default=1.5, ge=1)
    prizes: dict[int, float] = Field(default_factory=dict)

    @field_validator("prizes")
    @classmethod
    def _ranks_positive(cls, value: dict[int, float]) -> dict[int, float]:
        for rank, prize in value.items():
            if rank < 1:
                raise _error(f"ranks start at 1, got rank {rank}")
            if prize < 0:
                raise _error("must be a prize amount >= 0", rank)
        return value


class DepartmentConfig(Titled):
    cap: float = Field(default=1.5, ge=1)
    kpis: list[KpiConfig] = Field(min_length=1)
    bonus: BonusConfig = Field(default_factory=BonusConfig)

    @field_validator("kpis")
    @classmethod
    def _unique_ids(cls, value: list[KpiConfig]) -> list[KpiConfig]:
        _unique([kpi.id for kpi in value], "must be unique in the department")
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
    cycle_deadline_seconds: float = Field(default=3600, gt=0)


#: The departments that sell when `analytics.seller_departments` is not set.
DEFAULT_SELLERS = ("sales", "accounts")


class AnalyticsConfig(Model):
    window_months: int = Field(default=6, ge=1, le=60)
    call_quality_scale: tuple[float, float] = (0, 100)
    #: Whose closed leads the matrix counts; None: sales and accounts where configured.
    seller_departments: list[str] | None = None

    @field_validator("call_quality_scale")
    @classmethod
    def _low_to_high(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] >= value[1]:
            raise _error("must be [lowest, highest] with lowest < highest, e.g. [0, 100]")
        return value


class CloseConfig(Model):
    """Month close (SPEC §12): how long an ended period stays a draft before it is overdue for
    approval, and how many approved periods are recomputed for discrepancies."""

    grace_days: int = Field(default=5, ge=0, le=31)
    watch_months: int = Field(default=3, ge=0, le=24)


class PlansConfig(Model):
    #: With no plan row for a period, the latest earlier plan applies (an info-level issue).
    carry_over: bool = True


class TvConfig(Model):
    """The office screen's tabs (SPEC §13)."""

    show_money: bool = False
    #: Show only the top N of each department (None: everyone).
    top: int | None = Field(default=None, ge=1)


class PrivacyConfig(Model):
    """Who sees roubles (SPEC §13)."""

    #: False: shared human tabs show %, score and rank only; money is in personal spreadsheets.
    money_in_shared_tabs: bool = True


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
    close: CloseConfig = Field(default_factory=CloseConfig)
    plans: PlansConfig = Field(default_factory=PlansConfig)
    tv: TvConfig = Field(default_factory=TvConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)

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
        _unique([dept.id for dept in value], "must be unique")
        return value

    @model_validator(mode="after")
    def _stages_defined(self) -> Config:
        defined = ", ".join(self.amocrm.stages) or "none are defined"
        for d_index, dept in enumerate(self.departments):
            for k_index, kpi in enumerate(dept.kpis):
                if kpi.metric_name == "stage_reached" and kpi.metric_arg not in self.amocrm.stages:
                    raise _error(
                        f"stage {kpi.metric_arg} is not defined under amocrm.stages ({defined})",
                        *("departments", d_index, "kpis", k_index, "metric"),
                    )
        return self

    @model_validator(mode="after")
    def _sellers_configured(self) -> Config:
        known = [dept.id for dept in self.departments]
        for index, dept in enumerate(self.analytics.seller_departments or []):
            if dept not in known:
                raise _error(
                    f"no such department; expected one of {', '.join(known)}",
                    *("analytics", "seller_departments", index),
                )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def seller_departments(self) -> list[str]:
        """Whose deals the matrix counts: lead generators disqualify leads, they do not lose
        sales. Unset: `sales` and `accounts` where configured, else every department."""
        if self.analytics.seller_departments is not None:
            return self.analytics.seller_departments
        known = [dept.id for dept in self.departments]
        return [dept for dept in DEFAULT_SELLERS if dept in known] or known

    def department(self, department_id: str) -> DepartmentConfig:
        return next(d for d in self.departments if d.id == department_id)


def _unique(ids: list[str], what: str) -> None:
    first: dict[str, int] = {}
    for index, item_id in enumerate(ids):
        if item_id in first:
            raise _error(f"{what}; {{ref}} has it too", index, "id", ref=(first[item_id],))
        first[item_id] = index


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
        if "'\\t'" in problem:
            problem += "; indent with spaces, not tabs"
        raise ConfigError(f"{name}: not valid YAML{where}: {problem}") from err
    if not isinstance(data, dict):
        got = "an empty file" if data is None else show(data)
        raise ConfigError(
            f"{name}: (top level): must be a mapping of settings (key: value lines), got {got}"
        )
    data = _interpolate(data, os.environ if env is None else env, name, data, ())
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        lines = describe_all(name, err.errors(), data, Config)
        raise ConfigError(redaction.redact("\n".join(lines))) from None
    auth = config.amocrm.auth
    redaction.remember(auth.long_lived_token, auth.oauth.client_secret if auth.oauth else None)
    return _resolve_paths(config, base_dir) if base_dir else config


def _interpolate(value: Any, env: Any, name: str, root: Any, loc: tuple[Any, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, env, name, root, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, name, root, (*loc, i)) for i, v in enumerate(value)]
    if isinstance(value, str):
        if _ENV_PATTERN.search(value) and tuple(loc) not in ENV_PATHS:
            raise ConfigError(
                f"{name}: {yaml_path(loc, root)}: ${{VAR}} is replaced from the environment only "
                f"in {', '.join(sorted('.'.join(map(str, p)) for p in ENV_PATHS))}; "
                "write this value itself"
            )

        def replace(match: re.Match[str]) -> str:
            if match[1] not in env:
                raise ConfigError(
                    f"{name}: {yaml_path(loc, root)}: the environment variable {match[1]} is not "
                    f"set; export it or write the value instead, got {show(value)}"
                )
            return env[match[1]]

        return _ENV_PATTERN.sub(replace, value)
    return value


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

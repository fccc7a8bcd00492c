"""Load and validate config.yaml: pydantic models, ${ENV} interpolation, path-named errors."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
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

from sheets_kpi.errors import ConfigError
from sheets_kpi.kpi.metrics import parse_metric

_ID = r"^[a-z][a-z0-9_]*$"
_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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


class AnalyticsConfig(Model):
    window_months: int = Field(default=6, ge=1, le=60)
    call_quality_scale: tuple[float, float] = (0, 100)

    @field_validator("call_quality_scale")
    @classmethod
    def _low_to_high(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] >= value[1]:
            raise _error("must be [lowest, highest] with lowest < highest, e.g. [0, 100]")
        return value


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

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

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
        got = "an empty file" if data is None else _show(data)
        raise ConfigError(
            f"{name}: (top level): must be a mapping of settings (key: value lines), got {got}"
        )
    data = _interpolate(data, os.environ if env is None else env, name, data, ())
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError("\n".join(_describe_all(name, err.errors(), data))) from None
    return _resolve_paths(config, base_dir) if base_dir else config


def _interpolate(value: Any, env: Any, name: str, root: Any, loc: tuple[Any, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, env, name, root, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, name, root, (*loc, i)) for i, v in enumerate(value)]
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match[1] not in env:
                raise ConfigError(
                    f"{name}: {_path(loc, root)}: environment variable {match[1]} is not set; "
                    f"export it or write the value instead, got {_show(value)}"
                )
            return env[match[1]]

        return _ENV_PATTERN.sub(replace, value)
    return value


# --- error messages: `<file>: <yaml path>: <what is wrong / expected form>, got <value>` ---

_MESSAGES = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "must match {pattern}",
}
_PATTERNS = {
    _ID: "must be snake_case (a-z, 0-9, _)",
    _TIME: "must be a time HH:MM (00:00-23:59)",
}
#: how each member of a union reads in "must be X or Y".
_UNION_MEMBERS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "StageId": "{pipeline_id: <id>, status_id: <id>}",
}
_SCALAR_TAGS = {"str", "int", "float", "bool"}
_MISSING = object()


def _describe_all(name: str, errors: list[Any], data: dict[str, Any]) -> list[str]:
    """One line per problem; the failed members of a union fold into one line."""
    lines: list[str] = []
    unions: dict[tuple[Any, ...], list[tuple[str, Any]]] = {}
    for error in errors:
        loc, tag_at, tag = _split_loc(error["loc"], data)
        if tag is None:
            lines.append(_describe(name, error, loc, data))
            continue
        if loc[:tag_at] not in unions:
            unions[loc[:tag_at]] = []
            lines.append(f"@union@{len(unions) - 1}")
        unions[loc[:tag_at]].append((tag, {**error, "loc": loc}))
    folded = [_describe_union(name, at, members, data) for at, members in unions.items()]
    out: list[str] = []
    for line in lines:
        more = folded[int(line[7:])] if line.startswith("@union@") else [line]
        out.extend(text for text in more if text not in out)
    return out


def _describe_union(
    name: str, loc: tuple[Any, ...], members: list[tuple[str, Any]], data: Any
) -> list[str]:
    value = _lookup(data, loc)
    tags = list(dict.fromkeys(tag for tag, _ in members))
    models = [tag for tag in tags if tag not in _SCALAR_TAGS]
    if isinstance(value, dict) and models:
        # A mapping was meant as the model member: its own errors say what is wrong.
        return [_describe(name, err, err["loc"], data) for tag, err in members if tag in models]
    if tags == ["str", "StageId"]:
        expected = "a status name or " + _UNION_MEMBERS["StageId"]
    else:
        expected = " or ".join(_UNION_MEMBERS.get(tag, tag) for tag in tags)
    return [f"{name}: {_path(loc, data)}: must be {expected}, got {_show(value)}"]


def _describe(name: str, error: Any, loc: tuple[Any, ...], data: Any) -> str:
    kind = error["type"]
    ctx = {k: _plain(v) for k, v in (error.get("ctx") or {}).items()}
    value = error.get("input", _MISSING)
    if loc and loc[-1] == "[key]":
        loc, value = loc[:-2], loc[-2]
        return f"{name}: {_path(loc, data)}: key {_message(kind, ctx, error)}, got {_show(value)}"
    if kind == "extra_forbidden":
        return f"{name}: {_path(loc, data)}: unknown key{_known_keys(loc)}"
    if kind == "config":
        base = loc
        loc = (*loc, *ctx["at"])
        message = ctx["message"].replace("{ref}", _path((*base, *ctx["ref"]), data))
        value = _lookup(data, loc)
    elif kind == "missing" and loc and isinstance(loc[-1], int):
        # A fixed-length list (a tuple) with too few items.
        loc, message = loc[:-1], f"must have at least {loc[-1] + 1} items"
        value = _lookup(data, loc)
    else:
        message = _message(kind, ctx, error)
        value = _MISSING if kind == "missing" else value
    if value is _MISSING or re.search(r"\bgot\b", message):
        return f"{name}: {_path(loc, data)}: {message}"
    return f"{name}: {_path(loc, data)}: {message}, got {_show(value)}"


def _message(kind: str, ctx: dict[str, Any], error: Any) -> str:
    if kind == "literal_error":
        options = ctx.get("expected", "").replace("'", "")
        return f"must be {options}" if " or " not in options else f"must be one of {options}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERNS:
        return _PATTERNS[ctx["pattern"]]
    if kind in ("too_short", "too_long"):
        if kind == "too_short" and ctx.get("min_length") == 1:
            return "must not be empty"
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        word = "least" if kind == "too_short" else "most"
        return f"must have at {word} {limit} item{'' if limit == 1 else 's'}"
    if kind in _MESSAGES:
        return _MESSAGES[kind].format(**ctx)
    return error["msg"][:1].lower() + error["msg"][1:]


def _known_keys(loc: tuple[Any, ...]) -> str:
    """`; did you mean x?` or `; expected one of a, b` for an unknown key at `loc`."""
    model = _model_at(loc[:-1])
    if model is None:
        return " (check the spelling)"
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f"; did you mean {close[0]}?" if close else f"; expected one of {', '.join(known)}"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    annotation: Any = Config
    for part in loc:
        annotation = _step(annotation, part)
    return _as_model(annotation)


def _step(annotation: Any, part: Any) -> Any:
    model = _as_model(annotation)
    if model is not None and part in model.model_fields:
        return model.model_fields[part].annotation
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, tuple) and isinstance(part, int) and args:
        return args[0]
    if origin is dict and args:
        return args[1]
    return None


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, type(int | str)):
        return next(filter(None, map(_as_model, get_args(annotation))), None)
    return None


def _split_loc(loc: tuple[Any, ...], data: Any) -> tuple[tuple[Any, ...], int, str | None]:
    """Drop pydantic's union tags (`str`, `StageId`, `function-after[...]`) from an error loc.

    Returns the YAML loc, where the first union tag stood in it and that tag. A part is a tag
    only when the data has no such key there, so a stage named `str` stays a key.
    """
    clean: list[Any] = []
    tag_at, first_tag = 0, None
    node = data
    for part in loc:
        is_key = isinstance(node, dict) and part in node
        if not is_key and isinstance(part, str) and _is_union_tag(part):
            if first_tag is None:
                tag_at, first_tag = len(clean), part
            continue
        clean.append(part)
        node = _child(node, part)
    return tuple(clean), tag_at, first_tag


def _is_union_tag(part: str) -> bool:
    models = {cls.__name__ for cls in Model.__subclasses__()}
    return part in _SCALAR_TAGS or part in models or part.startswith(("function-", "list["))


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part, _MISSING)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _MISSING


def _lookup(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        data = _child(data, part)
    return data


def _path(loc: tuple[Any, ...], data: Any = _MISSING) -> str:
    """`departments[1].kpis[2].weight`: list items in brackets, mapping keys dotted (quoted if
    they hold spaces or dots, as in `rules.required_fields["КП отправлено"]`)."""
    out = ""
    node = data
    for part in loc:
        if isinstance(node, list) or (node is _MISSING and isinstance(part, int)):
            out += f"[{part}]"
        elif re.fullmatch(r"[\w-]+", str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f'["{part}"]'
        node = _child(node, part)
    return out or "(top level)"


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML (null, true), cut to 80 characters."""
    text = _flow(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _flow(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_flow, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    return repr(value) if isinstance(value, str | int | float) else repr(str(value))


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


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

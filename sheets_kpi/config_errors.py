"""Config errors as people read them: `<file>: <yaml path>: <what is wrong / expected form>,
got <value>`, from pydantic's errors and the data as written (unions folded into one line,
unknown keys with the nearest known one)."""

from __future__ import annotations

import difflib
import re
from functools import cache
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"

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
    ID_PATTERN: "must be snake_case (a-z, 0-9, _)",
    TIME_PATTERN: "must be a time HH:MM (00:00-23:59)",
}
#: how each member of a union reads in "must be X or Y".
_UNION_MEMBERS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "StageId": "{pipeline_id: <id>, status_id: <id>}",
}
_SCALAR_TAGS = {"str", "int", "float", "bool"}
#: Fields that hold secrets: their errors say what is wrong, never what was written.
SECRET_PATHS = frozenset(
    {
        ("amocrm", "auth", "long_lived_token"),
        ("amocrm", "auth", "oauth", "client_secret"),
    }
)
#: Fields where `${VAR}` is replaced from the environment: the secrets, the client id beside
#: the secret, and the paths to files (store, credentials, token file). Anywhere else a
#: variable could carry a secret into a tab title or an error message.
ENV_PATHS = SECRET_PATHS | {
    ("amocrm", "auth", "oauth", "client_id"),
    ("amocrm", "auth", "oauth", "token_file"),
    ("google", "credentials"),
    ("store",),
}
HIDDEN = "(a secret, not shown)"
_MISSING = object()


def describe_all(
    name: str, errors: list[Any], data: dict[str, Any], root: type[BaseModel]
) -> list[str]:
    """One line per problem; the failed members of a union fold into one line."""
    lines: list[str] = []
    unions: dict[tuple[Any, ...], list[tuple[str, Any]]] = {}
    for error in errors:
        loc, tag_at, tag = _split_loc(error["loc"], data, root)
        if tag is None:
            lines.append(_describe(name, error, loc, data, root))
            continue
        if loc[:tag_at] not in unions:
            unions[loc[:tag_at]] = []
            lines.append(f"@union@{len(unions) - 1}")
        unions[loc[:tag_at]].append((tag, {**error, "loc": loc}))
    folded = [_describe_union(name, at, members, data, root) for at, members in unions.items()]
    out: list[str] = []
    for line in lines:
        more = folded[int(line[7:])] if line.startswith("@union@") else [line]
        out.extend(text for text in more if text not in out)
    return out


def _describe_union(
    name: str,
    loc: tuple[Any, ...],
    members: list[tuple[str, Any]],
    data: Any,
    root: type[BaseModel],
) -> list[str]:
    value = _lookup(data, loc)
    tags = list(dict.fromkeys(tag for tag, _ in members))
    models = [tag for tag in tags if tag not in _SCALAR_TAGS]
    if isinstance(value, dict) and models:
        # A mapping was meant as the model member: its own errors say what is wrong.
        return [
            _describe(name, err, err["loc"], data, root) for tag, err in members if tag in models
        ]
    if tags == ["str", "StageId"]:
        expected = "a status name or " + _UNION_MEMBERS["StageId"]
    else:
        expected = " or ".join(_UNION_MEMBERS.get(tag, tag) for tag in tags)
    return [f"{name}: {yaml_path(loc, data)}: must be {expected}, got {_got(loc, value)}"]


def _describe(name: str, error: Any, loc: tuple[Any, ...], data: Any, root: type[BaseModel]) -> str:
    kind = error["type"]
    ctx = {k: _plain(v) for k, v in (error.get("ctx") or {}).items()}
    value = error.get("input", _MISSING)
    if loc and loc[-1] == "[key]":
        loc, value = loc[:-2], loc[-2]
        message = _message(kind, ctx, error)
        return f"{name}: {yaml_path(loc, data)}: key {message}, got {_got(loc, value)}"
    if kind == "extra_forbidden":
        return f"{name}: {yaml_path(loc, data)}: unknown key{_known_keys(loc, root)}"
    if kind == "config":
        base = loc
        loc = (*loc, *ctx["at"])
        message = ctx["message"].replace("{ref}", yaml_path((*base, *ctx["ref"]), data))
        value = _lookup(data, loc)
    elif kind == "missing" and loc and isinstance(loc[-1], int):
        # A fixed-length list (a tuple) with too few items.
        loc, message = loc[:-1], f"must have at least {loc[-1] + 1} items"
        value = _lookup(data, loc)
    else:
        message = _message(kind, ctx, error)
        value = _MISSING if kind == "missing" else value
    if value is _MISSING or re.search(r"\bgot\b", message):
        return f"{name}: {yaml_path(loc, data)}: {message}"
    return f"{name}: {yaml_path(loc, data)}: {message}, got {_got(loc, value)}"


def _got(loc: tuple[Any, ...], value: Any) -> str:
    return HIDDEN if tuple(loc) in SECRET_PATHS else show(value)


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


def _known_keys(loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    """`; did you mean x?` or `; expected one of a, b` for an unknown key at `loc`."""
    model = _model_at(loc[:-1], root)
    if model is None:
        return " (check the spelling)"
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f"; did you mean {close[0]}?" if close else f"; expected one of {', '.join(known)}"


def _model_at(loc: tuple[Any, ...], root: type[BaseModel]) -> type[BaseModel] | None:
    annotation: Any = root
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


def _split_loc(
    loc: tuple[Any, ...], data: Any, root: type[BaseModel]
) -> tuple[tuple[Any, ...], int, str | None]:
    """Drop pydantic's union tags (`str`, `StageId`, `function-after[...]`) from an error loc.

    Returns the YAML loc, where the first union tag stood in it and that tag. A part is a tag
    only when the data has no such key there, so a stage named `str` stays a key.
    """
    clean: list[Any] = []
    tag_at, first_tag = 0, None
    node = data
    for part in loc:
        is_key = isinstance(node, dict) and part in node
        if not is_key and isinstance(part, str) and _is_union_tag(part, root):
            if first_tag is None:
                tag_at, first_tag = len(clean), part
            continue
        clean.append(part)
        node = _child(node, part)
    return tuple(clean), tag_at, first_tag


def _is_union_tag(part: str, root: type[BaseModel]) -> bool:
    return (
        part in _SCALAR_TAGS
        or part in _model_names(root)
        or part.startswith(("function-", "list["))
    )


@cache
def _model_names(root: type[BaseModel]) -> frozenset[str]:
    """The names of every model under `root`: pydantic tags a union member's errors with them."""
    names = {root.__name__}
    pending = [field.annotation for field in root.model_fields.values()]
    while pending:
        annotation = pending.pop()
        model = _as_model(annotation)
        if model is not None and model.__name__ not in names:
            names |= _model_names(model)
        pending += [arg for arg in get_args(annotation) if arg is not type(None)]
    return frozenset(names)


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


def yaml_path(loc: tuple[Any, ...], data: Any = _MISSING) -> str:
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


def show(value: Any) -> str:
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

"""amoCRM list queries: PHP bracket filters in all three spellings, ranges, ordering, paging."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

Item = dict[str, Any]
_PART = re.compile(r"\[([^\]]*)\]")


class BadQuery(ValueError):
    """A filter amoCRM would refuse; answered with 400 problem+json."""


def parse_brackets(query: Iterable[tuple[str, str]], root: str) -> dict[str, Any]:
    """`filter[type][]=a`, `filter[type][0]=a` and `filter[type]=a,b` → one nested dict."""
    tree: dict[str, Any] = {}
    for key, value in query:
        if not key.startswith(root + "["):
            continue
        parts = _PART.findall(key[len(root) :])
        node: Any = tree
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                node.setdefault("__list__", []).append(value)
                break
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return {key: _listify(value) for key, value in tree.items()}


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {"__list__"}:
        return node["__list__"]
    if node and all(k.isdigit() for k in node):
        return [_listify(node[k]) for k in sorted(node, key=int)]
    return {k: _listify(v) for k, v in node.items()}


def as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [str(v) for v in value.values()]
    return [part for part in str(value).split(",") if part != ""]


def as_range(value: Any) -> tuple[int | None, int | None]:
    """`{from, to}` (inclusive), `from,to`, or a bare timestamp meaning "from"."""
    try:
        if isinstance(value, dict):
            low, high = value.get("from"), value.get("to")
            return (
                int(low) if low not in (None, "") else None,
                int(high) if high not in (None, "") else None,
            )
        parts = as_list(value)
        if len(parts) == 2:
            return int(parts[0]), int(parts[1])
        return int(parts[0]), None
    except (ValueError, IndexError) as err:
        raise BadQuery(f"invalid range filter {value!r}") from err


def in_range(value: Any, bounds: tuple[int | None, int | None]) -> bool:
    if value is None:
        return False
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


Predicate = Callable[[Item], bool]


def member(field: str, values: Any, cast: Callable[[str], Any] = int) -> Predicate:
    try:
        wanted = {cast(v) for v in as_list(values)}
    except ValueError as err:
        raise BadQuery(f"invalid value in filter[{field}]: {values!r}") from err
    return lambda item: item.get(field) in wanted


def ranged(field: str, value: Any) -> Predicate:
    bounds = as_range(value)
    return lambda item: in_range(item.get(field), bounds)


def order_key(query: Iterable[tuple[str, str]], default: tuple[str, str]) -> tuple[str, bool]:
    order = parse_brackets(query, "order")
    if order:
        field, direction = next(iter(order.items()))
        return field, str(direction).lower() == "desc"
    return default[0], default[1] == "desc"

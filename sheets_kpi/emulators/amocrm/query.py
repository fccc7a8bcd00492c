"""amoCRM list queries: PHP bracket filters in all three spellings, ranges, ordering, predicates.

amoCRM clients spell one array filter three ways (`filter[type]=a,b`, `filter[type][]=a`,
`filter[type][0]=a`, AMOCRM_API.md §4.2); all three parse to the same predicate here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

Item = dict[str, Any]
Query = list[tuple[str, str]]
Predicate = Callable[[Item], bool]
_PART = re.compile(r"\[([^\]]*)\]")
#: Filters matched against a field by membership, and the field each one reads.
_MEMBER_FILTERS = {
    "id": "id",
    "responsible_user_id": "responsible_user_id",
    "pipeline_id": "pipeline_id",
    "created_by": "created_by",
    "updated_by": "updated_by",
    "task_type": "task_type_id",
    "entity_id": "entity_id",
}
_RANGE_FILTERS = ("created_at", "updated_at", "closed_at", "complete_till", "closest_task_at")
_MAX_EVENT_IDS = 10


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
            if not isinstance(node, dict):
                raise BadQuery(f"conflicting parameters for {key}")
            if part == "":
                node.setdefault("__list__", []).append(value)
                break
            if index == len(parts) - 1:
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


def with_values(query: Iterable[tuple[str, str]]) -> set[str]:
    """`with=a,b` (repeated or not) as a set; unknown values are simply never looked up."""
    return {w.strip() for k, v in query if k == "with" for w in v.split(",") if w.strip()}


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
    except (ValueError, IndexError, TypeError) as err:
        raise BadQuery(f"invalid range filter {value!r}") from err


def member(field: str, values: Any, cast: Callable[[str], Any] = int) -> Predicate:
    try:
        wanted = {cast(v) for v in as_list(values)}
    except ValueError as err:
        raise BadQuery(f"invalid value in filter[{field}]: {values!r}") from err
    return lambda item: item.get(field) in wanted


def ranged(field: str, value: Any) -> Predicate:
    low, high = as_range(value)

    def inside(item: Item) -> bool:
        at = item.get(field)
        if not isinstance(at, int):
            return False
        return (low is None or at >= low) and (high is None or at <= high)

    return inside


def order_key(query: Iterable[tuple[str, str]], default: tuple[str, str]) -> tuple[str, bool]:
    """`order[field]=asc|desc` → (field, descending); the first order parameter wins."""
    order = parse_brackets(query, "order")
    if order:
        field, direction = next(iter(order.items()))
        return field, str(direction).lower() == "desc"
    return default[0], default[1] == "desc"


def sort_items(items: list[Item], field: str, descending: bool) -> None:
    """Order by `field` then id; a missing or odd value sorts first, as amoCRM's NULLs do."""

    def key(item: Item) -> tuple[int, Any, Any]:
        value = item.get(field)
        return (1, value, item["id"]) if isinstance(value, int | str) else (0, 0, item["id"])

    try:
        items.sort(key=key, reverse=descending)
    except TypeError:
        items.sort(key=lambda i: (str(i.get(field)), str(i["id"])), reverse=descending)


def entity_predicates(kind: str, filters: dict[str, Any]) -> list[Predicate]:
    """Filters of leads, contacts, companies, tasks and notes (AMOCRM_API.md §5.3–5.7)."""
    predicates: list[Predicate] = []
    for name, value in filters.items():
        if name in _MEMBER_FILTERS:
            predicates.append(member(_MEMBER_FILTERS[name], value))
        elif name in _RANGE_FILTERS:
            predicates.append(ranged(name, value))
        elif name == "statuses":
            pairs = _status_pairs(value)
            predicates.append(lambda i, p=pairs: (i.get("pipeline_id"), i.get("status_id")) in p)
        elif name in ("note_type", "entity_type", "name"):
            predicates.append(member(name, value, str))
        elif name == "is_completed":
            wanted = str(value).lower() in ("1", "true")
            predicates.append(lambda i, w=wanted: bool(i.get("is_completed")) == w)
        elif name == "price":
            predicates.append(_price(value))
    if "entity_id" in filters and kind == "tasks" and "entity_type" not in filters:
        raise BadQuery("filter[entity_id] requires filter[entity_type]")
    return predicates


def search(text: str) -> Predicate:
    """amoCRM's full-text `query=`, approximated: a case-insensitive substring of the name or of
    any scalar custom field value (phones and e-mails included, compared as stored)."""
    needle = text.casefold()

    def matches(item: Item) -> bool:
        values = [item.get("name")] + [
            value.get("value")
            for field in item.get("custom_fields_values") or []
            for value in field.get("values") or []
        ]
        return any(needle in str(v).casefold() for v in values if isinstance(v, str | int | float))

    return matches


def event_predicates(filters: dict[str, Any]) -> list[Predicate]:
    """Filters of /api/v4/events, with the limits AMOCRM_API.md §5.9 lists."""
    predicates: list[Predicate] = []
    entities = as_list(filters["entity"]) if "entity" in filters else []
    if "entity_id" in filters:
        ids = as_list(filters["entity_id"])
        if len(entities) != 1:
            raise BadQuery("filter[entity_id] requires exactly one filter[entity]")
        if len(ids) > _MAX_EVENT_IDS:
            raise BadQuery("filter[entity_id] accepts at most 10 ids")
        predicates.append(member("entity_id", ids))
    if entities:
        predicates.append(member("entity_type", entities, str))
    if "type" in filters:
        predicates.append(member("type", filters["type"], str))
    if "created_by" in filters:
        if len(as_list(filters["created_by"])) > _MAX_EVENT_IDS:
            raise BadQuery("filter[created_by] accepts at most 10 users")
        predicates.append(member("created_by", filters["created_by"]))
    if "created_at" in filters:
        predicates.append(ranged("created_at", filters["created_at"]))
    if "id" in filters:
        predicates.append(member("id", filters["id"], str))
    for side in ("value_after", "value_before"):
        spec = filters.get(side)
        if isinstance(spec, dict) and "leads_statuses" in spec:
            predicates.append(_moved(side, _status_pairs(spec["leads_statuses"])))
        if isinstance(spec, dict) and "responsible_user_id" in spec:
            predicates.append(_handed(side, {int(u) for u in as_list(spec["responsible_user_id"])}))
    return predicates


def _status_pairs(value: Any) -> set[tuple[int, int]]:
    items = value if isinstance(value, list) else [value]
    try:
        return {(int(s["pipeline_id"]), int(s["status_id"])) for s in items if isinstance(s, dict)}
    except (KeyError, ValueError) as err:
        raise BadQuery("filter[statuses] needs pipeline_id and status_id pairs") from err


def _price(value: Any) -> Predicate:
    if isinstance(value, dict):
        return ranged("price", value)
    return member("price", value)


def _moved(side: str, pairs: set[tuple[int, int]]) -> Predicate:
    def matches(event: Item) -> bool:
        for value in event.get(side) or []:
            status = value.get("lead_status") or {}
            if (status.get("pipeline_id"), status.get("id")) in pairs:
                return True
        return False

    return matches


def _handed(side: str, users: set[int]) -> Predicate:
    return lambda e: any(
        (v.get("responsible_user") or {}).get("id") in users for v in e.get(side) or []
    )

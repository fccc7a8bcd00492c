"""amoCRM API v4 bodies (tests/conformance/amocrm) and the shape comparison used on them.

A body is flattened to `path → {JSON types}`: list items fold into `path[]`, and items of the
lists whose meaning depends on a kind are kept apart by it, so each kind's own keys are compared
(`_embedded.notes[note_type=call_out].params.phone`, `…events[type=lead_added].value_after[]…`,
`…custom_fields_values[field_type=date].values[].value`). `null` is a type like any other, so a
key sent as `null` and a key left out differ. Values, item counts and the navigation links
(`next`, `prev`, `first`, `last`: they depend on how much data there is) are never compared.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BODIES = Path(__file__).parent / "conformance" / "amocrm"
#: Keys whose (string) value says which kind of item a list holds, per list.
KINDS = {"notes": "note_type", "events": "type", "custom_fields_values": "field_type"}
NAVIGATION = re.compile(r"^_links\.(next|prev|first|last)(\.|$)")
Shape = dict[str, set[str]]


@dataclass(frozen=True)
class Body:
    """One file of tests/conformance/amocrm."""

    name: str
    data: dict[str, Any]

    @property
    def status(self) -> int:
        return int(self.data["status"])

    @property
    def method(self) -> str:
        return str(self.data["request"]["method"])

    @property
    def path(self) -> str:
        return str(self.data["request"]["path"])

    @property
    def query(self) -> dict[str, str]:
        return dict(self.data["request"].get("query") or {})

    @property
    def body(self) -> Any:
        return self.data.get("body")

    @property
    def recorded(self) -> bool:
        return self.data["kind"] == "recorded"

    @property
    def fragment(self) -> bool:
        return bool(self.data.get("fragment"))

    @property
    def partial(self) -> list[str]:
        return list(self.data.get("partial_item") or [])

    def items(self, key: str) -> list[dict[str, Any]]:
        """The items of a list answer (`_embedded.<key>`)."""
        return list(((self.body or {}).get("_embedded") or {}).get(key) or [])

    @property
    def endpoint(self) -> str:
        """Method and path with ids and the notes' entity folded, so answers of one endpoint
        (one object shape) are pooled."""
        path = re.sub(r"/(\d+|[0-9a-z]{26})(?=/|$)", "/{id}", self.path)
        path = re.sub(r"^/api/v4/(leads|contacts|companies)/notes", "/api/v4/{entity}/notes", path)
        return f"{self.method} {path} {self.status}"


def load() -> list[Body]:
    return [
        Body(path.stem, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(BODIES.glob("[0-9]*.json"))
    ]


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape(value: Any, path: str = "", into: Shape | None = None) -> Shape:
    """`path → {JSON types}` of a body; a JWT-shaped `access_token` adds its claims."""
    out: Shape = {} if into is None else into
    out.setdefault(path, set()).add(json_type(value))
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            shape(item, child, out)
            if key == "access_token" and isinstance(item, str) and item.count(".") == 2:
                shape(_claims(item), f"{child}<claims>", out)
    elif isinstance(value, list):
        kind = KINDS.get(path.rsplit(".", 1)[-1].split("[", 1)[0])
        for item in value:
            label = item.get(kind) if kind and isinstance(item, dict) else None
            shape(item, f"{path}[{kind}={label}]" if isinstance(label, str) else f"{path}[]", out)
    return out


def merge(shapes: Iterable[Shape]) -> Shape:
    merged: Shape = {}
    for one in shapes:
        for path, types in one.items():
            merged.setdefault(path, set()).update(types)
    return merged


def _claims(token: str) -> Any:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def restrict(full: Shape, body: Body, items: str | None) -> Shape:
    """The part of a shape a file speaks for: the items alone when the page envelope was not
    recorded (`fragment`), only the `partial_item` paths when set; never navigation links."""
    kept = {p: t for p, t in full.items() if not NAVIGATION.match(p)}
    if items and body.fragment:
        root = f"_embedded.{items}"
        kept = {p: t for p, t in kept.items() if p == root or p.startswith(f"{root}[")}
    if items and body.partial:
        within = [rf"_embedded\.{items}\[[^\]]*\]\.{re.escape(p)}" for p in body.partial]
        kept = {p: t for p, t in kept.items() if any(re.match(w, p) for w in within)}
    return kept


@dataclass(frozen=True)
class Difference:
    """One way the emulator's answer differs from amoCRM's: `kind` is `missing` (amoCRM sends
    the path, the emulator never does), `invented` (the reverse, under a parent amoCRM sends),
    `lacks` (a JSON type amoCRM sends there that the emulator never does) or `adds` (a type the
    emulator sends that no answer of that endpoint shows)."""

    path: str
    kind: str
    types: tuple[str, ...] = ()

    def __str__(self) -> str:
        types = f" {'|'.join(self.types)}" if self.types else ""
        return f"{self.kind} {self.path}{types}"


def compare(recorded: Shape, ours: Shape, known: Shape) -> list[Difference]:
    """Differences of `ours` from `recorded`; `known` is every recorded answer of the endpoint
    pooled, so a type or key one answer happens not to show (a closed lead's `closed_at` is
    never null) is no difference when another answer shows it. A missing or invented subtree is
    reported once, at its root."""
    found: list[Difference] = []
    for path in sorted(recorded):
        if path not in ours:
            if path == "" or _parent(path) in ours:
                found.append(Difference(path, "missing"))
            continue
        lacks = recorded[path] - ours[path]
        if lacks:
            found.append(Difference(path, "lacks", tuple(sorted(lacks))))
    for path in sorted(ours):
        if path in recorded:
            adds = ours[path] - known.get(path, recorded[path])
            if adds:
                found.append(Difference(path, "adds", tuple(sorted(adds))))
        elif path not in known and _speaks_for(recorded, _parent(path), path):
            found.append(Difference(path, "invented", tuple(sorted(ours[path]))))
    return found


def _speaks_for(recorded: Shape, parent: str, path: str) -> bool:
    """Whether the recording shows what `parent` holds: an object's keys, or a list with items
    (an empty list says nothing about the keys of its items)."""
    if parent not in recorded:
        return False
    if path.endswith("]"):
        return any(p.startswith(f"{parent}[") for p in recorded)
    return "object" in recorded[parent]


def _parent(path: str) -> str:
    """`a.b[]` → `a.b`, `a.b` → `a`, `a` → `` (the body), `` → ``."""
    if path.endswith("]"):
        return path[: path.rindex("[")]
    return path.rpartition(".")[0]

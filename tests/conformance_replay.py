"""Replay gspread's recorded real Google traffic against the Sheets emulator (SHEETS_API.md §5).

A cassette holds one or more *episodes*, each starting with a Drive create. Every episode runs on
a freshly reset emulator. Ids differ between the recording and the emulator, so each id the
emulator hands out (spreadsheet, sheet, protected range, named range, chart…) is mapped to the
recorded one as replies come in, and later requests are rewritten with it. Responses are
compared strictly: same status, same JSON keys at every level, equal values, error messages
included. Only what cannot be the same is relaxed: Drive timestamps are checked for format,
floats to 1e-6, and the few per-cassette `Allowance`s the test module declares with a reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

CASSETTES = Path(__file__).parent / "conformance" / "gspread-cassettes"
HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
ID_KEYS = frozenset(
    {
        "spreadsheetId",
        "id",
        "sheetId",
        "protectedRangeId",
        "namedRangeId",
        "chartId",
        "metadataId",
        "bandedRangeId",
        "filterViewId",
    }
)
TIME_KEYS = frozenset({"createdTime", "modifiedTime"})
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@dataclass(frozen=True)
class Allowance:
    """A known, explained difference: `path` (a regex on the JSON path) is not compared."""

    path: str
    reason: str


@dataclass
class Episode:
    number: int
    interactions: list[dict[str, Any]]


@dataclass
class Replay:
    """The outcome of one cassette: exchanges sent and every mismatch found."""

    name: str
    exchanges: int = 0
    episodes: int = 0
    problems: list[str] = field(default_factory=list)


class IdMap:
    """Recorded id ↔ emulator id, learned from responses and applied to later requests."""

    def __init__(self) -> None:
        self.ours: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def add(self, recorded: Any, ours: Any) -> None:
        if str(recorded) == str(ours) or str(recorded) in self.ours:
            return
        self.ours[str(recorded)] = str(ours)
        ids = sorted(self.ours, key=len, reverse=True)
        self._pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])")

    def rewrite(self, text: str) -> str:
        if not self._pattern:
            return text
        return self._pattern.sub(lambda m: self.ours[m[1]], text)

    def learn(self, recorded: Any, ours: Any) -> None:
        if isinstance(recorded, dict) and isinstance(ours, dict):
            for key, value in recorded.items():
                if key not in ours:
                    continue
                if key in ID_KEYS and isinstance(value, int | str):
                    self.add(value, ours[key])
                else:
                    self.learn(value, ours[key])
        elif isinstance(recorded, list) and isinstance(ours, list):
            for a, b in zip(recorded, ours, strict=False):
                self.learn(a, b)


def episodes(data: dict[str, Any]) -> Iterator[Episode]:
    """Split a cassette at each Drive create made while no file of the episode is open."""
    current: list[dict[str, Any]] = []
    open_files: set[str] = set()
    number = 0
    for interaction in data["interactions"]:
        request = interaction["request"]
        path = urlsplit(request["uri"]).path
        creates = request["method"] == "POST" and path == "/drive/v3/files"
        if creates and current and not open_files:
            yield Episode(number, current)
            number, current = number + 1, []
        if creates:
            body = json.loads(interaction["response"]["body"].get("string") or "{}")
            open_files.add(body.get("id", ""))
        elif request["method"] == "DELETE" and path.startswith("/drive/v3/files/"):
            open_files.discard(path.rsplit("/", 1)[-1])
        current.append(interaction)
    if current:
        yield Episode(number, current)


@dataclass
class Comparison:
    ids: IdMap
    allowances: tuple[Allowance, ...]
    problems: list[str]

    def allowed(self, path: str) -> bool:
        return any(re.search(a.path, path) for a in self.allowances)

    def compare(self, recorded: Any, ours: Any, path: str) -> None:
        if self.allowed(path):
            return
        if isinstance(recorded, dict) and isinstance(ours, dict):
            keys = [k for k in {**recorded, **ours} if not self.allowed(f"{path}.{k}")]
            for key in keys:
                if key not in ours:
                    self.problems.append(f"{path}: missing key {key!r}")
                elif key not in recorded:
                    self.problems.append(f"{path}: extra key {key!r} = {_short(ours[key])}")
                elif key in TIME_KEYS:
                    if not _RFC3339.match(str(ours[key])):
                        self.problems.append(f"{path}.{key}: {ours[key]!r} is not RFC 3339")
                elif key in ID_KEYS and not isinstance(recorded[key], dict | list):
                    expected = self.ids.ours.get(str(recorded[key]), str(recorded[key]))
                    if expected != str(ours[key]):
                        self.problems.append(
                            f"{path}.{key}: id {ours[key]!r} ≠ mapped {recorded[key]!r}"
                        )
                else:
                    self.compare(recorded[key], ours[key], f"{path}.{key}")
        elif isinstance(recorded, list) and isinstance(ours, list):
            if len(recorded) != len(ours):
                self.problems.append(
                    f"{path}: {len(recorded)} items recorded, {len(ours)} returned: "
                    f"{_short(recorded)} vs {_short(ours)}"
                )
            for index, (a, b) in enumerate(zip(recorded, ours, strict=False)):
                self.compare(a, b, f"{path}[{index}]")
        elif isinstance(recorded, float | int) and isinstance(ours, float | int):
            if type(recorded) is bool or type(ours) is bool:
                if recorded is not ours:
                    self.problems.append(f"{path}: recorded {recorded!r}, got {ours!r}")
            elif abs(recorded - ours) > 1e-6 * max(1.0, abs(recorded)):
                self.problems.append(f"{path}: recorded {recorded!r}, got {ours!r}")
        elif isinstance(recorded, str) and isinstance(ours, str):
            if self.ids.rewrite(recorded) != ours:
                self.problems.append(f"{path}: recorded {recorded!r}, got {ours!r}")
        elif recorded != ours:
            self.problems.append(f"{path}: recorded {_short(recorded)}, got {_short(ours)}")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) < 160 else text[:157] + "..."


def replay(
    name: str,
    base: str,
    reset: Callable[[], None],
    allowances: tuple[Allowance, ...] = (),
) -> Replay:
    """Send every recorded request, episode by episode, and compare each response."""
    data = json.loads((CASSETTES / f"{name}.json").read_text(encoding="utf-8"))
    run = Replay(name)
    session = requests.Session()
    for episode in episodes(data):
        reset()
        run.episodes += 1
        ids = IdMap()
        for number, interaction in enumerate(episode.interactions):
            request, response = interaction["request"], interaction["response"]
            uri = request["uri"]
            for host in HOSTS:
                if uri.startswith(host):
                    uri = base + ids.rewrite(uri[len(host) :])
            body = request.get("body") or None
            headers = {"Authorization": "Bearer recorded-token"}
            if body and body.lstrip().startswith("{"):
                headers["Content-Type"] = "application/json"
            got = session.request(
                request["method"],
                uri,
                data=ids.rewrite(body).encode() if body else None,
                headers=headers,
                timeout=30,
            )
            run.exchanges += 1
            where = f"e{episode.number}#{number} {request['method']} {urlsplit(uri).path}"
            expected = response["status"]["code"]
            if got.status_code != expected:
                run.problems.append(
                    f"{where}: status {got.status_code}, recorded {expected}: {got.text[:300]}"
                )
                continue
            _compare_bodies(response["body"].get("string") or "", got, where, ids, allowances, run)
    return run


def _compare_bodies(
    text: str,
    got: requests.Response,
    where: str,
    ids: IdMap,
    allowances: tuple[Allowance, ...],
    run: Replay,
) -> None:
    try:
        recorded = json.loads(text) if text.strip() else None
    except ValueError:
        recorded = text  # CSV exports and other plain bodies
    if recorded is None:
        if got.content:
            run.problems.append(f"{where}: recorded an empty body, got {got.text[:100]!r}")
        return
    if isinstance(recorded, str):
        ours: Any = got.content.decode("utf-8", "replace")
    else:
        try:
            ours = got.json()
        except ValueError:
            run.problems.append(f"{where}: not JSON: {got.text[:100]!r}")
            return
    ids.learn(recorded, ours)
    Comparison(ids, allowances, run.problems).compare(recorded, ours, where)
